/* gepmodel: a run of the physical models. See gepmodel.h and docs/GEP.md. */
#include "gepmodel.h"

#include "json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GEPMODEL_ECO_MAX 32 /* ecosystems (or products, pollutants) in one service */

/* ---- the document ------------------------------------------------------- */

static int gepmodel__rows(const cJSON *arr, bool params, struct gepmodel_row **out, size_t *n)
{
    size_t cnt = 0, i = 0;
    const cJSON *e;

    *out = NULL;
    *n = 0;
    if (!cJSON_IsArray(arr))
        return -EBADMSG;
    cJSON_ArrayForEach(e, arr) cnt++;
    if (cnt > GEPMODEL_ROWS_MAX)
        return -EBADMSG;
    if (cnt == 0)
        return 0;
    if (!(*out = calloc(cnt, sizeof(**out))))
        return -ENOMEM;
    cJSON_ArrayForEach(e, arr)
    {
        struct gepmodel_row *r = &(*out)[i++];
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, "value");
        const cJSON *y = cJSON_GetObjectItemCaseSensitive(e, "year");
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(e, "source");
        if (!cJSON_IsObject(e) || json_get_strp(e, "key", &r->key) ||
            json_get_strp(e, "ecosystem", &r->eco) || json_get_strp(e, "unit", &r->unit))
            return -EBADMSG;
        r->set = cJSON_IsNumber(v);
        r->v = r->set ? v->valuedouble : 0;
        if (v && !r->set && !cJSON_IsNull(v))
            return -EBADMSG;
        r->source = cJSON_IsString(s) ? s->valuestring : NULL;
        if (params && cJSON_IsNumber(y))
            r->year = y->valueint;
    }
    *n = cnt;
    return 0;
}

static const struct gepmodel_row *gepmodel__find(const struct gepmodel_row *rows, size_t n,
                                                 const char *key, const char *eco)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i].key, key) == 0 && strcmp(rows[i].eco, eco) == 0)
            return &rows[i];
    return NULL;
}

/* The row for key and ecosystem: the region's input for the ecosystem,
 * then its region-wide input, then the parameter set's value for the
 * ecosystem, then its general value. */
static const struct gepmodel_row *gepmodel__lookup(const struct gepmodel *m, const char *key,
                                                   const char *eco)
{
    const struct gepmodel_row *r = NULL;
    if (*eco && (r = gepmodel__find(m->in, m->nin, key, eco)))
        return r;
    if ((r = gepmodel__find(m->in, m->nin, key, "")))
        return r;
    if (*eco && (r = gepmodel__find(m->par, m->npar, key, eco)))
        return r;
    return gepmodel__find(m->par, m->npar, key, "");
}

static struct gepcalc_p gepmodel__p(const struct gepmodel_row *r)
{
    struct gepcalc_p p = {.key = r->key,
                          .v = r->v,
                          .set = r->set,
                          .unit = r->unit,
                          .year = r->year,
                          .source = r->source};
    return p;
}

/* A required number: when there is none, a gap named key, which the
 * engine refuses as "key has no value". key must outlive the call. */
static struct gepcalc_p gepmodel__req(const struct gepmodel *m, const char *key, const char *eco)
{
    const struct gepmodel_row *r = gepmodel__lookup(m, key, eco);
    struct gepcalc_p none = {.key = key};
    return r ? gepmodel__p(r) : none;
}

/* An optional number: none, or a row without a value (a known gap that the
 * formula can do without), is "not given". */
static struct gepcalc_p gepmodel__opt(const struct gepmodel *m, const char *key, const char *eco)
{
    const struct gepmodel_row *r = gepmodel__lookup(m, key, eco);
    struct gepcalc_p none = {0};
    return r && r->set ? gepmodel__p(r) : none;
}

