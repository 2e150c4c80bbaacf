/* bench_detect_nab: eco-detect's rules on labelled real-world series, scored
 * the way the Numenta Anomaly Benchmark (NAB) scores a detector.
 *
 *   bench_detect_nab [-v] [-k KIND] [-r RULES] WINDOWS.json FILE.csv...
 *
 * Each FILE is a NAB data file ("timestamp,value" rows, "YYYY-MM-DD
 * HH:MM:SS"), read as one parameter of one station of KIND (default
 * water, a surface-water station) with no limit: only the rules that need no configuration
 * (baseline, spike, flatline, offline, neighbour) can fire. WINDOWS.json is
 * NAB's labels/combined_windows.json (or a part of it): an object from
 * "dir/file.csv" to a list of [start, end] timestamps; a file is matched by
 * its base name. RULES (a comma list, default all) picks the rules whose
 * raises count as detections.
 *
 * The data set is not in this repository: it is NAB's (github.com/numenta/NAB,
 * data/ and labels/). Prints, per file, the raises by rule, the windows hit,
 * the false positives and NAB's standard-profile score, then the normalized
 * score over all files (100 = every window hit at its start and nothing else,
 * 0 = nothing detected). docs/DETECTION.md, "Real-world series".
 *
 * Needs ECO_SOURCE_DIR (for the default settings in the migrations); the
 * build defines it. */
#include "detectreg.h"
#include "engine.h"
#include "etime.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* NAB's standard profile (config/profiles.json) */
#define NAB_A_TP 1.0
#define NAB_A_FP 0.11
#define NAB_A_FN 1.0
#define NAB_PROBATION 0.15

struct nab_series {
    int64_t *ts;
    double *v;
    bool *hit; /* a counted raise at this row */
    size_t n, cap;
};

struct nab_run {
    struct nab_series *s;
    unsigned rules; /* bit per enum eng_rule that counts */
    size_t by_rule[ENG_NRULES];
    size_t row;   /* the row being fed */
    bool verbose; /* -v: print every raise and clear */
};

static void nab_on_event(void *ud, const struct eng_event *ev)
{
    struct nab_run *run = ud;
    size_t i;
    if (run->verbose && (ev->action == ENG_RAISE || ev->action == ENG_CLEAR)) {
        char t[ETIME_RFC3339_MAX];
        etime_format(ev->ts, 8 * 3600, t, sizeof(t));
        printf("  %-5s %-9s %s %g\n", ev->action == ENG_RAISE ? "raise" : "clear",
               eng_rule_name(ev->rule), t, ev->value);
    }
    if (ev->action != ENG_RAISE)
        return;
    run->by_rule[ev->rule]++;
    if (!(run->rules & (1u << ev->rule)))
        return;
    /* a raise is stamped with a reading's time: the row fed, or one before
     * it (spike, judged on its neighbour) */
    for (i = run->row + 1; i-- > 0;)
        if (run->s->ts[i] <= ev->ts)
            break;
    if (i < run->s->n)
        run->s->hit[i] = true;
}

static int nab_time(const char *s, size_t len, int64_t *us)
{
    char hj[15];
    /* YYYY-MM-DD HH:MM:SS */
    if (len < 19 || s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':')
        return -EINVAL;
    memcpy(hj, s, 4);
    memcpy(hj + 4, s + 5, 2);
    memcpy(hj + 6, s + 8, 2);
    memcpy(hj + 8, s + 11, 2);
    memcpy(hj + 10, s + 14, 2);
    memcpy(hj + 12, s + 17, 2);
    hj[14] = '\0';
    /* the series' own local time, read as Beijing time: the engine's hour of
     * day is Beijing's */
    return etime_parse_hj212(hj, 14, 8 * 3600, us);
}

static int nab_load(const char *path, struct nab_series *s)
{
    char line[256];
    FILE *f = fopen(path, "r");
    int rc = 0;
    if (!f)
        return -errno;
    while (fgets(line, sizeof(line), f)) {
        char *comma = strchr(line, ',');
        char *end;
        int64_t ts;
        double v;
        if (!comma || nab_time(line, (size_t)(comma - line), &ts))
            continue; /* the header */
        v = strtod(comma + 1, &end);
        if (end == comma + 1)
            continue;
        if (s->n == s->cap) {
            size_t cap = s->cap ? 2 * s->cap : 4096;
            int64_t *t2 = realloc(s->ts, cap * sizeof(*t2));
            double *v2 = t2 ? realloc(s->v, cap * sizeof(*v2)) : NULL;
            if (t2)
                s->ts = t2;
            if (!t2 || !v2) {
                rc = -ENOMEM;
                break;
            }
            s->v = v2;
            s->cap = cap;
        }
        s->ts[s->n] = ts;
        s->v[s->n++] = v;
    }
    fclose(f);
    if (!rc && !(s->hit = calloc(s->n ? s->n : 1, sizeof(*s->hit))))
        rc = -ENOMEM;
    return rc;
}

