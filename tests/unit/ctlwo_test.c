/* ctlwo: the command line of work orders (services/ecoctl/wocli): every
 * verb's argv becomes the right eco-dispatch method and JSON arguments,
 * usage errors are caught before anything is sent (ids, numbers, ranges,
 * categories, places, times, URLs, required notes, UTF-8, sizes), and
 * replies print as the text people read (aligned rows, Beijing times,
 * no terminal control characters from a complaint's text). */
#include "wocli.h"

#include "check.h"

#include <errno.h>
#include <stdlib.h>

#define ARGV(...) ((const char *[]){__VA_ARGS__, NULL})
#define ARGC(...) ((int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(char *)))

/* Parses noun + argv, expects success, checks the method and the request's
 * arguments as compact JSON (members in the order of the options, then id). */
#define OK(noun, method, json, ...)                                                                \
    ok_((noun), (method), (json), ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), __LINE__)
/* Expects a usage error whose message contains `want`. */
#define BAD(noun, want, ...) bad_((noun), (want), ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), __LINE__)

static struct wocli_req ok_(const char *noun, const char *method, const char *json, int argc,
                            const char *const *argv, int line)
{
    struct wocli_req req;
    char err[256] = "";
    char *s;
    int rc = wocli_parse(noun, argc, argv, &req, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "line %d: wocli_parse = %d (%s)\n", line, rc, err);
        FAIL("parse");
    }
    CHECK(req.args != NULL);
    s = cJSON_PrintUnformatted(req.args);
    if (strcmp(req.method, method) != 0 || strcmp(s, json) != 0) {
        fprintf(stderr, "line %d: got %s %s\n   want %s %s\n", line, req.method, s, method, json);
        FAIL("request");
    }
    cJSON_free(s);
    cJSON_Delete(req.args);
    req.args = NULL;
    return req;
}

static void bad_(const char *noun, const char *want, int argc, const char *const *argv, int line)
{
    struct wocli_req req;
    char err[256] = "";
    int rc = wocli_parse(noun, argc, argv, &req, err, sizeof(err));
    if (rc != -EINVAL || req.args != NULL || !strstr(err, want)) {
        fprintf(stderr, "line %d: wocli_parse = %d, err \"%s\"; want -EINVAL and \"%s\"\n", line,
                rc, err, want);
        FAIL("usage error");
    }
}

static void test_list(void)
{
    struct wocli_req r;
    r = OK("wo", "wo.list",
           "{\"state\":[\"dispatched\",\"in_progress\"],\"dept\":\"ZS-EEB-DH\",\"overdue\":true,"
           "\"limit\":5}",
           "list", "--state", "dispatched", "--dept", "ZS-EEB-DH", "--overdue", "--state",
           "in_progress", "--limit", "5");
    CHECK_EQ_INT(r.out, WOCLI_OUT_LIST);
    CHECK_EQ_INT(r.id, 0);
    CHECK(r.timeout_s == WOCLI_TIMEOUT_S);
    OK("wo", "wo.list", "{}", "list");
    OK("wo", "wo.list", "{\"limit\":10000}", "list", "--limit=10000");
    BAD("wo", "--limit 0: a whole number from 1 to 10000", "list", "--limit", "0");
    BAD("wo", "--limit 10001", "list", "--limit", "10001");
    BAD("wo", "--limit 5x", "list", "--limit", "5x");
    BAD("wo", "--limit needs a value", "list", "--limit");
    BAD("wo", "--state Accepted", "list", "--state", "Accepted");
    BAD("wo", "--overdue takes no value", "list", "--overdue=yes");
    BAD("wo", "--dept given twice", "list", "--dept", "A", "--dept", "B");
    BAD("wo", "--dept 'a b'", "list", "--dept", "a b");
    BAD("wo", "unexpected argument '12'", "list", "12");
    BAD("wo", "wo list: unknown option --note", "list", "--note", "x");
}

