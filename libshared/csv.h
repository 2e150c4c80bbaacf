/* csv: the one RFC 4180 CSV reader of the suite, for the sample network in
 * ecosim, `ecoctl import readings` and `ecoctl registry load`.
 *
 * Syntax: quoted fields may hold commas, doubled quotes and line breaks;
 * CR LF and LF both end a record (a CR anywhere else outside quotes is an
 * error); a UTF-8 byte order mark at the very start is skipped; blank lines
 * (nothing but spaces and tabs) are skipped; spaces and tabs around a field
 * are trimmed (inside quotes everything is kept). A quote inside an unquoted
 * field, text after a closing quote, a NUL byte and a quote left open at the
 * end of the input are errors, never guesses.
 *
 * Bounded: a record holds at most rec_max bytes of field text, one field at
 * most field_max bytes, and at most fields_max fields (<= CSV_FIELDS_MAX).
 * Going past a cap is an error (-E2BIG), never a silent cut.
 *
 * Errors are recoverable: after csv_next returns a negative errno other
 * than -EIO, the rest of the offending physical line has been skipped and
 * the next call reads the record after it, so a caller can list every bad
 * record at once. c->err says why, in words; c->line is the physical line
 * (from 1, counting the line breaks inside quoted fields) where the record
 * started.
 *
 * A struct csv owns its FILE (csv_open) and its record buffer; it borrows
 * the bytes given to csv_init_mem, which must outlive it. Not thread-safe:
 * one reader per thread. */
#ifndef ECO_CSV_H
#define ECO_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CSV_REC_MAX 4096 /* default rec_max and field_max */
#define CSV_FIELDS_MAX 32
#define CSV_NAME_MAX 48 /* a header name, with its NUL (csv_open) */
#define CSV_ERR_MAX 160

struct csv_limits {
    size_t rec_max;   /* bytes of field text in one record */
    size_t field_max; /* bytes in one field */
    int fields_max;   /* fields in one record, 1..CSV_FIELDS_MAX */
};

struct csv {
    FILE *f;         /* csv_open: owned */
    const char *mem; /* csv_init_mem: borrowed */
    size_t mem_len, mem_pos;
    bool ioerr;
    struct csv_limits lim;
    long line;      /* physical line where the current record starts, from 1 */
    long next_line; /* line the next record starts on */
    int nfields;
    char *field[CSV_FIELDS_MAX]; /* point into buf; NUL-terminated */
    size_t flen[CSV_FIELDS_MAX];
    char *buf;             /* owned: rec_max + CSV_FIELDS_MAX + 1 bytes */
    char err[CSV_ERR_MAX]; /* why the last csv_next failed */
    int nhdr;
    char hdr[CSV_FIELDS_MAX][CSV_NAME_MAX];
};

/* Opens path with the default limits (CSV_REC_MAX, CSV_FIELDS_MAX) and
 * reads the header row. Returns 0, -errno from fopen, -ENOMEM, or -EBADMSG
 * (no header, or a malformed one). On failure nothing is open. */
int csv_open(struct csv *c, const char *path);

/* Reads the len bytes at data (borrowed; no NUL needed) with the limits
 * lim (NULL: the defaults). No header is read: the first csv_next returns
 * the first record. Returns 0, -EINVAL for bad limits or -ENOMEM. On
 * failure c needs no csv_close (it is harmless). */
int csv_init_mem(struct csv *c, const char *data, size_t len, const struct csv_limits *lim);

/* Reads the next record. Returns 1 with fields filled, 0 at the end of the
 * input, -EBADMSG on a syntax error, -E2BIG past a cap, -EIO on a read
 * error (then stop reading). On an error c->err says why and c->line where. */
int csv_next(struct csv *c);

/* Index of the header column with this exact name, or -1 (csv_open). */
int csv_col(const struct csv *c, const char *name);

/* Field col of the current record (borrowed until the next csv_next);
 * "" when col is negative or the record is shorter. */
const char *csv_get(const struct csv *c, int col);

/* Closes the file and frees the buffer; safe on a closed or zeroed struct. */
void csv_close(struct csv *c);

#endif
