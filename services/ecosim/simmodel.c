#include "simmodel.h"

#include "etime.h"
#include "simrng.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SIMMODEL_TWO_PI 6.283185307179586476925
#define SIMMODEL_YEAR_D 365.2425
/* Days from 1970-01-01 to 2000-01-01: the origin of the seasonal phase. */
#define SIMMODEL_Y2K_D 10957.0
/* Centre of Zhoushan Island: sites far from it are the most maritime. */
#define SIMMODEL_ISLAND_LON 122.16
#define SIMMODEL_ISLAND_LAT 30.03

struct simmodel__qdef {
    const char *name;
    const char *unit; /* the unit the model computes in */
    int decimals;     /* in that unit */
    bool concentration;
    const char *codes[6]; /* param codes to look for, in order */
    const char *hj212[3]; /* then HJ 212 codes */
};

static const struct simmodel__qdef simmodel__q[SIMQ_N] = {
    [SIMQ_PM25] = {"pm25", "ug/m3", 1, true, {"pm25", "pm2_5"}, {"a34004"}},
    [SIMQ_PM10] = {"pm10", "ug/m3", 1, true, {"pm10"}, {"a34002"}},
    [SIMQ_SO2] = {"so2", "ug/m3", 1, true, {"so2"}, {"a21026"}},
    [SIMQ_NO2] = {"no2", "ug/m3", 1, true, {"no2"}, {"a21004"}},
    [SIMQ_NOX] = {"nox", "mg/m3", 1, true, {"nox_stack", "nox"}, {"a21002"}},
    [SIMQ_CO] = {"co", "mg/m3", 2, true, {"co"}, {"a21005"}},
    [SIMQ_O3] = {"o3", "ug/m3", 1, true, {"o3"}, {"a05024"}},
    [SIMQ_ATEMP] = {"air_temp", "c", 1, false, {"temp", "air_temp", "atemp", "ta"}, {"a01001"}},
    [SIMQ_RH] = {"rh", "%", 0, false, {"rh", "humidity"}, {"a01002"}},
    [SIMQ_WS] = {"wind_speed", "m/s", 1, false, {"ws", "wind_speed", "wspd"}, {"a01007"}},
    [SIMQ_WD] = {"wind_dir", "deg", 0, false, {"wd", "wind_dir", "wdir"}, {"a01008"}},
    [SIMQ_PRESS] = {"pressure", "kpa", 2, false, {"pressure", "press", "atm_pressure"}, {"a01006"}},
    [SIMQ_NOI] = {"noi",
                  "ions/cm3",
                  0,
                  true,
                  {"noi", "nai", "anion", "neg_ion", "negative_ion", "ions"},
                  {NULL}},
    [SIMQ_WTEMP] =
        {"water_temp", "c", 1, false, {"wtemp", "water_temp", "temp_w", "wt"}, {"w01010"}},
    [SIMQ_PH] = {"ph", "ph", 2, false, {"ph"}, {"w01001"}},
    [SIMQ_DO] = {"do", "mg/l", 2, true, {"do", "dox"}, {"w01009"}},
    [SIMQ_CODMN] = {"codmn", "mg/l", 2, true, {"codmn", "permanganate"}, {"w01019"}},
    [SIMQ_COD] = {"cod", "mg/l", 1, true, {"cod", "codcr"}, {"w01018"}},
    [SIMQ_NH3N] = {"nh3n", "mg/l", 3, true, {"nh3n", "nh3_n", "ammonia"}, {"w21003"}},
    [SIMQ_TP] = {"tp", "mg/l", 3, true, {"tp"}, {"w21011"}},
    [SIMQ_TN] = {"tn", "mg/l", 2, true, {"tn"}, {"w21001"}},
    [SIMQ_COND] = {"conductivity", "us/cm", 0, true, {"cond", "conductivity", "ec"}, {"w01014"}},
    [SIMQ_TURB] = {"turbidity", "ntu", 1, true, {"turb", "turbidity"}, {"w01003"}},
    [SIMQ_SAL] = {"salinity", "psu", 2, true, {"salinity", "sal"}, {"w01021"}},
    [SIMQ_DIN] = {"din", "mg/l", 3, true, {"din", "inorganic_n"}, {"w21030"}},
    [SIMQ_PO4] =
        {"po4", "mg/l", 4, true, {"po4", "phosphate", "active_phosphate", "po4p"}, {"w21012"}},
    [SIMQ_CHLA] = {"chla", "ug/l", 2, true, {"chla", "chl_a", "chlorophyll"}, {"w01016"}},
    [SIMQ_DUST] =
        {"dust", "mg/m3", 2, true, {"dust_stack", "dust", "smoke", "particulates"}, {"a34013"}},
    [SIMQ_O2] = {"o2", "%", 2, false, {"o2_stack", "o2"}, {"a19001"}},
    [SIMQ_GFLOW] =
        {"gas_flow", "m3/s", 1, true, {"flow_stack", "gas_flow", "flue_flow"}, {"a00000"}},
    [SIMQ_GTEMP] = {"flue_temp", "c", 1, false, {"temp_stack", "flue_temp"}, {"a01012"}},
    [SIMQ_GVEL] =
        {"flue_velocity", "m/s", 2, true, {"velocity_stack", "flue_velocity"}, {"a01011"}},
    [SIMQ_GPRESS] =
        {"flue_pressure", "kpa", 3, false, {"pressure_stack", "flue_pressure"}, {"a01013"}},
    [SIMQ_GHUM] = {"flue_humidity", "%", 1, false, {"humidity_stack", "flue_humidity"}, {"a01014"}},
    [SIMQ_WFLOW] = {"water_flow", "l/s", 2, true, {"flow", "water_flow", "flow_water"}, {"w00000"}},
    /* Stack gases share HJ 212 codes with ambient air: no code fallback. */
    [SIMQ_SO2S] = {"so2_stack", "mg/m3", 1, true, {"so2_stack", "so2_fg"}, {NULL}},
    [SIMQ_COS] = {"co_stack", "mg/m3", 1, true, {"co_stack", "co_fg"}, {NULL}},
    [SIMQ_NMHC] = {"nmhc", "mg/m3", 2, true, {"nmhc_stack", "nmhc"}, {"a24088"}},
    [SIMQ_CODSEA] = {"cod_sea", "mg/l", 2, true, {"cod_sea", "codmn_sea"}, {NULL}},
    [SIMQ_BOD5] = {"bod5", "mg/l", 1, true, {"bod5"}, {"w01017"}},
    [SIMQ_SS] = {"ss", "mg/l", 0, true, {"ss", "suspended_solids"}, {"w01012"}},
    [SIMQ_OIL] = {"oil", "mg/l", 3, true, {"oil", "petroleum"}, {"w22001"}},
};

