/* rgdb: the database side of `ecoctl registry load`. The queries are
 * sql/registry/NAME.sql, embedded at build time (rgsql.h); only transaction
 * control (BEGIN, SAVEPOINT, ...) is spelled here. */
#include "rgdb.h"

#include "rgsql.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Upserts, in reference order. Each returns (inserted, updated); a row is
 * only rewritten when something in it changed, so a repeated load leaves
 * the tables (and their dead-tuple counts) alone. */
static const char *const rgdb__upserts[RG_NFILES] = {
    [RG_REGION] = rgsql_upsert_region,
    [RG_DEPARTMENT] = rgsql_upsert_department,
    [RG_ENTERPRISE] = rgsql_upsert_enterprise,
    [RG_SITE] = rgsql_upsert_site,
    [RG_DEVICE] = rgsql_upsert_device,
    [RG_PARAM] = rgsql_upsert_param,
    [RG_UNIT] = rgsql_upsert_unit,
    [RG_LIMIT] = rgsql_upsert_limit,
    [RG_HJ212MAP] = rgsql_upsert_hj212_map,
};

/* The staging table of each file and the COPY into it (ord, line, bad,
 * then the file's columns). */
static const char *const rgdb__stage_ddl[RG_NFILES] = {
    [RG_REGION] = rgsql_stage_region,
    [RG_DEPARTMENT] = rgsql_stage_department,
    [RG_ENTERPRISE] = rgsql_stage_enterprise,
    [RG_SITE] = rgsql_stage_site,
    [RG_DEVICE] = rgsql_stage_device,
    [RG_PARAM] = rgsql_stage_param,
    [RG_UNIT] = rgsql_stage_unit,
    [RG_LIMIT] = rgsql_stage_limit,
    [RG_HJ212MAP] = rgsql_stage_hj212_map,
};
static const char *const rgdb__copy[RG_NFILES] = {
    [RG_REGION] = rgsql_copy_region,
    [RG_DEPARTMENT] = rgsql_copy_department,
    [RG_ENTERPRISE] = rgsql_copy_enterprise,
    [RG_SITE] = rgsql_copy_site,
    [RG_DEVICE] = rgsql_copy_device,
    [RG_PARAM] = rgsql_copy_param,
    [RG_UNIT] = rgsql_copy_unit,
    [RG_LIMIT] = rgsql_copy_limit,
    [RG_HJ212MAP] = rgsql_copy_hj212_map,
};

static void rgdb__err(struct rg_load *L, const char *what)
{
    const char *m = PQerrorMessage(L->c);
    size_t n = strlen(m);
    while (n > 0 && (m[n - 1] == '\n' || m[n - 1] == ' '))
        n--;
    rg_err(L, -1, 0, "database: %s: %.*s", what, (int)n, m);
}
static int rgdb__exec(struct rg_load *L, const char *sql, const char *what)
{
    PGresult *r = PQexec(L->c, sql);
    int rc = 0;
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        rgdb__err(L, what);
        rc = -EIO;
    }
    PQclear(r);
    return rc;
}

/* COPY text format writer: escapes as PostgreSQL's COPY expects and sends
 * in bounded chunks. */
struct rgdb__cp {
    PGconn *c;
    int rc;
    size_t len;
    char buf[RG_COPY_CHUNK];
};

static void rgdb__cp_flush(struct rgdb__cp *cp)
{
    int r;
    if (cp->rc || cp->len == 0)
        return;
    /* blocking connection: 0 ("would block") cannot happen, but if it
     * does, wait for the socket by flushing and try again */
    while ((r = PQputCopyData(cp->c, cp->buf, (int)cp->len)) == 0)
        if (PQflush(cp->c) < 0)
            break;
    if (r != 1)
        cp->rc = -EIO;
    cp->len = 0;
}

