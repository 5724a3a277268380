/* Query parameters and the paging contract (gateway/query.c, base64url.c). */
#include <limits.h>
#include <stdlib.h>

#include "base64url.h"
#include "call.h"
#include "query.h"
#include "test.h"

static gw_call_t *call_with_query(const char *query)
{
    gw_call_t *c = call_new();
    c->query = query ? strdup(query) : NULL;
    return c;
}

/* The call failed with 400 INVALID_FIELD naming `field`. */
static int failed_on(const gw_call_t *c, const char *field)
{
    return c->status == 400 && c->err == ERR_INVALID_FIELD && !strcmp(c->err_field, field) &&
           strstr(c->err_message, field) != NULL;
}

static void test_b64url_round_trip_and_strictness(void)
{
    unsigned char in[5] = {0xfb, 0xff, 0x00, 0x10, 0x7f}, out[8];
    char text[16];
    for (size_t n = 0; n <= sizeof(in); n++) {
        CHECK_INT(b64url_encode(in, n, text, sizeof(text)), B64URL_LEN(n));
        CHECK_INT(b64url_decode(text, strlen(text), out, sizeof(out)), n);
        CHECK(memcmp(in, out, n) == 0);
    }
    CHECK_STR(text, "-_8AEH8");
    CHECK_INT(b64url_encode(in, 5, text, 7), -1);                  /* no room for the NUL */
    CHECK_INT(b64url_decode("-_8AEH8=", 8, out, sizeof(out)), -1); /* padding */
    CHECK_INT(b64url_decode("+/8A", 4, out, sizeof(out)), -1);     /* plain base64's alphabet */
    CHECK_INT(b64url_decode("A", 1, out, sizeof(out)), -1);        /* 4n+1 characters */
    CHECK_INT(b64url_decode("AB", 2, out, sizeof(out)), -1);       /* unused bits set: not canonical */
    CHECK_INT(b64url_decode("AA", 2, out, sizeof(out)), 1);
    CHECK_INT(b64url_decode("AAAAAAAAAAAA", 12, out, 8), -1); /* does not fit */
}

static void test_cursor_round_trip(void)
{
    const long long keys[3] = {LLONG_MIN, -1, LLONG_MAX};
    char text[PAGE_CURSOR_MAX + 1];
    long long back[3];
    for (int n = 1; n <= 3; n++) {
        CHECK_INT(page_cursor_encode(keys + 3 - n, n, text, sizeof(text)), 0);
        CHECK(strlen(text) <= PAGE_CURSOR_MAX);
        CHECK_INT(page_cursor_decode(text, n, back), 0);
        for (int k = 0; k < n; k++)
            CHECK(back[k] == keys[3 - n + k]);
    }
    long long id = 123;
    CHECK_INT(page_cursor_encode(&id, 1, text, sizeof(text)), 0);
    CHECK_STR(text, "AQEAAAAAAAAAew"); /* the example of miniprogram-api.md */
    CHECK_INT(page_cursor_encode(keys, 0, text, sizeof(text)), -1);
    CHECK_INT(page_cursor_encode(keys, 4, text, sizeof(text)), -1);
    CHECK_INT(page_cursor_encode(keys, 3, text, 10), -1);
}

