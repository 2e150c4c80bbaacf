/* buf: a growable byte buffer with a hard cap (curl's dynbuf idea): every
 * growth is checked against the cap, so no input can make it unbounded.
 * Always NUL-terminated for convenience. Not thread-safe. */
#ifndef ECO_BUF_H
#define ECO_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct buf {
    char *p;
    size_t len, cap, max;
};

/* max: the most bytes the buffer may ever hold (excluding the NUL). */
void buf_init(struct buf *b, size_t max);
void buf_close(struct buf *b);
void buf_reset(struct buf *b);
/* Appends; -E2BIG past max (the buffer is left as it was), -ENOMEM. */
int buf_add(struct buf *b, const void *p, size_t n);
int buf_addc(struct buf *b, char c);
int buf_addstr(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* buf_printf with a va_list (ap is used, not ended). */
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Appends s as the inside of a JSON string (escaping quotes, backslashes
 * and control characters; invalid UTF-8 becomes U+FFFD). */
int buf_add_json_str(struct buf *b, const char *s, size_t n);
/* Appends s as a COPY text-format field (escaping backslash, tab, newline,
 * carriage return; invalid UTF-8 becomes U+FFFD; NUL bytes dropped). */
int buf_add_copy_text(struct buf *b, const char *s, size_t n);

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
size_t buf_utf8_len(const unsigned char *s, size_t n);
/* True when all n bytes at s are valid UTF-8 without a NUL: text that a
 * PostgreSQL text parameter takes as it is. */
bool buf_utf8_text(const void *s, size_t n);

#endif
