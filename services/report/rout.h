/* rout: a report's files. From the report document (rpt.report) and its
 * map (rpt.report_map) it writes, in one directory:
 *   {kind}-{period}.json              the document as the database gave it
 *   {kind}-{period}.html              the page (rhtml)
 *   {kind}-{period}-{section}.csv     each section's table (rsec_csv)
 * and map layers as layer-{name}.geojson. Each file is written to a
 * temporary name and renamed, so that a reader (a web server, a sync job)
 * never sees half a file.
 *
 * Blocking file I/O: call it from a worker thread (eco-report) or a CLI
 * (ecoctl). Thread-safe for distinct directories and reports. */
#ifndef ECO_ROUT_H
#define ECO_ROUT_H

#include <stddef.h>

/* Largest document rout reads, bytes. */
#define ROUT_MAX_JSON (64u << 20)

/* Writes the report's files into dir (created, with parents, if missing).
 * json/map_json are borrowed (map_json may be NULL: no map). On success
 * html (htmlcap bytes) gets the page's path. Returns 0, -EBADMSG (not a
 * report document; err says why), -E2BIG, or a negative errno from the
 * file system (err names the file). */
int rout_write_report(const char *dir, const char *json, size_t len, const char *map_json,
                      size_t map_len, char *html, size_t htmlcap, char *err, size_t errcap);

/* Writes one file dir/name atomically (temporary file and rename). */
int rout_write_file(const char *dir, const char *name, const void *p, size_t len);

/* mkdir -p. Returns 0 or a negative errno. */
int rout_mkdirs(const char *dir);

#endif
