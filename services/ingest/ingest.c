#include "ingest.h"

#include "batch.h"
#include "buf.h"
#include "db.h"
#include "elog.h"
#include "etime.h"
#include "hj212gw.h"
#include "itx.h"
#include "latest.h"
#include "mq.h"
#include "outbox.h"
#include "readings.h"
#include "registry.h"
#include "spool.h"
#include "svcbase.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define C(f) offsetof(struct ingest_conf, f)
static const struct cfg_def ingest__defs[] = {
    SVCBASE_CFG_DEFS(struct ingest_conf),
    {"ECO_INGEST_INSTANCE", CFG_STR, "", 0, 64, C(instance),
     "instance name (status topic, spool position); default: host name"},
    {"ECO_INGEST_SHARE_GROUP", CFG_STR, "", 0, 64, C(share_group),
     "empty (the default): a plain subscription, one instance, nothing lost across broker "
     "restarts; a group name: a shared subscription that instances split the load in (loses "
     "messages across a mosquitto 2.0 restart, see docs/INGEST.md)"},
    {"ECO_INGEST_SPOOL_DIR", CFG_STR, "spool", 1, 0, C(spool_dir),
     "directory of the durable spool (one per instance)"},
    {"ECO_INGEST_SPOOL_MAX_MB", CFG_INT, "1024", 1, 1048576, C(spool_max_mb),
     "spool size at which the broker is slowed down"},
    {"ECO_INGEST_SPOOL_SEGMENT_MB", CFG_INT, "64", 1, 4096, C(spool_segment_mb),
     "spool segment file size"},
    {"ECO_INGEST_SPOOL_FSYNC", CFG_BOOL, "false", 0, 0, C(spool_fsync),
     "fdatasync the spool before acknowledging (survives power loss, slower)"},
    {"ECO_INGEST_BATCH_ROWS", CFG_INT, "10000", 1, 1000000, C(batch_rows),
     "readings per database transaction, at most"},
    {"ECO_INGEST_MAX_PAYLOAD", CFG_INT, "262144", 256, 1048576, C(max_payload),
     "largest message accepted, bytes"},
    {"ECO_INGEST_MAX_FUTURE_S", CFG_INT, "600", 0, 86400, C(max_future_s),
     "how far ahead of the clock a timestamp may be"},
    {"ECO_INGEST_REGISTRY_REFRESH_S", CFG_INT, "60", 1, 86400, C(registry_refresh_s),
     "how often the device/parameter registry is reloaded"},
    {"ECO_INGEST_STATUS_S", CFG_INT, "30", 1, 3600, C(status_s),
     "how often counters are published on eco/v1/sys/ingest/{instance}"},
    {"ECO_INGEST_DRAIN_S", CFG_INT, "8", 0, 600, C(drain_s),
     "on SIGTERM, how long to keep storing and publishing before exiting"},
    {"ECO_INGEST_LATEST_FLUSH_MS", CFG_INT, "1000", 0, 600000, C(latest_flush_ms),
     "how often obs.latest and the retained eco/v1/latest topics are brought up to date"},
    {"ECO_INGEST_LATEST_MAX", CFG_INT, "1000000", 16384, 100000000, C(latest_max),
     "site/parameter pairs remembered between obs.latest updates (each ~120 bytes)"},
    {"ECO_INGEST_OUTBOX_MAX", CFG_INT, "200000", 1000, 10000000, C(outbox_max),
     "publications waiting for the broker before storing pauses"},
    {"ECO_INGEST_HJ212_ADDR", CFG_ADDR, "127.0.0.1:9212", 0, 0, C(hj212_addr),
     "HJ 212 TCP gateway address host:port (empty: off); docs/HJ212.md"},
    {"ECO_INGEST_HJ212_MAX_CONN", CFG_INT, "2000", 1, 100000, C(hj212_max_conn),
     "HJ 212 logger connections at once; more are refused"},
    {"ECO_INGEST_HJ212_IDLE_S", CFG_INT, "600", 5, 86400, C(hj212_idle_s),
     "close an HJ 212 connection silent for this long"},
    {"ECO_INGEST_HJ212_AUTH_S", CFG_INT, "10", 1, 3600, C(hj212_auth_s),
     "close a new HJ 212 connection without a frame whose password verified by then"},
    {"ECO_INGEST_HJ212_FRAME_S", CFG_INT, "30", 1, 3600, C(hj212_frame_s),
     "close an HJ 212 connection whose frame is not complete this long after its first byte"},
    {"ECO_INGEST_HJ212_PEER_MAX", CFG_INT, "64", 1, 100000, C(hj212_peer_max),
     "unauthenticated HJ 212 connections from one address (IPv6: one /64) at once"},
    {"ECO_INGEST_HJ212_UNAUTH_PCT", CFG_INT, "50", 1, 100, C(hj212_unauth_pct),
     "share of ECO_INGEST_HJ212_MAX_CONN (%) that unauthenticated connections may take"},
};
#undef C

const struct cfg_prog ingest_prog = {
    "eco-ingest",
    "stores readings from MQTT in PostgreSQL, exactly once; republishes what it stored",
    ingest__defs,
    sizeof(ingest__defs) / sizeof(ingest__defs[0]),
};

/* What ingest subscribes to (plain or under $share/{group}/). */
#define INGEST_FILTER "eco/v1/in/#"

#define INGEST_MAX_MONTHS 1024

struct ingest_counters {
    uint64_t received; /* messages taken from the broker */
    uint64_t stored;   /* rows committed (including duplicates skipped) */
    uint64_t rejected; /* dead-lettered messages */
    uint64_t batches;
    uint64_t spool_full_pauses;
    uint64_t disk_full_pauses; /* the spool's disk refused a write (ENOSPC, EDQUOT) */
    uint64_t oversize;
    uint64_t events;         /* HJ 212 device events stored */
    uint64_t latest_updates; /* obs.latest transactions */
};

