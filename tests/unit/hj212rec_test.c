/* hj212rec: what the HJ 212 gateway makes of an accepted frame, without a
 * socket. The registry is filled through reg_fill_* from result sets made
 * by libpq itself (as hj212map_test does); the records are caught by the
 * append callback:
 *   - a data upload becomes one readings message (ts from DataTime in
 *     +08:00, period from the CN, mapped primary and secondary values with
 *     their flags), an unmapped code one dead letter beside it;
 *   - refusals (ST mismatch, no time, bad CP) store nothing and say why;
 *   - other uploads become events with credentials masked; 9015 stores
 *     nothing;
 *   - dead letters mask PW and the CRC; the sink's error comes back. */
#include "hj212rec.h"

#include "check.h"
#include "pgres.h"
#include "hj212.h"

#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PEER "192.0.2.7:40001"

static struct reg reg;

/* AIR001 (ST 22) and STK001 (ST 31, no ST registered: the frame's counts);
 * so2 and pm25 by hj212_code, so2 minimum through a map row. */
static void build_registry(void)
{
    static const char *const dcols[] = {"code",   "site_id", "site",   "kind",
                                        "source", "pw_hash", "active", "st"};
    static const char *const devs[] = {
        "AIR001", "1", "S1", "air",   "hj212", "$2b$10$x", "t", "22", /* */
        "STK001", "2", "S2", "stack", "hj212", "$2b$10$x", "t", "",   /* */
    };
    static const char *const pcols[] = {"code", "hj212_code", "id", "unit", "min", "max"};
    static const char *const params[] = {
        "so2",     "a21026", "1", "ug/m3", "0", "3000", /* */
        "pm25",    "a34004", "2", "ug/m3", "0", "2000", /* */
        "so2_min", "",       "3", "ug/m3", "0", "3000", /* */
    };
    static const char *const mcols[] = {"st", "hj212_code", "param"};
    static const char *const map[] = {"22", "a21026-Min", "so2_min"};
    PGresult *dr = result(8, dcols, 2, devs), *pr = result(6, pcols, 3, params),
             *mr = result(3, mcols, 1, map);

    reg_init(&reg);
    CHECK_EQ_INT(reg_fill_devices(&reg, dr), 0);
    CHECK_EQ_INT(reg_fill_params(&reg, pr), 0);
    CHECK_EQ_INT(reg_fill_hj212map(&reg, mr), 0);
    PQclear(dr);
    PQclear(pr);
    PQclear(mr);
}

/* ---- the sink ------------------------------------------------------------ */

#define NREC 8
static struct {
    char topic[128];
    char payload[8192];
} recs[NREC];
static size_t nrecs;
static int append_rc; /* what the sink answers */

static int append(void *ud, const char *prefix, const char *name, const char *payload, size_t len)
{
    CHECK(ud == &reg); /* the src's ud is passed through */
    if (append_rc)
        return append_rc;
    CHECK(nrecs < NREC && len < sizeof(recs[0].payload));
    snprintf(recs[nrecs].topic, sizeof(recs[0].topic), "%s%s", prefix, name);
    memcpy(recs[nrecs].payload, payload, len);
    recs[nrecs].payload[len] = '\0';
    nrecs++;
    return 0;
}

static const struct hj212rec_src src = {.ud = &reg, .peer = PEER};

/* ---- frames ------------------------------------------------------------- */

static char wire[HJ212_FRAME_MAX + 1];
static size_t wire_len;
static struct hj212_frame frame;

/* Builds and parses "##LLLL<seg>CCCC\r\n". */
static const struct hj212_frame *mkframe(const char *seg)
{
    size_t n = strlen(seg);
    int len = snprintf(wire, sizeof(wire), "##%04zu%s%04X\r\n", n, seg, hj212_crc16(seg, n));
    CHECK(len > 0 && (size_t)len < sizeof(wire));
    wire_len = (size_t)len;
    CHECK_EQ_INT(hj212_parse_frame(wire, wire_len, &frame, NULL), 0);
    return &frame;
}

static int take(struct hj212rec *r, const char *seg, const char *mn, struct hj212rec_out *out)
{
    const struct hj212_frame *f = mkframe(seg);
    const struct reg_device *dev = reg_device(&reg, mn, strlen(mn));
    CHECK(dev != NULL);
    return hj212rec_frame(r, &src, f, wire, wire_len, &reg, dev, out);
}

static void start(struct hj212rec *r)
{
    nrecs = 0;
    append_rc = 0;
    CHECK_EQ_INT(hj212rec_init(r, append), 0);
}

