/* rg: the data model of `ecoctl registry load` that the rg* modules share:
 * the nine registry files and their columns, the rows read from them, and
 * the FILE:LINE problem list.
 *
 * The load is all-or-nothing and tells the operator about every bad row at
 * once, because fixing a registry one error per run is miserable:
 *
 *   1. Every file present is read and parsed (rgread: CSV through
 *      libshared/csv, GeoJSON through cJSON) and each row is checked on its
 *      own (rgcheck): columns, required fields, numbers, enumerations, code
 *      syntax, duplicates in the file. A rejected field is nulled, so what
 *      goes on is still well typed.
 *   2. In ONE transaction (rgdb) the rows are copied (COPY) into temporary
 *      staging tables, and set-based queries (services/ecoctl/sql/registry)
 *      check what needs the database: references to rows of this load or of
 *      the database, geometry validity, points inside their region, hash
 *      collisions with existing rows.
 *   3. With any problem, everything is rolled back and the problems are
 *      listed as FILE:LINE: reason (rgout). Otherwise the staged rows are
 *      upserted by code in reference order and committed (or rolled back
 *      with --dry-run).
 *
 * Rows already in the database that the files do not mention are left
 * alone: a load adds and updates, it never deletes (a department's region
 * list is the exception: it is replaced by the list in departments.csv).
 *
 * Device passwords travel only inside the transaction and are hashed in SQL
 * with crypt(pw, gen_salt('bf', RG_BCRYPT_COST)); they are never printed.
 *
 * A struct rg_load owns everything it points to (rows, messages, warnings,
 * the connection) and is freed with rg_load_free. Single-threaded. */
#ifndef ECO_RG_H
#define ECO_RG_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

/* Bounds. A province has tens of thousands of sites; these leave room for
 * that and stop a wrong file (a binary, a log) from eating the machine. */
#define RG_MAX_CSV_BYTES (256u << 20)    /* one CSV file */
#define RG_MAX_GEOJSON_BYTES (64u << 20) /* regions.geojson */
#define RG_MAX_RECORD 65536u             /* one CSV record, all fields */
#define RG_MAX_FIELDS 32u                /* fields in one CSV record */
#define RG_MAX_ROWS 2000000u             /* rows in one file */
#define RG_MAX_TEXT 1000u                /* one text field (geometry excepted) */
#define RG_MAX_LIST 64u                  /* items in a ;-list */
#define RG_MAX_ERRORS 10000u             /* errors kept and printed; all are counted */
#define RG_MAX_WARNINGS 100u
#define RG_MAXCOL 10
#define RG_COPY_CHUNK 65536u
/* bcrypt cost of device password hashes: ~52 ms of CPU per check at 10 on
 * the reference machine, what the gateway can afford when every logger
 * reconnects at once (docs/HJ212.md "Passwords", docs/PERFORMANCE.md). A
 * stored hash of a lower cost is replaced at the next load that gives the
 * password. Passed to sql/registry/upsert_device.sql as $1. */
#define RG_BCRYPT_COST "10"

/* The files, in reference order (what is loaded first is referenced by
 * what comes later). */
enum {
    RG_REGION,
    RG_DEPARTMENT,
    RG_ENTERPRISE,
    RG_SITE,
    RG_DEVICE,
    RG_PARAM,
    RG_UNIT,
    RG_LIMIT,
    RG_HJ212MAP,
    RG_NFILES
};

