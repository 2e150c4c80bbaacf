/* ecoctl import readings FILE.csv: manual lab results into the system
 * through the same path as every device (MQTT eco/v1/in/{device} -> ingest),
 * so they are validated, stored exactly once and republished like the rest.
 *
 * Columns (header row, any order): site, param, period, ts, value, and
 * optionally flag, unit, device. Without a device column each row goes out
 * as the site's registered device (an MQTT device when the site has one).
 * Rows that cannot be sent (syntax, unknown site, bad time...) are reported
 * as FILE:LINE: reason and skipped; the checks of values against the
 * registry happen in ingest, which dead-letters what it refuses. */
#include "ecoctl.h"

#include "buf.h"
#include "csv.h"
#include "elog.h"
#include "etime.h"
#include "hmap.h"
#include "mq.h"

#include <ctype.h>
#include <errno.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#define CTL_IMPORT_WINDOW 1000

struct ctl_import {
    const struct ctl_opts *o;
    const char *path;
    struct csv csv;
    int c_site, c_device, c_param, c_period, c_ts, c_value, c_flag, c_unit;
    struct hmap devices; /* site code -> device code (heap strings) */
    uv_loop_t loop;
    uv_timer_t progress;
    struct mq *mq;
    long file_bytes;
    unsigned long rows, bad, published, acked;
    bool eof, failed, closing, connected_once;
    struct buf msg;
};

static void ctl_import__close(struct ctl_import *im);

static const char *ctl_import__row_device(struct ctl_import *im, const char **why)
{
    const char *dev = im->c_device >= 0 ? csv_get(&im->csv, im->c_device) : "";
    const char *site;

    if (*dev)
        return dev;
    site = csv_get(&im->csv, im->c_site);
    if (!*site) {
        *why = "site is empty";
        return NULL;
    }
    dev = hmap_get(&im->devices, site, strlen(site));
    if (!dev)
        *why = "unknown site, or a site without a registered device";
    return dev;
}

/* Builds the readings message for the current row; NULL + why when the row
 * cannot be sent. */
static int ctl_import__row(struct ctl_import *im, char *topic, size_t tcap, const char **why)
{
    const char *dev = ctl_import__row_device(im, why);
    const char *param = csv_get(&im->csv, im->c_param);
    const char *period = csv_get(&im->csv, im->c_period);
    const char *ts = csv_get(&im->csv, im->c_ts);
    const char *value = csv_get(&im->csv, im->c_value);
    const char *flag = im->c_flag >= 0 ? csv_get(&im->csv, im->c_flag) : "";
    const char *unit = im->c_unit >= 0 ? csv_get(&im->csv, im->c_unit) : "";
    char *end;
    int64_t us;
    double v;
    int rc;

    if (!dev)
        return -EINVAL;
    if (strlen(dev) > 64 || strpbrk(dev, "/+#")) {
        *why = "device code is not a valid topic level";
        return -EINVAL;
    }
    if (!*param || strlen(param) > 32) {
        *why = "param is empty or too long";
        return -EINVAL;
    }
    for (const char *p = param; *p; p++)
        if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '_') {
            *why = "param must be a parameter code like pm25";
            return -EINVAL;
        }
    if (strcmp(period, "rt") && strcmp(period, "min") && strcmp(period, "hour") &&
        strcmp(period, "day")) {
        *why = "period must be rt, min, hour or day";
        return -EINVAL;
    }
    if (etime_parse_rfc3339(ts, strlen(ts), &us, NULL)) {
        *why = "ts must be RFC 3339 with an offset, e.g. 2024-06-01T08:00:00+08:00";
        return -EINVAL;
    }
    errno = 0;
    v = strtod(value, &end);
    if (!*value || *end || errno || !isfinite(v)) {
        *why = "value is not a number";
        return -EINVAL;
    }
    if (*flag && (strlen(flag) != 1 || !isalnum((unsigned char)flag[0]))) {
        *why = "flag must be one HJ 212 data flag letter";
        return -EINVAL;
    }
    snprintf(topic, tcap, "eco/v1/in/%s", dev);
    buf_reset(&im->msg);
    rc = buf_addstr(&im->msg, "{\"ts\":\"");
    rc = rc ? rc : buf_add_json_str(&im->msg, ts, strlen(ts));
    rc = rc ? rc
            : buf_printf(&im->msg, "\",\"period\":\"%s\",\"values\":{\"%s\":{\"v\":%.17g", period,
                         param, v);
    if (!rc && *flag)
        rc = buf_printf(&im->msg, ",\"flag\":\"%c\"", flag[0]);
    if (!rc && *unit) {
        rc = buf_addstr(&im->msg, ",\"unit\":\"");
        rc = rc ? rc : buf_add_json_str(&im->msg, unit, strlen(unit));
        rc = rc ? rc : buf_addc(&im->msg, '"');
    }
    rc = rc ? rc : buf_addstr(&im->msg, "}}}");
    if (rc)
        *why = "row too long";
    return rc;
}

