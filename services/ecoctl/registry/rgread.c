/* rgread: the registry files of a directory into rows (rg.h). */
#include "rgread.h"

#include "csv.h"
#include "json.h"
#include "rgcheck.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------- file input */

/* Reads a whole regular file of at most `cap` bytes. */
static int rgread__slurp(const char *path, size_t cap, char **out, size_t *len)
{
    struct stat st;
    char *buf = NULL;
    size_t got = 0;
    int fd, rc = 0;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = -EINVAL;
        goto out;
    }
    if ((uintmax_t)st.st_size > cap) {
        rc = -EFBIG;
        goto out;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        rc = -ENOMEM;
        goto out;
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            goto out;
        }
        if (n == 0)
            break; /* shrank under us: take what is there */
        got += (size_t)n;
    }
    buf[got] = '\0';
    *out = buf;
    *len = got;
    buf = NULL;
out:
    free(buf);
    close(fd);
    return rc;
}

/* Appends a row made of `n` field strings for columns `cols[i]`. Checks the
 * bytes of every field (UTF-8, no control characters, length) on the way,
 * because the database would refuse them in the middle of the COPY. */
static struct rg_row *rgread__add_row(struct rg_load *L, struct rg_file *F, unsigned line,
                                      const int *cols, const char *const *vals, const size_t *lens,
                                      size_t n)
{
    struct rg_row *R;
    size_t total = 0, pos = 0;

    if (F->nrows == F->caprows) {
        size_t cap = F->caprows ? F->caprows * 2 : 256;
        struct rg_row *rows = realloc(F->rows, cap * sizeof *rows);
        if (!rows)
            return NULL;
        F->rows = rows;
        F->caprows = cap;
    }
    for (size_t i = 0; i < n; i++)
        total += lens[i] + 1;
    R = &F->rows[F->nrows];
    memset(R, 0, sizeof *R);
    R->line = line;
    R->buf = malloc(total ? total : 1);
    if (!R->buf)
        return NULL;
    F->nrows++;
    for (size_t i = 0; i < n; i++) {
        char *v = R->buf + pos;
        int col = cols[i];
        bool ctl = false;
        if (lens[i])
            memcpy(v, vals[i], lens[i]);
        v[lens[i]] = '\0';
        pos += lens[i] + 1;
        if (col < 0)
            continue;
        R->f[col] = lens[i] ? v : NULL;
        if (!lens[i])
            continue;
        for (size_t j = 0; j < lens[i]; j++)
            if ((unsigned char)v[j] < 0x20 || v[j] == 0x7f)
                ctl = true;
        if (!rgcheck_utf8((const unsigned char *)v, lens[i]))
            rgcheck_reject(L, F, R, col, "is not valid UTF-8");
        else if (ctl && !(F->spec == &rg_specs[RG_REGION] && col == RG_REG_GEOM))
            rgcheck_reject(L, F, R, col, "contains a control character (tab, newline, ...)");
        else if (lens[i] > RG_MAX_TEXT && col != RG_REG_GEOM)
            rgcheck_reject(L, F, R, col, "longer than %u bytes", RG_MAX_TEXT);
    }
    return R;
}

