#include "itx.h"

#include "elog.h"
#include "etime.h"
#include "pgbin.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char ITX_SQL_STAGE[] =
    "CREATE TEMP TABLE IF NOT EXISTS ingest_stage (site_id integer, param_id smallint,"
    " period \"char\", ts timestamptz, value double precision, flag \"char\")"
    " ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS ingest_latest_stage (LIKE ingest_stage) ON COMMIT DELETE "
    "ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS ingest_track_stage (site_id integer, ts timestamptz,"
    " lat double precision, lon double precision) ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS ingest_event_stage (device text, site text, cn text,"
    " qn text, kind text, ts timestamptz, payload jsonb) ON COMMIT DELETE ROWS";

/* HJ 212 device events; a resent frame (same QN) is stored once. */
static const char itx__sql_events[] =
    "INSERT INTO obs.device_event (device, site, cn, qn, kind, ts, payload)"
    " SELECT device, site, cn, qn, kind, ts, payload FROM ingest_event_stage"
    " ON CONFLICT DO NOTHING";

/* Readings go straight into obs.reading, as fast as a plain COPY. A repeat
 * (a broker redelivery, a logger resending) fails that COPY on the unique
 * key; the batch is then run again through the staging table, which skips
 * the repeats. */
static const char itx__sql_copy_direct[] =
    "COPY obs.reading (site_id, param_id, period, ts, value, flag) FROM STDIN (FORMAT binary)";
static const char itx__sql_merge[] =
    "INSERT INTO obs.reading (site_id, param_id, period, ts, value, flag)"
    " SELECT site_id, param_id, period, ts, value, flag FROM ingest_stage"
    " ORDER BY site_id, param_id, period, ts ON CONFLICT DO NOTHING";

static const char itx__sql_track[] =
    "INSERT INTO obs.track (site_id, ts, geom)"
    " SELECT DISTINCT ON (site_id, ts) site_id, ts, ST_SetSRID(ST_MakePoint(lon, lat), 4326)"
    " FROM ingest_track_stage ORDER BY site_id, ts ON CONFLICT DO NOTHING";

/* A stored time never goes back, and at equal times the first value stays;
 * RETURNING names the pairs that changed, whose retained topic is then
 * republished. Rows are locked in key order, the same in every instance:
 * two instances updating overlapping pairs cannot deadlock. */
static const char itx__sql_latest[] =
    "INSERT INTO obs.latest AS l (site_id, param_id, period, ts, value, flag)"
    " SELECT site_id, param_id, period, ts, value, flag FROM ingest_latest_stage"
    " ORDER BY site_id, param_id"
    " ON CONFLICT (site_id, param_id) DO UPDATE SET period = EXCLUDED.period, ts = EXCLUDED.ts,"
    " value = EXCLUDED.value, flag = EXCLUDED.flag, updated_at = now()"
    " WHERE l.ts < EXCLUDED.ts RETURNING site_id, param_id";

/* seq: every record up to it is in obs.reading; latest_seq: obs.latest
 * reflects every record up to it (a new row has flushed nothing yet). A
 * batch writes the latest_seq it knows, which is the stored one except
 * after a new spool, where the stored one must come down with seq. */
static const char itx__sql_position[] =
    "INSERT INTO obs.spool_position (instance, seq, latest_seq) VALUES ($1, $2, $3)"
    " ON CONFLICT (instance) DO UPDATE SET seq = EXCLUDED.seq, latest_seq = EXCLUDED.latest_seq,"
    " updated_at = now()";
static const char itx__sql_latest_position[] =
    "INSERT INTO obs.spool_position (instance, seq, latest_seq) VALUES ($1, $2, $2)"
    " ON CONFLICT (instance) DO UPDATE SET latest_seq = EXCLUDED.latest_seq, updated_at = now()";

/* ---- results of the steps ------------------------------------------------- */

/* Keeps the first failure of the transaction: the one to report. */
static void itx__step_done(void *ctx, int rc, const PGresult *res)
{
    struct itx *t = ctx;
    if (rc && !t->failed) {
        const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        t->failed = true;
        t->fail_rc = rc;
        snprintf(t->fail_state, sizeof(t->fail_state), "%s", state ? state : "");
        snprintf(t->fail_msg, sizeof(t->fail_msg), "%s",
                 res ? PQresultErrorMessage(res) : (rc == -ENOTCONN ? "connection lost" : "?"));
        size_t n = strlen(t->fail_msg);
        while (n && (t->fail_msg[n - 1] == '\n'))
            t->fail_msg[--n] = '\0';
    }
}

static void itx__merge_done(void *ctx, int rc, const PGresult *res)
{
    struct itx *t = ctx;
    itx__step_done(ctx, rc, res);
    if (!rc && res)
        t->merged = strtoull(PQcmdTuples((PGresult *)res), NULL, 10);
}

