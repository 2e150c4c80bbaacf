#include "registry.h"

#include "db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char REG_SQL_DEVICES[] =
    "SELECT d.code, s.id, s.code, s.kind, d.protocol, coalesce(d.password_hash, ''),"
    " d.active AND s.active, coalesce(d.hj212_st, '')"
    " FROM core.device d JOIN core.site s ON s.code = d.site";
const char REG_SQL_PARAMS[] =
    "SELECT code, coalesce(hj212_code, ''), id, unit, valid_min, valid_max FROM core.param";
const char REG_SQL_CONVS[] =
    "SELECT from_unit, to_unit, factor, \"offset\" FROM core.unit_conversion";
const char REG_SQL_HJ212MAP[] = "SELECT st, hj212_code, param FROM core.hj212_map";

void reg_init(struct reg *r)
{
    memset(r, 0, sizeof(*r));
    hmap_init(&r->by_device);
    hmap_init(&r->by_param);
    hmap_init(&r->by_param_id);
    hmap_init(&r->by_hj212);
    hmap_init(&r->by_map);
}

void reg_close(struct reg *r)
{
    hmap_close(&r->by_device);
    hmap_close(&r->by_param);
    hmap_close(&r->by_param_id);
    hmap_close(&r->by_hj212);
    hmap_close(&r->by_map);
    free(r->devices);
    free(r->params);
    free(r->convs);
    free(r->maps);
    reg_init(r);
}

void reg_swap(struct reg *dst, struct reg *src)
{
    reg_close(dst);
    *dst = *src;
    reg_init(src);
}

static int reg__copy(char *dst, size_t cap, const char *s)
{
    size_t n = strlen(s);
    if (n >= cap)
        return -EBADMSG;
    memcpy(dst, s, n + 1);
    return 0;
}

int reg_fill_devices(struct reg *r, const PGresult *res)
{
    int n = PQntuples(res);

    if (PQnfields(res) != 8)
        return -EBADMSG;
    r->devices = calloc(n ? (size_t)n : 1, sizeof(*r->devices));
    if (!r->devices)
        return -ENOMEM;
    for (int i = 0; i < n; i++) {
        struct reg_device *d = &r->devices[r->ndevices];
        if (reg__copy(d->code, sizeof(d->code), PQgetvalue(res, i, 0)) ||
            reg__copy(d->site, sizeof(d->site), PQgetvalue(res, i, 2)) ||
            reg__copy(d->kind, sizeof(d->kind), PQgetvalue(res, i, 3)) ||
            reg__copy(d->pw_hash, sizeof(d->pw_hash), PQgetvalue(res, i, 5)) ||
            reg__copy(d->st, sizeof(d->st), PQgetvalue(res, i, 7)))
            continue; /* a code longer than any valid one cannot match */
        if (db_get_int(res, i, 1, &d->site_id))
            return -EBADMSG;
        d->mqtt = strcmp(PQgetvalue(res, i, 4), "mqtt") == 0;
        d->active = PQgetvalue(res, i, 6)[0] == 't';
        r->ndevices++;
    }
    for (size_t i = 0; i < r->ndevices; i++)
        if (hmap_put(&r->by_device, r->devices[i].code, strlen(r->devices[i].code), &r->devices[i]))
            return -ENOMEM;
    return 0;
}

int reg_fill_params(struct reg *r, const PGresult *res)
{
    int n = PQntuples(res);

    if (PQnfields(res) != 6)
        return -EBADMSG;
    r->params = calloc(n ? (size_t)n : 1, sizeof(*r->params));
    if (!r->params)
        return -ENOMEM;
    for (int i = 0; i < n; i++) {
        struct reg_param *p = &r->params[r->nparams];
        if (reg__copy(p->code, sizeof(p->code), PQgetvalue(res, i, 0)) ||
            reg__copy(p->hj212, sizeof(p->hj212), PQgetvalue(res, i, 1)) ||
            reg__copy(p->unit, sizeof(p->unit), PQgetvalue(res, i, 3)))
            continue;
        if (db_get_int(res, i, 2, &p->id))
            return -EBADMSG;
        p->vmin = strtod(PQgetvalue(res, i, 4), NULL);
        p->vmax = strtod(PQgetvalue(res, i, 5), NULL);
        r->nparams++;
    }
    for (size_t i = 0; i < r->nparams; i++) {
        char key[16];
        int k = snprintf(key, sizeof(key), "%d", r->params[i].id);
        if (hmap_put(&r->by_param, r->params[i].code, strlen(r->params[i].code), &r->params[i]) ||
            hmap_put(&r->by_param_id, key, (size_t)k, &r->params[i]))
            return -ENOMEM;
        if (r->params[i].hj212[0] &&
            hmap_put(&r->by_hj212, r->params[i].hj212, strlen(r->params[i].hj212), &r->params[i]))
            return -ENOMEM;
    }
    return 0;
}