static void test_show_and_ids(void)
{
    struct wocli_req r = OK("wo", "wo.show", "{\"id\":12}", "show", "12");
    CHECK_EQ_INT(r.id, 12);
    CHECK_EQ_INT(r.out, WOCLI_OUT_SHOW);
    OK("wo", "wo.show", "{\"id\":9007199254740991}", "show", "9007199254740991");
    BAD("wo", "missing ID (the work order's number)", "show");
    BAD("wo", "ID '0' is not a positive whole number", "show", "0");
    BAD("wo", "unknown option -1", "show", "-1");
    BAD("wo", "ID '1.5'", "show", "1.5");
    BAD("wo", "ID '12abc'", "show", "12abc");
    BAD("wo", "ID ' 12'", "show", " 12");
    BAD("wo", "ID '9007199254740992'", "show", "9007199254740992");
    BAD("wo", "ID '99999999999999999999'", "show", "99999999999999999999");
    BAD("wo", "one ID only ('13' is extra)", "show", "12", "13");
    BAD("wo", "wo show: unknown option --json", "show", "12", "--json");
}

static void test_unknown(void)
{
    struct wocli_req req;
    char err[128] = "";
    CHECK_EQ_INT(wocli_parse("wo", 1, ARGV("frobnicate"), &req, err, sizeof(err)), -ENOENT);
    CHECK(strstr(err, "unknown verb 'frobnicate'"));
    CHECK(req.args == NULL);
    CHECK_EQ_INT(wocli_parse("wo", 0, ARGV(NULL), &req, err, sizeof(err)), -ENOENT);
    /* submit belongs to complaints, ack to alarms */
    CHECK_EQ_INT(wocli_parse("wo", 1, ARGV("submit"), &req, err, sizeof(err)), -ENOENT);
    CHECK_EQ_INT(wocli_parse("alarm", 2, ARGV("list", "1"), &req, err, sizeof(err)), -ENOENT);
    BAD("wo", "unknown option --bogus", "accept", "1", "--bogus");
    BAD("wo", "unknown option --dept", "accept", "1", "--dept", "X");
}

static void test_create(void)
{
    struct wocli_req r =
        OK("wo", "wo.create",
           "{\"category\":\"water\",\"title\":\"黑臭水体\",\"text\":\"line one\\nline two\","
           "\"dept\":\"ZS-EEB-PT\",\"priority\":2,\"lat\":29.95,\"lon\":-122.25,"
           "\"due\":\"2026-12-06T09:00:00+08:00\"}",
           "create", "--category", "water", "--title", "黑臭水体", "--text", "line one\nline two",
           "--dept", "ZS-EEB-PT", "--priority", "2", "--lat", "29.95", "--lon", "-122.25", "--due",
           "2026-12-06T09:00:00+08:00");
    CHECK_EQ_INT(r.out, WOCLI_OUT_CREATE);
    OK("wo", "wo.create", "{\"category\":\"air\",\"title\":\"smell\",\"site\":\"air-dh01\"}",
       "create", "--category", "air", "--title", "smell", "--site", "air-dh01");
    BAD("wo", "wo create: --category is required", "create", "--title", "t");
    BAD("wo", "wo create: --title is required", "create", "--category", "air");
    BAD("wo", "--category soot: one of air, water, sea, noise, waste, other", "create",
        "--category", "soot", "--title", "t");
    BAD("wo", "--title must not be empty", "create", "--category", "air", "--title", "  ");
    BAD("wo", "--title contains a control character (one line only)", "create", "--category", "air",
        "--title", "two\nlines");
    BAD("wo", "--priority 5: a whole number from 1 to 4", "create", "--category", "air", "--title",
        "t", "--priority", "5");
    BAD("wo", "--priority 0", "create", "--category", "air", "--title", "t", "--priority", "0");
    BAD("wo", "--lat 90.5: degrees from -90 to 90", "create", "--category", "air", "--title", "t",
        "--lat", "90.5", "--lon", "120");
    BAD("wo", "--lon -180.01: degrees from -180 to 180", "create", "--category", "air", "--title",
        "t", "--lat", "30", "--lon", "-180.01");
    BAD("wo", "--lat nan", "create", "--category", "air", "--title", "t", "--lat", "nan", "--lon",
        "1");
    BAD("wo", "--lat 1e400", "create", "--category", "air", "--title", "t", "--lat", "1e400",
        "--lon", "1");
    BAD("wo", "--lat 30x", "create", "--category", "air", "--title", "t", "--lat", "30x", "--lon",
        "1");
    BAD("wo", "--lat and --lon go together", "create", "--category", "air", "--title", "t", "--lat",
        "30");
    BAD("wo", "--site CODE or --lat N --lon N, not both", "create", "--category", "air", "--title",
        "t", "--site", "s1", "--lat", "30", "--lon", "122");
    BAD("wo", "--due 2026-12-06 09:00: a time like", "create", "--category", "air", "--title", "t",
        "--due", "2026-12-06 09:00");
    BAD("wo", "--due 2026-12-06T09:00:00:", "create", "--category", "air", "--title", "t", "--due",
        "2026-12-06T09:00:00");
}