static bool gepmodel__has_input(const struct gepmodel *m, const char *key)
{
    for (size_t i = 0; i < m->nin; i++)
        if (strcmp(m->in[i].key, key) == 0)
            return true;
    return false;
}

/* A name built at run time, kept as long as m (the engine borrows it). */
static const char *gepmodel__name(struct gepmodel *m, const char *pre, const char *a,
                                  const char *suf)
{
    if (m->nnames == sizeof(m->names) / sizeof(m->names[0]))
        return NULL;
    snprintf(m->names[m->nnames], sizeof(m->names[0]), "%s%s%s", pre, a, suf);
    return m->names[m->nnames++];
}

static int gepmodel__cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The ecosystems with a value of their own for key (inputs, or the
 * parameter set when params), sorted; with need_area only those the
 * region has an area of. */
static size_t gepmodel__ecos(const struct gepmodel *m, const char *key, bool params, bool need_area,
                             const char **eco)
{
    size_t n = 0;
    for (int pass = 0; pass < (params ? 2 : 1); pass++) {
        const struct gepmodel_row *rows = pass ? m->par : m->in;
        size_t nrows = pass ? m->npar : m->nin;
        for (size_t i = 0; i < nrows && n < GEPMODEL_ECO_MAX; i++) {
            bool dup = false;
            if (strcmp(rows[i].key, key) != 0 || !*rows[i].eco)
                continue;
            if (need_area && !gepmodel__find(m->in, m->nin, "area", rows[i].eco))
                continue;
            for (size_t j = 0; j < n && !dup; j++)
                dup = strcmp(eco[j], rows[i].eco) == 0;
            if (!dup)
                eco[n++] = rows[i].eco;
        }
    }
    qsort(eco, n, sizeof(*eco), gepmodel__cmp);
    return n;
}

/* ---- the services -------------------------------------------------------- */

static const char *const gepmodel__provisioning[] = {
    "agriculture", "forestry",     "animal_husbandry",  "fishery",        "marine_capture",
    "mariculture", "water_supply", "ecological_energy", "other_products",
};

/* Products: inputs `<service>__<product>` (quantity) at `price__<product>`. */
static int gepmodel__market(struct gepmodel *m)
{
    struct gepcalc_p dist = gepmodel__opt(m, "include_distant_water", "");
    int rc;

    for (size_t i = 0; i < m->nin; i++) {
        const char *sep = strstr(m->in[i].key, "__");
        char svc[64];
        if (!sep)
            continue;
        snprintf(svc, sizeof svc, "%.*s", (int)(sep - m->in[i].key), m->in[i].key);
        if (!gepcalc_service_category(svc) ||
            strcmp(gepcalc_service_category(svc), "provisioning") != 0) {
            snprintf(m->err, sizeof m->err, "input %s: %s is not a provisioning service",
                     m->in[i].key, svc);
            return -EINVAL;
        }
    }
    for (size_t s = 0; s < sizeof(gepmodel__provisioning) / sizeof(*gepmodel__provisioning); s++) {
        const char *svc = gepmodel__provisioning[s];
        struct gepcalc_product pr[GEPMODEL_ECO_MAX];
        size_t n = 0, sl = strlen(svc);
        memset(pr, 0, sizeof pr);
        for (size_t i = 0; i < m->nin; i++) {
            const char *k = m->in[i].key, *prod, *pkey;
            if (strncmp(k, svc, sl) != 0 || strncmp(k + sl, "__", 2) != 0)
                continue;
            prod = k + sl + 2;
            if (n == GEPMODEL_ECO_MAX || !(pkey = gepmodel__name(m, "price__", prod, "")))
                return -ENOSPC;
            pr[n].name = prod;
            pr[n].quantity = gepmodel__p(&m->in[i]);
            pr[n].price = gepmodel__req(m, pkey, "");
            pr[n].distant_water = strncmp(prod, "distant_", 8) == 0;
            n++;
        }
        if (n && (rc = gepcalc_market(gepcalc_service_code(svc), pr, n, dist.key && dist.v != 0,
                                      &m->out)))
            return rc;
    }
    return 0;
}

