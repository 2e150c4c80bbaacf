#include "simgen.h"

#include "etime.h"
#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SIMGEN_US ETIME_US_PER_SEC
#define SIMGEN_OFF_US ((int64_t)ETIME_BEIJING_OFFSET * SIMGEN_US)
#define SIMGEN_DAY_US (86400 * SIMGEN_US)

/* Aggregation levels (rt needs no accumulator). */
enum { SIMGEN_L_MIN, SIMGEN_L_HOUR, SIMGEN_L_DAY, SIMGEN_NL };

/* HJ 212-2017 Table 8 flags; index 0 is "normal". */
static const char simgen__flags[] = "NFMSDCTB";
#define SIMGEN_NFLAGS 8

struct simgen__acc {
    double sum, mn, mx;
    double sx, sy; /* circular channels: sum of unit vectors */
    uint32_t n;
    uint32_t nflag[SIMGEN_NFLAGS];
};

struct simgen__dev {
    int site;
    unsigned periods;
    int64_t wstart[SIMGEN_NL], wend[SIMGEN_NL];
    uint32_t nsamp[SIMGEN_NL]; /* samples (hours for the day) in the window */
    struct simgen__acc *acc;   /* [level * nchans + chan] */
};

struct simgen__site {
    bool on;      /* has a simulated device */
    bool sampled; /* measured at the current tick */
    double v[SIMMODEL_CHANS_MAX];
    char flags[SIMMODEL_CHANS_MAX];
    double last[SIMMODEL_CHANS_MAX];
    struct simroute_pos pos;
};

struct simgen {
    const struct simnet *net;
    struct simgen_opts o;
    struct simmodel *model;
    struct siminc_set *inc;
    struct simgen__dev *dev;
    struct simgen__site *site;
    bool *site_on;
    int64_t t;          /* next tick */
    int64_t planned_to; /* incidents planned up to */
    bool done;
    struct simgen_msg *q; /* messages of the current tick */
    size_t qcap, qhead, qlen;
    struct simgen_stats st;
};

static int simgen__flag_idx(char f)
{
    const char *p = f ? strchr(simgen__flags, f) : NULL;
    return p ? (int)(p - simgen__flags) : 0;
}

static int64_t simgen__floor(int64_t t, int64_t len)
{
    int64_t x = t + SIMGEN_OFF_US, r = x % len;
    if (r < 0)
        r += len;
    return x - r - SIMGEN_OFF_US;
}

static int64_t simgen__len(const struct simgen_opts *o, int level)
{
    return level == SIMGEN_L_MIN    ? (int64_t)o->min_m * 60 * SIMGEN_US
           : level == SIMGEN_L_HOUR ? 3600 * SIMGEN_US
                                    : SIMGEN_DAY_US;
}

int64_t simgen_finest_s(const struct simgen_opts *o, enum simnet_kind k)
{
    unsigned m = o->periods[k];
    if (m & (1u << SIMNET_RT))
        return o->rt_s;
    if (m & (1u << SIMNET_MIN))
        return (int64_t)o->min_m * 60;
    if (m & (1u << SIMNET_HOUR))
        return 3600;
    if (m & (1u << SIMNET_DAY))
        return 86400;
    return 0;
}

static int simgen__check(const struct simgen_opts *o, const char **why)
{
    if (o->rt_s < 1 || o->rt_s > 3600 || 3600 % o->rt_s) {
        *why = "the real-time interval must divide an hour";
        return -EINVAL;
    }
    if (o->min_m < 1 || o->min_m > 30 || 60 % o->min_m || (o->min_m * 60) % o->rt_s) {
        *why = "the minute interval must divide an hour and be a multiple of the real-time "
               "interval";
        return -EINVAL;
    }
    if (o->to_us <= o->from_us) {
        *why = "the range is empty (--to must be after --from)";
        return -EINVAL;
    }
    if (o->incidents_per_day < 0 || !isfinite(o->incidents_per_day)) {
        *why = "the incident rate must be a number >= 0";
        return -EINVAL;
    }
    return 0;
}

