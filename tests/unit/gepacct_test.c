/* gepacct: GEP account files (docs/CONTRACT.md "GEP account files"):
 * columns by name, valuation with unit conversion and 万/亿 multipliers,
 * value_yuan lines, exact totals in fen, and every refusal with its file
 * line. Expected values are worked out by hand in the comments. */
#include "gepacct.h"

#include "check.h"

#include <errno.h>
#include <math.h>

#define HDR "category,service,item,quantity,unit,price,price_unit,value_yuan,source\n"

static int parse(const char *s, struct gepacct *a)
{
    return gepacct_parse(s, strlen(s), a);
}

/* some error message holds `part` */
static void expect_error(const struct gepacct *a, const char *part)
{
    for (size_t i = 0; i < a->nerrors && i < GEPACCT_MSGS_MAX; i++)
        if (strstr(a->errors[i], part))
            return;
    for (size_t i = 0; i < a->nerrors && i < GEPACCT_MSGS_MAX; i++)
        fprintf(stderr, "  %s\n", a->errors[i]);
    fprintf(stderr, "no error holds \"%s\"\n", part);
    FAIL("missing refusal");
}

static void test_valued_lines(void)
{
    struct gepacct a;
    const char *f = HDR
        /* 100 t C at 380 yuan/t CO2: 100 x 44/12 x 380 = 139 333.33 */
        "regulating,carbon_sequestration,forest,100,t_C,380,t_CO2,,paper A\n"
        /* 95.30 亿 kWh x 0.53 = 5 050 900 000.00 */
        "provisioning,ecological_energy,hydropower,95.30,亿kWh,0.53,kWh,,Garzê 2010\n"
        /* a value only: 2.5 亿 yuan written out */
        "cultural,recreation,tourism,,,,,250000000,yearbook\n"
        /* 2 km2 at 375 yuan/hm2 = 200 hm2 x 375 = 75 000; empty price_unit is the unit's */
        "regulating,pest_control,forest,2,km2,375,hm2,,Garzê 2010\n"
        "regulating,water_conservation,\"reservoir, cost\",178.66,万m3,0.92,,,缪建群 2017\n";

    CHECK_EQ_INT(parse(f, &a), 0);
    CHECK_EQ_INT(a.n, 5);
    CHECK_EQ_INT(a.nerrors, 0);
    CHECK_EQ_INT(a.lines[0].line, 2);
    CHECK_EQ_STR(a.lines[0].category, "regulating");
    CHECK_EQ_STR(a.lines[0].service, "carbon_sequestration");
    CHECK_EQ_STR(a.lines[0].unit, "t_C");
    CHECK_EQ_STR(a.lines[0].price_unit, "t_CO2");
    CHECK_EQ_INT(a.lines[0].value_fen, 13933333);
    CHECK_EQ_STR(a.lines[1].unit, "kWh");
    CHECK(fabs(a.lines[1].quantity - 9.53e9) < 1e-3);
    CHECK_EQ_INT(a.lines[1].value_fen, 505090000000LL);
    CHECK(a.lines[2].from_value);
    CHECK(!a.lines[2].has_quantity && !a.lines[2].has_price);
    CHECK_EQ_INT(a.lines[2].value_fen, 25000000000LL);
    CHECK_EQ_INT(a.lines[3].value_fen, 7500000);
    CHECK(fabs(a.lines[3].quantity - 2) < 1e-12); /* km2 is a unit, not a multiplier */
    CHECK_EQ_STR(a.lines[3].unit, "km2");
    CHECK_EQ_STR(a.lines[4].item, "reservoir, cost");
    CHECK_EQ_STR(a.lines[4].price_unit, "m3");
    CHECK_EQ_INT(a.lines[4].value_fen, 164367200); /* 1 786 600 m3 x 0.92 */
    CHECK_EQ_INT(a.cat_fen[GEPACCT_REGULATING], 13933333 + 7500000 + 164367200);
    CHECK_EQ_INT(a.cat_fen[GEPACCT_PROVISIONING], 505090000000LL);
    CHECK_EQ_INT(a.cat_fen[GEPACCT_CULTURAL], 25000000000LL);
    CHECK_EQ_INT(a.total_fen, 13933333 + 7500000 + 164367200 + 505090000000LL + 25000000000LL);
    gepacct_free(&a);
}

