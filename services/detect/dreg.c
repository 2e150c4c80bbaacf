#include "dreg.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char DREG_SQL_SITES[] =
    "SELECT id, code, kind, coalesce(ST_Y(geom), 'NaN'), coalesce(ST_X(geom), 'NaN'),"
    " coalesce(target_class, 0), active FROM core.site ORDER BY id";
const char DREG_SQL_PARAMS[] =
    "SELECT id, code, unit, valid_min, valid_max FROM core.param ORDER BY id";
const char DREG_SQL_LIMITS[] =
    "SELECT coalesce(s.id, 0), coalesce(l.site_kind, ''), p.id, l.period, coalesce(l.class, 0),"
    " coalesce(l.lower, 'NaN'), coalesce(l.upper, 'NaN')"
    " FROM core.limit l JOIN core.param p ON p.code = l.param"
    " LEFT JOIN core.site s ON s.code = l.site ORDER BY l.id";
const char DREG_SQL_SETTINGS[] =
    "SELECT a.rule, a.name, a.value, coalesce(a.site_kind, ''), coalesce(s.id, 0),"
    " coalesce(p.id, 0) FROM alarm.setting a LEFT JOIN core.site s ON s.code = a.site"
    " LEFT JOIN core.param p ON p.code = a.param ORDER BY a.id";
const char DREG_SQL_DEVICES[] =
    "SELECT d.code, s.id FROM core.device d JOIN core.site s ON s.code = d.site ORDER BY d.id";

static const char *const dreg__kinds[DREG_NKINDS] = {
    "air", "noi", "water", "sea", "gas_outlet", "water_outlet", "mobile",
};

/* Every setting the rules read (services/detect/engine.c). Each must have a
 * default row (no site kind, site or parameter) in alarm.setting: the
 * numbers live in one place, the table, where docs/DETECTION.md points
 * operators. */
static const char *const dreg__required[][2] = {
    {"limit", "enabled"},
    {"limit", "min_minutes"},
    {"limit", "clear_minutes"},
    {"limit", "hysteresis"},
    {"limit", "coarser"},
    {"flatline", "enabled"},
    {"flatline", "p_max"},
    {"flatline", "min_repeats"},
    {"flatline", "min_minutes"},
    {"flatline", "warmup"},
    {"spike", "enabled"},
    {"spike", "k"},
    {"spike", "warmup"},
    {"range", "enabled"},
    {"flag", "enabled"},
    {"flag", "min_count"},
    {"offline", "enabled"},
    {"offline", "factor"},
    {"offline", "min_minutes"},
    {"baseline", "enabled"},
    {"baseline", "z"},
    {"baseline", "z_sustained"},
    {"baseline", "sustain"},
    {"baseline", "warmup"},
    {"baseline", "shift"},
    {"neighbour", "enabled"},
    {"neighbour", "radius_km"},
    {"neighbour", "min_neighbours"},
    {"neighbour", "z"},
    {"neighbour", "warmup"},
    {"neighbour", "own_z"},
    {"hotspot", "enabled"},
    {"hotspot", "k"},
    {"hotspot", "ratio"},
    {"hotspot", "warmup"},
};

int dreg_kind_parse(const char *s)
{
    for (int i = 0; i < DREG_NKINDS; i++)
        if (strcmp(s, dreg__kinds[i]) == 0)
            return i;
    return -1;
}

const char *dreg_kind_name(enum dreg_kind k)
{
    return (unsigned)k < DREG_NKINDS ? dreg__kinds[k] : "?";
}

void dreg_init(struct dreg *r)
{
    memset(r, 0, sizeof(*r));
    hmap_init(&r->by_site);
    hmap_init(&r->by_param);
    hmap_init(&r->by_dev);
}

void dreg_close(struct dreg *r)
{
    free(r->sites);
    free(r->params);
    free(r->limits);
    free(r->settings);
    free(r->site_ix);
    free(r->param_ix);
    free(r->dev_codes);
    free(r->dev_sites);
    hmap_close(&r->by_site);
    hmap_close(&r->by_param);
    hmap_close(&r->by_dev);
    dreg_init(r);
}

