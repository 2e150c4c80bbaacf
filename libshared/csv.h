/* csv: a small RFC 4180 CSV reader with a header row, for files read as a
 * stream (the sample network in ecosim, `ecoctl import readings`). Quoted fields may hold commas,
 * doubled quotes and line breaks; CR LF and LF both end a record; a UTF-8 byte order mark is
 * skipped; blank lines are skipped; spaces around unquoted fields are trimmed. Columns are found by
 * header name, so files may carry extra columns in any order.
 *
 * Bounded: a record holds at most CSV_REC_MAX bytes and CSV_FIELDS_MAX
 * fields (fields beyond are read and ignored); a longer record is an error,
 * never a silent cut. A struct csv is about 6 KiB and owns its FILE. */
#ifndef ECO_CSV_H
#define ECO_CSV_H

#include <stdio.h>

#define CSV_REC_MAX 4096
#define CSV_FIELDS_MAX 32
#define CSV_NAME_MAX 48

struct csv {
    FILE *f;
    long line;      /* line where the current record starts, from 1 */
    long next_line; /* line the next record starts on */
    int nfields;
    char *field[CSV_FIELDS_MAX]; /* point into buf */
    char buf[CSV_REC_MAX];
    int nhdr;
    char hdr[CSV_FIELDS_MAX][CSV_NAME_MAX];
};

/* Opens path and reads the header row. Returns 0, -errno from fopen, or
 * -EBADMSG (no header, or a malformed one). On failure nothing is open. */
int csv_open(struct csv *c, const char *path);

/* Reads the next record. Returns 1 with fields filled, 0 at end of file,
 * -EBADMSG on a syntax error (stray quote), -E2BIG when the record is longer
 * than CSV_REC_MAX, -EIO on a read error. c->line tells where. */
int csv_next(struct csv *c);

/* Index of the header column with this exact name, or -1. */
int csv_col(const struct csv *c, const char *name);

/* Field col of the current record (borrowed until the next csv_next);
 * "" when col is negative or the record is shorter. */
const char *csv_get(const struct csv *c, int col);

/* Closes the file; safe on a closed or zeroed struct. */
void csv_close(struct csv *c);

#endif
