/* The call runner (gateway/call.c): typed steps, the route's body check,
 * the per-call deadline on a fake clock, the WeChat failure mapping and the
 * input and state helpers. Database steps run against a server in
 * tests/db/call_db_steps.c. */
#include <stdlib.h>

#include "call_internal.h"
#include "config.h"
#include "json_util.h"
#include "test.h"

static gw_config_t cfg = {.call_deadline_ms = 1000, .json_max_bytes = 65536, .json_max_depth = 16};
static long long fake_now;
static long long fake_clock(void)
{
    return fake_now;
}

static int ran_a, ran_b, ran_check;

static void step_b(gw_call_t *c)
{
    ran_b++;
    call_ok(c, 200, NULL);
}

static void step_a(gw_call_t *c)
{
    ran_a++;
    fake_now += 600; /* a slow step */
    call_then_cpu(c, step_b);
}

static void step_to_wechat(gw_call_t *c)
{
    ran_a++;
    call_then_wechat(c, step_b);
}

static void step_without_result(gw_call_t *c)
{
    (void)c;
    ran_a++;
}

static gw_call_t *new_call(void)
{
    ran_a = ran_b = ran_check = 0;
    fake_now = 5000;
    gw_call_t *c = call_new();
    call_start_clock(c);
    return c;
}

static void test_steps_on_one_pool_run_inline(void)
{
    gw_call_t *c = new_call();
    call_then_cpu(c, step_a);
    CHECK_INT(c->next_pool, POOL_CPU);
    call_run_on_worker(c, POOL_CPU, NULL);
    CHECK_INT(ran_a, 1);
    CHECK_INT(ran_b, 1);
    CHECK_INT(c->status, 200);
    call_free(c);
}

static void test_a_step_for_another_pool_is_left_queued(void)
{
    gw_call_t *c = new_call();
    call_then_cpu(c, step_to_wechat);
    call_run_on_worker(c, POOL_CPU, NULL);
    CHECK_INT(ran_a, 1);
    CHECK_INT(ran_b, 0);
    CHECK(c->next == step_b);
    CHECK_INT(c->next_pool, POOL_WECHAT);
    CHECK_INT(c->status, 0);
    call_free(c);
}

static void test_a_step_without_a_result_is_a_500(void)
{
    gw_call_t *c = new_call();
    call_then_loop(c, step_without_result);
    call_run_on_worker(c, POOL_LOOP, NULL);
    CHECK_INT(c->status, 500);
    CHECK_INT(c->err, ERR_INTERNAL);
    call_free(c);
}

static void db_step(gw_call_t *c, db_conn_t *db)
{
    (void)c;
    (void)db;
}

static void test_a_db_step_is_queued_on_the_db_pool(void)
{
    gw_call_t *c = new_call();
    call_then_db(c, db_step);
    CHECK_INT(c->next_pool, POOL_DB);
    CHECK(c->next != NULL);
    CHECK(c->internal->next_db == db_step);
    call_then_cpu(c, step_b); /* naming another step forgets it */
    CHECK(c->internal->next_db == NULL);
    call_free(c);
}

static void test_the_deadline_skips_a_step_that_would_start_late(void)
{
    gw_call_t *c = new_call();
    CHECK_INT(call_remaining_ms(c), 1000);
    call_then_cpu(c, step_a);
    fake_now += 500; /* step_a starts at 500 ms and takes 600: step_b would start at 1100 */
    call_run_on_worker(c, POOL_CPU, NULL);
    CHECK_INT(ran_a, 1);
    CHECK_INT(ran_b, 0);
    CHECK_INT(c->status, 503);
    CHECK_INT(c->err, ERR_DEADLINE_EXCEEDED);
    CHECK_INT(c->retry_after_s, 1);
    CHECK(c->next == NULL);
    CHECK(call_remaining_ms(c) < 0);
    call_free(c);
}

static void test_the_deadline_is_checked_before_the_first_step_too(void)
{
    gw_call_t *c = new_call();
    call_then_cpu(c, step_b);
    fake_now += 1000; /* exactly at the deadline: too late */
    call_run_on_worker(c, POOL_CPU, NULL);
    CHECK_INT(ran_b, 0);
    CHECK_INT(c->err, ERR_DEADLINE_EXCEEDED);
    call_free(c);

    c = new_call();
    call_then_cpu(c, step_b);
    fake_now += 999;
    call_run_on_worker(c, POOL_CPU, NULL);
    CHECK_INT(ran_b, 1);
    CHECK_INT(c->status, 200);
    call_free(c);
}

