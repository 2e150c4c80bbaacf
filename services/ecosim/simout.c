#include "simout.h"

#include "cfg.h"
#include "etime.h"
#include "hj212.h"
#include "json.h"
#include "mq.h"

#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define SIMOUT_MIDS 65536
#define SIMOUT_RETRY_MS 250
#define SIMOUT_BACKOFF_MIN_MS 500
#define SIMOUT_BACKOFF_MAX_MS 10000

/* ---- rendering -------------------------------------------------------- */

int simout_topic(const struct simnet *net, const struct simgen_msg *m, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "eco/v1/in/%s", net->devices[m->device].code);
    return n < 0 || (size_t)n >= cap ? -E2BIG : 0;
}

/* Values are already rounded to the param's decimals; this only keeps the
 * printed form short and exact. */
static double simout__r6(double v)
{
    double r = round(v * 1e6) / 1e6;
    return r == 0 ? 0.0 : r;
}

int simout_json(const struct simnet *net, const struct simgen_msg *m, char *buf, size_t cap,
                size_t *len)
{
    char ts[ETIME_RFC3339_MAX];
    cJSON *o = cJSON_CreateObject(), *vals;
    bool ok;
    int rc = -ENOMEM;

    if (!o)
        return -ENOMEM;
    etime_format(m->ts_us, ETIME_BEIJING_OFFSET, ts, sizeof(ts));
    ok = cJSON_AddStringToObject(o, "ts", ts) &&
         cJSON_AddStringToObject(o, "period", simnet_period_name(m->period));
    vals = ok ? cJSON_AddObjectToObject(o, "values") : NULL;
    ok = vals != NULL;
    for (int i = 0; ok && i < m->nvals; i++) {
        const struct simgen_val *v = &m->vals[i];
        const char *code = net->params[v->param].code;
        if (v->flag && v->flag != 'N') {
            char f[2] = {v->flag, 0};
            cJSON *x = cJSON_AddObjectToObject(vals, code);
            ok = x && cJSON_AddNumberToObject(x, "v", simout__r6(v->v)) &&
                 cJSON_AddStringToObject(x, "flag", f);
        } else {
            ok = cJSON_AddNumberToObject(vals, code, simout__r6(v->v)) != NULL;
        }
    }
    if (ok && m->has_pos)
        ok = cJSON_AddNumberToObject(o, "lat", simout__r6(m->lat)) &&
             cJSON_AddNumberToObject(o, "lon", simout__r6(m->lon));
    if (ok) {
        /* cJSON asks for 5 spare bytes when printing into a buffer. */
        rc = cap > 5 && cJSON_PrintPreallocated(o, buf, (int)(cap - 5), false) ? 0 : -E2BIG;
        if (!rc)
            *len = strlen(buf);
    }
    cJSON_Delete(o);
    return rc;
}

/* HJ 212 "Nx.y": plain decimal, no exponent, trailing zeros trimmed. */
static int simout__hjnum(double v, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%.6f", simout__r6(v));
    if (n < 0 || (size_t)n >= cap)
        return -E2BIG;
    while (n > 1 && out[n - 1] == '0')
        out[--n] = '\0';
    if (n > 1 && out[n - 1] == '.')
        out[--n] = '\0';
    return n;
}

static const char *simout__st(const struct simnet *net, const struct simnet_device *d)
{
    static const char *const st[SIMNET_NKINDS] = {"22", "22", "21", "26", "31", "32", "22"};
    return d->st[0] ? d->st : st[net->sites[d->site].kind];
}

static const char *simout__cn(enum simnet_period p)
{
    static const char *const cn[SIMNET_NPERIODS] = {"2011", "2051", "2061", "2031"};
    return cn[p];
}

/* One pollutant group of the CP area, e.g. "w01018-Avg=12.3,...,w01018-Flag=N". */
static int simout__group(const char *code, const struct simgen_val *v, enum simnet_period per,
                         char *out, size_t cap)
{
    char a[48], b[48], c[48];
    char flag = v->flag ? v->flag : 'N';
    int n;

    if (simout__hjnum(v->v, a, sizeof(a)) < 0 || simout__hjnum(v->vmin, b, sizeof(b)) < 0 ||
        simout__hjnum(v->vmax, c, sizeof(c)) < 0)
        return -E2BIG;
    if (per == SIMNET_RT)
        n = snprintf(out, cap, "%s-Rtd=%s,%s-Flag=%c", code, a, code, flag);
    else
        n = snprintf(out, cap, "%s-Min=%s,%s-Avg=%s,%s-Max=%s,%s-Flag=%c", code, b, code, a, code,
                     c, code, flag);
    return n < 0 || (size_t)n >= cap ? -E2BIG : n;
}

