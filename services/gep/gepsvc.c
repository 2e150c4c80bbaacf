#include "gepsvc.h"

#include "buf.h"
#include "db.h"
#include "elog.h"
#include "gepmodel.h"
#include "json.h"
#include "mq.h"
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

#define C(f) offsetof(struct gepsvc_conf, f)
static const struct cfg_def gepsvc__defs[] = {
    SVCBASE_CFG_DEFS(struct gepsvc_conf),
    {"ECO_GEP_INSTANCE", CFG_STR, "", 0, 64, C(instance),
     "instance name (status topic, MQTT session); default: host name"},
    {"ECO_GEP_SHARE_GROUP", CFG_STR, "gep", 0, 64, C(share_group),
     "shared-subscription group the instances split requests in; empty: every instance answers"},
    {"ECO_GEP_PARAM_SET", CFG_STR, "seed", 1, 64, C(param_set),
     "the parameter set (gep.param) of a request that names none"},
    {"ECO_GEP_STATUS_S", CFG_INT, "30", 1, 3600, C(status_s),
     "how often counters are published on eco/v1/sys/gep/{instance}"},
    {"ECO_GEP_DRAIN_S", CFG_INT, "30", 0, 600, C(drain_s),
     "on SIGTERM, how long to finish the run in hand"},
};
#undef C

const struct cfg_prog gepsvc_prog = {
    "eco-gep",
    "GEP accounts of the physical models, on request, published per region and year",
    gepsvc__defs,
    sizeof(gepsvc__defs) / sizeof(gepsvc__defs[0]),
};

#define GEPSVC_QUEUE 16 /* requests waiting for their turn */

/* One request, from its arrival to its answer. */
struct gepsvc_job {
    struct gepsvc *svc;
    char region[65], year[8], set[65];
    char reply_topic[MQ_TOPIC_MAX];
    unsigned char corr[256];
    size_t corr_len;
    char run[24];
    char *inputs; /* the gep.model_inputs document */
    uint64_t t0;
};

struct gepsvc_counters {
    uint64_t runs, refused, failed, requests, published;
};

struct gepsvc {
    uv_loop_t *loop;
    const struct gepsvc_conf *conf;
    char instance[72];
    struct mq *mq;
    struct db *db;
    struct buf msg;
    struct gepsvc_job *job; /* the run in hand, or NULL */
    struct gepsvc_job *queue[GEPSVC_QUEUE];
    size_t nqueue;
    uv_timer_t tick;
    uint64_t last_status;
    struct svcbase_stop stop;
    int exit_code;
    struct gepsvc_counters n;
};

static void gepsvc__next(struct gepsvc *g);
static void gepsvc__finish_stop(struct gepsvc *g);

static const char *gepsvc__pg_msg(const PGresult *res)
{
    const char *m = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    return m ? m : "the database is unavailable";
}

static void gepsvc__job_free(struct gepsvc_job *j)
{
    if (j) {
        free(j->inputs);
        free(j);
    }
}

/* {"ok":false,"error":...}, or {"ok":true,"run","topic","summary"} with
 * summary the JSON text of gep.run_summary. */
static void gepsvc__reply(struct gepsvc *g, const struct gepsvc_job *j, const char *error,
                          const char *summary, size_t slen)
{
    struct mq_pub p = {.topic = j->reply_topic,
                       .qos = 1,
                       .corr = j->corr_len ? j->corr : NULL,
                       .corr_len = j->corr_len,
                       .expiry_s = 300};
    int rc;
    buf_reset(&g->msg);
    if (!error)
        rc = buf_printf(&g->msg,
                        "{\"ok\":true,\"run\":%s,\"topic\":\"eco/v1/gep/%s/%s\",\"summary\":",
                        j->run, j->region, j->year) ||
             buf_add(&g->msg, summary, slen) || buf_addc(&g->msg, '}');
    else
        rc = buf_addstr(&g->msg, "{\"ok\":false,\"error\":\"") ||
             buf_add_json_str(&g->msg, error, strlen(error)) || buf_addstr(&g->msg, "\"}");
    if (rc)
        return;
    p.payload = g->msg.p;
    p.len = g->msg.len;
    if ((rc = mq_publish_ex(g->mq, &p, NULL)))
        elog_warn("reply not sent", "topic=%s error=\"%s\"", j->reply_topic, strerror(-rc));
}