static void test_columns_by_name(void)
{
    struct gepacct a;
    /* other order, extra columns, no item/value_yuan columns */
    const char *f = "source,note,price,quantity,service,unit,category,price_unit\n"
                    "Garzê,x,630,2772,air_purification,t,regulating,t\n";

    CHECK_EQ_INT(parse(f, &a), 0);
    CHECK_EQ_INT(a.n, 1);
    CHECK_EQ_INT(a.total_fen, 174636000); /* 2772 x 630 = 1 746 360 */
    CHECK_EQ_STR(a.lines[0].item, "");
    gepacct_free(&a);

    CHECK_EQ_INT(parse("category,service,quantity,price\nregulating,air_purification,1,1\n", &a),
                 -EBADMSG);
    expect_error(&a, "line 1: the header needs the columns category, service and source");
    gepacct_free(&a);
    CHECK_EQ_INT(parse("", &a), -EBADMSG);
    expect_error(&a, "empty");
    gepacct_free(&a);
    CHECK_EQ_INT(parse(HDR, &a), -EBADMSG);
    expect_error(&a, "no line items");
    gepacct_free(&a);
}

static void test_value_and_quantity(void)
{
    struct gepacct a;
    /* quantity with value_yuan and no price: the value, quantity kept */
    const char *f = HDR "provisioning,marine_capture,catch,12.3,万t,,,1500000000,yearbook\n"
                        /* all three, disagreeing by 1 %: quantity x price, a warning */
                        "provisioning,agriculture,rice,100,t,3000,t,303000,yearbook\n"
                        /* all three within 0.5 %: no warning */
                        "provisioning,agriculture,tea,100,t,3000,t,300100,yearbook\n";

    CHECK_EQ_INT(parse(f, &a), 0);
    CHECK(a.lines[0].from_value);
    CHECK(a.lines[0].has_quantity);
    CHECK(fabs(a.lines[0].quantity - 123000) < 1e-6);
    CHECK_EQ_INT(a.lines[0].value_fen, 150000000000LL);
    CHECK(!a.lines[1].from_value);
    CHECK_EQ_INT(a.lines[1].value_fen, 30000000);
    CHECK_EQ_INT(a.nwarnings, 1);
    CHECK(strstr(a.warnings[0], "line 3: value_yuan 303000 differs") != NULL);
    gepacct_free(&a);
}

