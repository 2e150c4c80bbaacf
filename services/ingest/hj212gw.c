#include "hj212gw.h"

#include "buf.h"
#include "cfg.h"
#include "elog.h"
#include "etime.h"
#include "hj212.h"
#include "hj212auth.h"
#include "hj212rec.h"
#include "hmap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes read from a socket at once: the framer copies them, so this only
 * sets how often a busy connection goes back to libuv. */
#define GW_RBUF 4096
/* Answers waiting for the flush, per connection (an answer is < 200 bytes):
 * when full, the flush is done at once. */
#define GW_ANS_MAX 4096
/* Answers handed to the kernel but not yet written: a peer that does not
 * read them is closed. */
#define GW_OUT_MAX (64 * 1024)
/* Junk spans dead-lettered per connection, and the bytes kept of each: a
 * connection spewing noise is evidence enough after that, and must not fill
 * the dead-letter table. The rest is counted. */
#define GW_JUNK_DEAD_MAX 16
#define GW_JUNK_KEEP 1024
/* Housekeeping period: the deadlines below are checked this often. */
#define GW_TICK_MS 250
#define GW_REFUSE_LOG_MS 10000
#define GW_REPORT_DEVICES 20
#define GW_PEER_MAX 64

enum gw__hold { GW_HOLD_NONE = 0, GW_HOLD_AUTH, GW_HOLD_REGISTRY };

/* Connections ended by the admission rules: each is logged at debug level,
 * and a warning with the count goes out at most every GW_REFUSE_LOG_MS. */
enum gw__note { GW_NOTE_PEER = 0, GW_NOTE_EVICT, GW_NOTE_AUTH, GW_NOTE_SLOW };
static const char *const gw__note_msg[] = {
    [GW_NOTE_PEER] = "hj212 connections refused: too many unauthenticated from one address",
    [GW_NOTE_EVICT] = "hj212 connections evicted: unauthenticated while the gateway was full",
    [GW_NOTE_AUTH] = "hj212 connections closed: no authenticated frame in time",
    [GW_NOTE_SLOW] = "hj212 connections closed: a frame took too long",
};

struct gw__conn {
    uv_tcp_t tcp; /* data = this */
    uv_shutdown_t shut;
    struct hj212gw *gw;
    struct gw__conn *prev, *next;   /* gw->conns, until the close callback */
    struct gw__conn *dprev, *dnext; /* gw->dirty: owes answers or a shutdown */
    bool dirty, reading, closing, eof, force_eof, stalled, want_shutdown, shutting;
    int hold; /* enum gw__hold: `held` waits for a verdict or the registry */
    struct hj212_chunk held;
    struct hj212auth_job *job; /* a password check for `held` */
    char peer[GW_PEER_MAX];
    unsigned char addr[16];         /* peer address (IPv4, or IPv6 /64), for peer_max */
    struct gw__conn *uprev, *unext; /* gw->unauth (oldest first) until authenticated */
    bool authed, in_unauth;
    bool partial;           /* the framer holds part of a frame, since partial_since */
    uint64_t opened_at;     /* uv_now at accept: the auth_s deadline */
    uint64_t partial_since; /* uv_now of the first byte of the partial frame */
    uint64_t last_rx;       /* uv_now of the last bytes */
    unsigned bad_streak, junk_dead;
    size_t junk_since_good;
    size_t out_bytes;
    struct hj212auth_cache auth; /* password verdicts */
    size_t ans_len;
    char ans[GW_ANS_MAX];
    size_t roff, rlen; /* unconsumed bytes of rbuf */
    char rbuf[GW_RBUF];
    struct hj212_frame frame; /* the last frame the framer gave (cp borrows fr) */
    struct hj212_framer fr;
};

/* A write of answers; freed in its callback. */
struct gw__wreq {
    uv_write_t req;
    struct gw__conn *c;
    size_t len;
    char data[];
};

/* Counters of one registered device (by MN). */
struct gw__dev {
    uint64_t frames, rejected, reported;
    char last_reason[48];
};

struct hj212gw {
    uv_loop_t *loop;
    struct hj212gw_sink sink;
    char host[CFG_STR_MAX];
    int port, max_conn;
    uint64_t idle_ms, auth_ms, frame_ms;
    size_t peer_max, unauth_max;
    uv_tcp_t server;
    uv_timer_t tick;
    uv_check_t check;
    bool listening, server_closed, stopping, closing, need_flush;
    int handles_open; /* of server, tick, check */
    size_t nconn;     /* allocated connections, open or closing */
    size_t nlive;     /* open connections (not closing) */
    size_t nunauth;   /* of them, not authenticated: the unauth list */
    struct gw__conn *unauth, *unauth_tail;
    struct gw__conn *conns, *dirty;
    struct hj212rec rec;   /* frames -> records */
    struct hj212auth auth; /* password checks */
    struct hmap devs;      /* MN -> struct gw__dev */
    struct hj212gw_counters n;
    uint64_t refuse_logged_at, refused_unlogged, reported_frames, reported_ended;
    uint64_t note_at[4], note_unlogged[4]; /* enum gw__note, rate-limited warnings */
    void (*done)(void *);
    void *done_ud;
};

static void gw__conn_close(struct gw__conn *c, enum elog_level lvl, const char *why);
static void gw__authenticated(struct gw__conn *c);
static void gw__pump(struct gw__conn *c);
static void gw__flush_all(struct hj212gw *gw);

