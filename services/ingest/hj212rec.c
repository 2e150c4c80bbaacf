#include "hj212rec.h"

#include "elog.h"
#include "etime.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- small helpers ----------------------------------------------------- */

/* Writes v so that it reads back as the same double, short when possible
 * (the JSON goes through the same parser as MQTT readings). */
static int rec__add_double(struct buf *b, double v)
{
    char tmp[40];
    snprintf(tmp, sizeof(tmp), "%.15g", v);
    if (strtod(tmp, NULL) != v)
        snprintf(tmp, sizeof(tmp), "%.17g", v);
    return buf_addstr(b, tmp);
}

static int rec__add_jstr(struct buf *b, const char *s, size_t n)
{
    int rc = buf_addc(b, '"');
    rc = rc ? rc : buf_add_json_str(b, s, n);
    return rc ? rc : buf_addc(b, '"');
}
/* ---- credentials --------------------------------------------------------- */

static bool rec__ends_with(const char *s, size_t n, const char *suffix)
{
    size_t m = strlen(suffix);
    return n >= m && strncasecmp(s + n - m, suffix, m) == 0;
}

bool hj212rec_secret_key(const char *key, size_t klen)
{
    return rec__ends_with(key, klen, "pw") || rec__ends_with(key, klen, "passwd") ||
           rec__ends_with(key, klen, "password");
}

static bool rec__key_char(char ch)
{
    return isalnum((unsigned char)ch) || ch == '-' || ch == '_';
}

static bool rec__value_end(char ch)
{
    return ch == ';' || ch == ',' || ch == '&' || ch == '\r' || ch == '\n';
}

/* The CRC of a frame is computed over its password: next to the rest of
 * the frame it narrows an offline search of a 6-digit PW to a handful of
 * candidates. In a frame whose credentials were masked, "&&" + 4 hex digits
 * at the end of a frame becomes "&&****". */
static void rec__mask_crc(struct buf *out)
{
    char *p = out->p;
    size_t n = out->len;

    for (size_t i = 0; i + 6 <= n; i++) {
        if (p[i] != '&' || p[i + 1] != '&' || !isxdigit((unsigned char)p[i + 2]) ||
            !isxdigit((unsigned char)p[i + 3]) || !isxdigit((unsigned char)p[i + 4]) ||
            !isxdigit((unsigned char)p[i + 5]))
            continue;
        if (i + 6 == n || p[i + 6] == '\r' || p[i + 6] == '\n' || p[i + 6] == '#')
            memset(p + i + 2, '*', 4);
    }
}

/* Dead letters, the spool and the dlq topic are read by analysts and
 * integrators: a logger's PW must not reach them. Every "key=value" whose
 * key names a credential keeps its key and loses its value (and the frame
 * its CRC, above). */
int hj212rec_mask(const char *data, size_t len, struct buf *out)
{
    size_t i = 0, from = 0;
    bool masked = false;
    int rc = 0;

    buf_reset(out);
    while (i < len && !rc) {
        size_t k;
        if (data[i] != '=') {
            i++;
            continue;
        }
        for (k = i; k > 0 && rec__key_char(data[k - 1]); k--)
            ;
        if (!hj212rec_secret_key(data + k, i - k)) {
            i++;
            continue;
        }
        rc = buf_add(out, data + from, i + 1 - from);
        rc = rc ? rc : buf_addstr(out, "***");
        for (i++; i < len && !rec__value_end(data[i]); i++)
            ;
        from = i;
        masked = true;
    }
    rc = rc ? rc : buf_add(out, data + from, len - from);
    if (!rc && masked)
        rec__mask_crc(out);
    return rc;
}

/* ---- dead letters ------------------------------------------------------ */

