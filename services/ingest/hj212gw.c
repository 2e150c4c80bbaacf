#include "hj212gw.h"

#include "buf.h"
#include "cfg.h"
#include "elog.h"
#include "etime.h"
#include "hj212.h"
#include "hmap.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Bytes read from a socket at once: the framer copies them, so this only
 * sets how often a busy connection goes back to libuv. */
#define GW_RBUF 4096
/* Answers waiting for the flush, per connection (an answer is < 200 bytes):
 * when full, the flush is done at once. */
#define GW_ANS_MAX 4096
/* Answers handed to the kernel but not yet written: a peer that does not
 * read them is closed. */
#define GW_OUT_MAX (64 * 1024)
/* Password verdicts cached per connection (a concentrator may carry several
 * MNs on one connection). */
#define GW_AUTH_SLOTS 4
/* Junk spans dead-lettered per connection, and the bytes kept of each: a
 * connection spewing noise is evidence enough after that, and must not fill
 * the dead-letter table. The rest is counted. */
#define GW_JUNK_DEAD_MAX 16
#define GW_JUNK_KEEP 1024
/* Housekeeping period: the deadlines below are checked this often. */
#define GW_TICK_MS 250
#define GW_REFUSE_LOG_MS 10000
#define GW_REPORT_DEVICES 20
#define GW_HASH_MAX 128
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

struct gw__auth {
    bool used, ok;
    char mn[HJ212_MN_MAX + 1];
    char pw[HJ212_PW_MAX + 1];
    char hash[GW_HASH_MAX];
};

struct gw__conn;

/* One bcrypt verification on the thread pool. The worker reads only the
 * copies in here; `c` is cleared when the connection goes first. */
