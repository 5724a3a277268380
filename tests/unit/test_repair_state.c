/* test_repair_state.c: the repair ticket's state machine, its clocks and
 * labels, the list item rendered from named columns, and the statistics
 * arithmetic (no database). */
#include <stdlib.h>

#include "domain/repairs/repair_state.h"
#include "domain/repairs/repair_view.h"
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
    /* happy path, reopen x2 (resolved, closed), decline x2, assign x3, cancel x3, unassign x3 */
    CHECK_INT(allowed, 5 + 2 + 2 + 3 + 3 + 3);
    CHECK_INT(next(RA_CANCEL, RS_IN_PROGRESS), RS__COUNT);
    CHECK(!repair_state_cancellable(RS_IN_PROGRESS));
    CHECK_INT(next(RA_RATE, RS_CLOSED), RS__COUNT);       /* rated once */
    CHECK_INT(next(RA_REOPEN, RS_CLOSED), RS_DISPATCHED); /* closed unrated, or an unsatisfied follow-up */
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

static void test_state_names_list(void)
{
    int n = 0;
    for (; repair_state_names[n]; n++)
        CHECK_STR(repair_state_names[n], repair_state_name((repair_state_t)n));
    CHECK_INT(n, RS__COUNT);
}

/* A ticket the service desk filed for the owner: filed_for_you, the
 * channel's label, and the desk member's name fallback (客服). */
static void test_item_json_filed_for_the_owner(void)
{
    const char *names[] = {"id", "state", "filed_for.channel", "filed_for.by.id", "filed_for.by.name"};
    unsigned char kinds[] = {DB_COL_INT, DB_COL_TEXT, DB_COL_TEXT, DB_COL_INT, DB_COL_TEXT};
    char *cells[] = {"9", "submitted", "hotline", "4", NULL};
    size_t lens[] = {1, 9, 7, 1, 0};
    db_rows_t r = {.nrows = 1, .ncols = 5, .cells = cells, .lens = lens, .names = names, .kinds = kinds};
    cJSON *a = repair_item_json(&r, 0, NULL);
    char *ta = cJSON_PrintUnformatted(a);
    CHECK_STR(ta,
              "{\"id\":9,\"state\":\"submitted\",\"filed_for\":{\"channel\":\"hotline\",\"by\":{\"id\":4,"
              "\"name\":\"客服\"},\"channel_label\":\"客服热线\"},\"state_label\":\"已受理\",\"filed_for_you\":true}");
    CHECK_STR(repair_channel_label("front_desk"), "前台");
    CHECK_STR(repair_channel_label("fax"), "fax");
    CHECK_STR(repair_channel_label(NULL), "");
    cJSON_free(ta);
    cJSON_Delete(a);
}

/* A list item is the row as selected, plus the state's label and the
 * engineer's name when they have none; an unassigned engineer is null. */
static void test_item_json_from_named_columns(void)
{
    const char *names[] = {"id", "state", "engineer.id", "engineer.name"};
    unsigned char kinds[] = {DB_COL_INT, DB_COL_TEXT, DB_COL_INT, DB_COL_TEXT};
    char *cells[] = {"7", "accepted", "3", "", "8", "resolved", NULL, NULL};
    size_t lens[] = {1, 8, 1, 0, 1, 8, 0, 0};
    db_rows_t r = {.nrows = 2, .ncols = 4, .cells = cells, .lens = lens, .names = names, .kinds = kinds};
    cJSON *a = repair_item_json(&r, 0, NULL), *b = repair_item_json(&r, 1, NULL);
    char *ta = cJSON_PrintUnformatted(a), *tb = cJSON_PrintUnformatted(b);
    CHECK_STR(ta, "{\"id\":7,\"state\":\"accepted\",\"engineer\":{\"id\":3,\"name\":\"工程师\"},"
                  "\"state_label\":\"已接单\",\"filed_for_you\":false}");
    CHECK_STR(tb, "{\"id\":8,\"state\":\"resolved\",\"engineer\":null,\"state_label\":\"待评价\","
                  "\"filed_for_you\":false}");
    cJSON_free(ta);
    cJSON_free(tb);
    cJSON_Delete(a);
    cJSON_Delete(b);
}

int main(void)
{
    RUN(test_happy_path);
    RUN(test_side_paths);
    RUN(test_everything_else_is_refused);
    RUN(test_names_and_labels);
    RUN(test_clocks_stop_at_their_step);
    RUN(test_state_names_list);
    RUN(test_item_json_from_named_columns);
    RUN(test_item_json_filed_for_the_owner);
    return TEST_REPORT();
}
