/* libFuzzer target for the HJ 212 codec: frame parser, CP parser, encoder
 * and stream framer. It checks properties, not just survival:
 *
 *   - every verdict is 0 or -EBADMSG with a known reason and a printable
 *     detail;
 *   - an accepted frame re-encodes, the encoding parses back to the same
 *     fields, and encoding again gives the same bytes;
 *   - an accepted frame fed to the framer (in random pieces) comes out as
 *     one accepted frame with the same fields;
 *   - the framer's chunks partition the input (minus whitespace skipped
 *     between frames), never exceed the cap, and a chunk it calls an
 *     accepted frame is one the parser accepts;
 *   - CP items point inside the CP text, pollutant iteration ends and
 *     accounts for no more items than exist.
 *
 * The first input byte picks how the rest is used, so that inputs reach
 * past the CRC without the fuzzer having to solve it: 0 raw frame, 1 data
 * segment (we add length and CRC), 2 CP text (we add the fields), 3 raw
 * stream. Every mode also runs the rest through the framer. */
#include "hj212.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INV(cond)                                                                                  \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Large objects live here rather than on the fuzzer's stack. */
static struct hj212_framer fz_framer;
static struct hj212_cp fz_cp;
static char fz_buf[HJ212_FRAME_MAX + 64], fz_enc[HJ212_FRAME_MAX + 1], fz_enc2[HJ212_FRAME_MAX + 1];

static void check_err(int rc, const struct hj212_err *e)
{
    INV(rc == 0 || rc == -EBADMSG);
    if (rc == 0) {
        INV(e->reason == HJ212_OK);
        return;
    }
    INV(e->reason > HJ212_OK && e->reason < HJ212_E_COUNT);
    INV(strcmp(hj212_reason_str(e->reason), "unknown") != 0);
    size_t n = strnlen(e->detail, sizeof(e->detail));
    INV(n > 0 && n < sizeof(e->detail));
    for (size_t i = 0; i < n; i++)
        INV(e->detail[i] >= 0x20 && e->detail[i] < 0x7f);
}

static void same_fields(const struct hj212_frame *a, const struct hj212_frame *b)
{
    INV(a->fields == b->fields);
    INV(strcmp(a->qn, b->qn) == 0 && strcmp(a->st, b->st) == 0 && strcmp(a->cn, b->cn) == 0);
    INV(strcmp(a->pw, b->pw) == 0 && strcmp(a->mn, b->mn) == 0);
    INV(a->flag == b->flag && a->pnum == b->pnum && a->pno == b->pno);
    INV(a->version == b->version && a->ack == b->ack && a->split == b->split);
    INV(a->nextra == b->nextra);
    for (size_t i = 0; i < a->nextra; i++)
        INV(strcmp(a->extra[i].key, b->extra[i].key) == 0 &&
            strcmp(a->extra[i].val, b->extra[i].val) == 0);
    INV(a->cp_len == b->cp_len);
    INV(a->cp_len == 0 || memcmp(a->cp, b->cp, a->cp_len) == 0);
}

static void check_cp(const char *text, size_t len)
{
    struct hj212_err e;
    int rc = hj212_cp_parse(text, len, &fz_cp, &e);

    check_err(rc, &e);
    if (rc)
        return;
    INV(fz_cp.nitems <= HJ212_CP_ITEMS_MAX);
    unsigned group = 0;
    for (size_t i = 0; i < fz_cp.nitems; i++) {
        const struct hj212_item *it = &fz_cp.items[i];
        INV(it->key >= text && it->key + it->key_len <= text + len);
        INV(it->val >= text && it->val + it->val_len <= text + len);
        INV(it->key_len >= 1 && it->key_len <= HJ212_CP_KEY_MAX);
        INV(it->group >= group);
        group = it->group;
        if (it->code) {
            INV(it->code >= text && it->code + it->code_len <= text + len);
            INV(it->code_len >= 1 && it->code_len <= HJ212_CODE_MAX);
        }
    }
    if (fz_cp.has_datatime)
        INV(strlen(fz_cp.datatime) == 14);

    struct hj212_pollutant p;
    size_t pos = 0, npol = 0, covered = 0;
    while (hj212_cp_pollutant(&fz_cp, &pos, &p) == 0) {
        INV(++npol <= fz_cp.nitems);
        INV(p.nitems >= 1 && p.nother <= p.nitems);
        INV((p.has & ~p.seen) == 0);
        for (int v = 0; v < HJ212_NVALS; v++)
            if (p.has & (1u << v))
                INV(isfinite(p.v[v]));
        INV(strlen(p.code) >= 1);
        covered += p.nitems;
    }
    INV(covered <= fz_cp.nitems);
}

