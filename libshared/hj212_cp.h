/* hj212_cp: the CP data area of a frame (hj212_frame.cp) -> items, refused
 * items with their reason, DataTime, and per-pollutant values; the
 * data-upload checks (hj212_cp_data) and the HJ 212 number syntax. Pure
 * and thread-safe; results borrow from the CP text. */
#ifndef ECO_HJ212_CP_H
#define ECO_HJ212_CP_H

#include "hj212_frame.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- CP data area --------------------------------------------------- */

/* One "key=value" of the CP area. Pointers borrow from the CP text. */
struct hj212_item {
    const char *key;
    const char *val;  /* for a //text// value: the text between the slashes */
    const char *code; /* pollutant code (before '-'), or NULL (e.g. DataTime) */
    uint16_t key_len, val_len, code_len;
    uint16_t group; /* index of the ';'-separated group, from 0 */
    bool text;      /* the value was written as //text// */
    bool bad;       /* refused (listed in hj212_cp.bad): lookups skip it */
};

/* Why one CP item was refused while the rest of the frame was taken. */
enum hj212_bad_why {
    HJ212_BAD_SYNTAX = 1, /* "syntax": not key=value, or a malformed key */
    HJ212_BAD_CONFLICT,   /* "conflict": the key is repeated with another value */
    HJ212_BAD_UNKNOWN,    /* "unknown": a data upload's item the standard does not
                           * define and that carries no known value ("LA-td") */
    HJ212_BAD_NUMBER,     /* "number": a numeric value (-Rtd, -Avg, ...) that is not a number */
    HJ212_BAD_FLAG,       /* "flag": a -Flag that is not one letter or digit */
    HJ212_BAD_TIME,       /* "time": a malformed BeginTime/EndTime beside a DataTime */
    HJ212_BAD_COUNT
};

/* Short stable name of a hj212_bad_why ("syntax", ...), "unknown" for others. */
const char *hj212_bad_str(int why);

/* One refused CP item: its text "key=value" as written (borrowed from the
 * CP text, at most HJ212_BAD_TEXT_MAX bytes of it) and why. */
#define HJ212_BAD_MAX 32
#define HJ212_BAD_TEXT_MAX 64
struct hj212_bad {
    const char *text;
    uint16_t len;
    uint8_t why; /* enum hj212_bad_why */
};

struct hj212_cp {
    const char *text; /* the parsed CP text (borrowed) */
    size_t len;
    unsigned lax; /* HJ212_LAX_CP_* (and TIME_MS, BEGIN_END) applied */
    bool has_datatime;
    char datatime[15];   /* "YYYYMMDDhhmmss" when has_datatime (milliseconds cut) */
    int64_t datatime_us; /* microseconds since the epoch, read as Beijing time */
    size_t nitems;
    /* Items refused on their own: the first HJ212_BAD_MAX are listed, all
     * are counted in nbad_total. */
    size_t nbad, nbad_total;
    struct hj212_bad bad[HJ212_BAD_MAX];
    struct hj212_item items[HJ212_CP_ITEMS_MAX];
};

/* Parses the CP text (frame->cp, without the "&&" delimiters): groups split
 * by ';', items by ',', "key=value" each; values "//...//" are opaque text
 * and may contain ';' or ','. Keys are 1..32 of [A-Za-z0-9_-]. Spaces
 * around keys and values, empty items and a trailing ';' are tolerated. A
 * "Flag=N" item without a code takes the code of its group's neighbour.
 * DataTime must be YYYYMMDDhhmmss, or YYYYMMDDhhmmsszzz (milliseconds,
 * "datatime_ms"), read as Beijing time.
 *
 * Refused on their own, listed in out->bad and left out of the items (or
 * marked bad): an item that is not key=value or whose key is malformed
 * ("syntax"; it runs to the next ',' or ';'), and every item of a key given
 * twice with different values ("conflict"; the same value twice is
 * "cp_dup"). A bare Flag's key is its code's "-Flag".
 *
 * Returns 0, or -EBADMSG with err (may be NULL) reason HJ212_E_CP (an
 * unterminated or followed //text//, a control character, more than
 * HJ212_CP_ITEMS_MAX items: nothing can be trusted after them) or
 * HJ212_E_TIME (DataTime malformed or given twice with different values).
 * out borrows from cp. out is large (~22 KiB): embed it or allocate it,
 * mind small stacks. */
int hj212_cp_parse(const char *cp, size_t len, struct hj212_cp *out, struct hj212_err *err);

/* Is cn a data upload whose pollutant values are readings (2011 real-time,
 * 2051 minute, 2061 hour, 2031 day)? */
bool hj212_cn_is_data(int cn);

