#include "hj212_frame.h"

#include "hj212_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- reasons and leniency names ------------------------------------- */

static const char *const hj212__reasons[HJ212_E_COUNT] = {
    [HJ212_OK] = "ok",
    [HJ212_E_HEADER] = "header",
    [HJ212_E_LENGTH] = "length",
    [HJ212_E_CRC] = "crc",
    [HJ212_E_TRUNCATED] = "truncated",
    [HJ212_E_TOO_LONG] = "too_long",
    [HJ212_E_QN] = "qn",
    [HJ212_E_ST] = "st",
    [HJ212_E_CN] = "cn",
    [HJ212_E_PW] = "pw",
    [HJ212_E_MN] = "mn",
    [HJ212_E_FLAG] = "flag",
    [HJ212_E_FIELD] = "field",
    [HJ212_E_CP] = "cp",
    [HJ212_E_TIME] = "time",
};

const char *hj212_reason_str(int reason)
{
    if (reason < 0 || reason >= HJ212_E_COUNT)
        return "unknown";
    return hj212__reasons[reason];
}

int hj212_qnrtn(int reason)
{
    switch (reason) {
    case HJ212_OK:
        return 1;
    case HJ212_E_PW:
        return 3;
    case HJ212_E_MN:
        return 4;
    case HJ212_E_ST:
        return 5;
    case HJ212_E_FLAG:
        return 6;
    case HJ212_E_QN:
        return 7;
    case HJ212_E_CN:
        return 8;
    case HJ212_E_CRC:
        return 9;
    default:
        return 100;
    }
}

static const char *const hj212__lax_names[] = {
    "crc_lower",   "no_crlf",     "lf_only",   "trailing_space", "len_chars",     "oversize",
    "order",       "no_qn",       "no_flag",   "zero_pad",       "split_no_d",    "extra_field",
    "cp_space",    "cp_empty",    "cp_dup",    "cp_bare_flag",   "split_no_pnum", "dup_field",
    "empty_field", "datatime_ms", "begin_end",
};
#define HJ212__NLAX (sizeof(hj212__lax_names) / sizeof(hj212__lax_names[0]))

const char *hj212_lax_name(unsigned bit)
{
    for (size_t i = 0; i < HJ212__NLAX; i++)
        if (bit == 1u << i)
            return hj212__lax_names[i];
    return NULL;
}

const char *hj212_lax_names(unsigned lax, char *out, size_t cap)
{
    size_t n = 0;

    if (cap == 0)
        return out;
    out[0] = '\0';
    for (size_t i = 0; i < HJ212__NLAX; i++) {
        if (!(lax & (1u << i)))
            continue;
        int w = snprintf(out + n, cap - n, "%s%s", n ? "," : "", hj212__lax_names[i]);
        if (w < 0 || (size_t)w >= cap - n) {
            out[n] = '\0'; /* cut at a whole name, never half of one */
            break;
        }
        n += (size_t)w;
    }
    return out;
}

const char *hj212_version_str(enum hj212_version v)
{
    switch (v) {
    case HJ212_V2005:
        return "2005";
    case HJ212_V2017:
        return "2017";
    case HJ212_V2025:
        return "2025";
    default:
        return "unknown";
    }
}

/* Sets the reason once: the first problem found is the one reported, the
 * way a reader of the frame would meet them. */
void hj212__fail(struct hj212_err *err, int reason, const char *fmt, ...)
{
    va_list ap;

    if (!err || err->reason != HJ212_OK)
        return;
    err->reason = reason;
    va_start(ap, fmt);
    vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
    va_end(ap);
}

/* Copies up to n bytes of untrusted input for a detail message: printable
 * ASCII only, so details are safe in logs, terminals and JSON. */
const char *hj212__show(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;

    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i == 24 && n > 28 && o + 4 < cap) { /* long values: keep the start */
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    out[o] = '\0';
    return out;
}

/* ---- CRC ------------------------------------------------------------ */

