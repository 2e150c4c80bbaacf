/* hj212rec_mask: credentials (PW=, NewPW=, pw=, ...=password) lose their
 * value and a masked frame its CRC; everything else is kept byte for byte;
 * the output bound holds for the worst case. */
#include "hj212rec.h"

#include "check.h"
#include "hj212.h"

#include <errno.h>

static const char *mask(struct buf *b, const char *in)
{
    CHECK_EQ_INT(hj212rec_mask(in, strlen(in), b), 0);
    CHECK_EQ_INT(strlen(b->p), b->len);
    return b->p;
}

static void test_mask(void)
{
    struct buf b;
    buf_init(&b, 2 * HJ212_FRAME_MAX + 1);

    /* a whole frame: PW masked, the CRC that depends on it too */
    CHECK_EQ_STR(mask(&b, "##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F0"
                          "00169DC0;Flag=5;CP=&&RtdInterval=30&&1C80\r\n"),
                 "##0101QN=20160801085857223;ST=32;CN=1062;PW=***;MN=010000A8900016F000169DC0;"
                 "Flag=5;CP=&&RtdInterval=30&&****\r\n");
    /* nothing to mask: unchanged, CRC included */
    CHECK_EQ_STR(mask(&b, "##0050QN=1;ST=32;CN=2011;MN=X;CP=&&a01-Rtd=1&&ABCD\r\n"),
                 "##0050QN=1;ST=32;CN=2011;MN=X;CP=&&a01-Rtd=1&&ABCD\r\n");
    /* any case, keys ending in pw/passwd/password, values up to ; , & CR LF */
    CHECK_EQ_STR(mask(&b, "pw=abc;NewPW=x1,Passwd=p&&user_password=s\rX-PW=\nPW=tail"),
                 "pw=***;NewPW=***,Passwd=***&&user_password=***\rX-PW=***\nPW=***");
    /* an empty value is masked too (its length is nobody's business) */
    CHECK_EQ_STR(mask(&b, "QN=1;PW=;MN=2"), "QN=1;PW=***;MN=2");
    /* keys that only contain the letters are left alone */
    CHECK_EQ_STR(mask(&b, "PWR=1;a01-PWx=2;pwd=3;=4"), "PWR=1;a01-PWx=2;pwd=3;=4");
    /* two frames in one junk span: both CRCs */
    CHECK_EQ_STR(mask(&b, "CP=&&&&0A1B\r\n##0010PW=1&&&&FFFF"),
                 "CP=&&&&****\r\n##0010PW=***&&&&****");
    /* a truncated frame (value runs to the end) */
    CHECK_EQ_STR(mask(&b, "##0101QN=1;PW=12"), "##0101QN=1;PW=***");

    CHECK(hj212rec_secret_key("PW", 2) && hj212rec_secret_key("NewPW", 5) &&
          hj212rec_secret_key("password", 8) && !hj212rec_secret_key("MN", 2) &&
          !hj212rec_secret_key("w", 1));

    /* the worst case stays within 2 * len + 1 */
    {
        static char in[HJ212_FRAME_MAX];
        size_t n = 0;
        while (n + 4 <= sizeof(in)) {
            memcpy(in + n, "pw=;", 4);
            n += 4;
        }
        CHECK_EQ_INT(hj212rec_mask(in, n, &b), 0);
        CHECK_EQ_INT(b.len, n / 4 * 7);
    }
    /* a buffer too small says so */
    {
        struct buf small;
        buf_init(&small, 8);
        CHECK_EQ_INT(hj212rec_mask("QN=1;PW=123456;MN=2", 19, &small), -E2BIG);
        buf_close(&small);
    }
    buf_close(&b);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_mask),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