int hj212rec_reject(struct hj212rec *r, const struct hj212rec_src *src, const char *mn,
                    const char *reason, const char *detail, const char *data, size_t len)
{
    struct buf *m = &r->msg;
    int rc;

    r->n.rejected++;
    if (hj212rec_mask(data, len, &r->mask)) {
        elog_warn("hj212: dead letter too large; dropped", "peer=%s reason=\"%s\"", src->peer,
                  reason);
        return 0;
    }
    if (r->mask.len != len || memcmp(r->mask.p, data, len) != 0) {
        data = r->mask.p;
        len = r->mask.len;
        if (strcmp(reason, "crc") == 0)
            detail = "does not match (the expected one is withheld: it depends on the password)";
    }
    buf_reset(m);
    rc = buf_addstr(m, "{\"reason\":\"");
    rc = rc ? rc : buf_add_json_str(m, reason, strlen(reason));
    if (!rc && detail && detail[0]) {
        rc = buf_addstr(m, ": ");
        rc = rc ? rc : buf_add_json_str(m, detail, strlen(detail));
    }
    rc = rc ? rc : buf_addstr(m, "\",\"peer\":");
    rc = rc ? rc : rec__add_jstr(m, src->peer, strlen(src->peer));
    if (!rc && mn && mn[0]) {
        rc = buf_addstr(m, ",\"mn\":");
        rc = rc ? rc : rec__add_jstr(m, mn, strlen(mn));
    }
    rc = rc ? rc : buf_addstr(m, ",\"frame\":");
    rc = rc ? rc : rec__add_jstr(m, data, len);
    rc = rc ? rc : buf_addc(m, '}');
    if (rc) {
        elog_warn("hj212: dead letter too large; dropped", "peer=%s reason=\"%s\"", src->peer,
                  reason);
        return 0;
    }
    elog_debug("hj212 frame refused", "peer=%s mn=%s reason=\"%s\"", src->peer,
               mn && mn[0] ? mn : "-", reason);
    return r->append(src->ud, HJ212REC_TOPIC_REJECT, src->peer, m->p, m->len);
}

/* ---- one frame --------------------------------------------------------- */

/* What one hj212rec_frame call works on. */
struct rec__call {
    struct hj212rec *r;
    const struct hj212rec_src *src;
    const struct hj212_frame *f;
    const char *data; /* the frame's bytes, for dead letters */
    size_t len;
    const struct reg_device *dev;
    struct hj212rec_out *out;
};

/* The frame is refused whole: the caller dead-letters it. */
static int rec__refuse(struct hj212rec_out *out, const char *reason, const char *detail)
{
    out->reason = reason;
    snprintf(out->detail, sizeof(out->detail), "%s", detail ? detail : "");
    return -EBADMSG;
}

/* ---- data uploads ------------------------------------------------------ */

static char rec__period(int cn)
{
    switch (cn) {
    case 2011:
        return 'r';
    case 2051:
        return 'm';
    case 2061:
        return 'h';
    case 2031:
        return 'd';
    }
    return 0;
}

static const char *rec__period_name(char p)
{
    return p == 'r' ? "rt" : p == 'm' ? "min" : p == 'h' ? "hour" : "day";
}

/* Adds "code" or "code-Suffix" to a ", "-separated list (capped: the rest
 * of a long list is in the dead-lettered frame itself). */
static void rec__why(struct buf *why, const char *code, const char *suffix)
{
    if (why->len)
        buf_addstr(why, ", ");
    buf_printf(why, "%s%s%s", code, suffix ? "-" : "", suffix ? suffix : "");
}

/* The CP items the codec refused on their own, as "text (why)", ", "-
 * separated, into out (the text is the logger's: printable ASCII only, a
 * credential's value masked as in hj212rec_mask). */
static void rec__rejected(const struct hj212_cp *cp, struct buf *out)
{
    buf_reset(out);
    for (size_t i = 0; i < cp->nbad; i++) {
        const struct hj212_bad *b = &cp->bad[i];
        const char *eq = memchr(b->text, '=', b->len);
        size_t show = eq && hj212rec_secret_key(b->text, (size_t)(eq - b->text))
                          ? (size_t)(eq - b->text) + 1
                          : b->len;
        if (out->len)
            buf_addstr(out, ", ");
        for (size_t k = 0; k < show; k++) {
            char ch = b->text[k];
            buf_addc(out, ch >= 0x20 && ch < 0x7f ? ch : '?');
        }
        buf_printf(out, "%s (%s)", show < b->len ? "***" : "", hj212_bad_str(b->why));
    }
    if (cp->nbad_total > cp->nbad)
        buf_printf(out, " and %zu more", cp->nbad_total - cp->nbad);
}

/* Adds one value to the readings message unless its parameter already has
 * one from this frame (first wins, as with repeated CP keys). */
