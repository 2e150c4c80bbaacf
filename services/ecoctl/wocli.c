/* wocli: argv -> eco-dispatch request, reply -> text (see wocli.h). */
#include "wocli.h"

#include "etime.h"
#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The options, one bit each; a verb lists those it takes. */
enum {
    WOCLI__STATE = 1u << 0,
    WOCLI__DEPT = 1u << 1,
    WOCLI__OVERDUE = 1u << 2,
    WOCLI__LIMIT = 1u << 3,
    WOCLI__CATEGORY = 1u << 4,
    WOCLI__TITLE = 1u << 5,
    WOCLI__TEXT = 1u << 6,
    WOCLI__PRIORITY = 1u << 7,
    WOCLI__SITE = 1u << 8,
    WOCLI__LAT = 1u << 9,
    WOCLI__LON = 1u << 10,
    WOCLI__DUE = 1u << 11,
    WOCLI__NOTE = 1u << 12,
    WOCLI__ATTACH = 1u << 13,
    WOCLI__CONTACT = 1u << 14,
    WOCLI__PHOTO = 1u << 15,
    WOCLI__TS = 1u << 16,
    WOCLI__FORMAT = 1u << 17,
    WOCLI__FROM = 1u << 18,
    WOCLI__TO = 1u << 19,
};

/* How an option's value is checked and stored. */
enum wocli__kind {
    WOCLI__K_STATE,    /* appended to an array of state names */
    WOCLI__K_CODE,     /* a department or site code */
    WOCLI__K_FLAG,     /* no value: true */
    WOCLI__K_INT,      /* integer in [min, max] */
    WOCLI__K_CATEGORY, /* one of wocli__categories */
    WOCLI__K_LINE,     /* one line of text (a title) */
    WOCLI__K_TEXT,     /* free text, newlines allowed */
    WOCLI__K_LAT,
    WOCLI__K_LON,
    WOCLI__K_TIME,   /* RFC 3339 with an offset */
    WOCLI__K_URL,    /* http:// or https:// */
    WOCLI__K_URLS,   /* appended to an array of URLs */
    WOCLI__K_PHONE,  /* digits, spaces, + - ( ) */
    WOCLI__K_FORMAT, /* an export format: only "open311" */
};

struct wocli__opt {
    const char *flag;
    unsigned bit;
    enum wocli__kind kind;
    const char *member; /* in the request's arguments */
    long long min, max; /* K_INT range; K_LINE/K_TEXT: max bytes */
};

static const struct wocli__opt wocli__opts[] = {
    {"--state", WOCLI__STATE, WOCLI__K_STATE, "state", 0, 0},
    {"--dept", WOCLI__DEPT, WOCLI__K_CODE, "dept", 0, 0},
    {"--overdue", WOCLI__OVERDUE, WOCLI__K_FLAG, "overdue", 0, 0},
    {"--limit", WOCLI__LIMIT, WOCLI__K_INT, "limit", 1, WOCLI_LIMIT_MAX},
    {"--category", WOCLI__CATEGORY, WOCLI__K_CATEGORY, "category", 0, 0},
    {"--title", WOCLI__TITLE, WOCLI__K_LINE, "title", 0, WOCLI_TITLE_MAX},
    {"--text", WOCLI__TEXT, WOCLI__K_TEXT, "text", 0, WOCLI_TEXT_MAX},
    {"--priority", WOCLI__PRIORITY, WOCLI__K_INT, "priority", 1, 4},
    {"--site", WOCLI__SITE, WOCLI__K_CODE, "site", 0, 0},
    {"--lat", WOCLI__LAT, WOCLI__K_LAT, "lat", 0, 0},
    {"--lon", WOCLI__LON, WOCLI__K_LON, "lon", 0, 0},
    {"--due", WOCLI__DUE, WOCLI__K_TIME, "due", 0, 0},
    {"--note", WOCLI__NOTE, WOCLI__K_TEXT, "note", 0, WOCLI_NOTE_MAX},
    {"--attach", WOCLI__ATTACH, WOCLI__K_URLS, "attachments", 0, WOCLI_ATTACH_MAX},
    {"--contact", WOCLI__CONTACT, WOCLI__K_PHONE, "contact", 0, 0},
    {"--photo", WOCLI__PHOTO, WOCLI__K_URL, "photo", 0, 0},
    {"--ts", WOCLI__TS, WOCLI__K_TIME, "ts", 0, 0},
    {"--format", WOCLI__FORMAT, WOCLI__K_FORMAT, "format", 0, 0},
    {"--from", WOCLI__FROM, WOCLI__K_TIME, "from", 0, 0},
    {"--to", WOCLI__TO, WOCLI__K_TIME, "to", 0, 0},
};

