/* hj212auth: who sent an HJ 212 frame, for the gateway (hj212gw).
 *
 * A frame's MN must name an active device registered for HJ 212 (not MQTT)
 * with a password hash, and its PW must verify against that crypt() hash
 * (bcrypt in practice, ~50 ms of CPU at cost 10). Verifications run on
 * libuv's thread pool (hj212auth_start); the verdicts are cached twice:
 *   - per connection (struct hj212auth_cache, HJ212AUTH_SLOTS verdicts by
 *     (MN, PW, stored hash), right or wrong): a logger pays once per
 *     connection and a wrong password is not re-hashed on every frame;
 *   - per MN for the module's lifetime, successes only (the last password
 *     that verified, with its hash): a logger that reconnects is not hashed
 *     again. At most one entry per registered MN, so guesses cannot grow it.
 * A change of the stored hash (a new password in the registry) misses both
 * caches. Secrets are wiped from memory when dropped.
 *
 * Threading: everything on the loop thread except the hashing, which works
 * on copies held by the job. */
#ifndef ECO_INGEST_HJ212AUTH_H
#define ECO_INGEST_HJ212AUTH_H

#include "hj212.h"
#include "hmap.h"
#include "registry.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* Verdicts cached per connection (a concentrator may carry several MNs on
 * one connection). */
#define HJ212AUTH_SLOTS 4
/* The longest stored hash kept (a bcrypt hash is 60). */
#define HJ212AUTH_HASH_MAX 128

struct hj212auth_slot {
    bool used, ok;
    char mn[HJ212_MN_MAX + 1];
    char pw[HJ212_PW_MAX + 1];
    char hash[HJ212AUTH_HASH_MAX];
};

/* The verdicts of one connection; embed it, zero-initialised. */
struct hj212auth_cache {
    struct hj212auth_slot slot[HJ212AUTH_SLOTS];
    unsigned next; /* the slot the next verdict replaces (round robin) */
};

/* What hj212auth_check says about a frame. */
enum hj212auth_verdict {
    HJ212AUTH_OK = 0,          /* the password verified (cached verdict) */
    HJ212AUTH_UNKNOWN_MN,      /* no such device */
    HJ212AUTH_MQTT,            /* the device is registered for MQTT */
    HJ212AUTH_INACTIVE,        /* the device is not active */
    HJ212AUTH_NO_PASSWORD,     /* no password is registered for the MN */
    HJ212AUTH_BAD_PASSWORD,    /* the password did not verify (cached verdict) */
    HJ212AUTH_NEEDS_CHECK = 6, /* no verdict yet: hj212auth_start, then ask again */
};

struct hj212auth_job;

/* Called on the loop thread when a job ends, after the job is freed: owner
 * as given to hj212auth_start (NULL once detached); rc 0 (the verdict is in
 * the owner's cache), -ENOMEM (no verdict) or UV_ECANCELED. */
typedef void (*hj212auth_done_fn)(void *ud, void *owner, int rc);

struct hj212auth {
    uv_loop_t *loop;
    hj212auth_done_fn done;
    void *ud;
    bool closing;               /* hj212auth_cancel_all ran: no new successes kept */
    struct hmap okpw;           /* MN -> last password that verified, with its hash */
    struct hj212auth_job *jobs; /* queued or running */
    size_t njobs;
    uint64_t checks; /* verifications started */
};

/* Initialises a on loop; done(ud, ...) reports the end of each job. */
void hj212auth_init(struct hj212auth *a, uv_loop_t *loop, hj212auth_done_fn done, void *ud);

/* Frees the success cache (wiped). No job may be left (a->njobs == 0). */
void hj212auth_close(struct hj212auth *a);

/* The verdict on frame f (its MN and PW) with registry reg and the
 * connection's cache. *dev is set to the device when it is registered for
 * HJ 212 (every verdict but UNKNOWN_MN and MQTT), else NULL; borrowed from
 * reg. A success cached for the MN by an earlier connection is copied into
 * cache. Pure apart from that; no hashing. */
enum hj212auth_verdict hj212auth_check(struct hj212auth *a, struct hj212auth_cache *cache,
                                       const struct reg *reg, const struct hj212_frame *f,
                                       const struct reg_device **dev);

/* Queues the verification of pw for mn against hash on the thread pool
 * (copies all three). When it ends the verdict is stored in cache, unless
 * the job was detached, and done(ud, owner, rc) runs. owner and cache are
 * borrowed until then or until hj212auth_detach. Returns 0 with *job set,
 * -ENOMEM, or uv_queue_work's error. */
int hj212auth_start(struct hj212auth *a, struct hj212auth_cache *cache, void *owner, const char *mn,
                    const char *pw, const char *hash, struct hj212auth_job **job);

/* The owner goes away: its verdict is not stored and done gets owner NULL. */
void hj212auth_detach(struct hj212auth_job *job);

/* For shutdown: detaches every job, cancels those not yet running (a
 * running one finishes) and stops keeping successes. done still runs for
 * each job; the module can be closed once a->njobs is 0. */
void hj212auth_cancel_all(struct hj212auth *a);

/* The verdict cached in cache for (mn, pw, hash): 1 right, 0 wrong, -1
 * none. */
int hj212auth_cache_get(const struct hj212auth_cache *cache, const char *mn, const char *pw,
                        const char *hash);

/* Caches a verdict, replacing the oldest slot. */
void hj212auth_cache_put(struct hj212auth_cache *cache, const char *mn, const char *pw,
                         const char *hash, bool ok);

/* Verifies pw against a crypt() hash, now, on the calling thread (any
 * thread: crypt_rn with its own state). Comparison in constant time; a hash
 * crypt does not understand never matches. Returns 1 match, 0 no match,
 * -ENOMEM. */
int hj212auth_verify(const char *pw, const char *hash);

#endif
