/* registry: the parts of `ecoctl registry load` that need no database
 * (eco_registry_lib): field syntax (rgcheck), files into checked rows with
 * FILE:LINE problems (rgread over libshared/csv and cJSON), duplicate keys,
 * and the printed problem list and summary (rgout). */
#include "rg.h"
#include "rgcheck.h"
#include "rgout.h"
#include "rgread.h"

#include "check.h"

#include <errno.h>

static struct rg_load *load_new(void)
{
    struct rg_load *L = malloc(sizeof *L);
    CHECK(L != NULL);
    rg_load_init(L, "reg", false);
    for (int fid = 0; fid < RG_NFILES; fid++)
        snprintf(L->f[fid].path, sizeof L->f[fid].path, "reg/%s", rg_specs[fid].file);
    return L;
}

static void load_free(struct rg_load *L)
{
    rg_load_free(L);
    free(L);
}

#define CSV(L, fid, lit) rgread_csv((L), (fid), (lit), sizeof(lit) - 1)

/* True when L holds a problem of file fid on `line` whose text has `part`. */
static bool has(const struct rg_load *L, int fid, unsigned line, const char *part)
{
    for (size_t i = 0; i < L->nerrs; i++)
        if (L->errs[i].fid == fid && L->errs[i].line == line && strstr(L->errs[i].msg, part))
            return true;
    return false;
}

