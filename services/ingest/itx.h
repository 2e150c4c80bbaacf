/* itx: the database transactions of eco-ingest, one at a time on its
 * connection (db.h, pipelined):
 *
 *   - a batch (batch.h): BEGIN; partitions for new months; the readings
 *     COPYed straight into obs.reading, or, once a batch held a repeat,
 *     through the staging table with ON CONFLICT DO NOTHING; track points,
 *     dead letters, HJ 212 device events; the spool position; COMMIT;
 *   - an update of obs.latest (latest.h) with latest_seq, in a transaction
 *     of its own.
 *
 * The policy after a failure is here: a unique violation (23505) runs the
 * same records again through staging at once; a lost connection replays
 * them; any other error retries after 500 ms, and after ITX_POISON_TRIES
 * failures batches shrink to one record, which after twice as many more is
 * dead-lettered (itx_poison) so that one record the server refuses cannot
 * stop the service. After successes the batch size doubles back to
 * batch_rows, and a merge that skipped nothing ends the staging detour.
 *
 * What the owner (ingest) does around it goes through hooks: after a commit
 * it moves its position, publishes and acks the spool; after a failure it
 * reads the batch's records from the spool again and runs the next
 * transaction after the delay given.
 *
 * Loop thread only. */
#ifndef ECO_INGEST_ITX_H
#define ECO_INGEST_ITX_H

#include "batch.h"
#include "buf.h"
#include "db.h"
#include "latest.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Failures of a batch before it shrinks to one record. */
#define ITX_POISON_TRIES 3

/* The staging tables; the connection's init_sql (db_opts.init_sql). */
extern const char ITX_SQL_STAGE[];

/* What a transaction stores. */
enum itx_kind { ITX_READINGS, ITX_LATEST };

/* Called on the loop thread, once per transaction, after it is over (the
 * itx is idle again: the hook may start the next one). */
struct itx_hooks {
    void *ud;
    /* It committed. */
    void (*committed)(void *ud, enum itx_kind kind);
    /* It failed or could not be sent: nothing of it is stored. For
     * ITX_READINGS the owner reads the batch's records again. Run the next
     * transaction after delay_ms. */
    void (*failed)(void *ud, enum itx_kind kind, uint64_t delay_ms);
};

struct itx_counters {
    uint64_t batch_failures; /* batches that did not commit (a repeat aside) */
    uint64_t repeat_batches; /* batches run again through staging: they held a repeat */
};

struct itx {
    struct db *db;        /* borrowed while a transaction runs */
    struct latest *lat;   /* borrowed: the pending obs.latest values */
    const char *instance; /* borrowed: the spool_position key */
    struct itx_hooks hooks;
    size_t batch_rows;
    /* the running transaction */
    bool running;
    enum itx_kind kind;
    const struct batch *bat; /* borrowed while a batch runs */
    bool failed;
    int fail_rc;
    char fail_msg[256];
    char fail_state[6]; /* SQLSTATE of the failure */
    /* policy */
    bool merge;         /* batches go through the staging table */
    uint64_t merged;    /* rows the merge inserted */
    int tries;          /* failures of the batch in a row */
    size_t max_records; /* records per batch: batch_rows, or fewer after failures */
    struct buf lstage;  /* the rows of an obs.latest update */
    struct itx_counters n;
};

/* Initialises t. lat and instance (a NUL-terminated string that may be
 * filled later) are borrowed and must outlive it; hooks is copied. The
 * obs.latest rows are bounded by latest_max pairs. */
void itx_init(struct itx *t, struct latest *lat, const char *instance, size_t batch_rows,
              size_t latest_max, const struct itx_hooks *hooks);

/* Frees what t owns. Not while a transaction runs. */
void itx_close(struct itx *t);

/* True while a transaction runs (from itx_run_* to its hook). */
bool itx_running(const struct itx *t);

/* Records the next batch may hold. */
size_t itx_max_records(const struct itx *t);

/* When the one record of the last batches has failed too often: the error
 * it met (valid until the next transaction), to dead-letter it with; the
 * count starts again. Otherwise NULL. */
const char *itx_poison(struct itx *t);

/* Sends the transaction of batch b on db (both borrowed until a hook ran),
 * writing the spool position b->last and latest_seq. Not while one runs. */
void itx_run_batch(struct itx *t, struct db *db, const struct batch *b, uint64_t latest_seq);

/* Sends an update of obs.latest on db with every pending pair of t->lat,
 * moving latest_seq to upto. Not while one runs. */
void itx_run_latest(struct itx *t, struct db *db, uint64_t upto);

#endif
