/* gepsvc: the eco-gep service. Runs GEP accounts of the physical models on
 * request and publishes their results (docs/GEP.md, docs/CONTRACT.md):
 *   eco/v1/rpc/gep/run/{caller}  {"region", "year", "params"?}
 *       -> derives the inputs the system's data give (gep.derive_inputs),
 *          reads the parameter set and inputs (gep.model_inputs), values
 *          them (gepmodel), stores the run (gep.store_models_run), and
 *          answers {"ok": true, "run", "topic", "summary"} or
 *          {"ok": false, "error"} (a refusal names the price or
 *          coefficient without value or source);
 *   eco/v1/gep/{region}/{year}   retained: the run's summary with the
 *                                indicators (gep.run_summary);
 *   eco/v1/sys/gep/{instance}    retained status with counters.
 * Requests are taken one at a time in arrival order (a bounded queue; a
 * full queue answers "busy"). Instances split requests through a shared
 * subscription.
 *
 * Threading: everything on the loop thread (a run's arithmetic takes
 * milliseconds). */
#ifndef ECO_GEPSVC_H
#define ECO_GEPSVC_H

#include "cfg.h"

#include <stdint.h>
#include <uv.h>

struct gepsvc_conf {
    char mqtt_url[CFG_STR_MAX];
    char mqtt_user[CFG_STR_MAX];
    char mqtt_password[CFG_STR_MAX];
    char mqtt_cafile[CFG_STR_MAX];
    char pg_dsn[CFG_STR_MAX];
    char instance[CFG_STR_MAX];
    char share_group[CFG_STR_MAX];
    char log_level[CFG_STR_MAX];
    char param_set[CFG_STR_MAX];
    int64_t status_s;
    int64_t drain_s;
};

extern const struct cfg_prog gepsvc_prog;

struct gepsvc;

/* conf is borrowed and must outlive the service. Returns 0 or -ENOMEM. */
int gepsvc_new(uv_loop_t *loop, const struct gepsvc_conf *conf, struct gepsvc **out);
int gepsvc_start(struct gepsvc *g);
/* Stops taking requests, lets the run in hand finish (up to
 * ECO_GEP_DRAIN_S), answers the waiting ones "stopping" and closes;
 * done(arg) runs once every handle is closed. */
void gepsvc_stop(struct gepsvc *g, void (*done)(void *arg), void *arg);
void gepsvc_free(struct gepsvc *g);
int gepsvc_exit_code(const struct gepsvc *g);

#endif