/* What each kind measures, in message order. */
static const enum simmodel_q simmodel__air[] = {
    SIMQ_PM25,  SIMQ_PM10, SIMQ_SO2, SIMQ_NO2, SIMQ_CO,    SIMQ_O3,
    SIMQ_ATEMP, SIMQ_RH,   SIMQ_WS,  SIMQ_WD,  SIMQ_PRESS,
};
static const enum simmodel_q simmodel__noi[] = {SIMQ_NOI, SIMQ_ATEMP, SIMQ_RH};
static const enum simmodel_q simmodel__water[] = {
    SIMQ_WTEMP, SIMQ_PH, SIMQ_DO, SIMQ_COND, SIMQ_TURB, SIMQ_CODMN, SIMQ_NH3N, SIMQ_TP, SIMQ_TN,
};
static const enum simmodel_q simmodel__sea[] = {
    SIMQ_WTEMP, SIMQ_SAL,  SIMQ_PH,   SIMQ_DO,   SIMQ_CODSEA, SIMQ_DIN,
    SIMQ_PO4,   SIMQ_CHLA, SIMQ_COND, SIMQ_TURB, SIMQ_OIL,
};
static const enum simmodel_q simmodel__gas[] = {
    SIMQ_SO2S,  SIMQ_NOX,   SIMQ_DUST, SIMQ_COS,    SIMQ_NMHC, SIMQ_O2,
    SIMQ_GFLOW, SIMQ_GTEMP, SIMQ_GVEL, SIMQ_GPRESS, SIMQ_GHUM,
};
static const enum simmodel_q simmodel__wout[] = {SIMQ_COD, SIMQ_BOD5, SIMQ_NH3N, SIMQ_TP,   SIMQ_TN,
                                                 SIMQ_SS,  SIMQ_OIL,  SIMQ_PH,   SIMQ_WFLOW};
static const enum simmodel_q simmodel__mobile[] = {SIMQ_PM25, SIMQ_PM10, SIMQ_NO2,
                                                   SIMQ_SO2,  SIMQ_CO,   SIMQ_O3};

/* Per-site character, drawn once from the site's key. */
struct simmodel__char {
    double base;    /* overall level 0.75..1.25 */
    double traffic; /* weight of the traffic cycle */
    double coastal; /* 0.2..1 */
    double ship;    /* port/shipping SO2 influence 0..1 */
    double ratio;   /* PM2.5/PM10 centre */
    double u;       /* a free uniform for small offsets */
    double frac[4]; /* outlets: fraction of the limit per pollutant */
    double design;  /* outlets: design flow (m3/s gas, L/s water) */
    double noi_base;
    int cls;
};

struct simmodel {
    const struct simnet *net;
    uint64_t seed;
    struct simmodel_site *sites;
    struct simmodel__char *chars;
};

const char *simmodel_q_name(enum simmodel_q q)
{
    return (unsigned)q < SIMQ_N ? simmodel__q[q].name : "?";
}

/* ---- noise ------------------------------------------------------------ */

/* Knot value in (-1, 1), triangular: the sum of two uniforms keeps the
 * extremes rare without a transcendental call. */
static double simmodel__knot(uint64_t key, int64_t k)
{
    uint64_t h = simrng_mix2(key, (uint64_t)k);
    return simrng_hash_unit(h) + simrng_hash_unit(simrng_mix(h ^ 0x5bd1e995ULL)) - 1.0;
}

/* Smooth value noise of the given period: knots every period seconds,
 * joined with a smoothstep, so it has no kinks and is random-access. */
static double simmodel__noise(uint64_t key, double t_s, double period_s)
{
    double x = t_s / period_s, k = floor(x), f = x - k;
    double a = simmodel__knot(key, (int64_t)k), b = simmodel__knot(key, (int64_t)k + 1);
    return a + (b - a) * f * f * (3.0 - 2.0 * f);
}

/* Diurnal bump centred on hour c with width w hours, wrapping at midnight. */
static double simmodel__bump(double h, double c, double w)
{
    double d = fabs(h - c);
    if (d > 12)
        d = 24 - d;
    return exp(-0.5 * (d / w) * (d / w));
}

static double simmodel__clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static uint64_t simmodel__key(const struct simmodel *m, uint64_t site_key, unsigned tag)
{
    return simrng_mix2(simrng_mix2(m->seed, site_key), tag);
}

/* ---- binding ---------------------------------------------------------- */

static void simmodel__unit_norm(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    const unsigned char *s = (const unsigned char *)in;

    while (*s && n + 1 < cap) {
        if ((s[0] == 0xC2 && s[1] == 0xB5) || (s[0] == 0xCE && s[1] == 0xBC)) { /* µ, μ */
            out[n++] = 'u';
            s += 2;
        } else if (s[0] == 0xC2 && s[1] == 0xB3) { /* ³ */
            out[n++] = '3';
            s += 2;
        } else if (s[0] == 0xC2 && s[1] == 0xB0) { /* ° */
            s += 2;
        } else if (s[0] == 0xE2 && s[1] == 0x84 && s[2] == 0x83) { /* ℃ */
            out[n++] = 'c';
            s += 3;
        } else if (*s == ' ') {
            s++;
        } else {
            out[n++] = (char)tolower(*s++);
        }
    }
    out[n] = '\0';
}

