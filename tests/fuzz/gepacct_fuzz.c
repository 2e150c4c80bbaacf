/* libFuzzer target for GEP account files (services/gep/gepacct). It checks
 * properties, not just survival:
 *
 *   - gepacct_parse returns 0 or -EBADMSG; a refusal comes with at least one
 *     message, each "line N: ...";
 *   - an accepted file has line items, each under a known service of its
 *     category, with a source, units the engine knows, and a value;
 *   - the totals are exactly the sums of the lines' values, per category
 *     and in all. */
#include "gepacct.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gepacct *a = malloc(sizeof(*a));
    int64_t total = 0, cat[GEPACCT_NCAT] = {0};
    struct gepcalc_unit u;
    int rc;

    if (!a)
        abort();
    rc = gepacct_parse((const char *)data, size, a);
    if (rc != 0 && rc != -EBADMSG)
        abort();
    if (rc == -EBADMSG) {
        if (a->nerrors == 0)
            abort();
        for (size_t i = 0; i < a->nerrors && i < GEPACCT_MSGS_MAX; i++)
            if (strncmp(a->errors[i], "line ", 5) != 0)
                abort();
    } else {
        if (a->n == 0 || a->nerrors != 0)
            abort();
        for (size_t i = 0; i < a->n; i++) {
            const struct gepacct_line *l = &a->lines[i];
            const char *c = gepcalc_service_category(l->service);
            if (!c || strcmp(c, l->category) != 0 || l->cat < 0 || l->cat >= GEPACCT_NCAT ||
                !l->source[0])
                abort();
            if (l->has_quantity && gepcalc_unit_parse(l->unit, &u))
                abort();
            if (l->has_price && gepcalc_unit_parse(l->price_unit, &u))
                abort();
            if (!l->from_value && !(l->has_quantity && l->has_price))
                abort();
            total += l->value_fen;
            cat[l->cat] += l->value_fen;
        }
        if (total != a->total_fen)
            abort();
        for (int k = 0; k < GEPACCT_NCAT; k++)
            if (cat[k] != a->cat_fen[k])
                abort();
    }
    gepacct_free(a);
    free(a);
    return 0;
}
