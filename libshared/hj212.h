/* hj212: codec for HJ 212 (2005, 2017, 2025) data-transmission frames, the
 * protocol Chinese environmental data loggers speak over TCP.
 *
 *   "##" LLLL <data segment, L bytes> CCCC CR LF
 *   data segment: QN=..;ST=..;CN=..;PW=..;MN=..;Flag=..;[PNUM=..;PNO=..;]CP=&&...&&
 *
 * Four parts, all pure (no I/O, no allocation, no global state) and
 * thread-safe: distinct objects may be used from distinct threads at once;
 * one framer or frame must not be shared between threads without a lock.
 *
 *   - hj212_parse_frame: one complete frame -> struct hj212_frame.
 *   - hj212_cp_parse and hj212_cp_pollutant: the CP data area -> items and
 *     per-pollutant values, DataTime in Beijing time.
 *   - hj212_encode and helpers: struct hj212_frame -> bytes (length and CRC
 *     computed), the 9014/9013 answers and the 1012 set-time request.
 *   - struct hj212_framer: a caller-embedded byte-stream framer for TCP that
 *     yields frames and rejected junk spans with a reason.
 *
 * Strict where the data would be wrong (CRC, length, header, CP closing
 * "&&", field syntax); lenient where real loggers deviate harmlessly
 * (lower-case CRC hex, missing CR LF, missing QN/Flag, field order, PNO
 * before PNUM, zero padding, oversize segments, trailing ';', spaces in
 * CP, a DataTime with milliseconds, a repeated field). Every leniency
 * applied is reported as an HJ212_LAX_* bit so callers can count it. A CP
 * item that is wrong on its own (not key=value, a key repeated with another
 * value, a misspelt item of a data upload) does not sink the frame: it is
 * listed in hj212_cp.bad with its reason and left out, and the rest of the
 * frame stands. docs/HJ212.md is the user-facing description.
 *
 * Failures return -EBADMSG (bad input) or -EINVAL/-ENOSPC/-EMSGSIZE (bad
 * arguments to the encoder); the reason comes back in a struct hj212_err. */
#ifndef ECO_HJ212_H
#define ECO_HJ212_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- limits --------------------------------------------------------- */

/* The length field has 4 decimal digits: the largest data segment. */
#define HJ212_SEG_MAX 9999
/* What HJ 212-2017 allows (data segment, CP area). Bigger frames are received
 * (real loggers send them) but flagged HJ212_LAX_OVERSIZE; senders split. */
#define HJ212_SEG_STD_MAX 1024
#define HJ212_CP_STD_MAX 950
/* "##" + length + data segment + CRC + CR LF. */
#define HJ212_FRAME_LEN(seg) (2 + 4 + (size_t)(seg) + 4 + 2)
#define HJ212_FRAME_MAX HJ212_FRAME_LEN(HJ212_SEG_MAX)

/* Field caps in characters (arrays hold one more for the NUL). The standard
 * gives QN 17 digits, ST 2, CN 4, PW 6, MN 24; the caps leave room for what
 * real devices send (QN 18 digits, ST 3, PW and MN up to 24). */
#define HJ212_QN_MAX 20
#define HJ212_ST_MAX 4
#define HJ212_CN_MAX 4
#define HJ212_PW_MAX 32
#define HJ212_MN_MAX 32
/* Unknown data-segment fields (e.g. HJ 212-2025 "RF=1") are kept, up to: */
#define HJ212_EXTRA_MAX 4
#define HJ212_EXTRA_KEY_MAX 15
#define HJ212_EXTRA_VAL_MAX 63
/* CP area: at most this many key=value items, keys of at most KEY_MAX. */
#define HJ212_CP_ITEMS_MAX 512
#define HJ212_CP_KEY_MAX 32
/* Pollutant code (the part of a key before '-'), vendor flag. */
#define HJ212_CODE_MAX 24
#define HJ212_EFLAG_MAX 7
/* A human-readable reason detail, NUL included. */
#define HJ212_DETAIL_MAX 112

/* ---- reasons -------------------------------------------------------- */

/* Why a frame or a span of bytes was refused. Stable short names (see
 * hj212_reason_str) go to dead letters and to `ecoctl hj212 check`. */
