/* test_router.c: path patterns with :params, 404 vs 405 with the Allow
 * list, trailing slashes, overlong segments, and the call_param helpers. */
#include <stdio.h>
#include <string.h>

#include <stdlib.h>

#include "call.h"
#include "roles.h"
#include "router.h"
#include "test.h"

static void step(struct gw_call *c)
{
    (void)c;
}

static const route_t routes[] = {
    {"GET", "/api/v1/repairs", 0, BODY_NONE, POOL_DB, step},
    {"POST", "/api/v1/repairs", 0, BODY_JSON, POOL_DB, step},
    {"GET", "/api/v1/repairs/:id", 0, BODY_NONE, POOL_DB, step},
    {"PUT", "/api/v1/repairs/:id", 0, BODY_JSON, POOL_DB, step},
    {"POST", "/api/v1/repairs/:id/photos", 0, BODY_RAW, POOL_DB, step},
    {"GET", "/api/v1/units/:unit/owners/:u", 0, BODY_NONE, POOL_DB, step},
    {"GET", "/api/v1/five/:a/:b/:c/:d/:e", 0, BODY_NONE, POOL_DB, step},
};

typedef struct {
    const route_t *route;
    route_params_t params;
    int status;
    char allow[64];
} match_t;

static match_t match(const char *method, const char *path)
{
    match_t m;
    memset(&m, 0, sizeof(m));
    m.status = -1;
    m.route = router_match(method, strlen(method), path, strlen(path), &m.params, &m.status, m.allow, sizeof(m.allow));
    return m;
}

static void setup(void)
{
    router_reset();
    router_add(routes, sizeof(routes) / sizeof(routes[0]));
}

static void test_static_routes_by_method(void)
{
    setup();
    match_t m = match("GET", "/api/v1/repairs");
    CHECK(m.route == &routes[0]);
    CHECK_INT(m.params.count, 0);
    m = match("POST", "/api/v1/repairs");
    CHECK(m.route == &routes[1]);
}

static void test_params_are_captured(void)
{
    setup();
    match_t m = match("GET", "/api/v1/repairs/42");
    CHECK(m.route == &routes[2]);
    CHECK_INT(m.params.count, 1);
    CHECK_STR(m.params.value[0], "42");
    m = match("POST", "/api/v1/repairs/7/photos");
    CHECK(m.route == &routes[4]);
    CHECK_STR(m.params.value[0], "7");
    m = match("GET", "/api/v1/units/12/owners/34");
    CHECK(m.route == &routes[5]);
    CHECK_INT(m.params.count, 2);
    CHECK_STR(m.params.value[0], "12");
    CHECK_STR(m.params.value[1], "34");
}

static void test_not_found(void)
{
    setup();
    const char *paths[] = {"/",
                           "",
                           "/api/v1/repair",
                           "/api/v1/repairsX",
                           "/api/v1/repairs/1/photos/2",
                           "/api/v1/units/1/owners",
                           "/api/v1/nope",
                           "/API/V1/REPAIRS"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        match_t m = match("GET", paths[i]);
        CHECK(m.route == NULL);
        CHECK_INT(m.status, 404);
        CHECK_STR(m.allow, "");
    }
}

static void test_method_not_allowed_lists_allowed_methods(void)
{
    setup();
    match_t m = match("DELETE", "/api/v1/repairs/42");
    CHECK(m.route == NULL);
    CHECK_INT(m.status, 405);
    CHECK_STR(m.allow, "GET, PUT");
    m = match("DELETE", "/api/v1/repairs");
    CHECK_INT(m.status, 405);
    CHECK_STR(m.allow, "GET, POST");
    m = match("GET", "/api/v1/repairs/42/photos");
    CHECK_INT(m.status, 405);
    CHECK_STR(m.allow, "POST");
    m = match("get", "/api/v1/repairs"); /* methods are case-sensitive */
    CHECK_INT(m.status, 405);
}

static void test_method_length_is_respected(void)
{
    setup();
    route_params_t p;
    int status = 0;
    char allow[32];
    const char *path = "/api/v1/repairs";
    /* "GETX" with length 3 is GET; "GE" is not. */
    CHECK(router_match("GETX", 3, path, strlen(path), &p, &status, allow, sizeof(allow)) == &routes[0]);
    CHECK(router_match("GE", 2, path, strlen(path), &p, &status, allow, sizeof(allow)) == NULL);
    CHECK_INT(status, 405);
    /* The path length is respected too: no reliance on a terminating NUL. */
    const char *longer = "/api/v1/repairs/42";
    CHECK(router_match("GET", 3, longer, strlen("/api/v1/repairs"), &p, &status, allow, sizeof(allow)) == &routes[0]);
}