struct gw__job {
    uv_work_t req;
    struct hj212gw *gw;
    struct gw__conn *c;
    struct gw__job *prev, *next;
    bool ok, oom;
    char mn[HJ212_MN_MAX + 1];
    char pw[HJ212_PW_MAX + 1];
    char hash[GW_HASH_MAX];
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
    struct gw__job *job;
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
    struct gw__auth auth[GW_AUTH_SLOTS];
    unsigned auth_next;
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

/* The last password that verified for an MN, with the hash it verified
 * against: a logger that reconnects (GPRS links drop often) is not hashed
 * again. Only successes are kept here, at most one per registered MN, so
 * wrong guesses cannot grow it. */
struct gw__okpw {
    char pw[HJ212_PW_MAX + 1];
    char hash[GW_HASH_MAX];
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
    size_t njobs;
    struct gw__conn *conns, *dirty;
    struct gw__job *jobs;
    struct hj212_cp *cp; /* scratch: one CP parsed at a time, ~20 KiB */
    struct buf msg;      /* scratch: the record being built */
    struct buf why, bad; /* scratch: unmapped codes, bad values of a frame */
    struct buf mask;     /* scratch: a refused frame with its credentials masked */
    const struct reg_param *used[HJ212_CP_ITEMS_MAX]; /* scratch: params of a frame */
    struct hmap devs;                                 /* MN -> struct gw__dev */
    struct hmap okpw;                                 /* MN -> struct gw__okpw */
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

/* Writes v so that it reads back as the same double, short when possible
 * (the JSON goes through the same parser as MQTT readings). */
static int gw__add_double(struct buf *b, double v)
{
    char tmp[40];
    snprintf(tmp, sizeof(tmp), "%.15g", v);
    if (strtod(tmp, NULL) != v)
        snprintf(tmp, sizeof(tmp), "%.17g", v);
    return buf_addstr(b, tmp);
}

static int gw__add_jstr(struct buf *b, const char *s, size_t n)
{
    int rc = buf_addc(b, '"');
    rc = rc ? rc : buf_add_json_str(b, s, n);
    return rc ? rc : buf_addc(b, '"');
}

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

/* Compares a crypt() result with the stored hash without stopping at the
 * first difference. */
static bool gw__same(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = la != lb;
    for (size_t i = 0; i < la && i < lb; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

/* ---- credentials --------------------------------------------------------- */

static bool gw__ends_with(const char *s, size_t n, const char *suffix)
{
    size_t m = strlen(suffix);
    return n >= m && strncasecmp(s + n - m, suffix, m) == 0;
}

bool hj212gw_secret_key(const char *key, size_t klen)
{
    return gw__ends_with(key, klen, "pw") || gw__ends_with(key, klen, "passwd") ||
           gw__ends_with(key, klen, "password");
}

static bool gw__key_char(char ch)
{
    return isalnum((unsigned char)ch) || ch == '-' || ch == '_';
}

static bool gw__value_end(char ch)
{
    return ch == ';' || ch == ',' || ch == '&' || ch == '\r' || ch == '\n';
}

/* The CRC of a frame is computed over its password: next to the rest of
 * the frame it narrows an offline search of a 6-digit PW to a handful of
 * candidates. In a frame whose credentials were masked, "&&" + 4 hex digits
 * at the end of a frame becomes "&&****". */
static void gw__mask_crc(struct buf *out)
{
    char *p = out->p;
    size_t n = out->len;

    for (size_t i = 0; i + 6 <= n; i++) {
        if (p[i] != '&' || p[i + 1] != '&' || !isxdigit((unsigned char)p[i + 2]) ||
            !isxdigit((unsigned char)p[i + 3]) || !isxdigit((unsigned char)p[i + 4]) ||
            !isxdigit((unsigned char)p[i + 5]))
            continue;
        if (i + 6 == n || p[i + 6] == '\r' || p[i + 6] == '\n' || p[i + 6] == '#')
            memset(p + i + 2, '*', 4);
    }
}

/* Dead letters, the spool and the dlq topic are read by analysts and
 * integrators: a logger's PW must not reach them. Every "key=value" whose
 * key names a credential keeps its key and loses its value (and the frame
 * its CRC, above). */
int hj212gw_mask(const char *data, size_t len, struct buf *out)
{
    size_t i = 0, from = 0;
    bool masked = false;
    int rc = 0;

    buf_reset(out);
    while (i < len && !rc) {
        size_t k;
        if (data[i] != '=') {
            i++;
            continue;
        }
        for (k = i; k > 0 && gw__key_char(data[k - 1]); k--)
            ;
        if (!hj212gw_secret_key(data + k, i - k)) {
            i++;
            continue;
        }
        rc = buf_add(out, data + from, i + 1 - from);
        rc = rc ? rc : buf_addstr(out, "***");
        for (i++; i < len && !gw__value_end(data[i]); i++)
            ;
        from = i;
        masked = true;
    }
    rc = rc ? rc : buf_add(out, data + from, len - from);
    if (!rc && masked)
        gw__mask_crc(out);
    return rc;
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

static int gw__append(struct gw__conn *c, const char *prefix, const char *name, const char *payload,
                      size_t len)
{
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

/* Dead-letters a frame or a span of junk: {"reason","peer","mn","frame"} on
 * $hj212/reject/<peer>. mn may be NULL (not known or not readable). */
static int gw__reject(struct gw__conn *c, const char *mn, const char *reason, const char *detail,
                      const char *data, size_t len)
{
    struct hj212gw *gw = c->gw;
    struct buf *m = &gw->msg;
    int rc;

    gw->n.rejected++;
    if (hj212gw_mask(data, len, &gw->mask)) {
        elog_warn("hj212: dead letter too large; dropped", "peer=%s reason=\"%s\"", c->peer,
                  reason);
        return 0;
    }
    if (gw->mask.len != len || memcmp(gw->mask.p, data, len) != 0) {
        data = gw->mask.p;
        len = gw->mask.len;
        if (strcmp(reason, "crc") == 0)
            detail = "does not match (the expected one is withheld: it depends on the password)";
    }
    buf_reset(m);
    rc = buf_addstr(m, "{\"reason\":\"");
    rc = rc ? rc : buf_add_json_str(m, reason, strlen(reason));
    if (!rc && detail && detail[0]) {
        rc = buf_addstr(m, ": ");
        rc = rc ? rc : buf_add_json_str(m, detail, strlen(detail));
    }
    rc = rc ? rc : buf_addstr(m, "\",\"peer\":");
    rc = rc ? rc : gw__add_jstr(m, c->peer, strlen(c->peer));
    if (!rc && mn && mn[0]) {
        rc = buf_addstr(m, ",\"mn\":");
        rc = rc ? rc : gw__add_jstr(m, mn, strlen(mn));
    }
    rc = rc ? rc : buf_addstr(m, ",\"frame\":");
    rc = rc ? rc : gw__add_jstr(m, data, len);
    rc = rc ? rc : buf_addc(m, '}');
    if (rc) {
        elog_warn("hj212: dead letter too large; dropped", "peer=%s reason=\"%s\"", c->peer,
                  reason);
        return 0;
    }
    elog_debug("hj212 frame refused", "peer=%s mn=%s reason=\"%s\"", c->peer,
               mn && mn[0] ? mn : "-", reason);
    return gw__append(c, HJ212GW_TOPIC_REJECT, c->peer, m->p, m->len);
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

/* ---- data uploads ------------------------------------------------------ */

static char gw__period(int cn)
{
    switch (cn) {
    case 2011:
        return 'r';
    case 2051:
        return 'm';
    case 2061:
        return 'h';
    case 2031:
        return 'd';
    }
    return 0;
}

static const char *gw__period_name(char p)
{
    return p == 'r' ? "rt" : p == 'm' ? "min" : p == 'h' ? "hour" : "day";
}

/* Adds "code" or "code-Suffix" to a ", "-separated list (capped: the rest
 * of a long list is in the dead-lettered frame itself). */
static void gw__why(struct buf *why, const char *code, const char *suffix)
{
    if (why->len)
        buf_addstr(why, ", ");
    buf_printf(why, "%s%s%s", code, suffix ? "-" : "", suffix ? suffix : "");
}

/* The CP items the codec refused on their own, as "text (why)", ", "-
 * separated, into out (the text is the logger's: printable ASCII only, a
 * credential's value masked as in hj212gw_mask). */
static void gw__rejected(const struct hj212_cp *cp, struct buf *out)
{
    buf_reset(out);
    for (size_t i = 0; i < cp->nbad; i++) {
        const struct hj212_bad *b = &cp->bad[i];
        const char *eq = memchr(b->text, '=', b->len);
        size_t show = eq && hj212gw_secret_key(b->text, (size_t)(eq - b->text))
                          ? (size_t)(eq - b->text) + 1
                          : b->len;
        if (out->len)
            buf_addstr(out, ", ");
        for (size_t k = 0; k < show; k++) {
            char ch = b->text[k];
            buf_addc(out, ch >= 0x20 && ch < 0x7f ? ch : '?');
        }
        buf_printf(out, "%s (%s)", show < b->len ? "***" : "", hj212_bad_str(b->why));
    }
    if (cp->nbad_total > cp->nbad)
        buf_printf(out, " and %zu more", cp->nbad_total - cp->nbad);
}

/* Adds one value to the readings message unless its parameter already has
 * one from this frame (first wins, as with repeated CP keys). */
static int gw__value(struct hj212gw *gw, const struct reg_param *p, double v, char flag,
                     const struct reg_param **used, size_t *nused)
{
    struct buf *m = &gw->msg;
    int rc;

    for (size_t i = 0; i < *nused; i++)
        if (used[i] == p)
            return 0;
    used[(*nused)++] = p;
    rc = buf_printf(m, "%s\"%s\":{\"v\":", *nused > 1 ? "," : "", p->code);
    rc = rc ? rc : gw__add_double(m, v);
    rc = rc ? rc : buf_printf(m, ",\"flag\":\"%c\"}", flag);
    gw->n.values++;
    return rc;
}

/* A data upload (2011, 2051, 2061, 2031) becomes one canonical readings
 * message on eco/v1/in/<MN>:
 *   - ts: DataTime as RFC 3339 +08:00 (the period start for min/hour/day,
 *     the sampling instant for rt), period from the CN;
 *   - values: the primary value of each pollutant (-Rtd for 2011, -Avg for
 *     the others) under the parameter reg_hj212_param gives for (ST, code),
 *     with its -Flag (N when absent);
 *   - secondary values (-Min, -Max, -Cou, -Zs*, ...) only where the map has
 *     a row "<code>-<Suffix>"; otherwise they are ignored (counted).
 * Primary values whose code has no parameter, values whose flag is bad, and
 * the items the codec refused on their own (hj212_cp_data: misspelt, not a
 * number, ...) go to one dead letter per frame ("unmapped pollutant code:
 * ...; rejected fields: ...") with the whole frame; the rest of the frame
 * is stored and answered. */
static int gw__data(struct gw__conn *c, const struct hj212_chunk *ch, const struct reg *reg,
                    const struct reg_device *dev, char period)
{
    struct hj212gw *gw = c->gw;
    const struct hj212_frame *f = &c->frame;
    const struct hj212_cp *cp = gw->cp;
    const char *st = dev->st[0] ? dev->st : f->st;
    const int primary = period == 'r' ? HJ212_RTD : HJ212_AVG;
    const struct reg_param **used = gw->used;
    struct buf *m = &gw->msg, *why = &gw->why, *bad = &gw->bad, *rej = &gw->mask;
    struct hj212_pollutant pol;
    struct hj212_err err;
    char ts[ETIME_RFC3339_MAX], key[HJ212_CP_KEY_MAX + 8];
    size_t pos = 0, nused = 0;
    int64_t ts_us;
    int rc;

    if (hj212_cp_data(gw->cp, (int)strtol(f->cn, NULL, 10), &ts_us, &err)) {
        gw__refuse(c, dev->code, hj212_reason_str(err.reason), err.detail, ch);
        return -EBADMSG;
    }
    buf_reset(m);
    buf_reset(why);
    buf_reset(bad);
    etime_format(ts_us, ETIME_BEIJING_OFFSET, ts, sizeof(ts));
    rc =
        buf_printf(m, "{\"ts\":\"%s\",\"period\":\"%s\",\"values\":{", ts, gw__period_name(period));
    while (!rc && hj212_cp_pollutant(cp, &pos, &pol) == 0) {
        char flag = pol.flag ? pol.flag : 'N';
        bool flag_ok = !pol.flag_bad && isalnum((unsigned char)flag) != 0;

        for (int vi = 0; vi < HJ212_NVALS && !rc; vi++) {
            const char *vname = hj212_val_name(vi);
            const struct reg_param *p;

            if (vi == HJ212_RS || vi == HJ212_RT || !(pol.seen & (1u << vi)))
                continue;
            if (vi == primary) {
                if (!(pol.has & (1u << vi)))
                    continue; /* empty: no value (a bad one is in cp->bad) */
                p = reg_hj212_param(reg, st, pol.code);
                if (!p) {
                    gw__why(why, pol.code, NULL);
                    continue;
                }
            } else {
                if (!(pol.has & (1u << vi)))
                    continue;
                snprintf(key, sizeof(key), "%s-%s", pol.code, vname);
                p = reg_hj212_param(reg, st, key);
                if (!p) {
                    gw->n.ignored_values++;
                    continue;
                }
            }
            if (!flag_ok) {
                gw__why(bad, pol.code, "Flag");
                continue;
            }
            rc = gw__value(gw, p, pol.v[vi], flag, used, &nused);
        }
    }
    rc = rc ? rc : buf_addstr(m, "}}");
    if (rc) {
        gw__refuse(c, dev->code, "too_long", "the readings message does not fit", ch);
        return -EBADMSG;
    }
    if (nused) {
        gw->n.data_frames++;
        if ((rc = gw__append(c, "eco/v1/in/", dev->code, m->p, m->len)))
            return rc;
    }
    gw__rejected(gw->cp, rej);
    if (why->len || bad->len || rej->len) {
        char reason[HJ212_DETAIL_MAX + 512];
        snprintf(
            reason, sizeof(reason), "%s%.*s%s%s%.*s%s%s%.*s",
            why->len ? "unmapped pollutant code: " : "", (int)(why->len > 200 ? 200 : why->len),
            why->len ? why->p : "", why->len && bad->len ? "; " : "", bad->len ? "bad flag: " : "",
            (int)(bad->len > 120 ? 120 : bad->len), bad->len ? bad->p : "",
            (why->len || bad->len) && rej->len ? "; " : "", rej->len ? "rejected fields: " : "",
            (int)(rej->len > 240 ? 240 : rej->len), rej->len ? rej->p : "");
        if (why->len)
            gw->n.unmapped++;
        /* not a refusal of the frame: counted for the device, no streak */
        struct gw__dev *d = gw__dev(gw, dev->code);
        if (d) {
            d->rejected++;
            snprintf(d->last_reason, sizeof(d->last_reason), "%s",
                     why->len ? "unmapped pollutant code" : "rejected fields");
        }
        rc = gw__reject(c, dev->code, reason, NULL, ch->data, ch->len);
    }
    return rc;
}

/* ---- events ------------------------------------------------------------ */

static const char *gw__kind(int cn)
{
    switch (cn) {
    case 1011:
        return "system_time";
    case 1013:
        return "time_request";
    case 1061:
        return "rtd_interval";
    case 1063:
        return "min_interval";
    case 2021:
        return "equipment_state";
    case 2041:
        return "equipment_runtime";
    case 2081:
        return "restart";
    case 3015:
        return "sample_retention";
    case 3017:
        return "sampling_period";
    case 3018:
        return "sample_time";
    case 3019:
        return "instrument_sn";
    case 3020:
        return "device_info";
    case 9011:
        return "request_answer";
    case 9012:
        return "execution_result";
    case 9013:
        return "notify_answer";
    case 9014:
        return "data_answer";
    }
    return "other";
}

/* The event's time: DataTime, else RestartTime (2081) or SystemTime (1011). */
static bool gw__event_time(const struct hj212_cp *cp, int64_t *us)
{
    static const char *const keys[] = {"RestartTime", "SystemTime"};
    const char *v;
    size_t n;

    if (cp->has_datatime) {
        *us = cp->datatime_us;
        return true;
    }
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (hj212_cp_find(cp, keys[i], &v, &n) == 0 && n == 14 &&
            etime_parse_hj212(v, n, ETIME_BEIJING_OFFSET, us) == 0)
            return true;
    return false;
}

/* Any other upload, and the logger's answers, become one record on
 * $hj212/event/<MN>: the frame's fields and every CP item as text (the first
 * of repeated keys), which ingest stores in obs.device_event as jsonb. */
static int gw__event(struct gw__conn *c, const struct hj212_chunk *ch, const struct reg_device *dev,
                     int cn)
{
    struct hj212gw *gw = c->gw;
    const struct hj212_frame *f = &c->frame;
    const struct hj212_cp *cp = gw->cp;
    struct buf *m = &gw->msg;
    char ts[ETIME_RFC3339_MAX];
    int64_t us;
    size_t nkeys = 0;
    int rc;

    buf_reset(m);
    rc = buf_addstr(m, "{\"device\":");
    rc = rc ? rc : gw__add_jstr(m, dev->code, strlen(dev->code));
    rc = rc ? rc : buf_addstr(m, ",\"st\":");
    rc = rc ? rc : gw__add_jstr(m, f->st, strlen(f->st));
    rc = rc ? rc : buf_printf(m, ",\"cn\":\"%s\",\"kind\":\"%s\"", f->cn, gw__kind(cn));
    if (!rc && (f->fields & HJ212_F_QN)) {
        rc = buf_addstr(m, ",\"qn\":");
        rc = rc ? rc : gw__add_jstr(m, f->qn, strlen(f->qn));
    }
    if (!rc && f->flag >= 0)
        rc = buf_printf(m, ",\"flag\":%d", f->flag);
    if (!rc && f->pnum)
        rc = buf_printf(m, ",\"pnum\":%d,\"pno\":%d", f->pnum, f->pno);
    if (!rc && gw__event_time(cp, &us)) {
        etime_format(us, ETIME_BEIJING_OFFSET, ts, sizeof(ts));
        rc = buf_printf(m, ",\"ts\":\"%s\"", ts);
    }
    rc = rc ? rc : buf_addstr(m, ",\"peer\":");
    rc = rc ? rc : gw__add_jstr(m, c->peer, strlen(c->peer));
    rc = rc ? rc : buf_addstr(m, ",\"cp\":{");
    for (size_t i = 0; i < cp->nitems && !rc; i++) {
        const struct hj212_item *it = &cp->items[i];
        bool dup = false;
        for (size_t j = 0; j < i && !dup; j++)
            dup = cp->items[j].key_len == it->key_len &&
                  memcmp(cp->items[j].key, it->key, it->key_len) == 0;
        if (dup || it->bad)
            continue;
        rc = nkeys++ ? buf_addc(m, ',') : 0;
        rc = rc ? rc : gw__add_jstr(m, it->key, it->key_len);
        rc = rc ? rc : buf_addc(m, ':');
        if (hj212gw_secret_key(it->key, it->key_len))
            rc = rc ? rc : buf_addstr(m, "\"***\""); /* as hj212gw_mask */
        else
            rc = rc ? rc : gw__add_jstr(m, it->val, it->val_len);
    }
    rc = rc ? rc : buf_addstr(m, "}}");
    if (rc)
        return rc;
    gw->n.events++;
    if ((rc = gw__append(c, HJ212GW_TOPIC_EVENT, dev->code, m->p, m->len)) || !cp->nbad_total)
        return rc;
    /* items refused on their own: dead-lettered beside the event */
    char reason[HJ212_DETAIL_MAX + 256];
    gw__rejected(cp, &gw->why);
    snprintf(reason, sizeof(reason), "rejected fields: %.*s",
             (int)(gw->why.len > 240 ? 240 : gw->why.len), gw->why.p);
    return gw__reject(c, dev->code, reason, NULL, ch->data, ch->len);
}

/* ---- password checks --------------------------------------------------- */

static int gw__auth_lookup(const struct gw__conn *c, const char *mn, const char *pw,
                           const char *hash)
{
    for (size_t i = 0; i < GW_AUTH_SLOTS; i++) {
        const struct gw__auth *a = &c->auth[i];
        if (a->used && strcmp(a->mn, mn) == 0 && strcmp(a->pw, pw) == 0 &&
            strcmp(a->hash, hash) == 0)
            return a->ok;
    }
    return -1;
}

/* A verdict cached by an earlier connection of the same logger. */
static bool gw__okpw_hit(struct hj212gw *gw, const char *mn, const char *pw, const char *hash)
{
    const struct gw__okpw *o = hmap_get(&gw->okpw, mn, strlen(mn));
    return o && strcmp(o->pw, pw) == 0 && strcmp(o->hash, hash) == 0;
}

static void gw__okpw_put(struct hj212gw *gw, const struct gw__job *j)
{
    struct gw__okpw *o = hmap_get(&gw->okpw, j->mn, strlen(j->mn));
    if (!o) {
        o = calloc(1, sizeof(*o));
        if (!o || hmap_put(&gw->okpw, j->mn, strlen(j->mn), o)) {
            free(o);
            return; /* out of memory: the next connection just hashes again */
        }
    }
    memcpy(o->pw, j->pw, sizeof(o->pw));
    memcpy(o->hash, j->hash, sizeof(o->hash));
}

static void gw__auth_store(struct gw__conn *c, const char *mn, const char *pw, const char *hash,
                           bool ok)
{
    struct gw__auth *a = &c->auth[c->auth_next++ % GW_AUTH_SLOTS];
    a->used = true;
    a->ok = ok;
    snprintf(a->mn, sizeof(a->mn), "%s", mn);
    snprintf(a->pw, sizeof(a->pw), "%s", pw);
    snprintf(a->hash, sizeof(a->hash), "%s", hash);
}

/* Thread pool: touches only the job's copies. */
static void gw__auth_work(uv_work_t *req)
{
    struct gw__job *j = (struct gw__job *)req;
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    const char *h;

    if (!cd) {
        j->oom = true;
        return;
    }
    h = crypt_rn(j->pw, j->hash, cd, (int)sizeof(*cd));
    /* crypt_rn returns NULL for a hash it does not understand: no match */
    j->ok = h && gw__same(h, j->hash);
    memset(cd, 0, sizeof(*cd));
    free(cd);
}

static void gw__maybe_done(struct hj212gw *gw);
static void gw__resume(struct gw__conn *c);

static void gw__auth_done(uv_work_t *req, int status)
{
    struct gw__job *j = (struct gw__job *)req;
    struct hj212gw *gw = j->gw;
    struct gw__conn *c = j->c;

    if (j->prev)
        j->prev->next = j->next;
    else
        gw->jobs = j->next;
    if (j->next)
        j->next->prev = j->prev;
    gw->njobs--;
    if (status == 0 && !j->oom && j->ok && !gw->closing)
        gw__okpw_put(gw, j);
    if (c) {
        c->job = NULL;
        if (status == 0 && j->oom) {
            gw__conn_close(c, ELOG_WARN, "out of memory checking a password");
        } else if (status == 0) {
            gw__auth_store(c, j->mn, j->pw, j->hash, j->ok);
            if (c->hold == GW_HOLD_AUTH)
                gw__resume(c);
        }
    }
    memset(j->pw, 0, sizeof(j->pw));
    free(j);
    gw__maybe_done(gw);
}

static int gw__auth_start(struct gw__conn *c, const char *hash)
{
    struct hj212gw *gw = c->gw;
    struct gw__job *j = calloc(1, sizeof(*j));
    int rc;

    if (!j)
        return -ENOMEM;
    j->gw = gw;
    j->c = c;
    snprintf(j->mn, sizeof(j->mn), "%s", c->frame.mn);
    snprintf(j->pw, sizeof(j->pw), "%s", c->frame.pw);
    snprintf(j->hash, sizeof(j->hash), "%s", hash);
    rc = uv_queue_work(gw->loop, &j->req, gw__auth_work, gw__auth_done);
    if (rc) {
        free(j);
        return rc;
    }
    j->next = gw->jobs;
    if (gw->jobs)
        gw->jobs->prev = j;
    gw->jobs = j;
    gw->njobs++;
    c->job = j;
    gw->n.auth_checks++;
    return 0;
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

/* An accepted frame: who sent it, then what it says. */
static void gw__frame(struct gw__conn *c, const struct hj212_chunk *ch)
{
    struct hj212gw *gw = c->gw;
    const struct hj212_frame *f = &c->frame;
    const struct reg *reg = gw->sink.registry(gw->sink.ud);
    const struct reg_device *dev;
    struct hj212_err err;
    struct gw__dev *d;
    char detail[96];
    int cn, ok, rc;
    char period;

    if (!reg) {
        gw__hold(c, GW_HOLD_REGISTRY, ch);
        return;
    }
    dev = reg_device(reg, f->mn, strlen(f->mn));
    if (!dev || dev->mqtt) {
        gw->n.unknown_mn++;
        gw__refuse(c, NULL, "unknown MN", dev ? "the device is registered for MQTT" : NULL, ch);
        return;
    }
    if ((d = gw__dev(gw, dev->code)) != NULL)
        d->frames++;
    if (!dev->active) {
        gw__refuse(c, dev->code, "inactive device", NULL, ch);
        return;
    }
    if (!dev->pw_hash[0]) {
        gw->n.bad_password++;
        gw__refuse(c, dev->code, "bad password", "no password is registered for this MN", ch);
        return;
    }
    ok = gw__auth_lookup(c, f->mn, f->pw, dev->pw_hash);
    if (ok < 0 && gw__okpw_hit(gw, f->mn, f->pw, dev->pw_hash)) {
        gw__auth_store(c, f->mn, f->pw, dev->pw_hash, true);
        ok = 1;
    }
    if (ok < 0) {
        rc = gw__auth_start(c, dev->pw_hash);
        if (rc)
            gw__conn_close(c, ELOG_WARN, "cannot queue a password check");
        else
            gw__hold(c, GW_HOLD_AUTH, ch);
        return;
    }
    if (!ok) {
        gw->n.bad_password++;
        gw__refuse(c, dev->code, "bad password", NULL, ch);
        return;
    }
    gw__authenticated(c);
    cn = (int)strtol(f->cn, NULL, 10); /* the parser checked it: 4 digits */
    if (cn < 9000 && dev->st[0] && strcmp(dev->st, f->st) != 0) {
        /* the ST selects the code map: a wrong one would store wrong units */
        snprintf(detail, sizeof(detail), "frame ST=%s, registered %s", f->st, dev->st);
        gw__refuse(c, dev->code, "ST mismatch", detail, ch);
        return;
    }
    if (hj212_cp_parse(f->cp, f->cp_len, gw->cp, &err)) {
        gw__refuse(c, dev->code, hj212_reason_str(err.reason), err.detail, ch);
        return;
    }
    if (f->lax || gw->cp->lax)
        gw->n.lax++;
    if ((period = gw__period(cn)) != 0)
        rc = gw__data(c, ch, reg, dev, period);
    else if (cn == 9015)
        rc = 0; /* HJ 212-2025 heartbeat: keeps the link up, nothing to store */
    else
        rc = gw__event(c, ch, dev, cn);
    if (rc || c->closing)
        return;
    c->bad_streak = 0;
    c->junk_since_good = 0;
    if (cn == 1013) {
        /* "please set my clock": notify answer, then the time */
        gw__send_answer(c, 9013);
        gw__send_set_time(c);
    } else if (cn < 9000 && f->ack) {
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
    memset(c->auth, 0, sizeof(c->auth)); /* passwords */
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
    if (c->job) {
        c->job->c = NULL; /* the verdict comes back to nobody */
        c->job = NULL;
    }
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
    gw->cp = malloc(sizeof(*gw->cp));
    if (!gw->cp) {
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
    /* a readings message of 512 values is ~25 KiB; the caps stop a runaway */
    buf_init(&gw->msg, 1u << 20);
    buf_init(&gw->why, 4096);
    buf_init(&gw->bad, 4096);
    buf_init(&gw->mask, 2 * HJ212_FRAME_MAX + 1);
    hmap_init(&gw->devs);
    hmap_init(&gw->okpw);
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
    for (size_t i = 0; i < gw->okpw.cap; i++) {
        if (gw->okpw.slots[i].val)
            memset(gw->okpw.slots[i].val, 0, sizeof(struct gw__okpw));
        free(gw->okpw.slots[i].val);
    }
    hmap_close(&gw->okpw);
    buf_close(&gw->msg);
    buf_close(&gw->why);
    buf_close(&gw->bad);
    buf_close(&gw->mask);
    free(gw->cp);
    free(gw);
}

static void gw__maybe_done(struct hj212gw *gw)
{
    void (*done)(void *);
    void *ud;

    if (!gw->closing || gw->nconn || gw->njobs || gw->handles_open)
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
    for (struct gw__job *j = gw->jobs; j; j = j->next) {
        j->c = NULL;
        uv_cancel((uv_req_t *)&j->req); /* one already running just finishes */
    }
    gw__close_server(gw);
    uv_close((uv_handle_t *)&gw->tick, gw__handle_closed);
    uv_close((uv_handle_t *)&gw->check, gw__handle_closed);
}

/* ---- counters ---------------------------------------------------------- */

void hj212gw_get_counters(const struct hj212gw *gw, struct hj212gw_counters *out)
{
    *out = gw->n;
    out->conns_open = gw->nconn;
    out->conns_unauth = gw->nunauth;
}

void hj212gw_report(struct hj212gw *gw)
{
    size_t shown = 0, more = 0;
    uint64_t more_n = 0;

    uint64_t ended = gw->n.conns_refused + gw->n.conns_refused_peer + gw->n.conns_evicted +
                     gw->n.conns_closed_auth + gw->n.conns_closed_slow + gw->n.conns_closed_idle;

    if (gw->n.frames != gw->reported_frames || ended != gw->reported_ended) {
        gw->reported_frames = gw->n.frames;
        gw->reported_ended = ended;
        elog_info(
            "hj212 counters",
            "connections=%zu unauthenticated=%zu accepted=%llu refused=%llu "
            "refused_peer=%llu evicted=%llu closed_auth=%llu closed_slow=%llu "
            "closed_idle=%llu closed_bad=%llu frames=%llu data=%llu values=%llu "
            "events=%llu rejected=%llu answers=%llu auth_checks=%llu junk_bytes=%llu",
            gw->nconn, gw->nunauth, (unsigned long long)gw->n.conns_accepted,
            (unsigned long long)gw->n.conns_refused, (unsigned long long)gw->n.conns_refused_peer,
            (unsigned long long)gw->n.conns_evicted, (unsigned long long)gw->n.conns_closed_auth,
            (unsigned long long)gw->n.conns_closed_slow,
            (unsigned long long)gw->n.conns_closed_idle, (unsigned long long)gw->n.conns_closed_bad,
            (unsigned long long)gw->n.frames, (unsigned long long)gw->n.data_frames,
            (unsigned long long)gw->n.values, (unsigned long long)gw->n.events,
            (unsigned long long)gw->n.rejected, (unsigned long long)gw->n.answers,
            (unsigned long long)gw->n.auth_checks, (unsigned long long)gw->n.junk_bytes);
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
    int n = snprintf(
        out, cap,
        "\"hj212\":{\"connections\":%zu,\"accepted\":%llu,\"refused\":%llu,"
        "\"frames\":%llu,\"data_frames\":%llu,\"values\":%llu,\"events\":%llu,"
        "\"rejected\":%llu,\"answers\":%llu,\"unauthenticated\":%zu,"
        "\"refused_peer\":%llu,\"evicted\":%llu,\"closed_auth\":%llu,"
        "\"closed_slow\":%llu,\"closed_idle\":%llu,\"closed_bad\":%llu}",
        gw->nconn, (unsigned long long)gw->n.conns_accepted,
        (unsigned long long)gw->n.conns_refused, (unsigned long long)gw->n.frames,
        (unsigned long long)gw->n.data_frames, (unsigned long long)gw->n.values,
        (unsigned long long)gw->n.events, (unsigned long long)gw->n.rejected,
        (unsigned long long)gw->n.answers, gw->nunauth,
        (unsigned long long)gw->n.conns_refused_peer, (unsigned long long)gw->n.conns_evicted,
        (unsigned long long)gw->n.conns_closed_auth, (unsigned long long)gw->n.conns_closed_slow,
        (unsigned long long)gw->n.conns_closed_idle, (unsigned long long)gw->n.conns_closed_bad);
    if (n < 0 || (size_t)n >= cap) {
        if (cap)
            out[0] = '\0';
        return 0;
    }
    return (size_t)n;
}