static int gepmodel__water_conservation(struct gepmodel *m)
{
    const char *eco[GEPMODEL_ECO_MAX];
    struct gepcalc_wc_eco e[GEPMODEL_ECO_MAX];
    struct gepcalc_wc wc = {0};
    size_t n;

    if (!gepmodel__has_input(m, "et"))
        return 0;
    n = gepmodel__ecos(m, "runoff_coef", true, true, eco);
    for (size_t i = 0; i < n; i++) {
        e[i].ecosystem = eco[i];
        e[i].area = gepmodel__req(m, "area", eco[i]);
        e[i].precip = gepmodel__req(m, "precip", eco[i]);
        e[i].et = gepmodel__req(m, "et", eco[i]);
        e[i].runoff_coef = gepmodel__req(m, "runoff_coef", eco[i]);
    }
    if (n == 0) {
        snprintf(m->err, sizeof m->err,
                 "water_conservation: et is given but no ecosystem of the region has a "
                 "runoff_coef");
        return -EINVAL;
    }
    wc.eco = e;
    wc.neco = n;
    wc.res_unit_cost = gepmodel__req(m, "res_unit_cost", "");
    wc.res_unit_opcost = gepmodel__opt(m, "res_unit_opcost", "");
    return gepcalc_water_conservation(&wc, &m->out);
}

static int gepmodel__soil_retention(struct gepmodel *m)
{
    const char *eco[GEPMODEL_ECO_MAX];
    struct gepcalc_sr_eco e[GEPMODEL_ECO_MAX];
    struct gepcalc_sr sr = {0};
    size_t n;

    if (!gepmodel__has_input(m, "usle_r"))
        return 0;
    n = gepmodel__ecos(m, "usle_c", true, true, eco);
    if (n == 0) {
        snprintf(m->err, sizeof m->err,
                 "soil_retention: usle_r is given but no ecosystem of the region has a usle_c");
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        e[i].ecosystem = eco[i];
        e[i].area = gepmodel__req(m, "area", eco[i]);
        e[i].r = gepmodel__req(m, "usle_r", eco[i]);
        e[i].k = gepmodel__req(m, "usle_k", eco[i]);
        e[i].ls = gepmodel__req(m, "usle_ls", eco[i]);
        e[i].c = gepmodel__req(m, "usle_c", eco[i]);
        e[i].p = gepmodel__req(m, "usle_p", eco[i]);
    }
    sr.eco = e;
    sr.neco = n;
    sr.sed_coef = gepmodel__req(m, "sed_coef", "");
    sr.soil_bulk_density = gepmodel__req(m, "soil_bulk_density", "");
    sr.dredge_cost = gepmodel__req(m, "dredge_cost", "");
    sr.soil_N = gepmodel__req(m, "soil_N", "");
    sr.soil_P = gepmodel__req(m, "soil_P", "");
    sr.price_N = gepmodel__req(m, "price_N", "");
    sr.price_P = gepmodel__req(m, "price_P", "");
    return gepcalc_soil_retention(&sr, &m->out);
}

static int gepmodel__sand_fixation(struct gepmodel *m)
{
    struct gepcalc_sf sf;
    if (!gepmodel__has_input(m, "sand_retained"))
        return 0;
    sf.retained = gepmodel__req(m, "sand_retained", "");
    sf.sand_density = gepmodel__req(m, "sand_density", "");
    sf.depth = gepmodel__req(m, "sand_depth", "");
    sf.cost = gepmodel__req(m, "sand_cost", "");
    return gepcalc_sand_fixation(&sf, &m->out);
}

