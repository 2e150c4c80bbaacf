#include "detect.h"

#include "asql.h"
#include "buf.h"
#include "db.h"
#include "dreg.h"
#include "elog.h"
#include "engine.h"
#include "etime.h"
#include "json.h"
#include "mq.h"
#include "outbox.h"
#include "svcbase.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define C(f) offsetof(struct detect_conf, f)
static const struct cfg_def detect__defs[] = {
    SVCBASE_CFG_DEFS(struct detect_conf),
    {"ECO_DETECT_INSTANCE", CFG_STR, "", 0, 64, C(instance),
     "instance name (status topic, MQTT session); default: host name"},
    {"ECO_DETECT_PARTITION", CFG_STR, "0/1", 3, 16, C(partition),
     "i/n: this instance watches the sites whose id % n = i (docs/DETECTION.md, scale out)"},
    {"ECO_DETECT_MAX_SERIES", CFG_INT, "1000000", 1000, 100000000, C(max_series),
     "series (site, parameter, period) watched at most (~0.5 KB each)"},
    {"ECO_DETECT_MAX_PAYLOAD", CFG_INT, "1048576", 256, 1048576, C(max_payload),
     "largest message read, bytes"},
    {"ECO_DETECT_WARMUP_SAMPLES", CFG_INT, "300", 0, 100000, C(warmup_samples),
     "readings per series re-run from storage at start (as time: samples x period)"},
    {"ECO_DETECT_WARMUP_MAX_DAYS", CFG_INT, "30", 0, 3650, C(warmup_max_days),
     "... but no further back than this"},
    {"ECO_DETECT_RELOAD_S", CFG_INT, "60", 1, 86400, C(reload_s),
     "how often the registry, limits and rule settings are reloaded"},
    {"ECO_DETECT_STATUS_S", CFG_INT, "30", 1, 3600, C(status_s),
     "how often counters are published on eco/v1/sys/detect/{instance}"},
    {"ECO_DETECT_MAX_PENDING", CFG_INT, "100000", 100, 10000000, C(max_pending),
     "alarm transitions waiting for the database before reading pauses"},
    {"ECO_DETECT_DRAIN_S", CFG_INT, "5", 0, 600, C(drain_s),
     "on SIGTERM, how long to keep storing pending transitions"},
    {"ECO_DETECT_APPLY_BATCH", CFG_INT, "20", 1, 1000, C(apply_batch),
     "alarm transitions per alarm.apply call; each batch is published when it commits"},
    {"ECO_DETECT_APPLY_CONNS", CFG_INT, "2", 1, 16, C(apply_conns),
     "database connections storing alarm transitions, a batch in flight on each"},
};
#undef C

const struct cfg_prog detect_prog = {
    "eco-detect",
    "raises, updates and clears alarms from every stored reading, in data time",
    detect__defs,
    sizeof(detect__defs) / sizeof(detect__defs[0]),
};

#define DETECT_LANES_MAX 16
#define DETECT_FETCH 20000

enum detect_phase { P_REGISTRY, P_OPEN, P_WARM, P_LIVE };

struct detect_counters {
    uint64_t messages, readings, skipped, bad, unknown_site, dead_letters, raised, updated, cleared,
        apply_failures, warm_readings;
};

/* One connection that stores alarm transitions: its sites' transitions in
 * order (pend[head..npend)), and the batch in flight (fly). A site's
 * transitions always take the same lane, so one alarm's raise, updates and
 * clear are applied in order; lanes run side by side (docs/DETECTION.md,
 * "Storing and publishing"). */
struct detect_lane {
    struct detect *d;
    struct db *db;
    struct eng_event *pend;
    size_t head, npend, cap_pend;
    struct eng_event *fly; /* ECO_DETECT_APPLY_BATCH, allocated once */
    size_t nfly;
    bool applying;
};

struct detect {
    uv_loop_t *loop;
    const struct detect_conf *conf;
    char instance[72];
    int part, nparts;
    struct mq *mq;
    struct db *db;
    struct outbox ob;
    struct dreg reg, reg_next;
    bool reg_ready, reg_loading;
    int reg_step;
    uint64_t reg_loaded_at;
    struct eng *eng;
    enum detect_phase phase;
    bool phase_busy;
    /* transitions waiting for alarm.apply, and the batches in flight, per
     * lane; unstored counts both over all lanes */
    struct detect_lane lanes[DETECT_LANES_MAX];
    int nlanes;
    size_t unstored;
    bool paused;
    struct buf sql, msg;
    /* data-time watermark of the live stream, and when it last moved */
    int64_t data_wm;
    uint64_t data_wm_at;
    uv_timer_t tick;
    uint64_t last_status;
    struct svcbase_stop stop;
    int exit_code;
    struct detect_counters n;
};

