#include "rpc.h"

#include "check.h"

#include <errno.h>
#include <string.h>

static void test_parse_request_topic(void)
{
    struct rpc_call c;
    CHECK_EQ_INT(rpc_parse_topic("eco/v1/rpc/dispatch/wo.list/zhang.wei", &c), 0);
    CHECK_EQ_STR(c.service, "dispatch");
    CHECK_EQ_STR(c.method, "wo.list");
    CHECK_EQ_STR(c.caller, "zhang.wei");
}

static void test_parse_refuses_other_shapes(void)
{
    static const char *const bad[] = {
        "eco/v1/rpc/dispatch/wo.list",     /* the old, caller-less topic */
        "eco/v1/rpc/dispatch/wo.list/a/b", /* a level too many */
        "eco/v1/rpc/dispatch//a",          /* empty method */
        "eco/v1/rpc/dispatch/wo.list/",    /* empty caller */
        "eco/v1/rpc/reply/x/y",            /* the reply prefix */
        "eco/v1/rpcx/dispatch/m/a",        /* not the prefix */
        "eco/v2/rpc/dispatch/m/a",         /* another version */
        "eco/v1/rpc/dispatch/m/a b",       /* a space */
        "eco/v1/rpc/dispatch/m/+",         /* a wildcard */
        "eco/v1/rpc/dispatch/m/#",         /* a wildcard */
        "eco/v1/rpc/dis+patch/m/a",        /* a wildcard in the service */
        "",
    };
    struct rpc_call c;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (rpc_parse_topic(bad[i], &c) != -EINVAL) {
            fprintf(stderr, "accepted: %s\n", bad[i]);
            CHECK(0);
        }
    }
    CHECK_EQ_INT(rpc_parse_topic(NULL, &c), -EINVAL);
}

static void test_name_length_bound(void)
{
    char topic[256], name[RPC_NAME_MAX + 2];
    struct rpc_call c;
    memset(name, 'a', RPC_NAME_MAX);
    name[RPC_NAME_MAX] = '\0';
    snprintf(topic, sizeof topic, "eco/v1/rpc/dispatch/m/%s", name);
    CHECK_EQ_INT(rpc_parse_topic(topic, &c), 0);
    CHECK_EQ_INT((int)strlen(c.caller), RPC_NAME_MAX);
    name[RPC_NAME_MAX] = 'a';
    name[RPC_NAME_MAX + 1] = '\0';
    snprintf(topic, sizeof topic, "eco/v1/rpc/dispatch/m/%s", name);
    CHECK_EQ_INT(rpc_parse_topic(topic, &c), -EINVAL);
}

static void test_reply_topic_must_be_the_callers(void)
{
    CHECK_EQ_INT(rpc_check_reply_topic("ann", "eco/v1/rpc/reply/ann/1f3a"), 0);
    CHECK_EQ_INT(rpc_check_reply_topic("ann", "eco/v1/rpc/reply/ann/ctl/42"), 0);
    /* another user's prefix, one that only starts with the name, none */
    CHECK_EQ_INT(rpc_check_reply_topic("ann", "eco/v1/rpc/reply/bob/1"), -EINVAL);
    CHECK_EQ_INT(rpc_check_reply_topic("ann", "eco/v1/rpc/reply/anna/1"), -EINVAL);
    CHECK_EQ_INT(rpc_check_reply_topic("ann", "eco/v1/rpc/reply/ann"), -EINVAL);
    CHECK_EQ_INT(rpc_check_reply_topic("ann", "eco/v1/rpc/reply/ann/"), -EINVAL);
    CHECK_EQ_INT(rpc_check_reply_topic("ann", "eco/v1/rpc/reply/ann/a//b"), -EINVAL);
    CHECK_EQ_INT(rpc_check_reply_topic("ann", "eco/v1/rpc/reply/ann/a/"), -EINVAL);
    CHECK_EQ_INT(rpc_check_reply_topic("ann", "eco/v1/rpc/reply/ann/#"), -EINVAL);
    CHECK_EQ_INT(rpc_check_reply_topic("ann", "eco/v1/wo/d1/ann/1"), -EINVAL);
    CHECK_EQ_INT(rpc_check_reply_topic("ann", NULL), -EINVAL);
    CHECK_EQ_INT(rpc_check_reply_topic("a/b", "eco/v1/rpc/reply/a/b/1"), -EINVAL);
}

static void test_request_topic(void)
{
    char t[64];
    struct rpc_call c;
    CHECK_EQ_INT(rpc_request_topic("gep", "run", "li", t, sizeof t), 0);
    CHECK_EQ_STR(t, "eco/v1/rpc/gep/run/li");
    CHECK_EQ_INT(rpc_parse_topic(t, &c), 0);
    CHECK_EQ_INT(rpc_request_topic("gep", "run", "l/i", t, sizeof t), -EINVAL);
    CHECK_EQ_INT(rpc_request_topic("reply", "run", "li", t, sizeof t), -EINVAL);
    CHECK_EQ_INT(rpc_request_topic("gep", "run", "li", t, 20), -ENOSPC);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_parse_request_topic), CHECK_CASE(test_parse_refuses_other_shapes),
    CHECK_CASE(test_name_length_bound),   CHECK_CASE(test_reply_topic_must_be_the_callers),
    CHECK_CASE(test_request_topic),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
