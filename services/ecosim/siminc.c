#include "siminc.h"

#include "etime.h"
#include "json.h"
#include "simrng.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SIMINC_US 1000000LL
#define SIMINC_HOUR (3600 * SIMINC_US)
/* Beijing offset in microseconds: day windows start at local midnight. */
#define SIMINC_OFF_US ((int64_t)ETIME_BEIJING_OFFSET * SIMINC_US)

static const char *const siminc__names[SIMINC_NKINDS] = {
    "exceedance", "plume", "river",   "flatline",      "spike",
    "negative",   "flag",  "offline", "mobile_source",
};

/* Relative frequency of each kind among the eligible ones. */
static const double siminc__weight[SIMINC_NKINDS] = {3, 2, 2, 2, 3, 1, 2, 1, 2};

/* What the planner picks from: (site, channel) candidates per kind. */
struct siminc__cand {
    int site, chan;
};

struct siminc_set {
    const struct simnet *net;
    const struct simmodel *model;
    struct siminc_opts o; /* o.to_us: planned up to here */
    struct siminc *inc;
    size_t n, cap;
    size_t next;    /* first incident not yet started */
    size_t *active; /* indices of started, unfinished incidents */
    size_t nactive;
    const struct siminc **started; /* scratch for siminc_advance */
    /* planner state, kept so that siminc_extend continues the same stream */
    struct simrng r;
    struct siminc__cand *c[SIMINC_NKINDS];
    size_t nc[SIMINC_NKINDS];
    int64_t *busy_until; /* per site */
    int64_t t;           /* next arrival */
    int64_t lo;          /* start of the chunk being planned */
    int seq;
};

const char *siminc_kind_name(enum siminc_kind k)
{
    return (unsigned)k < SIMINC_NKINDS ? siminc__names[k] : "?";
}

int siminc_kind_parse(const char *name, enum siminc_kind *out)
{
    for (int i = 0; i < SIMINC_NKINDS; i++)
        if (strcmp(name, siminc__names[i]) == 0)
            return *out = (enum siminc_kind)i, 0;
    return -EINVAL;
}

size_t siminc_count(const struct siminc_set *s)
{
    return s->n;
}

const struct siminc *siminc_get(const struct siminc_set *s, size_t i)
{
    return &s->inc[i];
}

static int64_t siminc__floor(int64_t t, int64_t len)
{
    int64_t x = t + SIMINC_OFF_US, r = x % len;
    if (r < 0)
        r += len;
    return x - r - SIMINC_OFF_US;
}

/* ---- planning --------------------------------------------------------- */

#define SIMINC_DAY (86400 * SIMINC_US)

/* Whole minutes, so labels read like an operator's log. */
static int64_t siminc__minutes(double m)
{
    return (int64_t)llround(m) * 60 * SIMINC_US;
}

static bool siminc__is_station(enum simnet_kind k)
{
    return k == SIMNET_AIR || k == SIMNET_NOI || k == SIMNET_WATER || k == SIMNET_SEA;
}

static int siminc__find_q(const struct simmodel *m, int site, enum simmodel_q q)
{
    const struct simmodel_site *ms = simmodel_site(m, site);
    for (int i = 0; i < ms->nchans; i++)
        if (ms->chans[i].q == q)
            return i;
    return -1;
}

static int siminc__candidates(struct siminc_set *p)
{
    const struct simnet *net = p->net;
    const struct simmodel *m = p->model;
    size_t cap = 0;

    for (size_t s = 0; s < net->nsites; s++)
        cap += (size_t)simmodel_site(m, (int)s)->nchans + 1;
    for (int k = 0; k < SIMINC_NKINDS; k++) {
        p->c[k] = calloc(cap ? cap : 1, sizeof(*p->c[k]));
        if (!p->c[k])
            return -ENOMEM;
    }
#define SIMINC_ADD(k, si, ch) (p->c[k][p->nc[k]++] = (struct siminc__cand){(si), (ch)})
    for (size_t si = 0; si < net->nsites; si++) {
        const struct simnet_site *site = &net->sites[si];
        const struct simmodel_site *ms = simmodel_site(m, (int)si);
        int s = (int)si, river = -1;

        if (!p->o.site_on[si] || ms->nchans == 0)
            continue;
        for (int ch = 0; ch < ms->nchans; ch++) {
            const struct simmodel_chan *c = &ms->chans[ch];
            const struct simnet_param *par = &net->params[c->param];
            if (simnet_kind_is_outlet(site->kind) && !isnan(c->limit) && c->limit > 0 &&
                c->limit * 1.6 < par->vmax)
                SIMINC_ADD(SIMINC_EXCEEDANCE, s, ch);
            SIMINC_ADD(SIMINC_FLATLINE, s, ch);
            SIMINC_ADD(SIMINC_FLAG, s, ch);
            if (c->concentration) {
                SIMINC_ADD(SIMINC_SPIKE, s, ch);
                SIMINC_ADD(SIMINC_NEGATIVE, s, ch);
            }
        }
        SIMINC_ADD(SIMINC_OFFLINE, s, -1);
        if (site->kind == SIMNET_AIR && site->has_pos)
            SIMINC_ADD(SIMINC_PLUME, s, -1);
        if (site->kind == SIMNET_WATER) {
            river = siminc__find_q(m, s, SIMQ_NH3N);
            if (river < 0)
                river = siminc__find_q(m, s, SIMQ_CODMN);
            if (river < 0)
                river = siminc__find_q(m, s, SIMQ_COD);
            if (river >= 0)
                SIMINC_ADD(SIMINC_RIVER, s, river);
        }
        if (site->kind == SIMNET_MOBILE)
            SIMINC_ADD(SIMINC_MOBILE_SOURCE, s, -1);
    }
#undef SIMINC_ADD
    return 0;
}