struct ingest {
    uv_loop_t *loop;
    const struct ingest_conf *conf;
    char instance[72];
    struct mq *mq;
    struct db *db;
    struct spool *sp;
    struct outbox ob;
    struct reg reg, reg_next;
    bool reg_ready, reg_loading;
    uint64_t reg_loaded_at;
    uv_timer_t tick;
    uv_timer_t retry;
    uint64_t last_status;
    /* position */
    bool pos_known, pos_loading;
    uint64_t head_at_open;
    uint64_t committed;
    /* the running transaction (itx.h): a batch of readings or a latest update */
    struct itx tx;
    uint64_t latest_upto; /* the spool position the running latest update covers */
    struct batch bat;
    struct hj212gw *gw; /* NULL when ECO_INGEST_HJ212_ADDR is empty */
    int months[INGEST_MAX_MONTHS];
    size_t nmonths;
    struct rd_out rd;
    struct rd_limits lim;
    struct buf scratch;
    struct latest lat;
    uint64_t latest_seq; /* obs.latest reflects every record up to it */
    uint64_t last_flush; /* uv_now of the last obs.latest update */
    /* stopping */
    struct svcbase_stop stop;
    int exit_code;
    bool paused_full;
    /* the spool's disk is full: the broker is paused as at the bound, until
     * the spool has shrunk (or drained) and disk_retry_at has passed */
    bool disk_full;
    uint64_t disk_full_bytes, disk_retry_at, disk_wait_ms, disk_resumed_at;
    /* the claim: this process alone is the instance (an advisory lock held
     * by its database session) and the spool belongs to this database */
    bool claimed, claiming;
    bool io_started;           /* broker and gateway started (after the first claim) */
    char filter[MQ_TOPIC_MAX]; /* what ingest subscribes to */
    bool subs_recorded;        /* ... and the spool knows it */
    struct ingest_counters n;
};

static void ingest__kick(struct ingest *in);
static void ingest__finish_stop(struct ingest *in);

/* ---- registry ---------------------------------------------------------- */

static void ingest__reg_step(void *ctx, int rc, const PGresult *res);

static void ingest__reg_load(struct ingest *in)
{
    if (in->reg_loading || !db_ready(in->db))
        return;
    reg_close(&in->reg_next);
    in->reg_loading = true;
    if (db_query(in->db, REG_SQL_DEVICES, 0, NULL, ingest__reg_step, in) ||
        db_query(in->db, REG_SQL_PARAMS, 0, NULL, ingest__reg_step, in) ||
        db_query(in->db, REG_SQL_CONVS, 0, NULL, ingest__reg_step, in) ||
        db_query(in->db, REG_SQL_HJ212MAP, 0, NULL, ingest__reg_step, in))
        in->reg_loading = false; /* the connection went; retried on the next tick */
}

static void ingest__reg_step(void *ctx, int rc, const PGresult *res)
{
    struct ingest *in = ctx;
    struct reg *r = &in->reg_next;

    if (!in->reg_loading)
        return;
    if (rc) {
        if (rc != -ENOTCONN)
            elog_error("registry load failed", "error=\"%s\"",
                       res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : "");
        in->reg_loading = false;
        reg_close(r);
        return;
    }
    if (!r->devices)
        rc = reg_fill_devices(r, res);
    else if (!r->params)
        rc = reg_fill_params(r, res);
    else if (!r->convs)
        rc = reg_fill_convs(r, res);
    else
        rc = reg_fill_hj212map(r, res);
    if (rc) {
        elog_error("registry load failed", "error=%d", rc);
        in->reg_loading = false;
        reg_close(r);
        return;
    }
    if (r->maps) {
        reg_swap(&in->reg, r);
        in->reg_loading = false;
        in->reg_loaded_at = uv_now(in->loop);
        if (!in->reg_ready)
            elog_info("registry loaded", "devices=%zu params=%zu conversions=%zu hj212_map=%zu",
                      in->reg.ndevices, in->reg.nparams, in->reg.nconvs, in->reg.nmaps);
        in->reg_ready = true;
        ingest__kick(in);
    }
}

/* ---- spool position ---------------------------------------------------- */

static void ingest__pos_done(void *ctx, int rc, const PGresult *res)
{
    struct ingest *in = ctx;
    uint64_t p = 0, lp = 0;

    in->pos_loading = false;
    if (rc) {
        if (rc != -ENOTCONN)
            elog_error("spool position query failed", "error=\"%s\"",
                       res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : "");
        return;
    }
    if (PQntuples(res) == 1) {
        p = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
        lp = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
    }
    /* A position at or past everything this spool ever held means the spool
     * is new (a replaced disk, a moved instance): its records are all
     * unstored, whatever their numbers. */
    if (p >= in->head_at_open) {
        if (p)
            elog_warn("spool is newer than its recorded position; storing all of it",
                      "position=%llu spool_head=%llu", (unsigned long long)p,
                      (unsigned long long)in->head_at_open);
        p = lp = in->head_at_open - 1;
    }
    if (lp > p)
        lp = p;
    in->committed = p;
    in->latest_seq = lp;
    /* from the first record obs.latest lacks: kick reads those up to p
     * again for their latest values only */
    int src = spool_seek(in->sp, lp + 1);
    if (src) {
        elog_error("spool seek failed", "error=\"%s\"", strerror(-src));
        in->exit_code = 1;
        return;
    }
    in->pos_known = true;
    elog_info("spool position", "committed=%llu latest=%llu head=%llu", (unsigned long long)p,
              (unsigned long long)lp, (unsigned long long)spool_head(in->sp));
    ingest__kick(in);
}

static void ingest__pos_load(struct ingest *in)
{
    const char *params[1] = {in->instance};
    if (in->pos_known || in->pos_loading || !in->claimed || !db_ready(in->db))
        return;
    in->pos_loading = true;
    if (db_query(in->db,
                 "SELECT seq, coalesce(latest_seq, seq) FROM obs.spool_position"
                 " WHERE instance = $1",
                 1, params, ingest__pos_done, in))
        in->pos_loading = false;
}

/* ---- batches (batch.h) ------------------------------------------------- */

static void ingest__remember_months(struct ingest *in, int64_t lo, int64_t hi)
{
    for (int m = batch_month(lo); m <= batch_month(hi); m++) {
        bool known = false;
        for (size_t i = 0; i < in->nmonths; i++)
            known = known || in->months[i] == m;
        if (!known && in->nmonths < INGEST_MAX_MONTHS)
            in->months[in->nmonths++] = m;
    }
}

