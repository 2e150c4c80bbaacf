#include "mq.h"

#include "etime.h"

#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MQ_BACKOFF_MIN_MS 200
#define MQ_BACKOFF_MAX_MS 10000
/* How many packets one readable event may process before yielding to the
 * rest of the loop (the database, timers). */
#define MQ_READ_BUDGET 256

/* Where Debian (ca-certificates) keeps the hashed system CA certificates. */
#define MQ_SYSTEM_CA_DIR "/etc/ssl/certs"

/* One poll handle per socket: libmosquitto opens a new socket on every
 * reconnect, and libuv forbids two poll handles on one fd, so each socket
 * gets its own heap-allocated watcher, freed in its close callback. */
struct mq_watch {
    uv_poll_t poll;
    struct mq *mq;
    int fd;
    int events;
};

struct mq {
    uv_loop_t *loop;
    struct mosquitto *mosq;
    struct mq_cbs cbs;
    void *ud;
    char host[256];
    int port;
    int keepalive_s;
    int max_outstanding;
    char status_topic[MQ_TOPIC_MAX];
    char subs[MQ_MAX_SUBS][MQ_TOPIC_MAX];
    int sub_qos[MQ_MAX_SUBS];
    int nsubs;
    char unsubs[MQ_MAX_SUBS][MQ_TOPIC_MAX]; /* removed from a kept session */
    int nunsubs;
    bool session_present; /* the last CONNACK said the broker kept our session */
    bool tls;             /* mqtts:// */
    struct mq_watch *watch;
    uv_timer_t tick;  /* keepalive and reconnect backoff */
    uv_timer_t drain; /* TLS: reads what OpenSSL holds that poll cannot see */
    int backoff_ms;
    uint64_t retry_at; /* loop time of the next connect attempt; 0 = none */
    bool connected;
    bool just_connected; /* CONNACK seen; subscriptions not yet renewed */
    bool paused;
    bool closing;
    int outstanding;
    int pending_closes;
    void (*done)(void *ud);
    mosquitto_property *connect_props; /* until the first connect copies them */
    int close_mid;                     /* the "offline" publication a close waits for */
};

void mq_global_init(void)
{
    mosquitto_lib_init();
}

void mq_global_cleanup(void)
{
    mosquitto_lib_cleanup();
}

int mq_parse_url(const char *url, char *host, size_t hostcap, int *port, bool *tls)
{
    const char *p = url, *at, *colon;
    char *end;
    long v;
    size_t hl;
    bool secure = false;

    if (strncmp(p, "mqtt://", 7) == 0)
        p += 7;
    else if (strncmp(p, "tcp://", 6) == 0)
        p += 6;
    else if (strncmp(p, "mqtts://", 8) == 0) {
        p += 8;
        secure = true;
    } else
        return -EINVAL;
    at = strrchr(p, '@');
    if (at)
        p = at + 1;
    colon = strrchr(p, ':');
    if (!colon) {
        hl = strlen(p);
        v = secure ? 8883 : 1883;
    } else {
        hl = (size_t)(colon - p);
        errno = 0;
        v = strtol(colon + 1, &end, 10);
        if (errno || end == colon + 1 || (*end && strcmp(end, "/") != 0) || v < 1 || v > 65535)
            return -EINVAL;
    }
    if (hl == 0 || hl >= hostcap)
        return -EINVAL;
    memcpy(host, p, hl);
    host[hl] = '\0';
    *port = (int)v;
    if (tls)
        *tls = secure;
    return 0;
}

/* Frees the client once its last handle has closed, then tells the owner. */
static void mq__release(struct mq *mq)
{
    void (*done)(void *) = mq->done;
    void *ud = mq->ud;

    mosquitto_property_free_all(&mq->connect_props);
    mosquitto_destroy(mq->mosq);
    free(mq);
    if (done)
        done(ud);
}

static void mq__watch_closed(uv_handle_t *h)
{
    struct mq_watch *w = h->data;
    struct mq *mq = w->mq;
    free(w);
    if (--mq->pending_closes == 0 && mq->closing)
        mq__release(mq);
}