static int rec__value(struct hj212rec *r, const struct reg_param *p, double v, char flag,
                      const struct reg_param **used, size_t *nused)
{
    struct buf *m = &r->msg;
    int rc;

    for (size_t i = 0; i < *nused; i++)
        if (used[i] == p)
            return 0;
    used[(*nused)++] = p;
    rc = buf_printf(m, "%s\"%s\":{\"v\":", *nused > 1 ? "," : "", p->code);
    rc = rc ? rc : rec__add_double(m, v);
    rc = rc ? rc : buf_printf(m, ",\"flag\":\"%c\"}", flag);
    r->n.values++;
    return rc;
}

/* A data upload (2011, 2051, 2061, 2031) becomes one canonical readings
 * message on eco/v1/in/<MN>:
 *   - ts: DataTime as RFC 3339 +08:00 (the period start for min/hour/day,
 *     the sampling instant for rt), period from the CN;
 *   - values: the primary value of each pollutant (-Rtd for 2011, -Avg for
 *     the others) under the parameter reg_hj212_param gives for (ST, code),
 *     with its -Flag (N when absent);
 *   - secondary values (-Min, -Max, -Cou, -Zs*, ...) only where the map has
 *     a row "<code>-<Suffix>"; otherwise they are ignored (counted).
 * Primary values whose code has no parameter, values whose flag is bad, and
 * the items the codec refused on their own (hj212_cp_data: misspelt, not a
 * number, ...) go to one dead letter per frame ("unmapped pollutant code:
 * ...; rejected fields: ...") with the whole frame; the rest of the frame
 * is stored and answered. */
static int rec__data(const struct rec__call *k, const struct reg *reg, char period)
{
    struct hj212rec *r = k->r;
    const struct hj212_frame *f = k->f;
    const struct reg_device *dev = k->dev;
    const struct hj212_cp *cp = r->cp;
    const char *st = dev->st[0] ? dev->st : f->st;
    const int primary = period == 'r' ? HJ212_RTD : HJ212_AVG;
    const struct reg_param **used = r->used;
    struct buf *m = &r->msg, *why = &r->why, *bad = &r->bad, *rej = &r->mask;
    struct hj212_pollutant pol;
    struct hj212_err err;
    char ts[ETIME_RFC3339_MAX], key[HJ212_CP_KEY_MAX + 8];
    size_t pos = 0, nused = 0;
    int64_t ts_us;
    int rc;

    if (hj212_cp_data(r->cp, k->out->cn, &ts_us, &err))
        return rec__refuse(k->out, hj212_reason_str(err.reason), err.detail);
    buf_reset(m);
    buf_reset(why);
    buf_reset(bad);
    etime_format(ts_us, ETIME_BEIJING_OFFSET, ts, sizeof(ts));
    rc = buf_printf(m, "{\"ts\":\"%s\",\"period\":\"%s\",\"values\":{", ts,
                    rec__period_name(period));
    while (!rc && hj212_cp_pollutant(cp, &pos, &pol) == 0) {
        char flag = pol.flag ? pol.flag : 'N';
        bool flag_ok = !pol.flag_bad && isalnum((unsigned char)flag) != 0;

        for (int vi = 0; vi < HJ212_NVALS && !rc; vi++) {
            const char *vname = hj212_val_name(vi);
            const struct reg_param *p;

            if (vi == HJ212_RS || vi == HJ212_RT || !(pol.seen & (1u << vi)))
                continue;
            if (vi == primary) {
                if (!(pol.has & (1u << vi)))
                    continue; /* empty: no value (a bad one is in cp->bad) */
                p = reg_hj212_param(reg, st, pol.code);
                if (!p) {
                    rec__why(why, pol.code, NULL);
                    continue;
                }
            } else {
                if (!(pol.has & (1u << vi)))
                    continue;
                snprintf(key, sizeof(key), "%s-%s", pol.code, vname);
                p = reg_hj212_param(reg, st, key);
                if (!p) {
                    r->n.ignored_values++;
                    continue;
                }
            }
            if (!flag_ok) {
                rec__why(bad, pol.code, "Flag");
                continue;
            }
            rc = rec__value(r, p, pol.v[vi], flag, used, &nused);
        }
    }
    rc = rc ? rc : buf_addstr(m, "}}");
    if (rc)
        return rec__refuse(k->out, "too_long", "the readings message does not fit");
    if (nused) {
        r->n.data_frames++;
        if ((rc = r->append(k->src->ud, HJ212REC_TOPIC_IN, dev->code, m->p, m->len)))
            return rc;
    }
    rec__rejected(r->cp, rej);
    if (why->len || bad->len || rej->len) {
        char reason[HJ212_DETAIL_MAX + 512];
        snprintf(
            reason, sizeof(reason), "%s%.*s%s%s%.*s%s%s%.*s",
            why->len ? "unmapped pollutant code: " : "", (int)(why->len > 200 ? 200 : why->len),
            why->len ? why->p : "", why->len && bad->len ? "; " : "", bad->len ? "bad flag: " : "",
            (int)(bad->len > 120 ? 120 : bad->len), bad->len ? bad->p : "",
            (why->len || bad->len) && rej->len ? "; " : "", rej->len ? "rejected fields: " : "",
            (int)(rej->len > 240 ? 240 : rej->len), rej->len ? rej->p : "");
        if (why->len)
            r->n.unmapped++;
        /* not a refusal of the frame: counted for the device, no streak */
        k->out->partial = why->len ? "unmapped pollutant code" : "rejected fields";
        rc = hj212rec_reject(r, k->src, dev->code, reason, NULL, k->data, k->len);
    }
    return rc;
}

