/* hj212_framer: a caller-embedded, bounded byte-stream framer for TCP:
 * bytes in, frames (parsed with hj212_parse_frame) and rejected junk spans
 * with a reason out. No allocation, no I/O; one framer per connection, not
 * shared between threads without a lock. */
#ifndef ECO_HJ212_FRAMER_H
#define ECO_HJ212_FRAMER_H

#include "hj212_frame.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- stream framer -------------------------------------------------- */

/* TCP gives no message boundaries and field devices lie about lengths. The
 * framer holds at most HJ212_FRAME_MAX bytes; it finds "##"+4 digits, takes
 * the declared length, checks the CRC and the CR LF. If they do not line up
 * it looks for "&&"+4 hex+CR LF after the header (a frame whose length field
 * is wrong), and otherwise moves on. Bytes that cannot start a frame come
 * out as junk spans with a reason, so nothing is dropped silently except
 * whitespace (CR, LF, space, tab) between frames. */
struct hj212_framer {
    size_t cap;       /* largest declared data-segment length accepted */
    size_t head;      /* first byte not yet handed out */
    size_t len;       /* bytes held in buf */
    size_t scanned;   /* bytes after head already searched for a frame end */
    int crc_state;    /* CRC at the declared position: 0 unknown, 1 ok, -1 bad */
    int discard;      /* reason for junk while resynchronising, 0 if none */
    uint64_t fed;     /* bytes accepted by hj212_framer_feed */
    uint64_t skipped; /* whitespace bytes skipped between frames */
    char buf[HJ212_FRAME_MAX];
};

enum hj212_chunk_kind {
    HJ212_CHUNK_FRAME = 1, /* a delimited frame; err.reason 0 if accepted */
    HJ212_CHUNK_JUNK = 2,  /* bytes that are no frame; err.reason says why */
};

struct hj212_chunk {
    int kind;         /* enum hj212_chunk_kind */
    const char *data; /* borrowed from the framer: valid until the next feed */
    size_t len;       /* frames: at most HJ212_FRAME_LEN(cap) */
    struct hj212_err err;
};

/* Initialises an embedded framer. seg_cap bounds the declared data-segment
 * length (0 or above HJ212_SEG_MAX means HJ212_SEG_MAX); a frame declaring
 * more is refused as "too_long" and the framer resynchronises. */
void hj212_framer_init(struct hj212_framer *fr, size_t seg_cap);

/* Copies up to n bytes into the framer and returns how many it took (fewer
 * when its buffer is full: call hj212_framer_next until it returns -EAGAIN,
 * then feed the rest). Invalidates chunks handed out before. */
size_t hj212_framer_feed(struct hj212_framer *fr, const void *data, size_t n);

/* Takes the next chunk out. Returns 0 with *chunk filled (and, for a frame,
 * *frame parsed as by hj212_parse_frame: chunk->err tells whether it was
 * accepted), or -EAGAIN when more bytes are needed. With eof set (the peer
 * closed, or the partial frame timed out) bytes held for a partial frame are
 * released as junk "truncated"; call until -EAGAIN. A frame whose CR LF has
 * not arrived yet is released without it (the CR LF is skipped later), so a
 * logger that waits for an answer is never kept waiting. */
int hj212_framer_next(struct hj212_framer *fr, bool eof, struct hj212_chunk *chunk,
                      struct hj212_frame *frame);

/* Bytes held for a frame not yet complete (for idle timeouts). */
size_t hj212_framer_pending(const struct hj212_framer *fr);

#endif
