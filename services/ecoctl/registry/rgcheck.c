/* rgcheck: the checks of `ecoctl registry load` that need no database:
 * code syntax, numbers, enumerations, coordinates, classes, passwords, one
 * row at a time, and duplicate keys within a file. */
#include "rgcheck.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const rgcheck__region_kinds[] = {"city", "district", "county",
                                                    "town", "sea_area", NULL};
static const char *const rgcheck__site_kinds[] = {"air",        "noi",          "water",  "sea",
                                                  "gas_outlet", "water_outlet", "mobile", NULL};
static const char *const rgcheck__protocols[] = {"mqtt", "hj212", NULL};
static const char *const rgcheck__periods[] = {"rt", "min", "hour", "day", NULL};
/* ------------------------------------------------------- small validators */

static bool rgcheck__digit(int c)
{
    return c >= '0' && c <= '9';
}

static bool rgcheck__alnum(int c)
{
    return rgcheck__digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* core.* code syntax: ^[A-Za-z0-9_.-]{1,64}$ (the schema CHECK). */
bool rgcheck_is_code(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!rgcheck__alnum((unsigned char)s[n]) && s[n] != '_' && s[n] != '.' && s[n] != '-')
            return false;
    return n >= 1 && n <= 64;
}

/* core.param code syntax: ^[a-z0-9_]{1,32}$. */
bool rgcheck_is_pcode(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!(s[n] >= 'a' && s[n] <= 'z') && !rgcheck__digit((unsigned char)s[n]) && s[n] != '_')
            return false;
    return n >= 1 && n <= 32;
}

/* Duty tokens: complaint categories and site kinds, ^[a-z0-9_]{1,32}$. */
static bool rgcheck__is_token(const char *s)
{
    return rgcheck_is_pcode(s);
}

/* HJ 212 pollutant codes (a21026, w01018, B02, 011, Leq, ...). */
bool rgcheck_is_hjcode(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!rgcheck__alnum((unsigned char)s[n]))
            return false;
    return n >= 1 && n <= 16;
}

/* HJ 212 ST: two characters 0-9/A-Z (hj212.md §8.1). */
bool rgcheck_is_st(const char *s)
{
    for (int i = 0; i < 2; i++)
        if (!rgcheck__digit((unsigned char)s[i]) && !(s[i] >= 'A' && s[i] <= 'Z'))
            return false;
    return s[2] == '\0';
}

/* HJ 212-2017 MN: 24 hex digits from an EPC-96 code (hj212.md §4). Upper
 * case as the standard writes it, so the gateway's lookup by MN is exact. */
bool rgcheck_is_mn(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!rgcheck__digit((unsigned char)s[n]) && !(s[n] >= 'A' && s[n] <= 'F'))
            return false;
    return n == 24;
}

/* A device password goes into HJ 212 frames (PW=...;), so it may not hold
 * the frame's separators; printable ASCII otherwise. */
bool rgcheck_is_password(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (s[n] < 0x21 || s[n] > 0x7e || s[n] == ';' || s[n] == ',' || s[n] == '&' || s[n] == '=')
            return false;
    return n >= 1 && n <= 64;
}

bool rgcheck_is_phone(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!rgcheck__digit((unsigned char)s[n]) && !strchr("+-() ", s[n]))
            return false;
    return n >= 1 && n <= 32;
}

/* Decimal numbers only: [+-]digits[.digits][e[+-]digits]. strtod alone would
 * also take hex, "inf" and "nan", which PostgreSQL reads differently or not
 * at all, and values it cannot represent are refused rather than rounded. */
int rgcheck_number(const char *s, double *out)
{
    const char *p = s;
    bool digits = false;
    double d;

    if (*p == '+' || *p == '-')
        p++;
    while (rgcheck__digit((unsigned char)*p)) {
        p++;
        digits = true;
    }
    if (*p == '.') {
        p++;
        while (rgcheck__digit((unsigned char)*p)) {
            p++;
            digits = true;
        }
    }
    if (!digits)
        return -EINVAL;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!rgcheck__digit((unsigned char)*p))
            return -EINVAL;
        while (rgcheck__digit((unsigned char)*p))
            p++;
    }
    if (*p)
        return -EINVAL;
    errno = 0;
    d = strtod(s, NULL);
    if (errno == ERANGE || !isfinite(d))
        return -EINVAL;
    *out = d;
    return 0;
}

