/* ecoctl import readings FILE.csv: manual lab results into the system
 * through the same path as every device (MQTT eco/v1/in/{device} -> ingest),
 * so they are validated, stored exactly once and republished like the rest.
 *
 * Columns (header row, any order): site, param, period, ts, value, and
 * optionally flag, unit, device. Without a device column each row goes out
 * as the site's registered device (an MQTT device when the site has one).
 * Rows that cannot be sent or that ingest would refuse (syntax, unknown site
 * or device, unknown parameter, a unit without a conversion, a value outside
 * the parameter's plausible range, a time in the future) are checked here
 * against the registry, reported as FILE:LINE: reason and skipped, so the
 * summary's "bad" counts every row that will not be stored. Ingest checks
 * again (the registry may change in between) and dead-letters what it
 * refuses.
 *
 * A broker that does not accept the connection (unreachable, wrong user or
 * password) or stops acknowledging for --timeout seconds ends the import
 * with one line on stderr and exit status 1. */
#include "ecoctl.h"

#include "buf.h"
#include "csv.h"
#include "elog.h"
#include "etime.h"
#include "hmap.h"
#include "json.h"
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
#define CTL_IMPORT_TIMEOUT_S 10
/* ingest's defaults (ECO_INGEST_MAX_FUTURE_S, its oldest accepted time) */
#define CTL_IMPORT_MAX_FUTURE_US (600 * ETIME_US_PER_SEC)
#define CTL_IMPORT_MIN_TS_US (946684800LL * ETIME_US_PER_SEC) /* 2000-01-01 */

struct ctl_import_param {
    char unit[32];
    double vmin, vmax;
};

struct ctl_import_conv {
    char from[32], to[32];
    double factor, offset;
};

struct ctl_import {
    const struct ctl_opts *o;
    const char *path;
    struct csv csv;
    int c_site, c_device, c_param, c_period, c_ts, c_value, c_flag, c_unit;
    struct hmap devices; /* site code -> device code (heap strings) */
    struct hmap known;   /* active device code -> "" (heap strings) */
    struct hmap params;  /* param code -> struct ctl_import_param (heap) */
    struct ctl_import_conv *convs;
    size_t nconvs;
    uv_loop_t loop;
    uv_timer_t progress, watchdog;
    struct mq *mq;
    long file_bytes;
    long timeout_s;
    uint64_t last_progress; /* uv_now of the last connect or acknowledgement */
    unsigned long rows, bad, published, acked;
    bool eof, failed, closing, connected_once, timed_out;
    struct buf msg;
    char why[160]; /* a reason with details, for the current row */
};

static void ctl_import__close(struct ctl_import *im);