static const char *ingest__unit(const struct ingest *in, int param_id, const char **code)
{
    const struct reg_param *p = reg_param_by_id(&in->reg, param_id);
    *code = p ? p->code : "?";
    return p ? p->unit : "";
}

/* The retained eco/v1/latest/{site}/{param} of every pair the last update
 * of obs.latest changed. */
static void ingest__latest_pubs(struct ingest *in)
{
    char topic[MQ_TOPIC_MAX], ts[ETIME_RFC3339_MAX];
    struct buf *one = &in->scratch;

    for (size_t i = 0; i < latest_pending(&in->lat); i++) {
        const struct latest_ent *e = latest_pending_at(&in->lat, i);
        const char *code, *unit = ingest__unit(in, e->param_id, &code);
        int rc;

        if (!e->changed)
            continue;
        buf_reset(one);
        etime_format(e->acc.ts, e->acc.tz, ts, sizeof(ts));
        rc = buf_addstr(one, "{\"v\":");
        rc = rc ? rc : batch_add_double(one, e->acc.value);
        rc = rc ? rc : buf_addstr(one, ",\"unit\":\"");
        rc = rc ? rc : buf_add_json_str(one, unit, strlen(unit));
        rc = rc ? rc
                : buf_printf(one, "\",\"flag\":\"%c\",\"ts\":\"%s\",\"period\":\"%s\"}",
                             e->acc.flag, ts, readings_period_name(e->acc.period));
        snprintf(topic, sizeof(topic), "eco/v1/latest/%s/%s", e->site, code);
        if (rc || outbox_put(&in->ob, topic, one->p, one->len, true))
            elog_error("out of memory queueing a publication", "topic=%s", topic);
    }
}

/* ---- the HJ 212 gateway (hj212gw.h) ------------------------------------ */

/* The gateway's sink: the spool, as for MQTT messages. */
static bool ingest__disk_full(struct ingest *in, int rc);
static void ingest__disk_check(struct ingest *in);

static int ingest__gw_append(void *ud, const char *topic, size_t tlen, const void *p, size_t len)
{
    struct ingest *in = ud;
    in->n.received++;
    int rc = spool_append(in->sp, topic, tlen, p, len, NULL);
    ingest__disk_full(in, rc);
    return rc;
}

static int ingest__gw_flush(void *ud)
{
    struct ingest *in = ud;
    int rc = spool_flush(in->sp, in->conf->spool_fsync);
    if (!rc)
        ingest__kick(in);
    ingest__disk_full(in, rc);
    return rc;
}

static bool ingest__gw_full(void *ud)
{
    struct ingest *in = ud;
    return spool_full(in->sp) || in->disk_full;
}

static const struct reg *ingest__gw_registry(void *ud)
{
    struct ingest *in = ud;
    return in->reg_ready ? &in->reg : NULL;
}

/* ---- running a transaction ------------------------------------------- */

static void ingest__outbox_put(void *ud, const char *topic, const char *p, size_t len, bool retain)
{
    struct ingest *in = ud;
    if (outbox_put(&in->ob, topic, p, len, retain))
        elog_error("out of memory queueing a publication", "topic=%s", topic);
}

static void ingest__on_retry(uv_timer_t *t)
{
    ingest__kick(t->data);
}

/* The spool keeps what obs.reading or obs.latest still lacks. */
static void ingest__spool_ack(struct ingest *in)
{
    int rc = spool_ack(in->sp, in->latest_seq < in->committed ? in->latest_seq : in->committed);
    if (rc)
        elog_warn("spool cleanup failed", "error=\"%s\"", strerror(-rc));
}

/* The batch failed, or could not be sent: its records are read from the
 * spool again. */
static void ingest__undo(struct ingest *in)
{
    latest_discard(&in->lat);
    int rc = spool_seek(in->sp, in->committed + 1);
    if (rc) {
        elog_error("spool seek failed", "error=\"%s\"", strerror(-rc));
        in->exit_code = 1;
    }
}

static void ingest__batch_committed(struct ingest *in)
{
    struct batch *b = &in->bat;

    in->committed = b->last;
    in->n.stored += b->rows;
    in->n.rejected += b->dead;
    in->n.events += b->events;
    in->n.batches++;
    if (b->new_lo != INT64_MAX)
        ingest__remember_months(in, b->new_lo, b->new_hi);
    latest_commit(&in->lat);
    ingest__spool_ack(in);
    batch_publications(b, ingest__outbox_put, in);
    ingest__disk_check(in);
    if (in->paused_full && !spool_full(in->sp)) {
        in->paused_full = false;
        if (!in->disk_full)
            mq_pause(in->mq, false);
        elog_info("spool below its bound again; receiving", "bytes=%llu",
                  (unsigned long long)spool_bytes(in->sp));
    }
}

static void ingest__latest_committed(struct ingest *in)
{
    in->latest_seq = in->latest_upto;
    in->n.latest_updates++;
    ingest__latest_pubs(in);
    latest_flushed(&in->lat);
    ingest__spool_ack(in);
}

/* itx's hooks: a transaction is over. */
static void ingest__tx_committed(void *ud, enum itx_kind kind)
{
    struct ingest *in = ud;

    if (kind == ITX_LATEST)
        ingest__latest_committed(in);
    else
        ingest__batch_committed(in);
    ingest__kick(in);
}

static void ingest__tx_failed(void *ud, enum itx_kind kind, uint64_t delay_ms)
{
    struct ingest *in = ud;

    if (kind == ITX_READINGS)
        ingest__undo(in);
    uv_timer_start(&in->retry, ingest__on_retry, delay_ms, 0);
}

/* The position the pending latest values cover: the committed records, or
 * up to the last one replayed when the replay is not over. */
static uint64_t ingest__latest_upto(struct ingest *in)
{
    uint64_t replayed = spool_read_pos(in->sp) - 1;
    return replayed < in->committed ? replayed : in->committed;
}

/* Brings obs.latest up to date with every committed record, in a
 * transaction of its own that also moves latest_seq. */
