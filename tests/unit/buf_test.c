/* buf: the hard cap (a refused append leaves the content as it was), growth,
 * printf past the 256-byte fast path, JSON string and COPY text escaping,
 * and the UTF-8 validator behind both. */
#include "buf.h"

#include "check.h"

#include <errno.h>

/* buffer content equals the n bytes at s, and is NUL-terminated (a buffer
 * nothing was ever added to may have no storage yet) */
static void expect_buf(const struct buf *b, const char *s, size_t n)
{
    CHECK_EQ_INT(b->len, n);
    if (n == 0 && b->p == NULL)
        return;
    CHECK(b->p != NULL);
    CHECK(memcmp(b->p, s, n) == 0);
    CHECK_EQ_INT(b->p[n], '\0');
    CHECK(b->cap >= n + 1);
}

#define EXPECT_BUF(b, lit) expect_buf((b), (lit), sizeof(lit) - 1)

static void json_is(const char *in, size_t n, const char *want, size_t wn)
{
    struct buf b;
    buf_init(&b, 1024);
    CHECK_EQ_INT(buf_add_json_str(&b, in, n), 0);
    expect_buf(&b, want, wn);
    buf_close(&b);
}

static void copy_is(const char *in, size_t n, const char *want, size_t wn)
{
    struct buf b;
    buf_init(&b, 1024);
    CHECK_EQ_INT(buf_add_copy_text(&b, in, n), 0);
    expect_buf(&b, want, wn);
    buf_close(&b);
}

#define JSON_IS(in, want) json_is((in), sizeof(in) - 1, (want), sizeof(want) - 1)
#define COPY_IS(in, want) copy_is((in), sizeof(in) - 1, (want), sizeof(want) - 1)
#define FFFD "\xEF\xBF\xBD"

static size_t u8(const char *s, size_t n)
{
    return buf_utf8_len((const unsigned char *)s, n);
}

static void test_caps(void)
{
    struct buf b;

    buf_init(&b, 8);
    CHECK_EQ_INT(b.len, 0);
    CHECK(b.p == NULL);
    buf_reset(&b); /* on a buffer never written: harmless */
    CHECK_EQ_INT(b.len, 0);
    CHECK_EQ_INT(buf_addstr(&b, "abc"), 0);
    EXPECT_BUF(&b, "abc");
    CHECK_EQ_INT(buf_add(&b, "defgh", 5), 0); /* exactly max */
    EXPECT_BUF(&b, "abcdefgh");
    CHECK(b.cap <= 9); /* never allocates past max + NUL */
    CHECK_EQ_INT(buf_addc(&b, 'i'), -E2BIG);
    EXPECT_BUF(&b, "abcdefgh");
    CHECK_EQ_INT(buf_add(&b, "", 0), 0); /* adding nothing at the cap is fine */
    EXPECT_BUF(&b, "abcdefgh");
    CHECK_EQ_INT(buf_printf(&b, "%d", 1), -E2BIG);
    EXPECT_BUF(&b, "abcdefgh");
    buf_reset(&b);
    EXPECT_BUF(&b, "");
    CHECK_EQ_INT(buf_add(&b, "123456789", 9), -E2BIG); /* one too many */
    EXPECT_BUF(&b, "");
    CHECK_EQ_INT(buf_add(&b, "12345", 5), 0);
    CHECK_EQ_INT(buf_add(&b, "6789", 4), -E2BIG); /* the sum is too many */
    EXPECT_BUF(&b, "12345");
    /* a length that would overflow len + n is refused, not wrapped */
    CHECK_EQ_INT(buf_add(&b, "x", (size_t)-1), -E2BIG);
    CHECK_EQ_INT(buf_add(&b, "x", (size_t)-1 - 2), -E2BIG);
    EXPECT_BUF(&b, "12345");
    /* escaping functions obey the cap too */
    CHECK_EQ_INT(buf_add_json_str(&b, "\"\"", 2), -E2BIG);
    CHECK(b.len <= 8);
    CHECK_EQ_INT(b.p[b.len], '\0');
    buf_close(&b);
    CHECK(b.p == NULL);
    CHECK_EQ_INT(b.len, 0);
    buf_close(&b); /* twice: harmless */

    /* max 0: only the empty string fits */
    buf_init(&b, 0);
    CHECK_EQ_INT(buf_add(&b, "", 0), 0);
    EXPECT_BUF(&b, "");
    CHECK_EQ_INT(buf_addc(&b, 'x'), -E2BIG);
    EXPECT_BUF(&b, "");
    buf_close(&b);

    /* binary bytes, NULs included, are kept as they are */
    buf_init(&b, 100);
    CHECK_EQ_INT(buf_add(&b, "a\0b\xff", 4), 0);
    EXPECT_BUF(&b, "a\0b\xff");
    buf_close(&b);
}

