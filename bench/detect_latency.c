/* bench_detect_latency: how long from a reading's publish to its alarm's
 * publish, live through eco-ingest and eco-detect (bench/detect_latency.sh).
 *
 *   bench_detect_latency [--rate R] [--seconds S] [--devices D] [--prefix P]
 *                        [--start RFC3339] [--independent]
 *
 * Publishes R readings a second (messages of 5 values: so2, pm25, pm10, no2,
 * co) for S seconds, round robin over devices P0..P(D-1), each message the
 * next hour of its device. Every tenth message of a device carries so2 = 900
 * (over the 500 limit the script loads) and the next one 100, so its alarm
 * is raised and cleared: all devices in the same data hour (a storm of
 * simultaneous raises), or with --independent each in its own. Times, for each raised alarm:
 * publish -> the obs message of ingest (ingest's share), publish -> the alarm event (the whole
 * path) and, per raise, its obs message -> its alarm event (detect's share); prints their
 * p50/p99/max. ECO_BENCH_LAT_DUMP=FILE writes each raise's two latencies in arrival order.
 * Settings: ECO_MQTT_URL, ECO_MQTT_USER, ECO_MQTT_PASSWORD (an account that may publish eco/v1/in/#
 * and read eco/v1/obs/# and eco/v1/alarm/#). */
#include "etime.h"
#include "mq.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define MAX_SAMPLES 200000

struct lat {
    uv_loop_t *loop;
    struct mq *mq;
    uv_timer_t tick;
    unsigned devices, rate, seconds;
    const char *prefix;
    int64_t start_us;
    uint64_t sent, per_tick_due;
    double t0, t_end;
    unsigned *next_hour; /* per device */
    double *pub_at;      /* [device * hours + hour]: publish time of an over-limit message */
    double *obs_at;
    double *alarm_at; /* the first raised event of the slot */
    uint64_t repeats; /* raised events for a slot already seen */
    unsigned hours;
    double *total, *ingest_part, *detect_part, *detect_sorted;
    size_t ntotal, ningest, ndetect;
    bool closing;
    bool independent;
};

