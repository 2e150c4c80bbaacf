/* csv: the one CSV reader (libshared/csv): RFC 4180 quoting, line breaks
 * inside quotes and the physical line numbers after them, CR LF, the byte
 * order mark, every cap, and recovery after an error, from memory and from
 * a file. */
#include "csv.h"

#include "check.h"

#include <errno.h>

static char tmpdir[] = "/tmp/eco_csv_test.XXXXXX";

#define MEM(c, lit, lim) CHECK_EQ_INT(csv_init_mem((c), (lit), sizeof(lit) - 1, (lim)), 0)

/* The next record has these n fields and starts on line `line`. */
static void expect_rec(struct csv *c, long line, int n, const char *const *want)
{
    CHECK_EQ_INT(csv_next(c), 1);
    CHECK_EQ_INT(c->line, line);
    CHECK_EQ_INT(c->nfields, n);
    for (int i = 0; i < n; i++) {
        CHECK_EQ_STR(csv_get(c, i), want[i]);
        CHECK_EQ_INT(c->flen[i], strlen(want[i]));
    }
}

#define REC(c, line, ...)                                                                          \
    do {                                                                                           \
        static const char *const want_[] = {__VA_ARGS__};                                          \
        expect_rec((c), (line), (int)(sizeof want_ / sizeof want_[0]), want_);                     \
    } while (0)

/* The next csv_next fails with rc on line `line`, and c->err holds `why`. */
static void expect_err(struct csv *c, int rc, long line, const char *why)
{
    CHECK_EQ_INT(csv_next(c), rc);
    CHECK_EQ_INT(c->line, line);
    if (!strstr(c->err, why)) {
        fprintf(stderr, "err \"%s\" lacks \"%s\"\n", c->err, why);
        FAIL("wrong reason");
    }
}

static void test_plain_and_trim(void)
{
    struct csv c;
    MEM(&c, "a,b,c\n 1 , two words ,\t3\t\n,,\n", NULL);
    REC(&c, 1, "a", "b", "c");
    REC(&c, 2, "1", "two words", "3");
    REC(&c, 3, "", "", "");
    CHECK_EQ_INT(csv_next(&c), 0);
    CHECK_EQ_INT(csv_next(&c), 0); /* the end stays the end */
    csv_close(&c);
}

static void test_quotes(void)
{
    struct csv c;
    MEM(&c, "\"a,b\",\"say \"\"hi\"\"\",\"\"\n \" kept \" ,\"\"\"\"\n", NULL);
    REC(&c, 1, "a,b", "say \"hi\"", "");
    REC(&c, 2, " kept ", "\"");
    CHECK_EQ_INT(csv_next(&c), 0);
    csv_close(&c);
}

static void test_embedded_newlines_and_lines(void)
{
    struct csv c;
    /* record 1 spans lines 1-3; record 2 is on line 4; a blank line (5)
     * and a line of spaces (6) are skipped; record 3 spans 7-8 with CR LF
     * inside its quotes kept as data */
    MEM(&c,
        "x,\"one\ntwo\nthree\"\n"
        "y,2\n"
        "\n"
        "   \n"
        "z,\"a\r\nb\"\n"
        "w,4",
        NULL);
    REC(&c, 1, "x", "one\ntwo\nthree");
    REC(&c, 4, "y", "2");
    REC(&c, 7, "z", "a\r\nb");
    REC(&c, 9, "w", "4"); /* no line feed at the end */
    CHECK_EQ_INT(csv_next(&c), 0);
    csv_close(&c);
}

static void test_crlf(void)
{
    struct csv c;
    MEM(&c, "a,b\r\n1,\"2\"\r\n\r\n3,4\r\n", NULL);
    REC(&c, 1, "a", "b");
    REC(&c, 2, "1", "2");
    REC(&c, 4, "3", "4");
    CHECK_EQ_INT(csv_next(&c), 0);
    csv_close(&c);
    /* a CR alone is not a line end: refused, and the line skipped */
    MEM(&c, "a\rb,c\nd,e\n", NULL);
    expect_err(&c, -EBADMSG, 1, "carriage return not followed by a line feed");
    REC(&c, 2, "d", "e");
    csv_close(&c);
}