static void test_growth(void)
{
    struct buf b;
    char want[4096], big[1000];
    size_t n = 0;

    /* many small appends across several reallocations keep every byte */
    buf_init(&b, 1 << 20);
    for (int i = 0; i < 1000; i++) {
        char c = (char)('a' + i % 26);
        CHECK_EQ_INT(buf_addc(&b, c), 0);
        want[n++] = c;
    }
    expect_buf(&b, want, n);
    buf_close(&b);

    /* printf: just under, at and past the 256-byte fast path */
    memset(big, 'z', sizeof(big));
    for (int len = 250; len <= 260; len++) {
        buf_init(&b, 4096);
        CHECK_EQ_INT(buf_addstr(&b, "pre:"), 0);
        CHECK_EQ_INT(buf_printf(&b, "%.*s|%d", len, big, len), 0);
        int k = snprintf(want, sizeof(want), "pre:%.*s|%d", len, big, len);
        expect_buf(&b, want, (size_t)k);
        buf_close(&b);
    }
    buf_init(&b, 4096);
    CHECK_EQ_INT(buf_printf(&b, "%s-%s", "x", "y"), 0);
    CHECK_EQ_INT(buf_printf(&b, "[%.900s]", big), 0);
    CHECK_EQ_INT(buf_printf(&b, "%05d", 42), 0);
    n = (size_t)snprintf(want, sizeof(want), "x-y[%.900s]00042", big);
    expect_buf(&b, want, n);
    buf_close(&b);

    /* a long printf that does not fit is refused and leaves the content */
    buf_init(&b, 300);
    CHECK_EQ_INT(buf_addstr(&b, "keep"), 0);
    CHECK_EQ_INT(buf_printf(&b, "%.297s", big), -E2BIG); /* 4 + 297 > 300 */
    EXPECT_BUF(&b, "keep");
    CHECK_EQ_INT(buf_printf(&b, "%.296s", big), 0); /* exactly 300 */
    CHECK_EQ_INT(b.len, 300);
    CHECK_EQ_INT(b.p[300], '\0');
    CHECK(memcmp(b.p, "keepzzz", 7) == 0);
    buf_close(&b);

    /* a first append larger than the initial 256-byte block */
    buf_init(&b, 100000);
    {
        static char blob[70000];
        for (size_t i = 0; i < sizeof(blob); i++)
            blob[i] = (char)(i % 251);
        CHECK_EQ_INT(buf_add(&b, blob, sizeof(blob)), 0);
        expect_buf(&b, blob, sizeof(blob));
        CHECK(b.cap <= 100001);
    }
    buf_close(&b);
}