/* Factor from the model's unit to the registry's. Unknown pairs are taken
 * as the same unit: the clamp to the valid range then keeps values sane. */
static double simmodel__scale(const char *model_unit, const char *param_unit)
{
    static const struct {
        const char *from, *to;
        double f;
    } conv[] = {
        {"ug/m3", "mg/m3", 1e-3}, {"mg/m3", "ug/m3", 1e3}, {"m3/s", "m3/h", 3600},
        {"m3/s", "m3/min", 60},   {"l/s", "m3/h", 3.6},    {"l/s", "m3/s", 1e-3},
        {"l/s", "m3/d", 86.4},    {"l/s", "t/h", 3.6},     {"kpa", "pa", 1e3},
        {"kpa", "hpa", 10},       {"mg/l", "ug/l", 1e3},   {"ug/l", "mg/l", 1e-3},
        {"mg/l", "mg/m3", 1e3},   {"psu", "‰", 1},         {"ions/cm3", "个/cm3", 1},
    };
    char u[32];

    simmodel__unit_norm(param_unit, u, sizeof(u));
    if (strcmp(u, model_unit) == 0 || !*u)
        return 1;
    for (size_t i = 0; i < sizeof(conv) / sizeof(conv[0]); i++)
        if (strcmp(conv[i].from, model_unit) == 0 && strcmp(conv[i].to, u) == 0)
            return conv[i].f;
    return 1;
}

static int simmodel__find_param(const struct simnet *net, enum simmodel_q q)
{
    const struct simmodel__qdef *d = &simmodel__q[q];
    for (int i = 0; i < 6 && d->codes[i]; i++) {
        int p = simnet_param_find(net, d->codes[i]);
        if (p >= 0)
            return p;
    }
    for (int i = 0; i < 3 && d->hj212[i]; i++)
        for (size_t p = 0; p < net->nparams; p++)
            if (strcmp(net->params[p].hj212, d->hj212[i]) == 0)
                return (int)p;
    return -1;
}

/* 10^d for the digits after the point a channel has (0..6). */
static const double simmodel__p10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};

/* Headline emission limits in the model's unit, used when limits.csv has
 * none: ultra-low emission for coal units (SO2 35, NOx 50, dust 10 mg/m3)
 * and direct discharge of petrochemical wastewater (COD 60, NH3-N 8, TP 1,
 * TN 40 mg/L); see docs/SIMULATOR.md and the spec's confidence notes. */
static double simmodel__default_limit(enum simnet_kind kind, enum simmodel_q q)
{
    if (kind == SIMNET_GAS_OUTLET) {
        switch (q) {
        case SIMQ_SO2S:
            return 35;
        case SIMQ_NOX:
            return 50;
        case SIMQ_DUST:
            return 10;
        case SIMQ_NMHC:
            return 60;
        default:
            return NAN;
        }
    }
    if (kind == SIMNET_WATER_OUTLET) {
        switch (q) {
        case SIMQ_COD:
            return 60;
        case SIMQ_NH3N:
            return 8;
        case SIMQ_TP:
            return 1;
        case SIMQ_TN:
            return 40;
        case SIMQ_BOD5:
            return 20;
        case SIMQ_SS:
            return 70;
        case SIMQ_OIL:
            return 5;
        default:
            return NAN;
        }
    }
    return NAN;
}

static void simmodel__bind(struct simmodel *m, int s, int *mobile_no)
{
    const struct simnet *net = m->net;
    const struct simnet_site *site = &net->sites[s];
    struct simmodel_site *ms = &m->sites[s];
    struct simmodel__char *c = &m->chars[s];
    const enum simmodel_q *list = NULL;
    size_t n = 0;
    struct simrng r;

#define SIMMODEL_LIST(a) (list = (a), n = sizeof(a) / sizeof((a)[0]))
    switch (site->kind) {
    case SIMNET_AIR:
        SIMMODEL_LIST(simmodel__air);
        break;
    case SIMNET_NOI:
        SIMMODEL_LIST(simmodel__noi);
        break;
    case SIMNET_WATER:
        SIMMODEL_LIST(simmodel__water);
        break;
    case SIMNET_SEA:
        SIMMODEL_LIST(simmodel__sea);
        break;
    case SIMNET_GAS_OUTLET:
        SIMMODEL_LIST(simmodel__gas);
        break;
    case SIMNET_WATER_OUTLET:
        SIMMODEL_LIST(simmodel__wout);
        break;
    case SIMNET_MOBILE:
        SIMMODEL_LIST(simmodel__mobile);
        break;
    case SIMNET_NKINDS:
        break;
    }
#undef SIMMODEL_LIST
    for (size_t i = 0; i < n && ms->nchans < SIMMODEL_CHANS_MAX; i++) {
        const struct simmodel__qdef *d = &simmodel__q[list[i]];
        struct simmodel_chan *ch;
        const char *unit;
        int p = simmodel__find_param(net, list[i]), dec;
        double lim;

        if (p < 0 || simmodel_chan_of_param(m, s, p) >= 0)
            continue;
        ch = &ms->chans[ms->nchans++];
        ch->param = p;
        ch->q = list[i];
        unit = d->unit;
        ch->scale = simmodel__scale(unit, net->params[p].unit);
        ch->concentration = d->concentration;
        ch->circular = list[i] == SIMQ_WD;
        dec = d->decimals - (int)lround(log10(ch->scale));
        ch->decimals = dec < 0 ? 0 : dec > 6 ? 6 : dec;
        if (!simnet_limit_upper(net, s, p, SIMNET_HOUR, &lim))
            ch->limit = lim;
        else
            ch->limit = simmodel__default_limit(site->kind, list[i]) * ch->scale;
    }

    /* The site's character: a stream seeded from (seed, site) so it never
     * depends on which other sites exist. */
    simrng_seed(&r, simmodel__key(m, site->key, 0xC4A2));
    c->base = simrng_range(&r, 0.75, 1.25);
    c->traffic = simrng_range(&r, 0.6, 1.4);
    c->ship = simrng_unit(&r);
    c->ratio = simrng_range(&r, 0.56, 0.64);
    c->u = simrng_unit(&r);
    for (int i = 0; i < 4; i++)
        c->frac[i] = simrng_range(&r, 0.35, 0.65);
    c->design =
        site->kind == SIMNET_GAS_OUTLET ? simrng_range(&r, 40, 200) : simrng_range(&r, 10, 80);
    c->noi_base = simrng_range(&r, 900, 2600);
    if (strstr(site->name, "waterfall") || strstr(site->name, "Waterfall") ||
        strstr(site->name, "forest") || strstr(site->name, "Forest") ||
        strstr(site->name, "\xE7\x80\x91\xE5\xB8\x83") /* 瀑布 */ ||
        strstr(site->name, "\xE6\xA3\xAE\xE6\x9E\x97") /* 森林 */)
        c->noi_base *= 1.8;
    c->cls = site->target_class;
    c->coastal = 0.6;
    if (site->has_pos) {
        double d = simnet_dist_m(site->lon, site->lat, SIMMODEL_ISLAND_LON, SIMMODEL_ISLAND_LAT);
        c->coastal = simmodel__clamp(d / 12000.0, 0.2, 1.0);
    }
    if (site->kind == SIMNET_MOBILE) {
        ms->route = (*mobile_no)++ % SIMROUTE_COUNT;
        simroute_plan(ms->route, site->key, &ms->plan);
    }
}