static int gepmodel__flood_regulation(struct gepmodel *m)
{
    const char *lk[GEPMODEL_ECO_MAX];
    struct gepcalc_lake lakes[GEPMODEL_ECO_MAX];
    struct gepcalc_fr fr = {0};
    bool res = gepmodel__has_input(m, "reservoir_capacity");
    bool marsh = gepmodel__has_input(m, "marsh_area");
    bool veg = gepmodel__has_input(m, "veg_storage");
    size_t nl = gepmodel__ecos(m, "lake_area", false, false, lk);

    if (!res && !marsh && !veg && !nl)
        return 0;
    if (res) {
        fr.reservoir_capacity = gepmodel__req(m, "reservoir_capacity", "");
        fr.res_flood_ratio = gepmodel__req(m, "res_flood_ratio", "");
    }
    if (marsh) {
        fr.marsh_area = gepmodel__req(m, "marsh_area", "");
        fr.marsh_depth = gepmodel__req(m, "marsh_depth", "");
    }
    if (veg)
        fr.veg_storage = gepmodel__req(m, "veg_storage", "");
    for (size_t i = 0; i < nl; i++) {
        lakes[i].name = lk[i];
        lakes[i].area = gepmodel__req(m, "lake_area", lk[i]);
        lakes[i].a = gepmodel__req(m, "lake_a", lk[i]);
        lakes[i].b = gepmodel__req(m, "lake_b", lk[i]);
        lakes[i].turnover = gepmodel__opt(m, "lake_turnover", lk[i]);
    }
    fr.lakes = lakes;
    fr.nlakes = nl;
    fr.res_unit_cost = gepmodel__req(m, "res_unit_cost", "");
    fr.res_unit_opcost = gepmodel__opt(m, "res_unit_opcost", "");
    return gepcalc_flood_regulation(&fr, &m->out);
}

/* Pollutants of one service: inputs `<prefix>_load_<P>` (t) and, optional,
 * `<prefix>_cap_<P>`; priced `price_<P>`, or `tax_<medium>` / `eq_<P>`. */
static int gepmodel__purification(struct gepmodel *m, const char *service, const char *prefix,
                                  const char *tax, const char *const *names, size_t nn)
{
    struct gepcalc_pollutant pl[8];
    size_t n = 0;
    char k[80];

    memset(pl, 0, sizeof pl);
    for (size_t i = 0; i < nn && n < 8; i++) {
        const char *load, *cap, *price, *eq;
        snprintf(k, sizeof k, "%s_load_%s", prefix, names[i]);
        if (!gepmodel__has_input(m, k))
            continue;
        if (!(load = gepmodel__name(m, "", k, "")))
            return -ENOSPC;
        snprintf(k, sizeof k, "%s_cap_%s", prefix, names[i]);
        if (!(cap = gepmodel__name(m, "", k, "")) ||
            !(price = gepmodel__name(m, "price_", names[i], "")) ||
            !(eq = gepmodel__name(m, "eq_", names[i], "")))
            return -ENOSPC;
        pl[n].name = names[i];
        pl[n].load = gepmodel__req(m, load, "");
        pl[n].capacity = gepmodel__opt(m, cap, "");
        if (gepmodel__lookup(m, price, "") || !gepmodel__lookup(m, tax, ""))
            pl[n].price = gepmodel__req(m, price, "");
        else {
            pl[n].tax_rate = gepmodel__req(m, tax, "");
            pl[n].equiv = gepmodel__req(m, eq, "");
        }
        n++;
    }
    return n ? gepcalc_purification(service, pl, n, &m->out) : 0;
}