static void test_text_checks(void)
{
    char *big = malloc(WOCLI_TEXT_MAX + 2);
    CHECK(big != NULL);
    memset(big, 'x', WOCLI_TEXT_MAX);
    big[WOCLI_TEXT_MAX] = '\0';
    /* exactly the cap is accepted, one more byte is not */
    {
        struct wocli_req req;
        char err[128];
        CHECK_EQ_INT(wocli_parse("wo", 5, ARGV("create", "--category", "air", "--title", "t"), &req,
                                 err, sizeof(err)),
                     0);
        cJSON_Delete(req.args);
        CHECK_EQ_INT(wocli_parse("wo", 7,
                                 ARGV("create", "--category", "air", "--title", "t", "--text", big),
                                 &req, err, sizeof(err)),
                     0);
        cJSON_Delete(req.args);
    }
    big[WOCLI_TEXT_MAX] = 'x';
    big[WOCLI_TEXT_MAX + 1] = '\0';
    BAD("wo", "--text is 65537 bytes; at most 65536", "create", "--category", "air", "--title", "t",
        "--text", big);
    free(big);
    BAD("wo", "--text is not valid UTF-8", "create", "--category", "air", "--title", "t", "--text",
        "bad \xff byte");
    BAD("wo", "--note is not valid UTF-8", "accept", "1", "--note", "overlong \xc0\xaf");
    BAD("wo", "--note is not valid UTF-8", "accept", "1", "--note", "surrogate \xed\xa0\x80");
    BAD("wo", "--note is not valid UTF-8", "accept", "1", "--note", "cut \xe6\xb0");
    BAD("wo", "--note contains a control character", "accept", "1", "--note", "esc \x1b[2J");
    OK("wo", "wo.accept", "{\"note\":\"tab\\tand\\nnewline 水\",\"id\":1}", "accept", "1", "--note",
       "tab\tand\nnewline 水");
}