/* ---- small helpers ----------------------------------------------------- */

static struct gw__dev *gw__dev(struct hj212gw *gw, const char *mn)
{
    struct gw__dev *d = hmap_get(&gw->devs, mn, strlen(mn));
    if (d)
        return d;
    d = calloc(1, sizeof(*d));
    if (d && hmap_put(&gw->devs, mn, strlen(mn), d)) {
        free(d);
        d = NULL;
    }
    return d; /* NULL: out of memory, the device is just not counted */
}

static void gw__dirty_unlink(struct gw__conn *c)
{
    if (!c->dirty)
        return;
    if (c->dprev)
        c->dprev->dnext = c->dnext;
    else
        c->gw->dirty = c->dnext;
    if (c->dnext)
        c->dnext->dprev = c->dprev;
    c->dprev = c->dnext = NULL;
    c->dirty = false;
}

/* ---- records into the sink --------------------------------------------- */

static void gw__on_check(uv_check_t *h);

/* Runs gw__flush_all once, after this loop iteration's I/O callbacks: the
 * records and answers of every connection read in the iteration share one
 * flush. */
static void gw__arm(struct hj212gw *gw)
{
    if (!gw->closing && !uv_is_active((uv_handle_t *)&gw->check))
        uv_check_start(&gw->check, gw__on_check);
}

/* The records' way into the sink (hj212rec's append callback, ud = the
 * connection). */
static int gw__append(void *ud, const char *prefix, const char *name, const char *payload,
                      size_t len)
{
    struct gw__conn *c = ud;
    struct hj212gw *gw = c->gw;
    char topic[160];
    int n = snprintf(topic, sizeof(topic), "%s%s", prefix, name);
    int rc;

    if (n < 0 || (size_t)n >= sizeof(topic))
        return -ENAMETOOLONG;
    rc = gw->sink.append(gw->sink.ud, topic, (size_t)n, payload, len);
    if (rc) {
        elog_error("hj212: cannot append to the spool; closing the connection",
                   "peer=%s error=\"%s\"", c->peer, strerror(-rc));
        gw__conn_close(c, ELOG_DEBUG, NULL);
        return rc;
    }
    gw->need_flush = true;
    gw__arm(gw);
    return 0;
}

/* Dead-letters a frame or a span of junk (hj212rec_reject). mn may be NULL. */
static int gw__reject(struct gw__conn *c, const char *mn, const char *reason, const char *detail,
                      const char *data, size_t len)
{
    const struct hj212rec_src src = {.ud = c, .peer = c->peer};
    return hj212rec_reject(&c->gw->rec, &src, mn, reason, detail, data, len);
}

/* A refused frame or junk span counts against the connection: a peer that
 * sends nothing else is closed (HJ212GW_MAX_BAD_STREAK). */
static void gw__bad(struct gw__conn *c)
{
    if (++c->bad_streak >= HJ212GW_MAX_BAD_STREAK && !c->closing) {
        c->gw->n.conns_closed_bad++;
        gw__conn_close(c, ELOG_INFO, "too many refused frames in a row");
    }
}

/* Refuses a frame from a (possibly) known device: dead letter, per-device
 * count, streak. */
static void gw__refuse(struct gw__conn *c, const char *dev_mn, const char *reason,
                       const char *detail, const struct hj212_chunk *ch)
{
    if (dev_mn) {
        struct gw__dev *d = gw__dev(c->gw, dev_mn);
        if (d) {
            d->rejected++;
            snprintf(d->last_reason, sizeof(d->last_reason), "%s", reason);
        }
    }
    if (gw__reject(c, dev_mn ? dev_mn : c->frame.mn, reason, detail, ch->data, ch->len) == 0)
        gw__bad(c);
}

/* ---- answers ----------------------------------------------------------- */

static void gw__on_write(uv_write_t *req, int status)
{
    struct gw__wreq *w = (struct gw__wreq *)req;
    struct gw__conn *c = w->c;

    c->out_bytes -= w->len;
    free(w);
    if (status < 0 && status != UV_ECANCELED && !c->closing)
        gw__conn_close(c, ELOG_DEBUG, uv_strerror(status));
}

static void gw__write(struct gw__conn *c, const char *data, size_t len)
{
    struct gw__wreq *w;
    uv_buf_t b;
    int rc;

    if (c->closing || !len)
        return;
    if (c->out_bytes + len > GW_OUT_MAX) {
        c->gw->n.conns_closed_bad++;
        gw__conn_close(c, ELOG_INFO, "the logger does not read its answers");
        return;
    }
    w = malloc(sizeof(*w) + len);
    if (!w) {
        gw__conn_close(c, ELOG_WARN, "out of memory writing answers");
        return;
    }
    memcpy(w->data, data, len);
    w->c = c;
    w->len = len;
    b = uv_buf_init(w->data, (unsigned)len);
    c->out_bytes += len;
    rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, gw__on_write);
    if (rc) {
        c->out_bytes -= len;
        free(w);
        gw__conn_close(c, ELOG_DEBUG, uv_strerror(rc));
    }
}

static void gw__mark_dirty(struct gw__conn *c);

