#include "hj212_framer.h"

#include "hj212_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ---- stream framer -------------------------------------------------- */

void hj212_framer_init(struct hj212_framer *fr, size_t seg_cap)
{
    fr->cap = seg_cap == 0 || seg_cap > HJ212_SEG_MAX ? HJ212_SEG_MAX : seg_cap;
    fr->head = fr->len = fr->scanned = 0;
    fr->crc_state = 0;
    fr->discard = 0;
    fr->fed = fr->skipped = 0;
}

size_t hj212_framer_feed(struct hj212_framer *fr, const void *data, size_t n)
{
    /* Compact first: chunks handed out before are now invalid (documented),
     * so what has been handed out can be dropped. */
    if (fr->head > 0) {
        memmove(fr->buf, fr->buf + fr->head, fr->len - fr->head);
        fr->len -= fr->head;
        fr->head = 0;
    }
    size_t room = sizeof(fr->buf) - fr->len;
    if (n > room)
        n = room;
    if (n) {
        memcpy(fr->buf + fr->len, data, n);
        fr->len += n;
        fr->fed += n;
    }
    return n;
}

size_t hj212_framer_pending(const struct hj212_framer *fr)
{
    return fr->len - fr->head;
}

/* Index of the next "##" in [from, to), or `to`. */
static size_t hj212__find_hh(const char *b, size_t from, size_t to)
{
    for (size_t i = from; i + 1 < to; i++)
        if (b[i] == '#' && b[i + 1] == '#')
            return i;
    return to;
}

/* End (past the LF) of the first "&&"+4 hex+CR LF (or LF) in [from, to),
 * or 0. This is how the end of a frame with a wrong length field is found. */
static size_t hj212__find_end(const char *b, size_t from, size_t to)
{
    for (size_t i = from; i + 7 <= to; i++) {
        if (b[i] != '&' || b[i + 1] != '&' || hj212__hex4(b + i + 2, NULL) < 0)
            continue;
        if (b[i + 6] == '\n')
            return i + 7;
        if (b[i + 6] == '\r' && i + 8 <= to && b[i + 7] == '\n')
            return i + 8;
    }
    return 0;
}

/* Remembers how far the search for a frame end got, so bytes trickling in
 * one at a time do not make every call rescan the whole frame: a start
 * position i was fully checked once i + 8 <= lim. */
static void hj212__scanned(struct hj212_framer *fr, size_t p, size_t lim)
{
    if (lim >= p + 6 + 7)
        fr->scanned = lim - 7 - p;
}

/* Hands out [head, e) as a chunk and moves past it. */
static void hj212__emit(struct hj212_framer *fr, size_t e, int kind, int reason,
                        struct hj212_chunk *c, struct hj212_frame *f, const char *why)
{
    c->kind = kind;
    c->data = fr->buf + fr->head;
    c->len = e - fr->head;
    memset(&c->err, 0, sizeof(c->err));
    if (kind == HJ212_CHUNK_FRAME) {
        hj212_parse_frame(c->data, c->len, f, &c->err);
    } else {
        memset(f, 0, sizeof(*f));
        f->flag = -1;
        f->declared_len = -1;
        hj212__fail(&c->err, reason, "%s", why);
    }
    fr->head = e;
    fr->scanned = 0;
    fr->crc_state = 0;
}

/* Junk from head up to the next possible frame start. A lone trailing '#'
 * is kept back: it may be the first half of "##". */
static void hj212__junk(struct hj212_framer *fr, size_t from, bool eof, int reason,
                        struct hj212_chunk *c, struct hj212_frame *f, const char *why)
{
    size_t end = fr->len;
    size_t q = hj212__find_hh(fr->buf, from, end);

    if (q == end) {
        if (!eof && fr->buf[end - 1] == '#' && end - 1 > fr->head)
            q = end - 1;
        /* The junk continues past what we have: keep the reason until a
         * header is found, so a refused frame's body is labelled as such. */
        fr->discard = reason;
    } else {
        fr->discard = 0;
    }
    hj212__emit(fr, q, HJ212_CHUNK_JUNK, reason, c, f, why);
}

/* Does the CRC written before the terminator of [p, t) match the bytes
 * between the length field and it? For ends found by searching. */
static bool hj212__span_crc_ok(const char *b, size_t p, size_t t)
{
    size_t term = b[t - 2] == '\r' ? 2 : 1;
    size_t crc_at = t - term - 4;
    int rx = hj212__hex4(b + crc_at, NULL);
    return rx >= 0 && (unsigned)rx == hj212_crc16(b + p + 6, crc_at - (p + 6));
}

