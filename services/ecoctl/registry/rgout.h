/* rgout: what `ecoctl registry load` prints: the problem list as
 * FILE:LINE: reason (sorted by file, then line, then the order found), and
 * the summary, as text or as one JSON document (--json: stdout then
 * carries that document and nothing else). Borrows everything. */
#ifndef ECO_RGOUT_H
#define ECO_RGOUT_H

#include "rg.h"

#include <stdio.h>

/* Sorts L's messages and prints them on err, then how many were not kept. */
void rgout_errors(struct rg_load *L, FILE *err);

/* The summary of a load that ended with rc (0, -EBADMSG: rows refused,
 * other: failed) after secs seconds: per-file counts on out, or the reason
 * nothing was loaded on err. */
void rgout_text(const struct rg_load *L, int rc, double secs, FILE *out, FILE *err);

/* The same summary, with every kept problem and warning, as one JSON
 * document on out. Returns 0 or -ENOMEM. */
int rgout_json(const struct rg_load *L, int rc, double secs, FILE *out);

#endif
