/* readings: every rule of the eco/v1/in/{device} message against a registry
 * built by hand (the way registry.c fills it from its queries): the
 * contract example, unit conversion, per-value / per-object / per-message
 * rejection with its reason, topic shapes, time limits, mobile positions,
 * and the bounds (rows, objects, the reason buffer). */
#include "readings.h"

#include "check.h"
#include "etime.h"
#include "testreg.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>

#define T0 1622505600LL /* 2021-06-01T00:00:00Z = 08:00 Beijing */
#define US ETIME_US_PER_SEC

static struct reg reg;
static struct rd_out out;
/* "now" is 5 minutes after T0 */
static const int64_t now_us = (T0 + 300) * US;
static const struct rd_limits lim = {600 * US, 946684800LL * US};

static int parse_on(const struct reg *r, const char *topic, const char *payload)
{
    return readings_parse(r, topic, strlen(topic), payload, strlen(payload), now_us, &lim, &out);
}

static int parse(const char *device, const char *payload)
{
    char topic[256];
    snprintf(topic, sizeof(topic), "eco/v1/in/%s", device);
    return parse_on(&reg, topic, payload);
}

static const char *why(void)
{
    return out.why.len ? out.why.p : "";
}

static void why_has(const char *s)
{
    if (!strstr(why(), s)) {
        fprintf(stderr, "why \"%s\" lacks \"%s\"\n", why(), s);
        FAIL("the reason");
    }
}

/* a good envelope whose only value (or object) was rejected for `reason` */
static void value_rejected(const char *device, const char *payload, const char *reason)
{
    CHECK_EQ_INT(parse(device, payload), 0);
    CHECK_EQ_INT(out.nrows, 0);
    CHECK_EQ_INT(out.nobjs, 0);
    CHECK_EQ_INT(out.nbad, 1);
    why_has(reason);
}

/* the whole message refused */
static void message_rejected(const char *topic, size_t tlen, const char *payload,
                             const char *reason)
{
    CHECK_EQ_INT(readings_parse(&reg, topic, tlen, payload, strlen(payload), now_us, &lim, &out),
                 -EBADMSG);
    CHECK_EQ_INT(out.nrows, 0);
    CHECK_EQ_INT(out.nobjs, 0);
    why_has(reason);
}

/* a one-object payload for AIR001 with the given values */
static const char *obj(const char *values)
{
    static char p[4096];
    snprintf(p, sizeof(p),
             "{\"ts\":\"2021-06-01T08:00:00+08:00\",\"period\":\"hour\",\"values\":%s}", values);
    return p;
}

/* one object for AIR001 with the given extra members before values */
static const char *obj_with(const char *members)
{
    static char p[4096];
    snprintf(p, sizeof(p), "{%s,\"values\":{\"pm25\":1}}", members);
    return p;
}