/* Small integers: [+-]digits, at most 6 digits. */
int rgcheck_integer(const char *s, long *out)
{
    const char *p = s;
    size_t n = 0;
    if (*p == '+' || *p == '-')
        p++;
    for (; rgcheck__digit((unsigned char)p[n]); n++)
        ;
    if (n == 0 || n > 6 || p[n])
        return -EINVAL;
    *out = strtol(s, NULL, 10);
    return 0;
}

/* Strict UTF-8: no overlongs, no surrogates, nothing above U+10FFFF. */
bool rgcheck_utf8(const unsigned char *s, size_t n)
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
const char *rgcheck_quote(char *out, size_t cap, const char *v)
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
void rgcheck_reject(struct rg_load *L, struct rg_file *F, struct rg_row *R, int col,
                    const char *fmt, ...)
{
    char msg[900];
    va_list ap;
    int fid = (int)(F - L->f);

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (col >= 0) {
        rg_err(L, fid, R->line, "%s: %s", F->spec->cols[col], msg);
        R->f[col] = NULL;
        R->rejected |= 1u << col;
    } else {
        rg_err(L, fid, R->line, "%s", msg);
    }
    R->bad = true;
}

/* The field, or NULL; reports "required" when it must be there. */
static const char *rgcheck__need(struct rg_load *L, struct rg_file *F, struct rg_row *R, int col,
                                 bool required)
{
    if (R->f[col])
        return R->f[col];
    if (required && !(R->rejected & (1u << col)))
        rgcheck_reject(L, F, R, col, "is required");
    return NULL;
}

static const char *rgcheck__code(struct rg_load *L, struct rg_file *F, struct rg_row *R, int col,
                                 bool required)
{
    char q[80];
    const char *v = rgcheck__need(L, F, R, col, required);
    if (v && !rgcheck_is_code(v)) {
        rgcheck_reject(L, F, R, col, "%s is not a valid code (1-64 of A-Z a-z 0-9 _ . -)",
                       rgcheck_quote(q, sizeof q, v));
        return NULL;
    }
    return v;
}

static const char *rgcheck__pcode(struct rg_load *L, struct rg_file *F, struct rg_row *R, int col,
                                  bool required)
{
    char q[80];
    const char *v = rgcheck__need(L, F, R, col, required);
    if (v && !rgcheck_is_pcode(v)) {
        rgcheck_reject(L, F, R, col, "%s is not a valid parameter code (1-32 of a-z 0-9 _)",
                       rgcheck_quote(q, sizeof q, v));
        return NULL;
    }
    return v;
}

static const char *rgcheck__text(struct rg_load *L, struct rg_file *F, struct rg_row *R, int col,
                                 bool required, size_t max)
{
    const char *v = rgcheck__need(L, F, R, col, required);
    if (v && strlen(v) > max) {
        rgcheck_reject(L, F, R, col, "longer than %zu bytes", max);
        return NULL;
    }
    return v;
}

static const char *rgcheck__enum(struct rg_load *L, struct rg_file *F, struct rg_row *R, int col,
                                 bool required, const char *const *vals)
{
    char q[80], list[200];
    size_t n = 0;
    const char *v = rgcheck__need(L, F, R, col, required);
    if (!v)
        return NULL;
    for (size_t i = 0; vals[i]; i++)
        if (strcmp(v, vals[i]) == 0)
            return v;
    list[0] = '\0';
    for (size_t i = 0; vals[i] && n + strlen(vals[i]) + 3 < sizeof list; i++)
        n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", vals[i]);
    rgcheck_reject(L, F, R, col, "%s is not one of %s", rgcheck_quote(q, sizeof q, v), list);
    return NULL;
}

/* A number in [min, max]; returns true when present and good. */
static bool rgcheck__num(struct rg_load *L, struct rg_file *F, struct rg_row *R, int col,
                         bool required, double min, double max, double *out)
{
    char q[80];
    const char *v = rgcheck__need(L, F, R, col, required);
    if (!v)
        return false;
    if (rgcheck_number(v, out) != 0) {
        rgcheck_reject(L, F, R, col, "%s is not a number", rgcheck_quote(q, sizeof q, v));
        return false;
    }
    if (*out < min || *out > max) {
        rgcheck_reject(L, F, R, col, "%s is out of range [%g, %g]", rgcheck_quote(q, sizeof q, v),
                       min, max);
        return false;
    }
    return true;
}