/* ---- the route's body check ---- */

typedef struct {
    char title[32];
} form_t;

static void check_form(gw_call_t *c)
{
    ran_check++;
    const char *title = json_string_or_fail(c, c->body, "title", 1, 20);
    if (!title)
        return;
    form_t *f = call_state_new_or_fail(c, 1, sizeof(*f), free);
    if (!f)
        return;
    utf8_copy(f->title, sizeof(f->title), title);
}

static void use_form(gw_call_t *c)
{
    ran_b++;
    const form_t *f = c->state;
    call_ok(c, 200, cJSON_CreateString(f->title));
}

static const route_t form_route = {"POST", "/forms", 0, BODY_JSON, CPU_STEP(use_form), BODY_CHECK(check_form)};

static gw_call_t *form_call(const char *body)
{
    gw_call_t *c = new_call();
    c->route = &form_route;
    snprintf(c->method, sizeof(c->method), "POST");
    c->content_type = strdup("application/json");
    c->raw = strdup(body);
    c->raw_len = strlen(body);
    c->internal->body_pending = 1;
    call_then_route(c);
    return c;
}

static void test_the_body_check_runs_on_the_loop_before_the_first_step(void)
{
    gw_call_t *c = form_call("{\"title\": \"漏水\"}");
    CHECK_INT(c->next_pool, POOL_LOOP);
    call_run_on_worker(c, POOL_LOOP, NULL); /* the loop's part: parse, check, queue */
    CHECK_INT(ran_check, 1);
    CHECK(c->body != NULL && c->raw == NULL);
    CHECK_INT(c->next_pool, POOL_CPU);
    CHECK_INT(ran_b, 0);
    call_run_on_worker(c, POOL_CPU, NULL);
    CHECK_INT(ran_b, 1);
    CHECK_STR(cJSON_GetStringValue(c->data), "漏水");
    call_free(c);
}

static void test_a_failed_body_check_answers_before_any_worker_step(void)
{
    gw_call_t *c = form_call("{\"title\": 5}");
    call_run_on_worker(c, POOL_LOOP, NULL);
    CHECK_INT(ran_check, 1);
    CHECK_INT(c->status, 400);
    CHECK_STR(c->err_field, "title");
    CHECK(c->next == NULL);
    call_free(c);

    c = form_call("{not json");
    call_run_on_worker(c, POOL_LOOP, NULL);
    CHECK_INT(ran_check, 0); /* the body is judged first */
    CHECK_INT(c->err, ERR_INVALID_JSON);
    call_free(c);
}

static void test_a_route_without_a_check_starts_with_its_step(void)
{
    static const route_t r = {"GET", "/x", 0, BODY_NONE, CPU_STEP(step_b)};
    gw_call_t *c = new_call();
    c->route = &r;
    call_then_route(c);
    CHECK(c->next == step_b);
    CHECK_INT(c->next_pool, POOL_CPU);
    call_free(c);
}

/* ---- WeChat failures ---- */