static void detect__kick(struct detect *d);
static void detect__finish_stop(struct detect *d);

int detect_parse_partition(const char *s, int *part, int *nparts)
{
    char *end;
    long i, n;
    errno = 0;
    i = strtol(s, &end, 10);
    if (errno || end == s || *end != '/')
        return -EINVAL;
    s = end + 1;
    n = strtol(s, &end, 10);
    if (errno || end == s || *end || n < 1 || n > 1024 || i < 0 || i >= n)
        return -EINVAL;
    *part = (int)i;
    *nparts = (int)n;
    return 0;
}

/* ---- alarm transitions ------------------------------------------------- */

/* The lane of a site. Sites of one partition share id % nparts, so the
 * quotient spreads them. */
static struct detect_lane *detect__lane(struct detect *d, int site_id)
{
    unsigned q = (unsigned)site_id / (unsigned)d->nparts;
    return &d->lanes[q % (unsigned)d->nlanes];
}

static void detect__on_event(void *ud, const struct eng_event *ev)
{
    struct detect *d = ud;
    struct detect_lane *l = detect__lane(d, ev->site_id);
    if (l->npend == l->cap_pend && l->head) {
        /* the batches taken from the front leave room to reuse */
        memmove(l->pend, l->pend + l->head, (l->npend - l->head) * sizeof(*l->pend));
        l->npend -= l->head;
        l->head = 0;
    }
    if (l->npend == l->cap_pend) {
        size_t cap = l->cap_pend ? l->cap_pend * 2 : 256;
        struct eng_event *p = realloc(l->pend, cap * sizeof(*p));
        if (!p) {
            /* cannot keep it: the warm-up after a restart derives it again */
            elog_error("out of memory for an alarm transition", "site_id=%d", ev->site_id);
            d->exit_code = 1;
            return;
        }
        l->pend = p;
        l->cap_pend = cap;
    }
    l->pend[l->npend++] = *ev;
    d->unstored++;
    if (!d->paused && d->unstored >= (size_t)d->conf->max_pending && d->mq) {
        d->paused = true;
        mq_pause(d->mq, true);
    }
}

static void detect__publish(struct detect *d, const struct eng_event *ev, long long id,
                            long long incident, const char *action)
{
    char topic[MQ_TOPIC_MAX];
    buf_reset(&d->msg);
    if (asql_alarm_msg(&d->reg, ev, id, incident, action, false, topic, sizeof(topic), &d->msg))
        return;
    if (outbox_put(&d->ob, topic, d->msg.p, d->msg.len, false))
        elog_warn("alarm event not published (out of memory)", "alarm=%lld", id);
}

static void detect__apply_done(void *ctx, int rc, const PGresult *res)
{
    struct detect_lane *l = ctx;
    struct detect *d = l->d;
    l->applying = false;
    if (rc) {
        /* keep the batch: it is tried again first */
        d->n.apply_failures++;
        elog_warn("alarm transitions not stored; retrying", "error=\"%s\"",
                  res ? PQresultErrorMessage(res) : "connection lost");
        return;
    }
    for (int r = 0; r < PQntuples(res); r++) {
        long i = strtol(PQgetvalue(res, r, 0), NULL, 10);
        long long id = strtoll(PQgetvalue(res, r, 1), NULL, 10);
        long long inc = strtoll(PQgetvalue(res, r, 3), NULL, 10);
        const char *action = PQgetvalue(res, r, 2);
        if (i < 0 || (size_t)i >= l->nfly)
            continue;
        if (strcmp(action, "raised") == 0)
            d->n.raised++;
        else if (strcmp(action, "updated") == 0)
            d->n.updated++;
        else
            d->n.cleared++;
        detect__publish(d, &l->fly[i], id, inc, action);
    }
    d->unstored -= l->nfly;
    l->nfly = 0;
    detect__kick(d);
}

/* Sends a lane's oldest pending transitions to alarm.apply, at most
 * ECO_DETECT_APPLY_BATCH, one batch in flight per lane, in order. A storm
 * of raises is stored in several batches whose events are published as
 * each commits, instead of all waiting for the last. */