int simmodel_new(const struct simnet *net, uint64_t seed, struct simmodel **out)
{
    struct simmodel *m = calloc(1, sizeof(*m));
    int mobile_no = 0;

    if (!m)
        return -ENOMEM;
    m->net = net;
    m->seed = seed;
    m->sites = calloc(net->nsites ? net->nsites : 1, sizeof(*m->sites));
    m->chars = calloc(net->nsites ? net->nsites : 1, sizeof(*m->chars));
    if (!m->sites || !m->chars) {
        simmodel_free(m);
        return -ENOMEM;
    }
    for (size_t s = 0; s < net->nsites; s++)
        simmodel__bind(m, (int)s, &mobile_no);
    *out = m;
    return 0;
}

void simmodel_free(struct simmodel *m)
{
    if (!m)
        return;
    free(m->sites);
    free(m->chars);
    free(m);
}

const struct simmodel_site *simmodel_site(const struct simmodel *m, int site)
{
    return &m->sites[site];
}

int simmodel_chan_of_param(const struct simmodel *m, int site, int param)
{
    const struct simmodel_site *ms = &m->sites[site];
    for (int i = 0; i < ms->nchans; i++)
        if (ms->chans[i].param == param)
            return i;
    return -1;
}

double simmodel_round(const struct simmodel_chan *c, double v)
{
    double f = simmodel__p10[c->decimals], r = round(v * f) / f;
    return r == 0 ? 0.0 : r; /* no "-0" on the wire */
}

/* ---- environment ------------------------------------------------------ */

/* Rain signal: a fast and a slow component; wetter in summer. */
static double simmodel__rain_raw(const struct simmodel *m, double t_s, double summer)
{
    uint64_t k = simrng_mix2(m->seed, 0x7A1);
    return 0.65 * simmodel__noise(k, t_s, 9 * 3600.0) +
           0.35 * simmodel__noise(k ^ 0x99, t_s, 2.5 * 86400.0) + 0.08 * summer;
}

void simmodel_env(const struct simmodel *m, int64_t t_us, struct simmodel_env *e)
{
    double t_s = (double)t_us / ETIME_US_PER_SEC;
    double local_s = t_s + ETIME_BEIJING_OFFSET, days = local_s / 86400.0;
    double phase = SIMMODEL_TWO_PI * (days - SIMMODEL_Y2K_D) / SIMMODEL_YEAR_D;
    double day_frac = SIMMODEL_TWO_PI / SIMMODEL_YEAR_D, wet = -1;
    uint64_t kw = simrng_mix2(m->seed, 0x3E61);
    int64_t dnum = (int64_t)floor(days), dow = ((dnum + 4) % 7 + 7) % 7; /* 1970-01-01: Thu */
    double summer;

    e->t_us = t_us;
    e->tick = (int64_t)floor(t_s);
    e->hour = fmod(local_s / 3600.0, 24.0);
    if (e->hour < 0)
        e->hour += 24;
    e->winter = cos(phase - 15 * day_frac);
    summer = -e->winter;
    e->o3season = 0.65 + 0.35 * cos(phase - 140 * day_frac);
    e->plume = fmax(0, cos(phase - 200 * day_frac));
    e->summer_sea = cos(phase - 225 * day_frac);
    e->summer_water = cos(phase - 210 * day_frac);
    e->regime = 0.7 * simmodel__noise(kw, t_s, 3.5 * 86400.0) +
                0.3 * simmodel__noise(kw ^ 0x1, t_s, 86400.0);
    e->stagnation = exp(0.9 * e->regime);
    e->rain = simmodel__clamp((simmodel__rain_raw(m, t_s, summer) - 0.3) / 0.4, 0, 1);
    /* "After rain": the wettest of the last ten hours. */
    for (int h = 2; h <= 10; h += 4)
        wet = fmax(wet, simmodel__rain_raw(m, t_s - h * 3600.0, summer));
    e->wet = simmodel__clamp((wet - 0.2) / 0.4, 0, 1);
    /* Monsoon: winter from the NNW, summer from the SSE. */
    e->wind_from_deg =
        fmod(240 + 90 * e->winter + 70 * simmodel__noise(kw ^ 0x2, t_s, 20 * 3600.0) + 720, 360);
    e->wind_ms =
        simmodel__clamp(4.5 - 2.0 * e->regime + 1.5 * simmodel__noise(kw ^ 0x3, t_s, 8 * 3600.0) +
                            1.0 * simmodel__bump(e->hour, 15, 3),
                        0.3, 20);
    e->air_temp = 16.8 - 10.5 * e->winter + 3.0 * (simmodel__bump(e->hour, 14.5, 4) - 0.4) +
                  2.5 * simmodel__noise(kw ^ 0x4, t_s, 2 * 86400.0) - 2 * e->rain;
    e->rh =
        simmodel__clamp(75 - 5 * e->winter + 15 * e->rain - 12 * simmodel__bump(e->hour, 14, 4) +
                            6 * simmodel__noise(kw ^ 0x5, t_s, 12 * 3600.0),
                        25, 100);
    /* the semidiurnal atmospheric tide (about 1 hPa at 30 degrees north,
     * highest near 10:00 and 22:00): the barometer is never still for
     * long, even in a calm spell */
    e->pressure_kpa = 101.3 + 0.9 * e->winter + 0.5 * e->regime +
                      0.09 * cos(SIMMODEL_TWO_PI * (e->hour - 10) / 12.0);
    e->tide = sin(SIMMODEL_TWO_PI * t_s / (12.4206 * 3600.0));
    e->weekend = dow == 0 || dow == 6;
}

