/* request.c with requests made in process: an h2o_req_t on a memory pool
 * and a connection whose callbacks report the peer and the socket. The
 * client's address (X-Forwarded-For only from trusted proxies on plain
 * listeners), the body capture and its judging (413, 415, 400). */
#include <arpa/inet.h>
#include <stdlib.h>

#include "call_internal.h"
#include "config.h"
#include "request.h"
#include "test.h"

static gw_config_t cfg = {
    .trusted_proxies = "10.0.0.2, 10.0.0.3", .json_max_bytes = 64, .json_max_depth = 3, .max_body_bytes = 1024};

/* ---- a connection and a request, in process ---- */

static struct sockaddr_storage peer;
static int peer_tls;
static h2o_socket_t tls_socket;

static socklen_t get_peername(h2o_conn_t *conn, struct sockaddr *sa)
{
    (void)conn;
    socklen_t len = peer.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    memcpy(sa, &peer, len);
    return len;
}

static h2o_socket_t *get_socket(h2o_conn_t *conn)
{
    (void)conn;
    return peer_tls ? &tls_socket : NULL;
}

static const h2o_conn_callbacks_t callbacks = {.get_peername = get_peername, .get_socket = get_socket};
static h2o_conn_t conn = {.callbacks = &callbacks};

static void set_peer(const char *ip, int tls)
{
    memset(&peer, 0, sizeof(peer));
    if (strchr(ip, ':')) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&peer;
        a->sin6_family = AF_INET6;
        inet_pton(AF_INET6, ip, &a->sin6_addr);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&peer;
        a->sin_family = AF_INET;
        inet_pton(AF_INET, ip, &a->sin_addr);
    }
    peer_tls = tls;
    /* Only ssl != NULL is read: the listener is TLS. */
    tls_socket.ssl = tls ? (struct st_h2o_socket_ssl_t *)&tls_socket : NULL;
}

static void req_init(h2o_req_t *req)
{
    memset(req, 0, sizeof(*req));
    h2o_mem_init_pool(&req->pool);
    req->conn = &conn;
}

static void add_header(h2o_req_t *req, const h2o_token_t *token, const char *value)
{
    h2o_add_header(&req->pool, &req->headers, token, NULL, value, strlen(value));
}

static const char *client_ip(const char *peer_ip, int tls, const char *xff)
{
    static char out[64];
    h2o_req_t req;
    req_init(&req);
    set_peer(peer_ip, tls);
    if (xff)
        add_header(&req, H2O_TOKEN_X_FORWARDED_FOR, xff);
    request_client_ip(&req, out, sizeof(out));
    h2o_mem_clear_pool(&req.pool);
    return out;
}

static void test_the_peer_is_the_client_unless_it_is_a_trusted_proxy(void)
{
    CHECK_STR(client_ip("192.0.2.7", 0, NULL), "192.0.2.7");
    CHECK_STR(client_ip("192.0.2.7", 0, "1.2.3.4"), "192.0.2.7"); /* anyone can send the header */
    CHECK_STR(client_ip("2001:db8::1", 0, "1.2.3.4"), "2001:db8::1");
    CHECK_STR(client_ip("10.0.0.2", 0, NULL), "10.0.0.2");
}

static void test_a_trusted_proxy_names_the_client(void)
{
    CHECK_STR(client_ip("10.0.0.2", 0, "1.2.3.4"), "1.2.3.4");
    /* The rightmost entry that is not a proxy: what the client wrote itself
     * on the left is not believed. */
    CHECK_STR(client_ip("10.0.0.2", 0, "5.6.7.8, 1.2.3.4"), "1.2.3.4");
    CHECK_STR(client_ip("10.0.0.2", 0, "5.6.7.8,1.2.3.4 , 10.0.0.3"), "1.2.3.4");
    CHECK_STR(client_ip("10.0.0.2", 0, "2001:db8::9"), "2001:db8::9");
    CHECK_STR(client_ip("10.0.0.2", 0, "not-an-address"), "10.0.0.2");
    CHECK_STR(client_ip("10.0.0.2", 0, "1.2.3.4, garbage"), "10.0.0.2");
    CHECK_STR(client_ip("10.0.0.2", 0, "10.0.0.3"), "10.0.0.3"); /* only proxies: the leftmost of them */
}

static void test_forwarded_addresses_are_ignored_on_tls_listeners(void)
{
    CHECK_STR(client_ip("10.0.0.2", 1, "1.2.3.4"), "10.0.0.2");
}

/* ---- bodies ---- */

static route_t json_route = {"POST", "/x", 0, BODY_JSON, POOL_CPU, NULL};
static route_t raw_route = {"POST", "/up", 0, BODY_RAW, POOL_CPU, NULL, RATE_UPLOADS};
static route_t none_route = {"POST", "/y", 0, BODY_NONE, POOL_CPU, NULL};

/* Captures the body as request_on_req does, then judges it as call.c does
 * before the route's first step. Returns that judgement (0 or -1). */
static int judge(gw_call_t *c, const route_t *route, const char *method, const char *ctype, const char *body)
{
    h2o_req_t req;
    req_init(&req);
    c->route = route;
    snprintf(c->method, sizeof(c->method), "%s", method);
    if (ctype)
        add_header(&req, H2O_TOKEN_CONTENT_TYPE, ctype);
    if (body)
        req.entity = h2o_iovec_init(body, strlen(body));
    int rc = request_capture_body(c, &req);
    h2o_mem_clear_pool(&req.pool); /* the call keeps copies only */
    return rc == 0 ? request_body_or_fail(c) : rc;
}

