/* simrun: runs a simulation on a libuv loop. It paces the simulated clock
 * (speed = simulated seconds per wall second, 0 = as fast as the output
 * takes it), moves messages from simgen to simout one at a time (a full
 * output window stops generation until acknowledgements come back: that is
 * the backpressure, nothing is dropped), logs progress, stops cleanly on
 * SIGTERM/SIGINT (waits for outstanding acknowledgements up to a deadline;
 * a second signal exits at once) and logs a summary.
 *
 * Owns its loop, generator and transport; borrows net and the options. */
#ifndef ECO_SIMRUN_H
#define ECO_SIMRUN_H

#include "simgen.h"
#include "simnet.h"
#include "simout.h"

#include <stdint.h>

struct simrun_opts {
    int64_t speed;         /* 0: as fast as possible */
    int drain_timeout_s;   /* for acknowledgements at the end */
    int connect_timeout_s; /* for the broker at the start */
};

/* Counts of a finished run (for the summary and tests). */
struct simrun_result {
    uint64_t msgs[SIMNET_NKINDS][SIMNET_NPERIODS];
    uint64_t readings[SIMNET_NKINDS][SIMNET_NPERIODS];
    uint64_t messages, values, send_errors;
    double wall_s;
    bool finished; /* the whole range was generated */
    bool drained;  /* everything acknowledged */
    bool signalled;
};

/* Runs to the end of the range or a signal. Returns the process exit
 * status: 0 (done, or stopped by a signal), 1 (failure: the broker never
 * answered, acknowledgements missing at the end, a fatal error). res may be
 * NULL. */
int simrun(const struct simnet *net, const struct simgen_opts *g, const struct simout_opts *o,
           const struct simrun_opts *r, struct simrun_result *res);

#endif