static void detect__apply_lane(struct detect *d, struct detect_lane *l)
{
    const char *params[1];
    size_t n, max = (size_t)d->conf->apply_batch;
    int rc = 0;
    if (l->applying || !db_ready(l->db))
        return;
    if (!l->nfly) {
        if (l->head == l->npend)
            return;
        if (!l->fly && !(l->fly = malloc(max * sizeof(*l->fly))))
            return;
        n = l->npend - l->head < max ? l->npend - l->head : max;
        memcpy(l->fly, l->pend + l->head, n * sizeof(*l->fly));
        l->head += n;
        if (l->head == l->npend)
            l->head = l->npend = 0;
        l->nfly = n;
    }
    buf_reset(&d->sql);
    rc = buf_addc(&d->sql, '[');
    for (size_t i = 0; i < l->nfly && !rc; i++) {
        if (i)
            rc = buf_addc(&d->sql, ',');
        rc = rc ? rc : asql_event_json(&d->sql, (int)i, &l->fly[i], false);
    }
    rc = rc ? rc : buf_addc(&d->sql, ']');
    if (rc) {
        elog_error("alarm batch does not fit", "events=%zu", l->nfly);
        d->unstored -= l->nfly;
        l->nfly = 0;
        return;
    }
    params[0] = d->sql.p;
    if (db_query(l->db, ASQL_APPLY, 1, params, detect__apply_done, l) == 0)
        l->applying = true;
}

static void detect__apply(struct detect *d)
{
    for (int i = 0; i < d->nlanes; i++)
        detect__apply_lane(d, &d->lanes[i]);
}

/* Whether a lane that can still store has transitions left. */
static bool detect__storing(const struct detect *d)
{
    for (int i = 0; i < d->nlanes; i++) {
        const struct detect_lane *l = &d->lanes[i];
        if (db_ready(l->db) && (l->applying || l->nfly || l->head < l->npend))
            return true;
    }
    return false;
}

/* ---- registry ---------------------------------------------------------- */

static const char *const detect__reg_sql[] = {
    DREG_SQL_SITES, DREG_SQL_PARAMS, DREG_SQL_LIMITS, DREG_SQL_SETTINGS, DREG_SQL_DEVICES,
};

static void detect__reg_step(void *ctx, int rc, const PGresult *res);

static void detect__reg_query(struct detect *d)
{
    if (db_query(d->db, detect__reg_sql[d->reg_step], 0, NULL, detect__reg_step, d)) {
        d->reg_loading = false;
        dreg_close(&d->reg_next);
    }
}

static void detect__reg_step(void *ctx, int rc, const PGresult *res)
{
    struct detect *d = ctx;
    char why[256] = "";
    if (rc == 0) {
        switch (d->reg_step) {
        case 0:
            rc = dreg_fill_sites(&d->reg_next, res, why, sizeof(why));
            break;
        case 1:
            rc = dreg_fill_params(&d->reg_next, res, why, sizeof(why));
            break;
        case 2:
            rc = dreg_fill_limits(&d->reg_next, res, why, sizeof(why));
            break;
        case 3:
            rc = dreg_fill_settings(&d->reg_next, res, why, sizeof(why));
            break;
        default:
            rc = dreg_fill_devices(&d->reg_next, res, why, sizeof(why));
            if (!rc)
                rc = dreg_finish(&d->reg_next, why, sizeof(why));
            break;
        }
    } else if (res) {
        snprintf(why, sizeof(why), "%s", PQresultErrorMessage(res));
    }
    if (rc) {
        elog_error("cannot load the registry", "error=\"%s\"", why[0] ? why : strerror(-rc));
        d->reg_loading = false;
        dreg_close(&d->reg_next);
        if (!d->reg_ready && rc == -EBADMSG && why[0] && strstr(why, "alarm.setting"))
            d->exit_code = 1; /* not migrated: nothing to wait for */
        return;
    }
    if (++d->reg_step < (int)(sizeof(detect__reg_sql) / sizeof(detect__reg_sql[0]))) {
        detect__reg_query(d);
        return;
    }
    /* swap: the engine looks everything up again on its next reading */
    dreg_close(&d->reg);
    d->reg = d->reg_next;
    dreg_init(&d->reg_next);
    if (d->eng)
        eng_set_registry(d->eng, &d->reg);
    d->reg_loading = false;
    d->reg_loaded_at = uv_now(d->loop);
    if (!d->reg_ready)
        elog_info("registry loaded", "sites=%zu params=%zu limits=%zu settings=%zu", d->reg.nsites,
                  d->reg.nparams, d->reg.nlimits, d->reg.nsettings);
    d->reg_ready = true;
    detect__kick(d);
}