static void test_bom(void)
{
    struct csv c;
    MEM(&c,
        "\xEF\xBB\xBF"
        "code,name\nx,y\n",
        NULL);
    REC(&c, 1, "code", "name");
    REC(&c, 2, "x", "y");
    csv_close(&c);
    /* only at the very start: elsewhere it is data */
    MEM(&c,
        "a\n\xEF\xBB\xBF"
        "b\n",
        NULL);
    REC(&c, 1, "a");
    REC(&c, 2,
        "\xEF\xBB\xBF"
        "b");
    csv_close(&c);
}

static void test_unterminated_quote(void)
{
    struct csv c;
    MEM(&c, "a,b\n1,\"open\nstill\nopen", NULL);
    REC(&c, 1, "a", "b");
    expect_err(&c, -EBADMSG, 2, "quoted field opened on line 2 is never closed");
    CHECK_EQ_INT(csv_next(&c), 0);
    csv_close(&c);
}

static void test_syntax_errors_recover(void)
{
    struct csv c;
    MEM(&c,
        "a\"b,c\n"           /* quote inside an unquoted field */
        "\"x\"y,1\n"         /* text after a closing quote */
        "\"multi\nline\"z\n" /* the same, after a line break in quotes */
        "ok,1\n"
        "n\0ul,2\n"
        "last,3\n",
        NULL);
    expect_err(&c, -EBADMSG, 1, "quote inside an unquoted field");
    expect_err(&c, -EBADMSG, 2, "unexpected character after a closing quote");
    expect_err(&c, -EBADMSG, 3, "unexpected character after a closing quote");
    REC(&c, 5, "ok", "1"); /* line numbers still count the skipped lines */
    expect_err(&c, -EBADMSG, 6, "NUL byte");
    REC(&c, 7, "last", "3");
    CHECK_EQ_INT(csv_next(&c), 0);
    csv_close(&c);
}

static void test_cap_record(void)
{
    struct csv c;
    struct csv_limits lim = {10, 10, 4};
    MEM(&c, "12345,12345\n1234,12345\n12345,123456\nok\n", &lim);
    REC(&c, 1, "12345", "12345"); /* exactly 10 bytes of text */
    REC(&c, 2, "1234", "12345");
    expect_err(&c, -E2BIG, 3, "record longer than 10 bytes");
    REC(&c, 4, "ok");
    csv_close(&c);
}

static void test_cap_field(void)
{
    struct csv c;
    struct csv_limits lim = {100, 4, 4};
    MEM(&c, "abcd,\"wxyz\"\nab,\"vwxyz\"\nabcde\nok\n", &lim);
    REC(&c, 1, "abcd", "wxyz");
    expect_err(&c, -E2BIG, 2, "field 2 longer than 4 bytes");
    expect_err(&c, -E2BIG, 3, "field 1 longer than 4 bytes");
    REC(&c, 4, "ok");
    csv_close(&c);
}

static void test_cap_fields(void)
{
    struct csv c;
    struct csv_limits lim = {100, 100, 3};
    MEM(&c, "a,b,c\na,b,c,d\n\"x\ny\",b,c,d\nok\n", &lim);
    REC(&c, 1, "a", "b", "c");
    expect_err(&c, -E2BIG, 2, "more than 3 fields");
    expect_err(&c, -E2BIG, 3, "more than 3 fields");
    REC(&c, 5, "ok");
    csv_close(&c);
}

