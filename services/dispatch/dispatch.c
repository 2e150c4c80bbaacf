#include "dispatch.h"

#include "buf.h"
#include "db.h"
#include "dlq.h"
#include "elog.h"
#include "json.h"
#include "mq.h"
#include "outbox.h"
#include "rpc.h"
#include "svcbase.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define C(f) offsetof(struct dispatch_conf, f)
static const struct cfg_def dispatch__defs[] = {
    SVCBASE_CFG_DEFS(struct dispatch_conf),
    {"ECO_DISPATCH_INSTANCE", CFG_STR, "", 0, 64, C(instance),
     "instance name (status topic, MQTT session); default: host name"},
    {"ECO_DISPATCH_SHARE_GROUP", CFG_STR, "dispatch", 0, 64, C(share_group),
     "shared-subscription group the instances split messages in; empty: every instance reads all"},
    {"ECO_DISPATCH_TICK_MS", CFG_INT, "500", 50, 3600000, C(tick_ms),
     "how often deadlines are checked (reminders, overdue, escalation): how late they may fire"},
    {"ECO_DISPATCH_SWEEP_S", CFG_INT, "60", 1, 86400, C(sweep_s),
     "how often open alarms without an order are checked against the policy again"},
    {"ECO_DISPATCH_STATUS_S", CFG_INT, "30", 1, 3600, C(status_s),
     "how often counters are published on eco/v1/sys/dispatch/{instance}"},
    {"ECO_DISPATCH_MAX_PAYLOAD", CFG_INT, "65536", 256, 1048576, C(max_payload),
     "largest message read, bytes"},
    {"ECO_DISPATCH_MAX_PENDING", CFG_INT, "1000", 10, 10000, C(max_pending),
     "messages waiting for the database before reading pauses"},
    {"ECO_DISPATCH_DRAIN_S", CFG_INT, "5", 0, 600, C(drain_s),
     "on SIGTERM, how long to finish the requests in hand"},
};
#undef C

const struct cfg_prog dispatch_prog = {
    "eco-dispatch",
    "work orders from alarms and complaints: routed, deadline-tracked, closed in a loop",
    dispatch__defs,
    sizeof(dispatch__defs) / sizeof(dispatch__defs[0]),
};

#define DISPATCH_CLAIM 200      /* events claimed per query */
#define DISPATCH_INFLIGHT 1000  /* events published, awaiting the broker */
#define DISPATCH_WAIT_MAX 10000 /* messages waiting for the database, at most */
/* Message requests on the wire at once: a few, so that the clock and the
 * outbox (queued on the same connection) are not stuck behind a burst. */
#define DISPATCH_DB_WINDOW 4

enum dispatch_kind { K_ALARM, K_COMPLAINT, K_RPC, K_TICK, K_SWEEP, K_CLAIM, K_PUBLISHED };

/* One database request in flight, with what its answer needs. */
struct dispatch_req {
    struct dispatch *d;
    enum dispatch_kind kind;
    char topic[MQ_TOPIC_MAX];       /* the message's topic (dead letters) */
    char reply_topic[MQ_TOPIC_MAX]; /* K_RPC */
    char method[RPC_NAME_MAX + 1];  /* K_RPC */
    char caller[RPC_NAME_MAX + 1];  /* K_RPC: the broker-checked user name */
    unsigned char corr[256];        /* K_RPC: correlation data */
    size_t corr_len;
    char *payload; /* K_COMPLAINT: kept to dead-letter or retry it */
    size_t len;
};

struct dispatch_counters {
    uint64_t alarms, opened, attached, reopened, complaints, refused, requests, replies,
        clock_steps, swept, published, dead_letters, db_errors;
};