/* The end of a run, whatever happened: answer, count, take the next. */
static void gepsvc__end(struct gepsvc *g, struct gepsvc_job *j, const char *error, bool refused,
                        const char *summary, size_t slen)
{
    if (error && refused) {
        g->n.refused++;
        elog_info("run refused", "region=%s year=%s params=%s reason=\"%s\"", j->region, j->year,
                  j->set, error);
    } else if (error) {
        g->n.failed++;
        elog_warn("run failed", "region=%s year=%s params=%s error=\"%s\"", j->region, j->year,
                  j->set, error);
    } else {
        g->n.runs++;
        elog_info("run stored", "region=%s year=%s params=%s run=%s ms=%" PRIu64, j->region,
                  j->year, j->set, j->run, uv_now(g->loop) - j->t0);
    }
    gepsvc__reply(g, j, error, summary, slen);
    gepsvc__job_free(j);
    g->job = NULL;
    gepsvc__next(g);
}

static void gepsvc__summarised(void *ctx, int rc, const PGresult *res)
{
    struct gepsvc_job *j = ctx;
    struct gepsvc *g = j->svc;
    char topic[MQ_TOPIC_MAX];
    const char *s;
    size_t len;
    int e;

    if (rc || PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
        gepsvc__end(g, j, gepsvc__pg_msg(res), false, NULL, 0);
        return;
    }
    s = PQgetvalue(res, 0, 0);
    len = (size_t)PQgetlength(res, 0, 0);
    /* the latest result of a region and year, for anyone who subscribes */
    snprintf(topic, sizeof topic, "eco/v1/gep/%s/%s", j->region, j->year);
    if ((e = mq_publish(g->mq, topic, s, len, 1, true, NULL)))
        elog_warn("result not published (the run is stored)", "topic=%s error=\"%s\"", topic,
                  strerror(-e));
    else
        g->n.published++;
    gepsvc__end(g, j, NULL, false, s, len);
}

static void gepsvc__stored(void *ctx, int rc, const PGresult *res)
{
    struct gepsvc_job *j = ctx;
    struct gepsvc *g = j->svc;
    const char *p[1] = {j->run};

    if (rc || PQntuples(res) != 1) {
        gepsvc__end(g, j, gepsvc__pg_msg(res), false, NULL, 0);
        return;
    }
    snprintf(j->run, sizeof j->run, "%s", PQgetvalue(res, 0, 0));
    if (db_query(g->db, "SELECT gep.run_summary($1::bigint)::text", 1, p, gepsvc__summarised, j))
        gepsvc__end(g, j, "the database is unavailable: the run is stored", false, NULL, 0);
}

