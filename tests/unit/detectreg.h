/* detectreg: an eco-detect registry built by hand, with the default rule
 * settings read from the migration that ships them
 * (schemas/sql/0009_alarm.sql), for the engine's unit test and benchmark.
 * Test code only. */
#ifndef ECO_TEST_DETECTREG_H
#define ECO_TEST_DETECTREG_H

#include "check.h"
#include "dreg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* The defaults from the migration: the rows of its INSERT INTO alarm.setting. */
static inline void load_settings(struct dreg *r)
{
    char path[512], line[1024];
    FILE *f;
    snprintf(path, sizeof(path), "%s/schemas/sql/0009_alarm.sql", ECO_SOURCE_DIR);
    CHECK((f = fopen(path, "r")) != NULL);
    r->settings = calloc(256, sizeof(*r->settings));
    CHECK(r->settings);
    while (fgets(line, sizeof(line), f)) {
        struct dreg_setting *s = &r->settings[r->nsettings];
        char kind[32] = "";
        int n = sscanf(line, " ('%15[a-z]', '%31[a-z_]', %lf, '%31[a-z_]'", s->rule, s->name,
                       &s->value, kind);
        if (n < 3)
            continue;
        s->kind = n == 4 ? dreg_kind_parse(kind) : -1;
        CHECK(r->nsettings < 255);
        r->nsettings++;
    }
    fclose(f);
    CHECK(r->nsettings > 30);
}

static inline void add_site(struct dreg *r, int id, const char *code, enum dreg_kind kind,
                            double lat, double lon)
{
    struct dreg_site *s = &r->sites[r->nsites++];
    s->id = id;
    snprintf(s->code, sizeof(s->code), "%s", code);
    s->kind = kind;
    s->lat = lat;
    s->lon = lon;
    s->active = true;
}

static inline void add_param(struct dreg *r, int id, const char *code, double vmin, double vmax)
{
    struct dreg_param *p = &r->params[r->nparams++];
    p->id = id;
    snprintf(p->code, sizeof(p->code), "%s", code);
    snprintf(p->unit, sizeof(p->unit), "ug/m3");
    p->vmin = vmin;
    p->vmax = vmax;
}

static inline void add_limit(struct dreg *r, int site_id, int kind, int param, char period,
                             double up)
{
    struct dreg_limit *l = &r->limits[r->nlimits++];
    l->site_id = site_id;
    l->kind = kind;
    l->param_id = param;
    l->period = period;
    l->lower = NAN;
    l->upper = up;
}

#endif
