/* hj212: codec for HJ 212 (2005, 2017, 2025) data-transmission frames, the
 * protocol Chinese environmental data loggers speak over TCP.
 *
 *   "##" LLLL <data segment, L bytes> CCCC CR LF
 *   data segment: QN=..;ST=..;CN=..;PW=..;MN=..;Flag=..;[PNUM=..;PNO=..;]CP=&&...&&
 *
 * Four modules, all pure (no I/O, no allocation, no global state) and
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
 * arguments to the encoder); the reason comes back in a struct hj212_err.
 *
 * This header is an umbrella over the four modules; include the one you
 * need, or this one for all:
 *   hj212_frame.h   limits, reasons, leniencies, CRC16, hj212_parse_frame
 *   hj212_enc.h     hj212_encode, hj212_encode_answer, hj212_encode_set_time
 *   hj212_cp.h      hj212_cp_parse, hj212_cp_data, hj212_cp_pollutant, ...
 *   hj212_framer.h  struct hj212_framer */
#ifndef ECO_HJ212_H
#define ECO_HJ212_H

#include "hj212_cp.h"
#include "hj212_enc.h"
#include "hj212_frame.h"
#include "hj212_framer.h"

#endif
