#include "batch.h"

#include "etime.h"
#include "hj212rec.h"
#include "json.h"
#include "pgbin.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest eco/v1/obs message: a site's readings of one batch are split
 * into messages of this size at most. */
#define BATCH_OBS_MSG_MAX (64 * 1024)
#define BATCH_TOPIC_MAX 256

int batch_init(struct batch *b, size_t batch_rows)
{
    memset(b, 0, sizeof(*b));
    /* The caps are far above what batch_rows readings need (~60 bytes a
     * row, a few payloads of dead letters) and only stop a runaway. */
    buf_init(&b->stage, batch_rows * 256 + (1u << 20));
    buf_init(&b->track, batch_rows * 64 + (1u << 20));
    buf_init(&b->deadl, 64u << 20);
    buf_init(&b->evbuf, 16u << 20);
    buf_init(&b->pubs, 256u << 20);
    /* objects: at most one per row, and a record can take the batch past
     * batch_rows by one message */
    return obsg_init(&b->obs, batch_rows + RD_MAX_ROWS, 64u << 20, BATCH_OBS_MSG_MAX);
}

void batch_close(struct batch *b)
{
    buf_close(&b->stage);
    buf_close(&b->track);
    buf_close(&b->deadl);
    buf_close(&b->evbuf);
    buf_close(&b->pubs);
    obsg_close(&b->obs);
}

void batch_reset(struct batch *b, uint64_t first)
{
    buf_reset(&b->stage);
    buf_reset(&b->track);
    buf_reset(&b->deadl);
    buf_reset(&b->evbuf);
    buf_reset(&b->pubs);
    obsg_reset(&b->obs);
    b->first = first;
    b->last = first - 1;
    b->records = b->rows = b->dead = b->events = 0;
    b->new_lo = INT64_MAX;
    b->new_hi = INT64_MIN;
}

int batch_add_double(struct buf *b, double v)
{
    char tmp[40];
    snprintf(tmp, sizeof(tmp), "%.15g", v);
    if (strtod(tmp, NULL) != v)
        snprintf(tmp, sizeof(tmp), "%.17g", v);
    return buf_addstr(b, tmp);
}

int batch_month(int64_t ts_us)
{
    int64_t days = ts_us / ETIME_US_PER_SEC / 86400;
    int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = (int64_t)yoe + era * 400 + (m <= 2);
    return (int)((y - 1970) * 12 + (m - 1));
}

static void batch__note_month(struct batch *b, const struct batch_ctx *c, int64_t ts)
{
    int m = batch_month(ts);
    for (size_t i = 0; i < c->nmonths; i++)
        if (c->months[i] == m)
            return;
    if (b->new_lo == INT64_MAX || ts < b->new_lo)
        b->new_lo = ts;
    if (b->new_hi == INT64_MIN || ts > b->new_hi)
        b->new_hi = ts;
}

static int batch__pub(struct batch *b, const char *topic, bool retain, const char *p, size_t len)
{
    int rc;
    if ((rc = buf_addstr(&b->pubs, topic)) || (rc = buf_addc(&b->pubs, '\0')) ||
        (rc = buf_addc(&b->pubs, retain ? 'r' : '-')) || (rc = buf_printf(&b->pubs, "%zu", len)) ||
        (rc = buf_addc(&b->pubs, '\0')) || (rc = buf_add(&b->pubs, p, len)))
        return rc;
    return 0;
}

static int batch__pub_obs(void *ud, const char *topic, const char *p, size_t len)
{
    return batch__pub(ud, topic, false, p, len);
}

void batch_publications(const struct batch *b,
                        void (*pub)(void *ud, const char *topic, const char *p, size_t len,
                                    bool retain),
                        void *ud)
{
    const char *p = b->pubs.p, *end = b->pubs.p + b->pubs.len;

    while (p && p < end) {
        const char *topic = p;
        bool retain;
        size_t len;
        char *e;

        p += strlen(p) + 1;
        retain = *p++ == 'r';
        len = strtoul(p, &e, 10);
        p = e + 1;
        pub(ud, topic, p, len, retain);
        p += len;
    }
}

