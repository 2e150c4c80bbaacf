/* ecoctl gep: GEP accounting runs (docs/GEP.md).
 *
 *   gep run --region CODE --year YYYY --account FILE.csv [--json]
 *       values the account file's line items (services/gep/gepacct) and
 *       stores them as one run (gep.run, gep.item; rpt.gep_summary shows
 *       the latest run of a region and year). A file with any refused line
 *       is refused as a whole, each refusal as FILE: line N: reason, and
 *       nothing is stored (exit 1).
 *   gep run --region CODE --year YYYY [--params SET] [--json]
 *       a run of the physical models (services/gep/gepmodel): derives the
 *       inputs the system's own data give (gep.derive_inputs: ecosystem
 *       areas, negative oxygen ions, cooling days), reads the parameter set
 *       and the region's inputs (gep.model_inputs), values them and stores
 *       the run (gep.store_models_run). A required price or coefficient
 *       without a value or source refuses the run, naming it (exit 1).
 *   gep show (--run ID | --region CODE --year YYYY) [--json]
 *       a stored run's line items with their provenance.
 *
 * The JSON document of both is built by the database from the stored rows
 * (ctl_gep__doc_sql), so what is printed is what was stored. */
#include "ecoctl.h"

#include "gepacct.h"
#include "gepmodel.h"
#include "json.h"

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CTL_GEP_FILE_MAX (16L * 1024 * 1024) /* bytes of an account file */

static void ctl_gep__usage(FILE *out)
{
    fprintf(out,
            "usage: ecoctl gep run --region CODE --year YYYY --account FILE.csv [--json]\n"
            "       ecoctl gep run --region CODE --year YYYY [--params SET] [--json]\n"
            "       ecoctl gep show (--run ID | --region CODE --year YYYY) [--json]\n"
            "\n"
            "run    values an account file (CSV: category, service, item, quantity, unit,\n"
            "       price, price_unit, value_yuan, source) and stores it as a run; prints\n"
            "       the totals by category and service. A file with any bad line is refused\n"
            "       (each as FILE: line N: reason) and nothing is stored.\n"
            "       Without --account: the physical models, from gep.input (with the inputs\n"
            "       derived from land use and readings) and the parameter set (default seed).\n"
            "show   a stored run's line items with their provenance (the latest finished run\n"
            "       of the region and year, or --run ID).\n"
            "Exit status: 0 success, 1 refused, 2 bad usage. docs/GEP.md explains the file.\n");
}

/* The run as JSON: {"run", "region", "year", "method", "status", "total_yuan",
 * "categories": {...}, "services": [...], "items": [...]}; $1 the run id. */
static const char ctl_gep__doc_sql[] =
    "SELECT json_build_object("
    " 'run', r.id, 'region', r.region, 'year', r.year, 'method', r.method,"
    " 'status', r.status, 'finished_at', r.finished_at, 'account', r.inputs->>'account',"
    " 'total_yuan', r.total_yuan,"
    " 'categories', (SELECT json_object_agg(c.category, coalesce(s.v, 0))"
    "   FROM (VALUES ('provisioning'), ('regulating'), ('cultural')) c (category)"
    "   LEFT JOIN (SELECT category, sum(value_yuan) v FROM gep.item WHERE run = r.id"
    "              GROUP BY category) s USING (category)),"
    " 'services', (SELECT coalesce(json_agg(json_build_object('category', x.category,"
    "   'service', x.service, 'value_yuan', x.v) ORDER BY x.first), '[]')"
    "   FROM (SELECT category, service, sum(value_yuan) v, min(line) first FROM gep.item"
    "         WHERE run = r.id GROUP BY category, service) x),"
    " 'items', (SELECT coalesce(json_agg(json_build_object('line', i.line,"
    "   'category', i.category, 'service', i.service, 'item', i.item,"
    "   'quantity', i.quantity, 'unit', i.quantity_unit, 'price', i.price,"
    "   'price_unit', i.price_unit, 'value_yuan', i.value_yuan, 'method', i.method,"
    "   'source', array_to_string(i.sources, '; '), 'sources', i.sources) ORDER BY i.line),"
    "   '[]') FROM gep.item i WHERE i.run = r.id))"
    " FROM gep.run r WHERE r.id = $1";