/* The complaint categories of docs/CONTRACT.md. */
static const char *const wocli__categories[] = {"air", "water", "sea", "noise", "waste", "other"};

struct wocli__verb {
    const char *noun, *verb, *method, *done;
    enum wocli_out out;
    bool takes_id;
    unsigned allowed, required;
    bool needs_place; /* --site, or --lat and --lon */
};

#define WOCLI__PLACE (WOCLI__SITE | WOCLI__LAT | WOCLI__LON)

static const struct wocli__verb wocli__verbs[] = {
    {"wo", "list", "wo.list", "listed", WOCLI_OUT_LIST, false,
     WOCLI__STATE | WOCLI__DEPT | WOCLI__OVERDUE | WOCLI__LIMIT, 0, false},
    {"wo", "show", "wo.show", "shown", WOCLI_OUT_SHOW, true, 0, 0, false},
    {"wo", "create", "wo.create", "created", WOCLI_OUT_CREATE, false,
     WOCLI__CATEGORY | WOCLI__TITLE | WOCLI__TEXT | WOCLI__DEPT | WOCLI__PRIORITY | WOCLI__PLACE |
         WOCLI__DUE,
     WOCLI__CATEGORY | WOCLI__TITLE, false},
    {"wo", "assign", "wo.assign", "assigned", WOCLI_OUT_CHANGE, true, WOCLI__DEPT | WOCLI__NOTE,
     WOCLI__DEPT, false},
    {"wo", "accept", "wo.accept", "accepted", WOCLI_OUT_CHANGE, true, WOCLI__NOTE, 0, false},
    {"wo", "start", "wo.start", "in progress", WOCLI_OUT_CHANGE, true, WOCLI__NOTE, 0, false},
    {"wo", "reply", "wo.reply", "replied", WOCLI_OUT_CHANGE, true, WOCLI__NOTE | WOCLI__ATTACH,
     WOCLI__NOTE, false},
    {"wo", "verify", "wo.verify", "verified", WOCLI_OUT_CHANGE, true, WOCLI__NOTE, 0, false},
    {"wo", "reject", "wo.reject", "rejected", WOCLI_OUT_CHANGE, true, WOCLI__NOTE, WOCLI__NOTE,
     false},
    {"wo", "reopen", "wo.reopen", "reopened", WOCLI_OUT_CHANGE, true, WOCLI__NOTE, WOCLI__NOTE,
     false},
    {"wo", "close", "wo.close", "closed", WOCLI_OUT_CHANGE, true, WOCLI__NOTE, 0, false},
    {"wo", "cancel", "wo.cancel", "cancelled", WOCLI_OUT_CHANGE, true, WOCLI__NOTE, WOCLI__NOTE,
     false},
    {"complaint", "submit", "complaint.submit", "submitted", WOCLI_OUT_COMPLAINT, false,
     WOCLI__CATEGORY | WOCLI__TEXT | WOCLI__PLACE | WOCLI__CONTACT | WOCLI__PHOTO | WOCLI__TS,
     WOCLI__CATEGORY | WOCLI__TEXT, true},
    {"wo", "export", "wo.export", "exported", WOCLI_OUT_EXPORT, false,
     WOCLI__FORMAT | WOCLI__DEPT | WOCLI__FROM | WOCLI__TO | WOCLI__LIMIT, WOCLI__FORMAT, false},
    {"alarm", "ack", "alarm.ack", "acknowledged", WOCLI_OUT_ALARM, true, WOCLI__NOTE, 0, false},
};

#define WOCLI__N(a) (sizeof(a) / sizeof((a)[0]))