/* Sends rows while the publish window has room. */
static void ctl_import__pump(struct ctl_import *im)
{
    char topic[128];

    while (!im->eof && !im->closing) {
        const char *why = NULL;
        int rc;

        if (mq_outstanding(im->mq) >= CTL_IMPORT_WINDOW || !mq_connected(im->mq))
            return;
        rc = csv_next(&im->csv);
        if (rc == 0) {
            im->eof = true;
            break;
        }
        if (rc < 0) {
            fprintf(stderr, "%s:%ld: %s\n", im->path, im->csv.line,
                    rc == -E2BIG ? "record too long" : "malformed CSV");
            im->bad++;
            if (rc == -EIO) {
                im->eof = true;
                im->failed = true;
            }
            continue;
        }
        im->rows++;
        if (ctl_import__row(im, topic, sizeof(topic), &why)) {
            fprintf(stderr, "%s:%ld: %s\n", im->path, im->csv.line, why ? why : "bad row");
            im->bad++;
            continue;
        }
        rc = mq_publish(im->mq, topic, im->msg.p, im->msg.len, 1, false, NULL);
        if (rc) {
            fprintf(stderr, "%s:%ld: not published: %s\n", im->path, im->csv.line, strerror(-rc));
            im->failed = true;
            im->eof = true;
            break;
        }
        im->published++;
    }
    if (im->eof && im->acked >= im->published)
        ctl_import__close(im);
}

static void ctl_import__report(struct ctl_import *im, bool final)
{
    long pos = im->csv.f ? ftell(im->csv.f) : im->file_bytes;
    double pct = im->file_bytes > 0 ? 100.0 * (double)pos / (double)im->file_bytes : 100.0;

    if (final && im->o->json) {
        printf("{\"file\":\"%s\",\"rows\":%lu,\"published\":%lu,\"acknowledged\":%lu,"
               "\"bad_rows\":%lu}\n",
               im->path, im->rows, im->published, im->acked, im->bad);
        return;
    }
    fprintf(final ? stdout : stderr,
            "%s: %lu rows read (%.0f%%), %lu published, %lu acknowledged, %lu bad%s\n", im->path,
            im->rows, final ? 100.0 : pct, im->published, im->acked, im->bad, final ? "" : " ...");
}

static void ctl_import__on_progress(uv_timer_t *t)
{
    ctl_import__report(t->data, false);
}

static void ctl_import__on_state(void *ud, bool up)
{
    struct ctl_import *im = ud;
    if (up) {
        im->connected_once = true;
        ctl_import__pump(im);
    }
}

static void ctl_import__on_published(void *ud, int mid)
{
    struct ctl_import *im = ud;
    (void)mid;
    im->acked++;
    ctl_import__pump(im);
}

static void ctl_import__closed(void *ud)
{
    (void)ud;
}

static void ctl_import__do_close(uv_timer_t *t)
{
    struct ctl_import *im = t->data;
    mq_close(im->mq, ctl_import__closed);
    uv_close((uv_handle_t *)&im->progress, NULL);
}

/* Never from inside an mq callback: the close runs on the next turn. */
static void ctl_import__close(struct ctl_import *im)
{
    if (im->closing)
        return;
    im->closing = true;
    uv_timer_stop(&im->progress);
    uv_timer_start(&im->progress, ctl_import__do_close, 0, 0);
}

