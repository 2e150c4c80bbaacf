/* batch: spool records into a transaction's content, against a registry
 * built by hand: rows and latest values of good readings, dead letters
 * (with the dlq publication) for refused values, bad JSON, oversize
 * payloads and the gateway's refused frames, the gateway's device events,
 * the obs messages grouped per site, partitions to create, and a record
 * that does not fit leaving the batch as it was. */
#include "batch.h"

#include "check.h"
#include "etime.h"
#include "testreg.h"

#include <errno.h>

#define T0 1622505600LL /* 2021-06-01T00:00:00Z */
#define US ETIME_US_PER_SEC

static struct reg reg;
static struct rd_out rd;
static const struct rd_limits lim = {600 * US, 946684800LL * US};
static uint64_t seq;

static struct spool_rec rec(const char *topic, const char *payload)
{
    return (struct spool_rec){.seq = ++seq,
                              .topic = topic,
                              .topic_len = strlen(topic),
                              .payload = payload,
                              .len = strlen(payload)};
}

static int add(struct batch *b, const struct batch_ctx *c, const char *topic, const char *payload)
{
    struct spool_rec r = rec(topic, payload);
    return batch_add(b, c, &r);
}

struct pubs {
    char topic[16][64];
    char msg[16][8192];
    bool retain[16];
    int n;
};

static void collect(void *ud, const char *topic, const char *p, size_t len, bool retain)
{
    struct pubs *ps = ud;
    CHECK(ps->n < 16 && len < sizeof(ps->msg[0]));
    snprintf(ps->topic[ps->n], sizeof(ps->topic[0]), "%s", topic);
    memcpy(ps->msg[ps->n], p, len);
    ps->msg[ps->n][len] = '\0';
    ps->retain[ps->n++] = retain;
}