static void mq__unwatch(struct mq *mq)
{
    if (!mq->watch)
        return;
    uv_poll_stop(&mq->watch->poll);
    uv_close((uv_handle_t *)&mq->watch->poll, mq__watch_closed);
    mq->watch = NULL;
}

static void mq__on_poll(uv_poll_t *p, int status, int events);
static void mq__connected(struct mq *mq);
static void mq__finish_close(uv_timer_t *t);

/* Re-arms the poll handle for what the client needs now: read unless paused,
 * write while libmosquitto has queued packets. */
/* A reconnect's TLS handshake is still running: libmosquitto connects
 * non-blocking, and only mosquitto_loop_read advances the handshake
 * (SSL_connect), whatever the socket is ready for. */
static bool mq__tls_handshaking(struct mq *mq)
{
    SSL *ssl;
    if (!mq->tls || mosquitto_socket(mq->mosq) < 0)
        return false;
    ssl = mosquitto_ssl_get(mq->mosq);
    return ssl && !SSL_is_init_finished(ssl);
}

static void mq__rearm(struct mq *mq)
{
    int fd = mosquitto_socket(mq->mosq);
    int want;

    if (fd < 0) {
        mq__unwatch(mq);
        return;
    }
    if (mq->watch && mq->watch->fd != fd)
        mq__unwatch(mq);
    if (!mq->watch) {
        struct mq_watch *w = calloc(1, sizeof(*w));
        if (!w)
            return; /* retried on the next tick */
        w->mq = mq;
        w->fd = fd;
        if (uv_poll_init(mq->loop, &w->poll, fd) != 0) {
            free(w);
            return;
        }
        w->poll.data = w;
        mq->pending_closes++;
        mq->watch = w;
    }
    want = (mq->paused && mq->connected) ? 0 : UV_READABLE;
    if (mq__tls_handshaking(mq)) {
        /* libmosquitto reports no write interest while its TLS handshake
         * runs; OpenSSL knows what the handshake waits for */
        want = UV_READABLE;
        if (SSL_want_write((SSL *)mosquitto_ssl_get(mq->mosq)))
            want |= UV_WRITABLE;
    } else if (mosquitto_want_write(mq->mosq))
        want |= UV_WRITABLE;
    if (want != mq->watch->events) {
        mq->watch->events = want;
        if (want)
            uv_poll_start(&mq->watch->poll, want, mq__on_poll);
        else
            uv_poll_stop(&mq->watch->poll);
    }
}

static void mq__schedule_retry(struct mq *mq)
{
    if (mq->closing || mq->retry_at)
        return;
    mq->retry_at = uv_now(mq->loop) + (uint64_t)mq->backoff_ms;
    mq->backoff_ms =
        mq->backoff_ms * 2 > MQ_BACKOFF_MAX_MS ? MQ_BACKOFF_MAX_MS : mq->backoff_ms * 2;
}

static void mq__lost(struct mq *mq)
{
    bool was = mq->connected && !mq->just_connected;
    mq->connected = false;
    mq->just_connected = false;
    /* Unacknowledged QoS 1 publishes are resent by libmosquitto after the
     * reconnect; the window count starts over with them. */
    mq->outstanding = 0;
    mq__unwatch(mq);
    if (was && mq->cbs.on_state)
        mq->cbs.on_state(mq->ud, false);
    mq__schedule_retry(mq);
}

/* libmosquitto 2.0 takes an OpenSSL "syscall" error during the handshake
 * for "try again", so a refused or reset connection would be retried
 * forever on a socket that is always ready: the socket is checked here
 * first (a pending error, no peer, or end of stream). */
static bool mq__tls_socket_ok(struct mq *mq, int events)
{
    int fd = mosquitto_socket(mq->mosq), err = 0;
    socklen_t len = sizeof err;
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    char c;

    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0 ||
        getpeername(fd, (struct sockaddr *)&peer, &plen) != 0)
        return false;
    if ((events & UV_READABLE) && recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0)
        return false;
    return true;
}

static void mq__drain_later(struct mq *mq);