static int gepmodel__carbon_oxygen(struct gepmodel *m)
{
    const char *eco[GEPMODEL_ECO_MAX];
    struct gepcalc_cs_eco e[GEPMODEL_ECO_MAX];
    struct gepcalc_cs cs = {0};
    size_t n;
    int rc;

    if ((n = gepmodel__ecos(m, "biomass", false, false, eco))) {
        cs.carbon = GEPCALC_CARBON_BIOMASS;
        cs.oxygen = GEPCALC_OXYGEN_BIOMASS;
    } else if ((n = gepmodel__ecos(m, "nep", false, false, eco))) {
        cs.carbon = GEPCALC_CARBON_NEP;
        cs.oxygen = GEPCALC_OXYGEN_STOICH;
    } else if ((n = gepmodel__ecos(m, "carbon_rate", true, true, eco))) {
        cs.carbon = GEPCALC_CARBON_RATE;
        cs.oxygen = GEPCALC_OXYGEN_STOICH;
    }
    if (n) {
        memset(e, 0, sizeof e);
        for (size_t i = 0; i < n; i++) {
            e[i].ecosystem = eco[i];
            if (cs.carbon == GEPCALC_CARBON_BIOMASS)
                e[i].biomass = gepmodel__req(m, "biomass", eco[i]);
            else if (cs.carbon == GEPCALC_CARBON_NEP)
                e[i].nep = gepmodel__req(m, "nep", eco[i]);
            else {
                e[i].rate = gepmodel__req(m, "carbon_rate", eco[i]);
                e[i].area = gepmodel__req(m, "area", eco[i]);
            }
        }
        cs.eco = e;
        cs.neco = n;
        cs.price_C = gepmodel__req(m, "price_C", "");
        cs.price_O2 = gepmodel__req(m, "price_O2", "");
        if (cs.carbon == GEPCALC_CARBON_BIOMASS) {
            cs.co2_per_dm = gepmodel__req(m, "co2_per_dm", "");
            cs.o2_per_dm = gepmodel__req(m, "o2_per_dm", "");
        }
        if ((rc = gepcalc_carbon(&cs, &m->out)) || (rc = gepcalc_oxygen(&cs, &m->out)))
            return rc;
    }
    if (gepmodel__has_input(m, "marine_c_fixed")) {
        struct gepcalc_marine_pp pp = {.c_fixed = gepmodel__req(m, "marine_c_fixed", ""),
                                       .price_C = gepmodel__req(m, "price_C", ""),
                                       .price_O2 = gepmodel__req(m, "price_O2", "")};
        return gepcalc_marine_primary(&pp, &m->out);
    }
    return 0;
}

static int gepmodel__climate(struct gepmodel *m)
{
    const char *eco[GEPMODEL_ECO_MAX];
    struct gepcalc_cr_eco e[GEPMODEL_ECO_MAX];
    struct gepcalc_cr cr = {0};
    size_t n = gepmodel__ecos(m, "epp", true, true, eco);
    bool evap = gepmodel__has_input(m, "evaporation");

    if (!n && !evap)
        return 0;
    for (size_t i = 0; i < n; i++) {
        e[i].ecosystem = eco[i];
        e[i].area = gepmodel__req(m, "area", eco[i]);
        e[i].epp = gepmodel__req(m, "epp", eco[i]);
    }
    cr.eco = e;
    cr.neco = n;
    if (n) {
        cr.ac_days = gepmodel__req(m, "ac_days", "");
        cr.ac_eer = gepmodel__req(m, "ac_eer", "");
    }
    if (evap) {
        cr.evaporation = gepmodel__req(m, "evaporation", "");
        cr.latent_heat = gepmodel__req(m, "latent_heat", "");
        cr.humidifier_kwh = gepmodel__req(m, "humidifier_kwh", "");
    }
    cr.price_elec = gepmodel__req(m, "price_elec", "");
    return gepcalc_climate_regulation(&cr, &m->out);
}