static const char *ctl_import__row_device(struct ctl_import *im, const char **why)
{
    const char *dev = im->c_device >= 0 ? csv_get(&im->csv, im->c_device) : "";
    const char *site;

    if (*dev) {
        if (!hmap_get(&im->known, dev, strlen(dev))) {
            *why = "unknown or inactive device";
            return NULL;
        }
        return dev;
    }
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
    const struct ctl_import_param *pp;
    char *end;
    int64_t us;
    double v, stored;
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
    if (us > etime_now_us() + CTL_IMPORT_MAX_FUTURE_US) {
        *why = "ts is in the future";
        return -EINVAL;
    }
    if (us < CTL_IMPORT_MIN_TS_US) {
        *why = "ts is before 2000-01-01";
        return -EINVAL;
    }
    errno = 0;
    v = strtod(value, &end);
    if (!*value || *end || errno || !isfinite(v)) {
        *why = "value is not a number";
        return -EINVAL;
    }
    pp = hmap_get(&im->params, param, strlen(param));
    if (!pp) {
        *why = "unknown parameter (not in core.param)";
        return -EINVAL;
    }
    stored = v;
    if (*unit && strcmp(unit, pp->unit) != 0) {
        size_t i = 0;
        while (i < im->nconvs &&
               (strcmp(im->convs[i].from, unit) != 0 || strcmp(im->convs[i].to, pp->unit) != 0))
            i++;
        if (i == im->nconvs) {
            snprintf(im->why, sizeof(im->why), "no conversion from unit \"%.32s\" to %s", unit,
                     pp->unit);
            *why = im->why;
            return -EINVAL;
        }
        stored = v * im->convs[i].factor + im->convs[i].offset;
    }
    if (stored < pp->vmin || stored > pp->vmax) {
        snprintf(im->why, sizeof(im->why), "value %g %s outside the plausible range [%g, %g] %s",
                 stored, pp->unit, pp->vmin, pp->vmax, pp->unit);
        *why = im->why;
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
            fprintf(stderr, "%s:%ld: %s: %s\n", im->path, im->csv.line,
                    rc == -E2BIG ? "record too long" : "malformed CSV", im->csv.err);
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
        cJSON *root = cJSON_CreateObject();
        char *text = NULL;
        size_t len;
        if (!root)
            return;
        cJSON_AddStringToObject(root, "file", im->path);
        cJSON_AddNumberToObject(root, "rows", (double)im->rows);
        cJSON_AddNumberToObject(root, "published", (double)im->published);
        cJSON_AddNumberToObject(root, "acknowledged", (double)im->acked);
        cJSON_AddNumberToObject(root, "bad_rows", (double)im->bad);
        cJSON_AddBoolToObject(root, "timed_out", im->timed_out);
        if (json_print(root, &text, &len) == 0)
            printf("%s\n", text);
        cJSON_free(text);
        cJSON_Delete(root);
        return;
    }
    fprintf(final ? stdout : stderr,
            "%s: %lu rows read (%.0f%%), %lu published, %lu acknowledged, %lu bad%s\n", im->path,
            im->rows, final ? 100.0 : pct, im->published, im->acked, im->bad, final ? "" : " ...");
}

static void ctl_import__on_progress(uv_timer_t *t)
{
    struct ctl_import *im = t->data;
    /* nothing to report while no broker has accepted us: the watchdog says
     * once why it gave up */
    if (im->connected_once)
        ctl_import__report(im, false);
}

/* Gives up when the broker has not accepted the connection, or has not
 * acknowledged anything while publishes wait, for timeout_s. */
static void ctl_import__on_watchdog(uv_timer_t *t)
{
    struct ctl_import *im = t->data;
    bool waiting = !mq_connected(im->mq) || im->acked < im->published;

    if (im->closing)
        return;
    if (!waiting) {
        im->last_progress = uv_now(&im->loop);
        return;
    }
    if (uv_now(&im->loop) - im->last_progress < (uint64_t)im->timeout_s * 1000)
        return;
    if (!im->connected_once)
        fprintf(stderr,
                "ecoctl: no connection to the broker at %s within %ld s (unreachable, or "
                "user/password refused); nothing imported\n",
                im->o->mqtt_url, im->timeout_s);
    else
        fprintf(stderr,
                "ecoctl: the broker at %s acknowledged nothing for %ld s; %lu of %lu published "
                "rows acknowledged\n",
                im->o->mqtt_url, im->timeout_s, im->acked, im->published);
    im->timed_out = true;
    im->failed = true;
    im->eof = true;
    ctl_import__close(im);
}

static void ctl_import__on_state(void *ud, bool up)
{
    struct ctl_import *im = ud;
    if (up) {
        im->connected_once = true;
        im->last_progress = uv_now(&im->loop);
        ctl_import__pump(im);
    }
}

static void ctl_import__on_published(void *ud, int mid)
{
    struct ctl_import *im = ud;
    (void)mid;
    im->acked++;
    im->last_progress = uv_now(&im->loop);
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
    uv_close((uv_handle_t *)&im->watchdog, NULL);
}

