#include "engine.h"

#include "dreg.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ENG__US_MIN (60LL * 1000000)
#define ENG__US_HOUR (60 * ENG__US_MIN)
#define ENG__GAPS 7
#define ENG__RING 4
#define ENG__SITE_GAPS 8

/* Which rules a series runs: W_ALL for the finest period of its (site,
 * param), W_LIMIT for the finest period that has a limit. */
#define W_ALL 1
#define W_LIMIT 2

static const char *const eng__rule_names[ENG_NRULES] = {
    "limit", "flatline", "spike", "range", "flag", "offline", "baseline", "neighbour", "hotspot",
};
static const char *const eng__sev_names[] = {"minor", "major", "critical"};

struct eng__slot {
    uint8_t open;
    uint8_t sev;
    int64_t opened;
    double peak;   /* the most extreme value while open */
    double peak_b; /* its badness (ratio to the limit, |z|, ...) */
    double rep_b;  /* badness last reported */
    double limit;
};

/* Rule settings of a series, looked up once per registry load. */
struct eng__conf {
    uint8_t en[ENG_NRULES];
    bool has_limit;
    double lim_lo, lim_hi;
    float lim_min_minutes, lim_clear_minutes, lim_hyst;
    float fl_pmax, fl_min_minutes, fl_warm_days;
    uint16_t fl_min_rep, fl_warm;
    float sp_k;
    uint16_t sp_warm;
    uint16_t flag_min;
    float bl_z, bl_zs;
    float bl_drift_k, bl_drift_h; /* the slow-departure sum: allowance, bound (0: off) */
    uint16_t bl_sustain, bl_warm, bl_shift;
    float nb_z, nb_own;
    uint16_t nb_warm, nb_min;
    float hs_k, hs_ratio;
    uint16_t hs_warm;
};

struct eng__series {
    uint64_t key;
    int site_id, param_id;
    char period;
    uint8_t watch;
    uint32_t gen;
    uint32_t n;
    int64_t last_ts;
    double last_v;
    int32_t gaps_s[ENG__GAPS]; /* recent intervals, seconds */
    uint8_t ngaps, gap_head;
    double res; /* smallest non-zero step seen: the series' resolution */
    struct eng__conf c;
    /* limit, flag */
    uint16_t lim_over, lim_under, flag_run;
    /* flatline */
    uint32_t run_len, run_start_n;
    int64_t run_start;
    float p_rep, p_run; /* repeat rate; and as it was when the run began */
    float rr_n, rr_k;   /* readings that followed a repeat, and repeats among them (decayed) */
    float p_rr_run;     /* the repeat rate after a repeat when the run began */
    float run_hi;       /* the long runs of the healthy series (a slowly decaying maximum) */
    bool rr_prev;       /* the latest reading repeated the one before */
    /* spike: the reading before last; a spike just found (its value is
     * not the left neighbour of the next candidate) */
    double sp_v2;
    float sp_scale;
    bool sp_after;
    uint8_t sp_rep; /* steps of zero in a row */
    /* baseline */
    float bl_level, bl_scale, bl_hod[24], bl_dow[7];
    uint16_t bl_hod_n[24], bl_dow_n[7]; /* readings learned, per hour of day and day of week */
    float bl_raw; /* deviations from the level alone: a scale with the daily cycle in it */
    uint16_t bl_run, bl_calm, bl_shift_run;
    int8_t bl_sign;
    float bl_shift_sum;
    float bl_ref;         /* the residuals' scale over weeks (see eng__baseline) */
    float bl_up, bl_down; /* the slow-departure sums, in bl_ref units */
    float bl_z;           /* the latest residual in deviations, for the neighbours */
    int64_t bl_z_ts;      /* and its time */
    /* neighbour: recent readings, for the neighbours to compare with */
    int64_t ring_ts[ENG__RING];
    float ring_v[ENG__RING];
    uint8_t ring_head;
    float nb_mean, nb_scale;
    float nb_z;      /* the latest comparison, in deviations */
    int64_t nb_z_ts; /* and the time it was for */
    uint32_t nb_n;
    uint16_t nb_run, nb_calm;
    /* hotspot */
    float hs_level, hs_scale;
    uint16_t hs_run;
    struct eng__slot slot[ENG_NRULES];
};

struct eng__site {
    int64_t last_ts;   /* latest reading time (period start) */
    int64_t finest_us; /* shortest period among its readings */
    int64_t avail_us;  /* how long after its time a reading of that period is complete */
    int32_t gaps_s[ENG__SITE_GAPS];
    uint8_t ngaps, gap_head;
    bool seen;
    int64_t deadline; /* watermark at which it is offline; 0: none */
    int heap_pos;     /* -1 when not in the heap */
    struct eng__slot off;
};

struct eng {
    const struct dreg *reg;
    uint32_t gen;
    eng_emit_fn emit;
    void *ud;
    size_t max_series;
    struct eng__series *ser;
    size_t nser, cap_ser;
    uint64_t *hkeys; /* open addressing: key, 0 = empty */
    uint32_t *hvals;
    size_t hcap;
    struct eng__site *sites;
    size_t nsites; /* indexed by site id */
    int *heap;     /* site ids ordered by deadline */
    size_t nheap;
    int64_t wm;
    struct eng_stats st;
};

const char *eng_rule_name(enum eng_rule r)
{
    return (unsigned)r < ENG_NRULES ? eng__rule_names[r] : "?";
}

int eng_rule_parse(const char *name)
{
    for (int i = 0; i < ENG_NRULES; i++)
        if (strcmp(name, eng__rule_names[i]) == 0)
            return i;
    return -1;
}

const char *eng_sev_name(enum eng_sev s)
{
    return (unsigned)s <= ENG_CRITICAL ? eng__sev_names[s] : "?";
}

int eng_sev_parse(const char *name)
{
    for (int i = 0; i <= ENG_CRITICAL; i++)
        if (strcmp(name, eng__sev_names[i]) == 0)
            return i;
    return -1;
}

int64_t eng_period_us(char period)
{
    switch (period) {
    case 'r':
        return 30 * 1000000LL;
    case 'm':
        return 10 * ENG__US_MIN;
    case 'h':
        return ENG__US_HOUR;
    case 'd':
        return 24 * ENG__US_HOUR;
    default:
        return ENG__US_HOUR;
    }
}

static uint64_t eng__key(int site_id, int param_id, char period)
{
    return ((uint64_t)(uint32_t)site_id << 24) | ((uint64_t)(uint16_t)param_id << 8) |
           (uint8_t)period;
}

static size_t eng__hash(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return (size_t)k;
}

/* ---------------------------------------------------------------- map ---- */

static struct eng__series *eng__find(struct eng *e, uint64_t key)
{
    size_t mask = e->hcap - 1;
    for (size_t i = eng__hash(key) & mask;; i = (i + 1) & mask) {
        if (!e->hkeys[i])
            return NULL;
        if (e->hkeys[i] == key)
            return &e->ser[e->hvals[i]];
    }
}

static int eng__map_grow(struct eng *e)
{
    size_t cap = e->hcap ? e->hcap * 2 : 1024;
    uint64_t *keys = calloc(cap, sizeof(*keys));
    uint32_t *vals = calloc(cap, sizeof(*vals));
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return -ENOMEM;
    }
    for (size_t j = 0; j < e->hcap; j++) {
        size_t i;
        if (!e->hkeys[j])
            continue;
        for (i = eng__hash(e->hkeys[j]) & (cap - 1); keys[i]; i = (i + 1) & (cap - 1))
            ;
        keys[i] = e->hkeys[j];
        vals[i] = e->hvals[j];
    }
    free(e->hkeys);
    free(e->hvals);
    e->hkeys = keys;
    e->hvals = vals;
    e->hcap = cap;
    return 0;
}

