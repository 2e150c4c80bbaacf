/* siminc: labelled incidents. Before the run, a Poisson process with the
 * requested rate (per simulated day) over [from, to) picks incident kinds,
 * targets, times and sizes from the seed; during the run simgen asks which
 * are active and lets them alter the values; each incident is labelled as
 * one JSON line when the simulated clock reaches its start.
 *
 * Kinds (the label's "kind"):
 *   exceedance     an outlet's pollutant at 1.5-3x its emission limit
 *   plume          a pollution plume from a point source: air stations get
 *                  PM/SO2/NO2/CO added by distance (near-field) and along
 *                  the wind (the front drifts downwind)
 *   river          NH3-N (and CODMn/COD, TP) jump at a water station and
 *                  decay; reaches the nearest other water station within
 *                  25 km later and weaker (its own label, "parent")
 *   flatline       a stuck sensor: one channel repeats its last value
 *   spike          one reported value (one window of the device's finest
 *                  period) multiplied 4-10x
 *   negative       one reported value of a concentration below zero
 *   flag           a channel flagged D (fault), M (maintenance) or C
 *                  (calibration), HJ 212-2017 Table 8, with odd values
 *   offline        the site sends nothing for a while
 *   mobile_source  a hidden source near a vehicle route: the vehicle's
 *                  readings rise as it passes
 *
 * Instrument incidents (flatline .. offline) and exceedances are aligned to
 * the windows of the device's finest reporting period, so their effect is
 * exactly visible in the reported values and the label's start/end are
 * window boundaries. Incidents on one site never overlap (plumes aside).
 *
 * A struct siminc_set owns its incidents; it borrows net and model. Not
 * thread-safe (flatline holds are captured during the run). */
#ifndef ECO_SIMINC_H
#define ECO_SIMINC_H

#include "simmodel.h"
#include "simnet.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bound on the incidents of one run (rate x days beyond it are refused). */
#define SIMINC_MAX 20000

enum siminc_kind {
    SIMINC_EXCEEDANCE,
    SIMINC_PLUME,
    SIMINC_RIVER,
    SIMINC_FLATLINE,
    SIMINC_SPIKE,
    SIMINC_NEGATIVE,
    SIMINC_FLAG,
    SIMINC_OFFLINE,
    SIMINC_MOBILE_SOURCE,
    SIMINC_NKINDS
};

struct siminc {
    int id; /* from 1, in order of start */
    enum siminc_kind kind;
    int site; /* target (plume: the site it affects most) */
    int chan; /* channel of the site, -1 for none */
    int64_t start_us, end_us;
    double factor;                 /* exceedance (x limit), spike (x value), river (peak x) */
    double value;                  /* negative: the value; flatline: the hold */
    bool hold_set;                 /* flatline: value captured */
    char flag;                     /* flag kind: 'D', 'M' or 'C' */
    double lon, lat;               /* plume / mobile_source: the source */
    double wind_from_deg, wind_ms; /* plume */
    double amplitude;              /* plume / mobile_source: PM2.5 added at weight 1, ug/m3 */
    double sigma_m;                /* mobile_source: width */
    double tau_s;                  /* river: decay time */
    int parent;                    /* river downstream: id of the origin; 0 otherwise */
    double delay_s;                /* river downstream: travel time */
    int seq;                       /* order of planning (internal: ties, parents) */
};

struct siminc_opts {
    uint64_t seed;
    int64_t from_us, to_us;
    double per_day; /* mean incidents per simulated day; 0: none */
    unsigned kinds; /* bit (1u << kind) per allowed kind; 0: all */
    /* Length of the finest reporting window per site kind (microseconds);
     * 0 for a kind that is not simulated. Day windows are Beijing days. */
    int64_t finest_us[SIMNET_NKINDS];
    const bool *site_on; /* per site: has a simulated device (borrowed) */
};

struct siminc_set;

/* Plans the incidents of [o->from_us, o->to_us). Returns 0, -ENOMEM,
 * -E2BIG (more than SIMINC_MAX expected: lower the rate or the range). */
int siminc_plan(const struct simnet *net, const struct simmodel *model, const struct siminc_opts *o,
                struct siminc_set **out);
void siminc_free(struct siminc_set *s);

/* Plans further, up to `to` (for runs without an end: simgen plans a day
 * ahead). The arrivals continue the same random stream. Returns 0,
 * -ENOMEM, -E2BIG (SIMINC_MAX reached). */
int siminc_extend(struct siminc_set *s, int64_t to);

/* All planned incidents, sorted by start. */
size_t siminc_count(const struct siminc_set *s);
const struct siminc *siminc_get(const struct siminc_set *s, size_t i);

/* Moves the clock to t_us (non-decreasing): updates the active list and
 * returns, through started and nstarted, the incidents that start at or
 * before t_us and were not returned before (pointers valid until the set
 * is freed). */
void siminc_advance(struct siminc_set *s, int64_t t_us, const struct siminc *const **started,
                    size_t *nstarted);

/* Physical effects at the current instant on site's healthy values v (in
 * param units, per channel); pos is the vehicle position for mobiles (may
 * be NULL). Results stay within the params' valid ranges. */
void siminc_physical(const struct siminc_set *s, int site, int64_t t_us,
                     const struct simroute_pos *pos, double *v);

/* Instrument effects: returns true when the site is offline (no sample).
 * Otherwise may replace values in v and set flags[chan] (0 = normal);
 * last[chan] is the previous reported value of each channel (NAN if none),
 * used for holds. These may leave the valid range on purpose. */
bool siminc_instrument(struct siminc_set *s, int site, int64_t t_us, const double *last, double *v,
                       char *flags);

/* The label of inc as one JSON object without newline, malloc'd into *out
 * (free with cJSON_free). Returns 0 or -ENOMEM. */
int siminc_label(const struct siminc_set *s, const struct siminc *inc, char **out);

const char *siminc_kind_name(enum siminc_kind k);
/* Parses a kind name. Returns 0 or -EINVAL. */
int siminc_kind_parse(const char *name, enum siminc_kind *out);

#endif
