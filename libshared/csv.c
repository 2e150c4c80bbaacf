#include "csv.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* Reads one record into c->buf / c->field. Returns 1, 0 (EOF before any
 * byte of a record) or a negative errno. */
static int csv__read(struct csv *c)
{
    size_t n = 0, start = 0;
    bool quoted = false, after_quote = false, any = false, was_quoted = false;
    int ch;

    c->nfields = 0;
    c->line = c->next_line;
    for (;;) {
        ch = getc(c->f);
        if (ch == EOF && ferror(c->f))
            return -EIO;
        if (quoted) {
            if (ch == EOF)
                return -EBADMSG; /* unterminated quoted field */
            if (ch == '"') {
                int nx = getc(c->f);
                if (nx == '"') {
                    ch = '"';
                } else {
                    if (nx != EOF)
                        ungetc(nx, c->f);
                    quoted = false;
                    after_quote = true;
                    continue;
                }
            }
            if (ch == '\n')
                c->next_line++;
            if (n + 1 >= sizeof(c->buf))
                return -E2BIG;
            c->buf[n++] = (char)ch;
            continue;
        }
        if (ch == '\r') {
            int nx = getc(c->f);
            if (nx == '\n')
                ch = '\n';
            else if (nx != EOF)
                ungetc(nx, c->f);
        }
        if (ch == ',' || ch == '\n' || ch == EOF) {
            if (ch == EOF && !any && n == start)
                return 0;
            /* Trim unquoted fields only: quotes are how a value keeps its
             * spaces. */
            if (!was_quoted) {
                while (start < n && (c->buf[start] == ' ' || c->buf[start] == '\t'))
                    start++;
                while (n > start && (c->buf[n - 1] == ' ' || c->buf[n - 1] == '\t'))
                    n--;
            }
            if (n + 1 > sizeof(c->buf))
                return -E2BIG;
            c->buf[n++] = '\0';
            if (c->nfields < CSV_FIELDS_MAX)
                c->field[c->nfields++] = c->buf + start;
            start = n;
            after_quote = was_quoted = false;
            if (ch == '\n')
                c->next_line++;
            if (ch != ',') {
                /* A blank line is one empty field: skip it. */
                if (c->nfields == 1 && c->field[0][0] == '\0' && !any) {
                    if (ch == EOF)
                        return 0;
                    c->nfields = 0;
                    n = start = 0;
                    c->line = c->next_line;
                    continue;
                }
                return 1;
            }
            any = true;
            continue;
        }
        any = true;
        if (after_quote) {
            if (ch == ' ' || ch == '\t')
                continue;
            return -EBADMSG; /* text after a closing quote */
        }
        if (ch == '"' && n == start) {
            quoted = was_quoted = true;
            continue;
        }
        if (n + 1 >= sizeof(c->buf))
            return -E2BIG;
        c->buf[n++] = (char)ch;
    }
}

int csv_open(struct csv *c, const char *path)
{
    int rc, b0, b1, b2;

    memset(c, 0, sizeof(*c));
    c->f = fopen(path, "r");
    if (!c->f)
        return -errno;
    c->next_line = 1;
    /* Skip a UTF-8 byte order mark (spreadsheet exports write one). */
    b0 = getc(c->f);
    if (b0 == 0xEF) {
        b1 = getc(c->f);
        b2 = getc(c->f);
        if (b1 != 0xBB || b2 != 0xBF) {
            rc = -EBADMSG;
            goto fail;
        }
    } else if (b0 != EOF) {
        ungetc(b0, c->f);
    }
    rc = csv__read(c);
    if (rc == 0)
        rc = -EBADMSG;
    if (rc < 0)
        goto fail;
    for (int i = 0; i < c->nfields; i++) {
        if (strlen(c->field[i]) >= CSV_NAME_MAX) {
            rc = -EBADMSG;
            goto fail;
        }
        memcpy(c->hdr[i], c->field[i], strlen(c->field[i]) + 1); /* fits: checked above */
    }
    c->nhdr = c->nfields;
    return 0;
fail:
    fclose(c->f);
    c->f = NULL;
    return rc;
}

int csv_next(struct csv *c)
{
    return csv__read(c);
}

int csv_col(const struct csv *c, const char *name)
{
    for (int i = 0; i < c->nhdr; i++)
        if (strcmp(c->hdr[i], name) == 0)
            return i;
    return -1;
}

const char *csv_get(const struct csv *c, int col)
{
    if (col < 0 || col >= c->nfields)
        return "";
    return c->field[col];
}

void csv_close(struct csv *c)
{
    if (c->f)
        fclose(c->f);
    c->f = NULL;
}