static struct siminc *siminc__push(struct siminc_set *p)
{
    struct siminc_set *s = p;
    struct siminc *inc;

    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        struct siminc *ni;
        if (cap > SIMINC_MAX)
            cap = SIMINC_MAX;
        if (s->n == cap)
            return NULL;
        ni = realloc(s->inc, cap * sizeof(*ni));
        if (!ni)
            return NULL;
        s->inc = ni;
        s->cap = cap;
    }
    inc = &s->inc[s->n++];
    memset(inc, 0, sizeof(*inc));
    inc->seq = p->seq++;
    inc->chan = -1;
    return inc;
}

/* Window-aligned [start, end) of n windows of the site's finest period
 * around t, inside the run; false when it does not fit. */
static bool siminc__align(const struct siminc_set *p, int site, int64_t t, double dur_s,
                          int min_windows, struct siminc *inc)
{
    const struct siminc_opts *o = &p->o;
    int64_t w = o->finest_us[p->net->sites[site].kind];
    int64_t n;

    if (w <= 0)
        return false;
    n = (int64_t)llround(dur_s * SIMINC_US / (double)w);
    if (n < min_windows)
        n = min_windows;
    inc->start_us = siminc__floor(t, w);
    /* Not before the chunk (keeps the array sorted), not into the end of
     * the site's previous incident. */
    while (inc->start_us < p->lo || inc->start_us < p->busy_until[site])
        inc->start_us += w;
    inc->end_us = inc->start_us + n * w;
    if (p->net->sites[site].kind == SIMNET_MOBILE) {
        /* A parked vehicle measures nothing: keep it inside the duty hours
         * (simroute), moving to the next morning when needed. */
        int64_t day = siminc__floor(inc->start_us, SIMINC_DAY);
        int64_t on = day + siminc__minutes(7.5 * 60), off = day + siminc__minutes(18.5 * 60);
        if (n * w > off - on)
            return false;
        if (inc->start_us < on || inc->end_us > off)
            inc->start_us = (inc->start_us < on ? on : on + SIMINC_DAY);
        inc->start_us = siminc__floor(inc->start_us + w - 1, w);
        inc->end_us = inc->start_us + n * w;
    }
    return inc->start_us < o->to_us;
}

static int siminc__pick_site(struct siminc_set *p, enum siminc_kind k, int64_t t,
                             struct siminc__cand *out)
{
    /* A few tries for a site that is free at t; busy sites keep incidents
     * from hiding each other (a spike during an outage shows nothing). */
    for (int tries = 0; tries < 8; tries++) {
        struct siminc__cand c = p->c[k][simrng_below(&p->r, (uint32_t)p->nc[k])];
        if (p->busy_until[c.site] <= t) {
            *out = c;
            return 0;
        }
    }
    return -EBUSY;
}

static double siminc__dur(struct siminc_set *p, int site, double st_lo, double st_hi,
                          double other_lo, double other_hi)
{
    bool st = siminc__is_station(p->net->sites[site].kind);
    return 3600.0 *
           (st ? simrng_range(&p->r, st_lo, st_hi) : simrng_range(&p->r, other_lo, other_hi));
}

