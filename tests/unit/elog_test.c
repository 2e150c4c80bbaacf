/* elog writes one logfmt line per event with a single write(2): checked by
 * capturing stderr through a pipe. */
#include "elog.h"

#include "check.h"

#include <errno.h>
#include <unistd.h>

static char out[8192];

static const char *capture(void (*fn)(void))
{
    int p[2], saved;
    ssize_t n;

    CHECK(pipe(p) == 0);
    saved = dup(STDERR_FILENO);
    dup2(p[1], STDERR_FILENO);
    fn();
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(p[1]);
    n = read(p[0], out, sizeof(out) - 1);
    close(p[0]);
    out[n > 0 ? n : 0] = '\0';
    return out;
}

static void ev_info(void)
{
    elog_info("stored batch", "rows=%d source=%s", 42, "eco/v1/in/x");
}

static void ev_debug(void)
{
    elog_debug("hidden", NULL);
}

static void ev_long(void)
{
    char big[5000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    elog_warn("long", "v=%s", big);
}

static void test_elog(void)
{
    char q[64];
    enum elog_level lvl;

    elog_init("t_elog", ELOG_INFO);
    capture(ev_info);
    CHECK(strncmp(out, "ts=", 3) == 0);
    CHECK(strstr(out, " level=info prog=t_elog msg=\"stored batch\" rows=42 source=eco/v1/in/x\n"));
    CHECK(strchr(out, '\n') == out + strlen(out) - 1); /* exactly one line */
    capture(ev_debug);
    CHECK_EQ_STR(out, ""); /* below the level */
    capture(ev_long);
    CHECK(strlen(out) <= ELOG_LINE_MAX);
    CHECK(strstr(out, "...\n") != NULL); /* cut, and says so */

    CHECK_EQ_STR(elog_q(q, sizeof(q), "plain"), "plain");
    CHECK_EQ_STR(elog_q(q, sizeof(q), "two words"), "\"two words\"");
    CHECK_EQ_STR(elog_q(q, sizeof(q), "a\"b\nc"), "\"a\\\"b\\nc\"");
    CHECK_EQ_STR(elog_q(q, sizeof(q), ""), "\"\"");
    CHECK_EQ_STR(elog_q(q, 6, "abcdefghij"), "abcde");
    CHECK_EQ_INT(elog_level_parse("warn", &lvl), 0);
    CHECK_EQ_INT(lvl, ELOG_WARN);
    CHECK_EQ_INT(elog_level_parse("loud", &lvl), -EINVAL);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_elog),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
