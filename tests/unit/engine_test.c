/* The detection rules, driven without a broker or a database: a registry
 * built by hand with the default settings read from the migrations that
 * ship them (schemas/sql/0009_alarm.sql, 0012), readings fed in data time, and
 * the alarm transitions the engine emits. */
#include "check.h"
#include "detectreg.h"
#include "engine.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define H (3600LL * 1000000)
#define PI 3.14159265358979323846
#define MIN (60LL * 1000000)
/* 2024-06-01T00:00:00+08:00 */
#define T0 (1717171200LL * 1000000)

enum { S_A = 1, S_B, S_C, S_D, S_E, S_OUT, S_MOB, S_RIV };
enum { P_SO2 = 1, P_PM25, P_COD, P_O3, P_WD };

static struct eng_event evs[4096];
static int nev;

static void on_event(void *ud, const struct eng_event *ev)
{
    (void)ud;
    CHECK(nev < 4096);
    evs[nev++] = *ev;
}

static int count(enum eng_rule rule, enum eng_action a)
{
    int n = 0;
    for (int i = 0; i < nev; i++)
        n += evs[i].rule == rule && evs[i].action == a;
    return n;
}

static const struct eng_event *find(enum eng_rule rule, enum eng_action a)
{
    for (int i = 0; i < nev; i++)
        if (evs[i].rule == rule && evs[i].action == a)
            return &evs[i];
    return NULL;
}

/* Five air stations a few km apart, an outlet, a vehicle, a river station. */
static void build(struct dreg *r)
{
    char why[256];
    dreg_init(r);
    r->sites = calloc(8, sizeof(*r->sites));
    r->params = calloc(5, sizeof(*r->params));
    r->limits = calloc(4, sizeof(*r->limits));
    CHECK(r->sites && r->params && r->limits);
    add_site(r, S_A, "A", DREG_AIR, 30.00, 122.10);
    add_site(r, S_B, "B", DREG_AIR, 30.02, 122.12);
    add_site(r, S_C, "C", DREG_AIR, 30.04, 122.10);
    add_site(r, S_D, "D", DREG_AIR, 30.01, 122.15);
    add_site(r, S_E, "E", DREG_AIR, 30.03, 122.06);
    add_site(r, S_OUT, "OUT", DREG_WATER_OUTLET, 30.1, 122.2);
    add_site(r, S_MOB, "MOB", DREG_MOBILE, NAN, NAN);
    add_site(r, S_RIV, "RIV", DREG_WATER, 30.3, 122.3);
    add_param(r, P_SO2, "so2", 0, 10000);
    add_param(r, P_PM25, "pm25", 0, 1000);
    add_param(r, P_COD, "cod", 0, 5000);
    add_param(r, P_O3, "o3", 0, 1000);
    add_param(r, P_WD, "wind_dir", 0, 360);
    snprintf(r->params[r->nparams - 1].unit, sizeof(r->params[0].unit), "\xC2\xB0");
    add_limit(r, 0, DREG_AIR, P_SO2, 'h', 500);
    add_limit(r, S_OUT, -1, P_COD, 'h', 100);
    add_limit(r, 0, DREG_WATER, P_COD, 'd', 20); /* a class limit: daily */
    load_settings(r);
    CHECK(dreg_finish(r, why, sizeof(why)) == 0);
}

static void feed(struct eng *e, int site, int param, char period, int64_t ts, double v, char flag)
{
    struct eng_reading r = {.site_id = site,
                            .param_id = param,
                            .period = period,
                            .flag = flag,
                            .ts = ts,
                            .value = v,
                            .lat = NAN,
                            .lon = NAN};
    eng_feed(e, &r);
}

static uint64_t rng = 88172645463325252ULL;
static double noise(void) /* about N(0, 1) */
{
    double s = 0;
    for (int i = 0; i < 12; i++) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        s += (double)(rng >> 11) / 9007199254740992.0;
    }
    return s - 6;
}

static struct eng *fresh(struct dreg *r)
{
    struct eng *e;
    nev = 0;
    CHECK(eng_new(r, 100000, on_event, NULL, &e) == 0);
    return e;
}

static void test_limit(struct dreg *r)
{
    struct eng *e = fresh(r);
    /* hourly so2 against 500: raise at once (one hourly value is 30 min),
     * hovering just under the limit does not clear (hysteresis 10 %),
     * 400 clears */
    double v[] = {100, 600, 480, 520, 470, 460, 400, 100};
    for (int i = 0; i < 8; i++)
        feed(e, S_A, P_SO2, 'h', T0 + i * H, v[i], 'N');
    CHECK_EQ_INT(count(ENG_LIMIT, ENG_RAISE), 1);
    CHECK_EQ_INT(count(ENG_LIMIT, ENG_CLEAR), 1);
    CHECK_EQ_INT(find(ENG_LIMIT, ENG_RAISE)->ts, T0 + 1 * H);
    CHECK(find(ENG_LIMIT, ENG_RAISE)->limit == 500);
    CHECK_EQ_INT(find(ENG_LIMIT, ENG_CLEAR)->ts, T0 + 6 * H);
    CHECK_EQ_INT(find(ENG_LIMIT, ENG_CLEAR)->opened, T0 + 1 * H);
    eng_free(e);

    /* 10-minute cod against the hourly limit (coarser): 3 values (30 min)
     * before raising; a repeat of a reading does not count again */
    e = fresh(r);
    feed(e, S_OUT, P_COD, 'm', T0, 50, 'N');
    feed(e, S_OUT, P_COD, 'm', T0 + 10 * MIN, 150, 'N');
    feed(e, S_OUT, P_COD, 'm', T0 + 20 * MIN, 160, 'N');
    feed(e, S_OUT, P_COD, 'm', T0 + 20 * MIN, 160, 'N'); /* repeat */
    CHECK_EQ_INT(count(ENG_LIMIT, ENG_RAISE), 0);
    feed(e, S_OUT, P_COD, 'm', T0 + 30 * MIN, 170, 'N');
    CHECK_EQ_INT(count(ENG_LIMIT, ENG_RAISE), 1);
    CHECK_EQ_INT(find(ENG_LIMIT, ENG_RAISE)->ts, T0 + 30 * MIN);
    /* the hourly mean of the same outlet does not open a second alarm */
    feed(e, S_OUT, P_COD, 'h', T0, 150, 'N');
    feed(e, S_OUT, P_COD, 'h', T0 + H, 170, 'N');
    CHECK_EQ_INT(count(ENG_LIMIT, ENG_RAISE), 1);
    eng_free(e);
}

