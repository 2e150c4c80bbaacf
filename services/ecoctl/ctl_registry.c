/* ecoctl registry load DIR: loads the monitoring network (regions,
 * departments, enterprises, sites, devices, parameters, unit conversions,
 * limits, HJ 212 code map) from the files of one directory.
 *
 * The load is all-or-nothing and tells the operator about every bad row at
 * once, because fixing a registry one error per run is miserable:
 *
 *   1. Every file present is read and parsed here (CSV per RFC 4180, GeoJSON
 *      through cJSON) and each row is checked on its own: columns, required
 *      fields, numbers, enumerations, code syntax, duplicates in the file.
 *      A rejected field is nulled, so what goes on is still well typed.
 *   2. In ONE transaction the rows are copied (COPY) into temporary staging
 *      tables, and set-based queries check what needs the database: references
 *      to rows of this load or of the database, geometry validity, points
 *      inside their region, hash collisions with existing rows.
 *   3. With any problem, everything is rolled back and the problems are listed
 *      as FILE:LINE: reason. Otherwise the staged rows are upserted by code in
 *      reference order and committed (or rolled back with --dry-run).
 *
 * Rows already in the database that the files do not mention are left alone:
 * a load adds and updates, it never deletes (a department's region list is
 * the exception: it is replaced by the list in departments.csv).
 *
 * Device passwords travel only inside the transaction and are hashed in SQL
 * with crypt(pw, gen_salt('bf', RG_BCRYPT_COST)); they are never printed. */
#include "ecoctl.h"

#include "csv.h"
#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

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
 * password. */
#define RG_BCRYPT_COST "10"

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

/* Column positions, in the order of each spec's cols[] below. */
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
enum { RG_DEV_CODE, RG_DEV_SITE, RG_DEV_PROTOCOL, RG_DEV_PASSWORD, RG_DEV_ST, RG_DEV_ACTIVE };
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

struct ctl_registry__load;
struct ctl_registry__file;
struct ctl_registry__row;

struct ctl_registry__spec {
    const char *file;
    int code_col;                    /* column others reference, -1 if none */
    const char *cols[RG_MAXCOL + 1]; /* documented columns, NULL-terminated */
    const char *stage_ddl;           /* the staging table, dropped at transaction end */
    const char *copy_sql;            /* COPY into it: ord, line, bad, then cols */
    /* per-row checks that need no database */
    void (*check)(struct ctl_registry__load *, struct ctl_registry__file *,
                  struct ctl_registry__row *);
    unsigned optional; /* bit per column that the header may leave out */
};

struct ctl_registry__row {
    unsigned line;      /* where the record (or GeoJSON feature) starts */
    bool bad;           /* at least one problem reported */
    unsigned rejected;  /* bit per column: already reported, do not report "missing" too */
    char *buf;          /* owns every field's bytes */
    char *f[RG_MAXCOL]; /* field text; NULL = empty, absent or rejected */
};

struct ctl_registry__file {
    const struct ctl_registry__spec *spec;
    char path[4096];
    bool present;
    bool usable; /* header (or GeoJSON structure) fine: codes can be trusted */
    bool loaded; /* upserted in this transaction */
    struct ctl_registry__row *rows;
    size_t nrows, caprows;
    size_t nerrs;
    long long inserted, updated;
    long long links_added, links_removed; /* departments: region links */
};

struct ctl_registry__err {
    int fid; /* file, or -1 for the database / the whole load */
    unsigned line;
    size_t seq;
    char *msg;
};

struct ctl_registry__load {
    const struct ctl_opts *o;
    const char *dir;
    bool dry_run;
    PGconn *c;
    bool map_table; /* core.hj212_map exists */
    struct ctl_registry__file f[RG_NFILES];
    struct ctl_registry__err *errs;
    size_t nerrs, caperrs, nerrs_total;
    char *warns[RG_MAX_WARNINGS];
    size_t nwarns;
};

static void ctl_registry__check_region(struct ctl_registry__load *L, struct ctl_registry__file *F,
                                       struct ctl_registry__row *R);
static void ctl_registry__check_department(struct ctl_registry__load *L,
                                           struct ctl_registry__file *F,
                                           struct ctl_registry__row *R);
static void ctl_registry__check_enterprise(struct ctl_registry__load *L,
                                           struct ctl_registry__file *F,
                                           struct ctl_registry__row *R);
static void ctl_registry__check_site(struct ctl_registry__load *L, struct ctl_registry__file *F,
                                     struct ctl_registry__row *R);
static void ctl_registry__check_device(struct ctl_registry__load *L, struct ctl_registry__file *F,
                                       struct ctl_registry__row *R);
static void ctl_registry__check_param(struct ctl_registry__load *L, struct ctl_registry__file *F,
                                      struct ctl_registry__row *R);
static void ctl_registry__check_unit(struct ctl_registry__load *L, struct ctl_registry__file *F,
                                     struct ctl_registry__row *R);
static void ctl_registry__check_limit(struct ctl_registry__load *L, struct ctl_registry__file *F,
                                      struct ctl_registry__row *R);
static void ctl_registry__check_map(struct ctl_registry__load *L, struct ctl_registry__file *F,
                                    struct ctl_registry__row *R);

static const struct ctl_registry__spec ctl_registry__specs[RG_NFILES] = {
    [RG_REGION] = {"regions.geojson",
                   RG_REG_CODE,
                   {"code", "name", "kind", "parent", "geometry"},
                   "CREATE TEMP TABLE rg_region (ord int, line int, bad bool, code text, name text,"
                   " kind text, parent text, gjson text, geom geometry) ON COMMIT DROP",
                   "COPY rg_region (ord, line, bad, code, name, kind, parent, gjson) FROM STDIN",
                   ctl_registry__check_region,
                   0},
    [RG_DEPARTMENT] = {"departments.csv",
                       RG_DEP_CODE,
                       {"code", "name", "duties", "phone", "regions"},
                       "CREATE TEMP TABLE rg_department (ord int, line int, bad bool, code text,"
                       " name text, duties text, phone text, regions text) ON COMMIT DROP",
                       "COPY rg_department FROM STDIN",
                       ctl_registry__check_department,
                       0},
    [RG_ENTERPRISE] = {"enterprises.csv",
                       RG_ENT_CODE,
                       {"code", "name", "industry", "region", "regulator", "address", "lon", "lat"},
                       "CREATE TEMP TABLE rg_enterprise (ord int, line int, bad bool, code text,"
                       " name text, industry text, region text, regulator text, address text,"
                       " lon float8, lat float8) ON COMMIT DROP",
                       "COPY rg_enterprise FROM STDIN",
                       ctl_registry__check_enterprise,
                       0},
    [RG_SITE] = {"sites.csv",
                 RG_SITE_CODE,
                 {"code", "name", "kind", "region", "enterprise", "target_class", "lon", "lat",
                  "active"},
                 "CREATE TEMP TABLE rg_site (ord int, line int, bad bool, code text, name text,"
                 " kind text, region text, enterprise text, target_class smallint, lon float8,"
                 " lat float8, active bool) ON COMMIT DROP",
                 "COPY rg_site FROM STDIN",
                 ctl_registry__check_site,
                 1u << RG_SITE_ACTIVE},
    [RG_DEVICE] = {"devices.csv",
                   RG_DEV_CODE,
                   {"code", "site", "protocol", "password", "hj212_st", "active"},
                   "CREATE TEMP TABLE rg_device (ord int, line int, bad bool, code text, site text,"
                   " protocol text, password text, hj212_st text, active bool) ON COMMIT DROP",
                   "COPY rg_device FROM STDIN",
                   ctl_registry__check_device,
                   1u << RG_DEV_ACTIVE},
    [RG_PARAM] = {"params.csv",
                  RG_PAR_CODE,
                  {"code", "hj212_code", "hj212_2005_code", "name", "unit", "valid_min",
                   "valid_max"},
                  "CREATE TEMP TABLE rg_param (ord int, line int, bad bool, code text,"
                  " hj212_code text, hj212_2005_code text, name text, unit text,"
                  " valid_min float8, valid_max float8) ON COMMIT DROP",
                  "COPY rg_param FROM STDIN",
                  ctl_registry__check_param,
                  0},
    [RG_UNIT] = {"unit_conversions.csv",
                 -1,
                 {"from_unit", "to_unit", "factor", "offset"},
                 "CREATE TEMP TABLE rg_unit (ord int, line int, bad bool, from_unit text,"
                 " to_unit text, factor float8, \"offset\" float8) ON COMMIT DROP",
                 "COPY rg_unit FROM STDIN",
                 ctl_registry__check_unit,
                 0},
    [RG_LIMIT] = {"limits.csv",
                  -1,
                  {"site", "site_kind", "param", "period", "class", "lower", "upper", "standard",
                   "note"},
                  "CREATE TEMP TABLE rg_limit (ord int, line int, bad bool, site text,"
                  " site_kind text, param text, period text, class smallint, lower float8,"
                  " upper float8, standard text, note text) ON COMMIT DROP",
                  "COPY rg_limit FROM STDIN",
                  ctl_registry__check_limit,
                  0},
    [RG_HJ212MAP] = {"hj212_map.csv",
                     -1,
                     {"st", "hj212_code", "param"},
                     "CREATE TEMP TABLE rg_hj212_map (ord int, line int, bad bool, st text,"
                     " hj212_code text, param text) ON COMMIT DROP",
                     "COPY rg_hj212_map FROM STDIN",
                     ctl_registry__check_map,
                     0},
};

static const char *const ctl_registry__region_kinds[] = {"city", "district", "county",
                                                         "town", "sea_area", NULL};
static const char *const ctl_registry__site_kinds[] = {
    "air", "noi", "water", "sea", "gas_outlet", "water_outlet", "mobile", NULL};
static const char *const ctl_registry__protocols[] = {"mqtt", "hj212", NULL};
static const char *const ctl_registry__periods[] = {"rt", "min", "hour", "day", NULL};

/* ---------------------------------------------------------------- errors */

static void ctl_registry__vrecord(struct ctl_registry__load *L, int fid, unsigned line,
                                  bool counted, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

/* Records one message for the FILE:LINE listing. Every problem is counted;
 * the first RG_MAX_ERRORS messages are kept for printing (a wholly wrong
 * file should not flood a terminal with a million lines, but the count still
 * tells how bad it is). Notes (counted = false) only explain. */
static void ctl_registry__vrecord(struct ctl_registry__load *L, int fid, unsigned line,
                                  bool counted, const char *fmt, va_list ap)
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
        struct ctl_registry__err *e = realloc(L->errs, cap * sizeof *e);
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

static void ctl_registry__err(struct ctl_registry__load *L, int fid, unsigned line, const char *fmt,
                              ...) __attribute__((format(printf, 4, 5)));

static void ctl_registry__err(struct ctl_registry__load *L, int fid, unsigned line, const char *fmt,
                              ...)
{
    va_list ap;
    va_start(ap, fmt);
    ctl_registry__vrecord(L, fid, line, true, fmt, ap);
    va_end(ap);
}

static void ctl_registry__note(struct ctl_registry__load *L, int fid, unsigned line,
                               const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void ctl_registry__note(struct ctl_registry__load *L, int fid, unsigned line,
                               const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ctl_registry__vrecord(L, fid, line, false, fmt, ap);
    va_end(ap);
}

static void ctl_registry__warn(struct ctl_registry__load *L, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void ctl_registry__warn(struct ctl_registry__load *L, const char *fmt, ...)
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

/* Database failures are not about a row: they name what was being done. */
static void ctl_registry__dberr(struct ctl_registry__load *L, const char *what)
{
    const char *m = PQerrorMessage(L->c);
    size_t n = strlen(m);
    while (n > 0 && (m[n - 1] == '\n' || m[n - 1] == ' '))
        n--;
    ctl_registry__err(L, -1, 0, "database: %s: %.*s", what, (int)n, m);
}

static int ctl_registry__err_cmp(const void *a, const void *b)
{
    const struct ctl_registry__err *x = a, *y = b;
    int fx = x->fid < 0 ? RG_NFILES : x->fid, fy = y->fid < 0 ? RG_NFILES : y->fid;
    if (fx != fy)
        return fx < fy ? -1 : 1;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* ------------------------------------------------------- small validators */

static bool ctl_registry__digit(int c)
{
    return c >= '0' && c <= '9';
}

static bool ctl_registry__alnum(int c)
{
    return ctl_registry__digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* core.* code syntax: ^[A-Za-z0-9_.-]{1,64}$ (the schema CHECK). */
static bool ctl_registry__is_code(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!ctl_registry__alnum((unsigned char)s[n]) && s[n] != '_' && s[n] != '.' && s[n] != '-')
            return false;
    return n >= 1 && n <= 64;
}

/* core.param code syntax: ^[a-z0-9_]{1,32}$. */
static bool ctl_registry__is_pcode(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!(s[n] >= 'a' && s[n] <= 'z') && !ctl_registry__digit((unsigned char)s[n]) &&
            s[n] != '_')
            return false;
    return n >= 1 && n <= 32;
}

/* Duty tokens: complaint categories and site kinds, ^[a-z0-9_]{1,32}$. */
static bool ctl_registry__is_token(const char *s)
{
    return ctl_registry__is_pcode(s);
}

/* HJ 212 pollutant codes (a21026, w01018, B02, 011, Leq, ...). */
static bool ctl_registry__is_hjcode(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!ctl_registry__alnum((unsigned char)s[n]))
            return false;
    return n >= 1 && n <= 16;
}

/* HJ 212 ST: two characters 0-9/A-Z (hj212.md §8.1). */
static bool ctl_registry__is_st(const char *s)
{
    for (int i = 0; i < 2; i++)
        if (!ctl_registry__digit((unsigned char)s[i]) && !(s[i] >= 'A' && s[i] <= 'Z'))
            return false;
    return s[2] == '\0';
}

/* HJ 212-2017 MN: 24 hex digits from an EPC-96 code (hj212.md §4). Upper
 * case as the standard writes it, so the gateway's lookup by MN is exact. */
static bool ctl_registry__is_mn(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!ctl_registry__digit((unsigned char)s[n]) && !(s[n] >= 'A' && s[n] <= 'F'))
            return false;
    return n == 24;
}

/* A device password goes into HJ 212 frames (PW=...;), so it may not hold
 * the frame's separators; printable ASCII otherwise. */
static bool ctl_registry__is_password(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (s[n] < 0x21 || s[n] > 0x7e || s[n] == ';' || s[n] == ',' || s[n] == '&' || s[n] == '=')
            return false;
    return n >= 1 && n <= 64;
}

static bool ctl_registry__is_phone(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!ctl_registry__digit((unsigned char)s[n]) && !strchr("+-() ", s[n]))
            return false;
    return n >= 1 && n <= 32;
}