static int ctl_gep__sqlok(PGconn *c, PGresult *r, const char *what)
{
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return 0;
    fprintf(stderr, "ecoctl: gep: %s: %s", what, PQerrorMessage(c));
    return -1;
}

static int ctl_gep__exec(PGconn *c, const char *sql, const char *what)
{
    PGresult *r = PQexec(c, sql);
    int rc = ctl_gep__sqlok(c, r, what);
    PQclear(r);
    return rc;
}

/* fen -> "-123.45" */
static void ctl_gep__yuan(int64_t fen, char *buf, size_t cap)
{
    uint64_t a = fen < 0 ? (uint64_t)0 - (uint64_t)fen : (uint64_t)fen;
    snprintf(buf, cap, "%s%" PRIu64 ".%02" PRIu64, fen < 0 ? "-" : "", a / 100, a % 100);
}

static int ctl_gep__year(const char *s, long *year)
{
    char *end;
    errno = 0;
    *year = strtol(s, &end, 10);
    return (end == s || *end || errno || *year < 1900 || *year > 2200) ? -EINVAL : 0;
}

/* Reads the whole file (at most CTL_GEP_FILE_MAX bytes) into *buf (owned). */
static int ctl_gep__slurp(const char *path, char **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *b = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;

    if (!f)
        return -errno;
    for (;;) {
        size_t got;
        if (n == cap) {
            char *nb;
            if (cap >= (size_t)CTL_GEP_FILE_MAX) {
                rc = -EFBIG;
                goto out;
            }
            cap = cap ? cap * 2 : 65536;
            nb = realloc(b, cap);
            if (!nb) {
                rc = -ENOMEM;
                goto out;
            }
            b = nb;
        }
        got = fread(b + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f))
                rc = -EIO;
            break;
        }
    }
out:
    fclose(f);
    if (rc) {
        free(b);
        return rc;
    }
    *buf = b;
    *len = n;
    return 0;
}

