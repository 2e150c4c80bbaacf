#include "hj212_cp.h"

#include "etime.h"
#include "hj212_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

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
