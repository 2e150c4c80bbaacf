#include "simcfg.h"

#include "etime.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define SIMCFG_F(field) offsetof(struct simcfg, field)

static const struct cfg_def simcfg__defs[] = {
    {"ECO_MQTT_URL", CFG_STR, "mqtt://127.0.0.1:1883", 1, 0, SIMCFG_F(mqtt_url), "MQTT broker URL"},
    {"ECO_MQTT_USER", CFG_STR, "", 0, 0, SIMCFG_F(mqtt_user), "MQTT user (e.g. sim)"},
    {"ECO_MQTT_PASSWORD", CFG_SECRET, "", 0, 0, SIMCFG_F(mqtt_password), "MQTT password"},
    {"ECO_MQTT_CAFILE", CFG_STR, "", 0, 0, SIMCFG_F(mqtt_cafile),
     "PEM CA bundle that signed the broker's certificate (mqtts://); empty: the system's"},
    {"ECO_SIM_NETWORK", CFG_STR, "deploy/sample", 1, 0, SIMCFG_F(network),
     "directory with sites.csv, devices.csv, params.csv (--network)"},
    {"ECO_SIM_SEED", CFG_INT, "1", 0, INT64_MAX, SIMCFG_F(seed),
     "random seed: same seed, same values and incidents (--seed)"},
    {"ECO_SIM_SPEED", CFG_INT, "1", 0, 10000000, SIMCFG_F(speed),
     "simulated seconds per wall second; 0 = as fast as possible (--speed)"},
    {"ECO_SIM_FROM", CFG_STR, "", 0, 0, SIMCFG_F(from),
     "start: RFC 3339, YYYY-MM-DD (Beijing) or 'now'; default: now, or 24 h before --to with "
     "speed 0 (--from)"},
    {"ECO_SIM_TO", CFG_STR, "", 0, 0, SIMCFG_F(to),
     "end (exclusive), same forms; default: none, or the current hour with speed 0 (--to)"},
    {"ECO_SIM_INCIDENTS", CFG_STR, "0", 1, 0, SIMCFG_F(incidents),
     "labelled incidents per simulated day, e.g. 6 or 0.5 (--incidents)"},
    {"ECO_SIM_INCIDENT_KINDS", CFG_STR, "", 0, 0, SIMCFG_F(incident_kinds),
     "comma list of incident kinds to use; empty = all (--incident-kinds)"},
    {"ECO_SIM_LABELS", CFG_STR, "", 0, 0, SIMCFG_F(labels),
     "file for incident labels, JSON lines; empty = none (--labels)"},
    {"ECO_SIM_STDOUT", CFG_BOOL, "false", 0, 0, SIMCFG_F(out_stdout),
     "print 'topic TAB payload' lines instead of publishing (--stdout, --dry-run)"},
    {"ECO_SIM_HJ212_ADDR", CFG_ADDR, "", 0, 0, SIMCFG_F(hj212),
     "HJ 212 gateway host:port; hj212 devices use it instead of MQTT (--hj212)"},
    {"ECO_SIM_HJ212_ACK", CFG_BOOL, "true", 0, 0, SIMCFG_F(hj212_ack),
     "ask the gateway for 9014 answers (Flag=5) (--no-hj212-ack)"},
    {"ECO_SIM_RT_INTERVAL", CFG_INT, "30", 1, 3600, SIMCFG_F(rt_interval),
     "real-time sample interval, seconds, dividing an hour (--rt-interval)"},
    {"ECO_SIM_MIN_INTERVAL", CFG_INT, "10", 1, 30, SIMCFG_F(min_interval),
     "minute-data (CN 2051) window, minutes, dividing an hour (--min-interval)"},
    {"ECO_SIM_PERIODS_STATION", CFG_STR, "hour,day", 0, 0, SIMCFG_F(periods_station),
     "periods of air, noi, water and sea stations (--periods-station)"},
    {"ECO_SIM_PERIODS_OUTLET", CFG_STR, "min,hour,day", 0, 0, SIMCFG_F(periods_outlet),
     "periods of gas and water outlets (--periods-outlet)"},
    {"ECO_SIM_PERIODS_MOBILE", CFG_STR, "rt", 0, 0, SIMCFG_F(periods_mobile),
     "periods of mobile vehicles (--periods-mobile)"},
    {"ECO_SIM_KINDS", CFG_STR, "", 0, 0, SIMCFG_F(kinds),
     "comma list of site kinds to simulate; empty = all (--kinds)"},
    {"ECO_SIM_WINDOW", CFG_INT, "1000", 1, 65000, SIMCFG_F(window),
     "QoS 1 publishes awaiting acknowledgement (--window)"},
    {"ECO_SIM_DRAIN_TIMEOUT", CFG_INT, "10", 0, 3600, SIMCFG_F(drain_timeout),
     "seconds to wait for outstanding acknowledgements at the end (--drain-timeout)"},
    {"ECO_SIM_CONNECT_TIMEOUT", CFG_INT, "30", 1, 3600, SIMCFG_F(connect_timeout),
     "seconds to wait for the broker at start (--connect-timeout)"},
    {"ECO_SIM_LOG_LEVEL", CFG_STR, "info", 1, 0, SIMCFG_F(log_level),
     "debug, info, warn or error (--log-level)"},
    {"ECO_SIM_INSTANCE", CFG_STR, "main", 1, 64, SIMCFG_F(instance),
     "instance name in eco/v1/sys/ecosim/{instance} (--instance)"},
};