/* Queues an answer; it is written after the next flush of the sink. */
static void gw__answer(struct gw__conn *c, const char *data, size_t len)
{
    struct hj212gw *gw = c->gw;

    if (c->ans_len + len > sizeof(c->ans)) {
        gw__flush_all(gw); /* makes room: writes this connection's answers */
        if (c->closing)
            return;
    }
    if (len > sizeof(c->ans) - c->ans_len)
        return; /* cannot happen: answers are far below GW_ANS_MAX */
    memcpy(c->ans + c->ans_len, data, len);
    c->ans_len += len;
    gw->n.answers++;
    gw__mark_dirty(c);
}

static void gw__mark_dirty(struct gw__conn *c)
{
    struct hj212gw *gw = c->gw;
    if (c->dirty || c->closing)
        return;
    c->dirty = true;
    c->dprev = NULL;
    c->dnext = gw->dirty;
    if (gw->dirty)
        gw->dirty->dprev = c;
    gw->dirty = c;
    gw__arm(gw);
}

static void gw__on_shutdown(uv_shutdown_t *req, int status)
{
    struct gw__conn *c = req->data;
    (void)status;
    if (!c->closing)
        gw__conn_close(c, ELOG_DEBUG, "peer closed");
}

/* Makes the records durable, then writes every answer owed. One flush per
 * loop iteration serves all connections. */
static void gw__flush_all(struct hj212gw *gw)
{
    struct gw__conn *c;
    int rc = 0;

    if (gw->need_flush) {
        gw->need_flush = false;
        rc = gw->sink.flush(gw->sink.ud);
        if (rc)
            elog_error("hj212: spool flush failed; closing connections owed answers",
                       "error=\"%s\"", strerror(-rc));
    }
    while ((c = gw->dirty) != NULL) {
        gw__dirty_unlink(c);
        if (rc) {
            /* not durable: no answer, so the logger sends again */
            c->ans_len = 0;
            gw__conn_close(c, ELOG_WARN, "spool flush failed");
            continue;
        }
        gw__write(c, c->ans, c->ans_len);
        c->ans_len = 0;
        if (c->want_shutdown && !c->shutting && !c->closing) {
            c->shutting = true;
            c->shut.data = c;
            if (uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, gw__on_shutdown))
                gw__conn_close(c, ELOG_DEBUG, "peer closed");
        }
    }
}

static void gw__on_check(uv_check_t *h)
{
    struct hj212gw *gw = h->data;
    uv_check_stop(h);
    gw__flush_all(gw);
}

static void gw__send_answer(struct gw__conn *c, int cn)
{
    char out[1024];
    size_t len;
    int rc = hj212_encode_answer(&c->frame, cn, out, sizeof(out), &len);
    if (rc == 0)
        gw__answer(c, out, len);
    else
        elog_warn("hj212: cannot encode an answer", "peer=%s cn=%d error=\"%s\"", c->peer, cn,
                  strerror(-rc));
}

/* CN 1012 with the platform's clock, after the 9013 to a logger's 1013. */
static void gw__send_set_time(struct gw__conn *c)
{
    char out[1024];
    size_t len;
    int64_t now = etime_now_us();
    if (hj212_encode_set_time(&c->frame, now, now, NULL, out, sizeof(out), &len) == 0)
        gw__answer(c, out, len);
}

/* ---- password checks --------------------------------------------------- */

static void gw__maybe_done(struct hj212gw *gw);
static void gw__resume(struct gw__conn *c);

/* A password check ended (hj212auth): the held frame goes on. */
static void gw__auth_done(void *ud, void *owner, int rc)
{
    struct hj212gw *gw = ud;
    struct gw__conn *c = owner;

    if (c) {
        c->job = NULL;
        if (rc == -ENOMEM)
            gw__conn_close(c, ELOG_WARN, "out of memory checking a password");
        else if (rc == 0 && c->hold == GW_HOLD_AUTH)
            gw__resume(c);
    }
    gw__maybe_done(gw);
}

/* ---- who may stay connected ------------------------------------------ */

static void gw__unauth_unlink(struct gw__conn *c)
{
    struct hj212gw *gw = c->gw;

    if (!c->in_unauth)
        return;
    if (c->uprev)
        c->uprev->unext = c->unext;
    else
        gw->unauth = c->unext;
    if (c->unext)
        c->unext->uprev = c->uprev;
    else
        gw->unauth_tail = c->uprev;
    c->uprev = c->unext = NULL;
    c->in_unauth = false;
    gw->nunauth--;
}

/* A password verified on this connection: it is a known logger's now, and
 * no longer counts against the unauthenticated share or its address. */
static void gw__authenticated(struct gw__conn *c)
{
    if (c->authed)
        return;
    c->authed = true;
    gw__unauth_unlink(c);
}

/* Unauthenticated connections from c's address (an IPv6 /64). */
static size_t gw__peer_count(const struct hj212gw *gw, const struct gw__conn *c)
{
    size_t n = 0;
    for (const struct gw__conn *o = gw->unauth; o; o = o->unext)
        n += memcmp(o->addr, c->addr, sizeof(c->addr)) == 0;
    return n;
}

/* The oldest unauthenticated connection that can go: not one whose frame
 * waits for a password check or for the registry (that logger did its part). */
static struct gw__conn *gw__evictable(const struct hj212gw *gw)
{
    for (struct gw__conn *o = gw->unauth; o; o = o->unext)
        if (!o->hold && !o->closing)
            return o;
    return NULL;
}

/* ---- one frame --------------------------------------------------------- */

static void gw__read(struct gw__conn *c, bool on);

