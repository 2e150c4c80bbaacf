/* wocli: the command line of work orders, complaints and alarm
 * acknowledgements (`ecoctl wo ...`, `ecoctl complaint submit`, `ecoctl alarm
 * ack`), turned into requests to eco-dispatch and its replies into text.
 *
 * Pure functions: wocli_parse checks an argv and builds the request's JSON
 * arguments without any I/O, so every usage rule is unit-tested
 * (tests/unit/ctlwo_test.c); the request itself travels through ctl_rpc.
 * What is checked here is what the command line can know: ids, numbers and
 * their ranges, categories, coordinates, times, URLs, required notes, text
 * sizes and UTF-8. Whether an order may change state, or whether the caller
 * may act on it, is for eco-dispatch to say.
 *
 * A member of the arguments is present only when its option was given
 * (docs/DISPATCH.md lists them per method). */
#ifndef ECO_WOCLI_H
#define ECO_WOCLI_H

#include <cjson/cJSON.h>
#include <stdio.h>

#define WOCLI_SERVICE "dispatch"
#define WOCLI_TIMEOUT_S 10.0
#define WOCLI_TIMEOUT_MAX_S 3600.0
#define WOCLI_LIMIT_MAX 10000
#define WOCLI_TITLE_MAX 200             /* bytes */
#define WOCLI_NOTE_MAX (16 * 1024)      /* bytes, a note on a state change */
#define WOCLI_TEXT_MAX (64 * 1024)      /* bytes, an order's or a complaint's text */
#define WOCLI_URL_MAX 2048              /* an attachment or photo URL */
#define WOCLI_ATTACH_MAX 20             /* --attach per reply */
#define WOCLI_STATE_MAX 16              /* --state per list */
#define WOCLI_CODE_MAX 64               /* a department or site code */
#define WOCLI_ID_MAX 9007199254740991LL /* 2^53 - 1: exact as a JSON number */

/* How a reply is shown in text mode. */
enum wocli_out {
    WOCLI_OUT_LIST,      /* wo list: one aligned row per order */
    WOCLI_OUT_SHOW,      /* wo show: the order, then its events */
    WOCLI_OUT_CREATE,    /* wo create: id, department, due, why routed */
    WOCLI_OUT_CHANGE,    /* a state change: "work order 12: accepted (due ...)" */
    WOCLI_OUT_COMPLAINT, /* complaint submit */
    WOCLI_OUT_ALARM,     /* alarm ack */
    WOCLI_OUT_EXPORT     /* wo export: the reply's requests as JSON, in --json mode too */
};

struct wocli_req {
    const char *method; /* "wo.accept": a static string */
    const char *done;   /* what the change did, for text ("accepted"); static */
    enum wocli_out out;
    long long id;     /* the order or alarm, 0 when the verb takes none */
    double timeout_s; /* --timeout, default WOCLI_TIMEOUT_S */
    cJSON *args;      /* the request's arguments; the caller owns it */
};

/* Parses `ecoctl NOUN argv...` where noun is "wo", "complaint" or "alarm"
 * (alarm: only "ack") and argv[0] is the verb. Global options (--json) are
 * already removed. Returns 0 with *req filled (free req->args with
 * cJSON_Delete), -EINVAL for bad usage with a one-line reason in err (no
 * "ecoctl:" prefix, no newline), -ENOENT for an unknown noun or verb, or
 * -ENOMEM. On an error req->args is NULL. */
int wocli_parse(const char *noun, int argc, const char *const *argv, struct wocli_req *req,
                char *err, size_t errcap);

/* Prints the usage of noun ("wo", "complaint" or "alarm") to out. */
void wocli_usage(const char *noun, FILE *out);

/* Prints an {"ok": true, ...} reply to req as text on out. Tolerant: a
 * member the reply lacks is left out, never an error. */
void wocli_print(const struct wocli_req *req, const cJSON *reply, FILE *out);

#endif