struct dispatch {
    uv_loop_t *loop;
    const struct dispatch_conf *conf;
    char instance[72];
    struct mq *mq;
    struct db *db;
    struct outbox ob; /* dead letters and status */
    struct buf scratch, msg;
    size_t pending;
    bool paused, claiming, claim_again, ticking;
    /* events published and not yet acknowledged (mid -> event id), and the
     * acknowledged ones not yet deleted from wo.outbox */
    struct {
        int mid;
        int64_t event;
    } inflight[DISPATCH_INFLIGHT];
    size_t ninflight;
    int64_t acked[DISPATCH_INFLIGHT];
    size_t nacked;
    bool deleting;
    /* messages waiting for their turn on the database, in arrival order */
    struct dispatch_req *wait[DISPATCH_WAIT_MAX];
    size_t nwait;
    uv_timer_t tick;
    uint64_t last_tick, last_sweep, last_status;
    struct svcbase_stop stop;
    int exit_code;
    struct dispatch_counters n;
};

static void dispatch__kick(struct dispatch *d);
static void dispatch__finish_stop(struct dispatch *d);
static int dispatch__submit(struct dispatch_req *r);

static void dispatch__req_free(struct dispatch_req *r)
{
    if (r) {
        free(r->payload);
        free(r);
    }
}

static struct dispatch_req *dispatch__req(struct dispatch *d, enum dispatch_kind kind,
                                          const char *topic)
{
    struct dispatch_req *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->d = d;
    r->kind = kind;
    snprintf(r->topic, sizeof(r->topic), "%s", topic ? topic : "");
    return r;
}

static void dispatch__dead_letter(struct dispatch *d, const char *topic, const void *p, size_t len,
                                  const char *why)
{
    d->n.dead_letters++;
    elog_warn("message refused", "topic=%s reason=\"%s\"", topic, why);
    if (dlq_send(&d->ob, db_ready(d->db) ? d->db : NULL, "dispatch", topic, p, len, why,
                 &d->scratch))
        elog_error("dead letter not recorded", "topic=%s", topic);
}

/* The primary message of a database error, for a refusal or a log line. */
static const char *dispatch__pg_msg(const PGresult *res)
{
    const char *m = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    return m ? m : "the database is unavailable";
}

static bool dispatch__pg_state(const PGresult *res, const char *state)
{
    const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    return s && strcmp(s, state) == 0;
}

/* ---- replies ------------------------------------------------------------- */

static void dispatch__reply(struct dispatch *d, const struct dispatch_req *r, const char *json,
                            size_t len)
{
    struct mq_pub p = {.topic = r->reply_topic,
                       .payload = json,
                       .len = len,
                       .qos = 1,
                       .corr = r->corr_len ? r->corr : NULL,
                       .corr_len = r->corr_len,
                       .expiry_s = 300};
    int rc = mq_publish_ex(d->mq, &p, NULL);
    if (rc)
        elog_warn("reply not sent", "topic=%s error=\"%s\"", r->reply_topic, strerror(-rc));
    else
        d->n.replies++;
}

static void dispatch__reply_error(struct dispatch *d, const struct dispatch_req *r, const char *why)
{
    buf_reset(&d->msg);
    if (buf_addstr(&d->msg, "{\"ok\":false,\"error\":\"") ||
        buf_add_json_str(&d->msg, why, strlen(why)) || buf_addstr(&d->msg, "\"}"))
        return;
    dispatch__reply(d, r, d->msg.p, d->msg.len);
}

/* ---- the outbox of work-order events -------------------------------------- */

static void dispatch__claim(struct dispatch *d);

static void dispatch__deleted(void *ctx, int rc, const PGresult *res)
{
    struct dispatch_req *r = ctx;
    struct dispatch *d = r->d;
    d->deleting = false;
    if (rc)
        elog_warn("published events not cleared (published again later)", "error=\"%s\"",
                  dispatch__pg_msg(res));
    dispatch__req_free(r);
    dispatch__kick(d);
}

