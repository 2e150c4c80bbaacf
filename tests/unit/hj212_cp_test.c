/* hj212_cp: the CP data area. HJ 212 numbers, CP parsing of realistic
 * uploads, and faults of one field (the field goes, the frame stays). */
#include "hj212_cp.h"

#include "check.h"
#include "hj212t.h"
#include "etime.h"

#include <math.h>

/* ---- CP area -------------------------------------------------------- */

static void test_numbers(void)
{
    double d;
    CHECK_EQ_INT(hj212_parse_number("17.5", 4, &d), 0);
    CHECK(d == 17.5);
    CHECK_EQ_INT(hj212_parse_number("-0.25", 5, &d), 0);
    CHECK(d == -0.25);
    CHECK_EQ_INT(hj212_parse_number("+3", 2, &d), 0);
    CHECK(d == 3.0);
    CHECK_EQ_INT(hj212_parse_number("1512.0", 6, &d), 0);
    CHECK(d == 1512.0);
    CHECK_EQ_INT(hj212_parse_number(".5", 2, &d), 0);
    CHECK(d == 0.5);
    CHECK_EQ_INT(hj212_parse_number("0.000123", 8, &d), 0);
    CHECK(d == 0.000123);
    CHECK_EQ_INT(hj212_parse_number("1.234567890123456", 17, &d), 0);
    CHECK(fabs(d - 1.234567890123456) < 1e-15);
    CHECK_EQ_INT(hj212_parse_number("123456789012345678901234", 24, &d), 0);
    CHECK(fabs(d / 1.23456789012345678901234e23 - 1) < 1e-15);
    CHECK_EQ_INT(hj212_parse_number("7.1xyz", 3, &d), 0); /* length-bounded */
    CHECK(d == 7.1);
    static const char *const bad[] = {"",   "-",    ".",   "1e5", "1.2.3", " 1",
                                      "1 ", "0x10", "nan", "inf", "1,5",   "--1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_EQ_INT(hj212_parse_number(bad[i], strlen(bad[i]), &d), -EBADMSG);
    char big[48];
    memset(big, '1', sizeof(big));
    CHECK_EQ_INT(hj212_parse_number(big, 41, &d), -EBADMSG);
}

static const struct hj212_pollutant *find_p(struct hj212_pollutant *ps, size_t n, const char *c)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ps[i].code, c) == 0)
            return &ps[i];
    fprintf(stderr, "pollutant %s missing\n", c);
    exit(1);
}

static size_t all_pollutants(const struct hj212_cp *cp, struct hj212_pollutant *ps, size_t cap)
{
    size_t pos = 0, n = 0;
    while (n < cap && hj212_cp_pollutant(cp, &pos, &ps[n]) == 0)
        n++;
    CHECK(n < cap);
    return n;
}