/* ---- per kind --------------------------------------------------------- */

/* The per-quantity noise a site adds on top of the shared weather. */
struct simmodel__n {
    const struct simmodel *m;
    uint64_t key;
    double t_s;
    int64_t tick;
};

static double simmodel__slow(const struct simmodel__n *n, unsigned tag, double period_s)
{
    return simmodel__noise(simrng_mix2(n->key, tag), n->t_s, period_s);
}

/* Local variation: hours-long swings plus a faster component. */
static double simmodel__local(const struct simmodel__n *n, unsigned tag)
{
    return 0.6 * simmodel__slow(n, tag, 3 * 3600.0) + 0.4 * simmodel__slow(n, tag + 1000, 2700);
}

/* Sample-to-sample jitter (instrument noise). */
static double simmodel__white(const struct simmodel__n *n, unsigned tag)
{
    return simmodel__knot(simrng_mix2(n->key, tag + 2000), n->tick);
}

/* All ambient quantities at once: they share the weather, the traffic
 * cycle and each other (PM2.5 from PM10, O3 titrated by NO2). */
static void simmodel__air_all(const struct simmodel__n *n, const struct simmodel__char *c,
                              const struct simmodel_env *e, bool road, double *q)
{
    double h = e->hour, a = e->stagnation;
    double traffic = 1 + 0.8 * simmodel__bump(h, 8, 1.4) + 0.65 * simmodel__bump(h, 18.5, 1.8) -
                     0.3 * simmodel__bump(h, 3.5, 2);
    double mixing = 1 - 0.3 * simmodel__bump(h, 14, 3);
    double breeze = 1 - 0.18 * c->coastal * simmodel__bump(h, 15, 2.5) * (e->wind_ms < 6 ? 1 : 0.3);
    double wash = 1 - 0.45 * e->rain;
    double tw = c->traffic * (road ? 1.3 : 1);
    double winter = e->winter, r, photo;

    q[SIMQ_PM10] = 46 * c->base * a * (1 + 0.38 * winter) * (1 + 0.15 * tw * (traffic - 1)) *
                   mixing * breeze * wash * (1 + 0.18 * simmodel__local(n, 1)) *
                   (1 + 0.04 * simmodel__white(n, 1)) * (road ? 1.1 : 1);
    q[SIMQ_NO2] = 22 * c->base * pow(a, 0.8) * (1 + 0.3 * winter) * (1 + tw * (traffic - 1)) *
                  mixing * breeze * (1 + 0.15 * simmodel__local(n, 3)) *
                  (1 + 0.05 * simmodel__white(n, 3)) * (road ? 1.35 : 1);
    r = simmodel__clamp(
        c->ratio + 0.05 * simmodel__slow(n, 2, 18 * 3600.0) + 0.04 * (e->rh - 75) / 25, 0.5, 0.7);
    q[SIMQ_PM25] = q[SIMQ_PM10] * r * (1 + 0.02 * simmodel__white(n, 2));
    q[SIMQ_CO] = 0.55 * c->base * pow(a, 0.7) * (1 + 0.3 * winter) *
                 (1 + 0.5 * tw * (traffic - 1)) * mixing * (1 + 0.1 * simmodel__local(n, 4)) *
                 (1 + 0.04 * simmodel__white(n, 4)) * (road ? 1.2 : 1);
    q[SIMQ_SO2] = 6 * c->base * a * (1 + 0.4 * winter) *
                  (1 + 0.6 * c->ship * fmax(0, simmodel__local(n, 5) + 0.3)) *
                  (1 + 0.05 * simmodel__white(n, 5));
    photo = 120 * e->o3season * simmodel__bump(h, 15, 3.2) * (1 - 0.7 * e->rain) *
            (1 + 0.3 * e->regime);
    q[SIMQ_O3] = fmax(2, ((38 + photo) * (1 + 0.1 * simmodel__local(n, 6)) -
                          0.55 * (q[SIMQ_NO2] - 22 * c->base) + 8 * c->coastal) *
                             (1 + 0.03 * simmodel__white(n, 6)));
    q[SIMQ_ATEMP] = e->air_temp - 0.5 * c->coastal + 0.2 * simmodel__white(n, 7);
    q[SIMQ_RH] = simmodel__clamp(e->rh + 3 * c->coastal + simmodel__white(n, 8), 20, 100);
    /* gusts and lulls: an hour's mean wind differs from the next by a
     * tenth or so, which the minute jitter alone would average away */
    q[SIMQ_WS] = fmax(0.1, e->wind_ms * (0.8 + 0.4 * c->coastal) *
                               (1 + 0.12 * simmodel__slow(n, 12, 3600.0)) *
                               (1 + 0.15 * simmodel__white(n, 9)));
    /* A vane's hourly mean meanders around the synoptic direction (eddies
     * of tens of minutes, wider in light wind): it rarely repeats an hour's
     * whole degree, which the minute jitter alone would average away. */
    q[SIMQ_WD] =
        fmod(e->wind_from_deg + (30 + 45 / (1 + e->wind_ms)) * simmodel__slow(n, 10, 1800.0) +
                 15 * simmodel__white(n, 10) + 720,
             360);
    q[SIMQ_PRESS] = e->pressure_kpa + 0.02 * simmodel__white(n, 11);
}