#define DREG_FAIL(...)                                                                             \
    do {                                                                                           \
        snprintf(why, whycap, __VA_ARGS__);                                                        \
        return -EBADMSG;                                                                           \
    } while (0)

static int dreg__int(const char *s, long lo, long hi, int *out)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -EBADMSG;
    *out = (int)v;
    return 0;
}

/* "NaN" reads as NAN, as PostgreSQL prints it. */
static int dreg__double(const char *s, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    if (errno == ERANGE || end == s || *end)
        return -EBADMSG;
    return 0;
}

static int dreg__copy(char *dst, size_t cap, const char *s)
{
    size_t n = strlen(s);
    if (n >= cap)
        return -EBADMSG;
    memcpy(dst, s, n + 1);
    return 0;
}

static void *dreg__alloc(size_t n, size_t size)
{
    return calloc(n ? n : 1, size);
}

int dreg_fill_sites(struct dreg *r, const PGresult *res, char *why, size_t whycap)
{
    int n = PQntuples(res);
    if (PQnfields(res) != 7)
        DREG_FAIL("sites: expected 7 columns");
    free(r->sites);
    r->nsites = 0;
    if (!(r->sites = dreg__alloc((size_t)n, sizeof(*r->sites))))
        return -ENOMEM;
    for (int i = 0; i < n; i++) {
        struct dreg_site *s = &r->sites[r->nsites];
        int kind = dreg_kind_parse(PQgetvalue(res, i, 2));
        if (dreg__int(PQgetvalue(res, i, 0), 1, DREG_MAX_ID, &s->id) ||
            dreg__copy(s->code, sizeof(s->code), PQgetvalue(res, i, 1)) || kind < 0 ||
            dreg__double(PQgetvalue(res, i, 3), &s->lat) ||
            dreg__double(PQgetvalue(res, i, 4), &s->lon) ||
            dreg__int(PQgetvalue(res, i, 5), 0, 6, &s->target_class))
            DREG_FAIL("sites: row %d cannot be read (site %.64s)", i + 1, PQgetvalue(res, i, 1));
        s->kind = (enum dreg_kind)kind;
        s->active = PQgetvalue(res, i, 6)[0] == 't';
        r->nsites++;
    }
    return 0;
}

int dreg_fill_params(struct dreg *r, const PGresult *res, char *why, size_t whycap)
{
    int n = PQntuples(res);
    if (PQnfields(res) != 5)
        DREG_FAIL("params: expected 5 columns");
    free(r->params);
    r->nparams = 0;
    if (!(r->params = dreg__alloc((size_t)n, sizeof(*r->params))))
        return -ENOMEM;
    for (int i = 0; i < n; i++) {
        struct dreg_param *p = &r->params[r->nparams];
        if (dreg__int(PQgetvalue(res, i, 0), 1, DREG_MAX_ID, &p->id) ||
            dreg__copy(p->code, sizeof(p->code), PQgetvalue(res, i, 1)) ||
            dreg__copy(p->unit, sizeof(p->unit), PQgetvalue(res, i, 2)) ||
            dreg__double(PQgetvalue(res, i, 3), &p->vmin) ||
            dreg__double(PQgetvalue(res, i, 4), &p->vmax))
            DREG_FAIL("params: row %d cannot be read (param %.32s)", i + 1, PQgetvalue(res, i, 1));
        r->nparams++;
    }
    return 0;
}