static void mq__on_poll(uv_poll_t *p, int status, int events)
{
    struct mq_watch *w = p->data;
    struct mq *mq = w->mq;
    int rc = MOSQ_ERR_SUCCESS;

    if (status < 0) {
        /* error or hang-up: one read lets libmosquitto see it and close its
         * socket; the reconnect starts from a clean state */
        mosquitto_loop_read(mq->mosq, 1);
        mq__lost(mq);
        return;
    }
    if (mq__tls_handshaking(mq)) {
        if (!mq__tls_socket_ok(mq, events)) {
            mq__lost(mq);
            return;
        }
        rc = mosquitto_loop_read(mq->mosq, 1);
        if (rc != MOSQ_ERR_SUCCESS || mosquitto_socket(mq->mosq) < 0) {
            mq__lost(mq);
            return;
        }
        /* done: the CONNECT queued by the reconnect goes out next */
        if (!mq__tls_handshaking(mq) && mosquitto_want_write(mq->mosq))
            events |= UV_WRITABLE;
        else {
            mq__rearm(mq);
            return;
        }
    }
    if (events & UV_WRITABLE)
        rc = mosquitto_loop_write(mq->mosq, 1);
    if (rc == MOSQ_ERR_SUCCESS && (events & UV_READABLE)) {
        /* loop_read handles one packet per call here; keep reading until the
         * socket is drained (EAGAIN) or the budget is spent. */
        for (int i = 0; i < MQ_READ_BUDGET && mq->watch == w; i++) {
            errno = 0;
            rc = mosquitto_loop_read(mq->mosq, 1);
            if (rc != MOSQ_ERR_SUCCESS || errno == EAGAIN || errno == EWOULDBLOCK ||
                (mq->paused && mq->connected))
                break;
        }
    }
    if (mq->just_connected && mq->connected && !mq->closing)
        mq__connected(mq);
    if (mq->cbs.on_burst_end && (events & UV_READABLE))
        mq->cbs.on_burst_end(mq->ud);
    if (mq->closing && !mq->watch)
        return;
    /* A DISCONNECT from the broker (it is shutting down) closes the socket
     * inside loop_read, which still returns success. */
    if (rc != MOSQ_ERR_SUCCESS || mosquitto_socket(mq->mosq) < 0) {
        if (!mq->closing)
            mq__lost(mq);
        return;
    }
    mq__rearm(mq);
    mq__drain_later(mq);
}

static void mq__on_drain(uv_timer_t *t)
{
    struct mq *mq = t->data;
    if (mq->watch && !mq->closing)
        mq__on_poll(&mq->watch->poll, 0, UV_READABLE);
}

/* With TLS, a read can leave whole records decrypted inside OpenSSL after
 * the socket is empty (the read budget ran out, or a pause stopped it);
 * poll never reports those, so the next read is scheduled here. */
static void mq__drain_later(struct mq *mq)
{
    SSL *ssl;
    if (!mq->tls || mq->closing || (mq->paused && mq->connected) || !mq->watch)
        return;
    ssl = mosquitto_ssl_get(mq->mosq);
    if (ssl && (SSL_pending(ssl) > 0 || SSL_has_pending(ssl)))
        uv_timer_start(&mq->drain, mq__on_drain, 0, 0);
}

/* Returns the message id of the publication, or 0 when none was sent. */
static int mq__publish_status(struct mq *mq, const char *status)
{
    char payload[256], ts[ETIME_RFC3339_MAX];
    int mid = 0;

    if (!mq->status_topic[0])
        return 0;
    etime_format(etime_now_us(), 0, ts, sizeof(ts));
    snprintf(payload, sizeof(payload), "{\"status\":\"%s\",\"version\":\"%s\",\"ts\":\"%s\"}",
             status, ECO_VERSION, ts);
    if (mosquitto_publish_v5(mq->mosq, &mid, mq->status_topic, (int)strlen(payload), payload, 1,
                             true, NULL) != MOSQ_ERR_SUCCESS)
        return 0;
    return mid;
}