/* The inputs are in: value them, then store the run. */
static void gepsvc__read(void *ctx, int rc, const PGresult *res)
{
    struct gepsvc_job *j = ctx;
    struct gepsvc *g = j->svc;
    struct gepmodel *m = NULL;
    char *items = NULL, err[GEPMODEL_ERR_MAX + 64];
    size_t ilen = 0;
    const char *p[5];
    size_t len;
    int e;

    if (rc || PQntuples(res) != 1) {
        gepsvc__end(g, j, gepsvc__pg_msg(res), false, NULL, 0);
        return;
    }
    if (PQgetisnull(res, 0, 0)) {
        snprintf(err, sizeof err, "no parameter set %s in gep.param", j->set);
        gepsvc__end(g, j, err, true, NULL, 0);
        return;
    }
    len = (size_t)PQgetlength(res, 0, 0);
    if (!(j->inputs = malloc(len + 1)) || !(m = calloc(1, sizeof(*m)))) {
        free(m);
        gepsvc__end(g, j, "out of memory", false, NULL, 0);
        return;
    }
    memcpy(j->inputs, PQgetvalue(res, 0, 0), len);
    j->inputs[len] = '\0';
    e = gepmodel_run(m, j->inputs, len);
    if (e) {
        snprintf(err, sizeof err, "refused: %s", m->err);
        gepmodel_close(m);
        free(m);
        gepsvc__end(g, j, err, e == -EINVAL, NULL, 0);
        return;
    }
    e = gepmodel_items_json(m, &items, &ilen);
    gepmodel_close(m);
    free(m);
    if (e) {
        gepsvc__end(g, j, "cannot render the line items", false, NULL, 0);
        return;
    }
    p[0] = j->region;
    p[1] = j->year;
    p[2] = j->set;
    p[3] = j->inputs;
    p[4] = items;
    e = db_query(g->db, "SELECT gep.store_models_run($1, $2::int, $3, $4::jsonb, $5::jsonb)", 5, p,
                 gepsvc__stored, j);
    cJSON_free(items);
    if (e)
        gepsvc__end(g, j, "the database is unavailable: try again", false, NULL, 0);
}

static void gepsvc__derived(void *ctx, int rc, const PGresult *res)
{
    struct gepsvc_job *j = ctx;
    struct gepsvc *g = j->svc;
    const char *p[3] = {j->region, j->year, j->set};

    if (rc) {
        /* an unknown region is the caller's mistake, not ours */
        const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        gepsvc__end(g, j, gepsvc__pg_msg(res), st && strcmp(st, "P0002") == 0, NULL, 0);
        return;
    }
    if (db_query(g->db, "SELECT gep.model_inputs($1, $2::int, $3)::text", 3, p, gepsvc__read, j))
        gepsvc__end(g, j, "the database is unavailable: try again", false, NULL, 0);
}

static void gepsvc__begin(struct gepsvc *g, struct gepsvc_job *j)
{
    const char *p[3] = {j->region, j->year, j->set};
    g->job = j;
    j->t0 = uv_now(g->loop);
    if (db_query(g->db, "SELECT gep.derive_inputs($1, $2::int, $3)", 3, p, gepsvc__derived, j))
        gepsvc__end(g, j, "the database is unavailable: try again", false, NULL, 0);
}

static void gepsvc__next(struct gepsvc *g)
{
    if (g->job || g->stop.closing)
        return;
    if (g->stop.stopping) {
        gepsvc__finish_stop(g);
        return;
    }
    if (!db_ready(g->db) || !g->nqueue)
        return;
    {
        struct gepsvc_job *j = g->queue[0];
        memmove(g->queue, g->queue + 1, (--g->nqueue) * sizeof(g->queue[0]));
        gepsvc__begin(g, j);
    }
}

/* ---- requests ------------------------------------------------------------ */