static void detect__reg_load(struct detect *d)
{
    if (d->reg_loading || !db_ready(d->db))
        return;
    dreg_close(&d->reg_next);
    d->reg_loading = true;
    d->reg_step = 0;
    detect__reg_query(d);
}

/* ---- start: open alarms, warm-up --------------------------------------- */

static void detect__phase_failed(struct detect *d, const char *what, int rc, const PGresult *res)
{
    elog_warn("start-up step failed; trying again", "step=%s error=\"%s\"", what,
              res ? PQresultErrorMessage(res) : strerror(-rc));
    d->phase_busy = false;
}

static void detect__open_done(void *ctx, int rc, const PGresult *res)
{
    struct detect *d = ctx;
    if (rc) {
        detect__phase_failed(d, "open alarms", rc, res);
        return;
    }
    elog_info("open alarms loaded", "open=%d noted=%d", PQntuples(res),
              asql_note_open(d->eng, res));
    d->phase = P_WARM;
    d->phase_busy = false;
    detect__kick(d);
}

static void detect__warm_fetch(struct detect *d);

static void detect__warm_done(void *ctx, int rc, const PGresult *res)
{
    struct detect *d = ctx;
    (void)res;
    if (rc) {
        detect__phase_failed(d, "warm-up commit", rc, res);
        return;
    }
    d->phase = P_LIVE;
    d->phase_busy = false;
    d->data_wm = eng_watermark(d->eng);
    d->data_wm_at = uv_now(d->loop);
    elog_info("warm-up done; reading the live stream", "readings=%llu alarm_transitions=%zu",
              (unsigned long long)d->n.warm_readings, d->unstored);
    mq_pause(d->mq, false);
    detect__kick(d);
}

static void detect__warm_rows(void *ctx, int rc, const PGresult *res)
{
    struct detect *d = ctx;
    int n;
    if (rc) {
        detect__phase_failed(d, "warm-up", rc, res);
        db_query(d->db, "ROLLBACK", 0, NULL, NULL, NULL);
        return;
    }
    if ((n = asql_feed_rows(d->eng, res, NULL)) < 0) {
        elog_error("warm-up: a reading cannot be read", NULL);
        n = 0;
    }
    d->n.warm_readings += (uint64_t)n;
    detect__apply(d);
    if (n == DETECT_FETCH) {
        detect__warm_fetch(d);
        return;
    }
    db_query(d->db, "CLOSE detect_warm; COMMIT", 0, NULL, detect__warm_done, d);
}

static void detect__warm_fetch(struct detect *d)
{
    if (db_query(d->db, "FETCH 20000 FROM detect_warm", 0, NULL, detect__warm_rows, d))
        detect__phase_failed(d, "warm-up fetch", -EAGAIN, NULL);
}

static void detect__warm_declared(void *ctx, int rc, const PGresult *res)
{
    struct detect *d = ctx;
    if (rc) {
        detect__phase_failed(d, "warm-up query", rc, res);
        db_query(d->db, "ROLLBACK", 0, NULL, NULL, NULL);
        return;
    }
    detect__warm_fetch(d);
}

/* Re-runs the rules over the recent history: per period, as far back as
 * ECO_DETECT_WARMUP_SAMPLES readings of that period reach, capped at
 * ECO_DETECT_WARMUP_MAX_DAYS. */
static void detect__warm_start(struct detect *d)
{
    static const char periods[] = "rmhd";
    char lo[4][24], hi[24], np[12], pt[12];
    const char *params[8];
    int64_t now = etime_now_us(), maxback = d->conf->warmup_max_days * 86400LL * 1000000;
    for (int i = 0; i < 4; i++) {
        int64_t back = d->conf->warmup_samples * eng_period_us(periods[i]);
        if (back > maxback)
            back = maxback;
        snprintf(lo[i], sizeof(lo[i]), "%lld", (long long)(now - back));
        params[i] = lo[i];
    }
    snprintf(hi, sizeof(hi), "%lld", (long long)(now + 86400LL * 1000000));
    snprintf(np, sizeof(np), "%d", d->nparts);
    snprintf(pt, sizeof(pt), "%d", d->part);
    params[4] = hi;
    params[5] = np;
    params[6] = pt;
    params[7] = "{}";
    /* a cursor needs a transaction; the batches of alarm.apply run in it */
    buf_reset(&d->msg);
    if (buf_printf(&d->msg, "DECLARE detect_warm NO SCROLL CURSOR FOR %s", ASQL_READINGS) ||
        db_query(d->db, "BEGIN", 0, NULL, NULL, NULL) ||
        db_query(d->db, d->msg.p, 8, params, detect__warm_declared, d)) {
        detect__phase_failed(d, "warm-up begin", -EAGAIN, NULL);
        return;
    }
    d->phase_busy = true;
}