static void test_changes(void)
{
    struct wocli_req r;
    r = OK("wo", "wo.assign", "{\"dept\":\"ZS-EEB-DH\",\"note\":\"theirs\",\"id\":7}", "assign",
           "7", "--dept", "ZS-EEB-DH", "--note", "theirs");
    CHECK_EQ_INT(r.out, WOCLI_OUT_CHANGE);
    CHECK_EQ_STR(r.done, "assigned");
    CHECK_EQ_INT(r.id, 7);
    BAD("wo", "wo assign: --dept is required", "assign", "7");
    r = OK("wo", "wo.accept", "{\"id\":7}", "accept", "7");
    CHECK_EQ_STR(r.done, "accepted");
    OK("wo", "wo.start", "{\"note\":\"on site\",\"id\":7}", "start", "--note", "on site", "7");
    r = OK("wo", "wo.reply",
           "{\"note\":\"closed the valve\",\"attachments\":[\"https://x.example/a.jpg\","
           "\"http://x.example/b.pdf\"],\"id\":7}",
           "reply", "7", "--note", "closed the valve", "--attach", "https://x.example/a.jpg",
           "--attach", "http://x.example/b.pdf");
    CHECK_EQ_STR(r.done, "replied");
    BAD("wo", "wo reply: --note is required", "reply", "7");
    BAD("wo", "wo reply: --note is required", "reply", "7", "--attach", "https://x/a");
    BAD("wo", "--note must not be empty", "reply", "7", "--note", "");
    BAD("wo", "--attach ftp://x/a: a URL starting with http:// or https://", "reply", "7", "--note",
        "n", "--attach", "ftp://x/a");
    BAD("wo", "--attach https://: a URL", "reply", "7", "--note", "n", "--attach", "https://");
    BAD("wo", "--attach https://x/a b", "reply", "7", "--note", "n", "--attach", "https://x/a b");
    {
        const char *argv[4 + 2 * (WOCLI_ATTACH_MAX + 1)];
        int n = 0;
        struct wocli_req req;
        char err[128] = "";
        argv[n++] = "reply";
        argv[n++] = "7";
        argv[n++] = "--note";
        argv[n++] = "n";
        for (int i = 0; i <= WOCLI_ATTACH_MAX; i++) {
            argv[n++] = "--attach";
            argv[n++] = "https://x.example/p.jpg";
        }
        CHECK_EQ_INT(wocli_parse("wo", n, argv, &req, err, sizeof(err)), -EINVAL);
        CHECK(strstr(err, "at most 20 --attach"));
        CHECK_EQ_INT(wocli_parse("wo", n - 2, argv, &req, err, sizeof(err)), 0);
        CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(req.args, "attachments")), 20);
        cJSON_Delete(req.args);
    }
    OK("wo", "wo.verify", "{\"id\":7}", "verify", "7");
    OK("wo", "wo.reject", "{\"note\":\"no photo\",\"id\":7}", "reject", "7", "--note", "no photo");
    BAD("wo", "wo reject: --note is required", "reject", "7");
    OK("wo", "wo.reopen", "{\"note\":\"smell again\",\"id\":7}", "reopen", "7",
       "--note=smell again");
    BAD("wo", "wo reopen: --note is required", "reopen", "7");
    OK("wo", "wo.close", "{\"id\":7}", "close", "7");
    OK("wo", "wo.cancel", "{\"note\":\"duplicate of 6\",\"id\":7}", "cancel", "7", "--note",
       "duplicate of 6");
    BAD("wo", "wo cancel: --note is required", "cancel", "7");
    BAD("wo", "wo cancel: missing ID", "cancel", "--note", "x");
}

static void test_complaint(void)
{
    struct wocli_req r =
        OK("complaint", "complaint.submit",
           "{\"category\":\"air\",\"text\":\"strong smell\",\"lat\":30.245,\"lon\":122.201,"
           "\"contact\":\"+86 138-0000-0000\",\"photo\":\"https://img.example/1.jpg\","
           "\"ts\":\"2026-12-05T07:30:00+08:00\"}",
           "submit", "--category", "air", "--text", "strong smell", "--lat", "30.245", "--lon",
           "122.201", "--contact", "+86 138-0000-0000", "--photo", "https://img.example/1.jpg",
           "--ts", "2026-12-05T07:30:00+08:00");
    CHECK_EQ_INT(r.out, WOCLI_OUT_COMPLAINT);
    OK("complaint", "complaint.submit",
       "{\"category\":\"noise\",\"text\":\"night works\",\"site\":\"noi-dh01\"}", "submit",
       "--category", "noise", "--text", "night works", "--site", "noi-dh01");
    BAD("complaint", "complaint submit: where? --lat N --lon N or --site CODE", "submit",
        "--category", "air", "--text", "t");
    BAD("complaint", "complaint submit: --text is required", "submit", "--category", "air",
        "--site", "s");
    BAD("complaint", "--lat and --lon go together", "submit", "--category", "air", "--text", "t",
        "--lon", "122");
    BAD("complaint", "--contact call-me: a phone number", "submit", "--category", "air", "--text",
        "t", "--site", "s", "--contact", "call-me");
    BAD("complaint", "--photo file:///etc/passwd: a URL", "submit", "--category", "air", "--text",
        "t", "--site", "s", "--photo", "file:///etc/passwd");
    BAD("complaint", "--ts yesterday", "submit", "--category", "air", "--text", "t", "--site", "s",
        "--ts", "yesterday");
    BAD("complaint", "unknown option --dept", "submit", "--category", "air", "--text", "t",
        "--site", "s", "--dept", "X");
}