static void test_quality(struct dreg *r)
{
    struct eng *e = fresh(r);
    int i;
    /* a varying series (200 h: it has shown it rarely repeats itself),
     * then stuck: three repeats are unlikely enough (p_max 1e-5) */
    for (i = 0; i < 200; i++)
        feed(e, S_A, P_PM25, 'h', T0 + i * H, 30 + 5 * noise(), 'N');
    CHECK_EQ_INT(count(ENG_FLATLINE, ENG_RAISE), 0);
    CHECK_EQ_INT(count(ENG_SPIKE, ENG_RAISE), 0);
    feed(e, S_A, P_PM25, 'h', T0 + 200 * H, 33.5, 'N');
    feed(e, S_A, P_PM25, 'h', T0 + 201 * H, 33.5, 'N');
    feed(e, S_A, P_PM25, 'h', T0 + 202 * H, 33.5, 'N');
    CHECK_EQ_INT(count(ENG_FLATLINE, ENG_RAISE), 0);
    feed(e, S_A, P_PM25, 'h', T0 + 203 * H, 33.5, 'N');
    CHECK_EQ_INT(count(ENG_FLATLINE, ENG_RAISE), 1);
    CHECK_EQ_INT(find(ENG_FLATLINE, ENG_RAISE)->ts, T0 + 203 * H);
    feed(e, S_A, P_PM25, 'h', T0 + 204 * H, 36, 'N');
    CHECK_EQ_INT(count(ENG_FLATLINE, ENG_CLEAR), 1);
    /* one value far out, back the next hour: a spike at its own time */
    feed(e, S_A, P_PM25, 'h', T0 + 205 * H, 31, 'N');
    feed(e, S_A, P_PM25, 'h', T0 + 206 * H, 210, 'N');
    feed(e, S_A, P_PM25, 'h', T0 + 207 * H, 29, 'N');
    CHECK_EQ_INT(count(ENG_SPIKE, ENG_RAISE), 1);
    CHECK_EQ_INT(find(ENG_SPIKE, ENG_RAISE)->ts, T0 + 206 * H);
    CHECK(find(ENG_SPIKE, ENG_RAISE)->value == 210);
    CHECK_EQ_INT(find(ENG_SPIKE, ENG_CLEAR)->ts, T0 + 207 * H);
    /* a step that stays is not a spike (both steps must go opposite ways) */
    feed(e, S_A, P_PM25, 'h', T0 + 207 * H + H / 2, 200, 'N');
    feed(e, S_A, P_PM25, 'h', T0 + 207 * H + 3 * H / 4, 400, 'N');
    feed(e, S_A, P_PM25, 'h', T0 + 207 * H + 7 * H / 8, 402, 'N');
    CHECK_EQ_INT(count(ENG_SPIKE, ENG_RAISE), 1);
    /* a flag other than N */
    feed(e, S_A, P_PM25, 'h', T0 + 208 * H, 30, 'D');
    feed(e, S_A, P_PM25, 'h', T0 + 209 * H, 31, 'D');
    feed(e, S_A, P_PM25, 'h', T0 + 210 * H, 32, 'N');
    CHECK_EQ_INT(count(ENG_FLAG, ENG_RAISE), 1);
    CHECK_EQ_INT(find(ENG_FLAG, ENG_RAISE)->ts, T0 + 208 * H);
    CHECK_EQ_INT(find(ENG_FLAG, ENG_CLEAR)->ts, T0 + 210 * H);
    eng_free(e);

    /* a smooth series quantised to 0.01 (10-minute pH with a daily cycle):
     * its plateaus at the turning points are not stuck; the same series
     * frozen in mid-motion is */
    e = fresh(r);
    for (i = 0; i < 6 * 24 * 5; i++)
        feed(e, S_OUT, P_COD, 'm', T0 + i * 10 * MIN,
             round(100 * (7.3 + 1.5 * sin(2 * PI * i / 144.0))) / 100, 'N');
    CHECK_EQ_INT(count(ENG_FLATLINE, ENG_RAISE), 0);
    for (int k = 0; k < 12; k++, i++)
        feed(e, S_OUT, P_COD, 'm', T0 + i * 10 * MIN, 7.3, 'N');
    CHECK_EQ_INT(count(ENG_FLATLINE, ENG_RAISE), 1);
    eng_free(e);

    /* a quantised series that often repeats itself is not stuck at 3 */
    e = fresh(r);
    for (i = 0; i < 200; i++)
        feed(e, S_B, P_PM25, 'h', T0 + i * H, (i / 3) % 2 ? 20 : 21, 'N');
    CHECK_EQ_INT(count(ENG_FLATLINE, ENG_RAISE), 0);
    eng_free(e);
}

