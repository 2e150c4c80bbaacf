/* dispatch_rpc: requests to eco-dispatch as one person, for
 * bench/dispatch.sh. Sends N requests of one method (its arguments as JSON,
 * "%d" replaced by the request's number), WINDOW of them in flight, and
 * prints one logfmt line: requests, answered, refused (ok false), seconds,
 * requests per second, latency p50/p99/max in ms.
 *
 *   bench_dispatch_rpc METHOD JSON N WINDOW
 *
 * Settings: ECO_MQTT_URL, ECO_MQTT_USER (the caller), ECO_MQTT_PASSWORD. */
#include "elog.h"
#include "etime.h"
#include "mq.h"
#include "rpc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

struct b {
    struct mq *mq;
    const char *method, *args, *user;
    char req_topic[MQ_TOPIC_MAX], reply_topic[MQ_TOPIC_MAX];
    int n, window, sent, answered, refused;
    int64_t *t0;
    double *lat;
    int64_t start, end;
    uv_timer_t deadline;
    bool up;
};

/* The arguments with their first "%d" replaced by the request's number. */
static int b_args(const struct b *b, int i, char *out, size_t cap)
{
    const char *at = strstr(b->args, "%d");
    if (!at)
        return snprintf(out, cap, "%s", b->args);
    return snprintf(out, cap, "%.*s%d%s", (int)(at - b->args), b->args, i, at + 2);
}

static void b_send(struct b *b)
{
    char payload[1024], corr[16];
    while (b->sent < b->n && b->sent - b->answered < b->window) {
        int len = b_args(b, b->sent, payload, sizeof payload);
        int clen = snprintf(corr, sizeof corr, "%d", b->sent);
        struct mq_pub p = {.topic = b->req_topic,
                           .payload = payload,
                           .len = (size_t)len,
                           .qos = 1,
                           .response_topic = b->reply_topic,
                           .corr = corr,
                           .corr_len = (size_t)clen};
        b->t0[b->sent] = etime_now_us();
        if (mq_publish_ex(b->mq, &p, NULL))
            break;
        b->sent++;
    }
}

static void b_closed(void *ud)
{
    struct b *b = ud;
    uv_close((uv_handle_t *)&b->deadline, NULL);
}

static void b_msg(void *ud, const struct mq_msg *m)
{
    struct b *b = ud;
    char corr[16];
    long i;
    char *end;
    if (!m->corr || m->corr_len == 0 || m->corr_len >= sizeof corr)
        return;
    memcpy(corr, m->corr, m->corr_len);
    corr[m->corr_len] = '\0';
    i = strtol(corr, &end, 10);
    if (*end || i < 0 || i >= b->n || b->lat[i] >= 0)
        return;
    b->lat[i] = (double)(etime_now_us() - b->t0[i]) / 1000.0;
    b->answered++;
    /* a refusal is {"ok": false, "error": ...}: jsonb puts "ok" first */
    if (m->len >= 12 && memcmp(m->payload, "{\"ok\": false", 12) == 0)
        b->refused++;
    if (b->answered == b->n) {
        b->end = etime_now_us();
        uv_timer_stop(&b->deadline);
        mq_close(b->mq, b_closed);
        return;
    }
    b_send(b);
}

static void b_state(void *ud, bool up)
{
    struct b *b = ud;
    if (up && !b->up) {
        b->up = true;
        b->start = etime_now_us();
        b_send(b);
    }
}

static void b_pub(void *ud, int mid)
{
    (void)mid;
    b_send(ud);
}

static void b_deadline(uv_timer_t *t)
{
    struct b *b = t->data;
    b->end = etime_now_us();
    fprintf(stderr, "dispatch_rpc: timed out with %d of %d answered\n", b->answered, b->n);
    mq_close(b->mq, b_closed);
}

static int b_cmp(const void *x, const void *y)
{
    double a = *(const double *)x, c = *(const double *)y;
    return a < c ? -1 : a > c;
}

int main(int argc, char **argv)
{
    struct b b = {0};
    uv_loop_t loop;
    const char *url = getenv("ECO_MQTT_URL");
    int k = 0;
    char *end;
    if (argc != 5 || !url || !getenv("ECO_MQTT_USER")) {
        fprintf(stderr, "usage: bench_dispatch_rpc METHOD JSON N WINDOW (ECO_MQTT_*)\n");
        return 2;
    }
    b.method = argv[1];
    b.args = argv[2];
    b.n = (int)strtol(argv[3], &end, 10);
    if (*end)
        b.n = 0;
    b.window = (int)strtol(argv[4], &end, 10);
    if (*end)
        b.window = 0;
    b.user = getenv("ECO_MQTT_USER");
    if (b.n < 1 || b.window < 1 ||
        rpc_request_topic("dispatch", b.method, b.user, b.req_topic, sizeof b.req_topic))
        return 2;
    snprintf(b.reply_topic, sizeof b.reply_topic, RPC_REPLY_PREFIX "%s/bench", b.user);
    b.t0 = calloc((size_t)b.n, sizeof *b.t0);
    b.lat = malloc((size_t)b.n * sizeof *b.lat);
    if (!b.t0 || !b.lat)
        return 1;
    for (int i = 0; i < b.n; i++)
        b.lat[i] = -1;
    elog_init("dispatch_rpc", ELOG_WARN);
    mq_global_init();
    uv_loop_init(&loop);
    struct mq_opts o = {.url = url,
                        .user = b.user,
                        .password = getenv("ECO_MQTT_PASSWORD"),
                        .max_outstanding = 1000};
    struct mq_cbs cb = {.on_message = b_msg, .on_state = b_state, .on_published = b_pub};
    if (mq_new(&loop, &o, &cb, &b, &b.mq) || mq_subscribe(b.mq, b.reply_topic, 1) || mq_start(b.mq))
        return 1;
    uv_timer_init(&loop, &b.deadline);
    b.deadline.data = &b;
    uv_timer_start(&b.deadline, b_deadline, 600000, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    mq_global_cleanup();
    for (int i = 0; i < b.n; i++)
        if (b.lat[i] >= 0)
            b.lat[k++] = b.lat[i];
    qsort(b.lat, (size_t)k, sizeof *b.lat, b_cmp);
    double secs = (double)(b.end - b.start) / 1e6;
    printf("method=%s requests=%d answered=%d refused=%d window=%d seconds=%.3f per_s=%.0f "
           "ms_p50=%.1f ms_p99=%.1f ms_max=%.1f\n",
           b.method, b.n, b.answered, b.refused, b.window, secs, secs > 0 ? k / secs : 0,
           k ? b.lat[k / 2] : 0, k ? b.lat[(k * 99) / 100 < k ? (k * 99) / 100 : k - 1] : 0,
           k ? b.lat[k - 1] : 0);
    free(b.t0);
    free(b.lat);
    return b.answered == b.n ? 0 : 1;
}