/* An integer in [min, max], rewritten in place in canonical form. */
static bool rgcheck__int(struct rg_load *L, struct rg_file *F, struct rg_row *R, int col,
                         bool required, long min, long max, long *out)
{
    char q[80];
    const char *v = rgcheck__need(L, F, R, col, required);
    if (!v)
        return false;
    if (rgcheck_integer(v, out) != 0) {
        rgcheck_reject(L, F, R, col, "%s is not an integer", rgcheck_quote(q, sizeof q, v));
        return false;
    }
    if (*out < min || *out > max) {
        rgcheck_reject(L, F, R, col, "%ld is out of range %ld..%ld", *out, min, max);
        return false;
    }
    /* the canonical form is never longer than what was written */
    snprintf(R->f[col], strlen(R->f[col]) + 1, "%ld", *out);
    return true;
}

/* lon/lat: both or neither; WGS 84 degrees. */
static bool rgcheck__lonlat(struct rg_load *L, struct rg_file *F, struct rg_row *R, int lon_col,
                            int lat_col, bool required)
{
    double lon, lat;
    bool have_lon = R->f[lon_col] != NULL, have_lat = R->f[lat_col] != NULL;
    bool ok_lon, ok_lat;

    if (!required && !have_lon && !have_lat)
        return false;
    if (!required && have_lon != have_lat) {
        rgcheck_reject(L, F, R, have_lon ? lat_col : lon_col, "is required when %s is given",
                       F->spec->cols[have_lon ? lon_col : lat_col]);
        return false;
    }
    ok_lon = rgcheck__num(L, F, R, lon_col, true, -180, 180, &lon);
    /* a latitude above 90 next to a longitude that would be a latitude is
     * almost always a swapped pair: say so */
    if (R->f[lat_col] && rgcheck_number(R->f[lat_col], &lat) == 0 && fabs(lat) > 90 && ok_lon &&
        fabs(lon) <= 90 && fabs(lat) <= 180) {
        rgcheck_reject(L, F, R, lat_col, "%g is out of range [-90, 90] (lon and lat swapped?)",
                       lat);
        return false;
    }
    ok_lat = rgcheck__num(L, F, R, lat_col, true, -90, 90, &lat);
    return ok_lon && ok_lat;
}

/* A ;-separated list, trimmed and rewritten in place as "a;b;c" (empty
 * items dropped). Each item must satisfy `valid`; repeats are refused. */
static void rgcheck__list(struct rg_load *L, struct rg_file *F, struct rg_row *R, int col,
                          bool (*valid)(const char *), const char *what)
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
                rgcheck_reject(L, F, R, col, "more than %u items", RG_MAX_LIST);
                return;
            }
            if (!valid(b)) {
                rgcheck_reject(L, F, R, col, "%s is not a valid %s", rgcheck_quote(q, sizeof q, b),
                               what);
                return;
            }
            for (size_t i = 0; i < n; i++)
                if (strcmp(items[i], b) == 0) {
                    rgcheck_reject(L, F, R, col, "%s is listed twice",
                                   rgcheck_quote(q, sizeof q, b));
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
static void rgcheck__bool(struct rg_load *L, struct rg_file *F, struct rg_row *R, int col)
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
    rgcheck_reject(L, F, R, col, "%s is not true or false", rgcheck_quote(q, sizeof q, v));
}

/* ------------------------------------------------------ per-file checks */

static void rgcheck__region(struct rg_load *L, struct rg_file *F, struct rg_row *R)
{
    rgcheck__code(L, F, R, RG_REG_CODE, true);
    rgcheck__text(L, F, R, RG_REG_NAME, true, 200);
    rgcheck__enum(L, F, R, RG_REG_KIND, true, rgcheck__region_kinds);
    rgcheck__code(L, F, R, RG_REG_PARENT, false);
    rgcheck__need(L, F, R, RG_REG_GEOM, true);
}

static void rgcheck__department(struct rg_load *L, struct rg_file *F, struct rg_row *R)
{
    char q[80];
    const char *phone;

    rgcheck__code(L, F, R, RG_DEP_CODE, true);
    rgcheck__text(L, F, R, RG_DEP_NAME, true, 200);
    rgcheck__list(L, F, R, RG_DEP_DUTIES, rgcheck__is_token, "duty (1-32 of a-z 0-9 _)");
    phone = rgcheck__need(L, F, R, RG_DEP_PHONE, false);
    if (phone && !rgcheck_is_phone(phone))
        rgcheck_reject(L, F, R, RG_DEP_PHONE, "%s is not a phone number",
                       rgcheck_quote(q, sizeof q, phone));
    rgcheck__list(L, F, R, RG_DEP_REGIONS, rgcheck_is_code, "region code");
}