static void test_alarm_and_timeout(void)
{
    struct wocli_req r = OK("alarm", "alarm.ack", "{\"note\":\"seen\",\"id\":42}", "ack", "42",
                            "--note", "seen", "--timeout", "2.5");
    CHECK_EQ_INT(r.out, WOCLI_OUT_ALARM);
    CHECK_EQ_INT(r.id, 42);
    CHECK(r.timeout_s == 2.5);
    r = OK("wo", "wo.list", "{}", "list", "--timeout=30");
    CHECK(r.timeout_s == 30);
    BAD("alarm", "alarm ack: missing ID (the alarm's number)", "ack");
    BAD("alarm", "--timeout needs seconds", "ack", "1", "--timeout", "0");
    BAD("alarm", "--timeout needs seconds", "ack", "1", "--timeout", "-1");
    BAD("alarm", "--timeout needs seconds", "ack", "1", "--timeout", "3601");
    BAD("alarm", "--timeout needs seconds", "ack", "1", "--timeout", "soon");
    BAD("alarm", "--timeout needs seconds", "ack", "1", "--timeout");
}

/* Runs wocli_print on a reply given as JSON text; returns the output
 * (malloc'd). */
static char *print_of(const struct wocli_req *req, const char *reply_json)
{
    cJSON *reply = cJSON_Parse(reply_json);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK(reply != NULL && f != NULL);
    wocli_print(req, reply, f);
    fclose(f);
    cJSON_Delete(reply);
    return buf;
}

#define PRINTS(req, reply, want)                                                                   \
    do {                                                                                           \
        char *got_ = print_of((req), (reply));                                                     \
        CHECK_EQ_STR(got_, (want));                                                                \
        free(got_);                                                                                \
    } while (0)

static void test_print_changes(void)
{
    struct wocli_req r = {
        .method = "wo.accept", .done = "accepted", .out = WOCLI_OUT_CHANGE, .id = 12};
    /* a due time in UTC shows in Beijing time */
    PRINTS(&r, "{\"ok\":true,\"id\":12,\"state\":\"accepted\",\"due_at\":\"2026-12-06T01:00:00Z\"}",
           "work order 12: accepted (due 2026-12-06 09:00 +08:00)\n");
    PRINTS(&r, "{\"ok\":true}", "work order 12: accepted\n");
    PRINTS(&r, "{\"ok\":true,\"state\":\"dispatched\",\"dept\":\"ZS-EEB-PT\"}",
           "work order 12: dispatched [ZS-EEB-PT]\n");
    r.out = WOCLI_OUT_CREATE;
    PRINTS(&r,
           "{\"ok\":true,\"id\":13,\"dept\":\"ZS-EEB-DH\",\"state\":\"dispatched\","
           "\"due_at\":\"2026-12-07T17:00:00+08:00\",\"routed_because\":\"region ZS-DH, air\"}",
           "work order 13 created: dispatched to ZS-EEB-DH (due 2026-12-07 17:00 +08:00)\n"
           "  routed because: region ZS-DH, air\n");
    r.out = WOCLI_OUT_COMPLAINT;
    PRINTS(&r, "{\"ok\":true,\"complaint\":5,\"order\":{\"id\":14,\"dept\":\"ZS-EEB-DH\"}}",
           "complaint 5 recorded; work order 14 to ZS-EEB-DH\n");
    PRINTS(&r, "{\"ok\":true,\"complaint\":5,\"order\":9}", "complaint 5 recorded; work order 9\n");
    PRINTS(&r, "{\"ok\":true,\"complaint\":5,\"order\":null}", "complaint 5 recorded\n");
    r.out = WOCLI_OUT_ALARM;
    r.id = 42;
    PRINTS(&r, "{\"ok\":true}", "alarm 42 acknowledged\n");
}

