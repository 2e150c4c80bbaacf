/* hj212_framer: the stream framer. Every boundary of every example, junk
 * and resynchronisation, and its limits. */
#include "hj212_framer.h"

#include "check.h"
#include "hj212t.h"

/* ---- framer --------------------------------------------------------- */

#define MAX_CHUNKS 256

struct got {
    size_t n;
    int kind[MAX_CHUNKS], reason[MAX_CHUNKS];
    size_t len[MAX_CHUNKS];
    char qn[MAX_CHUNKS][HJ212_QN_MAX + 1];
    size_t bytes; /* sum of chunk lengths */
    char *text;   /* concatenated chunks (for conservation checks) */
    size_t text_cap;
};

static void drain(struct hj212_framer *fr, bool eof, struct got *g)
{
    struct hj212_chunk c;
    static struct hj212_frame f;

    while (hj212_framer_next(fr, eof, &c, &f) == 0) {
        CHECK(g->n < MAX_CHUNKS);
        CHECK(c.len > 0);
        CHECK(c.kind == HJ212_CHUNK_FRAME || c.kind == HJ212_CHUNK_JUNK);
        if (c.kind == HJ212_CHUNK_FRAME) {
            CHECK(c.len <= HJ212_FRAME_LEN(fr->cap));
            CHECK(c.len >= 6 && memcmp(c.data, "##", 2) == 0);
        } else {
            CHECK(c.err.reason != HJ212_OK);
        }
        g->kind[g->n] = c.kind;
        g->reason[g->n] = c.err.reason;
        g->len[g->n] = c.len;
        snprintf(g->qn[g->n], sizeof(g->qn[g->n]), "%s", c.kind == HJ212_CHUNK_FRAME ? f.qn : "");
        if (g->text) {
            CHECK(g->bytes + c.len <= g->text_cap);
            memcpy(g->text + g->bytes, c.data, c.len);
        }
        g->bytes += c.len;
        g->n++;
    }
}

/* Feeds s in pieces of `step` bytes (0: at the given split points). */
static void feed_all(struct hj212_framer *fr, const char *s, size_t n, size_t step, struct got *g)
{
    size_t off = 0;
    while (off < n) {
        size_t want = step && n - off > step ? step : n - off;
        size_t took = hj212_framer_feed(fr, s + off, want);
        off += took;
        drain(fr, false, g);
    }
    drain(fr, true, g);
    /* Conservation: every byte came out in a chunk, or was whitespace
     * skipped between frames. */
    CHECK_EQ_INT(fr->fed, n);
    CHECK_EQ_INT(g->bytes + fr->skipped, n);
    CHECK_EQ_INT(hj212_framer_pending(fr), 0);
}

static struct hj212_framer fr; /* ~10 KiB: not on the stack */
static char stream[64 * 1024];

static size_t all_examples_stream(void)
{
    size_t n = 0;
    for (size_t i = 0; i < nex; i++) {
        memcpy(stream + n, ex[i].frame, ex[i].len);
        n += ex[i].len;
        memcpy(stream + n, "\r\n", 2);
        n += 2;
    }
    return n;
}

static void check_all_frames_ok(const struct got *g)
{
    CHECK_EQ_INT(g->n, nex);
    for (size_t i = 0; i < g->n; i++) {
        CHECK_EQ_INT(g->kind[i], HJ212_CHUNK_FRAME);
        CHECK_EQ_INT(g->reason[i], HJ212_OK);
        /* The CR LF may come after the frame was released: then skipped. */
        CHECK(g->len[i] >= ex[i].len && g->len[i] <= ex[i].len + 2);
    }
}

static void test_framer_boundaries(void)
{
    static struct got g;
    size_t n = all_examples_stream();

    /* One feed; then one byte at a time; then every two-piece split. */
    for (size_t step = 0; step < 2; step++) {
        memset(&g, 0, sizeof(g));
        hj212_framer_init(&fr, 0);
        feed_all(&fr, stream, n, step, &g);
        check_all_frames_ok(&g);
    }
    for (size_t cut = 0; cut <= n; cut++) {
        memset(&g, 0, sizeof(g));
        hj212_framer_init(&fr, 0);
        CHECK_EQ_INT(hj212_framer_feed(&fr, stream, cut), cut);
        drain(&fr, false, &g);
        CHECK_EQ_INT(hj212_framer_feed(&fr, stream + cut, n - cut), n - cut);
        drain(&fr, false, &g);
        drain(&fr, true, &g);
        check_all_frames_ok(&g);
    }
    /* Frames glued without CR LF come out all the same. */
    size_t m = 0;
    for (size_t i = 0; i < nex; i++) {
        memcpy(stream + m, ex[i].frame, ex[i].len);
        m += ex[i].len;
    }
    for (size_t step = 0; step < 8; step += 7) {
        memset(&g, 0, sizeof(g));
        hj212_framer_init(&fr, 0);
        feed_all(&fr, stream, m, step, &g);
        CHECK_EQ_INT(g.n, nex);
        for (size_t i = 0; i < g.n; i++)
            CHECK(g.kind[i] == HJ212_CHUNK_FRAME && g.reason[i] == HJ212_OK);
    }
}

