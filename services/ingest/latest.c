#include "latest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int latest_init(struct latest *l, size_t max)
{
    memset(l, 0, sizeof(*l));
    hmap_init(&l->map);
    if (max < 2 || max > UINT32_MAX)
        return -EINVAL;
    l->max = max;
    l->ents = calloc(max, sizeof(*l->ents));
    l->bat = calloc(max, sizeof(*l->bat));
    l->acc = calloc(max, sizeof(*l->acc));
    if (!l->ents || !l->bat || !l->acc) {
        latest_close(l);
        return -ENOMEM;
    }
    return 0;
}

void latest_close(struct latest *l)
{
    hmap_close(&l->map);
    free(l->ents);
    free(l->bat);
    free(l->acc);
    memset(l, 0, sizeof(*l));
}

static void latest__key(char key[8], int site_id, int param_id)
{
    uint64_t k = (uint64_t)(uint32_t)site_id << 32 | (uint32_t)param_id;
    memcpy(key, &k, 8);
}

struct latest_ent *latest_find(struct latest *l, int site_id, int param_id)
{
    char key[8];
    latest__key(key, site_id, param_id);
    uintptr_t i = (uintptr_t)hmap_get(&l->map, key, sizeof(key));
    return i ? &l->ents[i - 1] : NULL;
}

/* The entry of the pair, created when new. */
static int latest__ent(struct latest *l, int site_id, const char *site, int param_id,
                       struct latest_ent **out)
{
    struct latest_ent *e = latest_find(l, site_id, param_id);
    char key[8];
    int rc;

    if (!e) {
        if (l->nents == l->max)
            return -ENOSPC;
        latest__key(key, site_id, param_id);
        if ((rc = hmap_put(&l->map, key, sizeof(key), (void *)(uintptr_t)(l->nents + 1))))
            return rc;
        e = &l->ents[l->nents++];
        memset(e, 0, sizeof(*e));
        e->site_id = site_id;
        e->param_id = param_id;
        snprintf(e->site, sizeof(e->site), "%s", site);
    }
    *out = e;
    return 0;
}

/* Newer wins; at equal times the one already there. */
static bool latest__newer(const struct latest_val *v, bool has, const struct latest_val *old)
{
    return !has || v->ts > old->ts;
}

int latest_note(struct latest *l, int site_id, const char *site, int param_id,
                const struct latest_val *v)
{
    struct latest_ent *e;
    int rc = latest__ent(l, site_id, site, param_id, &e);

    if (rc)
        return rc;
    if (!e->has_bat)
        l->bat[l->nbat++] = (uint32_t)(e - l->ents);
    if (latest__newer(v, e->has_bat, &e->bat))
        e->bat = *v;
    e->has_bat = true;
    return 0;
}

static void latest__to_acc(struct latest *l, struct latest_ent *e, const struct latest_val *v)
{
    if (!e->has_acc)
        l->acc[l->nacc++] = (uint32_t)(e - l->ents);
    if (latest__newer(v, e->has_acc, &e->acc))
        e->acc = *v;
    e->has_acc = true;
}

int latest_merge(struct latest *l, int site_id, const char *site, int param_id,
                 const struct latest_val *v)
{
    struct latest_ent *e;
    int rc = latest__ent(l, site_id, site, param_id, &e);

    if (!rc)
        latest__to_acc(l, e, v);
    return rc;
}

void latest_commit(struct latest *l)
{
    for (size_t i = 0; i < l->nbat; i++) {
        struct latest_ent *e = &l->ents[l->bat[i]];
        latest__to_acc(l, e, &e->bat);
        e->has_bat = false;
    }
    l->nbat = 0;
}

void latest_discard(struct latest *l)
{
    for (size_t i = 0; i < l->nbat; i++)
        l->ents[l->bat[i]].has_bat = false;
    l->nbat = 0;
}

size_t latest_pending(const struct latest *l)
{
    return l->nacc;
}

struct latest_ent *latest_pending_at(struct latest *l, size_t i)
{
    return i < l->nacc ? &l->ents[l->acc[i]] : NULL;
}

bool latest_has_room(const struct latest *l, size_t n)
{
    return l->max - l->nents >= n;
}

bool latest_pressing(const struct latest *l)
{
    return l->nents >= l->max / 2;
}

void latest_flushed(struct latest *l)
{
    for (size_t i = 0; i < l->nacc; i++) {
        l->ents[l->acc[i]].has_acc = false;
        l->ents[l->acc[i]].changed = false;
    }
    l->nacc = 0;
    if (latest_pressing(l) && l->nbat == 0) {
        hmap_close(&l->map);
        hmap_init(&l->map);
        l->nents = 0;
    }
}
