/* gepcalc: the GEP engine. See gepcalc.h and docs/GEP.md. */
#include "gepcalc.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------- units ---- */

struct gepcalc__unitdef {
    const char *name;
    enum gepcalc_dim dim;
    double to_base;
    const char *syn[4];
};

static const struct gepcalc__unitdef gepcalc__units[] = {
    {"1", GEPCALC_DIM_NONE, 1, {NULL}},
    {"%", GEPCALC_DIM_NONE, 0.01, {NULL}},
    {"t", GEPCALC_DIM_MASS, 1, {"吨", NULL}},
    {"kg", GEPCALC_DIM_MASS, 1e-3, {NULL}},
    {"t_CO2", GEPCALC_DIM_CARBON, 1, {"tCO2", "t CO2", "t CO₂", NULL}},
    {"t_C", GEPCALC_DIM_CARBON, 44.0 / 12.0, {"tC", "t C", NULL}},
    {"t_O2", GEPCALC_DIM_O2, 1, {"tO2", "t O2", "t O₂", NULL}},
    {"m3", GEPCALC_DIM_VOLUME, 1, {"m³", "m^3", NULL}},
    {"m2", GEPCALC_DIM_AREA, 1, {"m²", "m^2", NULL}},
    {"hm2", GEPCALC_DIM_AREA, 1e4, {"hm²", "ha", NULL}},
    {"km2", GEPCALC_DIM_AREA, 1e6, {"km²", NULL}},
    {"mu", GEPCALC_DIM_AREA, 1e4 / 15.0, {"亩", NULL}},
    {"m", GEPCALC_DIM_LENGTH, 1, {NULL}},
    {"mm", GEPCALC_DIM_LENGTH, 1e-3, {NULL}},
    {"km", GEPCALC_DIM_LENGTH, 1e3, {NULL}},
    {"kWh", GEPCALC_DIM_ENERGY, 1, {"kW·h", NULL}},
    {"visit", GEPCALC_DIM_VISIT, 1, {"人次", "visits", NULL}},
    {"ion", GEPCALC_DIM_ION, 1, {"个", NULL}},
    {"yuan", GEPCALC_DIM_MONEY, 1, {"元", NULL}},
    {"min", GEPCALC_DIM_TIME, 1, {NULL}},
    {"d", GEPCALC_DIM_TIME, 1440, {NULL}},
    {"a", GEPCALC_DIM_TIME, 525600, {NULL}},
};

static bool gepcalc__ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        unsigned char x = (unsigned char)*a, y = (unsigned char)*b;
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y - 'A' + 'a');
        if (x != y)
            return false;
    }
    return *a == *b;
}

int gepcalc_unit_parse(const char *s, struct gepcalc_unit *u)
{
    double mult = 1;

    if (!s)
        return -EINVAL;
    if (strncmp(s, "万", strlen("万")) == 0) {
        mult = 1e4;
        s += strlen("万");
    } else if (strncmp(s, "亿", strlen("亿")) == 0) {
        mult = 1e8;
        s += strlen("亿");
    }
    for (size_t i = 0; i < sizeof(gepcalc__units) / sizeof(gepcalc__units[0]); i++) {
        const struct gepcalc__unitdef *d = &gepcalc__units[i];
        /* ASCII case does not matter (t_co2, KWH): no two units differ by it */
        bool match = gepcalc__ieq(s, d->name);
        for (size_t j = 0; !match && j < 4 && d->syn[j]; j++)
            match = gepcalc__ieq(s, d->syn[j]);
        if (!match)
            continue;
        /* a multiplier on a ratio ("万%") means nothing */
        if (mult != 1 && d->dim == GEPCALC_DIM_NONE)
            return -EINVAL;
        snprintf(u->name, sizeof(u->name), "%s", d->name);
        u->dim = d->dim;
        u->to_base = d->to_base;
        u->mult = mult;
        return 0;
    }
    return -EINVAL;
}

int gepcalc_unit_factor(const struct gepcalc_unit *from, const struct gepcalc_unit *to, double *k)
{
    if (from->dim != to->dim)
        return -EINVAL;
    *k = (from->mult * from->to_base) / (to->mult * to->to_base);
    return 0;
}

/* Splits "a/b" at its one '/'; b NULL for a simple unit. */
static int gepcalc__split(const char *s, char *a, char *b, size_t cap, bool *ratio)
{
    const char *slash = strchr(s, '/');
    size_t la;

    *ratio = slash != NULL;
    if (!slash) {
        if (strlen(s) >= cap)
            return -EINVAL;
        memcpy(a, s, strlen(s) + 1);
        return 0;
    }
    la = (size_t)(slash - s);
    if (la >= cap || strlen(slash + 1) >= cap || strchr(slash + 1, '/'))
        return -EINVAL;
    memcpy(a, s, la);
    a[la] = '\0';
    memcpy(b, slash + 1, strlen(slash + 1) + 1);
    return 0;
}

int gepcalc_convert(const char *from, const char *to, double *k)
{
    char fa[GEPCALC_UNIT_MAX], fb[GEPCALC_UNIT_MAX], ta[GEPCALC_UNIT_MAX], tb[GEPCALC_UNIT_MAX];
    struct gepcalc_unit ufa, ufb, uta, utb;
    bool fr, tr;
    double ka, kb;

    if (!from || !to)
        return -EINVAL;
    if (strcmp(from, to) == 0) {
        *k = 1;
        return 0;
    }
    if (gepcalc__split(from, fa, fb, sizeof(fa), &fr) ||
        gepcalc__split(to, ta, tb, sizeof(ta), &tr) || fr != tr || gepcalc_unit_parse(fa, &ufa) ||
        gepcalc_unit_parse(ta, &uta) || gepcalc_unit_factor(&ufa, &uta, &ka))
        return -EINVAL;
    if (!fr) {
        *k = ka;
        return 0;
    }
    if (gepcalc_unit_parse(fb, &ufb) || gepcalc_unit_parse(tb, &utb) ||
        gepcalc_unit_factor(&ufb, &utb, &kb))
        return -EINVAL;
    *k = ka / kb;
    return 0;
}

