#include "readings.h"

#include "etime.h"
#include "json.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define RD_TOPIC_PREFIX "eco/v1/in/"

void rd_out_init(struct rd_out *out)
{
    out->dev = NULL;
    out->nrows = out->nobjs = 0;
    out->nbad = 0;
    buf_init(&out->why, RD_WHY_MAX);
}

void rd_out_close(struct rd_out *out)
{
    buf_close(&out->why);
}

const char *readings_period_name(char code)
{
    switch (code) {
    case 'r':
        return "rt";
    case 'm':
        return "min";
    case 'h':
        return "hour";
    case 'd':
        return "day";
    }
    return NULL;
}

char readings_period_code(const char *name)
{
    static const char *const names[] = {"rt", "min", "hour", "day"};
    static const char codes[] = {'r', 'm', 'h', 'd'};
    for (size_t i = 0; i < 4; i++)
        if (strcmp(name, names[i]) == 0)
            return codes[i];
    return 0;
}

/* Adds one reason; once the buffer is full the rest is summarised by the
 * count in nbad. */
static void rd__why(struct rd_out *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rd__why(struct rd_out *out, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (out->why.len && buf_add(&out->why, "; ", 2))
        return;
    buf_addstr(&out->why, tmp);
}

static const char *rd__key(const cJSON *it, char *tmp, size_t cap)
{
    size_t n = 0;
    /* keys come from the sender: print them safely in reasons */
    for (const char *p = it->string ? it->string : ""; *p && n + 1 < cap; p++)
        tmp[n++] = isprint((unsigned char)*p) ? *p : '?';
    tmp[n] = '\0';
    return tmp;
}

static int rd__value(const struct reg *r, const struct reg_device *dev, const cJSON *it,
                     const struct rd_obj *obj, const char *w, struct rd_out *out)
{
    const struct reg_param *p;
    const char *unit = NULL, *flag_s = NULL;
    char key[48];
    double v;
    char flag = 'N';
    size_t klen = it->string ? strlen(it->string) : 0;

    p = klen ? reg_param(r, it->string, klen) : NULL;
    if (!p) {
        rd__why(out, "%s%s: unknown parameter", w, rd__key(it, key, sizeof(key)));
        return -EBADMSG;
    }
    if (cJSON_IsNumber(it)) {
        v = it->valuedouble;
    } else if (cJSON_IsObject(it)) {
        int rc = json_get_f64(it, "v", &v);
        if (rc) {
            rd__why(out, "%s%s: %s", w, p->code,
                    rc == -ENOENT ? "missing \"v\"" : "\"v\" is not a number");
            return -EBADMSG;
        }
        rc = json_get_strp(it, "flag", &flag_s);
        if (rc == -EBADMSG ||
            (rc == 0 && (strlen(flag_s) != 1 || !isalnum((unsigned char)flag_s[0])))) {
            rd__why(out, "%s%s: flag must be one HJ 212 data flag letter", w, p->code);
            return -EBADMSG;
        }
        if (rc == 0)
            flag = flag_s[0];
        rc = json_get_strp(it, "unit", &unit);
        if (rc == -EBADMSG) {
            rd__why(out, "%s%s: unit must be a string", w, p->code);
            return -EBADMSG;
        }
    } else {
        rd__why(out, "%s%s: value must be a number or {\"v\": number, \"flag\": letter}", w,
                p->code);
        return -EBADMSG;
    }
    if (!isfinite(v)) {
        rd__why(out, "%s%s: value is not finite", w, p->code);
        return -EBADMSG;
    }
    if (unit && reg_convert(r, unit, p->unit, &v)) {
        rd__why(out, "%s%s: no conversion from unit \"%.32s\" to %s", w, p->code, unit, p->unit);
        return -EBADMSG;
    }
    if (v < p->vmin || v > p->vmax) {
        rd__why(out, "%s%s: value %g outside the plausible range [%g, %g] %s", w, p->code, v,
                p->vmin, p->vmax, p->unit);
        return -EBADMSG;
    }
    if (out->nrows >= RD_MAX_ROWS) {
        rd__why(out, "%smore than %d values in one message", w, RD_MAX_ROWS);
        return -E2BIG;
    }
    out->rows[out->nrows++] = (struct rd_row){
        .site_id = dev->site_id,
        .param_id = p->id,
        .ts = obj->ts,
        .value = v,
        .period = obj->period,
        .flag = flag,
    };
    return 0;
}

static void rd__object(const struct reg *r, const struct reg_device *dev, const cJSON *o,
                       int64_t now_us, const struct rd_limits *lim, size_t index,
                       struct rd_out *out)
{
    struct rd_obj obj = {0};
    const char *ts_s = NULL, *period_s = NULL;
    const cJSON *values, *it;
    char where[48] = "";
    int rc;

    if (index != (size_t)-1)
        snprintf(where, sizeof(where), "readings[%zu]: ", index);
    if (!cJSON_IsObject(o)) {
        rd__why(out, "%snot an object", where);
        out->nbad++;
        return;
    }
    if (out->nobjs >= RD_MAX_OBJS) {
        rd__why(out, "%smore than %d readings objects in one message", where, RD_MAX_OBJS);
        out->nbad++;
        return;
    }
    rc = json_get_strp(o, "ts", &ts_s);
    if (rc || etime_parse_rfc3339(ts_s, strlen(ts_s), &obj.ts, &obj.tz_offset)) {
        /* "...T08:00:60...": well formed, but no leap second is there */
        bool sec60 =
            !rc && strlen(ts_s) > 19 && ts_s[16] == ':' && ts_s[17] == '6' && ts_s[18] == '0';
        rd__why(out, "%sts: %s", where,
                rc == -ENOENT ? "missing"
                : sec60 ? "second 60 is only a leap second (23:59:60 UTC on a month's last day)"
                        : "not an RFC 3339 time with offset");
        out->nbad++;
        return;
    }
    if (obj.ts > now_us + lim->max_future_us) {
        rd__why(out, "%sts %s is in the future", where, ts_s);
        out->nbad++;
        return;
    }
    if (obj.ts < lim->min_ts_us) {
        rd__why(out, "%sts %s is too old", where, ts_s);
        out->nbad++;
        return;
    }
    rc = json_get_strp(o, "period", &period_s);
    if (rc || !(obj.period = readings_period_code(period_s))) {
        rd__why(out, "%speriod: %s", where,
                rc == -ENOENT ? "missing (rt, min, hour or day)" : "must be rt, min, hour or day");
        out->nbad++;
        return;
    }
    rc = json_get_f64(o, "lat", &obj.lat);
    int rc2 = json_get_f64(o, "lon", &obj.lon);
    if (rc == 0 && rc2 == 0) {
        if (obj.lat < -90 || obj.lat > 90 || obj.lon < -180 || obj.lon > 180) {
            rd__why(out, "%slat/lon out of range", where);
            out->nbad++;
            return;
        }
        obj.has_pos = true;
    } else if (rc != rc2 || rc == -EBADMSG) {
        rd__why(out, "%slat and lon must both be numbers", where);
        out->nbad++;
        return;
    }
    if (strcmp(dev->kind, "mobile") == 0 && !obj.has_pos) {
        rd__why(out, "%slat/lon required for a mobile device", where);
        out->nbad++;
        return;
    }
    values = cJSON_GetObjectItemCaseSensitive(o, "values");
    if (!cJSON_IsObject(values)) {
        rd__why(out, "%svalues: %s", where, values ? "must be an object" : "missing");
        out->nbad++;
        return;
    }
    if (!values->child) {
        rd__why(out, "%svalues: empty", where);
        out->nbad++;
        return;
    }
    obj.first_row = out->nrows;
    /* json_parse refused the message if a key repeats (a parameter, ts,
     * values): each key below is the only one of its name */
    cJSON_ArrayForEach(it, values)
    {
        if (rd__value(r, dev, it, &obj, where, out))
            out->nbad++;
    }
    obj.nrows = out->nrows - obj.first_row;
    if (obj.nrows)
        out->objs[out->nobjs++] = obj;
}

int readings_parse(const struct reg *r, const char *topic, size_t tlen, const char *payload,
                   size_t len, int64_t now_us, const struct rd_limits *lim, struct rd_out *out)
{
    const size_t plen = sizeof(RD_TOPIC_PREFIX) - 1;
    const struct reg_device *dev;
    cJSON *root = NULL, *arr;
    char err[96];
    int rc = -EBADMSG;

    out->dev = NULL;
    out->nrows = out->nobjs = 0;
    out->nbad = 0;
    buf_reset(&out->why);
    if (tlen <= plen || memcmp(topic, RD_TOPIC_PREFIX, plen) != 0 ||
        memchr(topic + plen, '/', tlen - plen)) {
        rd__why(out, "topic is not eco/v1/in/{device}");
        goto out;
    }
    dev = reg_device(r, topic + plen, tlen - plen);
    if (!dev) {
        rd__why(out, "unknown device %.*s", (int)(tlen - plen > 64 ? 64 : tlen - plen),
                topic + plen);
        goto out;
    }
    if (!dev->active) {
        rd__why(out, "device %s is inactive", dev->code);
        goto out;
    }
    out->dev = dev;
    if (json_parse(payload, len, &root, err, sizeof(err))) {
        rd__why(out, "%s", err);
        goto out;
    }
    if (!cJSON_IsObject(root)) {
        rd__why(out, "payload must be a JSON object");
        goto out;
    }
    arr = cJSON_GetObjectItemCaseSensitive(root, "readings");
    if (arr) {
        const cJSON *o;
        size_t i = 0;
        if (!cJSON_IsArray(arr)) {
            rd__why(out, "readings must be an array");
            goto out;
        }
        if (!arr->child) {
            rd__why(out, "readings: empty");
            out->nbad++;
        }
        cJSON_ArrayForEach(o, arr)
        {
            rd__object(r, dev, o, now_us, lim, i++, out);
        }
    } else {
        rd__object(r, dev, root, now_us, lim, (size_t)-1, out);
    }
    rc = 0;
out:
    cJSON_Delete(root);
    return rc;
}