static void ingest__run_latest(struct ingest *in)
{
    in->latest_upto = ingest__latest_upto(in);
    in->last_flush = uv_now(in->loop);
    itx_run_latest(&in->tx, in->db, in->latest_upto);
}

/* Records up to the committed position whose values obs.latest lacks (the
 * service stopped between a batch and the next obs.latest update): read
 * again for their latest values only, a bounded number per call. Returns
 * true when some remain. */
static bool ingest__replay_latest(struct ingest *in)
{
    struct spool_rec rec;
    int64_t now = etime_now_us();

    for (size_t n = 0; spool_read_pos(in->sp) <= in->committed; n++) {
        if (n == (size_t)in->conf->batch_rows || !latest_has_room(&in->lat, RD_MAX_ROWS))
            return true;
        int rc = spool_next(in->sp, &rec);
        if (rc == -EAGAIN)
            return false;
        if (rc) {
            elog_error("spool read failed; stopping", "error=\"%s\" seq=%llu", strerror(-rc),
                       (unsigned long long)spool_read_pos(in->sp));
            in->exit_code = 1;
            return false;
        }
        if (batch_is_gateway(&rec) || (int64_t)rec.len > in->conf->max_payload ||
            readings_parse(&in->reg, rec.topic, rec.topic_len, rec.payload, rec.len, now, &in->lim,
                           &in->rd))
            continue;
        if (batch_note_committed(&in->lat, &in->rd))
            return true;
    }
    return false;
}

static bool ingest__latest_due(struct ingest *in, bool drained)
{
    bool interval = uv_now(in->loop) - in->last_flush >= (uint64_t)in->conf->latest_flush_ms;

    /* Nothing pending, but records that gave no value (dead letters,
     * device events) still hold latest_seq back, and with it the spool. */
    if (!latest_pending(&in->lat))
        return in->latest_seq < ingest__latest_upto(in) &&
               (interval || spool_full(in->sp) || (in->stop.stopping && drained));
    return latest_pressing(&in->lat) || (in->stop.stopping && drained) || interval;
}

/* Reads the records the spool holds into the batch, up to its bounds.
 * Returns 0 when it holds some, -EAGAIN when the spool has none, another
 * error when the service must stop. */
static int ingest__build(struct ingest *in)
{
    struct batch *b = &in->bat;
    struct batch_ctx c = {
        &in->reg,      &in->lat, in->months, in->nmonths, &in->rd, &in->lim, in->conf->max_payload,
        etime_now_us()};
    struct spool_rec rec;
    int rc = 0;

    batch_reset(b, spool_read_pos(in->sp));
    while (b->rows < (size_t)in->conf->batch_rows && b->records < itx_max_records(&in->tx)) {
        rc = spool_next(in->sp, &rec);
        if (rc == -EAGAIN) {
            rc = 0;
            break;
        }
        if (rc) {
            elog_error("spool read failed; stopping", "error=\"%s\" seq=%llu", strerror(-rc),
                       (unsigned long long)spool_read_pos(in->sp));
            break;
        }
        const char *poison = itx_poison(&in->tx);
        if (poison) /* this single record failed again and again on the server */
            rc = batch_add_dead(b, &rec, poison);
        else
            rc = batch_add(b, &c, &rec);
        if (rc) {
            /* it does not fit: the batch ends before it */
            if (rc != -ENOSPC)
                elog_warn("batch buffer full; splitting", "seq=%llu", (unsigned long long)rec.seq);
            spool_seek(in->sp, rec.seq);
            rc = b->records ? 0 : rc;
            if (rc)
                elog_error("a single message does not fit a batch", "seq=%llu",
                           (unsigned long long)rec.seq);
            break;
        }
    }
    if (!rc && !b->records)
        return -EAGAIN;
    if (!rc && (rc = batch_finish(b)))
        elog_error("cannot queue the publications of a batch", "error=\"%s\"", strerror(-rc));
    if (rc) {
        latest_discard(&in->lat);
        in->exit_code = 1;
    }
    return rc;
}

/* Starts the next transaction when none runs: an update of obs.latest when
 * one is due, else a batch of the records the spool holds. */
static void ingest__kick(struct ingest *in)
{
    bool drained, more_replay;

    if (in->stop.closing || itx_running(&in->tx) || !in->claimed || !in->pos_known ||
        !in->reg_ready || !db_ready(in->db) || outbox_full(&in->ob) ||
        uv_is_active((uv_handle_t *)&in->retry) || in->exit_code)
        return;
    in->lim.max_future_us = in->conf->max_future_s * ETIME_US_PER_SEC;
    more_replay = ingest__replay_latest(in);
    if (in->exit_code)
        return;
    if (latest_pressing(&in->lat) && !latest_pending(&in->lat))
        latest_flushed(&in->lat); /* forgets the pairs of failed batches */
    drained = !more_replay && spool_read_pos(in->sp) >= spool_head(in->sp);
    if (ingest__latest_due(in, drained))
        ingest__run_latest(in);
    else if (more_replay)
        uv_timer_start(&in->retry, ingest__on_retry, 0, 0);
    else if (drained && in->stop.stopping)
        ingest__finish_stop(in);
    else if (!drained && ingest__build(in) == 0)
        itx_run_batch(&in->tx, in->db, &in->bat, in->latest_seq);
}

/* Ingest owns its subscriptions. Its persistent session outlives the
 * process and keeps whatever an earlier run subscribed: after a switch
 * between the plain and the shared form (ECO_INGEST_SHARE_GROUP), or of
 * share group, the old filter would stay beside the new one and every
 * message would arrive twice. So on a connect that finds its session, ingest
 * unsubscribes every other form it can know of: the one this spool's last
 * run recorded (INGEST_META_SUBS), the other form of its filter, and the
 * filters of earlier versions (eco/v1/in/+). The new filter is recorded
 * once the broker has been told (ingest__on_mq_state). */
#define INGEST_META_SUBS "subscriptions"
/* the spool's database (obs.database_id) */
#define INGEST_META_DBID "database_id"