static void mq__on_connect(struct mosquitto *m, void *ud, int rc, int flags,
                           const mosquitto_property *props)
{
    struct mq *mq = ud;
    (void)m;
    (void)props;
    if (rc != 0) {
        /* refused (bad credentials, ...): the broker closes; retry later */
        return;
    }
    /* libmosquitto calls this before it marks the session active and
     * resends what was in flight; subscribing and publishing wait until the
     * read that delivered the CONNACK returns (mq__connected). */
    mq->connected = true;
    mq->just_connected = true;
    mq->session_present = (flags & 1) != 0; /* MQTT 5 CONNACK: session present */
    mq->backoff_ms = MQ_BACKOFF_MIN_MS;
    mq->retry_at = 0;
}

static void mq__connected(struct mq *mq)
{
    mq->just_connected = false;
    /* A kept session holds the subscriptions of every earlier run, which may
     * have asked for other filters: drop those first, or the broker keeps
     * delivering to them (twice, when they overlap what we ask for now).
     * The broker handles packets in order, so this precedes the renewal. */
    if (mq->session_present)
        for (int i = 0; i < mq->nunsubs; i++)
            mosquitto_unsubscribe_v5(mq->mosq, NULL, mq->unsubs[i], NULL);
    for (int i = 0; i < mq->nsubs; i++)
        mosquitto_subscribe_v5(mq->mosq, NULL, mq->subs[i], mq->sub_qos[i], 0, NULL);
    mq__publish_status(mq, "online");
    if (mq->cbs.on_state)
        mq->cbs.on_state(mq->ud, true);
}

static void mq__on_disconnect(struct mosquitto *m, void *ud, int rc,
                              const mosquitto_property *props)
{
    (void)m;
    (void)ud;
    (void)rc;
    (void)props;
    /* Handled where the read/write that noticed it returns (mq__lost). */
}

static void mq__on_publish(struct mosquitto *m, void *ud, int mid, int reason,
                           const mosquitto_property *props)
{
    struct mq *mq = ud;
    (void)m;
    (void)reason;
    (void)props;
    if (mq->outstanding > 0)
        mq->outstanding--;
    if (mq->closing && mid == mq->close_mid) {
        /* "offline" is safely retained: finish on the next loop turn */
        mq->close_mid = -1;
        uv_timer_stop(&mq->tick);
        uv_timer_start(&mq->tick, mq__finish_close, 0, 0);
        return;
    }
    if (mq->cbs.on_published)
        mq->cbs.on_published(mq->ud, mid);
}

static void mq__on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg,
                           const mosquitto_property *props)
{
    struct mq *mq = ud;
    struct mq_msg out = {0};
    char *rt = NULL;
    void *corr = NULL;
    uint16_t corr_len = 0;
    (void)m;

    out.topic = msg->topic;
    out.payload = msg->payload ? msg->payload : "";
    out.len = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;
    out.qos = msg->qos;
    out.retain = msg->retain;
    if (mosquitto_property_read_string(props, MQTT_PROP_RESPONSE_TOPIC, &rt, false))
        out.response_topic = rt;
    if (mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &corr, &corr_len,
                                       false)) {
        out.corr = corr;
        out.corr_len = corr_len;
    }
    if (mq->cbs.on_message)
        mq->cbs.on_message(mq->ud, &out);
    free(rt);
    free(corr);
}

static void mq__try_connect(struct mq *mq)
{
    int rc;

    mq->retry_at = 0;
    rc = mosquitto_reconnect_async(mq->mosq);
    if (rc != MOSQ_ERR_SUCCESS) {
        mq__schedule_retry(mq);
        return;
    }
    mq__rearm(mq);
}

static void mq__on_tick(uv_timer_t *t);

int mq_start(struct mq *mq)
{
    int rc;

    /* The first attempt goes through connect_bind_v5, which records host,
     * port and the CONNECT properties (session expiry) for every later
     * reconnect; it connects blocking, which on start-up costs at most one
     * TCP handshake. Later attempts are non-blocking. */
    rc = mosquitto_connect_bind_v5(mq->mosq, mq->host, mq->port, mq->keepalive_s, NULL,
                                   mq->connect_props);
    mosquitto_property_free_all(&mq->connect_props);
    if (rc == MOSQ_ERR_INVAL || rc == MOSQ_ERR_NOMEM)
        return rc == MOSQ_ERR_NOMEM ? -ENOMEM : -EINVAL;
    if (rc != MOSQ_ERR_SUCCESS)
        mq__schedule_retry(mq);
    else
        mq__rearm(mq);
    uv_timer_start(&mq->tick, mq__on_tick, 100, 100);
    return 0;
}