static const struct cfg_prog simcfg__prog = {
    "ecosim",
    "simulator of the sample monitoring network, with labelled incidents",
    simcfg__defs,
    sizeof(simcfg__defs) / sizeof(simcfg__defs[0]),
};

const struct cfg_prog *simcfg_prog(void)
{
    return &simcfg__prog;
}

/* Flags are another way to set a setting: each names its variable. */
struct simcfg__flag {
    const char *flag;
    const char *env;
    const char *value; /* fixed value for switches; NULL: takes an argument */
    const char *arg;   /* argument name for --help */
};

static const struct simcfg__flag simcfg__flags[] = {
    {"--network", "ECO_SIM_NETWORK", NULL, "DIR"},
    {"--seed", "ECO_SIM_SEED", NULL, "N"},
    {"--speed", "ECO_SIM_SPEED", NULL, "N"},
    {"--from", "ECO_SIM_FROM", NULL, "TIME"},
    {"--to", "ECO_SIM_TO", NULL, "TIME"},
    {"--incidents", "ECO_SIM_INCIDENTS", NULL, "RATE"},
    {"--incident-kinds", "ECO_SIM_INCIDENT_KINDS", NULL, "LIST"},
    {"--labels", "ECO_SIM_LABELS", NULL, "FILE"},
    {"--stdout", "ECO_SIM_STDOUT", "true", NULL},
    {"--dry-run", "ECO_SIM_STDOUT", "true", NULL},
    {"--hj212", "ECO_SIM_HJ212_ADDR", NULL, "HOST:PORT"},
    {"--no-hj212-ack", "ECO_SIM_HJ212_ACK", "false", NULL},
    {"--rt-interval", "ECO_SIM_RT_INTERVAL", NULL, "SECONDS"},
    {"--min-interval", "ECO_SIM_MIN_INTERVAL", NULL, "MINUTES"},
    {"--periods-station", "ECO_SIM_PERIODS_STATION", NULL, "LIST"},
    {"--periods-outlet", "ECO_SIM_PERIODS_OUTLET", NULL, "LIST"},
    {"--periods-mobile", "ECO_SIM_PERIODS_MOBILE", NULL, "LIST"},
    {"--kinds", "ECO_SIM_KINDS", NULL, "LIST"},
    {"--window", "ECO_SIM_WINDOW", NULL, "N"},
    {"--drain-timeout", "ECO_SIM_DRAIN_TIMEOUT", NULL, "SECONDS"},
    {"--connect-timeout", "ECO_SIM_CONNECT_TIMEOUT", NULL, "SECONDS"},
    {"--log-level", "ECO_SIM_LOG_LEVEL", NULL, "LEVEL"},
    {"--mqtt-url", "ECO_MQTT_URL", NULL, "URL"},
    {"--mqtt-user", "ECO_MQTT_USER", NULL, "USER"},
    {"--instance", "ECO_SIM_INSTANCE", NULL, "NAME"},
};
#define SIMCFG_NFLAGS (sizeof(simcfg__flags) / sizeof(simcfg__flags[0]))