static void test_records(void)
{
    struct latest lat;
    struct batch b;
    int june = batch_month(T0 * US);
    /* "now" is in July: July's reading below is not in the future */
    struct batch_ctx c = {&reg, &lat, &june, 1, &rd, &lim, 4096, (T0 + 40 * 86400) * US};
    static struct pubs ps;
    char big[5000];

    CHECK_EQ_INT(latest_init(&lat, 16384), 0);
    CHECK_EQ_INT(batch_init(&b, 100), 0);
    batch_reset(&b, seq + 1);
    CHECK_EQ_INT(b.records, 0);

    /* good readings: rows, an obs object, latest values in the batch layer */
    CHECK_EQ_INT(add(&b, &c, "eco/v1/in/AIR001",
                     "{\"ts\":\"2021-06-01T08:00:00+08:00\",\"period\":\"hour\","
                     "\"values\":{\"pm25\":35.2,\"so2\":{\"v\":8,\"flag\":\"D\"}}}"),
                 0);
    CHECK_EQ_INT(b.rows, 2);
    CHECK_EQ_INT(b.dead, 0);
    CHECK(latest_find(&lat, SITE_AIR, P_PM25)->has_bat);
    CHECK_EQ_INT(latest_pending(&lat), 0);
    CHECK_EQ_INT(b.new_lo, INT64_MAX); /* June's partition is known */

    /* one refused value: the other is stored, the message dead-lettered */
    CHECK_EQ_INT(add(&b, &c, "eco/v1/in/AIR001",
                     "{\"ts\":\"2021-07-01T09:00:00+08:00\",\"period\":\"hour\","
                     "\"values\":{\"xx\":1,\"pm25\":5}}"),
                 0);
    CHECK_EQ_INT(b.rows, 3);
    CHECK_EQ_INT(b.dead, 1);
    CHECK(strstr(b.deadl.p, "ingest\teco/v1/in/AIR001\txx: unknown parameter\t{") == b.deadl.p);
    CHECK(b.new_lo == (T0 + 30 * 86400 + 3600) * US); /* July: a partition to create */
    CHECK(b.new_hi == b.new_lo);

    /* not JSON; too large; a device not registered */
    CHECK_EQ_INT(add(&b, &c, "eco/v1/in/AIR001", "not json"), 0);
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    CHECK_EQ_INT(add(&b, &c, "eco/v1/in/AIR001", big), 0);
    CHECK(strstr(b.deadl.p, "payload of 4999 bytes exceeds the limit of 4096\t") != NULL);
    /* the dead letter keeps the head of the payload, 4 KiB */
    const char *x = strstr(b.deadl.p, "limit of 4096\t") + 14;
    CHECK_EQ_INT(strspn(x, "x"), 4096);
    CHECK_EQ_INT(add(&b, &c, "eco/v1/in/NOPE", "{}"), 0);
    CHECK_EQ_INT(b.dead, 4);
    CHECK_EQ_INT(b.rows, 3);

    /* the gateway: a device event and a refused frame */
    CHECK_EQ_INT(add(&b, &c, "$hj212/event/AIR001",
                     "{\"cn\":\"2081\",\"kind\":\"restart\",\"qn\":\"20210601080000001\","
                     "\"ts\":\"2021-06-01T08:00:00+08:00\"}"),
                 0);
    CHECK_EQ_INT(b.events, 1);
    CHECK(strncmp(b.evbuf.p, "AIR001\tS-AIR001\t2081\t20210601080000001\trestart\t", 47) == 0);
    CHECK_EQ_INT(
        add(&b, &c, "$hj212/reject/10.0.0.7:4100", "{\"reason\":\"bad CRC\",\"frame\":\"##0000\"}"),
        0);
    CHECK_EQ_INT(b.dead, 5);
    CHECK(strstr(b.deadl.p, "ingest\thj212://10.0.0.7:4100\tbad CRC\t##0000\n") != NULL);

    /* the poison path */
    struct spool_rec r = rec("eco/v1/in/AIR001", "{}");
    CHECK_EQ_INT(batch_add_dead(&b, &r, "refused by the database"), 0);
    CHECK_EQ_INT(b.dead, 6);
    CHECK_EQ_INT(b.records, 8);
    CHECK(b.last == seq);

    /* publications: dlq and event in order, then one obs message per site */
    CHECK_EQ_INT(batch_finish(&b), 0);
    batch_publications(&b, collect, &ps);
    CHECK_EQ_INT(ps.n, 8); /* 6 dlq, 1 event, 1 obs */
    CHECK_EQ_STR(ps.topic[0], "eco/v1/dlq/ingest");
    CHECK(strstr(ps.msg[0], "\"reason\":\"xx: unknown parameter\"") != NULL);
    CHECK_EQ_STR(ps.topic[4], "eco/v1/event/S-AIR001");
    CHECK(strncmp(ps.msg[4], "{\"site\":\"S-AIR001\",\"cn\":\"2081\"", 30) == 0);
    CHECK_EQ_STR(ps.topic[7], "eco/v1/obs/S-AIR001");
    CHECK_EQ_STR(ps.msg[7],
                 "{\"site\":\"S-AIR001\",\"readings\":["
                 "{\"device\":\"AIR001\",\"ts\":\"2021-06-01T08:00:00+08:00\",\"period\":\"hour\","
                 "\"values\":{\"pm25\":{\"v\":35.2,\"unit\":\"ug/m3\",\"flag\":\"N\"},"
                 "\"so2\":{\"v\":8,\"unit\":\"ug/m3\",\"flag\":\"D\"}}},"
                 "{\"device\":\"AIR001\",\"ts\":\"2021-07-01T09:00:00+08:00\",\"period\":\"hour\","
                 "\"values\":{\"pm25\":{\"v\":5,\"unit\":\"ug/m3\",\"flag\":\"N\"}}}]}");
    for (int i = 0; i < ps.n; i++)
        CHECK(!ps.retain[i]);

    /* reset: an empty batch again */
    batch_reset(&b, seq + 1);
    CHECK_EQ_INT(b.records + b.rows + b.dead + b.events, 0);
    CHECK_EQ_INT(b.stage.len + b.deadl.len + b.pubs.len + b.evbuf.len + b.track.len, 0);
    batch_close(&b);
    latest_close(&lat);
}

