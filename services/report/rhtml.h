/* rhtml: a report as one self-contained HTML page: inline CSS, inline SVG
 * charts and map, no external resource (it opens offline, from a file or
 * a mail attachment). The page carries a small script that measures what
 * the browser drew and writes it to <body data-drawn="...">, so that a
 * headless browser can check the charts and the map (tests/integration/
 * report_test.sh).
 *
 * Pure: no I/O; thread-safe for distinct outputs (cJSON is only read). */
#ifndef ECO_RHTML_H
#define ECO_RHTML_H

#include "buf.h"

#include <cjson/cJSON.h>

/* Renders `report` (the document of rpt.report) and `map` (rpt.report_map;
 * NULL: no map) into out, which the caller owns and has initialised with
 * its cap. Returns 0, -EBADMSG when report has no kind or period, or the
 * buf_* error (-E2BIG past out's cap, -ENOMEM). */
int rhtml_render(const cJSON *report, const cJSON *map, struct buf *out);

/* Appends s with &, <, >, " and ' escaped: text and attribute values. */
int rhtml_esc(struct buf *b, const char *s);

#endif
