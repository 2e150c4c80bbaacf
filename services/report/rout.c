#include "rout.h"

#include "buf.h"
#include "rhtml.h"
#include "rsec.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ROUT_MAX_PAGE (256u << 20)

int rout_mkdirs(const char *dir)
{
    char p[PATH_MAX];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof p)
        return -ENAMETOOLONG;
    memcpy(p, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        p[i] = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST)
            return -errno;
        p[i] = i < n ? '/' : '\0';
    }
    return 0;
}

int rout_write_file(const char *dir, const char *name, const void *p, size_t len)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    const char *c = p;
    int fd = -1, rc = 0;
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path ||
        snprintf(tmp, sizeof tmp, "%s/.%s.%ld.tmp", dir, name, (long)getpid()) >= (int)sizeof tmp)
        return -ENAMETOOLONG;
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
        return -errno;
    while (len > 0) {
        ssize_t w = write(fd, c, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = w < 0 ? -errno : -EIO;
            goto out;
        }
        c += w;
        len -= (size_t)w;
    }
    if (fsync(fd) != 0) {
        rc = -errno;
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = -errno;
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        rc = -errno;
out:
    if (fd >= 0)
        close(fd);
    if (rc)
        unlink(tmp);
    return rc;
}

/* A name part from the document: what rpt.report validated, checked again
 * because it becomes a file name. */
static int rout__name_ok(const char *s)
{
    return s && s[0] && strlen(s) <= 32 &&
           strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(s);
}

int rout_write_report(const char *dir, const char *json, size_t len, const char *map_json,
                      size_t map_len, char *html, size_t htmlcap, char *err, size_t errcap)
{
    cJSON *doc = NULL, *map = NULL;
    const cJSON *kind, *period;
    const struct rsec *all;
    struct buf page, csv;
    char base[80], name[128];
    size_t n;
    int rc;
    buf_init(&page, ROUT_MAX_PAGE);
    buf_init(&csv, ROUT_MAX_PAGE);
    err[0] = '\0';
    if (len > ROUT_MAX_JSON || (map_json && map_len > ROUT_MAX_JSON)) {
        snprintf(err, errcap, "report larger than %u bytes", ROUT_MAX_JSON);
        rc = -E2BIG;
        goto out;
    }
    if (!(doc = cJSON_ParseWithLength(json, len)) ||
        (map_json && !(map = cJSON_ParseWithLength(map_json, map_len)))) {
        snprintf(err, errcap, "the report or its map is not JSON");
        rc = -EBADMSG;
        goto out;
    }
    kind = cJSON_GetObjectItemCaseSensitive(doc, "kind");
    period = cJSON_GetObjectItemCaseSensitive(doc, "period");
    if (!cJSON_IsString(kind) || !cJSON_IsString(period) || !rout__name_ok(kind->valuestring) ||
        !rout__name_ok(period->valuestring)) {
        snprintf(err, errcap, "not a report document (kind, period)");
        rc = -EBADMSG;
        goto out;
    }
    snprintf(base, sizeof base, "%s-%s", kind->valuestring, period->valuestring);
    if ((rc = rout_mkdirs(dir))) {
        snprintf(err, errcap, "cannot create %s: %s", dir, strerror(-rc));
        goto out;
    }
    if ((rc = rhtml_render(doc, map, &page))) {
        snprintf(err, errcap, "cannot render the page: %s", strerror(-rc));
        goto out;
    }
    all = rsec_all(&n);
    for (size_t i = 0; i < n; i++) {
        const cJSON *rows;
        if (all[i].kind && strcmp(all[i].kind, kind->valuestring) != 0)
            continue;
        rows = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, all[i].name),
                                                "rows");
        buf_reset(&csv);
        snprintf(name, sizeof name, "%s-%s.csv", base, all[i].name);
        if ((rc = rsec_csv(&all[i], rows, &csv)) ||
            (rc = rout_write_file(dir, name, csv.p, csv.len))) {
            snprintf(err, errcap, "%s/%s: %s", dir, name, strerror(-rc));
            goto out;
        }
    }
    /* the JSON and then the page: a reader who sees the page finds the rest */
    snprintf(name, sizeof name, "%s.json", base);
    if ((rc = rout_write_file(dir, name, json, len))) {
        snprintf(err, errcap, "%s/%s: %s", dir, name, strerror(-rc));
        goto out;
    }
    snprintf(name, sizeof name, "%s.html", base);
    if ((rc = rout_write_file(dir, name, page.p, page.len))) {
        snprintf(err, errcap, "%s/%s: %s", dir, name, strerror(-rc));
        goto out;
    }
    if (snprintf(html, htmlcap, "%s/%s", dir, name) >= (int)htmlcap)
        rc = -ENAMETOOLONG;
out:
    buf_close(&page);
    buf_close(&csv);
    cJSON_Delete(doc);
    cJSON_Delete(map);
    return rc;
}
