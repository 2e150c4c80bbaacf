/* mq_rpc: drives libshared/mq against the real broker for
 * tests/integration/mq_test.sh: an MQTT 5 request/response round trip (the
 * reply goes to the request's response topic with its correlation data), a
 * QoS 1 publish acknowledged through on_published, and the retained status
 * of a client with a service name. Exits 0 when every step happened within
 * 10 s, 1 otherwise, printing what it saw. Settings: ECO_MQTT_URL,
 * ECO_MQTT_USER, ECO_MQTT_PASSWORD; argv[1] a unique name for the topics. */
#include "elog.h"
#include "mq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

struct t {
    struct mq *server, *client;
    char req_topic[128], reply_topic[128];
    int up, replies_ok, acked, closed, ticks;
    uv_timer_t deadline, later;
};

static void srv_msg(void *ud, const struct mq_msg *m)
{
    struct t *t = ud;
    char out[256];
    int n = snprintf(out, sizeof(out), "echo:%.*s", (int)m->len, (const char *)m->payload);
    /* answer on the request's response topic, with its correlation data */
    if (mq_reply(t->server, m, out, (size_t)n) != 0)
        fprintf(stderr, "mq_rpc: reply failed (response topic %s)\n",
                m->response_topic ? m->response_topic : "none");
}

static void cli_msg(void *ud, const struct mq_msg *m)
{
    struct t *t = ud;
    printf("reply topic=%s payload=%.*s corr=%.*s\n", m->topic, (int)m->len,
           (const char *)m->payload, (int)m->corr_len, m->corr ? (const char *)m->corr : "");
    if (m->len == 10 && memcmp(m->payload, "echo:hello", 10) == 0 && m->corr_len == 6 &&
        memcmp(m->corr, "req-42", 6) == 0)
        t->replies_ok++;
}

static void cli_pub(void *ud, int mid)
{
    struct t *t = ud;
    (void)mid;
    t->acked++;
}

static void closed(void *ud)
{
    struct t *t = ud;
    t->closed++;
    if (t->closed == 2) {
        uv_close((uv_handle_t *)&t->deadline, NULL);
        uv_close((uv_handle_t *)&t->later, NULL);
    }
}

static void finish(struct t *t)
{
    uv_timer_stop(&t->deadline);
    uv_timer_stop(&t->later);
    mq_close(t->server, closed);
    mq_close(t->client, closed);
}

static void send_request(struct t *t);

static void on_later(uv_timer_t *h)
{
    struct t *t = h->data;
    /* "connected" means SUBSCRIBE sent, not yet granted: until the first
     * reply the request is repeated every 200 ms, so that one published
     * before the server's subscription took effect is not the end */
    if (t->up == 2 && !t->replies_ok && ++t->ticks % 4 == 0)
        send_request(t);
    /* ECO_TEST_HOLD keeps the clients connected, for the last-will check */
    if (t->replies_ok && t->acked && !getenv("ECO_TEST_HOLD"))
        finish(t);
}

static void send_request(struct t *t)
{
    struct mq_pub p = {.topic = t->req_topic,
                       .payload = "hello",
                       .len = 5,
                       .qos = 1,
                       .response_topic = t->reply_topic,
                       .corr = "req-42",
                       .corr_len = 6};
    if (mq_publish_ex(t->client, &p, NULL))
        fprintf(stderr, "mq_rpc: request publish failed\n");
}

static void state(void *ud, bool up)
{
    struct t *t = ud;
    if (up && ++t->up == 2)
        send_request(t);
}

static void on_deadline(uv_timer_t *h)
{
    struct t *t = h->data;
    fprintf(stderr, "mq_rpc: timed out (up=%d replies_ok=%d acked=%d)\n", t->up, t->replies_ok,
            t->acked);
    finish(t);
}

int main(int argc, char **argv)
{
    struct t t = {0};
    uv_loop_t loop;
    char sid[96], cid[96];
    const char *url = getenv("ECO_MQTT_URL");

    if (argc != 2 || !url)
        return 2;
    elog_init("mq_rpc", ELOG_WARN);
    snprintf(t.req_topic, sizeof(t.req_topic), "eco/v1/rpc/%s/echo", argv[1]);
    snprintf(t.reply_topic, sizeof(t.reply_topic), "eco/v1/rpc/%s/reply", argv[1]);
    snprintf(sid, sizeof(sid), "%s-server", argv[1]);
    snprintf(cid, sizeof(cid), "%s-client", argv[1]);
    mq_global_init();
    uv_loop_init(&loop);
    struct mq_opts so = {.url = url,
                         .user = getenv("ECO_MQTT_USER"),
                         .password = getenv("ECO_MQTT_PASSWORD"),
                         .cafile = getenv("ECO_MQTT_CAFILE"),
                         .client_id = sid,
                         .service = argv[1],
                         .instance = "server"};
    struct mq_opts co = so;
    co.client_id = cid;
    co.service = NULL;
    struct mq_cbs scb = {.on_message = srv_msg, .on_state = state};
    struct mq_cbs ccb = {.on_message = cli_msg, .on_state = state, .on_published = cli_pub};
    if (mq_new(&loop, &so, &scb, &t, &t.server) || mq_new(&loop, &co, &ccb, &t, &t.client) ||
        mq_subscribe(t.server, t.req_topic, 1) || mq_subscribe(t.client, t.reply_topic, 1) ||
        mq_start(t.server) || mq_start(t.client))
        return 1;
    uv_timer_init(&loop, &t.deadline);
    uv_timer_init(&loop, &t.later);
    t.deadline.data = t.later.data = &t;
    uv_timer_start(&t.deadline, on_deadline, getenv("ECO_TEST_HOLD") ? 60000 : 10000, 0);
    uv_timer_start(&t.later, on_later, 50, 50);
    uv_run(&loop, UV_RUN_DEFAULT);
    int rc = uv_loop_close(&loop);
    mq_global_cleanup();
    printf("replies_ok=%d acked=%d loop_close=%d\n", t.replies_ok, t.acked, rc);
    return t.replies_ok >= 1 && t.acked >= 1 && rc == 0 ? 0 : 1;
}