int dreg_fill_limits(struct dreg *r, const PGresult *res, char *why, size_t whycap)
{
    int n = PQntuples(res);
    if (PQnfields(res) != 7)
        DREG_FAIL("limits: expected 7 columns");
    free(r->limits);
    r->nlimits = 0;
    if (!(r->limits = dreg__alloc((size_t)n, sizeof(*r->limits))))
        return -ENOMEM;
    for (int i = 0; i < n; i++) {
        struct dreg_limit *l = &r->limits[r->nlimits];
        const char *kind = PQgetvalue(res, i, 1), *period = PQgetvalue(res, i, 3);
        if (dreg__int(PQgetvalue(res, i, 0), 0, DREG_MAX_ID, &l->site_id) ||
            dreg__int(PQgetvalue(res, i, 2), 1, DREG_MAX_ID, &l->param_id) ||
            dreg__int(PQgetvalue(res, i, 4), 0, 100, &l->klass) ||
            dreg__double(PQgetvalue(res, i, 5), &l->lower) ||
            dreg__double(PQgetvalue(res, i, 6), &l->upper))
            DREG_FAIL("limits: row %d cannot be read", i + 1);
        l->kind = *kind ? dreg_kind_parse(kind) : -1;
        if (strcmp(period, "rt") == 0)
            l->period = 'r';
        else if (strcmp(period, "min") == 0)
            l->period = 'm';
        else if (strcmp(period, "hour") == 0)
            l->period = 'h';
        else if (strcmp(period, "day") == 0)
            l->period = 'd';
        else
            DREG_FAIL("limits: row %d: unknown period \"%.16s\"", i + 1, period);
        if (!l->site_id && l->kind < 0)
            continue; /* a site that no longer exists, or a kind we do not know */
        r->nlimits++;
    }
    return 0;
}

