#include "simrun.h"

#include "elog.h"
#include "etime.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Messages moved per loop turn before yielding to I/O (acks, signals). */
#define SIMRUN_BUDGET 512
#define SIMRUN_PROGRESS_MS 10000

struct simrun__ctx {
    uv_loop_t loop;
    const struct simnet *net;
    struct simrun_opts o;
    struct simgen *gen;
    struct simout *out;
    const struct simgen_msg *cur; /* taken from gen, not yet accepted by out */
    uv_idle_t idle;
    uv_timer_t pace, deadline, progress, connect;
    uv_signal_t sigterm, sigint;
    bool started, finished, stopping, closing, in_pump, failed, drained, reader_gone;
    int signals;
    uint64_t wall0_ms; /* loop time when generation began */
    int64_t from_us;
    int pending_closes;
    struct simrun_result res;
    struct simout_stats last_stats; /* copied when the transport closes */
};

static void simrun__pump(struct simrun__ctx *c);

static void simrun__handle_closed(uv_handle_t *h)
{
    struct simrun__ctx *c = h->data;
    c->pending_closes--;
}

static void simrun__close_handles(struct simrun__ctx *c)
{
    uv_handle_t *hs[] = {
        (uv_handle_t *)&c->idle,     (uv_handle_t *)&c->pace,    (uv_handle_t *)&c->deadline,
        (uv_handle_t *)&c->progress, (uv_handle_t *)&c->connect, (uv_handle_t *)&c->sigterm,
        (uv_handle_t *)&c->sigint,
    };
    for (size_t i = 0; i < sizeof(hs) / sizeof(hs[0]); i++) {
        c->pending_closes++;
        uv_close(hs[i], simrun__handle_closed);
    }
}

static void simrun__out_closed(void *ud)
{
    struct simrun__ctx *c = ud;
    c->out = NULL;
    simrun__close_handles(c);
}

/* Ends the run: closes the transport (after which the loop's handles). */
static void simrun__finish(struct simrun__ctx *c)
{
    if (c->closing)
        return;
    c->closing = true;
    c->drained = simout_drained(c->out);
    c->last_stats = *simout_stats(c->out);
    uv_idle_stop(&c->idle);
    uv_timer_stop(&c->pace);
    uv_timer_stop(&c->deadline);
    simout_close(c->out, simrun__out_closed);
}

static void simrun__on_deadline(uv_timer_t *t)
{
    struct simrun__ctx *c = t->data;
    elog_warn("drain deadline passed", "unacknowledged=%llu",
              (unsigned long long)simout_unacked(c->out));
    simrun__finish(c);
}

/* Generation is over (range done or stop asked): wait for the acks. */
static void simrun__drain(struct simrun__ctx *c)
{
    if (simout_drained(c->out)) {
        simrun__finish(c);
        return;
    }
    if (!uv_is_active((uv_handle_t *)&c->deadline))
        uv_timer_start(&c->deadline, simrun__on_deadline, (uint64_t)c->o.drain_timeout_s * 1000 + 1,
                       0);
}

static int64_t simrun__sim_now(struct simrun__ctx *c)
{
    if (c->o.speed == 0)
        return INT64_MAX;
    return c->from_us + (int64_t)(uv_now(&c->loop) - c->wall0_ms) * 1000 * c->o.speed;
}

static void simrun__on_pace(uv_timer_t *t)
{
    simrun__pump(t->data);
}

static void simrun__on_idle(uv_idle_t *h)
{
    simrun__pump(h->data);
}

static void simrun__count(struct simrun__ctx *c, const struct simgen_msg *m)
{
    enum simnet_kind k = c->net->sites[c->net->devices[m->device].site].kind;
    c->res.msgs[k][m->period]++;
    c->res.readings[k][m->period] += (uint64_t)m->nvals;
    c->res.messages++;
    c->res.values += (uint64_t)m->nvals;
}

/* Moves messages from the generator to the output until the output is
 * full, nothing more is due yet, or the turn's budget is spent. */
