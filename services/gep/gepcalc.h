/* gepcalc: the GEP engine (docs/GEP.md, the specification's sections 2-4).
 * Pure: no I/O, no allocation, no global state; safe from any thread.
 *
 * Three layers:
 *   - units: parse a unit ("t_CO2", "万t", "yuan/hm2", "亿m3"), convert
 *     between units of one dimension (t_C <-> t_CO2 by 44/12, m2/hm2/km2/亩,
 *     mm/m/km, kg/t, %/1). 万 (1e4) and 亿 (1e8) are input multipliers: a
 *     parsed unit carries them as a factor and results are always in base
 *     units (t, m3, m2, kWh, yuan);
 *   - formulas: each physical model as a function of plain numbers in base
 *     units (gepcalc_water_balance, gepcalc_usle_retained, ...), exact
 *     transcriptions of the specification, for tests and for callers that
 *     already hold checked numbers;
 *   - services: gepcalc_<service>(in, out) takes every input and parameter
 *     as a struct gepcalc_p (value, unit, year, source), refuses a run when
 *     a required one has no value or no source (out->err names it), converts
 *     units, and appends line items (quantity x price = value) to out.
 *
 * Strings in a struct gepcalc_p and in the inputs are borrowed: the items
 * point at them (sources, ecosystem names), so they must outlive out. */
#ifndef ECO_GEPCALC_H
#define ECO_GEPCALC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------- units ---- */

enum gepcalc_dim {
    GEPCALC_DIM_NONE,   /* "1", "%" */
    GEPCALC_DIM_MASS,   /* t, kg */
    GEPCALC_DIM_CARBON, /* t_CO2 (base), t_C */
    GEPCALC_DIM_O2,     /* t_O2 */
    GEPCALC_DIM_VOLUME, /* m3 */
    GEPCALC_DIM_AREA,   /* m2 (base), hm2, km2, mu */
    GEPCALC_DIM_LENGTH, /* m (base), mm, km */
    GEPCALC_DIM_ENERGY, /* kWh */
    GEPCALC_DIM_VISIT,  /* visit (person-time) */
    GEPCALC_DIM_ION,    /* ion (count) */
    GEPCALC_DIM_MONEY,  /* yuan */
    GEPCALC_DIM_TIME,   /* a (year), d, min */
};

#define GEPCALC_UNIT_MAX 24 /* a unit name with its NUL */

struct gepcalc_unit {
    char name[GEPCALC_UNIT_MAX]; /* canonical, without multiplier: "t_CO2", "hm2" */
    enum gepcalc_dim dim;
    double to_base; /* one `name` in the dimension's base unit (t_C: 44/12 t_CO2) */
    double mult;    /* the input multiplier: 1, 1e4 (万) or 1e8 (亿) */
};

/* Parses one simple unit: an optional 万 or 亿 then a known name (synonyms
 * m³, m², hm², km², 元, 人次, 亩 are accepted). Returns 0 or -EINVAL. */
int gepcalc_unit_parse(const char *s, struct gepcalc_unit *u);

/* *k such that x [from] = x * k [to], multipliers included. -EINVAL when
 * the dimensions differ (t and t_CO2 do not convert; t_C and t_CO2 do). */
int gepcalc_unit_factor(const struct gepcalc_unit *from, const struct gepcalc_unit *to, double *k);

/* The same for two unit strings, each a simple unit or a ratio "a/b" of
 * simple units ("yuan/t_C" -> "yuan/t_CO2": 12/44). Equal strings convert
 * by 1 whatever they are ("MJ mm/(hm2 h a)"). Returns 0 or -EINVAL. */
int gepcalc_convert(const char *from, const char *to, double *k);

/* Value in yuan of quantity q [qunit] at price p yuan per punit: q x k x p
 * with k = gepcalc_unit_factor(qunit -> punit). -EINVAL when they do not
 * convert, -ERANGE when the value is not finite. */
int gepcalc_value(double q, const struct gepcalc_unit *qunit, double p,
                  const struct gepcalc_unit *punit, double *yuan);

/* Rounds yuan to fen (1/100 yuan, half away from zero). -ERANGE beyond
 * +-9e13 yuan (fen stay exact in a double and an int64). */
int gepcalc_fen(double yuan, int64_t *fen);

/* The category of a service code ("carbon_sequestration" -> "regulating"),
 * NULL when the code is unknown. The codes are docs/CONTRACT.md's. */
const char *gepcalc_service_category(const char *service);
/* The static copy of a known service code, NULL when unknown. */
const char *gepcalc_service_code(const char *service);

/* ---------------------------------------------------------- formulas ---- */
/* Base units unless stated: m2, m, m3, t, kWh, yuan. */