static void test_contract_example(void)
{
    static const char msg[] =
        "{\"ts\": \"2021-06-01T08:00:00+08:00\", \"period\": \"hour\",\n"
        " \"values\": {\"pm25\": 35.2, \"so2\": {\"v\": 8, \"flag\": \"N\"}},\n"
        " \"lat\": 30.012, \"lon\": 122.107}";

    CHECK_EQ_INT(parse("AIR001", msg), 0);
    CHECK(out.dev == &reg.devices[0]);
    CHECK_EQ_INT(out.nbad, 0);
    CHECK_EQ_INT(out.why.len, 0);
    CHECK_EQ_INT(out.nrows, 2);
    CHECK_EQ_INT(out.rows[0].site_id, SITE_AIR);
    CHECK_EQ_INT(out.rows[0].param_id, P_PM25);
    CHECK_EQ_INT(out.rows[0].ts, T0 * US);
    CHECK(out.rows[0].value == 35.2);
    CHECK_EQ_INT(out.rows[0].period, 'h');
    CHECK_EQ_INT(out.rows[0].flag, 'N');
    CHECK_EQ_INT(out.rows[1].site_id, SITE_AIR);
    CHECK_EQ_INT(out.rows[1].param_id, P_SO2);
    CHECK_EQ_INT(out.rows[1].ts, T0 * US);
    CHECK(out.rows[1].value == 8);
    CHECK_EQ_INT(out.rows[1].period, 'h');
    CHECK_EQ_INT(out.rows[1].flag, 'N');
    CHECK_EQ_INT(out.nobjs, 1);
    CHECK_EQ_INT(out.objs[0].ts, T0 * US);
    CHECK_EQ_INT(out.objs[0].tz_offset, 8 * 3600);
    CHECK_EQ_INT(out.objs[0].period, 'h');
    CHECK(out.objs[0].has_pos);
    CHECK(out.objs[0].lat == 30.012);
    CHECK(out.objs[0].lon == 122.107);
    CHECK_EQ_INT(out.objs[0].first_row, 0);
    CHECK_EQ_INT(out.objs[0].nrows, 2);

    /* the payload is length-bounded: a prefix of a longer buffer */
    {
        char buf[sizeof(msg) + 8];
        memcpy(buf, msg, sizeof(msg) - 1);
        memcpy(buf + sizeof(msg) - 1, "garbage!", 8);
        CHECK_EQ_INT(
            readings_parse(&reg, "eco/v1/in/AIR001", 16, buf, sizeof(msg) - 1, now_us, &lim, &out),
            0);
        CHECK_EQ_INT(out.nrows, 2);
        /* and the topic too */
        CHECK_EQ_INT(readings_parse(&reg, "eco/v1/in/AIR001/extra", 16, msg, sizeof(msg) - 1,
                                    now_us, &lim, &out),
                     0);
        CHECK_EQ_INT(out.nrows, 2);
        CHECK_EQ_INT(
            readings_parse(&reg, "eco/v1/in/AIR001", 16, buf, sizeof(buf), now_us, &lim, &out),
            -EBADMSG);
        why_has("trailing");
    }

    /* another flag, other periods, another offset, fractions of a second */
    CHECK_EQ_INT(parse("AIR001", "{\"ts\":\"2021-05-31T19:30:00.250-04:30\",\"period\":\"rt\","
                                 "\"values\":{\"so2\":{\"v\":3.5,\"flag\":\"D\"}}}"),
                 0);
    CHECK_EQ_INT(out.nrows, 1);
    CHECK_EQ_INT(out.rows[0].ts, T0 * US + 250000);
    CHECK_EQ_INT(out.rows[0].period, 'r');
    CHECK_EQ_INT(out.rows[0].flag, 'D');
    CHECK(out.rows[0].value == 3.5);
    CHECK_EQ_INT(out.objs[0].tz_offset, -(4 * 3600 + 1800));
    CHECK(!out.objs[0].has_pos);
    CHECK_EQ_INT(parse("AIR001", "{\"ts\":\"2021-06-01T00:00:00Z\",\"period\":\"min\","
                                 "\"values\":{\"pm25\":0}}"),
                 0);
    CHECK_EQ_INT(out.rows[0].period, 'm');
    CHECK_EQ_INT(out.objs[0].tz_offset, 0);
    CHECK_EQ_INT(parse("AIR001", "{\"ts\":\"2021-06-01T00:00:00Z\",\"period\":\"day\","
                                 "\"values\":{\"pm25\":1000}}"),
                 0);
    CHECK_EQ_INT(out.rows[0].period, 'd');
    CHECK(out.rows[0].value == 1000);
    CHECK_EQ_INT(out.rows[0].flag, 'N'); /* no flag given: N */

    /* period names and codes */
    static const char *const names[] = {"rt", "min", "hour", "day"};
    static const char codes[] = {'r', 'm', 'h', 'd'};
    for (size_t i = 0; i < 4; i++) {
        CHECK_EQ_INT(readings_period_code(names[i]), codes[i]);
        CHECK_EQ_STR(readings_period_name(codes[i]), names[i]);
    }
    CHECK_EQ_INT(readings_period_code("Hour"), 0);
    CHECK_EQ_INT(readings_period_code("hourly"), 0);
    CHECK_EQ_INT(readings_period_code(""), 0);
    CHECK(readings_period_name('x') == NULL);
    CHECK(readings_period_name(0) == NULL);
}

