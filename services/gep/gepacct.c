/* gepacct: GEP account files. See gepacct.h. */
#include "gepacct.h"

#include "csv.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const gepacct__cats[GEPACCT_NCAT] = {"provisioning", "regulating", "cultural"};

const char *gepacct_category_name(int cat)
{
    return cat >= 0 && cat < GEPACCT_NCAT ? gepacct__cats[cat] : "";
}

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static void
gepacct__msg(char (*msgs)[GEPACCT_MSG_LEN], size_t *n, long line, const char *fmt, ...)
{
    va_list ap;
    int k;

    if (*n < GEPACCT_MSGS_MAX) {
        k = snprintf(msgs[*n], GEPACCT_MSG_LEN, "line %ld: ", line);
        if (k > 0 && k < GEPACCT_MSG_LEN) {
            va_start(ap, fmt);
            vsnprintf(msgs[*n] + k, (size_t)(GEPACCT_MSG_LEN - k), fmt, ap);
            va_end(ap);
        }
    }
    (*n)++;
}

/* s without the thousands separators of strict 3-digit groups ("1,234,567.5",
 * as spreadsheets export them) into buf; anything else is copied as it is,
 * and "1,5" stays a non-number. */
static const char *gepacct__ungroup(const char *s, char *buf, size_t cap)
{
    const char *p = s, *dot;
    size_t n = 0, lead = 0;

    if (*p == '-' || *p == '+')
        p++;
    dot = p + strcspn(p, ".eE");
    if (!memchr(p, ',', (size_t)(dot - p)) || strlen(s) >= cap)
        return s;
    while (p + lead < dot && p[lead] >= '0' && p[lead] <= '9')
        lead++;
    if (lead < 1 || lead > 3)
        return s;
    for (const char *g = p + lead; g < dot; g += 4)
        if (dot - g < 4 || g[0] != ',' || strspn(g + 1, "0123456789") < 3)
            return s;
    for (const char *c = s; *c; c++)
        if (*c != ',' || c >= dot)
            buf[n++] = *c;
    buf[n] = '\0';
    return buf;
}

/* A whole field as a finite number; 1 empty, 0 ok, -EINVAL otherwise. */
static int gepacct__num(const char *s, double *v)
{
    char buf[64];
    char *end;

    if (!*s)
        return 1;
    s = gepacct__ungroup(s, buf, sizeof(buf));
    errno = 0;
    *v = strtod(s, &end);
    if (end == s || *end || errno == ERANGE || !isfinite(*v))
        return -EINVAL;
    return 0;
}

/* The number s written in units of `mult` (1, 1e4, 1e8), in base units:
 * "178.66" 万 is read as "178.66e4", so the double is the correctly rounded
 * 1786600, not 178.66 x 1e4 (which may be off in the last bit). div: the
 * number is per `mult` units (a price), so the exponent is negative. */
static double gepacct__scaled(const char *s, double v, double mult, bool div)
{
    char buf[80];
    int e = mult == 1e4 ? 4 : mult == 1e8 ? 8 : 0;

    if (e == 0)
        return v;
    if (!strpbrk(s, "eE") && strlen(s) < sizeof(buf) - 8) {
        snprintf(buf, sizeof(buf), "%se%d", s, div ? -e : e);
        return strtod(buf, NULL);
    }
    return div ? v / mult : v * mult;
}

struct gepacct__cols {
    int category, service, item, quantity, unit, price, price_unit, value, source;
};

static int gepacct__col(const struct csv *c, const char *name)
{
    for (int i = 0; i < c->nfields; i++)
        if (strcmp(c->field[i], name) == 0)
            return i;
    return -1;
}

/* One record into *l; false (with a refusal recorded) when it is refused. */
static bool gepacct__line(struct gepacct *a, const struct csv *c, const struct gepacct__cols *k,
                          struct gepacct_line *l)
{
    const char *cat = csv_get(c, k->category), *svc = csv_get(c, k->service);
    const char *qs = csv_get(c, k->quantity), *us = csv_get(c, k->unit);
    const char *ps = csv_get(c, k->price), *pus = csv_get(c, k->price_unit);
    const char *vs = csv_get(c, k->value), *src = csv_get(c, k->source);
    const char *item = csv_get(c, k->item), *svc_cat;
    struct gepcalc_unit qu, pu;
    double q = 0, p = 0, v = 0, computed = 0;
    int hq, hp, hv;
    long ln = c->line;

