/* ecoctl report: the center's reports on demand, written where the user
 * says (the same files eco-report writes on its schedule: rout.h).
 *
 *   ecoctl report daily [YYYY-MM-DD] [--out DIR]   default: yesterday (Beijing)
 *   ecoctl report monthly [YYYY-MM] [--out DIR]    default: last month
 *   ecoctl report layers [--out DIR]               the one map's GeoJSON layers
 *
 * Each step is printed on stderr with its time as it ends, so that a long
 * run on a large archive shows where it is. */
#include "ecoctl.h"

#include "etime.h"
#include "rout.h"

#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const ctl_report__layers[] = {"sites",   "alarms",   "orders", "grid",
                                                 "regions", "stations", "tracks", "departments"};

static double ctl_report__now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void ctl_report__step(const char *what, double t0)
{
    fprintf(stderr, "report: %-28s %7.2f s\n", what, ctl_report__now() - t0);
}

/* The default period: the last closed day or month at Beijing time (UTC+8
 * all year: China has no daylight saving time). */
static void ctl_report__default(bool daily, char *out, size_t cap)
{
    time_t now = time(NULL) + 8 * 3600;
    struct tm tm;
    gmtime_r(&now, &tm);
    if (daily) {
        now -= 24 * 3600;
        gmtime_r(&now, &tm);
        strftime(out, cap, "%Y-%m-%d", &tm);
    } else {
        int y = tm.tm_year + 1900, m = tm.tm_mon; /* tm_mon 0-based: m = last month 1..12 */
        if (m == 0) {
            y--;
            m = 12;
        }
        snprintf(out, cap, "%04d-%02d", y, m);
    }
}

/* One text value of a one-row query, or NULL with the error printed. */
static PGresult *ctl_report__query(PGconn *c, const char *sql, int n, const char *const *params)
{
    PGresult *res = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
        const char *m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        fprintf(stderr, "ecoctl: %s\n", m ? m : "no result");
        PQclear(res);
        return NULL;
    }
    return res;
}

static int ctl_report__layers_run(const struct ctl_opts *o, PGconn *c, const char *dir)
{
    int rc;
    if ((rc = rout_mkdirs(dir))) {
        fprintf(stderr, "ecoctl: cannot create %s: %s\n", dir, strerror(-rc));
        return CTL_REFUSED;
    }
    for (size_t i = 0; i < sizeof ctl_report__layers / sizeof ctl_report__layers[0]; i++) {
        const char *params[1] = {ctl_report__layers[i]};
        char name[64], what[64];
        double t0 = ctl_report__now();
        PGresult *res = ctl_report__query(c, "SELECT rpt.geojson($1)::text", 1, params);
        if (!res)
            return CTL_REFUSED;
        snprintf(name, sizeof name, "layer-%s.geojson", ctl_report__layers[i]);
        rc = rout_write_file(dir, name, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
        PQclear(res);
        if (rc) {
            fprintf(stderr, "ecoctl: %s/%s: %s\n", dir, name, strerror(-rc));
            return CTL_REFUSED;
        }
        snprintf(what, sizeof what, "layer %s", ctl_report__layers[i]);
        ctl_report__step(what, t0);
        if (!o->json)
            printf("%s/%s\n", dir, name);
    }
    if (o->json)
        printf("{\"dir\":\"%s\"}\n", dir);
    return CTL_OK;
}

static int ctl_report__usage(void)
{
    fprintf(stderr, "usage: ecoctl report daily [YYYY-MM-DD] [--out DIR]\n"
                    "       ecoctl report monthly [YYYY-MM] [--out DIR]\n"
                    "       ecoctl report layers [--out DIR]\n"
                    "DIR defaults to $ECO_REPORT_OUT_DIR, else ./reports\n");
    return CTL_USAGE;
}

int ctl_report(const struct ctl_opts *o, int argc, char **argv)
{
    const char *dir = getenv("ECO_REPORT_OUT_DIR"), *period = NULL, *kind;
    char dflt[16], html[4096], err[512];
    PGconn *c = NULL;
    PGresult *doc = NULL, *map = NULL;
    double t0, start = ctl_report__now();
    int rc = CTL_REFUSED, wrc;

    if (argc < 1)
        return ctl_report__usage();
    kind = argv[0];
    if (strcmp(kind, "daily") != 0 && strcmp(kind, "monthly") != 0 && strcmp(kind, "layers") != 0)
        return ctl_report__usage();
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (argv[i][0] != '-' && !period && strcmp(kind, "layers") != 0)
            period = argv[i];
        else
            return ctl_report__usage();
    }
    if (!dir || !*dir)
        dir = "reports";
    if (!(c = (PGconn *)ctl_pg_connect(o)))
        return CTL_REFUSED;
    if (strcmp(kind, "layers") == 0) {
        rc = ctl_report__layers_run(o, c, dir);
        goto out;
    }
    if (!period) {
        ctl_report__default(strcmp(kind, "daily") == 0, dflt, sizeof dflt);
        period = dflt;
    }
    {
        const char *params[2] = {kind, period};
        t0 = ctl_report__now();
        if (!(doc = ctl_report__query(c, "SELECT rpt.report($1, $2)::text", 2, params)))
            goto out;
        ctl_report__step("report data", t0);
    }
    t0 = ctl_report__now();
    if (!(map = ctl_report__query(c, "SELECT rpt.report_map()::text", 0, NULL)))
        goto out;
    ctl_report__step("map", t0);
    t0 = ctl_report__now();
    wrc = rout_write_report(dir, PQgetvalue(doc, 0, 0), (size_t)PQgetlength(doc, 0, 0),
                            PQgetvalue(map, 0, 0), (size_t)PQgetlength(map, 0, 0), html,
                            sizeof html, err, sizeof err);
    if (wrc) {
        fprintf(stderr, "ecoctl: report not written: %s\n", err);
        goto out;
    }
    ctl_report__step("pages and tables", t0);
    if (o->json)
        printf("{\"kind\":\"%s\",\"period\":\"%s\",\"html\":\"%s\",\"seconds\":%.2f}\n", kind,
               period, html, ctl_report__now() - start);
    else
        printf("%s\n", html);
    rc = CTL_OK;
out:
    PQclear(doc);
    PQclear(map);
    PQfinish(c);
    return rc;
}