unsigned hj212_crc16(const void *data, size_t n)
{
    const unsigned char *p = data;
    unsigned reg = 0xFFFF;

    /* Appendix A: the byte meets the register's HIGH byte (shifted down);
     * the old low byte falls off. That is what makes it differ from
     * Modbus, which XORs into the low byte and keeps the high one. */
    for (size_t i = 0; i < n; i++) {
        reg = (reg >> 8) ^ p[i];
        for (int b = 0; b < 8; b++) {
            unsigned lsb = reg & 1u;
            reg >>= 1;
            if (lsb)
                reg ^= 0xA001u;
        }
    }
    return reg & 0xFFFFu;
}

/* ---- data-segment field checks (shared by parser and encoder) -------- */

int hj212__check_qn(const char *v, size_t n)
{
    if (n > HJ212_QN_MAX)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!hj212__is_digit(v[i]))
            return -1;
    return 0;
}

int hj212__check_st(const char *v, size_t n)
{
    if (n == 0 || n > HJ212_ST_MAX)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!hj212__is_alnum(v[i]))
            return -1;
    return 0;
}

int hj212__check_cn(const char *v, size_t n)
{
    if (n != HJ212_CN_MAX)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!hj212__is_digit(v[i]))
            return -1;
    return 0;
}

int hj212__check_pw(const char *v, size_t n)
{
    if (n > HJ212_PW_MAX)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c <= 0x20 || c >= 0x7f || c == ';')
            return -1;
    }
    return 0;
}

/* MN becomes part of MQTT topics and log lines: keep it to characters that
 * are inert there (no '/', '+', '#', spaces). */
int hj212__check_mn(const char *v, size_t n)
{
    if (n > HJ212_MN_MAX)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!hj212__is_alnum(v[i]) && v[i] != '_' && v[i] != '-' && v[i] != '.')
            return -1;
    return 0;
}

int hj212__check_xkey(const char *k, size_t n)
{
    if (n == 0 || n > HJ212_EXTRA_KEY_MAX || !hj212__is_alnum(k[0]) || hj212__is_digit(k[0]))
        return -1;
    for (size_t i = 1; i < n; i++)
        if (!hj212__is_alnum(k[i]) && k[i] != '_')
            return -1;
    return 0;
}

int hj212__check_xval(const char *v, size_t n)
{
    if (n > HJ212_EXTRA_VAL_MAX)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < 0x20 || c >= 0x7f || c == ';')
            return -1;
    }
    return 0;
}

/* Cross-field rules, after all fields are known: required fields, Flag
 * version, split consistency. Both the parser and the encoder use it; only
 * the encoder refuses Flag bit D without PNUM/PNO (the parser reads such a
 * frame as whole: "split_no_pnum"). */
void hj212__check_frame(const struct hj212_frame *f, bool encoding, struct hj212_err *err)
{
    if (!(f->fields & HJ212_F_ST))
        hj212__fail(err, HJ212_E_ST, "ST missing");
    if (!(f->fields & HJ212_F_CN))
        hj212__fail(err, HJ212_E_CN, "CN missing");
    if (!(f->fields & HJ212_F_PW))
        hj212__fail(err, HJ212_E_PW, "PW missing");
    if (!(f->fields & HJ212_F_MN))
        hj212__fail(err, HJ212_E_MN, "MN missing");
    if (f->fields & HJ212_F_FLAG) {
        if (f->flag < 0 || f->flag > 255)
            hj212__fail(err, HJ212_E_FLAG, "Flag %d not in 0..255", f->flag);
        else if (HJ212_FLAG_VERSION(f->flag) > 2)
            hj212__fail(err, HJ212_E_FLAG, "Flag=%d: unknown version bits %u", f->flag,
                        HJ212_FLAG_VERSION(f->flag));
    }
    bool has_pnum = f->fields & HJ212_F_PNUM, has_pno = f->fields & HJ212_F_PNO;
    if (has_pnum != has_pno)
        hj212__fail(err, HJ212_E_FIELD, "%s without %s", has_pnum ? "PNUM" : "PNO",
                    has_pnum ? "PNO" : "PNUM");
    else if (has_pnum && (f->pnum < 1 || f->pnum > 9999 || f->pno < 1 || f->pno > f->pnum))
        hj212__fail(err, HJ212_E_FIELD, "PNO=%d PNUM=%d: need 1 <= PNO <= PNUM", f->pno, f->pnum);
    else if (encoding && !has_pnum && (f->fields & HJ212_F_FLAG) && (f->flag & HJ212_FLAG_D))
        hj212__fail(err, HJ212_E_FIELD, "Flag=%d marks a split packet but PNUM/PNO missing",
                    f->flag);
}

