/* json: the length-bounded parse (MQTT payloads are not NUL-terminated),
 * trailing data, the size cap, and the typed getters' contract: -ENOENT for
 * a missing key, -EBADMSG for a wrong type or range, case-sensitive keys. */
#include "json.h"

#include "check.h"

#include <errno.h>
#include <stdint.h>

static cJSON *parse_ok(const char *s, size_t n)
{
    cJSON *j = (cJSON *)1;
    char err[96] = "untouched";
    CHECK_EQ_INT(json_parse(s, n, &j, err, sizeof(err)), 0);
    CHECK(j != NULL);
    return j;
}

static void parse_bad(const char *s, size_t n, const char *want_err)
{
    cJSON *j = (cJSON *)1;
    char err[96] = "";
    CHECK_EQ_INT(json_parse(s, n, &j, err, sizeof(err)), -EBADMSG);
    CHECK(j == NULL);
    if (want_err && !strstr(err, want_err)) {
        fprintf(stderr, "error \"%s\" lacks \"%s\"\n", err, want_err);
        FAIL("the error text");
    }
    /* err is optional */
    CHECK_EQ_INT(json_parse(s, n, &j, NULL, 0), -EBADMSG);
}

#define OK(lit) parse_ok((lit), sizeof(lit) - 1)
#define BAD(lit, e) parse_bad((lit), sizeof(lit) - 1, (e))

static void test_parse(void)
{
    cJSON *j;
    int64_t i;

    /* a prefix of a larger buffer: only len bytes are the document */
    {
        const char *big = "{\"a\":1}{\"b\":2}";
        j = parse_ok(big, 7);
        CHECK_EQ_INT(json_get_i64(j, "a", 0, 10, &i), 0);
        CHECK_EQ_INT(i, 1);
        CHECK_EQ_INT(json_get_i64(j, "b", 0, 10, &i), -ENOENT);
        cJSON_Delete(j);
        /* the whole buffer is two documents: refused */
        parse_bad(big, strlen(big), "trailing data at byte 7");
    }
    /* a heap buffer with no NUL anywhere: the parser must stop at len (the
     * sanitizer build catches a read past the end) */
    {
        static const char doc[] = "{\"ts\":\"2021-06-01T08:00:00+08:00\",\"v\":12.5}";
        char *p = malloc(sizeof(doc) - 1);
        double d;
        CHECK(p != NULL);
        memcpy(p, doc, sizeof(doc) - 1);
        j = parse_ok(p, sizeof(doc) - 1);
        CHECK_EQ_INT(json_get_f64(j, "v", &d), 0);
        CHECK(d == 12.5);
        cJSON_Delete(j);
        /* cut inside the string, the number and before the brace */
        parse_bad(p, 20, "invalid JSON");
        parse_bad(p, sizeof(doc) - 4, NULL);
        parse_bad(p, sizeof(doc) - 2, NULL);
        free(p);
        p = malloc(2);
        CHECK(p != NULL);
        memcpy(p, "12", 2);
        j = parse_ok(p, 2);
        CHECK(cJSON_IsNumber(j) && j->valuedouble == 12);
        cJSON_Delete(j);
        j = parse_ok(p, 1); /* "1" of "12" */
        CHECK(cJSON_IsNumber(j) && j->valuedouble == 1);
        cJSON_Delete(j);
        free(p);
    }
    /* whitespace around the value is fine */
    j = OK(" \t\r\n{\"a\" : [1, 2] }\n\r\t ");
    CHECK(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, "a")));
    cJSON_Delete(j);
    j = OK("[]");
    cJSON_Delete(j);
    j = OK("\"s\"");
    CHECK(cJSON_IsString(j));
    cJSON_Delete(j);
    /* trailing garbage, of any kind, is refused with its offset */
    BAD("{} x", "trailing data at byte 3");
    BAD("{}}", "byte 2");
    BAD("{},", "byte 2");
    BAD("1 2", "byte 2");
    BAD("{}\0", "byte 2"); /* a NUL inside len is not the end */
    BAD("{}\v", NULL);     /* vertical tab is not JSON whitespace */
    /* not JSON at all */
    BAD("", "invalid JSON");
    BAD("   ", "invalid JSON");
    BAD("{", "invalid JSON");
    BAD("{\"a\":}", "invalid JSON");
    BAD("{'a':1}", NULL);
    BAD("{\"a\":1,}", NULL);
    BAD("nul", NULL);

    /* the size cap: exactly JSON_MAX_BYTES parses, one more is -E2BIG */
    {
        size_t n = JSON_MAX_BYTES;
        char *p = malloc(n + 1);
        char err[96] = "";
        CHECK(p != NULL);
        memset(p, ' ', n + 1);
        p[0] = '[';
        p[n - 1] = ']';
        j = parse_ok(p, n);
        CHECK(cJSON_IsArray(j));
        cJSON_Delete(j);
        p[n - 1] = ' ';
        p[n] = ']';
        j = (cJSON *)1;
        CHECK_EQ_INT(json_parse(p, n + 1, &j, err, sizeof(err)), -E2BIG);
        CHECK(j == NULL);
        CHECK(strstr(err, "exceeds") != NULL);
        CHECK_EQ_INT(json_parse(p, (size_t)-1, &j, NULL, 0), -E2BIG);
        free(p);
    }
}