static void test_json(void)
{
    JSON_IS("", "");
    JSON_IS("plain text 123", "plain text 123");
    JSON_IS("say \"hi\"", "say \\\"hi\\\"");
    JSON_IS("a\\b", "a\\\\b");
    JSON_IS("l1\nl2\r\tx", "l1\\nl2\\r\\tx");
    JSON_IS("\x01\x1f", "\\u0001\\u001f");
    JSON_IS("nul\0end", "nul\\u0000end");
    JSON_IS("\x08\x0c", "\\u0008\\u000c");
    JSON_IS("\x7f", "\x7f"); /* DEL needs no escape in JSON */
    JSON_IS("/", "/");
    /* valid multi-byte UTF-8 is kept as is */
    JSON_IS("\xC3\xA9t\xC3\xA9", "\xC3\xA9t\xC3\xA9");               /* été */
    JSON_IS("\xE6\xB5\xB7\xE6\xB4\x8B", "\xE6\xB5\xB7\xE6\xB4\x8B"); /* 海洋 */
    JSON_IS("\xF0\x9F\x8C\x8A", "\xF0\x9F\x8C\x8A");                 /* U+1F30A */
    JSON_IS("\xF4\x8F\xBF\xBF", "\xF4\x8F\xBF\xBF");                 /* U+10FFFF */
    JSON_IS("\xEF\xBF\xBD", "\xEF\xBF\xBD");                         /* U+FFFD itself */
    /* invalid bytes: each becomes U+FFFD */
    JSON_IS("a\377b", "a" FFFD "b");
    JSON_IS("\x80", FFFD);
    JSON_IS("\xC0\xAF", FFFD FFFD);          /* overlong '/' */
    JSON_IS("\xC1\xBF", FFFD FFFD);          /* overlong */
    JSON_IS("\xE0\x80\xAF", FFFD FFFD FFFD); /* overlong 3-byte */
    JSON_IS("\xF0\x80\x80\xAF", FFFD FFFD FFFD FFFD);
    JSON_IS("\xED\xA0\x80", FFFD FFFD FFFD);          /* surrogate U+D800 */
    JSON_IS("\xED\xBF\xBF", FFFD FFFD FFFD);          /* surrogate U+DFFF */
    JSON_IS("\xF4\x90\x80\x80", FFFD FFFD FFFD FFFD); /* > U+10FFFF */
    JSON_IS("\xF5\x80\x80\x80", FFFD FFFD FFFD FFFD);
    JSON_IS("x\xE6\xB5", "x" FFFD FFFD);     /* truncated at the end */
    JSON_IS("\xE6\xB5\"", FFFD FFFD "\\\""); /* cut by a quote */
    JSON_IS("\303A", FFFD "A");              /* lead byte then ASCII */
    /* the length bounds the input: a NUL-less slice of a longer string */
    json_is("ab\"cd", 3, "ab\\\"", 4);
    json_is("\xC3\xA9", 1, FFFD, 3); /* a sequence cut by the length */

    /* appends after what is already there */
    {
        struct buf b;
        buf_init(&b, 64);
        CHECK_EQ_INT(buf_addc(&b, '"'), 0);
        CHECK_EQ_INT(buf_add_json_str(&b, "q\"", 2), 0);
        CHECK_EQ_INT(buf_addc(&b, '"'), 0);
        EXPECT_BUF(&b, "\"q\\\"\"");
        buf_close(&b);
    }
}

static void test_copy(void)
{
    COPY_IS("", "");
    COPY_IS("plain, text; 'q' \"dq\"", "plain, text; 'q' \"dq\"");
    COPY_IS("a\tb", "a\\tb");
    COPY_IS("a\nb", "a\\nb");
    COPY_IS("a\rb", "a\\rb");
    COPY_IS("a\\b", "a\\\\b");
    COPY_IS("\\.", "\\\\."); /* never an end-of-data marker */
    COPY_IS("a\0b\0", "ab"); /* NUL dropped */
    COPY_IS("\0", "");
    COPY_IS("\x01\x7f", "\x01\x7f"); /* other control bytes pass */
    COPY_IS("\xE6\xB5\xB7", "\xE6\xB5\xB7");
    COPY_IS("\xF0\x9F\x8C\x8A", "\xF0\x9F\x8C\x8A");
    COPY_IS("bad\xff", "bad" FFFD);
    COPY_IS("\xED\xA0\x80", FFFD FFFD FFFD);
    COPY_IS("\xC0\x80", FFFD FFFD); /* overlong NUL */
    COPY_IS("\t\n\r\\\0x", "\\t\\n\\r\\\\x");
    copy_is("a\tb", 2, "a\\t", 3);
}