static void test_cursor_refuses_what_the_api_did_not_write(void)
{
    long long keys[3], two[2] = {1700000000000LL, 42};
    char text[PAGE_CURSOR_MAX + 1];
    CHECK_INT(page_cursor_encode(two, 2, text, sizeof(text)), 0);
    CHECK_INT(page_cursor_decode(text, 1, keys), -1); /* another list's number of keys */
    CHECK_INT(page_cursor_decode(text, 3, keys), -1);
    CHECK_INT(page_cursor_decode(text, 2, keys), 0);
    CHECK_INT(page_cursor_decode("812", 1, keys), -1); /* a raw id, the old form */
    CHECK_INT(page_cursor_decode("", 1, keys), -1);
    CHECK_INT(page_cursor_decode("cjox", 1, keys), -1);           /* base64url("r:1"), the old repair form */
    CHECK_INT(page_cursor_decode("AgEAAAAAAAAAew", 1, keys), -1); /* version 2 */
    CHECK_INT(page_cursor_decode("AQEAAAAAAAAAew==", 1, keys), -1);
    CHECK_INT(page_cursor_decode("AQEAAAAAAAAAex", 1, keys), -1); /* unused bits */
    CHECK_INT(page_cursor_decode("AQEAAAAAAAAAewAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 1, keys), -1);
    text[3] = '*';
    CHECK_INT(page_cursor_decode(text, 2, keys), -1);
}

static void test_page_defaults_and_limits(void)
{
    page_t p;
    gw_call_t *c = call_with_query(NULL);
    CHECK_INT(page_or_fail(c, 1, &p), 0);
    CHECK_INT(p.limit, PAGE_LIMIT_DEFAULT);
    CHECK_INT(p.has_cursor, 0);
    CHECK(page_key(&p, 0, PAGE_KEY_MAX) == PAGE_KEY_MAX);
    call_free(c);

    const char *good[] = {"limit=1", "limit=100", "a=1&limit=7&b=2", "limit=&cursor="};
    const int want[] = {1, 100, 7, PAGE_LIMIT_DEFAULT};
    for (int i = 0; i < 4; i++) {
        c = call_with_query(good[i]);
        CHECK_INT(page_or_fail(c, 1, &p), 0);
        CHECK_INT(p.limit, want[i]);
        CHECK_INT(c->status, 0);
        call_free(c);
    }
    const char *bad[] = {"limit=0",
                         "limit=101",
                         "limit=-1",
                         "limit=abc",
                         "limit=20x",
                         "limit=+5",
                         "limit=%2020",
                         "limit=0000000000000000000000000020",
                         "limit=99999999999999999999",
                         "limit=%00",
                         "limit=2%000"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        c = call_with_query(bad[i]);
        CHECK_INT(page_or_fail(c, 1, &p), -1);
        CHECK(failed_on(c, "limit"));
        call_free(c);
    }
}

static void test_page_cursor_parameter(void)
{
    page_t p;
    long long keys[2] = {1700000000123LL, 77};
    char text[PAGE_CURSOR_MAX + 1], query[128];
    page_cursor_encode(keys, 2, text, sizeof(text));
    snprintf(query, sizeof(query), "limit=5&cursor=%s", text);
    gw_call_t *c = call_with_query(query);
    CHECK_INT(page_or_fail(c, 2, &p), 0);
    CHECK_INT(p.has_cursor, 1);
    CHECK(page_key(&p, 0, 0) == keys[0] && page_key(&p, 1, 0) == keys[1]);
    CHECK(page_key(&p, 2, -5) == -5); /* beyond the list's keys */
    call_free(c);

    const char *bad[] = {"cursor=812", "cursor=AQEAAAAAAAAAew%3D", "cursor=%00", "cursor=AQEAAAAAAAAAew%00",
                         "cursor=AQEAAAAAAAAAewAQEAAAAAAAAAewAQEAAAAAAAAAew"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        c = call_with_query(bad[i]);
        CHECK_INT(page_or_fail(c, 2, &p), -1);
        CHECK(failed_on(c, "cursor"));
        call_free(c);
    }
}

/* A result as db_query would return it: id and name columns. */
typedef struct {
    db_rows_t r;
    char *cells[8];
    size_t lens[8];
    const char *names[2];
    unsigned char kinds[2];
} fake_rows_t;

static void fake_rows(fake_rows_t *f, int nrows)
{
    static char *ids[] = {"9", "8", "7", "6"}, *names[] = {"a", "b", "c", "d"};
    memset(f, 0, sizeof(*f));
    f->names[0] = "id";
    f->names[1] = "name";
    f->kinds[0] = DB_COL_INT;
    f->kinds[1] = DB_COL_TEXT;
    for (int i = 0; i < nrows; i++) {
        f->cells[2 * i] = ids[i];
        f->cells[2 * i + 1] = names[i];
        f->lens[2 * i] = f->lens[2 * i + 1] = 1;
    }
    f->r = (db_rows_t){
        .nrows = nrows, .ncols = 2, .cells = f->cells, .lens = f->lens, .names = f->names, .kinds = f->kinds};
}

static void test_page_respond_answers_a_page_and_its_cursor(void)
{
    static const char *const keys[] = {"id"};
    fake_rows_t f;
    page_t p = {.limit = 2, .nkeys = 1};
    fake_rows(&f, 3); /* limit + 1 rows: there is a next page */
    gw_call_t *c = call_with_query(NULL);
    page_respond(c, &p, &f.r, NULL, NULL, keys);
    CHECK_INT(c->status, 200);
    CHECK_INT(cJSON_GetArraySize(c->data), 2);
    CHECK_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(c->data, 1), "id")->valuestring, "8"); /* a raw number */
    CHECK_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(c->data, 1), "name")->valuestring, "b");
    long long back;
    CHECK(c->next_cursor && page_cursor_decode(c->next_cursor, 1, &back) == 0 && back == 8);
    call_free(c);

    fake_rows(&f, 2); /* exactly limit rows: the last page */
    c = call_with_query(NULL);
    page_respond(c, &p, &f.r, NULL, NULL, keys);
    CHECK_INT(cJSON_GetArraySize(c->data), 2);
    CHECK(c->next_cursor == NULL);
    call_free(c);
}

