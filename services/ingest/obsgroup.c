#include "obsgroup.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int obsg_init(struct obsg *g, size_t max_objs, size_t frag_cap, size_t msg_max)
{
    memset(g, 0, sizeof(*g));
    if (!max_objs || max_objs > UINT32_MAX || frag_cap > UINT32_MAX || msg_max < 1024)
        return -EINVAL;
    g->refs = calloc(max_objs, sizeof(*g->refs));
    if (!g->refs)
        return -ENOMEM;
    g->max = max_objs;
    g->msg_max = msg_max;
    buf_init(&g->frags, frag_cap);
    /* a message over msg_max holds one object, which frags bounds */
    buf_init(&g->msg, frag_cap + 1024);
    return 0;
}

void obsg_close(struct obsg *g)
{
    buf_close(&g->frags);
    buf_close(&g->msg);
    free(g->refs);
    memset(g, 0, sizeof(*g));
}

void obsg_reset(struct obsg *g)
{
    buf_reset(&g->frags);
    g->n = 0;
}

struct buf *obsg_begin(struct obsg *g, int site_id, const char *site)
{
    size_t off = g->frags.len;

    if (g->n == g->max || buf_add(&g->frags, site, strlen(site) + 1))
        return NULL;
    g->refs[g->n] = (struct obsg_ref){site_id, (uint32_t)g->n, (uint32_t)off, 0};
    return &g->frags;
}

int obsg_end(struct obsg *g)
{
    struct obsg_ref *r = &g->refs[g->n];
    size_t start = r->off + strlen(g->frags.p + r->off) + 1;

    if (g->frags.len <= start)
        return -ENOSPC;
    r->len = (uint32_t)(g->frags.len - start);
    g->n++;
    return 0;
}

struct obsg_mark obsg_mark(const struct obsg *g)
{
    return (struct obsg_mark){g->n, g->frags.len};
}

void obsg_rewind(struct obsg *g, struct obsg_mark m)
{
    g->n = m.n;
    g->frags.len = m.len;
    if (g->frags.p)
        g->frags.p[m.len] = '\0';
}

size_t obsg_count(const struct obsg *g)
{
    return g->n;
}

static int obsg__cmp(const void *a, const void *b)
{
    const struct obsg_ref *x = a, *y = b;
    if (x->site_id != y->site_id)
        return x->site_id < y->site_id ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Closes the message being built and hands it to pub. */
static int obsg__flush(struct obsg *g, const char *site,
                       int (*pub)(void *, const char *, const char *, size_t), void *ud)
{
    char topic[256];
    int rc = buf_addstr(&g->msg, "]}");

    snprintf(topic, sizeof(topic), "eco/v1/obs/%s", site);
    rc = rc ? rc : pub(ud, topic, g->msg.p, g->msg.len);
    buf_reset(&g->msg);
    return rc;
}

int obsg_emit(struct obsg *g, int (*pub)(void *ud, const char *topic, const char *p, size_t len),
              void *ud)
{
    const char *site = NULL;
    int site_id = 0, rc = 0;

    qsort(g->refs, g->n, sizeof(*g->refs), obsg__cmp);
    buf_reset(&g->msg);
    for (size_t i = 0; i < g->n && !rc; i++) {
        const struct obsg_ref *r = &g->refs[i];
        const char *s = g->frags.p + r->off, *obj = s + strlen(s) + 1;
        bool same = site && r->site_id == site_id;

        /* a new site, or this object would take the message past msg_max */
        if (same && g->msg.len + r->len + 3 > g->msg_max) {
            rc = obsg__flush(g, site, pub, ud);
            same = false;
        }
        if (site && !same && g->msg.len)
            rc = rc ? rc : obsg__flush(g, site, pub, ud);
        if (!rc && g->msg.len == 0) {
            rc = buf_addstr(&g->msg, "{\"site\":\"");
            rc = rc ? rc : buf_add_json_str(&g->msg, s, strlen(s));
            rc = rc ? rc : buf_addstr(&g->msg, "\",\"readings\":[");
        } else if (!rc) {
            rc = buf_addc(&g->msg, ',');
        }
        rc = rc ? rc : buf_add(&g->msg, obj, r->len);
        site = s;
        site_id = r->site_id;
    }
    if (!rc && g->msg.len)
        rc = obsg__flush(g, site, pub, ud);
    buf_reset(&g->msg);
    return rc;
}