/* ---- frame parser --------------------------------------------------- */

/* Standard order of the data-segment fields, for the "order" leniency. */
enum {
    HJ212__O_QN,
    HJ212__O_ST,
    HJ212__O_CN,
    HJ212__O_PW,
    HJ212__O_MN,
    HJ212__O_FLAG,
    HJ212__O_PNUM,
    HJ212__O_PNO,
    HJ212__O_CP
};

/* A 1..4 digit counter (PNUM, PNO) or the 1..3 digit Flag. */
static long hj212__small_uint(const char *v, size_t n, size_t maxdig, unsigned *lax)
{
    if (n == 0 || n > maxdig)
        return -1;
    long x = hj212__decimal(v, n);
    if (x >= 0 && n > 1 && v[0] == '0')
        *lax |= HJ212_LAX_ZERO_PAD;
    return x;
}

/* Does a repeated field carry the value already decoded for it? */
static bool hj212__same_field(const struct hj212_frame *f, unsigned bit, const char *v, size_t n)
{
    unsigned dummy = 0;
    long x;

    switch (bit) {
    case HJ212_F_QN:
        return hj212__eq(v, n, f->qn);
    case HJ212_F_ST:
        return hj212__eq(v, n, f->st);
    case HJ212_F_CN:
        return hj212__eq(v, n, f->cn);
    case HJ212_F_PW:
        return hj212__eq(v, n, f->pw);
    case HJ212_F_MN:
        return hj212__eq(v, n, f->mn);
    case HJ212_F_FLAG:
        x = hj212__small_uint(v, n, 3, &dummy);
        return x >= 0 && x == f->flag;
    case HJ212_F_PNUM:
        x = hj212__small_uint(v, n, 4, &dummy);
        return x >= 1 && x == f->pnum;
    case HJ212_F_PNO:
        x = hj212__small_uint(v, n, 4, &dummy);
        return x >= 1 && x == f->pno;
    }
    return false;
}

/* Decodes the fields of a data segment into f. Fields are "Name=value"
 * separated by ';'; CP comes last and runs to the end of the segment (its
 * own ';' belong to it), which is why the segment length, not a search for
 * "&&", delimits it. */
static void hj212__parse_fields(const char *s, size_t n, struct hj212_frame *f,
                                struct hj212_err *err)
{
    char show[40];
    size_t pos = 0;
    int last = -1;

