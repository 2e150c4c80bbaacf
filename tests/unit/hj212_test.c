/* hj212 codec: the standard's example frames (tests/data/hj212-examples.tsv,
 * read at run time), CRC vectors, lenient and strict cases, CP parsing of
 * realistic uploads, the encoder and answers, and the stream framer. */
#include "hj212.h"

#include "check.h"
#include "etime.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>

#define MAX_EXAMPLES 64

struct example {
    char id[16];
    char expected[64];
    char frame[HJ212_FRAME_MAX + 1]; /* without CR LF, as in the file */
    size_t len;
};

static struct example ex[MAX_EXAMPLES];
static size_t nex;

static void load_examples(void)
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

static const struct example *example(const char *id)
{
    for (size_t i = 0; i < nex; i++)
        if (strcmp(ex[i].id, id) == 0)
            return &ex[i];
    fprintf(stderr, "example %s missing\n", id);
    exit(1);
}

/* Parses text plus CR LF, as it would come off the wire. */
static int parse_wire(const char *text, size_t len, struct hj212_frame *f, struct hj212_err *e)
{
    static char buf[HJ212_FRAME_MAX + 16];
    CHECK(len + 2 < sizeof(buf));
    memcpy(buf, text, len);
    memcpy(buf + len, "\r\n", 2);
    return hj212_parse_frame(buf, len + 2, f, e);
}

static int parse_str(const char *s, struct hj212_frame *f, struct hj212_err *e)
{
    return hj212_parse_frame(s, strlen(s), f, e);
}

/* Builds "##LLLL<seg>CCCC\r\n" for a data segment; used to make frames
 * whose length and CRC are right but whose content is not. */
static const char *mkframe(const char *seg, char *out, size_t cap)
{
    size_t n = strlen(seg);
    snprintf(out, cap, "##%04zu%s%04X\r\n", n, seg, hj212_crc16(seg, n));
    return out;
}

static int expect_reason(const char *frame, int reason)
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

static void same_fields(const struct hj212_frame *a, const struct hj212_frame *b)
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

/* ---- CRC ------------------------------------------------------------ */

static void test_crc(void)
{
    CHECK_EQ_INT(hj212_crc16("", 0), 0xFFFF);
    CHECK_EQ_INT(hj212_crc16("A", 1), 0x7080);
    CHECK_EQ_INT(hj212_crc16("&&", 2), 0xB101);
    CHECK_EQ_INT(hj212_crc16("123456789", 9), 0x2F80); /* Modbus would be 4B37 */
    /* The standard's worked example, step by step (spec §7). */
    const char *seg = "QN=20160801085857223;ST=32;CN=1062;PW=100000;"
                      "MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&";
    CHECK_EQ_INT(strlen(seg), 101);
    CHECK_EQ_INT(hj212_crc16(seg, 1), 0xBC81);
    CHECK_EQ_INT(hj212_crc16(seg, 2), 0x8581);
    CHECK_EQ_INT(hj212_crc16(seg, 3), 0x7200);
    CHECK_EQ_INT(hj212_crc16(seg, 4), 0xF001);
    CHECK_EQ_INT(hj212_crc16(seg, 99), 0x3840);
    CHECK_EQ_INT(hj212_crc16(seg, 100), 0x0880);
    CHECK_EQ_INT(hj212_crc16(seg, 101), 0x1C80);
    /* Every HJ 212 CRC is an entry of the reflected 0xA001 table, so its
     * low byte is one of eight values. */
    uint32_t x = 12345;
    for (int i = 0; i < 2000; i++) {
        unsigned char b[37];
        size_t n = (size_t)(i % 37);
        for (size_t k = 0; k < n; k++) {
            x = x * 1103515245u + 12345u;
            b[k] = (unsigned char)(x >> 16);
        }
        unsigned lo = hj212_crc16(b, n) & 0xFF;
        CHECK(n == 0 || lo == 0x00 || lo == 0x01 || lo == 0x40 || lo == 0x41 || lo == 0x80 ||
              lo == 0x81 || lo == 0xC0 || lo == 0xC1);
    }
}

/* ---- the standard's examples ---------------------------------------- */

static int checked_valid, checked_reencoded, checked_mutants, checked_accepted;

/* A field device's frame that needs leniency ("accepted:<lax names>/<why
 * of each refused item>"): accepted, with exactly these deviations noted
 * and these items refused (the CP checked as a data upload for data CNs). */
static void check_accepted(const struct example *e)
{
    static struct hj212_cp cp;
    struct hj212_frame f;
    struct hj212_err err;
    char want[64], got[256], bads[128] = "";
    const char *slash = strchr(e->expected, '/');
    int64_t ts;

    CHECK(slash != NULL);
    snprintf(want, sizeof(want), "%.*s", (int)(slash - e->expected - 9), e->expected + 9);
    if (parse_wire(e->frame, e->len, &f, &err))
        fprintf(stderr, "%s: %s (%s)\n", e->id, hj212_reason_str(err.reason), err.detail);
    CHECK_EQ_INT(parse_wire(e->frame, e->len, &f, &err), 0);
    CHECK_EQ_INT(hj212_cp_parse(f.cp, f.cp_len, &cp, &err), 0);
    int cn = (int)strtol(f.cn, NULL, 10);
    if (hj212_cn_is_data(cn))
        CHECK_EQ_INT(hj212_cp_data(&cp, cn, &ts, &err), 0);
    hj212_lax_names(f.lax | cp.lax, got, sizeof(got));
    if (strcmp(got, want) != 0)
        fprintf(stderr, "%s: lenient %s\n", e->id, got);
    CHECK_EQ_STR(got, want);
    for (size_t i = 0; i < cp.nbad; i++)
        snprintf(bads + strlen(bads), sizeof(bads) - strlen(bads), "%s%s", i ? "," : "",
                 hj212_bad_str(cp.bad[i].why));
    CHECK_EQ_STR(bads, slash + 1);
    checked_accepted++;
}

static void test_examples(void)
{
    static char out[HJ212_FRAME_MAX + 1], buf[HJ212_FRAME_MAX + 16];
    static struct hj212_cp cp;

    for (size_t i = 0; i < nex; i++) {
        const struct example *e = &ex[i];
        struct hj212_frame f, g;
        struct hj212_err err;
        bool valid = strcmp(e->expected, "valid") == 0;
        int want = HJ212_OK;

        if (strncmp(e->expected, "accepted:", 9) == 0) {
            check_accepted(e);
            continue;
        }
        if (!valid) {
            /* "invalid" or "invalid:<reason>"; anything else is a file this
             * test does not understand yet. */
            CHECK(strncmp(e->expected, "invalid", 7) == 0);
            want = -1;
            if (e->expected[7] == ':')
                for (int r = 1; r < HJ212_E_COUNT; r++)
                    if (strcmp(e->expected + 8, hj212_reason_str(r)) == 0)
                        want = r;
        }
        int rc = parse_wire(e->frame, e->len, &f, &err);
        if (valid) {
            if (rc)
                fprintf(stderr, "%s: %s (%s)\n", e->id, hj212_reason_str(err.reason), err.detail);
            CHECK_EQ_INT(rc, 0);
            CHECK_EQ_INT(f.lax & ~HJ212_LAX_EXTRA, 0); /* the standard needs no leniency */
            CHECK_EQ_INT(hj212_cp_parse(f.cp, f.cp_len, &cp, &err), 0);
            /* Also as a line without CR LF, as `ecoctl hj212 check` sees it. */
            CHECK_EQ_INT(hj212_parse_frame(e->frame, e->len, &g, NULL), 0);
            CHECK(g.lax & HJ212_LAX_NO_TERM);
            checked_valid++;

            /* Re-encode: byte-identical, CR LF included. */
            size_t n = 0;
            CHECK_EQ_INT(hj212_encode(&f, out, sizeof(out), &n, NULL), 0);
            memcpy(buf, e->frame, e->len);
            memcpy(buf + e->len, "\r\n", 3);
            if (n != e->len + 2 || memcmp(out, buf, n) != 0)
                fprintf(stderr, "%s re-encoded as %s\n", e->id, out);
            CHECK_EQ_INT(n, e->len + 2);
            CHECK(memcmp(out, buf, n) == 0);
            CHECK_EQ_INT(out[n], '\0');
            checked_reencoded++;
        } else {
            CHECK_EQ_INT(rc, -EBADMSG);
            if (want > 0)
                CHECK_EQ_INT(err.reason, want);
        }
        if (!valid)
            continue;

        /* Mutants of every valid example, each refused for its reason. */
        memcpy(buf, e->frame, e->len + 1);
        size_t L = e->len;
        char *crc = buf + L - 4;

        crc[3] = crc[3] == '0' ? '1' : '0'; /* one CRC digit off */
        CHECK_EQ_INT(parse_wire(buf, L, &f, &err), -EBADMSG);
        CHECK_EQ_INT(err.reason, HJ212_E_CRC);
        CHECK(strstr(err.detail, "expected") != NULL);
        CHECK_EQ_STR(f.mn, "010000A8900016F000169DC0"); /* still decoded for the report */
        memcpy(buf, e->frame, e->len + 1);

        crc[0] = 'G'; /* not hex */
        CHECK_EQ_INT(parse_wire(buf, L, &f, &err), -EBADMSG);
        CHECK_EQ_INT(err.reason, HJ212_E_CRC);
        memcpy(buf, e->frame, e->len + 1);

        for (int k = 0; k < 4; k++) /* lower-case hex: accepted */
            if (crc[k] >= 'A' && crc[k] <= 'F')
                crc[k] = (char)(crc[k] - 'A' + 'a');
        CHECK_EQ_INT(parse_wire(buf, L, &f, &err), 0);
        CHECK_EQ_INT(!!(f.lax & HJ212_LAX_CRC_LOWER), strcmp(buf, e->frame) != 0);
        memcpy(buf, e->frame, e->len + 1);

        buf[5] = buf[5] == '9' ? '8' : (char)(buf[5] + 1); /* declared length off by one */
        CHECK_EQ_INT(parse_wire(buf, L, &f, &err), -EBADMSG);
        CHECK_EQ_INT(err.reason, HJ212_E_LENGTH);
        CHECK(strstr(err.detail, "matches") != NULL); /* the bytes themselves are fine */
        memcpy(buf, e->frame, e->len + 1);

        buf[3] = 'x'; /* length not digits */
        CHECK_EQ_INT(parse_wire(buf, L, &f, &err), -EBADMSG);
        CHECK_EQ_INT(err.reason, HJ212_E_LENGTH);
        memcpy(buf, e->frame, e->len + 1);

        buf[0] = '$'; /* header */
        CHECK_EQ_INT(parse_wire(buf, L, &f, &err), -EBADMSG);
        CHECK_EQ_INT(err.reason, HJ212_E_HEADER);
        memcpy(buf, e->frame, e->len + 1);

        /* Every prefix is refused, never accepted, never read past. */
        for (size_t cut = 0; cut < L; cut++) {
            CHECK_EQ_INT(hj212_parse_frame(e->frame, cut, &f, &err), -EBADMSG);
            CHECK(err.reason == HJ212_E_HEADER || err.reason == HJ212_E_TRUNCATED ||
                  err.reason == HJ212_E_LENGTH);
        }
        /* Every single-byte change inside the segment is caught (by the CRC
         * or earlier): the CRC has no blind spot on these frames. */
        for (size_t k = 6; k < L - 4; k++) {
            char saved = buf[k];
            buf[k] = (char)(saved ^ 0x01);
            CHECK_EQ_INT(parse_wire(buf, L, &f, &err), -EBADMSG);
            buf[k] = saved;
            checked_mutants++;
        }
    }
    CHECK_EQ_INT(checked_valid, 33);
    CHECK_EQ_INT(checked_accepted, 4);
    printf("# hj212: %zu examples, %d valid checked, %d re-encoded byte-identical, "
           "%d single-byte mutants refused, %d field frames accepted leniently\n",
           nex, checked_valid, checked_reencoded, checked_mutants, checked_accepted);
}

