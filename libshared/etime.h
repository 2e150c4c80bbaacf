/* etime: timestamps. Internally a time is int64 microseconds since the Unix
 * epoch (UTC). Stations in the sample network report Beijing time (UTC+8,
 * no daylight saving), which is also what HJ 212 loggers send without an
 * offset. Pure functions, thread-safe. */
#ifndef ECO_ETIME_H
#define ECO_ETIME_H

#include <stddef.h>
#include <stdint.h>

#define ETIME_US_PER_SEC 1000000LL
/* Beijing time offset in seconds. */
#define ETIME_BEIJING_OFFSET (8 * 3600)
/* Longest string etime_format writes, with NUL. */
#define ETIME_RFC3339_MAX 40

/* Parses RFC 3339: "2021-06-01T08:00:00+08:00", "...T00:00:00.5Z"; 't' and
 * ' ' accepted for 'T'. An offset is required. Exactly len bytes are read.
 * *offset_s (may be NULL) gets the offset in seconds. Returns 0 or -EINVAL.
 *
 * Second 60 is accepted only where a leap second can be: 23:59:60 UTC (at
 * whatever offset it is written, e.g. 07:59:60+08:00) on the last day of a
 * month; it reads as 23:59:59.999999 UTC. Any other :60 is -EINVAL. The
 * same holds for etime_parse_hj212. */
int etime_parse_rfc3339(const char *s, size_t len, int64_t *us, int *offset_s);

/* Formats us as RFC 3339 at the given offset (seconds east of UTC): the
 * fraction is printed only when not zero, as milliseconds when that is
 * exact, else microseconds. Returns chars written. */
int etime_format(int64_t us, int offset_s, char *out, size_t cap);

/* HJ 212 time "YYYYMMDDhhmmss" (DataTime) or "YYYYMMDDhhmmsszzz" (QN, with
 * milliseconds), read as local time at offset_s. Returns 0 or -EINVAL. */
int etime_parse_hj212(const char *s, size_t len, int offset_s, int64_t *us);

/* Formats as "YYYYMMDDhhmmss" (with_ms 0) or "YYYYMMDDhhmmsszzz" (with_ms 1)
 * at offset_s. out needs 18 bytes. */
void etime_format_hj212(int64_t us, int offset_s, int with_ms, char out[18]);

/* Now, microseconds since the epoch (CLOCK_REALTIME). */
int64_t etime_now_us(void);

/* Days since 1970-01-01 for a proleptic Gregorian date; no validation. */
int64_t etime_days_from_civil(int64_t y, unsigned m, unsigned d);

#endif