static void test_int_id_bool_time(void)
{
    long long v;
    int b;
    gw_call_t *c = call_with_query("n=-5&id=12&zero=0&flag=true&off=0&t=1700000000&big=99999999999999999999");
    CHECK_INT(query_int_or_fail(c, "n", -10, 10, 3, &v), 0);
    CHECK_INT(v, -5);
    CHECK_INT(query_int_or_fail(c, "missing", -10, 10, 3, &v), 0);
    CHECK_INT(v, 3);
    CHECK_INT(query_id_or_fail(c, "id", &v), 0);
    CHECK_INT(v, 12);
    CHECK_INT(query_id_or_fail(c, "missing", &v), 0);
    CHECK_INT(v, 0);
    CHECK_INT(query_bool_or_fail(c, "flag", 0, &b), 0);
    CHECK_INT(b, 1);
    CHECK_INT(query_bool_or_fail(c, "off", 1, &b), 0);
    CHECK_INT(b, 0);
    CHECK_INT(query_bool_or_fail(c, "missing", 1, &b), 0);
    CHECK_INT(b, 1);
    CHECK_INT(query_time_or_fail(c, "t", 0, &v), 0);
    CHECK_INT(v, 1700000000);
    CHECK_INT(c->status, 0);
    call_free(c);

    struct {
        const char *query, *name;
        int kind;
    } bad[] = {{"n=11", "n", 0},        {"n=", "x", -1},    {"big=99999999999999999999", "big", 0},
               {"id=0", "id", 1},       {"id=-3", "id", 1}, {"id=1e3", "id", 1},
               {"flag=yes", "flag", 2}, {"t=-1", "t", 3},   {"t=9999999999", "t", 3}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (bad[i].kind < 0)
            continue;
        c = call_with_query(bad[i].query);
        int rc = bad[i].kind == 0   ? query_int_or_fail(c, bad[i].name, -10, 10, 0, &v)
                 : bad[i].kind == 1 ? query_id_or_fail(c, bad[i].name, &v)
                 : bad[i].kind == 2 ? query_bool_or_fail(c, bad[i].name, 0, &b)
                                    : query_time_or_fail(c, bad[i].name, 0, &v);
        CHECK_INT(rc, -1);
        CHECK(failed_on(c, bad[i].name));
        call_free(c);
    }
}

