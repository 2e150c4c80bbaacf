#include "db.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB_BACKOFF_MIN_MS 200
#define DB_BACKOFF_MAX_MS 5000
#define DB_COPY_CHUNK (256 * 1024)

enum db_state { DB_DOWN, DB_CONNECTING, DB_INIT, DB_READY, DB_CLOSING };
enum db_kind { DB_Q, DB_COPY };
enum db_phase { DB_P_SENDING, DB_P_WAIT_COPY_IN, DB_P_COPYING, DB_P_RESULTS };

struct db_req {
    struct db_req *next;
    enum db_kind kind;
    db_done_cb cb;
    void *ctx;
    const char *data; /* COPY payload, borrowed */
    size_t len, off;
    int nparams;
    const char *params[DB_MAX_PARAMS];
    char *sql; /* one allocation: sql then the parameter strings */
};

struct db_watch {
    uv_poll_t poll;
    struct db *db;
    int fd;
    int events;
};

struct db {
    uv_loop_t *loop;
    struct db_cbs cbs;
    void *ud;
    char *dsn, *app_name, *init_sql;
    PGconn *conn;
    enum db_state state;
    struct db_watch *watch;
    uv_timer_t retry;
    int backoff_ms;
    struct db_req *head, **tail;
    size_t depth;
    struct db_req *cur; /* on the wire */
    enum db_phase phase;
    PGresult *keep; /* first error, or the last result, of cur */
    int pending_closes;
    void (*done)(void *ud);
    char errbuf[256];
};

static void db__on_poll(uv_poll_t *p, int status, int events);
static void db__pump(struct db *db);
static void db__connect(struct db *db);

static void db__set_error(struct db *db, const char *msg)
{
    size_t n;
    snprintf(db->errbuf, sizeof(db->errbuf), "%s", msg ? msg : "");
    n = strlen(db->errbuf);
    while (n > 0 && (db->errbuf[n - 1] == '\n' || db->errbuf[n - 1] == ' '))
        db->errbuf[--n] = '\0';
}

static void db__release(struct db *db)
{
    void (*done)(void *) = db->done;
    void *ud = db->ud;
    free(db->dsn);
    free(db->app_name);
    free(db->init_sql);
    free(db);
    if (done)
        done(ud);
}

static void db__watch_closed(uv_handle_t *h)
{
    struct db_watch *w = h->data;
    struct db *db = w->db;
    free(w);
    if (--db->pending_closes == 0 && db->state == DB_CLOSING)
        db__release(db);
}

static void db__unwatch(struct db *db)
{
    if (!db->watch)
        return;
    uv_poll_stop(&db->watch->poll);
    uv_close((uv_handle_t *)&db->watch->poll, db__watch_closed);
    db->watch = NULL;
}

static int db__watch(struct db *db, int events)
{
    int fd = db->conn ? PQsocket(db->conn) : -1;

    if (fd < 0)
        return -ENOTCONN;
    if (db->watch && db->watch->fd != fd)
        db__unwatch(db);
    if (!db->watch) {
        struct db_watch *w = calloc(1, sizeof(*w));
        if (!w)
            return -ENOMEM;
        w->db = db;
        w->fd = fd;
        if (uv_poll_init(db->loop, &w->poll, fd) != 0) {
            free(w);
            return -EIO;
        }
        w->poll.data = w;
        db->pending_closes++;
        db->watch = w;
    }
    if (events != db->watch->events) {
        db->watch->events = events;
        uv_poll_start(&db->watch->poll, events, db__on_poll);
    }
    return 0;
}

static void db__finish(struct db_req *r, int rc, const PGresult *res)
{
    if (r->cb)
        r->cb(r->ctx, rc, res);
    free(r->sql);
    free(r);
}

/* Fails the request on the wire and everything queued behind it. */
static void db__fail_all(struct db *db)
{
    struct db_req *r;

    PQclear(db->keep);
    db->keep = NULL;
    if (db->cur) {
        r = db->cur;
        db->cur = NULL;
        db__finish(r, -ENOTCONN, NULL);
    }
    while ((r = db->head)) {
        db->head = r->next;
        db->depth--;
        db__finish(r, -ENOTCONN, NULL);
    }
    db->tail = &db->head;
}

static void db__on_retry(uv_timer_t *t)
{
    db__connect(t->data);
}

