#include "mqpw.h"

#include "check.h"

#include <errno.h>
#include <string.h>

/* Written by `mosquitto_passwd -U` (mosquitto 2.0.11) for u1:secret. */
static const char ref_hash[] =
    "$7$101$bZXnXmuPWRrXPsQ5$O3RANMbp/MEdgxDMeAHTs7fBu0iusP8VNAUKqhYQMBnH"
    "OUP2HnC3+ZKLBhiFleMPgm/5pbVKFteDpQe1aHeJnQ==";

static void test_verify_mosquitto_hash(void)
{
    CHECK_EQ_INT(mqpw_verify("secret", 6, ref_hash), 0);
    CHECK_EQ_INT(mqpw_verify("secreT", 6, ref_hash), -EACCES);
    CHECK_EQ_INT(mqpw_verify("secret ", 7, ref_hash), -EACCES);
    CHECK_EQ_INT(mqpw_verify("secre", 5, ref_hash), -EACCES);
}

/* The same salt and count give mosquitto_passwd's exact line. */
static void test_same_bytes_as_mosquitto_passwd(void)
{
    /* base64 bZXnXmuPWRrXPsQ5 */
    static const unsigned char salt[12] = {0x6d, 0x95, 0xe7, 0x5e, 0x6b, 0x8f,
                                           0x59, 0x1a, 0xd7, 0x3e, 0xc4, 0x39};
    char out[MQPW_HASH_MAX];
    CHECK_EQ_INT(mqpw_hash_salt("secret", 6, salt, sizeof salt, 101, out, sizeof out), 0);
    CHECK_EQ_STR(out, ref_hash);
}

static void test_round_trip_and_fresh_salt(void)
{
    char a[MQPW_HASH_MAX], b[MQPW_HASH_MAX];
    CHECK_EQ_INT(mqpw_hash("pa:ss word", 10, a, sizeof a), 0);
    CHECK_EQ_INT(mqpw_hash("pa:ss word", 10, b, sizeof b), 0);
    CHECK(strncmp(a, "$7$101$", 7) == 0);
    CHECK(strcmp(a, b) != 0); /* a new salt every time */
    CHECK_EQ_INT(mqpw_verify("pa:ss word", 10, a), 0);
    CHECK_EQ_INT(mqpw_verify("pa:ss word", 10, b), 0);
    CHECK_EQ_INT(mqpw_verify("pa:ss wore", 10, a), -EACCES);
}

static void test_refused_input(void)
{
    char out[MQPW_HASH_MAX], big[MQPW_PASSWORD_MAX + 1];
    memset(big, 'x', sizeof big);
    CHECK_EQ_INT(mqpw_hash("", 0, out, sizeof out), -EINVAL);
    CHECK_EQ_INT(mqpw_hash(big, sizeof big, out, sizeof out), -EINVAL);
    CHECK_EQ_INT(mqpw_hash(big, MQPW_PASSWORD_MAX, out, sizeof out), 0);
    CHECK_EQ_INT(mqpw_hash("x", 1, out, 40), -ENOSPC);
    static const char *const bad[] = {
        "",
        "$6$101$bZXnXmuPWRrXPsQ5$O3RA",
        "$7$$bZXnXmuPWRrXPsQ5$O3RANMbp",
        "$7$101$bZXnXmuPWRrXPsQ5",
        "$7$101$bZXnXmuPWRrXPsQ$O3RANMbp/MEdgxDMeAHTs7fBu0iusP8VNAUKqhYQMBnHOUP2HnC3+ZKLBhiFleMPgm/"
        "5pbVKFteDpQe1aHeJnQ==",
        "$7$101$bZXnXmuPWRrXPsQ5$O3RANMbp", /* key too short */
        "$7$0$bZXnXmuPWRrXPsQ5$O3RANMbp/MEdgxDMeAHTs7fBu0iusP8VNAUKqhYQMBnHOUP2HnC3+ZKLBhiFleMPgm/"
        "5pbVKFteDpQe1aHeJnQ==",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ_INT(mqpw_verify("secret", 6, bad[i]), -EINVAL);
}

static void test_random(void)
{
    char a[25], b[25];
    CHECK_EQ_INT(mqpw_random(a, 24, sizeof a), 0);
    CHECK_EQ_INT(mqpw_random(b, 24, sizeof b), 0);
    CHECK_EQ_INT((long long)strlen(a), 24);
    CHECK(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") == 24);
    CHECK(strcmp(a, b) != 0);
    CHECK_EQ_INT(mqpw_random(a, 25, sizeof a), -ENOSPC);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_verify_mosquitto_hash),
    CHECK_CASE(test_same_bytes_as_mosquitto_passwd),
    CHECK_CASE(test_round_trip_and_fresh_salt),
    CHECK_CASE(test_refused_input),
    CHECK_CASE(test_random),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