/* Decimal numbers only: [+-]digits[.digits][e[+-]digits]. strtod alone would
 * also take hex, "inf" and "nan", which PostgreSQL reads differently or not
 * at all, and values it cannot represent are refused rather than rounded. */
static bool ctl_registry__number(const char *s, double *out)
{
    const char *p = s;
    bool digits = false;
    double d;

    if (*p == '+' || *p == '-')
        p++;
    while (ctl_registry__digit((unsigned char)*p)) {
        p++;
        digits = true;
    }
    if (*p == '.') {
        p++;
        while (ctl_registry__digit((unsigned char)*p)) {
            p++;
            digits = true;
        }
    }
    if (!digits)
        return false;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!ctl_registry__digit((unsigned char)*p))
            return false;
        while (ctl_registry__digit((unsigned char)*p))
            p++;
    }
    if (*p)
        return false;
    errno = 0;
    d = strtod(s, NULL);
    if (errno == ERANGE || !isfinite(d))
        return false;
    *out = d;
    return true;
}

/* Small integers: [+-]digits, at most 6 digits. */
static bool ctl_registry__integer(const char *s, long *out)
{
    const char *p = s;
    size_t n = 0;
    if (*p == '+' || *p == '-')
        p++;
    for (; ctl_registry__digit((unsigned char)p[n]); n++)
        ;
    if (n == 0 || n > 6 || p[n])
        return false;
    *out = strtol(s, NULL, 10);
    return true;
}

/* Strict UTF-8: no overlongs, no surrogates, nothing above U+10FFFF. */
static bool ctl_registry__utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t k;
        unsigned cp;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            k = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            k = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        for (size_t j = 1; j <= k; j++) {
            if (i + j >= n || (s[i + j] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + j] & 0x3f);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += k + 1;
    }
    return true;
}

/* A value quoted for a message: at most ~60 bytes, cut on a character
 * boundary, control characters shown as '?'. Returns out. */
