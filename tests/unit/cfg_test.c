/* cfg: a table of every kind of setting; defaults, file, environment (which
 * wins), every kind of bad value refused with the setting's name, file
 * errors with file:line, a required setting, masking of secrets (in the
 * log too), host:port splitting, and the command line. */
#include "cfg.h"

#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct tconf {
    char name[CFG_STR_MAX];
    char pw[CFG_STR_MAX];
    int64_t count;
    int flag;
    char addr[CFG_STR_MAX];
    char dsn[CFG_STR_MAX];
    char url[CFG_STR_MAX];
};

#define C(f) offsetof(struct tconf, f)
static const struct cfg_def defs[] = {
    {"ECOT_NAME", CFG_STR, "svc", 1, 16, C(name), "a name of 1..16 bytes"},
    {"ECOT_PW", CFG_SECRET, "", 0, 0, C(pw), "a password"},
    {"ECOT_COUNT", CFG_INT, "10", 1, 100, C(count), "a count"},
    {"ECOT_FLAG", CFG_BOOL, "false", 0, 0, C(flag), "a switch"},
    {"ECOT_ADDR", CFG_ADDR, "127.0.0.1:9212", 0, 0, C(addr), "an address"},
    {"ECOT_DSN", CFG_STR, NULL, 1, 0, C(dsn), "a required DSN"},
    {"ECOT_URL", CFG_STR, "mqtt://127.0.0.1:1883", 1, 0, C(url), "a URL"},
};
#undef C
static const struct cfg_prog prog = {"eco-test", "tests cfg", defs, sizeof(defs) / sizeof(defs[0])};

static char root[256];
static char path_a[512], path_b[512];

static void cleanup(void)
{
    if (!root[0])
        return;
    unlink(path_a);
    unlink(path_b);
    rmdir(root);
}

static void unset_all(void)
{
    for (size_t i = 0; i < prog.ndefs; i++)
        CHECK(unsetenv(defs[i].name) == 0);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    CHECK(fputs(text, f) >= 0);
    CHECK(fclose(f) == 0);
}

static void expect_err(int rc, const char *err, const char *a, const char *b)
{
    if (rc != -EINVAL || !strstr(err, a) || (b && !strstr(err, b))) {
        fprintf(stderr, "rc %d, err \"%s\"; wanted -EINVAL with \"%s\" and \"%s\"\n", rc, err, a,
                b ? b : "");
        FAIL("not the error expected");
    }
}

/* env NAME=v alone (plus the required DSN) must be refused naming NAME */
static void bad_env(const char *name, const char *v)
{
    struct tconf c;
    char err[512] = "";
    unset_all();
    CHECK(setenv("ECOT_DSN", "host=db", 1) == 0);
    CHECK(setenv(name, v, 1) == 0);
    expect_err(cfg_load(&prog, &c, NULL, err, sizeof(err)), err, name, "environment");
    unset_all();
}

/* file line NAME=v must be refused naming NAME and file:2 */
static void bad_file(const char *name, const char *v)
{
    struct tconf c;
    char err[512] = "", text[600], where[600];
    unset_all();
    CHECK(setenv("ECOT_DSN", "host=db", 1) == 0);
    snprintf(text, sizeof(text), "# bad value on line 2\n%s=%s\n", name, v);
    write_file(path_b, text);
    snprintf(where, sizeof(where), "%s:2", path_b);
    expect_err(cfg_load(&prog, &c, path_b, err, sizeof(err)), err, name, where);
    unset_all();
}