enum hj212_reason {
    HJ212_OK = 0,
    HJ212_E_HEADER,    /* "header": no "##" at the start (framer: bytes that are
                        * not "##"+4 digits, i.e. cannot start a frame) */
    HJ212_E_LENGTH,    /* "length": length field not 4 digits, or != actual bytes */
    HJ212_E_CRC,       /* "crc": CRC not 4 hex digits or not matching */
    HJ212_E_TRUNCATED, /* "truncated": input ended (or timed out) inside a frame */
    HJ212_E_TOO_LONG,  /* "too_long": declared length above the framer's cap */
    HJ212_E_QN,        /* "qn": QN not 0..20 digits */
    HJ212_E_ST,        /* "st": ST missing or not 1..4 letters/digits */
    HJ212_E_CN,        /* "cn": CN missing or not 4 digits */
    HJ212_E_PW,        /* "pw": PW missing or not 0..32 printable characters */
    HJ212_E_MN,        /* "mn": MN missing or not 0..32 of [A-Za-z0-9_.-] */
    HJ212_E_FLAG,      /* "flag": Flag not 0..255 or an unknown version */
    HJ212_E_FIELD,     /* "field": malformed/duplicate field, bad PNUM/PNO */
    HJ212_E_CP,        /* "cp": CP missing, not "&&..&&", or bad item syntax */
    HJ212_E_TIME,      /* "time": DataTime is not a valid YYYYMMDDhhmmss[zzz], given
                        * twice, or a data upload has no time */
    HJ212_E_COUNT
};

/* The result of a parse: reason plus a one-line detail (printable ASCII). */
struct hj212_err {
    int reason; /* enum hj212_reason */
    char detail[HJ212_DETAIL_MAX];
};

/* Short stable name of a reason ("crc", ...); "ok" for 0, "unknown" for
 * anything else. Static storage. */
const char *hj212_reason_str(int reason);

/* The QnRtn code (HJ 212-2017 Table 7) a station would answer for a refused
 * request: crc 9, pw 3, mn 4, st 5, flag 6, qn 7, cn 8, otherwise 100. */
int hj212_qnrtn(int reason);

/* ---- leniencies ----------------------------------------------------- */

/* Deviations that were accepted. A frame's bits are in hj212_frame.lax, the
 * CP parser's in hj212_cp.lax (disjoint bits, so they can be OR-ed). */
enum hj212_lax {
    HJ212_LAX_CRC_LOWER = 1u << 0,      /* "crc_lower": lower-case CRC hex */
    HJ212_LAX_NO_TERM = 1u << 1,        /* "no_crlf": no terminator after the CRC */
    HJ212_LAX_LF_ONLY = 1u << 2,        /* "lf_only": LF without CR */
    HJ212_LAX_TRAIL_WS = 1u << 3,       /* "trailing_space": other whitespace at the end */
    HJ212_LAX_LEN_CHARS = 1u << 4,      /* "len_chars": length counts UTF-8 characters */
    HJ212_LAX_OVERSIZE = 1u << 5,       /* "oversize": segment > 1024 or CP > 950 */
    HJ212_LAX_ORDER = 1u << 6,          /* "order": fields not in the standard order */
    HJ212_LAX_NO_QN = 1u << 7,          /* "no_qn": QN absent */
    HJ212_LAX_NO_FLAG = 1u << 8,        /* "no_flag": Flag absent (read as 2005) */
    HJ212_LAX_ZERO_PAD = 1u << 9,       /* "zero_pad": Flag/PNUM/PNO with leading zeros */
    HJ212_LAX_SPLIT_NO_D = 1u << 10,    /* "split_no_d": PNUM/PNO without Flag bit D */
    HJ212_LAX_EXTRA = 1u << 11,         /* "extra_field": unknown fields kept */
    HJ212_LAX_CP_SPACE = 1u << 12,      /* "cp_space": spaces around CP keys/values */
    HJ212_LAX_CP_EMPTY = 1u << 13,      /* "cp_empty": empty item or trailing ';' */
    HJ212_LAX_CP_DUP = 1u << 14,        /* "cp_dup": a key repeated (first one wins) */
    HJ212_LAX_CP_BARE_FLAG = 1u << 15,  /* "cp_bare_flag": "Flag=N" without a code */
    HJ212_LAX_SPLIT_NO_PNUM = 1u << 16, /* "split_no_pnum": Flag bit D without PNUM/PNO */
    HJ212_LAX_DUP_FIELD = 1u << 17,     /* "dup_field": a field repeated with the same value */
    HJ212_LAX_EMPTY_FIELD = 1u << 18,   /* "empty_field": an empty field (";;") */
    HJ212_LAX_TIME_MS = 1u << 19,       /* "datatime_ms": DataTime with milliseconds */
    HJ212_LAX_BEGIN_END = 1u << 20,     /* "begin_end": BeginTime/EndTime in a data upload */
};

/* Name of one HJ212_LAX_* bit (static storage), NULL if not exactly one
 * known bit. */
const char *hj212_lax_name(unsigned bit);

/* Writes the names of the set bits, comma-separated, into out (always
 * NUL-terminated, cut at cap). Returns out. */
const char *hj212_lax_names(unsigned lax, char *out, size_t cap);

/* ---- CRC ------------------------------------------------------------ */

