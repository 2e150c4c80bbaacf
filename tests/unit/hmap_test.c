/* hmap: put/get/replace, missing keys, keys that are prefixes of each other
 * or hold NUL bytes (klen, not strlen, is the key), the empty key, and 100k
 * keys through many growths. */
#include "hmap.h"

#include "check.h"

#include <stdint.h>

static int vals[8];

static void test_basic(void)
{
    struct hmap m;

    hmap_init(&m);
    /* an empty map answers without allocating */
    CHECK(hmap_get(&m, "a", 1) == NULL);
    CHECK(hmap_get(&m, "", 0) == NULL);
    CHECK_EQ_INT(m.len, 0);
    hmap_close(&m); /* closing a never-used map is harmless */

    hmap_init(&m);
    CHECK_EQ_INT(hmap_put(&m, "pm25", 4, &vals[0]), 0);
    CHECK_EQ_INT(hmap_put(&m, "so2", 3, &vals[1]), 0);
    CHECK_EQ_INT(m.len, 2);
    CHECK(hmap_get(&m, "pm25", 4) == &vals[0]);
    CHECK(hmap_get(&m, "so2", 3) == &vals[1]);
    /* missing keys, near misses */
    CHECK(hmap_get(&m, "pm10", 4) == NULL);
    CHECK(hmap_get(&m, "pm2", 3) == NULL);   /* prefix */
    CHECK(hmap_get(&m, "pm25x", 5) == NULL); /* extension */
    CHECK(hmap_get(&m, "PM25", 4) == NULL);  /* case matters */
    CHECK(hmap_get(&m, "", 0) == NULL);
    /* klen bounds the key: a prefix of a longer buffer */
    CHECK(hmap_get(&m, "pm25/extra", 4) == &vals[0]);
    CHECK(hmap_get(&m, "so2", 2) == NULL);

    /* replace keeps one entry */
    CHECK_EQ_INT(hmap_put(&m, "pm25", 4, &vals[2]), 0);
    CHECK_EQ_INT(m.len, 2);
    CHECK(hmap_get(&m, "pm25", 4) == &vals[2]);
    CHECK(hmap_get(&m, "so2", 3) == &vals[1]);

    /* the map copies keys: the caller's buffer may change afterwards */
    {
        char k[8] = "no2";
        CHECK_EQ_INT(hmap_put(&m, k, 3, &vals[3]), 0);
        memcpy(k, "xyz", 3);
        CHECK(hmap_get(&m, "no2", 3) == &vals[3]);
        CHECK(hmap_get(&m, "xyz", 3) == NULL);
    }

    /* the empty key is a key like any other */
    CHECK_EQ_INT(hmap_put(&m, "", 0, &vals[4]), 0);
    CHECK(hmap_get(&m, "", 0) == &vals[4]);
    CHECK_EQ_INT(m.len, 4);

    /* keys with embedded NULs differ by their bytes after the NUL */
    CHECK_EQ_INT(hmap_put(&m, "a\0b", 3, &vals[5]), 0);
    CHECK_EQ_INT(hmap_put(&m, "a\0c", 3, &vals[6]), 0);
    CHECK_EQ_INT(hmap_put(&m, "a", 1, &vals[7]), 0);
    CHECK_EQ_INT(m.len, 7);
    CHECK(hmap_get(&m, "a\0b", 3) == &vals[5]);
    CHECK(hmap_get(&m, "a\0c", 3) == &vals[6]);
    CHECK(hmap_get(&m, "a", 1) == &vals[7]);
    CHECK(hmap_get(&m, "a\0", 2) == NULL);
    CHECK(hmap_get(&m, "a\0d", 3) == NULL);
    /* the stored copy keeps all klen bytes and is NUL-terminated */
    {
        int found = 0;
        for (size_t i = 0; i < m.cap; i++) {
            const struct hmap_slot *s = &m.slots[i];
            if (s->key && s->klen == 3 && memcmp(s->key, "a\0c", 3) == 0) {
                CHECK_EQ_INT(s->key[3], '\0');
                found++;
            }
        }
        CHECK_EQ_INT(found, 1);
    }

    /* a NULL value is stored (and reads back as NULL) */
    CHECK_EQ_INT(hmap_put(&m, "null", 4, NULL), 0);
    CHECK(hmap_get(&m, "null", 4) == NULL);
    CHECK_EQ_INT(m.len, 8);
    hmap_close(&m);
    CHECK_EQ_INT(m.len, 0);
    CHECK_EQ_INT(m.cap, 0);
    CHECK(hmap_get(&m, "pm25", 4) == NULL); /* closed maps are empty maps */
    hmap_close(&m);
}

