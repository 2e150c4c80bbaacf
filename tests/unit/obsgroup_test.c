/* obsgroup: one message per site with the objects in arrival order,
 * splitting at msg_max, rewinding a record that did not fit, the bounds,
 * and messages that are valid JSON of the documented shape. */
#include "obsgroup.h"

#include "check.h"
#include "json.h"

#include <errno.h>

struct got {
    char topic[16][64];
    char msg[16][4096];
    int n;
    int fail_at; /* pub returns -EIO on this call (1-based); 0: never */
};

static int pub(void *ud, const char *topic, const char *p, size_t len)
{
    struct got *g = ud;
    if (g->n + 1 == g->fail_at)
        return -EIO;
    CHECK(g->n < 16 && len < sizeof(g->msg[0]));
    snprintf(g->topic[g->n], sizeof(g->topic[0]), "%s", topic);
    memcpy(g->msg[g->n], p, len);
    g->msg[g->n][len] = '\0';
    g->n++;
    return 0;
}

static void add(struct obsg *g, int site_id, const char *site, const char *obj)
{
    struct buf *b = obsg_begin(g, site_id, site);
    CHECK(b != NULL);
    CHECK_EQ_INT(buf_addstr(b, obj), 0);
    CHECK_EQ_INT(obsg_end(g), 0);
}

/* The message parses, names the site and holds n readings. */
static void check_shape(const char *msg, const char *site, int n)
{
    cJSON *root = NULL;
    const char *s = NULL;

    CHECK_EQ_INT(json_parse(msg, strlen(msg), &root, NULL, 0), 0);
    CHECK_EQ_INT(json_get_strp(root, "site", &s), 0);
    CHECK_EQ_STR(s, site);
    CHECK(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(root, "readings")));
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(root, "readings")), n);
    cJSON_Delete(root);
}

static void test_group(void)
{
    struct obsg g;
    struct got got = {0};

    CHECK_EQ_INT(obsg_init(&g, 8, 1 << 20, 1024), 0);
    add(&g, 7, "s7", "{\"n\":1}");
    add(&g, 3, "s3", "{\"n\":2}");
    add(&g, 7, "s7", "{\"n\":3}");
    add(&g, 3, "s3", "{\"n\":4}");
    add(&g, 5, "s5", "{\"n\":5}");
    CHECK_EQ_INT(obsg_count(&g), 5);
    CHECK_EQ_INT(obsg_emit(&g, pub, &got), 0);
    CHECK_EQ_INT(got.n, 3);
    CHECK_EQ_STR(got.topic[0], "eco/v1/obs/s3");
    CHECK_EQ_STR(got.msg[0], "{\"site\":\"s3\",\"readings\":[{\"n\":2},{\"n\":4}]}");
    CHECK_EQ_STR(got.topic[1], "eco/v1/obs/s5");
    CHECK_EQ_STR(got.msg[1], "{\"site\":\"s5\",\"readings\":[{\"n\":5}]}");
    CHECK_EQ_STR(got.msg[2], "{\"site\":\"s7\",\"readings\":[{\"n\":1},{\"n\":3}]}");
    check_shape(got.msg[2], "s7", 2);

    /* reset: nothing left from the previous batch */
    obsg_reset(&g);
    got.n = 0;
    CHECK_EQ_INT(obsg_emit(&g, pub, &got), 0);
    CHECK_EQ_INT(got.n, 0);

    /* a record that did not fit is rewound, its objects gone */
    add(&g, 1, "s1", "{\"n\":1}");
    struct obsg_mark m = obsg_mark(&g);
    add(&g, 1, "s1", "{\"n\":2}");
    add(&g, 2, "s2", "{\"n\":3}");
    obsg_rewind(&g, m);
    add(&g, 1, "s1", "{\"n\":4}");
    CHECK_EQ_INT(obsg_emit(&g, pub, &got), 0);
    CHECK_EQ_INT(got.n, 1);
    CHECK_EQ_STR(got.msg[0], "{\"site\":\"s1\",\"readings\":[{\"n\":1},{\"n\":4}]}");

    /* an empty object is refused; a pub error is returned */
    obsg_reset(&g);
    CHECK(obsg_begin(&g, 1, "s1") != NULL);
    CHECK_EQ_INT(obsg_end(&g), -ENOSPC);
    add(&g, 1, "s1", "{}");
    add(&g, 2, "s2", "{}");
    got = (struct got){.fail_at = 2};
    CHECK_EQ_INT(obsg_emit(&g, pub, &got), -EIO);
    obsg_close(&g);
}

static void test_bounds(void)
{
    struct obsg g;
    struct got got = {0};
    struct obsg_mark m;
    char obj[400];

    CHECK_EQ_INT(obsg_init(&g, 0, 1024, 1024), -EINVAL);
    CHECK_EQ_INT(obsg_init(&g, 4, 1024, 100), -EINVAL);

    /* max_objs objects per batch */
    CHECK_EQ_INT(obsg_init(&g, 2, 1 << 20, 1024), 0);
    add(&g, 1, "s1", "{}");
    add(&g, 1, "s1", "{}");
    CHECK(obsg_begin(&g, 1, "s1") == NULL);
    obsg_close(&g);

    /* messages split at msg_max, each valid and whole */
    CHECK_EQ_INT(obsg_init(&g, 16, 1 << 20, 1024), 0);
    memset(obj, 'x', sizeof(obj));
    memcpy(obj, "{\"k\":\"", 6);
    memcpy(obj + sizeof(obj) - 3, "\"}", 3); /* 399 characters */
    for (int i = 0; i < 5; i++)
        add(&g, 9, "s9", obj);
    CHECK_EQ_INT(obsg_emit(&g, pub, &got), 0);
    CHECK_EQ_INT(got.n, 3); /* 2 + 2 + 1 objects of 399 bytes under 1024 */
    for (int i = 0; i < got.n; i++) {
        CHECK(strlen(got.msg[i]) <= 1024);
        CHECK_EQ_STR(got.topic[i], "eco/v1/obs/s9");
        check_shape(got.msg[i], "s9", i < 2 ? 2 : 1);
    }
    obsg_close(&g);

    /* the fragment buffer's cap ends the batch: with 16 bytes, the first
     * record takes 10 ("s1", NUL, 7 bytes of JSON); the next site code fits
     * (13), its object does not, and the caller drops the record */
    CHECK_EQ_INT(obsg_init(&g, 16, 16, 1024), 0);
    add(&g, 1, "s1", "{\"a\":1}");
    CHECK_EQ_INT(g.frags.len, 10);
    m = obsg_mark(&g);
    struct buf *b = obsg_begin(&g, 1, "s1");
    CHECK(b != NULL);
    CHECK_EQ_INT(buf_addstr(b, "{\"a\":12345678}"), -E2BIG);
    CHECK_EQ_INT(obsg_end(&g), -ENOSPC);
    obsg_rewind(&g, m);
    CHECK_EQ_INT(obsg_count(&g), 1);
    /* a site code that does not fit itself: no buffer at all */
    CHECK(obsg_begin(&g, 2, "s-longer") == NULL);
    CHECK_EQ_INT(g.frags.len, 10);
    got = (struct got){0};
    CHECK_EQ_INT(obsg_emit(&g, pub, &got), 0);
    CHECK_EQ_INT(got.n, 1);
    CHECK_EQ_STR(got.msg[0], "{\"site\":\"s1\",\"readings\":[{\"a\":1}]}");
    obsg_close(&g);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_group),
    CHECK_CASE(test_bounds),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