static void rgcheck__enterprise(struct rg_load *L, struct rg_file *F, struct rg_row *R)
{
    rgcheck__code(L, F, R, RG_ENT_CODE, true);
    rgcheck__text(L, F, R, RG_ENT_NAME, true, 200);
    rgcheck__text(L, F, R, RG_ENT_INDUSTRY, true, 100);
    rgcheck__code(L, F, R, RG_ENT_REGION, true);
    rgcheck__code(L, F, R, RG_ENT_REGULATOR, false);
    rgcheck__text(L, F, R, RG_ENT_ADDRESS, false, 300);
    rgcheck__lonlat(L, F, R, RG_ENT_LON, RG_ENT_LAT, true);
}

static void rgcheck__site(struct rg_load *L, struct rg_file *F, struct rg_row *R)
{
    const char *kind;
    bool mobile, outlet;
    long cls;

    rgcheck__code(L, F, R, RG_SITE_CODE, true);
    rgcheck__text(L, F, R, RG_SITE_NAME, true, 200);
    kind = rgcheck__enum(L, F, R, RG_SITE_KIND, true, rgcheck__site_kinds);
    if (!kind) {
        /* without a kind the other rules cannot be chosen; check syntax only */
        rgcheck__code(L, F, R, RG_SITE_REGION, false);
        rgcheck__code(L, F, R, RG_SITE_ENTERPRISE, false);
        rgcheck__lonlat(L, F, R, RG_SITE_LON, RG_SITE_LAT, false);
        rgcheck__bool(L, F, R, RG_SITE_ACTIVE);
        return;
    }
    mobile = strcmp(kind, "mobile") == 0;
    outlet = strcmp(kind, "gas_outlet") == 0 || strcmp(kind, "water_outlet") == 0;
    rgcheck__code(L, F, R, RG_SITE_REGION, !mobile);
    rgcheck__code(L, F, R, RG_SITE_ENTERPRISE, outlet);
    if (strcmp(kind, "water") == 0)
        rgcheck__int(L, F, R, RG_SITE_TARGET, true, 1, 5, &cls); /* GB 3838 I..V */
    else if (strcmp(kind, "sea") == 0)
        rgcheck__int(L, F, R, RG_SITE_TARGET, true, 1, 4, &cls); /* GB 3097 1..4 */
    else if (R->f[RG_SITE_TARGET])
        rgcheck_reject(L, F, R, RG_SITE_TARGET,
                       "only water (GB 3838, 1-5) and sea (GB 3097, 1-4) sites have a "
                       "target class");
    rgcheck__lonlat(L, F, R, RG_SITE_LON, RG_SITE_LAT, !mobile);
    rgcheck__bool(L, F, R, RG_SITE_ACTIVE);
}

static void rgcheck__device(struct rg_load *L, struct rg_file *F, struct rg_row *R)
{
    char q[80];
    const char *code, *proto, *pw, *st;

    code = rgcheck__code(L, F, R, RG_DEV_CODE, true);
    rgcheck__code(L, F, R, RG_DEV_SITE, true);
    proto = rgcheck__enum(L, F, R, RG_DEV_PROTOCOL, true, rgcheck__protocols);
    pw = rgcheck__need(L, F, R, RG_DEV_PASSWORD, false);
    /* never echo the password, not even a bad one */
    if (pw && !rgcheck_is_password(pw))
        rgcheck_reject(L, F, R, RG_DEV_PASSWORD,
                       "must be 1-64 printable ASCII characters without spaces or ; , & =");
    st = rgcheck__need(L, F, R, RG_DEV_ST, proto && strcmp(proto, "hj212") == 0);
    if (st && !rgcheck_is_st(st)) {
        rgcheck_reject(L, F, R, RG_DEV_ST, "%s is not an HJ 212 system code (two of 0-9 A-Z)",
                       rgcheck_quote(q, sizeof q, st));
    }
    if (proto && strcmp(proto, "hj212") == 0 && code && !rgcheck_is_mn(code))
        rgcheck_reject(L, F, R, RG_DEV_CODE,
                       "%s is not an HJ 212-2017 MN (the code of an hj212 device is its MN: "
                       "24 upper-case hex digits)",
                       rgcheck_quote(q, sizeof q, code));
    rgcheck__bool(L, F, R, RG_DEV_ACTIVE);
    rgcheck__bool(L, F, R, RG_DEV_COMPLAINTS);
    /* a missing hj212 password is checked against the database: a device
     * that already has a stored hash keeps it */
}