/* The file's SHA-256 in hex (65 bytes with the NUL): which file a run read. */
static int ctl_gep__sha256(const char *buf, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    if (!EVP_Digest(buf, len, md, &n, EVP_sha256(), NULL) || n != 32)
        return -EIO;
    for (unsigned int i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return 0;
}

/* Prints the run's JSON document (from the database) on stdout. */
static int ctl_gep__print_doc(PGconn *c, const char *run_id)
{
    const char *params[1] = {run_id};
    PGresult *r = PQexecParams(c, ctl_gep__doc_sql, 1, NULL, params, NULL, NULL, 0);
    int rc = -1;

    if (ctl_gep__sqlok(c, r, "read the run"))
        goto out;
    if (PQntuples(r) != 1) {
        fprintf(stderr, "ecoctl: gep: no run %s\n", run_id);
        goto out;
    }
    printf("%s\n", PQgetvalue(r, 0, 0));
    rc = 0;
out:
    PQclear(r);
    return rc;
}

/* Stores the parsed account as a finished run; *run_id gets its id. */
static int ctl_gep__store(PGconn *c, const char *region, const char *year, const char *path,
                          const char *sha256, const struct gepacct *a, char *run_id, size_t idcap)
{
    char total[32], nlines[24];
    const char *p[6];
    PGresult *r;

    if (ctl_gep__exec(c, "BEGIN", "begin"))
        return -1;
    p[0] = region;
    r = PQexecParams(c, "SELECT 1 FROM core.region WHERE code = $1", 1, NULL, p, NULL, NULL, 0);
    if (ctl_gep__sqlok(c, r, "look up the region")) {
        PQclear(r);
        goto fail;
    }
    if (PQntuples(r) != 1) {
        PQclear(r);
        fprintf(stderr, "ecoctl: gep: unknown region %s (not in core.region)\n", region);
        goto fail;
    }
    PQclear(r);
    snprintf(nlines, sizeof(nlines), "%zu", a->n);
    p[0] = region;
    p[1] = year;
    p[2] = path;
    p[3] = nlines;
    p[4] = sha256;
    r = PQexecParams(c,
                     "INSERT INTO gep.run (region, year, method, inputs) VALUES ($1, $2, 'account',"
                     " jsonb_build_object('account', $3::text, 'lines', $4::int,"
                     " 'sha256', $5::text)) RETURNING id",
                     5, NULL, p, NULL, NULL, 0);
    if (ctl_gep__sqlok(c, r, "store the run")) {
        PQclear(r);
        goto fail;
    }
    snprintf(run_id, idcap, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    for (size_t i = 0; i < a->n; i++) {
        const struct gepacct_line *l = &a->lines[i];
        char line[24], q[40], pr[40], val[32], yr[8];
        const char *ip[13];
        snprintf(line, sizeof(line), "%ld", l->line);
        snprintf(q, sizeof(q), "%.17g", l->quantity);
        snprintf(pr, sizeof(pr), "%.17g", l->price);
        ctl_gep__yuan(l->value_fen, val, sizeof(val));
        snprintf(yr, sizeof(yr), "%s", year);
        ip[0] = run_id;
        ip[1] = line;
        ip[2] = l->category;
        ip[3] = l->service;
        ip[4] = l->item;
        ip[5] = l->has_quantity ? q : NULL;
        ip[6] = l->has_quantity ? l->unit : NULL;
        ip[7] = l->from_value ? "account_value" : "account";
        ip[8] = l->has_price ? pr : NULL;
        ip[9] = l->has_price ? l->price_unit : NULL;
        ip[10] = val;
        ip[11] = yr;
        ip[12] = l->source;
        r = PQexecParams(c,
                         "INSERT INTO gep.item (run, line, category, service, item, quantity,"
                         " quantity_unit, method, price, price_unit, value_yuan, year, sources)"
                         " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,"
                         " ARRAY[$13::text])",
                         13, NULL, ip, NULL, NULL, 0);
        if (ctl_gep__sqlok(c, r, "store a line item")) {
            PQclear(r);
            goto fail;
        }
        PQclear(r);
    }
    ctl_gep__yuan(a->total_fen, total, sizeof(total));
    p[0] = run_id;
    p[1] = total;
    r = PQexecParams(c,
                     "UPDATE gep.run SET status = 'done', total_yuan = $2, finished_at = now()"
                     " WHERE id = $1",
                     2, NULL, p, NULL, NULL, 0);
    if (ctl_gep__sqlok(c, r, "finish the run")) {
        PQclear(r);
        goto fail;
    }
    PQclear(r);
    if (ctl_gep__exec(c, "COMMIT", "commit"))
        return -1;
    return 0;
fail:
    ctl_gep__exec(c, "ROLLBACK", "rollback");
    return -1;
}

static void ctl_gep__print_text(const char *run_id, const char *region, const char *year,
                                const struct gepacct *a)
{
    char v[32];

    printf("run %s: %s %s, %zu line items\n", run_id, region, year, a->n);
    for (int k = 0; k < GEPACCT_NCAT; k++) {
        ctl_gep__yuan(a->cat_fen[k], v, sizeof(v));
        printf("  %-14s %22s yuan\n", gepacct_category_name(k), v);
    }
    ctl_gep__yuan(a->total_fen, v, sizeof(v));
    printf("  %-14s %22s yuan\n", "total (GEP)", v);
}

/* A run of the physical models (see the file comment). */
static int ctl_gep__models(const struct ctl_opts *o, const char *region, const char *year,
                           const char *set)
{
    struct gepmodel *m = calloc(1, sizeof(*m));
    const char *p[5] = {region, year, set, NULL, NULL};
    char *items = NULL, run_id[32], v[32];
    size_t ilen = 0;
    PGconn *c = NULL;
    PGresult *r = NULL;
    int rc = CTL_REFUSED, e;

    if (!m) {
        fprintf(stderr, "ecoctl: gep: out of memory\n");
        return CTL_REFUSED;
    }
    if (!(c = ctl_pg_connect(o)))
        goto out;
    if (ctl_gep__exec(c, "BEGIN", "begin"))
        goto out;
    r = PQexecParams(c, "SELECT gep.derive_inputs($1, $2::int, $3)", 3, NULL, p, NULL, NULL, 0);
    if (ctl_gep__sqlok(c, r, "derive the inputs"))
        goto out;
    PQclear(r);
    r = PQexecParams(c, "SELECT gep.model_inputs($1, $2::int, $3)::text", 3, NULL, p, NULL, NULL,
                     0);
    if (ctl_gep__sqlok(c, r, "read the inputs"))
        goto out;
    if (PQgetisnull(r, 0, 0)) {
        fprintf(stderr, "ecoctl: gep: no parameter set %s in gep.param\n", set);
        goto out;
    }
    e = gepmodel_run(m, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0));
    if (e) {
        fprintf(stderr, "ecoctl: gep: %s %s refused: %s; nothing stored\n", region, year, m->err);
        goto out;
    }
    if (gepmodel_items_json(m, &items, &ilen)) {
        fprintf(stderr, "ecoctl: gep: cannot render the line items\n");
        goto out;
    }
    p[3] = PQgetvalue(r, 0, 0);
    p[4] = items;
    {
        PGresult *s = PQexecParams(c,
                                   "SELECT gep.store_models_run($1, $2::int, $3, $4::jsonb,"
                                   " $5::jsonb)",
                                   5, NULL, p, NULL, NULL, 0);
        e = ctl_gep__sqlok(c, s, "store the run");
        if (!e)
            snprintf(run_id, sizeof run_id, "%s", PQgetvalue(s, 0, 0));
        PQclear(s);
        if (e)
            goto out;
    }
    PQclear(r);
    r = NULL;
    if (ctl_gep__exec(c, "COMMIT", "commit"))
        goto out;
    if (o->json) {
        const char *q[1] = {run_id};
        r = PQexecParams(c, "SELECT gep.run_summary($1::bigint)::text", 1, NULL, q, NULL, NULL, 0);
        if (ctl_gep__sqlok(c, r, "summarise the run"))
            goto out;
        printf("%s\n", PQgetvalue(r, 0, 0));
    } else {
        int64_t cat[3] = {0, 0, 0};
        static const char *const names[3] = {"provisioning", "regulating", "cultural"};
        for (size_t i = 0; i < m->out.n; i++) {
            int64_t f = 0;
            gepcalc_fen(m->items[i].value, &f);
            for (int k = 0; k < 3; k++)
                if (strcmp(m->items[i].category, names[k]) == 0)
                    cat[k] += f;
        }
        printf("run %s: %s %s, models, parameter set %s, %zu line items\n", run_id, region, year,
               set, m->out.n);
        for (int k = 0; k < 3; k++) {
            ctl_gep__yuan(cat[k], v, sizeof(v));
            printf("  %-14s %22s yuan\n", names[k], v);
        }
        ctl_gep__yuan(m->total_fen, v, sizeof(v));
        printf("  %-14s %22s yuan\n", "total (GEP)", v);
    }
    rc = CTL_OK;
out:
    PQclear(r);
    if (c) {
        if (rc != CTL_OK && PQtransactionStatus(c) != PQTRANS_IDLE)
            ctl_gep__exec(c, "ROLLBACK", "rollback");
        PQfinish(c);
    }
    cJSON_free(items);
    gepmodel_close(m);
    free(m);
    return rc;
}

static int ctl_gep__run(const struct ctl_opts *o, int argc, char **argv)
{
    const char *region = NULL, *year = NULL, *path = NULL, *set = NULL;
    struct gepacct a;
    char run_id[32] = "", sha[65];
    char *buf = NULL;
    size_t len = 0;
    long y;
    PGconn *c = NULL;
    int rc = CTL_REFUSED, e;

    memset(&a, 0, sizeof(a));
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--region") == 0 && i + 1 < argc)
            region = argv[++i];
        else if (strcmp(argv[i], "--year") == 0 && i + 1 < argc)
            year = argv[++i];
        else if (strcmp(argv[i], "--account") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strcmp(argv[i], "--params") == 0 && i + 1 < argc)
            set = argv[++i];
        else {
            ctl_gep__usage(stderr);
            return CTL_USAGE;
        }
    }
    if (!region || !*region || !year || ctl_gep__year(year, &y)) {
        fprintf(stderr, "ecoctl: gep run needs --region CODE and --year YYYY (1900-2200)\n");
        return CTL_USAGE;
    }
    if (path && set) {
        fprintf(stderr, "ecoctl: gep run: --params is for runs of the models, not --account\n");
        return CTL_USAGE;
    }
    if (!path)
        return ctl_gep__models(o, region, year, set ? set : "seed");
    e = ctl_gep__slurp(path, &buf, &len);
    if (e) {
        fprintf(stderr, "ecoctl: gep: %s: %s\n", path,
                e == -EFBIG ? "larger than 16 MiB" : strerror(-e));
        return CTL_REFUSED;
    }
    e = gepacct_parse(buf, len, &a);
    for (size_t i = 0; i < a.nwarnings && i < GEPACCT_MSGS_MAX; i++)
        fprintf(stderr, "ecoctl: warning: %s: %s\n", path, a.warnings[i]);
    if (e) {
        for (size_t i = 0; i < a.nerrors && i < GEPACCT_MSGS_MAX; i++)
            fprintf(stderr, "ecoctl: %s: %s\n", path, a.errors[i]);
        if (a.nerrors > GEPACCT_MSGS_MAX)
            fprintf(stderr, "ecoctl: %s: and %zu more\n", path, a.nerrors - GEPACCT_MSGS_MAX);
        fprintf(stderr, "ecoctl: gep: %s refused (%zu bad line%s), nothing stored\n", path,
                a.nerrors, a.nerrors == 1 ? "" : "s");
        goto out;
    }
    if (ctl_gep__sha256(buf, len, sha)) {
        fprintf(stderr, "ecoctl: gep: cannot compute the file's SHA-256\n");
        goto out;
    }
    if (!(c = ctl_pg_connect(o)))
        goto out;
    if (ctl_gep__store(c, region, year, path, sha, &a, run_id, sizeof(run_id)))
        goto out;
    if (o->json) {
        if (ctl_gep__print_doc(c, run_id))
            goto out;
    } else {
        ctl_gep__print_text(run_id, region, year, &a);
    }
    rc = CTL_OK;
out:
    if (c)
        PQfinish(c);
    gepacct_free(&a);
    free(buf);
    return rc;
}