static int batch__dead(struct batch *b, const char *topic, size_t tlen, const char *payload,
                       size_t len, const char *reason)
{
    struct buf msg;
    char ts[ETIME_RFC3339_MAX];
    int rc;

    if ((rc = buf_add(&b->deadl, "ingest\t", 7)) ||
        (rc = buf_add_copy_text(&b->deadl, topic, tlen)) || (rc = buf_addc(&b->deadl, '\t')) ||
        (rc = buf_add_copy_text(&b->deadl, reason, strlen(reason))) ||
        (rc = buf_addc(&b->deadl, '\t')) || (rc = buf_add_copy_text(&b->deadl, payload, len)) ||
        (rc = buf_addc(&b->deadl, '\n')))
        return rc;
    /* JSON escaping writes a control byte as \u00XX: 6 bytes for 1 */
    buf_init(&msg, 6 * (tlen + len + strlen(reason)) + 4096);
    etime_format(etime_now_us(), 0, ts, sizeof(ts));
    rc = buf_addstr(&msg, "{\"topic\":\"");
    rc = rc ? rc : buf_add_json_str(&msg, topic, tlen);
    rc = rc ? rc : buf_addstr(&msg, "\",\"payload\":\"");
    rc = rc ? rc : buf_add_json_str(&msg, payload, len);
    rc = rc ? rc : buf_addstr(&msg, "\",\"reason\":\"");
    rc = rc ? rc : buf_add_json_str(&msg, reason, strlen(reason));
    rc = rc ? rc : buf_printf(&msg, "\",\"time\":\"%s\"}", ts);
    rc = rc ? rc : batch__pub(b, "eco/v1/dlq/ingest", false, msg.p, msg.len);
    buf_close(&msg);
    if (!rc)
        b->dead++;
    return rc;
}

static const char *batch__unit(const struct reg *reg, int param_id, const char **code)
{
    const struct reg_param *p = reg_param_by_id(reg, param_id);
    *code = p ? p->code : "?";
    return p ? p->unit : "";
}

/* Notes the newest value of every pair in rd: in the batch layer, or
 * (committed) straight into what waits for the next update. */
static int batch__note_latest(struct latest *lat, bool committed, const struct rd_out *rd)
{
    int rc = 0;

    for (size_t k = 0; k < rd->nobjs && !rc; k++) {
        const struct rd_obj *o = &rd->objs[k];
        for (size_t i = o->first_row; i < o->first_row + o->nrows && !rc; i++) {
            const struct rd_row *row = &rd->rows[i];
            struct latest_val v = {row->ts, row->value, o->tz_offset, row->period, row->flag};
            rc = committed ? latest_merge(lat, row->site_id, rd->dev->site, row->param_id, &v)
                           : latest_note(lat, row->site_id, rd->dev->site, row->param_id, &v);
        }
    }
    return rc;
}

int batch_note_committed(struct latest *lat, const struct rd_out *rd)
{
    if (!latest_has_room(lat, rd->nrows))
        return -ENOSPC;
    return batch__note_latest(lat, true, rd);
}

/* Appends the rows, track points and obs objects of one message (its
 * latest values are noted once the whole record is in). */