static struct eng__series *eng__insert(struct eng *e, uint64_t key)
{
    size_t i;
    if (e->nser >= e->max_series)
        return NULL;
    if ((e->nser + 1) * 2 > e->hcap && eng__map_grow(e))
        return NULL;
    if (e->nser == e->cap_ser) {
        size_t cap = e->cap_ser ? e->cap_ser * 2 : 256;
        struct eng__series *s;
        if (cap > e->max_series)
            cap = e->max_series;
        if (!(s = realloc(e->ser, cap * sizeof(*s))))
            return NULL;
        e->ser = s;
        e->cap_ser = cap;
    }
    for (i = eng__hash(key) & (e->hcap - 1); e->hkeys[i]; i = (i + 1) & (e->hcap - 1))
        ;
    e->hkeys[i] = key;
    e->hvals[i] = (uint32_t)e->nser;
    memset(&e->ser[e->nser], 0, sizeof(e->ser[0]));
    e->ser[e->nser].key = key;
    return &e->ser[e->nser++];
}

/* --------------------------------------------------------------- heap ---- */

static bool eng__before(const struct eng *e, int a, int b)
{
    return e->sites[a].deadline < e->sites[b].deadline;
}

static void eng__heap_set(struct eng *e, size_t pos, int id)
{
    e->heap[pos] = id;
    e->sites[id].heap_pos = (int)pos;
}

static void eng__heap_fix(struct eng *e, size_t pos)
{
    int id = e->heap[pos];
    while (pos > 0 && eng__before(e, id, e->heap[(pos - 1) / 2])) {
        eng__heap_set(e, pos, e->heap[(pos - 1) / 2]);
        pos = (pos - 1) / 2;
    }
    for (;;) {
        size_t c = 2 * pos + 1;
        if (c >= e->nheap)
            break;
        if (c + 1 < e->nheap && eng__before(e, e->heap[c + 1], e->heap[c]))
            c++;
        if (!eng__before(e, e->heap[c], id))
            break;
        eng__heap_set(e, pos, e->heap[c]);
        pos = c;
    }
    eng__heap_set(e, pos, id);
}

static void eng__heap_remove(struct eng *e, int id)
{
    size_t pos = (size_t)e->sites[id].heap_pos;
    int last;
    e->sites[id].heap_pos = -1;
    last = e->heap[--e->nheap];
    if (last != id) {
        eng__heap_set(e, pos, last);
        eng__heap_fix(e, pos);
    }
}

/* Sets a site's offline deadline (0: none). The heap holds at most one
 * entry per site, so it never outgrows the registry. */
static void eng__deadline(struct eng *e, int id, int64_t deadline)
{
    struct eng__site *st = &e->sites[id];
    st->deadline = deadline;
    if (!deadline) {
        if (st->heap_pos >= 0)
            eng__heap_remove(e, id);
        return;
    }
    if (st->heap_pos < 0) {
        st->heap_pos = (int)e->nheap++;
        e->heap[st->heap_pos] = id;
    }
    eng__heap_fix(e, (size_t)st->heap_pos);
}

/* ------------------------------------------------------------- events ---- */

static void eng__emit(struct eng *e, const struct eng__series *s, int site_id, enum eng_rule rule,
                      enum eng_action a, const struct eng__slot *sl, int64_t ts, double value,
                      double lat, double lon)
{
    struct eng_event ev = {
        .site_id = site_id,
        .param_id = s ? s->param_id : 0,
        .period = s ? s->period : 0,
        .rule = rule,
        .action = a,
        .severity = (enum eng_sev)sl->sev,
        .ts = ts,
        .opened = sl->opened,
        .value = value,
        .limit = sl->limit,
        .peak = sl->peak,
        .lat = lat,
        .lon = lon,
    };
    e->st.events++;
    e->emit(e->ud, &ev);
}

/* Severity from how far (badness against the rule's 'major' and
 * 'critical' marks) and how long. */
static uint8_t eng__sev(double b, double major, double critical, int64_t dur)
{
    int s = b >= critical ? ENG_CRITICAL : b >= major ? ENG_MAJOR : ENG_MINOR;
    if (dur >= 24 * ENG__US_HOUR && s < ENG_CRITICAL)
        s++;
    else if (dur >= 6 * ENG__US_HOUR && s < ENG_MAJOR)
        s = ENG_MAJOR;
    return (uint8_t)s;
}

static void eng__raise(struct eng *e, struct eng__series *s, enum eng_rule rule, int64_t ts,
                       double v, double b, double limit, uint8_t sev, double lat, double lon)
{
    struct eng__slot *sl = &s->slot[rule];
    sl->open = 1;
    sl->opened = ts;
    sl->peak = v;
    sl->peak_b = sl->rep_b = b;
    sl->limit = limit;
    sl->sev = sev;
    eng__emit(e, s, s->site_id, rule, ENG_RAISE, sl, ts, v, lat, lon);
}

/* Notes a value of an open alarm; reports it when the severity rose or the
 * peak grew by a quarter since the last report. */
static void eng__note(struct eng *e, struct eng__series *s, enum eng_rule rule, int64_t ts,
                      double v, double b, uint8_t sev, double lat, double lon)
{
    struct eng__slot *sl = &s->slot[rule];
    bool report = false;
    if (b > sl->peak_b) {
        sl->peak_b = b;
        sl->peak = v;
        if (b >= 1.25 * sl->rep_b)
            report = true;
    }
    if (sev > sl->sev) {
        sl->sev = sev;
        report = true;
    }
    if (report) {
        sl->rep_b = sl->peak_b;
        eng__emit(e, s, s->site_id, rule, ENG_UPDATE, sl, ts, v, lat, lon);
    }
}

static void eng__clear(struct eng *e, struct eng__series *s, enum eng_rule rule, int64_t ts,
                       double v)
{
    struct eng__slot *sl = &s->slot[rule];
    if (!sl->open)
        return;
    eng__emit(e, s, s->site_id, rule, ENG_CLEAR, sl, ts, v, NAN, NAN);
    sl->open = 0;
}

/* ----------------------------------------------------------- settings ---- */

static float eng__set(const struct dreg *r, const char *rule, const char *name,
                      const struct dreg_site *site, int param_id)
{
    return (float)dreg_setting(r, rule, name, site, param_id);
}

static uint16_t eng__setn(const struct dreg *r, const char *rule, const char *name,
                          const struct dreg_site *site, int param_id)
{
    double v = dreg_setting(r, rule, name, site, param_id);
    return (uint16_t)(v < 0 ? 0 : v > 65535 ? 65535 : v);
}

/* A parameter whose values are angles: degrees over a valid range of one
 * full turn (core.param). */
static bool eng__circular(const struct dreg_param *par)
{
    return par && par->vmin == 0 && par->vmax == 360 &&
           (strcmp(par->unit, "\xC2\xB0") == 0 || strcmp(par->unit, "deg") == 0);
}