static void test_getters(void)
{
    static const char doc[] =
        "{\"ts\":\"2021-06-01T08:00:00+08:00\",\"n\":42,\"neg\":-7,\"f\":1.5,\"t\":true,"
        "\"fa\":false,\"nul\":null,\"s\":\"hello\",\"e\":\"\",\"o\":{\"x\":1},\"a\":[1],"
        "\"big\":1e300,\"inf\":1e999,\"ninf\":-1e999,\"z\":0,\"mz\":-0.0,\"exp\":1e3,"
        "\"s53m1\":9007199254740991,\"ns53m1\":-9007199254740991,"
        "\"s53p2\":9007199254740994,\"ns53p2\":-9007199254740994,"
        "\"half\":2.5,\"tiny\":1e-300,\"numstr\":\"5\"}";
    cJSON *j = parse_ok(doc, sizeof(doc) - 1);
    double d;
    int64_t i;
    bool b;
    const char *sp;
    char s[8];
    size_t len;

    /* f64 */
    CHECK_EQ_INT(json_get_f64(j, "f", &d), 0);
    CHECK(d == 1.5);
    CHECK_EQ_INT(json_get_f64(j, "n", &d), 0);
    CHECK(d == 42);
    CHECK_EQ_INT(json_get_f64(j, "big", &d), 0);
    CHECK(d == 1e300);
    CHECK_EQ_INT(json_get_f64(j, "missing", &d), -ENOENT);
    CHECK_EQ_INT(json_get_f64(j, "s", &d), -EBADMSG);
    CHECK_EQ_INT(json_get_f64(j, "numstr", &d), -EBADMSG); /* "5" is a string */
    CHECK_EQ_INT(json_get_f64(j, "t", &d), -EBADMSG);
    CHECK_EQ_INT(json_get_f64(j, "nul", &d), -EBADMSG);
    CHECK_EQ_INT(json_get_f64(j, "o", &d), -EBADMSG);
    CHECK_EQ_INT(json_get_f64(j, "a", &d), -EBADMSG);
    CHECK_EQ_INT(json_get_f64(j, "inf", &d), -EBADMSG); /* overflow to inf */
    CHECK_EQ_INT(json_get_f64(j, "ninf", &d), -EBADMSG);
    /* out is untouched on failure */
    d = 77;
    CHECK_EQ_INT(json_get_f64(j, "s", &d), -EBADMSG);
    CHECK(d == 77);

    /* i64: type, integrality, bounds (inclusive), 2^53 */
    CHECK_EQ_INT(json_get_i64(j, "n", 0, 100, &i), 0);
    CHECK_EQ_INT(i, 42);
    CHECK_EQ_INT(json_get_i64(j, "n", 42, 42, &i), 0);
    CHECK_EQ_INT(json_get_i64(j, "n", 43, 100, &i), -EBADMSG);
    CHECK_EQ_INT(json_get_i64(j, "n", 0, 41, &i), -EBADMSG);
    CHECK_EQ_INT(json_get_i64(j, "neg", -7, 0, &i), 0);
    CHECK_EQ_INT(i, -7);
    CHECK_EQ_INT(json_get_i64(j, "neg", -6, 0, &i), -EBADMSG);
    CHECK_EQ_INT(json_get_i64(j, "exp", 0, 1000, &i), 0);
    CHECK_EQ_INT(i, 1000);
    CHECK_EQ_INT(json_get_i64(j, "z", 0, 0, &i), 0);
    CHECK_EQ_INT(i, 0);
    CHECK_EQ_INT(json_get_i64(j, "mz", 0, 0, &i), 0);
    CHECK_EQ_INT(i, 0);
    CHECK_EQ_INT(json_get_i64(j, "f", 0, 100, &i), -EBADMSG);    /* 1.5 */
    CHECK_EQ_INT(json_get_i64(j, "half", 0, 100, &i), -EBADMSG); /* 2.5 */
    CHECK_EQ_INT(json_get_i64(j, "tiny", 0, 100, &i), -EBADMSG);
    CHECK_EQ_INT(json_get_i64(j, "big", INT64_MIN, INT64_MAX, &i), -EBADMSG);
    CHECK_EQ_INT(json_get_i64(j, "inf", INT64_MIN, INT64_MAX, &i), -EBADMSG);
    CHECK_EQ_INT(json_get_i64(j, "s", 0, 100, &i), -EBADMSG);
    CHECK_EQ_INT(json_get_i64(j, "numstr", 0, 100, &i), -EBADMSG);
    CHECK_EQ_INT(json_get_i64(j, "t", 0, 100, &i), -EBADMSG);
    CHECK_EQ_INT(json_get_i64(j, "nul", 0, 100, &i), -EBADMSG);
    CHECK_EQ_INT(json_get_i64(j, "missing", 0, 100, &i), -ENOENT);
    CHECK_EQ_INT(json_get_i64(j, "s53m1", INT64_MIN, INT64_MAX, &i), 0);
    CHECK_EQ_INT(i, 9007199254740991LL);
    CHECK_EQ_INT(json_get_i64(j, "ns53m1", INT64_MIN, INT64_MAX, &i), 0);
    CHECK_EQ_INT(i, -9007199254740991LL);
    CHECK_EQ_INT(json_get_i64(j, "s53p2", INT64_MIN, INT64_MAX, &i), -EBADMSG);
    CHECK_EQ_INT(json_get_i64(j, "ns53p2", INT64_MIN, INT64_MAX, &i), -EBADMSG);
    i = 5;
    CHECK_EQ_INT(json_get_i64(j, "f", 0, 100, &i), -EBADMSG);
    CHECK_EQ_INT(i, 5);
    /* json_num_i64 on an item */
    CHECK_EQ_INT(json_num_i64(cJSON_GetObjectItemCaseSensitive(j, "n"), 0, 50, &i), 0);
    CHECK_EQ_INT(i, 42);
    CHECK_EQ_INT(json_num_i64(cJSON_GetObjectItemCaseSensitive(j, "s"), 0, 50, &i), -EBADMSG);

    /* bool */
    CHECK_EQ_INT(json_get_bool(j, "t", &b), 0);
    CHECK(b);
    CHECK_EQ_INT(json_get_bool(j, "fa", &b), 0);
    CHECK(!b);
    CHECK_EQ_INT(json_get_bool(j, "n", &b), -EBADMSG);
    CHECK_EQ_INT(json_get_bool(j, "z", &b), -EBADMSG); /* 0 is not false */
    CHECK_EQ_INT(json_get_bool(j, "s", &b), -EBADMSG);
    CHECK_EQ_INT(json_get_bool(j, "nul", &b), -EBADMSG);
    CHECK_EQ_INT(json_get_bool(j, "missing", &b), -ENOENT);

    /* strings: borrowed and copied, with the cap */
    CHECK_EQ_INT(json_get_strp(j, "s", &sp), 0);
    CHECK_EQ_STR(sp, "hello");
    CHECK_EQ_INT(json_get_strp(j, "n", &sp), -EBADMSG);
    CHECK_EQ_INT(json_get_strp(j, "nul", &sp), -EBADMSG);
    CHECK_EQ_INT(json_get_strp(j, "o", &sp), -EBADMSG);
    CHECK_EQ_INT(json_get_strp(j, "missing", &sp), -ENOENT);
    len = 99;
    CHECK_EQ_INT(json_get_str(j, "s", s, 6, &len), 0); /* exactly fits */
    CHECK_EQ_STR(s, "hello");
    CHECK_EQ_INT(len, 5);
    CHECK_EQ_INT(json_get_str(j, "s", s, 5, &len), -E2BIG); /* no room for NUL */
    CHECK_EQ_INT(json_get_str(j, "s", s, 0, NULL), -E2BIG);
    CHECK_EQ_INT(json_get_str(j, "s", s, sizeof(s), NULL), 0);
    CHECK_EQ_INT(json_get_str(j, "e", s, 1, &len), 0);
    CHECK_EQ_STR(s, "");
    CHECK_EQ_INT(len, 0);
    CHECK_EQ_INT(json_get_str(j, "n", s, sizeof(s), &len), -EBADMSG);
    CHECK_EQ_INT(json_get_str(j, "missing", s, sizeof(s), &len), -ENOENT);

    /* lookups are case-sensitive */
    CHECK_EQ_INT(json_get_strp(j, "ts", &sp), 0);
    CHECK_EQ_INT(json_get_strp(j, "Ts", &sp), -ENOENT);
    CHECK_EQ_INT(json_get_strp(j, "TS", &sp), -ENOENT);
    CHECK_EQ_INT(json_get_i64(j, "N", 0, 100, &i), -ENOENT);
    CHECK_EQ_INT(json_get_bool(j, "T", &b), -ENOENT);

    /* getters on something that is not an object find nothing */
    {
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "a");
        CHECK_EQ_INT(json_get_f64(arr, "0", &d), -ENOENT);
        CHECK_EQ_INT(json_get_strp(NULL, "s", &sp), -ENOENT);
    }
    /* nested objects: getters work on the inner one */
    CHECK_EQ_INT(json_get_i64(cJSON_GetObjectItemCaseSensitive(j, "o"), "x", 0, 9, &i), 0);
    CHECK_EQ_INT(i, 1);
    cJSON_Delete(j);

    /* escapes decode; keys with unusual bytes are exact */
    j = OK("{\"k\\u0041\":\"\\u00e9\\n\",\"\":1}");
    CHECK_EQ_INT(json_get_strp(j, "kA", &sp), 0);
    CHECK_EQ_STR(sp, "\xC3\xA9\n");
    CHECK_EQ_INT(json_get_i64(j, "", 0, 9, &i), 0);
    CHECK_EQ_INT(i, 1);
    cJSON_Delete(j);

    /* print round trip */
    {
        char *out = NULL;
        j = OK("{ \"a\" : [1, \"x\"] , \"b\":null }");
        CHECK_EQ_INT(json_print(j, &out, &len), 0);
        CHECK_EQ_STR(out, "{\"a\":[1,\"x\"],\"b\":null}");
        CHECK_EQ_INT(len, strlen(out));
        cJSON_free(out);
        CHECK_EQ_INT(json_print(j, &out, NULL), 0);
        cJSON_free(out);
        cJSON_Delete(j);
    }
}

