/* cfg: configuration as a table per program (name, type, default, bounds,
 * help), in the manner of redis's static_configs[]. Values come from the
 * defaults, then an optional file of KEY=VALUE lines (--config FILE), then
 * the environment, which wins. Everything is validated at start; the result
 * is a plain struct the program passes around as const.
 *
 * Values live in fixed-size fields of the caller's struct (found by offset),
 * so a loaded configuration owns no heap memory. Not thread-safe: load once
 * in main. */
#ifndef ECO_CFG_H
#define ECO_CFG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Size of a string field, NUL included. */
#define CFG_STR_MAX 256
/* Longest line in a --config file. */
#define CFG_LINE_MAX 1024

enum cfg_type {
    CFG_STR,    /* char[CFG_STR_MAX]; min/max bound the length */
    CFG_SECRET, /* like CFG_STR, masked when logged */
    CFG_INT,    /* int64_t within [min, max] */
    CFG_BOOL,   /* int: 1 for true/yes/on/1, 0 for false/no/off/0 */
    CFG_ADDR,   /* char[CFG_STR_MAX] "host:port", port 0..65535 */
};

struct cfg_def {
    const char *name; /* environment name, e.g. "ECO_PG_DSN" */
    enum cfg_type type;
    const char *dflt; /* NULL: the setting is required */
    int64_t min, max;
    size_t offset; /* offsetof() the field in the program's struct */
    const char *help;
};

struct cfg_prog {
    const char *name;    /* "eco-ingest" */
    const char *summary; /* one line for --help */
    const struct cfg_def *defs;
    size_t ndefs;
};

/* Loads defaults, file (may be NULL) and environment into conf. On failure
 * returns -EINVAL (or -errno reading the file) with a one-line reason naming
 * the setting in err. */
int cfg_load(const struct cfg_prog *prog, void *conf, const char *file, char *err, size_t errcap);

/* Handles the common command line: --help, --version, --config FILE. Returns
 * 0 to run (conf loaded), 1 when it printed help or version (exit 0), -EINVAL
 * on bad usage or a bad configuration, with the reason printed to stderr as
 * one line (exit 2 or 1). Arguments it does not know are refused. */
int cfg_main(const struct cfg_prog *prog, int argc, char **argv, void *conf);

/* Logs the effective configuration once, secrets masked (also the password
 * inside URLs and DSNs). */
void cfg_log(const struct cfg_prog *prog, const void *conf);

/* Prints the table as help text. */
void cfg_help(const struct cfg_prog *prog, FILE *out);

/* Masks a password in a URL ("mqtt://u:secret@h" -> "mqtt://u:***@h") or a
 * libpq DSN ("password=secret" -> "password=***"). Always NUL-terminates. */
void cfg_mask(const char *in, char *out, size_t cap);

/* Splits "host:port" (also "[v6]:port"). Returns 0 or -EINVAL. */
int cfg_split_addr(const char *addr, char *host, size_t hostcap, int *port);

#endif
