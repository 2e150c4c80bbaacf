/* simcfg: ecosim's settings. One cfg table (libshared/cfg.h) with the
 * environment names ECO_MQTT_* and ECO_SIM_*, plus command-line flags that
 * set the same settings (a flag wins over the environment, which wins over
 * --config FILE), and the step that turns the text settings into the
 * options of the generator, the transport and the run loop.
 *
 * Not thread-safe (flags are applied through the process environment); call
 * once from main. */
#ifndef ECO_SIMCFG_H
#define ECO_SIMCFG_H

#include "cfg.h"
#include "simgen.h"
#include "simout.h"

#include <stdint.h>
#include <stdio.h>

struct simcfg {
    char mqtt_url[CFG_STR_MAX];
    char mqtt_user[CFG_STR_MAX];
    char mqtt_password[CFG_STR_MAX];
    char mqtt_cafile[CFG_STR_MAX];
    char network[CFG_STR_MAX];
    int64_t seed;
    int64_t speed;
    char from[CFG_STR_MAX];
    char to[CFG_STR_MAX];
    char incidents[CFG_STR_MAX];
    char incident_kinds[CFG_STR_MAX];
    char labels[CFG_STR_MAX];
    int out_stdout;
    char hj212[CFG_STR_MAX];
    int hj212_ack;
    int64_t rt_interval;
    int64_t min_interval;
    char periods_station[CFG_STR_MAX];
    char periods_outlet[CFG_STR_MAX];
    char periods_mobile[CFG_STR_MAX];
    char kinds[CFG_STR_MAX];
    int64_t window;
    int64_t drain_timeout;
    int64_t connect_timeout;
    char log_level[CFG_STR_MAX];
    char instance[CFG_STR_MAX];
};

/* The settings table (static storage). */
const struct cfg_prog *simcfg_prog(void);

/* Reads flags, --config, the environment and the defaults into c. Returns
 * 0 to run, 1 when --help or --version was printed (exit 0), 2 on bad usage
 * or a bad setting (reason printed on stderr). */
int simcfg_load(int argc, char **argv, struct simcfg *c);

/* Derives the generator's options: the simulated range (defaults: with
 * speed 0 the 24 hours up to the current hour; otherwise from now on,
 * without end), the incident rate and kinds, periods and site kinds.
 * now_us is the wall clock. Returns 0, or -EINVAL with a reason in err. */
int simcfg_gen_opts(const struct simcfg *c, int64_t now_us, struct simgen_opts *g, char *err,
                    size_t errcap);

/* The transport options; strings point into c (which must outlive them). */
void simcfg_out_opts(const struct simcfg *c, FILE *out, struct simout_opts *o);

/* Prints the flags and the settings table. */
void simcfg_help(FILE *out);

#endif
