#include "simnet.h"

#include "csv.h"
#include "simrng.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const simnet__kinds[SIMNET_NKINDS] = {
    "air", "noi", "water", "sea", "gas_outlet", "water_outlet", "mobile",
};
static const char *const simnet__periods[SIMNET_NPERIODS] = {"rt", "min", "hour", "day"};

int simnet_kind_parse(const char *s, enum simnet_kind *out)
{
    for (int i = 0; i < SIMNET_NKINDS; i++)
        if (strcmp(s, simnet__kinds[i]) == 0)
            return *out = (enum simnet_kind)i, 0;
    return -EINVAL;
}

const char *simnet_kind_name(enum simnet_kind k)
{
    return (unsigned)k < SIMNET_NKINDS ? simnet__kinds[k] : "?";
}

int simnet_period_parse(const char *s, enum simnet_period *out)
{
    for (int i = 0; i < SIMNET_NPERIODS; i++)
        if (strcmp(s, simnet__periods[i]) == 0)
            return *out = (enum simnet_period)i, 0;
    return -EINVAL;
}

const char *simnet_period_name(enum simnet_period p)
{
    return (unsigned)p < SIMNET_NPERIODS ? simnet__periods[p] : "?";
}

bool simnet_kind_is_outlet(enum simnet_kind k)
{
    return k == SIMNET_GAS_OUTLET || k == SIMNET_WATER_OUTLET;
}

/* Codes become MQTT topic levels and SQL keys: the registry's own rule. */
static bool simnet__code_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.' && *s != '-')
            return false;
    return true;
}

static bool simnet__pcode_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > SIMNET_PCODE_MAX)
        return false;
    for (; *s; s++)
        if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '_'))
            return false;
    return true;
}

static int simnet__num(const char *s, double *out)
{
    char *end;
    double v;
    if (!*s)
        return -ENOENT;
    errno = 0;
    v = strtod(s, &end);
    if (errno || *end || !isfinite(v))
        return -EBADMSG;
    *out = v;
    return 0;
}

/* Copies s into a field of cap bytes; too long is bad input, not a cut. */
static int simnet__copy(char *dst, size_t cap, const char *s)
{
    size_t n = strlen(s);
    if (n >= cap)
        return -EBADMSG;
    memcpy(dst, s, n + 1);
    return 0;
}

/* Inactive rows ("active" column false) are left out of the simulation. */
static bool simnet__inactive(const struct csv *c, int col)
{
    const char *v = csv_get(c, col);
    return col >= 0 && (strcasecmp(v, "false") == 0 || strcasecmp(v, "f") == 0 ||
                        strcmp(v, "0") == 0 || strcasecmp(v, "no") == 0);
}

static int simnet__find_site(const struct simnet *net, const char *code)
{
    for (size_t i = 0; i < net->nsites; i++)
        if (strcmp(net->sites[i].code, code) == 0)
            return (int)i;
    return -1;
}

int simnet_param_find(const struct simnet *net, const char *code)
{
    for (size_t i = 0; i < net->nparams; i++)
        if (strcmp(net->params[i].code, code) == 0)
            return (int)i;
    return -1;
}

#define SIMNET_FAIL(code, ...)                                                                     \
    do {                                                                                           \
        snprintf(err, errcap, __VA_ARGS__);                                                        \
        rc = (code);                                                                               \
        goto out;                                                                                  \
    } while (0)

/* Opens DIR/FILE into c. Returns 0, 1 when an optional file is absent, or
 * a negative errno with err set. */
static int simnet__open(struct csv *c, const char *dir, const char *file, bool optional, char *path,
                        size_t pathcap, char *err, size_t errcap)
{
    int rc;
    snprintf(path, pathcap, "%s/%s", dir, file);
    rc = csv_open(c, path);
    if (rc == -ENOENT && optional)
        return 1;
    if (rc)
        snprintf(err, errcap, "%s: %s", path, rc == -EBADMSG ? "no header row" : strerror(-rc));
    return rc;
}

/* What csv_next returned last: 0 at the end of the file, or the error with
 * the line it happened on. */