static void test_units(void)
{
    CHECK_EQ_INT(parse("AIR001", obj("{\"so2\":{\"v\":0.008,\"unit\":\"mg/m3\"},"
                                     "\"pm25\":{\"v\":12,\"unit\":\"ug/m3\"}}")),
                 0);
    CHECK_EQ_INT(out.nrows, 2);
    CHECK_EQ_INT(out.rows[0].param_id, P_SO2);
    CHECK(fabs(out.rows[0].value - 8) < 1e-9);
    CHECK_EQ_INT(out.rows[1].param_id, P_PM25);
    CHECK(out.rows[1].value == 12); /* its own unit: unchanged */
    /* the range applies after conversion: 2 mg/m3 is 2000 ug/m3 > 1000 */
    value_rejected("AIR001", obj("{\"pm25\":{\"v\":2,\"unit\":\"mg/m3\"}}"), "pm25: value 2000");
    /* no registered conversion */
    value_rejected("AIR001", obj("{\"pm25\":{\"v\":2,\"unit\":\"ppm\"}}"),
                   "pm25: no conversion from unit \"ppm\" to ug/m3");
    /* a conversion is one way */
    value_rejected("AIR001", obj("{\"pm25\":{\"v\":2,\"unit\":\"UG/M3\"}}"), "no conversion");
    value_rejected("AIR001", obj("{\"pm25\":{\"v\":2,\"unit\":5}}"), "pm25: unit must be a string");
}

static void test_values(void)
{
    /* one object, good and bad values: good rows kept, each bad one told */
    CHECK_EQ_INT(parse("AIR001", obj("{\"pm25\":10,\"xyz\":1,\"so2\":\"35\"}")), 0);
    CHECK_EQ_INT(out.nrows, 1);
    CHECK_EQ_INT(out.rows[0].param_id, P_PM25);
    CHECK_EQ_INT(out.nbad, 2);
    CHECK_EQ_INT(out.nobjs, 1);
    CHECK_EQ_INT(out.objs[0].nrows, 1);
    why_has("xyz: unknown parameter; so2: value must be a number");

    value_rejected("AIR001", obj("{\"PM25\":1}"), "PM25: unknown parameter"); /* case */
    value_rejected("AIR001", obj("{\"\":1}"), ": unknown parameter");
    value_rejected("AIR001", obj("{\"pm25\":-0.001}"), "pm25: value -0.001 outside");
    value_rejected("AIR001", obj("{\"pm25\":1000.5}"), "outside the plausible range [0, 1000]");
    value_rejected("AIR001", obj("{\"pm25\":\"35\"}"), "pm25: value must be a number");
    value_rejected("AIR001", obj("{\"pm25\":true}"), "pm25: value must be a number");
    value_rejected("AIR001", obj("{\"pm25\":null}"), "pm25: value must be a number");
    value_rejected("AIR001", obj("{\"pm25\":[1]}"), "pm25: value must be a number");
    value_rejected("AIR001", obj("{\"pm25\":1e999}"), "pm25: value is not finite");
    value_rejected("AIR001", obj("{\"pm25\":{}}"), "pm25: missing \"v\"");
    value_rejected("AIR001", obj("{\"pm25\":{\"V\":1}}"), "pm25: missing \"v\"");
    value_rejected("AIR001", obj("{\"pm25\":{\"v\":\"8\"}}"), "pm25: \"v\" is not a number");
    value_rejected("AIR001", obj("{\"pm25\":{\"v\":1e999}}"), "pm25: \"v\" is not a number");
    value_rejected("AIR001", obj("{\"pm25\":{\"v\":8,\"flag\":\"NN\"}}"), "pm25: flag must be");
    value_rejected("AIR001", obj("{\"pm25\":{\"v\":8,\"flag\":1}}"), "pm25: flag must be");
    value_rejected("AIR001", obj("{\"pm25\":{\"v\":8,\"flag\":\"\"}}"), "pm25: flag must be");
    value_rejected("AIR001", obj("{\"pm25\":{\"v\":8,\"flag\":\"-\"}}"), "pm25: flag must be");
    value_rejected("AIR001", obj("{\"pm25\":{\"v\":8,\"flag\":null}}"), "pm25: flag must be");
    /* a valid flag is carried */
    CHECK_EQ_INT(parse("AIR001", obj("{\"pm25\":{\"v\":8,\"flag\":\"T\"}}")), 0);
    CHECK_EQ_INT(out.nrows, 1);
    CHECK_EQ_INT(out.rows[0].flag, 'T');

    /* keys from the sender are printed safely and cut */
    {
        char vals[2200], *p = vals;
        *p++ = '{';
        *p++ = '"';
        for (int i = 0; i < 2000; i++)
            *p++ = 'k';
        snprintf(p, sizeof(vals) - (size_t)(p - vals), "\":1,\"a\\u0001b\":2}");
        CHECK_EQ_INT(parse("AIR001", obj(vals)), 0);
        CHECK_EQ_INT(out.nbad, 2);
        why_has("kkkkkkkkkk: unknown parameter; a?b: unknown parameter");
        CHECK(strstr(why(), "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk") == NULL);
    }

    /* an empty values object stores nothing and says so (dead letter) */
    CHECK_EQ_INT(parse("AIR001", obj("{}")), 0);
    CHECK_EQ_INT(out.nrows, 0);
    CHECK_EQ_INT(out.nobjs, 0);
    CHECK_EQ_INT(out.nbad, 1);
    why_has("values: empty");
}

