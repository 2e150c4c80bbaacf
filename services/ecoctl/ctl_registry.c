/* ecoctl registry load DIR: loads the monitoring network (regions,
 * departments, enterprises, sites, devices, parameters, unit conversions,
 * limits, HJ 212 code map) from the files of one directory, all rows or
 * none. This file is the command line; the work is in registry/ (rg.h tells
 * the whole story): rgread reads the files, rgcheck checks rows, rgdb
 * stages, checks and upserts in one transaction, rgout prints. */
#include "ecoctl.h"

#include "bauth.h"
#include "rg.h"
#include "rgdb.h"
#include "rgout.h"
#include "rgread.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* MQTT devices' broker hashes, inside the load's transaction (docs/SECURITY.md). */
static int ctl_registry__broker_hashes(PGconn *c, char *why, size_t cap)
{
    long hashed;
    return bauth_stage_devices(c, &hashed, why, cap);
}

static int ctl_registry__load_dir(const struct ctl_opts *o, const char *dir, bool dry_run)
{
    struct rg_load *L = malloc(sizeof *L);
    struct timespec t0, t1;
    int rc, ret = CTL_REFUSED;
    double secs;

    if (!L) {
        fprintf(stderr, "ecoctl: registry load: out of memory\n");
        return CTL_REFUSED;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rg_load_init(L, dir, dry_run);
    L->before_commit = ctl_registry__broker_hashes;
    rc = rgread_scan_dir(L);
    if (rc == 0)
        rgread_files(L);
    if (rc == 0) {
        /* connect even when the files already have problems: the database
         * checks find the rest, so one run lists everything */
        L->c = ctl_pg_connect(o);
        if (!L->c)
            rc = -EIO;
        else
            rc = rgdb_run(L);
    }
    if (rc == 0 && L->nerrs_total > 0)
        rc = -EBADMSG;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    rgout_errors(L, stderr);
    /* with --json, stdout carries the JSON document and nothing else */
    if (o->json)
        rgout_json(L, rc, secs, stdout);
    else
        rgout_text(L, rc, secs, stdout, stderr);
    if (rc == 0)
        ret = CTL_OK;
    /* then the broker's files, rendered and reloaded (ECO_BROKER_AUTH_DIR) */
    if (rc == 0 && !dry_run && bauth_registry_loaded(L->c, o->broker_auth_dir, o->broker_pid_file))
        ret = CTL_REFUSED;
    rg_load_free(L);
    free(L);
    return ret;
}

static void ctl_registry__usage(FILE *out)
{
    fprintf(out, "usage: ecoctl [--json] registry load [--dry-run] DIR\n"
                 "\n"
                 "Loads regions.geojson, departments.csv, enterprises.csv, sites.csv,\n"
                 "devices.csv, params.csv, unit_conversions.csv, limits.csv and hj212_map.csv\n"
                 "(those present) from DIR in one transaction: all rows or none. Every bad\n"
                 "row is listed as FILE:LINE: reason. Rows are upserted by code; rows not in\n"
                 "the files are left alone. --dry-run checks everything and rolls back.\n"
                 "See docs/REGISTRY.md.\n");
}

int ctl_registry(const struct ctl_opts *o, int argc, char **argv)
{
    const char *dir = NULL;
    bool dry_run = false;

    if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0 ||
        strcmp(argv[0], "help") == 0) {
        ctl_registry__usage(stdout);
        return CTL_OK;
    }
    if (strcmp(argv[0], "load") != 0) {
        fprintf(stderr, "ecoctl: registry: unknown verb %s\n", argv[0]);
        ctl_registry__usage(stderr);
        return CTL_USAGE;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dry-run") == 0) {
            dry_run = true;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            ctl_registry__usage(stdout);
            return CTL_OK;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "ecoctl: registry load: unknown option %s\n", argv[i]);
            ctl_registry__usage(stderr);
            return CTL_USAGE;
        } else if (dir) {
            fprintf(stderr, "ecoctl: registry load: one DIR only\n");
            ctl_registry__usage(stderr);
            return CTL_USAGE;
        } else {
            dir = argv[i];
        }
    }
    if (!dir) {
        ctl_registry__usage(stderr);
        return CTL_USAGE;
    }
    return ctl_registry__load_dir(o, dir, dry_run);
}