static void test_offline(struct dreg *r)
{
    struct eng *e = fresh(r);
    for (int i = 0; i < 6; i++)
        feed(e, S_A, P_PM25, 'h', T0 + i * H, 30 + noise(), 'N');
    /* no reading arrives: the watermark alone fires it, on time:
     * 05:00 + interval 1 h + period 1 h + slack 30 min */
    eng_advance(e, T0 + 7 * H + 29 * MIN);
    CHECK_EQ_INT(count(ENG_OFFLINE, ENG_RAISE), 0);
    eng_advance(e, T0 + 7 * H + 30 * MIN);
    CHECK_EQ_INT(count(ENG_OFFLINE, ENG_RAISE), 1);
    CHECK_EQ_INT(find(ENG_OFFLINE, ENG_RAISE)->ts, T0 + 7 * H + 30 * MIN);
    CHECK_EQ_INT(find(ENG_OFFLINE, ENG_RAISE)->param_id, 0);
    eng_advance(e, T0 + 12 * H);
    CHECK_EQ_INT(count(ENG_OFFLINE, ENG_RAISE), 1);
    feed(e, S_A, P_PM25, 'h', T0 + 12 * H, 30, 'N');
    CHECK_EQ_INT(count(ENG_OFFLINE, ENG_CLEAR), 1);
    CHECK_EQ_INT(find(ENG_OFFLINE, ENG_CLEAR)->ts, T0 + 12 * H);
    /* a site catching up on old data (a backfill far behind the
     * watermark) is not offline for being behind */
    feed(e, S_B, P_PM25, 'h', T0, 30, 'N');
    feed(e, S_B, P_PM25, 'h', T0 + H, 30.5, 'N');
    CHECK_EQ_INT(count(ENG_OFFLINE, ENG_RAISE), 1);
    eng_advance(e, T0 + 12 * H + 29 * MIN);
    CHECK_EQ_INT(count(ENG_OFFLINE, ENG_RAISE), 1);
    eng_advance(e, T0 + 12 * H + 31 * MIN);
    CHECK_EQ_INT(count(ENG_OFFLINE, ENG_RAISE), 2); /* B, silent since */
    feed(e, S_B, P_PM25, 'h', T0 + 13 * H, 31, 'N');
    CHECK_EQ_INT(count(ENG_OFFLINE, ENG_CLEAR), 2);
    /* vehicles are off duty at night: never offline */
    feed(e, S_MOB, P_PM25, 'r', T0, 30, 'N');
    eng_advance(e, T0 + 100 * H);
    CHECK_EQ_INT(count(ENG_OFFLINE, ENG_RAISE), 4); /* A and B again, not MOB */
    eng_free(e);
}

/* Ten days of a daily cycle with noise: no baseline alarm; then a
 * sustained rise of 10 deviations: raised within the sustain count. */
static void test_baseline(struct dreg *r)
{
    struct eng *e = fresh(r);
    int i, fp;
    for (i = 0; i < 240; i++) {
        int64_t ts = T0 + i * H;
        double cyc = 40 + 15 * sin(2 * PI * (i % 24) / 24.0);
        feed(e, S_A, P_SO2, 'h', ts, cyc + 2 * noise(), 'N');
    }
    fp = count(ENG_BASELINE, ENG_RAISE);
    CHECK_EQ_INT(fp, 0);
    for (; i < 246; i++) {
        double cyc = 40 + 15 * sin(2 * PI * (i % 24) / 24.0);
        feed(e, S_A, P_SO2, 'h', T0 + i * H, cyc + 25 + 2 * noise(), 'N');
    }
    CHECK_EQ_INT(count(ENG_BASELINE, ENG_RAISE), 1);
    CHECK(find(ENG_BASELINE, ENG_RAISE)->ts <= T0 + 242 * H);
    for (; i < 260; i++) {
        double cyc = 40 + 15 * sin(2 * PI * (i % 24) / 24.0);
        feed(e, S_A, P_SO2, 'h', T0 + i * H, cyc + 2 * noise(), 'N');
    }
    CHECK_EQ_INT(count(ENG_BASELINE, ENG_CLEAR), 1);
    eng_free(e);
}

/* A new series whose ninth reading is a spike (six times the value): the
 * spike is in the hour of the day it fell on, not in the days after. The
 * baseline used to learn that hour from the spike alone (the series' scale
 * unknown, nothing to clip it by), then judged that hour of every later day
 * against it and, the readings being far from it, learned nothing more:
 * an alarm at the same hour every day. */
static void test_baseline_cold_spike(struct dreg *r)
{
    struct eng *e = fresh(r);
    rng = 88172645463325252ULL;
    for (int i = 0; i < 8 * 24; i++) {
        double v = 40 + 15 * sin(2 * PI * (i % 24) / 24.0) + 2 * noise();
        feed(e, S_RIV, P_O3, 'h', T0 + i * H, i == 9 ? 6 * v : v, 'N');
    }
    CHECK_EQ_INT(count(ENG_BASELINE, ENG_RAISE), 0);
    eng_free(e);
}

/* A five-minute series shaped as a square wave (20 at night, 80 for nine
 * hours of the day, NAB's art_daily files). Its first morning is raised
 * (nothing is known of the hour yet); the days after are not. Two things
 * made every morning and evening an alarm: an hour first seen as a
 * departure was never learned (an unlearned hour is now judged with the
 * daily cycle's spread in its scale), and two hours of the day's high were
 * absorbed as a new level (`shift` readings, 24; now a day of them at
 * least), so the hours never learned the high either. */
static void baseline_square(struct dreg *r, int flat)
{
    struct eng *e = fresh(r);
    int i, day = 288;
    int64_t first;
    rng = 88172645463325252ULL;
    for (i = 0; i < 9 * day; i++) {
        int hour = (i % day) / 12;
        double v = (hour >= 9 && hour < 18 ? 80 : 20) + noise();
        feed(e, S_OUT, P_O3, 'm', T0 + i * 5 * MIN, i < flat ? 20 : v, 'N');
    }
    CHECK_EQ_INT(count(ENG_BASELINE, ENG_RAISE), 1);
    first = find(ENG_BASELINE, ENG_RAISE)->ts;
    CHECK(first < T0 + day * 5 * MIN);
    eng_free(e);
}

/* and the same after a first hour on one value (a new analyser's first
 * readings): the cycle's spread must not be learned as zero for good */
static void test_baseline_square(struct dreg *r)
{
    baseline_square(r, 0);
    baseline_square(r, 12);
}

/* A series whose first readings are all one value (a vehicle's ozone at
 * its floor by the road where its duty starts, a plant idle at zero), then
 * ordinary noise. Its step scale learned zero from the first steps and,
 * each later step clipped at four times that zero, stayed at zero: every
 * wiggle of the noise was a spike (595 in a week of the simulator's
 * vehicle). A real spike is still raised. */
