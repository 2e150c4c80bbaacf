/* detect: the eco-detect service. Consumes eco/v1/obs/+ (its share of the
 * sites), runs the rules (engine), stores alarm transitions through
 * alarm.apply() and publishes those that took effect on
 * eco/v1/alarm/{site}/{param}. On start it loads the registry and the open
 * alarms, then re-runs the rules over the recent stored history (the
 * warm-up) before it reads the live stream, so a restart neither forgets a
 * baseline nor raises an open alarm again, and nothing stored while it was
 * away goes unexamined.
 *
 * Threading: everything on the loop thread. */
#ifndef ECO_DETECT_H
#define ECO_DETECT_H

#include "cfg.h"

#include <stdint.h>
#include <uv.h>

struct detect_conf {
    char mqtt_url[CFG_STR_MAX];
    char mqtt_user[CFG_STR_MAX];
    char mqtt_password[CFG_STR_MAX];
    char mqtt_cafile[CFG_STR_MAX];
    char pg_dsn[CFG_STR_MAX];
    char instance[CFG_STR_MAX];
    char partition[CFG_STR_MAX];
    char log_level[CFG_STR_MAX];
    int64_t max_series;
    int64_t max_payload;
    int64_t warmup_samples;
    int64_t warmup_max_days;
    int64_t reload_s;
    int64_t status_s;
    int64_t max_pending;
    int64_t drain_s;
    int64_t apply_batch;
    int64_t apply_conns;
};

extern const struct cfg_prog detect_prog;

struct detect;

/* conf is borrowed and must outlive the service. Returns 0, -EINVAL (a bad
 * setting, logged) or -ENOMEM. */
int detect_new(uv_loop_t *loop, const struct detect_conf *conf, struct detect **out);
int detect_start(struct detect *d);
/* Stops reading, stores what is pending (up to ECO_DETECT_DRAIN_S), closes
 * the clients; done(arg) runs once every handle is closed. */
void detect_stop(struct detect *d, void (*done)(void *arg), void *arg);
void detect_free(struct detect *d);
int detect_exit_code(const struct detect *d);

/* "i/n" -> part i of n (0 <= i < n <= 1024). Returns 0 or -EINVAL. */
int detect_parse_partition(const char *s, int *part, int *nparts);

#endif