static void db__lost(struct db *db)
{
    bool was_ready = db->state == DB_READY;

    if (db->conn)
        db__set_error(db, PQerrorMessage(db->conn));
    db__unwatch(db);
    PQfinish(db->conn);
    db->conn = NULL;
    db->state = DB_DOWN;
    db__fail_all(db);
    if (was_ready && db->cbs.on_state)
        db->cbs.on_state(db->ud, false);
    uv_timer_start(&db->retry, db__on_retry, (uint64_t)db->backoff_ms, 0);
    db->backoff_ms =
        db->backoff_ms * 2 > DB_BACKOFF_MAX_MS ? DB_BACKOFF_MAX_MS : db->backoff_ms * 2;
}

static void db__notice(void *arg, const char *msg)
{
    (void)arg;
    (void)msg; /* server notices are not errors; callers log what matters */
}

static void db__connect(struct db *db)
{
    const char *keys[] = {"dbname", "application_name", "connect_timeout", NULL};
    const char *vals[] = {db->dsn, db->app_name ? db->app_name : "ecowatch", "10", NULL};

    if (db->state == DB_CLOSING)
        return;
    /* expand_dbname: the dsn string may be a full connection string */
    db->conn = PQconnectStartParams(keys, vals, 1);
    if (!db->conn || PQstatus(db->conn) == CONNECTION_BAD) {
        db__lost(db);
        return;
    }
    PQsetNoticeProcessor(db->conn, db__notice, db);
    db->state = DB_CONNECTING;
    if (db__watch(db, UV_WRITABLE))
        db__lost(db);
}

static void db__ready(struct db *db)
{
    db->state = DB_READY;
    db->backoff_ms = DB_BACKOFF_MIN_MS;
    db->errbuf[0] = '\0';
    if (db->cbs.on_state)
        db->cbs.on_state(db->ud, true);
    db__pump(db);
}

static void db__connect_step(struct db *db)
{
    switch (PQconnectPoll(db->conn)) {
    case PGRES_POLLING_READING:
        if (db__watch(db, UV_READABLE))
            db__lost(db);
        return;
    case PGRES_POLLING_WRITING:
        if (db__watch(db, UV_WRITABLE))
            db__lost(db);
        return;
    case PGRES_POLLING_OK:
        if (PQsetnonblocking(db->conn, 1) != 0) {
            db__lost(db);
            return;
        }
        if (db->init_sql) {
            if (!PQsendQuery(db->conn, db->init_sql)) {
                db__lost(db);
                return;
            }
            db->state = DB_INIT;
            if (db__watch(db, UV_READABLE | (PQflush(db->conn) == 1 ? UV_WRITABLE : 0)))
                db__lost(db);
            return;
        }
        db__ready(db);
        return;
    default:
        db__lost(db);
        return;
    }
}

/* Keeps poll interest in step with libpq: always read while a request is
 * active (the server may answer, or complain, at any time), write while
 * libpq holds unsent bytes or a COPY waits for buffer room. */
static int db__arm(struct db *db, bool want_write)
{
    int ev = UV_READABLE;
    if (want_write)
        ev |= UV_WRITABLE;
    return db__watch(db, ev);
}

/* Streams COPY data until done or libpq's buffer is full. Returns 1 when
 * it must wait for writability, 0 when the data and the end were queued,
 * -1 on a connection error. */
static int db__copy_more(struct db *db, struct db_req *r)
{
    while (r->off < r->len) {
        size_t n = r->len - r->off;
        int rc;
        if (n > DB_COPY_CHUNK)
            n = DB_COPY_CHUNK;
        rc = PQputCopyData(db->conn, r->data + r->off, (int)n);
        if (rc < 0)
            return -1;
        if (rc == 0)
            return 1; /* buffers full: retry the same chunk when writable */
        r->off += n;
    }
    int rc = PQputCopyEnd(db->conn, NULL);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return 1;
    db->phase = DB_P_RESULTS;
    return 0;
}

/* Collects results of the request on the wire; completes it when libpq
 * returns the terminating NULL. */