/* Deletes the acknowledged events from wo.outbox, one query per batch. */
static void dispatch__clear_acked(struct dispatch *d)
{
    struct dispatch_req *r;
    const char *params[1];
    if (d->deleting || !d->nacked || !db_ready(d->db))
        return;
    buf_reset(&d->scratch);
    buf_addc(&d->scratch, '{');
    for (size_t i = 0; i < d->nacked; i++)
        buf_printf(&d->scratch, "%s%" PRId64, i ? "," : "", d->acked[i]);
    if (buf_addc(&d->scratch, '}') || !(r = dispatch__req(d, K_PUBLISHED, NULL)))
        return;
    params[0] = d->scratch.p;
    if (db_query(d->db, "SELECT wo.published($1::bigint[])", 1, params, dispatch__deleted, r)) {
        dispatch__req_free(r);
        return;
    }
    d->n.published += d->nacked;
    d->nacked = 0;
    d->deleting = true;
}

static void dispatch__claimed(void *ctx, int rc, const PGresult *res)
{
    struct dispatch_req *r = ctx;
    struct dispatch *d = r->d;
    int rows;
    d->claiming = false;
    dispatch__req_free(r);
    if (rc) {
        elog_warn("cannot claim work-order events", "error=\"%s\"", dispatch__pg_msg(res));
        return;
    }
    rows = PQntuples(res);
    for (int i = 0; i < rows; i++) {
        const char *topic = PQgetvalue(res, i, 1), *payload = PQgetvalue(res, i, 2);
        char *end;
        int mid = 0;
        long long ev = strtoll(PQgetvalue(res, i, 0), &end, 10);
        /* what cannot go now stays claimed; wo.claim hands it out again
         * after outbox_reclaim_s */
        if (d->ninflight == DISPATCH_INFLIGHT ||
            mq_publish(d->mq, topic, payload, (size_t)PQgetlength(res, i, 2), 1, false, &mid) ||
            mid <= 0)
            break;
        d->inflight[d->ninflight].mid = mid;
        d->inflight[d->ninflight].event = ev;
        d->ninflight++;
    }
    if (rows == DISPATCH_CLAIM)
        d->claim_again = true;
    dispatch__kick(d);
}

static void dispatch__claim(struct dispatch *d)
{
    struct dispatch_req *r;
    char lim[16];
    const char *params[1] = {lim};
    if (d->claiming || !db_ready(d->db) || !mq_connected(d->mq) ||
        d->ninflight + DISPATCH_CLAIM > DISPATCH_INFLIGHT)
        return;
    if (!(r = dispatch__req(d, K_CLAIM, NULL)))
        return;
    snprintf(lim, sizeof lim, "%d", DISPATCH_CLAIM);
    if (db_query(d->db, "SELECT event_id, topic, payload FROM wo.claim($1::int)", 1, params,
                 dispatch__claimed, r)) {
        dispatch__req_free(r);
        return;
    }
    d->claiming = true;
    d->claim_again = false;
}

/* ---- database requests ------------------------------------------------- */

/* Queues a message's request for its turn. Past the bound (reading pauses
 * long before it), a complaint is dead-lettered, a request answered "busy"
 * and an alarm left to the sweep. */
static void dispatch__wait(struct dispatch *d, struct dispatch_req *r)
{
    if (d->nwait == DISPATCH_WAIT_MAX || d->nwait >= (size_t)d->conf->max_pending * 2) {
        if (r->kind == K_COMPLAINT)
            dispatch__dead_letter(d, r->topic, r->payload, r->len,
                                  "eco-dispatch is overloaded: too many messages wait for the "
                                  "database");
        else if (r->kind == K_RPC)
            dispatch__reply_error(d, r, "eco-dispatch is busy: try again");
        dispatch__req_free(r);
        return;
    }
    d->wait[d->nwait++] = r;
}