static void test_objects(void)
{
    char p[512];

    value_rejected("AIR001", "{\"ts\":\"2021-06-01T08:00:00+08:00\",\"values\":{\"pm25\":1}}",
                   "period: missing");
    value_rejected("AIR001", obj_with("\"ts\":\"2021-06-01T08:00:00+08:00\",\"period\":\"hourly\""),
                   "period: must be rt, min, hour or day");
    value_rejected("AIR001", obj_with("\"ts\":\"2021-06-01T08:00:00+08:00\",\"period\":60"),
                   "period: must be");
    value_rejected("AIR001", obj_with("\"ts\":\"2021-06-01T08:00:00+08:00\",\"period\":\"HOUR\""),
                   "period: must be");
    value_rejected("AIR001", obj_with("\"period\":\"hour\""), "ts: missing");
    value_rejected("AIR001", obj_with("\"ts\":\"2021-06-01T08:00:00\",\"period\":\"hour\""),
                   "ts: not an RFC 3339 time with offset");
    value_rejected("AIR001", obj_with("\"ts\":1622505600,\"period\":\"hour\""), "ts: not an RFC");
    value_rejected("AIR001", obj_with("\"ts\":\"20210601080000\",\"period\":\"hour\""),
                   "ts: not an RFC");
    value_rejected("AIR001", obj_with("\"TS\":\"2021-06-01T08:00:00+08:00\",\"period\":\"hour\""),
                   "ts: missing");
    /* the future limit: now + 600 s is accepted, one second more is not */
    CHECK_EQ_INT(
        parse("AIR001", obj_with("\"ts\":\"2021-06-01T08:15:00+08:00\",\"period\":\"rt\"")), 0);
    CHECK_EQ_INT(out.nrows, 1);
    CHECK_EQ_INT(out.rows[0].ts, now_us + 600 * US);
    value_rejected("AIR001", obj_with("\"ts\":\"2021-06-01T08:15:01+08:00\",\"period\":\"rt\""),
                   "ts 2021-06-01T08:15:01+08:00 is in the future");
    value_rejected("AIR001", obj_with("\"ts\":\"2031-06-01T08:00:00+08:00\",\"period\":\"rt\""),
                   "in the future");
    /* the past limit: 2000-01-01T00:00:00Z is accepted, before it is not */
    CHECK_EQ_INT(
        parse("AIR001", obj_with("\"ts\":\"2000-01-01T08:00:00+08:00\",\"period\":\"day\"")), 0);
    CHECK_EQ_INT(out.nrows, 1);
    CHECK_EQ_INT(out.rows[0].ts, 946684800LL * US);
    value_rejected("AIR001", obj_with("\"ts\":\"1999-12-31T23:59:59Z\",\"period\":\"day\""),
                   "ts 1999-12-31T23:59:59Z is too old");
    value_rejected("AIR001", obj_with("\"ts\":\"1970-01-01T00:00:00Z\",\"period\":\"day\""),
                   "too old");

    /* values missing or not an object */
    value_rejected("AIR001", "{\"ts\":\"2021-06-01T08:00:00+08:00\",\"period\":\"hour\"}",
                   "values: missing");
    value_rejected("AIR001", obj("[1,2]"), "values: must be an object");
    value_rejected("AIR001", obj("35"), "values: must be an object");

    /* positions */
#define TSP "\"ts\":\"2021-06-01T08:00:00+08:00\",\"period\":\"hour\""
    value_rejected("MOB001", obj_with(TSP), "lat/lon required for a mobile device");
    value_rejected("MOB001", obj_with(TSP ",\"lat\":30.1"), "lat and lon must both be numbers");
    value_rejected("AIR001", obj_with(TSP ",\"lon\":122"), "lat and lon must both be numbers");
    value_rejected("MOB001", obj_with(TSP ",\"lat\":\"30.1\",\"lon\":\"122\""),
                   "lat and lon must both be numbers");
    value_rejected("MOB001", obj_with(TSP ",\"lat\":30.1,\"lon\":null"), "must both be numbers");
    value_rejected("MOB001", obj_with(TSP ",\"lat\":90.5,\"lon\":122"), "lat/lon out of range");
    value_rejected("MOB001", obj_with(TSP ",\"lat\":-91,\"lon\":122"), "lat/lon out of range");
    value_rejected("MOB001", obj_with(TSP ",\"lat\":30,\"lon\":180.01"), "lat/lon out of range");
    value_rejected("AIR001", obj_with(TSP ",\"lat\":30,\"lon\":-181"), "lat/lon out of range");
    CHECK_EQ_INT(parse("MOB001", obj_with(TSP ",\"lat\":-90,\"lon\":180")), 0);
    CHECK_EQ_INT(out.nrows, 1);
    CHECK_EQ_INT(out.rows[0].site_id, SITE_MOB);
    CHECK(out.objs[0].has_pos);
    CHECK(out.objs[0].lat == -90 && out.objs[0].lon == 180);
    CHECK_EQ_INT(parse("MOB001", obj_with(TSP ",\"lat\":30.012,\"lon\":122.107")), 0);
    CHECK_EQ_INT(out.nbad, 0);
    CHECK(out.objs[0].lat == 30.012 && out.objs[0].lon == 122.107);
#undef TSP

    /* readings: an array of objects; good ones kept, bad ones told by index */
    snprintf(p, sizeof(p),
             "{\"readings\":["
             "{\"ts\":\"2021-06-01T07:00:00+08:00\",\"period\":\"hour\",\"values\":{\"pm25\":1}},"
             "{\"period\":\"hour\",\"values\":{\"pm25\":2}},"
             "\"not an object\","
             "{\"ts\":\"2021-06-01T08:00:00+08:00\",\"period\":\"hour\","
             "\"values\":{\"pm25\":3,\"so2\":4,\"nope\":5}}]}");
    CHECK_EQ_INT(parse("AIR001", p), 0);
    CHECK_EQ_INT(out.nrows, 3);
    CHECK_EQ_INT(out.nbad, 3);
    why_has("readings[1]: ts: missing");
    why_has("readings[2]: not an object");
    why_has("readings[3]: nope: unknown parameter"); /* a bad value names its object */
    CHECK(strstr(why(), "readings[0]") == NULL);     /* object 0 was fine */
    CHECK_EQ_INT(out.nobjs, 2);
    CHECK_EQ_INT(out.objs[0].ts, (T0 - 3600) * US);
    CHECK_EQ_INT(out.objs[0].first_row, 0);
    CHECK_EQ_INT(out.objs[0].nrows, 1);
    CHECK_EQ_INT(out.objs[1].ts, T0 * US);
    CHECK_EQ_INT(out.objs[1].first_row, 1);
    CHECK_EQ_INT(out.objs[1].nrows, 2);
    CHECK(out.rows[0].value == 1 && out.rows[0].ts == (T0 - 3600) * US);
    CHECK(out.rows[1].value == 3 && out.rows[1].ts == T0 * US);
    CHECK(out.rows[2].value == 4 && out.rows[2].param_id == P_SO2);
    /* an empty array stores nothing and says so (dead letter) */
    CHECK_EQ_INT(parse("AIR001", "{\"readings\":[]}"), 0);
    CHECK_EQ_INT(out.nrows, 0);
    CHECK_EQ_INT(out.nbad, 1);
    why_has("readings: empty");
    /* a key named twice (a parameter, ts, values, at any level) is
     * ambiguous: which one counts would depend on the reader, so the whole
     * message is refused with the key's name, nothing of it stored */
    message_rejected("eco/v1/in/AIR001", 16, obj("{\"pm25\":1,\"so2\":2,\"pm25\":3}"),
                     "duplicate key \"pm25\"");
    message_rejected("eco/v1/in/AIR001", 16,
                     "{\"ts\":\"2021-06-01T08:00:00+08:00\",\"period\":\"hour\","
                     "\"ts\":\"2021-06-01T07:00:00+08:00\",\"values\":{\"pm25\":1}}",
                     "duplicate key \"ts\"");
    message_rejected("eco/v1/in/AIR001", 16,
                     "{\"ts\":\"2021-06-01T08:00:00+08:00\",\"period\":\"hour\","
                     "\"values\":{\"pm25\":1},\"values\":{\"pm25\":2}}",
                     "duplicate key \"values\"");
    message_rejected("eco/v1/in/AIR001", 16,
                     "{\"readings\":[{\"ts\":\"2021-06-01T08:00:00+08:00\",\"period\":\"hour\","
                     "\"values\":{\"pm25\":1}},{\"ts\":\"2021-06-01T08:00:00+08:00\","
                     "\"period\":\"hour\",\"period\":\"day\",\"values\":{\"pm25\":1}}]}",
                     "duplicate key \"period\"");
    /* second 60 only as a leap second: refused at any other minute, with
     * its own reason */
    value_rejected("AIR001",
                   "{\"ts\":\"2021-06-01T08:04:60+08:00\",\"period\":\"hour\","
                   "\"values\":{\"pm25\":1}}",
                   "ts: second 60 is only a leap second");
    /* "readings" that is not an array rejects the message */
    message_rejected("eco/v1/in/AIR001", 16, "{\"readings\":{\"ts\":1}}",
                     "readings must be an array");
}

