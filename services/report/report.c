#include "report.h"

#include "buf.h"
#include "db.h"
#include "elog.h"
#include "json.h"
#include "mq.h"
#include "rout.h"
#include "rpc.h"
#include "svcbase.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define C(f) offsetof(struct report_conf, f)
static const struct cfg_def report__defs[] = {
    SVCBASE_CFG_DEFS(struct report_conf),
    {"ECO_REPORT_INSTANCE", CFG_STR, "", 0, 64, C(instance),
     "instance name (status topic, MQTT session, report claims); default: host name"},
    {"ECO_REPORT_SHARE_GROUP", CFG_STR, "report", 0, 64, C(share_group),
     "shared-subscription group the instances split requests in; empty: every instance answers"},
    {"ECO_REPORT_OUT_DIR", CFG_STR, "/var/lib/ecowatch/reports", 1, 0, C(out_dir),
     "where reports (HTML, JSON, CSV) and layers/ (GeoJSON) are written"},
    {"ECO_REPORT_DELAY_MIN", CFG_INT, "60", 0, 10080, C(delay_min),
     "minutes after a day (Beijing) or month closes before its report is made: late data"},
    {"ECO_REPORT_CATCHUP_DAYS", CFG_INT, "7", 1, 366, C(catchup_days),
     "how far back missing reports are made (after a stop)"},
    {"ECO_REPORT_CHECK_S", CFG_INT, "60", 1, 3600, C(check_s),
     "how often the schedule is checked for reports that are due"},
    {"ECO_REPORT_LAYERS_S", CFG_INT, "60", 5, 86400, C(layers_s),
     "how often the map layers are refreshed (files and retained messages)"},
    {"ECO_REPORT_REFRESH_S", CFG_INT, "10", 1, 3600, C(refresh_s),
     "how often the stored daily statistics of changed days are recomputed (rpt.refresh)"},
    {"ECO_REPORT_COMPACT_S", CFG_INT, "3600", 0, 604800, C(compact_s),
     "how often a closed month of readings is rewritten in site order (obs.compact_partitions); 0: "
     "never"},
    {"ECO_REPORT_COMPACT_AFTER_D", CFG_INT, "7", 1, 366, C(compact_after_d),
     "days after a month ends before its readings are rewritten (late data)"},
    {"ECO_REPORT_STATUS_S", CFG_INT, "30", 1, 3600, C(status_s),
     "how often counters are published on eco/v1/sys/report/{instance}"},
    {"ECO_REPORT_DRAIN_S", CFG_INT, "30", 0, 600, C(drain_s),
     "on SIGTERM, how long to finish the report in hand"},
};
#undef C

const struct cfg_prog report_prog = {
    "eco-report",
    "the center's daily and monthly reports and the one map's layers",
    report__defs,
    sizeof(report__defs) / sizeof(report__defs[0]),
};

#define REPORT_QUEUE 16 /* requests waiting for their turn */
#define REPORT_NLAYERS 8
#define REPORT_SERIES_MAX 64            /* series requests in flight */
#define REPORT_SERIES_BYTES (16u << 20) /* largest series reply */

/* The order of the query in report__layers. Departments may read regions,
 * stations, tracks and grid; the others carry alarms and work orders
 * (services/ecoctl/bauth.c). */
static const char *const report__layer[REPORT_NLAYERS] = {
    "sites", "alarms", "orders", "grid", "regions", "stations", "tracks", "departments"};

/* One report, from its claim (or request) to its record. Owned by the
 * service; between uv_queue_work and its after-callback only the worker
 * touches the fields it writes (rc, html, err). */
struct report_job {
    struct report *svc;
    uv_work_t work;
    char kind[16], period[16];
    bool rpc;
    char reply_topic[MQ_TOPIC_MAX];
    unsigned char corr[256];
    size_t corr_len;
    char caller[RPC_NAME_MAX + 1]; /* a request's: the broker-checked user name */
    char *json, *map;              /* the document and the map, from the database */
    size_t len, map_len;
    char out_dir[CFG_STR_MAX];
    int rc;
    char html[4096], err[512];
    uint64_t t0;
};

/* The layers of one refresh, written to files and compressed by a worker. */
struct report_layers {
    struct report *svc;
    uv_work_t work;
    char out_dir[CFG_STR_MAX + 8];
    char *text[REPORT_NLAYERS];
    size_t len[REPORT_NLAYERS];
    unsigned char *z[REPORT_NLAYERS]; /* zlib (RFC 1950) of text, or NULL */
    size_t zlen[REPORT_NLAYERS];
    unsigned long crc[REPORT_NLAYERS]; /* of text */
    int rc;
};