static int ingest__own_subs(struct ingest *in, const char *filter)
{
    /* "ingest": the default group of earlier versions */
    const char *g = in->conf->share_group[0] ? in->conf->share_group : "ingest";
    static const char *const forms[] = {INGEST_FILTER, "eco/v1/in/+"};
    char f[MQ_TOPIC_MAX], old[1024];
    size_t n = 0;
    int rc;

    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        /* plain, shared in our group (or the default one) */
        for (int shared = 0; shared < 2; shared++) {
            if (shared)
                snprintf(f, sizeof(f), "$share/%.64s/%s", g, forms[i]);
            else
                snprintf(f, sizeof(f), "%s", forms[i]);
            if (strcmp(f, filter) != 0 && (rc = mq_unsubscribe(in->mq, f)))
                return rc;
        }
    }
    rc = spool_meta_get(in->sp, INGEST_META_SUBS, old, sizeof(old) - 1, &n);
    if (rc == -ENOENT)
        return 0;
    if (rc) {
        elog_warn("cannot read the subscriptions of the last run", "error=\"%s\"", strerror(-rc));
        return 0;
    }
    old[n] = '\0';
    char *save = NULL;
    for (char *line = strtok_r(old, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strcmp(line, filter) == 0)
            continue;
        elog_info("removing a subscription of an earlier run", "filter=%s", line);
        if ((rc = mq_unsubscribe(in->mq, line)) && rc != -EINVAL)
            return rc;
    }
    return 0;
}

/* ---- MQTT side --------------------------------------------------------- */

#define INGEST_DISK_WAIT_MIN_MS 1000
#define INGEST_DISK_WAIT_MAX_MS 30000

/* A write to the spool failed. A full disk (ENOSPC, EDQUOT) is treated as
 * the configured bound is: the broker is paused (it queues for us and TCP
 * slows the senders) until the spool has room again; the records of the
 * failed write are gone from the spool (spool.h) and their messages were
 * not acknowledged, so the broker or the logger sends them again. Returns
 * true when rc was a full disk. */
static bool ingest__disk_full(struct ingest *in, int rc)
{
    uint64_t now = uv_now(in->loop);

    if (rc != -ENOSPC && rc != -EDQUOT)
        return false;
    if (in->disk_full)
        return true;
    /* a disk that fills again soon after a resume: wait longer each time */
    if (in->disk_resumed_at && now - in->disk_resumed_at < 60000)
        in->disk_wait_ms = in->disk_wait_ms * 2 > INGEST_DISK_WAIT_MAX_MS ? INGEST_DISK_WAIT_MAX_MS
                                                                          : in->disk_wait_ms * 2;
    else
        in->disk_wait_ms = INGEST_DISK_WAIT_MIN_MS;
    in->disk_full = true;
    in->disk_full_bytes = spool_bytes(in->sp);
    in->disk_retry_at = now + in->disk_wait_ms;
    in->n.disk_full_pauses++;
    mq_pause(in->mq, true);
    elog_warn("spool disk full; slowing the broker down until the spool shrinks",
              "dir=%s spool_bytes=%llu retry_ms=%llu", in->conf->spool_dir,
              (unsigned long long)in->disk_full_bytes, (unsigned long long)in->disk_wait_ms);
    return true;
}

/* Receives again once the disk has room: the spool shrank to half of what
 * it held when the disk filled, or everything in it is stored. */
static void ingest__disk_check(struct ingest *in)
{
    if (!in->disk_full || uv_now(in->loop) < in->disk_retry_at)
        return;
    if (spool_bytes(in->sp) > in->disk_full_bytes / 2 && spool_head(in->sp) - 1 > in->committed)
        return;
    in->disk_full = false;
    in->disk_resumed_at = uv_now(in->loop);
    if (!in->paused_full)
        mq_pause(in->mq, false);
    elog_info("spool disk has room again; receiving", "spool_bytes=%llu",
              (unsigned long long)spool_bytes(in->sp));
}

static void ingest__on_message(void *ud, const struct mq_msg *m)
{
    struct ingest *in = ud;
    size_t tlen = strlen(m->topic);
    int rc;

    in->n.received++;
    if (in->disk_full)
        return; /* the rest of a burst whose acknowledgements were dropped */
    rc = spool_append(in->sp, m->topic, tlen, m->payload, m->len, NULL);
    if (rc == -E2BIG) {
        /* larger than a spool record: keep its head for the dead letter */
        in->n.oversize++;
        elog_warn("message larger than the spool record limit; dead-lettering its start",
                  "topic=%s bytes=%zu", m->topic, m->len);
        rc = spool_append(in->sp, m->topic, tlen, m->payload, 4096, NULL);
    }
    if (rc) {
        /* Not durable: never acknowledge it. Dropping the connection
         * discards the queued PUBACKs; the broker redelivers. */
        if (!ingest__disk_full(in, rc))
            elog_error("spool write failed; dropping the broker connection", "error=\"%s\"",
                       strerror(-rc));
        mq_abort(in->mq);
    }
}

static void ingest__on_burst_end(void *ud)
{
    struct ingest *in = ud;
    int rc = spool_flush(in->sp, in->conf->spool_fsync);

    if (rc) {
        if (!ingest__disk_full(in, rc))
            elog_error("spool flush failed; dropping the broker connection", "error=\"%s\"",
                       strerror(-rc));
        mq_abort(in->mq);
        return;
    }
    if (!in->paused_full && spool_full(in->sp)) {
        in->paused_full = true;
        in->n.spool_full_pauses++;
        mq_pause(in->mq, true);
        elog_warn("spool reached its bound; slowing the broker down", "bytes=%llu",
                  (unsigned long long)spool_bytes(in->sp));
    }
    ingest__kick(in);
}

static void ingest__on_published(void *ud, int mid)
{
    struct ingest *in = ud;
    (void)mid;
    outbox_drain(&in->ob);
    if (!itx_running(&in->tx) && !outbox_full(&in->ob))
        ingest__kick(in);
    if (in->stop.stopping && !itx_running(&in->tx))
        ingest__kick(in);
}

