/* pgbin: PostgreSQL binary COPY format, for bulk loads that neither side
 * should spend CPU formatting and parsing text for (the ingest hot path).
 * Appends to a struct buf; every function returns 0 or buf's error
 * (-E2BIG at the buffer's cap, -ENOMEM).
 *
 *   COPY t (a, b) FROM STDIN (FORMAT binary)
 *   pgbin_begin(b); per row: pgbin_row(b, 2), pgbin_i32(b, ..), pgbin_f64(b, ..);
 *   pgbin_end(b);
 *
 * Types must match the columns exactly (int4, int2, "char", float8,
 * timestamptz). Thread-safe (no state). */
#ifndef ECO_PGBIN_H
#define ECO_PGBIN_H

#include "buf.h"

#include <stdint.h>

int pgbin_begin(struct buf *b);
int pgbin_end(struct buf *b);
int pgbin_row(struct buf *b, int16_t nfields);
int pgbin_i32(struct buf *b, int32_t v);
int pgbin_i16(struct buf *b, int16_t v);
int pgbin_char(struct buf *b, char c); /* the one-byte "char" type */
int pgbin_f64(struct buf *b, double v);
/* timestamptz from microseconds since the Unix epoch */
int pgbin_ts(struct buf *b, int64_t unix_us);
int pgbin_null(struct buf *b);

#endif