static void test_spike_flat_start(struct dreg *r)
{
    struct eng *e = fresh(r);
    int i;
    rng = 88172645463325252ULL;
    for (i = 0; i < 40; i++)
        feed(e, S_OUT, P_O3, 'm', T0 + i * MIN / 2, 2, 'N');
    for (; i < 1500; i++)
        feed(e, S_OUT, P_O3, 'm', T0 + i * MIN / 2, round(10 * (70 + noise())) / 10, 'N');
    CHECK_EQ_INT(count(ENG_SPIKE, ENG_RAISE), 0);
    for (int k = 0; k < 3; k++, i++)
        feed(e, S_OUT, P_O3, 'm', T0 + i * MIN / 2, k == 1 ? 120 : 70, 'N');
    CHECK_EQ_INT(count(ENG_SPIKE, ENG_RAISE), 1);
    eng_free(e);
}

/* A stuck sensor freezes at about its current value: here one step of the
 * resolution from the last, after a week of an hourly series that holds a
 * value three hours at most. Such a run used to be taken for a plateau the
 * series settled into and needed three times its long healthy runs. */
static int flatline_settled(struct dreg *r)
{
    struct eng *e;
    int i, n;
    double v = 0;
    CHECK(eng_new(r, 100000, on_event, NULL, &e) == 0);
    nev = 0;
    rng = 88172645463325252ULL;
    for (i = 0; i < 7 * 24; i++)
        feed(e, S_RIV, P_COD, 'h', T0 + i * H,
             v = round(10 * (50 + 3 * sin(i / 10.0) + 0.3 * noise())) / 10, 'N');
    CHECK_EQ_INT(count(ENG_FLATLINE, ENG_RAISE), 0);
    v += v < 50 ? 0.1 : -0.1;
    for (int k = 0; k < 9; k++, i++)
        feed(e, S_RIV, P_COD, 'h', T0 + i * H, v, 'N');
    n = count(ENG_FLATLINE, ENG_RAISE);
    eng_free(e);
    return n;
}

static void test_flatline_settled(struct dreg *r)
{
    CHECK_EQ_INT(flatline_settled(r), 1);
}

/* Weather moves every station: five stations with the same daily cycle
 * rise together over hours (rain, a regional haze): no baseline alarm;
 * then one rises alone: raised. */
static void test_regional(struct dreg *r)
{
    struct eng *e = fresh(r);
    int sites[] = {S_A, S_B, S_C, S_D, S_E}, i;
    for (i = 0; i < 252; i++) {
        double cyc = 40 + 15 * sin(2 * PI * (i % 24) / 24.0);
        for (int k = 0; k < 5; k++) {
            double v = cyc + 2 * noise();
            if (i >= 240 && i < 252)
                v += 4 * (i < 246 ? i - 239 : 252 - i); /* all of them, over hours */
            feed(e, sites[k], P_PM25, 'h', T0 + i * H, v, 'N');
        }
    }
    CHECK_EQ_INT(count(ENG_BASELINE, ENG_RAISE), 0);
    for (; i < 258; i++) {
        double cyc = 40 + 15 * sin(2 * PI * (i % 24) / 24.0);
        for (int k = 0; k < 5; k++)
            feed(e, sites[k], P_PM25, 'h', T0 + i * H,
                 cyc + 2 * noise() + (sites[k] == S_D ? 25 : 0), 'N');
    }
    CHECK_EQ_INT(count(ENG_BASELINE, ENG_RAISE), 1);
    CHECK_EQ_INT(find(ENG_BASELINE, ENG_RAISE)->site_id, S_D);
    eng_free(e);
}

/* Five stations that agree; C's PM2.5 and SO2 rise together (a plume);
 * E's PM2.5 alone departs (more likely its instrument): only C is raised. */
static void test_neighbour(struct dreg *r)
{
    struct eng *e = fresh(r);
    int sites[] = {S_A, S_B, S_C, S_D, S_E};
    const struct eng_event *ev;
    for (int i = 0; i < 60; i++) {
        double regional = 30 + 10 * sin(i / 7.0);
        for (int k = 0; k < 5; k++) {
            double v = regional + 1.5 * noise(), w = regional / 2 + 1.5 * noise();
            if (sites[k] == S_C && i >= 50 && i < 54) {
                v += 25;
                w += 20;
            }
            if (sites[k] == S_E && i >= 40 && i < 44)
                v += 25;
            feed(e, sites[k], P_PM25, 'h', T0 + i * H, v, 'N');
            feed(e, sites[k], P_SO2, 'h', T0 + i * H, w, 'N');
        }
    }
    CHECK(count(ENG_NEIGHBOUR, ENG_RAISE) >= 1);
    for (int i = 0; i < nev; i++)
        if (evs[i].rule == ENG_NEIGHBOUR && evs[i].action == ENG_RAISE)
            CHECK_EQ_INT(evs[i].site_id, S_C);
    ev = find(ENG_NEIGHBOUR, ENG_RAISE);
    CHECK(ev->ts >= T0 + 50 * H && ev->ts <= T0 + 51 * H);
    eng_free(e);
}

/* A vehicle passes a source: readings far above its background. */
static void test_hotspot(struct dreg *r)
{
    struct eng *e = fresh(r);
    const struct eng_event *ev;
    for (int i = 0; i < 120; i++) {
        struct eng_reading rd = {.site_id = S_MOB,
                                 .param_id = P_PM25,
                                 .period = 'r',
                                 .flag = 'N',
                                 .ts = T0 + i * 30LL * 1000000,
                                 .lat = 30 + i * 1e-4,
                                 .lon = 122.2};
        rd.value = 25 + noise() + (i >= 80 && i < 84 ? 60 : 0);
        eng_feed(e, &rd);
    }
    CHECK_EQ_INT(count(ENG_HOTSPOT, ENG_RAISE), 1);
    ev = find(ENG_HOTSPOT, ENG_RAISE);
    CHECK_EQ_INT(ev->ts, T0 + 81 * 30LL * 1000000);
    CHECK(fabs(ev->lat - (30 + 81e-4)) < 1e-9);
    CHECK_EQ_INT(count(ENG_HOTSPOT, ENG_CLEAR), 1);
    CHECK_EQ_INT(count(ENG_BASELINE, ENG_RAISE), 0);
    eng_free(e);
}