#define HAS(l_, f_, n_, part_)                                                                     \
    do {                                                                                           \
        if (!has((l_), (f_), (n_), (part_))) {                                                     \
            for (size_t i_ = 0; i_ < (l_)->nerrs; i_++)                                            \
                fprintf(stderr, "  have %d:%u: %s\n", (l_)->errs[i_].fid, (l_)->errs[i_].line,     \
                        (l_)->errs[i_].msg);                                                       \
            FAIL("missing problem " #n_ ": " part_);                                               \
        }                                                                                          \
    } while (0)

static void test_codes(void)
{
    char c65[66];
    memset(c65, 'a', 65);
    c65[65] = '\0';
    CHECK(rgcheck_is_code("ZS-DH.01_a"));
    CHECK(!rgcheck_is_code(""));
    CHECK(!rgcheck_is_code("a b"));
    CHECK(!rgcheck_is_code("a/b"));
    CHECK(!rgcheck_is_code(c65));
    c65[64] = '\0';
    CHECK(rgcheck_is_code(c65));
    CHECK(rgcheck_is_pcode("pm25_1h"));
    CHECK(!rgcheck_is_pcode("PM25"));
    CHECK(!rgcheck_is_pcode("pm-25"));
    CHECK(rgcheck_is_hjcode("a21026"));
    CHECK(rgcheck_is_hjcode("011"));
    CHECK(!rgcheck_is_hjcode("a21026-Rtd"));
    CHECK(!rgcheck_is_hjcode("a2102612345678901"));
    CHECK(rgcheck_is_st("31"));
    CHECK(rgcheck_is_st("9Z"));
    CHECK(!rgcheck_is_st("3"));
    CHECK(!rgcheck_is_st("312"));
    CHECK(!rgcheck_is_st("3a"));
    CHECK(rgcheck_is_mn("0123456789ABCDEF01234567"));
    CHECK(!rgcheck_is_mn("0123456789abcdef01234567")); /* upper case as the standard writes */
    CHECK(!rgcheck_is_mn("0123456789ABCDEF0123456"));
    CHECK(rgcheck_is_phone("+86 (580) 123-4567"));
    CHECK(!rgcheck_is_phone("call me"));
}

static void test_passwords(void)
{
    char p65[66];
    memset(p65, 'x', 65);
    p65[65] = '\0';
    CHECK(rgcheck_is_password("S3cret!#"));
    CHECK(!rgcheck_is_password(""));
    CHECK(!rgcheck_is_password(p65));
    CHECK(!rgcheck_is_password("with space"));
    /* the HJ 212 frame separators */
    CHECK(!rgcheck_is_password("a;b"));
    CHECK(!rgcheck_is_password("a,b"));
    CHECK(!rgcheck_is_password("a&b"));
    CHECK(!rgcheck_is_password("a=b"));
    CHECK(!rgcheck_is_password("caf\xC3\xA9"));
}

static void test_numbers(void)
{
    double d = 0;
    long l = 0;
    CHECK_EQ_INT(rgcheck_number("-1.5e3", &d), 0);
    CHECK(d == -1500);
    CHECK_EQ_INT(rgcheck_number(".5", &d), 0);
    CHECK(d == 0.5);
    CHECK_EQ_INT(rgcheck_number("7.", &d), 0);
    CHECK_EQ_INT(rgcheck_number("0x10", &d), -EINVAL);
    CHECK_EQ_INT(rgcheck_number("inf", &d), -EINVAL);
    CHECK_EQ_INT(rgcheck_number("nan", &d), -EINVAL);
    CHECK_EQ_INT(rgcheck_number("1e999", &d), -EINVAL);
    CHECK_EQ_INT(rgcheck_number("1e", &d), -EINVAL);
    CHECK_EQ_INT(rgcheck_number(".", &d), -EINVAL);
    CHECK_EQ_INT(rgcheck_number("", &d), -EINVAL);
    CHECK_EQ_INT(rgcheck_number("1 ", &d), -EINVAL);
    CHECK_EQ_INT(rgcheck_integer("+12", &l), 0);
    CHECK_EQ_INT(l, 12);
    CHECK_EQ_INT(rgcheck_integer("-999999", &l), 0);
    CHECK_EQ_INT(l, -999999);
    CHECK_EQ_INT(rgcheck_integer("1234567", &l), -EINVAL);
    CHECK_EQ_INT(rgcheck_integer("1.0", &l), -EINVAL);
    CHECK_EQ_INT(rgcheck_integer("-", &l), -EINVAL);
}

static void test_utf8_and_quote(void)
{
    char q[80];
    CHECK(rgcheck_utf8((const unsigned char *)"\xE6\xAA\x80", 3));
    CHECK(rgcheck_utf8((const unsigned char *)"\xF0\x9F\x8C\x8A", 4));
    CHECK(!rgcheck_utf8((const unsigned char *)"\xC0\x80", 2));         /* overlong */
    CHECK(!rgcheck_utf8((const unsigned char *)"\xED\xA0\x80", 3));     /* surrogate */
    CHECK(!rgcheck_utf8((const unsigned char *)"\xF4\x90\x80\x80", 4)); /* > U+10FFFF */
    CHECK(!rgcheck_utf8((const unsigned char *)"\xE6\xAA", 2));         /* cut short */
    CHECK_EQ_STR(rgcheck_quote(q, sizeof q, "a\tb"), "'a?b'");
    CHECK_EQ_STR(rgcheck_quote(q, sizeof q,
                               "0123456789012345678901234567890123456789012345678901234567890123"),
                 "'012345678901234567890123456789012345678901234567890123456789...'");
    CHECK_EQ_STR(rgcheck_quote(q, 4, "abc"), "");
}

static void test_sites(void)
{
    struct rg_load *L = load_new();
    struct rg_file *F = &L->f[RG_SITE];
    CSV(L, RG_SITE,
        "\xEF\xBB\xBF"
        "code,name,kind,region,enterprise,target_class,lon,lat,active\r\n"
        "w1,River,water,R1,,,120.1,30.2,yes\r\n"   /* 2: class required */
        "a1,Air,air,R1,,3,120.1,30.2,\r\n"         /* 3: no class for air */
        "a2,Air 2,air,R1,,,30.2,120.1,\r\n"        /* 4: swapped */
        "p1,\"Plane\",plane,R1,,,120,30,maybe\r\n" /* 5: kind, active */
        "\"multi\nline\",x,air,R1,,,120,30,\r\n"   /* 6-7: control character */
        "w1,Again,water,R1,,+02,120.1,30.2,0\r\n"  /* 8: duplicate of 2 */
        "m1,Bus,mobile,,,,,,\r\n"                  /* 9: mobile: no region/lon/lat */
        "g1,Outlet,gas_outlet,R1,,,120,30,\r\n"    /* 10: enterprise required */
        "s1,Sea,sea,R1,,5,120,30,\r\n"             /* 11: sea classes 1-4 */
        "a3,Air 3,air,R1,,,120,,\r\n"
        "m2,Bus 2,mobile,,,,120,,\r\n"); /* 12: lat with lon */
    CHECK(F->usable);
    CHECK_EQ_INT(F->nrows, 11);
    HAS(L, RG_SITE, 2, "target_class: is required");
    HAS(L, RG_SITE, 3, "target_class: only water (GB 3838, 1-5) and sea (GB 3097, 1-4)");
    HAS(L, RG_SITE, 4, "lat: 120.1 is out of range [-90, 90] (lon and lat swapped?)");
    HAS(L, RG_SITE, 5, "kind: 'plane' is not one of air, noi, water, sea, gas_outlet");
    HAS(L, RG_SITE, 5, "active: 'maybe' is not true or false");
    HAS(L, RG_SITE, 6, "code: contains a control character");
    HAS(L, RG_SITE, 10, "enterprise: is required");
    HAS(L, RG_SITE, 11, "target_class: 5 is out of range 1..4");
    HAS(L, RG_SITE, 12, "lat: is required");
    HAS(L, RG_SITE, 13, "lat: is required when lon is given");
    CHECK(!has(L, RG_SITE, 9, ""));
    /* canonical forms written back in place */
    CHECK_EQ_STR(F->rows[0].f[RG_SITE_ACTIVE], "t");
    CHECK_EQ_STR(F->rows[5].f[RG_SITE_ACTIVE], "f");
    CHECK_EQ_STR(F->rows[5].f[RG_SITE_TARGET], "2");
    CHECK(F->rows[4].f[RG_SITE_CODE] == NULL); /* rejected: nulled */
    CHECK(F->rows[4].bad);
    CHECK(!F->rows[6].bad);
    CHECK_EQ_INT(rgcheck_dups(L, RG_SITE), 0);
    HAS(L, RG_SITE, 8, "duplicate code 'w1' (first on line 2)");
    CHECK_EQ_INT(L->nerrs_total, L->nerrs);
    CHECK_EQ_INT(F->nerrs, L->nerrs_total);
    load_free(L);
}

static void test_header(void)
{
    struct rg_load *L = load_new();
    CSV(L, RG_DEPARTMENT,
        "\n"
        "code,name,duty,phone,code\n" /* line 2 */
        "d1,x,,,\n");
    CHECK(!L->f[RG_DEPARTMENT].usable);
    HAS(L, RG_DEPARTMENT, 2, "header: unknown column 'duty' (expected code,name,duties");
    HAS(L, RG_DEPARTMENT, 2, "header: column code appears twice");
    HAS(L, RG_DEPARTMENT, 2, "header: missing column regions");
    HAS(L, RG_DEPARTMENT, 2, "note: rows of this file are not checked");
    CHECK_EQ_INT(L->nerrs_total, 4); /* the note is not counted */
    CHECK(L->f[RG_DEPARTMENT].rows[0].bad);
    load_free(L);

    L = load_new();
    CSV(L, RG_UNIT, "");
    HAS(L, RG_UNIT, 1, "empty file: a header row is required");
    load_free(L);

    /* a CSV syntax error is reported on the record's first line, and the
     * reader goes on with the next line */
    L = load_new();
    CSV(L, RG_UNIT,
        "from_unit,to_unit,factor,offset\n"
        "mg/m3,\"ug\nm3\"x,1000,\n"
        "ppm,ppb,1000,0,9\n"
        "a,a,0,\n");
    HAS(L, RG_UNIT, 2, "unexpected character after a closing quote");
    HAS(L, RG_UNIT, 4, "5 fields, the header has 4"); /* line 2 held a line break */
    HAS(L, RG_UNIT, 5, "to_unit: is the same unit as from_unit");
    HAS(L, RG_UNIT, 5, "factor: must not be 0");
    load_free(L);
}

static void test_lists_and_departments(void)
{
    struct rg_load *L = load_new();
    struct rg_file *F = &L->f[RG_DEPARTMENT];
    CSV(L, RG_DEPARTMENT,
        "code,name,duties,phone,regions\n"
        "d1,Env,\" air ; noise;;\",0580-1234567,R1; R2\n"
        "d2,Env,Air,call,R1;R1\n");
    CHECK_EQ_STR(F->rows[0].f[RG_DEP_DUTIES], "air;noise");
    CHECK_EQ_STR(F->rows[0].f[RG_DEP_REGIONS], "R1;R2");
    HAS(L, RG_DEPARTMENT, 3, "duties: 'Air' is not a valid duty");
    HAS(L, RG_DEPARTMENT, 3, "phone: 'call' is not a phone number");
    HAS(L, RG_DEPARTMENT, 3, "regions: 'R1' is listed twice");
    load_free(L);
}

static void test_devices(void)
{
    struct rg_load *L = load_new();
    CSV(L, RG_DEVICE,
        "code,site,protocol,password,hj212_st\n"
        "dev-1,s1,hj212,Secret;1,31\n"                   /* 2 */
        "0123456789ABCDEF01234567,s1,hj212,,3\n"         /* 3 */
        "dev-2,s1,modbus,,\n"                            /* 4 */
        "0123456789ABCDEF01234568,s1,hj212,ok-pw,31\n"); /* 5: fine */
    HAS(L, RG_DEVICE, 2, "code: 'dev-1' is not an HJ 212-2017 MN");
    HAS(L, RG_DEVICE, 2, "password: must be 1-64 printable ASCII");
    HAS(L, RG_DEVICE, 3, "hj212_st: '3' is not an HJ 212 system code");
    HAS(L, RG_DEVICE, 4, "protocol: 'modbus' is not one of mqtt, hj212");
    CHECK(!has(L, RG_DEVICE, 5, ""));
    /* never echo a password, not even a bad one */
    for (size_t i = 0; i < L->nerrs; i++)
        CHECK(strstr(L->errs[i].msg, "Secret") == NULL);
    load_free(L);
}

static void test_limits_params(void)
{
    struct rg_load *L = load_new();
    CSV(L, RG_LIMIT,
        "site,site_kind,param,period,class,lower,upper,standard,note\n"
        "s1,air,pm25,hour,,,75,GB 3095,\n"  /* 2: both */
        ",,pm25,hour,,,75,GB 3095,\n"       /* 3: neither */
        ",water,nh3n,day,2,2,1,GB 3838,\n"  /* 4: lower > upper */
        ",sea,cod,day,5,,3,GB 3097,\n"      /* 5: sea class 1-4 */
        ",air,pm25,week,,,,GB 3095,\n"      /* 6: period, no bound */
        ",air,pm25,hour,,,75,GB 3095,a\n"   /* 7 */
        ",air,pm25,hour,,,80,GB 3095,b\n"); /* 8: same key as 7 */
    HAS(L, RG_LIMIT, 2, "site and site_kind: give one of them, not both");
    HAS(L, RG_LIMIT, 3, "site and site_kind: one of them is required");
    HAS(L, RG_LIMIT, 4, "upper: is below lower (2)");
    HAS(L, RG_LIMIT, 5, "class: 5 is out of range 1..4");
    HAS(L, RG_LIMIT, 6, "period: 'week' is not one of rt, min, hour, day");
    HAS(L, RG_LIMIT, 6, "lower and upper: at least one is required");
    CHECK_EQ_INT(rgcheck_dups(L, RG_LIMIT), 0);
    HAS(L, RG_LIMIT, 8,
        "duplicate limit for site/site_kind, param, period and class (same as "
        "line 7)");
    load_free(L);

    L = load_new();
    CSV(L, RG_PARAM,
        "code,hj212_code,hj212_2005_code,name,unit,valid_min,valid_max\n"
        "pm25,a34004,,PM2.5,ug/m3,0,1000\n"
        "pm10,a34004,,PM10,ug/m3,5,5\n"
        "so2,a21026-Rtd,,SO2,ug/m3,0x0,1e400\n");
    HAS(L, RG_PARAM, 3, "valid_max: must be greater than valid_min (5)");
    HAS(L, RG_PARAM, 4, "hj212_code: 'a21026-Rtd' is not an HJ 212 code");
    HAS(L, RG_PARAM, 4, "valid_min: '0x0' is not a number");
    HAS(L, RG_PARAM, 4, "valid_max: '1e400' is not a number");
    CHECK_EQ_INT(rgcheck_dups(L, RG_PARAM), 0);
    HAS(L, RG_PARAM, 3, "duplicate hj212_code 'a34004' (first on line 2)");
    load_free(L);
}

#define GJ(L, lit) rgread_geojson((L), (lit), sizeof(lit) - 1)

static void test_geojson(void)
{
    struct rg_load *L = load_new();
    struct rg_file *F = &L->f[RG_REGION];
    GJ(L, "{\"type\": \"FeatureCollection\", \"features\": [\n"
          "{\"type\": \"Feature\", \"properties\": {\"code\": \"R1\", \"name\": \"One\",\n"
          "  \"kind\": \"city\"},\n"
          " \"geometry\": {\"type\": \"Polygon\", \"coordinates\": "
          "[[[120,30],[121,30],[121,31],[120,30]]]}},\n"
          "{\"type\": \"Feature\", \"properties\": {\"code\": 330902, \"name\": \"Two\","
          " \"kind\": \"town\"},\n"
          " \"geometry\": {\"type\": \"Polygon\", \"coordinates\": "
          "[[[120,30],[121,30],[121,31],[120,31]]]}},\n"
          "{\"type\": \"Feature\", \"properties\": {\"code\": \"R3\", \"name\": \"Three\","
          " \"kind\": \"village\"},\n"
          " \"geometry\": {\"type\": \"Point\", \"coordinates\": [30, 120]}},\n"
          "{\"type\": \"Feature\", \"properties\": {\"code\": \"R4\", \"name\": \"Four\","
          " \"kind\": \"city\"},\n"
          " \"geometry\": {\"type\": \"Polygon\", \"coordinates\": "
          "[[[30,120],[31,120],[31,121],[30,120]]]}}\n"
          "]}\n");
    CHECK(F->usable);
    CHECK_EQ_INT(F->nrows, 4);
    CHECK(!F->rows[0].bad);
    CHECK(strstr(F->rows[0].f[RG_REG_GEOM], "\"Polygon\"") != NULL);
    HAS(L, RG_REGION, 5, "code: must be a string");
    HAS(L, RG_REGION, 5, "geometry: ring 1 of polygon 1 is not closed");
    HAS(L, RG_REGION, 7, "kind: 'village' is not one of city, district, county");
    HAS(L, RG_REGION, 7, "geometry of 'R3': type must be Polygon or MultiPolygon");
    HAS(L, RG_REGION, 9,
        "position [30, 120] is outside lon -180..180 / lat -90..90 (lon and "
        "lat swapped?)");
    load_free(L);

    L = load_new();
    GJ(L, "{\"type\": \"FeatureCollection\",\n\"features\": []} x");
    HAS(L, RG_REGION, 2, "trailing data after the JSON document");
    load_free(L);
    L = load_new();
    GJ(L, "{\"type\": \"Feature\"}");
    HAS(L, RG_REGION, 1, "must be a GeoJSON FeatureCollection");
    load_free(L);
}

static char *run_out(struct rg_load *L, int rc, bool errors)
{
    char *s = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&s, &n);
    CHECK(f != NULL);
    if (errors)
        rgout_errors(L, f);
    rgout_text(L, rc, 1.234, f, f);
    CHECK_EQ_INT(fclose(f), 0);
    return s;
}

