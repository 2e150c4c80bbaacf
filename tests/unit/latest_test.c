/* latest: newest-wins and first-at-equal-time in both layers, commit and
 * discard of a batch, replayed values, the bound on pairs, and forgetting
 * the pairs once half the bound is used. */
#include "latest.h"

#include "check.h"

#include <errno.h>

static struct latest_val val(int64_t ts, double v)
{
    return (struct latest_val){ts, v, 8 * 3600, 'h', 'N'};
}

static int note(struct latest *l, int site, int param, int64_t ts, double v)
{
    struct latest_val x = val(ts, v);
    return latest_note(l, site, "s", param, &x);
}

/* The accumulated value of a pair, or -1 when it has none. */
static double acc_of(struct latest *l, int site, int param)
{
    struct latest_ent *e = latest_find(l, site, param);
    return e && e->has_acc ? e->acc.value : -1;
}

static void test_batches(void)
{
    struct latest l;
    struct latest_val x;

    CHECK_EQ_INT(latest_init(&l, 100), 0);
    CHECK_EQ_INT(latest_pending(&l), 0);

    /* within a batch: newer wins, the first of equal times stays */
    CHECK_EQ_INT(note(&l, 1, 1, 100, 1.0), 0);
    CHECK_EQ_INT(note(&l, 1, 1, 300, 3.0), 0);
    CHECK_EQ_INT(note(&l, 1, 1, 200, 2.0), 0);
    CHECK_EQ_INT(note(&l, 1, 1, 300, 9.0), 0);
    CHECK_EQ_INT(note(&l, 2, 1, 100, 5.0), 0);
    CHECK_EQ_INT(latest_pending(&l), 0); /* nothing committed yet */
    latest_commit(&l);
    CHECK_EQ_INT(latest_pending(&l), 2);
    CHECK(acc_of(&l, 1, 1) == 3.0);
    CHECK(acc_of(&l, 2, 1) == 5.0);
    CHECK_EQ_STR(latest_find(&l, 1, 1)->site, "s");

    /* a failed batch leaves the accumulated values alone */
    CHECK_EQ_INT(note(&l, 1, 1, 400, 4.0), 0);
    CHECK_EQ_INT(note(&l, 3, 7, 400, 4.0), 0);
    latest_discard(&l);
    latest_commit(&l);
    CHECK(acc_of(&l, 1, 1) == 3.0);
    CHECK(acc_of(&l, 3, 7) == -1);
    CHECK_EQ_INT(latest_pending(&l), 2);

    /* across batches: an older or equal time does not replace */
    CHECK_EQ_INT(note(&l, 1, 1, 250, 2.5), 0);
    CHECK_EQ_INT(note(&l, 2, 1, 100, 6.0), 0);
    latest_commit(&l);
    CHECK(acc_of(&l, 1, 1) == 3.0);
    CHECK(acc_of(&l, 2, 1) == 5.0);

    /* replayed (committed) values go straight to the accumulated layer */
    x = val(500, 50.0);
    CHECK_EQ_INT(latest_merge(&l, 2, "s2", 1, &x), 0);
    CHECK(acc_of(&l, 2, 1) == 50.0);
    x = val(50, 0.5);
    CHECK_EQ_INT(latest_merge(&l, 4, "s4", 2, &x), 0);
    CHECK_EQ_INT(latest_pending(&l), 3);

    /* pairs differ by site and by parameter, not by their sum */
    CHECK(latest_find(&l, 1, 2) == NULL);
    CHECK(latest_find(&l, 2, 1) != latest_find(&l, 1, 2));

    /* flushed: nothing pending; the next batch starts afresh */
    for (size_t i = 0; i < latest_pending(&l); i++)
        latest_pending_at(&l, i)->changed = true;
    latest_flushed(&l);
    CHECK_EQ_INT(latest_pending(&l), 0);
    CHECK(!latest_find(&l, 1, 1)->changed);
    CHECK(latest_pending_at(&l, 0) == NULL);
    CHECK_EQ_INT(note(&l, 1, 1, 100, 1.5), 0); /* older than before: the database decides */
    latest_commit(&l);
    CHECK(acc_of(&l, 1, 1) == 1.5);
    latest_close(&l);
}

static void test_bound(void)
{
    struct latest l;

    CHECK_EQ_INT(latest_init(&l, 1), -EINVAL);
    latest_close(&l);
    CHECK_EQ_INT(latest_init(&l, 8), 0);
    CHECK(latest_has_room(&l, 8));
    CHECK(!latest_has_room(&l, 9));
    for (int i = 0; i < 8; i++) {
        CHECK(latest_pressing(&l) == (i >= 4)); /* from half the bound on */
        CHECK_EQ_INT(note(&l, i, 1, 100, i), 0);
    }
    CHECK(latest_pressing(&l));
    CHECK(!latest_has_room(&l, 1));
    CHECK_EQ_INT(note(&l, 9, 1, 100, 1), -ENOSPC); /* a new pair: no room */
    CHECK_EQ_INT(note(&l, 3, 1, 200, 7), 0);       /* a known one: fine */
    latest_commit(&l);
    CHECK_EQ_INT(latest_pending(&l), 8);
    CHECK(acc_of(&l, 3, 1) == 7);

    /* half the bound used, nothing pending after the flush: all forgotten */
    latest_flushed(&l);
    CHECK(latest_find(&l, 3, 1) == NULL);
    CHECK(latest_has_room(&l, 8));
    CHECK(!latest_pressing(&l));

    /* below half the bound the pairs stay known */
    CHECK_EQ_INT(note(&l, 1, 1, 100, 1), 0);
    latest_commit(&l);
    latest_flushed(&l);
    CHECK(latest_find(&l, 1, 1) != NULL);
    latest_close(&l);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_batches),
    CHECK_CASE(test_bound),
};

int main(int argc, char **argv)
{
    return CHECK_MAIN(argc, argv, cases);
}
