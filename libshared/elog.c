#include "elog.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *elog__prog = "eco";
static enum elog_level elog__min = ELOG_INFO;

static const char *const elog__names[] = {"debug", "info", "warn", "error"};

void elog_init(const char *prog, enum elog_level min_level)
{
    elog__prog = prog;
    elog__min = min_level;
}

int elog_level_parse(const char *s, enum elog_level *out)
{
    for (size_t i = 0; i < sizeof(elog__names) / sizeof(elog__names[0]); i++) {
        if (strcmp(s, elog__names[i]) == 0) {
            *out = (enum elog_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

const char *elog_q(char *out, size_t cap, const char *value)
{
    size_t n = 0;
    int quote = value[0] == '\0';

    if (cap == 0)
        return out;
    for (const char *p = value; *p && !quote; p++)
        if (*p == ' ' || *p == '"' || *p == '=' || (unsigned char)*p < 0x20)
            quote = 1;
    if (!quote) {
        snprintf(out, cap, "%s", value);
        return out;
    }
    if (n + 1 < cap)
        out[n++] = '"';
    for (const char *p = value; *p && n + 3 < cap; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        } else if (c == '\n') {
            out[n++] = '\\';
            out[n++] = 'n';
        } else if (c < 0x20) {
            out[n++] = '?';
        } else {
            out[n++] = (char)c;
        }
    }
    if (n + 1 < cap)
        out[n++] = '"';
    out[n < cap ? n : cap - 1] = '\0';
    return out;
}

void elog_write(enum elog_level lvl, const char *msg, const char *fmt, ...)
{
    char line[ELOG_LINE_MAX];
    char qmsg[512];
    struct timeval tv;
    struct tm tm;
    size_t n;
    int k;

    if (lvl < elog__min)
        return;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    k = snprintf(
        line, sizeof(line), "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s prog=%s msg=%s",
        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
        (long)(tv.tv_usec / 1000), elog__names[lvl], elog__prog, elog_q(qmsg, sizeof(qmsg), msg));
    n = k < 0 ? 0 : (size_t)k;
    if (fmt && n < sizeof(line) - 2) {
        va_list ap;
        line[n++] = ' ';
        va_start(ap, fmt);
        k = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
        va_end(ap);
        n += k < 0 ? 0 : (size_t)k;
    }
    if (n >= sizeof(line) - 1) {
        n = sizeof(line) - 1;
        memcpy(line + n - 3, "...", 3);
    }
    line[n++] = '\n';
    /* One write per line keeps lines whole under concurrency; a short write
     * to stderr is not worth retrying. */
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
}