/* Gives up on the header at head without a frame to show for it: junk up
 * to the next "##" (the spec's resynchronisation), unless there is none
 * before `stop`, in which case [head, stop) goes out as a frame for the
 * parser to refuse with its precise reason. */
static void hj212__give_up(struct hj212_framer *fr, size_t stop, struct hj212_chunk *c,
                           struct hj212_frame *f)
{
    size_t q = hj212__find_hh(fr->buf, fr->head + 1, stop);
    if (q < stop)
        hj212__emit(fr, q, HJ212_CHUNK_JUNK, HJ212_E_HEADER, c, f,
                    "no valid frame at this \"##\" header");
    else
        hj212__emit(fr, stop, HJ212_CHUNK_FRAME, 0, c, f, NULL);
}

int hj212_framer_next(struct hj212_framer *fr, bool eof, struct hj212_chunk *c,
                      struct hj212_frame *f)
{
    const char *b = fr->buf;
    size_t end = fr->len, p;

    if (!fr->discard) {
        while (fr->head < end && hj212__is_ws(b[fr->head])) {
            fr->head++;
            fr->skipped++;
            fr->scanned = 0;
            fr->crc_state = 0;
        }
    }
    p = fr->head;
    if (p == end)
        return -EAGAIN;

    if (b[p] != '#' || (p + 1 < end && b[p + 1] != '#')) {
        hj212__junk(fr, p + 1, eof, fr->discard ? fr->discard : HJ212_E_HEADER, c, f,
                    fr->discard == HJ212_E_TOO_LONG ? "rest of a frame refused as too long"
                                                    : "bytes before a \"##\" header");
        return 0;
    }
    if (end - p < 6) { /* "##" but the length field is not all here */
        if (!eof)
            return -EAGAIN;
        fr->discard = 0;
        hj212__emit(fr, end, HJ212_CHUNK_JUNK, HJ212_E_TRUNCATED, c, f,
                    "input ended inside a frame header");
        return 0;
    }
    long L = hj212__decimal(b + p + 2, 4);
    if (L < 0) {
        hj212__junk(fr, p + 1, eof, HJ212_E_HEADER, c, f, "\"##\" not followed by 4 digits");
        return 0;
    }
    if ((size_t)L > fr->cap) {
        hj212__junk(fr, p + 2, eof, HJ212_E_TOO_LONG, c, f, "declared length above the cap");
        return 0;
    }
    fr->discard = 0;

    size_t n = 6 + (size_t)L + 4;              /* through the CRC */
    size_t e = p + n;                          /* where the terminator should be */
    size_t win = p + HJ212_FRAME_LEN(fr->cap); /* no frame extends beyond */
    size_t lim = end < win ? end : win;
    bool have_all = end >= e;

    if (have_all) {
        if (fr->crc_state == 0) {
            int rx = hj212__hex4(b + e - 4, NULL);
            fr->crc_state = rx >= 0 && (unsigned)rx == hj212_crc16(b + p + 6, (size_t)L) ? 1 : -1;
        }
        /* CRC good, or the terminator where the length says: the frame is
         * delimited; the parser gives the verdict. */
        if (fr->crc_state > 0 || (e < end && b[e] == '\n') ||
            (e + 1 < end && b[e] == '\r' && b[e + 1] == '\n')) {
            if (e + 1 < end && b[e] == '\r' && b[e + 1] == '\n')
                e += 2;
            else if (e < end && (b[e] == '\n' || b[e] == '\r'))
                e += 1;
            hj212__emit(fr, e, HJ212_CHUNK_FRAME, 0, c, f, NULL);
            return 0;
        }
    }
    /* The length field does not lead to a frame (yet): look for a frame
     * end elsewhere. Found early, it means the length overstates, and we
     * take the frame now rather than swallow the frames after it. */
    size_t t = hj212__find_end(b, p + (fr->scanned > 6 ? fr->scanned : 6), lim);
    if (t) {
        if (hj212__span_crc_ok(b, p, t))
            hj212__emit(fr, t, HJ212_CHUNK_FRAME, 0, c, f, NULL); /* "length" */
        else
            hj212__give_up(fr, t, c, f);
        return 0;
    }
    hj212__scanned(fr, p, lim);
    if (have_all && ((e < end && b[e] == '#') || eof || end >= win)) {
        /* The next frame follows directly, or no other end will come. */
        hj212__give_up(fr, e, c, f);
        return 0;
    }
    if (!have_all && eof) {
        size_t q = hj212__find_hh(b, p + 1, end);
        hj212__emit(fr, q, HJ212_CHUNK_JUNK, q < end ? HJ212_E_HEADER : HJ212_E_TRUNCATED, c, f,
                    q < end ? "no valid frame at this \"##\" header"
                            : "input ended inside a frame");
        return 0;
    }
    return -EAGAIN;
}
