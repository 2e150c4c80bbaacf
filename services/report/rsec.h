/* rsec: the sections of a report (rpt.report, schemas/sql/0021_report.sql)
 * and the columns each shows, shared by the HTML tables and the CSV files
 * so that both say the same thing under the same headings; and the one way
 * a JSON value is written as a cell.
 *
 * Pure and thread-safe: the tables are constant. */
#ifndef ECO_RSEC_H
#define ECO_RSEC_H

#include "buf.h"

#include <cjson/cJSON.h>
#include <stddef.h>

#define RSEC_MAX_COLS 16

struct rsec_col {
    const char *key;    /* the row's JSON key */
    const char *header; /* table heading and CSV header */
};

struct rsec {
    const char *name;  /* the report's key: "air", "water", ... (also the CSV file name) */
    const char *title; /* the HTML heading */
    const char *kind;  /* "daily", "monthly" or NULL for both */
    struct rsec_col cols[RSEC_MAX_COLS];
};

/* The sections in the order the report shows them; *n gets their count. */
const struct rsec *rsec_all(size_t *n);

/* The section `name` shows in a report of `kind`, or NULL. */
const struct rsec *rsec_find(const char *name, const char *kind);

/* Appends item as display text: a string as it is, a number without
 * trailing zeros (integers whole), true/false as "yes"/"no", an array as
 * its elements joined by ", ", an object as compact JSON, null or a missing
 * item as "" (the caller shows its own placeholder). Returns 0 or the
 * buf_* error. */
int rsec_cell(struct buf *b, const cJSON *item);

/* Appends the section's rows as CSV (RFC 4180: a header line of the
 * column headings, CRLF line ends, fields quoted when they need it). A text
 * cell starting with =, +, -, @ or a control character gets a leading '
 * so that a spreadsheet shows it instead of evaluating it (work-order
 * titles come from the public). Returns 0 or the buf_* error. */
int rsec_csv(const struct rsec *s, const cJSON *rows, struct buf *out);

#endif