int reg_fill_convs(struct reg *r, const PGresult *res)
{
    int n = PQntuples(res);

    if (PQnfields(res) != 4)
        return -EBADMSG;
    r->convs = calloc(n ? (size_t)n : 1, sizeof(*r->convs));
    if (!r->convs)
        return -ENOMEM;
    for (int i = 0; i < n; i++) {
        struct reg_conv *c = &r->convs[r->nconvs];
        if (reg__copy(c->from, sizeof(c->from), PQgetvalue(res, i, 0)) ||
            reg__copy(c->to, sizeof(c->to), PQgetvalue(res, i, 1)))
            continue;
        c->factor = strtod(PQgetvalue(res, i, 2), NULL);
        c->offset = strtod(PQgetvalue(res, i, 3), NULL);
        r->nconvs++;
    }
    return 0;
}

/* "ST|code": '|' occurs in neither (the table's CHECKs). */
static int reg__map_key(char *key, size_t cap, const char *st, const char *code)
{
    int k = snprintf(key, cap, "%s|%s", st, code);
    return k > 0 && (size_t)k < cap ? k : -1;
}

int reg_fill_hj212map(struct reg *r, const PGresult *res)
{
    int n = PQntuples(res);

    if (PQnfields(res) != 3)
        return -EBADMSG;
    r->maps = calloc(n ? (size_t)n : 1, sizeof(*r->maps));
    if (!r->maps)
        return -ENOMEM;
    for (int i = 0; i < n; i++) {
        struct reg_map *m = &r->maps[r->nmaps];
        const char *pc = PQgetvalue(res, i, 2);
        if (reg__copy(m->st, sizeof(m->st), PQgetvalue(res, i, 0)) ||
            reg__copy(m->code, sizeof(m->code), PQgetvalue(res, i, 1)))
            continue;
        m->param = reg_param(r, pc, strlen(pc));
        if (m->param)
            r->nmaps++;
    }
    for (size_t i = 0; i < r->nmaps; i++) {
        char key[48];
        int k = reg__map_key(key, sizeof(key), r->maps[i].st, r->maps[i].code);
        if (k > 0 && hmap_put(&r->by_map, key, (size_t)k, &r->maps[i]))
            return -ENOMEM;
    }
    return 0;
}

/* Environmental-quality system codes (HJ 212-2017 Table 5: 10..29). */
static bool reg__quality_st(const char *st)
{
    return st[0] >= '1' && st[0] <= '2' && st[1] >= '0' && st[1] <= '9' && st[2] == '\0';
}

const struct reg_param *reg_hj212_param(const struct reg *r, const char *st, const char *code)
{
    const struct reg_map *m;
    char key[48];
    int k = reg__map_key(key, sizeof(key), st, code);

    if (k > 0 && (m = hmap_get(&r->by_map, key, (size_t)k)) != NULL)
        return m->param;
    if (strchr(code, '-') || !reg__quality_st(st))
        return NULL;
    return hmap_get(&r->by_hj212, code, strlen(code));
}

const struct reg_device *reg_device(const struct reg *r, const char *code, size_t len)
{
    return hmap_get(&r->by_device, code, len);
}

const struct reg_param *reg_param(const struct reg *r, const char *code, size_t len)
{
    return hmap_get(&r->by_param, code, len);
}

const struct reg_param *reg_param_by_id(const struct reg *r, int id)
{
    char key[16];
    int k = snprintf(key, sizeof(key), "%d", id);
    return hmap_get(&r->by_param_id, key, (size_t)k);
}

int reg_convert(const struct reg *r, const char *from, const char *to, double *v)
{
    if (strcmp(from, to) == 0)
        return 0;
    for (size_t i = 0; i < r->nconvs; i++) {
        if (strcmp(r->convs[i].from, from) == 0 && strcmp(r->convs[i].to, to) == 0) {
            *v = *v * r->convs[i].factor + r->convs[i].offset;
            return 0;
        }
    }
    return -ENOENT;
}
