#include "pgbin.h"

#include <string.h>

/* Seconds from 1970-01-01 to PostgreSQL's epoch, 2000-01-01. */
#define PGBIN_EPOCH_US (946684800LL * 1000000LL)

static void pgbin__be(unsigned char *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)(v & 0xff);
}

/* A field: 4-byte length, then n big-endian bytes of v. */
static int pgbin__field(struct buf *b, uint64_t v, int n)
{
    unsigned char tmp[12];
    pgbin__be(tmp, (uint64_t)n, 4);
    pgbin__be(tmp + 4, v, n);
    return buf_add(b, tmp, (size_t)(4 + n));
}

int pgbin_begin(struct buf *b)
{
    /* signature, flags (no OIDs), header extension length */
    static const unsigned char hdr[19] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0};
    return buf_add(b, hdr, sizeof(hdr));
}

int pgbin_end(struct buf *b)
{
    static const unsigned char trailer[2] = {0xff, 0xff};
    return buf_add(b, trailer, 2);
}

int pgbin_row(struct buf *b, int16_t nfields)
{
    unsigned char tmp[2];
    pgbin__be(tmp, (uint16_t)nfields, 2);
    return buf_add(b, tmp, 2);
}

int pgbin_i32(struct buf *b, int32_t v)
{
    return pgbin__field(b, (uint32_t)v, 4);
}

int pgbin_i16(struct buf *b, int16_t v)
{
    return pgbin__field(b, (uint16_t)v, 2);
}

int pgbin_char(struct buf *b, char c)
{
    return pgbin__field(b, (unsigned char)c, 1);
}

int pgbin_f64(struct buf *b, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof(u));
    return pgbin__field(b, u, 8);
}

int pgbin_ts(struct buf *b, int64_t unix_us)
{
    return pgbin__field(b, (uint64_t)(unix_us - PGBIN_EPOCH_US), 8);
}

int pgbin_null(struct buf *b)
{
    static const unsigned char null[4] = {0xff, 0xff, 0xff, 0xff};
    return buf_add(b, null, 4);
}