static int batch__rows(struct batch *b, const struct batch_ctx *c, const struct rd_out *rd)
{
    const struct reg_device *dev = rd->dev;
    char ts[ETIME_RFC3339_MAX];
    int rc = 0;

    /* all of the message's pairs or none: it may end the batch */
    if (!latest_has_room(c->lat, rd->nrows))
        return -ENOSPC;
    for (size_t k = 0; k < rd->nobjs && !rc; k++) {
        const struct rd_obj *o = &rd->objs[k];
        const char *pname = readings_period_name(o->period);
        struct buf *msg = obsg_begin(&b->obs, dev->site_id, dev->site);

        if (!msg)
            return -ENOSPC;
        etime_format(o->ts, o->tz_offset, ts, sizeof(ts));
        batch__note_month(b, c, o->ts);
        rc = buf_printf(msg, "{\"device\":\"%s\",\"ts\":\"%s\",\"period\":\"%s\",", dev->code, ts,
                        pname);
        if (!rc && o->has_pos) {
            rc = buf_addstr(msg, "\"lat\":");
            rc = rc ? rc : batch_add_double(msg, o->lat);
            rc = rc ? rc : buf_addstr(msg, ",\"lon\":");
            rc = rc ? rc : batch_add_double(msg, o->lon);
            rc = rc ? rc : buf_addc(msg, ',');
            /* one track point per object; its time is that of the rows */
            if (!rc && o->nrows) {
                if (b->track.len == 0)
                    rc = pgbin_begin(&b->track);
                rc = rc ? rc : pgbin_row(&b->track, 4);
                rc = rc ? rc : pgbin_i32(&b->track, dev->site_id);
                rc = rc ? rc : pgbin_ts(&b->track, rd->rows[o->first_row].ts);
                rc = rc ? rc : pgbin_f64(&b->track, o->lat);
                rc = rc ? rc : pgbin_f64(&b->track, o->lon);
            }
        }
        rc = rc ? rc : buf_addstr(msg, "\"values\":{");
        for (size_t i = o->first_row; i < o->first_row + o->nrows && !rc; i++) {
            const struct rd_row *row = &rd->rows[i];
            const char *code, *unit = batch__unit(c->reg, row->param_id, &code);

            /* binary COPY: no text formatting on either side */
            if (b->stage.len == 0)
                rc = pgbin_begin(&b->stage);
            rc = rc ? rc : pgbin_row(&b->stage, 6);
            rc = rc ? rc : pgbin_i32(&b->stage, row->site_id);
            rc = rc ? rc : pgbin_i16(&b->stage, (int16_t)row->param_id);
            rc = rc ? rc : pgbin_char(&b->stage, row->period);
            rc = rc ? rc : pgbin_ts(&b->stage, row->ts);
            rc = rc ? rc : pgbin_f64(&b->stage, row->value);
            rc = rc ? rc : pgbin_char(&b->stage, row->flag);
            b->rows++;
            rc = rc ? rc : buf_printf(msg, "%s\"%s\":{\"v\":", i == o->first_row ? "" : ",", code);
            rc = rc ? rc : batch_add_double(msg, row->value);
            rc = rc ? rc : buf_addstr(msg, ",\"unit\":\"");
            rc = rc ? rc : buf_add_json_str(msg, unit, strlen(unit));
            rc = rc ? rc : buf_printf(msg, "\",\"flag\":\"%c\"}", row->flag);
        }
        rc = rc ? rc : buf_addstr(msg, "}}");
        rc = rc ? rc : obsg_end(&b->obs);
    }
    return rc;
}

/* ---- HJ 212 gateway records (hj212gw.h) -------------------------------- */

bool batch_is_gateway(const struct spool_rec *rec)
{
    return rec->topic_len > 7 && memcmp(rec->topic, "$hj212/", 7) == 0;
}

/* $hj212/reject/<peer>: a dead letter whose source is hj212://<peer> and
 * whose payload is the refused frame as received. */
static int batch__gw_dead(struct batch *b, const struct spool_rec *rec, const cJSON *root)
{
    const size_t pl = sizeof(HJ212REC_TOPIC_REJECT) - 1;
    const char *reason = NULL, *frame = NULL;
    char source[96];
    int n;

    if (json_get_strp(root, "reason", &reason) || json_get_strp(root, "frame", &frame))
        return batch__dead(b, rec->topic, rec->topic_len, rec->payload, rec->len,
                           "malformed gateway record");
    n = snprintf(source, sizeof(source), "hj212://%.*s", (int)(rec->topic_len - pl),
                 rec->topic + pl);
    return batch__dead(b, source, n > 0 && (size_t)n < sizeof(source) ? (size_t)n : 0, frame,
                       strlen(frame), reason);
}

/* $hj212/event/<MN>: a row of obs.device_event and, after the commit, the
 * same JSON with the site added on eco/v1/event/<site>. */