/* Never from inside an mq callback: the close runs on the next turn. */
static void ctl_import__close(struct ctl_import *im)
{
    if (im->closing)
        return;
    im->closing = true;
    uv_timer_stop(&im->progress);
    uv_timer_stop(&im->watchdog);
    uv_timer_start(&im->progress, ctl_import__do_close, 0, 0);
}

static int ctl_import__query(PGconn *c, const char *sql, PGresult **out)
{
    *out = PQexec(c, sql);
    if (PQresultStatus(*out) == PGRES_TUPLES_OK)
        return 0;
    fprintf(stderr, "ecoctl: cannot read the registry: %s", PQerrorMessage(c));
    return -EIO;
}

/* What a row is checked against: active devices (and each site's device),
 * parameters with their unit and plausible range, unit conversions. */
static int ctl_import__load_registry(struct ctl_import *im)
{
    PGconn *c = ctl_pg_connect(im->o);
    PGresult *r = NULL;
    int rc = 0;

    if (!c)
        return -ENOTCONN;
    rc = ctl_import__query(c,
                           "SELECT DISTINCT ON (site) site, code FROM core.device WHERE active"
                           " ORDER BY site, protocol = 'mqtt' DESC, code",
                           &r);
    for (int i = 0; !rc && i < PQntuples(r); i++) {
        char *dev = strdup(PQgetvalue(r, i, 1));
        const char *site = PQgetvalue(r, i, 0);
        if (!dev || hmap_put(&im->devices, site, strlen(site), dev)) {
            free(dev);
            rc = -ENOMEM;
        }
    }
    PQclear(r);
    r = NULL;
    rc = rc ? rc : ctl_import__query(c, "SELECT code FROM core.device WHERE active", &r);
    for (int i = 0; !rc && i < PQntuples(r); i++) {
        char *empty = strdup("");
        const char *dev = PQgetvalue(r, i, 0);
        if (!empty || hmap_put(&im->known, dev, strlen(dev), empty)) {
            free(empty);
            rc = -ENOMEM;
        }
    }
    PQclear(r);
    r = NULL;
    rc = rc ? rc
            : ctl_import__query(c, "SELECT code, unit, valid_min, valid_max FROM core.param", &r);
    for (int i = 0; !rc && i < PQntuples(r); i++) {
        struct ctl_import_param *p = calloc(1, sizeof(*p));
        const char *code = PQgetvalue(r, i, 0);
        if (!p || hmap_put(&im->params, code, strlen(code), p)) {
            free(p);
            rc = -ENOMEM;
            break;
        }
        snprintf(p->unit, sizeof(p->unit), "%s", PQgetvalue(r, i, 1));
        p->vmin = strtod(PQgetvalue(r, i, 2), NULL);
        p->vmax = strtod(PQgetvalue(r, i, 3), NULL);
    }
    PQclear(r);
    r = NULL;
    rc = rc ? rc
            : ctl_import__query(c,
                                "SELECT from_unit, to_unit, factor, \"offset\""
                                " FROM core.unit_conversion",
                                &r);
    if (!rc && PQntuples(r) > 0) {
        im->convs = calloc((size_t)PQntuples(r), sizeof(*im->convs));
        if (!im->convs)
            rc = -ENOMEM;
    }
    for (int i = 0; !rc && i < PQntuples(r); i++) {
        struct ctl_import_conv *cv = &im->convs[im->nconvs++];
        snprintf(cv->from, sizeof(cv->from), "%s", PQgetvalue(r, i, 0));
        snprintf(cv->to, sizeof(cv->to), "%s", PQgetvalue(r, i, 1));
        cv->factor = strtod(PQgetvalue(r, i, 2), NULL);
        cv->offset = strtod(PQgetvalue(r, i, 3), NULL);
    }
    PQclear(r);
    PQfinish(c);
    return rc;
}