static int simnet__eof(int rc, const char *path, const struct csv *c, char *err, size_t errcap)
{
    if (rc >= 0)
        return 0;
    snprintf(err, errcap, "%s:%ld: %s: %s", path, c->line,
             rc == -E2BIG ? "record too long" : "bad CSV", c->err);
    return rc;
}

static int simnet__params(struct simnet *net, const char *dir, char *err, size_t errcap)
{
    struct csv c;
    char path[512];
    int rc, ccode, chj, chj5, cname, cunit, cmin, cmax;

    if ((rc = simnet__open(&c, dir, "params.csv", false, path, sizeof(path), err, errcap)))
        return rc;
    ccode = csv_col(&c, "code");
    chj = csv_col(&c, "hj212_code");
    chj5 = csv_col(&c, "hj212_2005_code");
    cname = csv_col(&c, "name");
    cunit = csv_col(&c, "unit");
    cmin = csv_col(&c, "valid_min");
    cmax = csv_col(&c, "valid_max");
    if (ccode < 0 || cmin < 0 || cmax < 0)
        SIMNET_FAIL(-EBADMSG, "%s: needs columns code, valid_min, valid_max", path);
    while ((rc = csv_next(&c)) == 1) {
        struct simnet_param *p;
        if (net->nparams >= SIMNET_PARAMS_MAX)
            SIMNET_FAIL(-E2BIG, "%s: more than %d params", path, SIMNET_PARAMS_MAX);
        p = &net->params[net->nparams];
        memset(p, 0, sizeof(*p));
        if (!simnet__pcode_ok(csv_get(&c, ccode)) ||
            simnet__copy(p->code, sizeof(p->code), csv_get(&c, ccode)))
            SIMNET_FAIL(-EBADMSG, "%s:%ld: bad param code \"%s\"", path, c.line,
                        csv_get(&c, ccode));
        if (simnet__copy(p->hj212, sizeof(p->hj212), csv_get(&c, chj)) ||
            simnet__copy(p->hj2005, sizeof(p->hj2005), csv_get(&c, chj5)) ||
            simnet__copy(p->unit, sizeof(p->unit), csv_get(&c, cunit)))
            SIMNET_FAIL(-EBADMSG, "%s:%ld: field too long", path, c.line);
        /* Names are for humans only: a long one is cut, not refused. */
        snprintf(p->name, sizeof(p->name), "%s", csv_get(&c, cname));
        if (simnet__num(csv_get(&c, cmin), &p->vmin) || simnet__num(csv_get(&c, cmax), &p->vmax) ||
            p->vmin >= p->vmax)
            SIMNET_FAIL(-EBADMSG, "%s:%ld: bad valid_min/valid_max", path, c.line);
        if (simnet_param_find(net, p->code) >= 0)
            SIMNET_FAIL(-EBADMSG, "%s:%ld: duplicate param %s", path, c.line, p->code);
        net->nparams++;
    }
    rc = simnet__eof(rc, path, &c, err, errcap);
out:
    csv_close(&c);
    return rc;
}

