/* elog: the one logger. One logfmt line per event on stderr, written with a
 * single write(2) so lines from several threads never interleave.
 *
 *   ts=2026-11-29T14:00:00.123Z level=info prog=eco-ingest msg="stored" rows=500
 *
 * Thread-safe: the level and program name are set once at start, before any
 * thread exists; elog_write only formats into a stack buffer and writes. */
#ifndef ECO_ELOG_H
#define ECO_ELOG_H

#include <stddef.h>

enum elog_level { ELOG_DEBUG = 0, ELOG_INFO, ELOG_WARN, ELOG_ERROR };

/* Longest line written; longer events are cut and end in "...". */
#define ELOG_LINE_MAX 2048

/* Sets the program name (borrowed: must outlive the process, e.g. a literal)
 * and the minimum level. Call once from main before threads start. */
void elog_init(const char *prog, enum elog_level min_level);

/* Parses "debug", "info", "warn" or "error". Returns 0 or -EINVAL. */
int elog_level_parse(const char *s, enum elog_level *out);

/* Writes one event. `fmt` continues the line after msg=...: it holds further
 * logfmt pairs, e.g. elog_write(ELOG_INFO, "stored", "rows=%zu", n).
 * Pass fmt NULL for no pairs. The message is quoted when needed. */
void elog_write(enum elog_level lvl, const char *msg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define elog_debug(msg, ...) elog_write(ELOG_DEBUG, msg, __VA_ARGS__)
#define elog_info(msg, ...) elog_write(ELOG_INFO, msg, __VA_ARGS__)
#define elog_warn(msg, ...) elog_write(ELOG_WARN, msg, __VA_ARGS__)
#define elog_error(msg, ...) elog_write(ELOG_ERROR, msg, __VA_ARGS__)

/* Writes a logfmt-safe value into out (quoted and escaped when it holds
 * spaces, quotes, '=' or control characters). Always NUL-terminates; cuts
 * at cap. Returns out, for use as a "%s" argument. */
const char *elog_q(char *out, size_t cap, const char *value);

#endif