/* An alarm noted open at start is not raised again, and is cleared. */
static void test_note_open(struct dreg *r)
{
    struct eng *e = fresh(r);
    CHECK(eng_note_open(e, S_A, P_SO2, 'h', ENG_LIMIT, T0, 600, ENG_MINOR) == 0);
    feed(e, S_A, P_SO2, 'h', T0 + H, 700, 'N');
    CHECK_EQ_INT(count(ENG_LIMIT, ENG_RAISE), 0);
    feed(e, S_A, P_SO2, 'h', T0 + 2 * H, 100, 'N');
    CHECK_EQ_INT(count(ENG_LIMIT, ENG_CLEAR), 1);
    CHECK_EQ_INT(find(ENG_LIMIT, ENG_CLEAR)->opened, T0);
    eng_free(e);
}

/* Sets a default rule setting in the registry (this case's own copy). */
static void set_default(struct dreg *r, const char *rule, const char *name, double v)
{
    bool found = false;
    for (size_t i = 0; i < r->nsettings && !found; i++)
        if (strcmp(r->settings[i].rule, rule) == 0 && strcmp(r->settings[i].name, name) == 0 &&
            r->settings[i].kind < 0 && !r->settings[i].site_id && !r->settings[i].param_id) {
            r->settings[i].value = v;
            found = true;
        }
    CHECK(found);
}

/* A plume passes next to A: B, C and D rise in PM2.5 and SO2, A and E do
 * not. A and E look low against their neighbours' median but are ordinary
 * against their own history: no neighbour alarm for them. With the check
 * off (own_z 0) the same data raises A: the case exercises it. */
static int neighbour_passing_plume(struct dreg *r)
{
    struct eng *e = fresh(r);
    int sites[] = {S_A, S_B, S_C, S_D, S_E}, raised_ae = 0;
    for (int i = 0; i < 110; i++) {
        double regional = 30 + 10 * sin(i / 7.0);
        for (int k = 0; k < 5; k++) {
            double v = regional + 1.5 * noise(), w = regional / 2 + 1.5 * noise();
            bool hit = sites[k] == S_B || sites[k] == S_C || sites[k] == S_D;
            if (hit && i >= 100 && i < 105) {
                v += 40;
                w += 30;
            }
            feed(e, sites[k], P_PM25, 'h', T0 + i * H, v, 'N');
            feed(e, sites[k], P_SO2, 'h', T0 + i * H, w, 'N');
        }
    }
    for (int i = 0; i < nev; i++)
        if (evs[i].rule == ENG_NEIGHBOUR && evs[i].action == ENG_RAISE &&
            (evs[i].site_id == S_A || evs[i].site_id == S_E))
            raised_ae++;
    eng_free(e);
    return raised_ae;
}

static void test_neighbour_own(struct dreg *r)
{
    rng = 88172645463325252ULL;
    CHECK_EQ_INT(neighbour_passing_plume(r), 0);
    set_default(r, "neighbour", "own_z", 0);
    rng = 88172645463325252ULL;
    CHECK(neighbour_passing_plume(r) > 0);
}

/* A new 10-minute outlet series, steady at night (noise 0.15), whose load
 * ramps up by 2 over three hours from 09:00 and back down from 18:00. On
 * its first days the baseline has not yet seen these hours twice, and the
 * ramp makes long runs of moderate departures: no alarm. A real rise on
 * the fourth day is one. */
static double shift_load(int i)
{
    double hour = fmod(i / 6.0, 24), up = (hour - 9) / 3, down = (21 - hour) / 3;
    return 13.8 + 2 * fmax(0, fmin(1, fmin(up, down)));
}

static void test_baseline_cold_cycle(struct dreg *r)
{
    struct eng *e = fresh(r);
    int i;
    for (i = 0; i < 3 * 144; i++)
        feed(e, S_OUT, P_COD, 'm', T0 + i * 10 * MIN, shift_load(i) + 0.15 * noise(), 'N');
    CHECK_EQ_INT(count(ENG_BASELINE, ENG_RAISE), 0);
    for (int k = 0; k < 6; k++, i++)
        feed(e, S_OUT, P_COD, 'm', T0 + i * 10 * MIN, shift_load(i) + 6 + 0.15 * noise(), 'N');
    CHECK_EQ_INT(count(ENG_BASELINE, ENG_RAISE), 1);
    eng_free(e);
}

/* A slow fault: three weeks of a daily cycle, then the series drifts away
 * from it by a fifth of its noise an hour (a cooler failing). No single
 * step stands out and the rule's short scale widens with the departure;
 * summed against the scale of weeks (drift_k, drift_h) it is raised within
 * 48 hours (45 with the defaults of 0033, nine deviations out). Without
 * that sum, 60 hours of it (twelve deviations) raise nothing. Returns the
 * raise's time, or 0. */
static int64_t baseline_drift(struct dreg *r)
{
    struct eng *e = fresh(r);
    const struct eng_event *ev;
    int64_t at;
    int i;
    rng = 88172645463325252ULL;
    for (i = 0; i < 21 * 24; i++)
        feed(e, S_RIV, P_PM25, 'h', T0 + i * H, 40 + 5 * sin(2 * PI * (i % 24) / 24.0) + noise(),
             'N');
    CHECK_EQ_INT(count(ENG_BASELINE, ENG_RAISE), 0);
    for (int k = 1; k <= 60; k++, i++)
        feed(e, S_RIV, P_PM25, 'h', T0 + i * H,
             40 + 5 * sin(2 * PI * (i % 24) / 24.0) + 0.2 * k + noise(), 'N');
    ev = find(ENG_BASELINE, ENG_RAISE);
    at = ev ? ev->ts : 0;
    eng_free(e);
    return at;
}

static void test_baseline_drift(struct dreg *r)
{
    double was = dreg_setting(r, "baseline", "drift_h", dreg_site(r, S_RIV), P_PM25);
    int64_t at = baseline_drift(r);
    CHECK(was > 0);
    CHECK(at > T0 + 21 * 24 * H && at <= T0 + (21 * 24 + 48) * H);
    set_default(r, "baseline", "drift_h", 0);
    at = baseline_drift(r);
    set_default(r, "baseline", "drift_h", was);
    CHECK(at == 0);
}