static void gw__hold(struct gw__conn *c, int why, const struct hj212_chunk *ch)
{
    c->hold = why;
    c->held = *ch;
    gw__read(c, false);
}

/* An accepted frame: who sent it (hj212auth), then what it says
 * (hj212rec), then the answers it asks for. */
static void gw__frame(struct gw__conn *c, const struct hj212_chunk *ch)
{
    struct hj212gw *gw = c->gw;
    const struct hj212_frame *f = &c->frame;
    const struct reg *reg = gw->sink.registry(gw->sink.ud);
    const struct hj212rec_src src = {.ud = c, .peer = c->peer};
    const struct reg_device *dev;
    enum hj212auth_verdict verdict;
    struct hj212rec_out out;
    struct gw__dev *d;
    int rc;

    if (!reg) {
        gw__hold(c, GW_HOLD_REGISTRY, ch);
        return;
    }
    verdict = hj212auth_check(&gw->auth, &c->auth, reg, f, &dev);
    if (!dev) {
        gw->n.unknown_mn++;
        gw__refuse(c, NULL, "unknown MN",
                   verdict == HJ212AUTH_MQTT ? "the device is registered for MQTT" : NULL, ch);
        return;
    }
    if ((d = gw__dev(gw, dev->code)) != NULL)
        d->frames++;
    switch (verdict) {
    case HJ212AUTH_INACTIVE:
        gw__refuse(c, dev->code, "inactive device", NULL, ch);
        return;
    case HJ212AUTH_NO_PASSWORD:
        gw->n.bad_password++;
        gw__refuse(c, dev->code, "bad password", "no password is registered for this MN", ch);
        return;
    case HJ212AUTH_NEEDS_CHECK:
        rc = hj212auth_start(&gw->auth, &c->auth, c, f->mn, f->pw, dev->pw_hash, &c->job);
        if (rc)
            gw__conn_close(c, ELOG_WARN, "cannot queue a password check");
        else
            gw__hold(c, GW_HOLD_AUTH, ch);
        return;
    case HJ212AUTH_BAD_PASSWORD:
        gw->n.bad_password++;
        gw__refuse(c, dev->code, "bad password", NULL, ch);
        return;
    default:
        break;
    }
    gw__authenticated(c);
    rc = hj212rec_frame(&gw->rec, &src, f, ch->data, ch->len, reg, dev, &out);
    if (out.reason)
        gw__refuse(c, dev->code, out.reason, out.detail, ch);
    if (out.partial && (d = gw__dev(gw, dev->code)) != NULL) {
        d->rejected++;
        snprintf(d->last_reason, sizeof(d->last_reason), "%s", out.partial);
    }
    if (rc || c->closing)
        return;
    c->bad_streak = 0;
    c->junk_since_good = 0;
    if (out.cn == 1013) {
        /* "please set my clock": notify answer, then the time */
        gw__send_answer(c, 9013);
        gw__send_set_time(c);
    } else if (out.cn < 9000 && f->ack) {
        gw__send_answer(c, 9014);
    }
}

static void gw__chunk(struct gw__conn *c, const struct hj212_chunk *ch)
{
    struct hj212gw *gw = c->gw;

    if (ch->kind == HJ212_CHUNK_JUNK) {
        gw->n.junk_bytes += ch->len;
        c->junk_since_good += ch->len;
        if (c->junk_dead < GW_JUNK_DEAD_MAX) {
            c->junk_dead++;
            if (gw__reject(c, NULL, hj212_reason_str(ch->err.reason), ch->err.detail, ch->data,
                           ch->len > GW_JUNK_KEEP ? GW_JUNK_KEEP : ch->len))
                return;
        }
        if (c->junk_since_good >= HJ212GW_MAX_JUNK && !c->closing) {
            gw->n.conns_closed_bad++;
            gw__conn_close(c, ELOG_INFO, "too much junk");
            return;
        }
        gw__bad(c);
        return;
    }
    gw->n.frames++;
    if (ch->err.reason) {
        gw__refuse(c, NULL, hj212_reason_str(ch->err.reason), ch->err.detail, ch);
        return;
    }
    gw__frame(c, ch);
}

/* ---- the connection ---------------------------------------------------- */

static void gw__on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct gw__conn *c = h->data;
    (void)suggested;
    /* the previous read is not consumed yet: UV_ENOBUFS, reading stops */
    *buf = uv_buf_init(c->rbuf, c->roff < c->rlen ? 0 : (unsigned)sizeof(c->rbuf));
}