static int simout__cpy(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        return -EINVAL;
    memcpy(dst, src, n + 1);
    return 0;
}

/* Encodes one frame of the CP text cp (without the "&&"s). */
static int simout__frame(const struct simnet *net, const struct simgen_msg *m, int flag, int pnum,
                         int pno, int64_t qn_us, const char *cp, size_t cplen, char *out,
                         size_t cap, size_t *len)
{
    const struct simnet_device *d = &net->devices[m->device];
    struct hj212_frame f;
    char qn[18];
    size_t n;
    int rc;

    memset(&f, 0, sizeof(f));
    etime_format_hj212(qn_us, ETIME_BEIJING_OFFSET, 1, qn);
    snprintf(f.qn, sizeof(f.qn), "%s", qn);
    if (simout__cpy(f.st, sizeof(f.st), simout__st(net, d)) ||
        simout__cpy(f.cn, sizeof(f.cn), simout__cn(m->period)) ||
        simout__cpy(f.pw, sizeof(f.pw), d->password[0] ? d->password : "123456") ||
        simout__cpy(f.mn, sizeof(f.mn), d->code))
        return -EINVAL;
    f.fields = HJ212_F_QN | HJ212_F_ST | HJ212_F_CN | HJ212_F_PW | HJ212_F_MN | HJ212_F_FLAG;
    f.flag = flag;
    if (pnum > 1) {
        f.flag |= (int)HJ212_FLAG_D;
        f.pnum = pnum;
        f.pno = pno;
        f.fields |= HJ212_F_PNUM | HJ212_F_PNO;
    }
    f.cp = cp;
    f.cp_len = cplen;
    rc = hj212_encode(&f, out, cap, &n, NULL);
    if (rc)
        return rc == -ENOSPC ? -E2BIG : rc;
    *len = n;
    return 0;
}

int simout_hj212(const struct simnet *net, const struct simgen_msg *m, int flag, int64_t qn_us,
                 char *buf, size_t cap, size_t *len, int64_t *last_qn_us)
{
    char groups[SIMMODEL_CHANS_MAX][256], dt[18], cp[HJ212_CP_STD_MAX + 1];
    int glen[SIMMODEL_CHANS_MAX], ng = 0, nparts = 0, part[SIMMODEL_CHANS_MAX + 1];
    size_t head, used = 0;
    int rc;

    etime_format_hj212(m->ts_us, ETIME_BEIJING_OFFSET, 0, dt);
    head = strlen("DataTime=") + 14;
    for (int i = 0; i < m->nvals; i++) {
        const char *code =
            simnet_hj212_code(net, simout__st(net, &net->devices[m->device]), m->vals[i].param);
        if (!code[0])
            continue;
        glen[ng] = simout__group(code, &m->vals[i], m->period, groups[ng], sizeof(groups[ng]));
        if (glen[ng] < 0)
            return glen[ng];
        ng++;
    }
    *len = 0;
    *last_qn_us = qn_us;
    if (ng == 0)
        return 0;
    /* Greedy split into parts whose CP stays within the 2017 limit of 950
     * bytes (which keeps the data segment within 1024); groups are never
     * cut. */
    part[nparts++] = 0;
    for (int i = 0, sz = (int)head; i < ng; i++) {
        if (sz + 1 + glen[i] > HJ212_CP_STD_MAX && i > part[nparts - 1]) {
            part[nparts++] = i;
            sz = (int)head;
        }
        sz += 1 + glen[i];
    }
    part[nparts] = ng;
    for (int k = 0; k < nparts; k++) {
        size_t n = (size_t)snprintf(cp, sizeof(cp), "DataTime=%s", dt), fl;
        for (int i = part[k]; i < part[k + 1]; i++) {
            if (n + 1 + (size_t)glen[i] >= sizeof(cp))
                return -E2BIG;
            cp[n++] = ';';
            memcpy(cp + n, groups[i], (size_t)glen[i] + 1);
            n += (size_t)glen[i];
        }
        rc = simout__frame(net, m, flag, nparts, k + 1, qn_us + k * 1000, cp, n, buf + used,
                           cap - used, &fl);
        if (rc)
            return rc;
        used += fl;
    }
    *len = used;
    *last_qn_us = qn_us + (nparts - 1) * 1000;
    return nparts;
}

