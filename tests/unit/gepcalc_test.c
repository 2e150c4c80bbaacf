/* gepcalc: the GEP engine (services/gep). Every expected number below was
 * worked out by hand from docs/GEP.md (the specification's formulas) or is
 * a published figure (the specification's worked cases; tolerance 0.5 %,
 * as the cases' rounded tables allow): the tests never call the formula
 * under test to get their expectation. */
#include "gepcalc.h"

#include "check.h"

#include <errno.h>
#include <math.h>

/* |a - b| <= rel x |b| (rel 0: to 1e-9 relative) */
#define CHECK_NEAR(a, b, rel)                                                                      \
    do {                                                                                           \
        double check_a_ = (a), check_b_ = (b), check_r_ = (rel) > 0 ? (rel) : 1e-9;                \
        if (!(fabs(check_a_ - check_b_) <= check_r_ * fabs(check_b_) + 1e-12)) {                   \
            fprintf(stderr, "%s:%d: %s ~ %s failed: %.10g vs %.10g\n", __FILE__, __LINE__, #a, #b, \
                    check_a_, check_b_);                                                           \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define CHECK_HAS(s, part)                                                                         \
    do {                                                                                           \
        if (!strstr((s), (part))) {                                                                \
            fprintf(stderr, "%s:%d: \"%s\" lacks \"%s\"\n", __FILE__, __LINE__, (s), (part));      \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

/* A parameter or input with a value and a source. */
#define P(k, val, u)                                                                               \
    ((struct gepcalc_p){.key = (k), .v = (val), .set = true, .unit = (u), .source = "test"})
#define PS(k, val, u, src)                                                                         \
    ((struct gepcalc_p){.key = (k), .v = (val), .set = true, .unit = (u), .source = (src)})
#define GAP(k, u) ((struct gepcalc_p){.key = (k), .set = false, .unit = (u)})
#define NOSRC(k, val, u) ((struct gepcalc_p){.key = (k), .v = (val), .set = true, .unit = (u)})

static struct gepcalc_item items[64];

static struct gepcalc_out new_out(void)
{
    struct gepcalc_out o;
    memset(&o, 0, sizeof(o));
    o.items = items;
    o.cap = sizeof(items) / sizeof(items[0]);
    return o;
}

/* ------------------------------------------------------------- units ---- */

static void test_unit_parse(void)
{
    struct gepcalc_unit u;

    CHECK_EQ_INT(gepcalc_unit_parse("万t", &u), 0);
    CHECK_EQ_STR(u.name, "t");
    CHECK_NEAR(u.mult, 1e4, 0);
    CHECK_EQ_INT(gepcalc_unit_parse("亿m3", &u), 0);
    CHECK_EQ_STR(u.name, "m3");
    CHECK_NEAR(u.mult, 1e8, 0);
    CHECK_EQ_INT(gepcalc_unit_parse("m³", &u), 0);
    CHECK_EQ_STR(u.name, "m3");
    CHECK_EQ_INT(gepcalc_unit_parse("hm²", &u), 0);
    CHECK_EQ_STR(u.name, "hm2");
    CHECK_EQ_INT(gepcalc_unit_parse("人次", &u), 0);
    CHECK_EQ_STR(u.name, "visit");
    CHECK_EQ_INT(gepcalc_unit_parse("万元", &u), 0);
    CHECK_EQ_STR(u.name, "yuan");
    CHECK_EQ_INT(gepcalc_unit_parse("t_C", &u), 0);
    CHECK_EQ_INT(u.dim, GEPCALC_DIM_CARBON);
    CHECK_EQ_INT(gepcalc_unit_parse("furlong", &u), -EINVAL);
    CHECK_EQ_INT(gepcalc_unit_parse("万%", &u), -EINVAL);
    CHECK_EQ_INT(gepcalc_unit_parse("万", &u), -EINVAL);
    CHECK_EQ_INT(gepcalc_unit_parse("", &u), -EINVAL);
    CHECK_EQ_INT(gepcalc_unit_parse("tons", &u), -EINVAL);
    /* common spellings, and ASCII case does not matter */
    CHECK_EQ_INT(gepcalc_unit_parse("tCO2", &u), 0);
    CHECK_EQ_STR(u.name, "t_CO2");
    CHECK_EQ_INT(gepcalc_unit_parse("万t C", &u), 0);
    CHECK_EQ_STR(u.name, "t_C");
    CHECK_EQ_INT(gepcalc_unit_parse("T_co2", &u), 0);
    CHECK_EQ_STR(u.name, "t_CO2");
    CHECK_EQ_INT(gepcalc_unit_parse("亿KWH", &u), 0);
    CHECK_EQ_STR(u.name, "kWh");
    CHECK_EQ_INT(gepcalc_unit_parse("HM2", &u), 0);
    CHECK_EQ_STR(u.name, "hm2");
}

static void test_unit_convert(void)
{
    double k;

    /* t C <-> t CO2: 44/12 and 12/44 */
    CHECK_EQ_INT(gepcalc_convert("t_C", "t_CO2", &k), 0);
    CHECK_NEAR(k, 3.6666666666666667, 0);
    CHECK_EQ_INT(gepcalc_convert("t_CO2", "t_C", &k), 0);
    CHECK_NEAR(k, 0.27272727272727273, 0);
    /* LY/T 1721's 1200 yuan/t C is 327.27 yuan/t CO2 */
    CHECK_EQ_INT(gepcalc_convert("yuan/t_C", "yuan/t_CO2", &k), 0);
    CHECK_NEAR(1200 * k, 327.27272727272727, 0);
    /* areas */
    CHECK_EQ_INT(gepcalc_convert("hm2", "m2", &k), 0);
    CHECK_NEAR(k, 1e4, 0);
    CHECK_EQ_INT(gepcalc_convert("km2", "hm2", &k), 0);
    CHECK_NEAR(k, 100, 0);
    CHECK_EQ_INT(gepcalc_convert("亩", "hm2", &k), 0);
    CHECK_NEAR(k, 1.0 / 15.0, 0);
    CHECK_EQ_INT(gepcalc_convert("万hm2", "km2", &k), 0);
    CHECK_NEAR(k, 100, 0);
    /* depths, percentages, energy and volume multipliers */
    CHECK_EQ_INT(gepcalc_convert("mm", "m", &k), 0);
    CHECK_NEAR(k, 1e-3, 0);
    CHECK_EQ_INT(gepcalc_convert("%", "1", &k), 0);
    CHECK_NEAR(k, 0.01, 0);
    CHECK_EQ_INT(gepcalc_convert("亿kWh", "kWh", &k), 0);
    CHECK_NEAR(k, 1e8, 0);
    CHECK_EQ_INT(gepcalc_convert("yuan/万t", "yuan/t", &k), 0);
    CHECK_NEAR(k, 1e-4, 0);
    /* Shandong 2013 (GB/T 28058): Qingdao 910.49 亿元 over 1 196 550 hm2 =
     * 76 092.93 yuan/hm2 = 7.61 万元/hm2 (published) */
    CHECK_EQ_INT(gepcalc_convert("yuan/hm2", "万yuan/hm2", &k), 0);
    CHECK_NEAR(910.49e8 / 1196550 * k, 7.61, 0.001);
    /* equal strings convert by 1 whatever they say */
    CHECK_EQ_INT(gepcalc_convert("MJ mm/(hm2 h a)", "MJ mm/(hm2 h a)", &k), 0);
    CHECK_NEAR(k, 1, 0);
    /* what does not convert */
    CHECK_EQ_INT(gepcalc_convert("t", "t_CO2", &k), -EINVAL);
    CHECK_EQ_INT(gepcalc_convert("t_O2", "t_CO2", &k), -EINVAL);
    CHECK_EQ_INT(gepcalc_convert("m3", "m2", &k), -EINVAL);
    CHECK_EQ_INT(gepcalc_convert("yuan/t", "t", &k), -EINVAL);
    CHECK_EQ_INT(gepcalc_convert("yuan/t/t", "yuan/t/t2", &k), -EINVAL);
}

static void test_value_and_fen(void)
{
    struct gepcalc_unit q, p;
    double v;
    int64_t fen;

    /* Garzê hydropower: 95.30 亿 kWh x 0.53 yuan/kWh = 50.509 亿元 */
    CHECK_EQ_INT(gepcalc_unit_parse("亿kWh", &q), 0);
    CHECK_EQ_INT(gepcalc_unit_parse("kWh", &p), 0);
    CHECK_EQ_INT(gepcalc_value(95.30, &q, 0.53, &p, &v), 0);
    CHECK_NEAR(v, 5050900000.0, 0);
    /* 100 t C at 380 yuan/t CO2: 100 x 44/12 x 380 = 139 333.33 */
    CHECK_EQ_INT(gepcalc_unit_parse("t_C", &q), 0);
    CHECK_EQ_INT(gepcalc_unit_parse("t_CO2", &p), 0);
    CHECK_EQ_INT(gepcalc_value(100, &q, 380, &p, &v), 0);
    CHECK_NEAR(v, 139333.33333333333, 0);
    CHECK_EQ_INT(gepcalc_unit_parse("t", &q), 0);
    CHECK_EQ_INT(gepcalc_value(100, &q, 380, &p, &v), -EINVAL);

    CHECK_EQ_INT(gepcalc_fen(139333.33333333333, &fen), 0);
    CHECK_EQ_INT(fen, 13933333);
    CHECK_EQ_INT(gepcalc_fen(1.5, &fen), 0);
    CHECK_EQ_INT(fen, 150);
    CHECK_EQ_INT(gepcalc_fen(-0.125, &fen), 0); /* exact in binary: half away from zero */
    CHECK_EQ_INT(fen, -13);
    CHECK_EQ_INT(gepcalc_fen(9e13, &fen), 0);
    CHECK_EQ_INT(fen, 9000000000000000LL);
    CHECK_EQ_INT(gepcalc_fen(9.1e13, &fen), -ERANGE);
    CHECK_EQ_INT(gepcalc_fen(NAN, &fen), -ERANGE);
}

static void test_service_codes(void)
{
    CHECK_EQ_STR(gepcalc_service_category("agriculture"), "provisioning");
    CHECK_EQ_STR(gepcalc_service_category("mariculture_carbon"), "regulating");
    CHECK_EQ_STR(gepcalc_service_category("non_use"), "cultural");
    CHECK(gepcalc_service_category("gdp") == NULL);
    CHECK(gepcalc_service_category(NULL) == NULL);
}

/* ---------------------------------------------------------- formulas ---- */

static void test_formulas(void)
{
    /* R1: 2e6 m2 x (1.5 - 1.5 x 2.67 % - 0.8) m = 2e6 x 0.65995 = 1 319 900 m3 */
    CHECK_NEAR(gepcalc_water_balance(2e6, 1.5, 0.04005, 0.8), 1319900, 0);
    CHECK_NEAR(gepcalc_water_balance(2e6, 1.5, 0.04005, 1.6), 0, 0); /* clamped */
    /* R2: 4000 x 0.03 x 2.5 x (1 - 0.2 x 0.8) = 300 x 0.84 = 252 t/hm2 */
    CHECK_NEAR(gepcalc_usle_retained(4000, 0.03, 2.5, 0.2, 0.8), 252, 0);
    /* 0.24 x 25 200 t / 0.93 t/m3 = 6503.2258 m3 */
    CHECK_NEAR(gepcalc_sediment_volume(0.24, 25200, 0.93), 6503.2258064516, 0);
    /* R3: plateau lake of 100 km2: e^6.636 x 100^0.678 = 762.26 x 22.699 = 17 297 (1e4 m3) */
    CHECK_NEAR(gepcalc_lake_capacity(6.636, 0.678, 100, 1), 1.72973e8, 0.0001);
    /* R4: 0.6 yuan/eq over 4 kg/eq = 150 yuan/t (Garzê dust); 1.2 / 0.95 = 1263.16 */
    CHECK_NEAR(gepcalc_equiv_price(0.6, 4), 150, 0);
    CHECK_NEAR(gepcalc_equiv_price(1.2, 0.95), 1263.1578947368, 0);
    CHECK_NEAR(gepcalc_capped(500, 1137), 500, 0);
    CHECK_NEAR(gepcalc_capped(5000, 1137), 1137, 0);
    CHECK_NEAR(gepcalc_capped(-1, 1137), 1137, 0);
    /* R8: 1000 kJ/m2/d x 1e6 m2 x 90 d / (3600 x 3) = 8 333 333.3 kWh */
    CHECK_NEAR(gepcalc_cooling_kwh(1000, 1e6, 90, 3), 8333333.333333, 0);
    /* 1e4 m3 x 1000 kg/m3 x 2450 kJ/kg / 3600 + 1e4 x 125 = 6 805 555.6 + 1 250 000 */
    CHECK_NEAR(gepcalc_evaporation_kwh(1e4, 2450, 125), 8055555.555556, 0);
    /* R9: 5.256e15 x 100 hm2 x 10 m x (1600 - 600) / 10 min = 5.256e20 ions */
    CHECK_NEAR(gepcalc_ions_above(100, 10, 1600, 600, 10), 5.256e20, 0);
    CHECK_NEAR(gepcalc_ions_above(100, 10, 500, 600, 10), 0, 0);
    /* R14 shellfish: 1000 x 0.6 x 0.12 x 0.9 = 64.8 t C;
     * POC (64.8 / 0.9 + 22.5) x 0.5 x 0.2 = 9.45 t C */
    CHECK_NEAR(gepcalc_shell_carbon(1000, 0.6, 0.12, 0.1), 64.8, 0);
    CHECK_NEAR(gepcalc_shell_poc(64.8, 0.1, 22.5, 0.5, 0.2), 9.45, 0);
    /* algae: C_a 27 969.5 t; POC 27 969.5 x 0.1 / 0.7 x 0.5; DOC x 0.2 / 0.7 x 0.3 */
    CHECK_NEAR(gepcalc_algae_poc(27969.5, 0.1, 0.2, 0.5), 1997.8214285714, 0);
    CHECK_NEAR(gepcalc_algae_doc(27969.5, 0.1, 0.2, 0.3), 2397.3857142857, 0);
    /* C1: 0.3 x 200 yuan/d x 2 d = 120 yuan */
    CHECK_NEAR(gepcalc_time_cost(0.3, 200, 2), 120, 0);
}

/* ---------------------------------------------------------- services ---- */

static void test_water_conservation(void)
{
    struct gepcalc_out o = new_out();
    struct gepcalc_wc_eco eco[] = {{"forest", P("area", 200, "hm2"), P("precip", 1500, "mm"),
                                    P("et", 800, "mm"), P("runoff_coef", 2.67, "%")}};
    struct gepcalc_wc in = {eco, 1, PS("res_unit_cost", 6.1107, "yuan/m3", "LY/T 1721-2008"), {0}};

    CHECK_EQ_INT(gepcalc_water_conservation(&in, &o), 0);
    CHECK_EQ_INT(o.n, 1);
    CHECK_EQ_STR(o.items[0].category, "regulating");
    CHECK_EQ_STR(o.items[0].service, "water_conservation");
    CHECK_EQ_STR(o.items[0].ecosystem, "forest");
    CHECK_EQ_STR(o.items[0].qunit, "m3");
    CHECK_NEAR(o.items[0].quantity, 1319900, 0);
    CHECK_NEAR(o.items[0].price, 6.1107, 0);
    CHECK_NEAR(o.items[0].value, 8065512.93, 0); /* 1 319 900 x 6.1107 */
    CHECK_EQ_STR(o.items[0].method, "water_balance");
    CHECK_EQ_INT(o.items[0].nsources, 2); /* the price's, then the inputs' ("test") */
    CHECK_EQ_STR(o.items[0].sources[0], "LY/T 1721-2008");

    /* with the operating cost: 1 319 900 x (6.1107 + 0.5) */
    in.res_unit_opcost = P("res_unit_opcost", 0.5, "yuan/m3");
    CHECK_EQ_INT(gepcalc_water_conservation(&in, &o), 0);
    CHECK_NEAR(o.items[1].value, 8725462.93, 0);

    /* refusals name the parameter; nothing is appended */
    o = new_out();
    in.res_unit_cost = NOSRC("res_unit_cost", 6.1107, "yuan/m3");
    CHECK_EQ_INT(gepcalc_water_conservation(&in, &o), -EINVAL);
    CHECK_EQ_STR(o.err, "res_unit_cost has no source");
    CHECK_EQ_INT(o.n, 0);
    in.res_unit_cost = PS("res_unit_cost", 6.1107, "yuan/m3", ""); /* an empty source */
    CHECK_EQ_INT(gepcalc_water_conservation(&in, &o), -EINVAL);
    CHECK_EQ_STR(o.err, "res_unit_cost has no source");
    in.res_unit_cost = GAP("res_unit_cost", "yuan/m3");
    CHECK_EQ_INT(gepcalc_water_conservation(&in, &o), -EINVAL);
    CHECK_EQ_STR(o.err, "res_unit_cost has no value");
    in.res_unit_cost = (struct gepcalc_p){0};
    CHECK_EQ_INT(gepcalc_water_conservation(&in, &o), -EINVAL);
    CHECK_EQ_STR(o.err, "res_unit_cost is missing");
    in.res_unit_cost = P("res_unit_cost", 6.1107, "yuan/t");
    CHECK_EQ_INT(gepcalc_water_conservation(&in, &o), -EINVAL);
    CHECK_HAS(o.err, "res_unit_cost is in yuan/t");
    in.res_unit_cost = P("res_unit_cost", 6.1107, "yuan/m3");
    /* without units: mm, and a fraction; 2.67 as a fraction is refused */
    o = new_out();
    eco[0].precip = P("precip", 1500, NULL);
    eco[0].et = P("et", 800, NULL);
    eco[0].runoff_coef = P("runoff_coef", 0.0267, NULL);
    CHECK_EQ_INT(gepcalc_water_conservation(&in, &o), 0);
    CHECK_NEAR(o.items[0].quantity, 1319900, 0);
    eco[0].runoff_coef = P("runoff_coef", 2.67, NULL);
    CHECK_EQ_INT(gepcalc_water_conservation(&in, &o), -EINVAL);
    CHECK_HAS(o.err, "runoff_coef is 2.67, not a fraction between 0 and 1");
    eco[0].runoff_coef = P("runoff_coef", 2.67, "%");
    o = new_out();
    eco[0].et = GAP("et_forest", "mm");
    CHECK_EQ_INT(gepcalc_water_conservation(&in, &o), -EINVAL);
    CHECK_EQ_STR(o.err, "et_forest has no value");
    CHECK_EQ_INT(o.n, 0);
}

static void test_soil_retention(void)
{
    struct gepcalc_out o = new_out();
    struct gepcalc_sr_eco eco[] = {{"forest", P("area", 1, "km2"), P("R", 4000, NULL),
                                    P("K", 0.03, NULL), P("LS", 2.5, NULL), P("C", 0.2, NULL),
                                    P("P", 0.8, NULL)}};
    struct gepcalc_sr in = {eco,
                            1,
                            P("sed_coef", 0.24, "1"),
                            P("soil_bulk_density", 0.93, "t/m3"),
                            P("dredge_cost", 15.58, "yuan/m3"),
                            P("soil_N", 0.37, "%"),
                            P("soil_P", 0.108, "%"),
                            P("price_N", 875, "yuan/t"),
                            P("price_P", 2800, "yuan/t")};

    /* A_s = 252 t/hm2 x 100 hm2 = 25 200 t */
    CHECK_EQ_INT(gepcalc_soil_retention(&in, &o), 0);
    CHECK_EQ_INT(o.n, 3);
    CHECK_NEAR(o.items[0].quantity, 6503.2258064516, 0); /* 0.24 x 25 200 / 0.93 m3 */
    CHECK_NEAR(o.items[0].value, 101320.2580645161, 0);  /* x 15.58 */
    CHECK_NEAR(o.items[1].quantity, 93.24, 0);           /* 25 200 x 0.37 % t N */
    CHECK_NEAR(o.items[1].value, 81585, 0);              /* x 875 */
    CHECK_NEAR(o.items[2].quantity, 27.216, 0);          /* 25 200 x 0.108 % t P */
    CHECK_NEAR(o.items[2].value, 76204.8, 0);            /* x 2800 */

    o = new_out();
    in.soil_N = P("soil_N", 0.37, NULL); /* a percentage without its unit */
    CHECK_EQ_INT(gepcalc_soil_retention(&in, &o), 0);
    CHECK_NEAR(o.items[1].quantity, 9324, 0);
    in.soil_N = P("soil_N", 37, NULL);
    CHECK_EQ_INT(gepcalc_soil_retention(&in, &o), -EINVAL);
    CHECK_HAS(o.err, "soil_N is 37, not a fraction");
    in.soil_N = P("soil_N", 0.37, "%");
    o = new_out();
    in.soil_bulk_density = GAP("soil_bulk_density", "t/m3"); /* a [GAP] of the seed set */
    CHECK_EQ_INT(gepcalc_soil_retention(&in, &o), -EINVAL);
    CHECK_EQ_STR(o.err, "soil_bulk_density has no value");
    CHECK_EQ_INT(o.n, 0);
}

static void test_sand_fixation(void)
{
    struct gepcalc_out o = new_out();
    struct gepcalc_sf in = {P("sand_retained", 1000, "t"), P("sand_density", 1.28, "t/m3"),
                            P("sand_depth", 0.1, "m"), P("sand_cost", 3.75, "yuan/m2")};

    /* 1000 / (1.28 x 0.1) = 7812.5 m2 x 3.75 = 29 296.875 yuan */
    CHECK_EQ_INT(gepcalc_sand_fixation(&in, &o), 0);
    CHECK_NEAR(o.items[0].quantity, 7812.5, 0);
    CHECK_NEAR(o.items[0].value, 29296.875, 0);
    in.cost = NOSRC("sand_cost", 3.75, "yuan/m2");
    CHECK_EQ_INT(gepcalc_sand_fixation(&in, &o), -EINVAL);
    CHECK_EQ_STR(o.err, "sand_cost has no source");
}

static void test_flood_regulation(void)
{
    struct gepcalc_out o = new_out();
    struct gepcalc_lake lakes[] = {{"plateau",
                                    P("lake_area", 100, "km2"),
                                    P("lake_a", 6.636, "1"),
                                    P("lake_b", 0.678, "1"),
                                    {0}}};
    struct gepcalc_fr in = {P("reservoir_capacity", 1, "亿m3"),
                            P("res_flood_ratio", 0.35, "1"),
                            P("marsh_area", 2000, "km2"),
                            P("marsh_depth", 0.3, "m"),
                            lakes,
                            1,
                            {0},
                            P("res_unit_cost", 7.06, "yuan/m3"),
                            {0}};

    CHECK_EQ_INT(gepcalc_flood_regulation(&in, &o), 0);
    CHECK_EQ_INT(o.n, 3);
    CHECK_NEAR(o.items[0].quantity, 3.5e7, 0); /* 0.35 x 1e8 m3 */
    CHECK_NEAR(o.items[0].value, 2.471e8, 0);  /* x 7.06 */
    CHECK_NEAR(o.items[1].quantity, 6.0e8, 0); /* Garzê: 2000 km2 x 0.3 m = 6.00e8 m3 */
    CHECK_NEAR(o.items[2].quantity, 1.72973e8, 0.0001);
    in.res_flood_ratio = GAP("res_flood_ratio", "1");
    CHECK_EQ_INT(gepcalc_flood_regulation(&in, &o), -EINVAL);
    CHECK_EQ_STR(o.err, "res_flood_ratio has no value");
    CHECK_EQ_INT(o.n, 3);
}

static void test_purification(void)
{
    struct gepcalc_out o = new_out();
    /* Garzê 2010: SO2 1137 t x 1200, NOx 2772 t x 630, dust 941 t x 150 */
    struct gepcalc_pollutant air[] = {
        {"SO2", {0}, P("load_SO2", 1137, "t"), P("price_SO2", 1200, "yuan/t"), {0}, {0}},
        {"NOx", {0}, P("load_NOx", 2772, "t"), P("price_NOx", 0.63, "yuan/kg"), {0}, {0}},
        {"dust",
         P("cap_dust", 500, "t"),
         P("load_dust", 941, "t"),
         {0},
         P("tax_air", 0.6, NULL),
         P("eq_dust", 4, "kg")},
    };
    struct gepcalc_pollutant water[] = {
        {"COD", {0}, P("load_COD", 5424, "t"), P("price_COD", 700, "yuan/t"), {0}, {0}},
        {"NH3N", {0}, P("load_NH3N", 625, "t"), P("price_NH3N", 875, "yuan/t"), {0}, {0}},
    };

    CHECK_EQ_INT(gepcalc_purification("air_purification", air, 3, &o), 0);
    CHECK_EQ_INT(o.n, 3);
    CHECK_NEAR(o.items[0].value, 1364400, 0);
    CHECK_NEAR(o.items[1].price, 630, 0); /* 0.63 yuan/kg */
    CHECK_NEAR(o.items[1].value, 1746360, 0);
    CHECK_NEAR(o.items[2].quantity, 500, 0); /* capped by the capacity */
    CHECK_NEAR(o.items[2].price, 150, 0);    /* 0.6 / 4 kg x 1000 */
    CHECK_NEAR(o.items[2].value, 75000, 0);
    CHECK_EQ_STR(o.items[2].method, "min_capacity_load");
    CHECK_EQ_INT(gepcalc_purification("water_purification", water, 2, &o), 0);
    CHECK_NEAR(o.items[3].value, 3796800, 0);
    CHECK_NEAR(o.items[4].value, 546875, 0);
    CHECK_EQ_INT(gepcalc_purification("sea_purification", water, 2, &o), 0);
    CHECK_EQ_STR(o.items[5].service, "sea_purification");

    o = new_out();
    air[2].tax_rate = (struct gepcalc_p){0};
    CHECK_EQ_INT(gepcalc_purification("air_purification", air, 3, &o), -EINVAL);
    CHECK_EQ_STR(o.err, "tax_rate (or a price) is missing");
    CHECK_EQ_INT(o.n, 0);
    CHECK_EQ_INT(gepcalc_purification("carbon_sequestration", water, 2, &o), -EINVAL);
}

/* The specification's case 3 (Gaotianyan 2014): NPP by forest type, CO2 =
 * 1.63 x NPP at 379.87 yuan/t, O2 = 1.19 x NPP at 1160.70 yuan/t; the
 * published figures within 0.5 %. */
static void test_carbon_oxygen_gaotianyan(void)
{
    static const struct {
        const char *type;
        double npp, co2, co2_wan, o2, o2_wan;
    } pub[] = {
        {"coniferous", 6050.31, 9862.01, 374.62, 7199.87, 835.69},
        {"broad-leaved", 40584.50, 66152.74, 2512.94, 48295.56, 5605.67},
        {"mixed", 4774.77, 7782.88, 295.65, 5681.98, 659.51},
        {"moso bamboo", 5560.52, 9063.65, 344.30, 6617.02, 768.04},
        {"shrub", 1042.60, 1699.44, 64.56, 1240.69, 144.01},
    };
    struct gepcalc_cs_eco eco[5];
    struct gepcalc_out o = new_out();
    struct gepcalc_cs in = {GEPCALC_CARBON_BIOMASS,
                            GEPCALC_OXYGEN_BIOMASS,
                            eco,
                            5,
                            P("co2_per_dm", 1.63, "t_CO2/t"),
                            PS("price_C", 379.87, "yuan/t_CO2", "缪建群 et al. 2017"),
                            P("o2_per_dm", 1.19, "t_O2/t"),
                            P("price_O2", 1160.70, "yuan/t_O2")};
    int64_t fen;

    memset(eco, 0, sizeof(eco));
    for (int i = 0; i < 5; i++) {
        eco[i].ecosystem = pub[i].type;
        eco[i].biomass = P("npp", pub[i].npp, "t");
    }
    CHECK_EQ_INT(gepcalc_carbon(&in, &o), 0);
    CHECK_EQ_INT(gepcalc_oxygen(&in, &o), 0);
    CHECK_EQ_INT(o.n, 10);
    for (int i = 0; i < 5; i++) {
        CHECK_NEAR(o.items[i].quantity, pub[i].co2, 0.005);
        CHECK_NEAR(o.items[i].value, pub[i].co2_wan * 1e4, 0.005);
        CHECK_EQ_STR(o.items[i].service, "carbon_sequestration");
        CHECK_EQ_STR(o.items[i].qunit, "t_CO2");
        CHECK_NEAR(o.items[5 + i].quantity, pub[i].o2, 0.005);
        CHECK_NEAR(o.items[5 + i].value, pub[i].o2_wan * 1e4, 0.005);
        CHECK_EQ_STR(o.items[5 + i].service, "oxygen_release");
    }
    CHECK_EQ_INT(o.items[0].price_year, 0);
    CHECK_EQ_STR(o.items[0].sources[0], "缪建群 et al. 2017");
    /* totals: 3592.07 and 8012.92 万元 published */
    CHECK_EQ_INT(gepcalc_total_fen(&o, 0, &fen), 0);
    CHECK_NEAR((double)fen / 1e6, 3592.07 + 8012.92, 0.005);

    /* the same carbon price given per t C (x 44/12 = 1392.86 yuan/t C) */
    o = new_out();
    in.price_C = P("price_C", 379.87 * 44.0 / 12.0, "yuan/t_C");
    CHECK_EQ_INT(gepcalc_carbon(&in, &o), 0);
    CHECK_NEAR(o.items[0].price, 379.87, 0);
    /* a carbon price per t (of what?) does not convert: refused by name */
    in.price_C = P("price_C", 380, "yuan/t");
    CHECK_EQ_INT(gepcalc_carbon(&in, &o), -EINVAL);
    CHECK_EQ_STR(o.err, "price_C is in yuan/t, which does not convert to yuan/t_CO2");
    in.price_C = NOSRC("price_C", 380, "yuan/t_CO2");
    CHECK_EQ_INT(gepcalc_carbon(&in, &o), -EINVAL);
    CHECK_EQ_STR(o.err, "price_C has no source");
}

static void test_carbon_routes(void)
{
    struct gepcalc_cs_eco eco[1];
    struct gepcalc_out o = new_out();
    struct gepcalc_cs in = {GEPCALC_CARBON_NEP,
                            GEPCALC_OXYGEN_STOICH,
                            eco,
                            1,
                            {0},
                            P("price_C", 380, "yuan/t_CO2"),
                            {0},
                            P("price_O2", 1000, "yuan/t_O2")};

    memset(eco, 0, sizeof(eco));
    eco[0].ecosystem = "forest";
    eco[0].nep = P("nep", 100, "t_C");
    eco[0].rate = P("carbon_rate", 2, "t_C/hm2");
    eco[0].area = P("area", 50, "hm2");
    /* NEP 100 t C -> 366.67 t CO2; O2 = 32/44 of it = 266.67 t */
    CHECK_EQ_INT(gepcalc_carbon(&in, &o), 0);
    CHECK_NEAR(o.items[0].quantity, 366.6666666667, 0);
    CHECK_NEAR(o.items[0].value, 139333.3333333, 0);
    CHECK_EQ_STR(o.items[0].method, "nep");
    CHECK_EQ_INT(gepcalc_oxygen(&in, &o), 0);
    CHECK_NEAR(o.items[1].quantity, 266.6666666667, 0);
    CHECK_EQ_STR(o.items[1].method, "stoichiometric");
    /* rate route: 2 t C/hm2 x 50 hm2 = 100 t C */
    in.carbon = GEPCALC_CARBON_RATE;
    CHECK_EQ_INT(gepcalc_carbon(&in, &o), 0);
    CHECK_NEAR(o.items[2].quantity, 366.6666666667, 0);
    /* without units NEP and rates are carbon (t C), as the specification writes them */
    eco[0].rate = P("carbon_rate", 2, NULL);
    CHECK_EQ_INT(gepcalc_carbon(&in, &o), 0);
    CHECK_NEAR(o.items[3].quantity, 366.6666666667, 0);
    in.carbon = GEPCALC_CARBON_NEP;
    eco[0].nep = P("nep", 100, NULL);
    CHECK_EQ_INT(gepcalc_carbon(&in, &o), 0);
    CHECK_NEAR(o.items[4].quantity, 366.6666666667, 0);
    /* and given as CO2 they are not converted twice */
    eco[0].nep = P("nep", 366.6666666667, "t_CO2");
    CHECK_EQ_INT(gepcalc_carbon(&in, &o), 0);
    CHECK_NEAR(o.items[5].quantity, 366.6666666667, 0);
    /* biomass route without its coefficient: refused by name */
    in.carbon = GEPCALC_CARBON_BIOMASS;
    eco[0].biomass = P("npp", 10, "t");
    in.co2_per_dm = GAP("co2_per_dm", "t_CO2/t");
    CHECK_EQ_INT(gepcalc_carbon(&in, &o), -EINVAL);
    CHECK_EQ_STR(o.err, "co2_per_dm has no value");
}

static void test_climate_regulation(void)
{
    struct gepcalc_out o = new_out();
    struct gepcalc_cr_eco eco[] = {{"forest", P("area", 1, "km2"), P("epp", 1000, NULL)}};
    struct gepcalc_cr in = {eco,
                            1,
                            P("ac_days", 90, "d"),
                            P("ac_eer", 3, "1"),
                            P("evaporation", 1, "万m3"),
                            P("latent_heat", 2450, "kJ/kg"),
                            P("humidifier_kwh", 125, "kWh/m3"),
                            P("price_elec", 0.53, "yuan/kWh")};

    CHECK_EQ_INT(gepcalc_climate_regulation(&in, &o), 0);
    CHECK_EQ_INT(o.n, 2);
    CHECK_NEAR(o.items[0].quantity, 8333333.333333, 0);
    CHECK_NEAR(o.items[0].value, 4416666.666667, 0); /* x 0.53 */
    CHECK_NEAR(o.items[1].quantity, 8055555.555556, 0);
    CHECK_NEAR(o.items[1].value, 4269444.444444, 0);
    in.price_elec = GAP("price_elec", "yuan/kWh"); /* Zhejiang tariff: [GAP] */
    CHECK_EQ_INT(gepcalc_climate_regulation(&in, &o), -EINVAL);
    CHECK_EQ_STR(o.err, "price_elec has no value");
}

static void test_negative_ions(void)
{
    struct gepcalc_out o = new_out();
    struct gepcalc_ion_eco eco[] = {
        {"forest", P("area", 100, "hm2"), P("height", 10, "m"), P("conc", 1600, NULL)},
        {"urban", P("area", 100, "hm2"), P("height", 10, "m"), P("conc", 400, NULL)},
    };
    struct gepcalc_ion in = {eco, 2, P("ion_threshold", 600, NULL), P("ion_life", 10, "min"),
                             P("ion_cost", 5.8185e-18, "yuan/ion")};

    /* 5.256e20 ions x 5.8185e-18 yuan = 3058.2036 yuan; below the threshold 0 */
    CHECK_EQ_INT(gepcalc_negative_ions(&in, &o), 0);
    CHECK_NEAR(o.items[0].quantity, 5.256e20, 0);
    CHECK_NEAR(o.items[0].value, 3058.2036, 0);
    CHECK_NEAR(o.items[1].value, 0, 0);
    in.ion_cost = NOSRC("ion_cost", 5.8185e-18, "yuan/ion");
    CHECK_EQ_INT(gepcalc_negative_ions(&in, &o), -EINVAL);
    CHECK_EQ_STR(o.err, "ion_cost has no source");
}

static void test_unit_cost_services(void)
{
    struct gepcalc_out o = new_out();
    /* Garzê: 158e4 hm2 forest x 375 + 711.13e4 hm2 grass x 112.5 yuan/hm2 */
    struct gepcalc_unit_cost pest[] = {
        {"forest", P("area_forest", 158, "万hm2"), P("pest_cost_forest", 375, "yuan/hm2"), {0}},
        {"grass", P("area_grass", 711.13, "万hm2"), P("pest_cost_grass", 112.5, "yuan/hm2"), {0}},
    };
    struct gepcalc_unit_cost coast[] = {
        {"sandy beach", P("coast_beach", 10, "km"), P("seawall_cost", 5e7, "yuan/km"),
         P("seawall_life", 50, "a")},
    };
    struct gepcalc_unit_cost land[] = {
        {"sea view", P("floor_area", 10, "hm2"), P("premium", 200, "yuan/m2"), {0}},
    };

    CHECK_EQ_INT(gepcalc_pest_control(pest, 2, &o), 0);
    CHECK_NEAR(o.items[0].quantity, 1.58e6, 0);
    CHECK_NEAR(o.items[0].value, 592500000, 0);
    CHECK_NEAR(o.items[1].value, 800021250, 0);
    /* 10 km x 5e7 yuan/km / 50 a = 1e7 yuan a year */
    CHECK_EQ_INT(gepcalc_coastal_protection(coast, 1, &o), 0);
    CHECK_NEAR(o.items[2].price, 1e6, 0);
    CHECK_NEAR(o.items[2].value, 1e7, 0);
    /* 1e5 m2 x 200 yuan/m2 */
    CHECK_EQ_INT(gepcalc_landscape(land, 1, &o), 0);
    CHECK_NEAR(o.items[3].value, 2e7, 0);
    CHECK_EQ_STR(o.items[3].category, "cultural");
    coast[0].cost = GAP("seawall_cost", "yuan/km"); /* [GAP] in the specification */
    CHECK_EQ_INT(gepcalc_coastal_protection(coast, 1, &o), -EINVAL);
    CHECK_EQ_STR(o.err, "seawall_cost has no value");
}

static void test_market(void)
{
    struct gepcalc_out o = new_out();
    struct gepcalc_product p[] = {
        {"hydropower", P("hydro", 95.30, "亿kWh"), P("tariff", 0.53, "yuan/kWh"), false},
        {"coastal catch", P("catch", 12.5, "万t"), P("fish_price", 0.8, "万yuan/t"), false},
        {"distant-water catch", P("distant", 3, "万t"), P("fish_price", 8000, "yuan/t"), true},
    };

    CHECK_EQ_INT(gepcalc_market("ecological_energy", p, 1, false, &o), 0);
    CHECK_NEAR(o.items[0].quantity, 9.53e9, 0);
    CHECK_EQ_STR(o.items[0].qunit, "kWh");
    CHECK_NEAR(o.items[0].value, 5050900000.0, 0); /* Garzê: 50.51 亿元 */
    /* price in 万yuan/t is refused: prices are yuan per unit */
    CHECK_EQ_INT(gepcalc_market("marine_capture", p + 1, 2, false, &o), -EINVAL);
    p[1].price = P("fish_price", 8000, "yuan/t");
    CHECK_EQ_INT(gepcalc_market("marine_capture", p + 1, 2, false, &o), 0);
    CHECK_EQ_INT(o.n, 2); /* distant water left out */
    CHECK_NEAR(o.items[1].value, 1e9, 0);
    CHECK_EQ_INT(gepcalc_market("marine_capture", p + 1, 2, true, &o), 0);
    CHECK_EQ_INT(o.n, 4);
    CHECK_EQ_INT(gepcalc_market("recreation", p, 1, false, &o), -EINVAL);
    p[0].price = NOSRC("tariff", 0.53, "yuan/kWh");
    CHECK_EQ_INT(gepcalc_market("ecological_energy", p, 1, false, &o), -EINVAL);
    CHECK_EQ_STR(o.err, "tariff has no source");
}

static void test_marine(void)
{
    struct gepcalc_out o = new_out();
    struct gepcalc_marine_pp pp = {P("c_fixed", 1000, "t_C"), P("price_C", 380, "yuan/t_CO2"),
                                   P("price_O2", 1000, "yuan/t_O2")};
    struct gepcalc_shellfish sh[] = {{"oyster", P("output", 1000, "t"), P("rs", 0.6, "1"),
                                      P("ws", 0.12, "1"), P("eps", 0.1, "1"), P("rt", 0.05, "1"),
                                      P("wt", 0.45, "1"), P("ratio", 0.5, "1"),
                                      P("gamma", 0.2, "1")}};
    /* Case 4 (Sanggou Bay kelp): 8.45 万 t dry x 33.1 % C = 2.797 万 t C
     * (published 2.8 万 t C) */
    struct gepcalc_algae al[] = {
        {"kelp", P("kelp_output", 8.45, "万t"), P("kelp_C", 33.1, "%"), {0}, {0}, {0}, {0}}};
    struct gepcalc_p price = P("price_C", 380, "yuan/t_CO2");

    /* 1000 t C -> 3666.67 t CO2 x 380; 2666.67 t O2 x 1000 */
    CHECK_EQ_INT(gepcalc_marine_primary(&pp, &o), 0);
    CHECK_NEAR(o.items[0].value, 1393333.333333, 0);
    CHECK_NEAR(o.items[1].quantity, 2666.666666667, 0);
    CHECK_NEAR(o.items[1].value, 2666666.666667, 0);
    /* shellfish: 64.8 + 9.45 = 74.25 t C; x 44/12 x 380 = 103 455 yuan */
    CHECK_EQ_INT(gepcalc_shellfish_carbon(sh, 1, &price, &o), 0);
    CHECK_NEAR(o.items[2].quantity, 74.25, 0);
    CHECK_EQ_STR(o.items[2].qunit, "t_C");
    CHECK_EQ_STR(o.items[2].punit, "t_CO2");
    CHECK_NEAR(o.items[2].value, 103455, 0);
    CHECK_EQ_INT(gepcalc_algae_carbon(al, 1, &price, &o), 0);
    CHECK_NEAR(o.items[3].quantity, 2.8e4, 0.005);
    CHECK_NEAR(o.items[3].quantity, 27969.5, 0);
    CHECK_NEAR(o.items[3].value, 38970836.666667, 0); /* x 44/12 x 380 */
    CHECK_EQ_STR(o.items[3].service, "mariculture_carbon");
    /* with POC and DOC: + 1997.82 + 2397.39 t C */
    al[0].alpha = P("alpha", 0.1, "1");
    al[0].beta = P("beta", 0.2, "1");
    al[0].gamma_poc = P("gamma_poc", 0.5, "1");
    al[0].gamma_doc = P("gamma_doc", 0.3, "1");
    CHECK_EQ_INT(gepcalc_algae_carbon(al, 1, &price, &o), 0);
    CHECK_NEAR(o.items[4].quantity, 27969.5 + 1997.8214285714 + 2397.3857142857, 0);
    sh[0].eps = GAP("shell_eps", "1");
    CHECK_EQ_INT(gepcalc_shellfish_carbon(sh, 1, &price, &o), -EINVAL);
    CHECK_EQ_STR(o.err, "shell_eps has no value");
    al[0].c_content = NOSRC("kelp_C", 0.331, "1");
    CHECK_EQ_INT(gepcalc_algae_carbon(al, 1, &price, &o), -EINVAL);
    CHECK_EQ_STR(o.err, "kelp_C has no source");
}

static void test_recreation(void)
{
    struct gepcalc_out o = new_out();
    struct gepcalc_rec in = {P("visits", 10, "万人次"), P("te", 300, "yuan/visit"),
                             P("share", 0.3, "1"),      P("wage", 200, NULL),
                             P("days", 2, NULL),        P("cs", 50, "yuan/visit")};

    /* 1e5 visits x (300 + 120 + 50) = 4.7e7 yuan */
    CHECK_EQ_INT(gepcalc_recreation(&in, &o), 0);
    CHECK_NEAR(o.items[0].quantity, 1e5, 0);
    CHECK_NEAR(o.items[0].price, 470, 0);
    CHECK_NEAR(o.items[0].value, 4.7e7, 0);
    in.daily_wage = GAP("daily_wage", NULL);
    CHECK_EQ_INT(gepcalc_recreation(&in, &o), -EINVAL);
    CHECK_EQ_STR(o.err, "daily_wage has no value");
}

static void test_out_full(void)
{
    struct gepcalc_item two[2];
    struct gepcalc_out o = {two, 0, 2, ""};
    struct gepcalc_pollutant w[] = {
        {"COD", {0}, P("a", 1, "t"), P("p", 1, "yuan/t"), {0}, {0}},
        {"TN", {0}, P("b", 1, "t"), P("p", 1, "yuan/t"), {0}, {0}},
        {"TP", {0}, P("c", 1, "t"), P("p", 1, "yuan/t"), {0}, {0}},
    };
    CHECK_EQ_INT(gepcalc_purification("water_purification", w, 3, &o), -ENOSPC);
    CHECK_EQ_INT(o.n, 0);
    CHECK_EQ_INT(gepcalc_purification("water_purification", w, 2, &o), 0);
    CHECK_EQ_INT(o.n, 2);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_unit_parse),
    CHECK_CASE(test_unit_convert),
    CHECK_CASE(test_value_and_fen),
    CHECK_CASE(test_service_codes),
    CHECK_CASE(test_formulas),
    CHECK_CASE(test_water_conservation),
    CHECK_CASE(test_soil_retention),
    CHECK_CASE(test_sand_fixation),
    CHECK_CASE(test_flood_regulation),
    CHECK_CASE(test_purification),
    CHECK_CASE(test_carbon_oxygen_gaotianyan),
    CHECK_CASE(test_carbon_routes),
    CHECK_CASE(test_climate_regulation),
    CHECK_CASE(test_negative_ions),
    CHECK_CASE(test_unit_cost_services),
    CHECK_CASE(test_market),
    CHECK_CASE(test_marine),
    CHECK_CASE(test_recreation),
    CHECK_CASE(test_out_full),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