/* A series request in flight on the requests' connection. */
struct report_series {
    struct report *svc;
    char reply_topic[MQ_TOPIC_MAX];
    unsigned char corr[256];
    size_t corr_len;
    char site[72];
};

struct report_counters {
    uint64_t made, failed, requests, refused, layers, published, refreshed, compacted, series;
};

struct report {
    uv_loop_t *loop;
    const struct report_conf *conf;
    char instance[72];
    struct mq *mq;
    struct db *db;
    /* the requests' connection: a series is answered in milliseconds, never
     * behind a report, a refresh or a compaction on db */
    struct db *qdb;
    size_t nseries; /* series requests in flight on qdb */
    /* the compressed layers last published: their text's CRC and when */
    unsigned long layz_crc[REPORT_NLAYERS];
    uint64_t layz_at[REPORT_NLAYERS];
    struct buf msg;
    struct buf big;            /* series replies */
    struct report_job *job;    /* the report in hand, or NULL */
    bool in_worker, claiming;  /* job is in the worker; a claim query is out */
    struct report_layers *lay; /* a layer refresh in hand, or NULL */
    bool lay_in_worker;
    bool refreshing, refresh_more;          /* rpt.refresh is out; it had more */
    bool compacting;                        /* obs.compact_partitions is out */
    struct report_job *queue[REPORT_QUEUE]; /* requests waiting */
    size_t nqueue;
    uv_timer_t tick;
    uint64_t last_check, last_layers, last_refresh, last_compact, last_status;
    struct svcbase_stop stop;
    int exit_code;
    struct report_counters n;
};

static void report__next(struct report *r);
static void report__finish_stop(struct report *r);

static const char *report__pg_msg(const PGresult *res)
{
    const char *m = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    return m ? m : "the database is unavailable";
}

static char *report__dup(const char *p, size_t len)
{
    char *s = malloc(len + 1);
    if (s) {
        memcpy(s, p, len);
        s[len] = '\0';
    }
    return s;
}

static void report__job_free(struct report_job *j)
{
    if (j) {
        free(j->json);
        free(j->map);
        free(j);
    }
}

static struct report_job *report__job(struct report *r, const char *kind, const char *period)
{
    struct report_job *j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    j->svc = r;
    j->work.data = j;
    snprintf(j->kind, sizeof j->kind, "%s", kind);
    snprintf(j->period, sizeof j->period, "%s", period);
    snprintf(j->out_dir, sizeof j->out_dir, "%s", r->conf->out_dir);
    j->t0 = uv_now(r->loop);
    return j;
}

/* ---- replies ------------------------------------------------------------- */

/* Publishes b as the answer to a request (QoS 1, the request's
 * correlation data). */
static void report__send(struct report *r, const char *topic, const unsigned char *corr,
                         size_t corr_len, const struct buf *b)
{
    struct mq_pub p = {.topic = topic,
                       .payload = b->p,
                       .len = b->len,
                       .qos = 1,
                       .corr = corr_len ? corr : NULL,
                       .corr_len = corr_len,
                       .expiry_s = 300};
    int rc;
    if ((rc = mq_publish_ex(r->mq, &p, NULL)))
        elog_warn("reply not sent", "topic=%s error=\"%s\"", topic, strerror(-rc));
}

/* {"ok": false, "error": what} */
static void report__refuse(struct report *r, const char *topic, const unsigned char *corr,
                           size_t corr_len, const char *what)
{
    buf_reset(&r->msg);
    if (buf_addstr(&r->msg, "{\"ok\":false,\"error\":\"") ||
        buf_add_json_str(&r->msg, what, strlen(what)) || buf_addstr(&r->msg, "\"}"))
        return;
    report__send(r, topic, corr, corr_len, &r->msg);
}

static void report__reply(struct report *r, const struct report_job *j, bool ok, const char *what)
{
    int rc;
    if (!ok) {
        report__refuse(r, j->reply_topic, j->corr, j->corr_len, what);
        return;
    }
    buf_reset(&r->msg);
    rc = buf_printf(&r->msg,
                    "{\"ok\":true,\"kind\":\"%s\",\"period\":\"%s\",\"topic\":\"eco/v1/"
                    "report/%s/%s\",\"html\":\"",
                    j->kind, j->period, j->kind, j->period) ||
         buf_add_json_str(&r->msg, what, strlen(what)) || buf_addstr(&r->msg, "\"}");
    if (rc)
        return;
    report__send(r, j->reply_topic, j->corr, j->corr_len, &r->msg);
}

/* ---- one report ---------------------------------------------------------- */