static int simnet__sites(struct simnet *net, const char *dir, char *err, size_t errcap)
{
    struct csv c;
    char path[512];
    int rc, ccode, cname, ckind, creg, cent, ccls, clon, clat, cact;

    if ((rc = simnet__open(&c, dir, "sites.csv", false, path, sizeof(path), err, errcap)))
        return rc;
    ccode = csv_col(&c, "code");
    cname = csv_col(&c, "name");
    ckind = csv_col(&c, "kind");
    creg = csv_col(&c, "region");
    cent = csv_col(&c, "enterprise");
    ccls = csv_col(&c, "target_class");
    clon = csv_col(&c, "lon");
    clat = csv_col(&c, "lat");
    cact = csv_col(&c, "active");
    if (ccode < 0 || ckind < 0)
        SIMNET_FAIL(-EBADMSG, "%s: needs columns code, kind", path);
    while ((rc = csv_next(&c)) == 1) {
        struct simnet_site *s;
        enum simnet_kind kind;
        double cls;
        int e1, e2;

        if (simnet_kind_parse(csv_get(&c, ckind), &kind) || simnet__inactive(&c, cact)) {
            net->skipped_sites++;
            continue;
        }
        if (net->nsites >= SIMNET_SITES_MAX)
            SIMNET_FAIL(-E2BIG, "%s: more than %d sites", path, SIMNET_SITES_MAX);
        s = &net->sites[net->nsites];
        memset(s, 0, sizeof(*s));
        if (!simnet__code_ok(csv_get(&c, ccode), SIMNET_CODE_MAX) ||
            simnet__copy(s->code, sizeof(s->code), csv_get(&c, ccode)))
            SIMNET_FAIL(-EBADMSG, "%s:%ld: bad site code \"%s\"", path, c.line, csv_get(&c, ccode));
        if (simnet__find_site(net, s->code) >= 0)
            SIMNET_FAIL(-EBADMSG, "%s:%ld: duplicate site %s", path, c.line, s->code);
        snprintf(s->name, sizeof(s->name), "%s", csv_get(&c, cname));
        s->kind = kind;
        if (simnet__copy(s->region, sizeof(s->region), csv_get(&c, creg)) ||
            simnet__copy(s->enterprise, sizeof(s->enterprise), csv_get(&c, cent)))
            SIMNET_FAIL(-EBADMSG, "%s:%ld: field too long", path, c.line);
        if (!simnet__num(csv_get(&c, ccls), &cls) && cls >= 1 && cls <= 6)
            s->target_class = (int)cls;
        e1 = simnet__num(csv_get(&c, clon), &s->lon);
        e2 = simnet__num(csv_get(&c, clat), &s->lat);
        if (e1 == -EBADMSG || e2 == -EBADMSG || (!e1 && (s->lon < -180 || s->lon > 180)) ||
            (!e2 && (s->lat < -90 || s->lat > 90)))
            SIMNET_FAIL(-EBADMSG, "%s:%ld: bad lon/lat", path, c.line);
        s->has_pos = !e1 && !e2;
        s->key = simrng_hash_str(s->code);
        net->nsites++;
    }
    rc = simnet__eof(rc, path, &c, err, errcap);
out:
    csv_close(&c);
    return rc;
}

static int simnet__devices(struct simnet *net, const char *dir, char *err, size_t errcap)
{
    struct csv c;
    char path[512];
    int rc, ccode, csite, cproto, cpw, cst, cact;

    if ((rc = simnet__open(&c, dir, "devices.csv", false, path, sizeof(path), err, errcap)))
        return rc;
    ccode = csv_col(&c, "code");
    csite = csv_col(&c, "site");
    cproto = csv_col(&c, "protocol");
    cpw = csv_col(&c, "password");
    cst = csv_col(&c, "hj212_st");
    cact = csv_col(&c, "active");
    if (ccode < 0 || csite < 0)
        SIMNET_FAIL(-EBADMSG, "%s: needs columns code, site", path);
    while ((rc = csv_next(&c)) == 1) {
        struct simnet_device *d;
        const char *proto = csv_get(&c, cproto);
        int site = simnet__find_site(net, csv_get(&c, csite));

        /* A device of a skipped (inactive, unknown-kind) site is skipped too. */
        if (site < 0 || simnet__inactive(&c, cact)) {
            net->skipped_devices++;
            continue;
        }
        if (net->ndevices >= SIMNET_DEVICES_MAX)
            SIMNET_FAIL(-E2BIG, "%s: more than %d devices", path, SIMNET_DEVICES_MAX);
        d = &net->devices[net->ndevices];
        memset(d, 0, sizeof(*d));
        if (!simnet__code_ok(csv_get(&c, ccode), SIMNET_CODE_MAX) ||
            simnet__copy(d->code, sizeof(d->code), csv_get(&c, ccode)))
            SIMNET_FAIL(-EBADMSG, "%s:%ld: bad device code \"%s\"", path, c.line,
                        csv_get(&c, ccode));
        for (size_t i = 0; i < net->ndevices; i++)
            if (strcmp(net->devices[i].code, d->code) == 0)
                SIMNET_FAIL(-EBADMSG, "%s:%ld: duplicate device %s", path, c.line, d->code);
        d->site = site;
        if (strcmp(proto, "hj212") == 0)
            d->hj212 = true;
        else if (*proto && strcmp(proto, "mqtt") != 0)
            SIMNET_FAIL(-EBADMSG, "%s:%ld: protocol must be mqtt or hj212", path, c.line);
        if (simnet__copy(d->password, sizeof(d->password), csv_get(&c, cpw)) ||
            simnet__copy(d->st, sizeof(d->st), csv_get(&c, cst)))
            SIMNET_FAIL(-EBADMSG, "%s:%ld: field too long", path, c.line);
        net->ndevices++;
    }
    rc = simnet__eof(rc, path, &c, err, errcap);
out:
    csv_close(&c);
    return rc;
}