static void rgdb__cp_put(struct rgdb__cp *cp, const char *s, size_t n)
{
    while (n > 0 && !cp->rc) {
        size_t k = sizeof cp->buf - cp->len;
        if (k == 0) {
            rgdb__cp_flush(cp);
            continue;
        }
        if (k > n)
            k = n;
        memcpy(cp->buf + cp->len, s, k);
        cp->len += k;
        s += k;
        n -= k;
    }
}

static void rgdb__cp_field(struct rgdb__cp *cp, const char *s)
{
    const char *run;
    if (!s) {
        rgdb__cp_put(cp, "\\N", 2);
        return;
    }
    for (run = s; *s; s++) {
        const char *esc = NULL;
        switch (*s) {
        case '\\':
            esc = "\\\\";
            break;
        case '\t':
            esc = "\\t";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        default:
            continue;
        }
        rgdb__cp_put(cp, run, (size_t)(s - run));
        rgdb__cp_put(cp, esc, 2);
        run = s + 1;
    }
    rgdb__cp_put(cp, run, (size_t)(s - run));
}

/* Copies a file's rows into its staging table: ord, line, bad, columns. */
static int rgdb__stage(struct rg_load *L, int fid)
{
    struct rg_file *F = &L->f[fid];
    struct rgdb__cp *cp = NULL;
    PGresult *r;
    int rc = 0, ncols = 0;
    char what[200];

    snprintf(what, sizeof what, "staging %s", F->spec->file);
    while (F->spec->cols[ncols])
        ncols++;
    cp = malloc(sizeof *cp);
    if (!cp)
        return -ENOMEM;
    cp->c = L->c;
    cp->rc = 0;
    cp->len = 0;
    r = PQexec(L->c, rgdb__copy[fid]);
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        PQclear(r);
        rgdb__err(L, what);
        rc = -EIO;
        goto out;
    }
    PQclear(r);
    for (size_t i = 0; i < F->nrows && !cp->rc; i++) {
        const struct rg_row *R = &F->rows[i];
        char head[64];
        int n = snprintf(head, sizeof head, "%zu\t%u\t%c", i, R->line, R->bad ? 't' : 'f');
        rgdb__cp_put(cp, head, (size_t)n);
        for (int c = 0; c < ncols; c++) {
            rgdb__cp_put(cp, "\t", 1);
            rgdb__cp_field(cp, R->f[c]);
        }
        rgdb__cp_put(cp, "\n", 1);
    }
    rgdb__cp_flush(cp);
    if (PQputCopyEnd(L->c, cp->rc ? "client error" : NULL) != 1)
        cp->rc = -EIO;
    while ((r = PQgetResult(L->c)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && !rc) {
            rgdb__err(L, what);
            rc = -EIO;
        }
        PQclear(r);
    }
    if (cp->rc && !rc) {
        rgdb__err(L, what);
        rc = cp->rc;
    }
out:
    free(cp);
    return rc;
}

/* Runs a check query returning (line, message) rows and records each as an
 * error of file `fid`. */
static int rgdb__run_check(struct rg_load *L, int fid, const char *sql)
{
    PGresult *r = PQexec(L->c, sql);
    char what[200];
    int rc = 0;

    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(what, sizeof what, "checking %s", L->f[fid].spec->file);
        rgdb__err(L, what);
        rc = -EIO;
    } else {
        for (int i = 0; i < PQntuples(r); i++)
            rg_err(L, fid, (unsigned)strtoul(PQgetvalue(r, i, 0), NULL, 10), "%s",
                   PQgetvalue(r, i, 1));
    }
    PQclear(r);
    return rc;
}

/* Converts the staged GeoJSON to geometry. One statement normally; if
 * PostGIS refuses some feature, again feature by feature under savepoints,
 * so each bad one is named and the transaction stays usable. */
