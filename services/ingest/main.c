/* eco-ingest: wires configuration, the loop, signals and the service. */
#include "elog.h"
#include "ingest.h"
#include "mq.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct app {
    struct ingest *in;
    uv_signal_t sigterm, sigint;
    int signals;
};

static void app_closed(void *arg)
{
    struct app *a = arg;
    uv_close((uv_handle_t *)&a->sigterm, NULL);
    uv_close((uv_handle_t *)&a->sigint, NULL);
}

static void app_on_signal(uv_signal_t *s, int signum)
{
    struct app *a = s->data;
    if (a->signals++) {
        elog_warn("second signal; exiting at once", "signal=%d", signum);
        _exit(1);
    }
    elog_info("signal received; draining", "signal=%d", signum);
    ingest_stop(a->in, app_closed, a);
}

int main(int argc, char **argv)
{
    struct ingest_conf conf;
    struct app a = {0};
    enum elog_level lvl;
    uv_loop_t loop;
    int rc, code;

    memset(&conf, 0, sizeof(conf));
    rc = cfg_main(&ingest_prog, argc, argv, &conf);
    if (rc)
        return rc > 0 ? 0 : 1;
    if (elog_level_parse(conf.log_level, &lvl)) {
        fprintf(stderr,
                "eco-ingest: bad configuration: ECO_LOG_LEVEL: expected debug, info, "
                "warn or error, got \"%s\"\n",
                conf.log_level);
        return 1;
    }
    elog_init("eco-ingest", lvl);
    signal(SIGPIPE, SIG_IGN);
    cfg_log(&ingest_prog, &conf);
    mq_global_init();
    uv_loop_init(&loop);
    uv_signal_init(&loop, &a.sigterm);
    uv_signal_init(&loop, &a.sigint);
    a.sigterm.data = a.sigint.data = &a;
    if ((rc = ingest_new(&loop, &conf, &a.in)) == 0) {
        ingest_on_exit(a.in, app_closed, &a);
        rc = ingest_start(a.in);
    }
    if (rc) {
        elog_error("cannot start", "error=\"%s\"", strerror(-rc));
        if (a.in)
            ingest_stop(a.in, app_closed, &a);
        else
            app_closed(&a);
    } else {
        uv_signal_start(&a.sigterm, app_on_signal, SIGTERM);
        uv_signal_start(&a.sigint, app_on_signal, SIGINT);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    code = rc ? 1 : (a.in ? ingest_exit_code(a.in) : 1);
    ingest_free(a.in);
    if (uv_loop_close(&loop) != 0) {
        elog_error("handles left open at exit", NULL);
        code = 1;
    }
    mq_global_cleanup();
    elog_info("stopped", "exit=%d", code);
    return code;
}
