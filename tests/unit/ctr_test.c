#include "ctr.h"

#include "check.h"

#include <errno.h>

static void test_ctr(void)
{
    struct ctr_set s = {0};
    struct buf b;
    int rx, st;

    rx = ctr_add(&s, "received");
    st = ctr_add(&s, "stored");
    CHECK_EQ_INT(rx, 0);
    CHECK_EQ_INT(st, 1);
    CHECK_EQ_INT(ctr_add(&s, "received"), -EINVAL); /* repeated */
    CHECK_EQ_INT(ctr_add(&s, "Bad-Name"), -EINVAL);
    CHECK_EQ_INT(ctr_add(&s, ""), -EINVAL);
    s.val[rx] += 3;
    s.val[st] = 18446744073709551615ULL;
    buf_init(&b, 1024);
    CHECK_EQ_INT(ctr_json(&s, &b), 0);
    CHECK_EQ_STR(b.p, "\"received\":3,\"stored\":18446744073709551615");
    buf_reset(&b);
    CHECK_EQ_INT(ctr_logfmt(&s, &b), 0);
    CHECK_EQ_STR(b.p, "received=3 stored=18446744073709551615");
    /* bounded */
    static const char *const names[] = {"a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9",
                                        "b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7", "b8", "b9",
                                        "c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"};
    for (size_t i = 0; i < 30; i++)
        CHECK(ctr_add(&s, names[i]) >= 0);
    CHECK_EQ_INT(ctr_add(&s, "one_too_many"), -ENOSPC);
    /* the cap of the buffer is respected */
    struct buf small;
    buf_init(&small, 16);
    CHECK_EQ_INT(ctr_json(&s, &small), -E2BIG);
    CHECK(small.len <= 16);
    buf_close(&small);
    buf_close(&b);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_ctr),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
