/* rgread: reads the registry files of one directory into rows.
 *
 * CSV files go through libshared/csv (RFC 4180, CR LF, BOM, quoted line
 * breaks, caps RG_MAX_RECORD / RG_MAX_FIELDS); regions.geojson through
 * cJSON, with the line of each feature found by a small tokenizer. Every
 * field is checked for UTF-8, control characters and RG_MAX_TEXT on the
 * way in, the header against the file's columns, then each row by
 * rgcheck_row and the file's keys by rgcheck_dups. Problems go to L as
 * FILE:LINE messages (rg_err); nothing here touches the database. */
#ifndef ECO_RGREAD_H
#define ECO_RGREAD_H

#include "rg.h"

#include <stddef.h>

/* Finds the known files in L->dir (sets each file's path and `present`);
 * warns about ones that look like registry files but are not (a misspelt
 * "site.csv" would otherwise be ignored). Returns 0, or -ENOENT when the
 * directory cannot be read or holds no registry file (reported in L). */
int rgread_scan_dir(struct rg_load *L);

/* Reads, parses and checks every present file (at most RG_MAX_CSV_BYTES,
 * RG_MAX_GEOJSON_BYTES for regions.geojson). */
void rgread_files(struct rg_load *L);

/* Parses the CSV text buf[0..len) (borrowed) as file fid (not RG_REGION):
 * header, then rows appended to L->f[fid] and checked. */
void rgread_csv(struct rg_load *L, int fid, const char *buf, size_t len);

/* Parses buf[0..len) (borrowed) as regions.geojson: a FeatureCollection of
 * Polygon/MultiPolygon features whose properties are the region columns. */
void rgread_geojson(struct rg_load *L, const char *buf, size_t len);

#endif