static void test_output(void)
{
    struct rg_load *L = load_new();
    char *s;

    L->f[RG_SITE].present = L->f[RG_UNIT].present = true;
    rg_err(L, RG_UNIT, 3, "third");
    rg_err(L, RG_SITE, 9, "nine");
    rg_err(L, -1, 0, "database: down");
    rg_err(L, RG_SITE, 2, "two");
    rg_note(L, RG_SITE, 2, "note: after two");
    rg_err(L, RG_SITE, 0, "whole file");
    s = run_out(L, -EBADMSG, true);
    CHECK_EQ_STR(s, "reg/sites.csv: whole file\n"
                    "reg/sites.csv:2: two\n"
                    "reg/sites.csv:2: note: after two\n"
                    "reg/sites.csv:9: nine\n"
                    "reg/unit_conversions.csv:3: third\n"
                    "ecoctl: registry load: database: down\n"
                    "registry load: 5 problems in 2 files; nothing was loaded\n");
    free(s);
    load_free(L);

    L = load_new();
    L->dry_run = true;
    L->f[RG_DEPARTMENT].present = L->f[RG_DEPARTMENT].loaded = true;
    L->f[RG_DEPARTMENT].nrows = 5;
    L->f[RG_DEPARTMENT].inserted = 2;
    L->f[RG_DEPARTMENT].updated = 1;
    L->f[RG_DEPARTMENT].links_added = 4;
    L->f[RG_HJ212MAP].present = true;
    L->f[RG_HJ212MAP].nrows = 7;
    s = run_out(L, 0, false);
    CHECK_EQ_STR(s, "departments.csv              5 rows  2 new, 1 changed, 2 unchanged; region "
                    "links 4 added, 0 removed\n"
                    "hj212_map.csv                7 rows  checked, not loaded\n"
                    "registry load: dry run checked everything and rolled back in 1.23 s\n");
    free(s);
    L->f[RG_DEPARTMENT].nrows = L->f[RG_HJ212MAP].nrows = 0; /* counts without rows */
    load_free(L);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_codes),
    CHECK_CASE(test_passwords),
    CHECK_CASE(test_numbers),
    CHECK_CASE(test_utf8_and_quote),
    CHECK_CASE(test_sites),
    CHECK_CASE(test_header),
    CHECK_CASE(test_lists_and_departments),
    CHECK_CASE(test_devices),
    CHECK_CASE(test_limits_params),
    CHECK_CASE(test_geojson),
    CHECK_CASE(test_output),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