static void dispatch__done(void *ctx, int rc, const PGresult *res)
{
    struct dispatch_req *r = ctx;
    struct dispatch *d = r->d;
    const char *v = (rc == 0 && PQntuples(res) == 1) ? PQgetvalue(res, 0, 0) : NULL;
    d->pending--;
    switch (r->kind) {
    case K_SWEEP:
        if (v) {
            char *end;
            d->n.swept += strtoull(v, &end, 10);
        } else if (rc) {
            elog_warn("alarm sweep failed", "error=\"%s\"", dispatch__pg_msg(res));
        }
        break;
    case K_ALARM:
        if (v) {
            if (strstr(v, "\"action\": \"opened\""))
                d->n.opened++;
            else if (strstr(v, "\"action\": \"attached\""))
                d->n.attached++;
            else if (strstr(v, "\"action\": \"reopened\""))
                d->n.reopened++;
            elog_debug("alarm", "topic=%s result=%s", r->topic, v);
        } else if (rc) {
            /* the sweep finds it again */
            d->n.db_errors++;
            elog_warn("alarm not handled", "error=\"%s\"", dispatch__pg_msg(res));
        }
        break;
    case K_COMPLAINT:
        if (v) {
            elog_info("complaint", "result=%s", v);
        } else if (rc == -ENOTCONN) {
            dispatch__wait(d, r);
            r = NULL;
        } else if (dispatch__pg_state(res, "P0001") || dispatch__pg_state(res, "22P02") ||
                   dispatch__pg_state(res, "22007") || dispatch__pg_state(res, "22008")) {
            d->n.refused++;
            dispatch__dead_letter(d, r->topic, r->payload, r->len, dispatch__pg_msg(res));
        } else {
            d->n.db_errors++;
            elog_error("complaint not stored", "error=\"%s\"", dispatch__pg_msg(res));
            dispatch__dead_letter(d, r->topic, r->payload, r->len, dispatch__pg_msg(res));
        }
        break;
    case K_RPC:
        if (v) {
            dispatch__reply(d, r, v, (size_t)PQgetlength(res, 0, 0));
        } else if (dispatch__pg_state(res, "22P02")) {
            dispatch__reply_error(d, r, "the request is not a JSON object");
        } else if (rc == -ENOTCONN) {
            dispatch__reply_error(d, r, "the database is unavailable: try again");
        } else {
            d->n.db_errors++;
            elog_error("request failed", "method=%s error=\"%s\"", r->method,
                       dispatch__pg_msg(res));
            dispatch__reply_error(d, r, "internal error (logged by eco-dispatch)");
        }
        break;
    case K_TICK:
        d->ticking = false;
        if (v && strcmp(v, "0") != 0) {
            char *end;
            d->n.clock_steps += strtoull(v, &end, 10);
        } else if (rc) {
            elog_warn("deadline check failed", "error=\"%s\"", dispatch__pg_msg(res));
        }
        break;
    default:
        break;
    }
    dispatch__req_free(r);
    dispatch__claim(d);
    dispatch__kick(d);
}

/* Queues the request's statement. Returns 0, or -ENOTCONN/-EAGAIN/-ENOMEM
 * (r is then still the caller's). */
static int dispatch__submit(struct dispatch_req *r)
{
    struct dispatch *d = r->d;
    const char *params[3];
    int rc = -EINVAL;
    switch (r->kind) {
    case K_ALARM:
        params[0] = r->payload;
        rc = db_query(d->db, "SELECT wo.on_alarm($1::bigint)", 1, params, dispatch__done, r);
        break;
    case K_COMPLAINT:
        params[0] = r->payload;
        params[1] = r->topic;
        rc = db_query(d->db, "SELECT wo.on_complaint($1::jsonb, $2)", 2, params, dispatch__done, r);
        break;
    case K_RPC:
        params[0] = r->method;
        params[1] = r->caller;
        params[2] = r->payload;
        if (strcmp(r->method, "wo.export") == 0) /* GeoReport v2 (0020_open311.sql) */
            rc = db_query(d->db, "SELECT wo.open311($1, $2::jsonb)", 2, params + 1, dispatch__done,
                          r);
        else if (strcmp(r->method, "me") == 0) /* the caller's role (0032_wo_me.sql) */
            rc = db_query(d->db, "SELECT wo.me($1)", 1, params + 1, dispatch__done, r);
        else
            rc = db_query(d->db, "SELECT wo.rpc($1, $2, $3::jsonb)", 3, params, dispatch__done, r);
        break;
    case K_TICK:
        rc = db_query(d->db, "SELECT wo.tick()", 0, NULL, dispatch__done, r);
        break;
    case K_SWEEP:
        /* open alarms still without an order: a lost event, or a policy
         * whose minimum duration was reached since */
        rc = db_query(d->db,
                      "SELECT count(wo.on_alarm(a.id)) FROM alarm.alarm a"
                      " WHERE a.state <> 'cleared' AND NOT a.replay"
                      " AND a.last_at > now() - interval '7 days'"
                      " AND NOT EXISTS (SELECT 1 FROM wo.order_alarm oa WHERE oa.alarm = a.id)",
                      0, NULL, dispatch__done, r);
        break;
    default:
        break;
    }
    if (rc == 0)
        d->pending++;
    return rc;
}

