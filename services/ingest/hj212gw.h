/* hj212gw: the HJ 212 TCP gateway of eco-ingest.
 *
 * Field data loggers connect (they are the TCP clients) and keep long-lived
 * connections. Each connection has its own stream framer (libshared/hj212.h);
 * every frame is parsed, its MN looked up in the registry (protocol hj212,
 * active) and its PW verified against the stored crypt() hash. What the
 * gateway makes of a frame goes into the ingest spool through a small sink,
 * so it takes exactly the path an MQTT message takes (validation, one
 * transaction with the spool position, obs/latest publications):
 *
 *   eco/v1/in/<MN>           data uploads (CN 2011, 2051, 2061, 2031) as the
 *                            canonical readings message of the contract
 *   $hj212/event/<MN>        other uploads and the logger's answers (2081,
 *                            3020, 2021, 9012, ...), stored by ingest in
 *                            obs.device_event and published on
 *                            eco/v1/event/<site>
 *   $hj212/reject/<peer>     refused frames and junk, dead-lettered by ingest
 *                            with source hj212://<peer>
 *
 * Topics starting with '$' cannot come from the broker (ingest subscribes to
 * eco/v1/in/+ only), so the two internal prefixes cannot be forged by MQTT
 * clients. Payload formats are in docs/HJ212.md ("Inside ecowatch").
 *
 * Answers (9014 when the frame's Flag has bit A, 9013 to a 1013, then a 1012
 * setting the logger's clock) are written only after the sink's flush has
 * made the records they acknowledge durable: all connections' answers of a
 * loop iteration wait for one flush, done from a uv_check handle.
 *
 * Password checks use bcrypt, ~50 ms of CPU at cost 10: they run on libuv's thread
 * pool (uv_queue_work) and the connection's frames wait meanwhile (one frame
 * held, reading paused: the kernel's socket buffer is the bound). The verdict
 * is cached on the connection per (MN, PW, stored hash), so a logger pays
 * once per connection and a wrong password is not re-hashed on every frame;
 * the last password that verified for each MN is also kept for the
 * gateway's lifetime, so a logger that reconnects is not hashed again (a
 * restart of eco-ingest therefore costs one hash per logger).
 *
 * Connections are untrusted until a frame's password verifies
 * ("authenticated"). An unauthenticated connection must present such a frame
 * within auth_s (a frame waiting for its bcrypt verdict or for the registry
 * is not held against it), or it is closed. Unauthenticated connections may
 * take at most unauth_pct % of max_conn, and at most peer_max of them may
 * come from one address (an IPv6 /64): a newcomer beyond the address's
 * limit is refused; a newcomer that finds the connections or the
 * unauthenticated share full evicts the oldest unauthenticated connection
 * that has no frame in a check (else it is refused). So a flood of idle
 * sockets can neither fill the gateway nor keep a real logger out: a logger
 * sends its frame at once and is authenticated before the flood can push
 * it out, and then it no longer counts against the unauthenticated share.
 * A partial frame has an absolute deadline (frame_s from its first byte):
 * a sender trickling bytes is closed when it passes. Credentials (PW=...)
 * are masked in everything the gateway stores or publishes.
 *
 * Bounds: connections (max_conn; beyond it a connection is accepted and
 * closed at once, logged and counted), one read buffer and one framer per
 * connection (a frame is at most HJ212_FRAME_MAX bytes), answers waiting for
 * the flush (a few KiB per connection), unsent answers (a connection whose
 * peer does not read is closed), an idle timeout, and a connection that keeps
 * sending junk or refused frames is closed (HJ212GW_MAX_BAD_STREAK,
 * HJ212GW_MAX_JUNK). When the sink is full, reading stops (the loggers are
 * slowed down through TCP) until it has room.
 *
 * Threading: everything on the loop thread, except the password hashing,
 * which works on copies.
 *
 * This module is the connections: libuv TCP, admission, deadlines, answers.
 * What a frame is turned into is hj212rec (records, dead letters, masking),
 * who may send it is hj212auth (registry lookup, password checks, their
 * caches); both are tested without a socket. */
#ifndef ECO_INGEST_HJ212GW_H
#define ECO_INGEST_HJ212GW_H

#include "registry.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* Consecutive refused frames or junk spans after which a connection is
 * closed, and junk bytes since the last good frame likewise. */
#define HJ212GW_MAX_BAD_STREAK 32
#define HJ212GW_MAX_JUNK (64 * 1024)