/* Exposes a bug (see the report): 9007199254740993 (2^53 + 1) is not a
 * double; cJSON reads it as 2^53, which json_num_i64 accepts, so the caller
 * silently gets a different integer than the one sent. The bound must be
 * exclusive (|d| < 2^53). */
static void test_i64_2p53(void)
{
    cJSON *j = OK("{\"a\":9007199254740993,\"b\":-9007199254740993}");
    int64_t i = 0;
    CHECK_EQ_INT(json_get_i64(j, "a", INT64_MIN, INT64_MAX, &i), -EBADMSG);
    CHECK_EQ_INT(json_get_i64(j, "b", INT64_MIN, INT64_MAX, &i), -EBADMSG);
    cJSON_Delete(j);
}

/* A key named twice in one object is refused at any depth, however many
 * members the object has (the small and the sorted check); the same key in
 * different objects, and keys differing only in case, are fine. */
static size_t big_object(char *big, size_t cap, const char *last)
{
    size_t n = 0;
    n += (size_t)snprintf(big + n, cap - n, "{");
    for (int i = 0; i < 500; i++)
        n += (size_t)snprintf(big + n, cap - n, "\"k%d\":%d,", i, i);
    n += (size_t)snprintf(big + n, cap - n, "\"%s\":0}", last);
    CHECK(n < cap);
    return n;
}

