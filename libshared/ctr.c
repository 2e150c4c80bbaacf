#include "ctr.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

int ctr_add(struct ctr_set *s, const char *name)
{
    if (s->n >= CTR_MAX)
        return -ENOSPC;
    if (!*name)
        return -EINVAL;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return -EINVAL;
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->name[i], name) == 0)
            return -EINVAL;
    s->name[s->n] = name;
    s->val[s->n] = 0;
    return (int)s->n++;
}

int ctr_json(const struct ctr_set *s, struct buf *b)
{
    int rc = 0;
    for (size_t i = 0; i < s->n && !rc; i++)
        rc = buf_printf(b, "%s\"%s\":%" PRIu64, i ? "," : "", s->name[i], s->val[i]);
    return rc;
}

int ctr_logfmt(const struct ctr_set *s, struct buf *b)
{
    int rc = 0;
    for (size_t i = 0; i < s->n && !rc; i++)
        rc = buf_printf(b, "%s%s=%" PRIu64, i ? " " : "", s->name[i], s->val[i]);
    return rc;
}
