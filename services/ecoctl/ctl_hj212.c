/* ecoctl hj212 check [FILE]: reads HJ 212 frames one per line (from FILE,
 * or stdin when FILE is absent or "-") and says for each line whether the
 * gateway would accept the frame and, if not, why. The verdict is the
 * codec's (libshared/hj212.h): frame, fields, then the CP items (for a data
 * upload also its time and the items refused on their own), exactly what
 * eco-ingest checks before storing anything. No database, no broker, so
 * what depends on the registry (MN, password, the code map) is not checked.
 *
 * Lines are bounded (CTL_HJ212_LINE_MAX); a longer line is reported as
 * "too_long" and skipped, never read into unbounded memory. Blank lines are
 * skipped; line numbers still count them so they match the file. */
#include "ecoctl.h"

#include "etime.h"
#include "hj212.h"
#include "json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A frame is at most HJ212_FRAME_MAX bytes; allow generous slack for
 * whitespace and CR LF, and call anything beyond a broken line. */
#define CTL_HJ212_LINE_MAX (16 * 1024)

/* The result for one line. */
struct ctl_hj212_res {
    int lineno;
    int reason; /* enum hj212_reason */
    char detail[HJ212_DETAIL_MAX];
    struct hj212_frame f; /* fields valid per f.fields, even when refused */
    bool have_cp;         /* cp below was parsed */
    bool have_ts;         /* ts_us: the data upload's time */
    int64_t ts_us;
    unsigned lax; /* frame and CP leniencies, line-ending ones masked */
};

static void ctl_hj212__usage(FILE *out)
{
    fprintf(out, "Usage: ecoctl [--json] hj212 check [FILE]\n"
                 "Reads HJ 212 frames, one per line (CR LF optional), from FILE or stdin and\n"
                 "prints whether each is accepted and why not. Exit 0 when every line was\n"
                 "read, 1 when FILE cannot be read, 2 on bad usage.\n");
}

/* Reads one line into buf (cap bytes, NUL-terminated, without the LF and a
 * CR before it). Returns 1 for a line, 0 at end of input, -EIO on a read
 * error. A line longer than cap - 1 is consumed to its end and flagged. */
static int ctl_hj212__read_line(FILE *in, char *buf, size_t cap, size_t *len, bool *too_long)
{
    size_t n = 0;
    int c = EOF;
    bool any = false;

    *too_long = false;
    while ((c = getc(in)) != EOF) {
        any = true;
        if (c == '\n')
            break;
        if (n + 1 < cap)
            buf[n++] = (char)c;
        else
            *too_long = true;
    }
    if (c == EOF && ferror(in))
        return -EIO;
    if (!any)
        return 0;
    if (n > 0 && buf[n - 1] == '\r' && !*too_long)
        n--;
    buf[n] = '\0';
    *len = n;
    return 1;
}

/* Runs the codec over one line: frame first, then the CP items. */
static void ctl_hj212__check(const char *line, size_t len, struct hj212_cp *cp,
                             struct ctl_hj212_res *r)
{
    struct hj212_err err;

    r->have_cp = r->have_ts = false;
    if (hj212_parse_frame(line, len, &r->f, &err) == 0 &&
        hj212_cp_parse(r->f.cp, r->f.cp_len, cp, &err) == 0) {
        int cn = (int)strtol(r->f.cn, NULL, 10);
        r->have_cp = true;
        /* An empty CP with a data CN is the platform's request ("start
         * real-time data", B-12), not an upload: nothing to date. */
        if (hj212_cn_is_data(cn) && cp->nitems > 0) {
            if (hj212_cp_data(cp, cn, &r->ts_us, &err) == 0)
                r->have_ts = true;
            else
                r->have_cp = false;
        }
    }
    r->reason = err.reason;
    memcpy(r->detail, err.detail, sizeof(r->detail));
    /* Line mode: a missing CR LF is how lines come, not a leniency. */
    r->lax = r->f.lax & ~(unsigned)(HJ212_LAX_NO_TERM | HJ212_LAX_LF_ONLY);
    if (r->have_cp)
        r->lax |= cp->lax;
}

/* A refused item as the logger wrote it: printable ASCII, a credential's
 * value (NewPW=) withheld. */
static const char *ctl_hj212__item(const struct hj212_bad *b, char *out, size_t cap)
{
    const char *eq = memchr(b->text, '=', b->len);
    size_t show = b->len, o = 0;

    if (eq && (size_t)(eq - b->text) >= 2 && memcmp(eq - 2, "PW", 2) == 0)
        show = (size_t)(eq - b->text) + 1;
    for (size_t i = 0; i < show && o + 4 < cap; i++)
        out[o++] = b->text[i] >= 0x20 && b->text[i] < 0x7f ? b->text[i] : '?';
    if (show < b->len && o + 4 < cap)
        memcpy(out + o, "***", 3), o += 3;
    out[o] = '\0';
    return out;
}