/* A value stuck for a day (a frozen analyser: flatline) and then the
 * series' usual noise again: the noise is not a spike at every reading.
 * The repeats must not wear the spike rule's step scale down to nothing
 * (before they did: 72 spikes on NAB's art_daily_flatmiddle). */
static void test_spike_after_stuck(struct dreg *r)
{
    struct eng *e = fresh(r);
    int i, spikes;
    for (i = 0; i < 2 * 144; i++)
        feed(e, S_OUT, P_COD, 'm', T0 + i * 10 * MIN, 20 + 0.5 * noise(), 'N');
    for (; i < 3 * 144; i++)
        feed(e, S_OUT, P_COD, 'm', T0 + i * 10 * MIN, 20.0, 'N');
    spikes = count(ENG_SPIKE, ENG_RAISE);
    for (; i < 4 * 144; i++)
        feed(e, S_OUT, P_COD, 'm', T0 + i * 10 * MIN, 20 + 0.5 * noise(), 'N');
    CHECK_EQ_INT(count(ENG_SPIKE, ENG_RAISE), spikes);
    eng_free(e);
}

/* Repeats that come in clusters: a slow series quantised to 0.1 lingers
 * on a value for a few readings at a time (one to four repeats), and now
 * and then longer (twelve): its habit, not a stuck sensor, although twelve
 * independent repeats at its repeat rate would be unlikely. Stuck for five
 * hours, it is raised. */
static void test_flatline_clustered(struct dreg *r)
{
    struct eng *e = fresh(r);
    int i = 0, plateau = 0;
    double v = 50;
    while (i < 700) {
        int reps = ++plateau % 40 == 0 ? 12 : 1 + plateau % 4;
        for (int k = 0; k < 6; k++, i++) {
            v = round(10 * (v + (noise() > 0 ? 1 : -1) * (k ? 0.3 : 0.1))) / 10;
            feed(e, S_OUT, P_COD, 'm', T0 + i * 10 * MIN, v, 'N');
        }
        for (int k = 0; k < reps; k++, i++)
            feed(e, S_OUT, P_COD, 'm', T0 + i * 10 * MIN, v, 'N');
    }
    CHECK_EQ_INT(count(ENG_FLATLINE, ENG_RAISE), 0);
    for (int k = 0; k < 30; k++, i++)
        feed(e, S_OUT, P_COD, 'm', T0 + i * 10 * MIN, v, 'N');
    CHECK_EQ_INT(count(ENG_FLATLINE, ENG_RAISE), 1);
    eng_free(e);
}

/* A spike in a new series, before the usual step is known: its second
 * reading six times the first and the third, which agree. Raised at its
 * own time. An early series that moves about (a value doubling, or one far
 * out while its neighbours disagree as much) is not a spike. */
static void test_spike_new_series(struct dreg *r)
{
    struct eng *e = fresh(r);
    static const double spiky[] = {41.1, 244.1, 40.3, 43, 45.7, 48.3};
    static const double moving[] = {20, 45, 21, 60, 150, 30, 90, 12, 35, 33};
    for (int i = 0; i < 6; i++)
        feed(e, S_A, P_PM25, 'h', T0 + i * H, spiky[i], 'N');
    CHECK_EQ_INT(count(ENG_SPIKE, ENG_RAISE), 1);
    CHECK_EQ_INT(find(ENG_SPIKE, ENG_RAISE)->ts, T0 + H);
    CHECK(find(ENG_SPIKE, ENG_RAISE)->value == 244.1);
    CHECK_EQ_INT(find(ENG_SPIKE, ENG_CLEAR)->ts, T0 + 2 * H);
    eng_free(e);
    e = fresh(r);
    for (int i = 0; i < 10; i++)
        feed(e, S_B, P_PM25, 'h', T0 + i * H, moving[i], 'N');
    CHECK_EQ_INT(count(ENG_SPIKE, ENG_RAISE), 0);
    eng_free(e);
}

/* A vehicle's duty ends in the clean evening air (PM2.5 about 25) and
 * starts the next morning in the rush hour (about 45, steady): a new trip,
 * not a hotspot. A source it passes later that morning is one. */
static void test_hotspot_new_trip(struct dreg *r)
{
    struct eng *e = fresh(r);
    int64_t morning = T0 + 24 * H + 7 * H + 30 * MIN;
    for (int i = 0; i < 120; i++) {
        struct eng_reading rd = {.site_id = S_MOB,
                                 .param_id = P_PM25,
                                 .period = 'r',
                                 .flag = 'N',
                                 .ts = T0 + 17 * H + i * 30LL * 1000000,
                                 .lat = 30,
                                 .lon = 122.2};
        rd.value = 25 + noise();
        eng_feed(e, &rd);
    }
    for (int i = 0; i < 120; i++) {
        struct eng_reading rd = {.site_id = S_MOB,
                                 .param_id = P_PM25,
                                 .period = 'r',
                                 .flag = 'N',
                                 .ts = morning + i * 30LL * 1000000,
                                 .lat = 30 + i * 1e-4,
                                 .lon = 122.2};
        rd.value = 45 + noise() + (i >= 80 && i < 84 ? 90 : 0);
        eng_feed(e, &rd);
    }
    CHECK_EQ_INT(count(ENG_HOTSPOT, ENG_RAISE), 1);
    CHECK_EQ_INT(find(ENG_HOTSPOT, ENG_RAISE)->ts, morning + 81 * 30LL * 1000000);
    eng_free(e);
}

/* A wastewater pH on its first morning (10-minute values of the 7-day
 * bench): it drifts down, then sits at 7.47 for an hour and a half at the
 * bottom of its daily cycle. After five hours of history that looks stuck;
 * it is the series' plateau, and its long healthy runs are not known before
 * it has been seen for a day (flatline warmup_days, migration 0023). With
 * the setting off the same data raises. */