    memset(l, 0, sizeof(*l));
    l->line = ln;
    l->cat = -1;
    for (int i = 0; i < GEPACCT_NCAT; i++)
        if (strcmp(cat, gepacct__cats[i]) == 0)
            l->cat = i;
    if (l->cat < 0) {
        gepacct__msg(a->errors, &a->nerrors, ln,
                     "category '%s' is not provisioning, regulating or cultural", cat);
        return false;
    }
    svc_cat = gepcalc_service_category(svc);
    if (!svc_cat) {
        gepacct__msg(a->errors, &a->nerrors, ln, "unknown service '%s'", svc);
        return false;
    }
    if (strcmp(svc_cat, cat) != 0) {
        gepacct__msg(a->errors, &a->nerrors, ln, "service %s is %s, not %s", svc, svc_cat, cat);
        return false;
    }
    l->category = gepacct__cats[l->cat];
    l->service = gepcalc_service_code(svc); /* static: the record's buffer is reused */
    if (!*src) {
        gepacct__msg(a->errors, &a->nerrors, ln, "source is missing (every line needs one)");
        return false;
    }
    if (strlen(src) >= sizeof(l->source) || strlen(item) >= sizeof(l->item)) {
        gepacct__msg(a->errors, &a->nerrors, ln, "item or source too long (at most %d, %d bytes)",
                     GEPACCT_ITEM_MAX - 1, GEPACCT_SOURCE_MAX - 1);
        return false;
    }
    memcpy(l->source, src, strlen(src) + 1);
    memcpy(l->item, item, strlen(item) + 1);

    hq = gepacct__num(qs, &q);
    hp = gepacct__num(ps, &p);
    hv = gepacct__num(vs, &v);
    if (hq < 0 || hp < 0 || hv < 0) {
        gepacct__msg(a->errors, &a->nerrors, ln, "%s '%s' is not a number",
                     hq < 0   ? "quantity"
                     : hp < 0 ? "price"
                              : "value_yuan",
                     hq < 0   ? qs
                     : hp < 0 ? ps
                              : vs);
        return false;
    }
    l->has_quantity = hq == 0;
    l->has_price = hp == 0;
    if (l->has_quantity) {
        if (!*us) {
            gepacct__msg(a->errors, &a->nerrors, ln, "quantity %s has no unit", qs);
            return false;
        }
        if (gepcalc_unit_parse(us, &qu)) {
            gepacct__msg(a->errors, &a->nerrors, ln, "unit '%s' is not known", us);
            return false;
        }
        l->quantity = gepacct__scaled(qs, q, qu.mult, false);
        memcpy(l->unit, qu.name, sizeof(l->unit));
    }
    if (l->has_price) {
        /* an empty price_unit is the quantity's unit without its multiplier:
         * "178.66,万m3,0.92," is 0.92 yuan per m3, as reports write it */
        const char *pn = *pus ? pus : l->has_quantity ? qu.name : "";
        if (!*pn) {
            gepacct__msg(a->errors, &a->nerrors, ln, "price %s has no price_unit", ps);
            return false;
        }
        if (gepcalc_unit_parse(pn, &pu)) {
            gepacct__msg(a->errors, &a->nerrors, ln, "price_unit '%s' is not known", pn);
            return false;
        }
        l->price = gepacct__scaled(ps, p, pu.mult, true);
        memcpy(l->price_unit, pu.name, sizeof(l->price_unit));
    }
    if (l->has_quantity && l->has_price) {
        /* from the stored base-unit numbers, so that they reproduce the value */
        struct gepcalc_unit qb = qu, pb = pu;
        int rc;
        qb.mult = pb.mult = 1;
        rc = gepcalc_value(l->quantity, &qb, l->price, &pb, &computed);
        if (rc == -EINVAL) {
            gepacct__msg(a->errors, &a->nerrors, ln, "unit %s does not convert to price_unit %s",
                         qu.name, pu.name);
            return false;
        }
        if (rc || gepcalc_fen(computed, &l->value_fen)) {
            gepacct__msg(a->errors, &a->nerrors, ln, "value out of range");
            return false;
        }
        if (hv == 0 && fabs(v - computed) > GEPACCT_TOLERANCE * fabs(computed))
            gepacct__msg(a->warnings, &a->nwarnings, ln,
                         "value_yuan %s differs from quantity x price %.2f by more than 0.5 %%; "
                         "quantity x price is used",
                         vs, computed);
        return true;
    }
    if (hv == 0) {
        if (gepcalc_fen(v, &l->value_fen)) {
            gepacct__msg(a->errors, &a->nerrors, ln, "value_yuan out of range");
            return false;
        }
        l->from_value = true;
        return true;
    }
    if (l->has_quantity)
        gepacct__msg(a->errors, &a->nerrors, ln, "quantity without a price (and no value_yuan)");
    else if (l->has_price)
        gepacct__msg(a->errors, &a->nerrors, ln, "price without a quantity (and no value_yuan)");
    else
        gepacct__msg(a->errors, &a->nerrors, ln, "neither quantity and price nor value_yuan");
    return false;
}