/* ---- transport -------------------------------------------------------- */

enum simout__lgstate {
    SIMOUT_LG_IDLE, /* no handle; waiting for retry_at */
    SIMOUT_LG_CONNECTING,
    SIMOUT_LG_UP,
    SIMOUT_LG_CLOSING, /* handle closing */
    SIMOUT_LG_DEAD,    /* unreachable at start: left out */
};

struct simout__lg;

/* A queued HJ 212 frame. state: 0 queued, 1 being written, 2 written and
 * awaiting its 9014. */
struct simout__frame {
    struct simout__frame *next;
    struct simout__lg *lg;
    uv_write_t wreq;
    int state;
    bool acked; /* the 9014 came before the write callback */
    char qn[18];
    size_t len;
    char data[];
};

struct simout__lg {
    struct simout *so;
    int device;
    enum simout__lgstate state;
    bool ever_up, first_done, blocked;
    uv_tcp_t tcp;
    uv_connect_t creq;
    struct simout__frame *head, *tail;
    size_t qbytes;
    int64_t last_qn_us;
    uint64_t retry_at;
    int backoff_ms;
    struct hj212_framer *fr;
};

struct simout {
    uv_loop_t *loop;
    const struct simnet *net;
    struct simout_opts o;
    struct simout_cbs cbs;
    void *ud;
    struct mq *mq;
    bool mq_up;
    uint8_t *mine; /* bitmap: our QoS 1 mids awaiting PUBACK */
    uint64_t inflight;
    struct simout__lg *lg;
    size_t nlg;
    int *lg_of_dev;
    struct sockaddr_storage addr;
    uv_timer_t retry;
    bool retry_on;
    int startup_pending;
    bool closing;
    int pending_closes;
    void (*done)(void *ud);
    struct simout_stats st;
    char topic[128];
    char buf[SIMOUT_PAYLOAD_MAX];
    char rbuf[4096];
};

static void simout__ready(struct simout *so)
{
    if (!so->closing && so->cbs.on_ready)
        so->cbs.on_ready(so->ud);
}

static void simout__on_state(void *ud, bool connected)
{
    struct simout *so = ud;
    so->mq_up = connected;
    if (connected)
        simout__ready(so);
}

static void simout__on_published(void *ud, int mid)
{
    struct simout *so = ud;
    unsigned m = (unsigned)mid % SIMOUT_MIDS;

    /* mq also acknowledges its own status publishes: count only ours. */
    if (!(so->mine[m / 8] & (1u << (m % 8))))
        return;
    so->mine[m / 8] &= (uint8_t) ~(1u << (m % 8));
    so->inflight--;
    so->st.mqtt_acked++;
    simout__ready(so);
}

