/* eco-dispatch: the service's operations, run by svc_main. */
#include "dispatch.h"
#include "svcmain.h"

#include <stddef.h>

static int dispatch__create(uv_loop_t *loop, const void *conf, void **svc)
{
    struct dispatch *d = NULL;
    int rc = dispatch_new(loop, conf, &d);
    *svc = d;
    return rc;
}

static int dispatch__start(void *svc)
{
    return dispatch_start(svc);
}

static void dispatch__stop(void *svc, void (*done)(void *arg), void *arg)
{
    dispatch_stop(svc, done, arg);
}

static void dispatch__destroy(void *svc)
{
    dispatch_free(svc);
}

static int dispatch__exit_code(const void *svc)
{
    return dispatch_exit_code(svc);
}

static const struct svc_ops dispatch__ops = {
    .name = "eco-dispatch",
    .prog = &dispatch_prog,
    .conf_size = sizeof(struct dispatch_conf),
    .log_level_off = offsetof(struct dispatch_conf, log_level),
    .create = dispatch__create,
    .start = dispatch__start,
    .stop = dispatch__stop,
    .destroy = dispatch__destroy,
    .exit_code = dispatch__exit_code,
};

int main(int argc, char **argv)
{
    return svc_main(&dispatch__ops, argc, argv);
}
