/* pgres: a PGresult built by hand (text columns), for unit tests of code
 * that reads query results without a server. Test code only. */
#ifndef ECO_TEST_PGRES_H
#define ECO_TEST_PGRES_H

#include "check.h"

#include <libpq-fe.h>
#include <string.h>

/* nrows x ncols values, row by row; the caller PQclear()s the result. */
static inline PGresult *result(int ncols, const char *const *names, int nrows,
                               const char *const *vals)
{
    PGresAttDesc attrs[8];
    PGresult *r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);

    CHECK(r && ncols <= 8);
    for (int c = 0; c < ncols; c++)
        attrs[c] = (PGresAttDesc){
            .name = (char *)names[c], .format = 0, .typid = 25, .typlen = -1, .atttypmod = -1};
    CHECK(PQsetResultAttrs(r, ncols, attrs));
    for (int i = 0; i < nrows; i++)
        for (int c = 0; c < ncols; c++) {
            const char *v = vals[i * ncols + c];
            CHECK(PQsetvalue(r, i, c, (char *)v, (int)strlen(v)));
        }
    return r;
}

#endif