static int simout__resolve(const char *addr, struct sockaddr_storage *out)
{
    char host[CFG_STR_MAX], port[8];
    int p;
    struct addrinfo hints, *res = NULL;

    if (cfg_split_addr(addr, host, sizeof(host), &p) || p == 0)
        return -EINVAL;
    if (!uv_ip4_addr(host, p, (struct sockaddr_in *)out) ||
        !uv_ip6_addr(host, p, (struct sockaddr_in6 *)out))
        return 0;
    /* A name: resolved once, at start (a blocking lookup is fine here). */
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port, sizeof(port), "%d", p);
    if (getaddrinfo(host, port, &hints, &res) || !res)
        return -EINVAL;
    memcpy(out, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

int simout_new(uv_loop_t *loop, const struct simnet *net, const struct simout_opts *o,
               const struct simout_cbs *cbs, void *ud, struct simout **out)
{
    struct simout *so = calloc(1, sizeof(*so));
    bool hj = o->hj212_addr && o->hj212_addr[0];
    int rc = -ENOMEM;

    if (!so)
        return -ENOMEM;
    so->loop = loop;
    so->net = net;
    so->o = *o;
    so->cbs = *cbs;
    so->ud = ud;
    so->lg_of_dev = calloc(net->ndevices ? net->ndevices : 1, sizeof(int));
    so->mine = calloc(SIMOUT_MIDS / 8, 1);
    if (!so->lg_of_dev || !so->mine)
        goto fail;
    for (size_t d = 0; d < net->ndevices; d++) {
        so->lg_of_dev[d] = -1;
        if (hj && net->devices[d].hj212)
            so->lg_of_dev[d] = (int)so->nlg++;
    }
    if (hj && !o->out) {
        if (simout__resolve(o->hj212_addr, &so->addr)) {
            rc = -EINVAL;
            goto fail;
        }
        so->lg = calloc(so->nlg ? so->nlg : 1, sizeof(*so->lg));
        if (!so->lg)
            goto fail;
        for (size_t d = 0, i = 0; d < net->ndevices; d++) {
            struct simout__lg *lg;
            if (so->lg_of_dev[d] < 0)
                continue;
            lg = &so->lg[i++];
            lg->so = so;
            lg->device = (int)d;
            lg->backoff_ms = SIMOUT_BACKOFF_MIN_MS;
            lg->fr = malloc(sizeof(*lg->fr));
            if (!lg->fr)
                goto fail;
            hj212_framer_init(lg->fr, 0);
        }
        so->st.hj_loggers = (int)so->nlg;
    }
    if (!o->out) {
        struct mq_opts mo = {
            .url = o->mqtt_url,
            .user = o->mqtt_user,
            .password = o->mqtt_password,
            .cafile = o->mqtt_cafile,
            .service = "ecosim",
            .instance = o->instance,
            .max_outstanding = o->window,
        };
        struct mq_cbs mc = {.on_state = simout__on_state, .on_published = simout__on_published};
        if ((rc = mq_new(loop, &mo, &mc, so, &so->mq)))
            goto fail;
    }
    *out = so;
    return 0;
fail:
    for (size_t i = 0; so->lg && i < so->nlg; i++)
        free(so->lg[i].fr);
    free(so->lg);
    free(so->lg_of_dev);
    free(so->mine);
    free(so);
    return rc;
}

/* ---- loggers ---------------------------------------------------------- */

static void simout__lg_connect(struct simout__lg *lg);
static void simout__lg_flush(struct simout__lg *lg);

static void simout__release(struct simout *so)
{
    void (*done)(void *) = so->done;
    void *ud = so->ud;

    for (size_t i = 0; so->lg && i < so->nlg; i++) {
        struct simout__frame *f = so->lg[i].head, *nx;
        for (; f; f = nx) {
            nx = f->next;
            free(f);
        }
        free(so->lg[i].fr);
    }
    free(so->lg);
    free(so->lg_of_dev);
    free(so->mine);
    free(so);
    if (done)
        done(ud);
}

static void simout__closed_one(struct simout *so)
{
    if (--so->pending_closes == 0 && so->closing)
        simout__release(so);
}

static void simout__lg_closed(uv_handle_t *h)
{
    struct simout__lg *lg = h->data;
    struct simout *so = lg->so;

    if (so->closing) {
        lg->state = SIMOUT_LG_IDLE;
        simout__closed_one(so);
        return;
    }
    so->pending_closes--;
    if (!lg->ever_up) {
        /* Never reached: the gateway is not there. Leave this logger out
         * rather than hold the whole run. */
        lg->state = SIMOUT_LG_DEAD;
        so->st.hj_unreachable++;
    } else {
        lg->state = SIMOUT_LG_IDLE;
        lg->retry_at = uv_now(so->loop) + (uint64_t)lg->backoff_ms;
        lg->backoff_ms =
            lg->backoff_ms * 2 > SIMOUT_BACKOFF_MAX_MS ? SIMOUT_BACKOFF_MAX_MS : lg->backoff_ms * 2;
    }
    /* Whatever was in flight goes again after the reconnect. */
    for (struct simout__frame *f = lg->head; f; f = f->next)
        f->state = 0;
    hj212_framer_init(lg->fr, 0);
    if (!lg->first_done) {
        lg->first_done = true;
        so->startup_pending--;
        if (so->startup_pending == 0)
            simout__ready(so);
    }
    if (lg->state == SIMOUT_LG_DEAD && lg->blocked) {
        lg->blocked = false;
        simout__ready(so);
    }
}

static void simout__lg_drop(struct simout__lg *lg)
{
    if (lg->state == SIMOUT_LG_CLOSING || uv_is_closing((uv_handle_t *)&lg->tcp))
        return;
    lg->state = SIMOUT_LG_CLOSING;
    uv_close((uv_handle_t *)&lg->tcp, simout__lg_closed);
}

static void simout__lg_unlink(struct simout__lg *lg, struct simout__frame *f)
{
    struct simout__frame **pp = &lg->head, *prev = NULL;

    for (; *pp; prev = *pp, pp = &(*pp)->next) {
        if (*pp != f)
            continue;
        *pp = f->next;
        if (lg->tail == f)
            lg->tail = prev;
        lg->qbytes -= f->len;
        free(f);
        break;
    }
    /* Room again, or empty (the run may be waiting to drain). */
    if ((lg->blocked && lg->qbytes < SIMOUT_HJ_QUEUE_MAX / 2) || !lg->head) {
        lg->blocked = false;
        simout__ready(lg->so);
    }
}

static void simout__lg_written(uv_write_t *req, int status)
{
    struct simout__frame *f = req->data;
    struct simout__lg *lg = f->lg;
    struct simout *so = lg->so;

    if (f->acked) {
        /* Answered already: the frame arrived, whatever this status says. */
        so->st.hj_written++;
        simout__lg_unlink(lg, f);
        return;
    }
    if (status < 0) {
        f->state = 0;
        if (!so->closing && lg->state == SIMOUT_LG_UP)
            simout__lg_drop(lg);
        return;
    }
    so->st.hj_written++;
    if (so->o.hj212_ack)
        f->state = 2;
    else
        simout__lg_unlink(lg, f);
}

static void simout__lg_flush(struct simout__lg *lg)
{
    for (struct simout__frame *f = lg->head; f; f = f->next) {
        uv_buf_t b;
        if (f->state != 0)
            continue;
        b = uv_buf_init(f->data, (unsigned)f->len);
        f->wreq.data = f;
        if (uv_write(&f->wreq, (uv_stream_t *)&lg->tcp, &b, 1, simout__lg_written)) {
            simout__lg_drop(lg);
            return;
        }
        f->state = 1;
    }
}

static void simout__lg_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct simout__lg *lg = h->data;
    /* One buffer serves all loggers: a read is fed to the framer at once. */
    (void)hint;
    *buf = uv_buf_init(lg->so->rbuf, sizeof(lg->so->rbuf));
}