static void rgcheck__param(struct rg_load *L, struct rg_file *F, struct rg_row *R)
{
    char q[80];
    const char *v;
    double lo, hi;
    bool have_lo, have_hi;

    rgcheck__pcode(L, F, R, RG_PAR_CODE, true);
    for (int col = RG_PAR_HJ; col <= RG_PAR_HJ2005; col++) {
        v = rgcheck__need(L, F, R, col, false);
        if (v && !rgcheck_is_hjcode(v))
            rgcheck_reject(L, F, R, col, "%s is not an HJ 212 code (1-16 of A-Z a-z 0-9)",
                           rgcheck_quote(q, sizeof q, v));
    }
    rgcheck__text(L, F, R, RG_PAR_NAME, true, 200);
    rgcheck__text(L, F, R, RG_PAR_UNIT, true, 32);
    have_lo = rgcheck__num(L, F, R, RG_PAR_MIN, true, -1e300, 1e300, &lo);
    have_hi = rgcheck__num(L, F, R, RG_PAR_MAX, true, -1e300, 1e300, &hi);
    if (have_lo && have_hi && !(lo < hi))
        rgcheck_reject(L, F, R, RG_PAR_MAX, "must be greater than valid_min (%g)", lo);
}

static void rgcheck__unit(struct rg_load *L, struct rg_file *F, struct rg_row *R)
{
    const char *from, *to;
    double factor, offset;

    from = rgcheck__text(L, F, R, RG_UC_FROM, true, 32);
    to = rgcheck__text(L, F, R, RG_UC_TO, true, 32);
    if (from && to && strcmp(from, to) == 0)
        rgcheck_reject(L, F, R, RG_UC_TO, "is the same unit as from_unit");
    if (rgcheck__num(L, F, R, RG_UC_FACTOR, true, -1e300, 1e300, &factor) && factor == 0)
        rgcheck_reject(L, F, R, RG_UC_FACTOR, "must not be 0");
    rgcheck__num(L, F, R, RG_UC_OFFSET, false, -1e300, 1e300, &offset);
}

static void rgcheck__limit(struct rg_load *L, struct rg_file *F, struct rg_row *R)
{
    const char *site, *kind;
    double lo = 0, hi = 0;
    bool have_lo, have_hi;
    long cls;

    site = rgcheck__code(L, F, R, RG_LIM_SITE, false);
    kind = rgcheck__enum(L, F, R, RG_LIM_KIND, false, rgcheck__site_kinds);
    if (!(R->rejected & (1u << RG_LIM_SITE | 1u << RG_LIM_KIND)) && !site == !kind)
        rgcheck_reject(L, F, R, -1,
                       site ? "site and site_kind: give one of them, not both"
                            : "site and site_kind: one of them is required");
    rgcheck__pcode(L, F, R, RG_LIM_PARAM, true);
    rgcheck__enum(L, F, R, RG_LIM_PERIOD, true, rgcheck__periods);
    if (kind && strcmp(kind, "sea") == 0)
        rgcheck__int(L, F, R, RG_LIM_CLASS, false, 1, 4, &cls);
    else
        rgcheck__int(L, F, R, RG_LIM_CLASS, false, 1, 5, &cls);
    have_lo = rgcheck__num(L, F, R, RG_LIM_LOWER, false, -1e300, 1e300, &lo);
    have_hi = rgcheck__num(L, F, R, RG_LIM_UPPER, false, -1e300, 1e300, &hi);
    if (!have_lo && !have_hi && !(R->rejected & (1u << RG_LIM_LOWER | 1u << RG_LIM_UPPER)))
        rgcheck_reject(L, F, R, -1, "lower and upper: at least one is required");
    if (have_lo && have_hi && lo > hi)
        rgcheck_reject(L, F, R, RG_LIM_UPPER, "is below lower (%g)", lo);
    rgcheck__text(L, F, R, RG_LIM_STANDARD, true, 200);
    rgcheck__text(L, F, R, RG_LIM_NOTE, false, RG_MAX_TEXT);
}