static void ingest__on_mq_state(void *ud, bool up)
{
    struct ingest *in = ud;
    elog_info(up ? "broker connected" : "broker connection lost", "url=%s", in->conf->mqtt_url);
    if (up && !in->subs_recorded) {
        /* the unsubscriptions went out before the subscription (mq.h):
         * from now on only this filter can be in the session */
        int rc = spool_meta_put(in->sp, INGEST_META_SUBS, in->filter, strlen(in->filter));
        if (rc)
            elog_warn("cannot record the subscription", "error=\"%s\"", strerror(-rc));
        in->subs_recorded = rc == 0;
    }
    if (up)
        outbox_drain(&in->ob);
}

/* ---- database side ----------------------------------------------------- */

/* A fatal condition found after start: log it (the caller did), exit 1. */
static void ingest__fatal(struct ingest *in)
{
    in->exit_code = 1;
    if (!in->stop.stopping)
        ingest_stop(in, in->stop.done, in->stop.done_arg);
}

static int ingest__start_io(struct ingest *in);
static void ingest__claim(struct ingest *in);

/* The claim's second step: the spool records the identity of the database
 * it numbers its records for (obs.database_id, created by the first
 * instance that asks). A spool of another database is refused: replaying it
 * here would store another stream's records, and its positions mean
 * nothing here. A spool without one (new, or from before 0010) takes this
 * database's. */
static void ingest__claim_id_done(void *ctx, int rc, const PGresult *res)
{
    struct ingest *in = ctx;
    char have[64];
    size_t n = 0;
    const char *id;

    in->claiming = false;
    if (rc || PQntuples(res) < 1) {
        /* lost connection (retried on reconnect), or two instances created
         * the row at once (retried on the next tick) */
        if (rc && rc != -ENOTCONN)
            elog_error("database identity query failed", "error=\"%s\"",
                       res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : "");
        return;
    }
    id = PQgetvalue(res, 0, 0);
    rc = spool_meta_get(in->sp, INGEST_META_DBID, have, sizeof(have) - 1, &n);
    if (rc == -ENOENT) {
        if ((rc = spool_meta_put(in->sp, INGEST_META_DBID, id, strlen(id)))) {
            elog_error("cannot record the database identity in the spool", "dir=%s error=\"%s\"",
                       in->conf->spool_dir, strerror(-rc));
            ingest__fatal(in);
            return;
        }
        elog_info("spool bound to this database", "database_id=%s", id);
    } else if (rc) {
        elog_error("cannot read the database identity of the spool", "dir=%s error=\"%s\"",
                   in->conf->spool_dir, strerror(-rc));
        ingest__fatal(in);
        return;
    } else {
        have[n] = '\0';
        if (strcmp(have, id) != 0) {
            elog_error("the spool belongs to another database; refusing to replay it here "
                       "(point ECO_PG_DSN at its database, or move the spool directory away)",
                       "dir=%s spool_database=%.40s database=%s", in->conf->spool_dir, have, id);
            ingest__fatal(in);
            return;
        }
    }
    in->claimed = true;
    if (!in->io_started && ingest__start_io(in)) {
        ingest__fatal(in);
        return;
    }
    ingest__pos_load(in);
    if (!in->reg_ready || !in->reg_loading)
        ingest__reg_load(in);
    ingest__kick(in);
}

/* The claim's first step: one process per instance name. Two processes of
 * one instance would share its spool position and MQTT client id and undo
 * each other's work; the database session holds the lock, so it goes with
 * a crashed process's connection. */
static void ingest__claim_lock_done(void *ctx, int rc, const PGresult *res)
{
    struct ingest *in = ctx;

    if (rc || PQntuples(res) != 1) {
        in->claiming = false;
        if (rc && rc != -ENOTCONN)
            elog_error("instance lock query failed", "error=\"%s\"",
                       res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : "");
        return;
    }
    if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
        in->claiming = false;
        elog_error("another eco-ingest is running as this instance; refusing to start a second "
                   "(give each its own ECO_INGEST_INSTANCE and ECO_INGEST_SPOOL_DIR)",
                   "instance=%s", in->instance);
        ingest__fatal(in);
        return;
    }
    if (db_query(in->db,
                 "WITH ins AS (INSERT INTO obs.database_id DEFAULT VALUES ON CONFLICT DO NOTHING"
                 " RETURNING id) SELECT id::text FROM ins UNION ALL"
                 " SELECT id::text FROM obs.database_id",
                 0, NULL, ingest__claim_id_done, in))
        in->claiming = false;
}

static void ingest__claim(struct ingest *in)
{
    const char *params[1] = {in->instance};

    if (in->claimed || in->claiming || in->stop.stopping || !db_ready(in->db))
        return;
    in->claiming = true;
    if (db_query(in->db, "SELECT pg_try_advisory_lock(hashtext('eco-ingest'), hashtext($1))", 1,
                 params, ingest__claim_lock_done, in))
        in->claiming = false;
}

static void ingest__on_db_state(void *ud, bool up)
{
    struct ingest *in = ud;
    if (up) {
        elog_info("database connected", NULL);
        ingest__claim(in);
    } else {
        in->claimed = in->claiming = false; /* the lock went with the session */
        elog_warn("database connection lost; receiving into the spool", "error=\"%s\"",
                  db_last_error(in->db));
        in->reg_loading = false;
        reg_close(&in->reg_next);
        in->pos_loading = false;
    }
}

/* ---- housekeeping ------------------------------------------------------ */