/* Marks the pairs whose obs.latest row the update changed. */
static void itx__latest_rows(void *ctx, int rc, const PGresult *res)
{
    struct itx *t = ctx;
    itx__step_done(ctx, rc, res);
    for (int i = 0; !rc && res && i < PQntuples(res); i++) {
        struct latest_ent *e = NULL;
        int site, param;
        if (!db_get_int(res, i, 0, &site) && !db_get_int(res, i, 1, &param))
            e = latest_find(t->lat, site, param);
        if (e)
            e->changed = true;
    }
}

/* ---- the end of a transaction --------------------------------------------- */

static void itx__batch_committed(struct itx *t)
{
    const struct batch *b = t->bat;

    t->tries = 0;
    /* a merge that skipped nothing: the repeats are over */
    if (t->merge && t->merged == b->rows)
        t->merge = false;
    if (t->max_records < t->batch_rows)
        t->max_records *= 2;
    elog_debug("batch committed", "first=%llu last=%llu rows=%zu dead=%zu merge=%d",
               (unsigned long long)b->first, (unsigned long long)b->last, b->rows, b->dead,
               t->merge);
}

/* A batch failed: how soon to try again, and with what. */
static uint64_t itx__batch_failed(struct itx *t)
{
    const struct batch *b = t->bat;

    if (!t->merge && strcmp(t->fail_state, "23505") == 0) {
        /* a repeated reading: the same records again, skipping repeats */
        t->merge = true;
        t->n.repeat_batches++;
        elog_debug("batch holds a repeated reading; storing it through staging",
                   "first=%llu last=%llu", (unsigned long long)b->first,
                   (unsigned long long)b->last);
        return 0;
    }
    t->n.batch_failures++;
    if (t->fail_rc == -ENOTCONN) {
        elog_warn("database connection lost during a batch; will replay", "first=%llu last=%llu",
                  (unsigned long long)b->first, (unsigned long long)b->last);
        return 500;
    }
    t->tries++;
    elog_error("batch failed", "first=%llu last=%llu records=%zu try=%d error=\"%s\"",
               (unsigned long long)b->first, (unsigned long long)b->last, b->records, t->tries,
               t->fail_msg);
    if (t->tries >= ITX_POISON_TRIES)
        t->max_records = 1; /* isolate the record the server refuses */
    return 500;
}

static void itx__commit_done(void *ctx, int rc, const PGresult *res)
{
    struct itx *t = ctx;
    bool committed;
    uint64_t delay = 500;

    itx__step_done(ctx, rc, res);
    committed = !t->failed && res && strcmp(PQcmdStatus((PGresult *)res), "COMMIT") == 0;
    t->running = false;
    if (committed) {
        if (t->kind == ITX_READINGS)
            itx__batch_committed(t);
        t->hooks.committed(t->hooks.ud, t->kind);
        return;
    }
    if (!t->failed) {
        t->failed = true;
        t->fail_rc = -EIO;
        t->fail_state[0] = '\0';
        snprintf(t->fail_msg, sizeof(t->fail_msg), "transaction did not commit");
    }
    if (t->kind == ITX_LATEST) {
        /* the pairs stay pending; the next update retries them */
        for (size_t i = 0; i < latest_pending(t->lat); i++)
            latest_pending_at(t->lat, i)->changed = false;
        if (t->fail_rc != -ENOTCONN)
            elog_error("obs.latest update failed", "pairs=%zu error=\"%s\"", latest_pending(t->lat),
                       t->fail_msg);
    } else {
        delay = itx__batch_failed(t);
    }
    t->hooks.failed(t->hooks.ud, t->kind, delay);
}

/* The requests of a transaction were queued up to a refusal (the connection
 * went): those queued fail with -ENOTCONN and the COMMIT callback never
 * comes, so end it here. */
static void itx__refused(struct itx *t, int rc)
{
    if (rc == -ENOTCONN && db_pending(t->db))
        return;
    t->running = false;
    t->hooks.failed(t->hooks.ud, t->kind, 500);
}

static void itx__begin(struct itx *t, struct db *db, enum itx_kind kind)
{
    t->db = db;
    t->running = true;
    t->kind = kind;
    t->failed = false;
    t->fail_state[0] = '\0';
}

/* ---- the module ------------------------------------------------------------ */