int simgen_new(const struct simnet *net, const struct simgen_opts *o, struct simgen **out,
               const char **why)
{
    struct simgen *g = NULL;
    struct siminc_opts io = {0};
    int64_t rt = (int64_t)o->rt_s * SIMGEN_US;
    int rc;

    *why = "out of memory";
    if ((rc = simgen__check(o, why)))
        return rc;
    rc = -ENOMEM;
    g = calloc(1, sizeof(*g));
    if (!g)
        goto fail;
    g->net = net;
    g->o = *o;
    /* Ticks fall on multiples of the interval so timestamps look like an
     * instrument's. */
    g->o.from_us = simgen__floor(o->from_us + rt - 1, rt);
    if (g->o.to_us <= g->o.from_us) {
        *why = "the range holds no real-time tick";
        rc = -EINVAL;
        goto fail;
    }
    g->t = g->o.from_us;
    if ((rc = simmodel_new(net, o->seed, &g->model)))
        goto fail;
    rc = -ENOMEM;
    g->dev = calloc(net->ndevices ? net->ndevices : 1, sizeof(*g->dev));
    g->site = calloc(net->nsites ? net->nsites : 1, sizeof(*g->site));
    g->site_on = calloc(net->nsites ? net->nsites : 1, sizeof(*g->site_on));
    g->qcap = net->ndevices * (SIMNET_NPERIODS + 1) + 1;
    g->q = calloc(g->qcap, sizeof(*g->q));
    if (!g->dev || !g->site || !g->site_on || !g->q)
        goto fail;
    for (size_t s = 0; s < net->nsites; s++)
        for (int c = 0; c < SIMMODEL_CHANS_MAX; c++)
            g->site[s].last[c] = NAN;
    for (size_t d = 0; d < net->ndevices; d++) {
        struct simgen__dev *dv = &g->dev[d];
        int site = net->devices[d].site, nch = simmodel_site(g->model, site)->nchans;
        dv->site = site;
        dv->periods = o->periods[net->sites[site].kind];
        if (!dv->periods || nch == 0)
            continue;
        dv->acc = calloc((size_t)nch * SIMGEN_NL, sizeof(*dv->acc));
        if (!dv->acc)
            goto fail;
        for (int l = 0; l < SIMGEN_NL; l++) {
            dv->wstart[l] = simgen__floor(g->t, simgen__len(&g->o, l));
            dv->wend[l] = dv->wstart[l] + simgen__len(&g->o, l);
        }
        g->site[site].on = g->site_on[site] = true;
    }
    io.seed = o->seed;
    io.from_us = g->o.from_us;
    /* Endless runs plan incidents a day at a time. */
    io.to_us = g->o.to_us == SIMGEN_FOREVER ? g->o.from_us + SIMGEN_DAY_US : g->o.to_us;
    io.per_day = o->incidents_per_day;
    io.kinds = o->incident_kinds;
    io.site_on = g->site_on;
    for (int k = 0; k < SIMNET_NKINDS; k++)
        io.finest_us[k] = simgen_finest_s(&g->o, (enum simnet_kind)k) * SIMGEN_US;
    if ((rc = siminc_plan(net, g->model, &io, &g->inc))) {
        *why =
            rc == -E2BIG ? "too many incidents for the range (lower --incidents)" : "out of memory";
        goto fail;
    }
    g->planned_to = io.to_us;
    *out = g;
    return 0;
fail:
    simgen_free(g);
    return rc;
}

void simgen_free(struct simgen *g)
{
    if (!g)
        return;
    for (size_t d = 0; g->dev && d < g->net->ndevices; d++)
        free(g->dev[d].acc);
    free(g->dev);
    free(g->site);
    free(g->site_on);
    free(g->q);
    siminc_free(g->inc);
    simmodel_free(g->model);
    free(g);
}

/* ---- aggregation ------------------------------------------------------ */

static void simgen__acc_add(struct simgen__acc *a, double v, double mn, double mx, char flag,
                            bool circular)
{
    const double rad = 0.017453292519943295;
    if (circular) {
        a->sx += cos(v * rad);
        a->sy += sin(v * rad);
    }
    if (a->n == 0 || mn < a->mn)
        a->mn = mn;
    if (a->n == 0 || mx > a->mx)
        a->mx = mx;
    a->sum += v;
    a->n++;
    a->nflag[simgen__flag_idx(flag)]++;
}

/* The arithmetic mean; for directions the direction of the mean vector
 * (the mean of 350 and 10 degrees is 0, not 180). */
static double simgen__mean(const struct simmodel_chan *c, const struct simgen__acc *a)
{
    double d;
    if (!c->circular)
        return a->sum / a->n;
    d = atan2(a->sy, a->sx) * 57.29577951308232;
    return d < 0 ? d + 360 : d;
}