/* The end of a job, whatever happened: answer, count, take the next. */
static void report__job_end(struct report *r, struct report_job *j, const char *error)
{
    if (error) {
        r->n.failed++;
        elog_warn("report not made", "kind=%s period=%s error=\"%s\"", j->kind, j->period, error);
    } else {
        r->n.made++;
        elog_info("report made", "kind=%s period=%s html=%s ms=%" PRIu64, j->kind, j->period,
                  j->html, uv_now(r->loop) - j->t0);
    }
    if (j->rpc)
        report__reply(r, j, error == NULL, error ? error : j->html);
    report__job_free(j);
    r->job = NULL;
    report__next(r);
}

static void report__recorded(void *ctx, int rc, const PGresult *res)
{
    struct report_job *j = ctx;
    struct report *r = j->svc;
    if (rc)
        elog_warn("report outcome not recorded", "kind=%s period=%s error=\"%s\"", j->kind,
                  j->period, report__pg_msg(res));
    report__job_end(r, j, j->rc ? j->err : NULL);
}

/* Records the outcome in rpt.report_run; without a database the job ends
 * unrecorded (a scheduled one is claimed again after 30 minutes). */
static void report__record(struct report *r, struct report_job *j)
{
    const char *params[5] = {j->kind, j->period, r->instance, j->rc ? NULL : j->html,
                             j->rc ? j->err : NULL};
    if (!r->db || !db_ready(r->db) ||
        db_query(r->db, "SELECT rpt.report_done($1, $2, $3, $4, $5)", 5, params, report__recorded,
                 j))
        report__job_end(r, j, j->rc ? j->err : NULL);
}

static void report__work(uv_work_t *w)
{
    struct report_job *j = w->data;
    j->rc = rout_write_report(j->out_dir, j->json, j->len, j->map, j->map_len, j->html,
                              sizeof j->html, j->err, sizeof j->err);
}

static void report__worked(uv_work_t *w, int status)
{
    struct report_job *j = w->data;
    struct report *r = j->svc;
    char topic[MQ_TOPIC_MAX];
    int rc;
    r->in_worker = false;
    if (status) {
        j->rc = status;
        snprintf(j->err, sizeof j->err, "cancelled");
    }
    if (!j->rc) {
        /* the document as retained message: integrators and the console
         * read the latest report of each period without asking */
        snprintf(topic, sizeof topic, "eco/v1/report/%s/%s", j->kind, j->period);
        rc = mq_publish(r->mq, topic, j->json, j->len, 1, true, NULL);
        if (rc)
            elog_warn("report not published (the files are written)", "topic=%s error=\"%s\"",
                      topic, strerror(-rc));
        else
            r->n.published++;
    }
    report__record(r, j);
}

static void report__fetched(void *ctx, int rc, const PGresult *res)
{
    struct report_job *j = ctx;
    struct report *r = j->svc;
    if (rc || PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
        snprintf(j->err, sizeof j->err, "%s", report__pg_msg(res));
        j->rc = rc ? rc : -EIO;
        /* a request the database refused (a bad period) is answered, not
         * recorded: rpt.report_run holds real periods only */
        if (r->stop.closing || (j->rpc && rc == -EIO)) {
            report__job_end(r, j, j->err);
            return;
        }
        report__record(r, j);
        return;
    }
    j->len = (size_t)PQgetlength(res, 0, 0);
    j->map_len = (size_t)PQgetlength(res, 0, 1);
    if (!(j->json = report__dup(PQgetvalue(res, 0, 0), j->len)) ||
        !(j->map = report__dup(PQgetvalue(res, 0, 1), j->map_len))) {
        j->rc = -ENOMEM;
        snprintf(j->err, sizeof j->err, "out of memory");
        report__record(r, j);
        return;
    }
    if ((rc = uv_queue_work(r->loop, &j->work, report__work, report__worked))) {
        j->rc = rc;
        snprintf(j->err, sizeof j->err, "cannot queue the rendering: %s", uv_strerror(rc));
        report__record(r, j);
        return;
    }
    r->in_worker = true;
}

/* Takes job in hand: asks the database for the document and the map. */
static void report__begin(struct report *r, struct report_job *j)
{
    const char *params[2] = {j->kind, j->period};
    r->job = j;
    if (db_query(r->db, "SELECT rpt.report($1, $2)::text, rpt.report_map()::text", 2, params,
                 report__fetched, j)) {
        snprintf(j->err, sizeof j->err, "the database is unavailable: try again");
        j->rc = -ENOTCONN;
        report__job_end(r, j, j->err);
    }
}