static int wocli__fail(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int wocli__fail(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    if (err && cap) {
        va_start(ap, fmt);
        vsnprintf(err, cap, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

/* Strict UTF-8 (no overlongs, no surrogates, at most U+10FFFF): cJSON
 * would copy invalid bytes into the request as they are, and the service
 * would rightly refuse the whole message. */
static bool wocli__utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p, n;
        uint32_t cp;
        if (c < 0x80) {
            p++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        for (unsigned k = 1; k <= n; k++) {
            if ((p[k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[k] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        p += n + 1;
    }
    return true;
}

/* True when s has a character other than spaces. */
static bool wocli__blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return false;
    return true;
}

/* Text for people: valid UTF-8 of at most max bytes, not blank, and no
 * control characters but (when multiline) newline and tab. */
static int wocli__text(const char *flag, const char *v, long long max, bool multiline, char *err,
                       size_t cap)
{
    size_t n = strlen(v);
    if (wocli__blank(v))
        return wocli__fail(err, cap, "%s must not be empty", flag);
    if ((long long)n > max)
        return wocli__fail(err, cap, "%s is %zu bytes; at most %lld", flag, n, max);
    if (!wocli__utf8(v))
        return wocli__fail(err, cap, "%s is not valid UTF-8", flag);
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if ((*p < 0x20 && !(multiline && (*p == '\n' || *p == '\t' || *p == '\r'))) || *p == 0x7f)
            return wocli__fail(err, cap, "%s contains a control character%s", flag,
                               multiline ? "" : " (one line only)");
    return 0;
}

/* A strict decimal: digits only, in [min, max]. */
static int wocli__int(const char *v, long long min, long long max, long long *out)
{
    char *end;
    long long x;
    if (*v < '0' || *v > '9')
        return -EINVAL;
    errno = 0;
    x = strtoll(v, &end, 10);
    if (errno || *end || x < min || x > max)
        return -EINVAL;
    *out = x;
    return 0;
}

static int wocli__num(const char *v, double min, double max, double *out)
{
    char *end;
    double x;
    if (!*v || strchr(v, ' '))
        return -EINVAL;
    errno = 0;
    x = strtod(v, &end);
    if (errno || *end || !isfinite(x) || x < min || x > max)
        return -EINVAL;
    *out = x;
    return 0;
}

/* A code (department, site): 1..64 printable ASCII characters, no space. */
static bool wocli__code(const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n > WOCLI_CODE_MAX)
        return false;
    for (; *v; v++)
        if (*v <= ' ' || *v > '~')
            return false;
    return true;
}

static bool wocli__state_name(const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n > 32)
        return false;
    for (; *v; v++)
        if (!((*v >= 'a' && *v <= 'z') || *v == '_'))
            return false;
    return true;
}

static bool wocli__url(const char *v)
{
    size_t n = strlen(v), skip;
    if (strncmp(v, "http://", 7) == 0)
        skip = 7;
    else if (strncmp(v, "https://", 8) == 0)
        skip = 8;
    else
        return false;
    if (n == skip || n > WOCLI_URL_MAX)
        return false;
    for (; *v; v++)
        if ((unsigned char)*v <= ' ' || *v == 0x7f)
            return false;
    return true;
}

static bool wocli__phone(const char *v)
{
    size_t n = strlen(v), digits = 0;
    if (n < 3 || n > 32)
        return false;
    for (; *v; v++) {
        if (*v >= '0' && *v <= '9')
            digits++;
        else if (!strchr("+-() ", *v))
            return false;
    }
    return digits >= 3;
}

/* Adds item to args[member], an array created on first use. */
static int wocli__append(cJSON *args, const char *member, cJSON *item, long long max,
                         const char *flag, char *err, size_t cap)
{
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(args, member);
    if (!item)
        return -ENOMEM;
    if (!arr && !(arr = cJSON_AddArrayToObject(args, member))) {
        cJSON_Delete(item);
        return -ENOMEM;
    }
    if (cJSON_GetArraySize(arr) >= max) {
        cJSON_Delete(item);
        return wocli__fail(err, cap, "at most %lld %s", max, flag);
    }
    if (!cJSON_AddItemToArray(arr, item)) {
        cJSON_Delete(item);
        return -ENOMEM;
    }
    return 0;
}

/* Checks one option's value and stores it in args. */
static int wocli__value(const struct wocli__opt *op, const char *v, cJSON *args, char *err,
                        size_t cap)
{
    long long i;
    double d;
    int rc;
    int64_t us;
    cJSON *item = NULL;

    switch (op->kind) {
    case WOCLI__K_STATE:
        if (!wocli__state_name(v))
            return wocli__fail(err, cap,
                               "--state %s: a state is a name like dispatched or "
                               "in_progress (a-z and _)",
                               v);
        return wocli__append(args, op->member, cJSON_CreateString(v), WOCLI_STATE_MAX, "--state",
                             err, cap);
    case WOCLI__K_URLS:
        if (!wocli__url(v))
            return wocli__fail(err, cap, "%s %s: a URL starting with http:// or https://", op->flag,
                               v);
        return wocli__append(args, op->member, cJSON_CreateString(v), op->max, op->flag, err, cap);
    case WOCLI__K_CODE:
        if (!wocli__code(v))
            return wocli__fail(err, cap, "%s '%s': a code of 1 to %d printable characters",
                               op->flag, v, WOCLI_CODE_MAX);
        item = cJSON_CreateString(v);
        break;
    case WOCLI__K_FLAG:
        item = cJSON_CreateTrue();
        break;
    case WOCLI__K_INT:
        if (wocli__int(v, op->min, op->max, &i))
            return wocli__fail(err, cap, "%s %s: a whole number from %lld to %lld", op->flag, v,
                               op->min, op->max);
        item = cJSON_CreateNumber((double)i);
        break;
    case WOCLI__K_CATEGORY:
        for (size_t k = 0; k < WOCLI__N(wocli__categories); k++)
            if (strcmp(v, wocli__categories[k]) == 0)
                item = cJSON_CreateString(v);
        if (!item)
            return wocli__fail(err, cap,
                               "--category %s: one of air, water, sea, noise, waste, other", v);
        break;
    case WOCLI__K_LINE:
    case WOCLI__K_TEXT:
        if ((rc = wocli__text(op->flag, v, op->max, op->kind == WOCLI__K_TEXT, err, cap)))
            return rc;
        item = cJSON_CreateString(v);
        break;
    case WOCLI__K_LAT:
    case WOCLI__K_LON: {
        double lim = op->kind == WOCLI__K_LAT ? 90 : 180;
        if (wocli__num(v, -lim, lim, &d))
            return wocli__fail(err, cap, "%s %s: degrees from %g to %g (WGS 84)", op->flag, v, -lim,
                               lim);
        item = cJSON_CreateNumber(d);
        break;
    }
    case WOCLI__K_TIME:
        if (etime_parse_rfc3339(v, strlen(v), &us, NULL))
            return wocli__fail(err, cap,
                               "%s %s: a time like 2026-12-06T09:00:00+08:00 (RFC 3339, "
                               "with an offset)",
                               op->flag, v);
        item = cJSON_CreateString(v);
        break;
    case WOCLI__K_URL:
        if (!wocli__url(v))
            return wocli__fail(err, cap, "%s %s: a URL starting with http:// or https://", op->flag,
                               v);
        item = cJSON_CreateString(v);
        break;
    case WOCLI__K_PHONE:
        if (!wocli__phone(v))
            return wocli__fail(err, cap, "%s %s: a phone number (digits, spaces, + - ( ))",
                               op->flag, v);
        item = cJSON_CreateString(v);
        break;
    case WOCLI__K_FORMAT:
        if (strcmp(v, "open311") != 0)
            return wocli__fail(err, cap,
                               "--format %s: the only format is open311 (GeoReport v2 JSON)", v);
        item = cJSON_CreateString(v);
        break;
    }
    if (!item)
        return -ENOMEM;
    if (!cJSON_AddItemToObject(args, op->member, item)) {
        cJSON_Delete(item);
        return -ENOMEM;
    }
    return 0;
}

int wocli_parse(const char *noun, int argc, const char *const *argv, struct wocli_req *req,
                char *err, size_t errcap)
{
    const struct wocli__verb *vb = NULL;
    unsigned seen = 0;
    bool have_id = false;
    cJSON *args = NULL;
    int rc = 0;

    memset(req, 0, sizeof(*req));
    req->timeout_s = WOCLI_TIMEOUT_S;
    if (argc < 1) {
        wocli__fail(err, errcap, "%s: missing verb", noun);
        return -ENOENT;
    }
    for (size_t k = 0; k < WOCLI__N(wocli__verbs); k++)
        if (strcmp(noun, wocli__verbs[k].noun) == 0 && strcmp(argv[0], wocli__verbs[k].verb) == 0)
            vb = &wocli__verbs[k];
    if (!vb) {
        wocli__fail(err, errcap, "%s: unknown verb '%s'", noun, argv[0]);
        return -ENOENT;
    }
    req->method = vb->method;
    req->done = vb->done;
    req->out = vb->out;
    if (!(args = cJSON_CreateObject()))
        return -ENOMEM;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = NULL, *eq;
        const struct wocli__opt *op = NULL;
        size_t flen;

        if (a[0] != '-' || a[1] == '\0') {
            if (!vb->takes_id) {
                rc = wocli__fail(err, errcap, "%s %s: unexpected argument '%s'", noun, vb->verb, a);
                goto out;
            }
            if (have_id) {
                rc = wocli__fail(err, errcap, "%s %s: one ID only ('%s' is extra)", noun, vb->verb,
                                 a);
                goto out;
            }
            if (wocli__int(a, 1, WOCLI_ID_MAX, &req->id)) {
                rc = wocli__fail(err, errcap, "%s %s: ID '%s' is not a positive whole number", noun,
                                 vb->verb, a);
                goto out;
            }
            have_id = true;
            continue;
        }
        if (strcmp(a, "--timeout") == 0 || strncmp(a, "--timeout=", 10) == 0) {
            val = a[9] == '=' ? a + 10 : (i + 1 < argc ? argv[++i] : NULL);
            if (!val || wocli__num(val, 0, WOCLI_TIMEOUT_MAX_S, &req->timeout_s) ||
                req->timeout_s <= 0) {
                rc = wocli__fail(err, errcap,
                                 "--timeout needs seconds, more than 0 and at most "
                                 "%g",
                                 WOCLI_TIMEOUT_MAX_S);
                goto out;
            }
            continue;
        }
        eq = strchr(a, '=');
        flen = eq ? (size_t)(eq - a) : strlen(a);
        for (size_t k = 0; k < WOCLI__N(wocli__opts); k++)
            if (strlen(wocli__opts[k].flag) == flen && strncmp(a, wocli__opts[k].flag, flen) == 0)
                op = &wocli__opts[k];
        if (!op || !(vb->allowed & op->bit)) {
            rc = wocli__fail(err, errcap, "%s %s: unknown option %.*s", noun, vb->verb, (int)flen,
                             a);
            goto out;
        }
        if (op->kind == WOCLI__K_FLAG) {
            if (eq) {
                rc = wocli__fail(err, errcap, "%s takes no value", op->flag);
                goto out;
            }
        } else if (eq) {
            val = eq + 1;
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            rc = wocli__fail(err, errcap, "%s needs a value", op->flag);
            goto out;
        }
        if ((seen & op->bit) && op->kind != WOCLI__K_STATE && op->kind != WOCLI__K_URLS) {
            rc = wocli__fail(err, errcap, "%s given twice", op->flag);
            goto out;
        }
        seen |= op->bit;
        if ((rc = wocli__value(op, val, args, err, errcap)))
            goto out;
    }

    if (vb->takes_id && !have_id) {
        rc = wocli__fail(err, errcap, "%s %s: missing ID (the %s's number)", noun, vb->verb,
                         strcmp(noun, "alarm") == 0 ? "alarm" : "work order");
        goto out;
    }
    for (size_t k = 0; k < WOCLI__N(wocli__opts); k++)
        if ((vb->required & wocli__opts[k].bit) && !(seen & wocli__opts[k].bit)) {
            rc = wocli__fail(err, errcap, "%s %s: %s is required", noun, vb->verb,
                             wocli__opts[k].flag);
            goto out;
        }
    if (!(seen & WOCLI__LAT) != !(seen & WOCLI__LON)) {
        rc = wocli__fail(err, errcap, "--lat and --lon go together");
        goto out;
    }
    if ((seen & WOCLI__SITE) && (seen & WOCLI__LAT)) {
        rc = wocli__fail(err, errcap, "a place is --site CODE or --lat N --lon N, not both");
        goto out;
    }
    if (vb->needs_place && !(seen & WOCLI__PLACE)) {
        rc = wocli__fail(err, errcap, "%s %s: where? --lat N --lon N or --site CODE", noun,
                         vb->verb);
        goto out;
    }
    if (vb->takes_id) {
        /* as digits: cJSON prints a number above 2^31 with 15 significant
         * digits, which would change an id past 10^15 */
        char digits[24];
        snprintf(digits, sizeof(digits), "%lld", req->id);
        if (!cJSON_AddRawToObject(args, "id", digits)) {
            rc = -ENOMEM;
            goto out;
        }
    }
out:
    if (rc) {
        cJSON_Delete(args);
        return rc;
    }
    req->args = args;
    return 0;
}

void wocli_usage(const char *noun, FILE *out)
{
    if (strcmp(noun, "complaint") == 0) {
        fprintf(out,
                "usage: ecoctl complaint submit --category C --text X (--lat N --lon N | --site "
                "CODE)\n"
                "                               [--contact PHONE] [--photo URL] [--ts TIME]\n"
                "Records a public complaint with eco-dispatch, which routes it to a work order\n"
                "(or links it to an open one nearby). C is air, water, sea, noise, waste or\n"
                "other; TIME is RFC 3339 with an offset (default: now).\n");
    } else if (strcmp(noun, "alarm") == 0) {
        fprintf(out, "usage: ecoctl alarm ack ID [--note X]     through eco-dispatch, as you\n"
                     "       ecoctl alarm ack ID --db            directly in the database\n"
                     "                                           (ECO_PG_DSN; no eco-dispatch)\n"
                     "       ecoctl alarm list [--open] [--site CODE] [--limit N]\n");
    } else {
        fprintf(out,
                "usage: ecoctl wo list [--state S]... [--dept D] [--overdue] [--limit N]\n"
                "       ecoctl wo show ID\n"
                "       ecoctl wo create --category C --title T [--text X] [--dept D]\n"
                "                        [--priority 1-4] [--site CODE | --lat N --lon N] [--due "
                "TIME]\n"
                "       ecoctl wo assign ID --dept D [--note X]     dispatch or re-route\n"
                "       ecoctl wo accept ID [--note X]\n"
                "       ecoctl wo start ID [--note X]               work in progress\n"
                "       ecoctl wo reply ID --note X [--attach URL]...  findings and measures\n"
                "       ecoctl wo verify ID [--note X]\n"
                "       ecoctl wo reject ID --note X                back to the department\n"
                "       ecoctl wo reopen ID --note X                the problem came back\n"
                "       ecoctl wo close ID [--note X]\n"
                "       ecoctl wo cancel ID --note X\n"
                "       ecoctl wo export --format open311 [--dept D] [--from TIME] [--to TIME]\n"
                "                        [--limit N]        Open311 GeoReport v2 JSON on stdout\n"
                "Work orders live in eco-dispatch; ecoctl asks it over MQTT 5 as you\n"
                "(ECO_MQTT_URL, ECO_MQTT_USER, ECO_MQTT_PASSWORD, ECO_MQTT_CAFILE) and waits\n"
                "--timeout S seconds (default %g) for the answer. C: air, water, sea, noise,\n"
                "waste, other. TIME: RFC 3339 with an offset. Exit status: 0 done, 1 refused by\n"
                "eco-dispatch or no answer, 2 bad usage. docs/DISPATCH.md has examples.\n",
                WOCLI_TIMEOUT_S);
    }
    if (strcmp(noun, "wo") != 0)
        fprintf(out, "Options: --timeout S (default %g), --json (print eco-dispatch's reply).\n",
                WOCLI_TIMEOUT_S);
}

/* ------------------------------------------------------------ printing ---- */

/* Writes s for a terminal: control characters (an escape sequence in a
 * complaint's text) become '?', newlines are kept only when multiline. */
static void wocli__put(FILE *out, const char *s, bool multiline)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\n' && multiline)
            fputs("\n    ", out);
        else if (*p < 0x20 || *p == 0x7f)
            fputc(*p == '\n' || *p == '\t' || *p == '\r' ? ' ' : '?', out);
        else
            fputc(*p, out);
    }
}

/* A scalar member as text: a string as is, an integral number without a
 * fraction, true/false; "" when missing or null. */
static const char *wocli__s(const cJSON *obj, const char *key, char *buf, size_t cap)
{
    const cJSON *v = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    int64_t i;
    buf[0] = '\0';
    if (cJSON_IsString(v) && v->valuestring)
        return v->valuestring;
    if (cJSON_IsNumber(v)) {
        if (json_num_i64(v, INT64_MIN / 2, INT64_MAX / 2, &i) == 0)
            snprintf(buf, cap, "%lld", (long long)i);
        else
            snprintf(buf, cap, "%g", v->valuedouble);
    } else if (cJSON_IsBool(v)) {
        snprintf(buf, cap, "%s", cJSON_IsTrue(v) ? "true" : "false");
    }
    return buf;
}

static bool wocli__true(const cJSON *obj, const char *key)
{
    return obj && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, key));
}