static int flatline_first_day(struct dreg *r)
{
    static const double ph[] = {7.62, 7.62, 7.62, 7.61, 7.61, 7.6,  7.59, 7.59, 7.58, 7.57,
                                7.56, 7.55, 7.54, 7.53, 7.52, 7.51, 7.5,  7.5,  7.49, 7.48,
                                7.48, 7.47, 7.47, 7.46, 7.47, 7.47, 7.47, 7.47, 7.47, 7.47,
                                7.47, 7.47, 7.47, 7.47, 7.48, 7.48, 7.47, 7.48, 7.48, 7.48};
    struct eng *e = fresh(r);
    int n;
    for (int i = 0; i < (int)(sizeof(ph) / sizeof(ph[0])); i++)
        feed(e, S_OUT, P_COD, 'm', T0 + i * 10 * MIN, ph[i], 'N');
    n = count(ENG_FLATLINE, ENG_RAISE);
    eng_free(e);
    return n;
}

static void test_flatline_first_day(struct dreg *r)
{
    CHECK_EQ_INT(flatline_first_day(r), 0);
    set_default(r, "flatline", "warmup_days", 0);
    CHECK_EQ_INT(flatline_first_day(r), 1);
}

/* A river station's hourly COD against its daily class limit (20): two
 * hours over it at the top of the day's cycle do not put the day over the
 * limit; three in a row raise (limit min_minutes 180 for water and sea,
 * migration 0023), at the third. */
static void test_limit_class_daily(struct dreg *r)
{
    struct eng *e = fresh(r);
    static const double v[] = {15, 18, 20.5, 21, 19, 16, 14, 17, 22, 25, 27, 24, 16};
    for (int i = 0; i < 8; i++)
        feed(e, S_RIV, P_COD, 'h', T0 + i * H, v[i], 'N');
    CHECK_EQ_INT(count(ENG_LIMIT, ENG_RAISE), 0);
    for (int i = 8; i < 13; i++)
        feed(e, S_RIV, P_COD, 'h', T0 + i * H, v[i], 'N');
    CHECK_EQ_INT(count(ENG_LIMIT, ENG_RAISE), 1);
    CHECK(find(ENG_LIMIT, ENG_RAISE)->limit == 20);
    CHECK(find(ENG_LIMIT, ENG_RAISE)->ts >= T0 + 8 * H);
    eng_free(e);
}

/* Air pressure in calm weather: every station of the region sits on its
 * value for six hours at once. The weather, not five stuck sensors: no
 * flatline. Later A alone holds its value while the others move: A is
 * stuck. */
static void test_flatline_regional(struct dreg *r)
{
    struct eng *e = fresh(r);
    int sites[] = {S_A, S_B, S_C, S_D, S_E}, i;
    double held[5];
    for (i = 0; i < 200; i++)
        for (int k = 0; k < 5; k++)
            feed(e, sites[k], P_PM25, 'h', T0 + i * H, held[k] = 30 + k + 5 * noise(), 'N');
    CHECK_EQ_INT(count(ENG_FLATLINE, ENG_RAISE), 0);
    for (int j = 0; j < 6; j++, i++)
        for (int k = 0; k < 5; k++)
            feed(e, sites[k], P_PM25, 'h', T0 + i * H, held[k], 'N');
    CHECK_EQ_INT(count(ENG_FLATLINE, ENG_RAISE), 0);
    for (int j = 0; j < 30; j++, i++)
        for (int k = 0; k < 5; k++)
            feed(e, sites[k], P_PM25, 'h', T0 + i * H, k ? 30 + k + 5 * noise() : held[0], 'N');
    CHECK_EQ_INT(count(ENG_FLATLINE, ENG_RAISE), 1);
    CHECK_EQ_INT(find(ENG_FLATLINE, ENG_RAISE)->site_id, S_A);
    eng_free(e);
}

/* The same calm spell over outlying islands: five stations 35-40 km apart
 * (Shengsi's), none with two others inside the neighbour rule's 30 km. All
 * five sit on the region's air pressure for eight hours at once: the
 * weather, found among the stations within flatline regional_km. Then one
 * alone holds its value: stuck. With regional_km at the neighbours' 30 km
 * the calm spell raised five flatlines. Returns the raises of the spell. */
static int flatline_islands(double regional_km, int *stuck_raised)
{
    struct dreg r;
    struct eng *e;
    char why[256];
    int i, n, sites[5];
    double held[5];
    dreg_init(&r);
    r.sites = calloc(5, sizeof(*r.sites));
    r.params = calloc(1, sizeof(*r.params));
    CHECK(r.sites && r.params);
    for (int k = 0; k < 5; k++) {
        char code[8];
        snprintf(code, sizeof(code), "I%d", k);
        add_site(&r, sites[k] = 10 + k, code, DREG_AIR, 30.70 + 0.05 * (k % 2), 122.0 + 0.4 * k);
    }
    add_param(&r, P_PM25, "pressure", 0, 2000);
    load_settings(&r);
    set_default(&r, "flatline", "regional_km", regional_km);
    CHECK(dreg_finish(&r, why, sizeof(why)) == 0);
    CHECK(r.sites[0].nneighbours < 2);
    nev = 0;
    CHECK(eng_new(&r, 100000, on_event, NULL, &e) == 0);
    rng = 88172645463325252ULL;
    for (i = 0; i < 200; i++)
        for (int k = 0; k < 5; k++)
            feed(e, sites[k], P_PM25, 'h', T0 + i * H,
                 held[k] = round(100 * (1012 + 3 * sin(i / 20.0) + 0.4 * noise())) / 100, 'N');
    CHECK_EQ_INT(count(ENG_FLATLINE, ENG_RAISE), 0);
    for (int j = 0; j < 8; j++, i++)
        for (int k = 0; k < 5; k++)
            feed(e, sites[k], P_PM25, 'h', T0 + i * H, held[k], 'N');
    n = count(ENG_FLATLINE, ENG_RAISE);
    for (int j = 0; j < 30; j++, i++)
        for (int k = 0; k < 5; k++)
            feed(e, sites[k], P_PM25, 'h', T0 + i * H,
                 k ? round(100 * (1012 + 3 * sin(i / 20.0) + 0.4 * noise())) / 100 : held[0], 'N');
    *stuck_raised = count(ENG_FLATLINE, ENG_RAISE) - n;
    eng_free(e);
    dreg_close(&r);
    return n;
}