static void simout__lg_frame(struct simout__lg *lg, const struct hj212_frame *f)
{
    struct simout *so = lg->so;

    if (strcmp(f->cn, "9014") != 0) {
        so->st.hj_other++;
        return;
    }
    for (struct simout__frame *q = lg->head; q; q = q->next)
        if (q->state != 0 && !q->acked && strcmp(q->qn, f->qn) == 0) {
            so->st.hj_acked++;
            /* libuv still owns a frame whose write callback has not run. */
            if (q->state == 1)
                q->acked = true;
            else
                simout__lg_unlink(lg, q);
            return;
        }
    so->st.hj_other++; /* an answer to something already answered */
}

static void simout__lg_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct simout__lg *lg = s->data;
    struct simout *so = lg->so;
    size_t off = 0;

    if (nread < 0) {
        if (!so->closing)
            simout__lg_drop(lg);
        return;
    }
    while (off < (size_t)nread) {
        struct hj212_chunk ch;
        struct hj212_frame f;
        off += hj212_framer_feed(lg->fr, buf->base + off, (size_t)nread - off);
        while (hj212_framer_next(lg->fr, false, &ch, &f) == 0) {
            if (ch.kind == HJ212_CHUNK_FRAME && ch.err.reason == HJ212_OK)
                simout__lg_frame(lg, &f);
            else
                so->st.hj_bad++;
        }
    }
}