/* Checks the CP of a data upload (cn as hj212_cn_is_data) and finds its
 * time. Refuses, each on its own (out->bad, the item marked bad):
 *   - "unknown": an item without a code that the standard does not define
 *     for data (anything but DataTime, BeginTime, EndTime, PolId, a bare
 *     Flag), and the items of a code with an unknown suffix when the code
 *     lacks the value this CN stores (-Rtd for 2011, -Avg otherwise; or a
 *     noise -Data/-DayData/-NightData, an equipment -RS/-RT): a misspelt
 *     "LA-td=50.1", or "w01001-avg" beside a -Min; unknown suffixes beside
 *     that value are vendor extensions (-ValidNum, -Ia) and stay;
 *   - "number": a non-empty value of a numeric suffix that is not a number;
 *   - "flag": a non-empty -Flag that is not one letter or digit;
 *   - "time": a malformed BeginTime or EndTime when DataTime is there.
 * The time is DataTime (a BeginTime/EndTime beside it must name DataTime's
 * period: BeginTime = DataTime, EndTime = DataTime or one period later, else
 * which period is meant is ambiguous); without it, BeginTime when it names
 * one period
 * unambiguously (EndTime absent, equal to it, or one period later, or one
 * period less a second: an hour for 2061, a day for 2031, a whole number
 * of minutes up to an hour for 2051, none for 2011). BeginTime/EndTime are
 * reported as "begin_end" in out->lax.
 *
 * Returns 0 with *ts_us set, or -EBADMSG with err (may be NULL) reason
 * HJ212_E_TIME when there is no unambiguous time. Call once per parse. */
int hj212_cp_data(struct hj212_cp *cp, int cn, int64_t *ts_us, struct hj212_err *err);

/* Looks up the first item with this key (case-sensitive, e.g. "QnRtn"),
 * refused items skipped. The value (val, val_len bytes) borrows from the CP
 * text. Returns 0 or -ENOENT. */
int hj212_cp_find(const struct hj212_cp *cp, const char *key, const char **val, size_t *val_len);

/* Numeric values of a pollutant, by key suffix. */
enum hj212_val {
    HJ212_RTD,   /* -Rtd */
    HJ212_AVG,   /* -Avg */
    HJ212_MIN,   /* -Min */
    HJ212_MAX,   /* -Max */
    HJ212_COU,   /* -Cou */
    HJ212_ZSRTD, /* -ZsRtd */
    HJ212_ZSAVG, /* -ZsAvg */
    HJ212_ZSMIN, /* -ZsMin */
    HJ212_ZSMAX, /* -ZsMax */
    HJ212_ZSCOU, /* -ZsCou */
    HJ212_DATA,  /* -Data (noise) */
    HJ212_DAYDATA,
    HJ212_NIGHTDATA,
    HJ212_RS, /* SBxxx-RS: equipment run state */
    HJ212_RT, /* SBxxx-RT: daily run hours */
    HJ212_NVALS
};

/* Suffix name of an hj212_val ("Rtd", ...), NULL when out of range. */
const char *hj212_val_name(int v);

/* Everything the CP says about one code (all groups merged; refused items
 * left out, so a repeat is always of the same value). */
struct hj212_pollutant {
    char code[HJ212_CODE_MAX + 1]; /* "w01018", "a34004", "L10", "SB1", "i12001" */
    unsigned has;                  /* 1u << HJ212_* for values that are numbers */
    unsigned seen;                 /* 1u << HJ212_* for values present at all */
    double v[HJ212_NVALS];
    char flag;                           /* -Flag letter (N, F, M, S, D, C, T, B, ...); 0 if none */
    bool flag_bad;                       /* a -Flag item was refused: no value is trustworthy */
    char eflag[HJ212_EFLAG_MAX + 1];     /* -EFlag, "" if none */
    const char *sample_time, *info, *sn; /* -SampleTime, -Info, -SN, borrowed; NULL if none */
    size_t sample_time_len, info_len, sn_len;
    size_t nitems; /* items with this code that stand */
    size_t nother; /* of which with other suffixes (find them in cp->items) */
    size_t nbad;   /* items with this code that were refused (hj212_cp.bad) */
};

/* Iterates the codes of the CP in order of first appearance. Start with
 * *pos = 0; each call fills out for the next code and returns 0, or
 * returns -ENOENT when there are no more. Items without a code (DataTime,
 * PolId, QnRtn, ...) are not pollutants: read them with hj212_cp_find. */
int hj212_cp_pollutant(const struct hj212_cp *cp, size_t *pos, struct hj212_pollutant *out);

/* Parses an HJ 212 number ("Nx.y": optional sign, digits, optional '.' and
 * digits; no exponent, no spaces, at most 40 characters) of len bytes.
 * Locale-independent. Returns 0 or -EBADMSG. */
int hj212_parse_number(const char *s, size_t len, double *out);

#endif