/* 100k keys, growing from empty; every key found, replaced, and misses */
static void test_many(void)
{
    enum { N = 100000 };
    struct hmap m;
    static uintptr_t tag[N];
    char k[32];

    hmap_init(&m);
    for (size_t i = 0; i < N; i++) {
        int n = snprintf(k, sizeof(k), "dev-%zu", i);
        tag[i] = i;
        CHECK_EQ_INT(hmap_put(&m, k, (size_t)n, &tag[i]), 0);
        CHECK_EQ_INT(m.len, i + 1);
        /* the load stays at most one half, the capacity a power of two */
        CHECK(m.len * 2 <= m.cap);
        CHECK((m.cap & (m.cap - 1)) == 0);
    }
    CHECK(m.cap >= 2 * N);
    for (size_t i = 0; i < N; i++) {
        int n = snprintf(k, sizeof(k), "dev-%zu", i);
        CHECK(hmap_get(&m, k, (size_t)n) == &tag[i]);
    }
    for (size_t i = 0; i < N; i++) {
        int n = snprintf(k, sizeof(k), "dev-%zu", i + N);
        CHECK(hmap_get(&m, k, (size_t)n) == NULL);
        n = snprintf(k, sizeof(k), "Dev-%zu", i);
        CHECK(hmap_get(&m, k, (size_t)n) == NULL);
    }
    /* replace every other key with its neighbour's value */
    size_t cap = m.cap;
    for (size_t i = 0; i + 1 < N; i += 2) {
        int n = snprintf(k, sizeof(k), "dev-%zu", i);
        CHECK_EQ_INT(hmap_put(&m, k, (size_t)n, &tag[i + 1]), 0);
    }
    CHECK_EQ_INT(m.len, N);
    CHECK_EQ_INT(m.cap, cap); /* replacing does not grow */
    for (size_t i = 0; i < N; i++) {
        int n = snprintf(k, sizeof(k), "dev-%zu", i);
        CHECK(hmap_get(&m, k, (size_t)n) == &tag[i % 2 ? i : i + 1]);
    }
    hmap_close(&m);

    /* binary keys: every 2-byte value, including NUL bytes */
    hmap_init(&m);
    for (unsigned i = 0; i < 65536; i++) {
        char b[2] = {(char)(i >> 8), (char)(i & 0xff)};
        CHECK_EQ_INT(hmap_put(&m, b, 2, &tag[i]), 0);
    }
    CHECK_EQ_INT(m.len, 65536);
    for (unsigned i = 0; i < 65536; i++) {
        char b[2] = {(char)(i >> 8), (char)(i & 0xff)};
        CHECK(hmap_get(&m, b, 2) == &tag[i]);
        CHECK(hmap_get(&m, b, 1) == NULL);
    }
    hmap_close(&m);

    /* keys that differ only after a NUL, packed into a small map so that
     * they share probe sequences: each must stay its own entry */
    hmap_init(&m);
    for (unsigned i = 0; i < 256; i++) {
        char b[3] = {'\0', (char)i, '\0'};
        CHECK_EQ_INT(hmap_put(&m, b, 2, &tag[i]), 0);
        CHECK_EQ_INT(hmap_put(&m, b, 3, &tag[256 + i]), 0);
    }
    CHECK_EQ_INT(m.len, 512);
    for (unsigned i = 0; i < 256; i++) {
        char b[3] = {'\0', (char)i, '\0'};
        CHECK(hmap_get(&m, b, 2) == &tag[i]);
        CHECK(hmap_get(&m, b, 3) == &tag[256 + i]);
    }
    hmap_close(&m);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_basic),
    CHECK_CASE(test_many),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