static const char *ctl_registry__q(char *out, size_t cap, const char *v)
{
    size_t n = 0, i = 0;
    if (cap < 8)
        return "";
    out[n++] = '\'';
    for (; v[i] && n + 5 < cap && i < 60; i++) {
        unsigned char c = (unsigned char)v[i];
        /* do not split a multi-byte character at the cut */
        if (c >= 0xc0 && i + 4 > 60)
            break;
        out[n++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    while (i < 60 && v[i] && ((unsigned char)v[i] & 0xc0) == 0x80 && n + 5 < cap)
        out[n++] = v[i++];
    if (v[i] && n + 5 < cap) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n++] = '\'';
    out[n] = '\0';
    return out;
}

/* ------------------------------------------------------------ row helpers */

/* Reports a problem with one field and nulls it, so the staged row stays
 * well typed and the field is not reported a second time as missing. */
static void ctl_registry__reject(struct ctl_registry__load *L, struct ctl_registry__file *F,
                                 struct ctl_registry__row *R, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void ctl_registry__reject(struct ctl_registry__load *L, struct ctl_registry__file *F,
                                 struct ctl_registry__row *R, int col, const char *fmt, ...)
{
    char msg[900];
    va_list ap;
    int fid = (int)(F - L->f);

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (col >= 0) {
        ctl_registry__err(L, fid, R->line, "%s: %s", F->spec->cols[col], msg);
        R->f[col] = NULL;
        R->rejected |= 1u << col;
    } else {
        ctl_registry__err(L, fid, R->line, "%s", msg);
    }
    R->bad = true;
}

/* The field, or NULL; reports "required" when it must be there. */
static const char *ctl_registry__need(struct ctl_registry__load *L, struct ctl_registry__file *F,
                                      struct ctl_registry__row *R, int col, bool required)
{
    if (R->f[col])
        return R->f[col];
    if (required && !(R->rejected & (1u << col)))
        ctl_registry__reject(L, F, R, col, "is required");
    return NULL;
}

static const char *ctl_registry__code(struct ctl_registry__load *L, struct ctl_registry__file *F,
                                      struct ctl_registry__row *R, int col, bool required)
{
    char q[80];
    const char *v = ctl_registry__need(L, F, R, col, required);
    if (v && !ctl_registry__is_code(v)) {
        ctl_registry__reject(L, F, R, col, "%s is not a valid code (1-64 of A-Z a-z 0-9 _ . -)",
                             ctl_registry__q(q, sizeof q, v));
        return NULL;
    }
    return v;
}

static const char *ctl_registry__pcode(struct ctl_registry__load *L, struct ctl_registry__file *F,
                                       struct ctl_registry__row *R, int col, bool required)
{
    char q[80];
    const char *v = ctl_registry__need(L, F, R, col, required);
    if (v && !ctl_registry__is_pcode(v)) {
        ctl_registry__reject(L, F, R, col, "%s is not a valid parameter code (1-32 of a-z 0-9 _)",
                             ctl_registry__q(q, sizeof q, v));
        return NULL;
    }
    return v;
}

static const char *ctl_registry__text(struct ctl_registry__load *L, struct ctl_registry__file *F,
                                      struct ctl_registry__row *R, int col, bool required,
                                      size_t max)
{
    const char *v = ctl_registry__need(L, F, R, col, required);
    if (v && strlen(v) > max) {
        ctl_registry__reject(L, F, R, col, "longer than %zu bytes", max);
        return NULL;
    }
    return v;
}

static const char *ctl_registry__enum(struct ctl_registry__load *L, struct ctl_registry__file *F,
                                      struct ctl_registry__row *R, int col, bool required,
                                      const char *const *vals)
{
    char q[80], list[200];
    size_t n = 0;
    const char *v = ctl_registry__need(L, F, R, col, required);
    if (!v)
        return NULL;
    for (size_t i = 0; vals[i]; i++)
        if (strcmp(v, vals[i]) == 0)
            return v;
    list[0] = '\0';
    for (size_t i = 0; vals[i] && n + strlen(vals[i]) + 3 < sizeof list; i++)
        n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", vals[i]);
    ctl_registry__reject(L, F, R, col, "%s is not one of %s", ctl_registry__q(q, sizeof q, v),
                         list);
    return NULL;
}

/* A number in [min, max]; returns true when present and good. */
static bool ctl_registry__num(struct ctl_registry__load *L, struct ctl_registry__file *F,
                              struct ctl_registry__row *R, int col, bool required, double min,
                              double max, double *out)
{
    char q[80];
    const char *v = ctl_registry__need(L, F, R, col, required);
    if (!v)
        return false;
    if (!ctl_registry__number(v, out)) {
        ctl_registry__reject(L, F, R, col, "%s is not a number", ctl_registry__q(q, sizeof q, v));
        return false;
    }
    if (*out < min || *out > max) {
        ctl_registry__reject(L, F, R, col, "%s is out of range [%g, %g]",
                             ctl_registry__q(q, sizeof q, v), min, max);
        return false;
    }
    return true;
}

/* An integer in [min, max], rewritten in place in canonical form. */
static bool ctl_registry__int(struct ctl_registry__load *L, struct ctl_registry__file *F,
                              struct ctl_registry__row *R, int col, bool required, long min,
                              long max, long *out)
{
    char q[80];
    const char *v = ctl_registry__need(L, F, R, col, required);
    if (!v)
        return false;
    if (!ctl_registry__integer(v, out)) {
        ctl_registry__reject(L, F, R, col, "%s is not an integer", ctl_registry__q(q, sizeof q, v));
        return false;
    }
    if (*out < min || *out > max) {
        ctl_registry__reject(L, F, R, col, "%ld is out of range %ld..%ld", *out, min, max);
        return false;
    }
    /* the canonical form is never longer than what was written */
    snprintf(R->f[col], strlen(R->f[col]) + 1, "%ld", *out);
    return true;
}

/* lon/lat: both or neither; WGS 84 degrees. */
static bool ctl_registry__lonlat(struct ctl_registry__load *L, struct ctl_registry__file *F,
                                 struct ctl_registry__row *R, int lon_col, int lat_col,
                                 bool required)
{
    double lon, lat;
    bool have_lon = R->f[lon_col] != NULL, have_lat = R->f[lat_col] != NULL;
    bool ok_lon, ok_lat;

    if (!required && !have_lon && !have_lat)
        return false;
    if (!required && have_lon != have_lat) {
        ctl_registry__reject(L, F, R, have_lon ? lat_col : lon_col, "is required when %s is given",
                             F->spec->cols[have_lon ? lon_col : lat_col]);
        return false;
    }
    ok_lon = ctl_registry__num(L, F, R, lon_col, true, -180, 180, &lon);
    /* a latitude above 90 next to a longitude that would be a latitude is
     * almost always a swapped pair: say so */
    if (R->f[lat_col] && ctl_registry__number(R->f[lat_col], &lat) && fabs(lat) > 90 && ok_lon &&
        fabs(lon) <= 90 && fabs(lat) <= 180) {
        ctl_registry__reject(L, F, R, lat_col,
                             "%g is out of range [-90, 90] (lon and lat swapped?)", lat);
        return false;
    }
    ok_lat = ctl_registry__num(L, F, R, lat_col, true, -90, 90, &lat);
    return ok_lon && ok_lat;
}

/* A ;-separated list, trimmed and rewritten in place as "a;b;c" (empty
 * items dropped). Each item must satisfy `valid`; repeats are refused. */
static void ctl_registry__list(struct ctl_registry__load *L, struct ctl_registry__file *F,
                               struct ctl_registry__row *R, int col, bool (*valid)(const char *),
                               const char *what)
{
    char *items[RG_MAX_LIST];
    size_t n = 0, len = 0;
    char q[80], *s = R->f[col], *p, *out;

    if (!s)
        return;
    for (p = s;;) {
        char *end = strchr(p, ';');
        char *b = p, *e = end ? end : p + strlen(p);
        while (b < e && (*b == ' ' || *b == '\t'))
            b++;
        while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        *e = '\0';
        if (*b) {
            if (n == RG_MAX_LIST) {
                ctl_registry__reject(L, F, R, col, "more than %u items", RG_MAX_LIST);
                return;
            }
            if (!valid(b)) {
                ctl_registry__reject(L, F, R, col, "%s is not a valid %s",
                                     ctl_registry__q(q, sizeof q, b), what);
                return;
            }
            for (size_t i = 0; i < n; i++)
                if (strcmp(items[i], b) == 0) {
                    ctl_registry__reject(L, F, R, col, "%s is listed twice",
                                         ctl_registry__q(q, sizeof q, b));
                    return;
                }
            items[n++] = b;
        }
        if (!end)
            break;
        p = end + 1;
    }
    /* items point into s at increasing offsets, so compacting is safe */
    out = s;
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(items[i]);
        if (i)
            out[len++] = ';';
        memmove(out + len, items[i], k);
        len += k;
    }
    out[len] = '\0';
    if (len == 0)
        R->f[col] = NULL;
}

/* true/false, t/f, yes/no, y/n, 1/0 (any case), rewritten in place as t or f. */
static void ctl_registry__bool(struct ctl_registry__load *L, struct ctl_registry__file *F,
                               struct ctl_registry__row *R, int col)
{
    static const char *const yes[] = {"true", "t", "yes", "y", "1", NULL};
    static const char *const no[] = {"false", "f", "no", "n", "0", NULL};
    char q[80], *v = R->f[col];

    if (!v)
        return;
    for (int i = 0; yes[i]; i++)
        if (strcasecmp(v, yes[i]) == 0) {
            memcpy(v, "t", 2); /* in place: v holds one of the words above */
            return;
        }
    for (int i = 0; no[i]; i++)
        if (strcasecmp(v, no[i]) == 0) {
            memcpy(v, "f", 2);
            return;
        }
    ctl_registry__reject(L, F, R, col, "%s is not true or false", ctl_registry__q(q, sizeof q, v));
}

/* ------------------------------------------------------ per-file checks */

static void ctl_registry__check_region(struct ctl_registry__load *L, struct ctl_registry__file *F,
                                       struct ctl_registry__row *R)
{
    ctl_registry__code(L, F, R, RG_REG_CODE, true);
    ctl_registry__text(L, F, R, RG_REG_NAME, true, 200);
    ctl_registry__enum(L, F, R, RG_REG_KIND, true, ctl_registry__region_kinds);
    ctl_registry__code(L, F, R, RG_REG_PARENT, false);
    ctl_registry__need(L, F, R, RG_REG_GEOM, true);
}

static void ctl_registry__check_department(struct ctl_registry__load *L,
                                           struct ctl_registry__file *F,
                                           struct ctl_registry__row *R)
{
    char q[80];
    const char *phone;

    ctl_registry__code(L, F, R, RG_DEP_CODE, true);
    ctl_registry__text(L, F, R, RG_DEP_NAME, true, 200);
    ctl_registry__list(L, F, R, RG_DEP_DUTIES, ctl_registry__is_token, "duty (1-32 of a-z 0-9 _)");
    phone = ctl_registry__need(L, F, R, RG_DEP_PHONE, false);
    if (phone && !ctl_registry__is_phone(phone))
        ctl_registry__reject(L, F, R, RG_DEP_PHONE, "%s is not a phone number",
                             ctl_registry__q(q, sizeof q, phone));
    ctl_registry__list(L, F, R, RG_DEP_REGIONS, ctl_registry__is_code, "region code");
}

static void ctl_registry__check_enterprise(struct ctl_registry__load *L,
                                           struct ctl_registry__file *F,
                                           struct ctl_registry__row *R)
{
    ctl_registry__code(L, F, R, RG_ENT_CODE, true);
    ctl_registry__text(L, F, R, RG_ENT_NAME, true, 200);
    ctl_registry__text(L, F, R, RG_ENT_INDUSTRY, true, 100);
    ctl_registry__code(L, F, R, RG_ENT_REGION, true);
    ctl_registry__code(L, F, R, RG_ENT_REGULATOR, false);
    ctl_registry__text(L, F, R, RG_ENT_ADDRESS, false, 300);
    ctl_registry__lonlat(L, F, R, RG_ENT_LON, RG_ENT_LAT, true);
}

static void ctl_registry__check_site(struct ctl_registry__load *L, struct ctl_registry__file *F,
                                     struct ctl_registry__row *R)
{
    const char *kind;
    bool mobile, outlet;
    long cls;

    ctl_registry__code(L, F, R, RG_SITE_CODE, true);
    ctl_registry__text(L, F, R, RG_SITE_NAME, true, 200);
    kind = ctl_registry__enum(L, F, R, RG_SITE_KIND, true, ctl_registry__site_kinds);
    if (!kind) {
        /* without a kind the other rules cannot be chosen; check syntax only */
        ctl_registry__code(L, F, R, RG_SITE_REGION, false);
        ctl_registry__code(L, F, R, RG_SITE_ENTERPRISE, false);
        ctl_registry__lonlat(L, F, R, RG_SITE_LON, RG_SITE_LAT, false);
        ctl_registry__bool(L, F, R, RG_SITE_ACTIVE);
        return;
    }
    mobile = strcmp(kind, "mobile") == 0;
    outlet = strcmp(kind, "gas_outlet") == 0 || strcmp(kind, "water_outlet") == 0;
    ctl_registry__code(L, F, R, RG_SITE_REGION, !mobile);
    ctl_registry__code(L, F, R, RG_SITE_ENTERPRISE, outlet);
    if (strcmp(kind, "water") == 0)
        ctl_registry__int(L, F, R, RG_SITE_TARGET, true, 1, 5, &cls); /* GB 3838 I..V */
    else if (strcmp(kind, "sea") == 0)
        ctl_registry__int(L, F, R, RG_SITE_TARGET, true, 1, 4, &cls); /* GB 3097 1..4 */
    else if (R->f[RG_SITE_TARGET])
        ctl_registry__reject(L, F, R, RG_SITE_TARGET,
                             "only water (GB 3838, 1-5) and sea (GB 3097, 1-4) sites have a "
                             "target class");
    ctl_registry__lonlat(L, F, R, RG_SITE_LON, RG_SITE_LAT, !mobile);
    ctl_registry__bool(L, F, R, RG_SITE_ACTIVE);
}

static void ctl_registry__check_device(struct ctl_registry__load *L, struct ctl_registry__file *F,
                                       struct ctl_registry__row *R)
{
    char q[80];
    const char *code, *proto, *pw, *st;

    code = ctl_registry__code(L, F, R, RG_DEV_CODE, true);
    ctl_registry__code(L, F, R, RG_DEV_SITE, true);
    proto = ctl_registry__enum(L, F, R, RG_DEV_PROTOCOL, true, ctl_registry__protocols);
    pw = ctl_registry__need(L, F, R, RG_DEV_PASSWORD, false);
    /* never echo the password, not even a bad one */
    if (pw && !ctl_registry__is_password(pw))
        ctl_registry__reject(L, F, R, RG_DEV_PASSWORD,
                             "must be 1-64 printable ASCII characters without spaces or ; , & =");
    st = ctl_registry__need(L, F, R, RG_DEV_ST, proto && strcmp(proto, "hj212") == 0);
    if (st && !ctl_registry__is_st(st)) {
        ctl_registry__reject(L, F, R, RG_DEV_ST, "%s is not an HJ 212 system code (two of 0-9 A-Z)",
                             ctl_registry__q(q, sizeof q, st));
    }
    if (proto && strcmp(proto, "hj212") == 0 && code && !ctl_registry__is_mn(code))
        ctl_registry__reject(L, F, R, RG_DEV_CODE,
                             "%s is not an HJ 212-2017 MN (the code of an hj212 device is its MN: "
                             "24 upper-case hex digits)",
                             ctl_registry__q(q, sizeof q, code));
    ctl_registry__bool(L, F, R, RG_DEV_ACTIVE);
    /* a missing hj212 password is checked against the database: a device
     * that already has a stored hash keeps it */
}

static void ctl_registry__check_param(struct ctl_registry__load *L, struct ctl_registry__file *F,
                                      struct ctl_registry__row *R)
{
    char q[80];
    const char *v;
    double lo, hi;
    bool have_lo, have_hi;

    ctl_registry__pcode(L, F, R, RG_PAR_CODE, true);
    for (int col = RG_PAR_HJ; col <= RG_PAR_HJ2005; col++) {
        v = ctl_registry__need(L, F, R, col, false);
        if (v && !ctl_registry__is_hjcode(v))
            ctl_registry__reject(L, F, R, col, "%s is not an HJ 212 code (1-16 of A-Z a-z 0-9)",
                                 ctl_registry__q(q, sizeof q, v));
    }
    ctl_registry__text(L, F, R, RG_PAR_NAME, true, 200);
    ctl_registry__text(L, F, R, RG_PAR_UNIT, true, 32);
    have_lo = ctl_registry__num(L, F, R, RG_PAR_MIN, true, -1e300, 1e300, &lo);
    have_hi = ctl_registry__num(L, F, R, RG_PAR_MAX, true, -1e300, 1e300, &hi);
    if (have_lo && have_hi && !(lo < hi))
        ctl_registry__reject(L, F, R, RG_PAR_MAX, "must be greater than valid_min (%g)", lo);
}

static void ctl_registry__check_unit(struct ctl_registry__load *L, struct ctl_registry__file *F,
                                     struct ctl_registry__row *R)
{
    const char *from, *to;
    double factor, offset;

    from = ctl_registry__text(L, F, R, RG_UC_FROM, true, 32);
    to = ctl_registry__text(L, F, R, RG_UC_TO, true, 32);
    if (from && to && strcmp(from, to) == 0)
        ctl_registry__reject(L, F, R, RG_UC_TO, "is the same unit as from_unit");
    if (ctl_registry__num(L, F, R, RG_UC_FACTOR, true, -1e300, 1e300, &factor) && factor == 0)
        ctl_registry__reject(L, F, R, RG_UC_FACTOR, "must not be 0");
    ctl_registry__num(L, F, R, RG_UC_OFFSET, false, -1e300, 1e300, &offset);
}

static void ctl_registry__check_limit(struct ctl_registry__load *L, struct ctl_registry__file *F,
                                      struct ctl_registry__row *R)
{
    const char *site, *kind;
    double lo = 0, hi = 0;
    bool have_lo, have_hi;
    long cls;

    site = ctl_registry__code(L, F, R, RG_LIM_SITE, false);
    kind = ctl_registry__enum(L, F, R, RG_LIM_KIND, false, ctl_registry__site_kinds);
    if (!(R->rejected & (1u << RG_LIM_SITE | 1u << RG_LIM_KIND)) && !site == !kind)
        ctl_registry__reject(L, F, R, -1,
                             site ? "site and site_kind: give one of them, not both"
                                  : "site and site_kind: one of them is required");
    ctl_registry__pcode(L, F, R, RG_LIM_PARAM, true);
    ctl_registry__enum(L, F, R, RG_LIM_PERIOD, true, ctl_registry__periods);
    if (kind && strcmp(kind, "sea") == 0)
        ctl_registry__int(L, F, R, RG_LIM_CLASS, false, 1, 4, &cls);
    else
        ctl_registry__int(L, F, R, RG_LIM_CLASS, false, 1, 5, &cls);
    have_lo = ctl_registry__num(L, F, R, RG_LIM_LOWER, false, -1e300, 1e300, &lo);
    have_hi = ctl_registry__num(L, F, R, RG_LIM_UPPER, false, -1e300, 1e300, &hi);
    if (!have_lo && !have_hi && !(R->rejected & (1u << RG_LIM_LOWER | 1u << RG_LIM_UPPER)))
        ctl_registry__reject(L, F, R, -1, "lower and upper: at least one is required");
    if (have_lo && have_hi && lo > hi)
        ctl_registry__reject(L, F, R, RG_LIM_UPPER, "is below lower (%g)", lo);
    ctl_registry__text(L, F, R, RG_LIM_STANDARD, true, 200);
    ctl_registry__text(L, F, R, RG_LIM_NOTE, false, RG_MAX_TEXT);
}

static void ctl_registry__check_map(struct ctl_registry__load *L, struct ctl_registry__file *F,
                                    struct ctl_registry__row *R)
{
    char q[80];
    const char *v;

    v = ctl_registry__need(L, F, R, RG_MAP_ST, true);
    if (v && !ctl_registry__is_st(v))
        ctl_registry__reject(L, F, R, RG_MAP_ST, "%s is not an HJ 212 system code (two of 0-9 A-Z)",
                             ctl_registry__q(q, sizeof q, v));
    v = ctl_registry__need(L, F, R, RG_MAP_HJ, true);
    if (v && !ctl_registry__is_hjcode(v))
        ctl_registry__reject(L, F, R, RG_MAP_HJ, "%s is not an HJ 212 code (1-16 of A-Z a-z 0-9)",
                             ctl_registry__q(q, sizeof q, v));
    ctl_registry__pcode(L, F, R, RG_MAP_PARAM, true);
}

/* -------------------------------------------------------- duplicate keys */

struct ctl_registry__key {
    char *key;
    unsigned line;
    size_t row;
};

static int ctl_registry__key_cmp(const void *a, const void *b)
{
    const struct ctl_registry__key *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c)
        return c;
    if (x->row != y->row)
        return x->row < y->row ? -1 : 1;
    return 0;
}