static void simout__lg_connected(uv_connect_t *req, int status)
{
    struct simout__lg *lg = req->data;
    struct simout *so = lg->so;

    if (status < 0 || so->closing) {
        simout__lg_drop(lg);
        return;
    }
    if (lg->ever_up)
        so->st.hj_reconnects++;
    lg->state = SIMOUT_LG_UP;
    lg->ever_up = true;
    lg->backoff_ms = SIMOUT_BACKOFF_MIN_MS;
    uv_read_start((uv_stream_t *)&lg->tcp, simout__lg_alloc, simout__lg_read);
    simout__lg_flush(lg);
    if (!lg->first_done) {
        lg->first_done = true;
        so->startup_pending--;
    }
    simout__ready(so);
}

static void simout__lg_connect(struct simout__lg *lg)
{
    struct simout *so = lg->so;

    uv_tcp_init(so->loop, &lg->tcp);
    lg->tcp.data = lg;
    lg->creq.data = lg;
    so->pending_closes++;
    lg->state = SIMOUT_LG_CONNECTING;
    if (uv_tcp_connect(&lg->creq, &lg->tcp, (const struct sockaddr *)&so->addr,
                       simout__lg_connected))
        simout__lg_drop(lg);
}

static void simout__on_retry(uv_timer_t *t)
{
    struct simout *so = t->data;
    uint64_t now = uv_now(so->loop);

    for (size_t i = 0; i < so->nlg; i++) {
        struct simout__lg *lg = &so->lg[i];
        if (lg->state == SIMOUT_LG_IDLE && lg->ever_up && now >= lg->retry_at)
            simout__lg_connect(lg);
    }
}

/* ---- public ----------------------------------------------------------- */

int simout_start(struct simout *so)
{
    int rc;

    if (so->mq && (rc = mq_start(so->mq)))
        return rc;
    if (so->nlg && so->lg) {
        uv_timer_init(so->loop, &so->retry);
        so->retry.data = so;
        so->retry_on = true;
        so->pending_closes++;
        uv_timer_start(&so->retry, simout__on_retry, SIMOUT_RETRY_MS, SIMOUT_RETRY_MS);
        so->startup_pending = (int)so->nlg;
        for (size_t i = 0; i < so->nlg; i++)
            simout__lg_connect(&so->lg[i]);
    }
    if (!so->mq)
        simout__ready(so);
    return 0;
}

bool simout_ready(const struct simout *so)
{
    return so->o.out || ((!so->mq || so->mq_up) && so->startup_pending == 0);
}

bool simout_connected(const struct simout *so)
{
    return so->o.out || !so->mq || so->mq_up;
}

static int simout__print(struct simout *so, const struct simgen_msg *m)
{
    const struct simnet_device *d = &so->net->devices[m->device];
    size_t len;
    int rc;

    if (so->lg_of_dev[m->device] >= 0) {
        int64_t last;
        int n = simout_hj212(so->net, m, so->o.hj212_ack ? 5 : 4, m->at_us, so->buf,
                             sizeof(so->buf), &len, &last);
        char *p = so->buf, *e;
        if (n < 0)
            return n;
        so->st.hj_msgs++;
        for (; n > 0 && (e = strstr(p, "\r\n")); p = e + 2, n--) {
            if (fprintf(so->o.out, "hj212/%s\t%.*s\n", d->code, (int)(e - p), p) < 0)
                return errno == EPIPE ? -EPIPE : -EIO;
            so->st.hj_frames++;
            so->st.lines++;
        }
        return 0;
    }
    if ((rc = simout_topic(so->net, m, so->topic, sizeof(so->topic))) ||
        (rc = simout_json(so->net, m, so->buf, sizeof(so->buf), &len)))
        return rc;
    if (fprintf(so->o.out, "%s\t%s\n", so->topic, so->buf) < 0)
        return errno == EPIPE ? -EPIPE : -EIO;
    so->st.lines++;
    return 0;
}