static void test_decoded_fields(void)
{
    static struct hj212_cp cp;
    struct hj212_frame f;
    struct hj212_pollutant p;
    size_t pos = 0;
    const struct example *e;
    const char *v;
    size_t vl;
    int64_t us;

    e = example("A-01");
    CHECK_EQ_INT(parse_wire(e->frame, e->len, &f, NULL), 0);
    CHECK_EQ_STR(f.qn, "20160801085857223");
    CHECK_EQ_STR(f.st, "32");
    CHECK_EQ_STR(f.cn, "1062");
    CHECK_EQ_STR(f.pw, "100000");
    CHECK_EQ_STR(f.mn, "010000A8900016F000169DC0");
    CHECK_EQ_INT(f.flag, 5);
    CHECK_EQ_INT(f.version, HJ212_V2017);
    CHECK(f.ack && !f.split);
    CHECK_EQ_INT(f.seg_len, 101);
    CHECK_EQ_INT(f.declared_len, 101);
    CHECK_EQ_INT(f.crc, 0x1C80);
    CHECK_EQ_INT(f.cp_len, strlen("RtdInterval=30"));
    CHECK(memcmp(f.cp, "RtdInterval=30", f.cp_len) == 0);
    CHECK_EQ_INT(hj212_cp_parse(f.cp, f.cp_len, &cp, NULL), 0);
    CHECK_EQ_INT(hj212_cp_find(&cp, "RtdInterval", &v, &vl), 0);
    CHECK(vl == 2 && memcmp(v, "30", 2) == 0);
    CHECK_EQ_INT(hj212_cp_find(&cp, "rtdinterval", &v, &vl), -ENOENT); /* case-sensitive */
    CHECK_EQ_INT(hj212_cp_pollutant(&cp, &pos, &p), -ENOENT);

    e = example("A-02"); /* HJ 212-2025: version bits 2 */
    CHECK_EQ_INT(parse_wire(e->frame, e->len, &f, NULL), 0);
    CHECK_EQ_INT(f.flag, 9);
    CHECK_EQ_INT(f.version, HJ212_V2025);
    CHECK(f.ack && !f.split);
    CHECK_EQ_INT(f.cp_len, 0);

    e = example("B-15"); /* a 9014 answer: Flag=4, no ack */
    CHECK_EQ_INT(parse_wire(e->frame, e->len, &f, NULL), 0);
    CHECK_EQ_STR(f.st, "91");
    CHECK_EQ_STR(f.cn, "9014");
    CHECK(!f.ack && !f.split);

    e = example("B-28"); /* split, no ack */
    CHECK_EQ_INT(parse_wire(e->frame, e->len, &f, NULL), 0);
    CHECK_EQ_INT(f.flag, 6);
    CHECK(f.split && !f.ack);
    CHECK_EQ_INT(f.pnum, 2);
    CHECK_EQ_INT(f.pno, 1);
    e = example("B-29");
    CHECK_EQ_INT(parse_wire(e->frame, e->len, &f, NULL), 0);
    CHECK_EQ_INT(f.pno, 2);
    CHECK_EQ_STR(f.qn, "20160801085857535"); /* each part has its own QN */
    e = example("B-30");                     /* split + ack */
    CHECK_EQ_INT(parse_wire(e->frame, e->len, &f, NULL), 0);
    CHECK(f.split && f.ack);

    e = example("B-26"); /* UTF-8 log text; length counts bytes */
    CHECK_EQ_INT(parse_wire(e->frame, e->len, &f, NULL), 0);
    CHECK_EQ_INT(f.seg_len, 152);
    CHECK_EQ_INT(hj212_cp_parse(f.cp, f.cp_len, &cp, NULL), 0);
    CHECK(cp.has_datatime);
    CHECK_EQ_STR(cp.datatime, "20100301145000");
    CHECK_EQ_INT(etime_parse_hj212("20100301065000", 14, 0, &us), 0); /* = 14:50 Beijing */
    CHECK_EQ_INT(cp.datatime_us, us);
    pos = 0;
    CHECK_EQ_INT(hj212_cp_pollutant(&cp, &pos, &p), 0);
    CHECK_EQ_STR(p.code, "i11001");
    CHECK(p.info != NULL && p.info_len == strlen("清洗管路"));
    CHECK(memcmp(p.info, "清洗管路", p.info_len) == 0);
    CHECK_EQ_INT(hj212_cp_pollutant(&cp, &pos, &p), -ENOENT);
    CHECK_EQ_INT(hj212_cp_find(&cp, "PolId", &v, &vl), 0);
    CHECK(vl == 6 && memcmp(v, "w01018", 6) == 0);

    e = example("B-25"); /* instrument serial */
    CHECK_EQ_INT(parse_wire(e->frame, e->len, &f, NULL), 0);
    CHECK_EQ_INT(hj212_cp_parse(f.cp, f.cp_len, &cp, NULL), 0);
    pos = 0;
    CHECK_EQ_INT(hj212_cp_pollutant(&cp, &pos, &p), 0);
    CHECK_EQ_STR(p.code, "w01018");
    CHECK(p.sn && p.sn_len == 24 && memcmp(p.sn, "010000A8900016F000169DC1", 24) == 0);

    e = example("B-02"); /* 9011 request answer */
    CHECK_EQ_INT(parse_wire(e->frame, e->len, &f, NULL), 0);
    CHECK_EQ_INT(hj212_cp_parse(f.cp, f.cp_len, &cp, NULL), 0);
    CHECK_EQ_INT(hj212_cp_find(&cp, "QnRtn", &v, &vl), 0);
    CHECK(vl == 1 && v[0] == '1');
}

/* ---- lenient and strict frame rules --------------------------------- */