static int gepmodel__ions(struct gepmodel *m)
{
    const char *eco[GEPMODEL_ECO_MAX];
    struct gepcalc_ion_eco e[GEPMODEL_ECO_MAX];
    struct gepcalc_ion io = {0};
    size_t n;

    if (!gepmodel__has_input(m, "noi_conc"))
        return 0;
    if (!(n = gepmodel__ecos(m, "ion_height", true, true, eco)))
        return 0; /* concentrations, but no ecosystem the account covers */
    for (size_t i = 0; i < n; i++) {
        e[i].ecosystem = eco[i];
        e[i].area = gepmodel__req(m, "area", eco[i]);
        e[i].height = gepmodel__req(m, "ion_height", eco[i]);
        e[i].conc = gepmodel__req(m, "noi_conc", eco[i]);
    }
    io.eco = e;
    io.neco = n;
    io.ion_threshold = gepmodel__req(m, "ion_threshold", "");
    io.ion_life = gepmodel__req(m, "ion_life", "");
    io.ion_cost = gepmodel__req(m, "ion_cost", "");
    return gepcalc_negative_ions(&io, &m->out);
}

/* amount x cost services: `pest_area` by ecosystem at `pest_cost_<eco>`,
 * `coast_length` by habitat at `seawall_cost` (/ `seawall_life`),
 * `landscape_area` at `landscape_premium`. */
static int gepmodel__unit_costs(struct gepmodel *m)
{
    const char *eco[GEPMODEL_ECO_MAX];
    struct gepcalc_unit_cost u[GEPMODEL_ECO_MAX];
    size_t n;
    int rc;

    memset(u, 0, sizeof u);
    if ((n = gepmodel__ecos(m, "pest_area", false, false, eco))) {
        for (size_t i = 0; i < n; i++) {
            const char *ck = gepmodel__name(m, "pest_cost_", eco[i], "");
            if (!ck)
                return -ENOSPC;
            u[i].name = eco[i];
            u[i].amount = gepmodel__req(m, "pest_area", eco[i]);
            u[i].cost = gepmodel__req(m, ck, "");
        }
        if ((rc = gepcalc_pest_control(u, n, &m->out)))
            return rc;
    }
    memset(u, 0, sizeof u);
    if ((n = gepmodel__ecos(m, "coast_length", false, false, eco))) {
        for (size_t i = 0; i < n; i++) {
            u[i].name = eco[i];
            u[i].amount = gepmodel__req(m, "coast_length", eco[i]);
            u[i].cost = gepmodel__req(m, "seawall_cost", eco[i]);
            u[i].life = gepmodel__opt(m, "seawall_life", eco[i]);
        }
        if ((rc = gepcalc_coastal_protection(u, n, &m->out)))
            return rc;
    }
    return 0;
}

static int gepmodel__mariculture_carbon(struct gepmodel *m)
{
    const char *sp[GEPMODEL_ECO_MAX];
    size_t n;
    int rc;

    if ((n = gepmodel__ecos(m, "shellfish_output", false, false, sp))) {
        struct gepcalc_shellfish s[GEPMODEL_ECO_MAX];
        struct gepcalc_p pc = gepmodel__req(m, "price_C", "");
        for (size_t i = 0; i < n; i++) {
            s[i].name = sp[i];
            s[i].output = gepmodel__req(m, "shellfish_output", sp[i]);
            s[i].shell_ratio = gepmodel__req(m, "shell_ratio", sp[i]);
            s[i].shell_c = gepmodel__req(m, "shell_c", sp[i]);
            s[i].eps = gepmodel__req(m, "shell_eps", sp[i]);
            s[i].tissue_ratio = gepmodel__req(m, "tissue_ratio", sp[i]);
            s[i].tissue_c = gepmodel__req(m, "tissue_c", sp[i]);
            s[i].poc_ratio = gepmodel__req(m, "poc_ratio", sp[i]);
            s[i].gamma_poc = gepmodel__req(m, "gamma_poc", sp[i]);
        }
        if ((rc = gepcalc_shellfish_carbon(s, n, &pc, &m->out)))
            return rc;
    }
    if ((n = gepmodel__ecos(m, "algae_dry", false, false, sp))) {
        struct gepcalc_algae a[GEPMODEL_ECO_MAX];
        struct gepcalc_p pc = gepmodel__req(m, "price_C", "");
        for (size_t i = 0; i < n; i++) {
            const char *ck = gepmodel__name(m, "", sp[i], "_C");
            if (!ck)
                return -ENOSPC;
            a[i].name = sp[i];
            a[i].output = gepmodel__req(m, "algae_dry", sp[i]);
            a[i].c_content = gepmodel__req(m, ck, "");
            a[i].alpha = gepmodel__opt(m, "algae_alpha", sp[i]);
            a[i].beta = gepmodel__opt(m, "algae_beta", sp[i]);
            a[i].gamma_poc = gepmodel__opt(m, "algae_gamma_poc", sp[i]);
            a[i].gamma_doc = gepmodel__opt(m, "algae_gamma_doc", sp[i]);
        }
        if ((rc = gepcalc_algae_carbon(a, n, &pc, &m->out)))
            return rc;
    }
    return 0;
}