/* CRC16 of HJ 212-2017 Appendix A over n bytes (the data segment only):
 * register 0xFFFF; per byte reg = (reg >> 8) ^ b, then 8 shifts with 0xA001.
 * It is NOT CRC-16/MODBUS: "123456789" gives 0x2F80. */
unsigned hj212_crc16(const void *data, size_t n);

/* ---- frame ---------------------------------------------------------- */

enum hj212_version {
    HJ212_V_UNKNOWN = 0,
    HJ212_V2005 = 2005, /* Flag version bits 000000, or no Flag field */
    HJ212_V2017 = 2017, /* bits 000001: Flag 4..7 */
    HJ212_V2025 = 2025, /* bits 000010: Flag 8..11 (also surface-water stations) */
};

/* "2005", "2017", "2025" or "unknown". Static storage. */
const char *hj212_version_str(enum hj212_version v);

/* Flag bits (HJ 212-2017 Table 3): V5..V0 D A. */
#define HJ212_FLAG_A 0x01u /* answer required */
#define HJ212_FLAG_D 0x02u /* split packet: PNUM and PNO present */
#define HJ212_FLAG_VERSION(flag) (((unsigned)(flag) >> 2) & 0x3fu)

/* Which data-segment fields are present (hj212_frame.fields). */
enum hj212_field_bit {
    HJ212_F_QN = 1u << 0,
    HJ212_F_ST = 1u << 1,
    HJ212_F_CN = 1u << 2,
    HJ212_F_PW = 1u << 3,
    HJ212_F_MN = 1u << 4,
    HJ212_F_FLAG = 1u << 5,
    HJ212_F_PNUM = 1u << 6,
    HJ212_F_PNO = 1u << 7,
    HJ212_F_CP = 1u << 8,
};

/* An unknown data-segment field, copied. */
struct hj212_extra {
    char key[HJ212_EXTRA_KEY_MAX + 1];
    char val[HJ212_EXTRA_VAL_MAX + 1];
};

/* One decoded frame. Text fields are copied and NUL-terminated; only `cp`
 * borrows from the parsed buffer. For encoding, zero-initialise, set the
 * strings and values and the matching HJ212_F_* bits. */
struct hj212_frame {
    unsigned fields; /* HJ212_F_* present */
    char qn[HJ212_QN_MAX + 1];
    char st[HJ212_ST_MAX + 1];
    char cn[HJ212_CN_MAX + 1];
    char pw[HJ212_PW_MAX + 1];
    char mn[HJ212_MN_MAX + 1];
    int flag;      /* 0..255 when HJ212_F_FLAG, else -1 after parsing */
    int pnum, pno; /* 1..9999 when present, else 0 */
    struct hj212_extra extra[HJ212_EXTRA_MAX];
    size_t nextra;
    /* The CP data area between "CP=&&" and the closing "&&" (may be empty).
     * Parsing: borrowed from the parsed buffer, valid while it is. Encoding:
     * the caller's text, cp_len bytes, no control characters but tab. */
    const char *cp;
    size_t cp_len;

    /* Filled by parsing, ignored by the encoder: */
    enum hj212_version version; /* from the Flag version bits; 2005 if no Flag */
    bool ack;                   /* Flag bit A: the sender wants an answer */
    bool split;                 /* PNUM/PNO present (bit D alone: split_no_pnum) */
    unsigned lax;               /* HJ212_LAX_* applied */
    size_t seg_len;             /* actual data-segment bytes */
    int declared_len;           /* the length field, -1 when not 4 digits */
    unsigned crc;               /* CRC computed over the actual segment */
};

/* Parses one complete frame of len bytes starting with "##". A trailing
 * CR LF (or LF, or nothing, or other whitespace) is accepted. The CP area
 * is only delimited here (frame->cp); check its items with hj212_cp_parse.
 *
 * Returns 0, or -EBADMSG with err->reason/detail set (err may be NULL).
 * Precedence when several things are wrong: header, truncated, length,
 * crc, then field errors in segment order, then cp. On failure the fields
 * that could be decoded are still filled (for diagnostics only: they may
 * come from corrupt bytes); a field that fails its check is left empty.
 * frame->cp borrows from buf. Thread-safe. */
int hj212_parse_frame(const char *buf, size_t len, struct hj212_frame *frame,
                      struct hj212_err *err);

/* Encodes frame into out (cap bytes): "##", length, segment with the fields
 * in standard order (QN ST CN PW MN Flag PNUM PNO, unknown fields, CP), CRC
 * in upper-case hex, CR LF and a NUL (not counted in *len). Only fields
 * whose HJ212_F_* bit is set are written; CP is always written. The fields
 * are checked as the parser checks them, so the output always parses back
 * to the same fields.
 *
 * Returns 0; -EINVAL with err set when a field would not parse back (err
 * may be NULL); -EMSGSIZE when the segment exceeds HJ212_SEG_MAX; -ENOSPC
 * when cap is too small (HJ212_FRAME_MAX + 1 always suffices). The encoder
 * does not split: keep segments within HJ212_SEG_STD_MAX for 2017 peers. */
