/* hj212auth: who may send HJ 212 frames, without a socket. The registry is
 * filled through reg_fill_devices from a result set made by libpq; the
 * password checks run on a real libuv loop and thread pool with real
 * bcrypt hashes (cost 4, made here by libxcrypt):
 *   - verdicts: unknown MN, MQTT device, inactive, no password, a check
 *     needed, then right or wrong from the connection's cache;
 *   - a success is remembered for the MN: a new connection is not hashed
 *     again, unless the stored hash changed;
 *   - the cache keeps HJ212AUTH_SLOTS verdicts, the oldest goes;
 *   - a detached or cancelled job stores nothing and reports owner NULL. */
#include "hj212auth.h"

#include "check.h"
#include "pgres.h"
#include "hj212.h"

#include <crypt.h>
#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

/* bcrypt of pw at cost 4 (the lowest: fast tests). */
static void mkhash(const char *pw, char *out, size_t cap)
{
    static struct crypt_data cd;
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    const char *h;

    CHECK(crypt_gensalt_rn("$2b$", 4, NULL, 0, salt, (int)sizeof(salt)) != NULL);
    h = crypt_rn(pw, salt, &cd, (int)sizeof(cd));
    CHECK(h != NULL && strncmp(h, "$2b$04$", 7) == 0);
    CHECK(strlen(h) < cap);
    snprintf(out, cap, "%s", h);
}

static char hash1[HJ212AUTH_HASH_MAX], hash2[HJ212AUTH_HASH_MAX];

/* LOG001: password "123456" (hash1); LOG002 the same with hash2 of
 * "654321"; MQ001 an MQTT device; OFF001 inactive; NOPW01 no password. */
static void build_registry(struct reg *r, const char *log1_hash)
{
    static const char *const dcols[] = {"code",   "site_id", "site",   "kind",
                                        "source", "pw_hash", "active", "st"};
    const char *const devs[] = {
        "LOG001", "1", "S1", "air", "hj212", log1_hash, "t", "22", /* */
        "LOG002", "2", "S2", "air", "hj212", hash2,     "t", "22", /* */
        "MQ001",  "3", "S3", "air", "mqtt",  hash1,     "t", "",   /* */
        "OFF001", "4", "S4", "air", "hj212", hash1,     "f", "22", /* */
        "NOPW01", "5", "S5", "air", "hj212", "",        "t", "22", /* */
    };
    PGresult *dr = result(8, dcols, 5, devs);

    reg_init(r);
    CHECK_EQ_INT(reg_fill_devices(r, dr), 0);
    PQclear(dr);
}

static struct hj212_frame frame(const char *mn, const char *pw)
{
    struct hj212_frame f;
    memset(&f, 0, sizeof(f));
    snprintf(f.mn, sizeof(f.mn), "%s", mn);
    snprintf(f.pw, sizeof(f.pw), "%s", pw);
    return f;
}

/* ---- the done callback ---------------------------------------------------- */

static struct {
    int calls;
    void *owner;
    int rc;
} seen;

static void done(void *ud, void *owner, int rc)
{
    CHECK(ud == &seen);
    seen.calls++;
    seen.owner = owner;
    seen.rc = rc;
}

/* Runs the loop until the jobs are over. */
static void drain(uv_loop_t *loop, struct hj212auth *a)
{
    while (a->njobs)
        uv_run(loop, UV_RUN_ONCE);
}

static void test_verify(void)
{
    CHECK_EQ_INT(hj212auth_verify("123456", hash1), 1);
    CHECK_EQ_INT(hj212auth_verify("123457", hash1), 0);
    CHECK_EQ_INT(hj212auth_verify("", hash1), 0);
    CHECK_EQ_INT(hj212auth_verify("654321", hash2), 1);
    /* a hash crypt does not understand never matches */
    CHECK_EQ_INT(hj212auth_verify("123456", "*"), 0);
    CHECK_EQ_INT(hj212auth_verify("123456", "$9$nonsense"), 0);
}