/* Reports every row whose key (the given columns joined) repeats an earlier
 * row's. Rows whose `need` column is empty have no key and are skipped.
 * Sorting keeps this O(n log n) for province-sized files. */
static int ctl_registry__dups(struct ctl_registry__load *L, struct ctl_registry__file *F,
                              const int *cols, int ncols, int need, const char *what)
{
    struct ctl_registry__key *k = NULL;
    size_t n = 0;
    int rc = 0;

    if (F->nrows == 0)
        return 0;
    k = calloc(F->nrows, sizeof *k);
    if (!k)
        return -ENOMEM;
    for (size_t i = 0; i < F->nrows; i++) {
        struct ctl_registry__row *R = &F->rows[i];
        size_t len = 0, pos = 0;
        if (!R->f[need])
            continue;
        for (int c = 0; c < ncols; c++)
            len += (R->f[cols[c]] ? strlen(R->f[cols[c]]) : 0) + 1;
        k[n].key = malloc(len + 1);
        if (!k[n].key) {
            rc = -ENOMEM;
            goto out;
        }
        for (int c = 0; c < ncols; c++) {
            const char *v = R->f[cols[c]] ? R->f[cols[c]] : "";
            size_t m = strlen(v);
            memcpy(k[n].key + pos, v, m);
            pos += m;
            k[n].key[pos++] = '\x1f'; /* cannot occur in a field: control chars are refused */
        }
        k[n].key[pos] = '\0';
        k[n].line = R->line;
        k[n].row = i;
        n++;
    }
    qsort(k, n, sizeof *k, ctl_registry__key_cmp);
    for (size_t i = 1; i < n; i++) {
        size_t first = i - 1;
        char q[80];
        while (first > 0 && strcmp(k[first - 1].key, k[i].key) == 0)
            first--;
        if (strcmp(k[first].key, k[i].key) != 0)
            continue;
        if (ncols == 1)
            ctl_registry__err(L, (int)(F - L->f), k[i].line, "duplicate %s %s (first on line %u)",
                              what, ctl_registry__q(q, sizeof q, F->rows[k[i].row].f[cols[0]]),
                              k[first].line);
        else
            ctl_registry__err(L, (int)(F - L->f), k[i].line, "duplicate %s (same as line %u)", what,
                              k[first].line);
        F->rows[k[i].row].bad = true;
    }
out:
    for (size_t i = 0; i < n; i++)
        free(k[i].key);
    free(k);
    return rc;
}

static int ctl_registry__file_dups(struct ctl_registry__load *L, int fid)
{
    static const int code[] = {0};
    static const int hj[] = {RG_PAR_HJ};
    static const int unit[] = {RG_UC_FROM, RG_UC_TO};
    static const int lim[] = {RG_LIM_SITE, RG_LIM_KIND, RG_LIM_PARAM, RG_LIM_PERIOD, RG_LIM_CLASS};
    static const int map[] = {RG_MAP_ST, RG_MAP_HJ};
    struct ctl_registry__file *F = &L->f[fid];
    int rc;

    switch (fid) {
    case RG_PARAM:
        rc = ctl_registry__dups(L, F, code, 1, 0, "code");
        return rc ? rc : ctl_registry__dups(L, F, hj, 1, RG_PAR_HJ, "hj212_code");
    case RG_UNIT:
        return ctl_registry__dups(L, F, unit, 2, RG_UC_FROM, "conversion from_unit/to_unit");
    case RG_LIMIT:
        return ctl_registry__dups(L, F, lim, 5, RG_LIM_PARAM,
                                  "limit for site/site_kind, param, period and class");
    case RG_HJ212MAP:
        return ctl_registry__dups(L, F, map, 2, RG_MAP_ST, "mapping for st/hj212_code");
    default:
        return ctl_registry__dups(L, F, code, 1, 0, "code");
    }
}

/* ------------------------------------------------------------- file input */

/* Reads a whole regular file of at most `cap` bytes. */
static int ctl_registry__slurp(const char *path, size_t cap, char **out, size_t *len)
{
    struct stat st;
    char *buf = NULL;
    size_t got = 0;
    int fd, rc = 0;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = -EINVAL;
        goto out;
    }
    if ((uintmax_t)st.st_size > cap) {
        rc = -EFBIG;
        goto out;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        rc = -ENOMEM;
        goto out;
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            goto out;
        }
        if (n == 0)
            break; /* shrank under us: take what is there */
        got += (size_t)n;
    }
    buf[got] = '\0';
    *out = buf;
    *len = got;
    buf = NULL;
out:
    free(buf);
    close(fd);
    return rc;
}

/* Appends a row made of `n` field strings for columns `cols[i]`. Checks the
 * bytes of every field (UTF-8, no control characters, length) on the way,
 * because the database would refuse them in the middle of the COPY. */
static struct ctl_registry__row *ctl_registry__add_row(struct ctl_registry__load *L,
                                                       struct ctl_registry__file *F, unsigned line,
                                                       const int *cols, const char *const *vals,
                                                       const size_t *lens, size_t n)
{
    struct ctl_registry__row *R;
    size_t total = 0, pos = 0;

    if (F->nrows == F->caprows) {
        size_t cap = F->caprows ? F->caprows * 2 : 256;
        struct ctl_registry__row *rows = realloc(F->rows, cap * sizeof *rows);
        if (!rows)
            return NULL;
        F->rows = rows;
        F->caprows = cap;
    }
    for (size_t i = 0; i < n; i++)
        total += lens[i] + 1;
    R = &F->rows[F->nrows];
    memset(R, 0, sizeof *R);
    R->line = line;
    R->buf = malloc(total ? total : 1);
    if (!R->buf)
        return NULL;
    F->nrows++;
    for (size_t i = 0; i < n; i++) {
        char *v = R->buf + pos;
        int col = cols[i];
        bool ctl = false;
        if (lens[i])
            memcpy(v, vals[i], lens[i]);
        v[lens[i]] = '\0';
        pos += lens[i] + 1;
        if (col < 0)
            continue;
        R->f[col] = lens[i] ? v : NULL;
        if (!lens[i])
            continue;
        for (size_t j = 0; j < lens[i]; j++)
            if ((unsigned char)v[j] < 0x20 || v[j] == 0x7f)
                ctl = true;
        if (!ctl_registry__utf8((const unsigned char *)v, lens[i]))
            ctl_registry__reject(L, F, R, col, "is not valid UTF-8");
        else if (ctl && !(F->spec == &ctl_registry__specs[RG_REGION] && col == RG_REG_GEOM))
            ctl_registry__reject(L, F, R, col, "contains a control character (tab, newline, ...)");
        else if (lens[i] > RG_MAX_TEXT && col != RG_REG_GEOM)
            ctl_registry__reject(L, F, R, col, "longer than %u bytes", RG_MAX_TEXT);
    }
    return R;
}

static void ctl_registry__parse_csv(struct ctl_registry__load *L, int fid, const char *buf,
                                    size_t len)
{
    static const struct csv_limits lim = {RG_MAX_RECORD, RG_MAX_RECORD, RG_MAX_FIELDS};
    struct ctl_registry__file *F = &L->f[fid];
    const struct ctl_registry__spec *S = F->spec;
    struct csv *r = malloc(sizeof *r);
    int colmap[RG_MAX_FIELDS];
    unsigned nhdr = 0;
    bool have_header = false;

    /* csv skips the byte order mark spreadsheet programs like to write */
    if (!r || csv_init_mem(r, buf, len, &lim) != 0) {
        ctl_registry__err(L, fid, 0, "out of memory");
        free(r);
        return;
    }
    for (;;) {
        int rc = csv_next(r);
        unsigned start = (unsigned)r->line;
        unsigned nf = (unsigned)r->nfields;
        const char *vals[RG_MAX_FIELDS];
        struct ctl_registry__row *R;

        if (rc == 0)
            break;
        if (rc < 0) {
            ctl_registry__err(L, fid, start, "%s", r->err);
            if (!have_header) {
                have_header = true; /* no usable header: rows are not checked */
                F->usable = false;
                nhdr = 0;
            }
            continue;
        }
        if (!have_header) {
            bool seen[RG_MAXCOL] = {false};
            have_header = true;
            F->usable = true;
            nhdr = nf;
            for (unsigned i = 0; i < nf; i++) {
                const char *h = r->field[i];
                char q[80];
                int k = -1;
                for (int c = 0; S->cols[c]; c++)
                    if (strcmp(h, S->cols[c]) == 0)
                        k = c;
                colmap[i] = k;
                if (k < 0) {
                    char list[200];
                    size_t m = 0;
                    for (int c = 0; S->cols[c] && m + 20 < sizeof list; c++)
                        m += (size_t)snprintf(list + m, sizeof list - m, "%s%s", c ? "," : "",
                                              S->cols[c]);
                    ctl_registry__err(L, fid, start, "header: unknown column %s (expected %s)",
                                      ctl_registry__q(q, sizeof q, h), list);
                    F->usable = false;
                } else if (seen[k]) {
                    ctl_registry__err(L, fid, start, "header: column %s appears twice", S->cols[k]);
                    F->usable = false;
                } else {
                    seen[k] = true;
                }
            }
            for (int c = 0; S->cols[c]; c++)
                if (!seen[c] && !(S->optional & (1u << c))) {
                    ctl_registry__err(L, fid, start, "header: missing column %s", S->cols[c]);
                    F->usable = false;
                }
            if (!F->usable)
                ctl_registry__note(L, fid, start,
                                   "note: rows of this file are not checked until the header "
                                   "is fixed");
            continue;
        }
        if (F->nrows >= RG_MAX_ROWS) {
            ctl_registry__err(L, fid, start, "more than %u rows; split the file", RG_MAX_ROWS);
            break;
        }
        for (unsigned i = 0; i < nf; i++)
            vals[i] = r->field[i];
        if (!F->usable || nf != nhdr) {
            /* keep only the code, so references to this row from other
             * files do not turn into a flood of follow-on errors */
            int cols[1] = {S->code_col};
            size_t lens[1] = {0};
            const char *v[1] = {""};
            if (F->usable)
                ctl_registry__err(L, fid, start, "%u fields, the header has %u", nf, nhdr);
            for (unsigned i = 0; i < nf && i < nhdr && S->code_col >= 0; i++)
                if (colmap[i] == S->code_col && ctl_registry__is_code(vals[i])) {
                    v[0] = vals[i];
                    lens[0] = r->flen[i];
                }
            cols[0] = S->code_col >= 0 ? S->code_col : -1;
            R = ctl_registry__add_row(L, F, start, cols, v, lens, 1);
            if (!R) {
                ctl_registry__err(L, fid, start, "out of memory");
                break;
            }
            R->bad = true;
            continue;
        }
        R = ctl_registry__add_row(L, F, start, colmap, vals, r->flen, nf);
        if (!R) {
            ctl_registry__err(L, fid, start, "out of memory");
            break;
        }
        S->check(L, F, R);
    }
    if (!have_header) {
        ctl_registry__err(L, fid, 1, "empty file: a header row is required");
        F->usable = false;
    }
    csv_close(r);
    free(r);
}

/* Line numbers of the objects directly inside the root's "features" array,
 * in order. cJSON keeps no positions, so a tiny tokenizer (strings with
 * escapes, nesting, the last key at the root level) finds them; it runs
 * only on text cJSON has already accepted. */
static int ctl_registry__feature_lines(const char *s, size_t n, unsigned **out, size_t *count)
{
    unsigned line = 1, *v = NULL;
    size_t cnt = 0, cap = 0, str_start = 0;
    int depth = 0, fdepth = -1;
    bool in_str = false, esc = false, key_features = false;

    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\n')
            line++;
        if (in_str) {
            if (esc)
                esc = false;
            else if (c == '\\')
                esc = true;
            else if (c == '"') {
                in_str = false;
                if (depth == 1)
                    key_features = i - str_start == 8 && memcmp(s + str_start, "features", 8) == 0;
            }
            continue;
        }
        if (c == '"') {
            in_str = true;
            str_start = i + 1;
        } else if (c == '{' || c == '[') {
            if (c == '{' && depth == fdepth) {
                if (cnt == cap) {
                    size_t nc = cap ? cap * 2 : 64;
                    unsigned *nv = realloc(v, nc * sizeof *nv);
                    if (!nv) {
                        free(v);
                        return -ENOMEM;
                    }
                    v = nv;
                    cap = nc;
                }
                v[cnt++] = line;
            }
            if (c == '[' && depth == 1 && key_features && fdepth < 0)
                fdepth = 2;
            depth++;
        } else if (c == '}' || c == ']') {
            depth--;
            if (c == ']' && depth == 1 && fdepth == 2)
                fdepth = -3; /* done: never match again */
        } else if (c == ',' && depth == 1) {
            key_features = false;
        }
    }
    *out = v;
    *count = cnt;
    return 0;
}

