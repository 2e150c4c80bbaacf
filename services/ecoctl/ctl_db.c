/* ecoctl db migrate: applies the compiled-in migrations in order, each in
 * its own transaction, recorded in core.schema_migration with a checksum.
 * Re-running is a no-op; an applied migration whose text changed is refused,
 * because the database no longer matches what this binary believes. */
#include "ecoctl.h"

#include "ctl_migrations.h"

#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* FNV-1a 64: enough to notice an edited migration; not a security check. */
static void ctl_db__checksum(const char *s, char out[17])
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

static int ctl_db__ok(PGconn *c, PGresult *r, const char *what)
{
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return 0;
    fprintf(stderr, "ecoctl: %s: %s", what, PQerrorMessage(c));
    return -1;
}

static int ctl_db__exec(PGconn *c, const char *sql, const char *what)
{
    PGresult *r = PQexec(c, sql);
    int rc = ctl_db__ok(c, r, what);
    PQclear(r);
    return rc;
}

static int ctl_db_migrate(const struct ctl_opts *o, int status_only)
{
    PGconn *c = ctl_pg_connect(o);
    int rc = CTL_REFUSED, applied = 0, skipped = 0;

    if (!c)
        return CTL_REFUSED;
    /* One migrator at a time, across every host running ecoctl. */
    if (ctl_db__exec(c, "SELECT pg_advisory_lock(hashtext('ecowatch migrate'))", "lock") ||
        ctl_db__exec(c,
                     "CREATE SCHEMA IF NOT EXISTS core;"
                     "CREATE TABLE IF NOT EXISTS core.schema_migration ("
                     " name text PRIMARY KEY, checksum text NOT NULL,"
                     " applied_at timestamptz NOT NULL DEFAULT now())",
                     "create core.schema_migration"))
        goto out;
    for (size_t i = 0; i < ctl_nmigrations; i++) {
        const struct ctl_migration *m = &ctl_migrations[i];
        const char *params[2];
        char sum[17];
        PGresult *r;

        ctl_db__checksum(m->sql, sum);
        params[0] = m->name;
        params[1] = sum;
        r = PQexecParams(c, "SELECT checksum FROM core.schema_migration WHERE name = $1", 1, NULL,
                         params, NULL, NULL, 0);
        if (ctl_db__ok(c, r, m->name)) {
            PQclear(r);
            goto out;
        }
        if (PQntuples(r) == 1) {
            int same = strcmp(PQgetvalue(r, 0, 0), sum) == 0;
            PQclear(r);
            if (!same) {
                fprintf(stderr,
                        "ecoctl: migration %s was applied with different contents; refusing "
                        "to continue (the database and this build disagree)\n",
                        m->name);
                goto out;
            }
            skipped++;
            if (status_only && !o->json)
                printf("applied  %s\n", m->name);
            continue;
        }
        PQclear(r);
        if (status_only) {
            if (!o->json)
                printf("pending  %s\n", m->name);
            continue;
        }
        if (ctl_db__exec(c, "BEGIN", "begin") || ctl_db__exec(c, m->sql, m->name)) {
            ctl_db__exec(c, "ROLLBACK", "rollback");
            goto out;
        }
        r = PQexecParams(c, "INSERT INTO core.schema_migration (name, checksum) VALUES ($1, $2)", 2,
                         NULL, params, NULL, NULL, 0);
        if (ctl_db__ok(c, r, "record migration")) {
            PQclear(r);
            ctl_db__exec(c, "ROLLBACK", "rollback");
            goto out;
        }
        PQclear(r);
        if (ctl_db__exec(c, "COMMIT", m->name))
            goto out;
        applied++;
        if (!o->json)
            printf("applied  %s\n", m->name);
    }
    if (o->json)
        printf("{\"applied\":%d,\"already\":%d,\"total\":%zu}\n", applied, skipped,
               ctl_nmigrations);
    else if (!status_only)
        printf("migrations: %d applied, %d already present\n", applied, skipped);
    rc = CTL_OK;
out:
    PQfinish(c);
    return rc;
}

static void ctl_db__usage(FILE *out)
{
    fprintf(out, "usage: ecoctl [--json] db migrate [--status]\n"
                 "\n"
                 "Applies the schema migrations built into this ecoctl, in order, each in its\n"
                 "own transaction (re-running is a no-op). --status lists applied and pending\n"
                 "migrations without changing anything. Needs ECO_PG_DSN (an owner role).\n");
}

int ctl_db(const struct ctl_opts *o, int argc, char **argv)
{
    if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        ctl_db__usage(stdout);
        return CTL_OK;
    }
    if (strcmp(argv[0], "migrate") == 0) {
        if (argc == 1)
            return ctl_db_migrate(o, 0);
        if (argc == 2 && strcmp(argv[1], "--status") == 0)
            return ctl_db_migrate(o, 1);
    }
    ctl_db__usage(stderr);
    return CTL_USAGE;
}