/* A time member in Beijing time, "2026-12-06 09:00" (+ " +08:00" when
 * zone); what the service sent, as is, when it is not RFC 3339. */
static const char *wocli__when(const cJSON *obj, const char *key, bool zone, char *buf, size_t cap)
{
    char tmp[64], iso[ETIME_RFC3339_MAX];
    const char *s = wocli__s(obj, key, tmp, sizeof(tmp));
    int64_t us;
    if (etime_parse_rfc3339(s, strlen(s), &us, NULL) != 0) {
        snprintf(buf, cap, "%s", s);
        return buf;
    }
    etime_format(us, ETIME_BEIJING_OFFSET, iso, sizeof(iso));
    snprintf(buf, cap, "%.10s %.5s%s", iso, iso + 11, zone ? " +08:00" : "");
    return buf;
}

static int wocli__width(const cJSON *arr, const char *key, const char *head)
{
    char buf[64];
    int w = (int)strlen(head);
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        int n = (int)strlen(wocli__s(it, key, buf, sizeof(buf)));
        if (n > w)
            w = n > 40 ? 40 : n;
    }
    return w;
}

static void wocli__print_list(const cJSON *reply, FILE *out)
{
    const cJSON *orders = cJSON_GetObjectItemCaseSensitive(reply, "orders"), *o;
    char b1[64], b2[64], b3[64], b4[64], b5[64], b6[64], b7[64], b8[64];
    int wid, wdept, wsrc, wstate;

    if (!cJSON_IsArray(orders) || cJSON_GetArraySize(orders) == 0) {
        fprintf(out, "no work orders\n");
        return;
    }
    wid = wocli__width(orders, "id", "ID");
    wdept = wocli__width(orders, "dept", "DEPT");
    wsrc = wocli__width(orders, "source", "SOURCE");
    wstate = wocli__width(orders, "state", "STATE");
    fprintf(out, "%*s  %-*s  %-*s  %3s  %-*s  %-16s  %-16s  %-7s  %s\n", wid, "ID", wdept, "DEPT",
            wsrc, "SOURCE", "PRI", wstate, "STATE", "CREATED (+08)", "DUE (+08)", "OVERDUE",
            "TITLE");
    cJSON_ArrayForEach(o, orders)
    {
        fprintf(
            out, "%*s  %-*s  %-*s  %3s  %-*s  %-16s  %-16s  %-7s  ", wid,
            wocli__s(o, "id", b1, sizeof b1), wdept, wocli__s(o, "dept", b2, sizeof b2), wsrc,
            wocli__s(o, "source", b3, sizeof b3), wocli__s(o, "priority", b4, sizeof b4), wstate,
            wocli__s(o, "state", b5, sizeof b5), wocli__when(o, "created_at", false, b6, sizeof b6),
            wocli__when(o, "due_at", false, b7, sizeof b7), wocli__true(o, "overdue") ? "yes" : "");
        wocli__put(out, wocli__s(o, "title", b8, sizeof b8), false);
        fputc('\n', out);
    }
}