static void test_cp(void)
{
    static struct hj212_cp cp;
    static struct hj212_pollutant ps[64];
    struct hj212_frame f;
    struct hj212_err e;
    const struct hj212_pollutant *p;
    int64_t us;
    size_t n;

    /* A 2011 real-time upload from an air station: several pollutants and
     * flags, a bare Flag, an empty value, a negative value, 15 decimals,
     * flag before value. */
    const char *rt =
        "DataTime=20210601080000;a34004-Rtd=35.2,a34004-Flag=N;"
        "a21026-Rtd=8,a21026-Flag=D;a05024-Flag=T,a05024-Rtd=-1.5;"
        "a01012-Rtd=,a01012-Flag=F;a21005-Rtd=0.8,Flag=M;"
        "w01018-Rtd=1.234567890123456,w01018-EFlag=A1,w01018-SampleTime=20210601075500";
    CHECK_EQ_INT(hj212_cp_parse(rt, strlen(rt), &cp, &e), 0);
    CHECK(cp.has_datatime);
    CHECK_EQ_INT(cp.datatime_us, 1622505600LL * ETIME_US_PER_SEC); /* 08:00 Beijing */
    CHECK_EQ_INT(cp.nitems, 14);
    CHECK(cp.lax & HJ212_LAX_CP_BARE_FLAG);
    n = all_pollutants(&cp, ps, 64);
    CHECK_EQ_INT(n, 6);
    CHECK_EQ_STR(ps[0].code, "a34004"); /* order of first appearance */
    p = find_p(ps, n, "a34004");
    CHECK(p->has == (1u << HJ212_RTD) && p->v[HJ212_RTD] == 35.2 && p->flag == 'N');
    p = find_p(ps, n, "a21026");
    CHECK(p->v[HJ212_RTD] == 8.0 && p->flag == 'D');
    p = find_p(ps, n, "a05024");
    CHECK(p->v[HJ212_RTD] == -1.5 && p->flag == 'T');
    p = find_p(ps, n, "a01012");
    CHECK(p->has == 0 && p->seen == (1u << HJ212_RTD) && p->flag == 'F');
    p = find_p(ps, n, "a21005");
    CHECK(p->v[HJ212_RTD] == 0.8 && p->flag == 'M' && p->nitems == 2);
    p = find_p(ps, n, "w01018");
    CHECK(fabs(p->v[HJ212_RTD] - 1.234567890123456) < 1e-15);
    CHECK_EQ_STR(p->eflag, "A1");
    CHECK(p->sample_time && p->sample_time_len == 14);
    CHECK_EQ_INT(p->flag, 0);

    /* 2051 minute data from the standard (B-16): Cou/Min/Avg/Max/Flag. */
    const struct example *x = example("B-16");
    CHECK_EQ_INT(parse_wire(x->frame, x->len, &f, NULL), 0);
    CHECK_EQ_INT(hj212_cp_parse(f.cp, f.cp_len, &cp, NULL), 0);
    CHECK_EQ_STR(cp.datatime, "20160801084000");
    CHECK_EQ_INT(etime_parse_hj212("20160801004000", 14, 0, &us), 0);
    CHECK_EQ_INT(cp.datatime_us, us);
    n = all_pollutants(&cp, ps, 64);
    CHECK_EQ_INT(n, 3);
    p = find_p(ps, n, "w00000");
    CHECK(p->has ==
          ((1u << HJ212_COU) | (1u << HJ212_MIN) | (1u << HJ212_AVG) | (1u << HJ212_MAX)));
    CHECK(p->v[HJ212_COU] == 10.5 && p->v[HJ212_MIN] == 16.4 && p->v[HJ212_AVG] == 17.5 &&
          p->v[HJ212_MAX] == 20.1 && p->flag == 'N' && p->nother == 0);
    p = find_p(ps, n, "w01001");
    CHECK(!(p->has & (1u << HJ212_COU)) && p->v[HJ212_AVG] == 7.5);
    CHECK_EQ_INT(cp.items[1].group, 1);
    CHECK_EQ_INT(cp.items[6].group, 2);

    /* 2061 hourly and 2031 daily. */
    x = example("B-18");
    CHECK_EQ_INT(parse_wire(x->frame, x->len, &f, NULL), 0);
    CHECK_EQ_INT(hj212_cp_parse(f.cp, f.cp_len, &cp, NULL), 0);
    n = all_pollutants(&cp, ps, 64);
    CHECK(find_p(ps, n, "w01018")->v[HJ212_COU] == 63.0);
    x = example("B-19");
    CHECK_EQ_INT(parse_wire(x->frame, x->len, &f, NULL), 0);
    CHECK_EQ_INT(hj212_cp_parse(f.cp, f.cp_len, &cp, NULL), 0);
    CHECK_EQ_STR(cp.datatime, "20160801000000");
    n = all_pollutants(&cp, ps, 64);
    CHECK(find_p(ps, n, "w00000")->v[HJ212_COU] == 1512.0);
    CHECK(find_p(ps, n, "w01018")->v[HJ212_COU] == 2142.0);

    /* Noise (B-24): one value per group. */
    x = example("B-24");
    CHECK_EQ_INT(parse_wire(x->frame, x->len, &f, NULL), 0);
    CHECK_EQ_INT(hj212_cp_parse(f.cp, f.cp_len, &cp, NULL), 0);
    n = all_pollutants(&cp, ps, 64);
    CHECK_EQ_INT(n, 8);
    CHECK(find_p(ps, n, "L10")->v[HJ212_DATA] == 53.0);
    CHECK(find_p(ps, n, "LMn")->v[HJ212_DATA] == 42.0);

    /* Device info (B-27): numeric Info values are text to us. */
    x = example("B-27");
    CHECK_EQ_INT(parse_wire(x->frame, x->len, &f, NULL), 0);
    CHECK_EQ_INT(hj212_cp_parse(f.cp, f.cp_len, &cp, NULL), 0);
    n = all_pollutants(&cp, ps, 64);
    p = find_p(ps, n, "i13004");
    CHECK(p->info && p->info_len == 5 && memcmp(p->info, "168.0", 5) == 0);

    /* Split packets: each part parses on its own; same DataTime. */
    x = example("B-28");
    CHECK_EQ_INT(parse_wire(x->frame, x->len, &f, NULL), 0);
    CHECK_EQ_INT(hj212_cp_parse(f.cp, f.cp_len, &cp, NULL), 0);
    int64_t t1 = cp.datatime_us;
    CHECK_EQ_INT(all_pollutants(&cp, ps, 64), 2);
    x = example("B-29");
    CHECK_EQ_INT(parse_wire(x->frame, x->len, &f, NULL), 0);
    CHECK_EQ_INT(hj212_cp_parse(f.cp, f.cp_len, &cp, NULL), 0);
    CHECK_EQ_INT(cp.datatime_us, t1);
    CHECK_EQ_INT(all_pollutants(&cp, ps, 64), 1);

    /* Tolerated: spaces, trailing ';', empty items, duplicates, //text//
     * holding separators and a URL, extension suffixes. */
    const char *lax =
        " DataTime = 20160801084000 ; w01018-Rtd = 1.5 ,w01018-Flag=N,,;"
        "w01018-Rtd=1.5,w01018-Flag=N;i11001-Info=//a;b,c http://x//;SB1-RS=1,SB1-Ia=3.2;";
    CHECK_EQ_INT(hj212_cp_parse(lax, strlen(lax), &cp, &e), 0);
    CHECK(cp.lax & HJ212_LAX_CP_SPACE);
    CHECK(cp.lax & HJ212_LAX_CP_EMPTY);
    CHECK(cp.lax & HJ212_LAX_CP_DUP);
    n = all_pollutants(&cp, ps, 64);
    CHECK_EQ_INT(n, 3);
    p = find_p(ps, n, "w01018");
    CHECK(p->v[HJ212_RTD] == 1.5 && p->flag == 'N' && p->nitems == 4); /* same value again */
    CHECK_EQ_INT(cp.nbad, 0);
    p = find_p(ps, n, "i11001");
    CHECK(p->info_len == strlen("a;b,c http://x") && memcmp(p->info, "a;b,c http://x", 14) == 0);
    p = find_p(ps, n, "SB1");
    CHECK(p->v[HJ212_RS] == 1.0 && p->nother == 1);
    CHECK_EQ_INT(hj212_cp_parse("", 0, &cp, NULL), 0);
    CHECK_EQ_INT(cp.nitems, 0);
    CHECK(!cp.has_datatime);

    /* Refused. */
    static const struct {
        const char *cp;
        int reason;
    } bad[] = {
        {"i11001-Info=//never closed", HJ212_E_CP},
        {"a b=//x;y//", HJ212_E_CP}, /* a bad item whose end cannot be told */
        {"i11001-Info=//x//y;", HJ212_E_CP},
        {"a=1\x02", HJ212_E_CP},
        {"DataTime=20160231000000", HJ212_E_TIME},
        {"DataTime=201608010840", HJ212_E_TIME},
        {"DataTime=", HJ212_E_TIME},
        {"DataTime=202103050038170", HJ212_E_TIME},                        /* 15 digits */
        {"DataTime=20210305003817000x", HJ212_E_TIME},                     /* 18 characters */
        {"DataTime=20160801084000;DataTime=20160801085000", HJ212_E_TIME}, /* which? */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = hj212_cp_parse(bad[i].cp, strlen(bad[i].cp), &cp, &e);
        if (rc != -EBADMSG || e.reason != bad[i].reason)
            fprintf(stderr, "cp case %zu: rc=%d %s\n", i, rc, hj212_reason_str(e.reason));
        CHECK_EQ_INT(rc, -EBADMSG);
        CHECK_EQ_INT(e.reason, bad[i].reason);
    }
    /* The item bound is explicit. */
    static char many[HJ212_SEG_MAX + 1];
    size_t m = 0;
    for (int i = 0; i <= HJ212_CP_ITEMS_MAX; i++)
        m += (size_t)snprintf(many + m, sizeof(many) - m, "%sa=%d", i ? "," : "", i % 10);
    CHECK_EQ_INT(hj212_cp_parse(many, m, &cp, &e), -EBADMSG);
    CHECK(strstr(e.detail, "items") != NULL);
    m = (size_t)(strrchr(many, ',') - many); /* exactly the bound */
    CHECK_EQ_INT(hj212_cp_parse(many, m, &cp, &e), 0);
    CHECK_EQ_INT(cp.nitems, HJ212_CP_ITEMS_MAX);
}