    while (pos < n) {
        size_t k = pos, eq, end;
        int order = -1;

        if (s[pos] == ';') { /* ";;": an empty field, nothing lost */
            f->lax |= HJ212_LAX_EMPTY_FIELD;
            pos++;
            continue;
        }
        while (k < n && s[k] != '=' && s[k] != ';')
            k++;
        if (k >= n || s[k] != '=') {
            hj212__fail(err, HJ212_E_FIELD, "field without '=' at byte %zu: %s", pos,
                        hj212__show(s + pos, k - pos, show, sizeof(show)));
            return;
        }
        eq = k;
        const char *key = s + pos, *val = s + eq + 1;
        size_t klen = eq - pos;

        if (hj212__eq(key, klen, "CP")) {
            size_t vlen = n - eq - 1;
            if (last > HJ212__O_CP)
                f->lax |= HJ212_LAX_ORDER;
            if (vlen < 4 || memcmp(val, "&&", 2) != 0) {
                hj212__fail(err, HJ212_E_CP, "CP does not start with \"&&\"");
                return;
            }
            if (memcmp(val + vlen - 2, "&&", 2) != 0) {
                hj212__fail(err, HJ212_E_CP, "CP not closed by \"&&\" at the end of the segment");
                return;
            }
            f->fields |= HJ212_F_CP;
            f->cp = val + 2;
            f->cp_len = vlen - 4;
            if (f->cp_len > HJ212_CP_STD_MAX)
                f->lax |= HJ212_LAX_OVERSIZE;
            return;
        }
        end = eq + 1;
        while (end < n && s[end] != ';')
            end++;
        size_t vlen = end - eq - 1;

        unsigned bit = 0;
        if (hj212__eq(key, klen, "QN"))
            bit = HJ212_F_QN, order = HJ212__O_QN;
        else if (hj212__eq(key, klen, "ST"))
            bit = HJ212_F_ST, order = HJ212__O_ST;
        else if (hj212__eq(key, klen, "CN"))
            bit = HJ212_F_CN, order = HJ212__O_CN;
        else if (hj212__eq(key, klen, "PW"))
            bit = HJ212_F_PW, order = HJ212__O_PW;
        else if (hj212__eq(key, klen, "MN"))
            bit = HJ212_F_MN, order = HJ212__O_MN;
        else if (hj212__eq(key, klen, "Flag"))
            bit = HJ212_F_FLAG, order = HJ212__O_FLAG;
        else if (hj212__eq(key, klen, "PNUM"))
            bit = HJ212_F_PNUM, order = HJ212__O_PNUM;
        else if (hj212__eq(key, klen, "PNO"))
            bit = HJ212_F_PNO, order = HJ212__O_PNO;

        if (bit && (f->fields & bit)) {
            /* The same value twice says nothing new; two values leave us
             * to guess which one the logger meant. */
            if (hj212__same_field(f, bit, val, vlen))
                f->lax |= HJ212_LAX_DUP_FIELD;
            else
                hj212__fail(err, HJ212_E_FIELD, "field %s given twice with different values",
                            hj212__show(key, klen, show, sizeof(show)));
            pos = end + 1;
            continue;
        }
        if (order >= 0) {
            if (order < last)
                f->lax |= HJ212_LAX_ORDER;
            last = order;
        }
        switch (bit) {
        case HJ212_F_QN:
            if (hj212__check_qn(val, vlen))
                hj212__fail(err, HJ212_E_QN, "QN must be up to %d digits: %s", HJ212_QN_MAX,
                            hj212__show(val, vlen, show, sizeof(show)));
            else
                hj212__copy(f->qn, val, vlen), f->fields |= bit;
            break;
        case HJ212_F_ST:
            if (hj212__check_st(val, vlen))
                hj212__fail(err, HJ212_E_ST, "ST must be 1..%d letters or digits: %s", HJ212_ST_MAX,
                            hj212__show(val, vlen, show, sizeof(show)));
            else
                hj212__copy(f->st, val, vlen), f->fields |= bit;
            break;
        case HJ212_F_CN:
            if (hj212__check_cn(val, vlen))
                hj212__fail(err, HJ212_E_CN, "CN must be 4 digits: %s",
                            hj212__show(val, vlen, show, sizeof(show)));
            else
                hj212__copy(f->cn, val, vlen), f->fields |= bit;
            break;
        case HJ212_F_PW:
            if (hj212__check_pw(val, vlen))
                hj212__fail(err, HJ212_E_PW, "PW must be up to %d printable characters",
                            HJ212_PW_MAX); /* never echo a password */
            else
                hj212__copy(f->pw, val, vlen), f->fields |= bit;
            break;
        case HJ212_F_MN:
            if (hj212__check_mn(val, vlen))
                hj212__fail(err, HJ212_E_MN, "MN must be up to %d of [A-Za-z0-9_.-]: %s",
                            HJ212_MN_MAX, hj212__show(val, vlen, show, sizeof(show)));
            else
                hj212__copy(f->mn, val, vlen), f->fields |= bit;
            break;
        case HJ212_F_FLAG: {
            long x = hj212__small_uint(val, vlen, 3, &f->lax);
            if (x < 0 || x > 255)
                hj212__fail(err, HJ212_E_FLAG, "Flag must be 0..255: %s",
                            hj212__show(val, vlen, show, sizeof(show)));
            else
                f->flag = (int)x, f->fields |= bit;
            break;
        }
        case HJ212_F_PNUM:
        case HJ212_F_PNO: {
            long x = hj212__small_uint(val, vlen, 4, &f->lax);
            if (x < 1)
                hj212__fail(err, HJ212_E_FIELD, "%s must be 1..9999: %s",
                            bit == HJ212_F_PNUM ? "PNUM" : "PNO",
                            hj212__show(val, vlen, show, sizeof(show)));
            else if (bit == HJ212_F_PNUM)
                f->pnum = (int)x, f->fields |= bit;
            else
                f->pno = (int)x, f->fields |= bit;
            break;
        }
        default:
            /* Unknown field: kept, so the gateway can see e.g. 2025's RF=1. */
            if (hj212__check_xkey(key, klen) || hj212__check_xval(val, vlen))
                hj212__fail(err, HJ212_E_FIELD, "malformed field %s",
                            hj212__show(key, klen, show, sizeof(show)));
            else if (f->nextra >= HJ212_EXTRA_MAX)
                hj212__fail(err, HJ212_E_FIELD, "more than %d unknown fields", HJ212_EXTRA_MAX);
            else {
                struct hj212_extra *x = &f->extra[f->nextra++];
                hj212__copy(x->key, key, klen);
                hj212__copy(x->val, val, vlen);
                f->lax |= HJ212_LAX_EXTRA;
            }
            break;
        }
        pos = end + 1;
    }
    hj212__fail(err, HJ212_E_CP, "no CP field");
}