int hj212_encode(const struct hj212_frame *frame, char *out, size_t cap, size_t *len,
                 struct hj212_err *err);

/* The platform's answer to an upload or a notification (HJ 212-2017 §6,
 * Appendix C): same QN, PW and MN as req, ST=91, the given CN, Flag with
 * req's version bits and A=D=0 (omitted when req had no Flag), CP=&&&&.
 *   cn 9014: data answer to an upload; refused with -EINVAL unless req asked
 *            for an answer (Flag bit A), since loggers treat an unexpected
 *            9014 as an error.
 *   cn 9013: notification answer (e.g. to CN 1013).
 * Other cn: -EINVAL. Otherwise as hj212_encode. */
int hj212_encode_answer(const struct hj212_frame *req, int cn, char *out, size_t cap, size_t *len);

/* The 1012 "set time" request (HJ 212-2017 Appendix C.5): ST, PW, MN and the
 * version are taken from station (a frame the logger sent, e.g. its 1013);
 * QN is qn_us formatted as YYYYMMDDhhmmsszzz Beijing time; Flag has A=1;
 * CP is "PolId=<polid>;SystemTime=<now>" or, with polid NULL, only
 * "SystemTime=<now>" (YYYYMMDDhhmmss Beijing time). polid must be 1..16
 * letters/digits. Returns as hj212_encode. */
int hj212_encode_set_time(const struct hj212_frame *station, int64_t qn_us, int64_t now_us,
                          const char *polid, char *out, size_t cap, size_t *len);

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

/* ---- stream framer -------------------------------------------------- */

/* TCP gives no message boundaries and field devices lie about lengths. The
 * framer holds at most HJ212_FRAME_MAX bytes; it finds "##"+4 digits, takes
 * the declared length, checks the CRC and the CR LF. If they do not line up
 * it looks for "&&"+4 hex+CR LF after the header (a frame whose length field
 * is wrong), and otherwise moves on. Bytes that cannot start a frame come
 * out as junk spans with a reason, so nothing is dropped silently except
 * whitespace (CR, LF, space, tab) between frames. */
struct hj212_framer {
    size_t cap;       /* largest declared data-segment length accepted */
    size_t head;      /* first byte not yet handed out */
    size_t len;       /* bytes held in buf */
    size_t scanned;   /* bytes after head already searched for a frame end */
    int crc_state;    /* CRC at the declared position: 0 unknown, 1 ok, -1 bad */
    int discard;      /* reason for junk while resynchronising, 0 if none */
    uint64_t fed;     /* bytes accepted by hj212_framer_feed */
    uint64_t skipped; /* whitespace bytes skipped between frames */
    char buf[HJ212_FRAME_MAX];
};

enum hj212_chunk_kind {
    HJ212_CHUNK_FRAME = 1, /* a delimited frame; err.reason 0 if accepted */
    HJ212_CHUNK_JUNK = 2,  /* bytes that are no frame; err.reason says why */
};

struct hj212_chunk {
    int kind;         /* enum hj212_chunk_kind */
    const char *data; /* borrowed from the framer: valid until the next feed */
    size_t len;       /* frames: at most HJ212_FRAME_LEN(cap) */
    struct hj212_err err;
};

/* Initialises an embedded framer. seg_cap bounds the declared data-segment
 * length (0 or above HJ212_SEG_MAX means HJ212_SEG_MAX); a frame declaring
 * more is refused as "too_long" and the framer resynchronises. */
void hj212_framer_init(struct hj212_framer *fr, size_t seg_cap);

/* Copies up to n bytes into the framer and returns how many it took (fewer
 * when its buffer is full: call hj212_framer_next until it returns -EAGAIN,
 * then feed the rest). Invalidates chunks handed out before. */
size_t hj212_framer_feed(struct hj212_framer *fr, const void *data, size_t n);

/* Takes the next chunk out. Returns 0 with *chunk filled (and, for a frame,
 * *frame parsed as by hj212_parse_frame: chunk->err tells whether it was
 * accepted), or -EAGAIN when more bytes are needed. With eof set (the peer
 * closed, or the partial frame timed out) bytes held for a partial frame are
 * released as junk "truncated"; call until -EAGAIN. A frame whose CR LF has
 * not arrived yet is released without it (the CR LF is skipped later), so a
 * logger that waits for an answer is never kept waiting. */
int hj212_framer_next(struct hj212_framer *fr, bool eof, struct hj212_chunk *chunk,
                      struct hj212_frame *frame);

/* Bytes held for a frame not yet complete (for idle timeouts). */
size_t hj212_framer_pending(const struct hj212_framer *fr);

#endif