static void detect__advance_phase(struct detect *d)
{
    char np[12], pt[12];
    const char *params[2] = {np, pt};
    if (d->phase_busy || !d->reg_ready || !db_ready(d->db))
        return;
    if (!d->eng) {
        int rc = eng_new(&d->reg, (size_t)d->conf->max_series, detect__on_event, d, &d->eng);
        if (rc) {
            elog_error("cannot create the engine", "error=\"%s\"", strerror(-rc));
            d->exit_code = 1;
            return;
        }
    }
    if (d->phase == P_REGISTRY)
        d->phase = P_OPEN;
    if (d->phase == P_OPEN) {
        snprintf(np, sizeof(np), "%d", d->nparts);
        snprintf(pt, sizeof(pt), "%d", d->part);
        if (db_query(d->db, ASQL_OPEN, 2, params, detect__open_done, d) == 0)
            d->phase_busy = true;
    } else if (d->phase == P_WARM) {
        detect__warm_start(d);
    }
}

/* ---- the live stream --------------------------------------------------- */

static void detect__dlq_reading(void *ud, const struct eng_reading *r)
{
    struct detect *d = ud;
    eng_feed_rejected(d->eng, r);
}

static void detect__live_reading(void *ud, const struct eng_reading *r)
{
    struct detect *d = ud;
    d->n.readings++;
    if (r->ts > d->data_wm) {
        d->data_wm = r->ts;
        d->data_wm_at = uv_now(d->loop);
    }
    eng_feed(d->eng, r);
}

static void detect__dead_letter(struct detect *d, const char *topic, const void *p, size_t len,
                                const char *why)
{
    char topic_q[MQ_TOPIC_MAX + 8], ts[ETIME_RFC3339_MAX];
    const char *params[3];
    d->n.bad++;
    buf_reset(&d->msg);
    etime_format(etime_now_us(), 0, ts, sizeof(ts));
    if (buf_addstr(&d->msg, "{\"topic\":\"") || buf_add_json_str(&d->msg, topic, strlen(topic)) ||
        buf_addstr(&d->msg, "\",\"payload\":\"") ||
        buf_add_json_str(&d->msg, p, len > 4096 ? 4096 : len) ||
        buf_addstr(&d->msg, "\",\"reason\":\"") || buf_add_json_str(&d->msg, why, strlen(why)) ||
        buf_printf(&d->msg, "\",\"time\":\"%s\"}", ts))
        return;
    outbox_put(&d->ob, "eco/v1/dlq/detect", d->msg.p, d->msg.len, false);
    elog_warn("message refused", "topic=%s reason=\"%s\"", topic, why);
    snprintf(topic_q, sizeof(topic_q), "%s", topic);
    params[0] = topic_q;
    params[1] = why;
    /* the payload column is text: cut at the same 4096 bytes, kept valid
     * by the JSON round trip above being only for the topic */
    buf_reset(&d->sql);
    if (buf_add(&d->sql, p, len > 4096 ? 4096 : len))
        return;
    params[2] = d->sql.p;
    if (!buf_utf8_text(d->sql.p, d->sql.len))
        params[2] = "(not UTF-8)";
    db_query(d->db,
             "INSERT INTO obs.deadletter (service, source, reason, payload)"
             " VALUES ('detect', $1, $2, $3)",
             3, params, NULL, NULL);
}

static void detect__on_obs(struct detect *d, const struct mq_msg *m, const char *site_code)
{
    const struct dreg_site *site = dreg_site_code(&d->reg, site_code, strlen(site_code));
    const cJSON *readings, *obj;
    const char *why = NULL;
    char err[128];
    cJSON *doc = NULL;
    if (!site) {
        d->n.unknown_site++;
        return; /* a site newer than our registry: the reload brings it */
    }
    if (site->id % d->nparts != d->part) {
        d->n.skipped++;
        return;
    }
    if (json_parse(m->payload, m->len, &doc, err, sizeof(err))) {
        detect__dead_letter(d, m->topic, m->payload, m->len, err);
        return;
    }
    readings = cJSON_GetObjectItemCaseSensitive(doc, "readings");
    if (!cJSON_IsArray(readings)) {
        detect__dead_letter(d, m->topic, m->payload, m->len, "readings: missing or not an array");
    } else {
        cJSON_ArrayForEach(obj, readings)
        {
            if (asql_readings(&d->reg, obj, site->id, detect__live_reading, d, &why) < 0) {
                detect__dead_letter(d, m->topic, m->payload, m->len, why);
                break;
            }
        }
    }
    cJSON_Delete(doc);
}