static int gepacct__add(int64_t *sum, int64_t v)
{
    if ((v > 0 && *sum > INT64_MAX - v) || (v < 0 && *sum < INT64_MIN - v))
        return -ERANGE;
    *sum += v;
    return 0;
}

int gepacct_parse(const char *data, size_t len, struct gepacct *a)
{
    struct csv_limits lim = {CSV_REC_MAX, CSV_REC_MAX, CSV_FIELDS_MAX};
    struct gepacct__cols k;
    struct csv c;
    int rc;

    memset(a, 0, sizeof(*a));
    if (csv_init_mem(&c, data, len, &lim))
        return -ENOMEM;
    rc = csv_next(&c);
    if (rc <= 0) {
        gepacct__msg(a->errors, &a->nerrors, rc < 0 ? c.line : 1, "%s",
                     rc < 0 ? c.err : "the file is empty (a header row is needed)");
        rc = -EBADMSG;
        goto out;
    }
    k.category = gepacct__col(&c, "category");
    k.service = gepacct__col(&c, "service");
    k.item = gepacct__col(&c, "item");
    k.quantity = gepacct__col(&c, "quantity");
    k.unit = gepacct__col(&c, "unit");
    k.price = gepacct__col(&c, "price");
    k.price_unit = gepacct__col(&c, "price_unit");
    k.value = gepacct__col(&c, "value_yuan");
    k.source = gepacct__col(&c, "source");
    if (k.category < 0 || k.service < 0 || k.source < 0) {
        gepacct__msg(a->errors, &a->nerrors, c.line,
                     "the header needs the columns category, service and source");
        rc = -EBADMSG;
        goto out;
    }
    while ((rc = csv_next(&c)) != 0) {
        struct gepacct_line l;
        if (rc == -EIO) {
            gepacct__msg(a->errors, &a->nerrors, c.line, "%s", c.err);
            break;
        }
        if (rc < 0) {
            gepacct__msg(a->errors, &a->nerrors, c.line, "%s", c.err);
            continue;
        }
        if (!gepacct__line(a, &c, &k, &l))
            continue;
        if (a->n >= GEPACCT_LINES_MAX) {
            gepacct__msg(a->errors, &a->nerrors, l.line, "more than %d line items",
                         GEPACCT_LINES_MAX);
            break;
        }
        if (a->n == a->cap) {
            size_t ncap = a->cap ? a->cap * 2 : 64;
            struct gepacct_line *nl = realloc(a->lines, ncap * sizeof(*nl));
            if (!nl) {
                rc = -ENOMEM;
                goto out;
            }
            a->lines = nl;
            a->cap = ncap;
        }
        if (gepacct__add(&a->total_fen, l.value_fen) ||
            gepacct__add(&a->cat_fen[l.cat], l.value_fen)) {
            gepacct__msg(a->errors, &a->nerrors, l.line, "the total is out of range");
            continue;
        }
        a->lines[a->n++] = l;
    }
    if (a->n == 0 && a->nerrors == 0)
        gepacct__msg(a->errors, &a->nerrors, c.line > 0 ? c.line : 1, "no line items");
    rc = a->nerrors ? -EBADMSG : 0;
out:
    csv_close(&c);
    return rc;
}

void gepacct_free(struct gepacct *a)
{
    if (!a)
        return;
    free(a->lines);
    a->lines = NULL;
    a->n = a->cap = 0;
}
