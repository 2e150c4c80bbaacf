#include "hmap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hmap__hash(const char *k, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)k[i];
        h *= 1099511628211ULL;
    }
    return h;
}

void hmap_init(struct hmap *m)
{
    m->slots = NULL;
    m->cap = 0;
    m->len = 0;
}

void hmap_close(struct hmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].key);
    free(m->slots);
    hmap_init(m);
}

void hmap_close_free(struct hmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].val);
    hmap_close(m);
}

static struct hmap_slot *hmap__find(const struct hmap *m, const char *key, size_t klen)
{
    size_t i = (size_t)hmap__hash(key, klen) & (m->cap - 1);
    for (;;) {
        struct hmap_slot *s = &m->slots[i];
        if (!s->key || (s->klen == klen && memcmp(s->key, key, klen) == 0))
            return s;
        i = (i + 1) & (m->cap - 1);
    }
}

static int hmap__grow(struct hmap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 64;
    struct hmap old = *m;

    m->slots = calloc(ncap, sizeof(*m->slots));
    if (!m->slots) {
        *m = old;
        return -ENOMEM;
    }
    m->cap = ncap;
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].key)
            *hmap__find(m, old.slots[i].key, old.slots[i].klen) = old.slots[i];
    free(old.slots);
    return 0;
}

int hmap_put(struct hmap *m, const char *key, size_t klen, void *val)
{
    struct hmap_slot *s;

    /* keep the load under 1/2 so probes stay short */
    if ((m->len + 1) * 2 > m->cap && hmap__grow(m))
        return -ENOMEM;
    s = hmap__find(m, key, klen);
    if (!s->key) {
        s->key = malloc(klen + 1);
        if (!s->key)
            return -ENOMEM;
        memcpy(s->key, key, klen);
        s->key[klen] = '\0';
        s->klen = klen;
        m->len++;
    }
    s->val = val;
    return 0;
}

void *hmap_get(const struct hmap *m, const char *key, size_t klen)
{
    if (!m->cap)
        return NULL;
    return hmap__find(m, key, klen)->val;
}