static unsigned ctl_registry__line_at(const char *s, size_t off)
{
    unsigned line = 1;
    for (size_t i = 0; i < off; i++)
        if (s[i] == '\n')
            line++;
    return line;
}

/* Checks one GeoJSON position: 2 or 3 finite numbers, lon/lat in range. */
static bool ctl_registry__position(const cJSON *p, double *lon, double *lat, char *why, size_t cap)
{
    int n = cJSON_GetArraySize(p);
    const cJSON *x, *y, *z;
    if (!cJSON_IsArray(p) || n < 2 || n > 3) {
        snprintf(why, cap, "a position must be an array of 2 or 3 numbers");
        return false;
    }
    x = cJSON_GetArrayItem(p, 0);
    y = cJSON_GetArrayItem(p, 1);
    z = n == 3 ? cJSON_GetArrayItem(p, 2) : NULL;
    if (!cJSON_IsNumber(x) || !cJSON_IsNumber(y) || (z && !cJSON_IsNumber(z)) ||
        !isfinite(x->valuedouble) || !isfinite(y->valuedouble)) {
        snprintf(why, cap, "a position must be an array of 2 or 3 numbers");
        return false;
    }
    *lon = x->valuedouble;
    *lat = y->valuedouble;
    if (*lon < -180 || *lon > 180 || *lat < -90 || *lat > 90) {
        snprintf(why, cap, "position [%g, %g] is outside lon -180..180 / lat -90..90%s", *lon, *lat,
                 fabs(*lon) <= 90 && fabs(*lat) > 90 ? " (lon and lat swapped?)" : "");
        return false;
    }
    return true;
}

/* A polygon: non-empty array of closed rings of at least 4 positions. */
static bool ctl_registry__polygon(const cJSON *poly, int pno, char *why, size_t cap)
{
    const cJSON *ring;
    int rno = 0;
    if (!cJSON_IsArray(poly) || cJSON_GetArraySize(poly) < 1) {
        snprintf(why, cap, "polygon %d must be a non-empty array of rings", pno);
        return false;
    }
    cJSON_ArrayForEach(ring, poly)
    {
        double lon0 = 0, lat0 = 0, lon = 0, lat = 0;
        const cJSON *p;
        int k = 0;
        rno++;
        if (!cJSON_IsArray(ring) || cJSON_GetArraySize(ring) < 4) {
            snprintf(why, cap, "ring %d of polygon %d needs at least 4 positions", rno, pno);
            return false;
        }
        cJSON_ArrayForEach(p, ring)
        {
            char pw[160];
            if (!ctl_registry__position(p, &lon, &lat, pw, sizeof pw)) {
                snprintf(why, cap, "ring %d of polygon %d: %s", rno, pno, pw);
                return false;
            }
            if (k++ == 0) {
                lon0 = lon;
                lat0 = lat;
            }
        }
        if (lon != lon0 || lat != lat0) {
            snprintf(why, cap,
                     "ring %d of polygon %d is not closed (last position differs from "
                     "the first)",
                     rno, pno);
            return false;
        }
    }
    return true;
}

/* Checks a GeoJSON geometry and prints it back with only "type" and
 * "coordinates" (a stray "crs" member would make PostGIS set another SRID).
 * Returns a string to free with cJSON_free, or NULL with `why` set. */
static char *ctl_registry__geometry(const cJSON *g, char *why, size_t cap)
{
    const cJSON *type, *coords, *poly;
    cJSON *copy = NULL;
    char *out = NULL;
    int pno = 0;

    if (!cJSON_IsObject(g)) {
        snprintf(why, cap, "must be a GeoJSON geometry object");
        return NULL;
    }
    type = cJSON_GetObjectItemCaseSensitive(g, "type");
    coords = cJSON_GetObjectItemCaseSensitive(g, "coordinates");
    if (!cJSON_IsString(type) || (strcmp(type->valuestring, "Polygon") != 0 &&
                                  strcmp(type->valuestring, "MultiPolygon") != 0)) {
        snprintf(why, cap, "type must be Polygon or MultiPolygon");
        return NULL;
    }
    if (strcmp(type->valuestring, "Polygon") == 0) {
        if (!ctl_registry__polygon(coords, 1, why, cap))
            return NULL;
    } else {
        if (!cJSON_IsArray(coords) || cJSON_GetArraySize(coords) < 1) {
            snprintf(why, cap, "MultiPolygon coordinates must be a non-empty array");
            return NULL;
        }
        cJSON_ArrayForEach(poly, coords)
        {
            if (!ctl_registry__polygon(poly, ++pno, why, cap))
                return NULL;
        }
    }
    copy = cJSON_CreateObject();
    /* references: the copy borrows the parsed tree, nothing is duplicated */
    if (!copy || !cJSON_AddItemReferenceToObject(copy, "type", (cJSON *)type) ||
        !cJSON_AddItemReferenceToObject(copy, "coordinates", (cJSON *)coords) ||
        json_print(copy, &out, NULL) != 0) {
        snprintf(why, cap, "out of memory");
        out = NULL;
    }
    cJSON_Delete(copy);
    return out;
}

/* A property as a string; numbers are refused so that a code like 330902
 * is not silently turned into "330902.0" by some GIS export. */
static int ctl_registry__prop(const cJSON *props, const char *key, const char **out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(props, key);
    *out = NULL;
    if (!it || cJSON_IsNull(it))
        return 0;
    if (!cJSON_IsString(it) || !it->valuestring)
        return -EBADMSG;
    *out = it->valuestring;
    return 0;
}

static void ctl_registry__parse_geojson(struct ctl_registry__load *L, const char *buf, size_t len)
{
    struct ctl_registry__file *F = &L->f[RG_REGION];
    cJSON *root = NULL;
    const cJSON *features, *feat, *type;
    const char *end = NULL;
    unsigned *lines = NULL;
    size_t nlines = 0, idx = 0;

    /* json_parse caps documents at JSON_MAX_BYTES (sized for MQTT payloads);
     * region boundaries are bigger, so the file gets its own cap (checked by
     * the caller) and the same trailing-data rule. */
    root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    if (!root) {
        size_t off = end && end >= buf && end <= buf + len ? (size_t)(end - buf) : 0;
        ctl_registry__err(L, RG_REGION, ctl_registry__line_at(buf, off),
                          "invalid JSON near byte %zu", off);
        goto out;
    }
    for (const char *p = end; p && p < buf + len; p++)
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
            ctl_registry__err(L, RG_REGION, ctl_registry__line_at(buf, (size_t)(p - buf)),
                              "trailing data after the JSON document");
            goto out;
        }
    type = cJSON_GetObjectItemCaseSensitive(root, "type");
    features = cJSON_GetObjectItemCaseSensitive(root, "features");
    if (!cJSON_IsObject(root) || !cJSON_IsString(type) ||
        strcmp(type->valuestring, "FeatureCollection") != 0 || !cJSON_IsArray(features)) {
        ctl_registry__err(L, RG_REGION, 1,
                          "must be a GeoJSON FeatureCollection with a \"features\" array");
        goto out;
    }
    if (ctl_registry__feature_lines(buf, len, &lines, &nlines) != 0) {
        ctl_registry__err(L, RG_REGION, 0, "out of memory");
        goto out;
    }
    F->usable = true;
    cJSON_ArrayForEach(feat, features)
    {
        static const int cols[5] = {RG_REG_CODE, RG_REG_NAME, RG_REG_KIND, RG_REG_PARENT,
                                    RG_REG_GEOM};
        unsigned line = idx < nlines ? lines[idx] : 1;
        const cJSON *props, *ftype;
        const char *v[5] = {NULL, NULL, NULL, NULL, NULL};
        size_t lens[5];
        char why[300], *geom = NULL;
        unsigned badmask = 0;
        struct ctl_registry__row *R;

        idx++;
        if (F->nrows >= RG_MAX_ROWS) {
            ctl_registry__err(L, RG_REGION, line, "more than %u features", RG_MAX_ROWS);
            break;
        }
        ftype = cJSON_GetObjectItemCaseSensitive(feat, "type");
        props = cJSON_GetObjectItemCaseSensitive(feat, "properties");
        if (!cJSON_IsObject(feat) || !cJSON_IsString(ftype) ||
            strcmp(ftype->valuestring, "Feature") != 0) {
            ctl_registry__err(L, RG_REGION, line, "feature %zu: not a GeoJSON Feature", idx);
            continue;
        }
        if (!cJSON_IsObject(props)) {
            ctl_registry__err(L, RG_REGION, line, "feature %zu: \"properties\" must be an object",
                              idx);
            continue;
        }
        for (int c = 0; c < 4; c++)
            if (ctl_registry__prop(props, ctl_registry__specs[RG_REGION].cols[c], &v[c]) != 0) {
                ctl_registry__err(L, RG_REGION, line, "%s: must be a string",
                                  ctl_registry__specs[RG_REGION].cols[c]);
                badmask |= 1u << c;
            }
        geom = ctl_registry__geometry(cJSON_GetObjectItemCaseSensitive(feat, "geometry"), why,
                                      sizeof why);
        v[4] = geom;
        for (int c = 0; c < 5; c++)
            lens[c] = v[c] ? strlen(v[c]) : 0;
        R = ctl_registry__add_row(L, F, line, cols, v, lens, 5);
        if (!R) {
            cJSON_free(geom);
            ctl_registry__err(L, RG_REGION, line, "out of memory");
            break;
        }
        if (!geom) {
            char q[80];
            ctl_registry__err(
                L, RG_REGION, line, "geometry%s%s: %s", R->f[RG_REG_CODE] ? " of " : "",
                R->f[RG_REG_CODE] ? ctl_registry__q(q, sizeof q, R->f[RG_REG_CODE]) : "", why);
            R->rejected |= 1u << RG_REG_GEOM;
            R->bad = true;
        }
        cJSON_free(geom);
        if (badmask) {
            R->bad = true;
            R->rejected |= badmask;
        }
        ctl_registry__check_region(L, F, R);
    }
out:
    free(lines);
    cJSON_Delete(root);
}

/* ------------------------------------------------------------- database */

static int ctl_registry__exec(struct ctl_registry__load *L, const char *sql, const char *what)
{
    PGresult *r = PQexec(L->c, sql);
    int rc = 0;
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        ctl_registry__dberr(L, what);
        rc = -EIO;
    }
    PQclear(r);
    return rc;
}

/* COPY text format writer: escapes as PostgreSQL's COPY expects and sends
 * in bounded chunks. */
struct ctl_registry__cp {
    PGconn *c;
    int rc;
    size_t len;
    char buf[RG_COPY_CHUNK];
};

static void ctl_registry__cp_flush(struct ctl_registry__cp *cp)
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