/* UTF-8 characters in s: bytes that are not continuation bytes. */
static size_t hj212__utf8_chars(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

int hj212_parse_frame(const char *buf, size_t len, struct hj212_frame *f, struct hj212_err *err)
{
    struct hj212_err local;
    char show[24];
    bool lower = false;

    if (!err)
        err = &local;
    memset(err, 0, sizeof(*err));
    memset(f, 0, sizeof(*f));
    f->flag = -1;
    f->declared_len = -1;

    if (len < 2 || buf[0] != '#' || buf[1] != '#') {
        hj212__fail(err, HJ212_E_HEADER, "frame does not start with \"##\"");
        return -EBADMSG;
    }
    /* The terminator: CR LF is standard; LF only, nothing at all, or stray
     * whitespace are tolerated because the CRC already vouches for the
     * content. */
    size_t n = len;
    while (n > 6 && hj212__is_ws(buf[n - 1]))
        n--;
    if (n == len)
        f->lax |= HJ212_LAX_NO_TERM;
    else if (len - n == 1 && buf[n] == '\n')
        f->lax |= HJ212_LAX_LF_ONLY;
    else if (!(len - n == 2 && buf[n] == '\r' && buf[n + 1] == '\n'))
        f->lax |= HJ212_LAX_TRAIL_WS;

    if (n < 6) {
        hj212__fail(err, HJ212_E_TRUNCATED, "frame ends inside the length field");
        return -EBADMSG;
    }
    long declared = hj212__decimal(buf + 2, 4);
    if (declared < 0) {
        hj212__fail(err, HJ212_E_LENGTH, "length field is not 4 digits: %s",
                    hj212__show(buf + 2, 4, show, sizeof(show)));
        return -EBADMSG;
    }
    f->declared_len = (int)declared;
    if (n < 10) {
        hj212__fail(err, HJ212_E_TRUNCATED, "frame ends before a CRC (%zu bytes)", len);
        return -EBADMSG;
    }

    /* The actual segment: what lies between the length field and the last
     * 4 characters. Fields are decoded from it even when the verdict will be
     * negative, so a refusal can still say which device sent what. */
    const char *seg = buf + 6;
    size_t seg_len = n - 10;
    const char *crc_txt = buf + n - 4;
    f->seg_len = seg_len;
    f->crc = hj212_crc16(seg, seg_len);
    int rx = hj212__hex4(crc_txt, &lower);

    struct hj212_err ferr = {0};
    for (size_t i = 0; i < seg_len; i++) {
        if (hj212__is_ctl(seg[i])) {
            hj212__fail(&ferr, HJ212_E_FIELD, "control character 0x%02x at byte %zu",
                        (unsigned char)seg[i], i);
            break;
        }
    }
    hj212__parse_fields(seg, seg_len, f, &ferr);
    hj212__check_frame(f, false, &ferr);

    if ((size_t)declared != seg_len) {
        /* Some loggers count characters, not bytes, when the CP carries
         * UTF-8 text (spec §3): accept that only when the CRC confirms the
         * bytes are what was sent. */
        if ((size_t)declared == hj212__utf8_chars(seg, seg_len) && rx >= 0 &&
            (unsigned)rx == f->crc) {
            f->lax |= HJ212_LAX_LEN_CHARS;
        } else {
            hj212__fail(err, HJ212_E_LENGTH,
                        "declared %04ld, actual %zu bytes (CRC over the actual bytes %s)", declared,
                        seg_len, rx >= 0 && (unsigned)rx == f->crc ? "matches" : "does not match");
            return -EBADMSG;
        }
    }
    if (rx < 0) {
        hj212__fail(err, HJ212_E_CRC, "CRC is not 4 hex digits: %s",
                    hj212__show(crc_txt, 4, show, sizeof(show)));
        return -EBADMSG;
    }
    if ((unsigned)rx != f->crc) {
        hj212__fail(err, HJ212_E_CRC, "expected %04X, got %s", f->crc,
                    hj212__show(crc_txt, 4, show, sizeof(show)));
        return -EBADMSG;
    }
    if (lower)
        f->lax |= HJ212_LAX_CRC_LOWER;
    if (seg_len > HJ212_SEG_STD_MAX)
        f->lax |= HJ212_LAX_OVERSIZE;

    if (f->fields & HJ212_F_FLAG) {
        unsigned v = HJ212_FLAG_VERSION(f->flag);
        f->version = v == 0   ? HJ212_V2005
                     : v == 1 ? HJ212_V2017
                     : v == 2 ? HJ212_V2025
                              : HJ212_V_UNKNOWN;
        f->ack = (f->flag & HJ212_FLAG_A) != 0;
        /* D without PNUM/PNO (common in the field): the frame is complete
         * by its length and CRC, so it is read as one whole packet. */
        if ((f->flag & HJ212_FLAG_D) && !(f->fields & HJ212_F_PNUM))
            f->lax |= HJ212_LAX_SPLIT_NO_PNUM;
    } else {
        /* 2005 loggers commonly omit Flag (and QN) in uploads. */
        f->version = HJ212_V2005;
        f->lax |= HJ212_LAX_NO_FLAG;
    }
    if (!(f->fields & HJ212_F_QN))
        f->lax |= HJ212_LAX_NO_QN;
    if (f->fields & HJ212_F_PNUM) {
        f->split = true;
        if ((f->fields & HJ212_F_FLAG) && !(f->flag & HJ212_FLAG_D))
            f->lax |= HJ212_LAX_SPLIT_NO_D;
    }
    if (ferr.reason != HJ212_OK) {
        *err = ferr;
        return -EBADMSG;
    }
    return 0;
}