int mq_subscribe(struct mq *mq, const char *filter, int qos)
{
    size_t n = strlen(filter);

    if (n == 0 || n >= MQ_TOPIC_MAX || qos < 0 || qos > 2)
        return -EINVAL;
    if (mq->nsubs >= MQ_MAX_SUBS)
        return -ENOSPC;
    memcpy(mq->subs[mq->nsubs], filter, n + 1);
    mq->sub_qos[mq->nsubs++] = qos;
    if (mq->connected) {
        if (mosquitto_subscribe_v5(mq->mosq, NULL, filter, qos, 0, NULL) != MOSQ_ERR_SUCCESS)
            return -EIO;
        mq__rearm(mq);
    }
    return 0;
}

int mq_unsubscribe(struct mq *mq, const char *filter)
{
    size_t n = strlen(filter);

    if (n == 0 || n >= MQ_TOPIC_MAX)
        return -EINVAL;
    for (int i = 0; i < mq->nsubs; i++)
        if (strcmp(mq->subs[i], filter) == 0)
            return -EINVAL; /* wanted and unwanted at once */
    for (int i = 0; i < mq->nunsubs; i++)
        if (strcmp(mq->unsubs[i], filter) == 0)
            return 0;
    if (mq->nunsubs >= MQ_MAX_SUBS)
        return -ENOSPC;
    memcpy(mq->unsubs[mq->nunsubs++], filter, n + 1);
    if (mq->connected && !mq->just_connected) {
        if (mosquitto_unsubscribe_v5(mq->mosq, NULL, filter, NULL) != MOSQ_ERR_SUCCESS)
            return -EIO;
        mq__rearm(mq);
    }
    return 0;
}

int mq_publish_ex(struct mq *mq, const struct mq_pub *p, int *mid)
{
    mosquitto_property *props = NULL;
    int rc, m = 0, ret = 0;

    if (!p->topic || !*p->topic || p->qos < 0 || p->qos > 1)
        return -EINVAL;
    if (p->len > 256 * 1024 * 1024)
        return -E2BIG;
    if (!mq->connected || mq->closing)
        return -ENOTCONN;
    if (p->qos == 1 && mq->outstanding >= mq->max_outstanding)
        return -EAGAIN;
    if ((p->response_topic &&
         mosquitto_property_add_string(&props, MQTT_PROP_RESPONSE_TOPIC, p->response_topic)) ||
        (p->corr && mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, p->corr,
                                                  (uint16_t)p->corr_len)) ||
        (p->expiry_s &&
         mosquitto_property_add_int32(&props, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL, p->expiry_s))) {
        ret = -EINVAL;
        goto out;
    }
    rc = mosquitto_publish_v5(mq->mosq, &m, p->topic, (int)p->len, p->payload, p->qos, p->retain,
                              props);
    switch (rc) {
    case MOSQ_ERR_SUCCESS:
        break;
    case MOSQ_ERR_NO_CONN:
        ret = -ENOTCONN;
        goto out;
    case MOSQ_ERR_PAYLOAD_SIZE:
    case MOSQ_ERR_OVERSIZE_PACKET:
        ret = -E2BIG;
        goto out;
    case MOSQ_ERR_NOMEM:
        ret = -ENOMEM;
        goto out;
    case MOSQ_ERR_INVAL:
    case MOSQ_ERR_MALFORMED_UTF8:
        ret = -EINVAL;
        goto out;
    default:
        ret = -EIO;
        goto out;
    }
    if (p->qos == 1)
        mq->outstanding++;
    if (mid)
        *mid = m;
    mq__rearm(mq);
out:
    mosquitto_property_free_all(&props);
    return ret;
}

int mq_publish(struct mq *mq, const char *topic, const void *payload, size_t len, int qos,
               bool retain, int *mid)
{
    struct mq_pub p = {
        .topic = topic, .payload = payload, .len = len, .qos = qos, .retain = retain};
    return mq_publish_ex(mq, &p, mid);
}

