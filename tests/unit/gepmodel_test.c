/* gepmodel: runs of the physical models on gep.model_inputs() documents
 * (docs/GEP.md, "Runs of the physical models"): which services run, the
 * lookup order of inputs and parameters, units (万 multipliers), refusals
 * by name, distant-water catch, and the items' JSON. Expected values are
 * worked out by hand in the comments. */
#include "gepmodel.h"

#include "check.h"
#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

/* A document: params and inputs as JSON array bodies. */
static int run(struct gepmodel *m, const char *params, const char *inputs)
{
    char doc[8192];
    snprintf(doc, sizeof doc,
             "{\"region\":\"T\",\"year\":2024,\"param_set\":\"t\",\"params\":[%s],\"inputs\":[%s]}",
             params, inputs);
    return gepmodel_run(m, doc, strlen(doc));
}

#define P(k, e, v, u, src)                                                                         \
    "{\"key\":\"" k "\",\"ecosystem\":\"" e "\",\"value\":" v ",\"unit\":\"" u "\",\"year\":2010," \
    "\"source\":" src ",\"status\":\"V\"}"
#define I(k, e, v, u)                                                                              \
    "{\"key\":\"" k "\",\"ecosystem\":\"" e "\",\"value\":" v ",\"unit\":\"" u "\","               \
    "\"source\":\"in " k "\",\"query\":null}"

static const struct gepcalc_item *find(const struct gepmodel *m, const char *service,
                                       const char *eco)
{
    for (size_t i = 0; i < m->out.n; i++)
        if (strcmp(m->items[i].service, service) == 0 && strcmp(m->items[i].ecosystem, eco) == 0)
            return &m->items[i];
    return NULL;
}

static void test_market_units_and_distant(void)
{
    static struct gepmodel m;
    const struct gepcalc_item *it;
    /* 6.2 万t hairtail at 18000 yuan/t = 1 116 000 000; distant squid left out */
    CHECK_EQ_INT(run(&m,
                     P("price__hairtail", "", "18000", "yuan/t", "\"prices\"") "," P(
                         "price__distant_squid", "", "9000", "yuan/t", "\"prices\""),
                     I("marine_capture__hairtail", "", "6.2",
                       "万t") "," I("marine_capture__distant_squid", "", "40000", "t")),
                 0);
    CHECK_EQ_INT((int)m.out.n, 1);
    it = &m.items[0];
    CHECK_EQ_STR(it->service, "marine_capture");
    CHECK_EQ_STR(it->item, "hairtail");
    CHECK(fabs(it->value - 1116000000.0) < 0.01);
    CHECK_EQ_INT(m.total_fen, 111600000000LL);
    gepmodel_close(&m);
}

#define WC_PARAMS                                                                                  \
    P("runoff_coef", "forest", "10", "%", "\"p1\"")                                                \
    "," P("runoff_coef", "", "0.2", "1", "\"p2\"") "," P(                                          \
        "runoff_coef", "grassland", "0.3", "1",                                                    \
        "\"p3\"") "," P("res_unit_cost", "", "2", "yuan/m3",                                       \
                        "\"p4\"") "," P("res_unit_opcost", "", "null", "yuan/m3", "null")
#define WC_INPUTS                                                                                  \
    I("area", "forest", "100", "hm2")                                                              \
    "," I("area", "grassland", "1", "km2") "," I("area", "sea", "5", "km2") "," I(                 \
        "precip", "", "1000",                                                                      \
        "mm") "," I("precip", "forest", "1.4",                                                     \
                    "m") "," I("et", "forest", "700",                                              \
                               "mm") "," I("et", "grassland", "500",                               \
                                           "mm") "," I("runoff_coef", "grassland", "0.1", "1")

static void test_lookup_order(void)
{
    static struct gepmodel m;
    const struct gepcalc_item *f, *g;
    /* the order: the region's input for the ecosystem, its input for the
     * whole region, the set's value for the ecosystem, its general value.
     * precip: the region-wide input (1000 mm) for grassland; forest has its
     * own (1.4 m). runoff_coef: the forest parameter 10 %; for grassland the
     * input 0.1 over the parameters 0.3 and 0.2. res_unit_cost: general.
     * forest: 1e6 m2 x (1400 - 140 - 700) mm = 560 000 m3 x 2 = 1 120 000
     * grassland: 1e6 m2 x (1000 - 100 - 500) mm = 400 000 m3 x 2 = 800 000 */
    CHECK_EQ_INT(run(&m, WC_PARAMS, WC_INPUTS), 0);
    CHECK_EQ_INT((int)m.out.n, 2); /* sea has no runoff coefficient: no line */
    f = find(&m, "water_conservation", "forest");
    g = find(&m, "water_conservation", "grassland");
    CHECK(f && g);
    CHECK(fabs(f->value - 1120000.0) < 0.01);
    CHECK(fabs(g->value - 800000.0) < 0.01);
    gepmodel_close(&m);
    /* a region-wide input 0.05 comes before the forest parameter 10 %:
     * forest 1e6 x (1400 - 70 - 700) mm = 630 000 m3 x 2 = 1 260 000 */
    CHECK_EQ_INT(run(&m, WC_PARAMS, WC_INPUTS "," I("runoff_coef", "", "0.05", "1")), 0);
    f = find(&m, "water_conservation", "forest");
    g = find(&m, "water_conservation", "grassland");
    CHECK(f && g);
    CHECK(fabs(f->value - 1260000.0) < 0.01);
    CHECK(fabs(g->value - 800000.0) < 0.01);
    gepmodel_close(&m);
}