static void test_bad_limits(void)
{
    struct csv c;
    struct csv_limits zero = {0, 10, 3}, many = {10, 10, CSV_FIELDS_MAX + 1};
    CHECK_EQ_INT(csv_init_mem(&c, "a", 1, &zero), -EINVAL);
    CHECK_EQ_INT(csv_init_mem(&c, "a", 1, &many), -EINVAL);
    csv_close(&c); /* harmless after a failed init */
}

static void put(const char *name, const char *s, size_t n)
{
    char path[256];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    f = fopen(path, "wb");
    CHECK(f != NULL);
    CHECK_EQ_INT(fwrite(s, 1, n, f), n);
    CHECK_EQ_INT(fclose(f), 0);
}

#define PUT(name, lit) put((name), (lit), sizeof(lit) - 1)

static int open_file(struct csv *c, const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    return csv_open(c, path);
}

static void test_file_header(void)
{
    struct csv c;
    PUT("h.csv", "\xEF\xBB\xBF"
                 "site, \"param\" ,value\r\n\r\n"
                 "s1,\"pm,25\",\"1\r\n2\"\r\n"
                 "s2,so2\r\n");
    CHECK_EQ_INT(open_file(&c, "h.csv"), 0);
    CHECK_EQ_INT(csv_col(&c, "site"), 0); /* the BOM is not part of the name */
    CHECK_EQ_INT(csv_col(&c, "param"), 1);
    CHECK_EQ_INT(csv_col(&c, "value"), 2);
    CHECK_EQ_INT(csv_col(&c, "nope"), -1);
    REC(&c, 3, "s1", "pm,25", "1\r\n2");
    REC(&c, 5, "s2", "so2");
    CHECK_EQ_STR(csv_get(&c, 2), ""); /* short record */
    CHECK_EQ_STR(csv_get(&c, -1), "");
    CHECK_EQ_INT(csv_next(&c), 0);
    csv_close(&c);
    csv_close(&c); /* twice is harmless */
}

static void test_file_errors(void)
{
    struct csv c;
    static char big[CSV_REC_MAX + 64];

    CHECK_EQ_INT(open_file(&c, "absent.csv"), -ENOENT);
    PUT("empty.csv", "\n\n");
    CHECK_EQ_INT(open_file(&c, "empty.csv"), -EBADMSG); /* no header */
    PUT("badhdr.csv", "a,\"b\n");
    CHECK_EQ_INT(open_file(&c, "badhdr.csv"), -EBADMSG);
    PUT("q.csv", "a,b\n\"x\"y,1\n\"open,2\n");
    CHECK_EQ_INT(open_file(&c, "q.csv"), 0);
    expect_err(&c, -EBADMSG, 2, "after a closing quote");
    expect_err(&c, -EBADMSG, 3, "never closed");
    CHECK_EQ_INT(csv_next(&c), 0);
    csv_close(&c);
    /* the default record cap, from a file */
    memset(big, 'x', sizeof big);
    big[0] = 'a';
    big[1] = '\n';
    put("big.csv", big, sizeof big);
    CHECK_EQ_INT(open_file(&c, "big.csv"), 0);
    expect_err(&c, -E2BIG, 2, "longer than");
    CHECK_EQ_INT(csv_next(&c), 0);
    csv_close(&c);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_plain_and_trim),
    CHECK_CASE(test_quotes),
    CHECK_CASE(test_embedded_newlines_and_lines),
    CHECK_CASE(test_crlf),
    CHECK_CASE(test_bom),
    CHECK_CASE(test_unterminated_quote),
    CHECK_CASE(test_syntax_errors_recover),
    CHECK_CASE(test_cap_record),
    CHECK_CASE(test_cap_field),
    CHECK_CASE(test_cap_fields),
    CHECK_CASE(test_bad_limits),
    CHECK_CASE(test_file_header),
    CHECK_CASE(test_file_errors),
};

int main(int argc, char **argv)
{
    int rc;
    char cmd[300];

    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    rc = CHECK_MAIN(argc, argv, cases);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        rc = 1;
    return rc;
}