static void gw__on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void gw__read(struct gw__conn *c, bool on)
{
    if (on && !c->reading && !c->closing && !c->eof && !c->gw->stopping) {
        if (uv_read_start((uv_stream_t *)&c->tcp, gw__on_alloc, gw__on_read) == 0)
            c->reading = true;
    } else if (!on && c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
}

/* Feeds the framer from the read buffer and handles every chunk, until the
 * bytes are used up or a frame has to wait. */
static void gw__pump(struct gw__conn *c)
{
    struct hj212gw *gw = c->gw;
    struct hj212_chunk ch;

    for (;;) {
        bool eof;
        int rc;

        if (c->closing || gw->stopping || c->hold)
            return;
        if (gw->sink.full(gw->sink.ud)) {
            /* the spool is at its bound: slow the logger down, never drop */
            if (!c->stalled)
                gw->n.stalls++;
            c->stalled = true;
            gw__read(c, false);
            return;
        }
        c->stalled = false;
        eof = (c->eof || c->force_eof) && c->roff == c->rlen;
        rc = hj212_framer_next(&c->fr, eof, &ch, &c->frame);
        if (rc == -EAGAIN) {
            if (c->roff < c->rlen) {
                size_t n = hj212_framer_feed(&c->fr, c->rbuf + c->roff, c->rlen - c->roff);
                if (n == 0) {
                    /* a full framer always yields a chunk; never spin */
                    gw__conn_close(c, ELOG_ERROR, "framer made no progress");
                    return;
                }
                c->roff += n;
                continue;
            }
            if (c->eof) {
                /* everything the peer sent is handled: answer, then close */
                c->want_shutdown = true;
                gw__mark_dirty(c);
                return;
            }
            gw__read(c, true);
            return;
        }
        gw__chunk(c, &ch);
    }
}

/* Starts or ends the partial frame's deadline after the framer was fed. */
static void gw__partial_mark(struct gw__conn *c)
{
    if (!hj212_framer_pending(&c->fr)) {
        c->partial = false;
    } else if (!c->partial) {
        c->partial = true;
        c->partial_since = uv_now(c->gw->loop);
    }
}

static void gw__resume(struct gw__conn *c)
{
    if (c->closing || c->gw->stopping)
        return;
    c->partial = false; /* the time we held its bytes up is not the sender's */
    if (c->hold) {
        struct hj212_chunk ch = c->held;
        c->hold = GW_HOLD_NONE;
        gw__frame(c, &ch);
        if (c->hold)
            return;
    }
    gw__pump(c);
    gw__partial_mark(c);
}

static void gw__on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct gw__conn *c = s->data;
    (void)buf;

    if (c->closing)
        return;
    if (nread > 0) {
        c->rlen = (size_t)nread;
        c->roff = 0;
        c->last_rx = uv_now(c->gw->loop);
        gw__pump(c);
        gw__partial_mark(c);
        return;
    }
    if (nread == 0)
        return;
    if (nread == UV_ENOBUFS) {
        gw__read(c, false);
        return;
    }
    if (nread == UV_EOF) {
        gw__read(c, false);
        c->eof = true;
        gw__pump(c);
        return;
    }
    gw__conn_close(c, ELOG_DEBUG, uv_strerror((int)nread));
}

static void gw__on_conn_closed(uv_handle_t *h)
{
    struct gw__conn *c = h->data;
    struct hj212gw *gw = c->gw;

    if (c->prev)
        c->prev->next = c->next;
    else
        gw->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    memset(&c->auth, 0, sizeof(c->auth)); /* passwords */
    free(c);
    gw->nconn--;
    gw__maybe_done(gw);
}

/* Closes a connection; its memory goes in the close callback. why NULL:
 * not logged (shutdown of the gateway). */
static void gw__conn_close(struct gw__conn *c, enum elog_level lvl, const char *why)
{
    if (c->closing)
        return;
    c->closing = true;
    c->gw->nlive--;
    gw__unauth_unlink(c);
    gw__dirty_unlink(c);
    hj212auth_detach(c->job); /* the verdict comes back to nobody */
    c->job = NULL;
    if (why)
        elog_write(lvl, "hj212 connection closed", "peer=%s reason=\"%s\"", c->peer, why);
    uv_close((uv_handle_t *)&c->tcp, gw__on_conn_closed);
}

static void gw__free_handle(uv_handle_t *h)
{
    free(h);
}

/* Beyond max_conn: accept (else libuv stops accepting) and close at once.
 * accepted: the caller has already accepted and closed it. */
static void gw__refuse_conn(struct hj212gw *gw, bool accepted)
{
    uv_tcp_t *t = accepted ? NULL : malloc(sizeof(*t));
    uint64_t now = uv_now(gw->loop);

    gw->n.conns_refused++;
    if (t) {
        uv_tcp_init(gw->loop, t);
        uv_accept((uv_stream_t *)&gw->server, (uv_stream_t *)t);
        uv_close((uv_handle_t *)t, gw__free_handle);
    }
    if (gw->refuse_logged_at == 0 || now - gw->refuse_logged_at >= GW_REFUSE_LOG_MS) {
        elog_warn("hj212 connection refused: too many connections", "max=%d refused=%llu",
                  gw->max_conn, (unsigned long long)gw->refused_unlogged + 1);
        gw->refuse_logged_at = now;
        gw->refused_unlogged = 0;
    } else {
        gw->refused_unlogged++;
    }
}

/* Logs one admission event: at debug level each time, as a warning with the
 * count at most every GW_REFUSE_LOG_MS per kind. */
static void gw__note(struct hj212gw *gw, enum gw__note k, const struct gw__conn *c)
{
    uint64_t now = uv_now(gw->loop);

    elog_debug("hj212 connection closed", "peer=%s reason=\"%s\"", c->peer, gw__note_msg[k]);
    if (gw->note_at[k] == 0 || now - gw->note_at[k] >= GW_REFUSE_LOG_MS) {
        elog_warn(gw__note_msg[k], "count=%llu last_peer=%s unauthenticated=%zu",
                  (unsigned long long)gw->note_unlogged[k] + 1, c->peer, gw->nunauth);
        gw->note_at[k] = now;
        gw->note_unlogged[k] = 0;
    } else {
        gw->note_unlogged[k]++;
    }
}

