#include "asql.h"

#include "dreg.h"
#include "etime.h"
#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char ASQL_READINGS[] =
    "SELECT r.site_id, r.param_id, r.period, (extract(epoch FROM r.ts) * 1e6)::bigint, r.value,"
    " r.flag, coalesce(ST_Y(t.geom), 'NaN'), coalesce(ST_X(t.geom), 'NaN')"
    " FROM obs.reading r LEFT JOIN obs.track t ON t.site_id = r.site_id AND t.ts = r.ts"
    " WHERE r.ts >= to_timestamp(least($1, $2, $3, $4)::double precision / 1e6)"
    " AND r.ts < to_timestamp($5::double precision / 1e6)"
    " AND r.ts >= to_timestamp((CASE r.period WHEN 'r' THEN $1 WHEN 'm' THEN $2"
    " WHEN 'h' THEN $3 ELSE $4 END)::double precision / 1e6)"
    " AND r.site_id % $6::integer = $7::integer"
    " AND (cardinality($8::integer[]) = 0 OR r.site_id = ANY($8::integer[]))"
    " ORDER BY r.ts, position(r.period IN 'rmhd'), r.site_id, r.param_id";

const char ASQL_DEADLETTERS[] =
    "SELECT source, payload FROM obs.deadletter WHERE service = 'ingest'"
    " AND source LIKE 'eco/v1/in/%' AND received_at >= to_timestamp($1::double precision / 1e6)"
    " AND received_at < to_timestamp($2::double precision / 1e6) ORDER BY id";

const char ASQL_APPLY[] = "SELECT i, alarm_id, action, coalesce(incident, 0)"
                          " FROM alarm.apply($1::jsonb)";

const char ASQL_APPLY_WARM[] =
    "BEGIN;"
    " SELECT count(*) FROM alarm.apply('["
    "{\"i\":0,\"site\":-1,\"param\":1,\"period\":\"h\",\"rule\":\"limit\","
    "\"action\":\"raise\",\"ts\":0,\"sev\":\"minor\",\"value\":1,\"limit\":1,\"peak\":1},"
    "{\"i\":1,\"site\":-1,\"param\":1,\"period\":\"h\",\"rule\":\"limit\","
    "\"action\":\"update\",\"ts\":1000000,\"sev\":\"major\",\"value\":2,\"limit\":1,"
    "\"peak\":2},"
    "{\"i\":2,\"site\":-1,\"param\":1,\"period\":\"h\",\"rule\":\"limit\","
    "\"action\":\"clear\",\"ts\":2000000,\"sev\":\"major\",\"value\":0,\"limit\":1,"
    "\"peak\":2}]'::jsonb);"
    " ROLLBACK";

const char ASQL_OPEN[] =
    "SELECT site_id, coalesce(param_id, 0), coalesce(period, ''), rule, severity,"
    " (extract(epoch FROM opened_at) * 1e6)::bigint, coalesce(peak, 'NaN')"
    " FROM alarm.alarm WHERE state <> 'cleared' AND NOT replay"
    " AND site_id % $1::integer = $2::integer ORDER BY id";

static const char *const asql__actions[] = {"raise", "update", "clear"};

char asql_period_code(const char *name)
{
    if (strcmp(name, "rt") == 0)
        return 'r';
    if (strcmp(name, "min") == 0)
        return 'm';
    if (strcmp(name, "hour") == 0)
        return 'h';
    if (strcmp(name, "day") == 0)
        return 'd';
    return 0;
}

const char *asql_period_name(char code)
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
    default:
        return "";
    }
}

/* A number, or null for NAN (JSON has no NaN). */
static int asql__num(struct buf *b, const char *key, double v)
{
    if (!isfinite(v))
        return buf_printf(b, ",\"%s\":null", key);
    return buf_printf(b, ",\"%s\":%.17g", key, v);
}

int asql_event_json(struct buf *b, int i, const struct eng_event *ev, bool replay)
{
    char per[2] = {ev->period, 0};
    int rc = buf_printf(b,
                        "{\"i\":%d,\"site\":%d,\"param\":%d,\"period\":\"%s\",\"rule\":\"%s\","
                        "\"action\":\"%s\",\"ts\":%lld,\"opened\":%lld,\"sev\":\"%s\","
                        "\"replay\":%s",
                        i, ev->site_id, ev->param_id, per, eng_rule_name(ev->rule),
                        asql__actions[ev->action], (long long)ev->ts, (long long)ev->opened,
                        eng_sev_name(ev->severity), replay ? "true" : "false");
    rc = rc ? rc : asql__num(b, "value", ev->value);
    rc = rc ? rc : asql__num(b, "limit", ev->limit);
    rc = rc ? rc : asql__num(b, "peak", ev->peak);
    if (!rc && isfinite(ev->lat) && isfinite(ev->lon))
        rc = buf_printf(b, ",\"lat\":%.7f,\"lon\":%.7f", ev->lat, ev->lon);
    return rc ? rc : buf_addc(b, '}');
}