/* Takes a request the caller built: submits it when its turn has come, or
 * queues it; a request while the database is away is answered at once. */
static void dispatch__take(struct dispatch *d, struct dispatch_req *r)
{
    if (r->kind == K_RPC && !db_ready(d->db)) {
        dispatch__reply_error(d, r, "the database is unavailable: try again");
        dispatch__req_free(r);
        return;
    }
    if (d->nwait == 0 && db_ready(d->db) && d->pending < DISPATCH_DB_WINDOW &&
        dispatch__submit(r) == 0)
        return;
    dispatch__wait(d, r);
    if (d->nwait >= (size_t)d->conf->max_pending && !d->paused) {
        d->paused = true;
        mq_pause(d->mq, true);
    }
}

/* ---- messages ------------------------------------------------------------ */

static char *dispatch__copy(const void *p, size_t len)
{
    char *s = malloc(len + 1);
    if (s) {
        memcpy(s, p, len);
        s[len] = '\0';
    }
    return s;
}

static void dispatch__on_alarm(struct dispatch *d, const struct mq_msg *m)
{
    cJSON *doc = NULL;
    int64_t id;
    char err[128], idtxt[24];
    struct dispatch_req *r;
    d->n.alarms++;
    if (json_parse(m->payload, m->len, &doc, err, sizeof(err))) {
        dispatch__dead_letter(d, m->topic, m->payload, m->len, err);
        return;
    }
    if (json_get_i64(doc, "id", 1, INT64_MAX, &id)) {
        cJSON_Delete(doc);
        dispatch__dead_letter(d, m->topic, m->payload, m->len, "id: missing or not an alarm id");
        return;
    }
    cJSON_Delete(doc);
    snprintf(idtxt, sizeof idtxt, "%" PRId64, id);
    if (!(r = dispatch__req(d, K_ALARM, m->topic)) ||
        !(r->payload = dispatch__copy(idtxt, strlen(idtxt)))) {
        dispatch__req_free(r);
        return; /* the sweep finds it */
    }
    dispatch__take(d, r);
}

static void dispatch__on_complaint(struct dispatch *d, const struct mq_msg *m)
{
    struct dispatch_req *r;
    d->n.complaints++;
    if (!buf_utf8_text(m->payload, m->len)) {
        dispatch__dead_letter(d, m->topic, m->payload, m->len, "not UTF-8 text");
        return;
    }
    if (!(r = dispatch__req(d, K_COMPLAINT, m->topic)) ||
        !(r->payload = dispatch__copy(m->payload, m->len))) {
        dispatch__req_free(r);
        dispatch__dead_letter(d, m->topic, m->payload, m->len, "out of memory");
        return;
    }
    r->len = m->len;
    dispatch__take(d, r);
}