static void test_wechat_failures_map_to_answers(void)
{
    struct {
        int errcode;
        int status;
        err_code_t err;
        const char *field;
        int retry_after;
    } cases[] = {
        {40029, 401, ERR_WECHAT_CODE_INVALID, "code", 0},
        {40163, 401, ERR_WECHAT_CODE_USED, "code", 0},
        {40226, 403, ERR_WECHAT_USER_BLOCKED, "", 0},
        {45011, 429, ERR_RATE_LIMITED, "", 60},
        {-1, 503, ERR_WECHAT_UNAVAILABLE, "", 1},
        {WX_ERR_TIMEOUT, 503, ERR_WECHAT_UNAVAILABLE, "", 1},
        {WX_ERR_DEADLINE, 503, ERR_DEADLINE_EXCEEDED, "", 1},
        {40013, 502, ERR_WECHAT_ERROR, "", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        gw_call_t *c = new_call();
        wx_status_t st = {.errcode = cases[i].errcode};
        call_fail_wechat(c, &st, "code");
        CHECK_INT(c->status, cases[i].status);
        CHECK_INT(c->err, cases[i].err);
        CHECK_STR(c->err_field, cases[i].field);
        CHECK_INT(c->retry_after_s, cases[i].retry_after);
        char want[32];
        snprintf(want, sizeof(want), "(WeChat %d)", cases[i].errcode);
        CHECK(strstr(c->err_message, want) != NULL);
        call_free(c);
    }
}

/* ---- inputs and state ---- */

static void test_path_ids(void)
{
    gw_call_t *c = new_call();
    c->params.count = 2;
    c->params.name[0] = "id/accept";
    snprintf(c->params.value[0], sizeof(c->params.value[0]), "42");
    c->params.name[1] = "variant";
    snprintf(c->params.value[1], sizeof(c->params.value[1]), "0");
    long long id = 0;
    CHECK_INT(call_param_id_or_fail(c, "id", &id), 0);
    CHECK_INT(id, 42);
    CHECK_INT(c->status, 0);
    CHECK_INT(call_param_id(c, "variant", &id), -1); /* the deprecated name is the same function */
    CHECK_INT(c->status, 404);
    call_free(c);

    const char *bad[] = {"abc", "-1", "12x", "99999999999999999999"};
    for (int i = 0; i < 4; i++) {
        c = new_call();
        c->params.count = 1;
        c->params.name[0] = "id";
        snprintf(c->params.value[0], sizeof(c->params.value[0]), "%s", bad[i]);
        CHECK_INT(call_param_id_or_fail(c, "id", &id), -1);
        CHECK_INT(c->err, ERR_NOT_FOUND);
        call_free(c);
    }
}

static int freed;
static void count_free(void *p)
{
    freed++;
    free(p);
}

static void test_state_is_replaced_and_freed_with_the_call(void)
{
    freed = 0;
    gw_call_t *c = new_call();
    int *a = call_state_new_or_fail(c, 4, sizeof(int), count_free);
    CHECK(a && a[3] == 0);
    int *b = call_state_new_or_fail(c, 1, sizeof(int), count_free);
    CHECK(b && c->state == b);
    CHECK_INT(freed, 1);
    CHECK_INT(call_keep(c, strdup("kept until the call is freed")), 0);
    call_free(c);
    CHECK_INT(freed, 2);
}

static void test_results(void)
{
    gw_call_t *c = new_call();
    call_then_cpu(c, step_b);
    call_ok_list(c, cJSON_CreateArray(), "AQEAAAAAAAAAew");
    CHECK_INT(c->status, 200);
    CHECK(c->next == NULL);
    CHECK_STR(c->next_cursor, "AQEAAAAAAAAAew");
    call_fail(c, ERR_CONFLICT, "state", "already %s", "closed");
    CHECK_INT(c->status, 409);
    CHECK_STR(c->err_message, "already closed");
    CHECK_INT(c->retry_after_s, 0);
    call_fail(c, ERR_OVERLOADED, NULL, NULL);
    CHECK_STR(c->err_message, "server is busy; retry later");
    CHECK_INT(c->retry_after_s, 1);
    call_free(c);
}

int main(void)
{
    gw_cfg = &cfg;
    call_set_clock(fake_clock);
    RUN(test_steps_on_one_pool_run_inline);
    RUN(test_a_step_for_another_pool_is_left_queued);
    RUN(test_a_step_without_a_result_is_a_500);
    RUN(test_a_db_step_is_queued_on_the_db_pool);
    RUN(test_the_deadline_skips_a_step_that_would_start_late);
    RUN(test_the_deadline_is_checked_before_the_first_step_too);
    RUN(test_the_body_check_runs_on_the_loop_before_the_first_step);
    RUN(test_a_failed_body_check_answers_before_any_worker_step);
    RUN(test_a_route_without_a_check_starts_with_its_step);
    RUN(test_wechat_failures_map_to_answers);
    RUN(test_path_ids);
    RUN(test_state_is_replaced_and_freed_with_the_call);
    RUN(test_results);
    call_set_clock(NULL);
    return TEST_REPORT();
}