static int rgdb__geoms(struct rg_load *L)
{
    PGresult *r, *q = NULL;
    int rc = 0;

    if (rgdb__exec(L, "SAVEPOINT rg_geom", "savepoint"))
        return -EIO;
    r = PQexec(L->c, rgsql_geom_all);
    if (PQresultStatus(r) == PGRES_COMMAND_OK) {
        PQclear(r);
        return rgdb__exec(L, "RELEASE SAVEPOINT rg_geom", "release savepoint");
    }
    PQclear(r);
    if (rgdb__exec(L, "ROLLBACK TO SAVEPOINT rg_geom", "rollback to savepoint"))
        return -EIO;
    q = PQexec(L->c, rgsql_geom_list);
    if (PQresultStatus(q) != PGRES_TUPLES_OK) {
        rgdb__err(L, "reading staged regions");
        rc = -EIO;
        goto out;
    }
    for (int i = 0; i < PQntuples(q) && !rc; i++) {
        const char *p[1] = {PQgetvalue(q, i, 0)};
        r = PQexecParams(L->c, rgsql_geom_one, 1, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(r) == PGRES_COMMAND_OK) {
            PQclear(r);
            rc = rgdb__exec(L, "RELEASE SAVEPOINT rg_geom", "release savepoint") ||
                 rgdb__exec(L, "SAVEPOINT rg_geom", "savepoint");
            continue;
        }
        {
            const char *m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
            rg_err(L, RG_REGION, (unsigned)strtoul(PQgetvalue(q, i, 1), NULL, 10),
                   "geometry of region %s rejected by PostGIS: %s", PQgetvalue(q, i, 2),
                   m ? m : "error");
        }
        PQclear(r);
        rc = rgdb__exec(L, "ROLLBACK TO SAVEPOINT rg_geom", "rollback to savepoint");
    }
    if (!rc)
        rc = rgdb__exec(L, "RELEASE SAVEPOINT rg_geom", "release savepoint");
out:
    PQclear(q);
    return rc;
}

struct rgdb__check {
    int fid;   /* the file whose lines are reported */
    int needs; /* a file whose codes are referenced; skipped if present but unusable */
    const char *sql;
};

/* Checks that need the database. Each returns (line, message). A reference
 * is good when the code is in this load (even on a bad row: that row is
 * reported already) or in the database. */
static const struct rgdb__check rgdb__dbchecks[] = {
    {RG_REGION, RG_REGION, rgsql_check_region_parent},
    {RG_REGION, -1, rgsql_check_region_valid},
    {RG_REGION, -1, rgsql_check_region_empty},
    {RG_REGION, RG_REGION, rgsql_check_region_cycle},
    {RG_DEPARTMENT, RG_REGION, rgsql_check_department_regions},
    {RG_ENTERPRISE, RG_REGION, rgsql_check_enterprise_region},
    {RG_ENTERPRISE, RG_DEPARTMENT, rgsql_check_enterprise_regulator},
    {RG_ENTERPRISE, RG_REGION, rgsql_check_enterprise_point},
    {RG_SITE, RG_REGION, rgsql_check_site_region},
    {RG_SITE, RG_ENTERPRISE, rgsql_check_site_enterprise},
    {RG_SITE, RG_REGION, rgsql_check_site_point},
    {RG_DEVICE, RG_SITE, rgsql_check_device_site},
    {RG_DEVICE, -1, rgsql_check_device_password},
    {RG_PARAM, -1, rgsql_check_param_hj212_code},
    {RG_LIMIT, RG_SITE, rgsql_check_limit_site},
    {RG_LIMIT, RG_PARAM, rgsql_check_limit_param},
    {RG_HJ212MAP, RG_PARAM, rgsql_check_hj212_map_param},
};

/* Runs sql (with param as $1 when not NULL), which returns one row of two
 * counts. */
static int rgdb__counts(struct rg_load *L, const char *sql, const char *param, const char *what,
                        long long *a, long long *b)
{
    const char *params[1] = {param};
    PGresult *r =
        PQexecParams(L->c, sql, param ? 1 : 0, NULL, param ? params : NULL, NULL, NULL, 0);
    int rc = 0;
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        rgdb__err(L, what);
        rc = -EIO;
    } else {
        *a = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        *b = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    }
    PQclear(r);
    return rc;
}