/* A dead letter of ingest: the values it refused as out of range raise
 * `range` (nothing else can see them: they are not stored). */
static void detect__on_dlq(struct detect *d, const struct mq_msg *m)
{
    cJSON *doc = NULL, *in = NULL;
    const char *topic = NULL, *payload = NULL, *why = NULL;
    int site_id;
    d->n.dead_letters++;
    if (json_parse(m->payload, m->len, &doc, NULL, 0) || json_get_strp(doc, "topic", &topic) ||
        json_get_strp(doc, "payload", &payload) || strncmp(topic, "eco/v1/in/", 10) != 0)
        goto out;
    site_id = dreg_device_site(&d->reg, topic + 10, strlen(topic + 10));
    if (!site_id || site_id % d->nparts != d->part)
        goto out;
    if (json_parse(payload, strlen(payload), &in, NULL, 0))
        goto out;
    if (cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(in, "readings"))) {
        const cJSON *obj;
        cJSON_ArrayForEach(obj, cJSON_GetObjectItemCaseSensitive(in, "readings"))
            asql_readings(&d->reg, obj, site_id, detect__dlq_reading, d, &why);
    } else {
        asql_readings(&d->reg, in, site_id, detect__dlq_reading, d, &why);
    }
out:
    cJSON_Delete(in);
    cJSON_Delete(doc);
}

static void detect__on_message(void *ud, const struct mq_msg *m)
{
    struct detect *d = ud;
    if (d->phase != P_LIVE || d->stop.stopping) {
        /* Read before the warm-up ended (in the connect's own read) or
         * while stopping: drop the connection before its acknowledgement
         * leaves, so the broker delivers it again. */
        mq_abort(d->mq);
        return;
    }
    d->n.messages++;
    if (m->len > (size_t)d->conf->max_payload) {
        detect__dead_letter(d, m->topic, m->payload, 256,
                            "payload larger than ECO_DETECT_MAX_PAYLOAD");
        return;
    }
    if (strncmp(m->topic, "eco/v1/obs/", 11) == 0 && !strchr(m->topic + 11, '/'))
        detect__on_obs(d, m, m->topic + 11);
    else if (strcmp(m->topic, "eco/v1/dlq/ingest") == 0)
        detect__on_dlq(d, m);
}

static void detect__on_burst_end(void *ud)
{
    detect__kick(ud);
}

static void detect__on_published(void *ud, int mid)
{
    struct detect *d = ud;
    (void)mid;
    outbox_drain(&d->ob);
    if (d->stop.stopping)
        detect__finish_stop(d);
}

static void detect__on_mq_state(void *ud, bool up)
{
    struct detect *d = ud;
    if (up) {
        outbox_drain(&d->ob);
        /* nothing is read before the warm-up is done */
        if (d->phase != P_LIVE)
            mq_pause(d->mq, true);
    }
}

static void detect__on_db_state(void *ud, bool up)
{
    struct detect *d = ud;
    svcbase_log_db(up, d->db);
    if (up) {
        detect__reg_load(d);
    } else {
        d->reg_loading = false;
        dreg_close(&d->reg_next);
        if (d->phase == P_WARM || d->phase == P_OPEN) {
            /* start over: the warm-up's transaction is gone */
            d->phase = P_OPEN;
            d->phase_busy = false;
        }
    }
}

static void detect__on_lane_state(void *ud, bool up)
{
    struct detect_lane *l = ud;
    if (up) {
        detect__kick(l->d);
    } else {
        /* the batch in flight (failed with the connection) is tried again */
        elog_warn("database connection lost", "error=\"%s\"", db_last_error(l->db));
        l->applying = false;
    }
}

/* ---- housekeeping ------------------------------------------------------ */

