#include "svcmain.h"

#include "elog.h"
#include "mq.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct svc_app {
    const struct svc_ops *ops;
    void *svc;
    uv_signal_t sigterm, sigint;
    int signals;
};

static void svc__closed(void *arg)
{
    struct svc_app *a = arg;
    uv_close((uv_handle_t *)&a->sigterm, NULL);
    uv_close((uv_handle_t *)&a->sigint, NULL);
}

static void svc__on_signal(uv_signal_t *s, int signum)
{
    struct svc_app *a = s->data;
    if (a->signals++) {
        elog_warn("second signal; exiting at once", "signal=%d", signum);
        _exit(1);
    }
    elog_info("signal received; draining", "signal=%d", signum);
    a->ops->stop(a->svc, svc__closed, a);
}

int svc_main(const struct svc_ops *ops, int argc, char **argv)
{
    struct svc_app a = {.ops = ops};
    enum elog_level lvl;
    uv_loop_t loop;
    void *conf = calloc(1, ops->conf_size);
    const char *level;
    int rc, code;

    if (!conf) {
        fprintf(stderr, "%s: out of memory\n", ops->name);
        return 1;
    }
    rc = cfg_main(ops->prog, argc, argv, conf);
    if (rc) {
        free(conf);
        return rc > 0 ? 0 : 1;
    }
    level = (const char *)conf + ops->log_level_off;
    if (elog_level_parse(level, &lvl)) {
        fprintf(stderr,
                "%s: bad configuration: ECO_LOG_LEVEL: expected debug, info, warn or error, "
                "got \"%s\"\n",
                ops->name, level);
        free(conf);
        return 1;
    }
    elog_init(ops->name, lvl);
    signal(SIGPIPE, SIG_IGN);
    mq_global_init();
    uv_loop_init(&loop);
    uv_signal_init(&loop, &a.sigterm);
    uv_signal_init(&loop, &a.sigint);
    a.sigterm.data = a.sigint.data = &a;
    rc = ops->create(&loop, conf, &a.svc);
    if (rc == 0) {
        cfg_log(ops->prog, conf);
        rc = ops->start(a.svc);
    }
    if (rc) {
        elog_error("cannot start", "error=\"%s\"", strerror(-rc));
        if (a.svc)
            ops->stop(a.svc, svc__closed, &a);
        else
            svc__closed(&a);
    } else {
        uv_signal_start(&a.sigterm, svc__on_signal, SIGTERM);
        uv_signal_start(&a.sigint, svc__on_signal, SIGINT);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    code = rc ? 1 : (a.svc ? ops->exit_code(a.svc) : 1);
    if (a.svc)
        ops->destroy(a.svc);
    if (uv_loop_close(&loop) != 0) {
        elog_error("handles left open at exit", NULL);
        code = 1;
    }
    mq_global_cleanup();
    free(conf);
    elog_info("stopped", "exit=%d", code);
    return code;
}
