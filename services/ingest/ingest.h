/* ingest: the eco-ingest service. Readings arrive on eco/v1/in/{device}
 * (shared subscription), are appended to the local spool and flushed before
 * the broker is acknowledged, then read back in order, checked against the
 * registry and stored in batches (batch.h): one transaction per batch (itx.h) COPYs the
 * readings into obs.reading (through a staging table and ON CONFLICT DO
 * NOTHING when the batch holds a repeat) and stores track points, dead
 * letters and the spool position. After the commit the normalized readings
 * go out on eco/v1/obs/{site} and the rejections on eco/v1/dlq/ingest.
 * About once a second another transaction brings obs.latest up to date
 * (latest.h) and the retained eco/v1/latest/{site}/{param} topics follow.
 *
 * With ECO_INGEST_HJ212_ADDR set, an HJ 212 TCP gateway (hj212gw.h) feeds
 * the same spool: data uploads as readings messages, other uploads as
 * device events (obs.device_event, eco/v1/event/{site}), refused frames as
 * dead letters.
 *
 * Exactly once: a record is in obs.reading iff its sequence is at or below
 * the committed spool position (same transaction); records above it are
 * replayed after a restart or a lost connection; duplicates from the broker
 * land on the unique key and do nothing. obs.latest has its own position
 * (latest_seq): the records between the two are read again for their latest
 * values after a restart.
 *
 * Loop thread only. */
#ifndef ECO_INGEST_H
#define ECO_INGEST_H

#include "cfg.h"

#include <stdint.h>
#include <uv.h>

struct ingest_conf {
    char mqtt_url[CFG_STR_MAX];
    char mqtt_user[CFG_STR_MAX];
    char mqtt_password[CFG_STR_MAX];
    char mqtt_cafile[CFG_STR_MAX];
    char pg_dsn[CFG_STR_MAX];
    char instance[CFG_STR_MAX];
    char share_group[CFG_STR_MAX];
    char spool_dir[CFG_STR_MAX];
    char hj212_addr[CFG_STR_MAX];
    char log_level[CFG_STR_MAX];
    int64_t spool_max_mb;
    int64_t spool_segment_mb;
    int spool_fsync;
    int64_t batch_rows;
    int64_t max_payload;
    int64_t max_future_s;
    int64_t registry_refresh_s;
    int64_t status_s;
    int64_t drain_s;
    int64_t latest_flush_ms;
    int64_t latest_max;
    int64_t outbox_max;
    int64_t hj212_max_conn;
    int64_t hj212_idle_s;
    int64_t hj212_auth_s, hj212_frame_s, hj212_peer_max, hj212_unauth_pct;
};

/* The configuration table (cfg.h) of eco-ingest. */
extern const struct cfg_prog ingest_prog;

struct ingest;

/* Creates the service on loop; conf is borrowed and must outlive it. */
int ingest_new(uv_loop_t *loop, const struct ingest_conf *conf, struct ingest **out);
/* Opens the spool and starts connecting to the broker and the database. */
int ingest_start(struct ingest *in);
/* Begins a graceful stop: stop taking messages, store what was received,
 * publish what is pending, close everything (bounded by drain_s). `done`
 * runs when every handle is closed; then the loop has nothing left. */
void ingest_stop(struct ingest *in, void (*done)(void *arg), void *arg);
/* Sets the `done` of a stop the service begins by itself after a fatal
 * error (the exit code is then 1), so that the loop ends. */
void ingest_on_exit(struct ingest *in, void (*done)(void *arg), void *arg);
/* Frees the service after `done` ran. */
void ingest_free(struct ingest *in);
/* Exit status the service wants (0, or 1 after a fatal error). */
int ingest_exit_code(const struct ingest *in);

#endif
