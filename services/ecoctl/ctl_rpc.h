/* ctl_rpc: one MQTT 5 request to a service and its reply, for ecoctl
 * (docs/CONTRACT.md, "Requests to services").
 *
 * The request goes, QoS 1, to eco/v1/rpc/{service}/{method}/{caller}, where
 * {caller} is ECO_MQTT_USER, the account ecoctl logs in with: the broker lets
 * an account publish requests only under its own name, so the service knows
 * who asks. The MQTT 5 response topic is eco/v1/rpc/reply/{caller}/{random}
 * (only that account may read under eco/v1/rpc/reply/{caller}/), with
 * random correlation data. ecoctl subscribes to it and waits for the SUBACK
 * before it publishes, so a fast reply cannot be missed and a broker that
 * will not let the account read its replies is reported as such, not as a
 * timeout. The request expires (MQTT 5 message expiry) when ecoctl stops
 * waiting: a service that starts later does not act on a request nobody
 * waits for any more.
 *
 * Blocking, on libmosquitto's own network calls: ecoctl is a command line
 * program, not a loop service. Everything, from the TCP connect to the
 * reply, is bounded by one deadline. */
#ifndef ECO_CTL_RPC_H
#define ECO_CTL_RPC_H

#include <cjson/cJSON.h>
#include <stddef.h>

struct ctl_opts;

#include "rpc.h" /* RPC_NAME_MAX: a service, method or caller name */

#define CTL_RPC_NAME_MAX RPC_NAME_MAX

/* Sends args (borrowed; any JSON object) as method of service and waits
 * at most timeout_s seconds for the reply, with the broker settings of o
 * (ECO_MQTT_URL, _USER, _PASSWORD, _CAFILE). On success returns 0 and
 * *reply, the parsed reply: a JSON object with a boolean "ok" (the caller
 * owns it; "ok" may be false, which is the service's refusal, not an error
 * here). On failure returns a negative errno with a sentence for a person
 * in err:
 *   -EINVAL       settings missing or malformed (no URL, no user)
 *   -ECONNREFUSED the broker could not be reached
 *   -EACCES       the broker refused the login, the reply subscription or
 *                 the request
 *   -ETIMEDOUT    no reply within timeout_s ("is it running?")
 *   -EBADMSG      the reply was not a JSON object with a boolean "ok"
 *   -ENOMEM, -EIO */
int ctl_rpc_call(const struct ctl_opts *o, const char *service, const char *method,
                 const cJSON *args, double timeout_s, cJSON **reply, char *err, size_t errcap);

#endif
