/* rpc_echo: a stand-in for eco-dispatch's request handling, for
 * tests/integration/ctl_rpc_test.sh. Connects as ECO_MQTT_USER (the
 * `dispatch` service account), subscribes to eco/v1/rpc/dispatch/+/+ and
 * answers every request on its response topic, with its correlation data:
 *
 *   {"ok": true, "method": M, "caller": C, "args": <the request>}
 *   {"ok": false, "error": "refused for test"}   when the request's note is "refuse"
 *   nothing at all                                when the note is "ignore"
 *
 * M and C are read from the topic (eco/v1/rpc/dispatch/{M}/{C}). Each request
 * is also logged on stdout. Runs until SIGTERM or SIGINT. Settings:
 * ECO_MQTT_URL, ECO_MQTT_USER, ECO_MQTT_PASSWORD. */
#include "json.h"
#include "mq.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#define RPC_ECHO_FILTER "eco/v1/rpc/dispatch/+/+"
#define RPC_ECHO_PREFIX "eco/v1/rpc/dispatch/"

struct echo {
    struct mq *mq;
    uv_signal_t term, intr;
    long answered;
};

static void echo_msg(void *ud, const struct mq_msg *m)
{
    struct echo *e = ud;
    const char *rest = m->topic + strlen(RPC_ECHO_PREFIX), *slash;
    char method[65], caller[65];
    cJSON *req = NULL, *rep = NULL;
    const char *note = NULL;
    char *out = NULL;
    size_t n, len;

    if (strncmp(m->topic, RPC_ECHO_PREFIX, strlen(RPC_ECHO_PREFIX)) != 0 ||
        !(slash = strchr(rest, '/')) || (n = (size_t)(slash - rest)) == 0 || n >= sizeof method ||
        strlen(slash + 1) >= sizeof caller) {
        printf("bad topic %s\n", m->topic);
        goto out;
    }
    memcpy(method, rest, n);
    method[n] = '\0';
    snprintf(caller, sizeof caller, "%s", slash + 1);
    printf("request method=%s caller=%s response_topic=%s corr=%zu bytes payload=%.*s\n", method,
           caller, m->response_topic ? m->response_topic : "(none)", m->corr_len, (int)m->len,
           (const char *)m->payload);
    fflush(stdout);
    if (json_parse(m->payload, m->len, &req, NULL, 0) || !cJSON_IsObject(req)) {
        rep = cJSON_CreateObject();
        cJSON_AddFalseToObject(rep, "ok");
        cJSON_AddStringToObject(rep, "error", "the request is not a JSON object");
    } else if (json_get_strp(req, "note", &note) == 0 && strcmp(note, "ignore") == 0) {
        goto out;
    } else if (note && strcmp(note, "refuse") == 0) {
        rep = cJSON_CreateObject();
        cJSON_AddFalseToObject(rep, "ok");
        cJSON_AddStringToObject(rep, "error", "refused for test");
    } else {
        rep = cJSON_CreateObject();
        cJSON_AddTrueToObject(rep, "ok");
        cJSON_AddStringToObject(rep, "method", method);
        cJSON_AddStringToObject(rep, "caller", caller);
        cJSON_AddItemToObject(rep, "args", req);
        req = NULL;
    }
    if (!rep || json_print(rep, &out, &len)) {
        printf("out of memory\n");
        goto out;
    }
    if (mq_reply(e->mq, m, out, len) == 0)
        e->answered++;
    else
        printf("no reply sent (response topic %s)\n",
               m->response_topic ? m->response_topic : "none");
out:
    fflush(stdout);
    cJSON_free(out);
    cJSON_Delete(rep);
    cJSON_Delete(req);
}

static void echo_state(void *ud, bool up)
{
    (void)ud;
    printf("%s\n", up ? "connected" : "disconnected");
    fflush(stdout);
}

static void echo_closed(void *ud)
{
    (void)ud;
}

static void echo_signal(uv_signal_t *h, int sig)
{
    struct echo *e = h->data;
    (void)sig;
    uv_close((uv_handle_t *)&e->term, NULL);
    uv_close((uv_handle_t *)&e->intr, NULL);
    mq_close(e->mq, echo_closed);
}

int main(void)
{
    uv_loop_t loop;
    struct echo e = {0};
    struct mq_cbs cbs = {.on_message = echo_msg, .on_state = echo_state};
    char id[64];
    struct mq_opts mo = {.url = getenv("ECO_MQTT_URL"),
                         .user = getenv("ECO_MQTT_USER"),
                         .password = getenv("ECO_MQTT_PASSWORD"),
                         .client_id = id};
    int rc;

    if (!mo.url) {
        fprintf(stderr, "rpc_echo: ECO_MQTT_URL is not set\n");
        return 2;
    }
    snprintf(id, sizeof id, "rpc-echo-%ld", (long)getpid());
    mq_global_init();
    uv_loop_init(&loop);
    if (mq_new(&loop, &mo, &cbs, &e, &e.mq) || mq_subscribe(e.mq, RPC_ECHO_FILTER, 1) ||
        mq_start(e.mq)) {
        fprintf(stderr, "rpc_echo: cannot start the MQTT client\n");
        return 1;
    }
    uv_signal_init(&loop, &e.term);
    uv_signal_init(&loop, &e.intr);
    e.term.data = e.intr.data = &e;
    uv_signal_start(&e.term, echo_signal, SIGTERM);
    uv_signal_start(&e.intr, echo_signal, SIGINT);
    uv_run(&loop, UV_RUN_DEFAULT);
    rc = uv_loop_close(&loop);
    mq_global_cleanup();
    printf("answered=%ld loop_close=%d\n", e.answered, rc);
    return rc == 0 ? 0 : 1;
}