/* ---- events ------------------------------------------------------------ */

static const char *rec__kind(int cn)
{
    switch (cn) {
    case 1011:
        return "system_time";
    case 1013:
        return "time_request";
    case 1061:
        return "rtd_interval";
    case 1063:
        return "min_interval";
    case 2021:
        return "equipment_state";
    case 2041:
        return "equipment_runtime";
    case 2081:
        return "restart";
    case 3015:
        return "sample_retention";
    case 3017:
        return "sampling_period";
    case 3018:
        return "sample_time";
    case 3019:
        return "instrument_sn";
    case 3020:
        return "device_info";
    case 9011:
        return "request_answer";
    case 9012:
        return "execution_result";
    case 9013:
        return "notify_answer";
    case 9014:
        return "data_answer";
    }
    return "other";
}

/* The event's time: DataTime, else RestartTime (2081) or SystemTime (1011). */
static bool rec__event_time(const struct hj212_cp *cp, int64_t *us)
{
    static const char *const keys[] = {"RestartTime", "SystemTime"};
    const char *v;
    size_t n;

    if (cp->has_datatime) {
        *us = cp->datatime_us;
        return true;
    }
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (hj212_cp_find(cp, keys[i], &v, &n) == 0 && n == 14 &&
            etime_parse_hj212(v, n, ETIME_BEIJING_OFFSET, us) == 0)
            return true;
    return false;
}

/* Any other upload, and the logger's answers, become one record on
 * $hj212/event/<MN>: the frame's fields and every CP item as text (the first
 * of repeated keys), which ingest stores in obs.device_event as jsonb. */
