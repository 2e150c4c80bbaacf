/* hmap: string -> pointer map, open addressing with linear probing. Keys are
 * copied and owned by the map; values are borrowed (the map never frees
 * them). For registries loaded at start and looked up on every message.
 * Not thread-safe. */
#ifndef ECO_HMAP_H
#define ECO_HMAP_H

#include <stddef.h>

struct hmap_slot {
    char *key;
    size_t klen;
    void *val;
};

struct hmap {
    struct hmap_slot *slots;
    size_t cap; /* power of two */
    size_t len;
};

void hmap_init(struct hmap *m);
/* Frees the keys and slot array; values are the caller's. */
void hmap_close(struct hmap *m);
/* Like hmap_close, for a map that owns its values: free()s each of them. */
void hmap_close_free(struct hmap *m);
/* Inserts or replaces. Returns 0 or -ENOMEM. */
int hmap_put(struct hmap *m, const char *key, size_t klen, void *val);
/* Returns the value or NULL. */
void *hmap_get(const struct hmap *m, const char *key, size_t klen);

#endif