static void simrun__pump(struct simrun__ctx *c)
{
    int budget = SIMRUN_BUDGET, rc;

    if (c->in_pump || c->closing)
        return;
    c->in_pump = true;
    /* Runs again only if this turn asks for it (budget spent). */
    uv_idle_stop(&c->idle);
    if (!c->started) {
        if (!simout_ready(c->out))
            goto out;
        c->started = true;
        c->wall0_ms = uv_now(&c->loop);
        uv_timer_stop(&c->connect);
        elog_info("generating", "hj212_unreachable=%d", simout_stats(c->out)->hj_unreachable);
        if (simout_stats(c->out)->hj_unreachable)
            elog_error("HJ 212 gateway unreachable: those loggers are left out, MQTT devices "
                       "go on",
                       "loggers=%d", simout_stats(c->out)->hj_unreachable);
    }
    if (c->finished || c->stopping) {
        simrun__drain(c);
        goto out;
    }
    while (budget > 0) {
        if (!c->cur) {
            rc = simgen_next(c->gen, simrun__sim_now(c), &c->cur);
            if (rc < 0) {
                elog_error("generator failed", "err=\"%s\"", strerror(-rc));
                c->failed = true;
                c->stopping = true;
                simrun__drain(c);
                goto out;
            }
            if (rc == 0)
                break;
        }
        rc = simout_send(c->out, c->cur);
        if (rc == -EPIPE) {
            /* `ecosim --stdout | head`: the reader has seen enough. */
            elog_info("output closed by the reader", NULL);
            c->reader_gone = true;
            c->stopping = true;
            c->cur = NULL;
            simrun__drain(c);
            goto out;
        }
        if (rc == -EAGAIN) {
            /* Backpressure: on_ready resumes us. */
            uv_idle_stop(&c->idle);
            goto out;
        }
        if (rc < 0) {
            char dev[96];
            elog_error("message not sent", "device=%s period=%s err=\"%s\"",
                       elog_q(dev, sizeof(dev), c->net->devices[c->cur->device].code),
                       simnet_period_name(c->cur->period), strerror(-rc));
            c->res.send_errors++;
            if (rc == -EIO) {
                c->failed = true;
                c->stopping = true;
                c->cur = NULL;
                simrun__drain(c);
                goto out;
            }
        } else {
            simrun__count(c, c->cur);
        }
        c->cur = NULL;
        budget--;
    }
    if (simgen_done(c->gen) && !c->cur) {
        c->finished = true;
        uv_idle_stop(&c->idle);
        simrun__drain(c);
        goto out;
    }
    if (budget == 0) {
        uv_idle_start(&c->idle, simrun__on_idle);
    } else {
        /* Nothing due before the next tick: sleep until its wall time. */
        int64_t ahead = simgen_clock(c->gen) - simrun__sim_now(c);
        uint64_t ms = c->o.speed ? (uint64_t)(ahead / 1000 / c->o.speed) + 1 : 1;
        uv_idle_stop(&c->idle);
        uv_timer_start(&c->pace, simrun__on_pace, ms > 1000 ? 1000 : ms, 0);
    }
out:
    c->in_pump = false;
}

/* The output can take more. This may run inside a libmosquitto callback,
 * where closing the client would deadlock on its locks: pump from the next
 * loop turn instead. */
static void simrun__on_ready(void *ud)
{
    struct simrun__ctx *c = ud;
    if (!c->closing)
        uv_idle_start(&c->idle, simrun__on_idle);
}

static void simrun__on_signal(uv_signal_t *s, int signum)
{
    struct simrun__ctx *c = s->data;

    if (++c->signals > 1) {
        elog_warn("second signal: exiting now", "signal=%d", signum);
        _exit(1);
    }
    elog_info("stopping", "signal=%d", signum);
    c->stopping = true;
    c->res.signalled = true;
    if (!c->started) {
        simrun__finish(c);
        return;
    }
    simrun__drain(c);
}

static void simrun__on_connect_timeout(uv_timer_t *t)
{
    struct simrun__ctx *c = t->data;
    if (c->started)
        return;
    elog_error("broker not reachable", "timeout_s=%d", c->o.connect_timeout_s);
    c->failed = true;
    simrun__finish(c);
}

static void simrun__on_progress(uv_timer_t *t)
{
    struct simrun__ctx *c = t->data;
    const struct simout_stats *os = simout_stats(c->out);
    char sim[ETIME_RFC3339_MAX];

    etime_format(simgen_clock(c->gen), ETIME_BEIJING_OFFSET, sim, sizeof(sim));
    if (!c->started)
        elog_warn("waiting for the broker", "connected=%d", simout_connected(c->out));
    else
        elog_info("progress", "sim=%s messages=%llu acked=%llu connected=%d", sim,
                  (unsigned long long)c->res.messages, (unsigned long long)os->mqtt_acked,
                  simout_connected(c->out));
}