void rgread_csv(struct rg_load *L, int fid, const char *buf, size_t len)
{
    static const struct csv_limits lim = {RG_MAX_RECORD, RG_MAX_RECORD, RG_MAX_FIELDS};
    struct rg_file *F = &L->f[fid];
    const struct rg_spec *S = F->spec;
    struct csv *r = malloc(sizeof *r);
    int colmap[RG_MAX_FIELDS];
    unsigned nhdr = 0;
    bool have_header = false;

    /* csv skips the byte order mark spreadsheet programs like to write */
    if (!r || csv_init_mem(r, buf, len, &lim) != 0) {
        rg_err(L, fid, 0, "out of memory");
        free(r);
        return;
    }
    for (;;) {
        int rc = csv_next(r);
        unsigned start = (unsigned)r->line;
        unsigned nf = (unsigned)r->nfields;
        const char *vals[RG_MAX_FIELDS];
        struct rg_row *R;

        if (rc == 0)
            break;
        if (rc < 0) {
            rg_err(L, fid, start, "%s", r->err);
            if (!have_header) {
                have_header = true; /* no usable header: rows are not checked */
                F->usable = false;
                nhdr = 0;
            }
            continue;
        }
        if (!have_header) {
            bool seen[RG_MAXCOL] = {false};
            have_header = true;
            F->usable = true;
            nhdr = nf;
            for (unsigned i = 0; i < nf; i++) {
                const char *h = r->field[i];
                char q[80];
                int k = -1;
                for (int c = 0; S->cols[c]; c++)
                    if (strcmp(h, S->cols[c]) == 0)
                        k = c;
                colmap[i] = k;
                if (k < 0) {
                    char list[200];
                    size_t m = 0;
                    for (int c = 0; S->cols[c] && m + 20 < sizeof list; c++)
                        m += (size_t)snprintf(list + m, sizeof list - m, "%s%s", c ? "," : "",
                                              S->cols[c]);
                    rg_err(L, fid, start, "header: unknown column %s (expected %s)",
                           rgcheck_quote(q, sizeof q, h), list);
                    F->usable = false;
                } else if (seen[k]) {
                    rg_err(L, fid, start, "header: column %s appears twice", S->cols[k]);
                    F->usable = false;
                } else {
                    seen[k] = true;
                }
            }
            for (int c = 0; S->cols[c]; c++)
                if (!seen[c] && !(S->optional & (1u << c))) {
                    rg_err(L, fid, start, "header: missing column %s", S->cols[c]);
                    F->usable = false;
                }
            if (!F->usable)
                rg_note(L, fid, start,
                        "note: rows of this file are not checked until the header "
                        "is fixed");
            continue;
        }
        if (F->nrows >= RG_MAX_ROWS) {
            rg_err(L, fid, start, "more than %u rows; split the file", RG_MAX_ROWS);
            break;
        }
        for (unsigned i = 0; i < nf; i++)
            vals[i] = r->field[i];
        if (!F->usable || nf != nhdr) {
            /* keep only the code, so references to this row from other
             * files do not turn into a flood of follow-on errors */
            int cols[1] = {S->code_col};
            size_t lens[1] = {0};
            const char *v[1] = {""};
            if (F->usable)
                rg_err(L, fid, start, "%u fields, the header has %u", nf, nhdr);
            for (unsigned i = 0; i < nf && i < nhdr && S->code_col >= 0; i++)
                if (colmap[i] == S->code_col && rgcheck_is_code(vals[i])) {
                    v[0] = vals[i];
                    lens[0] = r->flen[i];
                }
            cols[0] = S->code_col >= 0 ? S->code_col : -1;
            R = rgread__add_row(L, F, start, cols, v, lens, 1);
            if (!R) {
                rg_err(L, fid, start, "out of memory");
                break;
            }
            R->bad = true;
            continue;
        }
        R = rgread__add_row(L, F, start, colmap, vals, r->flen, nf);
        if (!R) {
            rg_err(L, fid, start, "out of memory");
            break;
        }
        rgcheck_row(L, F, R);
    }
    if (!have_header) {
        rg_err(L, fid, 1, "empty file: a header row is required");
        F->usable = false;
    }
    csv_close(r);
    free(r);
}

/* Line numbers of the objects directly inside the root's "features" array,
 * in order. cJSON keeps no positions, so a tiny tokenizer (strings with
 * escapes, nesting, the last key at the root level) finds them; it runs
 * only on text cJSON has already accepted. */
static int rgread__feature_lines(const char *s, size_t n, unsigned **out, size_t *count)
{
    unsigned line = 1, *v = NULL;
    size_t cnt = 0, cap = 0, str_start = 0;
    int depth = 0, fdepth = -1;
    bool in_str = false, esc = false, key_features = false;

    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\n')
            line++;
        if (in_str) {
            if (esc)
                esc = false;
            else if (c == '\\')
                esc = true;
            else if (c == '"') {
                in_str = false;
                if (depth == 1)
                    key_features = i - str_start == 8 && memcmp(s + str_start, "features", 8) == 0;
            }
            continue;
        }
        if (c == '"') {
            in_str = true;
            str_start = i + 1;
        } else if (c == '{' || c == '[') {
            if (c == '{' && depth == fdepth) {
                if (cnt == cap) {
                    size_t nc = cap ? cap * 2 : 64;
                    unsigned *nv = realloc(v, nc * sizeof *nv);
                    if (!nv) {
                        free(v);
                        return -ENOMEM;
                    }
                    v = nv;
                    cap = nc;
                }
                v[cnt++] = line;
            }
            if (c == '[' && depth == 1 && key_features && fdepth < 0)
                fdepth = 2;
            depth++;
        } else if (c == '}' || c == ']') {
            depth--;
            if (c == ']' && depth == 1 && fdepth == 2)
                fdepth = -3; /* done: never match again */
        } else if (c == ',' && depth == 1) {
            key_features = false;
        }
    }
    *out = v;
    *count = cnt;
    return 0;
}