static int batch__gw_event(struct batch *bt, const struct batch_ctx *c, const struct spool_rec *rec,
                           const cJSON *root)
{
    const size_t pl = sizeof(HJ212REC_TOPIC_EVENT) - 1;
    const struct reg_device *dev = reg_device(c->reg, rec->topic + pl, rec->topic_len - pl);
    const char *cn = NULL, *kind = NULL, *qn = NULL, *ts_s = NULL;
    char ts[ETIME_RFC3339_MAX], topic[BATCH_TOPIC_MAX], why[96];
    struct buf *b = &bt->evbuf, msg;
    int64_t us;
    int rc;

    if (!dev) {
        snprintf(why, sizeof(why), "unknown device %.*s",
                 (int)(rec->topic_len - pl > 64 ? 64 : rec->topic_len - pl), rec->topic + pl);
        return batch__dead(bt, rec->topic, rec->topic_len, rec->payload, rec->len, why);
    }
    if (json_get_strp(root, "cn", &cn) || json_get_strp(root, "kind", &kind) ||
        json_get_strp(root, "qn", &qn) == -EBADMSG ||
        json_get_strp(root, "ts", &ts_s) == -EBADMSG ||
        (ts_s && etime_parse_rfc3339(ts_s, strlen(ts_s), &us, NULL)) || rec->payload[0] != '{')
        return batch__dead(bt, rec->topic, rec->topic_len, rec->payload, rec->len,
                           "malformed gateway record");
    if (ts_s)
        etime_format(us, 0, ts, sizeof(ts));
    rc = buf_add_copy_text(b, dev->code, strlen(dev->code));
    rc = rc ? rc : buf_addc(b, '\t');
    rc = rc ? rc : buf_add_copy_text(b, dev->site, strlen(dev->site));
    rc = rc ? rc : buf_addc(b, '\t');
    rc = rc ? rc : buf_add_copy_text(b, cn, strlen(cn));
    rc = rc ? rc : buf_addc(b, '\t');
    rc = rc ? rc : (qn ? buf_add_copy_text(b, qn, strlen(qn)) : buf_addstr(b, "\\N"));
    rc = rc ? rc : buf_addc(b, '\t');
    rc = rc ? rc : buf_add_copy_text(b, kind, strlen(kind));
    rc = rc ? rc : buf_addc(b, '\t');
    rc = rc ? rc : buf_addstr(b, ts_s ? ts : "\\N");
    rc = rc ? rc : buf_addc(b, '\t');
    rc = rc ? rc : buf_add_copy_text(b, rec->payload, rec->len);
    rc = rc ? rc : buf_addc(b, '\n');
    buf_init(&msg, SPOOL_REC_MAX + 1024);
    rc = rc ? rc : buf_addstr(&msg, "{\"site\":\"");
    rc = rc ? rc : buf_add_json_str(&msg, dev->site, strlen(dev->site));
    rc = rc ? rc : buf_addstr(&msg, rec->len > 2 ? "\"," : "\"");
    rc = rc ? rc : buf_add(&msg, rec->payload + 1, rec->len - 1);
    snprintf(topic, sizeof(topic), "eco/v1/event/%s", dev->site);
    rc = rc ? rc : batch__pub(bt, topic, false, msg.p, msg.len);
    buf_close(&msg);
    if (!rc)
        bt->events++;
    return rc;
}

static int batch__gw_rec(struct batch *b, const struct batch_ctx *c, const struct spool_rec *rec)
{
    const size_t rl = sizeof(HJ212REC_TOPIC_REJECT) - 1, el = sizeof(HJ212REC_TOPIC_EVENT) - 1;
    cJSON *root = NULL;
    int rc;

    if (json_parse(rec->payload, rec->len, &root, NULL, 0) || !cJSON_IsObject(root))
        rc = batch__dead(b, rec->topic, rec->topic_len, rec->payload, rec->len,
                         "malformed gateway record");
    else if (rec->topic_len > rl && memcmp(rec->topic, HJ212REC_TOPIC_REJECT, rl) == 0)
        rc = batch__gw_dead(b, rec, root);
    else if (rec->topic_len > el && memcmp(rec->topic, HJ212REC_TOPIC_EVENT, el) == 0)
        rc = batch__gw_event(b, c, rec, root);
    else
        rc = batch__dead(b, rec->topic, rec->topic_len, rec->payload, rec->len,
                         "unknown gateway record");
    cJSON_Delete(root);
    return rc;
}