static void test_trailing_slash_and_empty_segments(void)
{
    setup();
    CHECK_INT(match("GET", "/api/v1/repairs/").status, 404);
    CHECK_INT(match("GET", "/api/v1/repairs/42/").status, 404);
    CHECK_INT(match("POST", "/api/v1/repairs//photos").status, 404);
    CHECK_INT(match("GET", "/api/v1/units//owners/1").status, 404);
}

static void test_segment_length_limit(void)
{
    setup();
    char path[512], seg[300];
    memset(seg, '9', sizeof(seg));
    seg[127] = '\0'; /* the longest value that fits */
    snprintf(path, sizeof(path), "/api/v1/repairs/%s", seg);
    match_t m = match("GET", path);
    CHECK(m.route == &routes[2]);
    CHECK_INT(strlen(m.params.value[0]), 127);
    seg[127] = '9';
    seg[128] = '\0';
    snprintf(path, sizeof(path), "/api/v1/repairs/%s", seg);
    m = match("GET", path);
    CHECK(m.route == NULL);
    CHECK_INT(m.status, 404);
    seg[299] = '\0';
    snprintf(path, sizeof(path), "/api/v1/repairs/%s/photos", seg);
    CHECK(match("POST", path).route == NULL);
}

/* h2o decodes %00 in the normalised path: "/repairs/42%00x" must not be
 * read as repair 42 (found by tests/fuzz/fuzz_router.c). */
static void test_nul_in_a_segment_never_matches(void)
{
    setup();
    static const char path[] = "/api/v1/repairs/42\0x";
    route_params_t p;
    int status = 0;
    char allow[64];
    CHECK(router_match("GET", 3, path, sizeof(path) - 1, &p, &status, allow, sizeof(allow)) == NULL);
    CHECK_INT(status, 404);
    static const char photos[] = "/api/v1/repairs/\0/photos";
    CHECK(router_match("POST", 4, photos, sizeof(photos) - 1, &p, &status, allow, sizeof(allow)) == NULL);
    CHECK_INT(status, 404);
}

static void test_more_params_than_supported_never_match(void)
{
    setup();
    CHECK_INT(match("GET", "/api/v1/five/1/2/3/4/5").status, 404);
}

static void test_small_allow_buffer_is_terminated(void)
{
    setup();
    route_params_t p;
    int status = 0;
    char allow[5];
    memset(allow, 'x', sizeof(allow));
    const char *path = "/api/v1/repairs/1";
    CHECK(router_match("DELETE", 6, path, strlen(path), &p, &status, allow, sizeof(allow)) == NULL);
    CHECK_INT(status, 405);
    CHECK(memchr(allow, '\0', sizeof(allow)) != NULL);
    CHECK(strncmp(allow, "GET", 3) == 0);
}

static void test_call_params(void)
{
    setup();
    gw_call_t *c = call_new();
    match_t m = match("GET", "/api/v1/units/12/owners/34");
    c->params = m.params;
    CHECK_STR(call_param(c, "unit"), "12");
    CHECK_STR(call_param(c, "u"), "34"); /* not a prefix match on "unit" */
    CHECK(call_param(c, "un") == NULL);
    CHECK(call_param(c, "owner") == NULL);
    long long id = 0;
    CHECK_INT(call_param_id(c, "unit", &id), 0);
    CHECK_INT(id, 12);
    CHECK_INT(c->status, 0);

    const char *bad[] = {"abc", "0", "-3", "12x", "99999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        m = match("GET", "/api/v1/repairs/1");
        snprintf(m.params.value[0], sizeof(m.params.value[0]), "%s", bad[i]);
        c->params = m.params;
        c->status = 0;
        c->err = ERR_NONE;
        id = -1;
        CHECK_INT(call_param_id(c, "id", &id), -1);
        CHECK_INT(c->status, 404);
        CHECK_INT(c->err, ERR_NOT_FOUND);
        CHECK_INT(id, -1);
    }
    call_free(c);
}