static unsigned rgread__line_at(const char *s, size_t off)
{
    unsigned line = 1;
    for (size_t i = 0; i < off; i++)
        if (s[i] == '\n')
            line++;
    return line;
}

/* Checks one GeoJSON position: 2 or 3 finite numbers, lon/lat in range. */
static bool rgread__position(const cJSON *p, double *lon, double *lat, char *why, size_t cap)
{
    int n = cJSON_GetArraySize(p);
    const cJSON *x, *y, *z;
    if (!cJSON_IsArray(p) || n < 2 || n > 3) {
        snprintf(why, cap, "a position must be an array of 2 or 3 numbers");
        return false;
    }
    x = cJSON_GetArrayItem(p, 0);
    y = cJSON_GetArrayItem(p, 1);
    z = n == 3 ? cJSON_GetArrayItem(p, 2) : NULL;
    if (!cJSON_IsNumber(x) || !cJSON_IsNumber(y) || (z && !cJSON_IsNumber(z)) ||
        !isfinite(x->valuedouble) || !isfinite(y->valuedouble)) {
        snprintf(why, cap, "a position must be an array of 2 or 3 numbers");
        return false;
    }
    *lon = x->valuedouble;
    *lat = y->valuedouble;
    if (*lon < -180 || *lon > 180 || *lat < -90 || *lat > 90) {
        snprintf(why, cap, "position [%g, %g] is outside lon -180..180 / lat -90..90%s", *lon, *lat,
                 fabs(*lon) <= 90 && fabs(*lat) > 90 ? " (lon and lat swapped?)" : "");
        return false;
    }
    return true;
}

/* A polygon: non-empty array of closed rings of at least 4 positions. */
static bool rgread__polygon(const cJSON *poly, int pno, char *why, size_t cap)
{
    const cJSON *ring;
    int rno = 0;
    if (!cJSON_IsArray(poly) || cJSON_GetArraySize(poly) < 1) {
        snprintf(why, cap, "polygon %d must be a non-empty array of rings", pno);
        return false;
    }
    cJSON_ArrayForEach(ring, poly)
    {
        double lon0 = 0, lat0 = 0, lon = 0, lat = 0;
        const cJSON *p;
        int k = 0;
        rno++;
        if (!cJSON_IsArray(ring) || cJSON_GetArraySize(ring) < 4) {
            snprintf(why, cap, "ring %d of polygon %d needs at least 4 positions", rno, pno);
            return false;
        }
        cJSON_ArrayForEach(p, ring)
        {
            char pw[160];
            if (!rgread__position(p, &lon, &lat, pw, sizeof pw)) {
                snprintf(why, cap, "ring %d of polygon %d: %s", rno, pno, pw);
                return false;
            }
            if (k++ == 0) {
                lon0 = lon;
                lat0 = lat;
            }
        }
        if (lon != lon0 || lat != lat0) {
            snprintf(why, cap,
                     "ring %d of polygon %d is not closed (last position differs from "
                     "the first)",
                     rno, pno);
            return false;
        }
    }
    return true;
}

/* Checks a GeoJSON geometry and prints it back with only "type" and
 * "coordinates" (a stray "crs" member would make PostGIS set another SRID).
 * Returns a string to free with cJSON_free, or NULL with `why` set. */