/* ---- adding records ------------------------------------------------------ */

struct batch__mark {
    size_t stage, track, deadl, evbuf, pubs, rows, dead, events;
    struct obsg_mark obs;
};

static struct batch__mark batch__mark(const struct batch *b)
{
    return (struct batch__mark){b->stage.len, b->track.len, b->deadl.len,
                                b->evbuf.len, b->pubs.len,  b->rows,
                                b->dead,      b->events,    obsg_mark(&b->obs)};
}

/* Drops what a record that did not fit added. */
static void batch__rewind(struct batch *b, const struct batch__mark *m)
{
    b->stage.len = m->stage;
    b->track.len = m->track;
    b->deadl.len = m->deadl;
    b->evbuf.len = m->evbuf;
    b->pubs.len = m->pubs;
    b->rows = m->rows;
    b->dead = m->dead;
    b->events = m->events;
    obsg_rewind(&b->obs, m->obs);
}

/* The obs messages go into pubs when the batch is finished: a record is
 * in only if pubs keeps room for them (their objects, and a header per
 * object at most). */
static int batch__room(const struct batch *b)
{
    size_t need = b->pubs.len + b->obs.frags.len + obsg_count(&b->obs) * 384 + 4096;
    return need > b->pubs.max ? -E2BIG : 0;
}

static void batch__took(struct batch *b, const struct spool_rec *rec)
{
    b->records++;
    b->last = rec->seq;
}

int batch_add(struct batch *b, const struct batch_ctx *c, const struct spool_rec *rec)
{
    struct batch__mark m = batch__mark(b);
    bool readings = false;
    int rc;

    if ((int64_t)rec->len > c->max_payload) {
        char why[96];
        snprintf(why, sizeof(why), "payload of %zu bytes exceeds the limit of %lld", rec->len,
                 (long long)c->max_payload);
        rc = batch__dead(b, rec->topic, rec->topic_len, rec->payload,
                         rec->len > 4096 ? 4096 : rec->len, why);
    } else if (batch_is_gateway(rec)) {
        rc = batch__gw_rec(b, c, rec);
    } else {
        int prc = readings_parse(c->reg, rec->topic, rec->topic_len, rec->payload, rec->len,
                                 c->now_us, c->lim, c->rd);
        readings = prc == 0;
        rc = readings ? batch__rows(b, c, c->rd) : 0;
        if (!rc && (prc || c->rd->nbad))
            rc = batch__dead(b, rec->topic, rec->topic_len, rec->payload, rec->len,
                             c->rd->why.len ? c->rd->why.p : "rejected");
    }
    rc = rc ? rc : batch__room(b);
    /* last, once the rest of the record is in, because notes cannot be
     * rewound (batch__rows made sure they fit) */
    if (!rc && readings)
        rc = batch__note_latest(c->lat, false, c->rd);
    if (rc) {
        batch__rewind(b, &m);
        return rc;
    }
    batch__took(b, rec);
    return 0;
}

int batch_add_dead(struct batch *b, const struct spool_rec *rec, const char *reason)
{
    struct batch__mark m = batch__mark(b);
    int rc = batch__dead(b, rec->topic, rec->topic_len, rec->payload, rec->len, reason);

    if (rc) {
        batch__rewind(b, &m);
        return rc;
    }
    batch__took(b, rec);
    return 0;
}

int batch_finish(struct batch *b)
{
    int rc = obsg_emit(&b->obs, batch__pub_obs, b);

    if (!rc && b->stage.len)
        rc = pgbin_end(&b->stage);
    if (!rc && b->track.len)
        rc = pgbin_end(&b->track);
    return rc;
}
