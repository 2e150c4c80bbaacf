/* mqpw: mosquitto password hashes ($7$: PBKDF2-HMAC-SHA512), the format
 * mosquitto 2.0's password_file and `mosquitto_passwd` use:
 *
 *   $7$<iterations>$<base64 salt>$<base64 hash>
 *
 * with a 12-byte salt, a 64-byte derived key and standard padded base64
 * (mosquitto 2.0.11 src/password_mosq.c). Computed with libcrypto's
 * PKCS5_PBKDF2_HMAC, the function mosquitto itself calls, so a hash made
 * here is checked by the broker unchanged (tests/unit/mqpw_test.c checks one
 * written by mosquitto_passwd). Pure functions; thread-safe. */
#ifndef ECO_MQPW_H
#define ECO_MQPW_H

#include <stddef.h>

/* mosquitto_passwd's default (PW_DEFAULT_ITERATIONS in 2.0.11). */
#define MQPW_ITERATIONS 101
#define MQPW_SALT_LEN 12
/* Longest hash this module writes or reads, with the NUL. */
#define MQPW_HASH_MAX 160
/* Longest password accepted (mosquitto reads password file lines of any
 * length; this bounds what we hash). */
#define MQPW_PASSWORD_MAX 256

/* Hashes pw (len bytes, 1..MQPW_PASSWORD_MAX) with a fresh random salt into
 * out (cap >= MQPW_HASH_MAX), NUL-terminated. Returns 0, -EINVAL (bad
 * length), -ENOSPC or -EIO (no randomness, libcrypto failure). */
int mqpw_hash(const char *pw, size_t len, char *out, size_t cap);

/* Same with a given salt and iteration count (tests, known vectors). */
int mqpw_hash_salt(const char *pw, size_t len, const unsigned char *salt, size_t salt_len,
                   int iterations, char *out, size_t cap);

/* Checks pw against a $7$ hash in constant time. Returns 0 when it
 * matches, -EACCES when it does not, -EINVAL when hash is not a $7$ hash. */
int mqpw_verify(const char *pw, size_t len, const char *hash);

/* Writes n random characters from [A-Za-z0-9] and a NUL into out
 * (cap > n): a generated password. Returns 0 or -EIO. */
int mqpw_random(char *out, size_t n, size_t cap);

#endif
