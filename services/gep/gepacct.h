/* gepacct: reads a GEP account file (docs/CONTRACT.md "GEP account files",
 * docs/GEP.md) into checked, valued line items. Pure: the caller hands
 * the file's bytes; nothing is read, written or logged here.
 *
 * RFC 4180 CSV (libshared/csv) with a header row; columns found by name:
 * category, service, item, quantity, unit, price, price_unit, value_yuan,
 * source (others ignored; category, service and source are required). A
 * line is valued quantity x price, the units converted (gepcalc: t_C <->
 * t_CO2 by 44/12, areas, 万/亿 multipliers), or value_yuan when quantity or
 * price is empty. Quantities and prices are kept in base units (万t -> t,
 * yuan/万t -> yuan/t). Values are whole fen, so totals are exact sums.
 *
 * A struct gepacct owns its lines; gepacct_free releases them. */
#ifndef ECO_GEPACCT_H
#define ECO_GEPACCT_H

#include "gepcalc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GEPACCT_LINES_MAX 10000 /* line items in one file */
#define GEPACCT_ITEM_MAX 256    /* bytes of an item label, with its NUL */
#define GEPACCT_SOURCE_MAX 1024 /* bytes of a source, with its NUL */
#define GEPACCT_MSGS_MAX 50     /* refusals and warnings kept (all are counted) */
#define GEPACCT_MSG_LEN 240
#define GEPACCT_TOLERANCE 0.005 /* value_yuan vs quantity x price: warn beyond */

enum { GEPACCT_PROVISIONING, GEPACCT_REGULATING, GEPACCT_CULTURAL, GEPACCT_NCAT };

struct gepacct_line {
    long line;                      /* physical line in the file, from 1 (the header) */
    int cat;                        /* GEPACCT_PROVISIONING ... */
    const char *category, *service; /* static strings */
    char item[GEPACCT_ITEM_MAX];
    bool has_quantity, has_price;
    double quantity; /* in unit */
    char unit[GEPCALC_UNIT_MAX];
    double price; /* yuan per price_unit */
    char price_unit[GEPCALC_UNIT_MAX];
    bool from_value; /* valued by value_yuan, not quantity x price */
    int64_t value_fen;
    char source[GEPACCT_SOURCE_MAX];
};

struct gepacct {
    struct gepacct_line *lines; /* owned */
    size_t n, cap;
    int64_t total_fen, cat_fen[GEPACCT_NCAT];
    /* "line N: reason", the first GEPACCT_MSGS_MAX of each */
    char errors[GEPACCT_MSGS_MAX][GEPACCT_MSG_LEN];
    size_t nerrors; /* all refusals, also those not kept */
    char warnings[GEPACCT_MSGS_MAX][GEPACCT_MSG_LEN];
    size_t nwarnings;
};

/* Reads the len bytes at data. Returns 0 when every line is valid (a has
 * the lines and totals), -EBADMSG when any is refused (a->errors says which
 * and why; a->lines is then not to be stored), -ENOMEM. a needs
 * gepacct_free either way. */
int gepacct_parse(const char *data, size_t len, struct gepacct *a);

/* The category names by index, for output. */
const char *gepacct_category_name(int cat);

void gepacct_free(struct gepacct *a);

#endif