static void eng__resolve(struct eng *e, struct eng__series *s, const struct dreg_site *site)
{
    const struct dreg *r = e->reg;
    struct eng__conf *c = &s->c;
    int p = s->param_id;
    for (int i = 0; i < ENG_NRULES; i++)
        c->en[i] = dreg_setting(r, eng__rule_names[i], "enabled", site, p) > 0;
    c->has_limit = c->en[ENG_LIMIT] && dreg_limit(r, site, p, s->period,
                                                  dreg_setting(r, "limit", "coarser", site, p) > 0,
                                                  &c->lim_lo, &c->lim_hi);
    c->lim_min_minutes = eng__set(r, "limit", "min_minutes", site, p);
    c->lim_clear_minutes = eng__set(r, "limit", "clear_minutes", site, p);
    c->lim_hyst = eng__set(r, "limit", "hysteresis", site, p);
    c->fl_pmax = eng__set(r, "flatline", "p_max", site, p);
    c->fl_min_minutes = eng__set(r, "flatline", "min_minutes", site, p);
    c->fl_min_rep = eng__setn(r, "flatline", "min_repeats", site, p);
    c->fl_warm = eng__setn(r, "flatline", "warmup", site, p);
    c->fl_warm_days = eng__set(r, "flatline", "warmup_days", site, p);
    if (!(c->fl_warm_days > 0))
        c->fl_warm_days = 0; /* absent (before migration 0023): off */
    c->sp_k = eng__set(r, "spike", "k", site, p);
    c->sp_warm = eng__setn(r, "spike", "warmup", site, p);
    c->flag_min = eng__setn(r, "flag", "min_count", site, p);
    c->bl_z = eng__set(r, "baseline", "z", site, p);
    c->bl_zs = eng__set(r, "baseline", "z_sustained", site, p);
    c->bl_sustain = eng__setn(r, "baseline", "sustain", site, p);
    c->bl_warm = eng__setn(r, "baseline", "warmup", site, p);
    c->bl_shift = eng__setn(r, "baseline", "shift", site, p);
    c->bl_drift_k = eng__set(r, "baseline", "drift_k", site, p);
    c->bl_drift_h = eng__set(r, "baseline", "drift_h", site, p);
    if (!(c->bl_drift_h > 0) || !(c->bl_drift_k >= 0))
        c->bl_drift_h = 0; /* absent (before migration 0033): off */
    c->nb_z = eng__set(r, "neighbour", "z", site, p);
    c->nb_warm = eng__setn(r, "neighbour", "warmup", site, p);
    c->nb_min = eng__setn(r, "neighbour", "min_neighbours", site, p);
    c->nb_own = eng__set(r, "neighbour", "own_z", site, p);
    c->hs_k = eng__set(r, "hotspot", "k", site, p);
    c->hs_ratio = eng__set(r, "hotspot", "ratio", site, p);
    c->hs_warm = eng__setn(r, "hotspot", "warmup", site, p);
    /* A direction (wind from 0-360 degrees) is circular: 359 and 2 are
     * three degrees apart, and a northerly wind swinging across north would
     * be a spike, a departure from its baseline or from its neighbours at
     * every crossing. The rules that measure distances are off for it; the
     * others (flatline above all: a stuck vane) apply. */
    if (eng__circular(dreg_param(r, p)))
        c->en[ENG_SPIKE] = c->en[ENG_BASELINE] = c->en[ENG_NEIGHBOUR] = 0;
    if (site->kind == DREG_MOBILE) {
        const struct dreg_param *par = dreg_param(r, p);
        c->en[ENG_BASELINE] = c->en[ENG_NEIGHBOUR] = c->en[ENG_OFFLINE] = 0;
        /* Ozone is not emitted by what a vehicle passes: it forms over
         * hours in sunlight and fresh exhaust consumes it, so it is lowest
         * on the busiest roads. The background, which follows falls at
         * once, sits at those lows, and the ordinary ozone of the streets
         * around stands out above it all day. */
        if (par && strcmp(par->code, "o3") == 0)
            c->en[ENG_HOTSPOT] = 0;
    } else {
        c->en[ENG_HOTSPOT] = 0;
    }
    s->gen = e->gen;
}

static const char eng__periods[] = "rmhd";

/* Decides which of the (up to four) period series of a (site, param) run
 * which rules, after a series appeared or the limits changed. A series
 * that stops watching closes its alarms at `ts`. */
static void eng__rewatch(struct eng *e, int site_id, int param_id, int64_t ts)
{
    struct eng__series *ps[4];
    int all = -1, lim = -1;
    for (int i = 0; i < 4; i++) {
        ps[i] = eng__find(e, eng__key(site_id, param_id, eng__periods[i]));
        if (!ps[i])
            continue;
        if (all < 0)
            all = i;
        if (lim < 0 && ps[i]->c.has_limit)
            lim = i;
    }
    for (int i = 0; i < 4; i++) {
        struct eng__series *s = ps[i];
        uint8_t w;
        if (!s)
            continue;
        w = (uint8_t)((i == all ? W_ALL : 0) | (i == lim ? W_LIMIT : 0));
        for (int r = 0; r < ENG_NRULES; r++) {
            bool keep = r == ENG_LIMIT ? (w & W_LIMIT) : (w & W_ALL);
            if (!keep && s->slot[r].open)
                eng__clear(e, s, (enum eng_rule)r, ts, NAN);
        }
        s->watch = w;
    }
}

static struct eng__series *eng__series(struct eng *e, const struct dreg_site *site, int param_id,
                                       char period, int64_t ts)
{
    uint64_t key = eng__key(site->id, param_id, period);
    struct eng__series *s = eng__find(e, key);
    if (s) {
        if (s->gen != e->gen) {
            bool had = s->c.has_limit;
            eng__resolve(e, s, site);
            if (had != s->c.has_limit)
                eng__rewatch(e, site->id, param_id, ts);
        }
        return s;
    }
    if (!(s = eng__insert(e, key)))
        return NULL;
    s->site_id = site->id;
    s->param_id = param_id;
    s->period = period;
    eng__resolve(e, s, site);
    eng__rewatch(e, site->id, param_id, ts);
    return eng__find(e, key);
}

/* ------------------------------------------------------------ helpers ---- */

