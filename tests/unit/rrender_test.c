/* The report renderers (services/report/rsec.c, rhtml.c): cells, CSV
 * quoting and formula defusing, HTML escaping, and a page drawn from a
 * small report with its map. */
#include "check.h"
#include "rhtml.h"
#include "rsec.h"

#include <cjson/cJSON.h>
#include <string.h>

static char *csv_of(const char *section, const char *kind, const char *rows_json)
{
    static char out[4096];
    struct buf b;
    cJSON *rows = cJSON_Parse(rows_json);
    const struct rsec *s = rsec_find(section, kind);
    CHECK(rows != NULL);
    CHECK(s != NULL);
    buf_init(&b, 1u << 16);
    CHECK_EQ_INT(rsec_csv(s, rows, &b), 0);
    snprintf(out, sizeof out, "%s", b.p);
    buf_close(&b);
    cJSON_Delete(rows);
    return out;
}

static void test_cells(void)
{
    struct buf b;
    cJSON *v = cJSON_Parse("[3, 2.5, true, null, [\"pm25\", \"o3\"], {\"a\": 1}, \"x\"]");
    const char *want[] = {"3", "2.5", "yes", "", "pm25, o3", "{\"a\":1}", "x"};
    int i = 0;
    const cJSON *e;
    buf_init(&b, 1024);
    cJSON_ArrayForEach(e, v)
    {
        buf_reset(&b);
        CHECK_EQ_INT(rsec_cell(&b, e), 0);
        CHECK_EQ_STR(b.p, want[i]);
        i++;
    }
    buf_close(&b);
    cJSON_Delete(v);
}

static void test_csv_quoting(void)
{
    const char *csv = csv_of("work_orders", "daily",
                             "[{\"id\": 7, \"title\": \"smell, \\\"strong\\\"\\nnear\", "
                             "\"priority\": 2, \"overdue\": false}]");
    CHECK(strncmp(csv, "Order,Title,Category,", 21) == 0);
    CHECK(strstr(csv, "\r\n7,\"smell, \"\"strong\"\"\nnear\",,2,") != NULL);
    CHECK(strstr(csv, ",no\r\n") != NULL);
}

static void test_csv_defuses_formulas(void)
{
    const char *csv = csv_of("work_orders", "daily",
                             "[{\"id\": 1, \"title\": \"=HYPERLINK(\\\"http://x\\\")\"},"
                             " {\"id\": 2, \"title\": \"@SUM(A1)\"},"
                             " {\"id\": -3, \"title\": \"-1+1\"}]");
    CHECK(strstr(csv, "\r\n1,\"'=HYPERLINK(\"\"http://x\"\")\",") != NULL);
    CHECK(strstr(csv, "\r\n2,'@SUM(A1),") != NULL);
    /* numbers stay numbers; text starting with - is defused */
    CHECK(strstr(csv, "\r\n-3,'-1+1,") != NULL);
}

static void test_sections_by_kind(void)
{
    CHECK(rsec_find("credit", "monthly") != NULL);
    CHECK(rsec_find("credit", "daily") == NULL);
    CHECK(strcmp(rsec_find("air", "daily")->cols[2].key, "aqi") == 0);
    CHECK(strcmp(rsec_find("air", "monthly")->cols[2].key, "days") == 0);
}

static void test_escape(void)
{
    struct buf b;
    buf_init(&b, 1024);
    CHECK_EQ_INT(rhtml_esc(&b, "<b a=\"1\">&'x'</b>"), 0);
    CHECK_EQ_STR(b.p, "&lt;b a=&quot;1&quot;&gt;&amp;&#39;x&#39;&lt;/b&gt;");
    buf_close(&b);
}