static void test_frame_rules(void)
{
    static char b[HJ212_FRAME_MAX + 32], seg[1800];
    struct hj212_frame f;
    struct hj212_err e;

#define MN24 "MN=010000A8900016F000169DC0;"
    /* 2005-style upload: no QN, no Flag, 14-character MN. */
    mkframe("ST=32;CN=2011;PW=123456;MN=88888880000001;CP=&&DataTime=20160801085857;"
            "w01018-Rtd=12.5,w01018-Flag=N&&",
            b, sizeof(b));
    CHECK_EQ_INT(expect_reason(b, HJ212_OK), 0);
    parse_str(b, &f, NULL);
    CHECK_EQ_INT(f.version, HJ212_V2005);
    CHECK(f.lax & HJ212_LAX_NO_QN);
    CHECK(f.lax & HJ212_LAX_NO_FLAG);
    CHECK(!f.ack);
    CHECK_EQ_INT(f.flag, -1);

    /* Flag 0..3 is 2005 as well; 4..7 2017; 8..11 2025; 12+ unknown. */
    mkframe("QN=1;ST=32;CN=2011;PW=1;" MN24 "Flag=1;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_OK);
    parse_str(b, &f, NULL);
    CHECK_EQ_INT(f.version, HJ212_V2005);
    CHECK(f.ack);
    mkframe("QN=1;ST=32;CN=2011;PW=1;" MN24 "Flag=12;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_E_FLAG);
    mkframe("QN=1;ST=32;CN=2011;PW=1;" MN24 "Flag=256;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_E_FLAG);
    mkframe("QN=1;ST=32;CN=2011;PW=1;" MN24 "Flag=x;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_E_FLAG);
    mkframe("QN=1;ST=32;CN=2011;PW=1;" MN24 "Flag=05;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_OK);
    parse_str(b, &f, NULL);
    CHECK(f.lax & HJ212_LAX_ZERO_PAD);

    /* Field checks. */
    mkframe("QN=201608010858572230123;ST=32;CN=2011;PW=1;" MN24 "Flag=4;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_E_QN); /* 21 digits */
    mkframe("QN=201608010858572231;ST=32;CN=2011;PW=1;" MN24 "Flag=4;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_OK); /* 20 digits, seen in the field as 18 */
    mkframe("QN=2016a;ST=32;CN=2011;PW=1;" MN24 "Flag=4;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_E_QN);
    mkframe("QN=;ST=32;CN=2011;PW=1;" MN24 "Flag=4;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_OK); /* empty QN seen in practice */
    mkframe("QN=1;ST=101;CN=2011;PW=1;" MN24 "Flag=4;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_OK); /* 3-digit ST */
    mkframe("QN=1;ST=;CN=2011;PW=1;" MN24 "Flag=4;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_E_ST);
    mkframe("QN=1;CN=2011;PW=1;" MN24 "Flag=4;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_E_ST);
    mkframe("QN=1;ST=32;CN=20111;PW=1;" MN24 "Flag=4;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_E_CN);
    mkframe("QN=1;ST=32;PW=1;" MN24 "Flag=4;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_E_CN);
    mkframe("QN=1;ST=32;CN=2011;PW=;" MN24 "Flag=4;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_OK); /* empty PW seen in practice */
    mkframe("QN=1;ST=32;CN=2011;PW=a b;" MN24 "Flag=4;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_E_PW);
    parse_str(b, &f, &e);
    CHECK(strstr(e.detail, "a b") == NULL); /* passwords are never echoed */
    mkframe("QN=1;ST=32;CN=2011;" MN24 "Flag=4;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_E_PW);
    mkframe("QN=1;ST=32;CN=2011;PW=1;MN=;Flag=4;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_OK); /* empty MN: the registry will not know it */
    mkframe("QN=1;ST=32;CN=2011;PW=1;MN=abc_def-1.2;Flag=4;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_OK);
    mkframe("QN=1;ST=32;CN=2011;PW=1;MN=a/b#;Flag=4;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_E_MN); /* would be an MQTT wildcard in a topic */
    mkframe("QN=1;ST=32;CN=2011;PW=1;MN=0123456789012345678901234567890123;Flag=4;CP=&&&&", b,
            sizeof(b));
    expect_reason(b, HJ212_E_MN);
    mkframe("QN=1;ST=32;CN=2011;PW=1;Flag=4;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_E_MN);
    mkframe("QN=1;ST=32;ST=31;CN=2011;PW=1;" MN24 "Flag=4;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_E_FIELD); /* twice, different: which one? */
    mkframe("QN=1;ST=32;CN=2011;PW=1;" MN24 "Flag=4;junk;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_E_FIELD);
    mkframe("QN=1;ST=32;CN=2011;PW=1;" MN24 "Flag=4;CP=&&a\x01&&", b, sizeof(b));
    expect_reason(b, HJ212_E_FIELD); /* control character */

    /* Unknown fields are kept (HJ 212-2025 RF=1), up to a bound. */
    mkframe("QN=1;ST=32;CN=2011;PW=1;" MN24 "Flag=8;RF=1;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_OK);
    parse_str(b, &f, NULL);
    CHECK_EQ_INT(f.nextra, 1);
    CHECK_EQ_STR(f.extra[0].key, "RF");
    CHECK_EQ_STR(f.extra[0].val, "1");
    CHECK(f.lax & HJ212_LAX_EXTRA);
    mkframe("QN=1;ST=32;CN=2011;PW=1;" MN24 "Flag=4;A=1;B=2;C=3;D=4;E=5;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_E_FIELD);

    /* CP: missing, not opened, not closed (length and CRC right). */
    mkframe("QN=1;ST=32;CN=2011;PW=1;" MN24 "Flag=4", b, sizeof(b));
    expect_reason(b, HJ212_E_CP);
    mkframe("QN=1;ST=32;CN=2011;PW=1;" MN24 "Flag=4;CP=DataTime=1&&", b, sizeof(b));
    expect_reason(b, HJ212_E_CP);
    mkframe("QN=1;ST=32;CN=2011;PW=1;" MN24 "Flag=4;CP=&&DataTime=1", b, sizeof(b));
    expect_reason(b, HJ212_E_CP);
    mkframe("QN=1;ST=32;CN=2011;PW=1;" MN24 "Flag=4;CP=&&&", b, sizeof(b));
    expect_reason(b, HJ212_E_CP);
    mkframe("QN=1;ST=32;CN=2011;PW=1;" MN24 "CP=&&&&;Flag=4", b, sizeof(b));
    expect_reason(b, HJ212_E_CP); /* CP must be last: it runs to the end */

    /* Split packets: PNO before PNUM, zero-padded (seen in practice). */
    mkframe("QN=1;ST=32;CN=2061;PW=1;" MN24 "Flag=6;PNO=0002;PNUM=0002;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_OK);
    parse_str(b, &f, NULL);
    CHECK(f.split && f.pnum == 2 && f.pno == 2);
    CHECK(f.lax & HJ212_LAX_ORDER);
    CHECK(f.lax & HJ212_LAX_ZERO_PAD);
    mkframe("ST=32;CN=2061;PW=1;" MN24 "PNUM=3;PNO=1;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_OK); /* PNUM/PNO without Flag */
    parse_str(b, &f, NULL);
    CHECK(f.split);
    mkframe("QN=1;ST=32;CN=2061;PW=1;" MN24 "Flag=4;PNUM=3;PNO=1;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_OK);
    parse_str(b, &f, NULL);
    CHECK(f.lax & HJ212_LAX_SPLIT_NO_D);
    mkframe("QN=1;ST=32;CN=2061;PW=1;" MN24 "Flag=6;PNUM=2;PNO=3;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_E_FIELD);
    mkframe("QN=1;ST=32;CN=2061;PW=1;" MN24 "Flag=6;PNUM=2;PNO=0;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_E_FIELD);
    mkframe("QN=1;ST=32;CN=2061;PW=1;" MN24 "Flag=6;PNUM=2;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_E_FIELD);
    mkframe("QN=1;ST=32;CN=2061;PW=1;" MN24 "Flag=7;PNO=1;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_E_FIELD); /* PNO without PNUM */

    /* Terminators: CR LF, LF, none, trailing spaces. */
    const struct example *a = example("A-01");
    snprintf(b, sizeof(b), "%s\n", a->frame);
    expect_reason(b, HJ212_OK);
    parse_str(b, &f, NULL);
    CHECK(f.lax & HJ212_LAX_LF_ONLY);
    snprintf(b, sizeof(b), "%s  \r\n", a->frame);
    expect_reason(b, HJ212_OK);
    parse_str(b, &f, NULL);
    CHECK(f.lax & HJ212_LAX_TRAIL_WS);
    snprintf(b, sizeof(b), "%s\r\nX", a->frame);
    expect_reason(b, HJ212_E_LENGTH); /* bytes after the frame */
    snprintf(b, sizeof(b), "%sFF", a->frame);
    expect_reason(b, HJ212_E_LENGTH);
    expect_reason("##", HJ212_E_TRUNCATED);
    expect_reason("##0101", HJ212_E_TRUNCATED);
    expect_reason("##0000", HJ212_E_TRUNCATED);
    expect_reason("#0101", HJ212_E_HEADER);
    expect_reason("", HJ212_E_HEADER);
    expect_reason(" ##0101", HJ212_E_HEADER);

    /* Length counted in UTF-8 characters (one library does): accepted only
     * when the CRC vouches for the bytes. */
    const struct example *u = example("B-26");
    memcpy(b, u->frame, u->len + 1);
    memcpy(b + 2, "0144", 4); /* 152 bytes, 144 characters */
    expect_reason(b, HJ212_OK);
    parse_str(b, &f, NULL);
    CHECK(f.lax & HJ212_LAX_LEN_CHARS);
    b[u->len - 1] = b[u->len - 1] == '1' ? '0' : '1';
    expect_reason(b, HJ212_E_LENGTH);
    memcpy(b + 2, "0143", 4);
    b[u->len - 1] = u->frame[u->len - 1];
    expect_reason(b, HJ212_E_LENGTH);

    /* Oversize segments (real devices exceed 1024): accepted, flagged. */
    size_t n = (size_t)snprintf(
        seg, sizeof(seg), "QN=1;ST=32;CN=2011;PW=1;" MN24 "Flag=4;CP=&&DataTime=20160801085857");
    for (int i = 0; n < 1500; i++)
        n += (size_t)snprintf(seg + n, sizeof(seg) - n, ";a%05d-Rtd=%d.5", i, i);
    snprintf(seg + n, sizeof(seg) - n, "&&");
    mkframe(seg, b, sizeof(b));
    expect_reason(b, HJ212_OK);
    parse_str(b, &f, NULL);
    CHECK(f.lax & HJ212_LAX_OVERSIZE);
    CHECK(f.seg_len > HJ212_SEG_STD_MAX);

    /* Precedence: a bad CRC outranks a bad field. */
    mkframe("QN=x;ST=32;CN=2011;PW=1;" MN24 "Flag=4;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_E_QN);
    b[strlen(b) - 3] = b[strlen(b) - 3] == '0' ? '1' : '0';
    expect_reason(b, HJ212_E_CRC);

    /* Reasons and QnRtn codes. */
    CHECK_EQ_STR(hj212_reason_str(HJ212_E_CRC), "crc");
    CHECK_EQ_STR(hj212_reason_str(HJ212_E_TOO_LONG), "too_long");
    CHECK_EQ_STR(hj212_reason_str(HJ212_OK), "ok");
    CHECK_EQ_STR(hj212_reason_str(999), "unknown");
    for (int r = 0; r < HJ212_E_COUNT; r++)
        CHECK(strcmp(hj212_reason_str(r), "unknown") != 0);
    CHECK_EQ_INT(hj212_qnrtn(HJ212_E_CRC), 9);
    CHECK_EQ_INT(hj212_qnrtn(HJ212_E_PW), 3);
    CHECK_EQ_INT(hj212_qnrtn(HJ212_E_CP), 100);
    char names[128];
    CHECK_EQ_STR(hj212_lax_names(HJ212_LAX_CRC_LOWER | HJ212_LAX_NO_QN, names, sizeof(names)),
                 "crc_lower,no_qn");
    CHECK_EQ_STR(hj212_lax_names(0xFFFFu, names, 12), "crc_lower"); /* cut, terminated */
    CHECK_EQ_STR(hj212_lax_name(HJ212_LAX_CP_DUP), "cp_dup");
    CHECK(hj212_lax_name(3) == NULL);
    CHECK_EQ_STR(hj212_version_str(HJ212_V2025), "2025");
#undef MN24
}

/* ---- CP area -------------------------------------------------------- */

static void test_numbers(void)
{
    double d;
    CHECK_EQ_INT(hj212_parse_number("17.5", 4, &d), 0);
    CHECK(d == 17.5);
    CHECK_EQ_INT(hj212_parse_number("-0.25", 5, &d), 0);
    CHECK(d == -0.25);
    CHECK_EQ_INT(hj212_parse_number("+3", 2, &d), 0);
    CHECK(d == 3.0);
    CHECK_EQ_INT(hj212_parse_number("1512.0", 6, &d), 0);
    CHECK(d == 1512.0);
    CHECK_EQ_INT(hj212_parse_number(".5", 2, &d), 0);
    CHECK(d == 0.5);
    CHECK_EQ_INT(hj212_parse_number("0.000123", 8, &d), 0);
    CHECK(d == 0.000123);
    CHECK_EQ_INT(hj212_parse_number("1.234567890123456", 17, &d), 0);
    CHECK(fabs(d - 1.234567890123456) < 1e-15);
    CHECK_EQ_INT(hj212_parse_number("123456789012345678901234", 24, &d), 0);
    CHECK(fabs(d / 1.23456789012345678901234e23 - 1) < 1e-15);
    CHECK_EQ_INT(hj212_parse_number("7.1xyz", 3, &d), 0); /* length-bounded */
    CHECK(d == 7.1);
    static const char *const bad[] = {"",   "-",    ".",   "1e5", "1.2.3", " 1",
                                      "1 ", "0x10", "nan", "inf", "1,5",   "--1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_EQ_INT(hj212_parse_number(bad[i], strlen(bad[i]), &d), -EBADMSG);
    char big[48];
    memset(big, '1', sizeof(big));
    CHECK_EQ_INT(hj212_parse_number(big, 41, &d), -EBADMSG);
}

static const struct hj212_pollutant *find_p(struct hj212_pollutant *ps, size_t n, const char *c)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ps[i].code, c) == 0)
            return &ps[i];
    fprintf(stderr, "pollutant %s missing\n", c);
    exit(1);
}

static size_t all_pollutants(const struct hj212_cp *cp, struct hj212_pollutant *ps, size_t cap)
{
    size_t pos = 0, n = 0;
    while (n < cap && hj212_cp_pollutant(cp, &pos, &ps[n]) == 0)
        n++;
    CHECK(n < cap);
    return n;
}

static void test_cp(void)
{
    static struct hj212_cp cp;
    static struct hj212_pollutant ps[64];
    struct hj212_frame f;
    struct hj212_err e;
    const struct hj212_pollutant *p;
    int64_t us;
    size_t n;

    /* A 2011 real-time upload from an air station: several pollutants and
     * flags, a bare Flag, an empty value, a negative value, 15 decimals,
     * flag before value. */
    const char *rt =
        "DataTime=20210601080000;a34004-Rtd=35.2,a34004-Flag=N;"
        "a21026-Rtd=8,a21026-Flag=D;a05024-Flag=T,a05024-Rtd=-1.5;"
        "a01012-Rtd=,a01012-Flag=F;a21005-Rtd=0.8,Flag=M;"
        "w01018-Rtd=1.234567890123456,w01018-EFlag=A1,w01018-SampleTime=20210601075500";
    CHECK_EQ_INT(hj212_cp_parse(rt, strlen(rt), &cp, &e), 0);
    CHECK(cp.has_datatime);
    CHECK_EQ_INT(cp.datatime_us, 1622505600LL * ETIME_US_PER_SEC); /* 08:00 Beijing */
    CHECK_EQ_INT(cp.nitems, 14);
    CHECK(cp.lax & HJ212_LAX_CP_BARE_FLAG);
    n = all_pollutants(&cp, ps, 64);
    CHECK_EQ_INT(n, 6);
    CHECK_EQ_STR(ps[0].code, "a34004"); /* order of first appearance */
    p = find_p(ps, n, "a34004");
    CHECK(p->has == (1u << HJ212_RTD) && p->v[HJ212_RTD] == 35.2 && p->flag == 'N');
    p = find_p(ps, n, "a21026");
    CHECK(p->v[HJ212_RTD] == 8.0 && p->flag == 'D');
    p = find_p(ps, n, "a05024");
    CHECK(p->v[HJ212_RTD] == -1.5 && p->flag == 'T');
    p = find_p(ps, n, "a01012");
    CHECK(p->has == 0 && p->seen == (1u << HJ212_RTD) && p->flag == 'F');
    p = find_p(ps, n, "a21005");
    CHECK(p->v[HJ212_RTD] == 0.8 && p->flag == 'M' && p->nitems == 2);
    p = find_p(ps, n, "w01018");
    CHECK(fabs(p->v[HJ212_RTD] - 1.234567890123456) < 1e-15);
    CHECK_EQ_STR(p->eflag, "A1");
    CHECK(p->sample_time && p->sample_time_len == 14);
    CHECK_EQ_INT(p->flag, 0);

    /* 2051 minute data from the standard (B-16): Cou/Min/Avg/Max/Flag. */
    const struct example *x = example("B-16");
    CHECK_EQ_INT(parse_wire(x->frame, x->len, &f, NULL), 0);
    CHECK_EQ_INT(hj212_cp_parse(f.cp, f.cp_len, &cp, NULL), 0);
    CHECK_EQ_STR(cp.datatime, "20160801084000");
    CHECK_EQ_INT(etime_parse_hj212("20160801004000", 14, 0, &us), 0);
    CHECK_EQ_INT(cp.datatime_us, us);
    n = all_pollutants(&cp, ps, 64);
    CHECK_EQ_INT(n, 3);
    p = find_p(ps, n, "w00000");
    CHECK(p->has ==
          ((1u << HJ212_COU) | (1u << HJ212_MIN) | (1u << HJ212_AVG) | (1u << HJ212_MAX)));
    CHECK(p->v[HJ212_COU] == 10.5 && p->v[HJ212_MIN] == 16.4 && p->v[HJ212_AVG] == 17.5 &&
          p->v[HJ212_MAX] == 20.1 && p->flag == 'N' && p->nother == 0);
    p = find_p(ps, n, "w01001");
    CHECK(!(p->has & (1u << HJ212_COU)) && p->v[HJ212_AVG] == 7.5);
    CHECK_EQ_INT(cp.items[1].group, 1);
    CHECK_EQ_INT(cp.items[6].group, 2);

    /* 2061 hourly and 2031 daily. */
    x = example("B-18");
    CHECK_EQ_INT(parse_wire(x->frame, x->len, &f, NULL), 0);
    CHECK_EQ_INT(hj212_cp_parse(f.cp, f.cp_len, &cp, NULL), 0);
    n = all_pollutants(&cp, ps, 64);
    CHECK(find_p(ps, n, "w01018")->v[HJ212_COU] == 63.0);
    x = example("B-19");
    CHECK_EQ_INT(parse_wire(x->frame, x->len, &f, NULL), 0);
    CHECK_EQ_INT(hj212_cp_parse(f.cp, f.cp_len, &cp, NULL), 0);
    CHECK_EQ_STR(cp.datatime, "20160801000000");
    n = all_pollutants(&cp, ps, 64);
    CHECK(find_p(ps, n, "w00000")->v[HJ212_COU] == 1512.0);
    CHECK(find_p(ps, n, "w01018")->v[HJ212_COU] == 2142.0);

    /* Noise (B-24): one value per group. */
    x = example("B-24");
    CHECK_EQ_INT(parse_wire(x->frame, x->len, &f, NULL), 0);
    CHECK_EQ_INT(hj212_cp_parse(f.cp, f.cp_len, &cp, NULL), 0);
    n = all_pollutants(&cp, ps, 64);
    CHECK_EQ_INT(n, 8);
    CHECK(find_p(ps, n, "L10")->v[HJ212_DATA] == 53.0);
    CHECK(find_p(ps, n, "LMn")->v[HJ212_DATA] == 42.0);

    /* Device info (B-27): numeric Info values are text to us. */
    x = example("B-27");
    CHECK_EQ_INT(parse_wire(x->frame, x->len, &f, NULL), 0);
    CHECK_EQ_INT(hj212_cp_parse(f.cp, f.cp_len, &cp, NULL), 0);
    n = all_pollutants(&cp, ps, 64);
    p = find_p(ps, n, "i13004");
    CHECK(p->info && p->info_len == 5 && memcmp(p->info, "168.0", 5) == 0);

    /* Split packets: each part parses on its own; same DataTime. */
    x = example("B-28");
    CHECK_EQ_INT(parse_wire(x->frame, x->len, &f, NULL), 0);
    CHECK_EQ_INT(hj212_cp_parse(f.cp, f.cp_len, &cp, NULL), 0);
    int64_t t1 = cp.datatime_us;
    CHECK_EQ_INT(all_pollutants(&cp, ps, 64), 2);
    x = example("B-29");
    CHECK_EQ_INT(parse_wire(x->frame, x->len, &f, NULL), 0);
    CHECK_EQ_INT(hj212_cp_parse(f.cp, f.cp_len, &cp, NULL), 0);
    CHECK_EQ_INT(cp.datatime_us, t1);
    CHECK_EQ_INT(all_pollutants(&cp, ps, 64), 1);

    /* Tolerated: spaces, trailing ';', empty items, duplicates, //text//
     * holding separators and a URL, extension suffixes. */
    const char *lax =
        " DataTime = 20160801084000 ; w01018-Rtd = 1.5 ,w01018-Flag=N,,;"
        "w01018-Rtd=1.5,w01018-Flag=N;i11001-Info=//a;b,c http://x//;SB1-RS=1,SB1-Ia=3.2;";
    CHECK_EQ_INT(hj212_cp_parse(lax, strlen(lax), &cp, &e), 0);
    CHECK(cp.lax & HJ212_LAX_CP_SPACE);
    CHECK(cp.lax & HJ212_LAX_CP_EMPTY);
    CHECK(cp.lax & HJ212_LAX_CP_DUP);
    n = all_pollutants(&cp, ps, 64);
    CHECK_EQ_INT(n, 3);
    p = find_p(ps, n, "w01018");
    CHECK(p->v[HJ212_RTD] == 1.5 && p->flag == 'N' && p->nitems == 4); /* same value again */
    CHECK_EQ_INT(cp.nbad, 0);
    p = find_p(ps, n, "i11001");
    CHECK(p->info_len == strlen("a;b,c http://x") && memcmp(p->info, "a;b,c http://x", 14) == 0);
    p = find_p(ps, n, "SB1");
    CHECK(p->v[HJ212_RS] == 1.0 && p->nother == 1);
    CHECK_EQ_INT(hj212_cp_parse("", 0, &cp, NULL), 0);
    CHECK_EQ_INT(cp.nitems, 0);
    CHECK(!cp.has_datatime);

    /* Refused. */
    static const struct {
        const char *cp;
        int reason;
    } bad[] = {
        {"i11001-Info=//never closed", HJ212_E_CP},
        {"a b=//x;y//", HJ212_E_CP}, /* a bad item whose end cannot be told */
        {"i11001-Info=//x//y;", HJ212_E_CP},
        {"a=1\x02", HJ212_E_CP},
        {"DataTime=20160231000000", HJ212_E_TIME},
        {"DataTime=201608010840", HJ212_E_TIME},
        {"DataTime=", HJ212_E_TIME},
        {"DataTime=202103050038170", HJ212_E_TIME},                        /* 15 digits */
        {"DataTime=20210305003817000x", HJ212_E_TIME},                     /* 18 characters */
        {"DataTime=20160801084000;DataTime=20160801085000", HJ212_E_TIME}, /* which? */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = hj212_cp_parse(bad[i].cp, strlen(bad[i].cp), &cp, &e);
        if (rc != -EBADMSG || e.reason != bad[i].reason)
            fprintf(stderr, "cp case %zu: rc=%d %s\n", i, rc, hj212_reason_str(e.reason));
        CHECK_EQ_INT(rc, -EBADMSG);
        CHECK_EQ_INT(e.reason, bad[i].reason);
    }
    /* The item bound is explicit. */
    static char many[HJ212_SEG_MAX + 1];
    size_t m = 0;
    for (int i = 0; i <= HJ212_CP_ITEMS_MAX; i++)
        m += (size_t)snprintf(many + m, sizeof(many) - m, "%sa=%d", i ? "," : "", i % 10);
    CHECK_EQ_INT(hj212_cp_parse(many, m, &cp, &e), -EBADMSG);
    CHECK(strstr(e.detail, "items") != NULL);
    m = (size_t)(strrchr(many, ',') - many); /* exactly the bound */
    CHECK_EQ_INT(hj212_cp_parse(many, m, &cp, &e), 0);
    CHECK_EQ_INT(cp.nitems, HJ212_CP_ITEMS_MAX);
}

/* ---- faults of one field: the field goes, the frame stays ----------- */

/* The refused items of cp as "text(why)" joined by spaces. */
static const char *bad_list(const struct hj212_cp *cp)
{
    static char out[1024];
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < cp->nbad; i++)
        n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%.*s(%s)", i ? " " : "",
                              (int)cp->bad[i].len, cp->bad[i].text, hj212_bad_str(cp->bad[i].why));
    return out;
}

/* Parses a CP of a data upload of this CN: 0 or the codec's error. */
static int data_cp(const char *text, int cn, struct hj212_cp *cp, int64_t *ts, struct hj212_err *e)
{
    int rc = hj212_cp_parse(text, strlen(text), cp, e);
    return rc ? rc : hj212_cp_data(cp, cn, ts, e);
}

static void test_field_faults(void)
{
    static char b[HJ212_FRAME_MAX + 32], out[HJ212_FRAME_MAX + 1];
    static struct hj212_cp cp;
    static struct hj212_pollutant ps[64];
    struct hj212_frame f;
    struct hj212_err e;
    int64_t ts, us;
    size_t n, len;

#define MN24 "MN=010000A8900016F000169DC0;"
    /* Flag bit D without PNUM/PNO (field devices send Flag=7 for "ack"):
     * the frame is whole by its length and CRC; read as one packet. */
    mkframe("QN=1;ST=32;CN=2061;PW=1;" MN24 "Flag=7;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_OK);
    parse_str(b, &f, NULL);
    CHECK(f.lax & HJ212_LAX_SPLIT_NO_PNUM);
    CHECK(!f.split && f.ack && f.pnum == 0);
    CHECK_EQ_STR(hj212_lax_name(HJ212_LAX_SPLIT_NO_PNUM), "split_no_pnum");
    /* ... but we never send one. */
    CHECK_EQ_INT(hj212_encode(&f, out, sizeof(out), &len, &e), -EINVAL);
    CHECK_EQ_INT(e.reason, HJ212_E_FIELD);

    /* A field twice with the same value: nothing to choose between. */
    mkframe("QN=1;ST=32;CN=2011;PW=1;" MN24 "Flag=5;Flag=5;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_OK);
    parse_str(b, &f, NULL);
    CHECK(f.lax & HJ212_LAX_DUP_FIELD);
    CHECK(f.flag == 5 && f.ack);
    mkframe("QN=1;ST=32;ST=32;CN=2011;PW=1;" MN24 "Flag=4;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_OK);
    mkframe("QN=1;ST=32;CN=2011;PW=1;" MN24 "Flag=5;Flag=005;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_OK); /* the same number */
    /* With different values it is a guess: refused. */
    mkframe("QN=1;ST=32;CN=2011;PW=1;" MN24 "Flag=5;Flag=4;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_E_FIELD);
    mkframe("QN=1;ST=32;CN=2011;PW=secret1;" MN24 "PW=secret2;Flag=4;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_E_FIELD);
    parse_str(b, &f, &e);
    CHECK(strstr(e.detail, "secret") == NULL); /* passwords are never echoed */
    mkframe("QN=1;ST=32;CN=2011;PW=1;" MN24 "MN=010000A8900016F000169DC1;Flag=4;CP=&&&&", b,
            sizeof(b));
    expect_reason(b, HJ212_E_FIELD);
    /* An empty field (";;") loses nothing. */
    mkframe("QN=1;ST=32;;CN=2011;PW=1;" MN24 "Flag=4;;CP=&&&&", b, sizeof(b));
    expect_reason(b, HJ212_OK);
    parse_str(b, &f, NULL);
    CHECK(f.lax & HJ212_LAX_EMPTY_FIELD);

    /* DataTime with milliseconds (17 digits): the time is exact, kept. */
    CHECK_EQ_INT(data_cp("DataTime=20210305003817000;ele01-Rtd=1;ele02-Rtd=0", 2011, &cp, &ts, &e),
                 0);
    CHECK(cp.lax & HJ212_LAX_TIME_MS);
    CHECK_EQ_STR(cp.datatime, "20210305003817");
    CHECK_EQ_INT(etime_parse_hj212("20210304163817", 14, 0, &us), 0);
    CHECK_EQ_INT(ts, us);
    CHECK_EQ_INT(hj212_cp_parse("DataTime=20210305003817250", 26, &cp, &e), 0);
    CHECK_EQ_INT(cp.datatime_us, us + 250000);

    /* CN 2061 with BeginTime/EndTime and no DataTime: one hour, so the
     * hour's start is the data time. */
    CHECK_EQ_INT(data_cp("BeginTime=20160801080000;EndTime=20160801090000;w01018-Avg=40.1", 2061,
                         &cp, &ts, &e),
                 0);
    CHECK(cp.lax & HJ212_LAX_BEGIN_END);
    CHECK_EQ_INT(etime_parse_hj212("20160801000000", 14, 0, &us), 0);
    CHECK_EQ_INT(ts, us);
    CHECK_EQ_INT(
        data_cp("BeginTime=20160801080000;EndTime=20160801085959;w01018-Avg=1", 2061, &cp, &ts, &e),
        0);
    CHECK_EQ_INT(ts, us);
    CHECK_EQ_INT(
        data_cp("BeginTime=20160801080000,EndTime=20160801080000;w01018-Avg=1", 2061, &cp, &ts, &e),
        0);
    CHECK_EQ_INT(
        data_cp("BeginTime=20160801000000;EndTime=20160802000000;w01018-Avg=1", 2031, &cp, &ts, &e),
        0);
    CHECK_EQ_INT(
        data_cp("BeginTime=20160801084000;EndTime=20160801085000;w01018-Avg=1", 2051, &cp, &ts, &e),
        0);
    /* Several hours, or a span for real-time data: no single time. */
    CHECK_EQ_INT(
        data_cp("BeginTime=20160801080000;EndTime=20160801100000;w01018-Avg=1", 2061, &cp, &ts, &e),
        -EBADMSG);
    CHECK_EQ_INT(e.reason, HJ212_E_TIME);
    CHECK_EQ_INT(
        data_cp("BeginTime=20160801080000;EndTime=20160801090000;w01018-Rtd=1", 2011, &cp, &ts, &e),
        -EBADMSG);
    CHECK_EQ_INT(data_cp("EndTime=20160801090000;w01018-Avg=1", 2061, &cp, &ts, &e), -EBADMSG);
    CHECK_EQ_INT(data_cp("BeginTime=2016080108;w01018-Avg=1", 2061, &cp, &ts, &e), -EBADMSG);
    CHECK_EQ_INT(e.reason, HJ212_E_TIME);
    /* With a DataTime it dates the frame; a bad BeginTime is only itself. */
    CHECK_EQ_INT(data_cp("DataTime=20160801080000;BeginTime=2016;EndTime=20160801090000;"
                         "w01018-Avg=1",
                         2061, &cp, &ts, &e),
                 0);
    CHECK_EQ_STR(bad_list(&cp), "BeginTime=2016(time)");
    CHECK(cp.lax & HJ212_LAX_BEGIN_END);
    /* With a DataTime, a BeginTime/EndTime that names another period makes
     * the period ambiguous: a logger labelling the hour by its end sends
     * DataTime=09:00 with 08:00..09:00. Refused whole, never guessed. */
    CHECK_EQ_INT(data_cp("DataTime=20160801080000;BeginTime=20160801080000;"
                         "EndTime=20160801090000;w01018-Avg=1",
                         2061, &cp, &ts, &e),
                 0);
    CHECK_EQ_INT(data_cp("DataTime=20160801080000;BeginTime=20160801080000;"
                         "EndTime=20160801080000;w01018-Avg=1",
                         2061, &cp, &ts, &e),
                 0);
    static const char *const ambiguous[] = {
        "DataTime=20160801090000;BeginTime=20160801080000;EndTime=20160801090000;w01018-Avg=1",
        "DataTime=20160801090000;BeginTime=20160801080000;w01018-Avg=1",
        "DataTime=20160801080000;EndTime=20160801110000;w01018-Avg=1",
        "DataTime=20160801080000;EndTime=20160801070000;w01018-Avg=1",
    };
    for (size_t i = 0; i < sizeof(ambiguous) / sizeof(ambiguous[0]); i++) {
        int rc = data_cp(ambiguous[i], 2061, &cp, &ts, &e);
        if (rc != -EBADMSG)
            fprintf(stderr, "accepted: %s\n", ambiguous[i]);
        CHECK_EQ_INT(rc, -EBADMSG);
        CHECK_EQ_INT(e.reason, HJ212_E_TIME);
    }

    /* The misspelt item among eleven good pollutants (a real frame): only
     * LA-td is refused; it lost its value to the spelling. */
    const struct example *x = example("R-01");
    CHECK_EQ_INT(parse_wire(x->frame, x->len, &f, &e), 0);
    CHECK_EQ_INT(hj212_cp_parse(f.cp, f.cp_len, &cp, &e), 0);
    CHECK_EQ_INT(cp.nbad, 0); /* syntax is fine: only a data upload knows */
    CHECK_EQ_INT(hj212_cp_data(&cp, 2011, &ts, &e), 0);
    CHECK_EQ_STR(bad_list(&cp), "LA-td=50.1(unknown)");
    n = all_pollutants(&cp, ps, 64);
    CHECK_EQ_INT(n, 12);
    size_t good = 0;
    for (size_t i = 0; i < n; i++)
        good += (ps[i].has & (1u << HJ212_RTD)) != 0;
    CHECK_EQ_INT(good, 11);
    const struct hj212_pollutant *p = find_p(ps, n, "LA");
    CHECK(p->seen == 0 && p->nbad == 1 && p->flag == 'N');

    /* Other single-item faults of a data upload. */
    CHECK_EQ_INT(data_cp("DataTime=20160801084000;a01001-Rtd=12.6,a01001-Flag=N,Foo=3;"
                         "a01002-Rtd=abc,a01002-Flag=N;a01006-Rtd=,a01006-Flag=N;"
                         "a01007-Rtd=2.1,a01007-Flag=NN;a01008-Rtd=120,a01008-ValidNum=12;"
                         "SB1-RS=1,SB1-Ia=3.2;a34001-Rtd=//1//;a21026-avg=5,a21026-Flag=N",
                         2011, &cp, &ts, &e),
                 0);
    CHECK_EQ_STR(bad_list(&cp), "Foo=3(unknown) a01002-Rtd=abc(number) a01007-Flag=NN(flag) "
                                "a34001-Rtd=//1//(number) a21026-avg=5(unknown)");
    n = all_pollutants(&cp, ps, 64);
    CHECK(find_p(ps, n, "a01001")->v[HJ212_RTD] == 12.6);
    CHECK(find_p(ps, n, "a01002")->has == 0);
    CHECK(find_p(ps, n, "a01006")->seen == 1u << HJ212_RTD); /* empty: no value, no fault */
    CHECK(find_p(ps, n, "a01007")->flag_bad);
    CHECK(find_p(ps, n, "a01008")->nother == 1); /* a vendor's extra beside a known value */
    CHECK(find_p(ps, n, "SB1")->nother == 1);
    /* A misspelt primary value beside other known ones (-Min) has lost the
     * value this CN stores: refused, not silently ignored. Beside the value
     * (or a noise -Data, an equipment -RS) an unknown suffix stays. */
    CHECK_EQ_INT(data_cp("DataTime=20160801080000;w01001-avg=7.5,w01001-Min=7,w01001-Flag=N;"
                         "w21003-Avg=1,w21003-ValidNum=6;L10-Data=53,L10-Cnt=12;SB1-RS=1,SB1-Ia=3",
                         2061, &cp, &ts, &e),
                 0);
    CHECK_EQ_STR(bad_list(&cp), "w01001-avg=7.5(unknown)");

    /* CP items that are not key=value: refused one by one. */
    const char *syn = "DataTime=20160801084000;w01018-Rtd;=5,w01001-Rtd=7.1;a b=5,"
                      "abcdefghijabcdefghijabcdefghijabc=1;w21003-Rtd=0.5;";
    CHECK_EQ_INT(hj212_cp_parse(syn, strlen(syn), &cp, &e), 0);
    CHECK_EQ_STR(bad_list(&cp), "w01018-Rtd(syntax) =5(syntax) a b=5(syntax) "
                                "abcdefghijabcdefghijabcdefghijabc=1(syntax)");
    CHECK_EQ_INT(cp.nitems, 3);
    CHECK_EQ_INT(cp.items[2].group, 4); /* groups still counted past the bad ones */
    n = all_pollutants(&cp, ps, 64);
    CHECK(n == 2 && find_p(ps, n, "w21003")->v[HJ212_RTD] == 0.5);

    /* A key repeated with another value: which one is meant cannot be
     * told, so both go; the same value twice is harmless. */
    const char *conf = "DataTime=20160801084000;w01018-Rtd=1.5,w01018-Flag=N;w01018-Rtd=9;"
                       "w01001-Rtd=7,w01001-Flag=N,Flag=D;w21003-Rtd=1,Flag=N;w21001-Rtd=2,Flag=D";
    CHECK_EQ_INT(hj212_cp_parse(conf, strlen(conf), &cp, &e), 0);
    CHECK_EQ_STR(bad_list(&cp), "w01018-Rtd=1.5(conflict) w01018-Rtd=9(conflict) "
                                "w01001-Flag=N(conflict) Flag=D(conflict)");
    n = all_pollutants(&cp, ps, 64);
    p = find_p(ps, n, "w01018");
    CHECK(p->seen == 0 && p->nbad == 2 && p->flag == 'N' && !p->flag_bad);
    p = find_p(ps, n, "w01001");
    CHECK(p->v[HJ212_RTD] == 7.0 && p->flag_bad);
    CHECK(find_p(ps, n, "w21003")->flag == 'N'); /* bare Flags of two codes: no conflict */
    CHECK(find_p(ps, n, "w21001")->flag == 'D');
    const char *v;
    size_t vl;
    CHECK_EQ_INT(hj212_cp_find(&cp, "w01018-Rtd", &v, &vl), -ENOENT);
    CHECK(strcmp(hj212_bad_str(HJ212_BAD_CONFLICT), "conflict") == 0);
    CHECK(strcmp(hj212_bad_str(0), "unknown") == 0);

    /* The list is bounded; the count is not. */
    static char many[4096];
    size_t m = (size_t)snprintf(many, sizeof(many), "DataTime=20160801084000");
    for (int i = 0; i < HJ212_BAD_MAX + 5; i++)
        m += (size_t)snprintf(many + m, sizeof(many) - m, ";x%d", i);
    CHECK_EQ_INT(hj212_cp_parse(many, m, &cp, &e), 0);
    CHECK_EQ_INT(cp.nbad, HJ212_BAD_MAX);
    CHECK_EQ_INT(cp.nbad_total, HJ212_BAD_MAX + 5);
#undef MN24
}

/* ---- encoder -------------------------------------------------------- */

static void test_encoder(void)
{
    static char out[HJ212_FRAME_MAX + 1], want[HJ212_FRAME_MAX + 4];
    static char bigcp[HJ212_SEG_MAX + 1];
    struct hj212_frame f, g;
    struct hj212_err e;
    size_t n;
    int64_t qn, now;

    /* 9014 answers from the standard: B-17 answers B-16, B-31 answers B-30. */
    static const char *const pairs[][2] = {{"B-16", "B-17"}, {"B-30", "B-31"}};
    for (size_t i = 0; i < 2; i++) {
        const struct example *up = example(pairs[i][0]), *ack = example(pairs[i][1]);
        CHECK_EQ_INT(parse_wire(up->frame, up->len, &f, NULL), 0);
        CHECK(f.ack);
        CHECK_EQ_INT(hj212_encode_answer(&f, 9014, out, sizeof(out), &n), 0);
        snprintf(want, sizeof(want), "%s\r\n", ack->frame);
        CHECK_EQ_STR(out, want);
        CHECK_EQ_INT(n, strlen(want));
    }
    /* A 2025 request is answered with 2025's Flag. */
    const struct example *a2 = example("A-02");
    CHECK_EQ_INT(parse_wire(a2->frame, a2->len, &f, NULL), 0);
    CHECK_EQ_INT(hj212_encode_answer(&f, 9014, out, sizeof(out), &n), 0);
    CHECK_EQ_INT(hj212_parse_frame(out, n, &g, NULL), 0);
    CHECK_EQ_INT(g.flag, 8);
    CHECK_EQ_STR(g.cn, "9014");
    CHECK_EQ_STR(g.st, "91");
    CHECK_EQ_STR(g.qn, "20240601085857223");
    CHECK_EQ_INT(g.cp_len, 0);
    /* No answer to an upload that did not ask for one (B-28: Flag=6). */
    const struct example *b28 = example("B-28");
    CHECK_EQ_INT(parse_wire(b28->frame, b28->len, &f, NULL), 0);
    CHECK_EQ_INT(hj212_encode_answer(&f, 9014, out, sizeof(out), &n), -EINVAL);
    CHECK_EQ_INT(hj212_encode_answer(&f, 9011, out, sizeof(out), &n), -EINVAL);
    /* 9013 notify answer: B-14 is the standard's. */
    CHECK_EQ_INT(hj212_encode_answer(&f, 9013, out, sizeof(out), &n), 0);
    CHECK_EQ_INT(hj212_parse_frame(out, n, &g, NULL), 0);
    CHECK_EQ_STR(g.cn, "9013");
    CHECK_EQ_INT(g.flag, 4);

    /* 1012 set-time request: byte-identical to the standard's B-05. */
    const struct example *b05 = example("B-05");
    CHECK_EQ_INT(parse_wire(b05->frame, b05->len, &f, NULL), 0);
    CHECK_EQ_INT(etime_parse_hj212("20160801085857223", 17, ETIME_BEIJING_OFFSET, &qn), 0);
    CHECK_EQ_INT(etime_parse_hj212("20160801085857", 14, ETIME_BEIJING_OFFSET, &now), 0);
    CHECK_EQ_INT(hj212_encode_set_time(&f, qn, now, "w01018", out, sizeof(out), &n), 0);
    snprintf(want, sizeof(want), "%s\r\n", b05->frame);
    CHECK_EQ_STR(out, want);
    CHECK_EQ_INT(hj212_encode_set_time(&f, qn, now, NULL, out, sizeof(out), &n), 0);
    CHECK(strstr(out, ";CP=&&SystemTime=20160801085857&&") != NULL);
    CHECK_EQ_INT(hj212_encode_set_time(&f, qn, now, "w0;1", out, sizeof(out), &n), -EINVAL);

    /* Built from scratch. */
    memset(&f, 0, sizeof(f));
    f.fields = HJ212_F_QN | HJ212_F_ST | HJ212_F_CN | HJ212_F_PW | HJ212_F_MN | HJ212_F_FLAG;
    snprintf(f.qn, sizeof(f.qn), "20160801085857223");
    snprintf(f.st, sizeof(f.st), "32");
    snprintf(f.cn, sizeof(f.cn), "1062");
    snprintf(f.pw, sizeof(f.pw), "100000");
    snprintf(f.mn, sizeof(f.mn), "010000A8900016F000169DC0");
    f.flag = 5;
    f.cp = "RtdInterval=30";
    f.cp_len = 14;
    CHECK_EQ_INT(hj212_encode(&f, out, sizeof(out), &n, NULL), 0);
    snprintf(want, sizeof(want), "%s\r\n", example("A-01")->frame);
    CHECK_EQ_STR(out, want);
    /* Exactly enough room (frame + NUL), and one byte less. */
    CHECK_EQ_INT(hj212_encode(&f, out, n + 1, &n, NULL), 0);
    CHECK_EQ_INT(hj212_encode(&f, out, n, &n, NULL), -ENOSPC);
    /* Fields the parser would refuse are refused here. */
    g = f;
    snprintf(g.mn, sizeof(g.mn), "a;b");
    CHECK_EQ_INT(hj212_encode(&g, out, sizeof(out), &n, &e), -EINVAL);
    CHECK_EQ_INT(e.reason, HJ212_E_MN);
    g = f;
    g.flag = 7; /* split without PNUM/PNO */
    CHECK_EQ_INT(hj212_encode(&g, out, sizeof(out), &n, &e), -EINVAL);
    CHECK_EQ_INT(e.reason, HJ212_E_FIELD);
    g = f;
    g.fields &= ~HJ212_F_MN;
    CHECK_EQ_INT(hj212_encode(&g, out, sizeof(out), &n, &e), -EINVAL);
    g = f;
    g.cp = "a=\r\n";
    g.cp_len = 4;
    CHECK_EQ_INT(hj212_encode(&g, out, sizeof(out), &n, &e), -EINVAL);
    g = f;
    g.nextra = 1;
    snprintf(g.extra[0].key, sizeof(g.extra[0].key), "QN"); /* would duplicate a standard field */
    CHECK_EQ_INT(hj212_encode(&g, out, sizeof(out), &n, &e), -EINVAL);
    /* Segment size: 9999 fits, 10000 does not. */
    g = f;
    memset(bigcp, 'x', sizeof(bigcp));
    g.cp = bigcp;
    g.cp_len = HJ212_SEG_MAX - (101 - 14);
    CHECK_EQ_INT(hj212_encode(&g, out, sizeof(out), &n, &e), 0);
    CHECK_EQ_INT(n, HJ212_FRAME_MAX);
    CHECK_EQ_INT(hj212_parse_frame(out, n, &f, NULL), 0);
    CHECK_EQ_INT(f.seg_len, HJ212_SEG_MAX);
    g.cp_len++;
    CHECK_EQ_INT(hj212_encode(&g, out, sizeof(out), &n, &e), -EMSGSIZE);
    /* Split fields round-trip in standard order. */
    const char *split = "##0000QN=1;ST=32;CN=2061;PW=1;MN=X;Flag=6;PNO=02;PNUM=2;CP=&&&&";
    static char sb[256];
    snprintf(sb, sizeof(sb), "%s%04X", split, hj212_crc16(split + 6, strlen(split) - 6));
    snprintf(sb + 2, 5, "%04zu", strlen(split) - 6);
    sb[6] = 'Q';
    CHECK_EQ_INT(hj212_parse_frame(sb, strlen(sb), &f, NULL), 0);
    CHECK_EQ_INT(hj212_encode(&f, out, sizeof(out), &n, NULL), 0);
    CHECK(strstr(out, "Flag=6;PNUM=2;PNO=2;CP=&&&&") != NULL);
    CHECK_EQ_INT(hj212_parse_frame(out, n, &g, NULL), 0);
    same_fields(&f, &g);
}

/* ---- framer --------------------------------------------------------- */

#define MAX_CHUNKS 256

struct got {
    size_t n;
    int kind[MAX_CHUNKS], reason[MAX_CHUNKS];
    size_t len[MAX_CHUNKS];
    char qn[MAX_CHUNKS][HJ212_QN_MAX + 1];
    size_t bytes; /* sum of chunk lengths */
    char *text;   /* concatenated chunks (for conservation checks) */
    size_t text_cap;
};

static void drain(struct hj212_framer *fr, bool eof, struct got *g)
{
    struct hj212_chunk c;
    static struct hj212_frame f;

    while (hj212_framer_next(fr, eof, &c, &f) == 0) {
        CHECK(g->n < MAX_CHUNKS);
        CHECK(c.len > 0);
        CHECK(c.kind == HJ212_CHUNK_FRAME || c.kind == HJ212_CHUNK_JUNK);
        if (c.kind == HJ212_CHUNK_FRAME) {
            CHECK(c.len <= HJ212_FRAME_LEN(fr->cap));
            CHECK(c.len >= 6 && memcmp(c.data, "##", 2) == 0);
        } else {
            CHECK(c.err.reason != HJ212_OK);
        }
        g->kind[g->n] = c.kind;
        g->reason[g->n] = c.err.reason;
        g->len[g->n] = c.len;
        snprintf(g->qn[g->n], sizeof(g->qn[g->n]), "%s", c.kind == HJ212_CHUNK_FRAME ? f.qn : "");
        if (g->text) {
            CHECK(g->bytes + c.len <= g->text_cap);
            memcpy(g->text + g->bytes, c.data, c.len);
        }
        g->bytes += c.len;
        g->n++;
    }
}

/* Feeds s in pieces of `step` bytes (0: at the given split points). */
static void feed_all(struct hj212_framer *fr, const char *s, size_t n, size_t step, struct got *g)
{
    size_t off = 0;
    while (off < n) {
        size_t want = step && n - off > step ? step : n - off;
        size_t took = hj212_framer_feed(fr, s + off, want);
        off += took;
        drain(fr, false, g);
    }
    drain(fr, true, g);
    /* Conservation: every byte came out in a chunk, or was whitespace
     * skipped between frames. */
    CHECK_EQ_INT(fr->fed, n);
    CHECK_EQ_INT(g->bytes + fr->skipped, n);
    CHECK_EQ_INT(hj212_framer_pending(fr), 0);
}

static struct hj212_framer fr; /* ~10 KiB: not on the stack */
static char stream[64 * 1024];

static size_t all_examples_stream(void)
{
    size_t n = 0;
    for (size_t i = 0; i < nex; i++) {
        memcpy(stream + n, ex[i].frame, ex[i].len);
        n += ex[i].len;
        memcpy(stream + n, "\r\n", 2);
        n += 2;
    }
    return n;
}

static void check_all_frames_ok(const struct got *g)
{
    CHECK_EQ_INT(g->n, nex);
    for (size_t i = 0; i < g->n; i++) {
        CHECK_EQ_INT(g->kind[i], HJ212_CHUNK_FRAME);
        CHECK_EQ_INT(g->reason[i], HJ212_OK);
        /* The CR LF may come after the frame was released: then skipped. */
        CHECK(g->len[i] >= ex[i].len && g->len[i] <= ex[i].len + 2);
    }
}

static void test_framer_boundaries(void)
{
    static struct got g;
    size_t n = all_examples_stream();

    /* One feed; then one byte at a time; then every two-piece split. */
    for (size_t step = 0; step < 2; step++) {
        memset(&g, 0, sizeof(g));
        hj212_framer_init(&fr, 0);
        feed_all(&fr, stream, n, step, &g);
        check_all_frames_ok(&g);
    }
    for (size_t cut = 0; cut <= n; cut++) {
        memset(&g, 0, sizeof(g));
        hj212_framer_init(&fr, 0);
        CHECK_EQ_INT(hj212_framer_feed(&fr, stream, cut), cut);
        drain(&fr, false, &g);
        CHECK_EQ_INT(hj212_framer_feed(&fr, stream + cut, n - cut), n - cut);
        drain(&fr, false, &g);
        drain(&fr, true, &g);
        check_all_frames_ok(&g);
    }
    /* Frames glued without CR LF come out all the same. */
    size_t m = 0;
    for (size_t i = 0; i < nex; i++) {
        memcpy(stream + m, ex[i].frame, ex[i].len);
        m += ex[i].len;
    }
    for (size_t step = 0; step < 8; step += 7) {
        memset(&g, 0, sizeof(g));
        hj212_framer_init(&fr, 0);
        feed_all(&fr, stream, m, step, &g);
        CHECK_EQ_INT(g.n, nex);
        for (size_t i = 0; i < g.n; i++)
            CHECK(g.kind[i] == HJ212_CHUNK_FRAME && g.reason[i] == HJ212_OK);
    }
}

static void test_framer_garbage(void)
{
    static struct got g;
    static char text[64 * 1024];
    const struct example *a = example("A-01"), *b = example("B-16");
    char badcrc[512], shortlen[512];
    size_t n = 0;

#define PUT(s, l) (memcpy(stream + n, (s), (l)), n += (l))
#define PUTS(s) PUT(s, strlen(s))
    PUTS("AT+CSQ\r\n"); /* modem chatter */
    PUT(a->frame, a->len);
    PUTS("\r\n");
    PUT("\x00\xff\x13junk#", 9); /* binary junk and a lone '#' */
    PUT(b->frame, b->len);
    PUTS("\r\n###"); /* stray '#'s before a frame */
    PUT(a->frame, a->len);
    PUTS("\r\n##12ab\r\n"); /* "##" not followed by digits */
    memcpy(badcrc, a->frame, a->len + 1);
    badcrc[a->len - 1] = badcrc[a->len - 1] == '0' ? '1' : '0';
    PUT(badcrc, a->len); /* bad CRC, CR LF where expected */
    PUTS("\r\n");
    memcpy(shortlen, a->frame, a->len + 1);
    memcpy(shortlen + 2, "0100", 4);
    PUT(shortlen, a->len); /* length field one short */
    PUTS("\r\n");
    memcpy(shortlen + 2, "0999", 4);
    PUT(shortlen, a->len); /* length field far too long */
    PUTS("\r\n");
    PUT(b->frame, b->len);    /* ...must not swallow this one */
    PUTS("\r\n##0150xx\r\n"); /* a stray header right before a frame */
    PUT(a->frame, a->len);    /* ...must not swallow it either */
    PUTS("\r\n");
#undef PUT
#undef PUTS
    for (size_t step = 0; step < 2; step++) {
        memset(&g, 0, sizeof(g));
        g.text = text;
        g.text_cap = sizeof(text);
        hj212_framer_init(&fr, 0);
        feed_all(&fr, stream, n, step, &g);
        /* Byte-wise feeding may cut junk into more pieces; compare the
         * sequence of frames and the reasons of the junk in between. */
        static const int want_kind[] = {HJ212_CHUNK_JUNK,  HJ212_CHUNK_FRAME, HJ212_CHUNK_JUNK,
                                        HJ212_CHUNK_FRAME, HJ212_CHUNK_JUNK,  HJ212_CHUNK_FRAME,
                                        HJ212_CHUNK_JUNK,  HJ212_CHUNK_FRAME, HJ212_CHUNK_FRAME,
                                        HJ212_CHUNK_FRAME, HJ212_CHUNK_FRAME, HJ212_CHUNK_JUNK,
                                        HJ212_CHUNK_FRAME};
        static const int want_reason[] = {HJ212_E_HEADER,
                                          0,
                                          HJ212_E_HEADER,
                                          0,
                                          HJ212_E_HEADER,
                                          0,
                                          HJ212_E_HEADER,
                                          HJ212_E_CRC,
                                          HJ212_E_LENGTH,
                                          HJ212_E_LENGTH,
                                          0,
                                          HJ212_E_HEADER,
                                          0};
        size_t k = 0;
        for (size_t i = 0; i < g.n; i++) {
            if (k > 0 && g.kind[i] == HJ212_CHUNK_JUNK && want_kind[k - 1] == HJ212_CHUNK_JUNK &&
                g.kind[i - 1] == HJ212_CHUNK_JUNK) {
                CHECK_EQ_INT(g.reason[i], want_reason[k - 1]); /* continuation */
                continue;
            }
            CHECK(k < sizeof(want_kind) / sizeof(want_kind[0]));
            if (g.kind[i] != want_kind[k] || g.reason[i] != want_reason[k])
                fprintf(stderr, "step %zu chunk %zu: kind %d reason %s\n", step, i, g.kind[i],
                        hj212_reason_str(g.reason[i]));
            CHECK_EQ_INT(g.kind[i], want_kind[k]);
            CHECK_EQ_INT(g.reason[i], want_reason[k]);
            k++;
        }
        CHECK_EQ_INT(k, sizeof(want_kind) / sizeof(want_kind[0]));
        CHECK_EQ_STR(g.qn[g.n - 3], "20160801085000001"); /* B-16 came through */
        CHECK_EQ_STR(g.qn[g.n - 1], "20160801085857223"); /* and A-01 after the stray */
        /* The junk is handed out intact: the first chunk is the chatter. */
        CHECK(memcmp(text, "AT+CSQ\r\n", 8) == 0);
    }
}

static void test_framer_limits(void)
{
    static struct got g;
    static char big[40000];
    const struct example *a = example("A-01");
    size_t n = 0;

    /* Declared length above the cap: refused as too_long, body labelled as
     * such, the next frame found. */
    memset(&g, 0, sizeof(g));
    hj212_framer_init(&fr, 1024);
    n = (size_t)snprintf(stream, sizeof(stream), "##5000QN=1;ST=32;CN=2011;PW=1;MN=X;CP=&&");
    memset(stream + n, 'x', 3000);
    n += 3000;
    memcpy(stream + n, a->frame, a->len);
    n += a->len;
    feed_all(&fr, stream, n, 0, &g);
    CHECK(g.n >= 2);
    CHECK_EQ_INT(g.kind[0], HJ212_CHUNK_JUNK);
    CHECK_EQ_INT(g.reason[0], HJ212_E_TOO_LONG);
    for (size_t i = 1; i + 1 < g.n; i++)
        CHECK(g.kind[i] == HJ212_CHUNK_JUNK && g.reason[i] == HJ212_E_TOO_LONG);
    CHECK(g.kind[g.n - 1] == HJ212_CHUNK_FRAME && g.reason[g.n - 1] == HJ212_OK);

    /* The giant 9999 within the default cap, never terminated: held until
     * eof, then released as truncated. */
    memset(&g, 0, sizeof(g));
    hj212_framer_init(&fr, 0);
    n = (size_t)snprintf(stream, sizeof(stream), "##9999QN=1;ST=32;CN=2011;");
    memset(stream + n, 'y', 5000);
    n += 5000;
    CHECK_EQ_INT(hj212_framer_feed(&fr, stream, n), n);
    drain(&fr, false, &g);
    CHECK_EQ_INT(g.n, 0);
    CHECK_EQ_INT(hj212_framer_pending(&fr), n);
    drain(&fr, true, &g);
    CHECK(g.n == 1 && g.kind[0] == HJ212_CHUNK_JUNK && g.reason[0] == HJ212_E_TRUNCATED);
    CHECK_EQ_INT(g.len[0], n);

    /* A frame whose CR LF has not arrived is released at once (the logger
     * waits for our answer); the CR LF is skipped later. */
    memset(&g, 0, sizeof(g));
    hj212_framer_init(&fr, 0);
    hj212_framer_feed(&fr, a->frame, a->len);
    drain(&fr, false, &g);
    CHECK(g.n == 1 && g.kind[0] == HJ212_CHUNK_FRAME && g.reason[0] == HJ212_OK);
    hj212_framer_feed(&fr, "\r\n", 2);
    drain(&fr, false, &g);
    CHECK_EQ_INT(g.n, 1);
    CHECK_EQ_INT(fr.skipped, 2);

    /* Binary junk larger than the buffer: fed in as the framer makes room;
     * everything comes back out as junk. */
    uint32_t x = 7;
    for (size_t i = 0; i < sizeof(big); i++) {
        x = x * 1103515245u + 12345u;
        big[i] = (char)(x >> 16);
        if (big[i] == '#')
            big[i] = 0;
    }
    memset(&g, 0, sizeof(g));
    hj212_framer_init(&fr, 0);
    feed_all(&fr, big, sizeof(big), 0, &g);
    for (size_t i = 0; i < g.n; i++)
        CHECK(g.kind[i] == HJ212_CHUNK_JUNK && g.reason[i] == HJ212_E_HEADER);

    /* Random junk with '#'s and digits mixed in, plus real frames: never a
     * false frame, every real frame found. */
    size_t m = 0;
    for (int r = 0; r < 40; r++) {
        for (int j = 0; j < 37; j++) {
            x = x * 1103515245u + 12345u;
            static const char alpha[] = "#0123456789&&\r\nAF;=";
            big[m++] = alpha[(x >> 16) % (sizeof(alpha) - 1)];
        }
        big[m++] = '\n';
        memcpy(big + m, a->frame, a->len);
        m += a->len;
        memcpy(big + m, "\r\n", 2);
        m += 2;
    }
    for (size_t step = 0; step < 14; step += 13) {
        memset(&g, 0, sizeof(g));
        hj212_framer_init(&fr, 0);
        feed_all(&fr, big, m, step, &g);
        int ok = 0;
        for (size_t i = 0; i < g.n; i++)
            ok += g.kind[i] == HJ212_CHUNK_FRAME && g.reason[i] == HJ212_OK;
        CHECK_EQ_INT(ok, 40);
    }
}

static const struct check_case cases[] = {
    CHECK_CASE(test_crc),
    CHECK_CASE(test_examples),
    CHECK_CASE(test_decoded_fields),
    CHECK_CASE(test_frame_rules),
    CHECK_CASE(test_numbers),
    CHECK_CASE(test_cp),
    CHECK_CASE(test_field_faults),
    CHECK_CASE(test_encoder),
    CHECK_CASE(test_framer_boundaries),
    CHECK_CASE(test_framer_garbage),
    CHECK_CASE(test_framer_limits),
};

int main(int argc, char **argv)
{
    load_examples();
    return CHECK_MAIN(argc, argv, cases);
}