/* NAB's scaled sigmoid of a relative position p (nab/sweeper.py) */
static double nab_sigmoid(double p)
{
    return p > 3.0 ? -1.0 : 2.0 / (1.0 + exp(5.0 * p)) - 1.0;
}

struct nab_score {
    double raw, null, perfect;
    int windows, tp, fp;
};

/* Scores the rows marked in s->hit against windows w (row index pairs,
 * inclusive, in order), as NAB's Sweeper does at one threshold: a window's
 * earliest detection scores by how early it came, a window missed costs
 * A_FN, a detection outside the windows costs A_FP (less just after a
 * window); the probationary rows are not scored. */
static void nab_score(const struct nab_series *s, const size_t (*w)[2], int nw,
                      struct nab_score *out)
{
    size_t prob = (size_t)floor(fmin(NAB_PROBATION * (double)s->n, NAB_PROBATION * 5000));
    int win = -1; /* the window the row is in, or the last one before it */
    double best[64];
    out->windows = 0;
    out->tp = out->fp = 0;
    out->raw = 0;
    for (int k = 0; k < nw && k < 64; k++)
        best[k] = w[k][1] >= prob ? (out->windows++, -NAB_A_FN) : 0;
    out->null = -NAB_A_FN * out->windows;
    out->perfect = NAB_A_TP * out->windows;
    for (size_t i = 0; i < s->n; i++) {
        while (win + 1 < nw && win + 1 < 64 && w[win + 1][0] <= i)
            win++;
        if (!s->hit[i] || i < prob)
            continue;
        if (win >= 0 && i <= w[win][1]) {
            double width = (double)(w[win][1] - w[win][0] + 1);
            double v =
                nab_sigmoid(-((double)(w[win][1] - i) + 1) / width) * NAB_A_TP / nab_sigmoid(-1.0);
            if (best[win] < 0)
                out->tp++;
            if (v > best[win])
                best[win] = v;
        } else {
            out->fp++;
            if (win < 0)
                out->raw -= NAB_A_FP;
            else
                out->raw += NAB_A_FP *
                            nab_sigmoid((double)(i - w[win][1]) / (double)(w[win][1] - w[win][0]));
        }
    }
    for (int k = 0; k < nw && k < 64; k++)
        out->raw += best[k];
}

static const cJSON *nab_windows_of(const cJSON *all, const char *path)
{
    const char *base = strrchr(path, '/');
    const cJSON *it;
    base = base ? base + 1 : path;
    cJSON_ArrayForEach(it, all)
    {
        const char *k = strrchr(it->string, '/');
        if (strcmp(k ? k + 1 : it->string, base) == 0)
            return it;
    }
    return NULL;
}

static unsigned nab_rules(const char *list)
{
    unsigned m = 0;
    char buf[256], *save = NULL;
    snprintf(buf, sizeof(buf), "%s", list);
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int r = eng_rule_parse(t);
        if (r < 0) {
            fprintf(stderr, "bench_detect_nab: unknown rule %s\n", t);
            exit(2);
        }
        m |= 1u << r;
    }
    return m;
}

static char *nab_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *p = NULL;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (p = malloc((size_t)n + 1)) != NULL) {
        if (fread(p, 1, (size_t)n, f) != (size_t)n) {
            free(p);
            p = NULL;
        } else {
            p[n] = '\0';
        }
    }
    fclose(f);
    return p;
}

