/* hj212_int: what the hj212 modules (hj212_frame, hj212_enc, hj212_cp,
 * hj212_framer) share and callers must not use: small character helpers
 * (static inline) and the field checks and error helpers defined in
 * hj212_frame.c. Library-internal names carry the double underscore
 * (hj212__*), as mosquitto's internal functions do. Include it only from
 * those four .c files, after their own header. */
#ifndef ECO_HJ212_INT_H
#define ECO_HJ212_INT_H

#include "hj212_frame.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

static inline int hj212__hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static inline bool hj212__is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static inline bool hj212__is_alnum(char c)
{
    return hj212__is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static inline bool hj212__is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Control characters have no place in a data segment; tab is tolerated as
 * whitespace inside CP. */
static inline bool hj212__is_ctl(char c)
{
    unsigned char u = (unsigned char)c;
    return (u < 0x20 && u != '\t') || u == 0x7f;
}

/* n decimal digits -> value; -1 if any is not a digit. n <= 9. */
static inline long hj212__decimal(const char *s, size_t n)
{
    long v = 0;
    if (n == 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (!hj212__is_digit(s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* 4 hex digits -> value, -1 if not hex; *lower set when any is a-f. */
static inline int hj212__hex4(const char *s, bool *lower)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hj212__hexval(s[i]);
        if (h < 0)
            return -1;
        if (lower && s[i] >= 'a')
            *lower = true;
        v = v * 16 + h;
    }
    return v;
}

static inline bool hj212__eq(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/* Copies n bytes and a NUL (dst holds n + 1). */
static inline void hj212__copy(char *dst, const char *src, size_t n)
{
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* ---- defined in hj212_frame.c --------------------------------------- */

/* Sets err's reason and detail once: the first problem found is the one
 * reported, the way a reader of the frame would meet them. err may be NULL. */
__attribute__((format(printf, 3, 4))) void hj212__fail(struct hj212_err *err, int reason,
                                                       const char *fmt, ...);

/* Copies up to n bytes of untrusted input into out (cap bytes, always
 * NUL-terminated) for a detail message: printable ASCII only, long values
 * cut. Returns out. */
const char *hj212__show(const char *s, size_t n, char *out, size_t cap);

/* Syntax of one data-segment field value of n bytes (QN, ST, CN, PW, MN, an
 * unknown field's key and value): 0, or -1 when it would not parse. Shared by the
 * parser and the encoder so that whatever is encoded parses back. */
int hj212__check_qn(const char *v, size_t n);
int hj212__check_st(const char *v, size_t n);
int hj212__check_cn(const char *v, size_t n);
int hj212__check_pw(const char *v, size_t n);
int hj212__check_mn(const char *v, size_t n);
int hj212__check_xkey(const char *k, size_t n);
int hj212__check_xval(const char *v, size_t n);

/* Cross-field rules (required fields, Flag version, split consistency),
 * reported through hj212__fail. */
void hj212__check_frame(const struct hj212_frame *f, bool encoding, struct hj212_err *err);

#endif