static void test_framer_garbage(void)
{
    static struct got g;
    static char text[64 * 1024];
    const struct example *a = example("A-01"), *b = example("B-16");
    char badcrc[512], shortlen[512];
    size_t n = 0;

#define PUT(s, l) (memcpy(stream + n, (s), (l)), n += (l))
#define PUTS(s) PUT(s, strlen(s))
    PUTS("AT+CSQ\r\n"); /* modem chatter */
    PUT(a->frame, a->len);
    PUTS("\r\n");
    PUT("\x00\xff\x13junk#", 9); /* binary junk and a lone '#' */
    PUT(b->frame, b->len);
    PUTS("\r\n###"); /* stray '#'s before a frame */
    PUT(a->frame, a->len);
    PUTS("\r\n##12ab\r\n"); /* "##" not followed by digits */
    memcpy(badcrc, a->frame, a->len + 1);
    badcrc[a->len - 1] = badcrc[a->len - 1] == '0' ? '1' : '0';
    PUT(badcrc, a->len); /* bad CRC, CR LF where expected */
    PUTS("\r\n");
    memcpy(shortlen, a->frame, a->len + 1);
    memcpy(shortlen + 2, "0100", 4);
    PUT(shortlen, a->len); /* length field one short */
    PUTS("\r\n");
    memcpy(shortlen + 2, "0999", 4);
    PUT(shortlen, a->len); /* length field far too long */
    PUTS("\r\n");
    PUT(b->frame, b->len);    /* ...must not swallow this one */
    PUTS("\r\n##0150xx\r\n"); /* a stray header right before a frame */
    PUT(a->frame, a->len);    /* ...must not swallow it either */
    PUTS("\r\n");
#undef PUT
#undef PUTS
    for (size_t step = 0; step < 2; step++) {
        memset(&g, 0, sizeof(g));
        g.text = text;
        g.text_cap = sizeof(text);
        hj212_framer_init(&fr, 0);
        feed_all(&fr, stream, n, step, &g);
        /* Byte-wise feeding may cut junk into more pieces; compare the
         * sequence of frames and the reasons of the junk in between. */
        static const int want_kind[] = {HJ212_CHUNK_JUNK,  HJ212_CHUNK_FRAME, HJ212_CHUNK_JUNK,
                                        HJ212_CHUNK_FRAME, HJ212_CHUNK_JUNK,  HJ212_CHUNK_FRAME,
                                        HJ212_CHUNK_JUNK,  HJ212_CHUNK_FRAME, HJ212_CHUNK_FRAME,
                                        HJ212_CHUNK_FRAME, HJ212_CHUNK_FRAME, HJ212_CHUNK_JUNK,
                                        HJ212_CHUNK_FRAME};
        static const int want_reason[] = {HJ212_E_HEADER,
                                          0,
                                          HJ212_E_HEADER,
                                          0,
                                          HJ212_E_HEADER,
                                          0,
                                          HJ212_E_HEADER,
                                          HJ212_E_CRC,
                                          HJ212_E_LENGTH,
                                          HJ212_E_LENGTH,
                                          0,
                                          HJ212_E_HEADER,
                                          0};
        size_t k = 0;
        for (size_t i = 0; i < g.n; i++) {
            if (k > 0 && g.kind[i] == HJ212_CHUNK_JUNK && want_kind[k - 1] == HJ212_CHUNK_JUNK &&
                g.kind[i - 1] == HJ212_CHUNK_JUNK) {
                CHECK_EQ_INT(g.reason[i], want_reason[k - 1]); /* continuation */
                continue;
            }
            CHECK(k < sizeof(want_kind) / sizeof(want_kind[0]));
            if (g.kind[i] != want_kind[k] || g.reason[i] != want_reason[k])
                fprintf(stderr, "step %zu chunk %zu: kind %d reason %s\n", step, i, g.kind[i],
                        hj212_reason_str(g.reason[i]));
            CHECK_EQ_INT(g.kind[i], want_kind[k]);
            CHECK_EQ_INT(g.reason[i], want_reason[k]);
            k++;
        }
        CHECK_EQ_INT(k, sizeof(want_kind) / sizeof(want_kind[0]));
        CHECK_EQ_STR(g.qn[g.n - 3], "20160801085000001"); /* B-16 came through */
        CHECK_EQ_STR(g.qn[g.n - 1], "20160801085857223"); /* and A-01 after the stray */
        /* The junk is handed out intact: the first chunk is the chatter. */
        CHECK(memcmp(text, "AT+CSQ\r\n", 8) == 0);
    }
}

