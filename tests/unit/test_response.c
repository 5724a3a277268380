/* response.c: the one envelope and the response head, on a request made in
 * process (an h2o_req_t on a memory pool). */
#include <stdlib.h>

#include "call_internal.h"
#include "test.h"

typedef struct {
    h2o_req_t req;
    char *body;
    char fallback[160];
    size_t len;
    cJSON *json;
} answer_t;

static void answer(answer_t *a, gw_call_t *c)
{
    memset(&a->req, 0, sizeof(a->req));
    h2o_mem_init_pool(&a->req.pool);
    a->body = response_prepare(&a->req, c, &a->len, a->fallback, sizeof(a->fallback));
    a->json = cJSON_ParseWithLength(a->body ? a->body : a->fallback, a->len);
}

static void answer_free(answer_t *a)
{
    cJSON_Delete(a->json);
    free(a->body);
    h2o_mem_clear_pool(&a->req.pool);
}

static const char *header(answer_t *a, const h2o_token_t *token)
{
    static char out[128];
    ssize_t i = h2o_find_header(&a->req.res.headers, token, -1);
    if (i < 0)
        return NULL;
    h2o_iovec_t v = a->req.res.headers.entries[i].value;
    snprintf(out, sizeof(out), "%.*s", (int)v.len, v.base);
    return out;
}

static gw_call_t *new_call(void)
{
    gw_call_t *c = call_new();
    snprintf(c->request_id, sizeof(c->request_id), "0123abcd000000000001");
    return c;
}

static void test_a_success_has_data_and_the_request_id(void)
{
    gw_call_t *c = new_call();
    cJSON *d = cJSON_CreateObject();
    cJSON_AddNumberToObject(d, "id", 7);
    call_ok(c, 201, d);
    answer_t a;
    answer(&a, c);
    CHECK_INT(a.req.res.status, 201);
    CHECK_INT(a.req.res.content_length, a.len);
    CHECK_INT(cJSON_GetObjectItem(cJSON_GetObjectItem(a.json, "data"), "id")->valueint, 7);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(a.json, "request_id")), "0123abcd000000000001");
    CHECK(!cJSON_HasObjectItem(a.json, "next_cursor") && !cJSON_HasObjectItem(a.json, "error"));
    CHECK_STR(header(&a, H2O_TOKEN_CONTENT_TYPE), "application/json; charset=utf-8");
    CHECK_STR(header(&a, H2O_TOKEN_CACHE_CONTROL), "no-store");
    CHECK(header(&a, H2O_TOKEN_RETRY_AFTER) == NULL);
    ssize_t rid = h2o_find_header_by_str(&a.req.res.headers, H2O_STRLIT("x-request-id"), -1);
    CHECK(rid >= 0 && a.req.res.headers.entries[rid].value.len == 20);
    answer_free(&a);
    call_free(c);
}

static void test_a_list_always_has_next_cursor(void)
{
    gw_call_t *c = new_call();
    call_ok_list(c, cJSON_CreateArray(), NULL);
    answer_t a;
    answer(&a, c);
    CHECK(cJSON_IsArray(cJSON_GetObjectItem(a.json, "data")));
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(a.json, "next_cursor")));
    answer_free(&a);
    call_free(c);

    c = new_call();
    call_ok_list(c, cJSON_CreateArray(), "AQEAAAAAAAAAew");
    snprintf(c->cache_control, sizeof(c->cache_control), "public, max-age=60");
    answer(&a, c);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(a.json, "next_cursor")), "AQEAAAAAAAAAew");
    CHECK_STR(header(&a, H2O_TOKEN_CACHE_CONTROL), "public, max-age=60");
    answer_free(&a);
    call_free(c);
}

static void test_an_error_has_code_message_and_field(void)
{
    gw_call_t *c = new_call();
    call_fail(c, ERR_INVALID_FIELD, "limit", "limit must be an integer from 1 to 100");
    answer_t a;
    answer(&a, c);
    CHECK_INT(a.req.res.status, 400);
    cJSON *e = cJSON_GetObjectItem(a.json, "error");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(e, "code")), "INVALID_FIELD");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(e, "message")), "limit must be an integer from 1 to 100");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(e, "field")), "limit");
    CHECK(!cJSON_HasObjectItem(a.json, "data"));
    CHECK(cJSON_HasObjectItem(a.json, "request_id"));
    answer_free(&a);
    call_free(c);

    c = new_call(); /* the default message, no field, details */
    call_fail(c, ERR_UNPROCESSABLE, NULL, NULL);
    c->err_details = cJSON_CreateArray();
    cJSON_AddItemToArray(c->err_details, cJSON_CreateString("row 2"));
    answer(&a, c);
    e = cJSON_GetObjectItem(a.json, "error");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(e, "message")), "the request cannot be processed");
    CHECK(!cJSON_HasObjectItem(e, "field"));
    CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(e, "details")), 1);
    CHECK(c->err_details == NULL); /* handed to the envelope */
    answer_free(&a);
    call_free(c);
}

static void test_503_carries_retry_after_and_405_allow(void)
{
    gw_call_t *c = new_call();
    call_fail(c, ERR_DEADLINE_EXCEEDED, NULL, NULL);
    answer_t a;
    answer(&a, c);
    CHECK_INT(a.req.res.status, 503);
    CHECK_STR(header(&a, H2O_TOKEN_RETRY_AFTER), "1");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(a.json, "error"), "code")),
              "DEADLINE_EXCEEDED");
    answer_free(&a);
    call_free(c);

    c = new_call();
    snprintf(c->allow, sizeof(c->allow), "GET, POST");
    call_fail(c, ERR_METHOD_NOT_ALLOWED, NULL, NULL);
    answer(&a, c);
    CHECK_INT(a.req.res.status, 405);
    CHECK_STR(header(&a, H2O_TOKEN_ALLOW), "GET, POST");
    answer_free(&a);
    call_free(c);
}

static void test_a_raw_answer_is_handed_over(void)
{
    gw_call_t *c = new_call();
    char *png = malloc(4);
    memcpy(png, "\x89PNG", 4);
    call_ok_raw(c, "image/png", png, 4);
    answer_t a;
    answer(&a, c);
    CHECK(a.body == png && a.len == 4);
    CHECK(c->raw_response == NULL);
    CHECK_STR(header(&a, H2O_TOKEN_CONTENT_TYPE), "image/png");
    CHECK_INT(a.req.res.status, 200);
    answer_free(&a);
    call_free(c);
}

static void test_a_call_without_a_result_is_a_500(void)
{
    gw_call_t *c = new_call();
    answer_t a;
    answer(&a, c);
    CHECK_INT(a.req.res.status, 500);
    answer_free(&a);
    call_free(c);
}

int main(void)
{
    RUN(test_a_success_has_data_and_the_request_id);
    RUN(test_a_list_always_has_next_cursor);
    RUN(test_an_error_has_code_message_and_field);
    RUN(test_503_carries_retry_after_and_405_allow);
    RUN(test_a_raw_answer_is_handed_over);
    RUN(test_a_call_without_a_result_is_a_500);
    return TEST_REPORT();
}