static double simmodel__noi_ions(const struct simmodel__n *n, const struct simmodel__char *c,
                                 const struct simmodel_env *e)
{
    return fmax(
        50, c->noi_base *
                (1 + 0.35 * simmodel__bump(e->hour, 6, 3) - 0.2 * simmodel__bump(e->hour, 14, 3)) *
                (1 + 1.6 * e->wet + 0.6 * e->rain) * (1 - 0.25 * e->winter) *
                (1 + 0.2 * simmodel__local(n, 20)) * (1 + 0.05 * simmodel__white(n, 20)));
}

/* GB 3838 class limits (I..V), index 1..5. */
static const double simmodel__codmn_lim[6] = {4, 2, 4, 6, 10, 15};
static const double simmodel__nh3n_lim[6] = {0.5, 0.15, 0.5, 1.0, 1.5, 2.0};
static const double simmodel__tp_lim[6] = {0.1, 0.02, 0.1, 0.2, 0.3, 0.4};
static const double simmodel__tn_lim[6] = {0.5, 0.2, 0.5, 1.0, 1.5, 2.0};

/* Dissolved-oxygen saturation of fresh water (mg/L) at t degrees C. */
static double simmodel__do_sat(double t)
{
    return 14.62 - 0.3898 * t + 0.006969 * t * t - 0.00005897 * t * t * t;
}

static double simmodel__water_temp(const struct simmodel__n *n, const struct simmodel_env *e)
{
    return 18.5 + 10 * e->summer_water + 1.0 * (simmodel__bump(e->hour, 15, 3.5) - 0.35) +
           0.6 * simmodel__slow(n, 30, 2 * 86400.0);
}

/* A water quantity's class limit: the site's own for its target class
 * when limits.csv has one (a reservoir's lake column for TP and TN), else
 * GB 3838's river column from the table. */
static double simmodel__class_lim(const struct simmodel_chan *ch, const double table[6], int cls)
{
    return isfinite(ch->limit) && ch->limit > 0 ? ch->limit / ch->scale : table[cls];
}

static double simmodel__water_q(const struct simmodel__n *n, const struct simmodel__char *c,
                                const struct simmodel_env *e, const struct simmodel_chan *ch)
{
    enum simmodel_q q = ch->q;
    int cls = c->cls >= 1 && c->cls <= 5 ? c->cls : 3;
    double day = simmodel__bump(e->hour, 15, 3.5) - 0.35;
    double jit = 1 + 0.03 * simmodel__white(n, 31 + q);

    switch (q) {
    case SIMQ_WTEMP:
        return simmodel__water_temp(n, e) + 0.05 * simmodel__white(n, 31);
    case SIMQ_DO: {
        double t = simmodel__water_temp(n, e);
        return fmax(0.5, simmodel__do_sat(t) * (0.92 - 0.05 * (cls - 1)) + 0.7 * day -
                             0.5 * e->wet + 0.3 * simmodel__slow(n, 32, 86400.0)) *
               jit;
    }
    case SIMQ_PH:
        return 7.35 + 0.25 * c->u + 0.12 * day + 0.08 * simmodel__slow(n, 33, 2 * 86400.0) +
               0.01 * simmodel__white(n, 33);
    case SIMQ_CODMN:
        return simmodel__class_lim(ch, simmodel__codmn_lim, cls) * 0.62 * (1 + 0.25 * e->wet) *
               (1 + 0.12 * simmodel__slow(n, 34, 1.5 * 86400.0)) * jit;
    case SIMQ_NH3N:
        return simmodel__class_lim(ch, simmodel__nh3n_lim, cls) * 0.5 * (1 + 0.3 * e->winter) *
               (1 + 0.5 * e->wet) * (1 + 0.15 * simmodel__slow(n, 35, 86400.0)) * jit;
    case SIMQ_TP:
        return simmodel__class_lim(ch, simmodel__tp_lim, cls) * 0.55 * (1 + 0.6 * e->wet) *
               (1 + 0.15 * simmodel__slow(n, 36, 86400.0)) * jit;
    case SIMQ_TN:
        return simmodel__class_lim(ch, simmodel__tn_lim, cls) * 0.7 * (1 + 0.2 * e->winter) *
               (1 + 0.3 * e->wet) * (1 + 0.1 * simmodel__slow(n, 37, 2 * 86400.0)) * jit;
    case SIMQ_COND:
        return fmax(50, 350 + 150 * c->u + 40 * simmodel__slow(n, 38, 86400.0) - 80 * e->wet) * jit;
    case SIMQ_TURB:
        return fmax(1, 15 + 20 * c->u + 40 * e->wet + 5 * simmodel__slow(n, 39, 6 * 3600.0)) * jit;
    default:
        return 0;
    }
}

