/* bench_ingest: a fast, exact QoS 1 publisher of canonical readings, for the
 * ingest benchmark (bench/ingest.sh) and the tests that count readings.
 *
 *   bench_ingest --count N [--devices D] [--prefix P] [--values K]
 *                [--start RFC3339] [--step-s S] [--offset I]
 *
 * Message i goes to eco/v1/in/<P><i mod D> with ts = start + (i div D) * S,
 * period "rt" and K values (pm25, pm10, so2, no2, o3, co): every (device, ts)
 * is distinct, so N messages are N*K distinct readings. Each publish is
 * acknowledged by the broker before the program exits (unlike mosquitto_pub
 * -l, which loses messages at QoS 1). Settings: ECO_MQTT_URL, ECO_MQTT_USER,
 * ECO_MQTT_PASSWORD. Prints one logfmt summary line on stdout. */
#include "elog.h"
#include "etime.h"
#include "mq.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

struct pub {
    uv_loop_t *loop;
    struct mq *mq;
    uint64_t count, next, acked, offset;
    unsigned devices, values;
    const char *prefix;
    int64_t start_us, step_us;
    double t0;
    bool done;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *const pnames[] = {"pm25", "pm10", "so2", "no2", "o3", "co"};

static void pump(struct pub *p)
{
    char topic[128], msg[512], ts[ETIME_RFC3339_MAX];

    while (p->next < p->count) {
        uint64_t i = p->next + p->offset;
        int n, rc;
        etime_format(p->start_us + (int64_t)(i / p->devices) * p->step_us, ETIME_BEIJING_OFFSET, ts,
                     sizeof(ts));
        snprintf(topic, sizeof(topic), "eco/v1/in/%s%u", p->prefix, (unsigned)(i % p->devices));
        n = snprintf(msg, sizeof(msg), "{\"ts\":\"%s\",\"period\":\"rt\",\"values\":{", ts);
        for (unsigned k = 0; k < p->values; k++)
            n += snprintf(msg + n, sizeof(msg) - (size_t)n, "%s\"%s\":%.1f", k ? "," : "",
                          pnames[k], 10.0 + (double)((i * 7 + k * 13) % 900) / 10.0);
        n += snprintf(msg + n, sizeof(msg) - (size_t)n, "}}");
        rc = mq_publish(p->mq, topic, msg, (size_t)n, 1, false, NULL);
        if (rc == -EAGAIN || rc == -ENOTCONN)
            return; /* window full or away: on_published / on_state resume */
        if (rc) {
            fprintf(stderr, "bench_ingest: publish failed: %s\n", strerror(-rc));
            exit(1);
        }
        p->next++;
    }
}

static void on_state(void *ud, bool up)
{
    struct pub *p = ud;
    if (up) {
        if (p->t0 == 0)
            p->t0 = now_s();
        pump(p);
    }
}

static void closed(void *ud)
{
    (void)ud;
}

static void on_published(void *ud, int mid)
{
    struct pub *p = ud;
    (void)mid;
    p->acked++;
    if (p->acked >= p->count && !p->done) {
        double dt = now_s() - p->t0;
        p->done = true;
        printf("published=%llu readings=%llu seconds=%.3f msg_per_s=%.0f\n",
               (unsigned long long)p->count, (unsigned long long)(p->count * p->values), dt,
               dt > 0 ? (double)p->count / dt : 0);
        fflush(stdout);
        mq_close(p->mq, closed);
        return;
    }
    pump(p);
}

int main(int argc, char **argv)
{
    struct pub p = {.count = 1000,
                    .devices = 100,
                    .values = 1,
                    .prefix = "bench",
                    .step_us = 60 * ETIME_US_PER_SEC};
    const char *start = "2021-06-01T00:00:00+08:00";
    const char *url = getenv("ECO_MQTT_URL");
    char id[64];
    uv_loop_t loop;

    /* options come in pairs: name and value */
    for (int i = 1; i < argc; i += 2) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "bench_ingest: %s needs a value\n", argv[i]);
            return 2;
        }
        if (strcmp(argv[i], "--count") == 0)
            p.count = strtoull(v, NULL, 10);
        else if (strcmp(argv[i], "--devices") == 0)
            p.devices = (unsigned)strtoul(v, NULL, 10);
        else if (strcmp(argv[i], "--prefix") == 0)
            p.prefix = v;
        else if (strcmp(argv[i], "--values") == 0)
            p.values = (unsigned)strtoul(v, NULL, 10);
        else if (strcmp(argv[i], "--start") == 0)
            start = v;
        else if (strcmp(argv[i], "--step-s") == 0)
            p.step_us = strtoll(v, NULL, 10) * ETIME_US_PER_SEC;
        else if (strcmp(argv[i], "--offset") == 0)
            p.offset = strtoull(v, NULL, 10);
        else {
            fprintf(stderr, "bench_ingest: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (!p.devices || p.values < 1 || p.values > 6 || !url || !p.count ||
        etime_parse_rfc3339(start, strlen(start), &p.start_us, NULL)) {
        fprintf(stderr, "bench_ingest: bad arguments or ECO_MQTT_URL unset\n");
        return 2;
    }
    elog_init("bench_ingest", ELOG_WARN);
    mq_global_init();
    uv_loop_init(&loop);
    p.loop = &loop;
    snprintf(id, sizeof(id), "bench-pub-%ld", (long)getpid());
    struct mq_opts o = {.url = url,
                        .user = getenv("ECO_MQTT_USER"),
                        .password = getenv("ECO_MQTT_PASSWORD"),
                        .client_id = id,
                        .max_outstanding = 2000};
    struct mq_cbs cb = {.on_state = on_state, .on_published = on_published};
    if (mq_new(&loop, &o, &cb, &p, &p.mq) || mq_start(p.mq)) {
        fprintf(stderr, "bench_ingest: cannot start the MQTT client\n");
        return 1;
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    mq_global_cleanup();
    return p.done ? 0 : 1;
}