static void good_env(const char *name, const char *v, struct tconf *c)
{
    char err[512] = "";
    unset_all();
    CHECK(setenv("ECOT_DSN", "host=db", 1) == 0);
    CHECK(setenv(name, v, 1) == 0);
    if (cfg_load(&prog, c, NULL, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s=%s refused: %s\n", name, v, err);
        FAIL("not accepted");
    }
    unset_all();
}

static void test_load(void)
{
    struct tconf c;
    char err[512];

    /* required missing: refused, naming it */
    unset_all();
    memset(&c, 0, sizeof(c));
    err[0] = '\0';
    expect_err(cfg_load(&prog, &c, NULL, err, sizeof(err)), err, "ECOT_DSN", "required");

    /* defaults */
    CHECK(setenv("ECOT_DSN", "host=db", 1) == 0);
    memset(&c, 0x5A, sizeof(c));
    CHECK_EQ_INT(cfg_load(&prog, &c, NULL, err, sizeof(err)), 0);
    CHECK_EQ_STR(c.name, "svc");
    CHECK_EQ_STR(c.pw, "");
    CHECK_EQ_INT(c.count, 10);
    CHECK_EQ_INT(c.flag, 0);
    CHECK_EQ_STR(c.addr, "127.0.0.1:9212");
    CHECK_EQ_STR(c.dsn, "host=db");
    CHECK_EQ_STR(c.url, "mqtt://127.0.0.1:1883");

    /* environment overrides every kind */
    CHECK(setenv("ECOT_NAME", "ingest-2", 1) == 0);
    CHECK(setenv("ECOT_PW", "s3cret", 1) == 0);
    CHECK(setenv("ECOT_COUNT", "100", 1) == 0);
    CHECK(setenv("ECOT_FLAG", "yes", 1) == 0);
    CHECK(setenv("ECOT_ADDR", "[::1]:1", 1) == 0);
    CHECK_EQ_INT(cfg_load(&prog, &c, NULL, err, sizeof(err)), 0);
    CHECK_EQ_STR(c.name, "ingest-2");
    CHECK_EQ_STR(c.pw, "s3cret");
    CHECK_EQ_INT(c.count, 100);
    CHECK_EQ_INT(c.flag, 1);
    CHECK_EQ_STR(c.addr, "[::1]:1");
    /* an empty ADDR is allowed (min 0): "off" */
    CHECK(setenv("ECOT_ADDR", "", 1) == 0);
    CHECK_EQ_INT(cfg_load(&prog, &c, NULL, err, sizeof(err)), 0);
    CHECK_EQ_STR(c.addr, "");
    unset_all();

    /* bool spellings */
    {
        static const char *const t[] = {"1", "true", "TRUE", "Yes", "on", "ON"};
        static const char *const f[] = {"0", "false", "False", "no", "NO", "off"};
        for (size_t i = 0; i < 6; i++) {
            good_env("ECOT_FLAG", t[i], &c);
            CHECK_EQ_INT(c.flag, 1);
            good_env("ECOT_FLAG", f[i], &c);
            CHECK_EQ_INT(c.flag, 0);
        }
    }
    /* int bounds are inclusive */
    good_env("ECOT_COUNT", "1", &c);
    CHECK_EQ_INT(c.count, 1);
    good_env("ECOT_COUNT", "+7", &c);
    CHECK_EQ_INT(c.count, 7);
    /* length bounds of strings are inclusive */
    good_env("ECOT_NAME", "x", &c);
    CHECK_EQ_STR(c.name, "x");
    good_env("ECOT_NAME", "0123456789abcdef", &c);
    CHECK_EQ_STR(c.name, "0123456789abcdef");
    {
        char s255[256];
        memset(s255, 'd', 255);
        s255[255] = '\0';
        good_env("ECOT_DSN", s255, &c);
        CHECK_EQ_STR(c.dsn, s255);
    }
}

static void test_bad_values(void)
{
    char s256[257];
    memset(s256, 'd', 256);
    s256[256] = '\0';

    static const char *const ints[] = {
        "abc", "", "5x", "0", "101", "-1", "1.5", " ", "99999999999999999999", "0x10"};
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        bad_env("ECOT_COUNT", ints[i]);
        bad_file("ECOT_COUNT", ints[i]);
    }
    static const char *const bools[] = {"maybe", "", "2", "yess", "tru", "y"};
    for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
        bad_env("ECOT_FLAG", bools[i]);
        bad_file("ECOT_FLAG", bools[i]);
    }
    static const char *const addrs[] = {"nohost", "h:",    ":80",     "h:70000", "h:-1",
                                        "h:8x",   "[::1]", "[::1]80", "[::1:80"};
    for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
        bad_env("ECOT_ADDR", addrs[i]);
        bad_file("ECOT_ADDR", addrs[i]);
    }
    bad_env("ECOT_NAME", "");                  /* below min length */
    bad_env("ECOT_NAME", "0123456789abcdefg"); /* above max length */
    bad_file("ECOT_NAME", "0123456789abcdefg");
    bad_env("ECOT_DSN", s256); /* does not fit the field */
    bad_env("ECOT_DSN", "");   /* required and min length 1 */
    bad_file("ECOT_PW", s256);
}