static void report__claimed(void *ctx, int rc, const PGresult *res)
{
    struct report *r = ctx;
    struct report_job *j;
    r->claiming = false;
    if (rc) {
        if (!r->stop.closing)
            elog_warn("cannot check the schedule", "error=\"%s\"", report__pg_msg(res));
        return;
    }
    if (PQntuples(res) != 1)
        return; /* nothing due */
    if (!(j = report__job(r, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1))))
        return; /* the claim lapses and is taken again in 30 minutes */
    if (r->stop.stopping) {
        report__job_free(j);
        return;
    }
    report__begin(r, j);
}

/* What to do next when nothing is in hand: a waiting request first, then
 * the schedule. */
static void report__next(struct report *r)
{
    if (r->job || r->claiming || r->stop.closing)
        return;
    if (r->stop.stopping) {
        report__finish_stop(r);
        return;
    }
    if (!db_ready(r->db))
        return;
    if (r->nqueue) {
        struct report_job *j = r->queue[0];
        memmove(r->queue, r->queue + 1, (--r->nqueue) * sizeof(r->queue[0]));
        report__begin(r, j);
        return;
    }
    if (uv_now(r->loop) - r->last_check >= (uint64_t)r->conf->check_s * 1000 || !r->last_check) {
        char delay[24], days[24];
        const char *params[3] = {r->instance, delay, days};
        r->last_check = uv_now(r->loop);
        snprintf(delay, sizeof delay, "%" PRId64, r->conf->delay_min);
        snprintf(days, sizeof days, "%" PRId64, r->conf->catchup_days);
        if (db_query(r->db, "SELECT kind, period FROM rpt.report_claim($1, $2::int, $3::int)", 3,
                     params, report__claimed, r) == 0)
            r->claiming = true;
    }
}

/* ---- requests ------------------------------------------------------------ */

static void report__series_done(void *ctx, int rc, const PGresult *res)
{
    struct report_series *q = ctx;
    struct report *r = q->svc;
    char why[160];
    r->nseries--;
    if (rc || PQntuples(res) != 1) {
        /* rpt.series refuses what the request checks let through (none
         * today): its message is for the caller */
        snprintf(why, sizeof why, "%s",
                 rc == -EIO        ? report__pg_msg(res)
                 : r->stop.closing ? "eco-report is stopping: try again"
                                   : "the database is unavailable: try again");
        if (rc != -EIO && !r->stop.closing)
            elog_warn("series not read", "site=%s error=\"%s\"", q->site, why);
        report__refuse(r, q->reply_topic, q->corr, q->corr_len, why);
        goto out;
    }
    if (strcmp(PQgetvalue(res, 0, 0), "t") == 0) {
        /* a device account may publish requests (the broker's pattern
         * serves every account) but reads nothing: no readings for it */
        report__refuse(r, q->reply_topic, q->corr, q->corr_len,
                       "series answers people and services, not devices");
        r->n.refused++;
        goto out;
    }
    if (PQgetisnull(res, 0, 1)) {
        snprintf(why, sizeof why, "no site %s", q->site);
        report__refuse(r, q->reply_topic, q->corr, q->corr_len, why);
        goto out;
    }
    buf_reset(&r->big);
    if (buf_addstr(&r->big, "{\"ok\":true,\"series\":") ||
        buf_add(&r->big, PQgetvalue(res, 0, 1), (size_t)PQgetlength(res, 0, 1)) ||
        buf_addc(&r->big, '}')) {
        report__refuse(r, q->reply_topic, q->corr, q->corr_len,
                       "the series is too large: ask for fewer hours");
        goto out;
    }
    report__send(r, q->reply_topic, q->corr, q->corr_len, &r->big);
    r->n.series++;
out:
    free(q);
}

/* {"site": CODE, "hours": 1..168 (default 24)}: rpt.series on the requests'
 * connection, answered {"ok": true, "series": ...}. tmp holds the reply
 * topic and correlation data; doc is the caller's. Returns 0 when the
 * query is out (the answer comes from report__series_done), else -1 after
 * answering. */