static int rec__event(const struct rec__call *k)
{
    struct hj212rec *r = k->r;
    const struct hj212_frame *f = k->f;
    const struct reg_device *dev = k->dev;
    const struct hj212_cp *cp = r->cp;
    struct buf *m = &r->msg;
    char ts[ETIME_RFC3339_MAX];
    int64_t us;
    size_t nkeys = 0;
    int rc;

    buf_reset(m);
    rc = buf_addstr(m, "{\"device\":");
    rc = rc ? rc : rec__add_jstr(m, dev->code, strlen(dev->code));
    rc = rc ? rc : buf_addstr(m, ",\"st\":");
    rc = rc ? rc : rec__add_jstr(m, f->st, strlen(f->st));
    rc = rc ? rc : buf_printf(m, ",\"cn\":\"%s\",\"kind\":\"%s\"", f->cn, rec__kind(k->out->cn));
    if (!rc && (f->fields & HJ212_F_QN)) {
        rc = buf_addstr(m, ",\"qn\":");
        rc = rc ? rc : rec__add_jstr(m, f->qn, strlen(f->qn));
    }
    if (!rc && f->flag >= 0)
        rc = buf_printf(m, ",\"flag\":%d", f->flag);
    if (!rc && f->pnum)
        rc = buf_printf(m, ",\"pnum\":%d,\"pno\":%d", f->pnum, f->pno);
    if (!rc && rec__event_time(cp, &us)) {
        etime_format(us, ETIME_BEIJING_OFFSET, ts, sizeof(ts));
        rc = buf_printf(m, ",\"ts\":\"%s\"", ts);
    }
    rc = rc ? rc : buf_addstr(m, ",\"peer\":");
    rc = rc ? rc : rec__add_jstr(m, k->src->peer, strlen(k->src->peer));
    rc = rc ? rc : buf_addstr(m, ",\"cp\":{");
    for (size_t i = 0; i < cp->nitems && !rc; i++) {
        const struct hj212_item *it = &cp->items[i];
        bool dup = false;
        for (size_t j = 0; j < i && !dup; j++)
            dup = cp->items[j].key_len == it->key_len &&
                  memcmp(cp->items[j].key, it->key, it->key_len) == 0;
        if (dup || it->bad)
            continue;
        rc = nkeys++ ? buf_addc(m, ',') : 0;
        rc = rc ? rc : rec__add_jstr(m, it->key, it->key_len);
        rc = rc ? rc : buf_addc(m, ':');
        if (hj212rec_secret_key(it->key, it->key_len))
            rc = rc ? rc : buf_addstr(m, "\"***\""); /* as hj212rec_mask */
        else
            rc = rc ? rc : rec__add_jstr(m, it->val, it->val_len);
    }
    rc = rc ? rc : buf_addstr(m, "}}");
    if (rc)
        return rc;
    r->n.events++;
    if ((rc = r->append(k->src->ud, HJ212REC_TOPIC_EVENT, dev->code, m->p, m->len)) ||
        !cp->nbad_total)
        return rc;
    /* items refused on their own: dead-lettered beside the event */
    char reason[HJ212_DETAIL_MAX + 256];
    rec__rejected(cp, &r->why);
    snprintf(reason, sizeof(reason), "rejected fields: %.*s",
             (int)(r->why.len > 240 ? 240 : r->why.len), r->why.p);
    return hj212rec_reject(r, k->src, dev->code, reason, NULL, k->data, k->len);
}

/* ---- the module -------------------------------------------------------- */

int hj212rec_frame(struct hj212rec *r, const struct hj212rec_src *src, const struct hj212_frame *f,
                   const char *data, size_t len, const struct reg *reg,
                   const struct reg_device *dev, struct hj212rec_out *out)
{
    struct rec__call k = {
        .r = r, .src = src, .f = f, .data = data, .len = len, .dev = dev, .out = out};
    struct hj212_err err;
    char period;

    memset(out, 0, sizeof(*out));
    out->cn = (int)strtol(f->cn, NULL, 10); /* the parser checked it: 4 digits */
    if (out->cn < 9000 && dev->st[0] && strcmp(dev->st, f->st) != 0) {
        /* the ST selects the code map: a wrong one would store wrong units */
        char detail[96];
        snprintf(detail, sizeof(detail), "frame ST=%s, registered %s", f->st, dev->st);
        return rec__refuse(out, "ST mismatch", detail);
    }
    if (hj212_cp_parse(f->cp, f->cp_len, r->cp, &err))
        return rec__refuse(out, hj212_reason_str(err.reason), err.detail);
    if (f->lax || r->cp->lax)
        r->n.lax++;
    if ((period = rec__period(out->cn)) != 0)
        return rec__data(&k, reg, period);
    if (out->cn == 9015)
        return 0; /* HJ 212-2025 heartbeat: keeps the link up, nothing to store */
    return rec__event(&k);
}

int hj212rec_init(struct hj212rec *r, hj212rec_append_fn append)
{
    memset(r, 0, sizeof(*r));
    r->cp = malloc(sizeof(*r->cp));
    if (!r->cp)
        return -ENOMEM;
    r->append = append;
    /* a readings message of 512 values is ~25 KiB; the caps stop a runaway */
    buf_init(&r->msg, 1u << 20);
    buf_init(&r->why, 4096);
    buf_init(&r->bad, 4096);
    buf_init(&r->mask, 2 * HJ212_FRAME_MAX + 1);
    return 0;
}

void hj212rec_close(struct hj212rec *r)
{
    buf_close(&r->msg);
    buf_close(&r->why);
    buf_close(&r->bad);
    buf_close(&r->mask);
    free(r->cp);
    r->cp = NULL;
}