static void test_a_json_body_is_parsed(void)
{
    gw_call_t *c = call_new();
    CHECK_INT(judge(c, &json_route, "POST", "application/json; charset=utf-8", "{\"a\": [1, {\"b\": 2}]}"), 0);
    CHECK(cJSON_IsArray(cJSON_GetObjectItem(c->body, "a")));
    CHECK(c->raw == NULL); /* JSON routes see only the parsed body */
    CHECK_STR(c->content_type, "application/json; charset=utf-8");
    call_free(c);

    c = call_new(); /* no body: {} so that required fields fail by name */
    CHECK_INT(judge(c, &json_route, "POST", NULL, NULL), 0);
    CHECK(cJSON_IsObject(c->body) && c->body->child == NULL);
    call_free(c);

    c = call_new(); /* GET has no body: whatever was sent is not read */
    CHECK_INT(judge(c, &json_route, "GET", "text/plain", "junk"), 0);
    CHECK(cJSON_IsObject(c->body));
    call_free(c);
}

static void test_bad_bodies_get_their_4xx(void)
{
    struct {
        const char *ctype, *body;
        int status;
        err_code_t err;
    } cases[] = {
        {"text/plain", "{}", 415, ERR_UNSUPPORTED_MEDIA},
        {"application/jsonp", "{}", 415, ERR_UNSUPPORTED_MEDIA},
        {NULL, "{}", 415, ERR_UNSUPPORTED_MEDIA},
        {"application/json", "{\"a\": ", 400, ERR_INVALID_JSON},
        {"application/json", "[1, 2]", 400, ERR_INVALID_JSON},           /* not an object */
        {"application/json", "{\"a\": [[[1]]]}", 400, ERR_INVALID_JSON}, /* deeper than json_max_depth */
        {"application/json", "{\"a\": \"0123456789012345678901234567890123456789012345678901234567\"}", 413,
         ERR_PAYLOAD_TOO_LARGE}, /* over json_max_bytes */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        gw_call_t *c = call_new();
        CHECK_INT(judge(c, &json_route, "POST", cases[i].ctype, cases[i].body), -1);
        CHECK_INT(c->status, cases[i].status);
        CHECK_INT(c->err, cases[i].err);
        CHECK(c->body == NULL && c->raw == NULL);
        call_free(c);
    }
}

static void test_raw_and_bodyless_routes(void)
{
    gw_call_t *c = call_new();
    const char *bytes = "\xff\xd8\xff binary, any type";
    CHECK_INT(judge(c, &raw_route, "POST", "image/jpeg", bytes), 0);
    CHECK_INT(c->raw_len, strlen(bytes));
    CHECK(memcmp(c->raw, bytes, c->raw_len) == 0);
    call_free(c);

    c = call_new(); /* an upload's limit is max_body_bytes, not json_max_bytes */
    char big[200];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    CHECK_INT(judge(c, &raw_route, "POST", "image/jpeg", big), 0);
    call_free(c);

    c = call_new(); /* a route that reads no body still has a limit */
    CHECK_INT(judge(c, &none_route, "POST", "application/json", big), -1);
    CHECK_INT(c->status, 413);
    call_free(c);

    c = call_new();
    CHECK_INT(judge(c, &none_route, "POST", "application/json", "{}"), 0);
    CHECK(c->raw == NULL && c->body == NULL);
    call_free(c);
}

static void test_console_cookies_and_headers_are_captured(void)
{
    h2o_req_t req;
    req_init(&req);
    add_header(&req, H2O_TOKEN_COOKIE, "theme=dark; console_ticket=nonce123");
    add_header(&req, H2O_TOKEN_COOKIE, "console_session=secret456"); /* HTTP/2 sends cookies apart */
    h2o_add_header_by_str(&req.pool, &req.headers, H2O_STRLIT("x-csrf-token"), 0, NULL, H2O_STRLIT("csrf789"));
    char ua[400];
    memset(ua, 0, sizeof(ua));
    for (size_t i = 0; i + 3 < sizeof(ua) - 1; i += 3)
        memcpy(ua + i, "\xe6\xb5\x8b", 3); /* 测 x 133: longer than the field */
    add_header(&req, H2O_TOKEN_USER_AGENT, ua);
    gw_call_t *c = call_new();
    request_capture_console(c, &req);
    CHECK_STR(c->cookie_session, "secret456");
    CHECK_STR(c->cookie_ticket, "nonce123");
    CHECK_STR(c->csrf_header, "csrf789");
    CHECK(strlen(c->user_agent) > 0 && strlen(c->user_agent) < sizeof(c->user_agent));
    CHECK_INT(strlen(c->user_agent) % 3, 0); /* whole characters only */
    call_free(c);
    h2o_mem_clear_pool(&req.pool);

    req_init(&req);
    char big[200];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    char cookie[260];
    snprintf(cookie, sizeof(cookie), "console_session=%s", big);
    add_header(&req, H2O_TOKEN_COOKIE, cookie);
    h2o_add_header_by_str(&req.pool, &req.headers, H2O_STRLIT("x-csrf-token"), 0, NULL, big, strlen(big));
    c = call_new();
    request_capture_console(c, &req);
    CHECK_STR(c->cookie_session, ""); /* too long to be ours: as if absent */
    CHECK_STR(c->csrf_header, "");
    CHECK_STR(c->user_agent, "");
    call_free(c);
    h2o_mem_clear_pool(&req.pool);
}

int main(void)
{
    gw_cfg = &cfg;
    RUN(test_the_peer_is_the_client_unless_it_is_a_trusted_proxy);
    RUN(test_a_trusted_proxy_names_the_client);
    RUN(test_forwarded_addresses_are_ignored_on_tls_listeners);
    RUN(test_a_json_body_is_parsed);
    RUN(test_bad_bodies_get_their_4xx);
    RUN(test_raw_and_bodyless_routes);
    RUN(test_console_cookies_and_headers_are_captured);
    return TEST_REPORT();
}