static void ctl_registry__cp_put(struct ctl_registry__cp *cp, const char *s, size_t n)
{
    while (n > 0 && !cp->rc) {
        size_t k = sizeof cp->buf - cp->len;
        if (k == 0) {
            ctl_registry__cp_flush(cp);
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

static void ctl_registry__cp_field(struct ctl_registry__cp *cp, const char *s)
{
    const char *run;
    if (!s) {
        ctl_registry__cp_put(cp, "\\N", 2);
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
        ctl_registry__cp_put(cp, run, (size_t)(s - run));
        ctl_registry__cp_put(cp, esc, 2);
        run = s + 1;
    }
    ctl_registry__cp_put(cp, run, (size_t)(s - run));
}

/* Copies a file's rows into its staging table: ord, line, bad, columns. */
static int ctl_registry__stage(struct ctl_registry__load *L, int fid)
{
    struct ctl_registry__file *F = &L->f[fid];
    struct ctl_registry__cp *cp = NULL;
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
    r = PQexec(L->c, F->spec->copy_sql);
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        PQclear(r);
        ctl_registry__dberr(L, what);
        rc = -EIO;
        goto out;
    }
    PQclear(r);
    for (size_t i = 0; i < F->nrows && !cp->rc; i++) {
        const struct ctl_registry__row *R = &F->rows[i];
        char head[64];
        int n = snprintf(head, sizeof head, "%zu\t%u\t%c", i, R->line, R->bad ? 't' : 'f');
        ctl_registry__cp_put(cp, head, (size_t)n);
        for (int c = 0; c < ncols; c++) {
            ctl_registry__cp_put(cp, "\t", 1);
            ctl_registry__cp_field(cp, R->f[c]);
        }
        ctl_registry__cp_put(cp, "\n", 1);
    }
    ctl_registry__cp_flush(cp);
    if (PQputCopyEnd(L->c, cp->rc ? "client error" : NULL) != 1)
        cp->rc = -EIO;
    while ((r = PQgetResult(L->c)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && !rc) {
            ctl_registry__dberr(L, what);
            rc = -EIO;
        }
        PQclear(r);
    }
    if (cp->rc && !rc) {
        ctl_registry__dberr(L, what);
        rc = cp->rc;
    }
out:
    free(cp);
    return rc;
}

/* Runs a check query returning (line, message) rows and records each as an
 * error of file `fid`. */
static int ctl_registry__run_check(struct ctl_registry__load *L, int fid, const char *sql)
{
    PGresult *r = PQexec(L->c, sql);
    char what[200];
    int rc = 0;

    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(what, sizeof what, "checking %s", L->f[fid].spec->file);
        ctl_registry__dberr(L, what);
        rc = -EIO;
    } else {
        for (int i = 0; i < PQntuples(r); i++)
            ctl_registry__err(L, fid, (unsigned)strtoul(PQgetvalue(r, i, 0), NULL, 10), "%s",
                              PQgetvalue(r, i, 1));
    }
    PQclear(r);
    return rc;
}

/* Converts the staged GeoJSON to geometry. One statement normally; if
 * PostGIS refuses some feature, again feature by feature under savepoints,
 * so each bad one is named and the transaction stays usable. */
static int ctl_registry__geoms(struct ctl_registry__load *L)
{
    static const char conv[] =
        "UPDATE rg_region SET geom = ST_Multi(ST_Force2D(ST_SetSRID(ST_GeomFromGeoJSON(gjson),"
        " 4326))) WHERE gjson IS NOT NULL";
    PGresult *r, *q = NULL;
    int rc = 0;

    if (ctl_registry__exec(L, "SAVEPOINT rg_geom", "savepoint"))
        return -EIO;
    r = PQexec(L->c, conv);
    if (PQresultStatus(r) == PGRES_COMMAND_OK) {
        PQclear(r);
        return ctl_registry__exec(L, "RELEASE SAVEPOINT rg_geom", "release savepoint");
    }
    PQclear(r);
    if (ctl_registry__exec(L, "ROLLBACK TO SAVEPOINT rg_geom", "rollback to savepoint"))
        return -EIO;
    q = PQexec(L->c, "SELECT ord, line, coalesce(code, '?') FROM rg_region"
                     " WHERE gjson IS NOT NULL ORDER BY ord");
    if (PQresultStatus(q) != PGRES_TUPLES_OK) {
        ctl_registry__dberr(L, "reading staged regions");
        rc = -EIO;
        goto out;
    }
    for (int i = 0; i < PQntuples(q) && !rc; i++) {
        const char *p[1] = {PQgetvalue(q, i, 0)};
        r = PQexecParams(L->c,
                         "UPDATE rg_region SET geom = ST_Multi(ST_Force2D(ST_SetSRID("
                         "ST_GeomFromGeoJSON(gjson), 4326))) WHERE ord = $1::int",
                         1, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(r) == PGRES_COMMAND_OK) {
            PQclear(r);
            rc = ctl_registry__exec(L, "RELEASE SAVEPOINT rg_geom", "release savepoint") ||
                 ctl_registry__exec(L, "SAVEPOINT rg_geom", "savepoint");
            continue;
        }
        {
            const char *m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
            ctl_registry__err(L, RG_REGION, (unsigned)strtoul(PQgetvalue(q, i, 1), NULL, 10),
                              "geometry of region %s rejected by PostGIS: %s", PQgetvalue(q, i, 2),
                              m ? m : "error");
        }
        PQclear(r);
        rc = ctl_registry__exec(L, "ROLLBACK TO SAVEPOINT rg_geom", "rollback to savepoint");
    }
    if (!rc)
        rc = ctl_registry__exec(L, "RELEASE SAVEPOINT rg_geom", "release savepoint");
out:
    PQclear(q);
    return rc;
}

struct ctl_registry__dbcheck {
    int fid;   /* the file whose lines are reported */
    int needs; /* a file whose codes are referenced; skipped if present but unusable */
    const char *sql;
};

/* Checks that need the database. Each returns (line, message). A reference
 * is good when the code is in this load (even on a bad row: that row is
 * reported already) or in the database. */
static const struct ctl_registry__dbcheck ctl_registry__dbchecks[] = {
    {RG_REGION, RG_REGION,
     "SELECT s.line, format('parent: unknown region %L (not in this file nor in the database)',"
     " s.parent) FROM rg_region s WHERE s.parent IS NOT NULL"
     " AND NOT EXISTS (SELECT 1 FROM rg_region r WHERE r.code = s.parent)"
     " AND NOT EXISTS (SELECT 1 FROM core.region r WHERE r.code = s.parent) ORDER BY s.ord"},
    {RG_REGION, -1,
     "SELECT line, format('geometry of region %s is not valid: %s', code, ST_IsValidReason(geom))"
     " FROM rg_region WHERE geom IS NOT NULL AND NOT ST_IsValid(geom) ORDER BY ord"},
    {RG_REGION, -1,
     "SELECT line, format('geometry of region %s is empty', code) FROM rg_region"
     " WHERE geom IS NOT NULL AND ST_IsEmpty(geom) ORDER BY ord"},
    /* the parent graph after this load must be a forest */
    {RG_REGION, RG_REGION,
     "WITH RECURSIVE m AS ("
     "  (SELECT DISTINCT ON (code) code, parent FROM rg_region WHERE code IS NOT NULL)"
     "  UNION ALL SELECT code, parent FROM core.region r"
     "  WHERE NOT EXISTS (SELECT 1 FROM rg_region s WHERE s.code = r.code)),"
     " w (start, cur) AS (SELECT code, parent FROM m WHERE parent IS NOT NULL"
     "  UNION SELECT w.start, m.parent FROM w JOIN m ON m.code = w.cur"
     "  WHERE m.parent IS NOT NULL AND w.cur <> w.start)"
     " SELECT s.line, format('parent: region %s would be its own ancestor', s.code)"
     " FROM rg_region s WHERE EXISTS (SELECT 1 FROM w WHERE w.start = s.code AND w.cur = s.code)"
     " ORDER BY s.ord"},
    {RG_DEPARTMENT, RG_REGION,
     "SELECT s.line, format('regions: unknown region %L', x.r) FROM rg_department s"
     " CROSS JOIN LATERAL unnest(string_to_array(s.regions, ';')) AS x(r)"
     " WHERE NOT EXISTS (SELECT 1 FROM rg_region g WHERE g.code = x.r)"
     " AND NOT EXISTS (SELECT 1 FROM core.region g WHERE g.code = x.r) ORDER BY s.ord"},
    {RG_ENTERPRISE, RG_REGION,
     "SELECT s.line, format('region: unknown region %L', s.region) FROM rg_enterprise s"
     " WHERE s.region IS NOT NULL"
     " AND NOT EXISTS (SELECT 1 FROM rg_region g WHERE g.code = s.region)"
     " AND NOT EXISTS (SELECT 1 FROM core.region g WHERE g.code = s.region) ORDER BY s.ord"},
    {RG_ENTERPRISE, RG_DEPARTMENT,
     "SELECT s.line, format('regulator: unknown department %L', s.regulator)"
     " FROM rg_enterprise s WHERE s.regulator IS NOT NULL"
     " AND NOT EXISTS (SELECT 1 FROM rg_department d WHERE d.code = s.regulator)"
     " AND NOT EXISTS (SELECT 1 FROM core.department d WHERE d.code = s.regulator)"
     " ORDER BY s.ord"},
    {RG_ENTERPRISE, RG_REGION,
     "SELECT s.line, format('lon/lat: point (%s %s) is outside region %s', s.lon, s.lat,"
     " s.region) FROM rg_enterprise s JOIN rg_rgeom g ON g.code = s.region"
     " WHERE s.lon IS NOT NULL AND s.lat IS NOT NULL"
     " AND NOT ST_Covers(g.geom, ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326)) ORDER BY s.ord"},
    {RG_SITE, RG_REGION,
     "SELECT s.line, format('region: unknown region %L', s.region) FROM rg_site s"
     " WHERE s.region IS NOT NULL"
     " AND NOT EXISTS (SELECT 1 FROM rg_region g WHERE g.code = s.region)"
     " AND NOT EXISTS (SELECT 1 FROM core.region g WHERE g.code = s.region) ORDER BY s.ord"},
    {RG_SITE, RG_ENTERPRISE,
     "SELECT s.line, format('enterprise: unknown enterprise %L', s.enterprise) FROM rg_site s"
     " WHERE s.enterprise IS NOT NULL"
     " AND NOT EXISTS (SELECT 1 FROM rg_enterprise e WHERE e.code = s.enterprise)"
     " AND NOT EXISTS (SELECT 1 FROM core.enterprise e WHERE e.code = s.enterprise)"
     " ORDER BY s.ord"},
    {RG_SITE, RG_REGION,
     "SELECT s.line, format('lon/lat: point (%s %s) is outside region %s', s.lon, s.lat,"
     " s.region) FROM rg_site s JOIN rg_rgeom g ON g.code = s.region"
     " WHERE s.lon IS NOT NULL AND s.lat IS NOT NULL"
     " AND NOT ST_Covers(g.geom, ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326)) ORDER BY s.ord"},
    {RG_DEVICE, RG_SITE,
     "SELECT s.line, format('site: unknown site %L', s.site) FROM rg_device s"
     " WHERE s.site IS NOT NULL"
     " AND NOT EXISTS (SELECT 1 FROM rg_site t WHERE t.code = s.site)"
     " AND NOT EXISTS (SELECT 1 FROM core.site t WHERE t.code = s.site) ORDER BY s.ord"},
    {RG_DEVICE, -1,
     "SELECT s.line, 'password: is required for an hj212 device (none given, none stored)'"
     " FROM rg_device s WHERE s.protocol = 'hj212' AND s.password IS NULL"
     " AND NOT EXISTS (SELECT 1 FROM core.device d"
     "  WHERE d.code = s.code AND d.password_hash IS NOT NULL) ORDER BY s.ord"},
    {RG_PARAM, -1,
     "SELECT s.line, format('hj212_code: %L is already used by parameter %s in the database',"
     " s.hj212_code, p.code) FROM rg_param s JOIN core.param p"
     " ON p.hj212_code = s.hj212_code AND p.code <> s.code"
     " WHERE NOT EXISTS (SELECT 1 FROM rg_param t WHERE t.code = p.code) ORDER BY s.ord"},
    {RG_LIMIT, RG_SITE,
     "SELECT s.line, format('site: unknown site %L', s.site) FROM rg_limit s"
     " WHERE s.site IS NOT NULL"
     " AND NOT EXISTS (SELECT 1 FROM rg_site t WHERE t.code = s.site)"
     " AND NOT EXISTS (SELECT 1 FROM core.site t WHERE t.code = s.site) ORDER BY s.ord"},
    {RG_LIMIT, RG_PARAM,
     "SELECT s.line, format('param: unknown parameter %L', s.param) FROM rg_limit s"
     " WHERE s.param IS NOT NULL"
     " AND NOT EXISTS (SELECT 1 FROM rg_param p WHERE p.code = s.param)"
     " AND NOT EXISTS (SELECT 1 FROM core.param p WHERE p.code = s.param) ORDER BY s.ord"},
    {RG_HJ212MAP, RG_PARAM,
     "SELECT s.line, format('param: unknown parameter %L', s.param) FROM rg_hj212_map s"
     " WHERE s.param IS NOT NULL"
     " AND NOT EXISTS (SELECT 1 FROM rg_param p WHERE p.code = s.param)"
     " AND NOT EXISTS (SELECT 1 FROM core.param p WHERE p.code = s.param) ORDER BY s.ord"},
};

/* Region geometry as it will be after this load, for point-in-region
 * checks: the staged geometry where the file defines the region (only if
 * valid: an invalid one is reported and would make GEOS throw), else the
 * database's. */
static const char ctl_registry__rgeom_sql[] =
    "CREATE TEMP TABLE rg_rgeom ON COMMIT DROP AS"
    " (SELECT DISTINCT ON (code) code, geom FROM rg_region"
    "  WHERE code IS NOT NULL AND geom IS NOT NULL AND ST_IsValid(geom) AND NOT ST_IsEmpty(geom))"
    " UNION ALL"
    " SELECT code, geom FROM core.region r"
    " WHERE NOT EXISTS (SELECT 1 FROM rg_region s WHERE s.code = r.code)";

/* Upserts, in reference order. Each returns (inserted, updated); a row is
 * only rewritten when something in it changed, so a repeated load leaves
 * the tables (and their dead-tuple counts) alone. */
static const char *const ctl_registry__upserts[RG_NFILES] = {
    [RG_REGION] = "WITH u AS (INSERT INTO core.region AS t (code, name, kind, parent, geom)"
                  " SELECT code, name, kind, parent, geom FROM rg_region ORDER BY ord"
                  " ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind,"
                  " parent = EXCLUDED.parent, geom = EXCLUDED.geom"
                  " WHERE (t.name, t.kind, t.parent) IS DISTINCT FROM"
                  " (EXCLUDED.name, EXCLUDED.kind, EXCLUDED.parent)"
                  " OR NOT ST_OrderingEquals(t.geom, EXCLUDED.geom)"
                  " RETURNING (t.xmax = 0) AS ins)"
                  " SELECT count(*) FILTER (WHERE ins), count(*) FILTER (WHERE NOT ins) FROM u",
    [RG_DEPARTMENT] =
        "WITH u AS (INSERT INTO core.department AS t (code, name, duties, phone)"
        " SELECT code, name, coalesce(string_to_array(duties, ';'), '{}'), phone"
        " FROM rg_department ORDER BY ord"
        " ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, duties = EXCLUDED.duties,"
        " phone = EXCLUDED.phone"
        " WHERE (t.name, t.duties, t.phone) IS DISTINCT FROM"
        " (EXCLUDED.name, EXCLUDED.duties, EXCLUDED.phone)"
        " RETURNING (t.xmax = 0) AS ins)"
        " SELECT count(*) FILTER (WHERE ins), count(*) FILTER (WHERE NOT ins) FROM u",
    [RG_ENTERPRISE] =
        "WITH u AS (INSERT INTO core.enterprise AS t"
        " (code, name, industry, region, regulator, address, geom)"
        " SELECT code, name, industry, region, regulator, address,"
        " ST_SetSRID(ST_MakePoint(lon, lat), 4326) FROM rg_enterprise ORDER BY ord"
        " ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, industry = EXCLUDED.industry,"
        " region = EXCLUDED.region, regulator = EXCLUDED.regulator,"
        " address = EXCLUDED.address, geom = EXCLUDED.geom"
        " WHERE (t.name, t.industry, t.region, t.regulator, t.address) IS DISTINCT FROM"
        " (EXCLUDED.name, EXCLUDED.industry, EXCLUDED.region, EXCLUDED.regulator,"
        " EXCLUDED.address) OR NOT ST_OrderingEquals(t.geom, EXCLUDED.geom)"
        " RETURNING (t.xmax = 0) AS ins)"
        " SELECT count(*) FILTER (WHERE ins), count(*) FILTER (WHERE NOT ins) FROM u",
    /* `active` left out of the file (or empty) keeps what the database has */
    [RG_SITE] =
        "WITH u AS (INSERT INTO core.site AS t"
        " (code, name, kind, region, enterprise, target_class, geom, active)"
        " SELECT s.code, s.name, s.kind, s.region, s.enterprise, s.target_class,"
        " CASE WHEN s.lon IS NOT NULL THEN ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326) END,"
        " coalesce(s.active, d.active, true)"
        " FROM rg_site s LEFT JOIN core.site d ON d.code = s.code ORDER BY s.ord"
        " ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind,"
        " region = EXCLUDED.region, enterprise = EXCLUDED.enterprise,"
        " target_class = EXCLUDED.target_class, geom = EXCLUDED.geom, active = EXCLUDED.active"
        " WHERE (t.name, t.kind, t.region, t.enterprise, t.target_class, t.active)"
        " IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.kind, EXCLUDED.region,"
        " EXCLUDED.enterprise, EXCLUDED.target_class, EXCLUDED.active)"
        " OR (t.geom IS NULL) <> (EXCLUDED.geom IS NULL)"
        " OR NOT ST_OrderingEquals(t.geom, EXCLUDED.geom)"
        " RETURNING (t.xmax = 0) AS ins)"
        " SELECT count(*) FILTER (WHERE ins), count(*) FILTER (WHERE NOT ins) FROM u",
    /* A stored hash is kept when the file's password still matches it and
     * its bcrypt cost is RG_BCRYPT_COST or more (so a repeated load changes
     * nothing), or when the file leaves the password empty. A weaker hash
     * whose password the file gives is re-hashed at the current cost. */
    [RG_DEVICE] =
        "WITH u AS (INSERT INTO core.device AS t"
        " (code, site, protocol, password_hash, hj212_st, active)"
        " SELECT s.code, s.site, s.protocol,"
        " CASE WHEN s.password IS NULL THEN d.password_hash"
        "  WHEN d.password_hash IS NOT NULL"
        "  AND coalesce(substring(d.password_hash from '^\\$2[abxy]\\$([0-9]{2})\\$')::int, 0)"
        "  >= " RG_BCRYPT_COST
        "  AND d.password_hash = crypt(s.password, d.password_hash) THEN d.password_hash"
        "  ELSE crypt(s.password, gen_salt('bf', " RG_BCRYPT_COST ")) END,"
        " s.hj212_st, coalesce(s.active, d.active, true)"
        " FROM rg_device s LEFT JOIN core.device d ON d.code = s.code ORDER BY s.ord"
        " ON CONFLICT (code) DO UPDATE SET site = EXCLUDED.site, protocol = EXCLUDED.protocol,"
        " password_hash = EXCLUDED.password_hash, hj212_st = EXCLUDED.hj212_st,"
        " active = EXCLUDED.active"
        " WHERE (t.site, t.protocol, t.password_hash, t.hj212_st, t.active) IS DISTINCT FROM"
        " (EXCLUDED.site, EXCLUDED.protocol, EXCLUDED.password_hash, EXCLUDED.hj212_st,"
        " EXCLUDED.active)"
        " RETURNING (t.xmax = 0) AS ins)"
        " SELECT count(*) FILTER (WHERE ins), count(*) FILTER (WHERE NOT ins) FROM u",
    [RG_PARAM] =
        "WITH u AS (INSERT INTO core.param AS t"
        " (code, hj212_code, hj212_2005_code, name, unit, valid_min, valid_max)"
        " SELECT code, hj212_code, hj212_2005_code, name, unit, valid_min, valid_max"
        " FROM rg_param ORDER BY ord"
        " ON CONFLICT (code) DO UPDATE SET hj212_code = EXCLUDED.hj212_code,"
        " hj212_2005_code = EXCLUDED.hj212_2005_code, name = EXCLUDED.name,"
        " unit = EXCLUDED.unit, valid_min = EXCLUDED.valid_min, valid_max = EXCLUDED.valid_max"
        " WHERE (t.hj212_code, t.hj212_2005_code, t.name, t.unit, t.valid_min, t.valid_max)"
        " IS DISTINCT FROM (EXCLUDED.hj212_code, EXCLUDED.hj212_2005_code, EXCLUDED.name,"
        " EXCLUDED.unit, EXCLUDED.valid_min, EXCLUDED.valid_max)"
        " RETURNING (t.xmax = 0) AS ins)"
        " SELECT count(*) FILTER (WHERE ins), count(*) FILTER (WHERE NOT ins) FROM u",
    [RG_UNIT] =
        "WITH u AS (INSERT INTO core.unit_conversion AS t (from_unit, to_unit, factor, \"offset\")"
        " SELECT from_unit, to_unit, factor, coalesce(\"offset\", 0) FROM rg_unit ORDER BY ord"
        " ON CONFLICT (from_unit, to_unit) DO UPDATE SET factor = EXCLUDED.factor,"
        " \"offset\" = EXCLUDED.\"offset\""
        " WHERE (t.factor, t.\"offset\") IS DISTINCT FROM (EXCLUDED.factor, EXCLUDED.\"offset\")"
        " RETURNING (t.xmax = 0) AS ins)"
        " SELECT count(*) FILTER (WHERE ins), count(*) FILTER (WHERE NOT ins) FROM u",
    /* the conflict target spells out the expressions of core.limit's
     * unique index limit_key, so PostgreSQL can infer it */
    [RG_LIMIT] = "WITH u AS (INSERT INTO core.limit AS t"
                 " (site, site_kind, param, period, class, lower, upper, standard, note)"
                 " SELECT site, site_kind, param, period, class, lower, upper, standard, note"
                 " FROM rg_limit ORDER BY ord"
                 " ON CONFLICT ((coalesce(site, '')), (coalesce(site_kind, '')), param, period,"
                 " (coalesce(class, 0)))"
                 " DO UPDATE SET lower = EXCLUDED.lower, upper = EXCLUDED.upper,"
                 " standard = EXCLUDED.standard, note = EXCLUDED.note"
                 " WHERE (t.lower, t.upper, t.standard, t.note) IS DISTINCT FROM"
                 " (EXCLUDED.lower, EXCLUDED.upper, EXCLUDED.standard, EXCLUDED.note)"
                 " RETURNING (t.xmax = 0) AS ins)"
                 " SELECT count(*) FILTER (WHERE ins), count(*) FILTER (WHERE NOT ins) FROM u",
    /* core.hj212_map may come without a unique constraint to infer, so the
     * upsert is spelled as update-then-insert */
    [RG_HJ212MAP] =
        "WITH upd AS (UPDATE core.hj212_map t SET param = s.param FROM rg_hj212_map s"
        " WHERE t.st = s.st AND t.hj212_code = s.hj212_code AND t.param IS DISTINCT FROM s.param"
        " RETURNING 1),"
        " ins AS (INSERT INTO core.hj212_map (st, hj212_code, param)"
        " SELECT st, hj212_code, param FROM rg_hj212_map s WHERE NOT EXISTS"
        " (SELECT 1 FROM core.hj212_map t WHERE t.st = s.st AND t.hj212_code = s.hj212_code)"
        " ORDER BY ord RETURNING 1)"
        " SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM upd)",
};

/* A department's region list in the file replaces its links. */
static const char ctl_registry__links_sql[] =
    "WITH want AS (SELECT DISTINCT s.code AS department, x.r AS region FROM rg_department s"
    "  CROSS JOIN LATERAL unnest(string_to_array(s.regions, ';')) AS x(r)),"
    " del AS (DELETE FROM core.department_region d USING rg_department s"
    "  WHERE d.department = s.code AND NOT EXISTS (SELECT 1 FROM want w"
    "  WHERE w.department = d.department AND w.region = d.region) RETURNING 1),"
    " ins AS (INSERT INTO core.department_region (department, region)"
    "  SELECT department, region FROM want ON CONFLICT DO NOTHING RETURNING 1)"
    " SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM del)";

static int ctl_registry__counts(struct ctl_registry__load *L, const char *sql, const char *what,
                                long long *a, long long *b)
{
    PGresult *r = PQexec(L->c, sql);
    int rc = 0;
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        ctl_registry__dberr(L, what);
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
static int ctl_registry__db(struct ctl_registry__load *L)
{
    PGresult *r;
    int rc = 0;
    char what[200];

    if (ctl_registry__exec(L, "SET client_encoding = 'UTF8'", "set client_encoding") ||
        ctl_registry__exec(L, "BEGIN", "begin"))
        return -EIO;
    /* two loads at once would each validate against a database the other
     * is about to change */
    if (ctl_registry__exec(L, "SELECT pg_advisory_xact_lock(hashtext('ecowatch registry load'))",
                           "lock"))
        goto fail;
    for (int fid = 0; fid < RG_NFILES; fid++) {
        snprintf(what, sizeof what, "creating staging table for %s", L->f[fid].spec->file);
        if (ctl_registry__exec(L, L->f[fid].spec->stage_ddl, what))
            goto fail;
    }
    for (int fid = 0; fid < RG_NFILES; fid++) {
        if (!L->f[fid].present)
            continue;
        if (ctl_registry__stage(L, fid))
            goto fail;
    }
    if (L->f[RG_REGION].present && ctl_registry__geoms(L))
        goto fail;
    /* temporary tables are never analyzed by autovacuum; without numbers the
     * planner guesses nested loops over 50 000 rows */
    if (ctl_registry__exec(L,
                           "ANALYZE rg_region, rg_department, rg_enterprise, rg_site, rg_device,"
                           " rg_param, rg_unit, rg_limit, rg_hj212_map",
                           "analyze staging tables") ||
        ctl_registry__exec(L, ctl_registry__rgeom_sql, "collecting region geometry") ||
        ctl_registry__exec(L, "ANALYZE rg_rgeom", "analyze region geometry"))
        goto fail;
    r = PQexec(L->c, "SELECT to_regclass('core.hj212_map') IS NOT NULL");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        PQclear(r);
        ctl_registry__dberr(L, "looking for core.hj212_map");
        goto fail;
    }
    L->map_table = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    for (size_t i = 0; i < sizeof ctl_registry__dbchecks / sizeof ctl_registry__dbchecks[0]; i++) {
        const struct ctl_registry__dbcheck *k = &ctl_registry__dbchecks[i];
        if (!L->f[k->fid].present || !L->f[k->fid].usable)
            continue;
        if (k->needs >= 0 && L->f[k->needs].present && !L->f[k->needs].usable)
            continue; /* the referenced file is unreadable: its codes are unknown */
        if (ctl_registry__run_check(L, k->fid, k->sql))
            goto fail;
    }
    if (L->nerrs_total > 0) {
        ctl_registry__exec(L, "ROLLBACK", "rollback");
        return -EBADMSG;
    }
    for (int fid = 0; fid < RG_NFILES; fid++) {
        struct ctl_registry__file *F = &L->f[fid];
        if (!F->present)
            continue;
        if (fid == RG_HJ212MAP && !L->map_table) {
            ctl_registry__warn(L,
                               "%s: table core.hj212_map does not exist in this database (it "
                               "needs a newer schema); the file was checked but not loaded",
                               F->path);
            continue;
        }
        snprintf(what, sizeof what, "loading %s", F->spec->file);
        if (ctl_registry__counts(L, ctl_registry__upserts[fid], what, &F->inserted, &F->updated))
            goto fail;
        if (fid == RG_DEPARTMENT &&
            ctl_registry__counts(L, ctl_registry__links_sql, "loading department regions",
                                 &F->links_added, &F->links_removed))
            goto fail;
        F->loaded = true;
    }
    if (L->dry_run)
        return ctl_registry__exec(L, "ROLLBACK", "rollback") ? -EIO : 0;
    /* deferred constraints (region parents) are checked here */
    rc = ctl_registry__exec(L, "COMMIT", "commit");
    return rc ? -EIO : 0;
fail:
    if (PQtransactionStatus(L->c) != PQTRANS_IDLE)
        ctl_registry__exec(L, "ROLLBACK", "rollback");
    return -EIO;
}

/* --------------------------------------------------------------- output */

static void ctl_registry__print_errors(struct ctl_registry__load *L)
{
    if (L->nerrs > 1)
        qsort(L->errs, L->nerrs, sizeof *L->errs, ctl_registry__err_cmp);
    for (size_t i = 0; i < L->nerrs; i++) {
        const struct ctl_registry__err *e = &L->errs[i];
        if (e->fid < 0)
            fprintf(stderr, "ecoctl: registry load: %s\n", e->msg);
        else if (e->line == 0)
            fprintf(stderr, "%s: %s\n", L->f[e->fid].path, e->msg);
        else
            fprintf(stderr, "%s:%u: %s\n", L->f[e->fid].path, e->line, e->msg);
    }
    if (L->nerrs_total > L->nerrs)
        fprintf(stderr, "ecoctl: registry load: ... and %zu more problems not shown\n",
                L->nerrs_total - L->nerrs);
}

static void ctl_registry__print_text(const struct ctl_registry__load *L, int rc, double secs)
{
    if (rc == 0) {
        for (int fid = 0; fid < RG_NFILES; fid++) {
            const struct ctl_registry__file *F = &L->f[fid];
            long long unchanged;
            if (!F->present)
                continue;
            if (!F->loaded) {
                printf("%-22s %7zu rows  checked, not loaded\n", F->spec->file, F->nrows);
                continue;
            }
            unchanged = (long long)F->nrows - F->inserted - F->updated;
            printf("%-22s %7zu rows  %lld new, %lld changed, %lld unchanged", F->spec->file,
                   F->nrows, F->inserted, F->updated, unchanged);
            if (fid == RG_DEPARTMENT)
                printf("; region links %lld added, %lld removed", F->links_added, F->links_removed);
            printf("\n");
        }
        printf("registry load: %s in %.2f s\n",
               L->dry_run ? "dry run checked everything and rolled back" : "committed", secs);
    } else if (rc == -EBADMSG) {
        size_t files = 0;
        for (int fid = 0; fid < RG_NFILES; fid++)
            files += L->f[fid].nerrs > 0;
        fprintf(stderr, "registry load: %zu problem%s in %zu file%s; nothing was loaded\n",
                L->nerrs_total, L->nerrs_total == 1 ? "" : "s", files, files == 1 ? "" : "s");
    } else {
        fprintf(stderr, "registry load: failed; nothing was loaded\n");
    }
}

static int ctl_registry__print_json(const struct ctl_registry__load *L, int rc, double secs)
{
    cJSON *root = cJSON_CreateObject(), *files, *errs, *warns;
    char *s = NULL;
    int ret = -ENOMEM;

    if (!root)
        return -ENOMEM;
    cJSON_AddBoolToObject(root, "ok", rc == 0);
    cJSON_AddBoolToObject(root, "dry_run", L->dry_run);
    cJSON_AddBoolToObject(root, "committed", rc == 0 && !L->dry_run);
    cJSON_AddStringToObject(root, "dir", L->dir);
    cJSON_AddNumberToObject(root, "elapsed_ms", floor(secs * 1000 + 0.5));
    files = cJSON_AddArrayToObject(root, "files");
    errs = cJSON_AddArrayToObject(root, "errors");
    warns = cJSON_AddArrayToObject(root, "warnings");
    if (!files || !errs || !warns)
        goto out;
    for (int fid = 0; fid < RG_NFILES; fid++) {
        const struct ctl_registry__file *F = &L->f[fid];
        cJSON *o;
        if (!F->present)
            continue;
        o = cJSON_CreateObject();
        if (!o)
            goto out;
        cJSON_AddItemToArray(files, o);
        cJSON_AddStringToObject(o, "file", F->spec->file);
        cJSON_AddNumberToObject(o, "rows", (double)F->nrows);
        cJSON_AddNumberToObject(o, "errors", (double)F->nerrs);
        cJSON_AddBoolToObject(o, "loaded", F->loaded);
        if (F->loaded) {
            cJSON_AddNumberToObject(o, "inserted", (double)F->inserted);
            cJSON_AddNumberToObject(o, "updated", (double)F->updated);
            cJSON_AddNumberToObject(o, "unchanged",
                                    (double)((long long)F->nrows - F->inserted - F->updated));
            if (fid == RG_DEPARTMENT) {
                cJSON_AddNumberToObject(o, "links_added", (double)F->links_added);
                cJSON_AddNumberToObject(o, "links_removed", (double)F->links_removed);
            }
        }
    }
    for (size_t i = 0; i < L->nerrs; i++) {
        const struct ctl_registry__err *e = &L->errs[i];
        cJSON *o = cJSON_CreateObject();
        if (!o)
            goto out;
        cJSON_AddItemToArray(errs, o);
        if (e->fid >= 0) {
            cJSON_AddStringToObject(o, "file", L->f[e->fid].spec->file);
            if (e->line)
                cJSON_AddNumberToObject(o, "line", e->line);
            else
                cJSON_AddNullToObject(o, "line");
        } else {
            cJSON_AddNullToObject(o, "file");
            cJSON_AddNullToObject(o, "line");
        }
        cJSON_AddStringToObject(o, "reason", e->msg);
    }
    cJSON_AddNumberToObject(root, "errors_total", (double)L->nerrs_total);
    for (size_t i = 0; i < L->nwarns; i++)
        cJSON_AddItemToArray(warns, cJSON_CreateString(L->warns[i]));
    if (json_print(root, &s, NULL) == 0) {
        printf("%s\n", s);
        cJSON_free(s);
        ret = 0;
    }
out:
    cJSON_Delete(root);
    return ret;
}

/* ----------------------------------------------------------------- load */

static void ctl_registry__free(struct ctl_registry__load *L)
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

/* Finds the known files in DIR; warns about ones that look like registry
 * files but are not (a misspelt "site.csv" would otherwise be ignored). */
static int ctl_registry__scan_dir(struct ctl_registry__load *L)
{
    DIR *d = opendir(L->dir);
    struct dirent *e;
    int found = 0;

    if (!d) {
        ctl_registry__err(L, -1, 0, "%s: %s", L->dir, strerror(errno));
        return -ENOENT;
    }
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        bool known = false;
        for (int fid = 0; fid < RG_NFILES; fid++)
            if (strcmp(e->d_name, ctl_registry__specs[fid].file) == 0)
                known = true;
        if (!known && ((n > 4 && strcmp(e->d_name + n - 4, ".csv") == 0) ||
                       (n > 8 && strcmp(e->d_name + n - 8, ".geojson") == 0)))
            ctl_registry__warn(L, "%s/%s: not a registry file name; ignored", L->dir, e->d_name);
    }
    closedir(d);
    for (int fid = 0; fid < RG_NFILES; fid++) {
        struct ctl_registry__file *F = &L->f[fid];
        struct stat st;
        F->spec = &ctl_registry__specs[fid];
        snprintf(F->path, sizeof F->path, "%s%s%s", L->dir,
                 L->dir[0] && L->dir[strlen(L->dir) - 1] == '/' ? "" : "/", F->spec->file);
        if (stat(F->path, &st) == 0) {
            F->present = true;
            found++;
        } else if (errno != ENOENT) {
            ctl_registry__err(L, fid, 0, "%s", strerror(errno));
        }
    }
    if (!found) {
        ctl_registry__err(L, -1, 0,
                          "%s: no registry files (regions.geojson, departments.csv, "
                          "enterprises.csv, sites.csv, devices.csv, params.csv, "
                          "unit_conversions.csv, limits.csv, hj212_map.csv)",
                          L->dir);
        return -ENOENT;
    }
    return 0;
}