static double simmodel__sea_q(const struct simmodel__n *n, const struct simmodel__char *c,
                              const struct simmodel_env *e, enum simmodel_q q)
{
    double jit = 1 + 0.02 * simmodel__white(n, 51 + q);
    double temp = 18.3 + 9 * e->summer_sea + 0.3 * (simmodel__bump(e->hour, 15, 4) - 0.4) +
                  0.3 * e->tide + 0.4 * simmodel__slow(n, 50, 2 * 86400.0);
    double sal =
        29 - 4 * e->plume - 2 * c->u + 0.8 * e->tide + 0.6 * simmodel__slow(n, 52, 2 * 86400.0);

    switch (q) {
    case SIMQ_WTEMP:
        return temp + 0.05 * simmodel__white(n, 51);
    case SIMQ_SAL:
        return fmax(5, sal) + 0.02 * simmodel__white(n, 52);
    case SIMQ_PH:
        return 8.08 + 0.06 * simmodel__slow(n, 53, 86400.0) - 0.05 * e->plume +
               0.03 * (simmodel__bump(e->hour, 15, 4) - 0.4) + 0.005 * simmodel__white(n, 53);
    case SIMQ_DO:
        return fmax(1, simmodel__do_sat(temp) * (1 - 0.0055 * sal) * 0.97 +
                           0.3 * simmodel__slow(n, 54, 86400.0)) *
               jit;
    case SIMQ_CODSEA:
        return (1.1 + 0.4 * c->u + 0.3 * e->plume + 0.15 * simmodel__slow(n, 55, 86400.0)) * jit;
    case SIMQ_COND: /* seawater: about 1.5 mS/cm per PSU at these temperatures */
        return fmax(5, sal) * 1500 * (1 + 0.02 * (temp - 20)) * jit;
    case SIMQ_OIL:
        return fmax(0.002, 0.015 + 0.01 * c->u + 0.006 * simmodel__slow(n, 60, 86400.0)) * jit;
    case SIMQ_DIN:
        return fmax(0.05, 0.30 + 0.25 * e->plume + 0.15 * c->u - 0.03 * e->tide +
                              0.05 * simmodel__slow(n, 56, 86400.0)) *
               jit;
    case SIMQ_PO4:
        return fmax(0.003, 0.020 + 0.012 * e->plume + 0.008 * c->u +
                               0.003 * simmodel__slow(n, 57, 86400.0)) *
               jit;
    case SIMQ_CHLA:
        return fmax(0.2, 1.5 + 3 * fmax(0, e->summer_sea) * (1 + simmodel__slow(n, 58, 86400.0)) +
                             0.8 * simmodel__bump(e->hour, 14, 3)) *
               jit;
    case SIMQ_TURB:
        return fmax(2, 45 + 25 * c->u + 15 * fabs(e->tide) + 10 * simmodel__slow(n, 59, 86400.0)) *
               jit;
    default:
        return 0;
    }
}

/* Plant load 0.4..1.05: day shift high, small hours low, weekends lower. */
static double simmodel__load(const struct simmodel__n *n, const struct simmodel_env *e, bool water)
{
    double h = e->hour;
    if (water)
        return simmodel__clamp(0.7 + 0.2 * simmodel__bump(h, 11, 4) +
                                   0.1 * simmodel__bump(h, 16, 3) - 0.1 * e->weekend +
                                   0.08 * simmodel__slow(n, 70, 5 * 3600.0),
                               0.3, 1.05);
    return simmodel__clamp(0.78 + 0.14 * simmodel__bump(h, 11, 4.5) +
                               0.06 * simmodel__bump(h, 19, 2) - 0.08 * e->weekend -
                               0.12 * simmodel__bump(h, 3, 2.5) +
                               0.07 * simmodel__slow(n, 70, 5 * 3600.0),
                           0.4, 1.05);
}

/* A pollutant at an outlet: a fraction of its limit that rises with load,
 * with a soft cap below the limit (treatment works harder near it). */
static double simmodel__below_limit(const struct simmodel__n *n, double lim, double frac,
                                    double load, unsigned tag)
{
    double v = lim * frac * (0.8 + 0.35 * (load - 0.6)) *
               (1 + 0.1 * simmodel__slow(n, tag, 2 * 3600.0)) *
               (1 + 0.04 * simmodel__white(n, tag));
    double cap = 0.93 * lim;
    return v < 0.8 * cap ? v : 0.8 * cap + 0.2 * cap * tanh((v - 0.8 * cap) / (0.2 * cap));
}

static double simmodel__gas_q(const struct simmodel__n *n, const struct simmodel__char *c,
                              double load, const struct simmodel_chan *ch)
{
    double lim = isnan(ch->limit) ? NAN : ch->limit / ch->scale;

    switch (ch->q) {
    case SIMQ_SO2S:
        return simmodel__below_limit(n, isnan(lim) ? 35 : lim, c->frac[0], load, 71);
    case SIMQ_COS: /* combustion quality: more CO at low load */
        return (8 + 20 * c->u) * (1.4 - 0.5 * load) * (1 + 0.2 * simmodel__local(n, 80)) *
               (1 + 0.05 * simmodel__white(n, 80));
    case SIMQ_NMHC:
        return simmodel__below_limit(n, isnan(lim) ? 60 : lim, c->frac[3] * 0.5, load, 79);
    case SIMQ_NOX:
        return simmodel__below_limit(n, isnan(lim) ? 50 : lim, c->frac[1] + 0.1, load, 72);
    case SIMQ_DUST:
        return simmodel__below_limit(n, isnan(lim) ? 10 : lim, c->frac[2], load, 73);
    case SIMQ_O2:
        return 6.0 + 3.5 * (1 - load) + 0.3 * simmodel__slow(n, 74, 3600.0) +
               0.05 * simmodel__white(n, 74);
    case SIMQ_GFLOW:
        return c->design * load * (1 + 0.02 * simmodel__white(n, 75));
    case SIMQ_GTEMP:
        return 46 + 6 * load + 0.8 * simmodel__slow(n, 76, 3600.0);
    case SIMQ_GVEL:
        return (9 + 5 * load) * (1 + 0.02 * simmodel__white(n, 77));
    case SIMQ_GPRESS:
        return -0.2 + 0.1 * simmodel__slow(n, 78, 3600.0);
    case SIMQ_GHUM:
        return 9 + 2 * load + 0.5 * simmodel__slow(n, 78, 7200.0);
    default:
        return 0;
    }
}