static const char report_json[] =
    "{\"kind\": \"daily\", \"period\": \"2024-06-01\", \"from\": \"2024-06-01\", \"to\": "
    "\"2024-06-01\", \"generated_at\": \"2024-06-02T01:00:00+08:00\","
    " \"air\": {\"rows\": [{\"site\": \"air-1\", \"name\": \"<script>alert(1)</script>\","
    " \"aqi\": 107, \"level\": 3, \"colour\": \"rgb(255,126,0)\"},"
    " {\"site\": \"air-2\", \"aqi\": 20, \"level\": 1, \"colour\": \"red;background:url(x)\"}],"
    " \"series\": [{\"site\": \"air-1\", \"hour\": 0, \"aqi\": 100}, {\"site\": \"air-1\", "
    "\"hour\": 1,"
    " \"aqi\": 110}]},"
    " \"water\": {\"rows\": [], \"note\": \"no water station has values\"},"
    " \"alarms\": {\"rows\": [], \"by_rule\": {\"limit\": 3, \"spike\": 1}}}";

static const char map_json[] =
    "{\"extent\": [122.0, 30.0, 122.5, 30.4], \"regions\": [{\"code\": \"ZS\", \"name\": \"Z\","
    " \"kind\": \"city\", \"d\": \"M 122 -30 L 122.5 -30 L 122.5 -30.4 Z\"}],"
    " \"sites\": [{\"code\": \"air-1\", \"name\": \"A\", \"kind\": \"air\", \"x\": 122.1, \"y\": "
    "30.1,"
    " \"colour\": \"#1a9850\", \"open_alarms\": 2}]}";

static void test_page(void)
{
    struct buf b;
    cJSON *rep = cJSON_Parse(report_json), *map = cJSON_Parse(map_json);
    buf_init(&b, 1u << 20);
    CHECK_EQ_INT(rhtml_render(rep, map, &b), 0);
    CHECK(strncmp(b.p, "<!DOCTYPE html>", 15) == 0);
    /* data never becomes markup or style */
    CHECK(strstr(b.p, "<script>alert") == NULL);
    CHECK(strstr(b.p, "&lt;script&gt;alert(1)") != NULL);
    CHECK(strstr(b.p, "url(x)") == NULL);
    /* the map: the site coloured by the report's AQI, ringed for its alarms */
    CHECK(strstr(b.p, "<svg id=\"map\"") != NULL);
    CHECK(strstr(b.p, "fill=\"rgb(255,126,0)\" stroke=\"#333\"") != NULL);
    CHECK(strstr(b.p, "stroke=\"#d00\"") != NULL);
    /* the charts, the note of the empty section, the alarm bars */
    CHECK(strstr(b.p, "<svg id=\"chart-aqi\"") != NULL);
    CHECK(strstr(b.p, "<polyline data-mark=\"1\"") != NULL);
    CHECK(strstr(b.p, "no water station has values") != NULL);
    CHECK(strstr(b.p, "<svg id=\"chart-alarms\"") != NULL);
    CHECK(strstr(b.p, ">limit: 3</title>") != NULL);
    CHECK(strstr(b.p, "</html>\n") != NULL);
    buf_close(&b);
    cJSON_Delete(rep);
    cJSON_Delete(map);
}

static void test_page_refuses(void)
{
    struct buf b;
    cJSON *rep = cJSON_Parse("{\"kind\": \"weekly\", \"period\": \"x\"}");
    buf_init(&b, 1u << 20);
    CHECK_EQ_INT(rhtml_render(rep, NULL, &b), -EBADMSG);
    cJSON_Delete(rep);
    /* a cap too small is an error, not a truncated page */
    buf_close(&b);
    buf_init(&b, 256);
    rep = cJSON_Parse(report_json);
    CHECK_EQ_INT(rhtml_render(rep, NULL, &b), -E2BIG);
    cJSON_Delete(rep);
    buf_close(&b);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_cells),
    CHECK_CASE(test_csv_quoting),
    CHECK_CASE(test_csv_defuses_formulas),
    CHECK_CASE(test_sections_by_kind),
    CHECK_CASE(test_escape),
    CHECK_CASE(test_page),
    CHECK_CASE(test_page_refuses),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