static void test_print_list(void)
{
    struct wocli_req r = {.method = "wo.list", .done = "listed", .out = WOCLI_OUT_LIST};
    PRINTS(&r, "{\"ok\":true,\"orders\":[]}", "no work orders\n");
    PRINTS(&r,
           "{\"ok\":true,\"orders\":["
           "{\"id\":7,\"dept\":\"ZS-EEB-DH\",\"source\":\"alarm\",\"priority\":1,"
           "\"state\":\"in_progress\",\"title\":\"PM2.5 high\","
           "\"created_at\":\"2026-12-05T02:00:00Z\",\"due_at\":\"2026-12-05T12:00:00+08:00\","
           "\"overdue\":true},"
           "{\"id\":1234,\"dept\":\"ZS-MB\",\"source\":\"complaint\",\"priority\":3,"
           "\"state\":\"dispatched\",\"title\":\"oil \\u001b[31mslick\","
           "\"created_at\":\"2026-12-05T11:30:00+08:00\",\"due_at\":null,\"overdue\":false}]}",
           "  ID  DEPT       SOURCE     PRI  STATE        CREATED (+08)     DUE (+08)         "
           "OVERDUE  TITLE\n"
           "   7  ZS-EEB-DH  alarm        1  in_progress  2026-12-05 10:00  2026-12-05 12:00  "
           "yes      PM2.5 high\n"
           "1234  ZS-MB      complaint    3  dispatched   2026-12-05 11:30                    "
           "         oil ?[31mslick\n");
}

static void test_print_show(void)
{
    struct wocli_req r = {.method = "wo.show", .done = "shown", .out = WOCLI_OUT_SHOW, .id = 7};
    PRINTS(&r,
           "{\"ok\":true,\"order\":{\"id\":7,\"dept\":\"ZS-EEB-DH\",\"source\":\"complaint\","
           "\"priority\":2,\"state\":\"replied\",\"category\":\"air\",\"title\":\"smell\","
           "\"text\":\"since 7am\\nnear the harbour\",\"site\":null,\"lat\":30.25,\"lon\":122.2,"
           "\"created_at\":\"2026-12-05T07:30:00+08:00\",\"due_at\":\"2026-12-05T10:30:00+08:00\","
           "\"closed_at\":null,\"overdue\":false,\"alarm\":null,\"complaint\":5,"
           "\"incident\":null},"
           "\"events\":[{\"ts\":\"2026-12-05T07:30:01+08:00\",\"action\":\"create\","
           "\"prev_state\":null,\"state\":\"dispatched\",\"actor\":\"eco-dispatch\",\"note\":null,"
           "\"dept\":\"ZS-EEB-DH\",\"attachments\":[]},"
           "{\"ts\":\"2026-12-05T01:00:00Z\",\"action\":\"reply\",\"prev_state\":\"in_progress\","
           "\"state\":\"replied\",\"actor\":\"alice\",\"note\":\"valve closed\","
           "\"dept\":\"ZS-EEB-DH\",\"attachments\":[\"https://x.example/a.jpg\"]}]}",
           "work order 7: replied\n"
           "  title:      smell\n"
           "  department: ZS-EEB-DH\n"
           "  category:   air\n"
           "  priority:   2\n"
           "  source:     complaint\n"
           "  complaint:  5\n"
           "  place:      30.25, 122.2\n"
           "  created:    2026-12-05 07:30 +08:00\n"
           "  due:        2026-12-05 10:30 +08:00\n"
           "  text:       since 7am\n"
           "    near the harbour\n"
           "events (+08):\n"
           "  2026-12-05 07:30  create dispatched  [ZS-EEB-DH]  by eco-dispatch\n"
           "  2026-12-05 09:00  reply: in_progress -> replied  [ZS-EEB-DH]  by alice\n"
           "    valve closed\n"
           "    attachment: https://x.example/a.jpg\n");
}

/* wo export: --format open311 is required and the only format; the
 * filters are checked like wo list's. */
