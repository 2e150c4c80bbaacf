/* eco-gep: the service's operations, run by svc_main. */
#include "gepsvc.h"
#include "svcmain.h"

#include <stddef.h>

static int gep__create(uv_loop_t *loop, const void *conf, void **svc)
{
    struct gepsvc *d = NULL;
    int rc = gepsvc_new(loop, conf, &d);
    *svc = d;
    return rc;
}

static int gep__start(void *svc)
{
    return gepsvc_start(svc);
}

static void gep__stop(void *svc, void (*done)(void *arg), void *arg)
{
    gepsvc_stop(svc, done, arg);
}

static void gep__destroy(void *svc)
{
    gepsvc_free(svc);
}

static int gep__exit_code(const void *svc)
{
    return gepsvc_exit_code(svc);
}

static const struct svc_ops gep__ops = {
    .name = "eco-gep",
    .prog = &gepsvc_prog,
    .conf_size = sizeof(struct gepsvc_conf),
    .log_level_off = offsetof(struct gepsvc_conf, log_level),
    .create = gep__create,
    .start = gep__start,
    .stop = gep__stop,
    .destroy = gep__destroy,
    .exit_code = gep__exit_code,
};

int main(int argc, char **argv)
{
    return svc_main(&gep__ops, argc, argv);
}
