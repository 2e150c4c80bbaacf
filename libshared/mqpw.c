#include "mqpw.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MQPW_KEY_LEN 64 /* SHA-512 output, what mosquitto derives */

/* Standard base64 with padding, no newlines (EVP_EncodeBlock). */
static int mqpw__b64(const unsigned char *in, size_t n, char *out, size_t cap)
{
    if (n > 192 || cap < 4 * ((n + 2) / 3) + 1)
        return -ENOSPC;
    EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    return 0;
}

/* Decodes a padded base64 field of length n into out; *outn gets the real
 * length (EVP_DecodeBlock counts the padding as zero bytes). */
static int mqpw__unb64(const char *in, size_t n, unsigned char *out, size_t cap, size_t *outn)
{
    int got;
    size_t pad = 0;
    if (n == 0 || n % 4 || n / 4 * 3 > cap)
        return -EINVAL;
    got = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);
    if (got < 0)
        return -EINVAL;
    while (pad < 2 && in[n - 1 - pad] == '=')
        pad++;
    *outn = (size_t)got - pad;
    return 0;
}

static int mqpw__derive(const char *pw, size_t len, const unsigned char *salt, size_t salt_len,
                        int iterations, unsigned char key[MQPW_KEY_LEN])
{
    if (len == 0 || len > MQPW_PASSWORD_MAX || iterations < 1 || salt_len == 0 || salt_len > 64)
        return -EINVAL;
    if (PKCS5_PBKDF2_HMAC(pw, (int)len, salt, (int)salt_len, iterations, EVP_sha512(), MQPW_KEY_LEN,
                          key) != 1)
        return -EIO;
    return 0;
}

int mqpw_hash_salt(const char *pw, size_t len, const unsigned char *salt, size_t salt_len,
                   int iterations, char *out, size_t cap)
{
    unsigned char key[MQPW_KEY_LEN];
    char s64[96], k64[96];
    int rc, n;

    rc = mqpw__derive(pw, len, salt, salt_len, iterations, key);
    if (rc)
        return rc;
    if (mqpw__b64(salt, salt_len, s64, sizeof s64) || mqpw__b64(key, sizeof key, k64, sizeof k64))
        rc = -ENOSPC;
    OPENSSL_cleanse(key, sizeof key);
    if (rc)
        return rc;
    n = snprintf(out, cap, "$7$%d$%s$%s", iterations, s64, k64);
    return n < 0 || (size_t)n >= cap ? -ENOSPC : 0;
}

int mqpw_hash(const char *pw, size_t len, char *out, size_t cap)
{
    unsigned char salt[MQPW_SALT_LEN];
    if (RAND_bytes(salt, sizeof salt) != 1)
        return -EIO;
    return mqpw_hash_salt(pw, len, salt, sizeof salt, MQPW_ITERATIONS, out, cap);
}

int mqpw_verify(const char *pw, size_t len, const char *hash)
{
    unsigned char salt[96], want[96], key[MQPW_KEY_LEN];
    const char *p, *s, *k;
    char *end;
    long it;
    size_t sn, kn;
    int rc;

    if (!hash || strncmp(hash, "$7$", 3) != 0)
        return -EINVAL;
    p = hash + 3;
    errno = 0;
    it = strtol(p, &end, 10);
    if (errno || end == p || *end != '$' || it < 1 || it > 10000000)
        return -EINVAL;
    s = end + 1;
    k = strchr(s, '$');
    if (!k || mqpw__unb64(s, (size_t)(k - s), salt, sizeof salt, &sn))
        return -EINVAL;
    k++;
    if (mqpw__unb64(k, strlen(k), want, sizeof want, &kn) || kn != MQPW_KEY_LEN)
        return -EINVAL;
    rc = mqpw__derive(pw, len, salt, sn, (int)it, key);
    if (rc == 0)
        rc = CRYPTO_memcmp(key, want, MQPW_KEY_LEN) == 0 ? 0 : -EACCES;
    OPENSSL_cleanse(key, sizeof key);
    return rc;
}

int mqpw_random(char *out, size_t n, size_t cap)
{
    static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char b;
    size_t i = 0;
    if (cap <= n)
        return -ENOSPC;
    while (i < n) {
        if (RAND_bytes(&b, 1) != 1)
            return -EIO;
        if (b >= 248) /* 248 = 4 * 62: reject to keep the choice uniform */
            continue;
        out[i++] = set[b % 62];
    }
    out[n] = '\0';
    return 0;
}