static char *rgread__geometry(const cJSON *g, char *why, size_t cap)
{
    const cJSON *type, *coords, *poly;
    cJSON *copy = NULL;
    char *out = NULL;
    int pno = 0;

    if (!cJSON_IsObject(g)) {
        snprintf(why, cap, "must be a GeoJSON geometry object");
        return NULL;
    }
    type = cJSON_GetObjectItemCaseSensitive(g, "type");
    coords = cJSON_GetObjectItemCaseSensitive(g, "coordinates");
    if (!cJSON_IsString(type) || (strcmp(type->valuestring, "Polygon") != 0 &&
                                  strcmp(type->valuestring, "MultiPolygon") != 0)) {
        snprintf(why, cap, "type must be Polygon or MultiPolygon");
        return NULL;
    }
    if (strcmp(type->valuestring, "Polygon") == 0) {
        if (!rgread__polygon(coords, 1, why, cap))
            return NULL;
    } else {
        if (!cJSON_IsArray(coords) || cJSON_GetArraySize(coords) < 1) {
            snprintf(why, cap, "MultiPolygon coordinates must be a non-empty array");
            return NULL;
        }
        cJSON_ArrayForEach(poly, coords)
        {
            if (!rgread__polygon(poly, ++pno, why, cap))
                return NULL;
        }
    }
    copy = cJSON_CreateObject();
    /* references: the copy borrows the parsed tree, nothing is duplicated */
    if (!copy || !cJSON_AddItemReferenceToObject(copy, "type", (cJSON *)type) ||
        !cJSON_AddItemReferenceToObject(copy, "coordinates", (cJSON *)coords) ||
        json_print(copy, &out, NULL) != 0) {
        snprintf(why, cap, "out of memory");
        out = NULL;
    }
    cJSON_Delete(copy);
    return out;
}

/* A property as a string; numbers are refused so that a code like 330902
 * is not silently turned into "330902.0" by some GIS export. */
static int rgread__prop(const cJSON *props, const char *key, const char **out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(props, key);
    *out = NULL;
    if (!it || cJSON_IsNull(it))
        return 0;
    if (!cJSON_IsString(it) || !it->valuestring)
        return -EBADMSG;
    *out = it->valuestring;
    return 0;
}

void rgread_geojson(struct rg_load *L, const char *buf, size_t len)
{
    struct rg_file *F = &L->f[RG_REGION];
    cJSON *root = NULL;
    const cJSON *features, *feat, *type;
    const char *end = NULL;
    unsigned *lines = NULL;
    size_t nlines = 0, idx = 0;

    /* json_parse caps documents at JSON_MAX_BYTES (sized for MQTT payloads);
     * region boundaries are bigger, so the file gets its own cap (checked by
     * the caller) and the same trailing-data rule. */
    root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    if (!root) {
        size_t off = end && end >= buf && end <= buf + len ? (size_t)(end - buf) : 0;
        rg_err(L, RG_REGION, rgread__line_at(buf, off), "invalid JSON near byte %zu", off);
        goto out;
    }
    for (const char *p = end; p && p < buf + len; p++)
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
            rg_err(L, RG_REGION, rgread__line_at(buf, (size_t)(p - buf)),
                   "trailing data after the JSON document");
            goto out;
        }
    type = cJSON_GetObjectItemCaseSensitive(root, "type");
    features = cJSON_GetObjectItemCaseSensitive(root, "features");
    if (!cJSON_IsObject(root) || !cJSON_IsString(type) ||
        strcmp(type->valuestring, "FeatureCollection") != 0 || !cJSON_IsArray(features)) {
        rg_err(L, RG_REGION, 1, "must be a GeoJSON FeatureCollection with a \"features\" array");
        goto out;
    }
    if (rgread__feature_lines(buf, len, &lines, &nlines) != 0) {
        rg_err(L, RG_REGION, 0, "out of memory");
        goto out;
    }
    F->usable = true;
    cJSON_ArrayForEach(feat, features)
    {
        static const int cols[5] = {RG_REG_CODE, RG_REG_NAME, RG_REG_KIND, RG_REG_PARENT,
                                    RG_REG_GEOM};
        unsigned line = idx < nlines ? lines[idx] : 1;
        const cJSON *props, *ftype;
        const char *v[5] = {NULL, NULL, NULL, NULL, NULL};
        size_t lens[5];
        char why[300], *geom = NULL;
        unsigned badmask = 0;
        struct rg_row *R;

        idx++;
        if (F->nrows >= RG_MAX_ROWS) {
            rg_err(L, RG_REGION, line, "more than %u features", RG_MAX_ROWS);
            break;
        }
        ftype = cJSON_GetObjectItemCaseSensitive(feat, "type");
        props = cJSON_GetObjectItemCaseSensitive(feat, "properties");
        if (!cJSON_IsObject(feat) || !cJSON_IsString(ftype) ||
            strcmp(ftype->valuestring, "Feature") != 0) {
            rg_err(L, RG_REGION, line, "feature %zu: not a GeoJSON Feature", idx);
            continue;
        }
        if (!cJSON_IsObject(props)) {
            rg_err(L, RG_REGION, line, "feature %zu: \"properties\" must be an object", idx);
            continue;
        }
        for (int c = 0; c < 4; c++)
            if (rgread__prop(props, rg_specs[RG_REGION].cols[c], &v[c]) != 0) {
                rg_err(L, RG_REGION, line, "%s: must be a string", rg_specs[RG_REGION].cols[c]);
                badmask |= 1u << c;
            }
        geom =
            rgread__geometry(cJSON_GetObjectItemCaseSensitive(feat, "geometry"), why, sizeof why);
        v[4] = geom;
        for (int c = 0; c < 5; c++)
            lens[c] = v[c] ? strlen(v[c]) : 0;
        R = rgread__add_row(L, F, line, cols, v, lens, 5);
        if (!R) {
            cJSON_free(geom);
            rg_err(L, RG_REGION, line, "out of memory");
            break;
        }
        if (!geom) {
            char q[80];
            rg_err(L, RG_REGION, line, "geometry%s%s: %s", R->f[RG_REG_CODE] ? " of " : "",
                   R->f[RG_REG_CODE] ? rgcheck_quote(q, sizeof q, R->f[RG_REG_CODE]) : "", why);
            R->rejected |= 1u << RG_REG_GEOM;
            R->bad = true;
        }
        cJSON_free(geom);
        if (badmask) {
            R->bad = true;
            R->rejected |= badmask;
        }
        rgcheck_row(L, F, R);
    }