/* limits.csv is optional: without it the model falls back to the headline
 * emission limits it knows. Graded quality-class rows (class set) are not
 * emission limits and are not kept. */
static bool simnet__is_class(const char *field, int target)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(field, &end, 10);
    return !errno && end != field && *end == '\0' && target > 0 && v == target;
}

static int simnet__limits(struct simnet *net, const char *dir, char *err, size_t errcap)
{
    struct csv c;
    char path[512];
    int rc, csite, ckind, cparam, cper, ccls, clo, cup;

    rc = simnet__open(&c, dir, "limits.csv", true, path, sizeof(path), err, errcap);
    if (rc)
        return rc > 0 ? 0 : rc;
    csite = csv_col(&c, "site");
    ckind = csv_col(&c, "site_kind");
    cparam = csv_col(&c, "param");
    cper = csv_col(&c, "period");
    ccls = csv_col(&c, "class");
    clo = csv_col(&c, "lower");
    cup = csv_col(&c, "upper");
    if (cparam < 0 || (csite < 0 && ckind < 0))
        SIMNET_FAIL(-EBADMSG, "%s: needs columns param and site or site_kind", path);
    while ((rc = csv_next(&c)) == 1) {
        struct simnet_limit *l;
        enum simnet_kind kind = SIMNET_AIR;
        enum simnet_period per;
        int site = -1, param = simnet_param_find(net, csv_get(&c, cparam)), e1, e2;

        if (*csv_get(&c, csite)) {
            site = simnet__find_site(net, csv_get(&c, csite));
            if (site < 0) {
                net->skipped_limits++;
                continue;
            }
        } else if (simnet_kind_parse(csv_get(&c, ckind), &kind)) {
            net->skipped_limits++;
            continue;
        }
        /* a class row is the site's limit when it is its target class (a
         * reservoir's lake column); kind-wide class rows are the model's
         * own tables */
        if (param < 0 ||
            (*csv_get(&c, ccls) &&
             (site < 0 || !simnet__is_class(csv_get(&c, ccls), net->sites[site].target_class)))) {
            net->skipped_limits++;
            continue;
        }
        if (net->nlimits >= SIMNET_LIMITS_MAX)
            SIMNET_FAIL(-E2BIG, "%s: more than %d limits", path, SIMNET_LIMITS_MAX);
        l = &net->limits[net->nlimits];
        memset(l, 0, sizeof(*l));
        l->site = site;
        l->kind = site >= 0 ? -1 : (int)kind;
        l->param = param;
        l->period = simnet_period_parse(csv_get(&c, cper), &per) ? -1 : (int)per;
        e1 = simnet__num(csv_get(&c, clo), &l->lower);
        e2 = simnet__num(csv_get(&c, cup), &l->upper);
        if (e1 == -EBADMSG || e2 == -EBADMSG)
            SIMNET_FAIL(-EBADMSG, "%s:%ld: bad lower/upper", path, c.line);
        l->has_lower = !e1;
        l->has_upper = !e2;
        net->nlimits++;
    }
    rc = simnet__eof(rc, path, &c, err, errcap);
out:
    csv_close(&c);
    return rc;
}