static int report__series(struct report *r, const struct report_job *tmp, const cJSON *doc)
{
    struct report_series *q;
    char site[72], hours[16];
    int64_t h = 24;
    int rc;
    const char *params[3] = {site, hours, tmp->caller};
    if (json_get_str(doc, "site", site, sizeof site, NULL) || !rpc_name_ok(site, strlen(site)) ||
        ((rc = json_get_i64(doc, "hours", 1, 168, &h)) && rc != -ENOENT)) {
        report__refuse(r, tmp->reply_topic, tmp->corr, tmp->corr_len,
                       "the request is {\"site\": CODE, \"hours\": 1..168 (default 24)}");
        return -1;
    }
    if (r->nseries == REPORT_SERIES_MAX || r->stop.stopping || !db_ready(r->qdb)) {
        report__refuse(r, tmp->reply_topic, tmp->corr, tmp->corr_len,
                       r->stop.stopping ? "eco-report is stopping: try again"
                                        : "eco-report is busy: try again later");
        return -1;
    }
    if (!(q = calloc(1, sizeof(*q)))) {
        report__refuse(r, tmp->reply_topic, tmp->corr, tmp->corr_len, "out of memory");
        return -1;
    }
    q->svc = r;
    memcpy(q->reply_topic, tmp->reply_topic, sizeof q->reply_topic);
    memcpy(q->corr, tmp->corr, tmp->corr_len);
    q->corr_len = tmp->corr_len;
    snprintf(q->site, sizeof q->site, "%s", site);
    snprintf(hours, sizeof hours, "%" PRId64, h);
    if (db_query(r->qdb,
                 "SELECT EXISTS (SELECT 1 FROM core.device d WHERE lower(d.code) = lower($3)),"
                 " rpt.series($1, $2::int)::text",
                 3, params, report__series_done, q)) {
        free(q);
        report__refuse(r, tmp->reply_topic, tmp->corr, tmp->corr_len,
                       "the database is unavailable: try again");
        return -1;
    }
    r->nseries++;
    return 0;
}

static void report__on_request(struct report *r, const struct mq_msg *m)
{
    struct rpc_call call;
    struct report_job tmp = {0}, *j;
    cJSON *doc = NULL;
    char err[128], kind[16] = "", period[16] = "";
    r->n.requests++;
    if (rpc_parse_topic(m->topic, &call) || strcmp(call.service, "report") != 0 ||
        rpc_check_reply_topic(call.caller, m->response_topic)) {
        /* nowhere to answer that only the caller reads */
        r->n.refused++;
        elog_warn("request ignored: not eco/v1/rpc/report/{method}/{caller} with the caller's "
                  "response topic",
                  "topic=%s", m->topic);
        return;
    }
    snprintf(tmp.reply_topic, sizeof tmp.reply_topic, "%s", m->response_topic);
    /* no correlation data (mosquitto_rr sends none) is a NULL pointer */
    if (m->corr_len && m->corr_len <= sizeof tmp.corr) {
        memcpy(tmp.corr, m->corr, m->corr_len);
        tmp.corr_len = m->corr_len;
    }
    snprintf(tmp.caller, sizeof tmp.caller, "%s", call.caller);
    if (strcmp(call.method, "series") == 0) {
        if (json_parse(m->payload, m->len, &doc, err, sizeof err)) {
            report__reply(r, &tmp, false,
                          "the request is {\"site\": CODE, \"hours\": 1..168 (default 24)}");
            goto refused;
        }
        if (report__series(r, &tmp, doc))
            goto refused;
        cJSON_Delete(doc);
        return;
    }
    if (strcmp(call.method, "run") != 0) {
        report__reply(r, &tmp, false, "unknown method: eco-report answers run and series");
        goto refused;
    }
    if (json_parse(m->payload, m->len, &doc, err, sizeof err) ||
        json_get_str(doc, "kind", kind, sizeof kind, NULL) ||
        json_get_str(doc, "period", period, sizeof period, NULL) ||
        (strcmp(kind, "daily") != 0 && strcmp(kind, "monthly") != 0)) {
        report__reply(r, &tmp, false,
                      "the request is {\"kind\": \"daily\"|\"monthly\", \"period\": "
                      "\"YYYY-MM-DD\"|\"YYYY-MM\"}");
        goto refused;
    }
    if (r->nqueue == REPORT_QUEUE || r->stop.stopping) {
        report__reply(r, &tmp, false, "eco-report is busy: try again later");
        goto refused;
    }
    if (!(j = report__job(r, kind, period))) {
        report__reply(r, &tmp, false, "out of memory");
        goto refused;
    }
    j->rpc = true;
    memcpy(j->reply_topic, tmp.reply_topic, sizeof j->reply_topic);
    memcpy(j->corr, tmp.corr, tmp.corr_len);
    j->corr_len = tmp.corr_len;
    r->queue[r->nqueue++] = j;
    cJSON_Delete(doc);
    report__next(r);
    return;
refused:
    r->n.refused++;
    cJSON_Delete(doc);
}

static void report__on_message(void *ud, const struct mq_msg *m)
{
    struct report *r = ud;
    if (strncmp(m->topic, RPC_PREFIX, sizeof(RPC_PREFIX) - 1) == 0)
        report__on_request(r, m);
}

/* ---- layers ---------------------------------------------------------------- */

