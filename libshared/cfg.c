#include "cfg.h"

#include "elog.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int cfg__parse_bool(const char *v, int *out)
{
    static const char *const t[] = {"1", "true", "yes", "on"};
    static const char *const f[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, t[i]) == 0)
            return *out = 1, 0;
        if (strcasecmp(v, f[i]) == 0)
            return *out = 0, 0;
    }
    return -EINVAL;
}

int cfg_split_addr(const char *addr, char *host, size_t hostcap, int *port)
{
    const char *colon, *h = addr;
    size_t hl;
    char *end;
    long p;

    if (addr[0] == '[') {
        const char *rb = strchr(addr, ']');
        if (!rb || rb[1] != ':')
            return -EINVAL;
        h = addr + 1;
        hl = (size_t)(rb - h);
        colon = rb + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon)
            return -EINVAL;
        hl = (size_t)(colon - addr);
    }
    if (hl == 0 || hl >= hostcap)
        return -EINVAL;
    errno = 0;
    p = strtol(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || p < 0 || p > 65535)
        return -EINVAL;
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (int)p;
    return 0;
}

static int cfg__set(const struct cfg_def *d, void *conf, const char *v, const char *origin,
                    char *err, size_t errcap)
{
    char *field = (char *)conf + d->offset;
    size_t n = strlen(v);

    switch (d->type) {
    case CFG_STR:
    case CFG_SECRET:
    case CFG_ADDR:
        if (n >= CFG_STR_MAX || (int64_t)n < d->min || (d->max > 0 && (int64_t)n > d->max)) {
            snprintf(err, errcap, "%s: length %zu out of range (%s)", d->name, n, origin);
            return -EINVAL;
        }
        if (d->type == CFG_ADDR && n > 0) {
            char host[CFG_STR_MAX];
            int port;
            if (cfg_split_addr(v, host, sizeof(host), &port)) {
                snprintf(err, errcap, "%s: expected host:port, got \"%s\" (%s)", d->name, v,
                         origin);
                return -EINVAL;
            }
        }
        memcpy(field, v, n + 1);
        return 0;
    case CFG_INT: {
        char *end;
        long long x;
        errno = 0;
        x = strtoll(v, &end, 10);
        if (errno || end == v || *end || x < d->min || x > d->max) {
            snprintf(err, errcap, "%s: expected an integer in [%lld, %lld], got \"%s\" (%s)",
                     d->name, (long long)d->min, (long long)d->max, v, origin);
            return -EINVAL;
        }
        int64_t x64 = x;
        memcpy(field, &x64, sizeof(x64));
        return 0;
    }
    case CFG_BOOL: {
        int b;
        if (cfg__parse_bool(v, &b)) {
            snprintf(err, errcap, "%s: expected true or false, got \"%s\" (%s)", d->name, v,
                     origin);
            return -EINVAL;
        }
        memcpy(field, &b, sizeof(b));
        return 0;
    }
    }
    return -EINVAL;
}

static const struct cfg_def *cfg__find(const struct cfg_prog *prog, const char *name)
{
    for (size_t i = 0; i < prog->ndefs; i++)
        if (strcmp(prog->defs[i].name, name) == 0)
            return &prog->defs[i];
    return NULL;
}