/* Feeds bytes to the framer in pseudo-random pieces; checks the chunks
 * against the input. If `expect` is given, the input is one accepted frame
 * (plus whitespace) and the framer must return exactly that. */
static void run_framer(const char *in, size_t n, size_t cap, uint32_t seed,
                       const struct hj212_frame *expect)
{
    static struct hj212_frame f;
    struct hj212_chunk c;
    size_t off = 0, pos = 0, frames_ok = 0, nchunks = 0;
    uint64_t bytes = 0;

    hj212_framer_init(&fz_framer, cap);
    cap = fz_framer.cap;
    for (bool eof = false;;) {
        while (hj212_framer_next(&fz_framer, eof, &c, &f) == 0) {
            nchunks++;
            INV(c.len > 0);
            INV(c.kind == HJ212_CHUNK_FRAME || c.kind == HJ212_CHUNK_JUNK);
            check_err(c.err.reason ? -EBADMSG : 0, &c.err);
            /* The chunk is the next stretch of input, after whitespace. */
            while (pos < n && memcmp(in + pos, c.data, c.len < n - pos ? c.len : n - pos) != 0) {
                INV(in[pos] == ' ' || in[pos] == '\t' || in[pos] == '\r' || in[pos] == '\n');
                pos++;
            }
            INV(pos + c.len <= n && memcmp(in + pos, c.data, c.len) == 0);
            pos += c.len;
            bytes += c.len;
            if (c.kind == HJ212_CHUNK_FRAME) {
                struct hj212_frame g;
                struct hj212_err e;
                INV(c.len <= HJ212_FRAME_LEN(cap));
                INV(c.len >= 6 && c.data[0] == '#' && c.data[1] == '#');
                int rc = hj212_parse_frame(c.data, c.len, &g, &e);
                INV((rc == 0) == (c.err.reason == HJ212_OK));
                if (rc == 0) {
                    same_fields(&f, &g);
                    frames_ok++;
                    if (expect)
                        same_fields(expect, &f);
                }
            } else {
                INV(c.err.reason != HJ212_OK);
            }
        }
        if (eof)
            break;
        if (off == n) {
            eof = true;
            continue;
        }
        seed = seed * 1103515245u + 12345u;
        size_t want = 1 + (seed >> 16) % 700;
        if (want > n - off)
            want = n - off;
        off += hj212_framer_feed(&fz_framer, in + off, want);
    }
    for (; pos < n; pos++)
        INV(in[pos] == ' ' || in[pos] == '\t' || in[pos] == '\r' || in[pos] == '\n');
    INV(fz_framer.fed == n);
    INV(bytes + fz_framer.skipped == n);
    INV(hj212_framer_pending(&fz_framer) == 0);
    if (expect)
        INV(frames_ok == 1 && nchunks == 1);
}

