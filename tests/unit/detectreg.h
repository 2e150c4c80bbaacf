/* detectreg: an eco-detect registry built by hand, with the default rule
 * settings read from the migrations that ship them
 * (schemas/sql/0009_alarm.sql, 0012_detect_tuning.sql, 0023, 0033, 0034), for the engine's unit
 * test and benchmark. Test code only. */
#ifndef ECO_TEST_DETECTREG_H
#define ECO_TEST_DETECTREG_H

#include "check.h"
#include "dreg.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The defaults from the migrations: the rows of their INSERT INTO
 * alarm.setting, in migration order; a later row for the same setting
 * replaces the earlier one. */
static inline void load_settings_file(struct dreg *r, const char *name)
{
    char path[512], line[1024];
    bool in_insert = false;
    FILE *f;
    snprintf(path, sizeof(path), "%s/schemas/sql/%s", ECO_SOURCE_DIR, name);
    CHECK((f = fopen(path, "r")) != NULL);
    while (fgets(line, sizeof(line), f)) {
        struct dreg_setting s = {0};
        char kind[32] = "";
        size_t i;
        int n;
        if (strstr(line, "INSERT INTO alarm.setting"))
            in_insert = true;
        if (!in_insert)
            continue;
        n = sscanf(line, " ('%15[a-z]', '%31[a-z_]', %lf, '%31[a-z_]'", s.rule, s.name, &s.value,
                   kind);
        if (n >= 3) {
            s.kind = n == 4 ? dreg_kind_parse(kind) : -1;
            for (i = 0; i < r->nsettings; i++)
                if (strcmp(r->settings[i].rule, s.rule) == 0 &&
                    strcmp(r->settings[i].name, s.name) == 0 && r->settings[i].kind == s.kind)
                    break;
            CHECK(i < 255);
            r->settings[i] = s;
            if (i == r->nsettings)
                r->nsettings++;
        }
        if (strchr(line, ';'))
            in_insert = false;
    }
    fclose(f);
}

static inline void load_settings(struct dreg *r)
{
    static const char *const files[] = {"0009_alarm.sql", "0012_detect_tuning.sql",
                                        "0023_detect_tuning.sql", "0033_detect_drift.sql",
                                        "0034_detect_regional.sql"};
    r->settings = calloc(256, sizeof(*r->settings));
    CHECK(r->settings);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        load_settings_file(r, files[i]);
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
