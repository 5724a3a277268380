/* test_repair_state.c: the repair ticket's state machine, its clocks and
 * labels, the list cursor, and the statistics arithmetic (all pure). */
#include "../../domain/repairs/repair_state.h"
#include "../../domain/repairs/repair_stats_math.h"
#include "../../domain/repairs/repair_view.h"
#include "test.h"

static repair_state_t next(repair_action_t a, repair_state_t from)
{
    repair_state_t to = RS__COUNT;
    return repair_next_state(a, from, &to) == 0 ? to : RS__COUNT;
}

static void test_happy_path(void)
{
    CHECK_INT(next(RA_DISPATCH, RS_SUBMITTED), RS_DISPATCHED);
    CHECK_INT(next(RA_ACCEPT, RS_DISPATCHED), RS_ACCEPTED);
    CHECK_INT(next(RA_START, RS_ACCEPTED), RS_IN_PROGRESS);
    CHECK_INT(next(RA_RESOLVE, RS_IN_PROGRESS), RS_RESOLVED);
    CHECK_INT(next(RA_RATE, RS_RESOLVED), RS_CLOSED);
}

static void test_side_paths(void)
{
    CHECK_INT(next(RA_REOPEN, RS_RESOLVED), RS_DISPATCHED);
    CHECK_INT(next(RA_DECLINE, RS_DISPATCHED), RS_SUBMITTED);
    CHECK_INT(next(RA_DECLINE, RS_ACCEPTED), RS_SUBMITTED);
    CHECK_INT(next(RA_ASSIGN, RS_SUBMITTED), RS_DISPATCHED);
    CHECK_INT(next(RA_ASSIGN, RS_ACCEPTED), RS_DISPATCHED);
    /* An engineer who lost the role gives every open ticket back. */
    CHECK_INT(next(RA_UNASSIGN, RS_DISPATCHED), RS_SUBMITTED);
    CHECK_INT(next(RA_UNASSIGN, RS_ACCEPTED), RS_SUBMITTED);
    CHECK_INT(next(RA_UNASSIGN, RS_IN_PROGRESS), RS_SUBMITTED);
    CHECK_STR(repair_action_name(RA_UNASSIGN), "unassign");
    for (repair_state_t s = RS_SUBMITTED; s <= RS_ACCEPTED; s++) {
        CHECK_INT(next(RA_CANCEL, s), RS_CANCELLED);
        CHECK(repair_state_cancellable(s));
    }
}

/* Every (action, state) pair not listed above is refused. */
static void test_everything_else_is_refused(void)
{
    int allowed = 0;
    for (int a = 0; a < RA__COUNT; a++)
        for (int s = 0; s < RS__COUNT; s++)
            allowed += next((repair_action_t)a, (repair_state_t)s) != RS__COUNT;
    CHECK_INT(allowed, 5 + 1 + 2 + 3 + 3 + 3); /* happy path, reopen, decline x2, assign x3, cancel x3, unassign x3 */
    CHECK_INT(next(RA_CANCEL, RS_IN_PROGRESS), RS__COUNT);
    CHECK(!repair_state_cancellable(RS_IN_PROGRESS));
    CHECK_INT(next(RA_RATE, RS_CLOSED), RS__COUNT); /* rated once */
    CHECK_INT(next(RA_REOPEN, RS_CLOSED), RS__COUNT);
    CHECK_INT(next(RA_ACCEPT, RS_CANCELLED), RS__COUNT);
    CHECK_INT(next(RA_ASSIGN, RS_IN_PROGRESS), RS__COUNT);
    CHECK_INT(next(RA_UNASSIGN, RS_RESOLVED), RS__COUNT);
    CHECK_INT(next((repair_action_t)99, RS_SUBMITTED), RS__COUNT);
    CHECK_INT(next(RA_ACCEPT, (repair_state_t)99), RS__COUNT);
}

