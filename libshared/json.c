#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Objects with more members than this are checked through a sorted copy of
 * their keys (O(n log n)); smaller ones pair by pair. */
#define JSON_DUP_LINEAR 16

static int json__cmp_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void json__dup_err(const char *key, char *err, size_t errcap)
{
    char k[40];
    size_t n = 0;

    if (!err)
        return;
    /* the key comes from the sender: print it safely */
    for (const char *p = key; *p && n + 1 < sizeof(k); p++)
        k[n++] = *p >= 0x20 && *p < 0x7f && *p != '"' ? *p : '?';
    k[n] = '\0';
    snprintf(err, errcap, "duplicate key \"%s\"", k);
}

/* Refuses an object that names one key twice, at any depth. cJSON keeps
 * both members and its lookups return the first, while other readers keep
 * the last: which value counts would depend on the reader, so such a
 * document is refused rather than guessed at. Depth is bounded by cJSON's
 * CJSON_NESTING_LIMIT. Returns 0, -EBADMSG or -ENOMEM. */
static int json__check_dups(const cJSON *node, char *err, size_t errcap)
{
    const char **keys = NULL;
    const cJSON *c;
    size_t n = 0;
    int rc = 0;

    if (!cJSON_IsObject(node) && !cJSON_IsArray(node))
        return 0;
    for (c = node->child; c; c = c->next) {
        if ((rc = json__check_dups(c, err, errcap)))
            return rc;
        n++;
    }
    if (!cJSON_IsObject(node) || n < 2)
        return 0;
    if (n <= JSON_DUP_LINEAR) {
        for (c = node->child; c; c = c->next)
            for (const cJSON *d = c->next; d; d = d->next)
                if (c->string && d->string && strcmp(c->string, d->string) == 0) {
                    json__dup_err(c->string, err, errcap);
                    return -EBADMSG;
                }
        return 0;
    }
    if (!(keys = malloc(n * sizeof(*keys))))
        return -ENOMEM;
    n = 0;
    for (c = node->child; c; c = c->next)
        keys[n++] = c->string ? c->string : "";
    qsort(keys, n, sizeof(*keys), json__cmp_key);
    for (size_t i = 1; i < n && !rc; i++)
        if (strcmp(keys[i - 1], keys[i]) == 0) {
            json__dup_err(keys[i], err, errcap);
            rc = -EBADMSG;
        }
    free(keys);
    return rc;
}

int json_parse(const char *buf, size_t len, cJSON **out, char *err, size_t errcap)
{
    int rc;
    const char *end = NULL;
    cJSON *root;

    *out = NULL;
    if (len > JSON_MAX_BYTES) {
        if (err)
            snprintf(err, errcap, "document of %zu bytes exceeds %u", len, JSON_MAX_BYTES);
        return -E2BIG;
    }
    root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    if (!root) {
        if (err) {
            size_t off = end && end >= buf ? (size_t)(end - buf) : 0;
            snprintf(err, errcap, "invalid JSON near byte %zu", off);
        }
        return -EBADMSG;
    }
    /* cJSON stops at the end of the first value; anything but whitespace
     * after it means the payload was not one JSON document. */
    for (const char *p = end; p && p < buf + len; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
            if (err)
                snprintf(err, errcap, "trailing data at byte %zu", (size_t)(p - buf));
            cJSON_Delete(root);
            return -EBADMSG;
        }
    }
    if ((rc = json__check_dups(root, err, errcap))) {
        if (rc == -ENOMEM && err)
            snprintf(err, errcap, "out of memory");
        cJSON_Delete(root);
        return rc;
    }
    *out = root;
    return 0;
}

static const cJSON *json__item(const cJSON *obj, const char *key)
{
    if (!cJSON_IsObject(obj))
        return NULL;
    return cJSON_GetObjectItemCaseSensitive(obj, key);
}

int json_get_f64(const cJSON *obj, const char *key, double *out)
{
    const cJSON *it = json__item(obj, key);
    if (!it)
        return -ENOENT;
    if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble))
        return -EBADMSG;
    *out = it->valuedouble;
    return 0;
}

int json_num_i64(const cJSON *item, int64_t min, int64_t max, int64_t *out)
{
    double d;
    if (!cJSON_IsNumber(item))
        return -EBADMSG;
    d = item->valuedouble;
    /* From 2^53 on, doubles are not exact integers: 2^53 + 1 reads as 2^53. */
    if (!isfinite(d) || d != floor(d) || d <= -9007199254740992.0 || d >= 9007199254740992.0)
        return -EBADMSG;
    if (d < (double)min || d > (double)max)
        return -EBADMSG;
    *out = (int64_t)d;
    return 0;
}

int json_get_i64(const cJSON *obj, const char *key, int64_t min, int64_t max, int64_t *out)
{
    const cJSON *it = json__item(obj, key);
    if (!it)
        return -ENOENT;
    return json_num_i64(it, min, max, out);
}

int json_get_bool(const cJSON *obj, const char *key, bool *out)
{
    const cJSON *it = json__item(obj, key);
    if (!it)
        return -ENOENT;
    if (!cJSON_IsBool(it))
        return -EBADMSG;
    *out = cJSON_IsTrue(it);
    return 0;
}

int json_get_strp(const cJSON *obj, const char *key, const char **out)
{
    const cJSON *it = json__item(obj, key);
    if (!it)
        return -ENOENT;
    if (!cJSON_IsString(it) || !it->valuestring)
        return -EBADMSG;
    *out = it->valuestring;
    return 0;
}

int json_get_str(const cJSON *obj, const char *key, char *out, size_t cap, size_t *len)
{
    const char *s;
    size_t n;
    int rc = json_get_strp(obj, key, &s);
    if (rc)
        return rc;
    n = strlen(s);
    if (n + 1 > cap)
        return -E2BIG;
    memcpy(out, s, n + 1);
    if (len)
        *len = n;
    return 0;
}

int json_print(const cJSON *item, char **out, size_t *len)
{
    char *s = cJSON_PrintUnformatted(item);
    if (!s)
        return -ENOMEM;
    *out = s;
    if (len)
        *len = strlen(s);
    return 0;
}