/* ---- faults of one field: the field goes, the frame stays ----------- */

/* The refused items of cp as "text(why)" joined by spaces. */
static const char *bad_list(const struct hj212_cp *cp)
{
    static char out[1024];
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < cp->nbad; i++)
        n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%.*s(%s)", i ? " " : "",
                              (int)cp->bad[i].len, cp->bad[i].text, hj212_bad_str(cp->bad[i].why));
    return out;
}

/* Parses a CP of a data upload of this CN: 0 or the codec's error. */
static int data_cp(const char *text, int cn, struct hj212_cp *cp, int64_t *ts, struct hj212_err *e)
{
    int rc = hj212_cp_parse(text, strlen(text), cp, e);
    return rc ? rc : hj212_cp_data(cp, cn, ts, e);
}

static void test_field_faults(void)
{
    static char b[HJ212_FRAME_MAX + 32], out[HJ212_FRAME_MAX + 1];
    static struct hj212_cp cp;
    static struct hj212_pollutant ps[64];
    struct hj212_frame f;
    struct hj212_err e;
    int64_t ts, us;
    size_t n, len;

#define MN24 "MN=010000A8900016F000169DC0;"
    /* Flag bit D without PNUM/PNO (field devices send Flag=7 for "ack"):
     * the frame is whole by its length and CRC; read as one packet. */
    mkframe("QN=1;ST=32;CN=2061;PW=1;" MN24 "Flag=7;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_OK);
    parse_str(b, &f, NULL);
    CHECK(f.lax & HJ212_LAX_SPLIT_NO_PNUM);
    CHECK(!f.split && f.ack && f.pnum == 0);
    CHECK_EQ_STR(hj212_lax_name(HJ212_LAX_SPLIT_NO_PNUM), "split_no_pnum");
    /* ... but we never send one. */
    CHECK_EQ_INT(hj212_encode(&f, out, sizeof(out), &len, &e), -EINVAL);
    CHECK_EQ_INT(e.reason, HJ212_E_FIELD);

    /* A field twice with the same value: nothing to choose between. */
    mkframe("QN=1;ST=32;CN=2011;PW=1;" MN24 "Flag=5;Flag=5;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_OK);
    parse_str(b, &f, NULL);
    CHECK(f.lax & HJ212_LAX_DUP_FIELD);
    CHECK(f.flag == 5 && f.ack);
    mkframe("QN=1;ST=32;ST=32;CN=2011;PW=1;" MN24 "Flag=4;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_OK);
    mkframe("QN=1;ST=32;CN=2011;PW=1;" MN24 "Flag=5;Flag=005;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_OK); /* the same number */
    /* With different values it is a guess: refused. */
    mkframe("QN=1;ST=32;CN=2011;PW=1;" MN24 "Flag=5;Flag=4;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_E_FIELD);
    mkframe("QN=1;ST=32;CN=2011;PW=secret1;" MN24 "PW=secret2;Flag=4;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_E_FIELD);
    parse_str(b, &f, &e);
    CHECK(strstr(e.detail, "secret") == NULL); /* passwords are never echoed */
    mkframe("QN=1;ST=32;CN=2011;PW=1;" MN24 "MN=010000A8900016F000169DC1;Flag=4;CP=&&&&", b,
            sizeof(b));
    expect_reason(b, HJ212_E_FIELD);
    /* An empty field (";;") loses nothing. */
    mkframe("QN=1;ST=32;;CN=2011;PW=1;" MN24 "Flag=4;;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_OK);
    parse_str(b, &f, NULL);
    CHECK(f.lax & HJ212_LAX_EMPTY_FIELD);

    /* DataTime with milliseconds (17 digits): the time is exact, kept. */
    CHECK_EQ_INT(data_cp("DataTime=20210305003817000;ele01-Rtd=1;ele02-Rtd=0", 2011, &cp, &ts, &e),
                 0);
    CHECK(cp.lax & HJ212_LAX_TIME_MS);
    CHECK_EQ_STR(cp.datatime, "20210305003817");
    CHECK_EQ_INT(etime_parse_hj212("20210304163817", 14, 0, &us), 0);
    CHECK_EQ_INT(ts, us);
    CHECK_EQ_INT(hj212_cp_parse("DataTime=20210305003817250", 26, &cp, &e), 0);
    CHECK_EQ_INT(cp.datatime_us, us + 250000);

    /* CN 2061 with BeginTime/EndTime and no DataTime: one hour, so the
     * hour's start is the data time. */
    CHECK_EQ_INT(data_cp("BeginTime=20160801080000;EndTime=20160801090000;w01018-Avg=40.1", 2061,
                         &cp, &ts, &e),
                 0);
    CHECK(cp.lax & HJ212_LAX_BEGIN_END);
    CHECK_EQ_INT(etime_parse_hj212("20160801000000", 14, 0, &us), 0);
    CHECK_EQ_INT(ts, us);
    CHECK_EQ_INT(
        data_cp("BeginTime=20160801080000;EndTime=20160801085959;w01018-Avg=1", 2061, &cp, &ts, &e),
        0);
    CHECK_EQ_INT(ts, us);
    CHECK_EQ_INT(
        data_cp("BeginTime=20160801080000,EndTime=20160801080000;w01018-Avg=1", 2061, &cp, &ts, &e),
        0);
    CHECK_EQ_INT(
        data_cp("BeginTime=20160801000000;EndTime=20160802000000;w01018-Avg=1", 2031, &cp, &ts, &e),
        0);
    CHECK_EQ_INT(
        data_cp("BeginTime=20160801084000;EndTime=20160801085000;w01018-Avg=1", 2051, &cp, &ts, &e),
        0);
    /* Several hours, or a span for real-time data: no single time. */
    CHECK_EQ_INT(
        data_cp("BeginTime=20160801080000;EndTime=20160801100000;w01018-Avg=1", 2061, &cp, &ts, &e),
        -EBADMSG);
    CHECK_EQ_INT(e.reason, HJ212_E_TIME);
    CHECK_EQ_INT(
        data_cp("BeginTime=20160801080000;EndTime=20160801090000;w01018-Rtd=1", 2011, &cp, &ts, &e),
        -EBADMSG);
    CHECK_EQ_INT(data_cp("EndTime=20160801090000;w01018-Avg=1", 2061, &cp, &ts, &e), -EBADMSG);
    CHECK_EQ_INT(data_cp("BeginTime=2016080108;w01018-Avg=1", 2061, &cp, &ts, &e), -EBADMSG);
    CHECK_EQ_INT(e.reason, HJ212_E_TIME);
    /* With a DataTime it dates the frame; a bad BeginTime is only itself. */
    CHECK_EQ_INT(data_cp("DataTime=20160801080000;BeginTime=2016;EndTime=20160801090000;"
                         "w01018-Avg=1",
                         2061, &cp, &ts, &e),
                 0);
    CHECK_EQ_STR(bad_list(&cp), "BeginTime=2016(time)");
    CHECK(cp.lax & HJ212_LAX_BEGIN_END);
    /* With a DataTime, a BeginTime/EndTime that names another period makes
     * the period ambiguous: a logger labelling the hour by its end sends
     * DataTime=09:00 with 08:00..09:00. Refused whole, never guessed. */
    CHECK_EQ_INT(data_cp("DataTime=20160801080000;BeginTime=20160801080000;"
                         "EndTime=20160801090000;w01018-Avg=1",
                         2061, &cp, &ts, &e),
                 0);
    CHECK_EQ_INT(data_cp("DataTime=20160801080000;BeginTime=20160801080000;"
                         "EndTime=20160801080000;w01018-Avg=1",
                         2061, &cp, &ts, &e),
                 0);
    static const char *const ambiguous[] = {
        "DataTime=20160801090000;BeginTime=20160801080000;EndTime=20160801090000;w01018-Avg=1",
        "DataTime=20160801090000;BeginTime=20160801080000;w01018-Avg=1",
        "DataTime=20160801080000;EndTime=20160801110000;w01018-Avg=1",
        "DataTime=20160801080000;EndTime=20160801070000;w01018-Avg=1",
    };
    for (size_t i = 0; i < sizeof(ambiguous) / sizeof(ambiguous[0]); i++) {
        int rc = data_cp(ambiguous[i], 2061, &cp, &ts, &e);
        if (rc != -EBADMSG)
            fprintf(stderr, "accepted: %s\n", ambiguous[i]);
        CHECK_EQ_INT(rc, -EBADMSG);
        CHECK_EQ_INT(e.reason, HJ212_E_TIME);
    }

    /* The misspelt item among eleven good pollutants (a real frame): only
     * LA-td is refused; it lost its value to the spelling. */
    const struct example *x = example("R-01");
    CHECK_EQ_INT(parse_wire(x->frame, x->len, &f, &e), 0);
    CHECK_EQ_INT(hj212_cp_parse(f.cp, f.cp_len, &cp, &e), 0);
    CHECK_EQ_INT(cp.nbad, 0); /* syntax is fine: only a data upload knows */
    CHECK_EQ_INT(hj212_cp_data(&cp, 2011, &ts, &e), 0);
    CHECK_EQ_STR(bad_list(&cp), "LA-td=50.1(unknown)");
    n = all_pollutants(&cp, ps, 64);
    CHECK_EQ_INT(n, 12);
    size_t good = 0;
    for (size_t i = 0; i < n; i++)
        good += (ps[i].has & (1u << HJ212_RTD)) != 0;
    CHECK_EQ_INT(good, 11);
    const struct hj212_pollutant *p = find_p(ps, n, "LA");
    CHECK(p->seen == 0 && p->nbad == 1 && p->flag == 'N');

    /* Other single-item faults of a data upload. */
    CHECK_EQ_INT(data_cp("DataTime=20160801084000;a01001-Rtd=12.6,a01001-Flag=N,Foo=3;"
                         "a01002-Rtd=abc,a01002-Flag=N;a01006-Rtd=,a01006-Flag=N;"
                         "a01007-Rtd=2.1,a01007-Flag=NN;a01008-Rtd=120,a01008-ValidNum=12;"
                         "SB1-RS=1,SB1-Ia=3.2;a34001-Rtd=//1//;a21026-avg=5,a21026-Flag=N",
                         2011, &cp, &ts, &e),
                 0);
    CHECK_EQ_STR(bad_list(&cp), "Foo=3(unknown) a01002-Rtd=abc(number) a01007-Flag=NN(flag) "
                                "a34001-Rtd=//1//(number) a21026-avg=5(unknown)");
    n = all_pollutants(&cp, ps, 64);
    CHECK(find_p(ps, n, "a01001")->v[HJ212_RTD] == 12.6);
    CHECK(find_p(ps, n, "a01002")->has == 0);
    CHECK(find_p(ps, n, "a01006")->seen == 1u << HJ212_RTD); /* empty: no value, no fault */
    CHECK(find_p(ps, n, "a01007")->flag_bad);
    CHECK(find_p(ps, n, "a01008")->nother == 1); /* a vendor's extra beside a known value */
    CHECK(find_p(ps, n, "SB1")->nother == 1);
    /* A misspelt primary value beside other known ones (-Min) has lost the
     * value this CN stores: refused, not silently ignored. Beside the value
     * (or a noise -Data, an equipment -RS) an unknown suffix stays. */
    CHECK_EQ_INT(data_cp("DataTime=20160801080000;w01001-avg=7.5,w01001-Min=7,w01001-Flag=N;"
                         "w21003-Avg=1,w21003-ValidNum=6;L10-Data=53,L10-Cnt=12;SB1-RS=1,SB1-Ia=3",
                         2061, &cp, &ts, &e),
                 0);
    CHECK_EQ_STR(bad_list(&cp), "w01001-avg=7.5(unknown)");

    /* CP items that are not key=value: refused one by one. */
    const char *syn = "DataTime=20160801084000;w01018-Rtd;=5,w01001-Rtd=7.1;a b=5,"
                      "abcdefghijabcdefghijabcdefghijabc=1;w21003-Rtd=0.5;";
    CHECK_EQ_INT(hj212_cp_parse(syn, strlen(syn), &cp, &e), 0);
    CHECK_EQ_STR(bad_list(&cp), "w01018-Rtd(syntax) =5(syntax) a b=5(syntax) "
                                "abcdefghijabcdefghijabcdefghijabc=1(syntax)");
    CHECK_EQ_INT(cp.nitems, 3);
    CHECK_EQ_INT(cp.items[2].group, 4); /* groups still counted past the bad ones */
    n = all_pollutants(&cp, ps, 64);
    CHECK(n == 2 && find_p(ps, n, "w21003")->v[HJ212_RTD] == 0.5);

    /* A key repeated with another value: which one is meant cannot be
     * told, so both go; the same value twice is harmless. */
    const char *conf = "DataTime=20160801084000;w01018-Rtd=1.5,w01018-Flag=N;w01018-Rtd=9;"
                       "w01001-Rtd=7,w01001-Flag=N,Flag=D;w21003-Rtd=1,Flag=N;w21001-Rtd=2,Flag=D";
    CHECK_EQ_INT(hj212_cp_parse(conf, strlen(conf), &cp, &e), 0);
    CHECK_EQ_STR(bad_list(&cp), "w01018-Rtd=1.5(conflict) w01018-Rtd=9(conflict) "
                                "w01001-Flag=N(conflict) Flag=D(conflict)");
    n = all_pollutants(&cp, ps, 64);
    p = find_p(ps, n, "w01018");
    CHECK(p->seen == 0 && p->nbad == 2 && p->flag == 'N' && !p->flag_bad);
    p = find_p(ps, n, "w01001");
    CHECK(p->v[HJ212_RTD] == 7.0 && p->flag_bad);
    CHECK(find_p(ps, n, "w21003")->flag == 'N'); /* bare Flags of two codes: no conflict */
    CHECK(find_p(ps, n, "w21001")->flag == 'D');
    const char *v;
    size_t vl;
    CHECK_EQ_INT(hj212_cp_find(&cp, "w01018-Rtd", &v, &vl), -ENOENT);
    CHECK(strcmp(hj212_bad_str(HJ212_BAD_CONFLICT), "conflict") == 0);
    CHECK(strcmp(hj212_bad_str(0), "unknown") == 0);

    /* The list is bounded; the count is not. */
    static char many[4096];
    size_t m = (size_t)snprintf(many, sizeof(many), "DataTime=20160801084000");
    for (int i = 0; i < HJ212_BAD_MAX + 5; i++)
        m += (size_t)snprintf(many + m, sizeof(many) - m, ";x%d", i);
    CHECK_EQ_INT(hj212_cp_parse(many, m, &cp, &e), 0);
    CHECK_EQ_INT(cp.nbad, HJ212_BAD_MAX);
    CHECK_EQ_INT(cp.nbad_total, HJ212_BAD_MAX + 5);
#undef MN24
}

static const struct check_case cases[] = {
    CHECK_CASE(test_numbers),
    CHECK_CASE(test_cp),
    CHECK_CASE(test_field_faults),
};

int main(int argc, char **argv)
{
    load_examples();
    return CHECK_MAIN(argc, argv, cases);
}
