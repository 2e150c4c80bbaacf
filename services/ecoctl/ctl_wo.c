/* ecoctl wo ... | complaint submit | alarm ack: work orders, complaints and
 * alarm acknowledgements are eco-dispatch's; these verbs ask it over MQTT 5
 * (ctl_rpc) in the caller's own name and show its answer. The command line
 * is checked first (wocli), so a usage error never reaches the broker. */
#include "ctl_rpc.h"
#include "ecoctl.h"
#include "wocli.h"

#include "json.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Parses, asks eco-dispatch, prints. Returns CTL_OK, CTL_REFUSED (refused
 * or no answer) or CTL_USAGE. */
static int ctl_wo__run(const struct ctl_opts *o, const char *noun, int argc, char **argv)
{
    struct wocli_req req;
    char err[512];
    cJSON *reply = NULL;
    const char *why = NULL;
    char *out = NULL;
    size_t outlen;
    int rc;

    if (argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        wocli_usage(noun, stdout);
        return CTL_OK;
    }
    rc = wocli_parse(noun, argc, (const char *const *)argv, &req, err, sizeof(err));
    if (rc == -ENOMEM) {
        fprintf(stderr, "ecoctl: out of memory\n");
        return CTL_REFUSED;
    }
    if (rc) {
        fprintf(stderr, "ecoctl: %s (ecoctl %s --help)\n", err, noun);
        return CTL_USAGE;
    }
    rc = ctl_rpc_call(o, WOCLI_SERVICE, req.method, req.args, req.timeout_s, &reply, err,
                      sizeof(err));
    cJSON_Delete(req.args);
    req.args = NULL;
    if (rc) {
        fprintf(stderr, "ecoctl: %s\n", err);
        return CTL_REFUSED;
    }
    /* an export writes its array alone, in either mode (wocli_print) */
    if (o->json && req.out != WOCLI_OUT_EXPORT) {
        if (json_print(reply, &out, &outlen) == 0) {
            printf("%s\n", out);
            cJSON_free(out);
        }
    }
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "ok"))) {
        if (json_get_strp(reply, "error", &why) || !*why)
            why = "no reason given";
        fprintf(stderr, "ecoctl: refused: %s\n", why);
        cJSON_Delete(reply);
        return CTL_REFUSED;
    }
    if (!o->json || req.out == WOCLI_OUT_EXPORT)
        wocli_print(&req, reply, stdout);
    cJSON_Delete(reply);
    return CTL_OK;
}

int ctl_wo(const struct ctl_opts *o, int argc, char **argv)
{
    return ctl_wo__run(o, "wo", argc, argv);
}

int ctl_complaint(const struct ctl_opts *o, int argc, char **argv)
{
    return ctl_wo__run(o, "complaint", argc, argv);
}

int ctl_alarm_ack_rpc(const struct ctl_opts *o, int argc, char **argv)
{
    return ctl_wo__run(o, "alarm", argc, argv);
}