static const char *find(const char *h, size_t hlen, const char *n)
{
    size_t nlen = strlen(n);
    for (size_t i = 0; i + nlen <= hlen; i++)
        if (memcmp(h + i, n, nlen) == 0)
            return h + i;
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void publish_one(struct lat *l)
{
    char topic[128], msg[512], ts[ETIME_RFC3339_MAX];
    unsigned dev = (unsigned)(l->sent % l->devices), h = l->next_hour[dev];
    /* together: every device over the limit in the same data hour (a storm
     * of simultaneous raises); independent: each device in its own */
    double so2 = (h + (l->independent ? dev : 0)) % 10 == 5 ? 900 : 100;
    int n;
    if (h >= l->hours)
        return;
    etime_format(l->start_us + (int64_t)h * 3600 * ETIME_US_PER_SEC, ETIME_BEIJING_OFFSET, ts,
                 sizeof(ts));
    snprintf(topic, sizeof(topic), "eco/v1/in/%s%u", l->prefix, dev);
    n = snprintf(msg, sizeof(msg),
                 "{\"ts\":\"%s\",\"period\":\"hour\",\"values\":{\"so2\":%g,\"pm25\":%u,"
                 "\"pm10\":%u,\"no2\":%u,\"co\":0.%u}}",
                 ts, so2, 20 + h % 7, 40 + h % 11, 30 + h % 5, 5 + h % 4);
    if (mq_publish(l->mq, topic, msg, (size_t)n, 1, false, NULL))
        return; /* window full: the next tick tries again */
    if (so2 > 500)
        l->pub_at[(size_t)dev * l->hours + h] = now_s();
    l->next_hour[dev] = h + 1;
    l->sent++;
}

static void on_tick(uv_timer_t *t)
{
    struct lat *l = t->data;
    double now = now_s();
    uint64_t due;
    if (l->closing)
        return;
    if (now - l->t0 > l->seconds + 5) {
        l->closing = true;
        uv_timer_stop(&l->tick);
        uv_close((uv_handle_t *)&l->tick, NULL);
        mq_close(l->mq, NULL);
        return;
    }
    if (now - l->t0 > l->seconds)
        return;
    /* messages of 5 readings: rate / 5 messages a second */
    due = (uint64_t)((now - l->t0) * l->rate / 5);
    while (l->sent < due) {
        uint64_t before = l->sent;
        publish_one(l);
        if (l->sent == before)
            break;
    }
}

/* site P<dev> and the reading time in a payload -> the slot; -1 if not ours */
static long slot_of(struct lat *l, const char *topic, const char *p, size_t len, int depth)
{
    const char *site = topic + strlen(depth == 3 ? "eco/v1/obs/" : "eco/v1/alarm/"), *q;
    char buf[64];
    size_t plen = strlen(l->prefix);
    unsigned long dev;
    int64_t us;
    if (strncmp(site, l->prefix, plen) != 0)
        return -1;
    dev = strtoul(site + plen, NULL, 10);
    /* the alarm's ts (or the first readings object's ts) */
    q = find(p, len, "\"ts\":\"");
    if (!q || dev >= l->devices)
        return -1;
    q += 6;
    {
        const char *e = memchr(q, '"', len - (size_t)(q - p));
        if (!e || (size_t)(e - q) >= sizeof(buf))
            return -1;
        memcpy(buf, q, (size_t)(e - q));
        buf[e - q] = 0;
    }
    if (etime_parse_rfc3339(buf, strlen(buf), &us, NULL))
        return -1;
    us = (us - l->start_us) / (3600 * ETIME_US_PER_SEC);
    if (us < 0 || us >= l->hours)
        return -1;
    return (long)(dev * l->hours + (unsigned long)us);
}

static void on_message(void *ud, const struct mq_msg *m)
{
    struct lat *l = ud;
    double now = now_s();
    long s;
    if (strncmp(m->topic, "eco/v1/obs/", 11) == 0) {
        if ((s = slot_of(l, m->topic, m->payload, m->len, 3)) >= 0 && l->pub_at[s] > 0 &&
            l->obs_at[s] == 0) {
            l->obs_at[s] = now;
            if (l->ningest < MAX_SAMPLES)
                l->ingest_part[l->ningest++] = now - l->pub_at[s];
        }
    } else if (find(m->payload, m->len, "\"state\":\"raised\"") &&
               find(m->payload, m->len, "\"rule\":\"limit\"")) {
        /* only the limit alarms this program causes: the first storms also
         * raise `spike` (a device fault) on the same readings, a second
         * alarm that is not this reading's latency */
        if ((s = slot_of(l, m->topic, m->payload, m->len, 4)) >= 0 && l->alarm_at[s] > 0) {
            l->repeats++;
        } else if (s >= 0 && l->pub_at[s] > 0 && l->ntotal < MAX_SAMPLES) {
            l->alarm_at[s] = now;
            /* detect's share of this raise: its obs message to its alarm
             * event, both as this client saw them (-1: obs not seen) */
            l->detect_part[l->ntotal] = l->obs_at[s] > 0 ? now - l->obs_at[s] : -1;
            if (l->obs_at[s] > 0)
                l->detect_sorted[l->ndetect++] = now - l->obs_at[s];
            l->total[l->ntotal++] = now - l->pub_at[s];
        }
    }
}

static void on_state(void *ud, bool up)
{
    struct lat *l = ud;
    if (up && l->t0 == 0) {
        l->t0 = now_s();
        uv_timer_start(&l->tick, on_tick, 10, 10);
    }
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const char *what, double *v, size_t n)
{
    if (!n) {
        printf("%s: no samples\n", what);
        return;
    }
    qsort(v, n, sizeof(*v), cmp_d);
    printf("%s: n=%zu p50=%.1f ms p99=%.1f ms max=%.1f ms\n", what, n, v[n / 2] * 1e3,
           v[(size_t)((double)(n - 1) * 0.99)] * 1e3, v[n - 1] * 1e3);
}

int main(int argc, char **argv)
{
    struct lat l = {.devices = 100, .rate = 10000, .seconds = 20, .prefix = "lat"};
    const char *start = NULL;
    struct mq_opts mo = {0};
    struct mq_cbs cbs = {.on_message = on_message, .on_state = on_state};
    uv_loop_t loop;
    char id[64];
    for (int i = 1; i < argc; i += 2) {
        if (strcmp(argv[i], "--independent") == 0) {
            l.independent = true;
            i--;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "bench_detect_latency: %s needs a value\n", argv[i]);
            return 2;
        }
        if (strcmp(argv[i], "--rate") == 0)
            l.rate = (unsigned)strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--seconds") == 0)
            l.seconds = (unsigned)strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--devices") == 0)
            l.devices = (unsigned)strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--prefix") == 0)
            l.prefix = argv[i + 1];
        else if (strcmp(argv[i], "--start") == 0)
            start = argv[i + 1];
        else {
            fprintf(stderr, "bench_detect_latency: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (!l.devices || !l.rate || !l.seconds || !getenv("ECO_MQTT_URL"))
        return 2;
    if (start) {
        if (etime_parse_rfc3339(start, strlen(start), &l.start_us, NULL))
            return 2;
    } else {
        /* hourly data ending about now: the rules see recent, plausible times */
        l.hours = (unsigned)((uint64_t)l.rate / 5 * l.seconds / l.devices + 1);
        l.start_us =
            (etime_now_us() / (3600 * ETIME_US_PER_SEC) - l.hours - 1) * 3600 * ETIME_US_PER_SEC;
    }
    l.hours = (unsigned)((uint64_t)l.rate / 5 * l.seconds / l.devices + 1);
    l.next_hour = calloc(l.devices, sizeof(*l.next_hour));
    l.pub_at = calloc((size_t)l.devices * l.hours, sizeof(double));
    l.obs_at = calloc((size_t)l.devices * l.hours, sizeof(double));
    l.alarm_at = calloc((size_t)l.devices * l.hours, sizeof(double));
    l.total = calloc(MAX_SAMPLES, sizeof(double));
    l.ingest_part = calloc(MAX_SAMPLES, sizeof(double));
    l.detect_part = calloc(MAX_SAMPLES, sizeof(double));
    l.detect_sorted = calloc(MAX_SAMPLES, sizeof(double));
    if (!l.next_hour || !l.pub_at || !l.obs_at || !l.alarm_at || !l.total || !l.ingest_part ||
        !l.detect_part || !l.detect_sorted)
        return 1;
    snprintf(id, sizeof(id), "bench-detect-latency-%d", (int)getpid());
    mo.url = getenv("ECO_MQTT_URL");
    mo.user = getenv("ECO_MQTT_USER");
    mo.password = getenv("ECO_MQTT_PASSWORD");
    mo.client_id = id;
    mo.max_outstanding = 1000;
    mq_global_init();
    uv_loop_init(&loop);
    l.loop = &loop;
    uv_timer_init(&loop, &l.tick);
    l.tick.data = &l;
    if (mq_new(&loop, &mo, &cbs, &l, &l.mq) || mq_subscribe(l.mq, "eco/v1/obs/+", 1) ||
        mq_subscribe(l.mq, "eco/v1/alarm/+/so2", 1) || mq_start(l.mq))
        return 1;
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    mq_global_cleanup();
    printf("published %llu messages (%llu readings) in %u s\n", (unsigned long long)l.sent,
           (unsigned long long)l.sent * 5, l.seconds);
    {
        /* each raise in the order the events arrived: publish -> alarm and
         * obs -> alarm (detect's share; -1 when its obs was not seen), s */
        const char *dump = getenv("ECO_BENCH_LAT_DUMP");
        FILE *f = dump && *dump ? fopen(dump, "w") : NULL;
        for (size_t i = 0; f && i < l.ntotal; i++)
            fprintf(f, "%.6f %.6f\n", l.total[i], l.detect_part[i]);
        if (f)
            fclose(f);
    }
    report("publish -> obs (ingest)", l.ingest_part, l.ningest);
    report("publish -> alarm (ingest + detect)", l.total, l.ntotal);
    report("obs -> alarm (detect, per raise)", l.detect_sorted, l.ndetect);
    printf("limit raised events repeated (seen twice for one reading): %llu\n",
           (unsigned long long)l.repeats);
    free(l.next_hour);
    free(l.pub_at);
    free(l.obs_at);
    free(l.alarm_at);
    free(l.total);
    free(l.ingest_part);
    free(l.detect_part);
    free(l.detect_sorted);
    return 0;
}