/* What the gateway needs from ingest. All called on the loop thread. */
struct hj212gw_sink {
    void *ud;
    /* Appends one record to the durable queue (buffered until flush).
     * Returns 0 or a negative errno; on error the connection is closed
     * without an answer, so the logger sends the frame again. */
    int (*append)(void *ud, const char *topic, size_t tlen, const void *payload, size_t len);
    /* Makes the appended records durable and lets the consumer store them.
     * Answers are written only after it returned 0. */
    int (*flush)(void *ud);
    /* True while the queue is at its bound: the gateway stops reading. */
    bool (*full)(void *ud);
    /* The registry, or NULL while it is not loaded (frames wait). Borrowed
     * for the duration of one callback: it may be swapped between calls. */
    const struct reg *(*registry)(void *ud);
};

struct hj212gw_opts {
    const char *addr; /* host:port to listen on; copied */
    int max_conn;     /* connections at once; 0: 2000 */
    int idle_s;       /* close a connection silent for this long; 0: 600 */
    int auth_s;       /* an authenticated frame within this long, or closed; 0: 10 */
    int frame_s;      /* a frame complete within this long of its first byte; 0: 30 */
    int peer_max;     /* unauthenticated connections from one address; 0: 64 */
    int unauth_pct;   /* share of max_conn unauthenticated connections may take; 0: 50 */
};

struct hj212gw_counters {
    uint64_t conns_accepted, conns_refused, conns_open;
    uint64_t conns_closed_idle, conns_closed_bad; /* by the policies above */
    uint64_t conns_refused_peer;                  /* refused: the address's limit */
    uint64_t conns_evicted;                       /* unauthenticated, pushed out by a newcomer */
    uint64_t conns_closed_auth;                   /* no authenticated frame within auth_s */
    uint64_t conns_closed_slow;                   /* a frame not complete within frame_s */
    uint64_t conns_unauth;                        /* open and not yet authenticated (gauge) */
    uint64_t frames;                              /* frames delimited by the framers */
    uint64_t data_frames;                         /* data uploads turned into readings messages */
    uint64_t values;                              /* values put into readings messages */
    uint64_t events;                              /* event records */
    uint64_t rejected;                            /* dead-lettered frames and junk spans */
    uint64_t unknown_mn, bad_password, unmapped;  /* among them (unmapped: frames) */
    uint64_t junk_bytes;
    uint64_t ignored_values; /* secondary values without a mapping */
    uint64_t answers;        /* frames written back (9014, 9013, 1012) */
    uint64_t auth_checks;    /* bcrypt verifications run */
    uint64_t lax;            /* frames accepted with some leniency */
    uint64_t stalls;         /* times reading stopped because the sink was full */
};

struct hj212gw;

/* Creates the gateway on loop (handles initialised, nothing bound). opts is
 * copied; sink is copied and its ud borrowed (must outlive the gateway).
 * Returns 0, -EINVAL (bad address) or -ENOMEM. */
int hj212gw_new(uv_loop_t *loop, const struct hj212gw_opts *opts, const struct hj212gw_sink *sink,
                struct hj212gw **out);

/* Binds and listens. Returns 0 or a negative errno (-EADDRINUSE, ...). After
 * a failure the gateway must still be closed with hj212gw_close. */
int hj212gw_start(struct hj212gw *gw);

/* The port it listens on (useful with port 0), or -1. */
int hj212gw_port(const struct hj212gw *gw);

/* Stops taking data: closes the listener, stops reading every connection,
 * flushes the sink and writes the answers owed. Frames waiting for a
 * password check are dropped unanswered (the logger resends them).
 * Connections stay open until hj212gw_close. Idempotent. */
void hj212gw_stop(struct hj212gw *gw);

/* Stops, closes every connection and handle, cancels queued password
 * checks; `done(ud)` (may be NULL) runs on the loop once all of that is
 * over, after the gateway has been freed. NULL gw: done runs at once. */
void hj212gw_close(struct hj212gw *gw, void (*done)(void *ud), void *ud);

/* Copies the counters. */
void hj212gw_get_counters(const struct hj212gw *gw, struct hj212gw_counters *out);

/* Logs the counters and, for each registered device refused since the last
 * call, one warning with its count and last reason (at most 20 lines; the
 * rest summed). For ingest's status tick. */
void hj212gw_report(struct hj212gw *gw);

/* Writes "\"hj212\":{...}" (the main counters as JSON members) into out
 * (always NUL-terminated). Returns the length, or 0 when it did not fit. */
size_t hj212gw_status_json(const struct hj212gw *gw, char *out, size_t cap);

#endif