static void simrun__summary(struct simrun__ctx *c, const struct simout_stats *os)
{
    const struct simgen_stats *gs = simgen_stats(c->gen);

    for (int k = 0; k < SIMNET_NKINDS; k++)
        for (int p = 0; p < SIMNET_NPERIODS; p++)
            if (c->res.msgs[k][p])
                elog_info("summary.kind", "kind=%s period=%s messages=%llu readings=%llu",
                          simnet_kind_name((enum simnet_kind)k),
                          simnet_period_name((enum simnet_period)p),
                          (unsigned long long)c->res.msgs[k][p],
                          (unsigned long long)c->res.readings[k][p]);
    for (int k = 0; k < SIMINC_NKINDS; k++)
        if (gs->incidents[k])
            elog_info("summary.incident", "kind=%s count=%llu",
                      siminc_kind_name((enum siminc_kind)k), (unsigned long long)gs->incidents[k]);
    elog_info("summary",
              "messages=%llu readings=%llu published=%llu acked=%llu lines=%llu hj212_msgs=%llu "
              "hj212_frames=%llu hj212_written=%llu hj212_acked=%llu hj212_skipped=%llu "
              "hj212_reconnects=%llu send_errors=%llu label_errors=%llu wall_s=%.3f "
              "rate_msg_s=%.0f finished=%d drained=%d",
              (unsigned long long)c->res.messages, (unsigned long long)c->res.values,
              (unsigned long long)os->mqtt_sent, (unsigned long long)os->mqtt_acked,
              (unsigned long long)os->lines, (unsigned long long)os->hj_msgs,
              (unsigned long long)os->hj_frames, (unsigned long long)os->hj_written,
              (unsigned long long)os->hj_acked, (unsigned long long)os->hj_skipped,
              (unsigned long long)os->hj_reconnects, (unsigned long long)c->res.send_errors,
              (unsigned long long)gs->label_errors, c->res.wall_s,
              c->res.wall_s > 0 ? (double)c->res.messages / c->res.wall_s : 0.0, c->res.finished,
              c->res.drained);
}

int simrun(const struct simnet *net, const struct simgen_opts *g, const struct simout_opts *o,
           const struct simrun_opts *r, struct simrun_result *res)
{
    struct simrun__ctx *c = calloc(1, sizeof(*c));
    struct simout_cbs cbs = {.on_ready = simrun__on_ready};
    const char *why = NULL;
    int rc, status = 1;
    int64_t t0;

    if (!c) {
        elog_error("out of memory", NULL);
        return 1;
    }
    c->net = net;
    c->o = *r;
    if ((rc = simgen_new(net, g, &c->gen, &why))) {
        elog_error("bad run settings", "reason=\"%s\"", why);
        free(c);
        return rc == -EINVAL ? 2 : 1;
    }
    c->from_us = simgen_clock(c->gen);
    if ((rc = uv_loop_init(&c->loop))) {
        elog_error("uv_loop_init failed", "err=\"%s\"", uv_strerror(rc));
        simgen_free(c->gen);
        free(c);
        return 1;
    }
    if ((rc = simout_new(&c->loop, net, o, &cbs, c, &c->out))) {
        elog_error("bad output settings (MQTT URL or HJ 212 address)", "err=\"%s\"", strerror(-rc));
        uv_loop_close(&c->loop);
        simgen_free(c->gen);
        free(c);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    uv_idle_init(&c->loop, &c->idle);
    uv_timer_init(&c->loop, &c->pace);
    uv_timer_init(&c->loop, &c->deadline);
    uv_timer_init(&c->loop, &c->progress);
    uv_timer_init(&c->loop, &c->connect);
    uv_signal_init(&c->loop, &c->sigterm);
    uv_signal_init(&c->loop, &c->sigint);
    c->idle.data = c->pace.data = c->deadline.data = c->progress.data = c->connect.data = c;
    c->sigterm.data = c->sigint.data = c;
    uv_signal_start(&c->sigterm, simrun__on_signal, SIGTERM);
    uv_signal_start(&c->sigint, simrun__on_signal, SIGINT);
    uv_unref((uv_handle_t *)&c->sigterm);
    uv_unref((uv_handle_t *)&c->sigint);
    uv_timer_start(&c->progress, simrun__on_progress, SIMRUN_PROGRESS_MS, SIMRUN_PROGRESS_MS);
    uv_unref((uv_handle_t *)&c->progress);
    uv_timer_start(&c->connect, simrun__on_connect_timeout, (uint64_t)r->connect_timeout_s * 1000,
                   0);
    t0 = etime_now_us();
    if ((rc = simout_start(c->out))) {
        elog_error("cannot start the output", "err=\"%s\"", strerror(-rc));
        c->failed = true;
        simrun__finish(c);
    } else {
        simrun__pump(c);
    }
    uv_run(&c->loop, UV_RUN_DEFAULT);
    c->res.wall_s = (double)(etime_now_us() - t0) / 1e6;
    c->res.finished = c->finished;
    c->res.drained = c->drained;
    rc = uv_loop_close(&c->loop);
    if (rc)
        elog_error("handles left open at exit", "err=\"%s\"", uv_strerror(rc));
    /* The transport is gone; its counters were copied before it closed. */
    simrun__summary(c, &c->last_stats);
    if (!c->failed && !rc && (c->res.signalled || c->reader_gone || (c->finished && c->drained)))
        status = 0;
    if (c->finished && !c->drained)
        elog_error("run finished with unacknowledged messages", NULL);
    if (res)
        *res = c->res;
    simgen_free(c->gen);
    free(c);
    return status;
}