static void test_call_query(void)
{
    gw_call_t *c = call_new();
    char out[16];
    CHECK_INT(call_query(c, "a", out, sizeof(out)), 0); /* no query at all */
    c->query = strdup("a=1&status=in%20progress&flag&name=a+b&ab=2&pct=%zz&long=0123456789abcdefXYZ");
    CHECK_INT(call_query(c, "a", out, sizeof(out)), 1);
    CHECK_STR(out, "1");
    CHECK_INT(call_query(c, "status", out, sizeof(out)), 1);
    CHECK_STR(out, "in progress");
    CHECK_INT(call_query(c, "flag", out, sizeof(out)), 1);
    CHECK_STR(out, "");
    CHECK_INT(call_query(c, "name", out, sizeof(out)), 1);
    CHECK_STR(out, "a b");
    CHECK_INT(call_query(c, "ab", out, sizeof(out)), 1);
    CHECK_STR(out, "2");
    CHECK_INT(call_query(c, "pct", out, sizeof(out)), 1);
    CHECK_STR(out, "%zz");
    CHECK_INT(call_query(c, "long", out, sizeof(out)), 1);
    CHECK_STR(out, "0123456789abcde"); /* cut to the buffer */
    CHECK_INT(call_query(c, "stat", out, sizeof(out)), 0);
    CHECK_INT(call_query(c, "missing", out, sizeof(out)), 0);
    call_free(c);
}

static void db_step(struct gw_call *c, struct db_conn *db)
{
    (void)c;
    (void)db;
}

static const route_t typed[] = {
    {"GET", "/api/v1/units", ROLE_ANY, BODY_NONE, DB_STEP(db_step)},
    {"POST", "/api/v1/auth/login", 0, BODY_JSON, WECHAT_STEP(step), BODY_CHECK(step), .rate = RATE_LOGIN,
     .wechat = WX_LOGIN},
    {"POST", "/api/v1/repairs/:id/assign", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_JSON, DB_STEP(db_step)},
};

static void test_step_macros_fill_the_route(void)
{
    CHECK_INT(typed[0].pool, POOL_DB);
    CHECK(typed[0].start_db == db_step && typed[0].start == NULL);
    CHECK_INT(typed[1].pool, POOL_WECHAT);
    CHECK(typed[1].start == step && typed[1].check == step && typed[1].start_db == NULL);
    CHECK_INT(typed[1].rate, RATE_LOGIN);
    CHECK_INT(typed[1].wechat, WX_LOGIN);
    CHECK_INT(typed[2].rate, RATE_DEFAULT);
}

static void test_routes_know_their_file(void)
{
    router_reset();
    ROUTES_REGISTER(typed);
    router_add(routes, 1); /* the older call records its caller's file too */
    CHECK_INT(router_count(), 4);
    const char *file = NULL;
    CHECK(router_route(0, &file) == &typed[0]);
    CHECK_STR(file, "tests/unit/test_router.c");
    CHECK(router_route(3, &file) == &routes[0]);
    CHECK_STR(file, "tests/unit/test_router.c");
    CHECK(router_route(4, &file) == NULL);
    router_add_file(routes + 1, 1, NULL);
    router_route(4, &file);
    CHECK_STR(file, "?");
}

static void test_the_route_index(void)
{
    router_reset();
    ROUTES_REGISTER(typed);
    router_add_file(routes, 1, "handlers/repairs.c");
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    router_print_index(out);
    fclose(out);
    CHECK_STR(text,
              "| method | path | roles | rate class | file |\n"
              "| --- | --- | --- | --- | --- |\n"
              "| `POST` | `/api/v1/auth/login` | public | login | `tests/unit/test_router.c` |\n"
              "| `GET` | `/api/v1/repairs` | public | default | `handlers/repairs.c` |\n"
              "| `POST` | `/api/v1/repairs/{id}/assign` | supervisor, admin | default | `tests/unit/test_router.c` |\n"
              "| `GET` | `/api/v1/units` | any | default | `tests/unit/test_router.c` |\n");
    free(text);
}

int main(void)
{
    RUN(test_static_routes_by_method);
    RUN(test_params_are_captured);
    RUN(test_not_found);
    RUN(test_method_not_allowed_lists_allowed_methods);
    RUN(test_method_length_is_respected);
    RUN(test_trailing_slash_and_empty_segments);
    RUN(test_segment_length_limit);
    RUN(test_nul_in_a_segment_never_matches);
    RUN(test_more_params_than_supported_never_match);
    RUN(test_small_allow_buffer_is_terminated);
    RUN(test_call_params);
    RUN(test_call_query);
    RUN(test_step_macros_fill_the_route);
    RUN(test_routes_know_their_file);
    RUN(test_the_route_index);
    router_reset();
    return TEST_REPORT();
}