static void dispatch__on_request(struct dispatch *d, const struct mq_msg *m)
{
    struct rpc_call call;
    struct dispatch_req *r;
    d->n.requests++;
    if (rpc_parse_topic(m->topic, &call) || strcmp(call.service, "dispatch") != 0) {
        dispatch__dead_letter(d, m->topic, m->payload, m->len,
                              "not a request topic eco/v1/rpc/dispatch/{method}/{caller}");
        return;
    }
    /* only the caller may read its replies: answer nowhere else */
    if (rpc_check_reply_topic(call.caller, m->response_topic)) {
        dispatch__dead_letter(d, m->topic, m->payload, m->len,
                              "no response topic under eco/v1/rpc/reply/{caller}/: not answered");
        return;
    }
    if (!(r = dispatch__req(d, K_RPC, m->topic)))
        return;
    snprintf(r->reply_topic, sizeof r->reply_topic, "%s", m->response_topic);
    snprintf(r->method, sizeof r->method, "%s", call.method);
    snprintf(r->caller, sizeof r->caller, "%s", call.caller);
    if (m->corr_len > sizeof r->corr) {
        dispatch__reply_error(d, r, "correlation data longer than 256 bytes");
        dispatch__req_free(r);
        return;
    }
    /* no correlation data (mosquitto_rr, the web console) is a NULL pointer */
    if (m->corr_len)
        memcpy(r->corr, m->corr, m->corr_len);
    r->corr_len = m->corr_len;
    if (!buf_utf8_text(m->payload, m->len)) {
        dispatch__reply_error(d, r, "the request is not UTF-8 JSON");
        dispatch__req_free(r);
        return;
    }
    if (!(r->payload = dispatch__copy(m->len ? m->payload : "{}", m->len ? m->len : 2))) {
        dispatch__req_free(r);
        return;
    }
    r->len = m->len;
    dispatch__take(d, r);
}

static void dispatch__on_message(void *ud, const struct mq_msg *m)
{
    struct dispatch *d = ud;
    if (d->stop.stopping) {
        /* not acknowledged: the broker delivers it again, to us or another */
        mq_abort(d->mq);
        return;
    }
    if (m->len > (size_t)d->conf->max_payload) {
        dispatch__dead_letter(d, m->topic, m->payload, 256,
                              "payload larger than ECO_DISPATCH_MAX_PAYLOAD");
        return;
    }
    if (strncmp(m->topic, "eco/v1/alarm/", 13) == 0)
        dispatch__on_alarm(d, m);
    else if (strcmp(m->topic, "eco/v1/complaint/new") == 0)
        dispatch__on_complaint(d, m);
    else if (strncmp(m->topic, RPC_PREFIX, sizeof(RPC_PREFIX) - 1) == 0)
        dispatch__on_request(d, m);
}

static void dispatch__on_published(void *ud, int mid)
{
    struct dispatch *d = ud;
    outbox_drain(&d->ob);
    for (size_t i = 0; i < d->ninflight; i++) {
        if (d->inflight[i].mid != mid)
            continue;
        if (d->nacked < DISPATCH_INFLIGHT)
            d->acked[d->nacked++] = d->inflight[i].event;
        d->inflight[i] = d->inflight[--d->ninflight];
        break;
    }
    if (d->nacked >= 100 || d->ninflight == 0)
        dispatch__clear_acked(d);
    if (d->stop.stopping)
        dispatch__finish_stop(d);
}

static void dispatch__on_mq_state(void *ud, bool up)
{
    struct dispatch *d = ud;
    svcbase_log_mq(up, d->conf->mqtt_url);
    if (up) {
        outbox_drain(&d->ob);
        dispatch__claim(d);
    } else {
        /* unacknowledged events are claimed again after outbox_reclaim_s */
        d->ninflight = 0;
    }
}

static void dispatch__on_db_state(void *ud, bool up)
{
    struct dispatch *d = ud;
    svcbase_log_db(up, d->db);
    d->claiming = d->deleting = d->ticking = false;
    if (up)
        dispatch__kick(d);
}

/* ---- housekeeping ---------------------------------------------------------- */