int gepcalc_value(double q, const struct gepcalc_unit *qunit, double p,
                  const struct gepcalc_unit *punit, double *yuan)
{
    double k, v;

    if (gepcalc_unit_factor(qunit, punit, &k))
        return -EINVAL;
    v = q * k * p;
    if (!isfinite(v))
        return -ERANGE;
    *yuan = v;
    return 0;
}

int gepcalc_fen(double yuan, int64_t *fen)
{
    double f;

    if (!isfinite(yuan) || fabs(yuan) > 9e13)
        return -ERANGE;
    f = round(yuan * 100.0); /* half away from zero */
    *fen = (int64_t)f;
    return 0;
}

struct gepcalc__svc {
    const char *code, *category;
};

static const struct gepcalc__svc gepcalc__services[] = {
    {"agriculture", "provisioning"},
    {"forestry", "provisioning"},
    {"animal_husbandry", "provisioning"},
    {"fishery", "provisioning"},
    {"marine_capture", "provisioning"},
    {"mariculture", "provisioning"},
    {"water_supply", "provisioning"},
    {"ecological_energy", "provisioning"},
    {"other_products", "provisioning"},
    {"water_conservation", "regulating"},
    {"soil_retention", "regulating"},
    {"sand_fixation", "regulating"},
    {"flood_regulation", "regulating"},
    {"air_purification", "regulating"},
    {"water_purification", "regulating"},
    {"carbon_sequestration", "regulating"},
    {"oxygen_release", "regulating"},
    {"climate_regulation", "regulating"},
    {"negative_ions", "regulating"},
    {"pest_control", "regulating"},
    {"noise_reduction", "regulating"},
    {"coastal_protection", "regulating"},
    {"sea_purification", "regulating"},
    {"mariculture_carbon", "regulating"},
    {"recreation", "cultural"},
    {"landscape", "cultural"},
    {"non_use", "cultural"},
};

static const struct gepcalc__svc *gepcalc__service(const char *code)
{
    for (size_t i = 0; i < sizeof(gepcalc__services) / sizeof(gepcalc__services[0]); i++)
        if (code && strcmp(code, gepcalc__services[i].code) == 0)
            return &gepcalc__services[i];
    return NULL;
}

const char *gepcalc_service_category(const char *service)
{
    const struct gepcalc__svc *s = gepcalc__service(service);
    return s ? s->category : NULL;
}

const char *gepcalc_service_code(const char *service)
{
    const struct gepcalc__svc *s = gepcalc__service(service);
    return s ? s->code : NULL;
}

/* ---------------------------------------------------------- formulas ---- */

double gepcalc_water_balance(double area_m2, double precip_m, double runoff_m, double et_m)
{
    double q = area_m2 * (precip_m - runoff_m - et_m);
    return q > 0 ? q : 0;
}

double gepcalc_usle_retained(double r, double k, double ls, double c, double p)
{
    return r * k * ls * (1.0 - c * p);
}

double gepcalc_sediment_volume(double lambda, double soil_t, double bulk_density)
{
    return lambda * soil_t / bulk_density;
}

double gepcalc_lake_capacity(double a, double b, double area_km2, double turnover)
{
    return exp(a) * pow(area_km2, b) * turnover * 1e4;
}

double gepcalc_equiv_price(double rate_yuan_per_eq, double kg_per_eq)
{
    return rate_yuan_per_eq / kg_per_eq * 1000.0;
}

double gepcalc_capped(double capacity, double load)
{
    if (capacity < 0)
        return load;
    return capacity < load ? capacity : load;
}

double gepcalc_cooling_kwh(double epp, double area_m2, double days, double eer)
{
    return epp * area_m2 * days / (3600.0 * eer);
}

double gepcalc_evaporation_kwh(double evap_m3, double latent_kj_per_kg, double humidifier_kwh_m3)
{
    return evap_m3 * 1000.0 * latent_kj_per_kg / 3600.0 + evap_m3 * humidifier_kwh_m3;
}

double gepcalc_ions_above(double area_hm2, double height_m, double conc, double threshold,
                          double life_min)
{
    double d = conc - threshold;
    return d > 0 ? GEPCALC_ION_K * area_hm2 * height_m * d / life_min : 0;
}

double gepcalc_shell_carbon(double output_t, double shell_ratio, double shell_c, double eps)
{
    return output_t * shell_ratio * shell_c * (1.0 - eps);
}

double gepcalc_shell_poc(double shell_c_t, double eps, double tissue_c_t, double poc_ratio,
                         double gamma_poc)
{
    return (shell_c_t / (1.0 - eps) + tissue_c_t) * poc_ratio * gamma_poc;
}

double gepcalc_algae_poc(double ca, double alpha, double beta, double gamma)
{
    return ca * alpha / (1.0 - alpha - beta) * gamma;
}

double gepcalc_algae_doc(double ca, double alpha, double beta, double gamma)
{
    return ca * beta / (1.0 - alpha - beta) * gamma;
}

double gepcalc_time_cost(double share, double daily_wage, double days)
{
    return share * daily_wage * days;
}