static char *cfg__trim(char *s)
{
    char *e;
    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static int cfg__load_file(const struct cfg_prog *prog, void *conf, bool *seen, const char *file,
                          char *err, size_t errcap)
{
    char line[CFG_LINE_MAX + 2], origin[CFG_STR_MAX + 32];
    FILE *f = fopen(file, "r");
    int rc = 0, lineno = 0;

    if (!f) {
        rc = -errno;
        snprintf(err, errcap, "--config %s: %s", file, strerror(errno));
        return rc;
    }
    while (fgets(line, sizeof(line), f)) {
        char *k, *v, *eq;
        const struct cfg_def *d;
        lineno++;
        if (strlen(line) > CFG_LINE_MAX) {
            snprintf(err, errcap, "%s:%d: line longer than %d bytes", file, lineno, CFG_LINE_MAX);
            rc = -EINVAL;
            goto out;
        }
        k = cfg__trim(line);
        if (*k == '\0' || *k == '#')
            continue;
        eq = strchr(k, '=');
        if (!eq) {
            snprintf(err, errcap, "%s:%d: expected NAME=VALUE", file, lineno);
            rc = -EINVAL;
            goto out;
        }
        *eq = '\0';
        k = cfg__trim(k);
        v = cfg__trim(eq + 1);
        if (strlen(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[strlen(v) - 1] == v[0]) {
            v[strlen(v) - 1] = '\0';
            v++;
        }
        d = cfg__find(prog, k);
        if (!d) {
            snprintf(err, errcap, "%s:%d: unknown setting %s", file, lineno, k);
            rc = -EINVAL;
            goto out;
        }
        snprintf(origin, sizeof(origin), "%s:%d", file, lineno);
        rc = cfg__set(d, conf, v, origin, err, errcap);
        if (rc)
            goto out;
        seen[d - prog->defs] = true;
    }
out:
    fclose(f);
    return rc;
}

int cfg_load(const struct cfg_prog *prog, void *conf, const char *file, char *err, size_t errcap)
{
    bool seen[128] = {false};
    int rc;

    if (prog->ndefs > sizeof(seen) / sizeof(seen[0])) {
        snprintf(err, errcap, "too many settings");
        return -EINVAL;
    }
    for (size_t i = 0; i < prog->ndefs; i++) {
        const struct cfg_def *d = &prog->defs[i];
        if (d->dflt && (rc = cfg__set(d, conf, d->dflt, "default", err, errcap)))
            return rc;
        seen[i] = d->dflt != NULL;
    }
    if (file && (rc = cfg__load_file(prog, conf, seen, file, err, errcap)))
        return rc;
    for (size_t i = 0; i < prog->ndefs; i++) {
        const struct cfg_def *d = &prog->defs[i];
        const char *v = getenv(d->name);
        if (v) {
            if ((rc = cfg__set(d, conf, v, "environment", err, errcap)))
                return rc;
            seen[i] = true;
        }
        if (!seen[i]) {
            snprintf(err, errcap, "%s: required setting is not set", d->name);
            return -EINVAL;
        }
    }
    return 0;
}

/* Masks every password in a libpq key=value string: `password` as a whole
 * key (not `sslpassword`), spaces around '=', quoted values with escapes. */
static void cfg__mask_kv(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    const char *p = in;

    while (*p && n + 1 < cap) {
        const char *k = p, *v, *e;
        bool is_pw;
        while (*p && !isspace((unsigned char)*p) && *p != '=')
            p++;
        is_pw = (size_t)(p - k) == 8 && strncmp(k, "password", 8) == 0;
        v = p;
        while (isspace((unsigned char)*v))
            v++;
        if (*v != '=') {
            /* not a key: copy one character and go on */
            out[n++] = *k;
            p = k + 1;
            continue;
        }
        v++;
        while (isspace((unsigned char)*v))
            v++;
        e = v;
        if (*e == '\'') {
            for (e++; *e && *e != '\''; e++)
                if (*e == '\\' && e[1])
                    e++;
            if (*e)
                e++;
        } else {
            while (*e && !isspace((unsigned char)*e))
                e++;
        }
        /* the key and '=' as written, then the value or the mask */
        for (const char *c = k; c < v && n + 1 < cap; c++)
            out[n++] = *c;
        if (is_pw) {
            for (const char *c = "***"; *c && n + 1 < cap; c++)
                out[n++] = *c;
        } else {
            for (const char *c = v; c < e && n + 1 < cap; c++)
                out[n++] = *c;
        }
        p = e;
        while (isspace((unsigned char)*p) && n + 1 < cap)
            out[n++] = *p++;
    }
    out[n] = '\0';
}

void cfg_mask(const char *in, char *out, size_t cap)
{
    const char *scheme = strstr(in, "://");

    if (cap == 0)
        return;
    if (!scheme) {
        cfg__mask_kv(in, out, cap);
        return;
    }
    /* URL: user:password@ in the authority, password=... in the query */
    size_t n = 0;
    const char *p = in, *auth = scheme + 3;
    const char *at = strchr(auth, '@'), *slash = strchr(auth, '/');
    const char *colon = strchr(auth, ':');
    if (at && (!slash || at < slash) && colon && colon < at) {
        n = (size_t)snprintf(out, cap, "%.*s:***", (int)(colon - in), in);
        p = at;
        if (n >= cap)
            return;
    }
    while (*p && n + 1 < cap) {
        if ((p[0] == '?' || p[0] == '&') && strncmp(p + 1, "password=", 9) == 0) {
            int k = snprintf(out + n, cap - n, "%cpassword=***", p[0]);
            n += k > 0 ? (size_t)k : 0;
            if (n >= cap) {
                n = cap - 1;
                break;
            }
            p += 10;
            while (*p && *p != '&')
                p++;
            continue;
        }
        out[n++] = *p++;
    }
    out[n] = '\0';
}

void cfg_log(const struct cfg_prog *prog, const void *conf)
{
    char buf[CFG_STR_MAX * 2], masked[CFG_STR_MAX + 16], q[CFG_STR_MAX * 2 + 8];
    size_t n = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < prog->ndefs && n < sizeof(buf); i++) {
        const struct cfg_def *d = &prog->defs[i];
        const char *field = (const char *)conf + d->offset;
        int64_t x;
        int b;

        switch (d->type) {
        case CFG_SECRET:
            snprintf(masked, sizeof(masked), "%s", field[0] ? "***" : "");
            break;
        case CFG_STR:
        case CFG_ADDR:
            cfg_mask(field, masked, sizeof(masked));
            break;
        case CFG_INT:
            memcpy(&x, field, sizeof(x));
            snprintf(masked, sizeof(masked), "%lld", (long long)x);
            break;
        case CFG_BOOL:
            memcpy(&b, field, sizeof(b));
            snprintf(masked, sizeof(masked), "%s", b ? "true" : "false");
            break;
        }
        elog_info("config", "name=%s value=%s", d->name, elog_q(q, sizeof(q), masked));
    }
}

void cfg_help(const struct cfg_prog *prog, FILE *out)
{
    fprintf(out,
            "%s - %s\n\nUsage: %s [--config FILE] [--help] [--version]\n\n"
            "Settings (environment variables, or NAME=VALUE lines in --config FILE;\n"
            "the environment wins):\n",
            prog->name, prog->summary, prog->name);
    for (size_t i = 0; i < prog->ndefs; i++) {
        const struct cfg_def *d = &prog->defs[i];
        fprintf(out, "  %-28s %s", d->name, d->help);
        if (d->type == CFG_INT)
            fprintf(out, " [%lld..%lld]", (long long)d->min, (long long)d->max);
        if (!d->dflt)
            fprintf(out, " (required)\n");
        else if (d->type == CFG_SECRET)
            fprintf(out, "\n");
        else
            fprintf(out, " (default: %s)\n", d->dflt[0] ? d->dflt : "empty");
    }
}

int cfg_main(const struct cfg_prog *prog, int argc, char **argv, void *conf)
{
    const char *file = NULL;
    char err[512];

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            cfg_help(prog, stdout);
            return 1;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("%s %s\n", prog->name, ECO_VERSION);
            return 1;
        } else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            file = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            file = argv[i] + 9;
        } else {
            fprintf(stderr, "%s: unknown argument %s (try --help)\n", prog->name, argv[i]);
            return -EINVAL;
        }
    }
    if (cfg_load(prog, conf, file, err, sizeof(err))) {
        fprintf(stderr, "%s: bad configuration: %s\n", prog->name, err);
        return -EINVAL;
    }
    return 0;
}