static int gepmodel__cultural(struct gepmodel *m)
{
    int rc;
    if (gepmodel__has_input(m, "visits")) {
        struct gepcalc_rec rec = {.visits = gepmodel__req(m, "visits", ""),
                                  .travel_expense = gepmodel__req(m, "travel_expense", ""),
                                  .time_share = gepmodel__req(m, "time_share", ""),
                                  .daily_wage = gepmodel__req(m, "daily_wage", ""),
                                  .days = gepmodel__req(m, "days_per_visit", ""),
                                  .surplus = gepmodel__opt(m, "surplus", "")};
        if ((rc = gepcalc_recreation(&rec, &m->out)))
            return rc;
    }
    if (gepmodel__has_input(m, "landscape_area")) {
        struct gepcalc_unit_cost u = {.name = "housing with an ecological view",
                                      .amount = gepmodel__req(m, "landscape_area", ""),
                                      .cost = gepmodel__req(m, "landscape_premium", "")};
        if ((rc = gepcalc_landscape(&u, 1, &m->out)))
            return rc;
    }
    return 0;
}

/* ---- the run ---------------------------------------------------------------- */

int gepmodel_run(struct gepmodel *m, const char *doc, size_t len)
{
    static const char *const air[] = {"SO2", "NOx", "dust"};
    static const char *const water[] = {"COD", "NH3N", "TP", "TN"};
    cJSON *d = NULL;
    char jerr[96];
    int rc;

    memset(m, 0, sizeof(*m));
    m->out.items = m->items;
    m->out.cap = GEPMODEL_ITEMS_MAX;
    if ((rc = json_parse(doc, len, &d, jerr, sizeof jerr))) {
        snprintf(m->err, sizeof m->err, "the inputs document: %s", jerr);
        return rc;
    }
    m->doc = d;
    if ((rc = gepmodel__rows(cJSON_GetObjectItemCaseSensitive(d, "params"), true, &m->par,
                             &m->npar)) ||
        (rc = gepmodel__rows(cJSON_GetObjectItemCaseSensitive(d, "inputs"), false, &m->in,
                             &m->nin))) {
        snprintf(m->err, sizeof m->err, "the inputs document is not gep.model_inputs()'s");
        return rc;
    }
    if ((rc = gepmodel__market(m)) || (rc = gepmodel__water_conservation(m)) ||
        (rc = gepmodel__soil_retention(m)) || (rc = gepmodel__sand_fixation(m)) ||
        (rc = gepmodel__flood_regulation(m)) ||
        (rc = gepmodel__purification(m, "air_purification", "air", "tax_air", air, 3)) ||
        (rc = gepmodel__purification(m, "water_purification", "water", "tax_water", water, 4)) ||
        (rc = gepmodel__purification(m, "sea_purification", "sea", "tax_water", water, 4)) ||
        (rc = gepmodel__carbon_oxygen(m)) || (rc = gepmodel__climate(m)) ||
        (rc = gepmodel__ions(m)) || (rc = gepmodel__unit_costs(m)) ||
        (rc = gepmodel__mariculture_carbon(m)) || (rc = gepmodel__cultural(m))) {
        if (!m->err[0])
            snprintf(m->err, sizeof m->err, "%s",
                     m->out.err[0]   ? m->out.err
                     : rc == -ENOSPC ? "more line items than a run holds"
                                     : "the models failed");
        return rc;
    }
    if (m->out.n == 0) {
        snprintf(m->err, sizeof m->err,
                 "no inputs to value: gep.input has nothing for this region and year that a "
                 "model uses (docs/GEP.md, \"Runs of the physical models\")");
        return -EINVAL;
    }
    for (size_t i = 0; i < m->out.n; i++)
        if (m->items[i].nsources == 0) {
            snprintf(m->err, sizeof m->err, "%s %s: no source", m->items[i].service,
                     m->items[i].item);
            return -EINVAL;
        }
    if (gepcalc_total_fen(&m->out, 0, &m->total_fen)) {
        snprintf(m->err, sizeof m->err, "the total is beyond 9e13 yuan");
        return -ERANGE;
    }
    return 0;
}

