/* hj212_frame: the HJ 212 envelope. CRC vectors, the standard's example
 * frames (tests/data/hj212-examples.tsv, read at run time) with their
 * decoded fields, and the lenient and strict frame rules. */
#include "hj212_frame.h"

#include "check.h"
#include "hj212t.h"
#include "etime.h"

#include <math.h>

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

static const struct check_case cases[] = {
    CHECK_CASE(test_crc),
    CHECK_CASE(test_examples),
    CHECK_CASE(test_decoded_fields),
    CHECK_CASE(test_frame_rules),
};

int main(int argc, char **argv)
{
    load_examples();
    return CHECK_MAIN(argc, argv, cases);
}
