#include "etime.h"

#include "check.h"

#include <errno.h>

static int64_t parse(const char *s)
{
    int64_t us = 0;
    CHECK_EQ_INT(etime_parse_rfc3339(s, strlen(s), &us, NULL), 0);
    return us;
}

static void test_etime(void)
{
    char buf[ETIME_RFC3339_MAX], hj[18];
    int64_t us;
    int off;

    /* 2021-06-01T00:00:00Z is 1622505600 */
    CHECK_EQ_INT(parse("2021-06-01T08:00:00+08:00"), 1622505600LL * ETIME_US_PER_SEC);
    CHECK_EQ_INT(parse("2021-06-01T00:00:00Z"), 1622505600LL * ETIME_US_PER_SEC);
    CHECK_EQ_INT(parse("2021-06-01T00:00:00.5Z"), 1622505600LL * ETIME_US_PER_SEC + 500000);
    CHECK_EQ_INT(parse("2021-05-31T19:30:00-04:30"), 1622505600LL * ETIME_US_PER_SEC);
    CHECK_EQ_INT(parse("2024-02-29T00:00:00Z"), 1709164800LL * ETIME_US_PER_SEC);
    CHECK_EQ_INT(etime_parse_rfc3339("2021-06-01T08:00:00+08:00", 25, &us, &off), 0);
    CHECK_EQ_INT(off, 8 * 3600);

    /* refused: no offset, bad dates, trailing bytes, truncated */
    static const char *const bad[] = {
        "2021-06-01T08:00:00",        "2021-02-29T00:00:00Z",
        "2021-13-01T00:00:00Z",       "2021-06-01T24:00:00Z",
        "2021-06-01T08:00:00+08:00x", "2021-06-01T08:00:00+8:00",
        "2021-06-01X08:00:00Z",       "",
        "1969-12-31T23:59:59Z",       "2021-06-01T08:00:00.Z",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_EQ_INT(etime_parse_rfc3339(bad[i], strlen(bad[i]), &us, NULL), -EINVAL);
    /* length-bounded: the NUL is not what stops parsing */
    CHECK_EQ_INT(etime_parse_rfc3339("2021-06-01T00:00:00Zjunk", 20, &us, NULL), 0);

    etime_format(1622505600LL * ETIME_US_PER_SEC, ETIME_BEIJING_OFFSET, buf, sizeof(buf));
    CHECK_EQ_STR(buf, "2021-06-01T08:00:00+08:00");
    etime_format(1622505600LL * ETIME_US_PER_SEC + 250000, 0, buf, sizeof(buf));
    CHECK_EQ_STR(buf, "2021-06-01T00:00:00.250Z");
    etime_format(1622505600LL * ETIME_US_PER_SEC + 123456, ETIME_BEIJING_OFFSET, buf, sizeof(buf));
    CHECK_EQ_STR(buf, "2021-06-01T08:00:00.123456+08:00"); /* stored precision, not cut */
    etime_format(1622505600LL * ETIME_US_PER_SEC, -(4 * 3600 + 1800), buf, sizeof(buf));
    CHECK_EQ_STR(buf, "2021-05-31T19:30:00-04:30");

    /* HJ 212: local Beijing time, optional milliseconds (QN) */
    CHECK_EQ_INT(etime_parse_hj212("20210601080000", 14, ETIME_BEIJING_OFFSET, &us), 0);
    CHECK_EQ_INT(us, 1622505600LL * ETIME_US_PER_SEC);
    CHECK_EQ_INT(etime_parse_hj212("20160801085857223", 17, ETIME_BEIJING_OFFSET, &us), 0);
    etime_format_hj212(us, ETIME_BEIJING_OFFSET, 1, hj);
    CHECK_EQ_STR(hj, "20160801085857223");
    etime_format_hj212(us, ETIME_BEIJING_OFFSET, 0, hj);
    CHECK_EQ_STR(hj, "20160801085857");
    CHECK_EQ_INT(etime_parse_hj212("2016080108585", 13, 0, &us), -EINVAL);
    CHECK_EQ_INT(etime_parse_hj212("20160230085857", 14, 0, &us), -EINVAL);

    /* second 60: only as a leap second, 23:59:60 UTC on a month's last day,
     * at whatever offset it is written; it reads as the last microsecond of
     * 23:59:59 (2016-12-31T23:59:60Z was a real one) */
    static const char *const leap_ok[] = {
        "2016-12-31T23:59:60Z",
        "2017-01-01T07:59:60+08:00",
        "2016-12-31T18:29:60-05:30",
    };
    for (size_t i = 0; i < sizeof(leap_ok) / sizeof(leap_ok[0]); i++) {
        CHECK_EQ_INT(etime_parse_rfc3339(leap_ok[i], strlen(leap_ok[i]), &us, NULL), 0);
        CHECK_EQ_INT(us, 1483228800LL * ETIME_US_PER_SEC - 1); /* 2017-01-01T00:00:00Z - 1 us */
    }
    CHECK_EQ_INT(etime_parse_rfc3339("2015-06-30T23:59:60Z", 20, &us, NULL), 0);
    CHECK_EQ_INT(us, 1435708800LL * ETIME_US_PER_SEC - 1);
    CHECK_EQ_INT(etime_parse_rfc3339("2016-12-31T23:59:60.5Z", 22, &us, NULL), 0);
    static const char *const leap_bad[] = {
        "2021-06-01T08:00:60+08:00",                         /* any minute */
        "2016-12-31T23:59:60+08:00",                         /* 15:59:60 UTC */
        "2016-12-31T23:58:60Z",      "2016-12-30T23:59:60Z", /* not a month's last day */
        "2017-01-01T00:00:60Z",      "2021-06-01T08:00:61+08:00",
    };
    for (size_t i = 0; i < sizeof(leap_bad) / sizeof(leap_bad[0]); i++) {
        int rc = etime_parse_rfc3339(leap_bad[i], strlen(leap_bad[i]), &us, NULL);
        if (rc != -EINVAL)
            fprintf(stderr, "second 60 outside a leap second accepted: %s\n", leap_bad[i]);
        CHECK_EQ_INT(rc, -EINVAL);
    }
    CHECK_EQ_INT(etime_parse_hj212("20170101075960", 14, ETIME_BEIJING_OFFSET, &us), 0);
    CHECK_EQ_INT(us, 1483228800LL * ETIME_US_PER_SEC - 1);
    CHECK_EQ_INT(etime_parse_hj212("20210601080060", 14, ETIME_BEIJING_OFFSET, &us), -EINVAL);

    /* round trip across many days, including negative-offset formatting */
    for (int64_t d = 0; d < 40000; d += 37) {
        int64_t t = d * 86400 * ETIME_US_PER_SEC + 12345000;
        etime_format(t, ETIME_BEIJING_OFFSET, buf, sizeof(buf));
        CHECK_EQ_INT(etime_parse_rfc3339(buf, strlen(buf), &us, NULL), 0);
        CHECK_EQ_INT(us, t);
    }
}

static const struct check_case cases[] = {
    CHECK_CASE(test_etime),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