/* Everything that needs the database, inside one transaction. Returns 0
 * when the load went through (committed, or rolled back for --dry-run),
 * -EBADMSG when rows were refused, -EIO on a database failure. */
int rgdb_run(struct rg_load *L)
{
    PGresult *r;
    int rc = 0;
    char what[200];

    if (rgdb__exec(L, "SET client_encoding = 'UTF8'", "set client_encoding") ||
        rgdb__exec(L, "BEGIN", "begin"))
        return -EIO;
    /* two loads at once would each validate against a database the other
     * is about to change */
    if (rgdb__exec(L, rgsql_lock, "lock"))
        goto fail;
    for (int fid = 0; fid < RG_NFILES; fid++) {
        snprintf(what, sizeof what, "creating staging table for %s", L->f[fid].spec->file);
        if (rgdb__exec(L, rgdb__stage_ddl[fid], what))
            goto fail;
    }
    for (int fid = 0; fid < RG_NFILES; fid++) {
        if (!L->f[fid].present)
            continue;
        if (rgdb__stage(L, fid))
            goto fail;
    }
    if (L->f[RG_REGION].present && rgdb__geoms(L))
        goto fail;
    /* temporary tables are never analyzed by autovacuum; without numbers the
     * planner guesses nested loops over 50 000 rows */
    if (rgdb__exec(L, rgsql_analyze, "analyze staging tables") ||
        rgdb__exec(L, rgsql_rgeom, "collecting region geometry") ||
        rgdb__exec(L, "ANALYZE rg_rgeom", "analyze region geometry"))
        goto fail;
    r = PQexec(L->c, rgsql_has_map);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        PQclear(r);
        rgdb__err(L, "looking for core.hj212_map");
        goto fail;
    }
    L->map_table = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    for (size_t i = 0; i < sizeof rgdb__dbchecks / sizeof rgdb__dbchecks[0]; i++) {
        const struct rgdb__check *k = &rgdb__dbchecks[i];
        if (!L->f[k->fid].present || !L->f[k->fid].usable)
            continue;
        if (k->needs >= 0 && L->f[k->needs].present && !L->f[k->needs].usable)
            continue; /* the referenced file is unreadable: its codes are unknown */
        if (rgdb__run_check(L, k->fid, k->sql))
            goto fail;
    }
    if (L->nerrs_total > 0) {
        rgdb__exec(L, "ROLLBACK", "rollback");
        return -EBADMSG;
    }
    for (int fid = 0; fid < RG_NFILES; fid++) {
        struct rg_file *F = &L->f[fid];
        if (!F->present)
            continue;
        if (fid == RG_HJ212MAP && !L->map_table) {
            rg_warn(L,
                    "%s: table core.hj212_map does not exist in this database (it "
                    "needs a newer schema); the file was checked but not loaded",
                    F->path);
            continue;
        }
        snprintf(what, sizeof what, "loading %s", F->spec->file);
        if (rgdb__counts(L, rgdb__upserts[fid], fid == RG_DEVICE ? RG_BCRYPT_COST : NULL, what,
                         &F->inserted, &F->updated))
            goto fail;
        if (fid == RG_DEPARTMENT &&
            rgdb__counts(L, rgsql_department_links, NULL, "loading department regions",
                         &F->links_added, &F->links_removed))
            goto fail;
        F->loaded = true;
    }
    if (L->before_commit && L->before_commit(L->c, what, sizeof what)) {
        rg_err(L, -1, 0, "%s", what);
        goto fail;
    }
    if (L->dry_run)
        return rgdb__exec(L, "ROLLBACK", "rollback") ? -EIO : 0;
    /* deferred constraints (region parents) are checked here */
    rc = rgdb__exec(L, "COMMIT", "commit");
    return rc ? -EIO : 0;
fail:
    if (PQtransactionStatus(L->c) != PQTRANS_IDLE)
        rgdb__exec(L, "ROLLBACK", "rollback");
    return -EIO;
}
