/* readings: turns one message from eco/v1/in/{device} into rows for
 * obs.reading, checked against the registry. Pure: no I/O, so every rule is
 * unit-tested without servers.
 *
 * A message is one readings object ({"ts", "period", "values", "lat",
 * "lon"}) or {"readings": [objects]}. A bad value rejects that value only; a
 * bad object rejects that object; a bad envelope (JSON, unknown device)
 * rejects the message. Every rejection is described in out->why for the
 * dead-letter record. */
#ifndef ECO_INGEST_READINGS_H
#define ECO_INGEST_READINGS_H

#include "buf.h"
#include "registry.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RD_MAX_ROWS 4096
#define RD_MAX_OBJS 1024
#define RD_WHY_MAX 1024

struct rd_row {
    int site_id;
    int param_id;
    int64_t ts; /* microseconds since the epoch, period start */
    double value;
    char period; /* 'r', 'm', 'h', 'd' */
    char flag;
};

/* One readings object: becomes one eco/v1/obs/{site} message. */
struct rd_obj {
    int64_t ts;
    int tz_offset; /* seconds, as sent: obs echoes the station's offset */
    char period;
    bool has_pos;
    double lat, lon;
    size_t first_row, nrows;
};

struct rd_limits {
    int64_t max_future_us; /* refuse timestamps further ahead of now */
    int64_t min_ts_us;     /* and older than this */
};

struct rd_out {
    const struct reg_device *dev;
    struct rd_row rows[RD_MAX_ROWS];
    size_t nrows;
    struct rd_obj objs[RD_MAX_OBJS];
    size_t nobjs;
    int nbad;       /* values or objects rejected */
    struct buf why; /* "; "-separated reasons, capped at RD_WHY_MAX */
};

/* Prepares out (its why buffer); rd_out_close frees it. */
void rd_out_init(struct rd_out *out);
void rd_out_close(struct rd_out *out);

/* Parses one message. Returns 0 when the envelope was understood (rows may
 * be 0 and some values rejected: see nbad/why), -EBADMSG when the whole
 * message is rejected (why says why). `out` is reset first. */
int readings_parse(const struct reg *r, const char *topic, size_t tlen, const char *payload,
                   size_t len, int64_t now_us, const struct rd_limits *lim, struct rd_out *out);

/* 'r' -> "rt" ... ; NULL for an unknown code. */
const char *readings_period_name(char code);
/* "rt" -> 'r' ...; 0 for an unknown name. */
char readings_period_code(const char *name);

#endif