static char simgen__acc_flag(const struct simgen__acc *a)
{
    uint32_t best = 0;
    int bi = 0;

    if (a->nflag[0] * 4 >= a->n * 3)
        return 0;
    for (int i = 1; i < SIMGEN_NFLAGS; i++)
        if (a->nflag[i] > best) {
            best = a->nflag[i];
            bi = i;
        }
    return simgen__flags[bi];
}

static struct simgen_msg *simgen__push(struct simgen *g, int d, enum simnet_period p, int64_t ts,
                                       int64_t at)
{
    struct simgen_msg *m;
    if (g->qlen >= g->qcap)
        return NULL; /* cannot happen: qcap covers every device and period */
    m = &g->q[(g->qhead + g->qlen++) % g->qcap];
    m->device = d;
    m->period = p;
    m->ts_us = ts;
    m->at_us = at;
    m->nvals = 0;
    m->has_pos = false;
    return m;
}

/* Enough samples for a valid statistic: 75 % of the expected count for min
 * and hour windows, 20 hourly values for a day. */
static bool simgen__covered(const struct simgen *g, int level, uint32_t n)
{
    if (level == SIMGEN_L_DAY)
        return n >= 20;
    return (int64_t)n * 4 * g->o.rt_s >= simgen__len(&g->o, level) / SIMGEN_US * 3;
}

static void simgen__close(struct simgen *g, int d, int level, int64_t t)
{
    struct simgen__dev *dv = &g->dev[d];
    const struct simmodel_site *ms = simmodel_site(g->model, dv->site);
    static const enum simnet_period per[SIMGEN_NL] = {SIMNET_MIN, SIMNET_HOUR, SIMNET_DAY};
    bool ok = simgen__covered(g, level, dv->nsamp[level]);
    struct simgen_msg *m = NULL;

    if (ok && (dv->periods & (1u << per[level])))
        m = simgen__push(g, d, per[level], dv->wstart[level], t);
    if (m && g->site[dv->site].sampled && g->net->sites[dv->site].kind == SIMNET_MOBILE) {
        m->has_pos = true;
        m->lon = g->site[dv->site].pos.lon;
        m->lat = g->site[dv->site].pos.lat;
    }
    for (int c = 0; c < ms->nchans; c++) {
        struct simgen__acc *a = &dv->acc[level * ms->nchans + c];
        if (ok) {
            double mean = simmodel_round(&ms->chans[c], simgen__mean(&ms->chans[c], a));
            char flag = simgen__acc_flag(a);
            if (m) {
                struct simgen_val *v = &m->vals[m->nvals++];
                v->param = ms->chans[c].param;
                v->v = mean;
                v->vmin = a->mn;
                v->vmax = a->mx;
                v->flag = flag;
            }
            /* The day is the mean of the hours as reported. */
            if (level == SIMGEN_L_HOUR)
                simgen__acc_add(&dv->acc[SIMGEN_L_DAY * ms->nchans + c], mean, a->mn, a->mx, flag,
                                ms->chans[c].circular);
        }
        memset(a, 0, sizeof(*a));
    }
    if (ok && level == SIMGEN_L_HOUR)
        dv->nsamp[SIMGEN_L_DAY]++;
    dv->nsamp[level] = 0;
    /* The next window is the one holding t (windows may be skipped). */
    dv->wstart[level] = simgen__floor(t, simgen__len(&g->o, level));
    dv->wend[level] = dv->wstart[level] + simgen__len(&g->o, level);
}

/* ---- one tick --------------------------------------------------------- */

static void simgen__labels(struct simgen *g, int64_t t)
{
    const struct siminc *const *started;
    size_t n;

    siminc_advance(g->inc, t, &started, &n);
    for (size_t i = 0; i < n; i++) {
        char *line = NULL;
        g->st.incidents[started[i]->kind]++;
        if (!g->o.labels)
            continue;
        if (siminc_label(g->inc, started[i], &line) || fprintf(g->o.labels, "%s\n", line) < 0)
            g->st.label_errors++;
        cJSON_free(line);
    }
    /* Labels are few: flush each batch so a killed run keeps them. */
    if (n && g->o.labels && fflush(g->o.labels))
        g->st.label_errors++;
}

