/* simmodel: the "physics" of the simulator. For a site and an instant it
 * gives the values a healthy instrument would read, before any incident:
 *
 *   air         PM2.5/PM10 (ratio 0.5-0.7), SO2, NO2, CO with morning and
 *               evening traffic peaks, O3 with an afternoon photochemical
 *               peak and NO2 titration, multi-day weather regimes (a slow
 *               random walk: stagnation builds pollution, fronts clear it),
 *               rain washout, an afternoon sea breeze at coastal sites,
 *               winter-high seasons; optional met channels.
 *   noi         negative oxygen ions: thousands per cm3, high at dawn and
 *               after rain, higher at waterfall/forest sites.
 *   water       GB 3838 station set around the site's target class: water
 *               temperature (seasonal), DO anti-correlated with it, pH,
 *               CODMn, NH3-N, TP, TN (runoff after rain), conductivity,
 *               turbidity.
 *   sea         temperature, salinity with the M2 tide and the summer
 *               Changjiang plume, pH, DO, COD, DIN, phosphate, chl-a.
 *   gas_outlet  SO2, NOx, particulates near but below the limit, following
 *               a plant load cycle (day/night, weekends); O2, flow, flue
 *               temperature, velocity, pressure, humidity.
 *   water_outlet COD, NH3-N, TP, TN below the limit, pH, flow with load.
 *   mobile      the ambient air model at the vehicle's position plus road
 *               traffic (simroute gives the position).
 *
 * Every value is a pure function of (seed, site code, quantity, time):
 * smooth noise comes from hashed knots, not from a stream, so any instant
 * can be computed in any order and reruns are identical.
 *
 * A site measures the quantities its kind has AND the network's params.csv
 * holds (matched by code, then by HJ 212 code); others are skipped.
 * simmodel borrows the simnet, which must outlive it. Read-only after
 * simmodel_new, so thread-safe. */
#ifndef ECO_SIMMODEL_H
#define ECO_SIMMODEL_H

#include "simnet.h"
#include "simroute.h"

#include <stdbool.h>
#include <stdint.h>

/* Channels (measured quantities) per site at most. */
#define SIMMODEL_CHANS_MAX 24

enum simmodel_q {
    SIMQ_PM25,
    SIMQ_PM10,
    SIMQ_SO2,
    SIMQ_NO2,
    SIMQ_NOX,
    SIMQ_CO,
    SIMQ_O3,
    SIMQ_ATEMP,
    SIMQ_RH,
    SIMQ_WS,
    SIMQ_WD,
    SIMQ_PRESS,
    SIMQ_NOI,
    SIMQ_WTEMP,
    SIMQ_PH,
    SIMQ_DO,
    SIMQ_CODMN,
    SIMQ_COD,
    SIMQ_NH3N,
    SIMQ_TP,
    SIMQ_TN,
    SIMQ_COND,
    SIMQ_TURB,
    SIMQ_SAL,
    SIMQ_DIN,
    SIMQ_PO4,
    SIMQ_CHLA,
    SIMQ_DUST,
    SIMQ_O2,
    SIMQ_GFLOW,
    SIMQ_GTEMP,
    SIMQ_GVEL,
    SIMQ_GPRESS,
    SIMQ_GHUM,
    SIMQ_WFLOW,
    SIMQ_SO2S,   /* flue-gas SO2, mg/m3 */
    SIMQ_COS,    /* flue-gas CO */
    SIMQ_NMHC,   /* flue-gas non-methane hydrocarbons */
    SIMQ_CODSEA, /* seawater COD (alkaline permanganate) */
    SIMQ_BOD5,
    SIMQ_SS,
    SIMQ_OIL,
    SIMQ_N
};

/* One measured quantity of a site, bound to a network param. */
struct simmodel_chan {
    int param; /* index into net->params */
    enum simmodel_q q;
    double scale;       /* model unit -> the param's registered unit */
    int decimals;       /* digits after the point in the param's unit */
    double limit;       /* emission limit in the param's unit; NAN when none */
    bool concentration; /* a non-negative amount (negative values are faults) */
    bool circular;      /* an angle (wind direction): averaged as a vector */
};

struct simmodel_site {
    int nchans;
    struct simmodel_chan chans[SIMMODEL_CHANS_MAX];
    int route; /* mobiles: which route the vehicle drives */
    struct simroute_plan plan;
};

/* What all sites share at one instant: time of day, season, weather. */
struct simmodel_env {
    int64_t t_us;
    int64_t tick;        /* t in seconds, for white noise per sample */
    double hour;         /* Beijing local hour 0..24 */
    double winter;       /* +1 mid-January .. -1 mid-July */
    double o3season;     /* 0.3..1, high in late spring */
    double plume;        /* 0..1 summer Changjiang dilute water */
    double summer_sea;   /* sea temperature cycle, +1 in mid-August */
    double summer_water; /* river temperature cycle, +1 in late July */
    double regime;       /* weather regime, about -1 (clean front) .. +1 (stagnant) */
    double stagnation;   /* exp(k * regime) */
    double rain;         /* 0..1 raining now */
    double wet;          /* 0..1 rained in the last hours */
    double wind_from_deg, wind_ms;
    double air_temp, rh, pressure_kpa;
    double tide; /* -1..1, M2 */
    bool weekend;
};

struct simmodel;

/* Binds the network's sites to quantities and params. seed keys all
 * randomness. Returns 0, -ENOMEM. *out is owned by the caller. */
int simmodel_new(const struct simnet *net, uint64_t seed, struct simmodel **out);
void simmodel_free(struct simmodel *m);

const struct simmodel_site *simmodel_site(const struct simmodel *m, int site);

/* Fills env for instant t_us. */
void simmodel_env(const struct simmodel *m, int64_t t_us, struct simmodel_env *env);

/* Healthy readings of site at env's instant in each channel's param unit,
 * unrounded and inside the params' valid ranges, into v[0..nchans). For a
 * mobile, *pos (may be NULL) gets the vehicle position. Returns false when
 * the site does not measure now (a vehicle parked off duty). */
bool simmodel_sample(const struct simmodel *m, int site, const struct simmodel_env *env, double *v,
                     struct simroute_pos *pos);

/* Model quantity name, e.g. "pm25" (for logs and labels). */
const char *simmodel_q_name(enum simmodel_q q);

/* Index of the site's channel for param, or -1. */
int simmodel_chan_of_param(const struct simmodel *m, int site, int param);

/* Rounds v to the channel's decimals (what instruments and loggers send). */
double simmodel_round(const struct simmodel_chan *c, double v);

#endif