int main(int argc, char **argv)
{
    const char *kind = "water";
    unsigned rules = ~0u;
    bool verbose = false;
    int argi = 1, rc = 0;
    double raw = 0, null = 0, perfect = 0;
    char *text;
    cJSON *all;

    while (argi + 1 < argc && argv[argi][0] == '-') {
        if (strcmp(argv[argi], "-v") == 0) {
            verbose = true;
            argi++;
            continue;
        }
        if (strcmp(argv[argi], "-k") == 0)
            kind = argv[argi + 1];
        else if (strcmp(argv[argi], "-r") == 0)
            rules = nab_rules(argv[argi + 1]);
        else
            break;
        argi += 2;
    }
    if (argc - argi < 2 || dreg_kind_parse(kind) < 0) {
        fprintf(stderr, "usage: bench_detect_nab [-k KIND] [-r RULES] WINDOWS.json FILE.csv...\n");
        return 2;
    }
    if (!(text = nab_slurp(argv[argi])) || !(all = cJSON_Parse(text))) {
        fprintf(stderr, "bench_detect_nab: cannot read %s\n", argv[argi]);
        return 1;
    }
    free(text);
    printf("%-44s %6s %4s %3s %3s %8s  raises by rule\n", "file", "rows", "win", "tp", "fp",
           "score");
    for (int f = argi + 1; f < argc; f++) {
        struct nab_series s = {0};
        struct nab_run run = {.s = &s, .rules = rules, .verbose = verbose};
        struct nab_score sc;
        struct dreg r;
        struct eng *e = NULL;
        char why[256];
        const cJSON *wl = nab_windows_of(all, argv[f]), *it;
        size_t(*w)[2] = NULL;
        int nw = 0;

        if (nab_load(argv[f], &s) || s.n < 2) {
            fprintf(stderr, "bench_detect_nab: cannot read %s\n", argv[f]);
            rc = 1;
            goto next;
        }
        if (!wl) {
            fprintf(stderr, "bench_detect_nab: no windows for %s\n", argv[f]);
            rc = 1;
            goto next;
        }
        w = calloc((size_t)cJSON_GetArraySize(wl) + 1, sizeof(*w));
        cJSON_ArrayForEach(it, wl)
        {
            int64_t a, b;
            const cJSON *ja = cJSON_GetArrayItem(it, 0), *jb = cJSON_GetArrayItem(it, 1);
            size_t i = 0;
            if (!cJSON_IsString(ja) || !cJSON_IsString(jb) ||
                nab_time(ja->valuestring, strlen(ja->valuestring), &a) ||
                nab_time(jb->valuestring, strlen(jb->valuestring), &b))
                continue;
            while (i < s.n && s.ts[i] < a)
                i++;
            w[nw][0] = i;
            while (i < s.n && s.ts[i] <= b)
                i++;
            w[nw][1] = i ? i - 1 : 0;
            if (w[nw][1] >= w[nw][0])
                nw++;
        }

        dreg_init(&r);
        r.sites = calloc(1, sizeof(*r.sites));
        r.params = calloc(1, sizeof(*r.params));
        r.limits = calloc(1, sizeof(*r.limits));
        if (!r.sites || !r.params || !r.limits)
            return 1;
        add_site(&r, 1, "nab", (enum dreg_kind)dreg_kind_parse(kind), 30, 122);
        add_param(&r, 1, "value", -1e300, 1e300);
        load_settings(&r);
        if (dreg_finish(&r, why, sizeof(why)) || eng_new(&r, 16, nab_on_event, &run, &e)) {
            fprintf(stderr, "bench_detect_nab: %s\n", why);
            return 1;
        }
        {
            /* the period the station reports: its usual step */
            int64_t step = s.ts[1] - s.ts[0];
            char period = step >= 3600LL * 1000000 ? 'h' : 'm';
            for (run.row = 0; run.row < s.n; run.row++) {
                struct eng_reading rd = {.site_id = 1,
                                         .param_id = 1,
                                         .period = period,
                                         .flag = 'N',
                                         .ts = s.ts[run.row],
                                         .value = s.v[run.row],
                                         .lat = NAN,
                                         .lon = NAN};
                eng_feed(e, &rd);
            }
        }
        nab_score(&s, (const size_t(*)[2])w, nw, &sc);
        raw += sc.raw;
        null += sc.null;
        perfect += sc.perfect;
        {
            const char *base = strrchr(argv[f], '/');
            printf("%-44s %6zu %4d %3d %3d %8.3f ", base ? base + 1 : argv[f], s.n, sc.windows,
                   sc.tp, sc.fp, sc.raw);
            for (int k = 0; k < ENG_NRULES; k++)
                if (run.by_rule[k])
                    printf(" %s %zu", eng_rule_name((enum eng_rule)k), run.by_rule[k]);
            printf("\n");
        }
        eng_free(e);
        dreg_close(&r);
    next:
        free(w);
        free(s.ts);
        free(s.v);
        free(s.hit);
    }
    cJSON_Delete(all);
    if (perfect > null)
        printf("NAB standard profile, normalized: %.1f (raw %.3f, null %.3f, perfect %.3f)\n",
               100 * (raw - null) / (perfect - null), raw, null, perfect);
    return rc;
}
