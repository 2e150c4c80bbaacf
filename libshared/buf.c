#include "buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t max)
{
    b->p = NULL;
    b->len = b->cap = 0;
    b->max = max;
}

void buf_close(struct buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

static int buf__room(struct buf *b, size_t n)
{
    size_t need, ncap;
    char *np;

    if (n > b->max || b->len > b->max - n)
        return -E2BIG;
    need = b->len + n + 1;
    if (need <= b->cap)
        return 0;
    ncap = b->cap ? b->cap : 256;
    while (ncap < need)
        ncap *= 2;
    if (ncap > b->max + 1)
        ncap = b->max + 1;
    np = realloc(b->p, ncap);
    if (!np)
        return -ENOMEM;
    b->p = np;
    b->cap = ncap;
    return 0;
}

int buf_add(struct buf *b, const void *p, size_t n)
{
    int rc = buf__room(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int buf_addc(struct buf *b, char c)
{
    return buf_add(b, &c, 1);
}

int buf_addstr(struct buf *b, const char *s)
{
    return buf_add(b, s, strlen(s));
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    char small[256];
    int n;

    va_copy(ap2, ap);
    n = vsnprintf(small, sizeof(small), fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return -EINVAL;
    if ((size_t)n < sizeof(small))
        return buf_add(b, small, (size_t)n);
    int rc = buf__room(b, (size_t)n);
    if (rc)
        return rc;
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

size_t buf_utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = n ? s[0] : 0;
    size_t k;
    unsigned cp;

    if (n == 0)
        return 0;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        k = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        k = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        k = 4, cp = c & 0x07;
    else
        return 0;
    if (n < k)
        return 0;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    /* overlong forms, surrogates and beyond U+10FFFF are not UTF-8 */
    if ((k == 3 && cp < 0x800) || (k == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return k;
}

static const char buf__fffd[] = "\xEF\xBF\xBD";

enum buf__esc { BUF__JSON, BUF__COPY };

/* Whether the single-byte character c needs escaping in the given syntax. */
static int buf__special(enum buf__esc how, unsigned char c)
{
    if (how == BUF__JSON)
        return c < 0x20 || c == '"' || c == '\\';
    return c == '\\' || c == '\t' || c == '\n' || c == '\r' || c == 0;
}

static int buf__escape_one(struct buf *b, enum buf__esc how, unsigned char c)
{
    switch (c) {
    case '"':
        return buf_add(b, "\\\"", 2);
    case '\\':
        return buf_add(b, "\\\\", 2);
    case '\n':
        return buf_add(b, "\\n", 2);
    case '\r':
        return buf_add(b, "\\r", 2);
    case '\t':
        return buf_add(b, "\\t", 2);
    case 0:
        if (how == BUF__COPY)
            return 0; /* COPY text cannot carry NUL: dropped */
        break;
    }
    return buf_printf(b, "\\u%04x", c);
}

/* Copies runs of plain valid UTF-8 in one go; escapes what the syntax
 * needs; replaces invalid UTF-8 with U+FFFD. */
static int buf__escape(struct buf *b, enum buf__esc how, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, run = 0;
    int rc = 0;

    while (i < n && !rc) {
        size_t k = buf_utf8_len(p + i, n - i);
        if (k > 1 || (k == 1 && !buf__special(how, p[i]))) {
            i += k;
            run += k;
            continue;
        }
        if (run)
            rc = buf_add(b, p + i - run, run);
        run = 0;
        if (!rc)
            rc = k == 0 ? buf_add(b, buf__fffd, 3) : buf__escape_one(b, how, p[i]);
        i++;
    }
    if (!rc && run)
        rc = buf_add(b, p + n - run, run);
    return rc;
}

int buf_add_json_str(struct buf *b, const char *s, size_t n)
{
    return buf__escape(b, BUF__JSON, s, n);
}

int buf_add_copy_text(struct buf *b, const char *s, size_t n)
{
    return buf__escape(b, BUF__COPY, s, n);
}

bool buf_utf8_text(const void *s, size_t n)
{
    const unsigned char *p = s;
    size_t i = 0;
    while (i < n) {
        size_t k = p[i] ? buf_utf8_len(p + i, n - i) : 0;
        if (k == 0)
            return false;
        i += k;
    }
    return true;
}