static int ctl_gep__show(const struct ctl_opts *o, int argc, char **argv)
{
    const char *run = NULL, *region = NULL, *year = NULL;
    char run_id[32];
    PGconn *c;
    PGresult *r;
    long y;
    int rc = CTL_REFUSED;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--run") == 0 && i + 1 < argc)
            run = argv[++i];
        else if (strcmp(argv[i], "--region") == 0 && i + 1 < argc)
            region = argv[++i];
        else if (strcmp(argv[i], "--year") == 0 && i + 1 < argc)
            year = argv[++i];
        else {
            ctl_gep__usage(stderr);
            return CTL_USAGE;
        }
    }
    if (run ? (region || year || !*run || strspn(run, "0123456789") != strlen(run) ||
               strlen(run) > 18)
            : (!region || !year || ctl_gep__year(year, &y))) {
        ctl_gep__usage(stderr);
        return CTL_USAGE;
    }
    if (!(c = ctl_pg_connect(o)))
        return CTL_REFUSED;
    if (run) {
        snprintf(run_id, sizeof(run_id), "%s", run);
    } else {
        const char *p[2] = {region, year};
        r = PQexecParams(c,
                         "SELECT id FROM gep.run WHERE region = $1 AND year = $2 AND"
                         " status = 'done' ORDER BY id DESC LIMIT 1",
                         2, NULL, p, NULL, NULL, 0);
        if (ctl_gep__sqlok(c, r, "find the run")) {
            PQclear(r);
            goto out;
        }
        if (PQntuples(r) != 1) {
            PQclear(r);
            fprintf(stderr, "ecoctl: gep: no finished run for %s %s\n", region, year);
            goto out;
        }
        snprintf(run_id, sizeof(run_id), "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    if (o->json) {
        if (ctl_gep__print_doc(c, run_id))
            goto out;
    } else {
        const char *p[1] = {run_id};
        r = PQexecParams(
            c,
            "SELECT r.id, r.region, r.year, r.method, r.status, coalesce(r.total_yuan::text, '-'),"
            " coalesce(r.inputs->>'account', ''), i.line, i.category, i.service, i.item,"
            " coalesce(i.quantity::text || ' ' || i.quantity_unit, '-'),"
            " coalesce(i.price::text || ' yuan/' || i.price_unit, '-'), i.value_yuan, i.method,"
            " array_to_string(i.sources, '; ')"
            " FROM gep.run r LEFT JOIN gep.item i ON i.run = r.id WHERE r.id = $1"
            " ORDER BY i.line",
            1, NULL, p, NULL, NULL, 0);
        if (ctl_gep__sqlok(c, r, "read the run")) {
            PQclear(r);
            goto out;
        }
        if (PQntuples(r) == 0) {
            PQclear(r);
            fprintf(stderr, "ecoctl: gep: no run %s\n", run_id);
            goto out;
        }
        printf("run %s: %s %s, %s %s, total %s yuan%s%s\n", PQgetvalue(r, 0, 0),
               PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2), PQgetvalue(r, 0, 3), PQgetvalue(r, 0, 4),
               PQgetvalue(r, 0, 5), *PQgetvalue(r, 0, 6) ? ", from " : "", PQgetvalue(r, 0, 6));
        for (int i = 0; i < PQntuples(r); i++) {
            if (PQgetisnull(r, i, 7))
                continue;
            printf("line %s  %s/%s  %s\n    %s x %s = %s yuan  [%s]  source: %s\n",
                   PQgetvalue(r, i, 7), PQgetvalue(r, i, 8), PQgetvalue(r, i, 9),
                   PQgetvalue(r, i, 10), PQgetvalue(r, i, 11), PQgetvalue(r, i, 12),
                   PQgetvalue(r, i, 13), PQgetvalue(r, i, 14), PQgetvalue(r, i, 15));
        }
        PQclear(r);
    }
    rc = CTL_OK;
out:
    PQfinish(c);
    return rc;
}

int ctl_gep(const struct ctl_opts *o, int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            ctl_gep__usage(stdout);
            return CTL_OK;
        }
    if (argc >= 1 && strcmp(argv[0], "run") == 0)
        return ctl_gep__run(o, argc, argv);
    if (argc >= 1 && strcmp(argv[0], "show") == 0)
        return ctl_gep__show(o, argc, argv);
    ctl_gep__usage(stderr);
    return CTL_USAGE;
}