void simcfg_help(FILE *out)
{
    fprintf(out, "Usage: ecosim [FLAGS] [--config FILE]\n\n"
                 "Flags (each sets the setting named on its right):\n");
    for (size_t i = 0; i < SIMCFG_NFLAGS; i++) {
        char left[64];
        snprintf(left, sizeof(left), "%s%s%s", simcfg__flags[i].flag,
                 simcfg__flags[i].arg ? " " : "", simcfg__flags[i].arg ? simcfg__flags[i].arg : "");
        fprintf(out, "  %-30s %s%s%s\n", left, simcfg__flags[i].env,
                simcfg__flags[i].value ? "=" : "",
                simcfg__flags[i].value ? simcfg__flags[i].value : "");
    }
    fprintf(out, "  %-30s %s\n", "--config FILE", "NAME=VALUE lines");
    fprintf(out, "  %-30s %s\n", "--help, --version", "");
    fprintf(out, "\nPeriods: rt, min, hour, day. Site kinds: air, noi, water, sea, gas_outlet,\n"
                 "water_outlet, mobile. Incident kinds: exceedance, plume, river, flatline,\n"
                 "spike, negative, flag, offline, mobile_source.\n"
                 "Times: RFC 3339 (2024-06-01T00:00:00+08:00), a Beijing date (2024-06-01),\n"
                 "a Beijing time without offset (2024-06-01T08:00:00) or 'now'.\n\n");
    cfg_help(&simcfg__prog, out);
}

int simcfg_load(int argc, char **argv, struct simcfg *c)
{
    char *rest[64];
    int nrest = 0, rc;

    rest[nrest++] = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *eq = strchr(a, '=');
        size_t alen = eq ? (size_t)(eq - a) : strlen(a);
        const struct simcfg__flag *f = NULL;

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            simcfg_help(stdout);
            return 1;
        }
        for (size_t k = 0; k < SIMCFG_NFLAGS; k++)
            if (strlen(simcfg__flags[k].flag) == alen &&
                strncmp(simcfg__flags[k].flag, a, alen) == 0)
                f = &simcfg__flags[k];
        if (!f) {
            /* --config, --version and anything unknown: cfg_main decides. */
            if (nrest >= (int)(sizeof(rest) / sizeof(rest[0])) - 1) {
                fprintf(stderr, "ecosim: too many arguments\n");
                return 2;
            }
            rest[nrest++] = argv[i];
            continue;
        }
        if (f->value) {
            if (eq) {
                fprintf(stderr, "ecosim: %s takes no value\n", f->flag);
                return 2;
            }
            rc = setenv(f->env, f->value, 1);
        } else if (eq) {
            rc = setenv(f->env, eq + 1, 1);
        } else if (i + 1 < argc) {
            rc = setenv(f->env, argv[++i], 1);
        } else {
            fprintf(stderr, "ecosim: %s needs a value (try --help)\n", f->flag);
            return 2;
        }
        if (rc) {
            fprintf(stderr, "ecosim: cannot set %s\n", f->env);
            return 2;
        }
    }
    rest[nrest] = NULL;
    rc = cfg_main(&simcfg__prog, nrest, rest, c);
    return rc == 1 ? 1 : rc < 0 ? 2 : 0;
}

/* Parses "rt,hour" into period bits. */
static int simcfg__periods(const char *s, unsigned *mask)
{
    char buf[CFG_STR_MAX], *save = NULL, *tok;

    *mask = 0;
    snprintf(buf, sizeof(buf), "%s", s);
    for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        enum simnet_period p;
        if (simnet_period_parse(tok, &p))
            return -EINVAL;
        *mask |= 1u << p;
    }
    return 0;
}

/* RFC 3339; for convenience also "now", a date ("2024-06-01", Beijing
 * midnight) and a local time without offset (read as Beijing time). */