/* The compressed copy of a layer for browsers (eco/v1/report/layerz/...):
 * mosquitto 2.0.11's websockets listener sends about 40 kB a second to a
 * client (docs/CONSOLE.md, "Speed"), and GeoJSON compresses tenfold. A
 * failure leaves z NULL: the layer then goes out uncompressed only. */
static void report__layer_deflate(struct report_layers *l, int i)
{
    uLongf n = compressBound((uLong)l->len[i]);
    l->crc[i] = crc32(crc32(0L, Z_NULL, 0), (const Bytef *)l->text[i], (uInt)l->len[i]);
    if (!(l->z[i] = malloc(n)))
        return;
    if (compress2(l->z[i], &n, (const Bytef *)l->text[i], (uLong)l->len[i], 6) != Z_OK) {
        free(l->z[i]);
        l->z[i] = NULL;
        return;
    }
    l->zlen[i] = n;
}

static void report__layers_work(uv_work_t *w)
{
    struct report_layers *l = w->data;
    char name[64];
    for (int i = 0; i < REPORT_NLAYERS; i++)
        report__layer_deflate(l, i);
    if ((l->rc = rout_mkdirs(l->out_dir)))
        return;
    for (int i = 0; i < REPORT_NLAYERS && !l->rc; i++) {
        snprintf(name, sizeof name, "layer-%s.geojson", report__layer[i]);
        l->rc = rout_write_file(l->out_dir, name, l->text[i], l->len[i]);
    }
}

static void report__layers_free(struct report_layers *l)
{
    if (!l)
        return;
    for (int i = 0; i < REPORT_NLAYERS; i++) {
        free(l->text[i]);
        free(l->z[i]);
    }
    free(l);
}

/* The compressed layers, retained: each when it changed, and every
 * REPORT_LAYERZ_AGAIN_MS anyway (a broker that lost its retained
 * messages gets them back), so that a console is not sent the same
 * kilobytes every minute. */
#define REPORT_LAYERZ_AGAIN_MS (10u * 60u * 1000u)

static void report__layers_publish_z(struct report *r, const struct report_layers *l)
{
    char topic[MQ_TOPIC_MAX];
    uint64_t now = uv_now(r->loop);
    for (int i = 0; i < REPORT_NLAYERS; i++) {
        if (!l->z[i] || (r->layz_at[i] && r->layz_crc[i] == l->crc[i] &&
                         now - r->layz_at[i] < REPORT_LAYERZ_AGAIN_MS))
            continue;
        snprintf(topic, sizeof topic, "eco/v1/report/layerz/%s", report__layer[i]);
        if (mq_publish(r->mq, topic, l->z[i], l->zlen[i], 1, true, NULL) == 0) {
            r->layz_crc[i] = l->crc[i];
            r->layz_at[i] = now;
        }
    }
}

static void report__layers_worked(uv_work_t *w, int status)
{
    struct report_layers *l = w->data;
    struct report *r = l->svc;
    r->lay_in_worker = false;
    if (!status && !r->stop.closing)
        report__layers_publish_z(r, l);
    if (status || l->rc)
        elog_warn("map layers not written", "dir=%s error=\"%s\"", l->out_dir,
                  strerror(status ? -status : -l->rc));
    else
        r->n.layers++;
    report__layers_free(l);
    r->lay = NULL;
    if (r->stop.stopping)
        report__finish_stop(r);
}

static void report__layers_fetched(void *ctx, int rc, const PGresult *res)
{
    struct report_layers *l = ctx;
    struct report *r = l->svc;
    char topic[MQ_TOPIC_MAX];
    if (rc || PQntuples(res) != REPORT_NLAYERS) {
        if (!r->stop.closing)
            elog_warn("map layers not read", "error=\"%s\"", report__pg_msg(res));
        goto drop;
    }
    for (int i = 0; i < REPORT_NLAYERS; i++) {
        l->len[i] = (size_t)PQgetlength(res, i, 0);
        if (!(l->text[i] = report__dup(PQgetvalue(res, i, 0), l->len[i])))
            goto drop;
        snprintf(topic, sizeof topic, "eco/v1/report/layer/%s", report__layer[i]);
        mq_publish(r->mq, topic, l->text[i], l->len[i], 1, true, NULL);
    }
    if (r->stop.closing ||
        uv_queue_work(r->loop, &l->work, report__layers_work, report__layers_worked))
        goto drop;
    r->lay_in_worker = true;
    return;
drop:
    report__layers_free(l);
    r->lay = NULL;
}

