#include "rpc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

bool rpc_name_ok(const char *s, size_t len)
{
    if (len < 1 || len > RPC_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '.' || ch == '-'))
            return false;
    }
    return true;
}

/* Copies the level that starts at *p (up to '/' or the end) into out and
 * moves *p past it and its '/'. Returns the level's length, or -1 when it
 * is not a valid name. */
static int rpc__level(const char **p, char out[RPC_NAME_MAX + 1], bool last)
{
    const char *s = *p, *slash = strchr(s, '/');
    size_t len = slash ? (size_t)(slash - s) : strlen(s);
    if ((slash != NULL) == last || !rpc_name_ok(s, len))
        return -1;
    memcpy(out, s, len);
    out[len] = '\0';
    *p = slash ? slash + 1 : s + len;
    return (int)len;
}

int rpc_parse_topic(const char *topic, struct rpc_call *out)
{
    const char *p;
    if (!topic || strncmp(topic, RPC_PREFIX, sizeof RPC_PREFIX - 1) != 0)
        return -EINVAL;
    p = topic + sizeof RPC_PREFIX - 1;
    if (rpc__level(&p, out->service, false) < 0 || rpc__level(&p, out->method, false) < 0 ||
        rpc__level(&p, out->caller, true) < 0)
        return -EINVAL;
    /* eco/v1/rpc/reply/... is where answers go, never a service */
    if (strcmp(out->service, "reply") == 0)
        return -EINVAL;
    return 0;
}

int rpc_check_reply_topic(const char *caller, const char *response_topic)
{
    size_t clen, plen = sizeof RPC_REPLY_PREFIX - 1;
    const char *rest;
    if (!caller || !response_topic)
        return -EINVAL;
    clen = strlen(caller);
    if (!rpc_name_ok(caller, clen) || strncmp(response_topic, RPC_REPLY_PREFIX, plen) != 0 ||
        strncmp(response_topic + plen, caller, clen) != 0 || response_topic[plen + clen] != '/')
        return -EINVAL;
    rest = response_topic + plen + clen + 1;
    /* one more, non-empty level at least; a publish topic has no wildcard */
    if (*rest == '\0' || *rest == '/' || strpbrk(rest, "+#") || strstr(rest, "//") ||
        rest[strlen(rest) - 1] == '/')
        return -EINVAL;
    return 0;
}

int rpc_request_topic(const char *service, const char *method, const char *caller, char *out,
                      size_t cap)
{
    int n;
    if (!rpc_name_ok(service, strlen(service)) || !rpc_name_ok(method, strlen(method)) ||
        !rpc_name_ok(caller, strlen(caller)) || strcmp(service, "reply") == 0)
        return -EINVAL;
    n = snprintf(out, cap, RPC_PREFIX "%s/%s/%s", service, method, caller);
    return n < 0 || (size_t)n >= cap ? -ENOSPC : 0;
}