int gepmodel_items_json(const struct gepmodel *m, char **out, size_t *len)
{
    cJSON *arr = cJSON_CreateArray();
    int rc = -ENOMEM;

    *out = NULL;
    if (!arr)
        return -ENOMEM;
    for (size_t i = 0; i < m->out.n; i++) {
        const struct gepcalc_item *it = &m->items[i];
        cJSON *o = cJSON_CreateObject(), *src;
        char v[40];
        int64_t fen;
        if (!o)
            goto out;
        if (!cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            goto out;
        }
        if (gepcalc_fen(it->value, &fen)) {
            rc = -ERANGE;
            goto out;
        }
        snprintf(v, sizeof v, "%s%" PRId64 ".%02" PRId64, fen < 0 ? "-" : "",
                 (fen < 0 ? -fen : fen) / 100, (fen < 0 ? -fen : fen) % 100);
        if (!cJSON_AddNumberToObject(o, "line", (double)(i + 1)) ||
            !cJSON_AddStringToObject(o, "category", it->category) ||
            !cJSON_AddStringToObject(o, "service", it->service) ||
            !cJSON_AddStringToObject(o, "item", it->item) ||
            !cJSON_AddStringToObject(o, "ecosystem", it->ecosystem ? it->ecosystem : "") ||
            !cJSON_AddStringToObject(o, "method", it->method) ||
            !cJSON_AddStringToObject(o, "value_yuan", v) ||
            !(src = cJSON_AddArrayToObject(o, "sources")))
            goto out;
        if (it->has_quantity && (!cJSON_AddNumberToObject(o, "quantity", it->quantity) ||
                                 !cJSON_AddStringToObject(o, "quantity_unit", it->qunit)))
            goto out;
        if (it->has_price && (!cJSON_AddNumberToObject(o, "price", it->price) ||
                              !cJSON_AddStringToObject(o, "price_unit", it->punit)))
            goto out;
        if (it->price_year && !cJSON_AddNumberToObject(o, "price_year", it->price_year))
            goto out;
        for (size_t k = 0; k < it->nsources; k++) {
            cJSON *s = cJSON_CreateString(it->sources[k]);
            if (!s)
                goto out;
            if (!cJSON_AddItemToArray(src, s)) {
                cJSON_Delete(s);
                goto out;
            }
        }
    }
    rc = json_print(arr, out, len);
out:
    cJSON_Delete(arr);
    return rc;
}

void gepmodel_close(struct gepmodel *m)
{
    cJSON_Delete(m->doc);
    free(m->in);
    free(m->par);
    m->doc = NULL;
    m->in = m->par = NULL;
    m->nin = m->npar = 0;
}