int mq_reply(struct mq *mq, const struct mq_msg *req, const void *payload, size_t len)
{
    struct mq_pub p = {.topic = req->response_topic,
                       .payload = payload,
                       .len = len,
                       .qos = 1,
                       .corr = req->corr,
                       .corr_len = req->corr_len};
    if (!req->response_topic)
        return -EINVAL;
    return mq_publish_ex(mq, &p, NULL);
}

void mq_pause(struct mq *mq, bool paused)
{
    if (mq->paused == paused)
        return;
    mq->paused = paused;
    mq__rearm(mq);
    mq__drain_later(mq);
}

void mq_abort(struct mq *mq)
{
    int fd = mosquitto_socket(mq->mosq);
    /* shutdown, not close: libmosquitto still owns the descriptor; the next
     * read or write fails and takes the usual lost-connection path */
    if (fd >= 0)
        shutdown(fd, SHUT_RDWR);
}

bool mq_connected(const struct mq *mq)
{
    return mq->connected;
}

int mq_outstanding(const struct mq *mq)
{
    return mq->outstanding;
}

static void mq__tick_closed(uv_handle_t *h)
{
    struct mq *mq = h->data;
    if (--mq->pending_closes == 0)
        mq__release(mq);
}

/* The last step of a close: DISCONNECT (which tells the broker not to
 * publish the will), written at once, then the handles. */
static void mq__finish_close(uv_timer_t *t)
{
    struct mq *mq = t->data;

    if (mq->connected) {
        mosquitto_disconnect(mq->mosq);
        for (int i = 0; i < 64 && mosquitto_want_write(mq->mosq); i++)
            if (mosquitto_loop_write(mq->mosq, 1) != MOSQ_ERR_SUCCESS)
                break;
    }
    mq->connected = false;
    mq__unwatch(mq);
    uv_timer_stop(&mq->tick);
    uv_close((uv_handle_t *)&mq->tick, mq__tick_closed);
    uv_close((uv_handle_t *)&mq->drain, mq__tick_closed);
}

/* Runs from the loop, never from inside a libmosquitto callback: writing
 * there would take a lock libmosquitto already holds. The retained
 * "offline" goes out first and the DISCONNECT only after the broker
 * acknowledged it (or after a second): closing right behind an unanswered
 * QoS 1 publish makes mosquitto 2.0 treat the connection as broken and
 * publish the will instead. */
static void mq__do_close(uv_timer_t *t)
{
    struct mq *mq = t->data;

    if (mq->connected && mq->status_topic[0]) {
        mq->close_mid = mq__publish_status(mq, "offline");
        if (mq->close_mid > 0) {
            mq__rearm(mq);
            uv_timer_start(&mq->tick, mq__finish_close, 1000, 0);
            return;
        }
    }
    mq__finish_close(t);
}

void mq_close(struct mq *mq, void (*done)(void *ud))
{
    if (mq->closing)
        return;
    mq->done = done;
    mq->closing = true;
    uv_timer_stop(&mq->tick);
    uv_timer_start(&mq->tick, mq__do_close, 0, 0);
}

static void mq__on_tick(uv_timer_t *t)
{
    struct mq *mq = t->data;

    if (mq->closing)
        return;
    if (mq->retry_at) {
        /* lost: nothing to watch until the next attempt */
        if (uv_now(mq->loop) >= mq->retry_at)
            mq__try_connect(mq);
        return;
    }
    if (mosquitto_socket(mq->mosq) >= 0) {
        /* keepalive pings and the check that the broker still answers */
        if (mosquitto_loop_misc(mq->mosq) != MOSQ_ERR_SUCCESS) {
            mq__lost(mq);
            return;
        }
        mq__rearm(mq);
    }
}

int mq_new(uv_loop_t *loop, const struct mq_opts *o, const struct mq_cbs *cbs, void *ud,
           struct mq **out)
{
    struct mq *mq = NULL;
    mosquitto_property *props = NULL;
    char id[128], will[256], ts[ETIME_RFC3339_MAX];
    int rc = -EINVAL;