static void test_names_and_labels(void)
{
    repair_state_t s;
    for (int i = 0; i < RS__COUNT; i++) {
        CHECK_INT(repair_state_parse(repair_state_name((repair_state_t)i), &s), 0);
        CHECK_INT(s, i);
    }
    CHECK_INT(repair_state_parse("done", &s), -1);
    CHECK_INT(repair_state_parse(NULL, &s), -1);
    CHECK_STR(repair_state_label(RS_SUBMITTED), "已受理");
    CHECK_STR(repair_state_label(RS_DISPATCHED), "已派单");
    CHECK_STR(repair_state_label(RS_IN_PROGRESS), "处理中");
    CHECK_STR(repair_state_label(RS_RESOLVED), "待评价");
    CHECK_STR(repair_state_label(RS_CLOSED), "已完成");
    CHECK_STR(repair_action_name(RA_REOPEN), "reopen");
    CHECK_STR(repair_clock_label(RC_ARRIVE), "到场");
}

static void test_clocks_stop_at_their_step(void)
{
    CHECK(repair_clock_running(RC_ACCEPT, RS_SUBMITTED));
    CHECK(repair_clock_running(RC_ACCEPT, RS_DISPATCHED));
    CHECK(!repair_clock_running(RC_ACCEPT, RS_ACCEPTED));
    CHECK(repair_clock_running(RC_ARRIVE, RS_ACCEPTED));
    CHECK(!repair_clock_running(RC_ARRIVE, RS_IN_PROGRESS));
    CHECK(repair_clock_running(RC_RESOLVE, RS_IN_PROGRESS));
    CHECK(!repair_clock_running(RC_RESOLVE, RS_RESOLVED));
    for (int k = 0; k < RC__COUNT; k++) {
        CHECK(!repair_clock_running((repair_clock_t)k, RS_CLOSED));
        CHECK(!repair_clock_running((repair_clock_t)k, RS_CANCELLED));
    }
}

static void test_cursor_round_trip(void)
{
    long long ids[] = {1, 9, 10, 123, 4567, 1234567890123LL};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        char cur[64];
        long long back = 0;
        CHECK_INT(repair_cursor_encode(ids[i], cur, sizeof(cur)), 0);
        CHECK_INT(repair_cursor_decode(cur, &back), 0);
        CHECK_INT(back, ids[i]);
    }
    char tiny[4];
    CHECK_INT(repair_cursor_encode(123456, tiny, sizeof(tiny)), -1);
}

static void test_cursor_rejects_foreign_text(void)
{
    long long id;
    CHECK_INT(repair_cursor_decode("", &id), -1);
    CHECK_INT(repair_cursor_decode("123", &id), -1);    /* not base64url of r:<id> */
    CHECK_INT(repair_cursor_decode("bm9wZQ", &id), -1); /* "nope" */
    CHECK_INT(repair_cursor_decode("cjow", &id), -1);   /* "r:0" */
    CHECK_INT(repair_cursor_decode("cjotMQ", &id), -1); /* "r:-1" */
    CHECK_INT(repair_cursor_decode("cjox!!", &id), -1);
    CHECK_INT(repair_cursor_decode("cjoxMg", &id), 0); /* "r:12" */
    CHECK_INT(id, 12);
}

static void test_percentile_and_mean(void)
{
    long long v[] = {10, 20, 30, 40, 50, 60, 70, 80, 90, 100};
    CHECK_INT(repair_percentile(v, 10, 90), 90);
    CHECK_INT(repair_percentile(v, 10, 100), 100);
    CHECK_INT(repair_percentile(v, 10, 50), 50);
    CHECK_INT(repair_percentile(v, 1, 90), 10);
    CHECK_INT(repair_percentile(v, 2, 90), 20); /* rank ceil(1.8) = 2 */
    CHECK_INT(repair_percentile(v, 0, 90), 0);
    CHECK_INT(repair_mean(v, 10), 55);
    long long w[] = {1, 2};
    CHECK_INT(repair_mean(w, 2), 2); /* 1.5 rounds up */
    CHECK_INT(repair_mean(w, 0), 0);
}

int main(void)
{
    RUN(test_happy_path);
    RUN(test_side_paths);
    RUN(test_everything_else_is_refused);
    RUN(test_names_and_labels);
    RUN(test_clocks_stop_at_their_step);
    RUN(test_cursor_round_trip);
    RUN(test_cursor_rejects_foreign_text);
    RUN(test_percentile_and_mean);
    return TEST_REPORT();
}
