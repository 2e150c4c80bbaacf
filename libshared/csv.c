#include "csv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define CSV__EOF (-1)

static const struct csv_limits csv__defaults = {CSV_REC_MAX, CSV_REC_MAX, CSV_FIELDS_MAX};

/* The next byte, CSV__EOF at the end (c->ioerr tells a read error). */
static int csv__get(struct csv *c)
{
    int ch;

    if (!c->f)
        return c->mem_pos < c->mem_len ? (unsigned char)c->mem[c->mem_pos++] : CSV__EOF;
    ch = getc(c->f);
    if (ch == EOF) {
        if (ferror(c->f))
            c->ioerr = true;
        return CSV__EOF;
    }
    return ch;
}

/* Gives back the byte csv__get just returned (one byte of push-back). */
static void csv__unget(struct csv *c, int ch)
{
    if (ch == CSV__EOF)
        return;
    if (!c->f)
        c->mem_pos--;
    else
        ungetc(ch, c->f);
}

static void csv__why(struct csv *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void csv__why(struct csv *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
}

/* Error recovery: skips to just after the next line feed. */
static void csv__skip_line(struct csv *c)
{
    int ch;
    while ((ch = csv__get(c)) != CSV__EOF && ch != '\n')
        ;
    if (ch == '\n')
        c->next_line++;
}

/* Reads one record into c->buf / c->field. Returns 1, 0 (nothing but blank
 * lines left) or a negative errno with c->err set. */
static int csv__read(struct csv *c)
{
    enum { FSTART, UNQ, QUO, QEND } st;
    size_t len, data;
    long open_line = 0;
    bool any;
    int rc, last = CSV__EOF;

again:
    st = FSTART;
    len = data = 0;
    any = false;
    c->nfields = 0;
    c->err[0] = '\0';
    c->line = c->next_line;
    c->field[0] = c->buf;
    for (;;) {
        int ch = csv__get(c);
        bool end_field = false, end_rec = false;

        if (ch == CSV__EOF && c->ioerr) {
            csv__why(c, "read error");
            return -EIO;
        }
        if (ch == CSV__EOF) {
            if (st == QUO) {
                csv__why(c, "quoted field opened on line %ld is never closed", open_line);
                return -EBADMSG;
            }
            end_field = end_rec = true;
        } else {
            last = ch;
            if (ch == 0) {
                csv__why(c, "NUL byte in the data");
                rc = -EBADMSG;
                goto bad;
            }
            if (ch == '\r' && st != QUO) {
                int nx = csv__get(c);
                if (nx == '\n') {
                    ch = last = '\n'; /* CR LF ends a record like LF */
                } else {
                    csv__unget(c, nx);
                    csv__why(c, "carriage return not followed by a line feed");
                    rc = -EBADMSG;
                    goto bad;
                }
            }
            switch (st) {
            case FSTART:
                if (ch == ' ' || ch == '\t')
                    continue; /* a line of spaces is a blank line */
                if (ch == '"') {
                    st = QUO;
                    any = true;
                    open_line = c->next_line;
                    continue;
                }
                /* fall through */
            case UNQ:
                if (ch == ',') {
                    end_field = true;
                    any = true;
                } else if (ch == '\n') {
                    c->next_line++;
                    end_field = end_rec = true;
                } else if (ch == '"') {
                    csv__why(c, "quote inside an unquoted field (quote the whole field "
                                "and double the quote)");
                    rc = -EBADMSG;
                    goto bad;
                } else {
                    st = UNQ;
                    any = true;
                    goto append;
                }
                break;
            case QUO:
                if (ch == '"') {
                    int nx = csv__get(c);
                    if (nx == '"')
                        goto append; /* a doubled quote is one quote */
                    csv__unget(c, nx);
                    st = QEND;
                    continue;
                }
                if (ch == '\n')
                    c->next_line++;
                goto append;
            case QEND:
                if (ch == ' ' || ch == '\t')
                    continue;
                if (ch == ',') {
                    end_field = true;
                } else if (ch == '\n') {
                    c->next_line++;
                    end_field = end_rec = true;
                } else {
                    csv__why(c, "unexpected character after a closing quote");
                    rc = -EBADMSG;
                    goto bad;
                }
                break;
            }
        }
        if (end_field) {
            char *f = c->field[c->nfields];
            size_t n = (size_t)(c->buf + len - f);
            if (st == UNQ)
                while (n > 0 && (f[n - 1] == ' ' || f[n - 1] == '\t'))
                    n--;
            data -= (size_t)(c->buf + len - f) - n;
            len = (size_t)(f - c->buf) + n;
            c->buf[len++] = '\0';
            c->flen[c->nfields++] = n;
            st = FSTART;
            if (end_rec) {
                if (!any && c->nfields == 1) {
                    if (ch == CSV__EOF)
                        return 0;
                    goto again; /* a blank line */
                }
                return 1;
            }
            if (c->nfields == c->lim.fields_max) {
                csv__why(c, "more than %d fields", c->lim.fields_max);
                rc = -E2BIG;
                goto bad;
            }
            c->field[c->nfields] = c->buf + len;
        }
        continue;
    append:
        if (data >= c->lim.rec_max) {
            csv__why(c, "record longer than %zu bytes", c->lim.rec_max);
            rc = -E2BIG;
            goto bad;
        }
        if ((size_t)(c->buf + len - c->field[c->nfields]) >= c->lim.field_max) {
            csv__why(c, "field %d longer than %zu bytes", c->nfields + 1, c->lim.field_max);
            rc = -E2BIG;
            goto bad;
        }
        c->buf[len++] = (char)ch;
        data++;
    }
bad:
    /* the rest of the line belongs to the bad record; the next is fresh */
    if (last != '\n')
        csv__skip_line(c);
    c->nfields = 0;
    return rc;
}

/* Sets up the limits and the record buffer; skips a UTF-8 byte order mark
 * (spreadsheet exports write one). */
static int csv__start(struct csv *c, const struct csv_limits *lim)
{
    int b0;

    c->lim = lim ? *lim : csv__defaults;
    if (c->lim.rec_max == 0 || c->lim.field_max == 0 || c->lim.fields_max < 1 ||
        c->lim.fields_max > CSV_FIELDS_MAX || c->lim.rec_max > (64u << 20))
        return -EINVAL;
    c->buf = malloc(c->lim.rec_max + CSV_FIELDS_MAX + 1);
    if (!c->buf)
        return -ENOMEM;
    c->next_line = 1;
    b0 = csv__get(c);
    if (b0 == 0xEF) {
        int b1 = csv__get(c), b2 = b1 == 0xBB ? csv__get(c) : CSV__EOF;
        if (b1 == 0xBB && b2 == 0xBF)
            return 0;
        /* not a BOM: read the bytes as data */
        if (!c->f) {
            c->mem_pos = 0;
        } else {
            csv__unget(c, b2);
            if (b2 != CSV__EOF) /* only one byte of push-back: refuse */
                return -EBADMSG;
            csv__unget(c, b1);
            if (b1 != CSV__EOF)
                return -EBADMSG;
            csv__unget(c, b0);
        }
        return 0;
    }
    csv__unget(c, b0);
    return 0;
}

int csv_init_mem(struct csv *c, const char *data, size_t len, const struct csv_limits *lim)
{
    int rc;

    memset(c, 0, sizeof(*c));
    c->mem = data;
    c->mem_len = len;
    rc = csv__start(c, lim);
    if (rc)
        csv_close(c);
    return rc;
}

int csv_open(struct csv *c, const char *path)
{
    int rc;

    memset(c, 0, sizeof(*c));
    c->f = fopen(path, "r");
    if (!c->f)
        return -errno;
    rc = csv__start(c, NULL);
    if (rc)
        goto fail;
    rc = csv__read(c);
    if (rc == 0)
        rc = -EBADMSG;
    if (rc < 0) {
        rc = rc == -EIO ? -EIO : -EBADMSG;
        goto fail;
    }
    for (int i = 0; i < c->nfields; i++) {
        if (c->flen[i] >= CSV_NAME_MAX) {
            rc = -EBADMSG;
            goto fail;
        }
        memcpy(c->hdr[i], c->field[i], c->flen[i] + 1); /* fits: checked above */
    }
    c->nhdr = c->nfields;
    return 0;
fail:
    csv_close(c);
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
    free(c->buf);
    c->buf = NULL;
}
