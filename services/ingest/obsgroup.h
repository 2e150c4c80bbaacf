/* obsgroup: the eco/v1/obs/{site} publications of one batch, one message
 * per site holding every readings object of that site the batch stored:
 *
 *   {"site":"AQ-DH-01","readings":[{"device":...,"ts":...,...},...]}
 *
 * One message per readings object cost the broker and ingest as much as
 * receiving the readings did (a PUBLISH and its PUBACK each way); grouped,
 * a backlog goes out in a fraction of the messages. Objects keep the order
 * in which they were stored. A message is split when it would exceed
 * msg_max bytes, so a subscriber's packet limit is never the reason a
 * reading is missed.
 *
 * Usage per batch: obsg_reset; for each object obsg_begin, write the
 * object's JSON into the returned buffer, obsg_end; then obsg_emit.
 * obsg_mark/obsg_rewind drop the objects of a record that did not fit.
 *
 * Loop thread only; no I/O. */
#ifndef ECO_INGEST_OBSGROUP_H
#define ECO_INGEST_OBSGROUP_H

#include "buf.h"

#include <stddef.h>
#include <stdint.h>

struct obsg_ref {
    int site_id;
    uint32_t seq; /* order of arrival: kept within a site */
    uint32_t off; /* into frags: the site code, NUL, the object's JSON */
    uint32_t len; /* of the object's JSON */
};

struct obsg {
    struct buf frags;
    struct obsg_ref *refs;
    size_t n, max;
    size_t msg_max;
    struct buf msg;
};

struct obsg_mark {
    size_t n, len;
};

/* At most max_objs objects and frag_cap bytes of them per batch; messages
 * of at most msg_max bytes (at least 1024; a single larger object still
 * goes out alone). Returns 0, -EINVAL or -ENOMEM. */
int obsg_init(struct obsg *g, size_t max_objs, size_t frag_cap, size_t msg_max);
void obsg_close(struct obsg *g);
void obsg_reset(struct obsg *g);

/* Starts an object of site (copied); returns the buffer to append its JSON
 * object to, or NULL when the batch holds max_objs objects or the buffer
 * is full (end the batch before this record). */
struct buf *obsg_begin(struct obsg *g, int site_id, const char *site);
/* Ends the object begun last. Returns 0, or -ENOSPC when its JSON did not
 * fit (the caller rewinds). */
int obsg_end(struct obsg *g);

struct obsg_mark obsg_mark(const struct obsg *g);
void obsg_rewind(struct obsg *g, struct obsg_mark m);

/* Objects in the batch. */
size_t obsg_count(const struct obsg *g);

/* Calls pub once per message, grouped by site (sites in ascending id).
 * topic and p are borrowed for the call. Returns 0 or the first error of
 * pub (or -ENOMEM). */
int obsg_emit(struct obsg *g, int (*pub)(void *ud, const char *topic, const char *p, size_t len),
              void *ud);

#endif