/* "  label: value\n" when the member has a value. */
static void wocli__field(FILE *out, const char *label, const char *v, bool multiline)
{
    if (!v || !*v)
        return;
    fprintf(out, "  %-11s ", label);
    wocli__put(out, v, multiline);
    fputc('\n', out);
}

static void wocli__print_show(const cJSON *reply, FILE *out)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(reply, "order");
    const cJSON *events = cJSON_GetObjectItemCaseSensitive(reply, "events"), *e;
    char b1[64], b2[64], b3[64], where[160];
    const char *site, *lat, *lon, *v;

    if (!cJSON_IsObject(o)) {
        fprintf(out, "(eco-dispatch sent no order)\n");
        return;
    }
    fprintf(out, "work order %s: %s", wocli__s(o, "id", b1, sizeof b1),
            wocli__s(o, "state", b2, sizeof b2));
    if (wocli__true(o, "overdue"))
        fprintf(out, ", OVERDUE");
    fputc('\n', out);
    wocli__field(out, "title:", wocli__s(o, "title", b1, sizeof b1), false);
    wocli__field(out, "department:", wocli__s(o, "dept", b1, sizeof b1), false);
    wocli__field(out, "category:", wocli__s(o, "category", b1, sizeof b1), false);
    wocli__field(out, "priority:", wocli__s(o, "priority", b1, sizeof b1), false);
    wocli__field(out, "source:", wocli__s(o, "source", b1, sizeof b1), false);
    wocli__field(out, "alarm:", wocli__s(o, "alarm", b1, sizeof b1), false);
    wocli__field(out, "incident:", wocli__s(o, "incident", b1, sizeof b1), false);
    wocli__field(out, "complaint:", wocli__s(o, "complaint", b1, sizeof b1), false);
    site = wocli__s(o, "site", b1, sizeof b1);
    lat = wocli__s(o, "lat", b2, sizeof b2);
    lon = wocli__s(o, "lon", b3, sizeof b3);
    snprintf(where, sizeof(where), "%s%s%s%s%s", site, *site && *lat ? " " : "", lat,
             *lat ? ", " : "", *lat ? lon : "");
    wocli__field(out, "place:", where, false);
    wocli__field(out, "created:", wocli__when(o, "created_at", true, b1, sizeof b1), false);
    wocli__field(out, "due:", wocli__when(o, "due_at", true, b1, sizeof b1), false);
    wocli__field(out, "closed:", wocli__when(o, "closed_at", true, b1, sizeof b1), false);
    wocli__field(out, "text:", wocli__s(o, "text", b1, sizeof b1), true);
    if (!cJSON_IsArray(events) || cJSON_GetArraySize(events) == 0)
        return;
    fprintf(out, "events (+08):\n");
    cJSON_ArrayForEach(e, events)
    {
        const cJSON *att = cJSON_GetObjectItemCaseSensitive(e, "attachments"), *a;
        const char *prev = wocli__s(e, "prev_state", b2, sizeof b2);
        fprintf(out, "  %s  ", wocli__when(e, "ts", false, b1, sizeof b1));
        wocli__put(out, wocli__s(e, "action", b3, sizeof b3), false);
        if (*prev) {
            fputs(": ", out);
            wocli__put(out, prev, false);
            fputs(" ->", out);
        }
        fputc(' ', out);
        wocli__put(out, wocli__s(e, "state", b3, sizeof b3), false);
        if (*(v = wocli__s(e, "dept", b2, sizeof b2)))
            fprintf(out, "  [%s]", v);
        if (*(v = wocli__s(e, "actor", b2, sizeof b2))) {
            fprintf(out, "  by ");
            wocli__put(out, v, false);
        }
        fputc('\n', out);
        if (*(v = wocli__s(e, "note", b2, sizeof b2))) {
            fprintf(out, "    ");
            wocli__put(out, v, true);
            fputc('\n', out);
        }
        cJSON_ArrayForEach(a, att)
        {
            if (cJSON_IsString(a)) {
                fprintf(out, "    attachment: ");
                wocli__put(out, a->valuestring, false);
                fputc('\n', out);
            }
        }
    }
}