#define GEPCALC_C_TO_CO2 (44.0 / 12.0)
#define GEPCALC_C_TO_O2 (32.0 / 12.0)
#define GEPCALC_CO2_TO_O2 (32.0 / 44.0)
#define GEPCALC_ION_K 5.256e15 /* 525 600 min/a x 1e10 cm3 per hm2.m */

/* R1: A x (P - R - ET), clamped at 0 (m3; area m2, depths m). */
double gepcalc_water_balance(double area_m2, double precip_m, double runoff_m, double et_m);
/* R2: soil retained per area, R.K.LS.(1 - C.P) (t/hm2/a). */
double gepcalc_usle_retained(double r, double k, double ls, double c, double p);
/* R2: reservoir sediment avoided, lambda x A_s / rho (m3; A_s t, rho t/m3). */
double gepcalc_sediment_volume(double lambda, double soil_t, double bulk_density);
/* R3: lake flood capacity e^a x A^b x T (m3; A km2; the formula's 1e4 m3 converted). */
double gepcalc_lake_capacity(double a, double b, double area_km2, double turnover);
/* R4/R5: a pollution-equivalent price r / e x 1000 (yuan/t; r yuan/eq, e kg/eq). */
double gepcalc_equiv_price(double rate_yuan_per_eq, double kg_per_eq);
/* R4/R5: min(capacity, load); a negative capacity means unknown (the load). */
double gepcalc_capped(double capacity, double load);
/* R8: transpiration cooling EPP x S x D / (3600 r) (kWh; EPP kJ/m2/d, S m2, D d). */
double gepcalc_cooling_kwh(double epp, double area_m2, double days, double eer);
/* R8: evaporation E_w rho_w q / 3600 + E_w y (kWh; E_w m3, rho_w 1000 kg/m3,
 * q kJ/kg, y kWh/m3). */
double gepcalc_evaporation_kwh(double evap_m3, double latent_kj_per_kg, double humidifier_kwh_m3);
/* R9: ions a year above the threshold, K_ion-free part:
 * 5.256e15 x A x H x max(Q - Q0, 0) / L (A hm2, H m, Q ion/cm3, L min). */
double gepcalc_ions_above(double area_hm2, double height_m, double conc, double threshold,
                          double life_min);
/* R14: shellfish shell carbon P x R_s x w_s x (1 - eps) (t C) and the
 * particulate carbon (C_s / (1 - eps) + C_st) x ratio x gamma (t C). */
double gepcalc_shell_carbon(double output_t, double shell_ratio, double shell_c, double eps);
double gepcalc_shell_poc(double shell_c_t, double eps, double tissue_c_t, double poc_ratio,
                         double gamma_poc);
/* R14: algae carbon C_a = P x w (t C; P dry t) and its POC/DOC parts. */
double gepcalc_algae_poc(double ca, double alpha, double beta, double gamma);
double gepcalc_algae_doc(double ca, double alpha, double beta, double gamma);
/* C1: time cost per visit share x daily wage x days. */
double gepcalc_time_cost(double share, double daily_wage, double days);

/* ---------------------------------------------------------- services ---- */

/* A number with its provenance. key NULL: not given (optional ones then
 * take their default). set false: known to be needed, no value (a gap).
 * unit NULL: the unit the service expects. */
struct gepcalc_p {
    const char *key;
    double v;
    bool set;
    const char *unit;
    int year;
    const char *source;
};

#define GEPCALC_SOURCES_MAX 8
#define GEPCALC_ERR_MAX 200

/* A line item. value = quantity x price (converted), in yuan. */
struct gepcalc_item {
    const char *category, *service; /* static */
    char item[64];
    const char *ecosystem; /* borrowed; "" for the whole region */
    bool has_quantity, has_price;
    double quantity; /* in qunit (a base unit) */
    char qunit[GEPCALC_UNIT_MAX];
    double price; /* yuan per punit */
    char punit[GEPCALC_UNIT_MAX];
    int price_year;
    double value;                             /* yuan */
    const char *method;                       /* static, e.g. "water_balance" */
    const char *sources[GEPCALC_SOURCES_MAX]; /* borrowed, distinct */
    size_t nsources;
};

/* Where services append; items points at cap entries owned by the caller. */
struct gepcalc_out {
    struct gepcalc_item *items;
    size_t n, cap;
    char err[GEPCALC_ERR_MAX]; /* why the last call failed: names the key */
};

/* Every service below returns 0, or -EINVAL (a required input or parameter
 * without value or source, a unit that does not convert, a value out of
 * range: out->err says which, by key), or -ENOSPC (out is full). On failure
 * out->n is as it was before the call. Without a unit, a number is in the
 * unit written beside it here; coefficients and shares are fractions (unit
 * "1"; "%" converts), refused outside [0, 1]. */