static void ingest__status(struct ingest *in)
{
    char topic[MQ_TOPIC_MAX], msg[2048], ts[ETIME_RFC3339_MAX], gw[1024] = "";
    int n;

    etime_format(etime_now_us(), 0, ts, sizeof(ts));
    if (in->gw) {
        hj212gw_status_json(in->gw, gw, sizeof(gw));
        hj212gw_report(in->gw);
    }
    n = snprintf(
        msg, sizeof(msg),
        "{\"status\":\"online\",\"version\":\"%s\",\"ts\":\"%s\",\"counters\":{"
        "\"received\":%llu,\"stored\":%llu,\"rejected\":%llu,\"batches\":%llu,"
        "\"batch_failures\":%llu,\"spool_bytes\":%llu,\"spool_backlog\":%llu,"
        "\"outbox\":%zu,\"spool_full_pauses\":%llu,\"disk_full_pauses\":%llu,"
        "\"device_events\":%llu,"
        "\"repeat_batches\":%llu,\"latest_updates\":%llu%s%s}}",
        ECO_VERSION, ts, (unsigned long long)in->n.received, (unsigned long long)in->n.stored,
        (unsigned long long)in->n.rejected, (unsigned long long)in->n.batches,
        (unsigned long long)in->tx.n.batch_failures, (unsigned long long)spool_bytes(in->sp),
        (unsigned long long)(spool_head(in->sp) - 1 - in->committed), outbox_len(&in->ob),
        (unsigned long long)in->n.spool_full_pauses, (unsigned long long)in->n.disk_full_pauses,
        (unsigned long long)in->n.events, (unsigned long long)in->tx.n.repeat_batches,
        (unsigned long long)in->n.latest_updates, gw[0] ? "," : "", gw);
    snprintf(topic, sizeof(topic), "eco/v1/sys/ingest/%s", in->instance);
    if (n > 0 && (size_t)n < sizeof(msg))
        mq_publish(in->mq, topic, msg, (size_t)n, 1, true, NULL);
    elog_info("counters", "received=%llu stored=%llu rejected=%llu batches=%llu backlog=%llu",
              (unsigned long long)in->n.received, (unsigned long long)in->n.stored,
              (unsigned long long)in->n.rejected, (unsigned long long)in->n.batches,
              (unsigned long long)(spool_head(in->sp) - 1 - in->committed));
}

static void ingest__on_tick(uv_timer_t *t)
{
    struct ingest *in = t->data;
    uint64_t now = uv_now(in->loop);

    if (in->exit_code && !in->stop.stopping) {
        ingest_stop(in, in->stop.done, in->stop.done_arg);
        return;
    }
    if (in->stop.stopping) {
        /* nothing more can be stored without the database: stop now */
        if (now >= in->stop.deadline || !db_ready(in->db) || !in->pos_known || !in->reg_ready)
            ingest__finish_stop(in);
        else
            ingest__kick(in);
        return;
    }
    if (db_ready(in->db) && !in->claimed)
        ingest__claim(in);
    if (db_ready(in->db) && in->claimed) {
        ingest__pos_load(in);
        if (!in->reg_ready ||
            now - in->reg_loaded_at >= (uint64_t)in->conf->registry_refresh_s * 1000)
            ingest__reg_load(in);
    }
    if (svcbase_due(now, &in->last_status, (uint64_t)in->conf->status_s * 1000, true))
        ingest__status(in);
    ingest__disk_check(in);
    ingest__kick(in);
}

/* ---- lifecycle --------------------------------------------------------- */

int ingest_new(uv_loop_t *loop, const struct ingest_conf *conf, struct ingest **out)
{
    struct ingest *in = calloc(1, sizeof(*in));

    *out = NULL;
    if (!in)
        return -ENOMEM;
    if (latest_init(&in->lat, (size_t)conf->latest_max) ||
        batch_init(&in->bat, (size_t)conf->batch_rows)) {
        ingest_free(in);
        return -ENOMEM;
    }
    in->loop = loop;
    in->conf = conf;
    svcbase_instance(in->instance, sizeof(in->instance), conf->instance, "ingest");
    const struct itx_hooks hooks = {
        .ud = in, .committed = ingest__tx_committed, .failed = ingest__tx_failed};
    itx_init(&in->tx, &in->lat, in->instance, (size_t)conf->batch_rows, (size_t)conf->latest_max,
             &hooks);
    reg_init(&in->reg);
    reg_init(&in->reg_next);
    rd_out_init(&in->rd);
    buf_init(&in->scratch, 4u << 20);
    in->lim.min_ts_us = 946684800LL * ETIME_US_PER_SEC; /* 2000-01-01 */
    uv_timer_init(loop, &in->tick);
    uv_timer_init(loop, &in->retry);
    in->tick.data = in->retry.data = in;
    *out = in;
    return 0;
}

int ingest_start(struct ingest *in)
{
    const struct ingest_conf *c = in->conf;
    struct mq_opts mo = {
        .url = c->mqtt_url,
        .user = c->mqtt_user,
        .password = c->mqtt_password,
        .cafile = c->mqtt_cafile,
        .service = "ingest",
        .instance = in->instance,
        .persistent = true,
        .session_expiry_s = 7 * 24 * 3600,
        /* libmosquitto finds an acknowledged message by walking its in-flight
         * list: a deep window costs CPU on every PUBACK (measured: 12 % of
         * ingest at 1000) and gains nothing on a LAN */
        .max_outstanding = 64,
        .receive_max = 1000,
    };
    struct mq_cbs mc = {
        .on_message = ingest__on_message,
        .on_state = ingest__on_mq_state,
        .on_published = ingest__on_published,
        .on_burst_end = ingest__on_burst_end,
    };
    struct db_opts dopt = {.dsn = c->pg_dsn, .app_name = "eco-ingest", .init_sql = ITX_SQL_STAGE};
    struct db_cbs dc = {.on_state = ingest__on_db_state};
    int rc;

    rc = spool_open(c->spool_dir, 0, (uint64_t)c->spool_segment_mb << 20,
                    (uint64_t)c->spool_max_mb << 20, &in->sp);
    if (rc == -EBUSY) {
        elog_error("another eco-ingest is using this spool; refusing to start a second "
                   "(give each instance its own ECO_INGEST_SPOOL_DIR)",
                   "dir=%s", c->spool_dir);
        return rc;
    }
    if (rc) {
        elog_error("cannot open the spool", "dir=%s error=\"%s\"", c->spool_dir, strerror(-rc));
        return rc;
    }
    in->head_at_open = spool_head(in->sp);
    if ((rc = svcbase_mq_new(in->loop, &mo, &mc, in, &in->mq))) {
        elog_error("bad MQTT settings", "url=%s", c->mqtt_url);
        return rc;
    }
    outbox_init(&in->ob, in->mq, (size_t)c->outbox_max, (size_t)c->outbox_max * 1024);
    /* eco/v1/in/# and not eco/v1/in/+: a message on eco/v1/in itself or on
     * eco/v1/in/{device}/{more} is acknowledged by the broker like any
     * other, so it must arrive here to be dead-lettered ("topic is not
     * eco/v1/in/{device}") rather than vanish. MQTT's "#" also matches the
     * parent level (eco/v1/in), so one filter covers all of them; a second
     * filter for eco/v1/in would deliver that message twice. */
    if (c->share_group[0])
        snprintf(in->filter, sizeof(in->filter), "$share/%.64s/" INGEST_FILTER, c->share_group);
    else
        snprintf(in->filter, sizeof(in->filter), INGEST_FILTER);
    if ((rc = mq_subscribe(in->mq, in->filter, 1)) || (rc = ingest__own_subs(in, in->filter)))
        return rc;
    if ((rc = db_new(in->loop, &dopt, &dc, in, &in->db)))
        return rc;
    db_start(in->db);
    uv_timer_start(&in->tick, ingest__on_tick, 200, 200);
    in->last_flush = uv_now(in->loop);
    elog_info("started; waiting for the database to claim the instance",
              "instance=%s spool=%s spool_head=%llu", in->instance, c->spool_dir,
              (unsigned long long)in->head_at_open);
    return 0;
}