/* Fills c->peer (for logs and dead letters) and c->addr (the address an
 * attacker cannot multiply cheaply: an IPv4 address, an IPv6 /64). */
static void gw__peer(struct gw__conn *c)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    char ip[48] = "?";
    int port = 0;

    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET6) {
            const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
            uv_ip6_name(a, ip, sizeof(ip));
            port = ntohs(a->sin6_port);
            snprintf(c->peer, sizeof(c->peer), "[%s]:%d", ip, port);
            if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
                memcpy(c->addr, a->sin6_addr.s6_addr + 12, 4);
                c->addr[15] = 4;
            } else {
                memcpy(c->addr, a->sin6_addr.s6_addr, 8);
                c->addr[15] = 6;
            }
            return;
        }
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
        uv_ip4_name(a, ip, sizeof(ip));
        port = ntohs(a->sin_port);
        memcpy(c->addr, &a->sin_addr, 4);
        c->addr[15] = 4;
    }
    snprintf(c->peer, sizeof(c->peer), "%s:%d", ip, port);
}

static void gw__on_connection(uv_stream_t *server, int status)
{
    struct hj212gw *gw = server->data;
    struct gw__conn *c;

    if (status < 0) {
        elog_warn("hj212 accept failed", "error=\"%s\"", uv_strerror(status));
        return;
    }
    /* closing connections still hold memory: bounded at twice the limit */
    if (gw->stopping || gw->nconn >= 2 * (size_t)gw->max_conn || !(c = calloc(1, sizeof(*c)))) {
        gw__refuse_conn(gw, false);
        return;
    }
    c->gw = gw;
    uv_tcp_init(gw->loop, &c->tcp);
    c->tcp.data = c;
    c->next = gw->conns;
    if (gw->conns)
        gw->conns->prev = c;
    gw->conns = c;
    gw->nconn++;
    gw->nlive++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp)) {
        gw__conn_close(c, ELOG_WARN, "accept failed");
        return;
    }
    gw__peer(c);
    if (gw__peer_count(gw, c) >= gw->peer_max) {
        gw->n.conns_refused_peer++;
        gw__note(gw, GW_NOTE_PEER, c);
        gw__conn_close(c, ELOG_DEBUG, NULL);
        return;
    }
    if (gw->nlive > (size_t)gw->max_conn || gw->nunauth >= gw->unauth_max) {
        /* full: the oldest idle stranger makes room, else the newcomer goes */
        struct gw__conn *old = gw__evictable(gw);
        if (!old) {
            gw__conn_close(c, ELOG_DEBUG, NULL);
            gw__refuse_conn(gw, true);
            return;
        }
        gw->n.conns_evicted++;
        gw__note(gw, GW_NOTE_EVICT, old);
        gw__conn_close(old, ELOG_DEBUG, NULL);
    }
    c->in_unauth = true;
    c->uprev = gw->unauth_tail;
    if (gw->unauth_tail)
        gw->unauth_tail->unext = c;
    else
        gw->unauth = c;
    gw->unauth_tail = c;
    gw->nunauth++;
    uv_tcp_nodelay(&c->tcp, 1);
    uv_tcp_keepalive(&c->tcp, 1, 60);
    hj212_framer_init(&c->fr, 0);
    c->last_rx = c->opened_at = uv_now(gw->loop);
    gw->n.conns_accepted++;
    elog_debug("hj212 connection", "peer=%s open=%zu", c->peer, gw->nconn);
    gw__read(c, true);
}

/* Housekeeping: resume connections waiting for the registry or for room in
 * the spool, give up partial frames, close idle connections. */
static void gw__on_tick(uv_timer_t *t)
{
    struct hj212gw *gw = t->data;
    uint64_t now = uv_now(gw->loop);
    bool full = gw->sink.full(gw->sink.ud);
    bool have_reg = gw->sink.registry(gw->sink.ud) != NULL;

    for (struct gw__conn *c = gw->conns; c; c = c->next) {
        if (c->closing)
            continue;
        if ((c->hold == GW_HOLD_REGISTRY && have_reg) || (c->stalled && !full))
            gw__resume(c);
        if (c->closing)
            continue;
        if (now - c->last_rx >= gw->idle_ms) {
            gw->n.conns_closed_idle++;
            gw__conn_close(c, ELOG_INFO, "idle");
        } else if (!c->hold && !c->stalled && c->partial &&
                   now - c->partial_since >= gw->frame_ms && hj212_framer_pending(&c->fr)) {
            /* an absolute deadline from the frame's first byte: a sender
             * trickling bytes gets no more time for it than a silent one */
            c->force_eof = true; /* releases the partial frame as "truncated" */
            gw__pump(c);
            c->force_eof = false;
            if (!c->closing) {
                gw->n.conns_closed_slow++;
                gw__note(gw, GW_NOTE_SLOW, c);
                gw__conn_close(c, ELOG_DEBUG, NULL);
            }
        }
    }
    /* in accept order: stop at the first one still within its time */
    for (struct gw__conn *c = gw->unauth, *next; c && now - c->opened_at >= gw->auth_ms; c = next) {
        next = c->unext;
        if (c->hold)
            continue; /* its frame waits for a verdict or the registry: our delay */
        gw->n.conns_closed_auth++;
        gw__note(gw, GW_NOTE_AUTH, c);
        gw__conn_close(c, ELOG_DEBUG, NULL);
    }
    gw__flush_all(gw);
}

