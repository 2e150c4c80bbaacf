/* ecoctl: the command line for operators, dispatchers and departments.
 * `ecoctl <noun> <verb> [args]`; each noun lives in its own ctl_<noun>.c and
 * exports one entry point with this signature. Exit codes follow the
 * contract: 0 success, 1 refused request (or failure), 2 bad usage. */
#ifndef ECO_ECOCTL_H
#define ECO_ECOCTL_H

#include <stdbool.h>

enum { CTL_OK = 0, CTL_REFUSED = 1, CTL_USAGE = 2 };

struct ctl_opts {
    bool json;                                        /* --json: machine output on stdout */
    const char *pgdsn;                                /* ECO_PG_DSN (may be NULL when unset) */
    const char *mqtt_url, *mqtt_user, *mqtt_password; /* ECO_MQTT_* (may be NULL) */
    const char *mqtt_cafile;                          /* ECO_MQTT_CAFILE (may be NULL) */
    const char *broker_auth_dir, *broker_pid_file;    /* ECO_BROKER_* (may be NULL) */
};

/* argv[0] is the verb; argc counts from it. Global options are already
 * removed. Each returns CTL_OK, CTL_REFUSED or CTL_USAGE. */
int ctl_db(const struct ctl_opts *o, int argc, char **argv);
int ctl_registry(const struct ctl_opts *o, int argc, char **argv);
int ctl_import(const struct ctl_opts *o, int argc, char **argv);
int ctl_hj212(const struct ctl_opts *o, int argc, char **argv);
int ctl_status(const struct ctl_opts *o, int argc, char **argv);
int ctl_detect(const struct ctl_opts *o, int argc, char **argv);
int ctl_alarm(const struct ctl_opts *o, int argc, char **argv);
int ctl_user(const struct ctl_opts *o, int argc, char **argv);
int ctl_broker(const struct ctl_opts *o, int argc, char **argv);
int ctl_report(const struct ctl_opts *o, int argc, char **argv);
int ctl_gep(const struct ctl_opts *o, int argc, char **argv);
/* Through eco-dispatch over MQTT 5 (ctl_wo.c); ctl_alarm_ack_rpc is
 * `alarm ack` unless --db asks for the database. */
int ctl_wo(const struct ctl_opts *o, int argc, char **argv);
int ctl_complaint(const struct ctl_opts *o, int argc, char **argv);
int ctl_alarm_ack_rpc(const struct ctl_opts *o, int argc, char **argv);

/* Connects with ECO_PG_DSN (blocking: ecoctl is a CLI, not a loop service).
 * Prints the reason to stderr and returns NULL on failure. */
struct pg_conn;
struct pg_conn *ctl_pg_connect(const struct ctl_opts *o);

#endif
