/* rgout: what `ecoctl registry load` prints. */
#include "rgout.h"

#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

static int rgout__msg_cmp(const void *a, const void *b)
{
    const struct rg_msg *x = a, *y = b;
    int fx = x->fid < 0 ? RG_NFILES : x->fid, fy = y->fid < 0 ? RG_NFILES : y->fid;
    if (fx != fy)
        return fx < fy ? -1 : 1;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}
void rgout_errors(struct rg_load *L, FILE *err)
{
    if (L->nerrs > 1)
        qsort(L->errs, L->nerrs, sizeof *L->errs, rgout__msg_cmp);
    for (size_t i = 0; i < L->nerrs; i++) {
        const struct rg_msg *e = &L->errs[i];
        if (e->fid < 0)
            fprintf(err, "ecoctl: registry load: %s\n", e->msg);
        else if (e->line == 0)
            fprintf(err, "%s: %s\n", L->f[e->fid].path, e->msg);
        else
            fprintf(err, "%s:%u: %s\n", L->f[e->fid].path, e->line, e->msg);
    }
    if (L->nerrs_total > L->nerrs)
        fprintf(err, "ecoctl: registry load: ... and %zu more problems not shown\n",
                L->nerrs_total - L->nerrs);
}

void rgout_text(const struct rg_load *L, int rc, double secs, FILE *out, FILE *err)
{
    if (rc == 0) {
        for (int fid = 0; fid < RG_NFILES; fid++) {
            const struct rg_file *F = &L->f[fid];
            long long unchanged;
            if (!F->present)
                continue;
            if (!F->loaded) {
                fprintf(out, "%-22s %7zu rows  checked, not loaded\n", F->spec->file, F->nrows);
                continue;
            }
            unchanged = (long long)F->nrows - F->inserted - F->updated;
            fprintf(out, "%-22s %7zu rows  %lld new, %lld changed, %lld unchanged", F->spec->file,
                    F->nrows, F->inserted, F->updated, unchanged);
            if (fid == RG_DEPARTMENT)
                fprintf(out, "; region links %lld added, %lld removed", F->links_added,
                        F->links_removed);
            fprintf(out, "\n");
        }
        fprintf(out, "registry load: %s in %.2f s\n",
                L->dry_run ? "dry run checked everything and rolled back" : "committed", secs);
    } else if (rc == -EBADMSG) {
        size_t files = 0;
        for (int fid = 0; fid < RG_NFILES; fid++)
            files += L->f[fid].nerrs > 0;
        fprintf(err, "registry load: %zu problem%s in %zu file%s; nothing was loaded\n",
                L->nerrs_total, L->nerrs_total == 1 ? "" : "s", files, files == 1 ? "" : "s");
    } else {
        fprintf(err, "registry load: failed; nothing was loaded\n");
    }
}

int rgout_json(const struct rg_load *L, int rc, double secs, FILE *out)
{
    cJSON *root = cJSON_CreateObject(), *files, *errs, *warns;
    char *s = NULL;
    int ret = -ENOMEM;

    if (!root)
        return -ENOMEM;
    cJSON_AddBoolToObject(root, "ok", rc == 0);
    cJSON_AddBoolToObject(root, "dry_run", L->dry_run);
    cJSON_AddBoolToObject(root, "committed", rc == 0 && !L->dry_run);
    cJSON_AddStringToObject(root, "dir", L->dir);
    cJSON_AddNumberToObject(root, "elapsed_ms", floor(secs * 1000 + 0.5));
    files = cJSON_AddArrayToObject(root, "files");
    errs = cJSON_AddArrayToObject(root, "errors");
    warns = cJSON_AddArrayToObject(root, "warnings");
    if (!files || !errs || !warns)
        goto out;
    for (int fid = 0; fid < RG_NFILES; fid++) {
        const struct rg_file *F = &L->f[fid];
        cJSON *o;
        if (!F->present)
            continue;
        o = cJSON_CreateObject();
        if (!o)
            goto out;
        cJSON_AddItemToArray(files, o);
        cJSON_AddStringToObject(o, "file", F->spec->file);
        cJSON_AddNumberToObject(o, "rows", (double)F->nrows);
        cJSON_AddNumberToObject(o, "errors", (double)F->nerrs);
        cJSON_AddBoolToObject(o, "loaded", F->loaded);
        if (F->loaded) {
            cJSON_AddNumberToObject(o, "inserted", (double)F->inserted);
            cJSON_AddNumberToObject(o, "updated", (double)F->updated);
            cJSON_AddNumberToObject(o, "unchanged",
                                    (double)((long long)F->nrows - F->inserted - F->updated));
            if (fid == RG_DEPARTMENT) {
                cJSON_AddNumberToObject(o, "links_added", (double)F->links_added);
                cJSON_AddNumberToObject(o, "links_removed", (double)F->links_removed);
            }
        }
    }
    for (size_t i = 0; i < L->nerrs; i++) {
        const struct rg_msg *e = &L->errs[i];
        cJSON *o = cJSON_CreateObject();
        if (!o)
            goto out;
        cJSON_AddItemToArray(errs, o);
        if (e->fid >= 0) {
            cJSON_AddStringToObject(o, "file", L->f[e->fid].spec->file);
            if (e->line)
                cJSON_AddNumberToObject(o, "line", e->line);
            else
                cJSON_AddNullToObject(o, "line");
        } else {
            cJSON_AddNullToObject(o, "file");
            cJSON_AddNullToObject(o, "line");
        }
        cJSON_AddStringToObject(o, "reason", e->msg);
    }
    cJSON_AddNumberToObject(root, "errors_total", (double)L->nerrs_total);
    for (size_t i = 0; i < L->nwarns; i++)
        cJSON_AddItemToArray(warns, cJSON_CreateString(L->warns[i]));
    if (json_print(root, &s, NULL) == 0) {
        fprintf(out, "%s\n", s);
        cJSON_free(s);
        ret = 0;
    }
out:
    cJSON_Delete(root);
    return ret;
}
