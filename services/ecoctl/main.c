/* ecoctl entry point: global options, then dispatch on the noun. */
#include "ecoctl.h"

#include "elog.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ctl_noun {
    const char *name;
    int (*run)(const struct ctl_opts *, int, char **);
    const char *help;
};

static const struct ctl_noun ctl__nouns[] = {
    {"db", ctl_db, "db migrate [--status]         apply schema migrations (idempotent)"},
    {"registry", ctl_registry, "registry load DIR              load regions, sites, devices, ..."},
    {"import", ctl_import, "import readings FILE.csv      publish lab results as readings"},
    {"hj212", ctl_hj212, "hj212 check [FILE]            check HJ 212 frames, one per line"},
    {"status", ctl_status, "status                         services, counts, latest data"},
    {"detect", ctl_detect, "detect replay --from T --to T  run the rules over stored readings"},
    {"alarm", ctl_alarm, "alarm list|ack ...             alarms: list, acknowledge"},
    {"wo", ctl_wo, "wo list|show|create|accept|... work orders, through eco-dispatch"},
    {"complaint", ctl_complaint, "complaint submit ...           record a public complaint"},
    {"user", ctl_user, "user add|list|passwd|disable|role  personal broker accounts"},
    {"report", ctl_report, "report daily|monthly [PERIOD]|layers  reports and map layers"},
    {"broker", ctl_broker, "broker sync                    render the broker's accounts, reload"},
    {"gep", ctl_gep,
     "gep run|show ...               GEP accounts: run an account file, show a run"},
};

static void ctl__usage(FILE *out)
{
    fprintf(out, "Usage: ecoctl [--json] <noun> <verb> [args]\n\n");
    for (size_t i = 0; i < sizeof(ctl__nouns) / sizeof(ctl__nouns[0]); i++)
        fprintf(out, "  ecoctl %s\n", ctl__nouns[i].help);
    fprintf(out, "\nSettings: ECO_PG_DSN, ECO_MQTT_URL (mqtt:// or mqtts://), ECO_MQTT_USER,\n"
                 "ECO_MQTT_PASSWORD, ECO_MQTT_CAFILE (mqtts: the CA that signed the broker),\n"
                 "ECO_BROKER_AUTH_DIR, ECO_BROKER_PID_FILE.\n"
                 "Exit status: 0 success, 1 refused or failed, 2 bad usage.\n");
}

struct pg_conn *ctl_pg_connect(const struct ctl_opts *o)
{
    PGconn *c;
    if (!o->pgdsn || !*o->pgdsn) {
        fprintf(stderr, "ecoctl: ECO_PG_DSN is not set\n");
        return NULL;
    }
    c = PQconnectdb(o->pgdsn);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "ecoctl: cannot connect to PostgreSQL: %s", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    /* Keep server notices (e.g. "already exists, skipping") off the user's
     * terminal unless asked for. */
    PQclear(PQexec(c, "SET client_min_messages = warning"));
    return c;
}

int main(int argc, char **argv)
{
    struct ctl_opts o = {0};
    int i = 1;

    elog_init("ecoctl", ELOG_WARN);
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            o.json = true;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            ctl__usage(stdout);
            return CTL_OK;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("ecoctl %s\n", ECO_VERSION);
            return CTL_OK;
        } else {
            fprintf(stderr, "ecoctl: unknown option %s\n", argv[i]);
            return CTL_USAGE;
        }
    }
    if (i >= argc) {
        ctl__usage(stderr);
        return CTL_USAGE;
    }
    o.pgdsn = getenv("ECO_PG_DSN");
    o.mqtt_url = getenv("ECO_MQTT_URL");
    o.mqtt_user = getenv("ECO_MQTT_USER");
    o.mqtt_password = getenv("ECO_MQTT_PASSWORD");
    o.mqtt_cafile = getenv("ECO_MQTT_CAFILE");
    o.broker_auth_dir = getenv("ECO_BROKER_AUTH_DIR");
    o.broker_pid_file = getenv("ECO_BROKER_PID_FILE");
    for (size_t k = 0; k < sizeof(ctl__nouns) / sizeof(ctl__nouns[0]); k++) {
        if (strcmp(argv[i], ctl__nouns[k].name) == 0) {
            /* --json may also follow the noun and verb */
            int n = 0;
            for (int j = i + 1; j < argc; j++) {
                if (strcmp(argv[j], "--json") == 0)
                    o.json = true;
                else
                    argv[i + 1 + n++] = argv[j];
            }
            /* `ecoctl NOUN [VERB ...] --help` anywhere: every noun answers a
             * lone "--help" with its usage on stdout and exit 0, before it
             * looks at settings, so help never needs a database or broker. */
            for (int j = i + 1; j < i + 1 + n; j++) {
                if (strcmp(argv[j], "--help") == 0 || strcmp(argv[j], "-h") == 0) {
                    static char help[] = "--help";
                    char *hv[] = {help, NULL};
                    return ctl__nouns[k].run(&o, 1, hv);
                }
            }
            if (n == 0 && strcmp(argv[i], "status") == 0)
                return ctl__nouns[k].run(&o, 1, argv + i); /* a noun on its own */
            if (n == 0) {
                ctl__usage(stderr);
                return CTL_USAGE;
            }
            return ctl__nouns[k].run(&o, n, argv + i + 1);
        }
    }
    fprintf(stderr, "ecoctl: unknown command %s (try --help)\n", argv[i]);
    return CTL_USAGE;
}