out:
    free(lines);
    cJSON_Delete(root);
}
int rgread_scan_dir(struct rg_load *L)
{
    DIR *d = opendir(L->dir);
    struct dirent *e;
    int found = 0;

    if (!d) {
        rg_err(L, -1, 0, "%s: %s", L->dir, strerror(errno));
        return -ENOENT;
    }
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        bool known = false;
        for (int fid = 0; fid < RG_NFILES; fid++)
            if (strcmp(e->d_name, rg_specs[fid].file) == 0)
                known = true;
        if (!known && ((n > 4 && strcmp(e->d_name + n - 4, ".csv") == 0) ||
                       (n > 8 && strcmp(e->d_name + n - 8, ".geojson") == 0)))
            rg_warn(L, "%s/%s: not a registry file name; ignored", L->dir, e->d_name);
    }
    closedir(d);
    for (int fid = 0; fid < RG_NFILES; fid++) {
        struct rg_file *F = &L->f[fid];
        struct stat st;
        F->spec = &rg_specs[fid];
        snprintf(F->path, sizeof F->path, "%s%s%s", L->dir,
                 L->dir[0] && L->dir[strlen(L->dir) - 1] == '/' ? "" : "/", F->spec->file);
        if (stat(F->path, &st) == 0) {
            F->present = true;
            found++;
        } else if (errno != ENOENT) {
            rg_err(L, fid, 0, "%s", strerror(errno));
        }
    }
    if (!found) {
        rg_err(L, -1, 0,
               "%s: no registry files (regions.geojson, departments.csv, "
               "enterprises.csv, sites.csv, devices.csv, params.csv, "
               "unit_conversions.csv, limits.csv, hj212_map.csv)",
               L->dir);
        return -ENOENT;
    }
    return 0;
}

void rgread_files(struct rg_load *L)
{
    for (int fid = 0; fid < RG_NFILES; fid++) {
        struct rg_file *F = &L->f[fid];
        size_t cap = fid == RG_REGION ? RG_MAX_GEOJSON_BYTES : RG_MAX_CSV_BYTES;
        char *buf = NULL;
        size_t len = 0;
        int r;

        if (!F->present)
            continue;
        r = rgread__slurp(F->path, cap, &buf, &len);
        if (r == -EFBIG) {
            rg_err(L, fid, 0, "larger than %zu MiB", cap >> 20);
            continue;
        }
        if (r == -EINVAL) {
            rg_err(L, fid, 0, "not a regular file");
            continue;
        }
        if (r) {
            rg_err(L, fid, 0, "%s", strerror(-r));
            continue;
        }
        if (fid == RG_REGION)
            rgread_geojson(L, buf, len);
        else
            rgread_csv(L, fid, buf, len);
        free(buf);
        if (F->usable && rgcheck_dups(L, fid) != 0)
            rg_err(L, fid, 0, "out of memory");
    }
}
