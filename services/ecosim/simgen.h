/* simgen: the generator. Steps a simulated clock in real-time ticks; at each
 * tick it samples every simulated site (simmodel), lets the incidents act
 * (siminc), rounds the values as an instrument would, and turns them into
 * readings messages for each device:
 *
 *   rt    one message per tick (the tick's sample, ts = the tick)
 *   min   the mean of the rt samples of each min_m-minute window
 *   hour  the mean of the rt samples of the hour
 *   day   the mean of the day's hourly values (Beijing day)
 *
 * An aggregate carries the window start as ts and is produced when the
 * window closes; it needs 75 % of its samples (45 minutes of an hour) or
 * 20 hourly values (a day), as GB 3095 asks for valid statistics, so
 * outages and the partial windows at the ends of a run produce nothing.
 * Its flag is N when at least 75 % of the samples were N, otherwise the
 * most frequent other flag (the HJ 212-2017 flue-gas rule).
 *
 * Messages are produced one at a time in a fixed order (tick, then device
 * order of devices.csv, then min/hour/day/rt), so a seed always gives the
 * same stream. Labels of incidents are written to opts.labels as JSON
 * lines when the clock reaches their start.
 *
 * simgen borrows net (and the labels FILE); it owns its model and incident
 * set. Memory is bounded by the network size. Not thread-safe. */
#ifndef ECO_SIMGEN_H
#define ECO_SIMGEN_H

#include "siminc.h"
#include "simmodel.h"
#include "simnet.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* A run without an end. */
#define SIMGEN_FOREVER INT64_MAX

struct simgen_opts {
    uint64_t seed;
    int64_t from_us, to_us; /* [from, to); to may be SIMGEN_FOREVER */
    int rt_s;               /* tick, 1..3600 s, dividing min_m minutes */
    int min_m;              /* minute-data window, 1..30, dividing 60 */
    /* Per site kind, the periods to emit as bits (1u << enum simnet_period);
     * 0 leaves the kind out of the run. */
    unsigned periods[SIMNET_NKINDS];
    double incidents_per_day;
    unsigned incident_kinds; /* bits (1u << enum siminc_kind); 0: all */
    FILE *labels;            /* borrowed; NULL: labels are not written */
};

struct simgen_val {
    int param;         /* index into net->params */
    double v;          /* rounded to the param's decimals */
    double vmin, vmax; /* over the window (= v for rt) */
    char flag;         /* HJ 212 data flag; 0 for normal (N) */
};

struct simgen_msg {
    int device; /* index into net->devices */
    enum simnet_period period;
    int64_t ts_us; /* sample time (rt) or window start */
    int64_t at_us; /* simulated time the message is due */
    int nvals;
    struct simgen_val vals[SIMMODEL_CHANS_MAX];
    bool has_pos; /* mobiles: where the vehicle was */
    double lon, lat;
};

struct simgen_stats {
    uint64_t ticks;
    uint64_t samples;                  /* site samples taken */
    uint64_t incidents[SIMINC_NKINDS]; /* labelled so far */
    uint64_t label_errors;             /* labels that could not be written */
};

struct simgen;

/* Validates o and sets the generator up (plans incidents). Returns 0,
 * -EINVAL (bad intervals or range; *why says which), -ENOMEM, -E2BIG (too
 * many incidents). */
int simgen_new(const struct simnet *net, const struct simgen_opts *o, struct simgen **out,
               const char **why);
void simgen_free(struct simgen *g);

/* Produces the next message due at or before simulated time until_us.
 * Returns 1 with *msg (valid until the next call), 0 when nothing more is
 * due by until_us (or the run is over: see simgen_done), or a negative
 * errno from incident planning. */
int simgen_next(struct simgen *g, int64_t until_us, const struct simgen_msg **msg);

/* The simulated time of the next tick (when more messages may come). */
int64_t simgen_clock(const struct simgen *g);

/* True when the range is finished and every message was taken. */
bool simgen_done(const struct simgen *g);

const struct simgen_stats *simgen_stats(const struct simgen *g);
const struct simmodel *simgen_model(const struct simgen *g);
const struct siminc_set *simgen_incidents(const struct simgen *g);

/* Finest period of a kind's mask as a window length in seconds (0: none). */
int64_t simgen_finest_s(const struct simgen_opts *o, enum simnet_kind k);

#endif