static void test_file(void)
{
    struct tconf c;
    char err[512] = "", want[600];

    unset_all();
    write_file(path_a, "# eco-test configuration\n"
                       "\n"
                       "   # an indented comment\n"
                       "ECOT_NAME=from-file\n"
                       "  ECOT_COUNT = 42  \n"
                       "\t\n"
                       "ECOT_PW=\"quoted # not a comment\"\n"
                       "ECOT_DSN='host=x port=5 password=p'\n"
                       "ECOT_FLAG=on\n"
                       "ECOT_URL=\"\"\n"
                       "ECOT_ADDR=\"0.0.0.0:9212\""); /* no newline at the end */
    /* ECOT_URL="" is empty after unquoting, below its min length 1: the
     * error names the setting and file:line */
    CHECK_EQ_INT(cfg_load(&prog, &c, path_a, err, sizeof(err)), -EINVAL);
    snprintf(want, sizeof(want), "%s:10", path_a);
    expect_err(-EINVAL, err, "ECOT_URL", want);

    write_file(path_a, "# eco-test configuration\n"
                       "\n"
                       "   # an indented comment\n"
                       "ECOT_NAME=from-file\n"
                       "  ECOT_COUNT = 42  \n"
                       "\t\n"
                       "ECOT_PW=\"quoted # not a comment\"\n"
                       "ECOT_DSN='host=x port=5 password=p'\n"
                       "ECOT_FLAG=on\n"
                       "ECOT_URL=\"unbalanced\n"
                       "ECOT_ADDR=\"0.0.0.0:9212\"");
    /* the file alone also satisfies the required setting */
    CHECK_EQ_INT(cfg_load(&prog, &c, path_a, err, sizeof(err)), 0);
    CHECK_EQ_STR(c.name, "from-file");
    CHECK_EQ_INT(c.count, 42);
    CHECK_EQ_STR(c.pw, "quoted # not a comment");
    CHECK_EQ_STR(c.dsn, "host=x port=5 password=p"); /* split at the first '=' */
    CHECK_EQ_INT(c.flag, 1);
    CHECK_EQ_STR(c.url, "\"unbalanced"); /* one quote is not a quoted value */
    CHECK_EQ_STR(c.addr, "0.0.0.0:9212");

    /* the environment wins over the file, setting by setting */
    CHECK(setenv("ECOT_COUNT", "7", 1) == 0);
    CHECK(setenv("ECOT_DSN", "host=env", 1) == 0);
    CHECK_EQ_INT(cfg_load(&prog, &c, path_a, err, sizeof(err)), 0);
    CHECK_EQ_INT(c.count, 7);
    CHECK_EQ_STR(c.dsn, "host=env");
    CHECK_EQ_STR(c.name, "from-file");
    /* a bad environment value is refused even when the file was fine */
    CHECK(setenv("ECOT_COUNT", "700", 1) == 0);
    expect_err(cfg_load(&prog, &c, path_a, err, sizeof(err)), err, "ECOT_COUNT", "environment");
    unset_all();

    /* the last line in the file wins over an earlier one */
    write_file(path_b, "ECOT_DSN=a\nECOT_DSN=b\n");
    CHECK_EQ_INT(cfg_load(&prog, &c, path_b, err, sizeof(err)), 0);
    CHECK_EQ_STR(c.dsn, "b");

    /* unknown key: file:line and the key */
    write_file(path_b, "ECOT_DSN=a\n# ok\nECOT_NOPE=1\n");
    snprintf(want, sizeof(want), "%s:3", path_b);
    expect_err(cfg_load(&prog, &c, path_b, err, sizeof(err)), err, want, "ECOT_NOPE");
    /* names are case-sensitive */
    write_file(path_b, "ecot_dsn=a\n");
    snprintf(want, sizeof(want), "%s:1", path_b);
    expect_err(cfg_load(&prog, &c, path_b, err, sizeof(err)), err, want, "ecot_dsn");
    /* a line that is not NAME=VALUE */
    write_file(path_b, "ECOT_DSN=a\n\nECOT_NAME\n");
    snprintf(want, sizeof(want), "%s:3", path_b);
    expect_err(cfg_load(&prog, &c, path_b, err, sizeof(err)), err, want, "NAME=VALUE");
    /* required and absent from both */
    write_file(path_b, "ECOT_NAME=x\n");
    expect_err(cfg_load(&prog, &c, path_b, err, sizeof(err)), err, "ECOT_DSN", "required");
    /* a line longer than CFG_LINE_MAX */
    {
        static char text[CFG_LINE_MAX + 100];
        int n = snprintf(text, sizeof(text), "ECOT_DSN=a\nECOT_NAME=");
        memset(text + n, 'x', CFG_LINE_MAX);
        snprintf(text + n + CFG_LINE_MAX, sizeof(text) - (size_t)n - CFG_LINE_MAX, "\n");
        write_file(path_b, text);
        snprintf(want, sizeof(want), "%s:2", path_b);
        expect_err(cfg_load(&prog, &c, path_b, err, sizeof(err)), err, want, "longer");
    }
    /* a file that does not exist: -errno and its name */
    {
        char missing[600];
        snprintf(missing, sizeof(missing), "%s/none.conf", root);
        CHECK_EQ_INT(cfg_load(&prog, &c, missing, err, sizeof(err)), -ENOENT);
        CHECK(strstr(err, missing) != NULL);
    }
    /* an error message is cut to errcap, still terminated */
    {
        char small[12];
        memset(small, 'Z', sizeof(small));
        CHECK_EQ_INT(cfg_load(&prog, &c, NULL, small, sizeof(small)), -EINVAL);
        CHECK_EQ_INT(strlen(small), sizeof(small) - 1);
    }
}