static void siminc__plume(struct siminc_set *p, struct siminc *inc, int64_t t)
{
    const struct simnet *net = p->net;
    const struct simnet_site *anchor = NULL;
    size_t ngas = 0;
    double ang, dist;

    for (size_t i = 0; i < net->nsites; i++)
        ngas += net->sites[i].kind == SIMNET_GAS_OUTLET && net->sites[i].has_pos;
    /* Half the plumes come from an industrial stack, the others from
     * somewhere near a station (a fire, a ship, construction). */
    if (ngas && simrng_unit(&p->r) < 0.5) {
        uint32_t k = simrng_below(&p->r, (uint32_t)ngas);
        for (size_t i = 0; i < net->nsites; i++)
            if (net->sites[i].kind == SIMNET_GAS_OUTLET && net->sites[i].has_pos && k-- == 0)
                anchor = &net->sites[i];
        dist = simrng_range(&p->r, 0, 1000);
    } else {
        struct siminc__cand c =
            p->c[SIMINC_PLUME][simrng_below(&p->r, (uint32_t)p->nc[SIMINC_PLUME])];
        anchor = &net->sites[c.site];
        dist = simrng_range(&p->r, 800, 4000);
    }
    ang = simrng_range(&p->r, 0, 6.283185307179586);
    inc->lon = anchor->lon + dist * sin(ang) / (111320.0 * cos(anchor->lat * 0.0174532925));
    inc->lat = anchor->lat + dist * cos(ang) / 110574.0;
    inc->wind_from_deg = simrng_range(&p->r, 0, 360);
    inc->wind_ms = simrng_range(&p->r, 1.5, 5);
    inc->amplitude = simrng_range(&p->r, 80, 250);
    inc->start_us = siminc__floor(t, 60 * SIMINC_US);
    inc->end_us = inc->start_us + siminc__minutes(simrng_range(&p->r, 2, 8) * 60);
}

static double siminc__plume_peak(const struct siminc *inc, double lon, double lat);

static bool siminc__estuary(const struct simnet_site *s)
{
    return strstr(s->name, "\xE5\x85\xA5\xE6\xB5\xB7\xE5\x8F\xA3") /* 入海口 */ ||
           strstr(s->name, "estuary") || strstr(s->name, "Estuary") || strstr(s->name, "mouth");
}

/* The registry has no river network; guess the flow direction: towards a
 * station with a worse target class (rivers degrade downstream, reservoirs
 * are the cleanest), or from a non-estuary station to an estuary. */
static bool siminc__below(const struct simnet_site *from, const struct simnet_site *to)
{
    int a = from->target_class ? from->target_class : 3,
        b = to->target_class ? to->target_class : 3;
    if (siminc__estuary(from))
        return false;
    return b > a || siminc__estuary(to);
}

static int siminc__river_down(struct siminc_set *p, const struct siminc *origin)
{
    const struct simnet *net = p->net;
    const struct simnet_site *o = &net->sites[origin->site];
    int best = -1;
    double bestd = 25000;
    struct siminc *d;

    if (!o->has_pos)
        return 0;
    for (size_t i = 0; i < net->nsites; i++) {
        const struct simnet_site *s = &net->sites[i];
        double dd;
        if ((int)i == origin->site || s->kind != SIMNET_WATER || !s->has_pos || !p->o.site_on[i] ||
            !siminc__below(o, s))
            continue;
        dd = simnet_dist_m(o->lon, o->lat, s->lon, s->lat);
        if (dd < bestd) {
            bestd = dd;
            best = (int)i;
        }
    }
    if (best < 0)
        return 0;
    {
        int ch = siminc__find_q(p->model, best, SIMQ_NH3N);
        double delay = bestd / 0.4, att = simrng_range(&p->r, 0.3, 0.6);
        int64_t start =
            siminc__floor(origin->start_us + (int64_t)(delay * SIMINC_US), 60 * SIMINC_US);
        if (ch < 0)
            ch = siminc__find_q(p->model, best, SIMQ_CODMN);
        if (ch < 0 || start >= p->o.to_us || p->busy_until[best] > start)
            return 0;
        d = siminc__push(p);
        if (!d)
            return -ENOMEM;
        origin = &p->inc[p->n - 2]; /* push may have moved the array */
        d->kind = SIMINC_RIVER;
        d->site = best;
        d->chan = ch;
        d->factor = 1 + (origin->factor - 1) * att;
        d->tau_s = origin->tau_s * 1.5;
        d->delay_s = delay;
        d->parent = -(origin->seq + 1); /* resolved to an id after sorting */
        d->start_us = start;
        d->end_us = start + siminc__minutes((3600 + 4 * d->tau_s) / 60);
        p->busy_until[best] = d->end_us;
    }
    return 0;
}