static void detect__status(struct detect *d)
{
    struct eng_stats st = {0};
    if (d->eng)
        eng_stats(d->eng, &st);
    svcbase_status(d->mq, &d->msg, "detect", d->instance,
                   "\"phase\":\"%s\","
                   "\"partition\":\"%d/%d\",\"counters\":{\"messages\":%llu,\"readings\":%llu,"
                   "\"skipped\":%llu,\"bad\":%llu,\"unknown_site\":%llu,\"dead_letters\":%llu,"
                   "\"series\":%zu,\"repeats\":%llu,\"raised\":%llu,\"updated\":%llu,"
                   "\"cleared\":%llu,\"pending\":%zu,\"apply_failures\":%llu,"
                   "\"warm_readings\":%llu}}",
                   d->phase == P_LIVE   ? "live"
                   : d->phase == P_WARM ? "warm-up"
                                        : "starting",
                   d->part, d->nparts, (unsigned long long)d->n.messages,
                   (unsigned long long)d->n.readings, (unsigned long long)d->n.skipped,
                   (unsigned long long)d->n.bad, (unsigned long long)d->n.unknown_site,
                   (unsigned long long)d->n.dead_letters, st.series, (unsigned long long)st.repeats,
                   (unsigned long long)d->n.raised, (unsigned long long)d->n.updated,
                   (unsigned long long)d->n.cleared, d->unstored,
                   (unsigned long long)d->n.apply_failures, (unsigned long long)d->n.warm_readings);
    elog_info("counters", "readings=%llu series=%zu raised=%llu cleared=%llu pending=%zu",
              (unsigned long long)d->n.readings, st.series, (unsigned long long)d->n.raised,
              (unsigned long long)d->n.cleared, d->unstored);
}

/* The live watermark: data time, moved on by the wall clock while nothing
 * arrives (so `offline` fires on time when the whole network is silent),
 * never past the wall clock. A backfill far behind the clock moves it only
 * by the seconds since its last reading. */
static void detect__live_watermark(struct detect *d)
{
    int64_t now = etime_now_us(), wm;
    if (d->phase != P_LIVE || !d->data_wm)
        return;
    wm = d->data_wm + (int64_t)(uv_now(d->loop) - d->data_wm_at) * 1000;
    if (wm > now)
        wm = now;
    eng_advance(d->eng, wm);
}

static void detect__kick(struct detect *d)
{
    if (d->stop.closing)
        return;
    if (d->phase != P_LIVE)
        detect__advance_phase(d);
    detect__apply(d);
    if (d->paused && d->unstored < (size_t)d->conf->max_pending / 2 && d->phase == P_LIVE &&
        !d->stop.stopping) {
        d->paused = false;
        mq_pause(d->mq, false);
    }
    if (d->stop.stopping)
        detect__finish_stop(d);
}

static void detect__on_tick(uv_timer_t *t)
{
    struct detect *d = t->data;
    uint64_t now = uv_now(d->loop);
    if (d->exit_code && !d->stop.stopping) {
        detect_stop(d, d->stop.done, d->stop.done_arg);
        return;
    }
    if (d->stop.stopping) {
        detect__finish_stop(d);
        return;
    }
    if (db_ready(d->db) &&
        (!d->reg_ready || now - d->reg_loaded_at >= (uint64_t)d->conf->reload_s * 1000))
        detect__reg_load(d);
    detect__live_watermark(d);
    if (svcbase_due(now, &d->last_status, (uint64_t)d->conf->status_s * 1000, true))
        detect__status(d);
    detect__kick(d);
}

/* ---- lifecycle --------------------------------------------------------- */

int detect_new(uv_loop_t *loop, const struct detect_conf *conf, struct detect **out)
{
    struct detect *d;
    int part, nparts;
    *out = NULL;
    if (detect_parse_partition(conf->partition, &part, &nparts)) {
        fprintf(stderr,
                "eco-detect: bad configuration: ECO_DETECT_PARTITION: expected i/n with "
                "0 <= i < n <= 1024, got \"%s\"\n",
                conf->partition);
        return -EINVAL;
    }
    if (!(d = calloc(1, sizeof(*d))))
        return -ENOMEM;
    d->part = part;
    d->nparts = nparts;
    d->nlanes = (int)conf->apply_conns;
    for (int i = 0; i < d->nlanes; i++)
        d->lanes[i].d = d;
    d->loop = loop;
    d->conf = conf;
    dreg_init(&d->reg);
    dreg_init(&d->reg_next);
    buf_init(&d->sql, 64u << 20);
    buf_init(&d->msg, 1u << 20);
    uv_timer_init(loop, &d->tick);
    d->tick.data = d;
    *out = d;
    svcbase_instance(d->instance, sizeof(d->instance), conf->instance, "main");
    return 0;
}