static void test_export(void)
{
    struct wocli_req r;
    r = OK("wo", "wo.export",
           "{\"format\":\"open311\",\"dept\":\"ZS-EEB-DH\",\"from\":\"2026-12-01T00:00:00+08:00\","
           "\"to\":\"2026-12-06T00:00:00Z\",\"limit\":50}",
           "export", "--format", "open311", "--dept", "ZS-EEB-DH", "--from",
           "2026-12-01T00:00:00+08:00", "--to", "2026-12-06T00:00:00Z", "--limit", "50");
    CHECK_EQ_INT(r.out, WOCLI_OUT_EXPORT);
    CHECK_EQ_INT(r.id, 0);
    OK("wo", "wo.export", "{\"format\":\"open311\"}", "export", "--format=open311");
    OK("wo", "wo.export", "{\"limit\":10000,\"format\":\"open311\"}", "export", "--limit", "10000",
       "--format", "open311");
    BAD("wo", "wo export: --format is required", "export");
    BAD("wo", "wo export: --format is required", "export", "--dept", "ZS-EEB-DH");
    BAD("wo", "--format csv: the only format is open311", "export", "--format", "csv");
    BAD("wo", "--format OPEN311: the only format is open311", "export", "--format", "OPEN311");
    BAD("wo", "--format needs a value", "export", "--format");
    BAD("wo", "--format given twice", "export", "--format", "open311", "--format", "open311");
    BAD("wo", "--from 2026-12-01: a time like", "export", "--format", "open311", "--from",
        "2026-12-01");
    BAD("wo", "--to 2026-12-06T00:00:00: a time like", "export", "--format", "open311", "--to",
        "2026-12-06T00:00:00");
    BAD("wo", "--limit 10001", "export", "--format", "open311", "--limit", "10001");
    BAD("wo", "--limit 0", "export", "--format", "open311", "--limit", "0");
    BAD("wo", "--dept 'a b'", "export", "--format", "open311", "--dept", "a b");
    BAD("wo", "wo export: unknown option --state", "export", "--format", "open311", "--state",
        "closed");
    BAD("wo", "wo export: unexpected argument '7'", "export", "--format", "open311", "7");
    /* the new options belong to export only */
    BAD("wo", "wo list: unknown option --format", "list", "--format", "open311");
    BAD("wo", "wo list: unknown option --from", "list", "--from", "2026-12-01T00:00:00Z");
}

/* The export prints the reply's requests alone, as JSON that parses back to
 * the same array (text and --json alike: ctl_wo uses wocli_print for both). */
static void test_print_export(void)
{
    struct wocli_req r = {.method = "wo.export", .done = "exported", .out = WOCLI_OUT_EXPORT};
    const char *reqs = "[{\"service_request_id\":\"7\",\"status\":\"open\","
                       "\"agency_responsible\":\"Dinghai bureau (ZS-EEB-DH)\","
                       "\"description\":\"smell\\n\\nsince \\u001b[31m7am\",\"lat\":30.0125,"
                       "\"long\":122.1075,\"media_url\":null},"
                       "{\"service_request_id\":\"6\",\"status\":\"closed\"}]";
    char reply[512], *got;
    cJSON *want, *back;
    snprintf(reply, sizeof reply, "{\"ok\":true,\"requests\":%s}", reqs);
    got = print_of(&r, reply);
    want = cJSON_Parse(reqs);
    back = cJSON_Parse(got);
    CHECK(want != NULL && back != NULL);
    CHECK(cJSON_IsArray(back));
    CHECK(cJSON_Compare(want, back, 1));
    CHECK(got[strlen(got) - 1] == '\n');
    cJSON_Delete(want);
    cJSON_Delete(back);
    free(got);
    PRINTS(&r, "{\"ok\":true,\"requests\":[]}", "[]\n");
    PRINTS(&r, "{\"ok\":true}", "[]\n");
}

static void test_usage(void)
{
    const char *nouns[] = {"wo", "complaint", "alarm"};
    for (size_t i = 0; i < 3; i++) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        CHECK(f != NULL);
        wocli_usage(nouns[i], f);
        fclose(f);
        CHECK(strstr(buf, "usage: ecoctl") != NULL);
        CHECK(strstr(buf, "--timeout") != NULL);
        if (i == 0)
            CHECK(strstr(buf, "ecoctl wo export --format open311") != NULL);
        free(buf);
    }
}

static const struct check_case cases[] = {
    CHECK_CASE(test_list),          CHECK_CASE(test_show_and_ids),
    CHECK_CASE(test_unknown),       CHECK_CASE(test_create),
    CHECK_CASE(test_text_checks),   CHECK_CASE(test_changes),
    CHECK_CASE(test_complaint),     CHECK_CASE(test_alarm_and_timeout),
    CHECK_CASE(test_print_changes), CHECK_CASE(test_print_list),
    CHECK_CASE(test_print_show),    CHECK_CASE(test_export),
    CHECK_CASE(test_print_export),  CHECK_CASE(test_usage),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