static void dispatch__status(struct dispatch *d)
{
    svcbase_status(d->mq, &d->msg, "dispatch", d->instance,
                   "\"counters\":{"
                   "\"alarms\":%" PRIu64 ",\"opened\":%" PRIu64 ",\"attached\":%" PRIu64
                   ",\"reopened\":%" PRIu64 ",\"complaints\":%" PRIu64 ",\"refused\":%" PRIu64
                   ",\"requests\":%" PRIu64 ",\"replies\":%" PRIu64 ",\"clock_steps\":%" PRIu64
                   ",\"swept\":%" PRIu64 ",\"published\":%" PRIu64 ",\"dead_letters\":%" PRIu64
                   ",\"db_errors\":%" PRIu64 ",\"pending\":%zu,\"waiting\":%zu}}",
                   d->n.alarms, d->n.opened, d->n.attached, d->n.reopened, d->n.complaints,
                   d->n.refused, d->n.requests, d->n.replies, d->n.clock_steps, d->n.swept,
                   d->n.published, d->n.dead_letters, d->n.db_errors, d->pending, d->nwait);
}

static void dispatch__kick(struct dispatch *d)
{
    if (d->stop.closing)
        return;
    /* the messages whose turn has come, in arrival order */
    if (db_ready(d->db) && d->nwait) {
        size_t i = 0;
        for (; i < d->nwait && d->pending < DISPATCH_DB_WINDOW; i++)
            if (dispatch__submit(d->wait[i]))
                break;
        memmove(d->wait, d->wait + i, (d->nwait - i) * sizeof(d->wait[0]));
        d->nwait -= i;
    }
    if (d->claim_again)
        dispatch__claim(d);
    dispatch__clear_acked(d);
    if (d->paused && d->nwait < (size_t)d->conf->max_pending / 2 && !d->stop.stopping) {
        d->paused = false;
        mq_pause(d->mq, false);
    }
    if (d->stop.stopping)
        dispatch__finish_stop(d);
}

static int dispatch__periodic(struct dispatch *d, enum dispatch_kind kind)
{
    struct dispatch_req *r = dispatch__req(d, kind, NULL);
    int rc = r ? dispatch__submit(r) : -ENOMEM;
    if (rc)
        dispatch__req_free(r);
    return rc;
}

static void dispatch__on_tick(uv_timer_t *t)
{
    struct dispatch *d = t->data;
    uint64_t now = uv_now(d->loop);
    if (d->stop.stopping) {
        dispatch__finish_stop(d);
        return;
    }
    if (db_ready(d->db)) {
        if (now - d->last_tick >= (uint64_t)d->conf->tick_ms && !d->ticking) {
            d->last_tick = now;
            d->ticking = dispatch__periodic(d, K_TICK) == 0;
        }
        if (now - d->last_sweep >= (uint64_t)d->conf->sweep_s * 1000) {
            d->last_sweep = now;
            dispatch__periodic(d, K_SWEEP);
        }
        dispatch__claim(d);
    }
    if (svcbase_due(now, &d->last_status, (uint64_t)d->conf->status_s * 1000, true))
        dispatch__status(d);
    dispatch__kick(d);
}

/* ---- lifecycle --------------------------------------------------------- */

int dispatch_new(uv_loop_t *loop, const struct dispatch_conf *conf, struct dispatch **out)
{
    struct dispatch *d = calloc(1, sizeof(*d));
    *out = NULL;
    if (!d)
        return -ENOMEM;
    d->loop = loop;
    d->conf = conf;
    buf_init(&d->scratch, 1u << 20);
    buf_init(&d->msg, 1u << 20);
    uv_timer_init(loop, &d->tick);
    d->tick.data = d;
    svcbase_instance(d->instance, sizeof(d->instance), conf->instance, "main");
    *out = d;
    return 0;
}

