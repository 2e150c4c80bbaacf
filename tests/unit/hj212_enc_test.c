/* hj212_enc: the encoder, its refusals, and the 9014/9013 answers and
 * the 1012 set-time request; what is encoded parses back. */
#include "hj212_enc.h"

#include "check.h"
#include "hj212t.h"
#include "etime.h"

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

static const struct check_case cases[] = {
    CHECK_CASE(test_encoder),
};

int main(int argc, char **argv)
{
    load_examples();
    return CHECK_MAIN(argc, argv, cases);
}