static void test_mask(void)
{
    char out[256];

    cfg_mask("mqtt://u:secret@h:1", out, sizeof(out));
    CHECK_EQ_STR(out, "mqtt://u:***@h:1");
    cfg_mask("host=x password=secret port=5", out, sizeof(out));
    CHECK_EQ_STR(out, "host=x password=*** port=5");
    cfg_mask("password=secret", out, sizeof(out));
    CHECK_EQ_STR(out, "password=***");
    cfg_mask("password=secret\tport=5", out, sizeof(out)); /* any blank ends it */
    CHECK_EQ_STR(out, "password=***\tport=5");
    cfg_mask("postgresql://eco:pw@db.local:5432/eco?sslmode=require", out, sizeof(out));
    CHECK_EQ_STR(out, "postgresql://eco:***@db.local:5432/eco?sslmode=require");
    /* nothing to mask: unchanged */
    cfg_mask("mqtt://h:1883", out, sizeof(out));
    CHECK_EQ_STR(out, "mqtt://h:1883");
    cfg_mask("mqtt://user@h:1883", out, sizeof(out));
    CHECK_EQ_STR(out, "mqtt://user@h:1883");
    cfg_mask("host=x port=5", out, sizeof(out));
    CHECK_EQ_STR(out, "host=x port=5");
    cfg_mask("", out, sizeof(out));
    CHECK_EQ_STR(out, "");
    /* cut to cap, terminated, and the cut never shows the secret */
    cfg_mask("mqtt://u:secret@h:1", out, 12);
    CHECK_EQ_INT(strlen(out), 11);
    CHECK(strstr(out, "sec") == NULL);
    cfg_mask("host=x password=secret port=5", out, 20);
    CHECK_EQ_INT(strlen(out), 19);
    CHECK(strstr(out, "sec") == NULL);
    cfg_mask("anything", out, 1);
    CHECK_EQ_STR(out, "");
}

