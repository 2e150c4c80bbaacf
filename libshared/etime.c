#include "etime.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t etime_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    /* Howard Hinnant's algorithm: exact for every Gregorian date, no tables. */
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void etime__civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yy + (*m <= 2));
}

static int etime__digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int etime__days_in_month(int y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 ? 28 + leap : dm[m - 1];
}

static int etime__compose(int y, int mo, int d, int h, int mi, int sec, int64_t frac_us,
                          int offset_s, int64_t *us)
{
    if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > etime__days_in_month(y, mo) ||
        h > 23 || mi > 59 || sec > 60)
        return -EINVAL;
    int64_t days = etime_days_from_civil(y, (unsigned)mo, (unsigned)d);
    if (sec == 60) {
        /* A leap second exists only as 23:59:60 UTC on the last day of a
         * month (IERS inserts them at the end of June or December). Any
         * other :60 is a bad time, not a rounding matter: refused. The
         * leap second folds into the last microsecond of 23:59:59, so
         * times stay monotonic and unique keys do not collide with the
         * next day's 00:00:00. */
        int64_t utc = days * 86400 + h * 3600 + mi * 60 + 59 - offset_s;
        int64_t uday = utc >= 0 ? utc / 86400 : -((-utc + 86399) / 86400);
        int uy;
        unsigned um, ud;
        etime__civil_from_days(uday, &uy, &um, &ud);
        if (utc - uday * 86400 != 86399 || (int)ud != etime__days_in_month(uy, (int)um))
            return -EINVAL;
        sec = 59;
        frac_us = 999999;
    }
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_s;
    *us = secs * ETIME_US_PER_SEC + frac_us;
    return 0;
}

int etime_parse_rfc3339(const char *s, size_t len, int64_t *us, int *offset_s)
{
    int y, mo, d, h, mi, sec, oh, om, off;
    int64_t frac = 0;
    size_t i = 19;

    if (len < 20)
        return -EINVAL;
    if (etime__digits(s, 4, &y) || s[4] != '-' || etime__digits(s + 5, 2, &mo) || s[7] != '-' ||
        etime__digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        etime__digits(s + 11, 2, &h) || s[13] != ':' || etime__digits(s + 14, 2, &mi) ||
        s[16] != ':' || etime__digits(s + 17, 2, &sec))
        return -EINVAL;
    if (s[i] == '.') {
        int64_t scale = 100000;
        size_t ndig = 0;
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, ndig++) {
            frac += (s[i] - '0') * scale;
            scale /= 10;
        }
        if (ndig == 0 || ndig > 9)
            return -EINVAL;
    }
    if (i >= len)
        return -EINVAL;
    if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == len) {
        off = 0;
    } else if ((s[i] == '+' || s[i] == '-') && i + 6 == len && s[i + 3] == ':' &&
               !etime__digits(s + i + 1, 2, &oh) && !etime__digits(s + i + 4, 2, &om) && oh <= 23 &&
               om <= 59) {
        off = (oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
    } else {
        return -EINVAL;
    }
    if (offset_s)
        *offset_s = off;
    return etime__compose(y, mo, d, h, mi, sec, frac, off, us);
}

static void etime__split(int64_t us, int offset_s, int *y, unsigned *mo, unsigned *d, int *h,
                         int *mi, int *sec, int *ms)
{
    int64_t local = us + (int64_t)offset_s * ETIME_US_PER_SEC;
    int64_t secs = local >= 0 ? local / ETIME_US_PER_SEC
                              : -((-local + ETIME_US_PER_SEC - 1) / ETIME_US_PER_SEC);
    int64_t rem_us = local - secs * ETIME_US_PER_SEC;
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t sod = secs - days * 86400;
    etime__civil_from_days(days, y, mo, d);
    *h = (int)(sod / 3600);
    *mi = (int)(sod / 60 % 60);
    *sec = (int)(sod % 60);
    *ms = (int)(rem_us / 1000);
}

int etime_format(int64_t us, int offset_s, char *out, size_t cap)
{
    int y, h, mi, sec, ms, n;
    unsigned mo, d;
    char tz[8];

    etime__split(us, offset_s, &y, &mo, &d, &h, &mi, &sec, &ms);
    if (offset_s == 0) {
        snprintf(tz, sizeof(tz), "Z");
    } else {
        int a = offset_s < 0 ? -offset_s : offset_s;
        snprintf(tz, sizeof(tz), "%c%02d:%02d", offset_s < 0 ? '-' : '+', a / 3600 % 100,
                 a / 60 % 60);
    }
    int64_t us_part = ((us % ETIME_US_PER_SEC) + ETIME_US_PER_SEC) % ETIME_US_PER_SEC;
    if (us_part % 1000)
        n = snprintf(out, cap, "%04d-%02u-%02uT%02d:%02d:%02d.%06lld%s", y, mo, d, h, mi, sec,
                     (long long)us_part, tz);
    else if (ms)
        n = snprintf(out, cap, "%04d-%02u-%02uT%02d:%02d:%02d.%03d%s", y, mo, d, h, mi, sec, ms,
                     tz);
    else
        n = snprintf(out, cap, "%04d-%02u-%02uT%02d:%02d:%02d%s", y, mo, d, h, mi, sec, tz);
    return n;
}

int etime_parse_hj212(const char *s, size_t len, int offset_s, int64_t *us)
{
    int y, mo, d, h, mi, sec, ms = 0;

    if (len != 14 && len != 17)
        return -EINVAL;
    if (etime__digits(s, 4, &y) || etime__digits(s + 4, 2, &mo) || etime__digits(s + 6, 2, &d) ||
        etime__digits(s + 8, 2, &h) || etime__digits(s + 10, 2, &mi) ||
        etime__digits(s + 12, 2, &sec) || (len == 17 && etime__digits(s + 14, 3, &ms)))
        return -EINVAL;
    return etime__compose(y, mo, d, h, mi, sec, (int64_t)ms * 1000, offset_s, us);
}

void etime_format_hj212(int64_t us, int offset_s, int with_ms, char out[18])
{
    int y, h, mi, sec, ms;
    unsigned mo, d;

    etime__split(us, offset_s, &y, &mo, &d, &h, &mi, &sec, &ms);
    char tmp[64];

    /* Through a larger buffer: the compiler cannot prove the fields fit. */
    if (with_ms)
        snprintf(tmp, sizeof(tmp), "%04d%02u%02u%02d%02d%02d%03d", y, mo, d, h, mi, sec, ms);
    else
        snprintf(tmp, sizeof(tmp), "%04d%02u%02u%02d%02d%02d", y, mo, d, h, mi, sec);
    memcpy(out, tmp, 17);
    out[17] = '\0';
    if (!with_ms)
        out[14] = '\0';
}

int64_t etime_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * ETIME_US_PER_SEC + ts.tv_nsec / 1000;
}