static int eng__cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static int eng__cmp_f(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static int64_t eng__median_gap(const int32_t *gaps, int n, int64_t dflt)
{
    int32_t tmp[ENG__SITE_GAPS];
    if (n < 3)
        return dflt;
    memcpy(tmp, gaps, (size_t)n * sizeof(*tmp));
    qsort(tmp, (size_t)n, sizeof(*tmp), eng__cmp_i32);
    return (int64_t)tmp[n / 2] * 1000000;
}

/* The series' usual interval between readings. */
static int64_t eng__interval(const struct eng__series *s)
{
    return eng__median_gap(s->gaps_s, s->ngaps, eng_period_us(s->period));
}

static int eng__count(float minutes, int64_t interval)
{
    double n = ceil((double)minutes * 60e6 / (double)interval);
    return n < 1 ? 1 : n > 10000 ? 10000 : (int)n;
}

/* ------------------------------------------------------------ offline ---- */

static int eng__site_grow(struct eng *e, size_t need)
{
    struct eng__site *s;
    int *h;
    size_t n = e->nsites;
    if (need <= n)
        return 0;
    if (!(s = realloc(e->sites, need * sizeof(*s))))
        return -ENOMEM;
    e->sites = s;
    if (!(h = realloc(e->heap, need * sizeof(*h))))
        return -ENOMEM;
    e->heap = h;
    memset(&e->sites[n], 0, (need - n) * sizeof(*s));
    for (size_t i = n; i < need; i++)
        e->sites[i].heap_pos = -1;
    e->nsites = need;
    return 0;
}

/* Settings for a site-wide rule: those of the site, for no parameter. */
static void eng__site_reading(struct eng *e, const struct dreg_site *site,
                              const struct eng_reading *r)
{
    struct eng__site *st = &e->sites[site->id];
    int64_t p_us = eng_period_us(r->period), interval, slack;
    double factor, min_minutes;
    if (st->off.open) {
        struct eng__series tmp = {.site_id = site->id};
        eng__emit(e, &tmp, site->id, ENG_OFFLINE, ENG_CLEAR, &st->off, r->ts, NAN, NAN, NAN);
        st->off.open = 0;
    }
    if (st->seen && r->ts > st->last_ts) {
        int64_t gap = (r->ts - st->last_ts) / 1000000;
        st->gaps_s[st->gap_head] = (int32_t)(gap > INT32_MAX ? INT32_MAX : gap);
        st->gap_head = (uint8_t)((st->gap_head + 1) % ENG__SITE_GAPS);
        if (st->ngaps < ENG__SITE_GAPS)
            st->ngaps++;
    }
    if (!st->seen || p_us < st->finest_us) {
        st->finest_us = p_us;
        /* an average is complete when its period ends; a real-time value
         * at once */
        st->avail_us = r->period == 'r' ? 0 : p_us;
    }
    if (!st->seen || r->ts > st->last_ts)
        st->last_ts = r->ts;
    st->seen = true;
    if (dreg_setting(e->reg, "offline", "enabled", site, 0) <= 0 || site->kind == DREG_MOBILE) {
        eng__deadline(e, site->id, 0);
        return;
    }
    /* The next reading is due one interval after the last, and arrives
     * when its period ends; silence past that by the slack is offline. */
    interval = eng__median_gap(st->gaps_s, st->ngaps, st->finest_us);
    factor = dreg_setting(e->reg, "offline", "factor", site, 0);
    min_minutes = dreg_setting(e->reg, "offline", "min_minutes", site, 0);
    slack = (int64_t)((factor - 1) * (double)interval);
    if (slack < (int64_t)(min_minutes * 60e6))
        slack = (int64_t)(min_minutes * 60e6);
    /* a site catching up on old data (a backfill) is given the slack from
     * the watermark, not offline at once for being behind */
    eng__deadline(e, site->id,
                  st->last_ts + interval + st->avail_us + slack > e->wm + slack
                      ? st->last_ts + interval + st->avail_us + slack
                      : e->wm + slack);
}

void eng_advance(struct eng *e, int64_t wm)
{
    if (wm <= e->wm)
        return;
    e->wm = wm;
    while (e->nheap && e->sites[e->heap[0]].deadline <= wm) {
        int id = e->heap[0];
        struct eng__site *st = &e->sites[id];
        struct eng__series tmp = {.site_id = id};
        eng__heap_remove(e, id);
        if (st->off.open)
            continue;
        st->off = (struct eng__slot){
            .open = 1, .opened = st->deadline, .limit = NAN, .peak = NAN, .sev = ENG_MINOR};
        eng__emit(e, &tmp, id, ENG_OFFLINE, ENG_RAISE, &st->off, st->deadline, NAN, NAN, NAN);
        /* check again a day later, to raise the severity */
        st->deadline = 0;
    }
    /* severity of long silences: at most one pass over the open ones is
     * not needed: their heap entries are gone; they are updated on clear */
}

int64_t eng_watermark(const struct eng *e)
{
    return e->wm;
}

/* -------------------------------------------------------------- rules ---- */

static void eng__limit(struct eng *e, struct eng__series *s, const struct eng_reading *r)
{
    const struct eng__conf *c = &s->c;
    struct eng__slot *sl = &s->slot[ENG_LIMIT];
    double v = r->value, b = 0, lim = NAN;
    bool over = false, calm;
    int64_t iv = eng__interval(s);
    if (!isnan(c->lim_hi) && v > c->lim_hi) {
        over = true;
        lim = c->lim_hi;
        b = c->lim_hi > 0 ? v / c->lim_hi : INFINITY;
    } else if (!isnan(c->lim_lo) && v < c->lim_lo) {
        over = true;
        lim = c->lim_lo;
        b = v > 0 ? c->lim_lo / v : INFINITY;
    }
    calm = (isnan(c->lim_hi) || v <= c->lim_hi * (1 - c->lim_hyst)) &&
           (isnan(c->lim_lo) || v >= c->lim_lo * (1 + c->lim_hyst));
    s->lim_over = over ? (uint16_t)(s->lim_over + (s->lim_over < 65535)) : 0;
    s->lim_under = calm ? (uint16_t)(s->lim_under + (s->lim_under < 65535)) : 0;
    if (!sl->open) {
        if (over && s->lim_over >= eng__count(c->lim_min_minutes, iv))
            eng__raise(e, s, ENG_LIMIT, r->ts, v, b, lim, eng__sev(b, 1.5, 3, 0), NAN, NAN);
    } else if (over) {
        eng__note(e, s, ENG_LIMIT, r->ts, v, b, eng__sev(sl->peak_b, 1.5, 3, r->ts - sl->opened),
                  NAN, NAN);
    } else if (s->lim_under >= eng__count(c->lim_clear_minutes, iv)) {
        eng__clear(e, s, ENG_LIMIT, r->ts, v);
    }
}

static void eng__flag(struct eng *e, struct eng__series *s, const struct eng_reading *r)
{
    bool bad = r->flag != 'N' && r->flag != 'n' && r->flag != 0;
    s->flag_run = bad ? (uint16_t)(s->flag_run + (s->flag_run < 65535)) : 0;
    if (bad && !s->slot[ENG_FLAG].open && s->flag_run >= s->c.flag_min)
        eng__raise(e, s, ENG_FLAG, r->ts, r->value, 1, NAN, ENG_MINOR, NAN, NAN);
    else if (bad && s->slot[ENG_FLAG].open)
        eng__note(e, s, ENG_FLAG, r->ts, r->value, 1,
                  eng__sev(1, 2, 3, r->ts - s->slot[ENG_FLAG].opened), NAN, NAN);
    else if (!bad)
        eng__clear(e, s, ENG_FLAG, r->ts, r->value);
}

/* The chance of a repeat right after a repeat: learned from the readings
 * that followed one, shrunk towards the plain repeat rate (independent
 * repeats) while they are few. */
static float eng__p_rr(const struct eng__series *s)
{
    return (s->rr_k + 4 * s->p_rep) / (s->rr_n + 4);
}

/* Whether the stations around sit on one value too: a weather variable
 * (air pressure, temperature) at its resolution plateaus at every station
 * of a region at once, which is the weather and not a stuck sensor. The
 * stations around are those within flatline regional_km (a calm spell
 * spans islands farther apart than the neighbour rule compares). At
 * least two of them with a reading of the same series this period or
 * the last, and half of them in a run of at least half this run's length. */
static bool eng__flat_regional(struct eng *e, const struct eng__series *s,
                               const struct dreg_site *site, int64_t ts)
{
    int64_t p = eng_period_us(s->period), len = ts - s->run_start;
    int n = 0, flat = 0;
    for (int i = 0; i < site->nregional; i++) {
        const struct eng__series *o =
            eng__find(e, eng__key(site->regional[i], s->param_id, s->period));
        if (!o || !o->n || o->last_ts < ts - p || o->last_ts > ts + p)
            continue;
        n++;
        flat += o->run_len >= 2 && 2 * (o->last_ts - o->run_start) >= len;
    }
    return n >= 2 && 2 * flat >= n;
}

static void eng__flatline(struct eng *e, struct eng__series *s, const struct dreg_site *site,
                          const struct eng_reading *r)
{
    const struct eng__conf *c = &s->c;
    struct eng__slot *sl = &s->slot[ENG_FLATLINE];
    bool same = r->value == s->last_v;
    double p, prr, need;
    if (same) {
        s->run_len++;
    } else {
        /* a smooth series quantised to its resolution repeats itself at
         * every turning point: such runs are normal, and only a run longer
         * than half again the series' usual long ones counts (a run it
         * settled into by one step of the resolution used to need three
         * times: a stuck sensor freezes at about its current value too, and
         * that missed most of them) */
        if (!sl->open) {
            if ((float)s->run_len > s->run_hi)
                s->run_hi = (float)s->run_len;
            else
                s->run_hi -= 0.002f * (s->run_hi - (float)s->run_len);
        }
        s->run_len = 1;
        s->run_start = r->ts;
        s->run_start_n = s->n;
        s->p_run = s->p_rep;
        s->p_rr_run = eng__p_rr(s);
    }
    /* How often the series repeats itself when healthy: quantised data and
     * values at a detection limit repeat a lot, and a run must be unlikely
     * for that series before it counts as stuck. */
    if (!sl->open) {
        /* from a prior of one half: a new series has to show that it
         * rarely repeats itself before short runs count */
        float a = 1.0f / (float)(s->n < 500 ? s->n + 2 : 500);
        if (s->n == 1)
            s->p_rep = 0.5f;
        s->p_rep += a * ((same ? 1.0f : 0.0f) - s->p_rep);
        /* repeats come in clusters (a smooth series lingers at its turning
         * points), so the chance of one more repeat after a repeat is
         * learned on its own, from the readings that follow one */
        if (s->rr_prev) {
            if (s->rr_n >= 200) {
                s->rr_n *= 0.995f;
                s->rr_k *= 0.995f;
            }
            s->rr_n += 1;
            s->rr_k += same ? 1.0f : 0.0f;
        }
    }
    s->rr_prev = same;
    if (!same) {
        eng__clear(e, s, ENG_FLATLINE, r->ts, r->value);
        return;
    }
    if (sl->open) {
        eng__note(e, s, ENG_FLATLINE, r->ts, r->value, 1, eng__sev(1, 2, 3, r->ts - sl->opened),
                  NAN, NAN);
        return;
    }
    /* a run is judged against what the series was known to do before it
     * began: one that began while the series was new is not */
    if (s->run_start_n < c->fl_warm)
        return;
    /* nor one that began before the series had been seen for a day: its
     * long healthy runs (the plateaus at the turning points of its daily
     * cycle) are not known yet */
    if ((double)s->run_start_n * (double)eng__interval(s) < c->fl_warm_days * 86400e6)
        return;
    /* judged by the rate before this run: its own repeats are the question */
    p = s->p_run < 0.001 ? 0.001 : s->p_run;
    prr = s->p_rr_run < 0.001 ? 0.001 : s->p_rr_run;
    if (p >= 0.999 || prr >= 0.999)
        return;
    /* a first repeat at p, each further one at prr: the run's chance is
     * p * prr^(k-1) for k repeats */
    need = log(c->fl_pmax) <= log(p) ? 1 + ceil((log(c->fl_pmax) - log(p)) / log(prr)) : 1;
    if (need < c->fl_min_rep)
        need = c->fl_min_rep;
    if ((double)(s->run_len - 1) >= need && (float)s->run_len > 1.5f * s->run_hi + 1 &&
        (double)(r->ts - s->run_start) >= (double)c->fl_min_minutes * 60e6 &&
        !eng__flat_regional(e, s, site, r->ts))
        eng__raise(e, s, ENG_FLATLINE, r->ts, r->value, 1, NAN, ENG_MINOR, NAN, NAN);
}

/* A spike is one value far from both of its neighbours in time, in
 * opposite directions: it is decided one reading late, and raised and
 * cleared at once with the spike's own time. */
static void eng__spike(struct eng *e, struct eng__series *s, const struct eng_reading *r)
{
    const struct eng__conf *c = &s->c;
    double d1 = s->last_v - s->sp_v2, d2 = r->value - s->last_v;
    double scale = s->sp_scale, floor = 2 * s->res, k = c->sp_k;
    double a2 = fabs(d2), thr;
    bool spike = false;
    if (s->sp_after) {
        s->sp_after = false;
        return;
    }
    if (scale < floor)
        scale = floor;
    thr = k * scale;
    if (s->n >= 2 && s->n >= c->sp_warm && thr > 0 && d1 * d2 < 0 && fabs(d1) > thr && a2 > thr &&
        fabs(s->last_v - (s->sp_v2 + r->value) / 2) > thr)
        spike = true;
    /* A new series has no usual step yet, but a value several times its
     * two neighbours while they agree with each other is a spike all the
     * same (a sensor's first hours are when faults are common): both steps
     * over k times the neighbours' own difference (at least 5 % of their
     * mean; the resolution is not known yet either: the smallest step so
     * far may be the spike's), and the value over 3 times their mean or
     * under a third of it. */
    if (!spike && s->n >= 2 && s->n < c->sp_warm && d1 * d2 < 0 && k > 0) {
        double mid = (s->sp_v2 + r->value) / 2;
        double dis = fmax(fabs(r->value - s->sp_v2), 0.05 * fabs(mid));
        if (mid > 0 && fabs(d1) > k * dis && a2 > k * dis &&
            (s->last_v >= 3 * mid || s->last_v <= mid / 3)) {
            spike = true;
            scale = dis;
        }
    }
    if (spike) {
        double b = fmin(fabs(d1), a2) / scale;
        struct eng__slot *sl = &s->slot[ENG_SPIKE];
        if (sl->open)
            eng__clear(e, s, ENG_SPIKE, s->last_ts, s->last_v);
        eng__raise(e, s, ENG_SPIKE, s->last_ts, s->last_v, b, NAN, ENG_MINOR, NAN, NAN);
        eng__clear(e, s, ENG_SPIKE, r->ts, r->value);
        s->sp_after = true;
        return;
    }
    /* A value repeated again and again (a stuck sensor, a plant idle at
     * zero) says nothing of the series' step size: the scale stays as it
     * was, so that the readings after it are not each a spike against a
     * scale worn down to nothing (it grows back slowly: see below). */
    if (a2 == 0) {
        if (s->sp_rep < 255)
            s->sp_rep++;
    } else {
        s->sp_rep = 0;
    }
    if (s->n >= 1 && s->sp_rep < 2) {
        /* mean absolute step, each step clipped so one jump moves it little:
         * at four times the scale with its floor, not the learned value
         * alone, which a series starting on one value set to zero for
         * good (clipped at four times zero, no step could raise it) */
        double st = a2;
        float a = 1.0f / (float)(s->n < 50 ? s->n : 50);
        if (s->n > 10 && st > 4 * scale)
            st = 4 * scale;
        s->sp_scale += a * ((float)st - s->sp_scale);
    }
}

static int eng__hour(int64_t ts)
{
    int64_t s = ts / 1000000 + 8 * 3600;
    return (int)(((s % 86400) + 86400) % 86400 / 3600);
}

static int eng__dow(int64_t ts)
{
    int64_t d = (ts / 1000000 + 8 * 3600) / 86400;
    return (int)(((d + 4) % 7 + 7) % 7);
}

/* Robust seasonal baseline: level + hour-of-day + day-of-week terms, all
 * learned from clipped residuals so that an anomaly barely moves them; a
 * residual that stays on one side for `shift` readings is a new level and
 * is absorbed. Scale is the mean absolute residual. */
/* Whether the stations around see the same departure at the same time:
 * weather (rain washing nutrients into every river, a regional haze) moves
 * them all, a pollution source a few. The median of the neighbours' latest
 * deviations, of the same period, at most one period old. */
static bool eng__regional(struct eng *e, const struct eng__series *s, const struct dreg_site *site,
                          int64_t ts, double z)
{
    float zs[DREG_NEIGHBOURS];
    int n = 0;
    int64_t p = eng_period_us(s->period);
    for (int i = 0; i < site->nneighbours; i++) {
        const struct eng__series *o =
            eng__find(e, eng__key(site->neighbours[i], s->param_id, s->period));
        if (o && o->bl_z_ts && o->bl_z_ts >= ts - p && o->bl_z_ts <= ts + p)
            zs[n++] = o->bl_z;
    }
    if (n < 2)
        return false;
    qsort(zs, (size_t)n, sizeof(zs[0]), eng__cmp_f);
    return z > 0 ? zs[n / 2] >= 0.5 * z : zs[(n - 1) / 2] <= 0.5 * z;
}

/* A baseline scale with its floors: a series at its resolution's step is
 * not departing by one step, and a constant series has no zero scale. */
static double eng__bl_floor(const struct eng__series *s, double scale)
{
    double tiny = 1e-9 * fabs(s->bl_level) + 1e-12;
    scale = fmax(scale, 2 * s->res);
    return scale > tiny ? scale : tiny;
}

static void eng__baseline(struct eng *e, struct eng__series *s, const struct dreg_site *site,
                          const struct eng_reading *r)
{
    const struct eng__conf *c = &s->c;
    struct eng__slot *sl = &s->slot[ENG_BASELINE];
    int h = eng__hour(r->ts), d = eng__dow(r->ts);
    double x = r->value, expect, resid, scale, z, clipped;
    int64_t iv = eng__interval(s);
    double per_day = 86400e6 / (double)iv, per_hour, a_level, a_hod, a_dow;
    bool warm = s->n >= c->bl_warm, anomalous = false, seasoned;
    double ref, zr, dv;
    if (s->n == 0) {
        s->bl_level = (float)x;
        return;
    }
    if (per_day < 1)
        per_day = 1;
    per_hour = per_day / 24 > 1 ? floor(per_day / 24) : 1;
    seasoned = per_day < 2 || s->bl_hod_n[h] >= 2 * per_hour;
    expect = s->bl_level + s->bl_hod[h] + s->bl_dow[d];
    resid = x - expect;
    /* An hour of the day not learned yet (seen on fewer than two days) is
     * judged with the daily cycle's spread in its scale: what a square
     * wave's first morning does is what the hour is, not a departure (and
     * a departure is never learned: the hour would stay unknown). A spike
     * still stands out of that spread. */
    scale = eng__bl_floor(s, seasoned ? s->bl_scale : fmax(s->bl_scale, s->bl_raw));
    z = resid / scale;
    /* the long scale has the short one's floors */
    ref = s->bl_ref > 0 ? eng__bl_floor(s, s->bl_ref) : scale;
    zr = resid / ref;
    if (warm) {
        s->bl_z = (float)z;
        s->bl_z_ts = r->ts;
    }
    if (warm && c->en[ENG_BASELINE]) {
        int sign = z > 0 ? 1 : -1;
        if (fabs(z) >= c->bl_zs && sign == s->bl_sign)
            s->bl_run++;
        else
            s->bl_run = fabs(z) >= c->bl_zs ? 1 : 0;
        s->bl_sign = (int8_t)sign;
        /* a run of moderate departures is only telling once this hour of
         * the day has been seen on two days: before that the daily cycle
         * itself makes such runs */
        anomalous = fabs(z) >= c->bl_z || (s->bl_run >= c->bl_sustain && seasoned);
        /* A slow departure (a failing cooler, a drifting analyser) widens
         * the scale it is judged by as it grows and hides in it for as long
         * as it lasts. It is also summed (CUSUM) against the scale of
         * weeks: each hour of residuals beyond `drift_k` of those scales
         * adds its excess (a reading of a finer period its share of the
         * hour: a departure is judged by how long it lasts, not by how many
         * readings show it), and a sum past `drift_h` is a departure. A
         * smooth series' usual wander is in that scale and rarely sums far. */
        if (c->bl_drift_h > 0 && seasoned && !sl->open) {
            double w = fmin(1.0, (double)iv / ENG__US_HOUR);
            s->bl_up = (float)fmax(0, s->bl_up + w * (zr - c->bl_drift_k));
            s->bl_down = (float)fmax(0, s->bl_down + w * (-zr - c->bl_drift_k));
            if (s->bl_up >= c->bl_drift_h || s->bl_down >= c->bl_drift_h)
                anomalous = true;
        } else {
            s->bl_up = s->bl_down = 0;
        }
        if (anomalous && !sl->open && eng__regional(e, s, site, r->ts, z)) {
            anomalous = false; /* the region's, not this station's */
            s->bl_up = s->bl_down = 0;
        }
        if (anomalous) {
            double b = fabs(z);
            s->bl_calm = 0;
            if (!sl->open)
                eng__raise(e, s, ENG_BASELINE, r->ts, x, b, NAN,
                           eng__sev(b, 2 * c->bl_z, 4 * c->bl_z, 0), NAN, NAN);
            else
                eng__note(
                    e, s, ENG_BASELINE, r->ts, x, b,
                    eng__sev(fmax(b, sl->peak_b), 2 * c->bl_z, 4 * c->bl_z, r->ts - sl->opened),
                    NAN, NAN);
        } else if (sl->open && fabs(z) < c->bl_zs / 1.5 &&
                   (!(c->bl_drift_h > 0) || fabs(zr) < c->bl_drift_k)) {
            if (++s->bl_calm >= 2)
                eng__clear(e, s, ENG_BASELINE, r->ts, x);
        }
    }
    /* level shift: one side, far, for `shift` readings in a row and a day
     * of them at least (bl_shift_run's range bounds that for series finer
     * than a second and a half): a five-minute series' working hours are
     * 108 readings long, and taken for new levels they were absorbed each
     * morning and evening instead of being learned as the hours' own */
    if (warm && fabs(z) >= c->bl_zs &&
        (s->bl_shift_run == 0 || (resid > 0) == (s->bl_shift_sum > 0))) {
        s->bl_shift_run++;
        s->bl_shift_sum += (float)resid;
        if (s->bl_shift_run >= fmax(c->bl_shift, fmin(per_day, 60000))) {
            s->bl_level += s->bl_shift_sum / s->bl_shift_run;
            s->bl_shift_run = 0;
            s->bl_shift_sum = 0;
            return;
        }
    } else {
        s->bl_shift_run = 0;
        s->bl_shift_sum = 0;
    }
    clipped = resid;
    if (s->n > 10 && fabs(clipped) > 3 * scale)
        clipped = clipped > 0 ? 3 * scale : -3 * scale;
    /* level: three days' memory, slow enough that the daily cycle is left
     * to the hour-of-day terms; those have ten days' memory (a week for
     * the day-of-week terms), learned fast while they are new */
    a_level = 1.0 / (s->n < 3 * per_day ? (double)s->n + 1 : 3 * per_day);
    /* that spread: a day's memory, each deviation clipped at four of it
     * with its floors (clipped at four times a spread that a first hour on
     * one value left at zero, it could never grow) */
    dv = fabs(x - s->bl_level);
    if (s->n > 10 && dv > 4 * eng__bl_floor(s, s->bl_raw))
        dv = 4 * eng__bl_floor(s, s->bl_raw);
    s->bl_raw += (float)(1.0 / fmin((double)s->n, per_day) * (1.25 * dv - s->bl_raw));
    s->bl_level += (float)(a_level * clipped);
    /* The seasonal terms learn once the scale is known and can clip what
     * they learn: an hour first learned from an unclipped spike expects it
     * every day after, and is never learned again (its readings are all
     * departures). */
    if (!anomalous && !sl->open && s->n > 10) {
        double rh = x - s->bl_level - s->bl_hod[h] - s->bl_dow[d];
        if (fabs(rh) > 3 * scale)
            rh = rh > 0 ? 3 * scale : -3 * scale;
        /* the mean of the hour's readings, then ten days of them: counted
         * in readings, so that a five-minute series learns its daily cycle
         * as fast as an hourly one (it used to take twelve times longer) */
        a_hod = 1.0 / (s->bl_hod_n[h] < 10 ? s->bl_hod_n[h] + 1.0 : 10.0) / per_hour;
        a_dow =
            1.0 / (s->bl_dow_n[d] < 4 ? s->bl_dow_n[d] + 1.0 : 4.0) / (per_day > 1 ? per_day : 1);
        if (per_day >= 2) {
            s->bl_hod[h] += (float)(a_hod * rh);
            if (s->bl_hod_n[h] < UINT16_MAX)
                s->bl_hod_n[h]++;
        }
        if (s->n > 7 * per_day) {
            s->bl_dow[d] += (float)(a_dow * rh * 0.25);
            if (s->bl_dow_n[d] < UINT16_MAX)
                s->bl_dow_n[d]++;
        }
    }
    if (!anomalous && !sl->open) {
        double ar = fabs(resid), a_sc = 1.0 / (s->n < 100 ? (double)s->n : 100.0);
        if (s->n > 10 && ar > 4 * scale)
            ar = 4 * scale;
        s->bl_scale += (float)(a_sc * (1.25 * ar - s->bl_scale));
        /* the same over two weeks (a hundred readings at least), each
         * residual clipped at two scales, so that a departure lasting
         * days widens it by a fraction */
        ar = fabs(resid);
        if (s->n > 10 && ar > 2 * ref)
            ar = 2 * ref;
        a_sc = 1.0 / fmin((double)s->n, fmax(100.0, 14 * per_day));
        s->bl_ref += (float)(a_sc * (1.25 * ar - s->bl_ref));
    }
}

/* A mobile vehicle's readings against its own background along the route:
 * the background follows falls at once and rises slowly, so a source the
 * vehicle drives past stands out above it. */
static void eng__hotspot(struct eng *e, struct eng__series *s, const struct eng_reading *r)
{
    const struct eng__conf *c = &s->c;
    struct eng__slot *sl = &s->slot[ENG_HOTSPOT];
    double x = r->value, thr, ex;
    int64_t gap = r->ts - s->last_ts;
    if (s->n == 0) {
        s->hs_level = (float)x;
        return;
    }
    /* A new trip (the vehicle was off duty: half an hour or ten intervals
     * without readings) starts from where it is now: last evening's
     * background says nothing of this morning's rush hour. */
    if (gap > 30 * ENG__US_MIN && gap > 10 * eng__interval(s)) {
        s->hs_level = (float)x;
        s->hs_run = 0;
        if (sl->open)
            eng__clear(e, s, ENG_HOTSPOT, r->ts, x);
        return;
    }
    thr = fmax(c->hs_k * fmax(s->hs_scale, 2 * s->res), c->hs_ratio * fabs(s->hs_level));
    ex = x - s->hs_level;
    if (s->n >= c->hs_warm && ex > thr && thr > 0) {
        double b = ex / thr;
        s->hs_run++;
        if (!sl->open && s->hs_run >= 2)
            eng__raise(e, s, ENG_HOTSPOT, r->ts, x, b, NAN, eng__sev(b, 2, 4, 0), r->lat, r->lon);
        else if (sl->open)
            eng__note(e, s, ENG_HOTSPOT, r->ts, x, b,
                      eng__sev(fmax(b, sl->peak_b), 2, 4, r->ts - sl->opened), r->lat, r->lon);
        return;
    }
    s->hs_run = 0;
    if (sl->open && ex < thr / 2)
        eng__clear(e, s, ENG_HOTSPOT, r->ts, x);
    if (x < s->hs_level)
        s->hs_level += 0.3f * (float)(x - s->hs_level);
    else
        s->hs_level += 0.01f * (float)(x - s->hs_level);
    s->hs_scale += 0.02f * ((float)fabs(x - s->hs_level) - s->hs_scale);
}

static bool eng__ring_get(const struct eng__series *s, int64_t ts, float *v)
{
    for (int i = 0; i < ENG__RING; i++)
        if (s->ring_ts[i] == ts && ts) {
            *v = s->ring_v[i];
            return true;
        }
    return false;
}

/* Whether another parameter of the site departs from the neighbours at
 * the same time (within a period): a plume raises particles, SO2, NO2 and
 * CO together; one parameter alone off its neighbours is more often the
 * instrument than the air. */
static bool eng__corroborated(struct eng *e, const struct eng__series *s, int64_t ts, double need)
{
    int64_t p = eng_period_us(s->period);
    for (size_t i = 0; i < e->reg->nparams; i++) {
        const struct eng__series *o;
        if (e->reg->params[i].id == s->param_id)
            continue;
        o = eng__find(e, eng__key(s->site_id, e->reg->params[i].id, s->period));
        if (o && o->nb_z_ts && o->nb_z_ts >= ts - p && o->nb_z_ts <= ts + p &&
            fabs(o->nb_z) >= need)
            return true;
    }
    return false;
}

/* Whether the station's own baseline saw its reading at t1 depart the same
 * way as it departs from its neighbours. A plume passing next to a station
 * raises its neighbours' median, so the untouched station looks low against
 * them while it is ordinary against its own history: the departure is
 * theirs. Without a warm baseline there is nothing to ask: it agrees. */
static bool eng__own_agrees(const struct eng__series *s, int64_t t1, double z, double need)
{
    if (need <= 0 || s->bl_z_ts != t1)
        return true;
    return (z > 0 ? s->bl_z : -s->bl_z) >= need;
}

/* Compares the series' previous reading with the same-kind sites around it
 * at the same time (one reading late, so that they have all reported). */
static void eng__neighbour(struct eng *e, struct eng__series *s, const struct dreg_site *site,
                           const struct eng_reading *r)
{
    const struct eng__conf *c = &s->c;
    struct eng__slot *sl = &s->slot[ENG_NEIGHBOUR];
    float vals[DREG_NEIGHBOURS], med;
    int n = 0;
    double d, z, scale;
    int64_t t1 = s->last_ts;
    (void)r;
    if (s->n == 0 || site->nneighbours < c->nb_min)
        return;
    for (int i = 0; i < site->nneighbours; i++) {
        const struct eng__series *o =
            eng__find(e, eng__key(site->neighbours[i], s->param_id, s->period));
        if (o && eng__ring_get(o, t1, &vals[n]))
            n++;
    }
    if (n < c->nb_min || n < 1)
        return;
    qsort(vals, (size_t)n, sizeof(vals[0]), eng__cmp_f);
    med = n % 2 ? vals[n / 2] : (vals[n / 2 - 1] + vals[n / 2]) / 2;
    d = s->last_v - med;
    scale = fmax(s->nb_scale, 2 * s->res);
    if (scale <= 0)
        scale = 1e-12;
    z = (d - s->nb_mean) / scale;
    if (s->nb_n >= c->nb_warm) {
        bool far = fabs(z) >= c->nb_z;
        s->nb_z = (float)z;
        s->nb_z_ts = t1;
        s->nb_run = fabs(z) >= c->nb_z * 0.6 ? (uint16_t)(s->nb_run + 1) : 0;
        if ((far || s->nb_run >= 2) && (sl->open || (eng__own_agrees(s, t1, z, c->nb_own) &&
                                                     eng__corroborated(e, s, t1, 0.5 * c->nb_z)))) {
            double b = fabs(z);
            s->nb_calm = 0;
            if (!sl->open)
                eng__raise(e, s, ENG_NEIGHBOUR, t1, s->last_v, b, NAN,
                           eng__sev(b, 2 * c->nb_z, 4 * c->nb_z, 0), NAN, NAN);
            else
                eng__note(e, s, ENG_NEIGHBOUR, t1, s->last_v, b,
                          eng__sev(fmax(b, sl->peak_b), 2 * c->nb_z, 4 * c->nb_z, t1 - sl->opened),
                          NAN, NAN);
            return;
        }
        if (sl->open && fabs(z) < c->nb_z * 0.4 && ++s->nb_calm >= 2)
            eng__clear(e, s, ENG_NEIGHBOUR, t1, s->last_v);
    }
    {
        double cd = d - s->nb_mean, a = 1.0 / (s->nb_n < 100 ? s->nb_n + 1.0 : 100.0);
        if (s->nb_n > 10 && fabs(cd) > 3 * scale)
            cd = cd > 0 ? 3 * scale : -3 * scale;
        s->nb_mean += (float)(a * cd * 0.5);
        s->nb_scale += (float)(a * (1.25 * fmin(fabs(d - s->nb_mean), 4 * scale) - s->nb_scale));
        s->nb_n++;
    }
}

static void eng__range(struct eng *e, struct eng__series *s, const struct dreg_param *p,
                       const struct eng_reading *r)
{
    if (r->value < p->vmin || r->value > p->vmax) {
        double lim = r->value < p->vmin ? p->vmin : p->vmax;
        if (!s->slot[ENG_RANGE].open)
            eng__raise(e, s, ENG_RANGE, r->ts, r->value, 1, lim, ENG_MINOR, NAN, NAN);
    } else {
        eng__clear(e, s, ENG_RANGE, r->ts, r->value);
    }
}

/* --------------------------------------------------------------- feed ---- */

static void eng__gap(struct eng__series *s, int64_t ts)
{
    int64_t gap = (ts - s->last_ts) / 1000000;
    s->gaps_s[s->gap_head] = (int32_t)(gap > INT32_MAX ? INT32_MAX : gap);
    s->gap_head = (uint8_t)((s->gap_head + 1) % ENG__GAPS);
    if (s->ngaps < ENG__GAPS)
        s->ngaps++;
}

void eng_feed(struct eng *e, const struct eng_reading *r)
{
    const struct dreg_site *site = dreg_site(e->reg, r->site_id);
    const struct dreg_param *p = dreg_param(e->reg, r->param_id);
    struct eng__series *s;
    e->st.readings++;
    if (!site || !p || !strchr(eng__periods, r->period) || !r->period) {
        e->st.unknown++;
        return;
    }
    if ((size_t)site->id >= e->nsites && eng__site_grow(e, (size_t)site->id + 1)) {
        e->st.unwatched++;
        return;
    }
    if (!(s = eng__series(e, site, p->id, r->period, r->ts))) {
        e->st.unwatched++;
        return;
    }
    if (s->n && r->ts <= s->last_ts) {
        e->st.repeats++;
        return;
    }
    if (!isfinite(r->value)) {
        e->st.unknown++;
        return;
    }
    eng__site_reading(e, site, r);
    if (s->watch & W_LIMIT)
        eng__limit(e, s, r);
    if (s->watch & W_ALL) {
        const struct eng__conf *c = &s->c;
        if (c->en[ENG_RANGE])
            eng__range(e, s, p, r);
        if (c->en[ENG_FLAG])
            eng__flag(e, s, r);
        if (s->n) {
            if (c->en[ENG_FLATLINE])
                eng__flatline(e, s, site, r);
            if (c->en[ENG_SPIKE])
                eng__spike(e, s, r);
            if (c->en[ENG_NEIGHBOUR])
                eng__neighbour(e, s, site, r);
        } else {
            s->run_len = 1;
            s->run_start = r->ts;
        }
        if (c->en[ENG_HOTSPOT])
            eng__hotspot(e, s, r);
        else
            eng__baseline(e, s, site, r);
    }
    if (s->n) {
        double step = fabs(r->value - s->last_v);
        if (step > 0 && (s->res == 0 || step < s->res))
            s->res = step;
        eng__gap(s, r->ts);
    }
    s->sp_v2 = s->last_v;
    s->last_v = r->value;
    s->last_ts = r->ts;
    s->ring_ts[s->ring_head] = r->ts;
    s->ring_v[s->ring_head] = (float)r->value;
    s->ring_head = (uint8_t)((s->ring_head + 1) % ENG__RING);
    if (s->n < UINT32_MAX)
        s->n++;
    eng_advance(e, r->ts);
}

void eng_feed_rejected(struct eng *e, const struct eng_reading *r)
{
    const struct dreg_site *site = dreg_site(e->reg, r->site_id);
    const struct dreg_param *p = dreg_param(e->reg, r->param_id);
    struct eng__series *s;
    if (!site || !p || !r->period || !strchr(eng__periods, r->period) || isnan(r->value)) {
        e->st.unknown++;
        return;
    }
    if ((size_t)site->id >= e->nsites && eng__site_grow(e, (size_t)site->id + 1))
        return;
    if (!(s = eng__series(e, site, p->id, r->period, r->ts)))
        return;
    if (!(s->watch & W_ALL) || !s->c.en[ENG_RANGE] || s->slot[ENG_RANGE].open)
        return;
    if (s->n && r->ts <= s->last_ts)
        return;
    if (r->value < p->vmin || r->value > p->vmax)
        eng__raise(e, s, ENG_RANGE, r->ts, r->value, 1, r->value < p->vmin ? p->vmin : p->vmax,
                   ENG_MINOR, NAN, NAN);
}

/* ---------------------------------------------------------- lifecycle ---- */

int eng_new(const struct dreg *reg, size_t max_series, eng_emit_fn emit, void *ud, struct eng **out)
{
    struct eng *e;
    *out = NULL;
    if (!reg || !emit || max_series < 1 || max_series > UINT32_MAX / 2)
        return -EINVAL;
    if (!(e = calloc(1, sizeof(*e))))
        return -ENOMEM;
    e->reg = reg;
    e->gen = 1;
    e->emit = emit;
    e->ud = ud;
    e->max_series = max_series;
    if (eng__map_grow(e) || eng__site_grow(e, reg->site_ix_len ? reg->site_ix_len : 1)) {
        eng_free(e);
        return -ENOMEM;
    }
    *out = e;
    return 0;
}

void eng_free(struct eng *e)
{
    if (!e)
        return;
    free(e->ser);
    free(e->hkeys);
    free(e->hvals);
    free(e->sites);
    free(e->heap);
    free(e);
}

void eng_set_registry(struct eng *e, const struct dreg *reg)
{
    e->reg = reg;
    e->gen++;
    (void)eng__site_grow(e, reg->site_ix_len);
}

int eng_note_open(struct eng *e, int site_id, int param_id, char period, enum eng_rule rule,
                  int64_t opened, double peak, enum eng_sev sev)
{
    const struct dreg_site *site = dreg_site(e->reg, site_id);
    struct eng__slot *sl;
    if (!site || (unsigned)rule >= ENG_NRULES)
        return -ENOENT;
    if ((size_t)site_id >= e->nsites && eng__site_grow(e, (size_t)site_id + 1))
        return -ENOMEM;
    if (rule == ENG_OFFLINE) {
        sl = &e->sites[site_id].off;
    } else {
        struct eng__series *s;
        if (!dreg_param(e->reg, param_id) || !strchr(eng__periods, period) || !period)
            return -ENOENT;
        if (!(s = eng__series(e, site, param_id, period, opened)))
            return -ENOSPC;
        sl = &s->slot[rule];
    }
    sl->open = 1;
    sl->opened = opened;
    sl->peak = peak;
    sl->peak_b = sl->rep_b = 0;
    sl->limit = NAN;
    sl->sev = (uint8_t)sev;
    return 0;
}

void eng_stats(const struct eng *e, struct eng_stats *out)
{
    *out = e->st;
    out->series = e->nser;
}