/* Messages are taken (broker, HJ 212 gateway) only once the instance is
 * claimed: a second process of one instance must not acknowledge anything
 * into a spool it is about to give up. Until then the broker keeps them in
 * the session and loggers retry. */
static int ingest__start_io(struct ingest *in)
{
    const struct ingest_conf *c = in->conf;
    int rc;

    in->io_started = true;
    if ((rc = mq_start(in->mq))) {
        elog_error("cannot start the MQTT client", "error=\"%s\"", strerror(-rc));
        return rc;
    }
    if (c->hj212_addr[0]) {
        struct hj212gw_opts go = {.addr = c->hj212_addr,
                                  .max_conn = (int)c->hj212_max_conn,
                                  .idle_s = (int)c->hj212_idle_s,
                                  .auth_s = (int)c->hj212_auth_s,
                                  .frame_s = (int)c->hj212_frame_s,
                                  .peer_max = (int)c->hj212_peer_max,
                                  .unauth_pct = (int)c->hj212_unauth_pct};
        struct hj212gw_sink gs = {.ud = in,
                                  .append = ingest__gw_append,
                                  .flush = ingest__gw_flush,
                                  .full = ingest__gw_full,
                                  .registry = ingest__gw_registry};
        if ((rc = hj212gw_new(in->loop, &go, &gs, &in->gw)) || (rc = hj212gw_start(in->gw))) {
            elog_error("cannot start the HJ 212 gateway", "addr=%s error=\"%s\"", c->hj212_addr,
                       strerror(-rc));
            return rc;
        }
    }
    return 0;
}

static void ingest__closed(void *arg)
{
    struct ingest *in = arg;
    svcbase_stop_closed(&in->stop);
}

/* Everything stored and published that could be, or the deadline passed:
 * close the clients and handles. */
static void ingest__finish_stop(struct ingest *in)
{
    size_t lost;

    if (in->stop.closing)
        return;
    if (itx_running(&in->tx) && !svcbase_stop_late(&in->stop, in->loop))
        return; /* the commit callback calls back here */
    if (outbox_len(&in->ob) && mq_connected(in->mq) && !svcbase_stop_late(&in->stop, in->loop))
        return; /* on_published calls back here through kick */
    in->stop.closing = true;
    lost = outbox_close(&in->ob);
    elog_info("stopping", "unstored_in_spool=%llu unpublished=%zu stored=%llu",
              (unsigned long long)(spool_head(in->sp) - 1 - in->committed), lost,
              (unsigned long long)in->n.stored);
    ingest__status(in);
    spool_flush(in->sp, true);
    in->stop.pending = 4 + (in->gw ? 1 : 0);
    if (in->gw)
        hj212gw_close(in->gw, ingest__closed, in); /* frees it */
    in->gw = NULL;
    mq_close(in->mq, ingest__closed);
    db_close(in->db, ingest__closed);
    svcbase_stop_close_handle(&in->stop, (uv_handle_t *)&in->tick);
    svcbase_stop_close_handle(&in->stop, (uv_handle_t *)&in->retry);
}

void ingest_stop(struct ingest *in, void (*done)(void *arg), void *arg)
{
    if (in->stop.stopping)
        return;
    /* the gateway's last flush may start a batch: before `stopping`, so it
     * cannot finish the stop from inside the gateway */
    hj212gw_stop(in->gw);
    svcbase_stop_begin(&in->stop, in->loop, in->conf->drain_s, done, arg);
    elog_info("draining", "deadline_s=%lld", (long long)in->conf->drain_s);
    if (in->mq)
        mq_pause(in->mq, true);
    if (!in->sp || !in->mq || !in->db) {
        in->stop.closing = true;
        in->stop.pending = 2 + (in->mq ? 1 : 0) + (in->db ? 1 : 0) + (in->gw ? 1 : 0);
        if (in->gw)
            hj212gw_close(in->gw, ingest__closed, in);
        in->gw = NULL;
        if (in->mq)
            mq_close(in->mq, ingest__closed);
        if (in->db)
            db_close(in->db, ingest__closed);
        svcbase_stop_close_handle(&in->stop, (uv_handle_t *)&in->tick);
        svcbase_stop_close_handle(&in->stop, (uv_handle_t *)&in->retry);
        return;
    }
    spool_flush(in->sp, true);
    ingest__kick(in);
}

void ingest_free(struct ingest *in)
{
    if (!in)
        return;
    spool_close(in->sp);
    reg_close(&in->reg);
    reg_close(&in->reg_next);
    rd_out_close(&in->rd);
    latest_close(&in->lat);
    batch_close(&in->bat);
    itx_close(&in->tx);
    buf_close(&in->scratch);
    free(in);
}

void ingest_on_exit(struct ingest *in, void (*done)(void *arg), void *arg)
{
    in->stop.done = done;
    in->stop.done_arg = arg;
}

int ingest_exit_code(const struct ingest *in)
{
    return in->exit_code;
}