static int asql__i64(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    long long v;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -EBADMSG;
    *out = v;
    return 0;
}

static int asql__f64(const char *s, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    return errno == ERANGE || end == s || *end ? -EBADMSG : 0;
}

struct asql__load {
    struct asql_rejects *rj;
    int64_t from, to;
    size_t max;
    int rc;
};

static void asql__reject(void *ud, const struct eng_reading *r)
{
    struct asql__load *l = ud;
    if (r->ts < l->from || r->ts >= l->to || l->rc)
        return;
    if (l->rj->n == l->rj->cap) {
        size_t cap = l->rj->cap ? l->rj->cap * 2 : 256;
        struct eng_reading *p;
        if (cap > l->max || !(p = realloc(l->rj->r, cap * sizeof(*p)))) {
            l->rc = -ENOMEM;
            return;
        }
        l->rj->r = p;
        l->rj->cap = cap;
    }
    l->rj->r[l->rj->n++] = *r;
}

static int asql__by_ts(const void *a, const void *b)
{
    int64_t x = ((const struct eng_reading *)a)->ts, y = ((const struct eng_reading *)b)->ts;
    return (x > y) - (x < y);
}

int asql_rejects_load(struct asql_rejects *rj, const struct dreg *reg, const PGresult *res,
                      int64_t from, int64_t to, size_t max)
{
    struct asql__load l = {.rj = rj, .from = from, .to = to, .max = max};
    for (int i = 0; i < PQntuples(res) && !l.rc; i++) {
        const char *topic = PQgetvalue(res, i, 0), *payload = PQgetvalue(res, i, 1), *why;
        const cJSON *arr;
        cJSON *in = NULL;
        int site;
        if (strncmp(topic, "eco/v1/in/", 10) != 0 ||
            !(site = dreg_device_site(reg, topic + 10, strlen(topic + 10))) ||
            json_parse(payload, strlen(payload), &in, NULL, 0))
            continue;
        arr = cJSON_GetObjectItemCaseSensitive(in, "readings");
        if (cJSON_IsArray(arr)) {
            const cJSON *obj;
            cJSON_ArrayForEach(obj, arr) asql_readings(reg, obj, site, asql__reject, &l, &why);
        } else {
            asql_readings(reg, in, site, asql__reject, &l, &why);
        }
        cJSON_Delete(in);
    }
    if (rj->n)
        qsort(rj->r, rj->n, sizeof(*rj->r), asql__by_ts);
    return l.rc;
}

void asql_rejects_close(struct asql_rejects *rj)
{
    free(rj->r);
    memset(rj, 0, sizeof(*rj));
}

int asql_feed_rows(struct eng *e, const PGresult *res, struct asql_rejects *rj)
{
    int n = PQntuples(res);
    if (PQnfields(res) != 8)
        return -EBADMSG;
    for (int i = 0; i < n; i++) {
        struct eng_reading r;
        long long site, param, ts;
        if (asql__i64(PQgetvalue(res, i, 0), 1, INT32_MAX, &site) ||
            asql__i64(PQgetvalue(res, i, 1), 1, INT32_MAX, &param) ||
            asql__i64(PQgetvalue(res, i, 3), INT64_MIN, INT64_MAX, &ts) ||
            asql__f64(PQgetvalue(res, i, 4), &r.value) ||
            asql__f64(PQgetvalue(res, i, 6), &r.lat) || asql__f64(PQgetvalue(res, i, 7), &r.lon))
            return -EBADMSG;
        r.site_id = (int)site;
        r.param_id = (int)param;
        r.period = PQgetvalue(res, i, 2)[0];
        r.flag = PQgetvalue(res, i, 5)[0];
        r.ts = ts;
        while (rj && rj->next < rj->n && rj->r[rj->next].ts <= ts)
            eng_feed_rejected(e, &rj->r[rj->next++]);
        eng_feed(e, &r);
    }
    return n;
}

int asql_note_open(struct eng *e, const PGresult *res)
{
    int n = PQntuples(res), noted = 0;
    if (PQnfields(res) != 7)
        return 0;
    for (int i = 0; i < n; i++) {
        long long site, param, opened;
        double peak;
        int rule = eng_rule_parse(PQgetvalue(res, i, 3));
        int sev = eng_sev_parse(PQgetvalue(res, i, 4));
        if (asql__i64(PQgetvalue(res, i, 0), 1, INT32_MAX, &site) ||
            asql__i64(PQgetvalue(res, i, 1), 0, INT32_MAX, &param) ||
            asql__i64(PQgetvalue(res, i, 5), INT64_MIN, INT64_MAX, &opened) ||
            asql__f64(PQgetvalue(res, i, 6), &peak) || rule < 0 || sev < 0)
            continue;
        if (eng_note_open(e, (int)site, (int)param, PQgetvalue(res, i, 2)[0], (enum eng_rule)rule,
                          opened, peak, (enum eng_sev)sev) == 0)
            noted++;
    }
    return noted;
}