static void test_int_value_answers_nothing(void)
{
    long long v = 7;
    gw_call_t *c = call_with_query("exp=1700000000&empty=&word=soon&neg=-1&nul=1%002&big=99999999999999999999&pad=007");
    CHECK_INT(query_int_value(c, "exp", 0, PAGE_KEY_MAX, &v), 1);
    CHECK_INT(v, 1700000000);
    CHECK_INT(query_int_value(c, "pad", 0, 10, &v), 1);
    CHECK_INT(v, 7);
    v = 5;
    CHECK_INT(query_int_value(c, "missing", 0, 10, &v), 0);
    CHECK_INT(query_int_value(c, "empty", 0, 10, &v), 0);
    CHECK_INT(v, 5); /* untouched unless 1 */
    CHECK_INT(query_int_value(c, "word", 0, 10, &v), -1);
    CHECK_INT(query_int_value(c, "neg", 0, 10, &v), -1);
    CHECK_INT(query_int_value(c, "nul", 0, 10, &v), -1);
    CHECK_INT(query_int_value(c, "big", 0, PAGE_KEY_MAX, &v), -1);
    CHECK_INT(query_int_value(c, "exp", 0, 10, &v), -1);
    CHECK_INT(v, 5);
    CHECK_INT(c->status, 0); /* nothing answered */
    CHECK_INT(c->err, ERR_NONE);
    call_free(c);
}

static void test_enum(void)
{
    static const char *const states[] = {"new", "contacted", "won", NULL};
    const char *v;
    gw_call_t *c = call_with_query("stage=won&bad=lost&empty=");
    CHECK_INT(query_enum_or_fail(c, "stage", states, NULL, &v), 0);
    CHECK(v == states[2]);
    CHECK_INT(query_enum_or_fail(c, "empty", states, "new", &v), 0);
    CHECK_STR(v, "new");
    CHECK_INT(query_enum_or_fail(c, "missing", states, NULL, &v), 0);
    CHECK(v == NULL);
    CHECK_INT(query_enum_or_fail(c, "bad", states, NULL, &v), -1);
    CHECK(failed_on(c, "bad"));
    CHECK(strstr(c->err_message, "new, contacted or won") != NULL);
    call_free(c);
}

static void test_string_is_decoded_checked_and_bounded(void)
{
    const char *v;
    gw_call_t *c =
        call_with_query("q=%E5%BC%A0+%E4%B8%89&ascii=abc&nul=a%00b&latin=%FF&long=%E5%BC%A0%E5%BC%A0%E5%BC%A0");
    CHECK_INT(query_string_or_fail(c, "q", 3, &v), 0);
    CHECK_STR(v, "张 三");
    CHECK_INT(query_string_or_fail(c, "ascii", 3, &v), 0);
    CHECK_STR(v, "abc");
    CHECK_INT(query_string_or_fail(c, "missing", 3, &v), 0);
    CHECK(v == NULL);
    CHECK_INT(query_string_or_fail(c, "long", 3, &v), 0); /* 3 characters of 3 bytes each */
    call_free(c);

    const char *bad[] = {"nul", "latin", "long", "ascii"};
    for (int i = 0; i < 4; i++) {
        c = call_with_query("ascii=abcd&nul=a%00b&latin=%FF&long=%E5%BC%A0%E5%BC%A0%E5%BC%A0%E5%BC%A0");
        CHECK_INT(query_string_or_fail(c, bad[i], 3, &v), -1);
        CHECK(failed_on(c, bad[i]));
        call_free(c);
    }
}

static void test_call_query_keeps_its_old_behaviour(void)
{
    char buf[4];
    gw_call_t *c = call_with_query("a=123456&flag&b=x%41");
    CHECK_INT(call_query(c, "a", buf, sizeof(buf)), 1);
    CHECK_STR(buf, "123"); /* cut, as it always was */
    CHECK_INT(call_query(c, "flag", buf, sizeof(buf)), 1);
    CHECK_STR(buf, "");
    CHECK_INT(call_query(c, "b", buf, sizeof(buf)), 1);
    CHECK_STR(buf, "xA");
    CHECK_INT(call_query(c, "fla", buf, sizeof(buf)), 0);
    call_free(c);
}

int main(void)
{
    RUN(test_b64url_round_trip_and_strictness);
    RUN(test_cursor_round_trip);
    RUN(test_cursor_refuses_what_the_api_did_not_write);
    RUN(test_page_defaults_and_limits);
    RUN(test_page_cursor_parameter);
    RUN(test_page_respond_answers_a_page_and_its_cursor);
    RUN(test_int_id_bool_time);
    RUN(test_int_value_answers_nothing);
    RUN(test_enum);
    RUN(test_string_is_decoded_checked_and_bounded);
    RUN(test_call_query_keeps_its_old_behaviour);
    return TEST_REPORT();
}