static void test_envelope(void)
{
    static const char good[] =
        "{\"ts\":\"2021-06-01T08:00:00+08:00\",\"period\":\"hour\",\"values\":{\"pm25\":1}}";
    static const char *const topics[] = {
        "eco/v1/in/",
        "eco/v1/in",
        "eco/v1/in/AIR001/",
        "eco/v1/in/a/b",
        "eco/v1/in/AIR001/x",
        "eco/v1/obs/AIR001",
        "eco/v2/in/AIR001",
        "Eco/v1/in/AIR001",
        "/eco/v1/in/AIR001",
        "eco/v1/inAIR001",
        "",
        "eco/v1/in//AIR001",
    };
    for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++) {
        message_rejected(topics[i], strlen(topics[i]), good, "topic is not eco/v1/in/{device}");
        CHECK(out.dev == NULL);
    }
    message_rejected("eco/v1/in/NOPE", 14, good, "unknown device NOPE");
    CHECK(out.dev == NULL);
    message_rejected("eco/v1/in/AIR00", 15, good, "unknown device AIR00");
    message_rejected("eco/v1/in/AIR0011", 17, good, "unknown device");
    message_rejected("eco/v1/in/air001", 16, good, "unknown device"); /* case */
    message_rejected("eco/v1/in/AIR001\0x", 18, good, "unknown device");
    {
        char t[600];
        snprintf(t, sizeof(t), "eco/v1/in/");
        memset(t + 10, 'D', 500);
        t[510] = '\0';
        message_rejected(t, strlen(t), good, "unknown device DDDD");
        CHECK(out.why.len < 100); /* the device name is cut in the reason */
    }
    message_rejected("eco/v1/in/OFF001", 16, good, "device OFF001 is inactive");
    CHECK(out.dev == NULL);
    /* the payload */
    message_rejected("eco/v1/in/AIR001", 16, "{\"ts\":", "invalid JSON");
    message_rejected("eco/v1/in/AIR001", 16, "", "invalid JSON");
    message_rejected("eco/v1/in/AIR001", 16, "not json", "invalid JSON");
    message_rejected("eco/v1/in/AIR001", 16, "{} {}", "trailing data");
    message_rejected("eco/v1/in/AIR001", 16, "[1]", "payload must be a JSON object");
    message_rejected("eco/v1/in/AIR001", 16, "\"x\"", "payload must be a JSON object");
    message_rejected("eco/v1/in/AIR001", 16, "35.2", "payload must be a JSON object");
    message_rejected("eco/v1/in/AIR001", 16, "null", "payload must be a JSON object");
    /* an envelope problem leaves nothing from an earlier parse behind */
    CHECK_EQ_INT(parse("AIR001", good), 0);
    CHECK_EQ_INT(out.nrows, 1);
    message_rejected("eco/v1/in/NOPE", 14, good, "unknown device");
    CHECK_EQ_INT(out.nbad, 0);
    CHECK(strstr(why(), "readings") == NULL);
    /* and a good parse clears the previous reasons */
    value_rejected("AIR001", obj("{\"xyz\":1}"), "xyz");
    CHECK_EQ_INT(parse("AIR001", good), 0);
    CHECK_EQ_INT(out.nbad, 0);
    CHECK_EQ_INT(out.why.len, 0);
}

