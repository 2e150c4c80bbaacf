/* mq: the one MQTT 5 client of ecowatch, driven by a libuv loop.
 *
 * Built on libmosquitto used without its own thread: the client's socket is
 * watched by one uv_poll_t and its keepalive runs from a uv_timer_t, so every
 * callback below runs on the loop thread and no message crosses a thread.
 * That is also why it is fast: no hand-off queue, no locks, and pausing the
 * reader (mq_pause) pushes back on the broker through TCP instead of
 * buffering. (docs/ARCHITECTURE.md records why this replaced paho.)
 *
 * It reconnects by itself with capped exponential backoff, renews its
 * subscriptions after every connect, publishes a retained status on
 * eco/v1/sys/{service}/{instance} ("online" on connect, "offline" on a clean
 * close, and the same "offline" as its last will), and bounds the QoS 1
 * publishes that wait for an acknowledgement.
 *
 * Threading: everything here must be called on the loop thread. */
#ifndef ECO_MQ_H
#define ECO_MQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* Subscriptions remembered for renewal after a reconnect. */
#define MQ_MAX_SUBS 16
#define MQ_TOPIC_MAX 256

struct mq;

/* A received message. Every pointer is borrowed for the duration of the
 * on_message call only: copy what must outlive it. payload is not
 * NUL-terminated. */
struct mq_msg {
    const char *topic;
    const void *payload;
    size_t len;
    int qos;
    bool retain;
    const char *response_topic; /* MQTT 5 request/response; NULL if absent */
    const void *corr;           /* correlation data; NULL if absent */
    size_t corr_len;
};

/* What to publish beyond topic and payload (MQTT 5 properties). */
struct mq_pub {
    const char *topic;
    const void *payload;
    size_t len;
    int qos;
    bool retain;
    const char *response_topic; /* may be NULL */
    const void *corr;           /* may be NULL */
    size_t corr_len;
    uint32_t expiry_s; /* message expiry interval; 0 = none */
};

struct mq_cbs {
    /* A message on a subscribed topic. */
    void (*on_message)(void *ud, const struct mq_msg *m);
    /* Connected (subscriptions renewed, status published) or disconnected. */
    void (*on_state)(void *ud, bool connected);
    /* The broker acknowledged QoS 1 publish `mid` (or a QoS 0 publish was
     * written). */
    void (*on_published)(void *ud, int mid);
    /* A burst of received messages ended. Acknowledgements (PUBACK) for the
     * burst are written to the broker only after this returns, so a service
     * that makes messages durable here (a spool) loses nothing when it is
     * killed: the broker redelivers what was not acknowledged. May be NULL. */
    void (*on_burst_end)(void *ud);
};

struct mq_opts {
    const char *url;       /* mqtt://host:port (tcp:// accepted), mqtts://host:port (TLS) */
    const char *cafile;    /* mqtts: PEM CA bundle to verify the broker; NULL: the system's */
    const char *user;      /* may be NULL or "" */
    const char *password;  /* may be NULL or "" */
    const char *client_id; /* unique per instance; NULL: generated */
    const char *service;   /* status topic eco/v1/sys/{service}/{instance}; NULL: none */
    const char *instance;
    int keepalive_s; /* 0: 30 */
    bool persistent; /* keep the session while away (clean start off) */
    uint32_t session_expiry_s;
    int max_outstanding; /* QoS 1 publishes awaiting PUBACK; 0: 1000 */
    int receive_max;     /* inbound QoS 1 window granted to the broker; 0: 1000 */
};

/* Initialises libmosquitto; call once from main before any mq_new. */
void mq_global_init(void);
void mq_global_cleanup(void);

/* Creates a client; strings in opts are copied; cbs and ud are borrowed and
 * must outlive the client. Nothing is sent until mq_start. Returns 0,
 * -EINVAL (bad URL or options) or -ENOMEM. */
int mq_new(uv_loop_t *loop, const struct mq_opts *opts, const struct mq_cbs *cbs, void *ud,
           struct mq **out);

/* Starts connecting; failures are retried forever with backoff. */
int mq_start(struct mq *mq);

/* Subscribes now (if connected) and after every reconnect. Returns 0,
 * -ENOSPC past MQ_MAX_SUBS, -EINVAL. */
int mq_subscribe(struct mq *mq, const char *filter, int qos);

/* Removes filter from the broker's session, now (if connected) and on
 * every connect where the broker kept the session: for a filter that an
 * earlier run subscribed and the current configuration no longer asks for
 * (a persistent session outlives the process and keeps its subscriptions).
 * Removing a filter the session does not hold is harmless. Returns 0,
 * -ENOSPC past MQ_MAX_SUBS, -EINVAL (also for a filter mq_subscribe asked
 * for), -EIO. */
int mq_unsubscribe(struct mq *mq, const char *filter);

/* Publishes. Returns 0 (with *mid, may be NULL), -ENOTCONN when not
 * connected, -EAGAIN when max_outstanding QoS 1 publishes await their
 * acknowledgement (wait for on_published), -EINVAL, -E2BIG, -EIO. */
int mq_publish(struct mq *mq, const char *topic, const void *payload, size_t len, int qos,
               bool retain, int *mid);
int mq_publish_ex(struct mq *mq, const struct mq_pub *p, int *mid);

/* Answers an MQTT 5 request: publishes payload to req->response_topic with
 * req's correlation data, QoS 1. -EINVAL when req has no response topic. */
int mq_reply(struct mq *mq, const struct mq_msg *req, const void *payload, size_t len);

/* Stops (true) or resumes (false) reading from the broker. While paused the
 * broker queues for us and TCP slows it down: the data-path alternative to
 * dropping. Keep pauses shorter than the keepalive. */
void mq_pause(struct mq *mq, bool paused);

/* Drops the connection at once, without sending what is queued (notably
 * the PUBACKs of the current burst): for a service that could not make
 * received messages durable, so the broker redelivers them. Reconnects as
 * after any loss. */
void mq_abort(struct mq *mq);

bool mq_connected(const struct mq *mq);
/* QoS 1 publishes sent and not yet acknowledged. */
int mq_outstanding(const struct mq *mq);

/* Publishes the retained "offline" status, disconnects and closes the
 * handles; `done` (may be NULL) runs on the loop once everything is closed,
 * after which the client is freed. Waits at most ~1 s for the broker. */
void mq_close(struct mq *mq, void (*done)(void *ud));

/* Parses mqtt://[user[:pass]@]host[:port] (default 1883) or mqtts://...
 * (TLS, default 8883; *tls set when tls is not NULL). Returns 0 or -EINVAL. */
int mq_parse_url(const char *url, char *host, size_t hostcap, int *port, bool *tls);

#endif