static double simmodel__wout_q(const struct simmodel__n *n, const struct simmodel__char *c,
                               double load, const struct simmodel_chan *ch)
{
    double lim = isnan(ch->limit) ? NAN : ch->limit / ch->scale;

    switch (ch->q) {
    case SIMQ_COD:
        return simmodel__below_limit(n, isnan(lim) ? 60 : lim, c->frac[0], load, 81);
    case SIMQ_NH3N:
        return simmodel__below_limit(n, isnan(lim) ? 8 : lim, c->frac[1] * 0.6, load, 82);
    case SIMQ_TP:
        return simmodel__below_limit(n, isnan(lim) ? 1 : lim, c->frac[2], load, 83);
    case SIMQ_TN:
        return simmodel__below_limit(n, isnan(lim) ? 40 : lim, c->frac[3], load, 84);
    case SIMQ_BOD5:
        return simmodel__below_limit(n, isnan(lim) ? 20 : lim, c->frac[0] * 0.8, load, 87);
    case SIMQ_SS:
        return simmodel__below_limit(n, isnan(lim) ? 70 : lim, c->frac[1], load, 88);
    case SIMQ_OIL:
        return simmodel__below_limit(n, isnan(lim) ? 5 : lim, c->frac[2] * 0.5, load, 89);
    case SIMQ_PH:
        return 7.3 + 0.4 * simmodel__slow(n, 85, 4 * 3600.0) + 0.02 * simmodel__white(n, 85);
    case SIMQ_WFLOW:
        return c->design * load * (1 + 0.03 * simmodel__white(n, 86));
    default:
        return 0;
    }
}

/* An analyser's own error, on top of what it measures: three percent of a
 * concentration, four steps of the resolution of anything else (pH,
 * temperatures, pressure, wind), wandering over five and over sixty
 * minutes, so that part of it survives into the ten-minute and hourly
 * means. Without it the model's smooth quantities sat on one rounded value
 * for hours (a river's CODMn for twelve, a plant's pH for two), which a
 * working analyser's readings do not and a stuck one does. v is in the
 * channel's unit. */
static double simmodel__analyser(const struct simmodel__n *n, const struct simmodel_chan *ch, int i,
                                 double v)
{
    double err = simmodel__slow(n, 4000 + (unsigned)i, 300.0) +
                 simmodel__slow(n, 4100 + (unsigned)i, 3600.0);
    if (ch->concentration)
        return v * (1 + 0.03 * err);
    v += 4 / simmodel__p10[ch->decimals] * err;
    return ch->circular ? fmod(v + 360, 360) : v;
}

bool simmodel_sample(const struct simmodel *m, int site, const struct simmodel_env *e, double *v,
                     struct simroute_pos *pos)
{
    const struct simnet_site *s = &m->net->sites[site];
    const struct simmodel_site *ms = &m->sites[site];
    struct simmodel__char c = m->chars[site];
    struct simmodel__n n = {m, simmodel__key(m, s->key, 0x5A), (double)e->t_us / 1e6, e->tick};
    struct simroute_pos p;
    double air[SIMQ_N] = {0}, load = 1;

    if (s->kind == SIMNET_MOBILE) {
        simroute_pos(&ms->plan, e->t_us, &p);
        if (pos)
            *pos = p;
        if (!p.driving)
            return false;
        /* The vehicle sees the air where it is, not at a fixed site. */
        c.coastal = simmodel__clamp(
            simnet_dist_m(p.lon, p.lat, SIMMODEL_ISLAND_LON, SIMMODEL_ISLAND_LAT) / 12000.0, 0.2,
            1.0);
        c.base = 1.0;
    }
    if (s->kind == SIMNET_AIR || s->kind == SIMNET_MOBILE || s->kind == SIMNET_NOI) {
        simmodel__air_all(&n, &c, e, s->kind == SIMNET_MOBILE, air);
        if (s->kind == SIMNET_NOI)
            air[SIMQ_NOI] = simmodel__noi_ions(&n, &c, e);
    } else if (simnet_kind_is_outlet(s->kind)) {
        load = simmodel__load(&n, e, s->kind == SIMNET_WATER_OUTLET);
    }
    for (int i = 0; i < ms->nchans; i++) {
        const struct simmodel_chan *ch = &ms->chans[i];
        const struct simnet_param *par = &m->net->params[ch->param];
        double x = 0;

        switch (s->kind) {
        case SIMNET_AIR:
        case SIMNET_MOBILE:
        case SIMNET_NOI:
            x = air[ch->q];
            break;
        case SIMNET_WATER:
            x = simmodel__water_q(&n, &c, e, ch);
            break;
        case SIMNET_SEA:
            x = simmodel__sea_q(&n, &c, e, ch->q);
            break;
        case SIMNET_GAS_OUTLET:
            x = simmodel__gas_q(&n, &c, load, ch);
            break;
        case SIMNET_WATER_OUTLET:
            x = simmodel__wout_q(&n, &c, load, ch);
            break;
        case SIMNET_NKINDS:
            break;
        }
        x *= ch->scale;
        /* a vehicle reports its samples, each with its own jitter: there
         * is no mean for an analyser's error to survive into */
        if (s->kind != SIMNET_MOBILE)
            x = simmodel__analyser(&n, ch, i, x);
        v[i] = simmodel__clamp(x, par->vmin, par->vmax);
    }
    return true;
}