int dispatch_start(struct dispatch *d)
{
    const struct dispatch_conf *c = d->conf;
    char filter[MQ_TOPIC_MAX];
    static const char *const topics[] = {"eco/v1/alarm/#", "eco/v1/complaint/new",
                                         "eco/v1/rpc/dispatch/+/+"};
    struct mq_opts mo = {
        .url = c->mqtt_url,
        .user = c->mqtt_user,
        .password = c->mqtt_password,
        .cafile = c->mqtt_cafile,
        .service = "dispatch",
        .instance = d->instance,
        /* what is published while we restart waits for us */
        .persistent = true,
        .session_expiry_s = 7 * 24 * 3600,
        .max_outstanding = DISPATCH_INFLIGHT,
        .receive_max = 100,
    };
    struct mq_cbs mc = {
        .on_message = dispatch__on_message,
        .on_state = dispatch__on_mq_state,
        .on_published = dispatch__on_published,
    };
    struct db_opts dopt = {.dsn = c->pg_dsn, .app_name = "eco-dispatch"};
    struct db_cbs dc = {.on_state = dispatch__on_db_state};
    int rc;
    if ((rc = svcbase_mq_new(d->loop, &mo, &mc, d, &d->mq))) {
        elog_error("bad MQTT settings", "url=%s", c->mqtt_url);
        return rc;
    }
    outbox_init(&d->ob, d->mq, 10000, 16u << 20);
    for (size_t i = 0; i < sizeof topics / sizeof topics[0]; i++) {
        if (c->share_group[0])
            snprintf(filter, sizeof filter, "$share/%.64s/%s", c->share_group, topics[i]);
        else
            snprintf(filter, sizeof filter, "%s", topics[i]);
        if ((rc = mq_subscribe(d->mq, filter, 1)))
            return rc;
    }
    if ((rc = db_new(d->loop, &dopt, &dc, d, &d->db)))
        return rc;
    db_start(d->db);
    if ((rc = mq_start(d->mq)))
        return rc;
    /* the clock's resolution: a deadline fires at most tick_ms late */
    uv_timer_start(&d->tick, dispatch__on_tick, 100, c->tick_ms < 250 ? (uint64_t)c->tick_ms : 250);
    elog_info("started", "instance=%s share_group=%s", d->instance, c->share_group);
    return 0;
}

static void dispatch__closed(void *arg)
{
    struct dispatch *d = arg;
    svcbase_stop_closed(&d->stop);
}

static void dispatch__finish_stop(struct dispatch *d)
{
    bool late = svcbase_stop_late(&d->stop, d->loop);
    size_t lost;
    if (d->stop.closing)
        return;
    if (!late && db_ready(d->db) && (d->pending || d->nwait))
        return; /* dispatch__done kicks back here */
    if (!late && mq_connected(d->mq) && (outbox_len(&d->ob) || d->ninflight))
        return;
    d->stop.closing = true;
    lost = outbox_close(&d->ob);
    if (d->nwait)
        elog_warn("messages not handled at exit (the database was unavailable or slow)",
                  "count=%zu", d->nwait);
    for (size_t i = 0; i < d->nwait; i++)
        dispatch__req_free(d->wait[i]);
    d->nwait = 0;
    elog_info("stopping", "pending=%zu unpublished=%zu", d->pending, lost);
    d->stop.pending = 1 + (d->mq ? 1 : 0) + (d->db ? 1 : 0);
    if (d->mq)
        mq_close(d->mq, dispatch__closed);
    if (d->db)
        db_close(d->db, dispatch__closed);
    svcbase_stop_close_handle(&d->stop, (uv_handle_t *)&d->tick);
}

void dispatch_stop(struct dispatch *d, void (*done)(void *arg), void *arg)
{
    if (svcbase_stop_begin(&d->stop, d->loop, d->conf->drain_s, done, arg))
        return;
    if (d->mq)
        mq_pause(d->mq, true);
    if (!d->mq || !d->db)
        d->stop.deadline = 0;
    dispatch__finish_stop(d);
}

void dispatch_free(struct dispatch *d)
{
    if (!d)
        return;
    buf_close(&d->scratch);
    buf_close(&d->msg);
    free(d);
}

int dispatch_exit_code(const struct dispatch *d)
{
    return d->exit_code;
}
