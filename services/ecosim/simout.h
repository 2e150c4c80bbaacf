/* simout: where the generated messages go.
 *
 *   stdout  one line per message, "topic TAB payload" (HJ 212 frames as
 *           "hj212/MN TAB frame"), for tests and debugging without a broker;
 *   MQTT    the readings JSON of the contract to eco/v1/in/{device}, QoS 1,
 *           through the libshared mq client on the caller's libuv loop;
 *   HJ 212  with an HJ 212 gateway address, devices of protocol hj212 speak
 *           HJ 212-2017 over TCP instead: one connection per logger (MN and
 *           PW from devices.csv), frames from the libshared hj212 encoder,
 *           split (Flag D, PNUM/PNO) above 1024 bytes, Flag A set when
 *           acknowledgements are wanted; 9014 answers are read and counted.
 *
 * Never drops: a full MQTT window (mq_publish -EAGAIN), a missing broker
 * connection or a full logger queue make simout_send return -EAGAIN, and
 * on_ready says when to try again. A logger that loses its connection
 * reconnects with backoff and sends again what was not acknowledged
 * (duplicates are harmless: readings are unique per site, param, period
 * and time). Loggers that cannot reach the gateway when the run starts are
 * reported and left out; the MQTT devices go on.
 *
 * simout borrows the network and the loop; everything runs on the loop
 * thread. */
#ifndef ECO_SIMOUT_H
#define ECO_SIMOUT_H

#include "simgen.h"
#include "simnet.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>

/* Largest JSON payload / HJ 212 frame set of one message. */
#define SIMOUT_PAYLOAD_MAX 8192
/* Bytes a logger may hold unsent/unacknowledged before send says -EAGAIN. */
#define SIMOUT_HJ_QUEUE_MAX (256 * 1024)

struct simout_opts {
    FILE *out;                 /* non-NULL: print lines here instead of sending */
    const char *mqtt_url;      /* mqtt://host:port */
    const char *mqtt_user;     /* may be "" */
    const char *mqtt_password; /* may be "" */
    const char *mqtt_cafile;   /* may be "" */
    const char *instance;      /* status topic eco/v1/sys/ecosim/{instance} */
    int window;                /* QoS 1 publishes awaiting PUBACK */
    const char *hj212_addr;    /* "host:port", or NULL/"" for MQTT only */
    bool hj212_ack;            /* ask for 9014 answers (Flag A) */
};

struct simout_cbs {
    /* simout_send may succeed again (window room, reconnected, ...). */
    void (*on_ready)(void *ud);
};

struct simout_stats {
    uint64_t mqtt_sent, mqtt_acked, mqtt_bytes;
    uint64_t lines;                /* stdout mode */
    uint64_t hj_msgs, hj_frames;   /* messages and frames queued for loggers */
    uint64_t hj_written, hj_acked; /* frames written to the socket / answered by 9014 */
    uint64_t hj_other;             /* other frames received (ignored) */
    uint64_t hj_bad;               /* unparsable bytes received */
    uint64_t hj_reconnects;
    uint64_t hj_skipped; /* messages of unreachable loggers, or without codes */
    int hj_loggers, hj_unreachable;
};

struct simout;

/* Creates the transport; nothing connects before simout_start. Returns 0,
 * -EINVAL (bad URL or address), -ENOMEM. */
int simout_new(uv_loop_t *loop, const struct simnet *net, const struct simout_opts *o,
               const struct simout_cbs *cbs, void *ud, struct simout **out);

/* Connects: the broker (retried forever), and each logger once; on_ready
 * fires when simout_ready becomes true. Returns 0 or a negative errno. */
int simout_start(struct simout *so);

/* True when sending may begin: connected to the broker (or printing) and
 * every logger's first connection attempt has finished. */
bool simout_ready(const struct simout *so);

/* Sends one message. Returns 0 (queued/sent), -EAGAIN (not now: wait for
 * on_ready; the same message must be offered again), -E2BIG (too large),
 * -EPIPE (the reader of stdout went away), -EIO (writing stdout failed). */
int simout_send(struct simout *so, const struct simgen_msg *m);

/* True when everything sent has been acknowledged (PUBACK; 9014 when
 * acknowledgements were asked for, else written). */
bool simout_drained(const struct simout *so);

/* Messages (MQTT) and frames (HJ 212) sent and not yet acknowledged. */
uint64_t simout_unacked(const struct simout *so);

/* Broker connection state (always true when printing). */
bool simout_connected(const struct simout *so);

const struct simout_stats *simout_stats(const struct simout *so);

/* Closes connections and handles; done(ud) runs on the loop when all are
 * closed, after which simout is freed. */
void simout_close(struct simout *so, void (*done)(void *ud));

/* The topic of m: eco/v1/in/{device}. Returns 0 or -E2BIG. */
int simout_topic(const struct simnet *net, const struct simgen_msg *m, char *buf, size_t cap);

/* The contract's readings JSON of m into buf (NUL-terminated). Returns 0,
 * -E2BIG, -ENOMEM. */
int simout_json(const struct simnet *net, const struct simgen_msg *m, char *buf, size_t cap,
                size_t *len);

/* HJ 212 frames of m, back to back, each ending in CR LF; one frame unless
 * the data segment would exceed 1024 bytes (then Flag D, PNUM, PNO). QNs
 * are qn_us, qn_us + 1 ms, ... (*last_qn_us gets the last). flag is the
 * Flag value without the D bit (4, or 5 to ask for answers). Channels
 * whose param has no HJ 212 code are left out. Returns the number of
 * frames (0 when nothing could be expressed) or -E2BIG / -EINVAL. */
int simout_hj212(const struct simnet *net, const struct simgen_msg *m, int flag, int64_t qn_us,
                 char *buf, size_t cap, size_t *len, int64_t *last_qn_us);

#endif
