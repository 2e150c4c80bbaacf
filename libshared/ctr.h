/* ctr: a service's named counters, rendered the same way everywhere: as
 * logfmt pairs for the periodic log line and as a JSON object for the
 * retained status on eco/v1/sys/{service}/{instance}.
 *
 * The set is a fixed table the service declares (names are borrowed
 * literals); values are plain uint64_t the loop thread increments directly,
 * so counting costs nothing. Not thread-safe: loop thread only. */
#ifndef ECO_CTR_H
#define ECO_CTR_H

#include "buf.h"

#include <stddef.h>
#include <stdint.h>

#define CTR_MAX 32

struct ctr_set {
    const char *name[CTR_MAX];
    uint64_t val[CTR_MAX];
    size_t n;
};

/* Adds a counter named `name` (a literal, [a-z0-9_]) and returns its index,
 * or -ENOSPC past CTR_MAX, -EINVAL for a bad or repeated name. */
int ctr_add(struct ctr_set *s, const char *name);
/* Appends `"a":1,"b":2` (no braces) to b. */
int ctr_json(const struct ctr_set *s, struct buf *b);
/* Appends `a=1 b=2` to b. */
int ctr_logfmt(const struct ctr_set *s, struct buf *b);

#endif