/* Everything we can say about one buffer taken as a whole frame. */
static void check_frame(const char *in, size_t n, uint32_t seed)
{
    struct hj212_frame f, g;
    struct hj212_err e;
    size_t len = 0, len2 = 0;

    int rc = hj212_parse_frame(in, n, &f, &e);
    check_err(rc, &e);
    if (rc != 0)
        return;
    INV(f.cp >= in && f.cp + f.cp_len <= in + n);
    INV(f.seg_len <= n && f.cp_len <= f.seg_len);
    INV(f.version == HJ212_V2005 || f.version == HJ212_V2017 || f.version == HJ212_V2025);

    /* Re-encode, parse back, encode again. */
    rc = hj212_encode(&f, fz_enc, sizeof(fz_enc), &len, &e);
    INV(rc == 0);
    INV(len <= HJ212_FRAME_MAX && fz_enc[len] == '\0');
    INV(len >= 12 && fz_enc[len - 2] == '\r' && fz_enc[len - 1] == '\n');
    rc = hj212_parse_frame(fz_enc, len, &g, &e);
    INV(rc == 0);
    same_fields(&f, &g);
    INV((g.lax & (HJ212_LAX_CRC_LOWER | HJ212_LAX_NO_TERM | HJ212_LAX_LF_ONLY | HJ212_LAX_TRAIL_WS |
                  HJ212_LAX_LEN_CHARS | HJ212_LAX_ORDER | HJ212_LAX_ZERO_PAD)) == 0);
    INV(hj212_encode(&g, fz_enc2, sizeof(fz_enc2), &len2, NULL) == 0);
    INV(len2 == len && memcmp(fz_enc, fz_enc2, len) == 0);
    /* Too small a buffer is refused, never overrun. */
    INV(hj212_encode(&f, fz_enc2, len, &len2, NULL) == -ENOSPC);

    /* The framer returns the encoded frame whole, however it is cut. */
    run_framer(fz_enc, len, 0, seed, &f);
    /* And the original bytes too, unless the framer cannot know where it
     * ends (length in characters) or the cap forbids it. */
    if (!(f.lax & HJ212_LAX_LEN_CHARS) && f.declared_len >= 0 && in[0] == '#')
        run_framer(in, n, 0, seed ^ 0x5a5a5a5au, &f);

    if (f.ack) {
        INV(hj212_encode_answer(&f, 9014, fz_enc2, sizeof(fz_enc2), &len2) == 0);
        INV(hj212_parse_frame(fz_enc2, len2, &g, NULL) == 0);
        INV(strcmp(g.cn, "9014") == 0 && strcmp(g.st, "91") == 0);
        INV(strcmp(g.qn, f.qn) == 0 && strcmp(g.mn, f.mn) == 0);
        INV(!g.ack && g.version == f.version);
    } else {
        INV(hj212_encode_answer(&f, 9014, fz_enc2, sizeof(fz_enc2), &len2) == -EINVAL);
    }
    check_cp(f.cp, f.cp_len);
}

/* Wraps a data segment into a frame with the right length and CRC. */
static size_t wrap(const char *seg, size_t n)
{
    char tmp[32];

    if (n > HJ212_SEG_MAX)
        return 0;
    snprintf(tmp, sizeof(tmp), "##%04zu", n);
    memcpy(fz_buf, tmp, 6);
    memcpy(fz_buf + 6, seg, n);
    snprintf(tmp, sizeof(tmp), "%04X\r\n", hj212_crc16(seg, n));
    memcpy(fz_buf + 6 + n, tmp, 6);
    return HJ212_FRAME_LEN(n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char seg[HJ212_SEG_MAX + 1];
    double d;

    if (size < 2)
        return 0;
    const char *rest = (const char *)data + 2;
    size_t n = size - 2;
    uint32_t seed = data[1];
    size_t cap = (size_t)data[1] * 48; /* 0 (the default), or 48..12240 */

    switch (data[0] & 3) {
    case 0:
        check_frame(rest, n, seed);
        break;
    case 1: {
        size_t len = wrap(rest, n);
        if (len)
            check_frame(fz_buf, len, seed);
        break;
    }
    case 2: {
        static const char head[] = "QN=20160801085857223;ST=32;CN=2011;PW=123456;"
                                   "MN=010000A8900016F000169DC0;Flag=5;CP=&&";
        check_cp(rest, n);
        if (sizeof(head) - 1 + n + 2 <= HJ212_SEG_MAX) {
            memcpy(seg, head, sizeof(head) - 1);
            memcpy(seg + sizeof(head) - 1, rest, n);
            memcpy(seg + sizeof(head) - 1 + n, "&&", 2);
            size_t len = wrap(seg, sizeof(head) - 1 + n + 2);
            if (len)
                check_frame(fz_buf, len, seed);
        }
        break;
    }
    default:
        break;
    }
    if (n <= 64 && hj212_parse_number(rest, n, &d) == 0)
        INV(isfinite(d));
    run_framer(rest, n, cap, seed, NULL);
    return 0;
}