static int siminc__one(struct siminc_set *p, int64_t t)
{
    double w[SIMINC_NKINDS], total = 0, x;
    unsigned kinds = p->o.kinds;
    enum siminc_kind k = SIMINC_EXCEEDANCE;
    struct siminc__cand c = {-1, -1};
    struct siminc *inc;

    for (int i = 0; i < SIMINC_NKINDS; i++) {
        bool ok = p->nc[i] > 0 && (!kinds || (kinds & (1u << i)));
        w[i] = ok ? siminc__weight[i] : 0;
        total += w[i];
    }
    if (total <= 0)
        return 0;
    x = simrng_unit(&p->r) * total;
    for (int i = 0; i < SIMINC_NKINDS; i++) {
        if (w[i] <= 0)
            continue;
        k = (enum siminc_kind)i;
        if (x < w[i])
            break;
        x -= w[i];
    }
    if (k != SIMINC_PLUME && siminc__pick_site(p, k, t, &c))
        return 0;
    inc = siminc__push(p);
    if (!inc)
        return -ENOMEM;
    inc->kind = k;
    inc->site = c.site;
    inc->chan = c.chan;
    switch (k) {
    case SIMINC_EXCEEDANCE:
        inc->factor = simrng_range(&p->r, 1.5, 3.0);
        if (!siminc__align(p, c.site, t, siminc__dur(p, c.site, 1, 6, 1, 6), 1, inc))
            goto drop;
        break;
    case SIMINC_PLUME: {
        const struct simnet *net = p->net;
        double best = -1;
        siminc__plume(p, inc, t);
        /* Label it with the station it hits hardest. */
        for (size_t i = 0; i < net->nsites; i++) {
            const struct simnet_site *s = &net->sites[i];
            double wt;
            if (s->kind != SIMNET_AIR || !s->has_pos || !p->o.site_on[i])
                continue;
            wt = siminc__plume_peak(inc, s->lon, s->lat);
            if (wt > best) {
                best = wt;
                inc->site = (int)i;
            }
        }
        if (inc->start_us < p->lo || inc->start_us >= p->o.to_us || inc->site < 0)
            goto drop;
        return 0;
    }
    case SIMINC_RIVER:
        inc->factor = simrng_range(&p->r, 3, 8);
        inc->tau_s = simrng_range(&p->r, 2, 8) * 3600;
        inc->start_us = siminc__floor(t, 60 * SIMINC_US);
        inc->end_us = inc->start_us + siminc__minutes((1800 + 4 * inc->tau_s) / 60);
        if (inc->start_us < p->lo)
            goto drop;
        p->busy_until[c.site] = inc->end_us;
        return siminc__river_down(p, inc);
    case SIMINC_FLATLINE:
        if (!siminc__align(p, c.site, t, siminc__dur(p, c.site, 6, 12, 2, 6), 2, inc))
            goto drop;
        break;
    case SIMINC_SPIKE:
        inc->factor = simrng_range(&p->r, 4, 10);
        if (!siminc__align(p, c.site, t, 0, 1, inc))
            goto drop;
        break;
    case SIMINC_NEGATIVE:
        inc->factor = simrng_range(&p->r, 0.05, 0.4);
        if (!siminc__align(p, c.site, t, 0, 1, inc))
            goto drop;
        break;
    case SIMINC_FLAG: {
        double u = simrng_unit(&p->r);
        inc->flag = u < 0.45 ? 'D' : u < 0.75 ? 'M' : 'C';
        if (!siminc__align(p, c.site, t, siminc__dur(p, c.site, 1, 6, 0.5, 3), 1, inc))
            goto drop;
        break;
    }
    case SIMINC_OFFLINE:
        if (!siminc__align(p, c.site, t, siminc__dur(p, c.site, 2, 10, 0.5, 3), 1, inc))
            goto drop;
        break;
    case SIMINC_MOBILE_SOURCE: {
        int route = simmodel_site(p->model, c.site)->route;
        double ang = simrng_range(&p->r, 0, 6.283185307179586), off = simrng_range(&p->r, 50, 300);
        simroute_point(route, simrng_unit(&p->r), &inc->lon, &inc->lat);
        inc->lon += off * sin(ang) / (111320.0 * cos(inc->lat * 0.0174532925));
        inc->lat += off * cos(ang) / 110574.0;
        inc->sigma_m = simrng_range(&p->r, 300, 600);
        inc->amplitude = simrng_range(&p->r, 60, 200);
        /* Vehicles only measure on duty (07:30-18:30): put the source's
         * active time in the working day it falls on. */
        inc->start_us =
            siminc__floor(t, SIMINC_DAY) + siminc__minutes(simrng_range(&p->r, 7.5, 13) * 60);
        while (inc->start_us < t || inc->start_us < p->lo)
            inc->start_us += SIMINC_DAY;
        inc->end_us = inc->start_us + siminc__minutes(simrng_range(&p->r, 3, 5.5) * 60);
        if (inc->start_us >= p->o.to_us)
            goto drop;
        break;
    }
    case SIMINC_NKINDS:
        goto drop;
    }
    p->busy_until[c.site] = inc->end_us;
    return 0;
drop:
    p->n--;
    return 0;
}