/* Column positions, in the order of each spec's cols[] (rg.c). */
enum { RG_REG_CODE, RG_REG_NAME, RG_REG_KIND, RG_REG_PARENT, RG_REG_GEOM };
enum { RG_DEP_CODE, RG_DEP_NAME, RG_DEP_DUTIES, RG_DEP_PHONE, RG_DEP_REGIONS };
enum {
    RG_ENT_CODE,
    RG_ENT_NAME,
    RG_ENT_INDUSTRY,
    RG_ENT_REGION,
    RG_ENT_REGULATOR,
    RG_ENT_ADDRESS,
    RG_ENT_LON,
    RG_ENT_LAT
};
enum {
    RG_SITE_CODE,
    RG_SITE_NAME,
    RG_SITE_KIND,
    RG_SITE_REGION,
    RG_SITE_ENTERPRISE,
    RG_SITE_TARGET,
    RG_SITE_LON,
    RG_SITE_LAT,
    RG_SITE_ACTIVE
};
enum {
    RG_DEV_CODE,
    RG_DEV_SITE,
    RG_DEV_PROTOCOL,
    RG_DEV_PASSWORD,
    RG_DEV_ST,
    RG_DEV_ACTIVE,
    RG_DEV_COMPLAINTS
};
enum { RG_PAR_CODE, RG_PAR_HJ, RG_PAR_HJ2005, RG_PAR_NAME, RG_PAR_UNIT, RG_PAR_MIN, RG_PAR_MAX };
enum { RG_UC_FROM, RG_UC_TO, RG_UC_FACTOR, RG_UC_OFFSET };
enum {
    RG_LIM_SITE,
    RG_LIM_KIND,
    RG_LIM_PARAM,
    RG_LIM_PERIOD,
    RG_LIM_CLASS,
    RG_LIM_LOWER,
    RG_LIM_UPPER,
    RG_LIM_STANDARD,
    RG_LIM_NOTE
};
enum { RG_MAP_ST, RG_MAP_HJ, RG_MAP_PARAM };

struct rg_spec {
    const char *file;
    int code_col;                    /* column others reference, -1 if none */
    const char *cols[RG_MAXCOL + 1]; /* documented columns, NULL-terminated */
    unsigned optional;               /* bit per column that the header may leave out */
};

/* One spec per file, indexed by RG_REGION..RG_HJ212MAP. */
extern const struct rg_spec rg_specs[RG_NFILES];

struct rg_row {
    unsigned line;      /* where the record (or GeoJSON feature) starts */
    bool bad;           /* at least one problem reported */
    unsigned rejected;  /* bit per column: already reported, do not report "missing" too */
    char *buf;          /* owns every field's bytes */
    char *f[RG_MAXCOL]; /* field text; NULL = empty, absent or rejected */
};

struct rg_file {
    const struct rg_spec *spec;
    char path[4096];
    bool present;
    bool usable; /* header (or GeoJSON structure) fine: codes can be trusted */
    bool loaded; /* upserted in this transaction */
    struct rg_row *rows;
    size_t nrows, caprows;
    size_t nerrs;
    long long inserted, updated;
    long long links_added, links_removed; /* departments: region links */
};

/* One line of the problem listing. */
struct rg_msg {
    int fid; /* file, or -1 for the database / the whole load */
    unsigned line;
    size_t seq;
    char *msg;
};

struct rg_load {
    const char *dir; /* borrowed */
    bool dry_run;
    PGconn *c;      /* owned; NULL until connected */
    bool map_table; /* core.hj212_map exists */
    struct rg_file f[RG_NFILES];
    struct rg_msg *errs;
    size_t nerrs, caperrs, nerrs_total;
    char *warns[RG_MAX_WARNINGS];
    size_t nwarns;
    /* Called in the transaction after the upserts, before COMMIT (or the dry
     * run's ROLLBACK); non-zero fails the load with why. ecoctl gives MQTT
     * devices their broker hashes here (bauth_stage_devices). May be NULL. */
    int (*before_commit)(PGconn *c, char *why, size_t cap);
};

/* Zeroes L and ties each file to its spec. dir is borrowed. */
void rg_load_init(struct rg_load *L, const char *dir, bool dry_run);

/* Frees what L owns (rows, messages, warnings) and closes its connection;
 * L itself is the caller's. */
void rg_load_free(struct rg_load *L);

/* Records a problem of file fid (-1: the load or the database) at line
 * (0: the whole file). Every problem is counted; the first RG_MAX_ERRORS
 * messages are kept for printing (a wholly wrong file should not flood a
 * terminal with a million lines, but the count still tells how bad it is). */
void rg_err(struct rg_load *L, int fid, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Like rg_err, but only explains: not counted as a problem. */
void rg_note(struct rg_load *L, int fid, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prints a warning on stderr now and keeps it (at most RG_MAX_WARNINGS)
 * for the --json summary. Warnings do not fail the load. */
void rg_warn(struct rg_load *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