static void test_flatline_islands(struct dreg *r)
{
    int stuck;
    (void)r;
    CHECK_EQ_INT(flatline_islands(100, &stuck), 0);
    CHECK_EQ_INT(stuck, 1);
    CHECK_EQ_INT(flatline_islands(30, &stuck), 5);
}

/* A vehicle's ozone: lowest on the busy road where its duty starts (NO
 * from exhaust consumes it), ordinary on the streets after, rising in the
 * morning sun. No hotspot for ozone; the same readings as PM2.5 would be
 * one (the case exercises the rule). */
static int vehicle_morning(struct dreg *r, int param)
{
    struct eng *e = fresh(r);
    int n;
    for (int i = 0; i < 240; i++) {
        struct eng_reading rd = {.site_id = S_MOB,
                                 .param_id = param,
                                 .period = 'r',
                                 .flag = 'N',
                                 .ts = T0 + 7 * H + 30 * MIN + i * 30LL * 1000000,
                                 .lat = 30 + i * 1e-4,
                                 .lon = 122.2};
        rd.value = (i < 30 ? 12 : 30) + i * 0.1 + noise();
        eng_feed(e, &rd);
    }
    n = count(ENG_HOTSPOT, ENG_RAISE);
    eng_free(e);
    return n;
}

/* A northerly wind at five stations, hourly whole degrees, swinging across
 * north (359 and 2 are three degrees apart) for ten days: no spike, no
 * baseline and no neighbour alarm. Then A's vane sticks for eight hours
 * while the others move: a flatline. */
static void test_circular(struct dreg *r)
{
    struct eng *e = fresh(r);
    int sites[] = {S_A, S_B, S_C, S_D, S_E}, i;
    for (i = 0; i < 240; i++)
        for (int k = 0; k < 5; k++) {
            double d = 20 * sin(2 * PI * i / 30.0) + 12 * noise();
            feed(e, sites[k], P_WD, 'h', T0 + i * H, fmod(round(d) + 360, 360), 'N');
        }
    CHECK_EQ_INT(count(ENG_SPIKE, ENG_RAISE), 0);
    CHECK_EQ_INT(count(ENG_BASELINE, ENG_RAISE), 0);
    CHECK_EQ_INT(count(ENG_NEIGHBOUR, ENG_RAISE), 0);
    CHECK_EQ_INT(count(ENG_FLATLINE, ENG_RAISE), 0);
    for (int n = 0; n < 8; n++, i++)
        for (int k = 0; k < 5; k++) {
            double d = k ? 20 * sin(2 * PI * i / 30.0) + 12 * noise() : 7;
            feed(e, sites[k], P_WD, 'h', T0 + i * H, fmod(round(d) + 360, 360), 'N');
        }
    CHECK_EQ_INT(count(ENG_FLATLINE, ENG_RAISE), 1);
    CHECK(find(ENG_FLATLINE, ENG_RAISE)->site_id == S_A);
    eng_free(e);
}

static void test_hotspot_ozone(struct dreg *r)
{
    CHECK_EQ_INT(vehicle_morning(r, P_O3), 0);
    CHECK(vehicle_morning(r, P_PM25) > 0);
}

/* Every case gets the registry main builds (a copy, in its own process). */
static struct dreg reg;
#define ON_REG(fn)                                                                                 \
    static void fn##_case(void)                                                                    \
    {                                                                                              \
        fn(&reg);                                                                                  \
    }
ON_REG(test_limit)
ON_REG(test_quality)
ON_REG(test_offline)
ON_REG(test_baseline)
ON_REG(test_regional)
ON_REG(test_neighbour)
ON_REG(test_hotspot)
ON_REG(test_note_open)
ON_REG(test_neighbour_own)
ON_REG(test_baseline_cold_cycle)
ON_REG(test_baseline_drift)
ON_REG(test_spike_after_stuck)
ON_REG(test_flatline_clustered)
ON_REG(test_spike_new_series)
ON_REG(test_hotspot_new_trip)
ON_REG(test_flatline_first_day)
ON_REG(test_limit_class_daily)
ON_REG(test_flatline_regional)
ON_REG(test_hotspot_ozone)
ON_REG(test_circular)
ON_REG(test_baseline_cold_spike)
ON_REG(test_flatline_islands)
ON_REG(test_baseline_square)
ON_REG(test_spike_flat_start)
ON_REG(test_flatline_settled)

static const struct check_case cases[] = {
    {"test_limit", test_limit_case},
    {"test_quality", test_quality_case},
    {"test_offline", test_offline_case},
    {"test_baseline", test_baseline_case},
    {"test_regional", test_regional_case},
    {"test_neighbour", test_neighbour_case},
    {"test_hotspot", test_hotspot_case},
    {"test_note_open", test_note_open_case},
    {"test_neighbour_own", test_neighbour_own_case},
    {"test_baseline_cold_cycle", test_baseline_cold_cycle_case},
    {"test_baseline_drift", test_baseline_drift_case},
    {"test_spike_after_stuck", test_spike_after_stuck_case},
    {"test_flatline_clustered", test_flatline_clustered_case},
    {"test_spike_new_series", test_spike_new_series_case},
    {"test_hotspot_new_trip", test_hotspot_new_trip_case},
    {"test_flatline_first_day", test_flatline_first_day_case},
    {"test_limit_class_daily", test_limit_class_daily_case},
    {"test_flatline_regional", test_flatline_regional_case},
    {"test_hotspot_ozone", test_hotspot_ozone_case},
    {"test_circular", test_circular_case},
    {"test_baseline_cold_spike", test_baseline_cold_spike_case},
    {"test_flatline_islands", test_flatline_islands_case},
    {"test_baseline_square", test_baseline_square_case},
    {"test_spike_flat_start", test_spike_flat_start_case},
    {"test_flatline_settled", test_flatline_settled_case},
};

int main(int argc, char **argv)
{
    int rc;

    build(&reg);
    rc = CHECK_MAIN(argc, argv, cases);
    dreg_close(&reg);
    return rc;
}