static int simcfg__time(const char *s, int64_t now_us, int64_t *out)
{
    char buf[64];
    size_t n = strlen(s);

    if (strcmp(s, "now") == 0) {
        *out = now_us;
        return 0;
    }
    if (n == 10)
        snprintf(buf, sizeof(buf), "%sT00:00:00+08:00", s);
    else if (n == 19)
        snprintf(buf, sizeof(buf), "%s+08:00", s);
    else
        snprintf(buf, sizeof(buf), "%.63s", s);
    return etime_parse_rfc3339(buf, strlen(buf), out, NULL);
}

int simcfg_gen_opts(const struct simcfg *c, int64_t now_us, struct simgen_opts *g, char *err,
                    size_t errcap)
{
    const int64_t hour = 3600 * ETIME_US_PER_SEC, day = 24 * hour;
    char buf[CFG_STR_MAX], *save = NULL, *tok, *end;
    unsigned st, outl, mob, kinds = 0;
    bool has_from = c->from[0], has_to = c->to[0];

    memset(g, 0, sizeof(*g));
    g->seed = (uint64_t)c->seed;
    g->rt_s = (int)c->rt_interval;
    g->min_m = (int)c->min_interval;
    if ((has_from && simcfg__time(c->from, now_us, &g->from_us)) ||
        (has_to && simcfg__time(c->to, now_us, &g->to_us))) {
        snprintf(err, errcap, "ECO_SIM_FROM/ECO_SIM_TO: expected RFC 3339, YYYY-MM-DD or 'now'");
        return -EINVAL;
    }
    if (c->speed == 0) {
        /* Backfill: a finished stretch of the past. */
        if (!has_to)
            g->to_us = has_from ? g->from_us + day : now_us - now_us % hour;
        if (!has_from)
            g->from_us = g->to_us - day;
    } else {
        if (!has_from)
            g->from_us = now_us;
        if (!has_to)
            g->to_us = SIMGEN_FOREVER;
    }
    errno = 0;
    g->incidents_per_day = strtod(c->incidents, &end);
    if (errno || *end || end == c->incidents || !isfinite(g->incidents_per_day) ||
        g->incidents_per_day < 0) {
        snprintf(err, errcap, "ECO_SIM_INCIDENTS: expected a number >= 0, got \"%s\"",
                 c->incidents);
        return -EINVAL;
    }
    snprintf(buf, sizeof(buf), "%s", c->incident_kinds);
    for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        enum siminc_kind k;
        if (siminc_kind_parse(tok, &k)) {
            snprintf(err, errcap, "ECO_SIM_INCIDENT_KINDS: unknown kind \"%s\"", tok);
            return -EINVAL;
        }
        g->incident_kinds |= 1u << k;
    }
    if (simcfg__periods(c->periods_station, &st) || simcfg__periods(c->periods_outlet, &outl) ||
        simcfg__periods(c->periods_mobile, &mob)) {
        snprintf(err, errcap, "ECO_SIM_PERIODS_*: expected a comma list of rt, min, hour, day");
        return -EINVAL;
    }
    save = NULL;
    snprintf(buf, sizeof(buf), "%s", c->kinds);
    for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        enum simnet_kind k;
        if (simnet_kind_parse(tok, &k)) {
            snprintf(err, errcap, "ECO_SIM_KINDS: unknown site kind \"%s\"", tok);
            return -EINVAL;
        }
        kinds |= 1u << k;
    }
    for (int k = 0; k < SIMNET_NKINDS; k++) {
        unsigned m = k == SIMNET_MOBILE                           ? mob
                     : simnet_kind_is_outlet((enum simnet_kind)k) ? outl
                                                                  : st;
        g->periods[k] = (!kinds || (kinds & (1u << k))) ? m : 0;
    }
    return 0;
}

void simcfg_out_opts(const struct simcfg *c, FILE *out, struct simout_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->out = c->out_stdout ? out : NULL;
    o->mqtt_url = c->mqtt_url;
    o->mqtt_user = c->mqtt_user;
    o->mqtt_password = c->mqtt_password;
    o->mqtt_cafile = c->mqtt_cafile;
    o->instance = c->instance;
    o->window = (int)c->window;
    o->hj212_addr = c->hj212;
    o->hj212_ack = c->hj212_ack;
}