static void test_framer_limits(void)
{
    static struct got g;
    static char big[40000];
    const struct example *a = example("A-01");
    size_t n = 0;

    /* Declared length above the cap: refused as too_long, body labelled as
     * such, the next frame found. */
    memset(&g, 0, sizeof(g));
    hj212_framer_init(&fr, 1024);
    n = (size_t)snprintf(stream, sizeof(stream), "##5000QN=1;ST=32;CN=2011;PW=1;MN=X;CP=&&");
    memset(stream + n, 'x', 3000);
    n += 3000;
    memcpy(stream + n, a->frame, a->len);
    n += a->len;
    feed_all(&fr, stream, n, 0, &g);
    CHECK(g.n >= 2);
    CHECK_EQ_INT(g.kind[0], HJ212_CHUNK_JUNK);
    CHECK_EQ_INT(g.reason[0], HJ212_E_TOO_LONG);
    for (size_t i = 1; i + 1 < g.n; i++)
        CHECK(g.kind[i] == HJ212_CHUNK_JUNK && g.reason[i] == HJ212_E_TOO_LONG);
    CHECK(g.kind[g.n - 1] == HJ212_CHUNK_FRAME && g.reason[g.n - 1] == HJ212_OK);

    /* The giant 9999 within the default cap, never terminated: held until
     * eof, then released as truncated. */
    memset(&g, 0, sizeof(g));
    hj212_framer_init(&fr, 0);
    n = (size_t)snprintf(stream, sizeof(stream), "##9999QN=1;ST=32;CN=2011;");
    memset(stream + n, 'y', 5000);
    n += 5000;
    CHECK_EQ_INT(hj212_framer_feed(&fr, stream, n), n);
    drain(&fr, false, &g);
    CHECK_EQ_INT(g.n, 0);
    CHECK_EQ_INT(hj212_framer_pending(&fr), n);
    drain(&fr, true, &g);
    CHECK(g.n == 1 && g.kind[0] == HJ212_CHUNK_JUNK && g.reason[0] == HJ212_E_TRUNCATED);
    CHECK_EQ_INT(g.len[0], n);

    /* A frame whose CR LF has not arrived is released at once (the logger
     * waits for our answer); the CR LF is skipped later. */
    memset(&g, 0, sizeof(g));
    hj212_framer_init(&fr, 0);
    hj212_framer_feed(&fr, a->frame, a->len);
    drain(&fr, false, &g);
    CHECK(g.n == 1 && g.kind[0] == HJ212_CHUNK_FRAME && g.reason[0] == HJ212_OK);
    hj212_framer_feed(&fr, "\r\n", 2);
    drain(&fr, false, &g);
    CHECK_EQ_INT(g.n, 1);
    CHECK_EQ_INT(fr.skipped, 2);

    /* Binary junk larger than the buffer: fed in as the framer makes room;
     * everything comes back out as junk. */
    uint32_t x = 7;
    for (size_t i = 0; i < sizeof(big); i++) {
        x = x * 1103515245u + 12345u;
        big[i] = (char)(x >> 16);
        if (big[i] == '#')
            big[i] = 0;
    }
    memset(&g, 0, sizeof(g));
    hj212_framer_init(&fr, 0);
    feed_all(&fr, big, sizeof(big), 0, &g);
    for (size_t i = 0; i < g.n; i++)
        CHECK(g.kind[i] == HJ212_CHUNK_JUNK && g.reason[i] == HJ212_E_HEADER);

    /* Random junk with '#'s and digits mixed in, plus real frames: never a
     * false frame, every real frame found. */
    size_t m = 0;
    for (int r = 0; r < 40; r++) {
        for (int j = 0; j < 37; j++) {
            x = x * 1103515245u + 12345u;
            static const char alpha[] = "#0123456789&&\r\nAF;=";
            big[m++] = alpha[(x >> 16) % (sizeof(alpha) - 1)];
        }
        big[m++] = '\n';
        memcpy(big + m, a->frame, a->len);
        m += a->len;
        memcpy(big + m, "\r\n", 2);
        m += 2;
    }
    for (size_t step = 0; step < 14; step += 13) {
        memset(&g, 0, sizeof(g));
        hj212_framer_init(&fr, 0);
        feed_all(&fr, big, m, step, &g);
        int ok = 0;
        for (size_t i = 0; i < g.n; i++)
            ok += g.kind[i] == HJ212_CHUNK_FRAME && g.reason[i] == HJ212_OK;
        CHECK_EQ_INT(ok, 40);
    }
}

static const struct check_case cases[] = {
    CHECK_CASE(test_framer_boundaries),
    CHECK_CASE(test_framer_garbage),
    CHECK_CASE(test_framer_limits),
};

int main(int argc, char **argv)
{
    load_examples();
    return CHECK_MAIN(argc, argv, cases);
}