int detect_start(struct detect *d)
{
    const struct detect_conf *c = d->conf;
    struct mq_opts mo = {
        .url = c->mqtt_url,
        .user = c->mqtt_user,
        .password = c->mqtt_password,
        .cafile = c->mqtt_cafile,
        .service = "detect",
        .instance = d->instance,
        /* a persistent session: what is published while we restart waits */
        .persistent = true,
        .session_expiry_s = 7 * 24 * 3600,
        .max_outstanding = 256,
        .receive_max = 1000,
    };
    struct mq_cbs mc = {
        .on_message = detect__on_message,
        .on_state = detect__on_mq_state,
        .on_published = detect__on_published,
        .on_burst_end = detect__on_burst_end,
    };
    struct db_opts dopt = {.dsn = c->pg_dsn, .app_name = "eco-detect"};
    struct db_cbs dc = {.on_state = detect__on_db_state};
    int rc;
    if ((rc = svcbase_mq_new(d->loop, &mo, &mc, d, &d->mq))) {
        elog_error("bad MQTT settings", "url=%s", c->mqtt_url);
        return rc;
    }
    outbox_init(&d->ob, d->mq, 100000, 64u << 20);
    /* every instance reads every site's messages and keeps its partition's:
     * per-series state stays in one instance (docs/DETECTION.md) */
    if ((rc = mq_subscribe(d->mq, "eco/v1/obs/+", 1)) ||
        (rc = mq_subscribe(d->mq, "eco/v1/dlq/ingest", 1)))
        return rc;
    mq_pause(d->mq, true);
    if ((rc = db_new(d->loop, &dopt, &dc, d, &d->db)))
        return rc;
    db_start(d->db);
    for (int i = 0; i < d->nlanes; i++) {
        struct db_cbs lc = {.on_state = detect__on_lane_state};
        struct db_opts lopt = dopt;
        lopt.init_sql = ASQL_APPLY_WARM;
        if ((rc = db_new(d->loop, &lopt, &lc, &d->lanes[i], &d->lanes[i].db)))
            return rc;
        db_start(d->lanes[i].db);
    }
    if ((rc = mq_start(d->mq)))
        return rc;
    uv_timer_start(&d->tick, detect__on_tick, 100, 1000);
    elog_info("started", "instance=%s partition=%d/%d", d->instance, d->part, d->nparts);
    return 0;
}

static void detect__closed(void *arg)
{
    struct detect *d = arg;
    svcbase_stop_closed(&d->stop);
}

/* db_close calls back with the connection's user data: the lane */
static void detect__lane_closed(void *arg)
{
    struct detect_lane *l = arg;
    detect__closed(l->d);
}

static void detect__finish_stop(struct detect *d)
{
    bool late = svcbase_stop_late(&d->stop, d->loop);
    size_t lost;
    if (d->stop.closing)
        return;
    if (!late && detect__storing(d))
        return; /* apply_done kicks back here */
    if (!late && outbox_len(&d->ob) && mq_connected(d->mq))
        return;
    d->stop.closing = true;
    lost = outbox_close(&d->ob);
    elog_info("stopping", "unstored_transitions=%zu unpublished=%zu", d->unstored, lost);
    d->stop.pending = 1 + (d->mq ? 1 : 0) + (d->db ? 1 : 0);
    for (int i = 0; i < d->nlanes; i++)
        d->stop.pending += d->lanes[i].db ? 1 : 0;
    if (d->mq)
        mq_close(d->mq, detect__closed);
    if (d->db)
        db_close(d->db, detect__closed);
    for (int i = 0; i < d->nlanes; i++)
        if (d->lanes[i].db)
            db_close(d->lanes[i].db, detect__lane_closed);
    svcbase_stop_close_handle(&d->stop, (uv_handle_t *)&d->tick);
}

void detect_stop(struct detect *d, void (*done)(void *arg), void *arg)
{
    if (svcbase_stop_begin(&d->stop, d->loop, d->conf->drain_s, done, arg))
        return;
    if (d->mq)
        mq_pause(d->mq, true);
    if (!d->mq || !d->db || !d->lanes[d->nlanes - 1].db)
        d->stop.deadline = 0;
    detect__kick(d);
    detect__finish_stop(d);
}

void detect_free(struct detect *d)
{
    if (!d)
        return;
    eng_free(d->eng);
    dreg_close(&d->reg);
    dreg_close(&d->reg_next);
    buf_close(&d->sql);
    buf_close(&d->msg);
    for (int i = 0; i < d->nlanes; i++) {
        free(d->lanes[i].pend);
        free(d->lanes[i].fly);
    }
    free(d);
}

int detect_exit_code(const struct detect *d)
{
    return d->exit_code;
}
