/* hj212_enc: struct hj212_frame -> bytes. Fields are checked as the
 * parser (hj212_frame.h) checks them, so every encoded frame parses back;
 * length and CRC are computed. Also the platform's 9014/9013 answers and
 * the 1012 set-time request. Pure and thread-safe; writes only the
 * caller's buffer. */
#ifndef ECO_HJ212_ENC_H
#define ECO_HJ212_ENC_H

#include "hj212_frame.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

#endif