static void report__layers(struct report *r)
{
    struct report_layers *l;
    if (r->lay || !db_ready(r->db))
        return;
    if (!(l = calloc(1, sizeof(*l))))
        return;
    l->svc = r;
    l->work.data = l;
    snprintf(l->out_dir, sizeof l->out_dir, "%s/layers", r->conf->out_dir);
    /* the order of report__layer */
    if (db_query(r->db,
                 "SELECT rpt.geojson(n)::text FROM unnest(ARRAY['sites', 'alarms', 'orders', "
                 "'grid', 'regions', 'stations', 'tracks', 'departments']) WITH ORDINALITY AS x "
                 "(n, i) ORDER BY i",
                 0, NULL, report__layers_fetched, l)) {
        free(l);
        return;
    }
    r->lay = l;
}

/* ---- stored statistics ----------------------------------------------------- */

#define REPORT_REFRESH_PAIRS 500

static void report__refreshed(void *ctx, int rc, const PGresult *res)
{
    struct report *r = ctx;
    int n = 0;
    r->refreshing = false;
    if (rc || db_get_int(res, 0, 0, &n)) {
        if (!r->stop.closing)
            elog_warn("stored statistics not refreshed", "error=\"%s\"", report__pg_msg(res));
        return;
    }
    r->n.refreshed += (uint64_t)n;
    /* a backlog (a backfill, a changed rule) is worked off batch by batch,
     * between the other requests on the connection, until a call finds
     * nothing dirty */
    r->refresh_more = n > 0;
}

static void report__refresh(struct report *r)
{
    char pairs[16];
    const char *params[1] = {pairs};
    if (r->refreshing || !db_ready(r->db))
        return;
    snprintf(pairs, sizeof pairs, "%d", REPORT_REFRESH_PAIRS);
    if (db_query(r->db, "SELECT rpt.refresh($1::int)", 1, params, report__refreshed, r) == 0)
        r->refreshing = true;
}

static void report__compacted(void *ctx, int rc, const PGresult *res)
{
    struct report *r = ctx;
    int n = 0;
    r->compacting = false;
    if (rc || db_get_int(res, 0, 0, &n)) {
        if (!r->stop.closing)
            elog_warn("closed months not compacted", "error=\"%s\"", report__pg_msg(res));
        return;
    }
    if (n > 0) {
        r->n.compacted += (uint64_t)n;
        elog_info("closed month of readings compacted", "partitions=%d", n);
    }
}

/* One closed month at a time: CLUSTER holds its partition for seconds, and
 * the connection with it. */
static void report__compact(struct report *r)
{
    char days[16];
    const char *params[1] = {days};
    if (r->compacting || !db_ready(r->db))
        return;
    snprintf(days, sizeof days, "%" PRId64, r->conf->compact_after_d);
    if (db_query(r->db, "SELECT obs.compact_partitions(now() - make_interval(days => $1::int), 1)",
                 1, params, report__compacted, r) == 0)
        r->compacting = true;
}

/* ---- housekeeping ---------------------------------------------------------- */

static void report__status(struct report *r)
{
    svcbase_status(r->mq, &r->msg, "report", r->instance,
                   "\"counters\":{"
                   "\"made\":%" PRIu64 ",\"failed\":%" PRIu64 ",\"requests\":%" PRIu64
                   ",\"refused\":%" PRIu64 ",\"layers\":%" PRIu64 ",\"published\":%" PRIu64
                   ",\"refreshed\":%" PRIu64 ",\"compacted\":%" PRIu64 ",\"series\":%" PRIu64
                   ",\"waiting\":%zu}}",
                   r->n.made, r->n.failed, r->n.requests, r->n.refused, r->n.layers, r->n.published,
                   r->n.refreshed, r->n.compacted, r->n.series, r->nqueue);
}

static void report__on_tick(uv_timer_t *t)
{
    struct report *r = t->data;
    uint64_t now = uv_now(r->loop);
    if (r->stop.stopping) {
        report__finish_stop(r);
        return;
    }
    report__next(r);
    if (now - r->last_layers >= (uint64_t)r->conf->layers_s * 1000 || !r->last_layers) {
        if (db_ready(r->db)) {
            r->last_layers = now;
            report__layers(r);
        }
    }
    if (r->refresh_more || now - r->last_refresh >= (uint64_t)r->conf->refresh_s * 1000) {
        r->last_refresh = now;
        r->refresh_more = false;
        report__refresh(r);
    }
    if (r->conf->compact_s > 0 &&
        (now - r->last_compact >= (uint64_t)r->conf->compact_s * 1000 || !r->last_compact) &&
        db_ready(r->db) && !r->job) {
        r->last_compact = now;
        report__compact(r);
    }
    if (svcbase_due(now, &r->last_status, (uint64_t)r->conf->status_s * 1000, mq_connected(r->mq)))
        report__status(r);
}

static void report__on_mq_state(void *ud, bool up)
{
    struct report *r = ud;
    svcbase_log_mq(up, r->conf->mqtt_url);
}