/* The reply's requests, an Open311 GeoReport v2 array, as JSON ([] when the
 * reply has none): meant for other programs, so nothing else is written. */
static void wocli__print_export(const cJSON *reply, FILE *out)
{
    const cJSON *reqs = cJSON_GetObjectItemCaseSensitive(reply, "requests");
    char *s;
    if (!cJSON_IsArray(reqs)) {
        fputs("[]\n", out);
        return;
    }
    if ((s = cJSON_Print(reqs))) /* NULL: out of memory, nothing half-written */
        fprintf(out, "%s\n", s);
    cJSON_free(s);
}

/* " (due 2026-12-06 09:00 +08:00)" when the reply has a due time. */
static void wocli__due(const cJSON *reply, FILE *out)
{
    char b[64];
    if (*wocli__when(reply, "due_at", true, b, sizeof b))
        fprintf(out, " (due %s)", b);
}

void wocli_print(const struct wocli_req *req, const cJSON *reply, FILE *out)
{
    char b1[64], b2[64];
    const char *v;
    const cJSON *order;

    switch (req->out) {
    case WOCLI_OUT_LIST:
        wocli__print_list(reply, out);
        break;
    case WOCLI_OUT_SHOW:
        wocli__print_show(reply, out);
        break;
    case WOCLI_OUT_CREATE:
        fprintf(out, "work order %s created", wocli__s(reply, "id", b1, sizeof b1));
        if (*(v = wocli__s(reply, "state", b1, sizeof b1))) {
            fputs(": ", out);
            wocli__put(out, v, false);
        }
        if (*(v = wocli__s(reply, "dept", b2, sizeof b2))) {
            fputs(" to ", out);
            wocli__put(out, v, false);
        }
        wocli__due(reply, out);
        fputc('\n', out);
        if (*(v = wocli__s(reply, "routed_because", b1, sizeof b1))) {
            fprintf(out, "  routed because: ");
            wocli__put(out, v, false);
            fputc('\n', out);
        }
        break;
    case WOCLI_OUT_CHANGE:
        fprintf(out, "work order %lld: ", req->id);
        v = wocli__s(reply, "state", b1, sizeof b1);
        wocli__put(out, *v ? v : req->done, false);
        if (*(v = wocli__s(reply, "dept", b2, sizeof b2))) {
            fputs(" [", out);
            wocli__put(out, v, false);
            fputc(']', out);
        }
        wocli__due(reply, out);
        fputc('\n', out);
        break;
    case WOCLI_OUT_COMPLAINT:
        fprintf(out, "complaint %s recorded", wocli__s(reply, "complaint", b1, sizeof b1));
        order = cJSON_GetObjectItemCaseSensitive(reply, "order");
        if (cJSON_IsObject(order)) {
            fprintf(out, "; work order %s", wocli__s(order, "id", b1, sizeof b1));
            if (*(v = wocli__s(order, "dept", b2, sizeof b2))) {
                fputs(" to ", out);
                wocli__put(out, v, false);
            }
            wocli__due(order, out);
        } else if (*(v = wocli__s(reply, "order", b2, sizeof b2))) {
            fprintf(out, "; work order %s", v);
        }
        fputc('\n', out);
        break;
    case WOCLI_OUT_EXPORT:
        wocli__print_export(reply, out);
        break;
    case WOCLI_OUT_ALARM:
        fprintf(out, "alarm %lld acknowledged", req->id);
        if (*(v = wocli__s(reply, "order", b1, sizeof b1)))
            fprintf(out, " (work order %s)", v);
        fputc('\n', out);
        break;
    }
}
