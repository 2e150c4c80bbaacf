#include "hj212auth.h"

#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One verification on the thread pool. The worker reads only the copies in
 * here; owner and cache are cleared when the owner goes first. */
struct hj212auth_job {
    uv_work_t req;
    struct hj212auth *a;
    void *owner;
    struct hj212auth_cache *cache;
    struct hj212auth_job *prev, *next;
    int rc; /* hj212auth_verify's: 1, 0 or -ENOMEM */
    char mn[HJ212_MN_MAX + 1];
    char pw[HJ212_PW_MAX + 1];
    char hash[HJ212AUTH_HASH_MAX];
};

/* The last password that verified for an MN, with the hash it verified
 * against (see the header). */
struct auth__okpw {
    char pw[HJ212_PW_MAX + 1];
    char hash[HJ212AUTH_HASH_MAX];
};

/* Compares a crypt() result with the stored hash without stopping at the
 * first difference. */
static bool auth__same(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = la != lb;
    for (size_t i = 0; i < la && i < lb; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

int hj212auth_verify(const char *pw, const char *hash)
{
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    const char *h;
    int ok;

    if (!cd)
        return -ENOMEM;
    h = crypt_rn(pw, hash, cd, (int)sizeof(*cd));
    /* crypt_rn returns NULL for a hash it does not understand: no match */
    ok = h && auth__same(h, hash);
    memset(cd, 0, sizeof(*cd));
    free(cd);
    return ok;
}

int hj212auth_cache_get(const struct hj212auth_cache *cache, const char *mn, const char *pw,
                        const char *hash)
{
    for (size_t i = 0; i < HJ212AUTH_SLOTS; i++) {
        const struct hj212auth_slot *s = &cache->slot[i];
        if (s->used && strcmp(s->mn, mn) == 0 && strcmp(s->pw, pw) == 0 &&
            strcmp(s->hash, hash) == 0)
            return s->ok;
    }
    return -1;
}

void hj212auth_cache_put(struct hj212auth_cache *cache, const char *mn, const char *pw,
                         const char *hash, bool ok)
{
    struct hj212auth_slot *s = &cache->slot[cache->next++ % HJ212AUTH_SLOTS];
    s->used = true;
    s->ok = ok;
    snprintf(s->mn, sizeof(s->mn), "%s", mn);
    snprintf(s->pw, sizeof(s->pw), "%s", pw);
    snprintf(s->hash, sizeof(s->hash), "%s", hash);
}

/* A verdict cached by an earlier connection of the same logger. */
static bool auth__okpw_hit(const struct hj212auth *a, const char *mn, const char *pw,
                           const char *hash)
{
    const struct auth__okpw *o = hmap_get(&a->okpw, mn, strlen(mn));
    return o && strcmp(o->pw, pw) == 0 && strcmp(o->hash, hash) == 0;
}

static void auth__okpw_put(struct hj212auth *a, const struct hj212auth_job *j)
{
    struct auth__okpw *o = hmap_get(&a->okpw, j->mn, strlen(j->mn));
    if (!o) {
        o = calloc(1, sizeof(*o));
        if (!o || hmap_put(&a->okpw, j->mn, strlen(j->mn), o)) {
            free(o);
            return; /* out of memory: the next connection just hashes again */
        }
    }
    memcpy(o->pw, j->pw, sizeof(o->pw));
    memcpy(o->hash, j->hash, sizeof(o->hash));
}

enum hj212auth_verdict hj212auth_check(struct hj212auth *a, struct hj212auth_cache *cache,
                                       const struct reg *reg, const struct hj212_frame *f,
                                       const struct reg_device **dev)
{
    const struct reg_device *d = reg_device(reg, f->mn, strlen(f->mn));
    int ok;

    *dev = NULL;
    if (!d)
        return HJ212AUTH_UNKNOWN_MN;
    if (d->mqtt)
        return HJ212AUTH_MQTT;
    *dev = d;
    if (!d->active)
        return HJ212AUTH_INACTIVE;
    if (!d->pw_hash[0])
        return HJ212AUTH_NO_PASSWORD;
    ok = hj212auth_cache_get(cache, f->mn, f->pw, d->pw_hash);
    if (ok < 0 && auth__okpw_hit(a, f->mn, f->pw, d->pw_hash)) {
        hj212auth_cache_put(cache, f->mn, f->pw, d->pw_hash, true);
        ok = 1;
    }
    if (ok < 0)
        return HJ212AUTH_NEEDS_CHECK;
    return ok ? HJ212AUTH_OK : HJ212AUTH_BAD_PASSWORD;
}

/* Thread pool: touches only the job's copies. */
static void auth__work(uv_work_t *req)
{
    struct hj212auth_job *j = (struct hj212auth_job *)req;
    j->rc = hj212auth_verify(j->pw, j->hash);
}

static void auth__after(uv_work_t *req, int status)
{
    struct hj212auth_job *j = (struct hj212auth_job *)req;
    struct hj212auth *a = j->a;
    void *owner = j->owner;
    int rc = status ? status : j->rc < 0 ? j->rc : 0;

    if (j->prev)
        j->prev->next = j->next;
    else
        a->jobs = j->next;
    if (j->next)
        j->next->prev = j->prev;
    a->njobs--;
    if (rc == 0 && j->rc == 1 && !a->closing)
        auth__okpw_put(a, j);
    if (owner && rc == 0)
        hj212auth_cache_put(j->cache, j->mn, j->pw, j->hash, j->rc == 1);
    memset(j->pw, 0, sizeof(j->pw));
    free(j);
    a->done(a->ud, owner, rc);
}

int hj212auth_start(struct hj212auth *a, struct hj212auth_cache *cache, void *owner, const char *mn,
                    const char *pw, const char *hash, struct hj212auth_job **job)
{
    struct hj212auth_job *j = calloc(1, sizeof(*j));
    int rc;

    *job = NULL;
    if (!j)
        return -ENOMEM;
    j->a = a;
    j->owner = owner;
    j->cache = cache;
    snprintf(j->mn, sizeof(j->mn), "%s", mn);
    snprintf(j->pw, sizeof(j->pw), "%s", pw);
    snprintf(j->hash, sizeof(j->hash), "%s", hash);
    rc = uv_queue_work(a->loop, &j->req, auth__work, auth__after);
    if (rc) {
        memset(j->pw, 0, sizeof(j->pw));
        free(j);
        return rc;
    }
    j->next = a->jobs;
    if (a->jobs)
        a->jobs->prev = j;
    a->jobs = j;
    a->njobs++;
    a->checks++;
    *job = j;
    return 0;
}

void hj212auth_detach(struct hj212auth_job *job)
{
    if (!job)
        return;
    job->owner = NULL;
    job->cache = NULL;
}

void hj212auth_cancel_all(struct hj212auth *a)
{
    a->closing = true;
    for (struct hj212auth_job *j = a->jobs; j; j = j->next) {
        hj212auth_detach(j);
        uv_cancel((uv_req_t *)&j->req); /* one already running just finishes */
    }
}

void hj212auth_init(struct hj212auth *a, uv_loop_t *loop, hj212auth_done_fn done, void *ud)
{
    memset(a, 0, sizeof(*a));
    a->loop = loop;
    a->done = done;
    a->ud = ud;
    hmap_init(&a->okpw);
}

void hj212auth_close(struct hj212auth *a)
{
    for (size_t i = 0; i < a->okpw.cap; i++) {
        if (a->okpw.slots[i].val)
            memset(a->okpw.slots[i].val, 0, sizeof(struct auth__okpw));
        free(a->okpw.slots[i].val);
    }
    hmap_close(&a->okpw);
}