static int ctl_import_readings(const struct ctl_opts *o, const char *path, long timeout_s)
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
    im->timeout_s = timeout_s;
    hmap_init(&im->devices);
    hmap_init(&im->known);
    hmap_init(&im->params);
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
    if (!o->mqtt_url || !*o->mqtt_url) {
        fprintf(stderr, "ecoctl: ECO_MQTT_URL is not set\n");
        goto out;
    }
    if (ctl_import__load_registry(im))
        goto out;
    mq_global_init();
    uv_loop_init(&im->loop);
    uv_timer_init(&im->loop, &im->progress);
    uv_timer_init(&im->loop, &im->watchdog);
    im->progress.data = im;
    im->watchdog.data = im;
    snprintf(id, sizeof(id), "ecoctl-import-%ld", (long)getpid());
    struct mq_opts mo = {.url = o->mqtt_url,
                         .user = o->mqtt_user,
                         .password = o->mqtt_password,
                         .cafile = o->mqtt_cafile,
                         .client_id = id,
                         .max_outstanding = CTL_IMPORT_WINDOW};
    if (mq_new(&im->loop, &mo, &cbs, im, &im->mq) || mq_start(im->mq)) {
        fprintf(stderr, "ecoctl: bad ECO_MQTT_URL %s\n", o->mqtt_url);
        uv_close((uv_handle_t *)&im->progress, NULL);
        uv_close((uv_handle_t *)&im->watchdog, NULL);
        uv_run(&im->loop, UV_RUN_DEFAULT);
        goto out_loop;
    }
    im->last_progress = uv_now(&im->loop);
    uv_timer_start(&im->progress, ctl_import__on_progress, 1000, 1000);
    uv_timer_start(&im->watchdog, ctl_import__on_watchdog, 200, 200);
    uv_run(&im->loop, UV_RUN_DEFAULT);
    if (!im->timed_out || im->o->json)
        ctl_import__report(im, true);
    ret = (im->bad || im->failed || im->acked < im->published) ? CTL_REFUSED : CTL_OK;
out_loop:
    uv_loop_close(&im->loop);
    mq_global_cleanup();
out:
    csv_close(&im->csv);
    hmap_close_free(&im->devices);
    hmap_close_free(&im->known);
    hmap_close_free(&im->params);
    free(im->convs);
    buf_close(&im->msg);
    free(im);
    return ret;
}

static void ctl_import__usage(FILE *out)
{
    fprintf(out,
            "usage: ecoctl [--json] import readings [--timeout S] FILE.csv\n"
            "\n"
            "Publishes lab results as readings (eco/v1/in/{device}, QoS 1) for ingest to\n"
            "store. Columns (header row, any order): site (or device), param, period\n"
            "(rt|min|hour|day), ts (RFC 3339 with offset), value, and optionally flag\n"
            "and unit. Rows are checked against the registry first (site/device, param,\n"
            "unit conversion, plausible range, time not in the future); bad rows are\n"
            "listed as FILE:LINE: reason and not sent. Gives up with exit status 1 when\n"
            "the broker does not accept the connection or acknowledge for S seconds\n"
            "(default %d). Needs ECO_PG_DSN and ECO_MQTT_URL (ECO_MQTT_USER/PASSWORD).\n"
            "Exit status: 0 all rows acknowledged, 1 bad rows or failure, 2 bad usage.\n",
            CTL_IMPORT_TIMEOUT_S);
}

int ctl_import(const struct ctl_opts *o, int argc, char **argv)
{
    const char *path = NULL;
    long timeout_s = CTL_IMPORT_TIMEOUT_S;

    if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        ctl_import__usage(stdout);
        return CTL_OK;
    }
    if (strcmp(argv[0], "readings") != 0)
        goto usage;
    for (int i = 1; i < argc; i++) {
        char *end;
        if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            errno = 0;
            timeout_s = strtol(argv[++i], &end, 10);
            if (errno || *end || timeout_s < 1 || timeout_s > 86400)
                goto usage;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            goto usage;
        } else if (path) {
            goto usage;
        } else {
            path = argv[i];
        }
    }
    if (path)
        return ctl_import_readings(o, path, timeout_s);
usage:
    ctl_import__usage(stderr);
    return CTL_USAGE;
}