void itx_run_batch(struct itx *t, struct db *db, const struct batch *b, uint64_t latest_seq)
{
    char lo[ETIME_RFC3339_MAX], hi[ETIME_RFC3339_MAX], seq[24], lseq[24];
    const char *pp[3];
    int rc;

    itx__begin(t, db, ITX_READINGS);
    t->bat = b;
    t->merged = 0;
    rc = db_query(t->db, "BEGIN", 0, NULL, itx__step_done, t);
    if (!rc && b->new_lo != INT64_MAX) {
        etime_format(b->new_lo, 0, lo, sizeof(lo));
        etime_format(b->new_hi, 0, hi, sizeof(hi));
        pp[0] = lo;
        pp[1] = hi;
        rc = db_query(t->db, "SELECT obs.ensure_partitions($1, $2)", 2, pp, itx__step_done, t);
    }
    if (!rc && b->stage.len) {
        if (!t->merge) {
            rc = db_copy(t->db, itx__sql_copy_direct, b->stage.p, b->stage.len, itx__step_done, t);
        } else {
            rc = db_copy(t->db, "COPY ingest_stage FROM STDIN (FORMAT binary)", b->stage.p,
                         b->stage.len, itx__step_done, t);
            rc = rc ? rc : db_query(t->db, itx__sql_merge, 0, NULL, itx__merge_done, t);
        }
    }
    if (!rc && b->track.len) {
        rc = db_copy(t->db, "COPY ingest_track_stage FROM STDIN (FORMAT binary)", b->track.p,
                     b->track.len, itx__step_done, t);
        rc = rc ? rc : db_query(t->db, itx__sql_track, 0, NULL, itx__step_done, t);
    }
    if (!rc && b->deadl.len)
        rc = db_copy(t->db, "COPY obs.deadletter (service, source, reason, payload) FROM STDIN",
                     b->deadl.p, b->deadl.len, itx__step_done, t);
    if (!rc && b->evbuf.len) {
        rc = db_copy(t->db, "COPY ingest_event_stage FROM STDIN", b->evbuf.p, b->evbuf.len,
                     itx__step_done, t);
        rc = rc ? rc : db_query(t->db, itx__sql_events, 0, NULL, itx__step_done, t);
    }
    snprintf(seq, sizeof(seq), "%llu", (unsigned long long)b->last);
    snprintf(lseq, sizeof(lseq), "%llu", (unsigned long long)latest_seq);
    pp[0] = t->instance;
    pp[1] = seq;
    pp[2] = lseq;
    rc = rc ? rc : db_query(t->db, itx__sql_position, 3, pp, itx__step_done, t);
    rc = rc ? rc : db_query(t->db, "COMMIT", 0, NULL, itx__commit_done, t);
    if (rc)
        itx__refused(t, rc);
}

void itx_run_latest(struct itx *t, struct db *db, uint64_t upto)
{
    char seq[24];
    const char *pp[2] = {t->instance, seq};
    int rc = 0;

    itx__begin(t, db, ITX_LATEST);
    buf_reset(&t->lstage);
    for (size_t i = 0; i < latest_pending(t->lat) && !rc; i++) {
        const struct latest_ent *e = latest_pending_at(t->lat, i);
        if (i == 0)
            rc = pgbin_begin(&t->lstage);
        rc = rc ? rc : pgbin_row(&t->lstage, 6);
        rc = rc ? rc : pgbin_i32(&t->lstage, e->site_id);
        rc = rc ? rc : pgbin_i16(&t->lstage, (int16_t)e->param_id);
        rc = rc ? rc : pgbin_char(&t->lstage, e->acc.period);
        rc = rc ? rc : pgbin_ts(&t->lstage, e->acc.ts);
        rc = rc ? rc : pgbin_f64(&t->lstage, e->acc.value);
        rc = rc ? rc : pgbin_char(&t->lstage, e->acc.flag);
    }
    if (latest_pending(t->lat))
        rc = rc ? rc : pgbin_end(&t->lstage);
    if (rc) {
        /* the buffer's cap fits a row per pair: only memory can run out */
        elog_error("cannot build the obs.latest update", "error=\"%s\"", strerror(-rc));
        t->running = false;
        t->hooks.failed(t->hooks.ud, ITX_LATEST, 500);
        return;
    }
    snprintf(seq, sizeof(seq), "%llu", (unsigned long long)upto);
    rc = db_query(t->db, "BEGIN", 0, NULL, itx__step_done, t);
    if (!rc && latest_pending(t->lat)) {
        rc = db_copy(t->db, "COPY ingest_latest_stage FROM STDIN (FORMAT binary)", t->lstage.p,
                     t->lstage.len, itx__step_done, t);
        rc = rc ? rc : db_query(t->db, itx__sql_latest, 0, NULL, itx__latest_rows, t);
    }
    rc = rc ? rc : db_query(t->db, itx__sql_latest_position, 2, pp, itx__step_done, t);
    rc = rc ? rc : db_query(t->db, "COMMIT", 0, NULL, itx__commit_done, t);
    if (rc)
        itx__refused(t, rc);
}

bool itx_running(const struct itx *t)
{
    return t->running;
}

size_t itx_max_records(const struct itx *t)
{
    return t->max_records;
}

const char *itx_poison(struct itx *t)
{
    if (t->max_records != 1 || t->tries < ITX_POISON_TRIES * 2)
        return NULL;
    t->tries = 0;
    return t->fail_msg;
}

void itx_init(struct itx *t, struct latest *lat, const char *instance, size_t batch_rows,
              size_t latest_max, const struct itx_hooks *hooks)
{
    memset(t, 0, sizeof(*t));
    t->lat = lat;
    t->instance = instance;
    t->hooks = *hooks;
    t->batch_rows = batch_rows;
    t->max_records = batch_rows;
    buf_init(&t->lstage, latest_max * 64 + (1u << 20));
}

void itx_close(struct itx *t)
{
    buf_close(&t->lstage);
}
