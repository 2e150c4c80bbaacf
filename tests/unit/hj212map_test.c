/* hj212map: the registry's HJ 212 code rule (reg_hj212_param), with the
 * registry filled through reg_fill_params / reg_fill_hj212map from result
 * sets made by libpq itself (PQmakeEmptyPGresult + PQsetvalue), i.e. the
 * same path as the queries, without a server:
 *   - a (ST, code) row of core.hj212_map wins;
 *   - an ambient code from a quality system (ST 10..29) falls back to
 *     core.param.hj212_code; from a source (ST 31, 32, 51, ...) never;
 *   - a suffixed code ("w00000-Cou") maps only through the map;
 *   - map rows naming an unknown parameter are skipped. */
#include "registry.h"

#include "check.h"
#include "pgres.h"

#include <libpq-fe.h>
#include <stdlib.h>

/* A result with the given column names and rows of text values. */

static const char *name(const struct reg_param *p)
{
    return p ? p->code : "(none)";
}

static void test_hj212map(void)
{
    static const char *const pcols[] = {"code", "hj212_code", "id", "unit", "min", "max"};
    static const char *const params[] = {
        "so2",       "a21026", "1", "ug/m3", "0", "3000", /* ambient */
        "pm25",      "a34004", "2", "ug/m3", "0", "2000", /* ambient */
        "tsp",       "a34001", "3", "ug/m3", "0", "5000", /* ambient, not in the map */
        "so2_stack", "",       "4", "mg/m3", "0", "9000", /* flue gas: no hj212_code */
        "flow",      "w00000", "5", "L/s",   "0", "1e5",  /* */
        "flow_cou",  "",       "6", "m3",    "0", "1e9",  /* */
        "cod",       "w01018", "7", "mg/L",  "0", "5000", /* */
    };
    static const char *const mcols[] = {"st", "hj212_code", "param"};
    static const char *const map[] = {
        "22", "a21026",     "so2",       /* */
        "31", "a21026",     "so2_stack", /* */
        "32", "w00000",     "flow",      /* */
        "32", "w00000-Cou", "flow_cou",  /* */
        "32", "w01018",     "nosuch",    /* unknown parameter: skipped */
    };
    struct reg r;
    PGresult *pr = result(6, pcols, 7, params), *mr = result(3, mcols, 5, map);

    reg_init(&r);
    CHECK_EQ_INT(reg_fill_params(&r, pr), 0);
    CHECK_EQ_INT(reg_fill_hj212map(&r, mr), 0);
    CHECK_EQ_INT(r.nmaps, 4);

#define IS(st, hj, want) CHECK_EQ_STR(name(reg_hj212_param(&r, st, hj)), want)
    /* the map first */
    IS("22", "a21026", "so2");
    IS("31", "a21026", "so2_stack");
    IS("32", "w00000", "flow");
    IS("32", "w00000-Cou", "flow_cou");
    /* fallback to core.param.hj212_code only for quality systems */
    IS("22", "a34001", "tsp");
    IS("22", "a34004", "pm25");
    IS("21", "w01018", "cod");
    IS("31", "a34004", "(none)"); /* a stack's PM must not become ambient pm25 */
    IS("31", "a34001", "(none)");
    IS("32", "w01018", "(none)"); /* its map row names no known parameter */
    IS("51", "a21026", "(none)");
    IS("3", "a21026", "(none)");
    IS("221", "a21026", "(none)");
    /* suffixed codes only through the map */
    IS("22", "a21026-Min", "(none)");
    IS("31", "w00000-Cou", "(none)");
    /* unknown codes and systems */
    IS("22", "a99999", "(none)");
    IS("99", "a21026", "(none)");

    PQclear(pr);
    PQclear(mr);
    reg_close(&r);
    printf("hj212map: ok\n");
}

/* An id that is not a whole integer refuses the registry (atoi took "2x"
 * as 2 and "" as 0). */
static void test_bad_ids(void)
{
    static const char *const pcols[] = {"code", "hj212_code", "id", "unit", "min", "max"};
    static const char *const bad[] = {"2x", "", " 2", "99999999999", "2.0"};
    static const char *const dcols[] = {"code",   "site_id", "site",   "kind",
                                        "source", "pw_hash", "active", "st"};
    struct reg r;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *row[] = {"so2", "a21026", bad[i], "ug/m3", "0", "3000"};
        const char *drow[] = {"AIR001", bad[i], "S1", "air", "mqtt", "", "t", "22"};
        PGresult *pr = result(6, pcols, 1, row), *dr = result(8, dcols, 1, drow);
        reg_init(&r);
        CHECK_EQ_INT(reg_fill_params(&r, pr), -EBADMSG);
        CHECK_EQ_INT(reg_fill_devices(&r, dr), -EBADMSG);
        reg_close(&r);
        PQclear(pr);
        PQclear(dr);
    }
    /* and the good ones are read */
    {
        const char *row[] = {"so2", "a21026", "-7", "ug/m3", "0", "3000"};
        const char *drow[] = {"AIR001", "2147483647", "S1", "air", "mqtt", "", "t", "22"};
        PGresult *pr = result(6, pcols, 1, row), *dr = result(8, dcols, 1, drow);
        reg_init(&r);
        CHECK_EQ_INT(reg_fill_params(&r, pr), 0);
        CHECK_EQ_INT(r.params[0].id, -7);
        CHECK_EQ_INT(reg_fill_devices(&r, dr), 0);
        CHECK_EQ_INT(r.devices[0].site_id, 2147483647);
        reg_close(&r);
        PQclear(pr);
        PQclear(dr);
    }
}

static const struct check_case cases[] = {
    CHECK_CASE(test_hj212map),
    CHECK_CASE(test_bad_ids),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
