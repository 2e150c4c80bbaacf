/* db: PostgreSQL on the libuv loop, non-blocking end to end.
 *
 * One connection, one FIFO of requests, one request on the wire at a time.
 * Connecting uses PQconnectStartParams/PQconnectPoll with one poll handle per
 * socket (the socket can change while connecting); queries use
 * PQsendQuery[Params]; COPY FROM STDIN streams a caller's buffer with
 * PQputCopyData and waits for writability when libpq's buffer is full.
 * A lost connection fails every queued request (a transaction split across
 * requests cannot be resumed on a new session) and reconnects with capped
 * exponential backoff.
 *
 * Threading: everything on the loop thread. */
#ifndef ECO_DB_H
#define ECO_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#define DB_MAX_PARAMS 16
#define DB_MAX_QUEUE 4096

struct db;

/* Completion of one request. rc is 0 when every statement succeeded, -EIO
 * when the server reported an error (res is that error result: read
 * PQresultErrorMessage, PG_DIAG_SQLSTATE), -ENOTCONN when the connection
 * was lost or closed first (res NULL). res is borrowed for the call. */
typedef void (*db_done_cb)(void *ctx, int rc, const PGresult *res);

struct db_cbs {
    /* The connection came up (ready for requests) or went down. */
    void (*on_state)(void *ud, bool up);
};

struct db_opts {
    const char *dsn;      /* libpq connection string or URI */
    const char *app_name; /* application_name; may be NULL */
    const char *init_sql; /* run once after each connect before anything; may be NULL */
};

/* dsn/app_name/init_sql are copied; cbs/ud borrowed. Returns 0 or -ENOMEM. */
int db_new(uv_loop_t *loop, const struct db_opts *o, const struct db_cbs *cbs, void *ud,
           struct db **out);
/* Begins connecting (and reconnecting, forever). */
int db_start(struct db *db);
bool db_ready(const struct db *db);
/* Requests queued or on the wire. */
size_t db_pending(const struct db *db);
/* The last connection error, for logs ("" when none). */
const char *db_last_error(const struct db *db);

/* Queues a statement. With nparams 0 the text may hold several statements
 * (simple protocol); with parameters it is one statement (text format).
 * sql and params are copied. Returns 0, -ENOTCONN (not ready), -EAGAIN
 * (queue full), -EINVAL or -ENOMEM; on error cb is not called. */
int db_query(struct db *db, const char *sql, int nparams, const char *const *params, db_done_cb cb,
             void *ctx);

/* Queues COPY ... FROM STDIN of `len` bytes of data. sql is copied; data is
 * borrowed and must stay valid until cb runs. */
int db_copy(struct db *db, const char *sql, const char *data, size_t len, db_done_cb cb, void *ctx);

/* The integer in row/col of a text-format result (PQgetvalue, checked: no
 * atoi): 0, or -EBADMSG when the row or column does not exist, the field is
 * NULL, or it is not a whole decimal integer within int's range. *out is
 * left alone on error. */
int db_get_int(const PGresult *res, int row, int col, int *out);

/* Fails what is queued with -ENOTCONN, closes the connection and handles;
 * done (may be NULL) runs once all handles are closed and db is freed. */
void db_close(struct db *db, void (*done)(void *ud));

#endif
