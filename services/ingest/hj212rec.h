/* hj212rec: what the HJ 212 gateway (hj212gw) makes of a frame it has
 * accepted and authenticated: spool records, built without any socket.
 *
 *   eco/v1/in/<MN>           a data upload (CN 2011, 2051, 2061, 2031) as the
 *                            canonical readings message of the contract
 *   $hj212/event/<MN>        other uploads and the logger's answers
 *   $hj212/reject/<peer>     dead letters: refused frames, junk spans, and
 *                            the items of a stored frame that were refused
 *
 * Payload formats are in docs/HJ212.md ("Inside ecowatch"). Credentials
 * (PW=...) are masked in everything this module writes (hj212rec_mask).
 *
 * Records go out through the append callback given to hj212rec_init; its
 * error is passed back to the caller, which owns the policy (the gateway
 * closes the connection so that the logger sends the frame again).
 *
 * Bounds: one readings message of at most 1 MiB, lists of unmapped codes
 * and refused items of 4 KiB each, dead letters of at most HJ212_FRAME_MAX
 * bytes of frame. Loop thread only (one struct hj212rec per thread). */
#ifndef ECO_INGEST_HJ212REC_H
#define ECO_INGEST_HJ212REC_H

#include "buf.h"
#include "hj212.h"
#include "registry.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Internal spool topics. Topics starting with '$' cannot come from the
 * broker (ingest subscribes to eco/v1/in/+ only), so MQTT clients cannot
 * forge them. */
#define HJ212REC_TOPIC_EVENT "$hj212/event/"
#define HJ212REC_TOPIC_REJECT "$hj212/reject/"
#define HJ212REC_TOPIC_IN "eco/v1/in/"

/* Appends one record on topic prefix + name to the durable queue. Returns 0
 * or a negative errno (handed back by the hj212rec call that appended). */
typedef int (*hj212rec_append_fn)(void *ud, const char *prefix, const char *name,
                                  const char *payload, size_t len);

struct hj212rec_counters {
    uint64_t data_frames;    /* data uploads turned into readings messages */
    uint64_t values;         /* values put into readings messages */
    uint64_t events;         /* event records */
    uint64_t rejected;       /* dead letters (frames, junk spans, refused items) */
    uint64_t unmapped;       /* frames with a pollutant code without a parameter */
    uint64_t ignored_values; /* secondary values without a mapping */
    uint64_t lax;            /* frames accepted with some leniency */
};

/* Where a frame came from: passed to the append callback and named in the
 * records. Borrowed for the duration of one call. */
struct hj212rec_src {
    void *ud;         /* the append callback's argument */
    const char *peer; /* "address:port" of the logger */
};

/* How a frame was taken (hj212rec_frame). */
struct hj212rec_out {
    int cn; /* the frame's CN */
    /* Non-NULL: the frame is refused whole and nothing of it was stored;
     * the caller dead-letters it (hj212rec_reject) with this reason (static
     * storage) and detail. */
    const char *reason;
    char detail[HJ212_DETAIL_MAX + 64];
    /* Non-NULL: the frame was stored, but some of it (an unmapped code, a
     * bad flag, refused items) was dead-lettered: the reason to count for
     * the device (static storage). */
    const char *partial;
};

/* Scratch space and counters; embed it. */
struct hj212rec {
    hj212rec_append_fn append;
    struct hj212_cp *cp; /* one CP parsed at a time, ~22 KiB: owned */
    struct buf msg;      /* the record being built */
    struct buf why, bad; /* unmapped codes, bad flags of a frame */
    struct buf mask;     /* a frame with its credentials masked; refused items */
    const struct reg_param *used[HJ212_CP_ITEMS_MAX]; /* params of a frame */
    struct hj212rec_counters n;
};

/* Initialises r with the append callback. Returns 0 or -ENOMEM (nothing to
 * close then). */
int hj212rec_init(struct hj212rec *r, hj212rec_append_fn append);

/* Frees what r owns. */
void hj212rec_close(struct hj212rec *r);

/* Takes one accepted frame (f, whose CP borrows from data) from the
 * registered, authenticated device dev:
 *   - a frame whose ST is not the device's registered ST (for CN < 9000) is
 *     refused ("ST mismatch": the ST selects the code map);
 *   - its CP is parsed (refused with the codec's reason);
 *   - a data upload becomes one readings message: ts from DataTime (+08:00),
 *     period from the CN, the primary value of each pollutant (-Rtd for
 *     2011, -Avg otherwise) under the parameter reg_hj212_param gives for
 *     (ST, code), with its -Flag (N when absent); secondary values (-Min,
 *     -Max, -Cou, ...) only where the map has a row "<code>-<Suffix>". Codes
 *     without a parameter, values with a bad flag and items the codec
 *     refused go to one dead letter per frame beside the stored message;
 *   - CN 9015 (the 2025 heartbeat) stores nothing;
 *   - anything else becomes one event record (the frame's fields and every
 *     CP item as text), items refused on their own dead-lettered beside it.
 * Returns 0 when the frame was taken (answer it), -EBADMSG when it is
 * refused (out->reason), or another negative errno (a record did not fit,
 * or the append callback's error): no answer then. out is always set. */
int hj212rec_frame(struct hj212rec *r, const struct hj212rec_src *src, const struct hj212_frame *f,
                   const char *data, size_t len, const struct reg *reg,
                   const struct reg_device *dev, struct hj212rec_out *out);

/* Dead-letters a frame or a span of junk (len bytes of data, credentials
 * masked): {"reason":"<reason>[: <detail>]","peer","mn","frame"} on
 * $hj212/reject/<peer>. mn and detail may be NULL. A dead letter that does
 * not fit is logged and dropped (returns 0). Returns 0 or the append
 * callback's error. */
int hj212rec_reject(struct hj212rec *r, const struct hj212rec_src *src, const char *mn,
                    const char *reason, const char *detail, const char *data, size_t len);

/* Copies data (len bytes: a frame or junk) into out with the value of every
 * credential field replaced by "***": a key ending in "PW" (PW=, NewPW=),
 * "passwd" or "password", in any case, up to the next ';', ',', '&', CR or LF.
 * In a frame that had one, the CRC after "&&" becomes "****" (it is computed
 * over the password). The rest is kept as it was. out is reset first; it
 * needs room for 2 * len + 1 bytes. Returns 0, or -E2BIG beyond out's cap
 * (-ENOMEM). */
int hj212rec_mask(const char *data, size_t len, struct buf *out);

/* True when a CP or frame key names a credential (as hj212rec_mask). */
bool hj212rec_secret_key(const char *key, size_t klen);

#endif
