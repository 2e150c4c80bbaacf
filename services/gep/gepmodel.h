/* gepmodel: a GEP run of the physical models (docs/GEP.md, "Runs of the
 * physical models") from the document gep.model_inputs() returns: every
 * parameter of a set and every input of a region and year, each with its
 * value, unit and source. Which services are valued follows from the inputs
 * present (the table in docs/GEP.md); within a service, every required
 * price or coefficient must have a value and a source, or the whole run is
 * refused and err names it.
 *
 * Pure: no I/O; allocation only for the parsed document and the items'
 * JSON. One struct gepmodel per run, owned by the caller, used by one
 * thread at a time. */
#ifndef ECO_GEPMODEL_H
#define ECO_GEPMODEL_H

#include "gepcalc.h"

#include <stddef.h>

#define GEPMODEL_ITEMS_MAX 512
#define GEPMODEL_ROWS_MAX 4096 /* parameters + inputs of one run */
#define GEPMODEL_ERR_MAX 256

struct gepmodel_row {
    const char *key, *eco, *unit, *source; /* borrowed from the document */
    double v;
    bool set;
    int year;
};

struct gepmodel {
    void *doc; /* the parsed document (cJSON), which items and rows borrow */
    struct gepmodel_row *in, *par;
    size_t nin, npar;
    char names[256][80]; /* keys built at run time ("price__hairtail") */
    size_t nnames;
    struct gepcalc_item items[GEPMODEL_ITEMS_MAX];
    struct gepcalc_out out; /* out.items = items; out.n the run's line items */
    int64_t total_fen;
    char err[GEPMODEL_ERR_MAX];
};

/* Parses the inputs document (len bytes, not NUL-terminated) and values
 * every service its inputs call for into m->out. Returns 0, -EBADMSG (the
 * document is not gep.model_inputs()'s shape), -EINVAL (refused: m->err
 * names the input or parameter), -ENOSPC or -ENOMEM. m is initialised by
 * the call; gepmodel_close it whatever the result. */
int gepmodel_run(struct gepmodel *m, const char *doc, size_t len);

/* The line items as the JSON array gep.store_models_run() takes
 * (NUL-terminated; the caller frees it with cJSON_free). Returns 0, -ENOMEM or
 * -ERANGE (a value beyond the fen range). */
int gepmodel_items_json(const struct gepmodel *m, char **out, size_t *len);

/* Frees what gepmodel_run allocated; the struct may be run again. */
void gepmodel_close(struct gepmodel *m);

#endif