static void test_duplicate_keys(void)
{
    char big[8192];
    size_t n;

    BAD("{\"ts\":\"a\",\"values\":{},\"ts\":\"b\"}", "duplicate key \"ts\"");
    BAD("{\"values\":{\"pm25\":1},\"values\":{\"pm25\":2}}", "duplicate key \"values\"");
    BAD("{\"values\":{\"pm25\":1,\"so2\":2,\"pm25\":3}}", "duplicate key \"pm25\"");
    BAD("{\"readings\":[{\"a\":1},{\"b\":1,\"b\":2}]}", "duplicate key \"b\"");
    BAD("[[[{\"x\":{\"y\":1,\"y\":1}}]]]", "duplicate key \"y\"");
    /* a key that is not printable is shown safely */
    BAD("{\"\\n\\\"\":1,\"\\n\\\"\":2}", "duplicate key \"??\"");
    cJSON_Delete(OK("{\"a\":{\"k\":1},\"b\":{\"k\":1},\"A\":1,\"k\":[{\"k\":1},{\"k\":2}]}"));
    /* a large object: the duplicate is far apart from its twin */
    n = big_object(big, sizeof(big), "k7");
    parse_bad(big, n, "duplicate key \"k7\"");
    n = big_object(big, sizeof(big), "k499");
    parse_bad(big, n, "duplicate key \"k499\"");
    n = big_object(big, sizeof(big), "k500");
    cJSON_Delete(parse_ok(big, n));
}

static const struct check_case cases[] = {
    CHECK_CASE(test_parse),
    CHECK_CASE(test_duplicate_keys),
    CHECK_CASE(test_getters),
    CHECK_CASE(test_i64_2p53),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