static void db__collect(struct db *db)
{
    for (;;) {
        PGresult *res;
        ExecStatusType st;

        if (PQisBusy(db->conn))
            return;
        res = PQgetResult(db->conn);
        if (!res) {
            struct db_req *r = db->cur;
            PGresult *keep = db->keep;
            int rc = 0;
            if (keep) {
                st = PQresultStatus(keep);
                if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY)
                    rc = -EIO;
            }
            db->cur = NULL;
            db->keep = NULL;
            db__finish(r, rc, keep);
            PQclear(keep);
            return;
        }
        st = PQresultStatus(res);
        if (st == PGRES_COPY_IN) {
            PQclear(res);
            if (db->cur->kind != DB_COPY) {
                /* a COPY the caller did not announce: refuse it server-side */
                PQputCopyEnd(db->conn, "unexpected COPY");
                db->phase = DB_P_RESULTS;
                continue;
            }
            db->phase = DB_P_COPYING;
            int rc = db__copy_more(db, db->cur);
            if (rc < 0) {
                db__lost(db);
                return;
            }
            int fl = PQflush(db->conn);
            if (fl < 0) {
                db__lost(db);
                return;
            }
            if (db__arm(db, rc == 1 || fl == 1))
                db__lost(db);
            if (rc == 1)
                return;
            continue;
        }
        if (st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
            PQclear(res);
            db__lost(db); /* never issued by us; the session is unusable */
            return;
        }
        /* Keep the first error; otherwise the last result (for SELECTs the
         * caller wants the rows of the final statement). */
        if (db->keep) {
            ExecStatusType kst = PQresultStatus(db->keep);
            bool kept_error =
                kst != PGRES_COMMAND_OK && kst != PGRES_TUPLES_OK && kst != PGRES_EMPTY_QUERY;
            if (kept_error) {
                PQclear(res);
                continue;
            }
            PQclear(db->keep);
        }
        db->keep = res;
    }
}

/* Starts the next request when the connection is idle. */
static void db__pump(struct db *db)
{
    struct db_req *r;
    int ok, fl;

    while (db->state == DB_READY && !db->cur && db->head) {
        r = db->head;
        db->head = r->next;
        if (!db->head)
            db->tail = &db->head;
        db->depth--;
        r->next = NULL;
        db->cur = r;
        db->phase = DB_P_RESULTS;
        if (r->kind == DB_COPY) {
            db->phase = DB_P_WAIT_COPY_IN;
            ok = PQsendQuery(db->conn, r->sql);
        } else if (r->nparams == 0) {
            ok = PQsendQuery(db->conn, r->sql);
        } else {
            ok = PQsendQueryParams(db->conn, r->sql, r->nparams, NULL, r->params, NULL, NULL, 0);
        }
        if (!ok) {
            /* refused locally (e.g. bad parameters) or the connection broke */
            if (PQstatus(db->conn) == CONNECTION_BAD) {
                db__lost(db);
                return;
            }
            db->cur = NULL;
            db__set_error(db, PQerrorMessage(db->conn));
            db__finish(r, -EIO, NULL);
            continue;
        }
        fl = PQflush(db->conn);
        if (fl < 0 || db__arm(db, fl == 1)) {
            db__lost(db);
            return;
        }
        return;
    }
    if (db->state == DB_READY && !db->cur && db__arm(db, false))
        db__lost(db);
}

static void db__on_poll(uv_poll_t *p, int status, int events)
{
    struct db_watch *w = p->data;
    struct db *db = w->db;

    if (db->state == DB_CLOSING)
        return;
    if (status < 0) {
        db__lost(db);
        return;
    }
    if (db->state == DB_CONNECTING) {
        db__connect_step(db);
        return;
    }
    if (events & UV_WRITABLE) {
        if (db->cur && db->phase == DB_P_COPYING) {
            int rc = db__copy_more(db, db->cur);
            if (rc < 0) {
                db__lost(db);
                return;
            }
        }
        int fl = PQflush(db->conn);
        if (fl < 0) {
            db__lost(db);
            return;
        }
        bool more = fl == 1 || (db->cur && db->phase == DB_P_COPYING);
        if (db__arm(db, more)) {
            db__lost(db);
            return;
        }
    }
    /* Read even on a write event: PQflush may have consumed input, and
     * readiness would not be signalled again for it. */
    if (!PQconsumeInput(db->conn)) {
        db__lost(db);
        return;
    }
    if (db->state == DB_INIT) {
        PGresult *res;
        while (!PQisBusy(db->conn) && (res = PQgetResult(db->conn))) {
            ExecStatusType st = PQresultStatus(res);
            if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
                db__set_error(db, PQresultErrorMessage(res));
                PQclear(res);
                /* a broken init script is a configuration error: keep
                 * retrying so the operator sees it in the logs */
                PQfinish(db->conn);
                db->conn = NULL;
                db__unwatch(db);
                db->state = DB_DOWN;
                uv_timer_start(&db->retry, db__on_retry, DB_BACKOFF_MAX_MS, 0);
                return;
            }
            PQclear(res);
        }
        if (!PQisBusy(db->conn))
            db__ready(db);
        return;
    }
    if (db->cur && db->phase != DB_P_COPYING)
        db__collect(db);
    if (db->state == DB_READY && !db->cur)
        db__pump(db);
}

