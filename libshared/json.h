/* json: the one wrapper over cJSON. Parsing is length-bounded (MQTT payloads
 * are not NUL-terminated), lookups are case-sensitive, getters are typed and
 * return -EBADMSG on a wrong type or range, so services never read cJSON's
 * valueint/valuestring directly. Not thread-safe beyond cJSON itself: keep JSON
 * work on one thread. */
#ifndef ECO_JSON_H
#define ECO_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest document json_parse accepts. */
#define JSON_MAX_BYTES (1u << 20)

/* Parses exactly len bytes; trailing non-whitespace is an error, and so is
 * an object that names the same key twice (at any depth: which of the two
 * values counts would depend on the reader). On success *out is a tree the
 * caller owns (free with cJSON_Delete). Returns 0, -E2BIG when len >
 * JSON_MAX_BYTES, -ENOMEM, or -EBADMSG; on an error `err` (if not NULL) gets
 * a short reason ("invalid JSON near byte 12", "duplicate key \"ts\""). */
int json_parse(const char *buf, size_t len, cJSON **out, char *err, size_t errcap);

/* Getters: `obj` must be an object. A missing key yields -ENOENT (the
 * caller decides whether it is optional); a present key of the wrong type
 * or out of range yields -EBADMSG. */
int json_get_f64(const cJSON *obj, const char *key, double *out);
int json_get_i64(const cJSON *obj, const char *key, int64_t min, int64_t max, int64_t *out);
int json_get_bool(const cJSON *obj, const char *key, bool *out);
/* Copies the string into out (cap bytes with NUL); -E2BIG if it does not fit.
 * *len (may be NULL) gets the length. */
int json_get_str(const cJSON *obj, const char *key, char *out, size_t cap, size_t *len);
/* Borrows the string: valid while the tree lives. */
int json_get_strp(const cJSON *obj, const char *key, const char **out);

/* Number to int64 with integrality and range checks. */
int json_num_i64(const cJSON *item, int64_t min, int64_t max, int64_t *out);

/* Renders compactly into a malloc'd NUL-terminated string the caller frees
 * with cJSON_free. Returns 0 or -ENOMEM. */
int json_print(const cJSON *item, char **out, size_t *len);

#endif
