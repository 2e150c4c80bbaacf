/* bench_detect_engine: eco-detect's rules alone, on one core: N sites x P
 * parameters of hourly series (100 000 series by default), every rule on,
 * fed in data time. Prints readings per CPU second, alarm transitions and
 * the peak RSS (the memory goal is stated for 100 000 series).
 *
 *   bench_detect_engine [SITES=10000] [PARAMS=10] [HOURS=48]
 *
 * Needs ECO_SOURCE_DIR (for the default settings in the migration); the
 * build defines it. */
#include "detectreg.h"
#include "engine.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static uint64_t events;

static void on_event(void *ud, const struct eng_event *ev)
{
    (void)ud;
    (void)ev;
    events++;
}

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static double uniform(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

int main(int argc, char **argv)
{
    int nsites = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 10000;
    int nparams = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 10;
    int hours = argc > 3 ? (int)strtol(argv[3], NULL, 10) : 48;
    struct dreg r;
    struct eng *e;
    struct eng_stats st;
    struct rusage ru;
    char why[256];
    clock_t c0, c1;
    uint64_t fed = 0;
    double secs;
    const int64_t h = 3600LL * 1000000, t0 = 1717171200LL * 1000000;

    if (nsites < 1 || nparams < 1 || nparams > 1000 || hours < 1)
        return 2;
    dreg_init(&r);
    r.sites = calloc((size_t)nsites, sizeof(*r.sites));
    r.params = calloc((size_t)nparams, sizeof(*r.params));
    r.limits = calloc((size_t)nparams, sizeof(*r.limits));
    if (!r.sites || !r.params || !r.limits)
        return 1;
    for (int i = 0; i < nsites; i++) {
        char code[32];
        snprintf(code, sizeof(code), "s%d", i);
        /* a grid 2 km apart: every station has neighbours */
        add_site(&r, i + 1, code, DREG_AIR, 29 + (i / 100) * 0.018, 121 + (i % 100) * 0.02);
    }
    for (int p = 0; p < nparams; p++) {
        char code[32];
        snprintf(code, sizeof(code), "p%d", p);
        add_param(&r, p + 1, code, 0, 10000);
        add_limit(&r, 0, DREG_AIR, p + 1, 'h', 500);
    }
    load_settings(&r);
    if (dreg_finish(&r, why, sizeof(why))) {
        fprintf(stderr, "bench_detect_engine: %s\n", why);
        return 1;
    }
    if (eng_new(&r, (size_t)nsites * (size_t)nparams + 16, on_event, NULL, &e))
        return 1;
    c0 = clock();
    for (int t = 0; t < hours; t++)
        for (int s = 0; s < nsites; s++)
            for (int p = 0; p < nparams; p++) {
                struct eng_reading rd = {.site_id = s + 1,
                                         .param_id = p + 1,
                                         .period = 'h',
                                         .flag = 'N',
                                         .ts = t0 + t * h,
                                         .lat = NAN,
                                         .lon = NAN};
                rd.value = 40 + 10 * uniform() + (uniform() < 0.001 ? 600 : 0);
                eng_feed(e, &rd);
                fed++;
            }
    c1 = clock();
    secs = (double)(c1 - c0) / CLOCKS_PER_SEC;
    eng_stats(e, &st);
    getrusage(RUSAGE_SELF, &ru);
    printf("detect engine: series=%zu readings=%llu cpu=%.2f s rate=%.0f readings/s "
           "transitions=%llu peak_rss=%ld MB\n",
           st.series, (unsigned long long)fed, secs, (double)fed / secs, (unsigned long long)events,
           ru.ru_maxrss / 1024);
    eng_free(e);
    dreg_close(&r);
    return 0;
}