/* ---------------------------------------------------------- services ---- */

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int
gepcalc__fail(struct gepcalc_out *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->err, sizeof(out->err), fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* Reads p into *v in want_unit. A p without key is "not given": required
 * ones are refused under the name `what`, optional ones take dflt. */
static int gepcalc__get(struct gepcalc_out *out, const struct gepcalc_p *p, const char *what,
                        const char *want_unit, bool required, double dflt, double *v)
{
    const char *name = p->key ? p->key : what;
    double k = 1;

    *v = 0; /* written on every path: callers chain reads with || */
    if (!p->key) {
        if (required)
            return gepcalc__fail(out, "%s is missing", what);
        *v = dflt;
        return 0;
    }
    if (!p->set)
        return gepcalc__fail(out, "%s has no value", name);
    if (!p->source || !*p->source)
        return gepcalc__fail(out, "%s has no source", name);
    if (!isfinite(p->v))
        return gepcalc__fail(out, "%s is not a finite number", name);
    if (want_unit && p->unit && *p->unit && gepcalc_convert(p->unit, want_unit, &k))
        return gepcalc__fail(out, "%s is in %s, which does not convert to %s", name, p->unit,
                             want_unit);
    *v = p->v * k;
    return 0;
}

/* A fraction (unit "1", or "%" converted): refused outside [0, 1], which
 * is how a percentage given without its unit shows. */
static int gepcalc__frac(struct gepcalc_out *out, const struct gepcalc_p *p, const char *what,
                         bool required, double dflt, double *v)
{
    int rc = gepcalc__get(out, p, what, "1", required, dflt, v);
    if (rc)
        return rc;
    if (*v < 0 || *v > 1)
        return gepcalc__fail(out, "%s is %g, not a fraction between 0 and 1 (unit %% for percent)",
                             p->key ? p->key : what, *v);
    return 0;
}

#define GEPCALC__REQ(p, what, unit, v) gepcalc__get(out, (p), (what), (unit), true, 0, (v))
#define GEPCALC__FRAC(p, what, v) gepcalc__frac(out, (p), (what), true, 0, (v))
#define GEPCALC__OFRAC(p, what, v) gepcalc__frac(out, (p), (what), false, 0, (v))
#define GEPCALC__OPT(p, what, unit, dflt, v)                                                       \
    gepcalc__get(out, (p), (what), (unit), false, (dflt), (v))

static void gepcalc__src(struct gepcalc_item *it, const struct gepcalc_p *p)
{
    if (!p->key || !p->source || !*p->source)
        return;
    for (size_t i = 0; i < it->nsources; i++)
        if (strcmp(it->sources[i], p->source) == 0)
            return;
    if (it->nsources < GEPCALC_SOURCES_MAX)
        it->sources[it->nsources++] = p->source;
}

/* Appends a line: quantity q [qunit] at price p yuan per punit, value
 * computed here; the sources of the n params in ps. */
static int gepcalc__item(struct gepcalc_out *out, const char *service, const char *label,
                         const char *ecosystem, double q, const char *qunit, double p,
                         const char *punit, const char *method, const struct gepcalc_p *price,
                         const struct gepcalc_p *const *ps, size_t n)
{
    const struct gepcalc__svc *svc = gepcalc__service(service);
    struct gepcalc_unit uq, up;
    struct gepcalc_item *it;
    int rc;

    if (!svc)
        return gepcalc__fail(out, "unknown service %s", service ? service : "(null)");
    if (out->n >= out->cap) {
        snprintf(out->err, sizeof(out->err), "too many line items (at most %zu)", out->cap);
        return -ENOSPC;
    }
    if (gepcalc_unit_parse(qunit, &uq) || gepcalc_unit_parse(punit, &up))
        return gepcalc__fail(out, "%s: unknown unit %s or %s", label, qunit, punit);
    it = &out->items[out->n];
    memset(it, 0, sizeof(*it));
    rc = gepcalc_value(q, &uq, p, &up, &it->value);
    if (rc)
        return gepcalc__fail(out, "%s: %s x %s does not give yuan", label, qunit, punit);
    it->category = svc->category;
    it->service = svc->code;
    snprintf(it->item, sizeof(it->item), "%s", label);
    it->ecosystem = ecosystem ? ecosystem : "";
    it->has_quantity = it->has_price = true;
    it->quantity = q;
    snprintf(it->qunit, sizeof(it->qunit), "%s", qunit);
    it->price = p;
    snprintf(it->punit, sizeof(it->punit), "%s", punit);
    it->price_year = price ? price->year : 0;
    it->method = method;
    if (price)
        gepcalc__src(it, price);
    for (size_t i = 0; i < n; i++)
        gepcalc__src(it, ps[i]);
    out->n++;
    return 0;
}

#define GEPCALC__NPS(a) (sizeof(a) / sizeof((a)[0]))

int gepcalc_water_conservation(const struct gepcalc_wc *in, struct gepcalc_out *out)
{
    size_t n0 = out->n;
    double cwe, cwo;
    int rc;

    if ((rc = GEPCALC__REQ(&in->res_unit_cost, "res_unit_cost", "yuan/m3", &cwe)) ||
        (rc = GEPCALC__OPT(&in->res_unit_opcost, "res_unit_opcost", "yuan/m3", 0, &cwo)))
        goto fail;
    if (in->neco == 0) {
        rc = gepcalc__fail(out, "water_conservation: no ecosystem areas");
        goto fail;
    }
    for (size_t i = 0; i < in->neco; i++) {
        const struct gepcalc_wc_eco *e = &in->eco[i];
        const struct gepcalc_p *ps[] = {&e->area, &e->precip, &e->et, &e->runoff_coef,
                                        &in->res_unit_opcost};
        double a, p, et, alpha;
        char label[64];

        if ((rc = GEPCALC__REQ(&e->area, "area", "m2", &a)) ||
            (rc = GEPCALC__REQ(&e->precip, "precip", "mm", &p)) ||
            (rc = GEPCALC__REQ(&e->et, "et", "mm", &et)) ||
            (rc = GEPCALC__FRAC(&e->runoff_coef, "runoff_coef", &alpha)))
            goto fail;
        snprintf(label, sizeof(label), "water conservation %s", e->ecosystem ? e->ecosystem : "");
        if ((rc = gepcalc__item(out, "water_conservation", label, e->ecosystem,
                                gepcalc_water_balance(a, p / 1000, p / 1000 * alpha, et / 1000),
                                "m3", cwe + cwo, "m3", "water_balance", &in->res_unit_cost, ps,
                                GEPCALC__NPS(ps))))
            goto fail;
    }
    return 0;
fail:
    out->n = n0;
    return rc;
}

int gepcalc_soil_retention(const struct gepcalc_sr *in, struct gepcalc_out *out)
{
    const struct gepcalc_p *ps[] = {&in->sed_coef, &in->soil_bulk_density, &in->soil_N,
                                    &in->soil_P};
    size_t n0 = out->n;
    double lambda, rho, c, cn, cp, pn, pp, soil = 0;
    int rc;

    if ((rc = GEPCALC__FRAC(&in->sed_coef, "sed_coef", &lambda)) ||
        (rc = GEPCALC__REQ(&in->soil_bulk_density, "soil_bulk_density", "t/m3", &rho)) ||
        (rc = GEPCALC__REQ(&in->dredge_cost, "dredge_cost", "yuan/m3", &c)) ||
        (rc = GEPCALC__FRAC(&in->soil_N, "soil_N", &cn)) ||
        (rc = GEPCALC__FRAC(&in->soil_P, "soil_P", &cp)) ||
        (rc = GEPCALC__REQ(&in->price_N, "price_N", "yuan/t", &pn)) ||
        (rc = GEPCALC__REQ(&in->price_P, "price_P", "yuan/t", &pp)))
        goto fail;
    if (rho <= 0) {
        rc = gepcalc__fail(out, "soil_bulk_density must be positive");
        goto fail;
    }
    if (in->neco == 0) {
        rc = gepcalc__fail(out, "soil_retention: no ecosystem areas");
        goto fail;
    }
    for (size_t i = 0; i < in->neco; i++) {
        const struct gepcalc_sr_eco *e = &in->eco[i];
        double a, r, k, ls, cc, pf;
        if ((rc = GEPCALC__REQ(&e->area, "area", "hm2", &a)) ||
            (rc = GEPCALC__REQ(&e->r, "usle_R", NULL, &r)) ||
            (rc = GEPCALC__REQ(&e->k, "usle_K", NULL, &k)) ||
            (rc = GEPCALC__REQ(&e->ls, "usle_LS", NULL, &ls)) ||
            (rc = GEPCALC__FRAC(&e->c, "usle_C", &cc)) ||
            (rc = GEPCALC__FRAC(&e->p, "usle_P", &pf)))
            goto fail;
        soil += gepcalc_usle_retained(r, k, ls, cc, pf) * a;
    }
    /* One line per valuation part; the retained soil A_s is their base. */
    {
        const struct gepcalc_p *eps[GEPCALC__NPS(ps) + 6 * 4];
        size_t ne = 0;
        for (size_t i = 0; i < GEPCALC__NPS(ps); i++)
            eps[ne++] = ps[i];
        for (size_t i = 0; i < in->neco && ne + 6 <= GEPCALC__NPS(eps); i++) {
            eps[ne++] = &in->eco[i].area;
            eps[ne++] = &in->eco[i].r;
            eps[ne++] = &in->eco[i].k;
            eps[ne++] = &in->eco[i].ls;
            eps[ne++] = &in->eco[i].c;
            eps[ne++] = &in->eco[i].p;
        }
        if ((rc = gepcalc__item(out, "soil_retention", "reduced reservoir sedimentation", "",
                                gepcalc_sediment_volume(lambda, soil, rho), "m3", c, "m3",
                                "usle_sediment", &in->dredge_cost, eps, ne)) ||
            (rc = gepcalc__item(out, "soil_retention", "reduced nitrogen loss", "", soil * cn, "t",
                                pn, "t", "usle_nutrient", &in->price_N, eps, ne)) ||
            (rc = gepcalc__item(out, "soil_retention", "reduced phosphorus loss", "", soil * cp,
                                "t", pp, "t", "usle_nutrient", &in->price_P, eps, ne)))
            goto fail;
    }
    return 0;
fail:
    out->n = n0;
    return rc;
}

int gepcalc_sand_fixation(const struct gepcalc_sf *in, struct gepcalc_out *out)
{
    const struct gepcalc_p *ps[] = {&in->retained, &in->sand_density, &in->depth};
    size_t n0 = out->n;
    double q, rho, h, c;
    int rc;

    if ((rc = GEPCALC__REQ(&in->retained, "sand_retained", "t", &q)) ||
        (rc = GEPCALC__REQ(&in->sand_density, "sand_density", "t/m3", &rho)) ||
        (rc = GEPCALC__REQ(&in->depth, "sand_depth", "m", &h)) ||
        (rc = GEPCALC__REQ(&in->cost, "sand_cost", "yuan/m2", &c)))
        goto fail;
    if (rho <= 0 || h <= 0) {
        rc = gepcalc__fail(out, "sand_density and sand_depth must be positive");
        goto fail;
    }
    if ((rc = gepcalc__item(out, "sand_fixation", "land kept from burial", "", q / (rho * h), "m2",
                            c, "m2", "rweq", &in->cost, ps, GEPCALC__NPS(ps))))
        goto fail;
    return 0;
fail:
    out->n = n0;
    return rc;
}

int gepcalc_flood_regulation(const struct gepcalc_fr *in, struct gepcalc_out *out)
{
    size_t n0 = out->n;
    double cwe, cwo, v, k;
    int rc, parts = 0;

    if ((rc = GEPCALC__REQ(&in->res_unit_cost, "res_unit_cost", "yuan/m3", &cwe)) ||
        (rc = GEPCALC__OPT(&in->res_unit_opcost, "res_unit_opcost", "yuan/m3", 0, &cwo)))
        goto fail;
    if (in->reservoir_capacity.key) {
        const struct gepcalc_p *ps[] = {&in->reservoir_capacity, &in->res_flood_ratio,
                                        &in->res_unit_opcost};
        if ((rc = GEPCALC__REQ(&in->reservoir_capacity, "reservoir_capacity", "m3", &v)) ||
            (rc = GEPCALC__FRAC(&in->res_flood_ratio, "res_flood_ratio", &k)) ||
            (rc = gepcalc__item(out, "flood_regulation", "reservoirs", "", k * v, "m3", cwe + cwo,
                                "m3", "reservoir", &in->res_unit_cost, ps, GEPCALC__NPS(ps))))
            goto fail;
        parts++;
    }
    if (in->marsh_area.key) {
        const struct gepcalc_p *ps[] = {&in->marsh_area, &in->marsh_depth, &in->res_unit_opcost};
        if ((rc = GEPCALC__REQ(&in->marsh_area, "marsh_area", "m2", &v)) ||
            (rc = GEPCALC__REQ(&in->marsh_depth, "marsh_depth", "m", &k)) ||
            (rc =
                 gepcalc__item(out, "flood_regulation", "marshes", "wetland", v * k, "m3",
                               cwe + cwo, "m3", "marsh", &in->res_unit_cost, ps, GEPCALC__NPS(ps))))
            goto fail;
        parts++;
    }
    for (size_t i = 0; i < in->nlakes; i++) {
        const struct gepcalc_lake *l = &in->lakes[i];
        const struct gepcalc_p *ps[] = {&l->area, &l->a, &l->b, &l->turnover, &in->res_unit_opcost};
        double a, b, t;
        char label[64];
        if ((rc = GEPCALC__REQ(&l->area, "lake_area", "km2", &v)) ||
            (rc = GEPCALC__REQ(&l->a, "lake_a", "1", &a)) ||
            (rc = GEPCALC__REQ(&l->b, "lake_b", "1", &b)) ||
            (rc = GEPCALC__OPT(&l->turnover, "lake_turnover", "1", 1, &t)))
            goto fail;
        snprintf(label, sizeof(label), "lake %s", l->name ? l->name : "");
        if ((rc = gepcalc__item(out, "flood_regulation", label, "wetland",
                                gepcalc_lake_capacity(a, b, v, t), "m3", cwe + cwo, "m3", "lake",
                                &in->res_unit_cost, ps, GEPCALC__NPS(ps))))
            goto fail;
        parts++;
    }
    if (in->veg_storage.key) {
        const struct gepcalc_p *ps[] = {&in->veg_storage, &in->res_unit_opcost};
        if ((rc = GEPCALC__REQ(&in->veg_storage, "veg_storage", "m3", &v)) ||
            (rc = gepcalc__item(out, "flood_regulation", "vegetation", "", v, "m3", cwe + cwo, "m3",
                                "vegetation", &in->res_unit_cost, ps, GEPCALC__NPS(ps))))
            goto fail;
        parts++;
    }
    if (parts == 0) {
        rc = gepcalc__fail(out, "flood_regulation: no reservoirs, marshes, lakes or vegetation");
        goto fail;
    }
    return 0;
fail:
    out->n = n0;
    return rc;
}

int gepcalc_purification(const char *service, const struct gepcalc_pollutant *pl, size_t n,
                         struct gepcalc_out *out)
{
    size_t n0 = out->n;
    int rc;

    if (!service || (strcmp(service, "air_purification") && strcmp(service, "water_purification") &&
                     strcmp(service, "sea_purification"))) {
        rc = gepcalc__fail(out, "purification: unknown service %s", service ? service : "(null)");
        goto fail;
    }
    if (n == 0) {
        rc = gepcalc__fail(out, "%s: no pollutants", service);
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        const struct gepcalc_pollutant *p = &pl[i];
        const struct gepcalc_p *ps[] = {&p->load, &p->capacity, &p->tax_rate, &p->equiv};
        const struct gepcalc_p *price = &p->price;
        double cap, load, c, r, e;
        char label[64];

        if ((rc = GEPCALC__REQ(&p->load, "load", "t", &load)) ||
            (rc = GEPCALC__OPT(&p->capacity, "capacity", "t", -1, &cap)))
            goto fail;
        if (p->price.key) {
            if ((rc = GEPCALC__REQ(&p->price, "price", "yuan/t", &c)))
                goto fail;
        } else {
            if ((rc = GEPCALC__REQ(&p->tax_rate, "tax_rate (or a price)", NULL, &r)) ||
                (rc = GEPCALC__REQ(&p->equiv, "equiv", "kg", &e)))
                goto fail;
            if (e <= 0) {
                rc = gepcalc__fail(out, "%s must be positive", p->equiv.key);
                goto fail;
            }
            c = gepcalc_equiv_price(r, e);
            price = &p->tax_rate;
        }
        snprintf(label, sizeof(label), "%s", p->name ? p->name : "");
        if ((rc = gepcalc__item(out, service, label, "", gepcalc_capped(cap, load), "t", c, "t",
                                p->capacity.key ? "min_capacity_load" : "load", price, ps,
                                GEPCALC__NPS(ps))))
            goto fail;
    }
    return 0;
fail:
    out->n = n0;
    return rc;
}

/* CO2 (t) of one ecosystem by the chosen route. */
static int gepcalc__co2(const struct gepcalc_cs *in, const struct gepcalc_cs_eco *e,
                        struct gepcalc_out *out, double *co2, const char **method)
{
    double b, k, r, a;
    int rc;

    *co2 = 0;
    switch (in->carbon) {
    case GEPCALC_CARBON_BIOMASS:
        if ((rc = GEPCALC__REQ(&e->biomass, "biomass", "t", &b)) ||
            (rc = GEPCALC__REQ(&in->co2_per_dm, "co2_per_dm", "t_CO2/t", &k)))
            return rc;
        *co2 = k * b;
        *method = "biomass";
        return 0;
    case GEPCALC_CARBON_NEP:
        /* in t C unless its unit says otherwise (t_CO2 converts) */
        if ((rc = GEPCALC__REQ(&e->nep, "nep", "t_C", &b)))
            return rc;
        *co2 = GEPCALC_C_TO_CO2 * b;
        *method = "nep";
        return 0;
    case GEPCALC_CARBON_RATE:
        if ((rc = GEPCALC__REQ(&e->rate, "carbon_rate", "t_C/hm2", &r)) ||
            (rc = GEPCALC__REQ(&e->area, "area", "hm2", &a)))
            return rc;
        *co2 = GEPCALC_C_TO_CO2 * r * a;
        *method = "rate";
        return 0;
    }
    return gepcalc__fail(out, "carbon: unknown method");
}

int gepcalc_carbon(const struct gepcalc_cs *in, struct gepcalc_out *out)
{
    size_t n0 = out->n;
    double pc;
    int rc;

    if ((rc = GEPCALC__REQ(&in->price_C, "price_C", "yuan/t_CO2", &pc)))
        goto fail;
    if (in->neco == 0) {
        rc = gepcalc__fail(out, "carbon_sequestration: no ecosystems");
        goto fail;
    }
    for (size_t i = 0; i < in->neco; i++) {
        const struct gepcalc_cs_eco *e = &in->eco[i];
        const struct gepcalc_p *ps[] = {&e->biomass, &e->nep, &e->rate, &e->area, &in->co2_per_dm};
        const char *m = "";
        double co2;
        char label[64];
        if ((rc = gepcalc__co2(in, e, out, &co2, &m)))
            goto fail;
        snprintf(label, sizeof(label), "carbon %s", e->ecosystem ? e->ecosystem : "");
        if ((rc = gepcalc__item(out, "carbon_sequestration", label, e->ecosystem, co2, "t_CO2", pc,
                                "t_CO2", m, &in->price_C, ps, GEPCALC__NPS(ps))))
            goto fail;
    }
    return 0;
fail:
    out->n = n0;
    return rc;
}

int gepcalc_oxygen(const struct gepcalc_cs *in, struct gepcalc_out *out)
{
    size_t n0 = out->n;
    double po;
    int rc;

    if ((rc = GEPCALC__REQ(&in->price_O2, "price_O2", "yuan/t_O2", &po)))
        goto fail;
    if (in->neco == 0) {
        rc = gepcalc__fail(out, "oxygen_release: no ecosystems");
        goto fail;
    }
    for (size_t i = 0; i < in->neco; i++) {
        const struct gepcalc_cs_eco *e = &in->eco[i];
        const struct gepcalc_p *ps[] = {&e->biomass, &e->nep,         &e->rate,
                                        &e->area,    &in->co2_per_dm, &in->o2_per_dm};
        const char *m = "biomass";
        double o2, b, k;
        char label[64];
        if (in->oxygen == GEPCALC_OXYGEN_BIOMASS) {
            if ((rc = GEPCALC__REQ(&e->biomass, "biomass", "t", &b)) ||
                (rc = GEPCALC__REQ(&in->o2_per_dm, "o2_per_dm", "t_O2/t", &k)))
                goto fail;
            o2 = k * b;
        } else {
            if ((rc = gepcalc__co2(in, e, out, &o2, &m)))
                goto fail;
            o2 *= GEPCALC_CO2_TO_O2;
            m = "stoichiometric";
        }
        snprintf(label, sizeof(label), "oxygen %s", e->ecosystem ? e->ecosystem : "");
        if ((rc = gepcalc__item(out, "oxygen_release", label, e->ecosystem, o2, "t_O2", po, "t_O2",
                                m, &in->price_O2, ps, GEPCALC__NPS(ps))))
            goto fail;
    }
    return 0;
fail:
    out->n = n0;
    return rc;
}

int gepcalc_climate_regulation(const struct gepcalc_cr *in, struct gepcalc_out *out)
{
    size_t n0 = out->n;
    double pe, days = 0, eer = 1;
    int rc;

    if ((rc = GEPCALC__REQ(&in->price_elec, "price_elec", "yuan/kWh", &pe)))
        goto fail;
    if (in->neco > 0) {
        if ((rc = GEPCALC__REQ(&in->ac_days, "ac_days", "d", &days)) ||
            (rc = GEPCALC__REQ(&in->ac_eer, "ac_eer", "1", &eer)))
            goto fail;
        if (eer <= 0) {
            rc = gepcalc__fail(out, "ac_eer must be positive");
            goto fail;
        }
    }
    for (size_t i = 0; i < in->neco; i++) {
        const struct gepcalc_cr_eco *e = &in->eco[i];
        const struct gepcalc_p *ps[] = {&e->area, &e->epp, &in->ac_days, &in->ac_eer};
        double a, epp;
        char label[64];
        if ((rc = GEPCALC__REQ(&e->area, "area", "m2", &a)) ||
            (rc = GEPCALC__REQ(&e->epp, "epp", NULL, &epp)))
            goto fail;
        snprintf(label, sizeof(label), "transpiration cooling %s",
                 e->ecosystem ? e->ecosystem : "");
        if ((rc = gepcalc__item(out, "climate_regulation", label, e->ecosystem,
                                gepcalc_cooling_kwh(epp, a, days, eer), "kWh", pe, "kWh",
                                "transpiration", &in->price_elec, ps, GEPCALC__NPS(ps))))
            goto fail;
    }
    if (in->evaporation.key) {
        const struct gepcalc_p *ps[] = {&in->evaporation, &in->latent_heat, &in->humidifier_kwh};
        double ew, q, y;
        if ((rc = GEPCALC__REQ(&in->evaporation, "evaporation", "m3", &ew)) ||
            (rc = GEPCALC__REQ(&in->latent_heat, "latent_heat", NULL, &q)) ||
            (rc = GEPCALC__OPT(&in->humidifier_kwh, "humidifier_kwh", "kWh/m3", 0, &y)) ||
            (rc = gepcalc__item(out, "climate_regulation", "water-surface evaporation", "wetland",
                                gepcalc_evaporation_kwh(ew, q, y), "kWh", pe, "kWh", "evaporation",
                                &in->price_elec, ps, GEPCALC__NPS(ps))))
            goto fail;
    }
    if (out->n == n0) {
        rc = gepcalc__fail(out, "climate_regulation: no vegetation and no evaporation");
        goto fail;
    }
    return 0;
fail:
    out->n = n0;
    return rc;
}

int gepcalc_negative_ions(const struct gepcalc_ion *in, struct gepcalc_out *out)
{
    size_t n0 = out->n;
    double q0, life, k;
    int rc;

    if ((rc = GEPCALC__REQ(&in->ion_threshold, "ion_threshold", NULL, &q0)) ||
        (rc = GEPCALC__REQ(&in->ion_life, "ion_life", "min", &life)) ||
        (rc = GEPCALC__REQ(&in->ion_cost, "ion_cost", "yuan/ion", &k)))
        goto fail;
    if (life <= 0) {
        rc = gepcalc__fail(out, "ion_life must be positive");
        goto fail;
    }
    if (in->neco == 0) {
        rc = gepcalc__fail(out, "negative_ions: no ecosystems");
        goto fail;
    }
    for (size_t i = 0; i < in->neco; i++) {
        const struct gepcalc_ion_eco *e = &in->eco[i];
        const struct gepcalc_p *ps[] = {&e->area, &e->height, &e->conc, &in->ion_threshold,
                                        &in->ion_life};
        double a, h, c;
        char label[64];
        if ((rc = GEPCALC__REQ(&e->area, "area", "hm2", &a)) ||
            (rc = GEPCALC__REQ(&e->height, "height", "m", &h)) ||
            (rc = GEPCALC__REQ(&e->conc, "ion_conc", NULL, &c)))
            goto fail;
        snprintf(label, sizeof(label), "negative ions %s", e->ecosystem ? e->ecosystem : "");
        if ((rc = gepcalc__item(out, "negative_ions", label, e->ecosystem,
                                gepcalc_ions_above(a, h, c, q0, life), "ion", k, "ion",
                                "ion_lifetime", &in->ion_cost, ps, GEPCALC__NPS(ps))))
            goto fail;
    }
    return 0;
fail:
    out->n = n0;
    return rc;
}

/* amount x cost (/ life): the shape of pest control, landscape, coast. */
static int gepcalc__unit_cost(const char *service, const char *method, const char *unit,
                              const struct gepcalc_unit_cost *in, size_t n, struct gepcalc_out *out)
{
    size_t n0 = out->n;
    char price_unit[GEPCALC_UNIT_MAX + 8];
    int rc;

    snprintf(price_unit, sizeof(price_unit), "yuan/%s", unit);
    if (n == 0) {
        rc = gepcalc__fail(out, "%s: nothing to value", service);
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        const struct gepcalc_p *ps[] = {&in[i].amount, &in[i].life};
        double q, c, life;
        if ((rc = GEPCALC__REQ(&in[i].amount, "amount", unit, &q)) ||
            (rc = GEPCALC__REQ(&in[i].cost, "cost", price_unit, &c)) ||
            (rc = GEPCALC__OPT(&in[i].life, "life", "a", 1, &life)))
            goto fail;
        if (life <= 0) {
            rc = gepcalc__fail(out, "%s must be positive", in[i].life.key);
            goto fail;
        }
        if ((rc = gepcalc__item(out, service, in[i].name ? in[i].name : "", "", q, unit, c / life,
                                unit, method, &in[i].cost, ps, GEPCALC__NPS(ps))))
            goto fail;
    }
    return 0;
fail:
    out->n = n0;
    return rc;
}

int gepcalc_pest_control(const struct gepcalc_unit_cost *in, size_t n, struct gepcalc_out *out)
{
    return gepcalc__unit_cost("pest_control", "control_cost", "hm2", in, n, out);
}

int gepcalc_landscape(const struct gepcalc_unit_cost *in, size_t n, struct gepcalc_out *out)
{
    return gepcalc__unit_cost("landscape", "hedonic_premium", "m2", in, n, out);
}

int gepcalc_coastal_protection(const struct gepcalc_unit_cost *in, size_t n,
                               struct gepcalc_out *out)
{
    return gepcalc__unit_cost("coastal_protection", "seawall_replacement", "km", in, n, out);
}

int gepcalc_market(const char *service, const struct gepcalc_product *in, size_t n,
                   bool include_distant, struct gepcalc_out *out)
{
    size_t n0 = out->n;
    const char *cat = gepcalc_service_category(service);
    int rc;

    if (!cat || strcmp(cat, "provisioning") != 0) {
        rc = gepcalc__fail(out, "market: %s is not a provisioning service",
                           service ? service : "(null)");
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        const struct gepcalc_product *p = &in[i];
        const struct gepcalc_p *ps[] = {&p->quantity};
        struct gepcalc_unit uq, up;
        char pu[GEPCALC_UNIT_MAX];
        const char *slash;
        double q, c;

        if (p->distant_water && !include_distant)
            continue;
        if ((rc = GEPCALC__REQ(&p->quantity, "quantity", NULL, &q)) ||
            (rc = GEPCALC__REQ(&p->price, "price", NULL, &c)))
            goto fail;
        /* quantities and prices go to base units: 万t -> t, yuan/万t -> yuan/t */
        slash = p->price.unit ? strchr(p->price.unit, '/') : NULL;
        if (!p->quantity.unit || gepcalc_unit_parse(p->quantity.unit, &uq) || !slash ||
            strncmp(p->price.unit, "yuan/", 5) != 0 || gepcalc_unit_parse(slash + 1, &up)) {
            rc = gepcalc__fail(out, "%s: quantity unit %s or price unit %s unknown",
                               p->name ? p->name : "", p->quantity.unit ? p->quantity.unit : "-",
                               p->price.unit ? p->price.unit : "-");
            goto fail;
        }
        snprintf(pu, sizeof(pu), "%s", up.name);
        if ((rc = gepcalc__item(out, service, p->name ? p->name : "", "", q * uq.mult, uq.name,
                                c / up.mult, pu, "market_value", &p->price, ps, GEPCALC__NPS(ps))))
            goto fail;
    }
    return 0;
fail:
    out->n = n0;
    return rc;
}

int gepcalc_marine_primary(const struct gepcalc_marine_pp *in, struct gepcalc_out *out)
{
    const struct gepcalc_p *ps[] = {&in->c_fixed};
    size_t n0 = out->n;
    double c, pc, po;
    int rc;

    if ((rc = GEPCALC__REQ(&in->c_fixed, "c_fixed", "t_C", &c)) ||
        (rc = GEPCALC__REQ(&in->price_C, "price_C", "yuan/t_CO2", &pc)) ||
        (rc = GEPCALC__REQ(&in->price_O2, "price_O2", "yuan/t_O2", &po)) ||
        (rc = gepcalc__item(out, "carbon_sequestration", "marine primary production", "marine",
                            c * GEPCALC_C_TO_CO2, "t_CO2", pc, "t_CO2", "primary_production",
                            &in->price_C, ps, GEPCALC__NPS(ps))) ||
        (rc = gepcalc__item(out, "oxygen_release", "marine primary production", "marine",
                            c * GEPCALC_C_TO_O2, "t_O2", po, "t_O2", "primary_production",
                            &in->price_O2, ps, GEPCALC__NPS(ps))))
        goto fail;
    return 0;
fail:
    out->n = n0;
    return rc;
}

int gepcalc_shellfish_carbon(const struct gepcalc_shellfish *in, size_t n,
                             const struct gepcalc_p *price_C, struct gepcalc_out *out)
{
    size_t n0 = out->n;
    double pc;
    int rc;

    if ((rc = GEPCALC__REQ(price_C, "price_C", "yuan/t_CO2", &pc)))
        goto fail;
    for (size_t i = 0; i < n; i++) {
        const struct gepcalc_shellfish *s = &in[i];
        const struct gepcalc_p *ps[] = {&s->output,    &s->shell_ratio,  &s->shell_c,
                                        &s->eps,       &s->tissue_ratio, &s->tissue_c,
                                        &s->poc_ratio, &s->gamma_poc};
        double p, rs, ws, eps, rt, wt, ratio, g, cs;
        char label[64];
        if ((rc = GEPCALC__REQ(&s->output, "output", "t", &p)) ||
            (rc = GEPCALC__FRAC(&s->shell_ratio, "shell_ratio", &rs)) ||
            (rc = GEPCALC__FRAC(&s->shell_c, "shell_c", &ws)) ||
            (rc = GEPCALC__FRAC(&s->eps, "shell_eps", &eps)) ||
            (rc = GEPCALC__OFRAC(&s->tissue_ratio, "tissue_ratio", &rt)) ||
            (rc = GEPCALC__OFRAC(&s->tissue_c, "tissue_c", &wt)) ||
            (rc = GEPCALC__OPT(&s->poc_ratio, "poc_ratio", "1", 0, &ratio)) ||
            (rc = GEPCALC__OFRAC(&s->gamma_poc, "gamma_poc", &g)))
            goto fail;
        if (eps >= 1) {
            rc = gepcalc__fail(out, "%s must be below 1", s->eps.key);
            goto fail;
        }
        cs = gepcalc_shell_carbon(p, rs, ws, eps);
        snprintf(label, sizeof(label), "shellfish %s", s->name ? s->name : "");
        if ((rc = gepcalc__item(out, "mariculture_carbon", label, "marine",
                                cs + gepcalc_shell_poc(cs, eps, p * rt * wt, ratio, g), "t_C", pc,
                                "t_CO2", "shell_poc", price_C, ps, GEPCALC__NPS(ps))))
            goto fail;
    }
    return 0;
fail:
    out->n = n0;
    return rc;
}

int gepcalc_algae_carbon(const struct gepcalc_algae *in, size_t n, const struct gepcalc_p *price_C,
                         struct gepcalc_out *out)
{
    size_t n0 = out->n;
    double pc;
    int rc;

    if ((rc = GEPCALC__REQ(price_C, "price_C", "yuan/t_CO2", &pc)))
        goto fail;
    for (size_t i = 0; i < n; i++) {
        const struct gepcalc_algae *s = &in[i];
        const struct gepcalc_p *ps[] = {&s->output, &s->c_content, &s->alpha,
                                        &s->beta,   &s->gamma_poc, &s->gamma_doc};
        double p, w, a, b, gp, gd, ca;
        char label[64];
        if ((rc = GEPCALC__REQ(&s->output, "output", "t", &p)) ||
            (rc = GEPCALC__FRAC(&s->c_content, "c_content", &w)) ||
            (rc = GEPCALC__OFRAC(&s->alpha, "alpha", &a)) ||
            (rc = GEPCALC__OFRAC(&s->beta, "beta", &b)) ||
            (rc = GEPCALC__OFRAC(&s->gamma_poc, "gamma_poc", &gp)) ||
            (rc = GEPCALC__OFRAC(&s->gamma_doc, "gamma_doc", &gd)))
            goto fail;
        if (a + b >= 1) {
            rc = gepcalc__fail(out, "alpha + beta must be below 1");
            goto fail;
        }
        ca = p * w;
        snprintf(label, sizeof(label), "algae %s", s->name ? s->name : "");
        if ((rc = gepcalc__item(
                 out, "mariculture_carbon", label, "marine",
                 ca + gepcalc_algae_poc(ca, a, b, gp) + gepcalc_algae_doc(ca, a, b, gd), "t_C", pc,
                 "t_CO2", "algae_poc_doc", price_C, ps, GEPCALC__NPS(ps))))
            goto fail;
    }
    return 0;
fail:
    out->n = n0;
    return rc;
}

int gepcalc_recreation(const struct gepcalc_rec *in, struct gepcalc_out *out)
{
    const struct gepcalc_p *ps[] = {&in->visits, &in->time_share, &in->daily_wage, &in->days,
                                    &in->surplus};
    size_t n0 = out->n;
    double n, te, share, wage, days, cs;
    int rc;

    if ((rc = GEPCALC__REQ(&in->visits, "visits", "visit", &n)) ||
        (rc = GEPCALC__REQ(&in->travel_expense, "travel_expense", "yuan/visit", &te)) ||
        (rc = GEPCALC__FRAC(&in->time_share, "time_share", &share)) ||
        (rc = GEPCALC__REQ(&in->daily_wage, "daily_wage", NULL, &wage)) ||
        (rc = GEPCALC__REQ(&in->days, "days_per_visit", NULL, &days)) ||
        (rc = GEPCALC__OPT(&in->surplus, "surplus", "yuan/visit", 0, &cs)) ||
        (rc = gepcalc__item(out, "recreation", "visits", "", n, "visit",
                            te + gepcalc_time_cost(share, wage, days) + cs, "visit", "travel_cost",
                            &in->travel_expense, ps, GEPCALC__NPS(ps))))
        goto fail;
    return 0;
fail:
    out->n = n0;
    return rc;
}

int gepcalc_total_fen(const struct gepcalc_out *out, size_t from, int64_t *fen)
{
    int64_t sum = 0, f;

    for (size_t i = from; i < out->n; i++) {
        if (gepcalc_fen(out->items[i].value, &f))
            return -ERANGE;
        if ((f > 0 && sum > INT64_MAX - f) || (f < 0 && sum < INT64_MIN - f))
            return -ERANGE;
        sum += f;
    }
    *fen = sum;
    return 0;
}