static void test_bounds(void)
{
    struct reg big;
    static char p[200000];
    size_t n;

    /* more than RD_MAX_ROWS values: the first RD_MAX_ROWS are kept, the
     * rest counted and told */
    build_reg(&big, RD_MAX_ROWS + 500);
    n = (size_t)snprintf(p, sizeof(p),
                         "{\"ts\":\"2021-06-01T08:00:00+08:00\",\"period\":\"hour\","
                         "\"values\":{");
    for (size_t i = 0; i < RD_MAX_ROWS + 500; i++)
        n += (size_t)snprintf(p + n, sizeof(p) - n, "%s\"x%zu\":%zu", i ? "," : "", i, i % 10);
    n += (size_t)snprintf(p + n, sizeof(p) - n, "}}");
    CHECK(n < sizeof(p) - 1);
    CHECK_EQ_INT(parse_on(&big, "eco/v1/in/AIR001", p), 0);
    CHECK_EQ_INT(out.nrows, RD_MAX_ROWS);
    CHECK_EQ_INT(out.nbad, 500);
    CHECK_EQ_INT(out.nobjs, 1);
    CHECK_EQ_INT(out.objs[0].nrows, RD_MAX_ROWS);
    CHECK_EQ_INT(out.rows[RD_MAX_ROWS - 1].param_id, 100 + RD_MAX_ROWS - 1);
    CHECK(out.rows[RD_MAX_ROWS - 1].value == (RD_MAX_ROWS - 1) % 10);
    why_has("more than 4096 values in one message");
    CHECK(out.why.len <= RD_WHY_MAX);

    /* more than RD_MAX_OBJS objects in "readings" */
    n = (size_t)snprintf(p, sizeof(p), "{\"readings\":[");
    for (size_t i = 0; i < RD_MAX_OBJS + 50; i++)
        n += (size_t)snprintf(p + n, sizeof(p) - n,
                              "%s{\"ts\":\"2021-06-01T08:00:00+08:00\",\"period\":\"rt\","
                              "\"values\":{\"x%zu\":1}}",
                              i ? "," : "", i);
    n += (size_t)snprintf(p + n, sizeof(p) - n, "]}");
    CHECK(n < sizeof(p) - 1);
    CHECK_EQ_INT(parse_on(&big, "eco/v1/in/AIR001", p), 0);
    CHECK_EQ_INT(out.nobjs, RD_MAX_OBJS);
    CHECK_EQ_INT(out.nrows, RD_MAX_OBJS);
    CHECK_EQ_INT(out.nbad, 50);
    why_has("readings[1024]: more than 1024 readings objects in one message");
    CHECK(out.why.len <= RD_WHY_MAX);
    reg_close(&big);

    /* thousands of bad values: every one counted, the reasons bounded */
    n = (size_t)snprintf(p, sizeof(p),
                         "{\"ts\":\"2021-06-01T08:00:00+08:00\",\"period\":\"hour\","
                         "\"values\":{");
    for (size_t i = 0; i < 5000; i++)
        n += (size_t)snprintf(p + n, sizeof(p) - n, "%s\"bad%zu\":1", i ? "," : "", i);
    n += (size_t)snprintf(p + n, sizeof(p) - n, ",\"pm25\":7}}");
    CHECK(n < sizeof(p) - 1);
    CHECK_EQ_INT(parse("AIR001", p), 0);
    CHECK_EQ_INT(out.nbad, 5000);
    CHECK_EQ_INT(out.nrows, 1); /* the good value after them is still kept */
    CHECK(out.rows[0].value == 7);
    CHECK(out.why.len > RD_WHY_MAX / 2);
    CHECK(out.why.len <= RD_WHY_MAX);
    CHECK_EQ_INT(strlen(out.why.p), out.why.len);
    why_has("bad0: unknown parameter; bad1: unknown parameter");
    CHECK(strstr(why(), "bad4999") == NULL);

    /* long reasons (long timestamps in them) stay bounded too */
    n = (size_t)snprintf(p, sizeof(p), "{\"readings\":[");
    for (size_t i = 0; i < 500; i++)
        n += (size_t)snprintf(p + n, sizeof(p) - n,
                              "%s{\"ts\":\"2031-06-01T08:00:00.123456789+08:00\",\"period\":\"rt\","
                              "\"values\":{\"pm25\":1}}",
                              i ? "," : "");
    n += (size_t)snprintf(p + n, sizeof(p) - n, "]}");
    CHECK_EQ_INT(parse("AIR001", p), 0);
    CHECK_EQ_INT(out.nbad, 500);
    CHECK(out.why.len <= RD_WHY_MAX);
}

/* the registry as built answers like registry.c's lookups */
static void test_registry(void)
{
    CHECK(reg_device(&reg, "AIR001", 6) == &reg.devices[0]);
    CHECK(reg_param(&reg, "so2", 3) == &reg.params[1]);
    CHECK(reg_param_by_id(&reg, P_SO2) == &reg.params[1]);
    CHECK(reg_param_by_id(&reg, 99) == NULL);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_registry), CHECK_CASE(test_contract_example), CHECK_CASE(test_units),
    CHECK_CASE(test_values),   CHECK_CASE(test_objects),          CHECK_CASE(test_envelope),
    CHECK_CASE(test_bounds),
};

int main(int argc, char **argv)
{
    int rc;

    build_reg(&reg, 0);
    rd_out_init(&out);
    rc = CHECK_MAIN(argc, argv, cases);
    rd_out_close(&out);
    reg_close(&reg);
    return rc;
}