static int simnet__hjmap(struct simnet *net, const char *dir, char *err, size_t errcap)
{
    struct csv c;
    char path[512];
    int rc, cst, ccode, cparam;

    rc = simnet__open(&c, dir, "hj212_map.csv", true, path, sizeof(path), err, errcap);
    if (rc)
        return rc > 0 ? 0 : rc;
    cst = csv_col(&c, "st");
    ccode = csv_col(&c, "hj212_code");
    cparam = csv_col(&c, "param");
    if (cst < 0 || ccode < 0 || cparam < 0)
        SIMNET_FAIL(-EBADMSG, "%s: needs columns st, hj212_code, param", path);
    while ((rc = csv_next(&c)) == 1) {
        struct simnet_hjmap *m;
        int param = simnet_param_find(net, csv_get(&c, cparam));
        if (param < 0)
            continue;
        if (net->nhjmap >= SIMNET_HJMAP_MAX)
            SIMNET_FAIL(-E2BIG, "%s: more than %d rows", path, SIMNET_HJMAP_MAX);
        m = &net->hjmap[net->nhjmap];
        if (simnet__copy(m->st, sizeof(m->st), csv_get(&c, cst)) ||
            simnet__copy(m->code, sizeof(m->code), csv_get(&c, ccode)))
            SIMNET_FAIL(-EBADMSG, "%s:%ld: field too long", path, c.line);
        m->param = param;
        net->nhjmap++;
    }
    rc = simnet__eof(rc, path, &c, err, errcap);
out:
    csv_close(&c);
    return rc;
}

int simnet_load(const char *dir, struct simnet **out, char *err, size_t errcap)
{
    struct simnet *net = calloc(1, sizeof(*net));
    int rc = -ENOMEM;

    if (!net)
        goto fail;
    net->params = calloc(SIMNET_PARAMS_MAX, sizeof(*net->params));
    net->sites = calloc(SIMNET_SITES_MAX, sizeof(*net->sites));
    net->devices = calloc(SIMNET_DEVICES_MAX, sizeof(*net->devices));
    net->limits = calloc(SIMNET_LIMITS_MAX, sizeof(*net->limits));
    net->hjmap = calloc(SIMNET_HJMAP_MAX, sizeof(*net->hjmap));
    if (!net->params || !net->sites || !net->devices || !net->limits || !net->hjmap) {
        snprintf(err, errcap, "out of memory");
        goto fail;
    }
    if ((rc = simnet__params(net, dir, err, errcap)) ||
        (rc = simnet__sites(net, dir, err, errcap)) ||
        (rc = simnet__devices(net, dir, err, errcap)) ||
        (rc = simnet__limits(net, dir, err, errcap)) || (rc = simnet__hjmap(net, dir, err, errcap)))
        goto fail;
    *out = net;
    return 0;
fail:
    simnet_free(net);
    return rc;
}

void simnet_free(struct simnet *net)
{
    if (!net)
        return;
    free(net->params);
    free(net->sites);
    free(net->devices);
    free(net->limits);
    free(net->hjmap);
    free(net);
}

int simnet_limit_upper(const struct simnet *net, int site, int param, enum simnet_period period,
                       double *upper)
{
    int best = -1, best_score = -1;
    enum simnet_kind kind = net->sites[site].kind;

    for (size_t i = 0; i < net->nlimits; i++) {
        const struct simnet_limit *l = &net->limits[i];
        int score;
        if (l->param != param || !l->has_upper)
            continue;
        if (l->site == site)
            score = 4;
        else if (l->site < 0 && l->kind == (int)kind)
            score = 0;
        else
            continue;
        score += l->period == (int)period ? 2 : l->period == -1 ? 1 : 0;
        if (score > best_score) {
            best_score = score;
            best = (int)i;
        }
    }
    if (best < 0)
        return -ENOENT;
    *upper = net->limits[best].upper;
    return 0;
}

const char *simnet_hj212_code(const struct simnet *net, const char *st, int param)
{
    for (size_t i = 0; i < net->nhjmap; i++)
        if (net->hjmap[i].param == param && strcmp(net->hjmap[i].st, st) == 0)
            return net->hjmap[i].code;
    return net->params[param].hj212;
}

double simnet_dist_m(double lon1, double lat1, double lon2, double lat2)
{
    const double rad = 0.017453292519943295, r_earth = 6371008.8;
    double p1 = lat1 * rad, p2 = lat2 * rad, dp = (lat2 - lat1) * rad, dl = (lon2 - lon1) * rad;
    double a = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);
    return 2 * r_earth * atan2(sqrt(a), sqrt(1 - a));
}