/* R1 water conservation, water-balance method; price C_we (+ C_wo). */
struct gepcalc_wc_eco {
    const char *ecosystem;
    struct gepcalc_p area, precip, et, runoff_coef; /* m2 (any area unit); mm; mm; fraction or % */
};
struct gepcalc_wc {
    const struct gepcalc_wc_eco *eco;
    size_t neco;
    struct gepcalc_p res_unit_cost, res_unit_opcost; /* yuan/m3; opcost optional */
};
int gepcalc_water_conservation(const struct gepcalc_wc *in, struct gepcalc_out *out);

/* R2 soil retention (USLE), valued as avoided sedimentation + N + P. */
struct gepcalc_sr_eco {
    const char *ecosystem;
    struct gepcalc_p area, r, k, ls, c, p; /* hm2 (any area unit); USLE factors */
};
struct gepcalc_sr {
    const struct gepcalc_sr_eco *eco;
    size_t neco;
    struct gepcalc_p sed_coef, soil_bulk_density, dredge_cost; /* 1, t/m3, yuan/m3 */
    struct gepcalc_p soil_N, soil_P, price_N, price_P;         /* fraction, yuan/t */
};
int gepcalc_soil_retention(const struct gepcalc_sr *in, struct gepcalc_out *out);

/* R11 sand fixation: Q / (rho_s x h) m2 of land not buried, x c yuan/m2. */
struct gepcalc_sf {
    struct gepcalc_p retained, sand_density, depth, cost; /* t, t/m3, m, yuan/m2 */
};
int gepcalc_sand_fixation(const struct gepcalc_sf *in, struct gepcalc_out *out);

/* R3 flood regulation: reservoirs, marshes, lakes, vegetation (each
 * optional; at least one), x C_we (+ C_wo). */
struct gepcalc_lake {
    const char *name;
    struct gepcalc_p area, a, b, turnover; /* km2; coefficients; turnover optional (1) */
};
struct gepcalc_fr {
    struct gepcalc_p reservoir_capacity, res_flood_ratio; /* m3, fraction */
    struct gepcalc_p marsh_area, marsh_depth;             /* m2, m */
    const struct gepcalc_lake *lakes;
    size_t nlakes;
    struct gepcalc_p veg_storage; /* m3 */
    struct gepcalc_p res_unit_cost, res_unit_opcost;
};
int gepcalc_flood_regulation(const struct gepcalc_fr *in, struct gepcalc_out *out);

/* R4 air purification, R5 water purification, R14 sea purification: per
 * pollutant min(capacity, load) x price; the price is given, or
 * tax_rate / equiv x 1000. capacity optional (then the load is the amount,
 * as the Garzê account does). service: "air_purification",
 * "water_purification" or "sea_purification". */
struct gepcalc_pollutant {
    const char *name;                 /* "SO2", "COD", ... */
    struct gepcalc_p capacity, load;  /* t */
    struct gepcalc_p price;           /* yuan/t; or: */
    struct gepcalc_p tax_rate, equiv; /* yuan/eq, kg/eq */
};
int gepcalc_purification(const char *service, const struct gepcalc_pollutant *pl, size_t n,
                         struct gepcalc_out *out);

/* R6 carbon sequestration and R7 oxygen release. */
enum gepcalc_carbon_method {
    GEPCALC_CARBON_BIOMASS, /* co2_per_dm x B */
    GEPCALC_CARBON_NEP,     /* 44/12 x NEP */
    GEPCALC_CARBON_RATE,    /* 44/12 x r x A */
};
enum gepcalc_oxygen_method {
    GEPCALC_OXYGEN_BIOMASS, /* o2_per_dm x B */
    GEPCALC_OXYGEN_STOICH,  /* 32/44 x the carbon account's CO2 */
};
struct gepcalc_cs_eco {
    const char *ecosystem;
    struct gepcalc_p biomass, nep, rate, area; /* t dry matter; t_C; t_C/hm2; hm2 */
};
struct gepcalc_cs {
    enum gepcalc_carbon_method carbon;
    enum gepcalc_oxygen_method oxygen;
    const struct gepcalc_cs_eco *eco;
    size_t neco;
    struct gepcalc_p co2_per_dm, price_C; /* t_CO2/t, yuan/t_CO2 (or yuan/t_C) */
    struct gepcalc_p o2_per_dm, price_O2; /* t_O2/t, yuan/t_O2 */
};
int gepcalc_carbon(const struct gepcalc_cs *in, struct gepcalc_out *out);
int gepcalc_oxygen(const struct gepcalc_cs *in, struct gepcalc_out *out);

