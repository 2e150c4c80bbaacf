#include "hj212.h"

#include "etime.h"

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
__attribute__((format(printf, 3, 4))) static void hj212__fail(struct hj212_err *err, int reason,
                                                              const char *fmt, ...)
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
static const char *hj212__show(const char *s, size_t n, char *out, size_t cap)
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

/* ---- small character helpers ---------------------------------------- */

static int hj212__hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static bool hj212__is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool hj212__is_alnum(char c)
{
    return hj212__is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool hj212__is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Control characters have no place in a data segment; tab is tolerated as
 * whitespace inside CP. */
static bool hj212__is_ctl(char c)
{
    unsigned char u = (unsigned char)c;
    return (u < 0x20 && u != '\t') || u == 0x7f;
}

/* n decimal digits -> value; -1 if any is not a digit. n <= 9. */
static long hj212__decimal(const char *s, size_t n)
{
    long v = 0;
    if (n == 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (!hj212__is_digit(s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* 4 hex digits -> value, -1 if not hex; *lower set when any is a-f. */
static int hj212__hex4(const char *s, bool *lower)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hj212__hexval(s[i]);
        if (h < 0)
            return -1;
        if (lower && s[i] >= 'a')
            *lower = true;
        v = v * 16 + h;
    }
    return v;
}

static bool hj212__eq(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(s, lit, n) == 0;
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

static int hj212__check_qn(const char *v, size_t n)
{
    if (n > HJ212_QN_MAX)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!hj212__is_digit(v[i]))
            return -1;
    return 0;
}

static int hj212__check_st(const char *v, size_t n)
{
    if (n == 0 || n > HJ212_ST_MAX)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!hj212__is_alnum(v[i]))
            return -1;
    return 0;
}

static int hj212__check_cn(const char *v, size_t n)
{
    if (n != HJ212_CN_MAX)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!hj212__is_digit(v[i]))
            return -1;
    return 0;
}

static int hj212__check_pw(const char *v, size_t n)
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
static int hj212__check_mn(const char *v, size_t n)
{
    if (n > HJ212_MN_MAX)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!hj212__is_alnum(v[i]) && v[i] != '_' && v[i] != '-' && v[i] != '.')
            return -1;
    return 0;
}

static int hj212__check_xkey(const char *k, size_t n)
{
    if (n == 0 || n > HJ212_EXTRA_KEY_MAX || !hj212__is_alnum(k[0]) || hj212__is_digit(k[0]))
        return -1;
    for (size_t i = 1; i < n; i++)
        if (!hj212__is_alnum(k[i]) && k[i] != '_')
            return -1;
    return 0;
}

static int hj212__check_xval(const char *v, size_t n)
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
static void hj212__check_frame(const struct hj212_frame *f, bool encoding, struct hj212_err *err)
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