/* A record whose latest values do not fit is not in the batch at all. */
static void test_no_room(void)
{
    struct latest lat;
    struct batch b;
    int june = batch_month(T0 * US);
    struct batch_ctx c = {&reg, &lat, &june, 1, &rd, &lim, 4096, (T0 + 300) * US};

    CHECK_EQ_INT(latest_init(&lat, 3), 0);
    CHECK_EQ_INT(batch_init(&b, 100), 0);
    batch_reset(&b, seq + 1);
    CHECK_EQ_INT(add(&b, &c, "eco/v1/in/AIR001",
                     "{\"ts\":\"2021-06-01T08:00:00+08:00\",\"period\":\"hour\","
                     "\"values\":{\"pm25\":1,\"so2\":2}}"),
                 0);
    size_t stage = b.stage.len, pubs = b.pubs.len, track = b.track.len;
    uint64_t last = b.last;
    CHECK_EQ_INT(add(&b, &c, "eco/v1/in/MOB001",
                     "{\"ts\":\"2021-06-01T08:00:00+08:00\",\"period\":\"rt\",\"lat\":30.1,"
                     "\"lon\":122.2,\"values\":{\"pm25\":3,\"so2\":4}}"),
                 -ENOSPC);
    CHECK_EQ_INT(b.rows, 2);
    CHECK_EQ_INT(b.records, 1);
    CHECK(b.last == last);
    CHECK(b.stage.len == stage && b.pubs.len == pubs && b.track.len == track);
    CHECK_EQ_INT(obsg_count(&b.obs), 1);
    CHECK(latest_find(&lat, SITE_MOB, P_PM25) == NULL);

    /* the same record as committed (a replay): no room either */
    const char *mob = "{\"ts\":\"2021-06-01T08:00:00+08:00\",\"period\":\"rt\",\"lat\":30.1,"
                      "\"lon\":122.2,\"values\":{\"pm25\":3,\"so2\":4}}";
    CHECK_EQ_INT(
        readings_parse(&reg, "eco/v1/in/MOB001", 16, mob, strlen(mob), (T0 + 300) * US, &lim, &rd),
        0);
    CHECK_EQ_INT(batch_note_committed(&lat, &rd), -ENOSPC);
    latest_discard(&lat);
    latest_close(&lat);

    /* with room, it goes straight to the accumulated values */
    CHECK_EQ_INT(latest_init(&lat, 16), 0);
    CHECK_EQ_INT(batch_note_committed(&lat, &rd), 0);
    CHECK_EQ_INT(latest_pending(&lat), 2);
    latest_close(&lat);
    batch_close(&b);
}

/* A message that fills the batch halfway through leaves nothing behind:
 * the obs objects run out (batch_rows + RD_MAX_ROWS) after some of its rows
 * were added. */
static void test_rewind(void)
{
    static char msg[RD_MAX_OBJS * 80];
    struct latest lat;
    struct batch b;
    int june = batch_month(T0 * US);
    struct batch_ctx c = {&reg, &lat, &june, 1, &rd, &lim, sizeof(msg), (T0 + 300) * US};
    int rc = 0, round = 0;

    CHECK_EQ_INT(latest_init(&lat, 16384), 0);
    CHECK_EQ_INT(batch_init(&b, 1), 0); /* room for 1 + RD_MAX_ROWS objects */
    batch_reset(&b, seq + 1);
    for (; round < 10 && rc == 0; round++) {
        size_t n = (size_t)snprintf(msg, sizeof(msg), "{\"readings\":[");
        for (int i = 0; i < 1000; i++) {
            char ts[ETIME_RFC3339_MAX];
            etime_format((T0 - 60 * (round * 1000 + i)) * US, 8 * 3600, ts, sizeof(ts));
            n += (size_t)snprintf(msg + n, sizeof(msg) - n,
                                  "%s{\"ts\":\"%s\",\"period\":\"min\",\"values\":{\"pm25\":%d}}",
                                  i ? "," : "", ts, i);
        }
        snprintf(msg + n, sizeof(msg) - n, "]}");
        size_t stage = b.stage.len, rows = b.rows;
        rc = add(&b, &c, "eco/v1/in/AIR001", msg);
        if (rc) {
            CHECK_EQ_INT(rc, -ENOSPC);
            CHECK(b.stage.len == stage);
            CHECK_EQ_INT(b.rows, rows);
        }
    }
    CHECK_EQ_INT(round, 5); /* the fifth message did not fit */
    CHECK_EQ_INT(b.rows, 4000);
    CHECK_EQ_INT(b.records, 4);
    CHECK_EQ_INT(obsg_count(&b.obs), 4000);
    batch_close(&b);
    latest_discard(&lat);
    latest_close(&lat);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_records),
    CHECK_CASE(test_no_room),
    CHECK_CASE(test_rewind),
};

int main(int argc, char **argv)
{
    int rc;

    build_reg(&reg, 0);
    rd_out_init(&rd);
    rc = CHECK_MAIN(argc, argv, cases);
    rd_out_close(&rd);
    reg_close(&reg);
    return rc;
}