static void test_utf8_len(void)
{
    CHECK_EQ_INT(u8("A", 1), 1);
    CHECK_EQ_INT(u8("\0", 1), 1);
    CHECK_EQ_INT(u8("\x7f", 1), 1);
    CHECK_EQ_INT(u8("\x80", 1), 0); /* continuation byte first */
    CHECK_EQ_INT(u8("\xBF", 1), 0);
    CHECK_EQ_INT(u8("\xC0\x80", 2), 0); /* overlong 2-byte */
    CHECK_EQ_INT(u8("\xC1\xBF", 2), 0);
    CHECK_EQ_INT(u8("\xC2\x80", 2), 2); /* U+0080, smallest 2-byte */
    CHECK_EQ_INT(u8("\xDF\xBF", 2), 2); /* U+07FF */
    CHECK_EQ_INT(u8("\xC2", 1), 0);     /* truncated */
    CHECK_EQ_INT(u8("\302A", 2), 0);    /* bad continuation */
    CHECK_EQ_INT(u8("\xC2\xC2", 2), 0);
    CHECK_EQ_INT(u8("\xE0\x9F\xBF", 3), 0);     /* overlong U+07FF */
    CHECK_EQ_INT(u8("\xE0\xA0\x80", 3), 3);     /* U+0800 */
    CHECK_EQ_INT(u8("\xED\x9F\xBF", 3), 3);     /* U+D7FF */
    CHECK_EQ_INT(u8("\xED\xA0\x80", 3), 0);     /* U+D800 */
    CHECK_EQ_INT(u8("\xED\xBF\xBF", 3), 0);     /* U+DFFF */
    CHECK_EQ_INT(u8("\xEE\x80\x80", 3), 3);     /* U+E000 */
    CHECK_EQ_INT(u8("\xEF\xBF\xBF", 3), 3);     /* U+FFFF */
    CHECK_EQ_INT(u8("\xE6\xB5\xB7", 2), 0);     /* cut by n */
    CHECK_EQ_INT(u8("\xE6\xB5\xB7xyz", 6), 3);  /* bytes after do not matter */
    CHECK_EQ_INT(u8("\xF0\x8F\xBF\xBF", 4), 0); /* overlong U+FFFF */
    CHECK_EQ_INT(u8("\xF0\x90\x80\x80", 4), 4); /* U+10000 */
    CHECK_EQ_INT(u8("\xF4\x8F\xBF\xBF", 4), 4); /* U+10FFFF */
    CHECK_EQ_INT(u8("\xF4\x90\x80\x80", 4), 0); /* U+110000 */
    CHECK_EQ_INT(u8("\xF5\x80\x80\x80", 4), 0);
    CHECK_EQ_INT(u8("\xF8\x88\x80\x80\x80", 5), 0); /* 5-byte form */
    CHECK_EQ_INT(u8("\xFF", 1), 0);
    CHECK_EQ_INT(u8("\xF0\x9F\x8C", 3), 0);
    CHECK_EQ_INT(u8("\360\237\214A", 4), 0);
}

/* Exposes a bug (see the report): with n == 0 there is no sequence, yet
 * buf_utf8_len reads s[0] and returns 1 for an ASCII byte beyond the
 * bound. */
static void test_utf8_len_empty(void)
{
    CHECK_EQ_INT(u8("A", 0), 0);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_caps), CHECK_CASE(test_growth),   CHECK_CASE(test_json),
    CHECK_CASE(test_copy), CHECK_CASE(test_utf8_len), CHECK_CASE(test_utf8_len_empty),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
