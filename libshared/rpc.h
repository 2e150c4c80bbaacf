/* rpc: the request/response convention of eco/v1/rpc (docs/CONTRACT.md,
 * "Requests to services"): who is calling, read from what the broker
 * enforces.
 *
 * A request is published on eco/v1/rpc/{service}/{method}/{caller}, where
 * {caller} is the publisher's own broker user name: the broker's ACL lets a
 * user write there only under its own name (pattern write
 * eco/v1/rpc/+/+/%u), so the topic, never the payload, says who asks. The
 * request's MQTT 5 response topic must lie under eco/v1/rpc/reply/{caller}/,
 * the one reply prefix only that user may read; a service does not answer
 * anywhere else, so nobody can make it send one user's data to another.
 *
 * Pure functions on strings: no allocation, no I/O, any thread. */
#ifndef ECO_RPC_H
#define ECO_RPC_H

#include <stdbool.h>
#include <stddef.h>

#define RPC_NAME_MAX 64 /* a service, method or caller name, without the NUL */
#define RPC_PREFIX "eco/v1/rpc/"
#define RPC_REPLY_PREFIX "eco/v1/rpc/reply/"

/* One parsed request topic; names are NUL-terminated copies. */
struct rpc_call {
    char service[RPC_NAME_MAX + 1];
    char method[RPC_NAME_MAX + 1];
    char caller[RPC_NAME_MAX + 1];
};

/* True when s is a valid service, method or caller name: 1..64 of
 * [A-Za-z0-9_.-] (what broker accounts may be called, so a name can never
 * carry a topic level or a wildcard). */
bool rpc_name_ok(const char *s, size_t len);

/* Parses a request topic eco/v1/rpc/{service}/{method}/{caller} into *out.
 * Returns 0, or -EINVAL (not that shape, a bad name, or the service "reply",
 * which is the reply prefix). */
int rpc_parse_topic(const char *topic, struct rpc_call *out);

/* Returns 0 when response_topic may receive caller's reply: it lies under
 * eco/v1/rpc/reply/{caller}/ with at least one more level and no wildcard;
 * -EINVAL otherwise (also for NULL). */
int rpc_check_reply_topic(const char *caller, const char *response_topic);

/* Writes the request topic for service, method and caller into out (cap
 * bytes). Returns 0, -EINVAL for a bad name, -ENOSPC when it does not fit. */
int rpc_request_topic(const char *service, const char *method, const char *caller, char *out,
                      size_t cap);

#endif