static void test_split(void)
{
    char host[64];
    int port = -1;

    CHECK_EQ_INT(cfg_split_addr("127.0.0.1:9212", host, sizeof(host), &port), 0);
    CHECK_EQ_STR(host, "127.0.0.1");
    CHECK_EQ_INT(port, 9212);
    CHECK_EQ_INT(cfg_split_addr("[::1]:9212", host, sizeof(host), &port), 0);
    CHECK_EQ_STR(host, "::1");
    CHECK_EQ_INT(port, 9212);
    CHECK_EQ_INT(cfg_split_addr("[fe80::1%eth0]:1883", host, sizeof(host), &port), 0);
    CHECK_EQ_STR(host, "fe80::1%eth0");
    CHECK_EQ_INT(port, 1883);
    CHECK_EQ_INT(cfg_split_addr("broker.local:0", host, sizeof(host), &port), 0);
    CHECK_EQ_STR(host, "broker.local");
    CHECK_EQ_INT(port, 0);
    CHECK_EQ_INT(cfg_split_addr("h:65535", host, sizeof(host), &port), 0);
    CHECK_EQ_INT(port, 65535);

    static const char *const bad[] = {
        "",
        "nohost",
        "h:",
        ":80",
        "h:65536",
        "h:-1",
        "h:80x",
        "[::1]",
        "[::1]:",
        "[::1]80",
        "[::1:80",
        "[]:80",
        "h:99999999999999999999",
        "[::1]:x",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(host, sizeof(host), "untouched");
        port = -1;
        if (cfg_split_addr(bad[i], host, sizeof(host), &port) != -EINVAL) {
            fprintf(stderr, "accepted \"%s\"\n", bad[i]);
            FAIL("not refused");
        }
        CHECK_EQ_STR(host, "untouched");
        CHECK_EQ_INT(port, -1);
    }
    /* a host that does not fit hostcap */
    CHECK_EQ_INT(cfg_split_addr("abcdefgh:1", host, 8, &port), -EINVAL);
    CHECK_EQ_INT(cfg_split_addr("abcdefg:1", host, 8, &port), 0);
    CHECK_EQ_STR(host, "abcdefg");
}

/* Runs fn with file descriptor fd redirected into a file; returns what was
 * written (static buffer). */
