#include "hj212_enc.h"

#include "etime.h"
#include "hj212_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ---- encoder -------------------------------------------------------- */

/* A bounded appender: with p NULL it only counts, which lets the encoder
 * size the segment exactly before writing anything. */
struct hj212__out {
    char *p;
    size_t len;
};

static void hj212__put(struct hj212__out *o, const char *s, size_t n)
{
    if (o->p)
        memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void hj212__puts(struct hj212__out *o, const char *s)
{
    hj212__put(o, s, strlen(s));
}

static void hj212__put_field(struct hj212__out *o, const char *key, const char *val)
{
    hj212__puts(o, key);
    hj212__puts(o, "=");
    hj212__puts(o, val);
    hj212__puts(o, ";");
}

/* Checks a field the way the parser would, so that what we send is what
 * we accept. */
static void hj212__enc_check(const struct hj212_frame *f, struct hj212_err *err)
{
    if ((f->fields & HJ212_F_QN) && hj212__check_qn(f->qn, strnlen(f->qn, sizeof(f->qn))))
        hj212__fail(err, HJ212_E_QN, "QN must be up to %d digits", HJ212_QN_MAX);
    if ((f->fields & HJ212_F_ST) && hj212__check_st(f->st, strnlen(f->st, sizeof(f->st))))
        hj212__fail(err, HJ212_E_ST, "ST must be 1..%d letters or digits", HJ212_ST_MAX);
    if ((f->fields & HJ212_F_CN) && hj212__check_cn(f->cn, strnlen(f->cn, sizeof(f->cn))))
        hj212__fail(err, HJ212_E_CN, "CN must be 4 digits");
    if ((f->fields & HJ212_F_PW) && hj212__check_pw(f->pw, strnlen(f->pw, sizeof(f->pw))))
        hj212__fail(err, HJ212_E_PW, "PW must be up to %d printable characters", HJ212_PW_MAX);
    if ((f->fields & HJ212_F_MN) && hj212__check_mn(f->mn, strnlen(f->mn, sizeof(f->mn))))
        hj212__fail(err, HJ212_E_MN, "MN must be up to %d of [A-Za-z0-9_.-]", HJ212_MN_MAX);
    if (f->nextra > HJ212_EXTRA_MAX)
        hj212__fail(err, HJ212_E_FIELD, "more than %d unknown fields", HJ212_EXTRA_MAX);
    for (size_t i = 0; i < f->nextra && i < HJ212_EXTRA_MAX; i++) {
        static const char *const std[] = {"QN",   "ST",   "CN",  "PW", "MN",
                                          "Flag", "PNUM", "PNO", "CP"};
        const struct hj212_extra *x = &f->extra[i];
        size_t kl = strnlen(x->key, sizeof(x->key)), vl = strnlen(x->val, sizeof(x->val));
        bool known = false;

        for (size_t j = 0; j < sizeof(std) / sizeof(std[0]); j++)
            known |= hj212__eq(x->key, kl, std[j]);
        if (known || kl == sizeof(x->key) || vl == sizeof(x->val) ||
            hj212__check_xkey(x->key, kl) || hj212__check_xval(x->val, vl))
            hj212__fail(err, HJ212_E_FIELD, "malformed unknown field %zu", i);
    }
    if (f->cp_len && !f->cp)
        hj212__fail(err, HJ212_E_CP, "CP text missing");
    for (size_t i = 0; i < f->cp_len && f->cp; i++) {
        if (hj212__is_ctl(f->cp[i])) {
            hj212__fail(err, HJ212_E_CP, "control character in CP at byte %zu", i);
            break;
        }
    }
    hj212__check_frame(f, true, err);
}

/* Writes (or, with o->p NULL, measures) the data segment. */
static void hj212__put_segment(struct hj212__out *o, const struct hj212_frame *f)
{
    char num[16];

    if (f->fields & HJ212_F_QN)
        hj212__put_field(o, "QN", f->qn);
    if (f->fields & HJ212_F_ST)
        hj212__put_field(o, "ST", f->st);
    if (f->fields & HJ212_F_CN)
        hj212__put_field(o, "CN", f->cn);
    if (f->fields & HJ212_F_PW)
        hj212__put_field(o, "PW", f->pw);
    if (f->fields & HJ212_F_MN)
        hj212__put_field(o, "MN", f->mn);
    if (f->fields & HJ212_F_FLAG) {
        snprintf(num, sizeof(num), "%d", f->flag);
        hj212__put_field(o, "Flag", num);
    }
    if (f->fields & HJ212_F_PNUM) {
        snprintf(num, sizeof(num), "%d", f->pnum);
        hj212__put_field(o, "PNUM", num);
        snprintf(num, sizeof(num), "%d", f->pno);
        hj212__put_field(o, "PNO", num);
    }
    for (size_t i = 0; i < f->nextra; i++)
        hj212__put_field(o, f->extra[i].key, f->extra[i].val);
    hj212__puts(o, "CP=&&");
    if (f->cp_len)
        hj212__put(o, f->cp, f->cp_len);
    hj212__puts(o, "&&");
}

int hj212_encode(const struct hj212_frame *f, char *out, size_t cap, size_t *len,
                 struct hj212_err *err)
{
    struct hj212_err local;
    struct hj212__out o = {NULL, 0};
    char head[32], tail[16];

    if (!err)
        err = &local;
    memset(err, 0, sizeof(*err));
    hj212__enc_check(f, err);
    if (err->reason != HJ212_OK)
        return -EINVAL;
    hj212__put_segment(&o, f);
    size_t seg_len = o.len;
    if (seg_len > HJ212_SEG_MAX)
        return -EMSGSIZE;
    if (cap < HJ212_FRAME_LEN(seg_len) + 1) /* the NUL too */
        return -ENOSPC;

    /* The segment goes straight to its place after "##LLLL". */
    o.p = out + 6;
    o.len = 0;
    hj212__put_segment(&o, f);
    snprintf(head, sizeof(head), "##%04zu", seg_len);
    memcpy(out, head, 6);
    snprintf(tail, sizeof(tail), "%04X\r\n", hj212_crc16(out + 6, seg_len));
    memcpy(out + 6 + seg_len, tail, 7); /* with the NUL */
    *len = HJ212_FRAME_LEN(seg_len);
    return 0;
}

int hj212_encode_answer(const struct hj212_frame *req, int cn, char *out, size_t cap, size_t *len)
{
    struct hj212_frame a;

    if (cn != 9013 && cn != 9014)
        return -EINVAL;
    /* An unasked 9014 confuses loggers that do not expect one (spec §12). */
    if (cn == 9014 && !((req->fields & HJ212_F_FLAG) && (req->flag & HJ212_FLAG_A)))
        return -EINVAL;
    memset(&a, 0, sizeof(a));
    a.fields = HJ212_F_ST | HJ212_F_CN | HJ212_F_PW | HJ212_F_MN | HJ212_F_CP;
    if (req->fields & HJ212_F_QN) {
        a.fields |= HJ212_F_QN;
        memcpy(a.qn, req->qn, sizeof(a.qn));
    }
    memcpy(a.st, "91", 3);
    memcpy(a.cn, cn == 9013 ? "9013" : "9014", 5);
    memcpy(a.pw, req->pw, sizeof(a.pw));
    memcpy(a.mn, req->mn, sizeof(a.mn));
    if (req->fields & HJ212_F_FLAG) {
        /* Same version as the packet answered; no answer wanted, not split. */
        a.fields |= HJ212_F_FLAG;
        a.flag = (int)(HJ212_FLAG_VERSION(req->flag) << 2);
    }
    return hj212_encode(&a, out, cap, len, NULL);
}

int hj212_encode_set_time(const struct hj212_frame *station, int64_t qn_us, int64_t now_us,
                          const char *polid, char *out, size_t cap, size_t *len)
{
    struct hj212_frame r;
    char when[18], cp[64];
    unsigned vbits;

    if (polid) {
        size_t n = strlen(polid);
        if (n == 0 || n > 16)
            return -EINVAL;
        for (size_t i = 0; i < n; i++)
            if (!hj212__is_alnum(polid[i]))
                return -EINVAL;
    }
    switch (station->version) {
    case HJ212_V2005:
        vbits = 0;
        break;
    case HJ212_V2017:
        vbits = 1;
        break;
    case HJ212_V2025:
        vbits = 2;
        break;
    default:
        return -EINVAL;
    }
    memset(&r, 0, sizeof(r));
    r.fields =
        HJ212_F_QN | HJ212_F_ST | HJ212_F_CN | HJ212_F_PW | HJ212_F_MN | HJ212_F_FLAG | HJ212_F_CP;
    etime_format_hj212(qn_us, ETIME_BEIJING_OFFSET, 1, when);
    memcpy(r.qn, when, 18);
    memcpy(r.st, station->st, sizeof(r.st));
    memcpy(r.cn, "1012", 5);
    memcpy(r.pw, station->pw, sizeof(r.pw));
    memcpy(r.mn, station->mn, sizeof(r.mn));
    r.flag = (int)(vbits << 2 | HJ212_FLAG_A);
    etime_format_hj212(now_us, ETIME_BEIJING_OFFSET, 0, when);
    int w = polid ? snprintf(cp, sizeof(cp), "PolId=%s;SystemTime=%s", polid, when)
                  : snprintf(cp, sizeof(cp), "SystemTime=%s", when);
    if (w < 0 || (size_t)w >= sizeof(cp))
        return -EINVAL;
    r.cp = cp;
    r.cp_len = (size_t)w;
    return hj212_encode(&r, out, cap, len, NULL);
}