static int asql__time(struct buf *b, const char *key, int64_t us)
{
    char t[ETIME_RFC3339_MAX];
    etime_format(us, ETIME_BEIJING_OFFSET, t, sizeof(t));
    return buf_printf(b, ",\"%s\":\"%s\"", key, t);
}

int asql_alarm_msg(const struct dreg *reg, const struct eng_event *ev, long long id,
                   long long incident, const char *action, bool replay, char *topic,
                   size_t topiccap, struct buf *b)
{
    const struct dreg_site *site = dreg_site(reg, ev->site_id);
    const struct dreg_param *p = ev->param_id ? dreg_param(reg, ev->param_id) : NULL;
    int rc;
    if (!site || (ev->param_id && !p))
        return -ENOENT;
    /* a site-wide alarm (offline) has "-" for its parameter */
    snprintf(topic, topiccap, "eco/v1/alarm/%s/%s", site->code, p ? p->code : "-");
    rc = buf_printf(b, "{\"id\":%lld,\"site\":\"%s\"", id, site->code);
    if (!rc && p)
        rc = buf_printf(b, ",\"param\":\"%s\",\"period\":\"%s\",\"unit\":\"", p->code,
                        asql_period_name(ev->period));
    if (!rc && p)
        rc = buf_add_json_str(b, p->unit, strlen(p->unit));
    if (!rc && p)
        rc = buf_addc(b, '"');
    rc = rc ? rc
            : buf_printf(b, ",\"rule\":\"%s\",\"severity\":\"%s\",\"state\":\"%s\"",
                         eng_rule_name(ev->rule), eng_sev_name(ev->severity), action);
    rc = rc ? rc : asql__num(b, "value", ev->value);
    rc = rc ? rc : asql__num(b, "limit", ev->limit);
    rc = rc ? rc : asql__num(b, "peak", ev->peak);
    rc = rc ? rc : asql__time(b, "ts", ev->ts);
    rc = rc ? rc : asql__time(b, "opened_at", ev->opened);
    if (!rc)
        rc = ev->action == ENG_CLEAR ? asql__time(b, "cleared_at", ev->ts)
                                     : buf_addstr(b, ",\"cleared_at\":null");
    if (!rc && incident > 0)
        rc = buf_printf(b, ",\"incident\":%lld", incident);
    if (!rc && isfinite(ev->lat) && isfinite(ev->lon))
        rc = buf_printf(b, ",\"lat\":%.7f,\"lon\":%.7f", ev->lat, ev->lon);
    rc = rc ? rc : buf_printf(b, ",\"replay\":%s}", replay ? "true" : "false");
    return rc;
}

int asql_readings(const struct dreg *reg, const cJSON *obj, int site_id,
                  void (*fn)(void *ud, const struct eng_reading *r), void *ud, const char **why)
{
    const cJSON *values, *it;
    const char *ts_s = NULL, *period_s = NULL;
    struct eng_reading r = {.site_id = site_id, .lat = NAN, .lon = NAN};
    double lat, lon;
    int n = 0;
    if (!cJSON_IsObject(obj)) {
        *why = "a readings object must be an object";
        return -EBADMSG;
    }
    if (json_get_strp(obj, "ts", &ts_s) || etime_parse_rfc3339(ts_s, strlen(ts_s), &r.ts, NULL)) {
        *why = "ts: missing or not an RFC 3339 time";
        return -EBADMSG;
    }
    if (json_get_strp(obj, "period", &period_s) || !(r.period = asql_period_code(period_s))) {
        *why = "period: missing or not rt, min, hour or day";
        return -EBADMSG;
    }
    values = cJSON_GetObjectItemCaseSensitive(obj, "values");
    if (!cJSON_IsObject(values)) {
        *why = "values: missing or not an object";
        return -EBADMSG;
    }
    if (json_get_f64(obj, "lat", &lat) == 0 && json_get_f64(obj, "lon", &lon) == 0) {
        r.lat = lat;
        r.lon = lon;
    }
    cJSON_ArrayForEach(it, values)
    {
        const struct dreg_param *p;
        const char *flag = NULL;
        if (!it->string || !(p = dreg_param_code(reg, it->string, strlen(it->string))))
            continue;
        r.param_id = p->id;
        r.flag = 'N';
        if (cJSON_IsNumber(it)) {
            r.value = it->valuedouble;
        } else if (cJSON_IsObject(it) && json_get_f64(it, "v", &r.value) == 0) {
            if (json_get_strp(it, "flag", &flag) == 0 && strlen(flag) == 1)
                r.flag = flag[0];
        } else {
            continue;
        }
        fn(ud, &r);
        n++;
    }
    return n;
}
