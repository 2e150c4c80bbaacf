/* latest: the newest reading per site and parameter, gathered between the
 * flushes of obs.latest.
 *
 * Updating obs.latest in every batch transaction cost as much as inserting
 * the readings (an upsert per site and parameter, each leaving a dead
 * tuple). So ingest notes the newest value of each pair here as it builds a
 * batch, keeps it when the batch commits (latest_commit) or forgets it when
 * the batch fails (latest_discard), and writes what accumulated to
 * obs.latest at most once a second in a transaction of its own.
 *
 * Two layers per pair: the batch being built and what committed batches
 * accumulated. In both the newest time wins and, at equal times, the value
 * that came first: a repeated reading never replaces a stored one, as in
 * obs.reading.
 *
 * Bounded: at most `max` distinct pairs. Pairs stay in the map across
 * flushes (a station reports the same pairs again); latest_flushed forgets
 * them all once half the bound is used.
 *
 * Loop thread only; no I/O. */
#ifndef ECO_INGEST_LATEST_H
#define ECO_INGEST_LATEST_H

#include "hmap.h"
#include "registry.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct latest_val {
    int64_t ts; /* period start, microseconds since the epoch */
    double value;
    int tz; /* the sender's UTC offset in seconds: the retained message echoes it */
    char period, flag;
};

struct latest_ent {
    int site_id, param_id;
    char site[REG_CODE_MAX]; /* the site code, for the topic */
    struct latest_val acc, bat;
    bool has_acc, has_bat;
    bool changed; /* set by the caller: the flush changed obs.latest */
};

struct latest {
    struct hmap map; /* 8-byte (site_id, param_id) key -> entry index + 1 */
    struct latest_ent *ents;
    size_t nents, max;
    uint32_t *bat; /* indices of entries with has_bat */
    size_t nbat;
    uint32_t *acc; /* indices of entries with has_acc */
    size_t nacc;
};

/* Bounds the map at max pairs (at least 2). Allocates all of it up front
 * except the map's own table: 2 * 4 bytes + sizeof(struct latest_ent) per
 * pair. Returns 0 or -ENOMEM. */
int latest_init(struct latest *l, size_t max);
void latest_close(struct latest *l);

/* Notes a value of the batch being built; site is copied. Returns 0, or
 * -ENOSPC when the pair is new and the bound is reached (end the batch and
 * flush), -ENOMEM. */
int latest_note(struct latest *l, int site_id, const char *site, int param_id,
                const struct latest_val *v);
/* Notes a value that is already committed (a replay after a restart): it
 * goes straight to the accumulated layer. Returns as latest_note. */
int latest_merge(struct latest *l, int site_id, const char *site, int param_id,
                 const struct latest_val *v);
/* The batch committed: its values join the accumulated ones. */
void latest_commit(struct latest *l);
/* The batch failed: its values are forgotten. */
void latest_discard(struct latest *l);

/* Pairs waiting for a flush, and the i-th of them (i < latest_pending). */
size_t latest_pending(const struct latest *l);
struct latest_ent *latest_pending_at(struct latest *l, size_t i);
/* The entry of a pair, or NULL. */
struct latest_ent *latest_find(struct latest *l, int site_id, int param_id);
/* True when n more pairs fit, whether or not they are new. */
bool latest_has_room(const struct latest *l, size_t n);
/* True when half the bound is used: flush now rather than later. */
bool latest_pressing(const struct latest *l);
/* The accumulated values are in obs.latest: clears them (and each entry's
 * `changed`), and forgets every pair when half the bound is used and no
 * batch is being built. */
void latest_flushed(struct latest *l);

#endif
