/* test_followups.c: the follow-up sample's hash (the same subjects under
 * the same seed, as tests/e2e/rating_support.py computes it) and a rating's
 * overall figure and lowest dimension (no database). */
#include "domain/followups/followups.h"
#include "domain/followups/repair_satisfaction.h"
#include "test.h"

static void test_sample_is_a_pure_function_of_seed_and_subject(void)
{
    /* FNV-1a 64 of "12345:repair:<id>" mod 100: 6 -> 7, 15 -> 1, 5 -> 18, 12 -> 12. */
    CHECK(followup_sampled(12345, "repair", 6, 10));
    CHECK(followup_sampled(12345, "repair", 15, 10));
    CHECK(!followup_sampled(12345, "repair", 5, 10));
    CHECK(!followup_sampled(12345, "repair", 12, 10));
    CHECK(followup_sampled(12345, "repair", 12, 13));
    int none = 0, all = 0;
    for (long long id = 1; id <= 200; id++) {
        none += followup_sampled(7, "complaint", id, 0);
        all += followup_sampled(7, "complaint", id, 100);
        CHECK_INT(followup_sampled(7, "repair", id, 10), followup_sampled(7, "repair", id, 10));
    }
    CHECK_INT(none, 0);
    CHECK_INT(all, 200);
}

static void test_rating_overall_and_lowest(void)
{
    repair_rating_t r = {.speed = 4, .attitude = 5, .quality = 3};
    CHECK_INT(repair_rating_overall(&r), 4);
    CHECK_INT(repair_rating_lowest(&r), 3);
    r = (repair_rating_t){.speed = 2, .attitude = 3, .quality = 3}; /* 2.67 -> 3 */
    CHECK_INT(repair_rating_overall(&r), 3);
    CHECK_INT(repair_rating_lowest(&r), 2);
    r = (repair_rating_t){.speed = 1, .attitude = 2, .quality = 4}; /* 2.33 -> 2 */
    CHECK_INT(repair_rating_overall(&r), 2);
    r = (repair_rating_t){.speed = 5, .attitude = 5, .quality = 5};
    CHECK_INT(repair_rating_overall(&r), 5);
    CHECK_INT(repair_rating_lowest(&r), 5);
}

int main(void)
{
    RUN(test_sample_is_a_pure_function_of_seed_and_subject);
    RUN(test_rating_overall_and_lowest);
    return TEST_REPORT();
}
