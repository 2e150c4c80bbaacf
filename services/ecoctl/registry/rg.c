/* rg: the registry files and their columns, and the problem list. */
#include "rg.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct rg_spec rg_specs[RG_NFILES] = {
    [RG_REGION] = {"regions.geojson",
                   RG_REG_CODE,
                   {"code", "name", "kind", "parent", "geometry"},
                   0},
    [RG_DEPARTMENT] = {"departments.csv",
                       RG_DEP_CODE,
                       {"code", "name", "duties", "phone", "regions"},
                       0},
    [RG_ENTERPRISE] = {"enterprises.csv",
                       RG_ENT_CODE,
                       {"code", "name", "industry", "region", "regulator", "address", "lon", "lat"},
                       0},
    [RG_SITE] = {"sites.csv",
                 RG_SITE_CODE,
                 {"code", "name", "kind", "region", "enterprise", "target_class", "lon", "lat",
                  "active"},
                 1u << RG_SITE_ACTIVE},
    [RG_DEVICE] = {"devices.csv",
                   RG_DEV_CODE,
                   {"code", "site", "protocol", "password", "hj212_st", "active", "complaints"},
                   (1u << RG_DEV_ACTIVE) | (1u << RG_DEV_COMPLAINTS)},
    [RG_PARAM] = {"params.csv",
                  RG_PAR_CODE,
                  {"code", "hj212_code", "hj212_2005_code", "name", "unit", "valid_min",
                   "valid_max"},
                  0},
    [RG_UNIT] = {"unit_conversions.csv", -1, {"from_unit", "to_unit", "factor", "offset"}, 0},
    [RG_LIMIT] = {"limits.csv",
                  -1,
                  {"site", "site_kind", "param", "period", "class", "lower", "upper", "standard",
                   "note"},
                  0},
    [RG_HJ212MAP] = {"hj212_map.csv", -1, {"st", "hj212_code", "param"}, 0},
};

static void rg__vrecord(struct rg_load *L, int fid, unsigned line, bool counted, const char *fmt,
                        va_list ap) __attribute__((format(printf, 5, 0)));

/* Records one message for the FILE:LINE listing. Every problem is counted;
 * the first RG_MAX_ERRORS messages are kept for printing (a wholly wrong
 * file should not flood a terminal with a million lines, but the count still
 * tells how bad it is). Notes (counted = false) only explain. */
static void rg__vrecord(struct rg_load *L, int fid, unsigned line, bool counted, const char *fmt,
                        va_list ap)
{
    char msg[1024];

    if (counted) {
        L->nerrs_total++;
        if (fid >= 0)
            L->f[fid].nerrs++;
    }
    if (L->nerrs >= RG_MAX_ERRORS)
        return;
    if (L->nerrs == L->caperrs) {
        size_t cap = L->caperrs ? L->caperrs * 2 : 64;
        struct rg_msg *e = realloc(L->errs, cap * sizeof *e);
        if (!e)
            return; /* still counted; the exit status says it failed */
        L->errs = e;
        L->caperrs = cap;
    }
    vsnprintf(msg, sizeof msg, fmt, ap);
    L->errs[L->nerrs].msg = strdup(msg);
    if (!L->errs[L->nerrs].msg)
        return;
    L->errs[L->nerrs].fid = fid;
    L->errs[L->nerrs].line = line;
    L->errs[L->nerrs].seq = L->nerrs;
    L->nerrs++;
}

void rg_err(struct rg_load *L, int fid, unsigned line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rg__vrecord(L, fid, line, true, fmt, ap);
    va_end(ap);
}

void rg_note(struct rg_load *L, int fid, unsigned line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rg__vrecord(L, fid, line, false, fmt, ap);
    va_end(ap);
}

void rg_warn(struct rg_load *L, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "ecoctl: registry load: warning: %s\n", msg);
    if (L->nwarns < RG_MAX_WARNINGS) {
        L->warns[L->nwarns] = strdup(msg);
        if (L->warns[L->nwarns])
            L->nwarns++;
    }
}

void rg_load_free(struct rg_load *L)
{
    for (int fid = 0; fid < RG_NFILES; fid++) {
        for (size_t i = 0; i < L->f[fid].nrows; i++)
            free(L->f[fid].rows[i].buf);
        free(L->f[fid].rows);
    }
    for (size_t i = 0; i < L->nerrs; i++)
        free(L->errs[i].msg);
    free(L->errs);
    for (size_t i = 0; i < L->nwarns; i++)
        free(L->warns[i]);
    if (L->c)
        PQfinish(L->c);
}

void rg_load_init(struct rg_load *L, const char *dir, bool dry_run)
{
    memset(L, 0, sizeof *L);
    L->dir = dir;
    L->dry_run = dry_run;
    for (int fid = 0; fid < RG_NFILES; fid++)
        L->f[fid].spec = &rg_specs[fid];
}