static void test_verdicts(void)
{
    uv_loop_t loop;
    struct hj212auth a;
    struct hj212auth_cache conn = {0}, conn2 = {0};
    struct hj212auth_job *job;
    const struct reg_device *dev;
    struct hj212_frame f;
    struct reg r;
    int owner;

    CHECK_EQ_INT(uv_loop_init(&loop), 0);
    build_registry(&r, hash1);
    hj212auth_init(&a, &loop, done, &seen);

    f = frame("NOSUCH", "123456");
    CHECK_EQ_INT(hj212auth_check(&a, &conn, &r, &f, &dev), HJ212AUTH_UNKNOWN_MN);
    CHECK(dev == NULL);
    f = frame("MQ001", "123456");
    CHECK_EQ_INT(hj212auth_check(&a, &conn, &r, &f, &dev), HJ212AUTH_MQTT);
    CHECK(dev == NULL);
    f = frame("OFF001", "123456");
    CHECK_EQ_INT(hj212auth_check(&a, &conn, &r, &f, &dev), HJ212AUTH_INACTIVE);
    CHECK(dev != NULL && strcmp(dev->code, "OFF001") == 0);
    f = frame("NOPW01", "123456");
    CHECK_EQ_INT(hj212auth_check(&a, &conn, &r, &f, &dev), HJ212AUTH_NO_PASSWORD);

    /* the right password: checked once, then known on this connection */
    f = frame("LOG001", "123456");
    CHECK_EQ_INT(hj212auth_check(&a, &conn, &r, &f, &dev), HJ212AUTH_NEEDS_CHECK);
    CHECK_EQ_INT(hj212auth_start(&a, &conn, &owner, f.mn, f.pw, dev->pw_hash, &job), 0);
    CHECK(job != NULL && a.njobs == 1 && a.checks == 1);
    drain(&loop, &a);
    CHECK_EQ_INT(seen.calls, 1);
    CHECK(seen.owner == &owner);
    CHECK_EQ_INT(seen.rc, 0);
    CHECK_EQ_INT(hj212auth_check(&a, &conn, &r, &f, &dev), HJ212AUTH_OK);

    /* a wrong one: checked once, then refused from the cache */
    f = frame("LOG001", "000000");
    CHECK_EQ_INT(hj212auth_check(&a, &conn, &r, &f, &dev), HJ212AUTH_NEEDS_CHECK);
    CHECK_EQ_INT(hj212auth_start(&a, &conn, &owner, f.mn, f.pw, dev->pw_hash, &job), 0);
    drain(&loop, &a);
    CHECK_EQ_INT(seen.rc, 0);
    CHECK_EQ_INT(hj212auth_check(&a, &conn, &r, &f, &dev), HJ212AUTH_BAD_PASSWORD);
    CHECK_EQ_INT(a.checks, 2);

    /* a new connection of LOG001: the success is remembered, no hashing;
     * its wrong guess is not */
    f = frame("LOG001", "123456");
    CHECK_EQ_INT(hj212auth_check(&a, &conn2, &r, &f, &dev), HJ212AUTH_OK);
    CHECK_EQ_INT(hj212auth_cache_get(&conn2, "LOG001", "123456", hash1), 1);
    f = frame("LOG001", "000000");
    CHECK_EQ_INT(hj212auth_check(&a, &conn2, &r, &f, &dev), HJ212AUTH_NEEDS_CHECK);
    CHECK_EQ_INT(a.checks, 2);

    /* a new password in the registry: neither cache holds */
    reg_close(&r);
    build_registry(&r, hash2);
    f = frame("LOG001", "123456");
    CHECK_EQ_INT(hj212auth_check(&a, &conn, &r, &f, &dev), HJ212AUTH_NEEDS_CHECK);
    CHECK_EQ_INT(hj212auth_check(&a, &conn2, &r, &f, &dev), HJ212AUTH_NEEDS_CHECK);

    hj212auth_close(&a);
    reg_close(&r);
    CHECK_EQ_INT(uv_loop_close(&loop), 0);
}