static void simgen__sample(struct simgen *g, const struct simmodel_env *env, int s)
{
    struct simgen__site *st = &g->site[s];
    const struct simmodel_site *ms = simmodel_site(g->model, s);

    st->sampled = false;
    if (!simmodel_sample(g->model, s, env, st->v, &st->pos))
        return;
    siminc_physical(g->inc, s, env->t_us, &st->pos, st->v);
    memset(st->flags, 0, sizeof(st->flags));
    if (siminc_instrument(g->inc, s, env->t_us, st->last, st->v, st->flags))
        return;
    for (int c = 0; c < ms->nchans; c++) {
        st->v[c] = simmodel_round(&ms->chans[c], st->v[c]);
        st->last[c] = st->v[c];
    }
    st->sampled = true;
    g->st.samples++;
}

static int simgen__tick(struct simgen *g, int64_t t)
{
    const struct simnet *net = g->net;
    bool sample = t < g->o.to_us;
    struct simmodel_env env;
    int rc;

    if (g->o.to_us == SIMGEN_FOREVER && t + SIMGEN_DAY_US > g->planned_to) {
        if ((rc = siminc_extend(g->inc, g->planned_to + SIMGEN_DAY_US)))
            return rc;
        g->planned_to += SIMGEN_DAY_US;
    }
    simgen__labels(g, t);
    /* Close the windows that ended by t: min, then hour (which feeds the
     * day), then day. */
    for (size_t d = 0; d < net->ndevices; d++) {
        struct simgen__dev *dv = &g->dev[d];
        if (!dv->acc)
            continue;
        for (int l = 0; l < SIMGEN_NL; l++)
            if (dv->wend[l] <= t)
                simgen__close(g, (int)d, l, t);
    }
    if (!sample)
        return 0;
    simmodel_env(g->model, t, &env);
    for (size_t s = 0; s < net->nsites; s++)
        if (g->site[s].on)
            simgen__sample(g, &env, (int)s);
    for (size_t d = 0; d < net->ndevices; d++) {
        struct simgen__dev *dv = &g->dev[d];
        const struct simgen__site *st = &g->site[dv->site];
        const struct simmodel_site *ms = simmodel_site(g->model, dv->site);
        struct simgen_msg *m = NULL;

        if (!dv->acc || !st->sampled)
            continue;
        for (int l = SIMGEN_L_MIN; l <= SIMGEN_L_HOUR; l++) {
            for (int c = 0; c < ms->nchans; c++)
                simgen__acc_add(&dv->acc[l * ms->nchans + c], st->v[c], st->v[c], st->v[c],
                                st->flags[c], ms->chans[c].circular);
            dv->nsamp[l]++;
        }
        if (dv->periods & (1u << SIMNET_RT))
            m = simgen__push(g, (int)d, SIMNET_RT, t, t);
        if (!m)
            continue;
        for (int c = 0; c < ms->nchans; c++) {
            struct simgen_val *v = &m->vals[m->nvals++];
            v->param = ms->chans[c].param;
            v->v = v->vmin = v->vmax = st->v[c];
            v->flag = st->flags[c];
        }
        if (net->sites[dv->site].kind == SIMNET_MOBILE) {
            m->has_pos = true;
            m->lon = st->pos.lon;
            m->lat = st->pos.lat;
        }
    }
    g->st.ticks++;
    return 0;
}

int simgen_next(struct simgen *g, int64_t until_us, const struct simgen_msg **msg)
{
    int rc;

    for (;;) {
        if (g->qlen) {
            *msg = &g->q[g->qhead];
            g->qhead = (g->qhead + 1) % g->qcap;
            g->qlen--;
            return 1;
        }
        if (g->done || g->t > until_us)
            return 0;
        if ((rc = simgen__tick(g, g->t)))
            return rc;
        if (g->t >= g->o.to_us) {
            g->done = true;
        } else {
            int64_t next = g->t + (int64_t)g->o.rt_s * SIMGEN_US;
            /* The last step lands on `to` so windows ending there close. */
            g->t = next > g->o.to_us ? g->o.to_us : next;
        }
    }
}

int64_t simgen_clock(const struct simgen *g)
{
    return g->t;
}

bool simgen_done(const struct simgen *g)
{
    return g->done && g->qlen == 0;
}

const struct simgen_stats *simgen_stats(const struct simgen *g)
{
    return &g->st;
}

const struct simmodel *simgen_model(const struct simgen *g)
{
    return g->model;
}

const struct siminc_set *simgen_incidents(const struct simgen *g)
{
    return g->inc;
}