static int ctl_registry__load_dir(const struct ctl_opts *o, const char *dir, bool dry_run)
{
    struct ctl_registry__load *L = calloc(1, sizeof *L);
    struct timespec t0, t1;
    int rc, ret = CTL_REFUSED;
    double secs;

    if (!L) {
        fprintf(stderr, "ecoctl: registry load: out of memory\n");
        return CTL_REFUSED;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    L->o = o;
    L->dir = dir;
    L->dry_run = dry_run;
    for (int fid = 0; fid < RG_NFILES; fid++)
        L->f[fid].spec = &ctl_registry__specs[fid];
    rc = ctl_registry__scan_dir(L);
    for (int fid = 0; fid < RG_NFILES && rc == 0; fid++) {
        struct ctl_registry__file *F = &L->f[fid];
        size_t cap = fid == RG_REGION ? RG_MAX_GEOJSON_BYTES : RG_MAX_CSV_BYTES;
        char *buf = NULL;
        size_t len = 0;
        int r;

        if (!F->present)
            continue;
        r = ctl_registry__slurp(F->path, cap, &buf, &len);
        if (r == -EFBIG) {
            ctl_registry__err(L, fid, 0, "larger than %zu MiB", cap >> 20);
            continue;
        }
        if (r == -EINVAL) {
            ctl_registry__err(L, fid, 0, "not a regular file");
            continue;
        }
        if (r) {
            ctl_registry__err(L, fid, 0, "%s", strerror(-r));
            continue;
        }
        if (fid == RG_REGION)
            ctl_registry__parse_geojson(L, buf, len);
        else
            ctl_registry__parse_csv(L, fid, buf, len);
        free(buf);
        if (F->usable && ctl_registry__file_dups(L, fid) != 0)
            ctl_registry__err(L, fid, 0, "out of memory");
    }
    if (rc == 0) {
        /* connect even when the files already have problems: the database
         * checks find the rest, so one run lists everything */
        L->c = ctl_pg_connect(o);
        if (!L->c)
            rc = -EIO;
        else
            rc = ctl_registry__db(L);
    }
    if (rc == 0 && L->nerrs_total > 0)
        rc = -EBADMSG;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    ctl_registry__print_errors(L);
    /* with --json, stdout carries the JSON document and nothing else */
    if (o->json)
        ctl_registry__print_json(L, rc, secs);
    else
        ctl_registry__print_text(L, rc, secs);
    if (rc == 0)
        ret = CTL_OK;
    ctl_registry__free(L);
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
