/* hj212t: what the unit tests of the HJ 212 codec modules share: the
 * standard's example frames (tests/data/hj212-examples.tsv, read at run time
 * by load_examples) and helpers to parse and build frames. Test code only. */
#ifndef ECO_TEST_HJ212T_H
#define ECO_TEST_HJ212T_H

#include "check.h"
#include "hj212.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EXAMPLES 64

struct example {
    char id[16];
    char expected[64];
    char frame[HJ212_FRAME_MAX + 1]; /* without CR LF, as in the file */
    size_t len;
};

static struct example ex[MAX_EXAMPLES];
static size_t nex;

static inline void load_examples(void)
{
    static char line[HJ212_FRAME_MAX + 256];
    const char *path = ECO_SPECS_DIR "/hj212-examples.tsv";
    FILE *fp = fopen(path, "r");
    int lineno = 0;

    if (!fp) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(1);
    }
    while (fgets(line, sizeof(line), fp)) {
        size_t n = strlen(line);
        lineno++;
        CHECK(n > 0 && line[n - 1] == '\n'); /* no line was cut */
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0 || strncmp(line, "id\t", 3) == 0)
            continue;
        char *t1 = strchr(line, '\t');
        CHECK(t1 != NULL);
        char *t2 = strchr(t1 + 1, '\t');
        CHECK(t2 != NULL);
        CHECK(nex < MAX_EXAMPLES);
        struct example *e = &ex[nex++];
        CHECK((size_t)(t1 - line) < sizeof(e->id));
        CHECK((size_t)(t2 - t1 - 1) < sizeof(e->expected));
        memcpy(e->id, line, (size_t)(t1 - line));
        memcpy(e->expected, t1 + 1, (size_t)(t2 - t1 - 1));
        e->len = strlen(t2 + 1);
        CHECK(e->len <= HJ212_FRAME_MAX);
        memcpy(e->frame, t2 + 1, e->len + 1);
    }
    fclose(fp);
    CHECK(nex >= 30); /* the file holds the standard's examples */
}

static inline const struct example *example(const char *id)
{
    for (size_t i = 0; i < nex; i++)
        if (strcmp(ex[i].id, id) == 0)
            return &ex[i];
    fprintf(stderr, "example %s missing\n", id);
    exit(1);
}

/* Parses text plus CR LF, as it would come off the wire. */
static inline int parse_wire(const char *text, size_t len, struct hj212_frame *f,
                             struct hj212_err *e)
{
    static char buf[HJ212_FRAME_MAX + 16];
    CHECK(len + 2 < sizeof(buf));
    memcpy(buf, text, len);
    memcpy(buf + len, "\r\n", 2);
    return hj212_parse_frame(buf, len + 2, f, e);
}

static inline int parse_str(const char *s, struct hj212_frame *f, struct hj212_err *e)
{
    return hj212_parse_frame(s, strlen(s), f, e);
}

/* Builds "##LLLL<seg>CCCC\r\n" for a data segment; used to make frames
 * whose length and CRC are right but whose content is not. */
static inline const char *mkframe(const char *seg, char *out, size_t cap)
{
    size_t n = strlen(seg);
    snprintf(out, cap, "##%04zu%s%04X\r\n", n, seg, hj212_crc16(seg, n));
    return out;
}

static inline int expect_reason(const char *frame, int reason)
{
    struct hj212_frame f;
    struct hj212_err e;
    int rc = parse_str(frame, &f, &e);
    if (reason == HJ212_OK) {
        if (rc != 0)
            fprintf(stderr, "refused (%s: %s): %s\n", hj212_reason_str(e.reason), e.detail, frame);
        CHECK_EQ_INT(rc, 0);
    } else {
        if (rc != -EBADMSG || e.reason != reason)
            fprintf(stderr, "wanted %s, got rc=%d %s (%s): %s\n", hj212_reason_str(reason), rc,
                    hj212_reason_str(e.reason), e.detail, frame);
        CHECK_EQ_INT(rc, -EBADMSG);
        CHECK_EQ_INT(e.reason, reason);
        CHECK(e.detail[0] != '\0');
    }
    return rc;
}

static inline void same_fields(const struct hj212_frame *a, const struct hj212_frame *b)
{
    CHECK_EQ_INT(a->fields, b->fields);
    CHECK_EQ_STR(a->qn, b->qn);
    CHECK_EQ_STR(a->st, b->st);
    CHECK_EQ_STR(a->cn, b->cn);
    CHECK_EQ_STR(a->pw, b->pw);
    CHECK_EQ_STR(a->mn, b->mn);
    CHECK_EQ_INT(a->flag, b->flag);
    CHECK_EQ_INT(a->pnum, b->pnum);
    CHECK_EQ_INT(a->pno, b->pno);
    CHECK_EQ_INT(a->version, b->version);
    CHECK_EQ_INT(a->nextra, b->nextra);
    for (size_t i = 0; i < a->nextra; i++) {
        CHECK_EQ_STR(a->extra[i].key, b->extra[i].key);
        CHECK_EQ_STR(a->extra[i].val, b->extra[i].val);
    }
    CHECK_EQ_INT(a->cp_len, b->cp_len);
    CHECK(a->cp_len == 0 || memcmp(a->cp, b->cp, a->cp_len) == 0);
}

#endif