static void test_cache_slots(void)
{
    struct hj212auth_cache c = {0};
    char mn[16];

    CHECK_EQ_INT(hj212auth_cache_get(&c, "M0", "1", "h"), -1);
    for (int i = 0; i <= HJ212AUTH_SLOTS; i++) {
        snprintf(mn, sizeof(mn), "M%d", i);
        hj212auth_cache_put(&c, mn, "1", "h", i % 2 == 0);
    }
    CHECK_EQ_INT(hj212auth_cache_get(&c, "M0", "1", "h"), -1); /* the oldest went */
    CHECK_EQ_INT(hj212auth_cache_get(&c, "M1", "1", "h"), 0);
    CHECK_EQ_INT(hj212auth_cache_get(&c, "M2", "1", "h"), 1);
    /* a verdict is for (MN, PW, hash) together */
    CHECK_EQ_INT(hj212auth_cache_get(&c, "M2", "2", "h"), -1);
    CHECK_EQ_INT(hj212auth_cache_get(&c, "M2", "1", "g"), -1);
}

static void test_detach_cancel(void)
{
    uv_loop_t loop;
    struct hj212auth a;
    struct hj212auth_cache conn = {0}, conn2 = {0};
    struct hj212auth_job *job;
    const struct reg_device *dev;
    struct hj212_frame f = frame("LOG001", "123456");
    struct reg r;
    int owner;

    CHECK_EQ_INT(uv_loop_init(&loop), 0);
    build_registry(&r, hash1);
    hj212auth_init(&a, &loop, done, &seen);

    /* the connection went while its check ran: nothing stored for it, but
     * the success is still remembered for the MN */
    CHECK_EQ_INT(hj212auth_start(&a, &conn, &owner, f.mn, f.pw, hash1, &job), 0);
    hj212auth_detach(job);
    drain(&loop, &a);
    CHECK_EQ_INT(seen.calls, 1);
    CHECK(seen.owner == NULL);
    CHECK_EQ_INT(seen.rc, 0);
    CHECK_EQ_INT(hj212auth_cache_get(&conn, f.mn, f.pw, hash1), -1);
    CHECK_EQ_INT(hj212auth_check(&a, &conn2, &r, &f, &dev), HJ212AUTH_OK);

    /* shutdown: every job reports to nobody and no success is kept */
    hj212auth_close(&a);
    hj212auth_init(&a, &loop, done, &seen);
    seen.calls = 0;
    for (int i = 0; i < 8; i++)
        CHECK_EQ_INT(hj212auth_start(&a, &conn, &owner, f.mn, f.pw, hash1, &job), 0);
    hj212auth_cancel_all(&a);
    drain(&loop, &a);
    CHECK_EQ_INT(seen.calls, 8);
    CHECK(seen.owner == NULL);
    CHECK_EQ_INT(hj212auth_cache_get(&conn, f.mn, f.pw, hash1), -1);
    memset(&conn2, 0, sizeof(conn2));
    CHECK_EQ_INT(hj212auth_check(&a, &conn2, &r, &f, &dev), HJ212AUTH_NEEDS_CHECK);

    hj212auth_close(&a);
    reg_close(&r);
    CHECK_EQ_INT(uv_loop_close(&loop), 0);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_verify),
    CHECK_CASE(test_verdicts),
    CHECK_CASE(test_cache_slots),
    CHECK_CASE(test_detach_cancel),
};

int main(int argc, char **argv)
{
    mkhash("123456", hash1, sizeof(hash1));
    mkhash("654321", hash2, sizeof(hash2));
    return CHECK_MAIN(argc, argv, cases);
}