/* R8 climate regulation: transpiration cooling per ecosystem and water
 * evaporation (optional), in kWh x electricity price. */
struct gepcalc_cr_eco {
    const char *ecosystem;
    struct gepcalc_p area, epp; /* m2; kJ/m2/d */
};
struct gepcalc_cr {
    const struct gepcalc_cr_eco *eco;
    size_t neco;
    struct gepcalc_p ac_days, ac_eer;                          /* d, 1 */
    struct gepcalc_p evaporation, latent_heat, humidifier_kwh; /* m3, kJ/kg, kWh/m3 */
    struct gepcalc_p price_elec;                               /* yuan/kWh */
};
int gepcalc_climate_regulation(const struct gepcalc_cr *in, struct gepcalc_out *out);

/* R9 negative oxygen ions: ions above the threshold x K_ion. */
struct gepcalc_ion_eco {
    const char *ecosystem;
    struct gepcalc_p area, height, conc; /* hm2, m, ion/cm3 */
};
struct gepcalc_ion {
    const struct gepcalc_ion_eco *eco;
    size_t neco;
    struct gepcalc_p ion_threshold, ion_life, ion_cost; /* ion/cm3, min, yuan/ion */
};
int gepcalc_negative_ions(const struct gepcalc_ion *in, struct gepcalc_out *out);

/* An area (or length) times a cost per unit: R10 pest control (forest and
 * grass areas x yuan/hm2), C2 landscape (floor area x premium yuan/m2),
 * R13 coastal protection (km of natural coast x seawall cost / life). */
struct gepcalc_unit_cost {
    const char *name;
    struct gepcalc_p amount, cost, life; /* life (a): optional annualisation */
};
int gepcalc_pest_control(const struct gepcalc_unit_cost *in, size_t n, struct gepcalc_out *out);
int gepcalc_landscape(const struct gepcalc_unit_cost *in, size_t n, struct gepcalc_out *out);
int gepcalc_coastal_protection(const struct gepcalc_unit_cost *in, size_t n,
                               struct gepcalc_out *out);

/* M1-M7 and marine capture/mariculture: output x market price. Lines
 * marked distant_water are left out unless include_distant (the
 * production-location principle: distant-water catch is not produced by
 * the local ecosystem). */
struct gepcalc_product {
    const char *name;
    struct gepcalc_p quantity, price; /* any unit; yuan per a unit it converts to */
    bool distant_water;
};
int gepcalc_market(const char *service, const struct gepcalc_product *in, size_t n,
                   bool include_distant, struct gepcalc_out *out);

/* R14 marine primary production: C fixed (t_C) -> CO2 (44/12) x price_C
 * (carbon_sequestration) and O2 (32/12) x price_O2 (oxygen_release). */
struct gepcalc_marine_pp {
    struct gepcalc_p c_fixed, price_C, price_O2;
};
int gepcalc_marine_primary(const struct gepcalc_marine_pp *in, struct gepcalc_out *out);

/* R14 mariculture carbon removal (service mariculture_carbon), valued at
 * price_C: shellfish (shell carbon + POC; soft tissue is not a sink) and
 * algae (C_a + POC + DOC). */
struct gepcalc_shellfish {
    const char *name;
    struct gepcalc_p output, shell_ratio, shell_c, eps;            /* wet t; fractions */
    struct gepcalc_p tissue_ratio, tissue_c, poc_ratio, gamma_poc; /* fractions */
};
struct gepcalc_algae {
    const char *name;
    struct gepcalc_p output, c_content;                 /* dry t; fraction */
    struct gepcalc_p alpha, beta, gamma_poc, gamma_doc; /* optional: 0 */
};
int gepcalc_shellfish_carbon(const struct gepcalc_shellfish *in, size_t n,
                             const struct gepcalc_p *price_C, struct gepcalc_out *out);
int gepcalc_algae_carbon(const struct gepcalc_algae *in, size_t n, const struct gepcalc_p *price_C,
                         struct gepcalc_out *out);

/* C1 recreation (travel cost): N x (TE + share x daily wage x days + CS). */
struct gepcalc_rec {
    struct gepcalc_p visits, travel_expense, time_share, daily_wage, days, surplus;
    /* visit, yuan/visit, 1, yuan/d, d/visit, yuan/visit (surplus optional: 0) */
};
int gepcalc_recreation(const struct gepcalc_rec *in, struct gepcalc_out *out);

/* Sum of out->items[from..n) values in fen (exact). -ERANGE on overflow. */
int gepcalc_total_fen(const struct gepcalc_out *out, size_t from, int64_t *fen);

#endif
