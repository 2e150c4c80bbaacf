/* dreg: what eco-detect knows of the registry, loaded from query results.
 *
 * Sites (kind, position, target class, nearby sites of the same kind),
 * parameters (valid range), limits (core.limit) and the rule settings
 * (alarm.setting: defaults overridden per site kind, site and parameter).
 * Filled from PGresults so that the service (non-blocking libpq) and ecoctl
 * (blocking libpq) load it the same way; then looked up by id on every
 * reading. A reload builds a new dreg and swaps it in.
 *
 * Ownership: a dreg owns all its memory; results passed to the fill
 * functions are borrowed. Not thread-safe. */
#ifndef ECO_DREG_H
#define ECO_DREG_H

#include "hmap.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum dreg_kind {
    DREG_AIR,
    DREG_NOI,
    DREG_WATER,
    DREG_SEA,
    DREG_GAS_OUTLET,
    DREG_WATER_OUTLET,
    DREG_MOBILE,
    DREG_NKINDS
};

#define DREG_CODE_MAX 65
#define DREG_NEIGHBOURS 8
/* Ids above this are refused: lookups are by direct index. */
#define DREG_MAX_ID 10000000

struct dreg_site {
    int id;
    char code[DREG_CODE_MAX];
    enum dreg_kind kind;
    double lat, lon; /* NAN for a site without a position */
    int target_class;
    bool active;
    int nneighbours;
    int neighbours[DREG_NEIGHBOURS]; /* site ids, nearest first */
    int nregional;
    int regional[DREG_NEIGHBOURS]; /* within flatline regional_km, nearest first */
};

struct dreg_param {
    int id;
    char code[33];
    char unit[32];
    double vmin, vmax;
};

struct dreg_limit {
    int site_id; /* 0: applies to a site kind */
    int kind;    /* enum dreg_kind, or -1 with site_id */
    int param_id;
    char period;
    int klass;           /* 0: no class */
    double lower, upper; /* NAN when absent */
};

struct dreg_setting {
    char rule[16];
    char name[32];
    double value;
    int kind;     /* -1: any */
    int site_id;  /* 0: any */
    int param_id; /* 0: any */
};

struct dreg {
    struct dreg_site *sites;
    size_t nsites;
    struct dreg_param *params;
    size_t nparams;
    struct dreg_limit *limits;
    size_t nlimits;
    struct dreg_setting *settings;
    size_t nsettings;
    /* id -> index + 1 (0: none) */
    uint32_t *site_ix;
    size_t site_ix_len;
    uint32_t *param_ix;
    size_t param_ix_len;
    /* device code -> site id, for dead letters */
    char (*dev_codes)[DREG_CODE_MAX];
    int *dev_sites;
    size_t ndevs;
    struct hmap by_site, by_param, by_dev; /* code -> entry (borrowed) */
};

/* Queries whose results the fill functions read, in this order. */
extern const char DREG_SQL_SITES[];
extern const char DREG_SQL_PARAMS[];
extern const char DREG_SQL_LIMITS[];
extern const char DREG_SQL_SETTINGS[];
extern const char DREG_SQL_DEVICES[];

void dreg_init(struct dreg *r);
void dreg_close(struct dreg *r);

/* Each returns 0, -EBADMSG (a row it cannot read: *why says which) or
 * -ENOMEM. Sites and params first: limits and settings refer to them. */
int dreg_fill_sites(struct dreg *r, const PGresult *res, char *why, size_t whycap);
int dreg_fill_params(struct dreg *r, const PGresult *res, char *why, size_t whycap);
int dreg_fill_limits(struct dreg *r, const PGresult *res, char *why, size_t whycap);
int dreg_fill_settings(struct dreg *r, const PGresult *res, char *why, size_t whycap);
int dreg_fill_devices(struct dreg *r, const PGresult *res, char *why, size_t whycap);
/* Builds the indexes and the neighbour lists; checks that every setting the
 * rules read has a default. Returns 0, -EBADMSG (why) or -ENOMEM. */
int dreg_finish(struct dreg *r, char *why, size_t whycap);

const struct dreg_site *dreg_site(const struct dreg *r, int id);
const struct dreg_param *dreg_param(const struct dreg *r, int id);
/* Lookups by code; NULL (or 0) when unknown. */
const struct dreg_site *dreg_site_code(const struct dreg *r, const char *code, size_t len);
const struct dreg_param *dreg_param_code(const struct dreg *r, const char *code, size_t len);
/* Site id of a device code, or 0. */
int dreg_device_site(const struct dreg *r, const char *code, size_t len);

/* The limit that applies to a value of `param_id` over `period` at `site`:
 * the site's own rows first, then its kind's; for graded standards the
 * site's target class. With `coarser`, a period without a limit borrows the
 * next coarser period's (a 10-minute value against the hourly limit).
 * Returns true with *lower and *upper (NAN when absent) when there is one. */
bool dreg_limit(const struct dreg *r, const struct dreg_site *site, int param_id, char period,
                bool coarser, double *lower, double *upper);

/* A rule setting: the most specific row wins (site+param, site, kind+param,
 * kind, param, default). dreg_finish made sure a default exists for every
 * name in the rules' list, so this never fails for those. */
double dreg_setting(const struct dreg *r, const char *rule, const char *name,
                    const struct dreg_site *site, int param_id);

/* "air" -> DREG_AIR; -1 when unknown. */
int dreg_kind_parse(const char *s);
const char *dreg_kind_name(enum dreg_kind k);

#endif