static void rgcheck__map(struct rg_load *L, struct rg_file *F, struct rg_row *R)
{
    char q[80];
    const char *v;

    v = rgcheck__need(L, F, R, RG_MAP_ST, true);
    if (v && !rgcheck_is_st(v))
        rgcheck_reject(L, F, R, RG_MAP_ST, "%s is not an HJ 212 system code (two of 0-9 A-Z)",
                       rgcheck_quote(q, sizeof q, v));
    v = rgcheck__need(L, F, R, RG_MAP_HJ, true);
    if (v && !rgcheck_is_hjcode(v))
        rgcheck_reject(L, F, R, RG_MAP_HJ, "%s is not an HJ 212 code (1-16 of A-Z a-z 0-9)",
                       rgcheck_quote(q, sizeof q, v));
    rgcheck__pcode(L, F, R, RG_MAP_PARAM, true);
}

/* -------------------------------------------------------- duplicate keys */

struct rgcheck__key {
    char *key;
    unsigned line;
    size_t row;
};

static int rgcheck__key_cmp(const void *a, const void *b)
{
    const struct rgcheck__key *x = a, *y = b;
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
static int rgcheck__dups(struct rg_load *L, struct rg_file *F, const int *cols, int ncols, int need,
                         const char *what)
{
    struct rgcheck__key *k = NULL;
    size_t n = 0;
    int rc = 0;

    if (F->nrows == 0)
        return 0;
    k = calloc(F->nrows, sizeof *k);
    if (!k)
        return -ENOMEM;
    for (size_t i = 0; i < F->nrows; i++) {
        struct rg_row *R = &F->rows[i];
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
    qsort(k, n, sizeof *k, rgcheck__key_cmp);
    for (size_t i = 1; i < n; i++) {
        size_t first = i - 1;
        char q[80];
        while (first > 0 && strcmp(k[first - 1].key, k[i].key) == 0)
            first--;
        if (strcmp(k[first].key, k[i].key) != 0)
            continue;
        if (ncols == 1)
            rg_err(L, (int)(F - L->f), k[i].line, "duplicate %s %s (first on line %u)", what,
                   rgcheck_quote(q, sizeof q, F->rows[k[i].row].f[cols[0]]), k[first].line);
        else
            rg_err(L, (int)(F - L->f), k[i].line, "duplicate %s (same as line %u)", what,
                   k[first].line);
        F->rows[k[i].row].bad = true;
    }
out:
    for (size_t i = 0; i < n; i++)
        free(k[i].key);
    free(k);
    return rc;
}

int rgcheck_dups(struct rg_load *L, int fid)
{
    static const int code[] = {0};
    static const int hj[] = {RG_PAR_HJ};
    static const int unit[] = {RG_UC_FROM, RG_UC_TO};
    static const int lim[] = {RG_LIM_SITE, RG_LIM_KIND, RG_LIM_PARAM, RG_LIM_PERIOD, RG_LIM_CLASS};
    static const int map[] = {RG_MAP_ST, RG_MAP_HJ};
    struct rg_file *F = &L->f[fid];
    int rc;

    switch (fid) {
    case RG_PARAM:
        rc = rgcheck__dups(L, F, code, 1, 0, "code");
        return rc ? rc : rgcheck__dups(L, F, hj, 1, RG_PAR_HJ, "hj212_code");
    case RG_UNIT:
        return rgcheck__dups(L, F, unit, 2, RG_UC_FROM, "conversion from_unit/to_unit");
    case RG_LIMIT:
        return rgcheck__dups(L, F, lim, 5, RG_LIM_PARAM,
                             "limit for site/site_kind, param, period and class");
    case RG_HJ212MAP:
        return rgcheck__dups(L, F, map, 2, RG_MAP_ST, "mapping for st/hj212_code");
    default:
        return rgcheck__dups(L, F, code, 1, 0, "code");
    }
}

/* The per-row checks of each file, by file id. */
static void (*const rgcheck__rows[RG_NFILES])(struct rg_load *, struct rg_file *,
                                              struct rg_row *) = {
    [RG_REGION] = rgcheck__region,
    [RG_DEPARTMENT] = rgcheck__department,
    [RG_ENTERPRISE] = rgcheck__enterprise,
    [RG_SITE] = rgcheck__site,
    [RG_DEVICE] = rgcheck__device,
    [RG_PARAM] = rgcheck__param,
    [RG_UNIT] = rgcheck__unit,
    [RG_LIMIT] = rgcheck__limit,
    [RG_HJ212MAP] = rgcheck__map,
};

void rgcheck_row(struct rg_load *L, struct rg_file *F, struct rg_row *R)
{
    rgcheck__rows[F - L->f](L, F, R);
}