/* ---- cases -------------------------------------------------------------- */

static void test_data_upload(void)
{
    struct hj212rec r;
    struct hj212rec_out out;

    start(&r);
    CHECK_EQ_INT(take(&r,
                      "QN=20260102091500123;ST=22;CN=2061;PW=123456;MN=AIR001;Flag=5;"
                      "CP=&&DataTime=20260102090000;a21026-Avg=12.5,a21026-Min=3,a21026-Max=20,"
                      "a21026-Flag=N;a34004-Avg=35,a34004-Flag=D;a99999-Avg=1&&",
                      "AIR001", &out),
                 0);
    CHECK_EQ_INT(out.cn, 2061);
    CHECK(out.reason == NULL);
    CHECK_EQ_STR(out.partial, "unmapped pollutant code");
    CHECK_EQ_INT(nrecs, 2);
    /* the readings message: the hour starting at DataTime, Beijing time;
     * -Min through its map row, -Max unmapped and ignored */
    CHECK_EQ_STR(recs[0].topic, "eco/v1/in/AIR001");
    CHECK_EQ_STR(recs[0].payload, "{\"ts\":\"2026-01-02T09:00:00+08:00\",\"period\":\"hour\","
                                  "\"values\":{\"so2\":{\"v\":12.5,\"flag\":\"N\"},"
                                  "\"so2_min\":{\"v\":3,\"flag\":\"N\"},"
                                  "\"pm25\":{\"v\":35,\"flag\":\"D\"}}}");
    /* the unmapped code: one dead letter with the whole frame, PW masked */
    CHECK_EQ_STR(recs[1].topic, HJ212REC_TOPIC_REJECT PEER);
    CHECK(strstr(recs[1].payload, "\"reason\":\"unmapped pollutant code: a99999\"") != NULL);
    CHECK(strstr(recs[1].payload, "\"mn\":\"AIR001\"") != NULL);
    CHECK(strstr(recs[1].payload, "PW=***;") != NULL);
    CHECK(strstr(recs[1].payload, "123456") == NULL);
    CHECK_EQ_INT(r.n.data_frames, 1);
    CHECK_EQ_INT(r.n.values, 3);
    CHECK_EQ_INT(r.n.unmapped, 1);
    CHECK_EQ_INT(r.n.rejected, 1);
    CHECK_EQ_INT(r.n.ignored_values, 1);
    hj212rec_close(&r);
}

/* A realtime upload: -Rtd is the primary value, period "rt", the instant. */
static void test_realtime(void)
{
    struct hj212rec r;
    struct hj212rec_out out;

    start(&r);
    CHECK_EQ_INT(take(&r,
                      "QN=1;ST=22;CN=2011;PW=1;MN=AIR001;Flag=4;"
                      "CP=&&DataTime=20260102091530;a21026-Rtd=7.25,a21026-Flag=N&&",
                      "AIR001", &out),
                 0);
    CHECK(out.partial == NULL);
    CHECK_EQ_INT(nrecs, 1);
    CHECK_EQ_STR(recs[0].payload, "{\"ts\":\"2026-01-02T09:15:30+08:00\",\"period\":\"rt\","
                                  "\"values\":{\"so2\":{\"v\":7.25,\"flag\":\"N\"}}}");
    hj212rec_close(&r);
}

static void test_refusals(void)
{
    struct hj212rec r;
    struct hj212rec_out out;

    start(&r);
    /* the ST selects the code map: another ST than the registered one */
    CHECK_EQ_INT(take(&r, "QN=1;ST=31;CN=2061;PW=1;MN=AIR001;CP=&&DataTime=20260102090000&&",
                      "AIR001", &out),
                 -EBADMSG);
    CHECK_EQ_STR(out.reason, "ST mismatch");
    CHECK_EQ_STR(out.detail, "frame ST=31, registered 22");
    /* ... but not for the logger's answers (CN 9xxx) */
    CHECK_EQ_INT(take(&r, "QN=1;ST=31;CN=9012;PW=1;MN=AIR001;CP=&&ExeRtn=1&&", "AIR001", &out), 0);
    CHECK(out.reason == NULL);
    CHECK_EQ_INT(nrecs, 1);
    nrecs = 0;
    /* a data upload without a time */
    CHECK_EQ_INT(take(&r, "QN=1;ST=22;CN=2061;PW=1;MN=AIR001;CP=&&a21026-Avg=1&&", "AIR001", &out),
                 -EBADMSG);
    CHECK_EQ_STR(out.reason, "time");
    CHECK(out.detail[0] != '\0');
    /* a CP the codec refuses */
    CHECK_EQ_INT(take(&r, "QN=1;ST=22;CN=2061;PW=1;MN=AIR001;CP=&&a=//x&&", "AIR001", &out),
                 -EBADMSG);
    CHECK_EQ_STR(out.reason, "cp");
    CHECK_EQ_INT(nrecs, 0);
    CHECK_EQ_INT(r.n.data_frames, 0);
    hj212rec_close(&r);
}

