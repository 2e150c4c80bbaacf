/* testreg: a registry built by hand the way registry.c fills it from its
 * queries, for the unit tests of the modules that read one (readings,
 * batch). Test code only. */
#ifndef ECO_TEST_TESTREG_H
#define ECO_TEST_TESTREG_H

#include "check.h"
#include "registry.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SITE_AIR = 11, SITE_MOB = 12, SITE_OFF = 13, P_PM25 = 1, P_SO2 = 2 };

static inline void add_device(struct reg *r, const char *code, int site_id, const char *kind,
                              bool active)
{
    struct reg_device *d = &r->devices[r->ndevices++];
    snprintf(d->code, sizeof(d->code), "%s", code);
    d->site_id = site_id;
    snprintf(d->site, sizeof(d->site), "S-%s", code);
    snprintf(d->kind, sizeof(d->kind), "%s", kind);
    d->mqtt = true;
    d->active = active;
}

static inline void add_param(struct reg *r, const char *code, int id, const char *unit, double vmin,
                             double vmax)
{
    struct reg_param *p = &r->params[r->nparams++];
    snprintf(p->code, sizeof(p->code), "%s", code);
    p->id = id;
    snprintf(p->unit, sizeof(p->unit), "%s", unit);
    p->vmin = vmin;
    p->vmax = vmax;
}

/* The registry: devices AIR001 (fixed air site), MOB001 (mobile), OFF001
 * (inactive); params pm25 and so2 in ug/m3 (plus `extra` generated params
 * x0..); one conversion mg/m3 -> ug/m3. The hmaps are filled as
 * reg_fill_devices / reg_fill_params do. */
static inline void build_reg(struct reg *r, size_t extra)
{
    reg_init(r);
    r->devices = calloc(3, sizeof(*r->devices));
    r->params = calloc(2 + extra, sizeof(*r->params));
    r->convs = calloc(1, sizeof(*r->convs));
    CHECK(r->devices && r->params && r->convs);
    add_device(r, "AIR001", SITE_AIR, "air", true);
    add_device(r, "MOB001", SITE_MOB, "mobile", true);
    add_device(r, "OFF001", SITE_OFF, "air", false);
    add_param(r, "pm25", P_PM25, "ug/m3", 0, 1000);
    add_param(r, "so2", P_SO2, "ug/m3", 0, 5000);
    for (size_t i = 0; i < extra; i++) {
        char code[32];
        snprintf(code, sizeof(code), "x%zu", i);
        add_param(r, code, 100 + (int)i, "ug/m3", 0, 10);
    }
    snprintf(r->convs[0].from, sizeof(r->convs[0].from), "mg/m3");
    snprintf(r->convs[0].to, sizeof(r->convs[0].to), "ug/m3");
    r->convs[0].factor = 1000;
    r->convs[0].offset = 0;
    r->nconvs = 1;
    for (size_t i = 0; i < r->ndevices; i++)
        CHECK_EQ_INT(
            hmap_put(&r->by_device, r->devices[i].code, strlen(r->devices[i].code), &r->devices[i]),
            0);
    for (size_t i = 0; i < r->nparams; i++) {
        char key[16];
        int k = snprintf(key, sizeof(key), "%d", r->params[i].id);
        CHECK_EQ_INT(
            hmap_put(&r->by_param, r->params[i].code, strlen(r->params[i].code), &r->params[i]), 0);
        CHECK_EQ_INT(hmap_put(&r->by_param_id, key, (size_t)k, &r->params[i]), 0);
    }
}

#endif