static const char *capture(int fd, void (*fn)(void))
{
    static char text[16384];
    int saved = dup(fd), tmp;
    ssize_t n;

    CHECK(saved >= 0);
    fflush(NULL);
    tmp = open(path_b, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(tmp >= 0);
    CHECK(dup2(tmp, fd) == fd);
    fn();
    fflush(NULL);
    CHECK(dup2(saved, fd) == fd);
    close(saved);
    n = pread(tmp, text, sizeof(text) - 1, 0);
    CHECK(n >= 0);
    text[n] = '\0';
    close(tmp);
    return text;
}

static struct tconf logged;

static void do_log(void)
{
    cfg_log(&prog, &logged);
}

static void do_help(void)
{
    cfg_help(&prog, stdout);
}

static int main_rc;
static const char *main_argv[4];
static int main_argc;

static void do_main(void)
{
    main_rc = cfg_main(&prog, main_argc, (char **)main_argv, &logged);
}

static void test_log_help_main(void)
{
    const char *out;
    char err[512];

    unset_all();
    CHECK(setenv("ECOT_DSN", "host=db password=topsecret1", 1) == 0);
    CHECK(setenv("ECOT_PW", "topsecret2", 1) == 0);
    CHECK(setenv("ECOT_URL", "mqtt://u:topsecret3@h:1", 1) == 0);
    CHECK_EQ_INT(cfg_load(&prog, &logged, NULL, err, sizeof(err)), 0);
    out = capture(2, do_log);
    CHECK(strstr(out, "topsecret") == NULL);
    CHECK(strstr(out, "ECOT_PW") != NULL);
    CHECK(strstr(out, "ECOT_COUNT") != NULL);
    CHECK(strstr(out, "password=***") != NULL);
    CHECK(strstr(out, "u:***@h:1") != NULL);
    CHECK(strstr(out, "svc") != NULL);
    unset_all();

    out = capture(1, do_help);
    CHECK(strstr(out, "eco-test") != NULL);
    CHECK(strstr(out, "ECOT_DSN") != NULL);
    CHECK(strstr(out, "(required)") != NULL);
    CHECK(strstr(out, "[1..100]") != NULL);
    CHECK(strstr(out, "(default: svc)") != NULL);
    CHECK(strstr(out, "(default: empty)") == NULL); /* the empty secret shows no default */

    /* command line */
    write_file(path_a, "ECOT_DSN=from-config\nECOT_COUNT=3\n");
    main_argv[0] = "eco-test";
    main_argv[1] = "--config";
    main_argv[2] = path_a;
    main_argc = 3;
    capture(2, do_main);
    CHECK_EQ_INT(main_rc, 0);
    CHECK_EQ_STR(logged.dsn, "from-config");
    CHECK_EQ_INT(logged.count, 3);
    {
        char arg[600];
        snprintf(arg, sizeof(arg), "--config=%s", path_a);
        main_argv[1] = arg;
        main_argc = 2;
        memset(&logged, 0, sizeof(logged));
        capture(2, do_main);
        CHECK_EQ_INT(main_rc, 0);
        CHECK_EQ_STR(logged.dsn, "from-config");
    }
    main_argv[1] = "--bogus";
    main_argc = 2;
    out = capture(2, do_main);
    CHECK_EQ_INT(main_rc, -EINVAL);
    CHECK(strstr(out, "--bogus") != NULL);
    main_argv[1] = "--config"; /* without its file */
    out = capture(2, do_main);
    CHECK_EQ_INT(main_rc, -EINVAL);
    main_argc = 1; /* no DSN anywhere: one line naming it */
    out = capture(2, do_main);
    CHECK_EQ_INT(main_rc, -EINVAL);
    CHECK(strstr(out, "ECOT_DSN") != NULL);
    CHECK(strchr(out, '\n') == out + strlen(out) - 1);
    main_argv[1] = "--help";
    main_argc = 2;
    out = capture(1, do_main);
    CHECK_EQ_INT(main_rc, 1);
    CHECK(strstr(out, "ECOT_NAME") != NULL);
    main_argv[1] = "--version";
    out = capture(1, do_main);
    CHECK_EQ_INT(main_rc, 1);
    CHECK(strstr(out, "eco-test ") == out);
}

/* Exposes bugs (see the report): valid libpq connection strings that
 * cfg_mask (and so cfg_log, which masks every CFG_STR such as ECO_PG_DSN
 * with it) lets through with the password readable. */
static void test_mask_leaks(void)
{
    char out[256];

    /* a quoted value with a space: libpq reads password "se cret" */
    cfg_mask("host=x password='se cret' port=5", out, sizeof(out));
    CHECK_EQ_STR(out, "host=x password=*** port=5");
    /* spaces around '=' are allowed by libpq */
    cfg_mask("host=x password = secret", out, sizeof(out));
    CHECK(strstr(out, "secret") == NULL);
    /* a URI may carry the password as a query parameter */
    cfg_mask("postgresql://db/eco?user=u&password=secret", out, sizeof(out));
    CHECK(strstr(out, "secret") == NULL);
    /* only the first "password=" is masked, here the one inside
     * sslpassword= (itself a libpq keyword) */
    cfg_mask("sslpassword=abc password=secret", out, sizeof(out));
    CHECK(strstr(out, "secret") == NULL);
}

/* The checks run in a child so that the temporary directory is removed
 * even when a check fails or a sanitizer aborts the run. */
static const struct check_case cases[] = {
    CHECK_CASE(test_load),       CHECK_CASE(test_bad_values), CHECK_CASE(test_file),
    CHECK_CASE(test_mask),       CHECK_CASE(test_split),      CHECK_CASE(test_log_help_main),
    CHECK_CASE(test_mask_leaks),
};

/* Each case runs in a child of its own (check.h), so what it sets in the
 * environment ends with it; the files it writes are removed here. */
int main(int argc, char **argv)
{
    const char *tmp = getenv("TMPDIR");
    int rc;

    snprintf(root, sizeof(root), "%s/cfg_test.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    CHECK(mkdtemp(root) != NULL);
    snprintf(path_a, sizeof(path_a), "%s/a.conf", root);
    snprintf(path_b, sizeof(path_b), "%s/b.conf", root);
    rc = CHECK_MAIN(argc, argv, cases);
    cleanup();
    return rc;
}