static void test_event(void)
{
    struct hj212rec r;
    struct hj212rec_out out;

    start(&r);
    CHECK_EQ_INT(take(&r,
                      "QN=20260102091500123;ST=31;CN=2081;PW=1;MN=STK001;Flag=5;"
                      "CP=&&RestartTime=20260102091000;NewPW=654321&&",
                      "STK001", &out),
                 0);
    CHECK_EQ_INT(out.cn, 2081);
    CHECK_EQ_INT(nrecs, 1);
    CHECK_EQ_STR(recs[0].topic, HJ212REC_TOPIC_EVENT "STK001");
    CHECK_EQ_STR(recs[0].payload,
                 "{\"device\":\"STK001\",\"st\":\"31\",\"cn\":\"2081\",\"kind\":\"restart\","
                 "\"qn\":\"20260102091500123\",\"flag\":5,\"ts\":\"2026-01-02T09:10:00+08:00\","
                 "\"peer\":\"" PEER "\",\"cp\":{\"RestartTime\":\"20260102091000\","
                 "\"NewPW\":\"***\"}}");
    CHECK_EQ_INT(r.n.events, 1);
    /* the 2025 heartbeat: nothing stored, still answered (0) */
    CHECK_EQ_INT(take(&r, "QN=1;ST=31;CN=9015;PW=1;MN=STK001;Flag=9;CP=&&&&", "STK001", &out), 0);
    CHECK_EQ_INT(nrecs, 1);
    hj212rec_close(&r);
}

/* The sink's error comes back, so the gateway does not answer. */
static void test_sink_error(void)
{
    struct hj212rec r;
    struct hj212rec_out out;

    start(&r);
    append_rc = -EIO;
    CHECK_EQ_INT(take(&r,
                      "QN=1;ST=22;CN=2061;PW=1;MN=AIR001;"
                      "CP=&&DataTime=20260102090000;a21026-Avg=1&&",
                      "AIR001", &out),
                 -EIO);
    CHECK(out.reason == NULL);
    CHECK_EQ_INT(hj212rec_reject(&r, &src, NULL, "header", NULL, "xx", 2), -EIO);
    hj212rec_close(&r);
}

/* A dead letter of a frame with a password: PW and CRC masked, and the
 * expected CRC not given away in the detail. */
static void test_reject(void)
{
    struct hj212rec r;

    start(&r);
    mkframe("QN=1;ST=22;CN=2061;PW=123456;MN=AIR001;CP=&&&&");
    CHECK_EQ_INT(hj212rec_reject(&r, &src, "AIR001", "crc", "expected 1234", wire, wire_len), 0);
    CHECK_EQ_INT(nrecs, 1);
    CHECK_EQ_STR(recs[0].topic, HJ212REC_TOPIC_REJECT PEER);
    CHECK_EQ_STR(recs[0].payload,
                 "{\"reason\":\"crc: does not match (the expected one is withheld: it depends "
                 "on the password)\",\"peer\":\"" PEER "\",\"mn\":\"AIR001\",\"frame\":"
                 "\"##0046QN=1;ST=22;CN=2061;PW=***;MN=AIR001;CP=&&&&****\\r\\n\"}");
    /* junk without credentials: kept as it was, detail and all */
    CHECK_EQ_INT(hj212rec_reject(&r, &src, NULL, "header", "no ##", "abc", 3), 0);
    CHECK_EQ_STR(recs[1].payload,
                 "{\"reason\":\"header: no ##\",\"peer\":\"" PEER "\",\"frame\":\"abc\"}");
    CHECK_EQ_INT(r.n.rejected, 2);
    hj212rec_close(&r);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_data_upload), CHECK_CASE(test_realtime),   CHECK_CASE(test_refusals),
    CHECK_CASE(test_event),       CHECK_CASE(test_sink_error), CHECK_CASE(test_reject),
};

int main(int argc, char **argv)
{
    build_registry();
    return CHECK_MAIN(argc, argv, cases);
}