static void report__on_db_state(void *ud, bool up)
{
    struct report *r = ud;
    svcbase_log_db(up, r->db);
    if (up)
        report__next(r);
}

int report_new(uv_loop_t *loop, const struct report_conf *conf, struct report **out)
{
    struct report *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->loop = loop;
    r->conf = conf;
    buf_init(&r->msg, 1u << 20);
    buf_init(&r->big, REPORT_SERIES_BYTES);
    uv_timer_init(loop, &r->tick);
    r->tick.data = r;
    svcbase_instance(r->instance, sizeof(r->instance), conf->instance, "main");
    *out = r;
    return 0;
}

int report_start(struct report *r)
{
    const struct report_conf *c = r->conf;
    char filter[MQ_TOPIC_MAX];
    struct mq_opts mo = {
        .url = c->mqtt_url,
        .user = c->mqtt_user,
        .password = c->mqtt_password,
        .cafile = c->mqtt_cafile,
        .service = "report",
        .instance = r->instance,
        /* a request is worth answering only while its caller waits */
        .persistent = false,
        .receive_max = 20,
    };
    struct mq_cbs mc = {.on_message = report__on_message, .on_state = report__on_mq_state};
    struct db_opts dopt = {.dsn = c->pg_dsn, .app_name = "eco-report"};
    struct db_opts qopt = {.dsn = c->pg_dsn, .app_name = "eco-report requests"};
    struct db_cbs dc = {.on_state = report__on_db_state};
    int rc;
    if ((rc = rout_mkdirs(c->out_dir))) {
        elog_error("cannot create the output directory", "dir=%s error=\"%s\"", c->out_dir,
                   strerror(-rc));
        return rc;
    }
    if ((rc = svcbase_mq_new(r->loop, &mo, &mc, r, &r->mq))) {
        elog_error("bad MQTT settings", "url=%s", c->mqtt_url);
        return rc;
    }
    if (c->share_group[0])
        snprintf(filter, sizeof filter, "$share/%.64s/eco/v1/rpc/report/+/+", c->share_group);
    else
        snprintf(filter, sizeof filter, "eco/v1/rpc/report/+/+");
    if ((rc = mq_subscribe(r->mq, filter, 1)))
        return rc;
    if ((rc = db_new(r->loop, &dopt, &dc, r, &r->db)))
        return rc;
    db_start(r->db);
    if ((rc = db_new(r->loop, &qopt, NULL, r, &r->qdb)))
        return rc;
    db_start(r->qdb);
    if ((rc = mq_start(r->mq)))
        return rc;
    uv_timer_start(&r->tick, report__on_tick, 200, 1000);
    elog_info("started", "instance=%s out_dir=%s", r->instance, c->out_dir);
    return 0;
}

static void report__closed(void *arg)
{
    struct report *r = arg;
    svcbase_stop_closed(&r->stop);
}

static void report__finish_stop(struct report *r)
{
    bool late = svcbase_stop_late(&r->stop, r->loop);
    if (r->stop.closing)
        return;
    /* a worker cannot be interrupted: its files are done in a moment */
    if (r->in_worker || r->lay_in_worker)
        return;
    if (!late && r->job && db_ready(r->db))
        return; /* report__job_end comes back here */
    r->stop.closing = true;
    for (size_t i = 0; i < r->nqueue; i++) {
        report__reply(r, r->queue[i], false, "eco-report is stopping: try again");
        report__job_free(r->queue[i]);
    }
    r->nqueue = 0;
    elog_info("stopping", "in_hand=%d", r->job != NULL);
    r->stop.pending = 1 + (r->mq ? 1 : 0) + (r->db ? 1 : 0) + (r->qdb ? 1 : 0);
    /* db_close fails what is queued: the callbacks see closing and end */
    if (r->db)
        db_close(r->db, report__closed);
    if (r->qdb)
        db_close(r->qdb, report__closed);
    if (r->mq)
        mq_close(r->mq, report__closed);
    svcbase_stop_close_handle(&r->stop, (uv_handle_t *)&r->tick);
}

void report_stop(struct report *r, void (*done)(void *arg), void *arg)
{
    if (svcbase_stop_begin(&r->stop, r->loop, r->conf->drain_s, done, arg))
        return;
    if (!r->mq || !r->db)
        r->stop.deadline = 0;
    report__finish_stop(r);
}

void report_free(struct report *r)
{
    if (!r)
        return;
    report__job_free(r->job);
    buf_close(&r->msg);
    buf_close(&r->big);
    free(r);
}

int report_exit_code(const struct report *r)
{
    return r->exit_code;
}
