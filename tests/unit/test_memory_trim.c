/* The memory-trim policy: trim once a burst is over, at most every
 * backstop_ms while busy, never again and again while idle. */
#include "../../gateway/memory_trim.h"
#include "test.h"

static void test_tick_sees_requests_and_inflight(void)
{
    trim_activity_t a;
    trim_activity_init(&a, 1000);
    trim_activity_tick(&a, 0, 2000); /* nothing happened */
    CHECK_INT(trim_activity_latest(&a, 1), 1000);
    trim_activity_request(&a);
    trim_activity_tick(&a, 0, 3000); /* a request started and finished */
    CHECK_INT(trim_activity_latest(&a, 1), 3000);
    trim_activity_tick(&a, 1, 4000); /* no new request, one still running */
    CHECK_INT(trim_activity_latest(&a, 1), 4000);
    trim_activity_tick(&a, 0, 5000);
    CHECK_INT(trim_activity_latest(&a, 1), 4000);
}

static void test_latest_of_threads(void)
{
    trim_activity_t a[3];
    trim_activity_init(&a[0], 100);
    trim_activity_init(&a[1], 100);
    trim_activity_init(&a[2], 100);
    trim_activity_request(&a[1]);
    trim_activity_tick(&a[1], 0, 700);
    trim_activity_tick(&a[2], 0, 900);
    CHECK_INT(trim_activity_latest(a, 3), 700);
}

static void test_trims_once_after_a_burst(void)
{
    memory_trim_t m = {
        .quiet_ms = 1500,
        .backstop_ms = 30000,
    };
    CHECK_INT(memory_trim_due(&m, 10000, 10500), 0); /* still busy */
    CHECK_INT(memory_trim_due(&m, 10000, 11000), 0);
    CHECK_INT(memory_trim_due(&m, 10000, 11500), 1); /* quiet for 1.5 s */
    CHECK_INT(memory_trim_due(&m, 10000, 12000), 0); /* not again while idle */
    CHECK_INT(memory_trim_due(&m, 10000, 60000), 0); /* nor at the backstop */
    CHECK_INT(memory_trim_due(&m, 61000, 61500), 0); /* a new burst: not at its start */
    CHECK_INT(memory_trim_due(&m, 62000, 62500), 0);
    CHECK_INT(memory_trim_due(&m, 62000, 64000), 1); /* but once it is over */
}

static void test_backstop_while_busy(void)
{
    memory_trim_t m = {
        .quiet_ms = 1500,
        .backstop_ms = 30000,
    };
    int trims = 0;
    for (long long now = 1000; now <= 65000; now += 500)
        trims += memory_trim_due(&m, now - 500, now); /* work seen at every tick */
    CHECK_INT(trims, 2);                              /* 30 s of work without a pause, twice */
    m.backstop_ms = 0;
    CHECK_INT(memory_trim_due(&m, 100000, 100500), 0);
    CHECK_INT(memory_trim_due(&m, 100000, 101500), 1);
}

int main(void)
{
    RUN(test_tick_sees_requests_and_inflight);
    RUN(test_latest_of_threads);
    RUN(test_trims_once_after_a_burst);
    RUN(test_backstop_while_busy);
    return TEST_REPORT();
}