static void ctl_hj212__print_text(const struct ctl_hj212_res *r, const struct hj212_cp *cp)
{
    const struct hj212_frame *f = &r->f;
    char lax[256];

    if (r->reason != HJ212_OK) {
        printf("line %d: refused (%s): %s\n", r->lineno, hj212_reason_str(r->reason), r->detail);
        return;
    }
    printf("line %d: ok ST=%s CN=%s MN=%s (%s)", r->lineno, f->st, f->cn, f->mn,
           hj212_version_str(f->version));
    if (r->lax)
        printf("; lenient: %s", hj212_lax_names(r->lax, lax, sizeof(lax)));
    if (r->have_cp && cp->nbad_total) {
        char item[HJ212_BAD_TEXT_MAX + 8];
        printf("; rejected fields:");
        for (size_t i = 0; i < cp->nbad; i++)
            printf("%s %s (%s)", i ? "," : "", ctl_hj212__item(&cp->bad[i], item, sizeof(item)),
                   hj212_bad_str(cp->bad[i].why));
        if (cp->nbad_total > cp->nbad)
            printf(" and %zu more", cp->nbad_total - cp->nbad);
    }
    putchar('\n');
}

/* Adds a string, or null when absent; returns false when cJSON ran out of
 * memory (the new item is owned by obj either way). */
static bool ctl_hj212__jstr(cJSON *obj, const char *key, bool present, const char *val)
{
    return (present ? cJSON_AddStringToObject(obj, key, val) : cJSON_AddNullToObject(obj, key)) !=
           NULL;
}

static bool ctl_hj212__jnum(cJSON *obj, const char *key, bool present, double val)
{
    return (present ? cJSON_AddNumberToObject(obj, key, val) : cJSON_AddNullToObject(obj, key)) !=
           NULL;
}

/* One JSON object per line on stdout. Returns 0 or -ENOMEM. */
static int ctl_hj212__print_json(const struct ctl_hj212_res *r, const struct hj212_cp *cp)
{
    const struct hj212_frame *f = &r->f;
    bool ok = r->reason == HJ212_OK;
    cJSON *o = cJSON_CreateObject(), *arr;
    char ts[ETIME_RFC3339_MAX] = "";
    char *text = NULL;
    size_t len;
    int rc = -ENOMEM;

    if (!o)
        goto out;
    if (!cJSON_AddNumberToObject(o, "line", r->lineno) || !cJSON_AddBoolToObject(o, "ok", ok) ||
        !ctl_hj212__jstr(o, "reason", !ok, hj212_reason_str(r->reason)) ||
        !ctl_hj212__jstr(o, "detail", !ok, r->detail) ||
        !ctl_hj212__jstr(o, "version", f->version != HJ212_V_UNKNOWN,
                         hj212_version_str(f->version)) ||
        !ctl_hj212__jstr(o, "qn", f->fields & HJ212_F_QN, f->qn) ||
        !ctl_hj212__jstr(o, "st", f->fields & HJ212_F_ST, f->st) ||
        !ctl_hj212__jstr(o, "cn", f->fields & HJ212_F_CN, f->cn) ||
        !ctl_hj212__jstr(o, "mn", f->fields & HJ212_F_MN, f->mn) ||
        !ctl_hj212__jnum(o, "flag", f->fields & HJ212_F_FLAG, f->flag) ||
        !ctl_hj212__jnum(o, "pnum", f->fields & HJ212_F_PNUM, f->pnum) ||
        !ctl_hj212__jnum(o, "pno", f->fields & HJ212_F_PNO, f->pno))
        goto out;
    /* a data upload's time may come from BeginTime (hj212_cp_data) */
    if (r->have_ts)
        etime_format(r->ts_us, ETIME_BEIJING_OFFSET, ts, sizeof(ts));
    else if (r->have_cp && cp->has_datatime)
        etime_format(cp->datatime_us, ETIME_BEIJING_OFFSET, ts, sizeof(ts));
    if (!ctl_hj212__jstr(o, "datatime", r->have_ts || (r->have_cp && cp->has_datatime), ts) ||
        !ctl_hj212__jnum(o, "items", r->have_cp, r->have_cp ? (double)cp->nitems : 0))
        goto out;
    if (!(arr = cJSON_AddArrayToObject(o, "lenient")))
        goto out;
    for (unsigned bit = 1; bit; bit <<= 1) {
        const char *name = (r->lax & bit) ? hj212_lax_name(bit) : NULL;
        cJSON *s;
        if (!name)
            continue;
        if (!(s = cJSON_CreateString(name)))
            goto out;
        if (!cJSON_AddItemToArray(arr, s)) { /* a failed attach leaves s to us */
            cJSON_Delete(s);
            goto out;
        }
    }
    /* items refused on their own: the frame is accepted without them */
    if (!(arr = cJSON_AddArrayToObject(o, "rejected_fields")))
        goto out;
    for (size_t i = 0; r->have_cp && i < cp->nbad; i++) {
        char item[HJ212_BAD_TEXT_MAX + 8];
        cJSON *it = cJSON_CreateObject();
        if (!it)
            goto out;
        if (!cJSON_AddItemToArray(arr, it)) {
            cJSON_Delete(it);
            goto out;
        }
        if (!cJSON_AddStringToObject(it, "field",
                                     ctl_hj212__item(&cp->bad[i], item, sizeof(item))) ||
            !cJSON_AddStringToObject(it, "reason", hj212_bad_str(cp->bad[i].why)))
            goto out;
    }
    if (!cJSON_AddNumberToObject(o, "rejected_total", r->have_cp ? (double)cp->nbad_total : 0))
        goto out;
    if (json_print(o, &text, &len))
        goto out;
    fwrite(text, 1, len, stdout);
    putchar('\n');
    rc = 0;
out:
    cJSON_free(text);
    cJSON_Delete(o);
    return rc;
}

