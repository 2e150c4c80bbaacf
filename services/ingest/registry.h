/* registry: the in-memory copy of core.device, core.param,
 * core.unit_conversion and core.hj212_map that ingest (and its HJ 212
 * gateway) checks every reading against. Built from query results, then
 * swapped in whole, so a reload never leaves a half-old registry. Pointers
 * returned by the lookups are valid until the next reg_swap/reg_close: do
 * not keep them across loop callbacks. Loop thread only. */
#ifndef ECO_INGEST_REGISTRY_H
#define ECO_INGEST_REGISTRY_H

#include "hmap.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#define REG_CODE_MAX 65
#define REG_UNIT_MAX 32

struct reg_device {
    char code[REG_CODE_MAX];
    int site_id;
    char site[REG_CODE_MAX];
    char kind[16]; /* site kind: air, water, ..., mobile */
    bool mqtt;     /* protocol mqtt (else hj212) */
    bool active;
    char pw_hash[128]; /* crypt() hash; "" when none */
    char st[8];        /* HJ 212 ST the logger declares */
};

struct reg_param {
    char code[33];
    char hj212[16];
    int id;
    char unit[REG_UNIT_MAX];
    double vmin, vmax;
};

/* One row of core.hj212_map: (ST, code[-Suffix]) -> parameter. */
struct reg_map {
    char st[8];
    char code[32];
    const struct reg_param *param; /* into reg.params */
};

struct reg_conv {
    char from[REG_UNIT_MAX], to[REG_UNIT_MAX];
    double factor, offset;
};

struct reg {
    struct reg_device *devices;
    size_t ndevices;
    struct reg_param *params;
    size_t nparams;
    struct reg_conv *convs;
    size_t nconvs;
    struct reg_map *maps;
    size_t nmaps;
    struct hmap by_device, by_param, by_param_id;
    struct hmap by_hj212; /* core.param.hj212_code -> param */
    struct hmap by_map;   /* "ST|code" -> struct reg_map */
};

/* The queries whose results reg_fill_* take, in this order of columns. */
extern const char REG_SQL_DEVICES[];
extern const char REG_SQL_PARAMS[];
extern const char REG_SQL_CONVS[];
extern const char REG_SQL_HJ212MAP[];

void reg_init(struct reg *r);
void reg_close(struct reg *r);
/* Fill from a result of the matching query. Return 0, -ENOMEM, -EBADMSG. */
int reg_fill_devices(struct reg *r, const PGresult *res);
int reg_fill_params(struct reg *r, const PGresult *res);
int reg_fill_convs(struct reg *r, const PGresult *res);
/* Needs the parameters filled first (rows naming an unknown one are
 * skipped). */
int reg_fill_hj212map(struct reg *r, const PGresult *res);
/* Moves src into dst (closing what dst held); src is left empty. */
void reg_swap(struct reg *dst, struct reg *src);

const struct reg_device *reg_device(const struct reg *r, const char *code, size_t len);
const struct reg_param *reg_param(const struct reg *r, const char *code, size_t len);
const struct reg_param *reg_param_by_id(const struct reg *r, int id);
/* The parameter an HJ 212 logger of system type `st` means by `code` (a
 * pollutant code such as "a21026", or "<code>-<Suffix>" for a secondary
 * value such as "w00000-Cou"), or NULL when it has none. The rule:
 *   1. the row (st, code) of core.hj212_map, if there is one;
 *   2. otherwise, only for a plain code (no suffix) from an
 *      environmental-quality system (ST 10..29: air 22, surface water 21,
 *      sea 26, ...), the parameter whose core.param.hj212_code is `code`.
 * Step 2 never applies to pollution sources (ST 31 flue gas, 32 wastewater,
 * ...) or process data: core.param.hj212_code names the quality parameter
 * (ambient SO2 in µg/m³), and a stack's a21026 (mg/m³) must not land there.
 * Sources therefore need their codes in core.hj212_map. */
const struct reg_param *reg_hj212_param(const struct reg *r, const char *st, const char *code);

/* Converts v from unit `from` to the parameter's unit. Returns 0 or
 * -ENOENT when no conversion is registered. Same unit: identity. */
int reg_convert(const struct reg *r, const char *from, const char *to, double *v);

#endif