    *out = NULL;
    mq = calloc(1, sizeof(*mq));
    if (!mq)
        return -ENOMEM;
    mq->loop = loop;
    mq->cbs = *cbs;
    mq->ud = ud;
    mq->keepalive_s = o->keepalive_s > 0 ? o->keepalive_s : 30;
    mq->max_outstanding = o->max_outstanding > 0 ? o->max_outstanding : 1000;
    mq->backoff_ms = MQ_BACKOFF_MIN_MS;
    if (mq_parse_url(o->url, mq->host, sizeof(mq->host), &mq->port, &mq->tls))
        goto fail;
    if (o->client_id && *o->client_id)
        snprintf(id, sizeof(id), "%s", o->client_id);
    else
        snprintf(id, sizeof(id), "%s-%s-%ld", o->service ? o->service : "eco",
                 o->instance ? o->instance : "x", (long)getpid());
    if (o->service && o->service[0]) {
        int n = snprintf(mq->status_topic, sizeof(mq->status_topic), "eco/v1/sys/%s/%s", o->service,
                         o->instance && *o->instance ? o->instance : id);
        if (n < 0 || (size_t)n >= sizeof(mq->status_topic))
            goto fail;
    }
    rc = -ENOMEM;
    mq->mosq = mosquitto_new(id, !o->persistent, mq);
    if (!mq->mosq)
        goto fail;
    rc = -EINVAL;
    mosquitto_int_option(mq->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    /* "Threaded" tells libmosquitto not to write packets the moment they are
     * queued: PUBACKs then leave only from our writable handler, after
     * on_burst_end, instead of before on_message runs. */
    mosquitto_threaded_set(mq->mosq, true);
    mosquitto_int_option(mq->mosq, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_int_option(mq->mosq, MOSQ_OPT_RECEIVE_MAXIMUM,
                         o->receive_max > 0 ? o->receive_max : 1000);
    mosquitto_int_option(mq->mosq, MOSQ_OPT_SEND_MAXIMUM, mq->max_outstanding);
    if (o->user && *o->user &&
        mosquitto_username_pw_set(mq->mosq, o->user, o->password) != MOSQ_ERR_SUCCESS)
        goto fail;
    /* mqtts://: the broker's certificate is verified against cafile (or the
     * system's CAs) and its name against the URL's host */
    if (mq->tls && (mosquitto_tls_set(mq->mosq, o->cafile && *o->cafile ? o->cafile : NULL,
                                      o->cafile && *o->cafile ? NULL : MQ_SYSTEM_CA_DIR, NULL, NULL,
                                      NULL) != MOSQ_ERR_SUCCESS ||
                    mosquitto_tls_opts_set(mq->mosq, 1 /* SSL_VERIFY_PEER */, "tlsv1.2", NULL) !=
                        MOSQ_ERR_SUCCESS))
        goto fail;
    if (mq->status_topic[0]) {
        etime_format(etime_now_us(), 0, ts, sizeof(ts));
        snprintf(will, sizeof(will), "{\"status\":\"offline\",\"version\":\"%s\",\"since\":\"%s\"}",
                 ECO_VERSION, ts);
        if (mosquitto_will_set_v5(mq->mosq, mq->status_topic, (int)strlen(will), will, 1, true,
                                  NULL) != MOSQ_ERR_SUCCESS)
            goto fail;
    }
    mosquitto_connect_v5_callback_set(mq->mosq, mq__on_connect);
    mosquitto_disconnect_v5_callback_set(mq->mosq, mq__on_disconnect);
    mosquitto_publish_v5_callback_set(mq->mosq, mq__on_publish);
    mosquitto_message_v5_callback_set(mq->mosq, mq__on_message);
    if (o->persistent) {
        uint32_t exp = o->session_expiry_s ? o->session_expiry_s : 7 * 24 * 3600;
        if (mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, exp))
            goto fail;
    }
    mq->connect_props = props;
    props = NULL;
    uv_timer_init(loop, &mq->tick);
    mq->tick.data = mq;
    uv_timer_init(loop, &mq->drain);
    mq->drain.data = mq;
    mq->pending_closes = 2; /* the tick and drain timers */
    *out = mq;
    return 0;
fail:
    mosquitto_property_free_all(&props);
    if (mq->mosq)
        mosquitto_destroy(mq->mosq);
    free(mq);
    return rc;
}