/* ---- lifecycle --------------------------------------------------------- */

int hj212gw_new(uv_loop_t *loop, const struct hj212gw_opts *o, const struct hj212gw_sink *sink,
                struct hj212gw **out)
{
    struct hj212gw *gw;

    *out = NULL;
    gw = calloc(1, sizeof(*gw));
    if (!gw)
        return -ENOMEM;
    if (cfg_split_addr(o->addr, gw->host, sizeof(gw->host), &gw->port)) {
        free(gw);
        return -EINVAL;
    }
    if (hj212rec_init(&gw->rec, gw__append)) {
        free(gw);
        return -ENOMEM;
    }
    gw->loop = loop;
    gw->sink = *sink;
    gw->max_conn = o->max_conn > 0 ? o->max_conn : 2000;
    gw->idle_ms = (uint64_t)(o->idle_s > 0 ? o->idle_s : 600) * 1000;
    gw->auth_ms = (uint64_t)(o->auth_s > 0 ? o->auth_s : 10) * 1000;
    gw->frame_ms = (uint64_t)(o->frame_s > 0 ? o->frame_s : 30) * 1000;
    gw->peer_max = (size_t)(o->peer_max > 0 ? o->peer_max : 64);
    gw->unauth_max = (size_t)gw->max_conn * (size_t)(o->unauth_pct > 0 ? o->unauth_pct : 50) / 100;
    if (gw->unauth_max < 1)
        gw->unauth_max = 1;
    hmap_init(&gw->devs);
    hj212auth_init(&gw->auth, loop, gw__auth_done, gw);
    uv_tcp_init(loop, &gw->server);
    uv_timer_init(loop, &gw->tick);
    uv_check_init(loop, &gw->check);
    gw->server.data = gw->tick.data = gw->check.data = gw;
    gw->handles_open = 3;
    *out = gw;
    return 0;
}

int hj212gw_start(struct hj212gw *gw)
{
    struct sockaddr_storage ss;
    int rc;

    if (uv_ip4_addr(gw->host, gw->port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(gw->host, gw->port, (struct sockaddr_in6 *)&ss) != 0) {
        elog_error("hj212: the gateway address is not an IP address", "addr=%s:%d", gw->host,
                   gw->port);
        return -EINVAL;
    }
    rc = uv_tcp_bind(&gw->server, (const struct sockaddr *)&ss, 0);
    if (!rc)
        rc = uv_listen((uv_stream_t *)&gw->server, 511, gw__on_connection);
    if (rc) {
        elog_error("hj212: cannot listen", "addr=%s:%d error=\"%s\"", gw->host, gw->port,
                   uv_strerror(rc));
        return rc;
    }
    gw->listening = true;
    uv_timer_start(&gw->tick, gw__on_tick, GW_TICK_MS, GW_TICK_MS);
    elog_info("hj212 gateway listening",
              "addr=%s:%d max_conn=%d idle_s=%llu auth_s=%llu frame_s=%llu peer_max=%zu "
              "unauth_max=%zu",
              gw->host, hj212gw_port(gw), gw->max_conn, (unsigned long long)gw->idle_ms / 1000,
              (unsigned long long)gw->auth_ms / 1000, (unsigned long long)gw->frame_ms / 1000,
              gw->peer_max, gw->unauth_max);
    return 0;
}

int hj212gw_port(const struct hj212gw *gw)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);

    if (!gw->listening || uv_tcp_getsockname(&gw->server, (struct sockaddr *)&ss, &len))
        return -1;
    if (ss.ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((const struct sockaddr_in *)&ss)->sin_port);
}

static void gw__handle_closed(uv_handle_t *h)
{
    struct hj212gw *gw = h->data;
    gw->handles_open--;
    gw__maybe_done(gw);
}

static void gw__close_server(struct hj212gw *gw)
{
    if (gw->server_closed)
        return;
    gw->server_closed = true;
    gw->listening = false;
    uv_close((uv_handle_t *)&gw->server, gw__handle_closed);
}

void hj212gw_stop(struct hj212gw *gw)
{
    if (!gw || gw->stopping)
        return;
    gw->stopping = true;
    gw__close_server(gw);
    for (struct gw__conn *c = gw->conns; c; c = c->next) {
        gw__read(c, false);
        c->hold = GW_HOLD_NONE; /* unanswered: the logger sends it again */
    }
    gw__flush_all(gw);
    elog_info("hj212 gateway stopped taking data", "connections=%zu", gw->nconn);
}

static void gw__free(struct hj212gw *gw)
{
    hmap_close_free(&gw->devs);
    hj212auth_close(&gw->auth);
    hj212rec_close(&gw->rec);
    free(gw);
}

static void gw__maybe_done(struct hj212gw *gw)
{
    void (*done)(void *);
    void *ud;

    if (!gw->closing || gw->nconn || gw->auth.njobs || gw->handles_open)
        return;
    done = gw->done;
    ud = gw->done_ud;
    gw__free(gw);
    if (done)
        done(ud);
}