static void hj212__copy(char *dst, const char *src, size_t n)
{
    memcpy(dst, src, n);
    dst[n] = '\0';
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

/* ---- CP parser ------------------------------------------------------ */

int hj212_parse_number(const char *s, size_t len, double *out)
{
    /* Exact powers of ten: doubles represent 1e0..1e22 exactly, so one
     * multiplication or division rounds correctly for up to 15 significant
     * digits, without strtod's dependence on the locale. */
    static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    size_t i = 0;
    bool neg = false, dot = false;
    uint64_t mant = 0;
    int sig = 0, exp10 = 0, digits = 0;

    if (len == 0 || len > 40)
        return -EBADMSG;
    if (s[0] == '+' || s[0] == '-')
        neg = s[i++] == '-';
    for (; i < len; i++) {
        if (s[i] == '.') {
            if (dot)
                return -EBADMSG;
            dot = true;
            continue;
        }
        if (!hj212__is_digit(s[i]))
            return -EBADMSG;
        digits++;
        if (mant == 0 && s[i] == '0') { /* leading zeros are not significant */
            if (dot)
                exp10--;
            continue;
        }
        if (sig < 19) {
            mant = mant * 10 + (uint64_t)(s[i] - '0');
            sig++;
            if (dot)
                exp10--;
        } else if (!dot) {
            exp10++; /* integer digits beyond what we keep still scale */
        }
    }
    if (digits == 0)
        return -EBADMSG;
    double v = (double)mant;
    while (exp10 < -22) {
        v /= 1e22;
        exp10 += 22;
    }
    while (exp10 > 22) {
        v *= 1e22;
        exp10 -= 22;
    }
    v = exp10 < 0 ? v / p10[-exp10] : v * p10[exp10];
    *out = neg ? -v : v;
    return 0;
}

static bool hj212__is_key_char(char c)
{
    return hj212__is_alnum(c) || c == '-' || c == '_';
}

static bool hj212__is_sp(char c)
{
    return c == ' ' || c == '\t';
}

/* Finds the end of a //text// value starting at s[i] (just past the
 * opening "//"): the first "//" followed by optional spaces and then a
 * separator or the end. Text may itself contain "//" (a URL) or ';'.
 * Returns the index of the closing "//", or n if unterminated. */
static size_t hj212__text_end(const char *s, size_t i, size_t n)
{
    for (; i + 1 < n; i++) {
        if (s[i] != '/' || s[i + 1] != '/')
            continue;
        size_t j = i + 2;
        while (j < n && hj212__is_sp(s[j]))
            j++;
        if (j == n || s[j] == ';' || s[j] == ',')
            return i;
    }
    return n;
}

/* Items whose key has no code but is "Flag" belong to a neighbour in their
 * group (real loggers write "w01018-Rtd=2.2,Flag=N"). */
static void hj212__bind_bare_flags(struct hj212_cp *cp)
{
    for (size_t i = 0; i < cp->nitems; i++) {
        struct hj212_item *it = &cp->items[i];
        if (it->code || !hj212__eq(it->key, it->key_len, "Flag"))
            continue;
        const struct hj212_item *nb = NULL;
        for (size_t j = i; j-- > 0 && cp->items[j].group == it->group;)
            if (cp->items[j].code && cp->items[j].code == cp->items[j].key) {
                nb = &cp->items[j];
                break;
            }
        for (size_t j = i + 1; !nb && j < cp->nitems && cp->items[j].group == it->group; j++)
            if (cp->items[j].code && cp->items[j].code == cp->items[j].key)
                nb = &cp->items[j];
        if (nb) {
            it->code = nb->code;
            it->code_len = nb->code_len;
            cp->lax |= HJ212_LAX_CP_BARE_FLAG;
        }
    }
}

static const char *const hj212__bad_names[HJ212_BAD_COUNT] = {
    [HJ212_BAD_SYNTAX] = "syntax",   [HJ212_BAD_CONFLICT] = "conflict",
    [HJ212_BAD_UNKNOWN] = "unknown", [HJ212_BAD_NUMBER] = "number",
    [HJ212_BAD_FLAG] = "flag",       [HJ212_BAD_TIME] = "time",
};

const char *hj212_bad_str(int why)
{
    if (why <= 0 || why >= HJ212_BAD_COUNT)
        return "unknown";
    return hj212__bad_names[why];
}

/* Lists a refused stretch of CP text (counted always, listed up to the
 * bound: the dead letter keeps the whole frame anyway). */
static void hj212__bad(struct hj212_cp *cp, const char *text, size_t len, int why)
{
    cp->nbad_total++;
    if (cp->nbad >= HJ212_BAD_MAX)
        return;
    struct hj212_bad *b = &cp->bad[cp->nbad++];
    b->text = text;
    b->len = (uint16_t)(len > HJ212_BAD_TEXT_MAX ? HJ212_BAD_TEXT_MAX : len);
    b->why = (uint8_t)why;
}

/* Refuses one item: marked (lookups skip it) and listed as written. */
static void hj212__bad_item(struct hj212_cp *cp, struct hj212_item *it, int why)
{
    if (it->bad)
        return;
    it->bad = true;
    const char *end = it->val + it->val_len + (it->text ? 2 : 0);
    hj212__bad(cp, it->key, (size_t)(end - it->key), why);
}

/* The suffix of an item: what follows "code-", or the key of a bare Flag
 * bound to a code. Items without a code have none. */
static const char *hj212__suffix(const struct hj212_item *it, size_t *len)
{
    if (it->code != it->key) {
        *len = it->key_len;
        return it->key;
    }
    *len = (size_t)it->key_len - it->code_len - 1;
    return it->key + it->code_len + 1;
}

/* Do two items say something about the same thing? "w01018-Flag" and a
 * bare "Flag" bound to w01018 do; two bare Flags of different codes do not. */
static bool hj212__same_item(const struct hj212_item *a, const struct hj212_item *b)
{
    if (!a->code || !b->code)
        return !a->code && !b->code && a->key_len == b->key_len &&
               memcmp(a->key, b->key, a->key_len) == 0;
    size_t al, bl;
    const char *as = hj212__suffix(a, &al), *bs = hj212__suffix(b, &bl);
    return a->code_len == b->code_len && memcmp(a->code, b->code, a->code_len) == 0 && al == bl &&
           memcmp(as, bs, al) == 0;
}

/* Repeated items: the same value again is harmless ("cp_dup"); another
 * value leaves no way to tell which is meant, so every item of that key is
 * refused ("conflict"). DataTime dates the whole frame: two of them
 * refuse the frame. */
static int hj212__repeats(struct hj212_cp *cp, struct hj212_err *err)
{
    for (size_t i = 1; i < cp->nitems; i++) {
        struct hj212_item *it = &cp->items[i];
        for (size_t j = 0; j < i; j++) {
            struct hj212_item *o = &cp->items[j];
            if (!hj212__same_item(o, it))
                continue;
            if (o->text == it->text && o->val_len == it->val_len &&
                memcmp(o->val, it->val, it->val_len) == 0) {
                cp->lax |= HJ212_LAX_CP_DUP;
                continue;
            }
            if (!it->code && hj212__eq(it->key, it->key_len, "DataTime")) {
                hj212__fail(err, HJ212_E_TIME, "DataTime given twice with different values");
                return -EBADMSG;
            }
            hj212__bad_item(cp, o, HJ212_BAD_CONFLICT);
            hj212__bad_item(cp, it, HJ212_BAD_CONFLICT);
        }
    }
    return 0;
}

/* An item that is not key=value (or whose key is malformed) runs to the
 * next separator: refused on its own, the items around it stand. Only when
 * it holds "//" can its end not be told (text may hold separators), and
 * then nothing after it can be trusted. Returns the index of the separator
 * (or n), or 0 after setting err. */
static size_t hj212__skip_bad(struct hj212_cp *cp, const char *s, size_t ks, size_t n,
                              struct hj212_err *err)
{
    char show[40];
    size_t e = ks;

    for (; e < n && s[e] != ';' && s[e] != ','; e++) {
        if (hj212__is_ctl(s[e])) {
            hj212__fail(err, HJ212_E_CP, "control character 0x%02x at byte %zu",
                        (unsigned char)s[e], e);
            return 0;
        }
        if (s[e] == '/' && e + 1 < n && s[e + 1] == '/') {
            hj212__fail(err, HJ212_E_CP, "item without key=value at byte %zu: %s", ks,
                        hj212__show(s + ks, (n - ks) < 24 ? n - ks : 24, show, sizeof(show)));
            return 0;
        }
    }
    hj212__bad(cp, s + ks, e - ks, HJ212_BAD_SYNTAX);
    return e;
}

int hj212_cp_parse(const char *s, size_t n, struct hj212_cp *cp, struct hj212_err *err)
{
    struct hj212_err local;
    char show[40];
    size_t i = 0;
    unsigned group = 0;

    if (!err)
        err = &local;
    memset(err, 0, sizeof(*err));
    cp->text = s;
    cp->len = n;
    cp->lax = 0;
    cp->has_datatime = false;
    cp->datatime[0] = '\0';
    cp->datatime_us = 0;
    cp->nitems = 0;
    cp->nbad = cp->nbad_total = 0;
    if (n > HJ212_SEG_MAX) {
        hj212__fail(err, HJ212_E_CP, "CP of %zu bytes exceeds %d", n, HJ212_SEG_MAX);
        return -EBADMSG;
    }

    while (i < n) {
        size_t ks, ke, vs, ve;
        bool text = false;

        while (i < n && hj212__is_sp(s[i]))
            i++, cp->lax |= HJ212_LAX_CP_SPACE;
        if (i < n && (s[i] == ';' || s[i] == ',')) { /* empty item */
            cp->lax |= HJ212_LAX_CP_EMPTY;
            group += s[i] == ';';
            i++;
            continue;
        }
        if (i >= n)
            break;
        ks = i;
        while (i < n && hj212__is_key_char(s[i]))
            i++;
        ke = i;
        while (i < n && hj212__is_sp(s[i]))
            i++, cp->lax |= HJ212_LAX_CP_SPACE;
        if (ke == ks || i >= n || s[i] != '=' || ke - ks > HJ212_CP_KEY_MAX) {
            if ((i = hj212__skip_bad(cp, s, ks, n, err)) == 0)
                return -EBADMSG;
            if (i < n) {
                group += s[i] == ';';
                if (i + 1 == n)
                    cp->lax |= HJ212_LAX_CP_EMPTY;
                i++;
            }
            continue;
        }
        i++; /* '=' */
        while (i < n && hj212__is_sp(s[i]))
            i++, cp->lax |= HJ212_LAX_CP_SPACE;
        if (i + 1 < n && s[i] == '/' && s[i + 1] == '/') {
            /* Opaque UTF-8 text (logs): may hold ';' and ','. */
            vs = i + 2;
            ve = hj212__text_end(s, vs, n);
            if (ve >= n) {
                hj212__fail(err, HJ212_E_CP, "unterminated //text// at byte %zu", i);
                return -EBADMSG;
            }
            text = true;
            i = ve + 2;
            while (i < n && hj212__is_sp(s[i]))
                i++, cp->lax |= HJ212_LAX_CP_SPACE;
        } else {
            vs = i;
            while (i < n && s[i] != ';' && s[i] != ',') {
                if (hj212__is_ctl(s[i])) {
                    hj212__fail(err, HJ212_E_CP, "control character 0x%02x at byte %zu",
                                (unsigned char)s[i], i);
                    return -EBADMSG;
                }
                i++;
            }
            ve = i;
            while (ve > vs && hj212__is_sp(s[ve - 1]))
                ve--, cp->lax |= HJ212_LAX_CP_SPACE;
        }
        if (cp->nitems >= HJ212_CP_ITEMS_MAX) {
            hj212__fail(err, HJ212_E_CP, "more than %d items", HJ212_CP_ITEMS_MAX);
            return -EBADMSG;
        }
        struct hj212_item *it = &cp->items[cp->nitems++];
        it->key = s + ks;
        it->key_len = (uint16_t)(ke - ks);
        it->val = s + vs;
        it->val_len = (uint16_t)(ve - vs);
        it->group = (uint16_t)group;
        it->text = text;
        it->bad = false;
        it->code = NULL;
        it->code_len = 0;
        const char *dash = memchr(it->key, '-', it->key_len);
        if (dash && dash > it->key && (size_t)(dash - it->key) <= HJ212_CODE_MAX &&
            dash + 1 < it->key + it->key_len) {
            it->code = it->key;
            it->code_len = (uint16_t)(dash - it->key);
        }
        if (i < n) {
            if (s[i] != ';' && s[i] != ',') { /* only after a //text// value */
                hj212__fail(err, HJ212_E_CP, "junk after //text// at byte %zu", i);
                return -EBADMSG;
            }
            group += s[i] == ';';
            if (i + 1 == n) /* trailing separator: "a=1;" */
                cp->lax |= HJ212_LAX_CP_EMPTY;
            i++;
        }
    }
    hj212__bind_bare_flags(cp);
    if (hj212__repeats(cp, err))
        return -EBADMSG;

    const char *dt;
    size_t dtl;
    if (hj212_cp_find(cp, "DataTime", &dt, &dtl) == 0) {
        /* Milliseconds (17 digits, as in QN) are sent by some loggers; the
         * time they give is exact, so they are kept. */
        if ((dtl != 14 && dtl != 17) ||
            etime_parse_hj212(dt, dtl, ETIME_BEIJING_OFFSET, &cp->datatime_us)) {
            hj212__fail(err, HJ212_E_TIME, "DataTime is not YYYYMMDDhhmmss: %s",
                        hj212__show(dt, dtl, show, sizeof(show)));
            return -EBADMSG;
        }
        if (dtl == 17)
            cp->lax |= HJ212_LAX_TIME_MS;
        memcpy(cp->datatime, dt, 14);
        cp->datatime[14] = '\0';
        cp->has_datatime = true;
    }
    return 0;
}

int hj212_cp_find(const struct hj212_cp *cp, const char *key, const char **val, size_t *val_len)
{
    size_t kl = strlen(key);

    for (size_t i = 0; i < cp->nitems; i++) {
        const struct hj212_item *it = &cp->items[i];
        if (!it->bad && it->key_len == kl && memcmp(it->key, key, kl) == 0) {
            *val = it->val;
            *val_len = it->val_len;
            return 0;
        }
    }
    return -ENOENT;
}

static const char *const hj212__val_names[HJ212_NVALS] = {
    [HJ212_RTD] = "Rtd",
    [HJ212_AVG] = "Avg",
    [HJ212_MIN] = "Min",
    [HJ212_MAX] = "Max",
    [HJ212_COU] = "Cou",
    [HJ212_ZSRTD] = "ZsRtd",
    [HJ212_ZSAVG] = "ZsAvg",
    [HJ212_ZSMIN] = "ZsMin",
    [HJ212_ZSMAX] = "ZsMax",
    [HJ212_ZSCOU] = "ZsCou",
    [HJ212_DATA] = "Data",
    [HJ212_DAYDATA] = "DayData",
    [HJ212_NIGHTDATA] = "NightData",
    [HJ212_RS] = "RS",
    [HJ212_RT] = "RT",
};

const char *hj212_val_name(int v)
{
    if (v < 0 || v >= HJ212_NVALS)
        return NULL;
    return hj212__val_names[v];
}

static bool hj212__same_code(const struct hj212_item *a, const struct hj212_item *b)
{
    return a->code && b->code && a->code_len == b->code_len &&
           memcmp(a->code, b->code, a->code_len) == 0;
}

/* Folds one item into the pollutant: numeric suffixes into v[], the text
 * ones into their fields; the first value of each suffix wins. */
static void hj212__fold(struct hj212_pollutant *p, const struct hj212_item *it)
{
    const char *sfx;
    size_t sl;

    sfx = hj212__suffix(it, &sl);
    if (it->bad) { /* refused: only its shadow remains */
        p->nbad++;
        if (hj212__eq(sfx, sl, "Flag"))
            p->flag_bad = true;
        return;
    }
    p->nitems++;
    for (int v = 0; v < HJ212_NVALS; v++) {
        if (!hj212__eq(sfx, sl, hj212__val_names[v]))
            continue;
        if (!(p->seen & (1u << v))) {
            p->seen |= 1u << v;
            if (!it->text && hj212_parse_number(it->val, it->val_len, &p->v[v]) == 0)
                p->has |= 1u << v;
        }
        return;
    }
    if (hj212__eq(sfx, sl, "Flag")) {
        if (!p->flag && it->val_len == 1)
            p->flag = it->val[0];
    } else if (hj212__eq(sfx, sl, "EFlag")) {
        if (!p->eflag[0] && it->val_len <= HJ212_EFLAG_MAX)
            hj212__copy(p->eflag, it->val, it->val_len);
    } else if (hj212__eq(sfx, sl, "SampleTime")) {
        if (!p->sample_time)
            p->sample_time = it->val, p->sample_time_len = it->val_len;
    } else if (hj212__eq(sfx, sl, "Info")) {
        if (!p->info)
            p->info = it->val, p->info_len = it->val_len;
    } else if (hj212__eq(sfx, sl, "SN")) {
        if (!p->sn)
            p->sn = it->val, p->sn_len = it->val_len;
    } else {
        p->nother++;
    }
}

int hj212_cp_pollutant(const struct hj212_cp *cp, size_t *pos, struct hj212_pollutant *out)
{
    for (size_t i = *pos; i < cp->nitems; i++) {
        const struct hj212_item *it = &cp->items[i];
        bool earlier = false;

        /* A code is listed where its first item that stands is. */
        if (!it->code || it->bad)
            continue;
        for (size_t j = 0; j < i && !earlier; j++)
            earlier = !cp->items[j].bad && hj212__same_code(&cp->items[j], it);
        if (earlier)
            continue;
        memset(out, 0, sizeof(*out));
        hj212__copy(out->code, it->code, it->code_len);
        for (size_t j = 0; j < cp->nitems; j++)
            if (hj212__same_code(&cp->items[j], it))
                hj212__fold(out, &cp->items[j]);
        *pos = i + 1;
        return 0;
    }
    *pos = cp->nitems;
    return -ENOENT;
}

bool hj212_cn_is_data(int cn)
{
    return cn == 2011 || cn == 2051 || cn == 2061 || cn == 2031;
}

/* Keys without a code that a data upload may carry. */
static bool hj212__data_key(const struct hj212_item *it)
{
    static const char *const keys[] = {"DataTime", "BeginTime", "EndTime", "PolId", "Flag"};
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
        if (hj212__eq(it->key, it->key_len, keys[k]))
            return true;
    return false;
}

/* Index of a numeric suffix (HJ212_RTD, ...), -1 for others. */
static int hj212__numeric(const char *sfx, size_t sl)
{
    for (int v = 0; v < HJ212_NVALS; v++)
        if (hj212__eq(sfx, sl, hj212__val_names[v]))
            return v;
    return -1;
}

static bool hj212__text_suffix(const char *sfx, size_t sl)
{
    static const char *const t[] = {"Flag", "EFlag", "SampleTime", "Info", "SN"};
    for (size_t k = 0; k < sizeof(t) / sizeof(t[0]); k++)
        if (hj212__eq(sfx, sl, t[k]))
            return true;
    return false;
}

/* Does BeginTime..EndTime (d microseconds) name exactly one period of cn?
 * Loggers write the end as the next period's start or as its last second. */
static bool hj212__one_period(int cn, int64_t d)
{
    const int64_t s = ETIME_US_PER_SEC;
    if (d == 0)
        return true;
    for (int late = 0; late <= 1; late++) {
        int64_t p = d + late * s;
        if ((cn == 2061 && p == 3600 * s) || (cn == 2031 && p == 86400 * s) ||
            (cn == 2051 && p % (60 * s) == 0 && p >= 60 * s && p <= 3600 * s))
            return true;
    }
    return false;
}

/* A BeginTime/EndTime value: 14 digits, or 17 with milliseconds. When it
 * is malformed and the frame has a DataTime, only the item is refused. */
static int hj212__time(struct hj212_cp *cp, const char *key, bool *has, int64_t *us,
                       struct hj212_err *err)
{
    char show[40];
    size_t kl = strlen(key);

    *has = false;
    for (size_t i = 0; i < cp->nitems; i++) {
        struct hj212_item *it = &cp->items[i];
        if (it->bad || it->key_len != kl || memcmp(it->key, key, kl) != 0)
            continue;
        if (it->text || (it->val_len != 14 && it->val_len != 17) ||
            etime_parse_hj212(it->val, it->val_len, ETIME_BEIJING_OFFSET, us)) {
            if (cp->has_datatime) {
                hj212__bad_item(cp, it, HJ212_BAD_TIME);
                return 0;
            }
            hj212__fail(err, HJ212_E_TIME, "%s is not YYYYMMDDhhmmss: %s", key,
                        hj212__show(it->val, it->val_len, show, sizeof(show)));
            return -EBADMSG;
        }
        if (it->val_len == 17)
            cp->lax |= HJ212_LAX_TIME_MS;
        *has = true;
        return 0;
    }
    return 0;
}

int hj212_cp_data(struct hj212_cp *cp, int cn, int64_t *ts_us, struct hj212_err *err)
{
    struct hj212_err local;
    bool has_b, has_e;
    int64_t b = 0, e = 0;

    if (!err)
        err = &local;
    memset(err, 0, sizeof(*err));
    for (size_t i = 0; i < cp->nitems; i++) {
        struct hj212_item *it = &cp->items[i];
        size_t sl;
        const char *sfx;
        int v;

        if (it->bad)
            continue;
        if (!it->code) {
            if (!hj212__data_key(it))
                hj212__bad_item(cp, it, HJ212_BAD_UNKNOWN);
            continue;
        }
        sfx = hj212__suffix(it, &sl);
        if ((v = hj212__numeric(sfx, sl)) >= 0) {
            double d;
            /* empty means "no value"; anything else must be a number */
            if ((it->text || it->val_len) &&
                (it->text || hj212_parse_number(it->val, it->val_len, &d)))
                hj212__bad_item(cp, it, HJ212_BAD_NUMBER);
        } else if (hj212__eq(sfx, sl, "Flag")) {
            if (it->val_len && (it->text || it->val_len != 1 || !hj212__is_alnum(it->val[0])))
                hj212__bad_item(cp, it, HJ212_BAD_FLAG);
        }
    }
    /* Unknown suffixes: a vendor's extra value beside the code's value
     * stays; a code without the value this CN stores (its -Rtd in 2011, its
     * -Avg otherwise, or a noise -Data, an equipment -RS/-RT) has lost it to
     * a misspelling ("LA-td" for "LA-Rtd", "w01001-avg" beside -Min). */
    const int primary = cn == 2011 ? HJ212_RTD : HJ212_AVG;
    for (size_t i = 0; i < cp->nitems; i++) {
        struct hj212_item *it = &cp->items[i];
        size_t sl;
        const char *sfx;
        bool known = false;

        if (it->bad || !it->code)
            continue;
        sfx = hj212__suffix(it, &sl);
        if (hj212__numeric(sfx, sl) >= 0 || hj212__text_suffix(sfx, sl))
            continue;
        for (size_t j = 0; j < cp->nitems && !known; j++) {
            const struct hj212_item *o = &cp->items[j];
            size_t ol = 0;
            const char *os;
            if (!hj212__same_code(o, it))
                continue;
            os = hj212__suffix(o, &ol);
            int k = hj212__numeric(os, ol);
            known = k == primary || k == HJ212_DATA || k == HJ212_DAYDATA || k == HJ212_NIGHTDATA ||
                    k == HJ212_RS || k == HJ212_RT;
        }
        if (!known)
            hj212__bad_item(cp, it, HJ212_BAD_UNKNOWN);
    }

    if (hj212__time(cp, "BeginTime", &has_b, &b, err) ||
        hj212__time(cp, "EndTime", &has_e, &e, err))
        return -EBADMSG;
    if (has_b || has_e)
        cp->lax |= HJ212_LAX_BEGIN_END;
    if (cp->has_datatime) {
        /* Beside DataTime they must name its period: a logger that labels
         * an hour by its end sends DataTime=09:00 with 08:00..09:00, and
         * which hour is meant cannot be told. */
        int64_t dt = cp->datatime_us;
        if ((has_b && b != dt) || (has_e && (e < dt || !hj212__one_period(cn, e - dt)))) {
            hj212__fail(err, HJ212_E_TIME,
                        "DataTime %s and BeginTime..EndTime name different periods", cp->datatime);
            return -EBADMSG;
        }
        *ts_us = dt;
        return 0;
    }
    /* No DataTime: BeginTime dates the upload only when the span is one
     * period of this CN; anything else would be a guess. */
    if (!has_b) {
        hj212__fail(err, HJ212_E_TIME, "a data upload without DataTime");
        return -EBADMSG;
    }
    if (has_e && !hj212__one_period(cn, e - b)) {
        hj212__fail(err, HJ212_E_TIME,
                    "no DataTime, and BeginTime..EndTime (%llds) is not one period of CN %d",
                    (long long)((e - b) / ETIME_US_PER_SEC), cn);
        return -EBADMSG;
    }
    *ts_us = b;
    return 0;
}

/* ---- stream framer -------------------------------------------------- */

void hj212_framer_init(struct hj212_framer *fr, size_t seg_cap)
{
    fr->cap = seg_cap == 0 || seg_cap > HJ212_SEG_MAX ? HJ212_SEG_MAX : seg_cap;
    fr->head = fr->len = fr->scanned = 0;
    fr->crc_state = 0;
    fr->discard = 0;
    fr->fed = fr->skipped = 0;
}

size_t hj212_framer_feed(struct hj212_framer *fr, const void *data, size_t n)
{
    /* Compact first: chunks handed out before are now invalid (documented),
     * so what has been handed out can be dropped. */
    if (fr->head > 0) {
        memmove(fr->buf, fr->buf + fr->head, fr->len - fr->head);
        fr->len -= fr->head;
        fr->head = 0;
    }
    size_t room = sizeof(fr->buf) - fr->len;
    if (n > room)
        n = room;
    if (n) {
        memcpy(fr->buf + fr->len, data, n);
        fr->len += n;
        fr->fed += n;
    }
    return n;
}

size_t hj212_framer_pending(const struct hj212_framer *fr)
{
    return fr->len - fr->head;
}

/* Index of the next "##" in [from, to), or `to`. */
static size_t hj212__find_hh(const char *b, size_t from, size_t to)
{
    for (size_t i = from; i + 1 < to; i++)
        if (b[i] == '#' && b[i + 1] == '#')
            return i;
    return to;
}

/* End (past the LF) of the first "&&"+4 hex+CR LF (or LF) in [from, to),
 * or 0. This is how the end of a frame with a wrong length field is found. */
static size_t hj212__find_end(const char *b, size_t from, size_t to)
{
    for (size_t i = from; i + 7 <= to; i++) {
        if (b[i] != '&' || b[i + 1] != '&' || hj212__hex4(b + i + 2, NULL) < 0)
            continue;
        if (b[i + 6] == '\n')
            return i + 7;
        if (b[i + 6] == '\r' && i + 8 <= to && b[i + 7] == '\n')
            return i + 8;
    }
    return 0;
}

/* Remembers how far the search for a frame end got, so bytes trickling in
 * one at a time do not make every call rescan the whole frame: a start
 * position i was fully checked once i + 8 <= lim. */
static void hj212__scanned(struct hj212_framer *fr, size_t p, size_t lim)
{
    if (lim >= p + 6 + 7)
        fr->scanned = lim - 7 - p;
}

/* Hands out [head, e) as a chunk and moves past it. */
static void hj212__emit(struct hj212_framer *fr, size_t e, int kind, int reason,
                        struct hj212_chunk *c, struct hj212_frame *f, const char *why)
{
    c->kind = kind;
    c->data = fr->buf + fr->head;
    c->len = e - fr->head;
    memset(&c->err, 0, sizeof(c->err));
    if (kind == HJ212_CHUNK_FRAME) {
        hj212_parse_frame(c->data, c->len, f, &c->err);
    } else {
        memset(f, 0, sizeof(*f));
        f->flag = -1;
        f->declared_len = -1;
        hj212__fail(&c->err, reason, "%s", why);
    }
    fr->head = e;
    fr->scanned = 0;
    fr->crc_state = 0;
}

/* Junk from head up to the next possible frame start. A lone trailing '#'
 * is kept back: it may be the first half of "##". */
static void hj212__junk(struct hj212_framer *fr, size_t from, bool eof, int reason,
                        struct hj212_chunk *c, struct hj212_frame *f, const char *why)
{
    size_t end = fr->len;
    size_t q = hj212__find_hh(fr->buf, from, end);

    if (q == end) {
        if (!eof && fr->buf[end - 1] == '#' && end - 1 > fr->head)
            q = end - 1;
        /* The junk continues past what we have: keep the reason until a
         * header is found, so a refused frame's body is labelled as such. */
        fr->discard = reason;
    } else {
        fr->discard = 0;
    }
    hj212__emit(fr, q, HJ212_CHUNK_JUNK, reason, c, f, why);
}

/* Does the CRC written before the terminator of [p, t) match the bytes
 * between the length field and it? For ends found by searching. */
static bool hj212__span_crc_ok(const char *b, size_t p, size_t t)
{
    size_t term = b[t - 2] == '\r' ? 2 : 1;
    size_t crc_at = t - term - 4;
    int rx = hj212__hex4(b + crc_at, NULL);
    return rx >= 0 && (unsigned)rx == hj212_crc16(b + p + 6, crc_at - (p + 6));
}

/* Gives up on the header at head without a frame to show for it: junk up
 * to the next "##" (the spec's resynchronisation), unless there is none
 * before `stop`, in which case [head, stop) goes out as a frame for the
 * parser to refuse with its precise reason. */
static void hj212__give_up(struct hj212_framer *fr, size_t stop, struct hj212_chunk *c,
                           struct hj212_frame *f)
{
    size_t q = hj212__find_hh(fr->buf, fr->head + 1, stop);
    if (q < stop)
        hj212__emit(fr, q, HJ212_CHUNK_JUNK, HJ212_E_HEADER, c, f,
                    "no valid frame at this \"##\" header");
    else
        hj212__emit(fr, stop, HJ212_CHUNK_FRAME, 0, c, f, NULL);
}

int hj212_framer_next(struct hj212_framer *fr, bool eof, struct hj212_chunk *c,
                      struct hj212_frame *f)
{
    const char *b = fr->buf;
    size_t end = fr->len, p;

    if (!fr->discard) {
        while (fr->head < end && hj212__is_ws(b[fr->head])) {
            fr->head++;
            fr->skipped++;
            fr->scanned = 0;
            fr->crc_state = 0;
        }
    }
    p = fr->head;
    if (p == end)
        return -EAGAIN;

    if (b[p] != '#' || (p + 1 < end && b[p + 1] != '#')) {
        hj212__junk(fr, p + 1, eof, fr->discard ? fr->discard : HJ212_E_HEADER, c, f,
                    fr->discard == HJ212_E_TOO_LONG ? "rest of a frame refused as too long"
                                                    : "bytes before a \"##\" header");
        return 0;
    }
    if (end - p < 6) { /* "##" but the length field is not all here */
        if (!eof)
            return -EAGAIN;
        fr->discard = 0;
        hj212__emit(fr, end, HJ212_CHUNK_JUNK, HJ212_E_TRUNCATED, c, f,
                    "input ended inside a frame header");
        return 0;
    }
    long L = hj212__decimal(b + p + 2, 4);
    if (L < 0) {
        hj212__junk(fr, p + 1, eof, HJ212_E_HEADER, c, f, "\"##\" not followed by 4 digits");
        return 0;
    }
    if ((size_t)L > fr->cap) {
        hj212__junk(fr, p + 2, eof, HJ212_E_TOO_LONG, c, f, "declared length above the cap");
        return 0;
    }
    fr->discard = 0;

    size_t n = 6 + (size_t)L + 4;              /* through the CRC */
    size_t e = p + n;                          /* where the terminator should be */
    size_t win = p + HJ212_FRAME_LEN(fr->cap); /* no frame extends beyond */
    size_t lim = end < win ? end : win;
    bool have_all = end >= e;

    if (have_all) {
        if (fr->crc_state == 0) {
            int rx = hj212__hex4(b + e - 4, NULL);
            fr->crc_state = rx >= 0 && (unsigned)rx == hj212_crc16(b + p + 6, (size_t)L) ? 1 : -1;
        }
        /* CRC good, or the terminator where the length says: the frame is
         * delimited; the parser gives the verdict. */
        if (fr->crc_state > 0 || (e < end && b[e] == '\n') ||
            (e + 1 < end && b[e] == '\r' && b[e + 1] == '\n')) {
            if (e + 1 < end && b[e] == '\r' && b[e + 1] == '\n')
                e += 2;
            else if (e < end && (b[e] == '\n' || b[e] == '\r'))
                e += 1;
            hj212__emit(fr, e, HJ212_CHUNK_FRAME, 0, c, f, NULL);
            return 0;
        }
    }
    /* The length field does not lead to a frame (yet): look for a frame
     * end elsewhere. Found early, it means the length overstates, and we
     * take the frame now rather than swallow the frames after it. */
    size_t t = hj212__find_end(b, p + (fr->scanned > 6 ? fr->scanned : 6), lim);
    if (t) {
        if (hj212__span_crc_ok(b, p, t))
            hj212__emit(fr, t, HJ212_CHUNK_FRAME, 0, c, f, NULL); /* "length" */
        else
            hj212__give_up(fr, t, c, f);
        return 0;
    }
    hj212__scanned(fr, p, lim);
    if (have_all && ((e < end && b[e] == '#') || eof || end >= win)) {
        /* The next frame follows directly, or no other end will come. */
        hj212__give_up(fr, e, c, f);
        return 0;
    }
    if (!have_all && eof) {
        size_t q = hj212__find_hh(b, p + 1, end);
        hj212__emit(fr, q, HJ212_CHUNK_JUNK, q < end ? HJ212_E_HEADER : HJ212_E_TRUNCATED, c, f,
                    q < end ? "no valid frame at this \"##\" header"
                            : "input ended inside a frame");
        return 0;
    }
    return -EAGAIN;
}