static bool gepsvc__code_ok(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= 64 &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

static void gepsvc__on_request(struct gepsvc *g, const struct mq_msg *m)
{
    struct rpc_call call;
    struct gepsvc_job *j = NULL;
    cJSON *doc = NULL;
    char err[128];
    int64_t year = 0;
    const char *bad = "the request is {\"region\": CODE, \"year\": YYYY (1900-2200), "
                      "\"params\": SET (optional)}";

    g->n.requests++;
    if (rpc_parse_topic(m->topic, &call) || strcmp(call.service, "gep") != 0 ||
        rpc_check_reply_topic(call.caller, m->response_topic)) {
        g->n.refused++;
        elog_warn("request ignored: not eco/v1/rpc/gep/{method}/{caller} with the caller's "
                  "response topic",
                  "topic=%s", m->topic);
        return;
    }
    if (!(j = calloc(1, sizeof(*j)))) {
        g->n.failed++;
        return;
    }
    j->svc = g;
    snprintf(j->reply_topic, sizeof j->reply_topic, "%s", m->response_topic);
    /* no correlation data (mosquitto_rr sends none) is a NULL pointer */
    if (m->corr_len && m->corr_len <= sizeof j->corr) {
        memcpy(j->corr, m->corr, m->corr_len);
        j->corr_len = m->corr_len;
    }
    if (strcmp(call.method, "run") != 0) {
        gepsvc__reply(g, j, "unknown method: eco-gep answers run", NULL, 0);
        goto refused;
    }
    if (json_parse(m->payload, m->len, &doc, err, sizeof err) ||
        json_get_str(doc, "region", j->region, sizeof j->region, NULL) ||
        !gepsvc__code_ok(j->region) || json_get_i64(doc, "year", 1900, 2200, &year)) {
        gepsvc__reply(g, j, bad, NULL, 0);
        goto refused;
    }
    switch (json_get_str(doc, "params", j->set, sizeof j->set, NULL)) {
    case 0:
        if (gepsvc__code_ok(j->set))
            break;
        /* fall through */
    default:
        gepsvc__reply(g, j, bad, NULL, 0);
        goto refused;
    case -ENOENT:
        snprintf(j->set, sizeof j->set, "%.64s", g->conf->param_set);
    }
    snprintf(j->year, sizeof j->year, "%" PRId64, year);
    if (g->nqueue == GEPSVC_QUEUE || g->stop.stopping) {
        gepsvc__reply(g, j, "eco-gep is busy: try again later", NULL, 0);
        goto refused;
    }
    g->queue[g->nqueue++] = j;
    cJSON_Delete(doc);
    gepsvc__next(g);
    return;
refused:
    g->n.refused++;
    gepsvc__job_free(j);
    cJSON_Delete(doc);
}

static void gepsvc__on_message(void *ud, const struct mq_msg *m)
{
    struct gepsvc *g = ud;
    if (strncmp(m->topic, RPC_PREFIX, sizeof(RPC_PREFIX) - 1) == 0)
        gepsvc__on_request(g, m);
}

/* ---- housekeeping ---------------------------------------------------------- */

static void gepsvc__status(struct gepsvc *g)
{
    svcbase_status(g->mq, &g->msg, "gep", g->instance,
                   "\"counters\":{"
                   "\"runs\":%" PRIu64 ",\"refused\":%" PRIu64 ",\"failed\":%" PRIu64
                   ",\"requests\":%" PRIu64 ",\"published\":%" PRIu64 ",\"waiting\":%zu}}",
                   g->n.runs, g->n.refused, g->n.failed, g->n.requests, g->n.published, g->nqueue);
}

static void gepsvc__on_tick(uv_timer_t *t)
{
    struct gepsvc *g = t->data;
    uint64_t now = uv_now(g->loop);
    if (g->stop.stopping) {
        gepsvc__finish_stop(g);
        return;
    }
    gepsvc__next(g);
    /* period 0 until the first status: it goes out at the first tick */
    if (svcbase_due(now, &g->last_status, g->last_status ? (uint64_t)g->conf->status_s * 1000 : 0,
                    mq_connected(g->mq)))
        gepsvc__status(g);
}

static void gepsvc__on_mq_state(void *ud, bool up)
{
    struct gepsvc *g = ud;
    svcbase_log_mq(up, g->conf->mqtt_url);
}

static void gepsvc__on_db_state(void *ud, bool up)
{
    struct gepsvc *g = ud;
    svcbase_log_db(up, g->db);
    if (up)
        gepsvc__next(g);
}

int gepsvc_new(uv_loop_t *loop, const struct gepsvc_conf *conf, struct gepsvc **out)
{
    struct gepsvc *g = calloc(1, sizeof(*g));
    if (!g)
        return -ENOMEM;
    g->loop = loop;
    g->conf = conf;
    buf_init(&g->msg, 1u << 20);
    uv_timer_init(loop, &g->tick);
    g->tick.data = g;
    svcbase_instance(g->instance, sizeof(g->instance), conf->instance, "main");
    *out = g;
    return 0;
}

int gepsvc_start(struct gepsvc *g)
{
    const struct gepsvc_conf *c = g->conf;
    char filter[MQ_TOPIC_MAX];
    struct mq_opts mo = {
        .url = c->mqtt_url,
        .user = c->mqtt_user,
        .password = c->mqtt_password,
        .cafile = c->mqtt_cafile,
        .service = "gep",
        .instance = g->instance,
        /* a request is worth answering only while its caller waits */
        .persistent = false,
        .receive_max = 20,
    };
    struct mq_cbs mc = {.on_message = gepsvc__on_message, .on_state = gepsvc__on_mq_state};
    struct db_opts dopt = {.dsn = c->pg_dsn, .app_name = "eco-gep"};
    struct db_cbs dc = {.on_state = gepsvc__on_db_state};
    int rc;

    if ((rc = svcbase_mq_new(g->loop, &mo, &mc, g, &g->mq))) {
        elog_error("bad MQTT settings", "url=%s", c->mqtt_url);
        return rc;
    }
    if (c->share_group[0])
        snprintf(filter, sizeof filter, "$share/%.64s/eco/v1/rpc/gep/+/+", c->share_group);
    else
        snprintf(filter, sizeof filter, "eco/v1/rpc/gep/+/+");
    if ((rc = mq_subscribe(g->mq, filter, 1)))
        return rc;
    if ((rc = db_new(g->loop, &dopt, &dc, g, &g->db)))
        return rc;
    db_start(g->db);
    if ((rc = mq_start(g->mq)))
        return rc;
    uv_timer_start(&g->tick, gepsvc__on_tick, 200, 1000);
    elog_info("started", "instance=%s params=%s", g->instance, c->param_set);
    return 0;
}

static void gepsvc__closed(void *arg)
{
    struct gepsvc *g = arg;
    svcbase_stop_closed(&g->stop);
}

static void gepsvc__finish_stop(struct gepsvc *g)
{
    bool late = svcbase_stop_late(&g->stop, g->loop);
    if (g->stop.closing)
        return;
    if (!late && g->job && db_ready(g->db))
        return; /* gepsvc__end comes back here */
    g->stop.closing = true;
    for (size_t i = 0; i < g->nqueue; i++) {
        gepsvc__reply(g, g->queue[i], "eco-gep is stopping: try again", NULL, 0);
        gepsvc__job_free(g->queue[i]);
    }
    g->nqueue = 0;
    elog_info("stopping", "in_hand=%d", g->job != NULL);
    g->stop.pending = 1 + (g->mq ? 1 : 0) + (g->db ? 1 : 0);
    /* db_close fails what is queued: the callbacks end the run in hand */
    if (g->db)
        db_close(g->db, gepsvc__closed);
    if (g->mq)
        mq_close(g->mq, gepsvc__closed);
    svcbase_stop_close_handle(&g->stop, (uv_handle_t *)&g->tick);
}

void gepsvc_stop(struct gepsvc *g, void (*done)(void *arg), void *arg)
{
    if (svcbase_stop_begin(&g->stop, g->loop, g->conf->drain_s, done, arg))
        return;
    if (!g->mq || !g->db)
        g->stop.deadline = 0;
    gepsvc__finish_stop(g);
}

void gepsvc_free(struct gepsvc *g)
{
    if (!g)
        return;
    gepsvc__job_free(g->job);
    buf_close(&g->msg);
    free(g);
}

int gepsvc_exit_code(const struct gepsvc *g)
{
    return g->exit_code;
}