static void test_refusals_name_the_key(void)
{
    static struct gepmodel m;
    /* a price row without a value (a gap) */
    CHECK_EQ_INT(run(&m, P("price__kelp", "", "null", "yuan/t", "null"),
                     I("mariculture__kelp", "", "10", "t")),
                 -EINVAL);
    CHECK(strstr(m.err, "price__kelp has no value") != NULL);
    gepmodel_close(&m);
    /* a price with a value and no source */
    CHECK_EQ_INT(
        run(&m, P("price__kelp", "", "5", "yuan/t", "\"\""), I("mariculture__kelp", "", "10", "t")),
        -EINVAL);
    CHECK(strstr(m.err, "price__kelp has no source") != NULL);
    gepmodel_close(&m);
    /* no price at all */
    CHECK_EQ_INT(run(&m, "", I("mariculture__kelp", "", "10", "t")), -EINVAL);
    CHECK(strstr(m.err, "price__kelp has no value") != NULL);
    gepmodel_close(&m);
    /* the ions: a derived concentration and an ecosystem height, no ion_cost */
    CHECK_EQ_INT(run(&m,
                     P("ion_height", "forest", "10", "m",
                       "\"h\"") "," P("ion_threshold", "", "600", "ion/cm3",
                                      "\"t\"") "," P("ion_life", "", "10", "min", "\"l\""),
                     I("area", "forest", "100", "hm2") "," I("noi_conc", "", "1000", "ion/cm3")),
                 -EINVAL);
    CHECK(strstr(m.err, "ion_cost has no value") != NULL);
    gepmodel_close(&m);
    /* a prefix that is not a provisioning service */
    CHECK_EQ_INT(run(&m, "", I("recreation__boat", "", "10", "visit")), -EINVAL);
    CHECK(strstr(m.err, "recreation is not a provisioning service") != NULL);
    gepmodel_close(&m);
    /* nothing a model uses */
    CHECK_EQ_INT(
        run(&m, P("price_C", "", "380", "yuan/t_CO2", "\"c\""), I("area", "forest", "1", "m2")),
        -EINVAL);
    CHECK(strstr(m.err, "no inputs to value") != NULL);
    gepmodel_close(&m);
    /* not the document's shape */
    CHECK_EQ_INT(gepmodel_run(&m, "{\"params\":1}", 12), -EBADMSG);
    gepmodel_close(&m);
}

static void test_ions_per_ecosystem(void)
{
    static struct gepmodel m;
    const struct gepcalc_item *f, *g;
    /* forest: its own concentration 1200; grassland: the region's 700.
     * 5.256e15 x 100 hm2 x 10 m x 600 / 10 min = 3.1536e20 ions x 1e-18 = 315.36
     * 5.256e15 x 100 hm2 x 1 m x 100 / 10 = 5.256e18 x 1e-18 = 5.256 -> 5.26 */
    CHECK_EQ_INT(
        run(&m,
            P("ion_height", "forest", "10", "m", "\"h\"") "," P(
                "ion_height", "grassland", "1", "m",
                "\"h\"") "," P("ion_height", "urban", "5", "m",
                               "\"h\"") "," P("ion_threshold", "", "600", "ion/cm3",
                                              "\"t\"") "," P("ion_life", "", "10", "min",
                                                             "\"l\"") "," P("ion_cost", "", "1e-18",
                                                                            "yuan/ion", "\"k\""),
            I("area", "forest", "1e6", "m2") "," I("area", "grassland", "100", "hm2") "," I(
                "noi_conc", "", "700", "ion/cm3") "," I("noi_conc", "forest", "1200", "ion/cm3")),
        0);
    CHECK_EQ_INT((int)m.out.n, 2); /* urban: no area, no line */
    f = find(&m, "negative_ions", "forest");
    g = find(&m, "negative_ions", "grassland");
    CHECK(f && g);
    CHECK(fabs(f->value - 315.36) < 1e-6);
    CHECK(fabs(g->value - 5.256) < 1e-9);
    CHECK_EQ_INT(m.total_fen, 31536 + 526);
    gepmodel_close(&m);
}

static void test_items_json(void)
{
    static struct gepmodel m;
    char *s = NULL;
    size_t len = 0;
    cJSON *d = NULL, *it;
    CHECK_EQ_INT(run(&m, P("price__kelp", "", "2.5", "yuan/kg", "\"prices\""),
                     I("mariculture__kelp", "", "3", "t")),
                 0);
    CHECK_EQ_INT(gepmodel_items_json(&m, &s, &len), 0);
    CHECK_EQ_INT(json_parse(s, len, &d, NULL, 0), 0);
    CHECK(cJSON_IsArray(d) && cJSON_GetArraySize(d) == 1);
    it = cJSON_GetArrayItem(d, 0);
    /* 3 t at 2.5 yuan/kg = 7 500.00 yuan, as a decimal string */
    CHECK_EQ_STR(cJSON_GetObjectItemCaseSensitive(it, "value_yuan")->valuestring, "7500.00");
    CHECK_EQ_STR(cJSON_GetObjectItemCaseSensitive(it, "category")->valuestring, "provisioning");
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(it, "sources")), 2);
    CHECK_EQ_INT((int)cJSON_GetObjectItemCaseSensitive(it, "line")->valuedouble, 1);
    cJSON_Delete(d);
    cJSON_free(s);
    gepmodel_close(&m);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_market_units_and_distant),
    CHECK_CASE(test_lookup_order),
    CHECK_CASE(test_refusals_name_the_key),
    CHECK_CASE(test_ions_per_ecosystem),
    CHECK_CASE(test_items_json),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