static int ctl_import__load_devices(struct ctl_import *im)
{
    PGconn *c = ctl_pg_connect(im->o);
    PGresult *r;
    int rc = 0;

    if (!c)
        return -ENOTCONN;
    r = PQexec(c, "SELECT DISTINCT ON (site) site, code FROM core.device WHERE active"
                  " ORDER BY site, protocol = 'mqtt' DESC, code");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "ecoctl: cannot read core.device: %s", PQerrorMessage(c));
        rc = -EIO;
        goto out;
    }
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        char *dev = strdup(PQgetvalue(r, i, 1));
        const char *site = PQgetvalue(r, i, 0);
        if (!dev || hmap_put(&im->devices, site, strlen(site), dev)) {
            free(dev);
            rc = -ENOMEM;
        }
    }
out:
    PQclear(r);
    PQfinish(c);
    return rc;
}

static int ctl_import_readings(const struct ctl_opts *o, const char *path)
{
    struct ctl_import *im = calloc(1, sizeof(*im));
    struct mq_cbs cbs = {.on_state = ctl_import__on_state,
                         .on_published = ctl_import__on_published};
    struct stat st;
    char id[64];
    int rc, ret = CTL_REFUSED;

    if (!im)
        return CTL_REFUSED;
    im->o = o;
    im->path = path;
    hmap_init(&im->devices);
    buf_init(&im->msg, 8192);
    rc = csv_open(&im->csv, path);
    if (rc) {
        fprintf(stderr, "ecoctl: %s: %s\n", path, rc == -EBADMSG ? "no header row" : strerror(-rc));
        goto out;
    }
    im->c_site = csv_col(&im->csv, "site");
    im->c_device = csv_col(&im->csv, "device");
    im->c_param = csv_col(&im->csv, "param");
    im->c_period = csv_col(&im->csv, "period");
    im->c_ts = csv_col(&im->csv, "ts");
    im->c_value = csv_col(&im->csv, "value");
    im->c_flag = csv_col(&im->csv, "flag");
    im->c_unit = csv_col(&im->csv, "unit");
    if ((im->c_site < 0 && im->c_device < 0) || im->c_param < 0 || im->c_period < 0 ||
        im->c_ts < 0 || im->c_value < 0) {
        fprintf(stderr,
                "ecoctl: %s:1: the header needs site (or device), param, period, ts "
                "and value columns\n",
                path);
        goto out;
    }
    if (fstat(fileno(im->csv.f), &st) == 0)
        im->file_bytes = (long)st.st_size;
    if (im->c_site >= 0 && ctl_import__load_devices(im))
        goto out;
    if (!o->mqtt_url || !*o->mqtt_url) {
        fprintf(stderr, "ecoctl: ECO_MQTT_URL is not set\n");
        goto out;
    }
    mq_global_init();
    uv_loop_init(&im->loop);
    uv_timer_init(&im->loop, &im->progress);
    im->progress.data = im;
    snprintf(id, sizeof(id), "ecoctl-import-%ld", (long)getpid());
    struct mq_opts mo = {.url = o->mqtt_url,
                         .user = o->mqtt_user,
                         .password = o->mqtt_password,
                         .client_id = id,
                         .max_outstanding = CTL_IMPORT_WINDOW};
    if (mq_new(&im->loop, &mo, &cbs, im, &im->mq) || mq_start(im->mq)) {
        fprintf(stderr, "ecoctl: bad ECO_MQTT_URL %s\n", o->mqtt_url);
        uv_close((uv_handle_t *)&im->progress, NULL);
        uv_run(&im->loop, UV_RUN_DEFAULT);
        goto out_loop;
    }
    uv_timer_start(&im->progress, ctl_import__on_progress, 1000, 1000);
    uv_run(&im->loop, UV_RUN_DEFAULT);
    ctl_import__report(im, true);
    if (!im->connected_once)
        fprintf(stderr, "ecoctl: could not reach the broker at %s\n", o->mqtt_url);
    ret = (im->bad || im->failed || im->acked < im->published) ? CTL_REFUSED : CTL_OK;
out_loop:
    uv_loop_close(&im->loop);
    mq_global_cleanup();
out:
    csv_close(&im->csv);
    hmap_close_free(&im->devices);
    buf_close(&im->msg);
    free(im);
    return ret;
}

int ctl_import(const struct ctl_opts *o, int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[0], "readings") == 0)
        return ctl_import_readings(o, argv[1]);
    fprintf(stderr, "usage: ecoctl import readings FILE.csv\n"
                    "  columns: site (or device), param, period, ts, value [, flag, unit]\n");
    return CTL_USAGE;
}
