/* svcbase: the pieces every long-running service shares. The log lines are
 * checked by capturing stderr through a pipe (as elog_test does). */
#include "svcbase.h"

#include "buf.h"
#include "check.h"
#include "db.h"
#include "elog.h"
#include "mq.h"

#include <errno.h>
#include <stdbool.h>
#include <unistd.h>

static char out[8192];
static int log_fd = -1, saved_fd = -1;

/* stderr goes to an unlinked temporary file between log_begin and log_end,
 * which returns what was written. */
static void log_begin(void)
{
    char path[] = "/tmp/t_svcbase.XXXXXX";
    CHECK((log_fd = mkstemp(path)) >= 0);
    CHECK(unlink(path) == 0);
    CHECK((saved_fd = dup(STDERR_FILENO)) >= 0);
    CHECK(dup2(log_fd, STDERR_FILENO) == STDERR_FILENO);
}

static const char *log_end(void)
{
    ssize_t n;
    CHECK(dup2(saved_fd, STDERR_FILENO) == STDERR_FILENO);
    close(saved_fd);
    n = pread(log_fd, out, sizeof(out) - 1, 0);
    close(log_fd);
    out[n > 0 ? n : 0] = '\0';
    return out;
}

static void test_instance_configured(void)
{
    char name[72], long_name[100];
    svcbase_instance(name, sizeof(name), "north-1", "main");
    CHECK_EQ_STR(name, "north-1");
    /* cut at SVCBASE_INSTANCE_MAX, whatever room the buffer has */
    memset(long_name, 'x', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    svcbase_instance(name, sizeof(name), long_name, "main");
    CHECK_EQ_INT(strlen(name), SVCBASE_INSTANCE_MAX);
    /* and at the buffer */
    svcbase_instance(name, 5, "north-1", "main");
    CHECK_EQ_STR(name, "nort");
}

static void test_instance_host_name(void)
{
    char host[72] = {0}, name[72];
    CHECK(gethostname(host, sizeof(host) - 1) == 0);
    memset(name, '#', sizeof(name)); /* the service's buffer need not be zeroed */
    svcbase_instance(name, sizeof(name), "", "main");
    CHECK_EQ_STR(name, host);
    svcbase_instance(name, sizeof(name), NULL, "main");
    CHECK_EQ_STR(name, host);
}

static void test_instance_fallback(void)
{
    char host[72] = {0}, name[3];
    CHECK(gethostname(host, sizeof(host) - 1) == 0);
    if (strlen(host) < 2)
        return; /* the host name fits even 2 bytes: no failure to provoke */
    /* a host name that does not fit makes gethostname fail: the fallback */
    memset(name, '#', sizeof(name));
    svcbase_instance(name, sizeof(name), "", "ingest");
    CHECK_EQ_STR(name, "in");
}

static void test_log_mq(void)
{
    elog_init("t_svcbase", ELOG_DEBUG);
    log_begin();
    svcbase_log_mq(true, "mqtt://broker:1883");
    log_end();
    CHECK(strstr(out, " level=info prog=t_svcbase msg=\"broker connected\" "
                      "url=mqtt://broker:1883\n"));
    log_begin();
    svcbase_log_mq(false, "mqtt://broker:1883");
    log_end();
    CHECK(strstr(out, " level=warn prog=t_svcbase msg=\"broker connection lost\" "
                      "url=mqtt://broker:1883\n"));
}

static void mq_closed(void *ud)
{
    (void)ud;
}

static void test_mq_new(void)
{
    uv_loop_t loop;
    struct mq *mq = NULL;
    struct mq_opts mo = {.url = "mqtt://127.0.0.1:1", .service = "t", .instance = "i"};
    struct mq_cbs cbs = {0};

    CHECK(uv_loop_init(&loop) == 0);
    CHECK(svcbase_mq_new(&loop, &mo, &cbs, NULL, &mq) == 0);
    CHECK(mq != NULL);
    mq_close(mq, mq_closed);
    CHECK(uv_run(&loop, UV_RUN_DEFAULT) == 0);
    /* mq_new's answer to bad settings comes back */
    mo.url = "http://127.0.0.1:1";
    CHECK_EQ_INT(svcbase_mq_new(&loop, &mo, &cbs, NULL, &mq), -EINVAL);
    CHECK(uv_loop_close(&loop) == 0);
}

static void test_status(void)
{
    uv_loop_t loop;
    struct mq *mq = NULL;
    struct mq_opts mo = {.url = "mqtt://127.0.0.1:1", .service = "t", .instance = "i"};
    struct mq_cbs cbs = {0};
    struct buf b;
    char big[600];
    const char *head = "{\"status\":\"online\",\"version\":\"" ECO_VERSION "\",\"ts\":\"";

    CHECK(uv_loop_init(&loop) == 0);
    CHECK(svcbase_mq_new(&loop, &mo, &cbs, NULL, &mq) == 0);
    buf_init(&b, 1u << 20);
    CHECK(buf_addstr(&b, "left over") == 0);
    /* not connected: the message is made, the publish refused */
    CHECK_EQ_INT(
        svcbase_status(mq, &b, "t", "i", "\"counters\":{\"n\":%d,\"w\":%zu}}", 7, (size_t)3),
        -ENOTCONN);
    CHECK(strncmp(b.p, head, strlen(head)) == 0);
    /* "ts":"2026-01-02T03:04:05Z", */
    CHECK(b.p[strlen(head) + 4] == '-' && b.p[strlen(head) + 10] == 'T');
    CHECK(strstr(b.p, "Z\",\"counters\":{\"n\":7,\"w\":3}}"));
    CHECK(b.p[b.len - 1] == '}' && strlen(b.p) == b.len);
    /* the caller's part may be long */
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    CHECK_EQ_INT(svcbase_status(mq, &b, "t", "i", "\"s\":\"%s\"}", big), -ENOTCONN);
    CHECK(strncmp(b.p, head, strlen(head)) == 0);
    CHECK(strstr(b.p, big) && b.p[b.len - 1] == '}');
    /* past the buffer's cap: nothing is published */
    buf_close(&b);
    buf_init(&b, 100);
    CHECK_EQ_INT(svcbase_status(mq, &b, "t", "i", "\"s\":\"%s\"}", big), -E2BIG);
    buf_close(&b);
    mq_close(mq, mq_closed);
    CHECK(uv_run(&loop, UV_RUN_DEFAULT) == 0);
    CHECK(uv_loop_close(&loop) == 0);
}

static void db_closed(void *ud)
{
    (void)ud;
}

static void test_log_db(void)
{
    uv_loop_t loop;
    struct db *db = NULL;
    struct db_opts o = {.dsn = "host=/nonexistent"};

    CHECK(uv_loop_init(&loop) == 0);
    CHECK(db_new(&loop, &o, NULL, NULL, &db) == 0);
    elog_init("t_svcbase", ELOG_DEBUG);
    log_begin();
    svcbase_log_db(true, db);
    log_end();
    CHECK(strstr(out, " level=info prog=t_svcbase msg=\"database connected\"\n"));
    log_begin();
    svcbase_log_db(false, db);
    log_end();
    CHECK(strstr(out, " level=warn prog=t_svcbase msg=\"database connection lost\" error=\"\"\n"));
    db_close(db, db_closed);
    CHECK(uv_run(&loop, UV_RUN_DEFAULT) == 0);
    CHECK(uv_loop_close(&loop) == 0);
}

static void test_due(void)
{
    uint64_t last = 1000;
    CHECK(!svcbase_due(1500, &last, 1000, true));
    CHECK_EQ_INT(last, 1000);
    CHECK(!svcbase_due(2000, &last, 1000, false)); /* not ready: not done, not noted */
    CHECK_EQ_INT(last, 1000);
    CHECK(svcbase_due(2000, &last, 1000, true));
    CHECK_EQ_INT(last, 2000);
    CHECK(!svcbase_due(2999, &last, 1000, true));
    CHECK(svcbase_due(3500, &last, 1000, true));
    CHECK_EQ_INT(last, 3500);
    /* period 0: due on every ready tick */
    last = 0;
    CHECK(svcbase_due(5, &last, 0, true));
    CHECK_EQ_INT(last, 5);
}

static int ndone;

static void on_done(void *arg)
{
    CHECK(arg == &ndone);
    ndone++;
}

static void test_stop(void)
{
    uv_loop_t loop;
    struct svcbase_stop s = {0};

    CHECK(uv_loop_init(&loop) == 0);
    CHECK(svcbase_stop_begin(&s, &loop, 30, on_done, &ndone) == 0);
    CHECK(s.stopping);
    CHECK_EQ_INT(s.deadline, uv_now(&loop) + 30000);
    CHECK(!svcbase_stop_late(&s, &loop));
    /* a second stop changes nothing */
    CHECK_EQ_INT(svcbase_stop_begin(&s, &loop, 0, NULL, NULL), -EALREADY);
    CHECK(s.done == on_done && s.done_arg == &ndone);
    CHECK_EQ_INT(s.deadline, uv_now(&loop) + 30000);
    s.deadline = uv_now(&loop);
    CHECK(svcbase_stop_late(&s, &loop));

    /* done runs once, when the last close is called back */
    s.pending = 3;
    svcbase_stop_closed(&s);
    svcbase_stop_closed(&s);
    CHECK_EQ_INT(ndone, 0);
    svcbase_stop_closed(&s);
    CHECK_EQ_INT(ndone, 1);
    CHECK(uv_loop_close(&loop) == 0);

    /* drain 0: late at once */
    memset(&s, 0, sizeof(s));
    CHECK(uv_loop_init(&loop) == 0);
    CHECK(svcbase_stop_begin(&s, &loop, 0, NULL, NULL) == 0);
    CHECK(svcbase_stop_late(&s, &loop));
    s.pending = 1;
    svcbase_stop_closed(&s); /* no done: nothing to call */
    CHECK(uv_loop_close(&loop) == 0);
}

static void test_stop_close_handle(void)
{
    uv_loop_t loop;
    uv_timer_t tick, retry;
    struct svcbase_stop s = {0};
    int svc = 0; /* the handles' data before the stop */

    ndone = 0;
    CHECK(uv_loop_init(&loop) == 0);
    CHECK(uv_timer_init(&loop, &tick) == 0);
    CHECK(uv_timer_init(&loop, &retry) == 0);
    tick.data = retry.data = &svc;
    CHECK(svcbase_stop_begin(&s, &loop, 1, on_done, &ndone) == 0);
    s.closing = true;
    s.pending = 2;
    svcbase_stop_close_handle(&s, (uv_handle_t *)&tick);
    svcbase_stop_close_handle(&s, (uv_handle_t *)&retry);
    CHECK_EQ_INT(ndone, 0); /* the closes are called back by the loop */
    CHECK(uv_run(&loop, UV_RUN_DEFAULT) == 0);
    CHECK_EQ_INT(ndone, 1);
    CHECK_EQ_INT(s.pending, 0);
    CHECK_EQ_INT(svc, 0);
    CHECK(uv_loop_close(&loop) == 0);
}

struct t_conf {
    char mqtt_url[CFG_STR_MAX], mqtt_user[CFG_STR_MAX], mqtt_password[CFG_STR_MAX];
    char mqtt_cafile[CFG_STR_MAX], pg_dsn[CFG_STR_MAX], log_level[CFG_STR_MAX];
    int64_t status_s;
};

static const struct cfg_def t_defs[] = {
    SVCBASE_CFG_DEFS(struct t_conf),
    {"ECOT_STATUS_S", CFG_INT, "30", 1, 3600, offsetof(struct t_conf, status_s), "status"},
};
static const struct cfg_prog t_prog = {"eco-t", "test", t_defs, sizeof(t_defs) / sizeof(t_defs[0])};

static void test_cfg_defs(void)
{
    static const char *const names[] = {"ECO_MQTT_URL",    "ECO_MQTT_USER", "ECO_MQTT_PASSWORD",
                                        "ECO_MQTT_CAFILE", "ECO_PG_DSN",    "ECO_LOG_LEVEL"};
    struct t_conf c;
    char err[256];

    CHECK_EQ_INT(t_prog.ndefs, 7);
    for (size_t i = 0; i < 6; i++) {
        CHECK_EQ_STR(t_defs[i].name, names[i]);
        CHECK(unsetenv(names[i]) == 0);
    }
    CHECK(t_defs[2].type == CFG_SECRET);
    /* ECO_PG_DSN has no default */
    CHECK(cfg_load(&t_prog, &c, NULL, err, sizeof(err)) == -EINVAL);
    CHECK(strstr(err, "ECO_PG_DSN"));
    CHECK(setenv("ECO_PG_DSN", "host=db", 1) == 0);
    CHECK(setenv("ECO_MQTT_PASSWORD", "pw", 1) == 0);
    CHECK(cfg_load(&t_prog, &c, NULL, err, sizeof(err)) == 0);
    CHECK_EQ_STR(c.mqtt_url, "mqtt://127.0.0.1:1883");
    CHECK_EQ_STR(c.mqtt_user, "");
    CHECK_EQ_STR(c.mqtt_password, "pw");
    CHECK_EQ_STR(c.mqtt_cafile, "");
    CHECK_EQ_STR(c.pg_dsn, "host=db");
    CHECK_EQ_STR(c.log_level, "info");
    CHECK_EQ_INT(c.status_s, 30);
    /* the URL and the log level may not be empty */
    CHECK(setenv("ECO_MQTT_URL", "", 1) == 0);
    CHECK(cfg_load(&t_prog, &c, NULL, err, sizeof(err)) == -EINVAL);
    CHECK(unsetenv("ECO_MQTT_URL") == 0);
    CHECK(setenv("ECO_LOG_LEVEL", "", 1) == 0);
    CHECK(cfg_load(&t_prog, &c, NULL, err, sizeof(err)) == -EINVAL);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_instance_configured),
    CHECK_CASE(test_instance_host_name),
    CHECK_CASE(test_instance_fallback),
    CHECK_CASE(test_log_mq),
    CHECK_CASE(test_mq_new),
    CHECK_CASE(test_status),
    CHECK_CASE(test_log_db),
    CHECK_CASE(test_due),
    CHECK_CASE(test_stop),
    CHECK_CASE(test_stop_close_handle),
    CHECK_CASE(test_cfg_defs),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
