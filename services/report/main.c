/* eco-report: the service's operations, run by svc_main. */
#include "report.h"
#include "svcmain.h"

#include <stddef.h>

static int report__create(uv_loop_t *loop, const void *conf, void **svc)
{
    struct report *d = NULL;
    int rc = report_new(loop, conf, &d);
    *svc = d;
    return rc;
}

static int report__start(void *svc)
{
    return report_start(svc);
}

static void report__stop(void *svc, void (*done)(void *arg), void *arg)
{
    report_stop(svc, done, arg);
}

static void report__destroy(void *svc)
{
    report_free(svc);
}

static int report__exit_code(const void *svc)
{
    return report_exit_code(svc);
}

static const struct svc_ops report__ops = {
    .name = "eco-report",
    .prog = &report_prog,
    .conf_size = sizeof(struct report_conf),
    .log_level_off = offsetof(struct report_conf, log_level),
    .create = report__create,
    .start = report__start,
    .stop = report__stop,
    .destroy = report__destroy,
    .exit_code = report__exit_code,
};

int main(int argc, char **argv)
{
    return svc_main(&report__ops, argc, argv);
}