static int siminc__cmp(const void *a, const void *b)
{
    const struct siminc *x = a, *y = b;
    if (x->start_us != y->start_us)
        return x->start_us < y->start_us ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Plans arrivals in [o.to_us, to): the Poisson stream continues where the
 * previous call stopped, so planning in chunks (live runs) and in one go
 * are equally deterministic. */
int siminc_extend(struct siminc_set *s, int64_t to)
{
    size_t first = s->n;
    double gap_us, days;
    void *na, *ns;
    int rc;

    if (to <= s->o.to_us)
        return 0;
    s->lo = s->o.to_us;
    s->o.to_us = to;
    if (s->o.per_day > 0) {
        days = (double)(to - s->lo) / (86400.0 * SIMINC_US);
        if ((double)s->n + s->o.per_day * days * 2 + 16 > SIMINC_MAX)
            return -E2BIG;
        gap_us = 86400.0 * SIMINC_US / s->o.per_day;
        while (s->t < to) {
            if ((rc = siminc__one(s, s->t)))
                return rc;
            s->t += 1 + (int64_t)simrng_exp(&s->r, gap_us);
        }
    }
    /* Earlier chunks start before s->lo, so sorting the new part keeps the
     * whole array sorted. */
    if (s->n > first)
        qsort(s->inc + first, s->n - first, sizeof(*s->inc), siminc__cmp);
    for (size_t i = first; i < s->n; i++)
        s->inc[i].id = (int)i + 1;
    for (size_t i = first; i < s->n; i++) {
        int want = s->inc[i].parent < 0 ? -s->inc[i].parent - 1 : -1;
        s->inc[i].parent = 0;
        for (size_t j = 0; want >= 0 && j < s->n; j++)
            if (s->inc[j].seq == want)
                s->inc[i].parent = s->inc[j].id;
    }
    na = realloc(s->active, (s->n ? s->n : 1) * sizeof(*s->active));
    if (!na)
        return -ENOMEM;
    s->active = na;
    ns = realloc(s->started, (s->n ? s->n : 1) * sizeof(*s->started));
    if (!ns)
        return -ENOMEM;
    s->started = ns;
    return 0;
}

int siminc_plan(const struct simnet *net, const struct simmodel *model, const struct siminc_opts *o,
                struct siminc_set **out)
{
    struct siminc_set *s = calloc(1, sizeof(*s));
    int rc = -ENOMEM;

    if (!s)
        return -ENOMEM;
    s->net = net;
    s->model = model;
    s->o = *o;
    s->o.to_us = o->from_us;
    s->busy_until = calloc(net->nsites ? net->nsites : 1, sizeof(*s->busy_until));
    if (!s->busy_until)
        goto out;
    if ((rc = siminc__candidates(s)))
        goto out;
    simrng_seed(&s->r, simrng_mix2(o->seed, 0x1AC1DE));
    s->t = o->from_us;
    if (o->per_day > 0)
        s->t += (int64_t)simrng_exp(&s->r, 86400.0 * SIMINC_US / o->per_day);
    if ((rc = siminc_extend(s, o->to_us)))
        goto out;
    *out = s;
    s = NULL;
    rc = 0;
out:
    siminc_free(s);
    return rc;
}

void siminc_free(struct siminc_set *s)
{
    if (!s)
        return;
    for (int k = 0; k < SIMINC_NKINDS; k++)
        free(s->c[k]);
    free(s->busy_until);
    free(s->inc);
    free(s->active);
    free(s->started);
    free(s);
}

void siminc_advance(struct siminc_set *s, int64_t t_us, const struct siminc *const **started,
                    size_t *nstarted)
{
    size_t n = 0, keep = 0;

    for (size_t i = 0; i < s->nactive; i++)
        if (s->inc[s->active[i]].end_us > t_us)
            s->active[keep++] = s->active[i];
    s->nactive = keep;
    while (s->next < s->n && s->inc[s->next].start_us <= t_us) {
        s->started[n++] = &s->inc[s->next];
        if (s->inc[s->next].end_us > t_us)
            s->active[s->nactive++] = s->next;
        s->next++;
    }
    *started = s->started;
    *nstarted = n;
}

/* ---- effects ---------------------------------------------------------- */

/* Deterministic jitter in (-1, 1) for an incident at an instant. */
static double siminc__jitter(const struct siminc_set *s, const struct siminc *inc, int64_t t_us)
{
    uint64_t h = simrng_mix2(simrng_mix2(s->o.seed, (uint64_t)inc->seq + 0x1C1),
                             (uint64_t)(t_us / SIMINC_US));
    return 2 * simrng_hash_unit(h) - 1;
}

static double siminc__plume_w(const struct siminc *inc, double lon, double lat, int64_t t)
{
    const double rad = 0.017453292519943295;
    double dx = (lon - inc->lon) * 111320.0 * cos(inc->lat * rad);
    double dy = (lat - inc->lat) * 110574.0;
    double d = sqrt(dx * dx + dy * dy), el = (double)(t - inc->start_us) / SIMINC_US;
    /* The wind veers slowly while the plume lasts. */
    double toward = (inc->wind_from_deg + 180 + 25 * sin(el / 10800.0)) * rad;
    double ux = sin(toward), uy = cos(toward);
    double x = dx * ux + dy * uy, y = dx * uy - dy * ux;
    double front = inc->wind_ms * el, sigma = 300 + 0.25 * fabs(x);
    double w = exp(-d / 1500.0);

    if (x > 0 && x <= front)
        w += exp(-x / 12000.0) * exp(-y * y / (2 * sigma * sigma));
    if (w > 1)
        w = 1;
    if (el < 1200)
        w *= el / 1200.0; /* builds up over 20 minutes */
    return w;
}

/* The largest weight a place gets over the plume's life (minute steps): the
 * wind veers and the front drifts, so the first instant's axis is not where
 * the plume ends up. Labels (the hardest-hit station, `affected`) use this,
 * so that they describe what the readings show. */
static double siminc__plume_peak(const struct siminc *inc, double lon, double lat)
{
    double best = 0;
    for (int64_t t = inc->start_us; t < inc->end_us; t += 60 * SIMINC_US)
        best = fmax(best, siminc__plume_w(inc, lon, lat, t));
    return best;
}

/* The same for a vehicle: the largest weight where it drove while the
 * plume lasted (every 30 s; parked, off duty, it measures nothing). */
static double siminc__plume_peak_route(const struct siminc *inc, const struct simroute_plan *plan)
{
    double best = 0;
    for (int64_t t = inc->start_us; t < inc->end_us; t += 30 * SIMINC_US) {
        struct simroute_pos pos;
        simroute_pos(plan, t, &pos);
        if (pos.driving)
            best = fmax(best, siminc__plume_w(inc, pos.lon, pos.lat, t));
    }
    return best;
}

/* Adds a source's contribution (PM2.5 amplitude a, ug/m3, at weight 1). */
static void siminc__add_air(const struct simmodel_site *ms, const struct simnet *net, double a,
                            double so2_k, double no2_k, double *v)
{
    for (int i = 0; i < ms->nchans; i++) {
        const struct simmodel_chan *c = &ms->chans[i];
        double add = 0;
        switch (c->q) {
        case SIMQ_PM25:
            add = a;
            break;
        case SIMQ_PM10:
            add = 1.5 * a;
            break;
        case SIMQ_SO2:
            add = so2_k * a;
            break;
        case SIMQ_NO2:
            add = no2_k * a;
            break;
        case SIMQ_CO:
            add = 0.012 * a;
            break;
        default:
            break;
        }
        if (add > 0)
            v[i] = fmin(v[i] + add * c->scale, net->params[c->param].vmax);
    }
}

static void siminc__river(const struct siminc *inc, const struct simmodel_site *ms,
                          const struct simnet *net, int64_t t, double *v)
{
    double el = (double)(t - inc->start_us) / SIMINC_US;
    double rise = inc->parent ? 3600 : 1800;
    double shape = el < rise ? el / rise : exp(-(el - rise) / inc->tau_s);
    double f = inc->factor - 1;

    for (int i = 0; i < ms->nchans; i++) {
        const struct simmodel_chan *c = &ms->chans[i];
        double m = 1;
        switch (c->q) {
        case SIMQ_NH3N:
            m = 1 + f * shape;
            break;
        case SIMQ_CODMN:
        case SIMQ_COD:
            m = 1 + 0.4 * f * shape;
            break;
        case SIMQ_TP:
            m = 1 + 0.6 * f * shape;
            break;
        case SIMQ_DO:
            m = 1 - 0.3 * shape * fmin(1, f / 5);
            break; /* decay uses oxygen */
        default:
            break;
        }
        if (i == inc->chan && m == 1)
            m = 1 + f * shape; /* the labelled channel always shows it */
        v[i] = fmin(v[i] * m, net->params[c->param].vmax);
    }
}

void siminc_physical(const struct siminc_set *s, int site, int64_t t_us,
                     const struct simroute_pos *pos, double *v)
{
    const struct simnet *net = s->net;
    const struct simnet_site *st = &net->sites[site];
    const struct simmodel_site *ms = simmodel_site(s->model, site);

    for (size_t i = 0; i < s->nactive; i++) {
        const struct siminc *inc = &s->inc[s->active[i]];
        if (inc->start_us > t_us || inc->end_us <= t_us)
            continue;
        switch (inc->kind) {
        case SIMINC_EXCEEDANCE:
            if (inc->site == site) {
                const struct simmodel_chan *c = &ms->chans[inc->chan];
                double target = c->limit * inc->factor * (1 + 0.05 * siminc__jitter(s, inc, t_us));
                double vmax = net->params[c->param].vmax;
                v[inc->chan] = fmin(fmax(v[inc->chan], target), vmax);
            }
            break;
        case SIMINC_PLUME: {
            double lon = st->lon, lat = st->lat;
            bool here = st->kind == SIMNET_AIR && st->has_pos;
            if (st->kind == SIMNET_MOBILE && pos && pos->driving) {
                lon = pos->lon;
                lat = pos->lat;
                here = true;
            }
            if (here)
                siminc__add_air(ms, net, inc->amplitude * siminc__plume_w(inc, lon, lat, t_us), 0.5,
                                0.35, v);
            break;
        }
        case SIMINC_RIVER:
            if (inc->site == site)
                siminc__river(inc, ms, net, t_us, v);
            break;
        case SIMINC_MOBILE_SOURCE:
            if (inc->site == site && pos && pos->driving) {
                double d = simnet_dist_m(pos->lon, pos->lat, inc->lon, inc->lat);
                double w = exp(-d * d / (2 * inc->sigma_m * inc->sigma_m));
                siminc__add_air(ms, net, inc->amplitude * w, 0.6, 0.5, v);
            }
            break;
        default:
            break;
        }
    }
}

bool siminc_instrument(struct siminc_set *s, int site, int64_t t_us, const double *last, double *v,
                       char *flags)
{
    const struct simmodel_site *ms = simmodel_site(s->model, site);

    for (size_t i = 0; i < s->nactive; i++) {
        struct siminc *inc = &s->inc[s->active[i]];
        const struct simmodel_chan *c;
        int ch = inc->chan;

        if (inc->site != site || inc->start_us > t_us || inc->end_us <= t_us)
            continue;
        if (inc->kind == SIMINC_OFFLINE)
            return true;
        if (ch < 0)
            continue;
        c = &ms->chans[ch];
        switch (inc->kind) {
        case SIMINC_FLATLINE:
            if (!inc->hold_set) {
                inc->value = simmodel_round(c, isnan(last[ch]) ? v[ch] : last[ch]);
                inc->hold_set = true;
            }
            v[ch] = inc->value;
            break;
        case SIMINC_SPIKE: {
            double floor = 5 * pow(10, -c->decimals);
            v[ch] = fmax(v[ch], floor) * inc->factor;
            break;
        }
        case SIMINC_NEGATIVE:
            v[ch] = -fmax(inc->factor * fabs(v[ch]), 2 * pow(10, -c->decimals));
            break;
        case SIMINC_FLAG:
            flags[ch] = inc->flag;
            if (inc->flag == 'C') {
                /* A calibration reads the span gas/standard, not the air. */
                if (!inc->hold_set) {
                    double base = isnan(last[ch]) ? v[ch] : last[ch];
                    inc->value = simmodel_round(c, fmax(base, pow(10, -c->decimals)) * 2.5);
                    inc->hold_set = true;
                }
                v[ch] = inc->value;
            } else if (inc->flag == 'D') {
                v[ch] *= 1 + 0.5 * siminc__jitter(s, inc, t_us);
            } else {
                v[ch] *= 1 + 0.15 * siminc__jitter(s, inc, t_us);
            }
            break;
        default:
            break;
        }
    }
    return false;
}

/* ---- labels ----------------------------------------------------------- */

static const char *siminc__device(const struct simnet *net, int site)
{
    for (size_t i = 0; i < net->ndevices; i++)
        if (net->devices[i].site == site)
            return net->devices[i].code;
    return NULL;
}

static double siminc__r(double v, double p)
{
    return round(v * p) / p;
}

int siminc_label(const struct siminc_set *s, const struct siminc *inc, char **out)
{
    const struct simnet *net = s->net;
    const struct simmodel_site *ms = inc->site >= 0 ? simmodel_site(s->model, inc->site) : NULL;
    char start[ETIME_RFC3339_MAX], end[ETIME_RFC3339_MAX];
    const char *dev = inc->site >= 0 ? siminc__device(net, inc->site) : NULL;
    cJSON *o = cJSON_CreateObject(), *aff;
    bool ok;
    int rc = -ENOMEM;
    size_t len;

    if (!o)
        return -ENOMEM;
    etime_format(inc->start_us, ETIME_BEIJING_OFFSET, start, sizeof(start));
    etime_format(inc->end_us, ETIME_BEIJING_OFFSET, end, sizeof(end));
    ok = cJSON_AddNumberToObject(o, "id", inc->id) &&
         cJSON_AddStringToObject(o, "kind", siminc_kind_name(inc->kind)) &&
         cJSON_AddStringToObject(o, "site", net->sites[inc->site].code) &&
         (dev ? cJSON_AddStringToObject(o, "device", dev) != NULL
              : cJSON_AddNullToObject(o, "device") != NULL) &&
         (inc->chan >= 0 ? cJSON_AddStringToObject(
                               o, "param", net->params[ms->chans[inc->chan].param].code) != NULL
                         : cJSON_AddNullToObject(o, "param") != NULL) &&
         cJSON_AddStringToObject(o, "start", start) && cJSON_AddStringToObject(o, "end", end);
    switch (inc->kind) {
    case SIMINC_EXCEEDANCE:
        ok = ok && cJSON_AddNumberToObject(o, "factor", siminc__r(inc->factor, 100)) &&
             cJSON_AddNumberToObject(o, "limit", ms->chans[inc->chan].limit);
        break;
    case SIMINC_SPIKE:
    case SIMINC_NEGATIVE:
        ok = ok && cJSON_AddNumberToObject(o, "factor", siminc__r(inc->factor, 100));
        break;
    case SIMINC_FLAG: {
        char f[2] = {inc->flag, 0};
        ok = ok && cJSON_AddStringToObject(o, "flag", f);
        break;
    }
    case SIMINC_RIVER:
        ok = ok && cJSON_AddNumberToObject(o, "factor", siminc__r(inc->factor, 100)) &&
             cJSON_AddNumberToObject(o, "tau_h", siminc__r(inc->tau_s / 3600, 100));
        if (inc->parent)
            ok = ok && cJSON_AddNumberToObject(o, "parent", inc->parent) &&
                 cJSON_AddNumberToObject(o, "delay_h", siminc__r(inc->delay_s / 3600, 100));
        break;
    case SIMINC_PLUME:
        ok = ok && cJSON_AddNumberToObject(o, "source_lon", siminc__r(inc->lon, 1e5)) &&
             cJSON_AddNumberToObject(o, "source_lat", siminc__r(inc->lat, 1e5)) &&
             cJSON_AddNumberToObject(o, "wind_from_deg", siminc__r(inc->wind_from_deg, 1)) &&
             cJSON_AddNumberToObject(o, "wind_ms", siminc__r(inc->wind_ms, 10)) &&
             cJSON_AddNumberToObject(o, "amplitude_pm25", siminc__r(inc->amplitude, 1));
        aff = ok ? cJSON_AddArrayToObject(o, "affected") : NULL;
        ok = ok && aff;
        for (size_t i = 0; ok && i < net->nsites; i++) {
            const struct simnet_site *st = &net->sites[i];
            double w;
            cJSON *a;
            if (!s->o.site_on[i])
                continue;
            if (st->kind == SIMNET_AIR && st->has_pos)
                w = siminc__plume_peak(inc, st->lon, st->lat);
            else if (st->kind == SIMNET_MOBILE)
                w = siminc__plume_peak_route(inc, &simmodel_site(s->model, (int)i)->plan);
            else
                continue;
            if (w < 0.05)
                continue;
            a = cJSON_CreateObject();
            ok = a && cJSON_AddItemToArray(aff, a);
            if (!ok) {
                cJSON_Delete(a);
                break;
            }
            ok = cJSON_AddStringToObject(a, "site", st->code) &&
                 cJSON_AddNumberToObject(a, "weight", siminc__r(w, 1000));
        }
        break;
    case SIMINC_MOBILE_SOURCE:
        ok = ok && cJSON_AddNumberToObject(o, "source_lon", siminc__r(inc->lon, 1e5)) &&
             cJSON_AddNumberToObject(o, "source_lat", siminc__r(inc->lat, 1e5)) &&
             cJSON_AddNumberToObject(o, "sigma_m", siminc__r(inc->sigma_m, 1)) &&
             cJSON_AddNumberToObject(o, "amplitude_pm25", siminc__r(inc->amplitude, 1));
        break;
    default:
        break;
    }
    if (ok)
        rc = json_print(o, out, &len);
    cJSON_Delete(o);
    return rc;
}