void hj212gw_close(struct hj212gw *gw, void (*done)(void *ud), void *ud)
{
    if (!gw) {
        if (done)
            done(ud);
        return;
    }
    if (gw->closing)
        return;
    hj212gw_stop(gw);
    gw->closing = true;
    gw->done = done;
    gw->done_ud = ud;
    for (struct gw__conn *c = gw->conns; c; c = c->next)
        gw__conn_close(c, ELOG_DEBUG, NULL);
    hj212auth_cancel_all(&gw->auth);
    gw__close_server(gw);
    uv_close((uv_handle_t *)&gw->tick, gw__handle_closed);
    uv_close((uv_handle_t *)&gw->check, gw__handle_closed);
}

/* ---- counters ---------------------------------------------------------- */

/* The gateway's counters with those its modules keep. */
static struct hj212gw_counters gw__totals(const struct hj212gw *gw)
{
    struct hj212gw_counters n = gw->n;

    n.conns_open = gw->nconn;
    n.conns_unauth = gw->nunauth;
    n.data_frames = gw->rec.n.data_frames;
    n.values = gw->rec.n.values;
    n.events = gw->rec.n.events;
    n.rejected = gw->rec.n.rejected;
    n.unmapped = gw->rec.n.unmapped;
    n.ignored_values = gw->rec.n.ignored_values;
    n.lax = gw->rec.n.lax;
    n.auth_checks = gw->auth.checks;
    return n;
}

void hj212gw_get_counters(const struct hj212gw *gw, struct hj212gw_counters *out)
{
    *out = gw__totals(gw);
}

void hj212gw_report(struct hj212gw *gw)
{
    size_t shown = 0, more = 0;
    uint64_t more_n = 0;
    const struct hj212gw_counters n = gw__totals(gw);

    uint64_t ended = n.conns_refused + n.conns_refused_peer + n.conns_evicted +
                     n.conns_closed_auth + n.conns_closed_slow + n.conns_closed_idle;

    if (n.frames != gw->reported_frames || ended != gw->reported_ended) {
        gw->reported_frames = n.frames;
        gw->reported_ended = ended;
        elog_info("hj212 counters",
                  "connections=%zu unauthenticated=%zu accepted=%llu refused=%llu "
                  "refused_peer=%llu evicted=%llu closed_auth=%llu closed_slow=%llu "
                  "closed_idle=%llu closed_bad=%llu frames=%llu data=%llu values=%llu "
                  "events=%llu rejected=%llu answers=%llu auth_checks=%llu junk_bytes=%llu",
                  gw->nconn, gw->nunauth, (unsigned long long)n.conns_accepted,
                  (unsigned long long)n.conns_refused, (unsigned long long)n.conns_refused_peer,
                  (unsigned long long)n.conns_evicted, (unsigned long long)n.conns_closed_auth,
                  (unsigned long long)n.conns_closed_slow, (unsigned long long)n.conns_closed_idle,
                  (unsigned long long)n.conns_closed_bad, (unsigned long long)n.frames,
                  (unsigned long long)n.data_frames, (unsigned long long)n.values,
                  (unsigned long long)n.events, (unsigned long long)n.rejected,
                  (unsigned long long)n.answers, (unsigned long long)n.auth_checks,
                  (unsigned long long)n.junk_bytes);
    }
    for (size_t i = 0; i < gw->devs.cap; i++) {
        struct gw__dev *d = gw->devs.slots[i].val;
        if (!gw->devs.slots[i].key || !d || d->rejected == d->reported)
            continue;
        if (shown < GW_REPORT_DEVICES) {
            elog_warn("hj212 frames refused", "mn=%s refused=%llu total=%llu last_reason=\"%s\"",
                      gw->devs.slots[i].key, (unsigned long long)(d->rejected - d->reported),
                      (unsigned long long)d->rejected, d->last_reason);
            shown++;
        } else {
            more++;
            more_n += d->rejected - d->reported;
        }
        d->reported = d->rejected;
    }
    if (more)
        elog_warn("hj212 frames refused from more devices", "devices=%zu refused=%llu", more,
                  (unsigned long long)more_n);
}

size_t hj212gw_status_json(const struct hj212gw *gw, char *out, size_t cap)
{
    const struct hj212gw_counters t = gw__totals(gw);
    int len = snprintf(
        out, cap,
        "\"hj212\":{\"connections\":%zu,\"accepted\":%llu,\"refused\":%llu,"
        "\"frames\":%llu,\"data_frames\":%llu,\"values\":%llu,\"events\":%llu,"
        "\"rejected\":%llu,\"answers\":%llu,\"unauthenticated\":%zu,"
        "\"refused_peer\":%llu,\"evicted\":%llu,\"closed_auth\":%llu,"
        "\"closed_slow\":%llu,\"closed_idle\":%llu,\"closed_bad\":%llu}",
        gw->nconn, (unsigned long long)t.conns_accepted, (unsigned long long)t.conns_refused,
        (unsigned long long)t.frames, (unsigned long long)t.data_frames,
        (unsigned long long)t.values, (unsigned long long)t.events, (unsigned long long)t.rejected,
        (unsigned long long)t.answers, gw->nunauth, (unsigned long long)t.conns_refused_peer,
        (unsigned long long)t.conns_evicted, (unsigned long long)t.conns_closed_auth,
        (unsigned long long)t.conns_closed_slow, (unsigned long long)t.conns_closed_idle,
        (unsigned long long)t.conns_closed_bad);
    if (len < 0 || (size_t)len >= cap) {
        if (cap)
            out[0] = '\0';
        return 0;
    }
    return (size_t)len;
}
