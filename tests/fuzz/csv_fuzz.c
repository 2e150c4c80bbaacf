/* libFuzzer target for the CSV reader (libshared/csv). It checks
 * properties, not just survival:
 *
 *   - every call returns 1, 0, -EBADMSG or -E2BIG (never -EIO from memory),
 *     an error comes with a reason, and 0 stays 0;
 *   - a record respects every cap: fields, bytes per field, bytes in all;
 *   - each field is NUL-terminated at flen and holds no NUL (refused);
 *   - line numbers never go back and stay within the input's line count;
 *   - the reader always ends: each call consumes input, so the number of
 *     calls is bounded by the input length.
 *
 * The first two input bytes pick small caps, so that every cap is reached
 * by short inputs. */
#include "csv.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct csv c;
    struct csv_limits lim;
    const char *text;
    size_t n, lines = 1, calls = 0;
    long last = 0;
    int rc;

    if (size < 2)
        return 0;
    lim.rec_max = 1 + data[0] % 64;
    lim.field_max = 1 + data[1] % 32;
    lim.fields_max = 1 + (data[0] >> 6) * 10; /* 1, 11, 21, 31 */
    text = (const char *)data + 2;
    n = size - 2;
    for (size_t i = 0; i < n; i++)
        lines += text[i] == '\n';
    if (csv_init_mem(&c, text, n, &lim) != 0)
        abort();
    for (;;) {
        rc = csv_next(&c);
        if (++calls > n + 2)
            abort(); /* no progress */
        if (c.line < last || c.line < 1 || (size_t)c.line > lines + 1)
            abort();
        last = c.line;
        if (rc == 0)
            break;
        if (rc == -EBADMSG || rc == -E2BIG) {
            if (c.err[0] == '\0')
                abort();
            continue;
        }
        if (rc != 1 || c.nfields < 1 || c.nfields > lim.fields_max)
            abort();
        {
            size_t total = 0;
            for (int i = 0; i < c.nfields; i++) {
                if (c.flen[i] > lim.field_max || c.field[i][c.flen[i]] != '\0' ||
                    strlen(c.field[i]) != c.flen[i])
                    abort();
                total += c.flen[i];
            }
            if (total > lim.rec_max)
                abort();
        }
    }
    if (csv_next(&c) != 0)
        abort();
    csv_close(&c);
    return 0;
}
