/* batch: turns spool records into what one transaction of eco-ingest
 * stores and, once it committed, publishes: readings as binary COPY rows,
 * track points, dead letters, HJ 212 device events, the eco/v1/obs
 * messages (obsgroup.h) and the dlq/event publications, and the latest
 * values of its readings (the batch layer of latest.h).
 *
 * Building touches only the batch, the batch layer of latest.h and the
 * borrowed context; no I/O.
 *
 * Loop thread only. */
#ifndef ECO_INGEST_BATCH_H
#define ECO_INGEST_BATCH_H

#include "buf.h"
#include "latest.h"
#include "obsgroup.h"
#include "readings.h"
#include "registry.h"
#include "spool.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct batch {
    uint64_t first, last; /* spool sequences of its records */
    size_t records, rows, dead, events;
    struct buf stage; /* obs.reading rows, binary COPY */
    struct buf track; /* obs.track points, binary COPY */
    struct buf deadl; /* obs.deadletter, text COPY */
    struct buf evbuf; /* obs.device_event staging, text COPY */
    struct buf pubs;  /* publications: topic NUL retain-char length NUL payload */
    struct obsg obs;
    int64_t new_lo, new_hi; /* reading times in months with no known partition */
};

/* What building borrows from the service. */
struct batch_ctx {
    const struct reg *reg;
    struct latest *lat;
    const int *months; /* months (since 1970-01, UTC) whose partition exists */
    size_t nmonths;
    struct rd_out *rd;
    const struct rd_limits *lim;
    int64_t max_payload;
    int64_t now_us;
};

/* Buffers sized for batch_rows readings; nothing is allocated until used.
 * Returns 0 or -ENOMEM. */
int batch_init(struct batch *b, size_t batch_rows);
void batch_close(struct batch *b);
/* Empties the batch, which starts at spool record `first`. */
void batch_reset(struct batch *b, uint64_t first);

/* Adds one spool record: its readings, or its dead letter, or its gateway
 * event. Returns 0; or -ENOSPC / -E2BIG when it does not fit (the batch is
 * left as it was before the record: end the batch there). */
int batch_add(struct batch *b, const struct batch_ctx *c, const struct spool_rec *rec);
/* Adds the record as a dead letter with `reason` (a record the database
 * refuses again and again). Returns as batch_add. */
int batch_add_dead(struct batch *b, const struct spool_rec *rec, const char *reason);
/* Closes the COPY streams and queues the obs messages. Returns 0 or
 * -ENOMEM / -E2BIG. */
int batch_finish(struct batch *b);

/* Calls pub for every publication of the batch, in order. */
void batch_publications(const struct batch *b,
                        void (*pub)(void *ud, const char *topic, const char *p, size_t len,
                                    bool retain),
                        void *ud);

/* Notes the latest values of a parsed message that is already committed (a
 * replay after a restart). Returns 0, -ENOSPC or -ENOMEM. */
int batch_note_committed(struct latest *lat, const struct rd_out *rd);

/* Months since 1970-01 (UTC) of a time in microseconds since the epoch. */
int batch_month(int64_t ts_us);
/* Writes v so that it reads back as the same double, short when possible. */
int batch_add_double(struct buf *b, double v);
/* True for the records the HJ 212 gateway spools beside readings. */
bool batch_is_gateway(const struct spool_rec *rec);

#endif
