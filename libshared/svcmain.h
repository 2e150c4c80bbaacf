/* svcmain: the life of a service process, the same for every eco-*
 * service: read the configuration (cfg), set up logging, the loop and the
 * MQTT library, start the service, stop it cleanly on SIGTERM/SIGINT (a
 * second signal exits at once), and turn the outcome into the exit status.
 * A service's main.c is one call to svc_main with its operations. */
#ifndef ECO_SVCMAIN_H
#define ECO_SVCMAIN_H

#include "cfg.h"

#include <stddef.h>
#include <uv.h>

struct svc_ops {
    const char *name;            /* "eco-dispatch": logs and messages */
    const struct cfg_prog *prog; /* its settings */
    size_t conf_size;            /* sizeof its configuration struct */
    size_t log_level_off;        /* offsetof(conf, log_level): a CFG_STR */
    /* conf outlives the service. Returns 0 or a negative errno. */
    int (*create)(uv_loop_t *loop, const void *conf, void **svc);
    int (*start)(void *svc);
    /* Drains and closes; done(arg) runs once every handle is closed. */
    void (*stop)(void *svc, void (*done)(void *arg), void *arg);
    void (*destroy)(void *svc);
    int (*exit_code)(const void *svc);
};

/* Runs the service until it stops. Returns the process exit status. */
int svc_main(const struct svc_ops *ops, int argc, char **argv);

#endif
