/* test_notification_batch.c: the grant ledger of the notification
 * dispatcher (domain/notifications/notification_batch.h), which decides whether one more
 * send may go out while others are in flight. Pure: no database. */
#include "../../domain/notifications/notification_batch.h"
#include "test.h"

static void test_one_time_grants_are_reserved_then_consumed(void)
{
    nb_ledger_t l = {0};
    nb_grant_t row = {.user_id = 7, .template_id = "TPL_A", .one_time_count = 2};
    int c1, c2, c3;

    nb_hold_t *h = nb_ledger_hold(&l, 7, "TPL_A", &row);
    CHECK(h != NULL);
    CHECK_INT(nb_ledger_reserve(h, 0, &c1), NB_SEND);
    CHECK_INT(c1, 1);
    CHECK_INT(nb_ledger_reserve(h, 0, &c2), NB_SEND);
    /* both grants are out with sends in flight: the third waits for them */
    CHECK_INT(nb_ledger_reserve(h, 0, &c3), NB_WAIT);
    CHECK_INT(c3, 0);
    nb_ledger_settle(h, c1, NB_UNSENT); /* a failed send hands its grant back */
    CHECK_INT(h->one_time_count, 2);
    CHECK_INT(nb_ledger_reserve(h, 0, &c3), NB_SEND);
    nb_ledger_settle(h, c2, NB_SENT);
    nb_ledger_settle(h, c3, NB_SENT);
    CHECK_INT(h->one_time_count, 0);
    CHECK_INT(h->reserved, 0);
    /* nothing left and nothing in flight: no_quota */
    CHECK_INT(nb_ledger_reserve(h, 0, &c1), NB_NONE);
    nb_ledger_drop(&l, h);
    CHECK_INT(l.n, 0);
    nb_ledger_free(&l);
}

static void test_no_row_means_no_grant(void)
{
    nb_ledger_t l = {0};
    int c;

    nb_hold_t *h = nb_ledger_hold(&l, 1, "TPL_A", NULL);
    CHECK(h != NULL);
    CHECK_INT(nb_ledger_reserve(h, 1, &c), NB_NONE);
    nb_ledger_free(&l);
}

static void test_long_term_grant_is_not_consumed(void)
{
    nb_ledger_t l = {0};
    nb_grant_t row = {.user_id = 3, .template_id = "TPL_L", .one_time_count = 0, .long_term = 1};
    int c;

    nb_hold_t *h = nb_ledger_hold(&l, 3, "TPL_L", &row);
    for (int i = 0; i < 5; i++) {
        CHECK_INT(nb_ledger_reserve(h, 1, &c), NB_SEND);
        CHECK_INT(c, 0);
    }
    /* a long-term grant covers only a template configured long-term */
    CHECK_INT(nb_ledger_reserve(h, 0, &c), NB_NONE);
    /* 43101: WeChat says the user holds nothing any more */
    nb_ledger_settle(h, 0, NB_REVOKED);
    CHECK_INT(nb_ledger_reserve(h, 1, &c), NB_NONE);
    nb_ledger_free(&l);
}

static void test_revoked_drops_one_time_grants_too(void)
{
    nb_ledger_t l = {0};
    nb_grant_t row = {.user_id = 4, .template_id = "TPL_A", .one_time_count = 3};
    int c1, c2;

    nb_hold_t *h = nb_ledger_hold(&l, 4, "TPL_A", &row);
    CHECK_INT(nb_ledger_reserve(h, 0, &c1), NB_SEND);
    CHECK_INT(nb_ledger_reserve(h, 0, &c2), NB_SEND);
    nb_ledger_settle(h, c1, NB_REVOKED);
    CHECK_INT(h->one_time_count, 0);
    /* the other send is still in flight: a later event waits for it */
    CHECK_INT(nb_ledger_reserve(h, 0, &c1), NB_WAIT);
    nb_ledger_settle(h, c2, NB_UNSENT);
    CHECK_INT(nb_ledger_reserve(h, 0, &c1), NB_NONE);
    nb_ledger_free(&l);
}

static void test_entries_are_shared_and_outlive_later_rows(void)
{
    nb_ledger_t l = {0};
    nb_grant_t row = {.user_id = 9, .template_id = "TPL_A", .one_time_count = 1};
    nb_grant_t stale = {.user_id = 9, .template_id = "tpl_a", .one_time_count = 1};
    int c;

    nb_hold_t *a = nb_ledger_hold(&l, 9, "TPL_A", &row);
    CHECK_INT(nb_ledger_reserve(a, 0, &c), NB_SEND);
    nb_ledger_settle(a, c, NB_SENT);
    /* A later chunk read the row before the consumption was recorded: the
     * ledger's count wins, and template ids compare without case. */
    nb_hold_t *b = nb_ledger_hold(&l, 9, "tpl_a", &stale);
    CHECK(a == b);
    CHECK_INT(b->refs, 2);
    CHECK_INT(nb_ledger_reserve(b, 0, &c), NB_NONE);
    /* another user or template is another entry */
    nb_hold_t *o = nb_ledger_hold(&l, 10, "TPL_A", &row);
    nb_hold_t *t = nb_ledger_hold(&l, 9, "TPL_B", NULL);
    CHECK(o != a && t != a && o != t);
    CHECK_INT(l.n, 3);
    nb_ledger_drop(&l, a);
    CHECK_INT(l.n, 3);
    nb_ledger_drop(&l, b); /* the last reference: the next hold reads the row again */
    CHECK_INT(l.n, 2);
    a = nb_ledger_hold(&l, 9, "TPL_A", &row);
    CHECK_INT(a->one_time_count, 1);
    nb_ledger_free(&l);
    CHECK_INT(l.n, 0);
}

static void test_many_entries(void)
{
    nb_ledger_t l = {0};
    nb_grant_t row = {.template_id = "TPL_A", .one_time_count = 1};
    nb_hold_t *h[300];

    for (int i = 0; i < 300; i++) {
        row.user_id = i;
        h[i] = nb_ledger_hold(&l, i, "TPL_A", &row);
        CHECK(h[i] != NULL);
    }
    CHECK_INT(l.n, 300);
    for (int i = 0; i < 300; i += 2)
        nb_ledger_drop(&l, h[i]);
    CHECK_INT(l.n, 150);
    CHECK(nb_ledger_hold(&l, 1, "TPL_A", NULL) == h[1]);
    nb_ledger_free(&l);
}

int main(void)
{
    RUN(test_one_time_grants_are_reserved_then_consumed);
    RUN(test_no_row_means_no_grant);
    RUN(test_long_term_grant_is_not_consumed);
    RUN(test_revoked_drops_one_time_grants_too);
    RUN(test_entries_are_shared_and_outlive_later_rows);
    RUN(test_many_entries);
    return TEST_REPORT();
}