static int simout__hj(struct simout *so, struct simout__lg *lg, const struct simgen_msg *m)
{
    int64_t qn = m->at_us > lg->last_qn_us ? m->at_us : lg->last_qn_us + 1000, last;
    size_t len;
    int n;
    char *p;

    if (lg->state == SIMOUT_LG_DEAD) {
        so->st.hj_skipped++;
        return 0;
    }
    if (lg->qbytes >= SIMOUT_HJ_QUEUE_MAX) {
        lg->blocked = true;
        return -EAGAIN;
    }
    /* QNs are millisecond times; keep them unique per logger. */
    qn -= qn % 1000;
    n = simout_hj212(so->net, m, so->o.hj212_ack ? 5 : 4, qn, so->buf, sizeof(so->buf), &len,
                     &last);
    if (n < 0)
        return n;
    if (n == 0) {
        /* No param of this message has an HJ 212 code. */
        so->st.hj_skipped++;
        return 0;
    }
    lg->last_qn_us = last;
    so->st.hj_msgs++;
    p = so->buf;
    for (int k = 0; k < n; k++) {
        char *e = strstr(p, "\r\n");
        size_t fl = (size_t)(e - p) + 2;
        struct simout__frame *f = malloc(sizeof(*f) + fl);
        if (!f)
            return -ENOMEM;
        memset(f, 0, sizeof(*f));
        f->lg = lg;
        f->len = fl;
        memcpy(f->data, p, fl);
        etime_format_hj212(qn + k * 1000, ETIME_BEIJING_OFFSET, 1, f->qn);
        if (lg->tail)
            lg->tail->next = f;
        else
            lg->head = f;
        lg->tail = f;
        lg->qbytes += fl;
        so->st.hj_frames++;
        p = e + 2;
    }
    if (lg->state == SIMOUT_LG_UP)
        simout__lg_flush(lg);
    return 0;
}

int simout_send(struct simout *so, const struct simgen_msg *m)
{
    int lgi = so->lg_of_dev[m->device], rc, mid = 0;
    size_t len;

    if (so->closing)
        return -EAGAIN;
    if (so->o.out)
        return simout__print(so, m);
    if (lgi >= 0)
        return simout__hj(so, &so->lg[lgi], m);
    /* Check the window before rendering: a full window is the common case
     * at full speed. */
    if (!so->mq_up || mq_outstanding(so->mq) >= (so->o.window > 0 ? so->o.window : 1000))
        return -EAGAIN;
    if ((rc = simout_topic(so->net, m, so->topic, sizeof(so->topic))) ||
        (rc = simout_json(so->net, m, so->buf, sizeof(so->buf), &len)))
        return rc;
    rc = mq_publish(so->mq, so->topic, so->buf, len, 1, false, &mid);
    if (rc == -EAGAIN || rc == -ENOTCONN)
        return -EAGAIN;
    if (rc)
        return rc;
    so->mine[(unsigned)mid % SIMOUT_MIDS / 8] |= (uint8_t)(1u << ((unsigned)mid % 8));
    so->inflight++;
    so->st.mqtt_sent++;
    so->st.mqtt_bytes += len;
    return 0;
}

uint64_t simout_unacked(const struct simout *so)
{
    uint64_t n = so->inflight;
    for (size_t i = 0; so->lg && i < so->nlg; i++)
        for (const struct simout__frame *f = so->lg[i].head; f && so->lg[i].state != SIMOUT_LG_DEAD;
             f = f->next)
            n++;
    return n;
}

bool simout_drained(const struct simout *so)
{
    if (so->inflight)
        return false;
    for (size_t i = 0; so->lg && i < so->nlg; i++)
        if (so->lg[i].head && so->lg[i].state != SIMOUT_LG_DEAD)
            return false;
    return true;
}

const struct simout_stats *simout_stats(const struct simout *so)
{
    return &so->st;
}

static void simout__retry_closed(uv_handle_t *h)
{
    simout__closed_one(h->data);
}

static void simout__mq_closed(void *ud)
{
    simout__closed_one(ud);
}

void simout_close(struct simout *so, void (*done)(void *ud))
{
    if (so->closing)
        return;
    so->closing = true;
    so->done = done;
    so->pending_closes++; /* held until every close below is started */
    if (so->mq) {
        so->pending_closes++;
        mq_close(so->mq, simout__mq_closed);
    }
    for (size_t i = 0; so->lg && i < so->nlg; i++) {
        struct simout__lg *lg = &so->lg[i];
        if (lg->state == SIMOUT_LG_CONNECTING || lg->state == SIMOUT_LG_UP) {
            lg->state = SIMOUT_LG_CLOSING;
            uv_close((uv_handle_t *)&lg->tcp, simout__lg_closed);
        }
    }
    if (so->retry_on) {
        uv_timer_stop(&so->retry);
        uv_close((uv_handle_t *)&so->retry, simout__retry_closed);
    }
    simout__closed_one(so);
}
