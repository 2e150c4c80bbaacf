/* svcbase: the parts that every long-running eco-* service (ingest, detect,
 * dispatch, report, gep) had written out the same way: the settings shared
 * by all of them, the instance name, the broker and database state lines of
 * the log, the "every N seconds" test of a tick, and the bookkeeping of a
 * stop (drain deadline, handles still closing, the done callback).
 *
 * svcmain runs the process; svcbase holds what the service object inside it
 * repeats. Everything here runs on the loop thread; nothing allocates. */
#ifndef ECO_SVCBASE_H
#define ECO_SVCBASE_H

#include "cfg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct buf;
struct db;
struct mq;
struct mq_cbs;
struct mq_opts;

/* The rows of a service's cfg_def table that every service has: broker
 * (ECO_MQTT_URL, _USER, _PASSWORD, _CAFILE), database (ECO_PG_DSN) and
 * ECO_LOG_LEVEL. conf_type is the service's configuration struct, which has
 * the CFG_STR fields mqtt_url, mqtt_user, mqtt_password, mqtt_cafile,
 * pg_dsn and log_level. Use at the head of the table:
 *     static const struct cfg_def x__defs[] = {SVCBASE_CFG_DEFS(struct x_conf), ...}; */
#define SVCBASE_CFG_DEFS(conf_type)                                                                \
    {"ECO_MQTT_URL",   CFG_STR, "mqtt://127.0.0.1:1883", 1, 0, offsetof(conf_type, mqtt_url),      \
     "MQTT broker URL"},                                                                           \
        {"ECO_MQTT_USER", CFG_STR, "", 0, 0, offsetof(conf_type, mqtt_user), "MQTT user name"},    \
        {"ECO_MQTT_PASSWORD", CFG_SECRET, "", 0, 0, offsetof(conf_type, mqtt_password),            \
         "MQTT password"},                                                                         \
        {"ECO_MQTT_CAFILE",                                                                        \
         CFG_STR,                                                                                  \
         "",                                                                                       \
         0,                                                                                        \
         0,                                                                                        \
         offsetof(conf_type, mqtt_cafile),                                                         \
         "PEM CA bundle that signed the broker's certificate (mqtts://); empty: the system's"},    \
        {"ECO_PG_DSN",                                                                             \
         CFG_STR,                                                                                  \
         NULL,                                                                                     \
         1,                                                                                        \
         0,                                                                                        \
         offsetof(conf_type, pg_dsn),                                                              \
         "PostgreSQL connection string"},                                                          \
    {                                                                                              \
        "ECO_LOG_LEVEL", CFG_STR, "info", 1, 0, offsetof(conf_type, log_level),                    \
            "debug, info, warn or error"                                                           \
    }

/* Longest instance name taken from the configuration (the tables cap
 * ECO_*_INSTANCE at this length). */
#define SVCBASE_INSTANCE_MAX 64

/* The instance name (status topic, MQTT client id and session, claims):
 * configured (borrowed, may be "") if set, cut to SVCBASE_INSTANCE_MAX
 * characters; else the host name (cut to size - 1 bytes); else fallback
 * (borrowed). Writes a NUL-terminated string into out (size > 0 bytes,
 * owned by the caller). Cannot fail. */
void svcbase_instance(char *out, size_t size, const char *configured, const char *fallback);

/* mq_new with the client id of every service, "eco-{service}-{instance}"
 * (mo->service and mo->instance, both set; mo->client_id is not read). mo
 * and cbs are borrowed for the call; *out is the caller's (mq_close).
 * Returns 0 or mq_new's negative errno (-EINVAL: bad settings). */
int svcbase_mq_new(uv_loop_t *loop, const struct mq_opts *mo, const struct mq_cbs *cbs, void *ud,
                   struct mq **out);

/* Publishes the service's status message, retained at QoS 1, on
 * eco/v1/sys/{service}/{instance}: {"status":"online","version":"...",
 * "ts":"(now, RFC 3339)", followed by fmt's text, which ends the object
 * (e.g. "\"counters\":{...}}"). b (the caller's) is reset and holds the
 * message afterwards. Returns 0, buf's -E2BIG/-ENOMEM (nothing published)
 * or mq_publish's negative errno (-ENOTCONN, ...). */
int svcbase_status(struct mq *mq, struct buf *b, const char *service, const char *instance,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Logs a change of the broker connection: "broker connected" (info) or
 * "broker connection lost" (warn), with url (borrowed). */
void svcbase_log_mq(bool up, const char *url);

/* Logs a change of a database connection: "database connected" (info) or
 * "database connection lost" (warn) with db's last error (db borrowed). */
void svcbase_log_db(bool up, const struct db *db);

/* The test of a periodic task on a tick: true when ready and period_ms have
 * passed since *last (loop time, ms), and then *last becomes now. A task run
 * at once the first time passes period 0 while *last is 0. */
bool svcbase_due(uint64_t now, uint64_t *last, uint64_t period_ms, bool ready);

/* The state of a service's stop, embedded in the service. Zeroed (calloc)
 * it means "running". */
struct svcbase_stop {
    bool stopping;           /* a stop was asked for */
    bool closing;            /* the clients and handles are being closed */
    uint64_t deadline;       /* loop time (ms) at which draining gives up */
    int pending;             /* closes not yet called back */
    void (*done)(void *arg); /* called once the last close is called back */
    void *done_arg;
};

/* Starts a stop: notes done(arg) and the drain deadline, drain_s seconds
 * from the loop's now. Returns 0, or -EALREADY if a stop was already asked
 * for (nothing changes). */
int svcbase_stop_begin(struct svcbase_stop *s, uv_loop_t *loop, int64_t drain_s,
                       void (*done)(void *arg), void *arg);

/* True once the drain deadline has passed. */
bool svcbase_stop_late(const struct svcbase_stop *s, uv_loop_t *loop);

/* One close was called back (a client's close callback, a handle's
 * close_cb): when it was the last one pending, calls done(done_arg). */
void svcbase_stop_closed(struct svcbase_stop *s);

/* Closes a handle of the service (its tick timer, ...) as one of the
 * pending closes: its close callback is svcbase_stop_closed. h's data
 * becomes s (a closing handle calls nothing else back). h is borrowed and
 * must stay valid until its close is called back. */
void svcbase_stop_close_handle(struct svcbase_stop *s, uv_handle_t *h);

#endif