static int ctl_hj212_check(const struct ctl_opts *o, const char *path)
{
    FILE *in = stdin;
    char *line = NULL;
    struct hj212_cp *cp = NULL;
    struct ctl_hj212_res *r = NULL;
    int rc = CTL_REFUSED, got, lineno = 0;
    size_t len = 0;
    bool too_long;

    if (path && strcmp(path, "-") != 0) {
        in = fopen(path, "r");
        if (!in) {
            fprintf(stderr, "ecoctl: hj212 check: cannot open %s: %s\n", path, strerror(errno));
            return CTL_REFUSED;
        }
    }
    /* The CP result is ~20 KiB: keep it off the stack. */
    line = malloc(CTL_HJ212_LINE_MAX);
    cp = malloc(sizeof(*cp));
    r = malloc(sizeof(*r));
    if (!line || !cp || !r) {
        fprintf(stderr, "ecoctl: hj212 check: out of memory\n");
        goto out;
    }
    while ((got = ctl_hj212__read_line(in, line, CTL_HJ212_LINE_MAX, &len, &too_long)) > 0) {
        size_t skip = 0;

        lineno++;
        memset(r, 0, sizeof(*r));
        r->lineno = lineno;
        r->f.flag = -1;
        if (too_long) {
            r->reason = HJ212_E_TOO_LONG;
            snprintf(r->detail, sizeof(r->detail), "line longer than %d bytes",
                     CTL_HJ212_LINE_MAX - 1);
        } else {
            /* Indentation is an artefact of how the frames were collected. */
            while (skip < len && (line[skip] == ' ' || line[skip] == '\t'))
                skip++;
            size_t end = len;
            while (end > skip &&
                   (line[end - 1] == ' ' || line[end - 1] == '\t' || line[end - 1] == '\r'))
                end--;
            if (end == skip)
                continue; /* blank line */
            /* Trailing blanks go to the codec, which reports them as a
             * leniency: a logger sending them would be told. */
            ctl_hj212__check(line + skip, len - skip, cp, r);
        }
        if (o->json) {
            if (ctl_hj212__print_json(r, cp)) {
                fprintf(stderr, "ecoctl: hj212 check: out of memory\n");
                goto out;
            }
        } else {
            ctl_hj212__print_text(r, cp);
        }
    }
    if (got < 0) {
        fprintf(stderr, "ecoctl: hj212 check: read error on %s after line %d\n",
                path ? path : "stdin", lineno);
        goto out;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "ecoctl: hj212 check: cannot write output\n");
        goto out;
    }
    rc = CTL_OK;
out:
    free(r);
    free(cp);
    free(line);
    if (in != stdin)
        fclose(in);
    return rc;
}

int ctl_hj212(const struct ctl_opts *o, int argc, char **argv)
{
    const char *path = NULL;

    if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        ctl_hj212__usage(stdout);
        return CTL_OK;
    }
    if (strcmp(argv[0], "check") != 0) {
        fprintf(stderr, "ecoctl: hj212: unknown verb %s\n", argv[0]);
        ctl_hj212__usage(stderr);
        return CTL_USAGE;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            ctl_hj212__usage(stdout);
            return CTL_OK;
        }
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "ecoctl: hj212 check: unknown option %s\n", argv[i]);
            return CTL_USAGE;
        }
        if (path) {
            fprintf(stderr, "ecoctl: hj212 check: one FILE at most\n");
            return CTL_USAGE;
        }
        path = argv[i];
    }
    return ctl_hj212_check(o, path);
}