int dreg_fill_settings(struct dreg *r, const PGresult *res, char *why, size_t whycap)
{
    int n = PQntuples(res);
    if (PQnfields(res) != 6)
        DREG_FAIL("settings: expected 6 columns");
    free(r->settings);
    r->nsettings = 0;
    if (!(r->settings = dreg__alloc((size_t)n, sizeof(*r->settings))))
        return -ENOMEM;
    for (int i = 0; i < n; i++) {
        struct dreg_setting *s = &r->settings[r->nsettings];
        const char *kind = PQgetvalue(res, i, 3);
        if (dreg__copy(s->rule, sizeof(s->rule), PQgetvalue(res, i, 0)) ||
            dreg__copy(s->name, sizeof(s->name), PQgetvalue(res, i, 1)) ||
            dreg__double(PQgetvalue(res, i, 2), &s->value) || !isfinite(s->value) ||
            dreg__int(PQgetvalue(res, i, 4), 0, DREG_MAX_ID, &s->site_id) ||
            dreg__int(PQgetvalue(res, i, 5), 0, DREG_MAX_ID, &s->param_id))
            DREG_FAIL("alarm.setting: row %d cannot be read (%.16s.%.32s)", i + 1,
                      PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
        s->kind = *kind ? dreg_kind_parse(kind) : -1;
        if (*kind && s->kind < 0)
            DREG_FAIL("alarm.setting: row %d: unknown site kind \"%.32s\"", i + 1, kind);
        r->nsettings++;
    }
    return 0;
}

int dreg_fill_devices(struct dreg *r, const PGresult *res, char *why, size_t whycap)
{
    int n = PQntuples(res);
    if (PQnfields(res) != 2)
        DREG_FAIL("devices: expected 2 columns");
    free(r->dev_codes);
    free(r->dev_sites);
    r->ndevs = 0;
    r->dev_codes = dreg__alloc((size_t)n, sizeof(*r->dev_codes));
    r->dev_sites = dreg__alloc((size_t)n, sizeof(*r->dev_sites));
    if (!r->dev_codes || !r->dev_sites)
        return -ENOMEM;
    for (int i = 0; i < n; i++) {
        if (dreg__copy(r->dev_codes[r->ndevs], DREG_CODE_MAX, PQgetvalue(res, i, 0)) ||
            dreg__int(PQgetvalue(res, i, 1), 1, DREG_MAX_ID, &r->dev_sites[r->ndevs]))
            DREG_FAIL("devices: row %d cannot be read", i + 1);
        r->ndevs++;
    }
    return 0;
}

/* Great-circle distance, km. */
static double dreg__km(double lat1, double lon1, double lat2, double lon2)
{
    const double rad = 3.14159265358979323846 / 180.0;
    double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
    double a = sin(dlat / 2) * sin(dlat / 2) +
               cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
    return 2 * 6371.0 * asin(sqrt(a < 1 ? a : 1));
}

/* The nearest same-kind sites of s within radius_km (at most
 * DREG_NEIGHBOURS, nearest first). */
static int dreg__nearest(const struct dreg *r, const struct dreg_site *s, double radius_km,
                         int out[DREG_NEIGHBOURS])
{
    double best[DREG_NEIGHBOURS];
    int n = 0;
    for (size_t j = 0; j < r->nsites; j++) {
        const struct dreg_site *o = &r->sites[j];
        double d;
        int k;
        if (o == s || o->kind != s->kind || !o->active || isnan(o->lat))
            continue;
        d = dreg__km(s->lat, s->lon, o->lat, o->lon);
        if (!(d <= radius_km))
            continue;
        /* insertion into the sorted list of the nearest */
        k = n < DREG_NEIGHBOURS ? n++ : DREG_NEIGHBOURS;
        if (k == DREG_NEIGHBOURS) {
            if (d >= best[DREG_NEIGHBOURS - 1])
                continue;
            k = DREG_NEIGHBOURS - 1;
        }
        while (k > 0 && best[k - 1] > d) {
            best[k] = best[k - 1];
            out[k] = out[k - 1];
            k--;
        }
        best[k] = d;
        out[k] = o->id;
    }
    return n;
}

/* Each site's neighbours: for the neighbour rule, the nearest same-kind
 * sites within neighbour.radius_km; for flatline's test of the weather,
 * within flatline.regional_km (a calm spell holds air pressure still across
 * the islands, farther apart than stations worth comparing readings with).
 * Outlets and vehicles have neither. Quadratic in the sites: fine for the
 * thousands of stations a province has. */
static void dreg__neighbours(struct dreg *r)
{
    for (size_t i = 0; i < r->nsites; i++) {
        struct dreg_site *s = &r->sites[i];
        double wide;
        s->nneighbours = s->nregional = 0;
        if (isnan(s->lat) || s->kind == DREG_MOBILE || s->kind == DREG_GAS_OUTLET ||
            s->kind == DREG_WATER_OUTLET)
            continue;
        s->nneighbours =
            dreg__nearest(r, s, dreg_setting(r, "neighbour", "radius_km", s, 0), s->neighbours);
        /* absent (before migration 0034): the neighbours' radius */
        wide = dreg_setting(r, "flatline", "regional_km", s, 0);
        if (isnan(wide))
            wide = dreg_setting(r, "neighbour", "radius_km", s, 0);
        s->nregional = dreg__nearest(r, s, wide, s->regional);
    }
}

static int dreg__index(uint32_t **ix, size_t *len, size_t n, const void *base, size_t stride)
{
    int maxid = 0;
    for (size_t i = 0; i < n; i++) {
        int id = *(const int *)((const char *)base + i * stride);
        if (id > maxid)
            maxid = id;
    }
    free(*ix);
    *len = (size_t)maxid + 1;
    if (!(*ix = calloc(*len, sizeof(**ix))))
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        (*ix)[*(const int *)((const char *)base + i * stride)] = (uint32_t)i + 1;
    return 0;
}

int dreg_finish(struct dreg *r, char *why, size_t whycap)
{
    int rc;
    for (size_t i = 0; i < sizeof(dreg__required) / sizeof(dreg__required[0]); i++) {
        bool found = false;
        for (size_t j = 0; j < r->nsettings && !found; j++) {
            const struct dreg_setting *s = &r->settings[j];
            found = s->kind < 0 && !s->site_id && !s->param_id &&
                    strcmp(s->rule, dreg__required[i][0]) == 0 &&
                    strcmp(s->name, dreg__required[i][1]) == 0;
        }
        if (!found)
            DREG_FAIL("alarm.setting has no default for %s.%s (run ecoctl db migrate)",
                      dreg__required[i][0], dreg__required[i][1]);
    }
    if ((rc = dreg__index(&r->site_ix, &r->site_ix_len, r->nsites, &r->sites[0].id,
                          sizeof(r->sites[0]))) ||
        (rc = dreg__index(&r->param_ix, &r->param_ix_len, r->nparams, &r->params[0].id,
                          sizeof(r->params[0]))))
        return rc;
    for (size_t i = 0; i < r->nsites; i++)
        if (hmap_put(&r->by_site, r->sites[i].code, strlen(r->sites[i].code), &r->sites[i]))
            return -ENOMEM;
    for (size_t i = 0; i < r->nparams; i++)
        if (hmap_put(&r->by_param, r->params[i].code, strlen(r->params[i].code), &r->params[i]))
            return -ENOMEM;
    for (size_t i = 0; i < r->ndevs; i++)
        if (hmap_put(&r->by_dev, r->dev_codes[i], strlen(r->dev_codes[i]), &r->dev_sites[i]))
            return -ENOMEM;
    dreg__neighbours(r);
    return 0;
}

const struct dreg_site *dreg_site(const struct dreg *r, int id)
{
    if (id <= 0 || (size_t)id >= r->site_ix_len || !r->site_ix[id])
        return NULL;
    return &r->sites[r->site_ix[id] - 1];
}

const struct dreg_param *dreg_param(const struct dreg *r, int id)
{
    if (id <= 0 || (size_t)id >= r->param_ix_len || !r->param_ix[id])
        return NULL;
    return &r->params[r->param_ix[id] - 1];
}

const struct dreg_site *dreg_site_code(const struct dreg *r, const char *code, size_t len)
{
    return hmap_get(&r->by_site, code, len);
}

const struct dreg_param *dreg_param_code(const struct dreg *r, const char *code, size_t len)
{
    return hmap_get(&r->by_param, code, len);
}

int dreg_device_site(const struct dreg *r, const char *code, size_t len)
{
    const int *id = hmap_get(&r->by_dev, code, len);
    return id ? *id : 0;
}

static const char dreg__periods[] = "rmhd";

static bool dreg__limit_at(const struct dreg *r, const struct dreg_site *site, int param_id,
                           char period, double *lower, double *upper)
{
    /* pass 0: the site's own rows; pass 1: its kind's */
    for (int pass = 0; pass < 2; pass++) {
        const struct dreg_limit *hit = NULL;
        for (size_t i = 0; i < r->nlimits; i++) {
            const struct dreg_limit *l = &r->limits[i];
            if (l->param_id != param_id || l->period != period)
                continue;
            if (pass == 0 ? l->site_id != site->id : (l->site_id || l->kind != (int)site->kind))
                continue;
            /* graded standards: the site's target class; ungraded rows
             * apply to every site */
            if (l->klass && l->klass != site->target_class)
                continue;
            if (!hit || (l->klass && !hit->klass))
                hit = l;
        }
        if (hit) {
            *lower = hit->lower;
            *upper = hit->upper;
            return true;
        }
    }
    return false;
}

bool dreg_limit(const struct dreg *r, const struct dreg_site *site, int param_id, char period,
                bool coarser, double *lower, double *upper)
{
    const char *p = strchr(dreg__periods, period);
    if (!p || !period)
        return false;
    for (; *p; p++) {
        if (dreg__limit_at(r, site, param_id, *p, lower, upper))
            return true;
        if (!coarser)
            break;
    }
    return false;
}

double dreg_setting(const struct dreg *r, const char *rule, const char *name,
                    const struct dreg_site *site, int param_id)
{
    const struct dreg_setting *best = NULL;
    int best_rank = -1;
    for (size_t i = 0; i < r->nsettings; i++) {
        const struct dreg_setting *s = &r->settings[i];
        int rank;
        if (strcmp(s->name, name) != 0 || strcmp(s->rule, rule) != 0)
            continue;
        if (s->site_id && (!site || s->site_id != site->id))
            continue;
        if (s->kind >= 0 && (!site || s->kind != (int)site->kind))
            continue;
        if (s->param_id && s->param_id != param_id)
            continue;
        /* site+param 5, site 4, kind+param 3, kind 2, param 1, default 0 */
        if (s->site_id)
            rank = s->param_id ? 5 : 4;
        else if (s->kind >= 0)
            rank = s->param_id ? 3 : 2;
        else
            rank = s->param_id ? 1 : 0;
        if (rank > best_rank) {
            best_rank = rank;
            best = s;
        }
    }
    return best ? best->value : NAN;
}
