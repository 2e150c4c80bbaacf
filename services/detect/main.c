/* eco-detect: the service's operations, run by svc_main. */
#include "detect.h"
#include "svcmain.h"

#include <stddef.h>

static int detect__create(uv_loop_t *loop, const void *conf, void **svc)
{
    struct detect *d = NULL;
    int rc = detect_new(loop, conf, &d);
    *svc = d;
    return rc;
}

static int detect__start(void *svc)
{
    return detect_start(svc);
}

static void detect__stop(void *svc, void (*done)(void *arg), void *arg)
{
    detect_stop(svc, done, arg);
}

static void detect__destroy(void *svc)
{
    detect_free(svc);
}

static int detect__exit_code(const void *svc)
{
    return detect_exit_code(svc);
}

static const struct svc_ops detect__ops = {
    .name = "eco-detect",
    .prog = &detect_prog,
    .conf_size = sizeof(struct detect_conf),
    .log_level_off = offsetof(struct detect_conf, log_level),
    .create = detect__create,
    .start = detect__start,
    .stop = detect__stop,
    .destroy = detect__destroy,
    .exit_code = detect__exit_code,
};

int main(int argc, char **argv)
{
    return svc_main(&detect__ops, argc, argv);
}