static void test_refusals(void)
{
    struct gepacct a;
    const char *f =
        HDR "regulating,carbon_sequestration,no source,100,t_C,380,t_CO2,,\n"          /* 2 */
            "regulating,carbon_sequestration,no price,100,t_C,,,,paper\n"              /* 3 */
            "regulating,carbon_sequestration,t vs CO2,100,t,380,t_CO2,,paper\n"        /* 4 */
            "regulating,carbon_sequestration,bad unit,100,tons,380,t_CO2,,paper\n"     /* 5 */
            "regulating,gdp,bad service,,,,,5,paper\n"                                 /* 6 */
            "provisioning,carbon_sequestration,wrong category,,,,,5,paper\n"           /* 7 */
            "regulating,carbon_sequestration,nan,abc,t_C,380,t_CO2,,paper\n"           /* 8 */
            "regulating,carbon_sequestration,nothing,,,,,,paper\n"                     /* 9 */
            "regulating,carbon_sequestration,no unit,100,,380,t_CO2,,paper\n"          /* 10 */
            "regulating,carbon_sequestration,price only,,,380,t_CO2,,paper\n"          /* 11 */
            "natural,carbon_sequestration,bad category,,,,,5,paper\n"                  /* 12 */
            "regulating,carbon_sequestration,ok,100,t_C,380,t_CO2,,paper\n"            /* 13 */
            "regulating,carbon_sequestration,\"open quote,100,t_C,380,t_CO2,,paper\n"; /* 14 */

    CHECK_EQ_INT(parse(f, &a), -EBADMSG);
    expect_error(&a, "line 2: source is missing");
    expect_error(&a, "line 3: quantity without a price");
    expect_error(&a, "line 4: unit t does not convert to price_unit t_CO2");
    expect_error(&a, "line 5: unit 'tons' is not known");
    expect_error(&a, "line 6: unknown service 'gdp'");
    expect_error(&a, "line 7: service carbon_sequestration is regulating, not provisioning");
    expect_error(&a, "line 8: quantity 'abc' is not a number");
    expect_error(&a, "line 9: neither quantity and price nor value_yuan");
    expect_error(&a, "line 10: quantity 100 has no unit");
    expect_error(&a, "line 11: price without a quantity");
    expect_error(&a, "line 12: category 'natural' is not provisioning, regulating or cultural");
    expect_error(&a, "line 14:");
    CHECK_EQ_INT(a.nerrors, 12);
    gepacct_free(&a);

    /* one bad line refuses the file; a good file alone passes */
    CHECK_EQ_INT(parse(HDR "regulating,carbon_sequestration,ok,100,t_C,380,t_CO2,,paper\n", &a), 0);
    gepacct_free(&a);
    CHECK_EQ_INT(parse(HDR "regulating,carbon_sequestration,inf,1e400,t_C,380,t_CO2,,paper\n", &a),
                 -EBADMSG);
    expect_error(&a, "line 2: quantity '1e400' is not a number");
    gepacct_free(&a);
    CHECK_EQ_INT(parse(HDR "regulating,carbon_sequestration,big,1e12,t_C,1e12,t_CO2,,paper\n", &a),
                 -EBADMSG);
    expect_error(&a, "line 2: value out of range");
    gepacct_free(&a);
}

/* 万/亿 quantities are read as exact decimals: 0.07 亿 m3 is 7 000 000 m3,
 * where 0.07 x 1e8 in doubles is 7000000.000000001; prices per 万 likewise. */
static void test_multiplier_exact(void)
{
    struct gepacct a;
    const char *f = HDR "provisioning,water_supply,x,0.07,亿m3,2.6,m3,,yearbook\n"
                        "provisioning,agriculture,y,3,t,0.07,亿t,,yearbook\n";

    CHECK_EQ_INT(parse(f, &a), 0);
    CHECK(a.lines[0].quantity == 7000000.0);
    CHECK(a.lines[1].price == 7e-10);
    CHECK_EQ_INT(a.lines[0].value_fen, 1820000000); /* 7e6 x 2.6 */
    CHECK_EQ_INT(a.lines[1].value_fen, 0);          /* 3 t x 7e-10 yuan/t */
    gepacct_free(&a);
}

/* Thousands separators in strict groups of three, as spreadsheets write them */
static void test_grouped_numbers(void)
{
    struct gepacct a;
    const char *f = HDR "regulating,air_purification,SO2,\"1,137\",t,\"1,200.00\",t,,Garzê\n"
                        "cultural,recreation,tourism,,,,,\"7,067,000,000\",Garzê\n";
    const char *bad[] = {"1,5", "12,34", "1234,567", ",123", "1,234,56", "1,2345", "1,234,"};

    CHECK_EQ_INT(parse(f, &a), 0);
    CHECK_EQ_INT(a.lines[0].value_fen, 136440000); /* 1137 x 1200 */
    CHECK_EQ_INT(a.lines[1].value_fen, 706700000000LL);
    gepacct_free(&a);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char buf[256];
        snprintf(buf, sizeof(buf), HDR "regulating,air_purification,SO2,\"%s\",t,1200,t,,Garzê\n",
                 bad[i]);
        CHECK_EQ_INT(parse(buf, &a), -EBADMSG);
        expect_error(&a, "is not a number");
        gepacct_free(&a);
    }
}

static const struct check_case cases[] = {
    CHECK_CASE(test_grouped_numbers),    CHECK_CASE(test_multiplier_exact),
    CHECK_CASE(test_valued_lines),       CHECK_CASE(test_columns_by_name),
    CHECK_CASE(test_value_and_quantity), CHECK_CASE(test_refusals),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
