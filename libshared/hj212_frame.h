/* hj212_frame: the HJ 212 envelope. Limits, refusal reasons and leniency
 * bits shared by every hj212 module, the CRC16 of Appendix A, and the
 * parser of one complete frame ("##" LLLL segment CCCC CR LF) into a
 * struct hj212_frame whose CP area is delimited, not parsed (hj212_cp.h
 * parses it). Pure: no I/O, no allocation, no global state; thread-safe.
 * hj212.h describes the protocol and the leniency policy. */
#ifndef ECO_HJ212_FRAME_H
#define ECO_HJ212_FRAME_H

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

#endif