int db_new(uv_loop_t *loop, const struct db_opts *o, const struct db_cbs *cbs, void *ud,
           struct db **out)
{
    struct db *db = calloc(1, sizeof(*db));

    *out = NULL;
    if (!db)
        return -ENOMEM;
    db->loop = loop;
    if (cbs)
        db->cbs = *cbs;
    db->ud = ud;
    db->dsn = strdup(o->dsn ? o->dsn : "");
    db->app_name = o->app_name ? strdup(o->app_name) : NULL;
    db->init_sql = o->init_sql ? strdup(o->init_sql) : NULL;
    if (!db->dsn || (o->app_name && !db->app_name) || (o->init_sql && !db->init_sql)) {
        free(db->dsn);
        free(db->app_name);
        free(db->init_sql);
        free(db);
        return -ENOMEM;
    }
    db->tail = &db->head;
    db->backoff_ms = DB_BACKOFF_MIN_MS;
    uv_timer_init(loop, &db->retry);
    db->retry.data = db;
    db->pending_closes = 1;
    *out = db;
    return 0;
}

int db_start(struct db *db)
{
    db__connect(db);
    return 0;
}

bool db_ready(const struct db *db)
{
    return db->state == DB_READY;
}

size_t db_pending(const struct db *db)
{
    return db->depth + (db->cur ? 1 : 0);
}

const char *db_last_error(const struct db *db)
{
    return db->errbuf;
}

static int db__enqueue(struct db *db, enum db_kind kind, const char *sql, int nparams,
                       const char *const *params, const char *data, size_t len, db_done_cb cb,
                       void *ctx)
{
    struct db_req *r;
    size_t total, n;
    char *p;

    if (db->state != DB_READY)
        return -ENOTCONN;
    if (db->depth >= DB_MAX_QUEUE)
        return -EAGAIN;
    if (nparams < 0 || nparams > DB_MAX_PARAMS || !sql)
        return -EINVAL;
    total = strlen(sql) + 1;
    for (int i = 0; i < nparams; i++)
        total += params[i] ? strlen(params[i]) + 1 : 0;
    r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->sql = malloc(total);
    if (!r->sql) {
        free(r);
        return -ENOMEM;
    }
    n = strlen(sql) + 1;
    memcpy(r->sql, sql, n);
    p = r->sql + n;
    for (int i = 0; i < nparams; i++) {
        if (!params[i]) {
            r->params[i] = NULL;
            continue;
        }
        n = strlen(params[i]) + 1;
        memcpy(p, params[i], n);
        r->params[i] = p;
        p += n;
    }
    r->kind = kind;
    r->nparams = nparams;
    r->data = data;
    r->len = len;
    r->cb = cb;
    r->ctx = ctx;
    *db->tail = r;
    db->tail = &r->next;
    db->depth++;
    db__pump(db);
    return 0;
}

int db_query(struct db *db, const char *sql, int nparams, const char *const *params, db_done_cb cb,
             void *ctx)
{
    return db__enqueue(db, DB_Q, sql, nparams, params, NULL, 0, cb, ctx);
}

int db_copy(struct db *db, const char *sql, const char *data, size_t len, db_done_cb cb, void *ctx)
{
    return db__enqueue(db, DB_COPY, sql, 0, NULL, data, len, cb, ctx);
}

static void db__retry_closed(uv_handle_t *h)
{
    struct db *db = h->data;
    if (--db->pending_closes == 0)
        db__release(db);
}

void db_close(struct db *db, void (*done)(void *ud))
{
    if (db->state == DB_CLOSING)
        return;
    db->done = done;
    /* CLOSING first, so callbacks of failed requests cannot queue more */
    db->state = DB_CLOSING;
    db__fail_all(db);
    db__unwatch(db);
    /* Safe right after uv_poll_stop: libuv no longer watches the fd. */
    PQfinish(db->conn);
    db->conn = NULL;
    uv_timer_stop(&db->retry);
    uv_close((uv_handle_t *)&db->retry, db__retry_closed);
}

int db_get_int(const PGresult *res, int row, int col, int *out)
{
    const char *s;
    char *end;
    long v;

    if (!res || row < 0 || col < 0 || row >= PQntuples(res) || col >= PQnfields(res) ||
        PQgetisnull(res, row, col))
        return -EBADMSG;
    s = PQgetvalue(res, row, col);
    /* strtol would skip leading blanks and take "12x" as 12 */
    if (!isdigit((unsigned char)s[0]) && !(s[0] == '-' && isdigit((unsigned char)s[1])))
        return -EBADMSG;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < INT_MIN || v > INT_MAX)
        return -EBADMSG;
    *out = (int)v;
    return 0;
}
