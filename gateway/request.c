/* request.c: turns an h2o request into a call: request id, route, client
 * address, rate limits, session token, body limits and parsing. Loop
 * thread only (request_body_or_fail: any thread); everything here is cheap
 * and never blocks. */
#include "request.h"

#include <arpa/inet.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "call_internal.h"
#include "config.h"
#include "console_session.h"
#include "json_util.h"
#include "ratelimit.h"
#include "roles.h"
#include "session_token.h"
#include "users.h"
#include "utf8.h"

static _Thread_local unsigned long long rid_counter;
static _Thread_local unsigned rid_prefix;

/* 8 random hex digits per thread, then a counter: unique and cheap. */
static void make_request_id(char *out, size_t outsz)
{
    if (!rid_prefix)
        RAND_bytes((unsigned char *)&rid_prefix, sizeof(rid_prefix));
    snprintf(out, outsz, "%08x%012llx", rid_prefix, ++rid_counter);
}

static char *dup_iovec(const char *base, size_t len)
{
    char *s = malloc(len + 1);
    if (s) {
        memcpy(s, base, len);
        s[len] = '\0';
    }
    return s;
}

static const h2o_iovec_t *find_header(h2o_req_t *req, const h2o_token_t *token)
{
    ssize_t i = h2o_find_header(&req->headers, token, -1);
    return i == -1 ? NULL : &req->headers.entries[i].value;
}

static int peer_ip(h2o_req_t *req, char *out, size_t outsz)
{
    struct sockaddr_storage ss;
    socklen_t sl = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);
    out[0] = '\0';
    if (sl == 0)
        return -1;
    if (ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, (socklen_t)outsz);
    else if (ss.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, out, (socklen_t)outsz);
    return 0;
}

static int is_tls(h2o_req_t *req)
{
    h2o_socket_t *sock = req->conn->callbacks->get_socket ? req->conn->callbacks->get_socket(req->conn) : NULL;
    return sock && sock->ssl != NULL;
}

/* The client's address. Behind a TLS-terminating balancer (plain listener, a
 * trusted peer) it is the rightmost X-Forwarded-For entry that is not itself
 * a trusted proxy; headers from anyone else are ignored. */
void request_client_ip(h2o_req_t *req, char *out, size_t outsz)
{
    peer_ip(req, out, outsz);
    if (is_tls(req) || !server_is_trusted_proxy(out))
        return;
    const h2o_iovec_t *xff = find_header(req, H2O_TOKEN_X_FORWARDED_FOR);
    if (!xff)
        return;
    const char *start = xff->base, *end = xff->base + xff->len;
    while (end > start) {
        const char *comma = end;
        while (comma > start && comma[-1] != ',')
            comma--;
        const char *a = comma, *b = end;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        char ip[64];
        size_t n = (size_t)(b - a) < sizeof(ip) - 1 ? (size_t)(b - a) : sizeof(ip) - 1;
        memcpy(ip, a, n);
        ip[n] = '\0';
        unsigned char buf[16];
        if (inet_pton(AF_INET, ip, buf) != 1 && inet_pton(AF_INET6, ip, buf) != 1)
            return; /* garbage: keep what we have */
        snprintf(out, outsz, "%s", ip);
        if (!server_is_trusted_proxy(ip))
            return;
        end = comma > start ? comma - 1 : start;
    }
}

static int method_has_body(const gw_call_t *c)
{
    return !strcmp(c->method, "POST") || !strcmp(c->method, "PUT") || !strcmp(c->method, "PATCH") ||
           !strcmp(c->method, "DELETE");
}

static int is_json_content_type(const char *ct)
{
    static const char want[] = "application/json";
    if (!ct || strncasecmp(ct, want, sizeof(want) - 1) != 0)
        return 0;
    return ct[sizeof(want) - 1] == '\0' || ct[sizeof(want) - 1] == ';' || ct[sizeof(want) - 1] == ' ';
}

static void fail_out_of_memory(gw_call_t *c)
{
    call_fail(c, ERR_OVERLOADED, NULL, "out of memory; retry later");
}

/* The largest body the route takes: uploads up to max_body_bytes (h2o's own
 * limit), everything else up to json_max_bytes. */
static size_t route_body_limit(const route_t *r)
{
    return (size_t)(r->rate == RATE_UPLOADS ? gw_cfg->max_body_bytes : gw_cfg->json_max_bytes);
}

/* Keeps what the body step needs from the request: its Content-Type and a
 * copy of a body the route will read, or only the fact that it is too large.
 * Nothing is judged here: an unauthenticated caller must get 401 whatever
 * the body. -1 with the call failed (out of memory). */
int request_capture_body(gw_call_t *c, h2o_req_t *req)
{
    struct gw_call_internal *in = c->internal;
    const h2o_iovec_t *ct = find_header(req, H2O_TOKEN_CONTENT_TYPE);
    size_t len = req->entity.base ? req->entity.len : 0;
    if (ct && !(c->content_type = dup_iovec(ct->base, ct->len)))
        goto NoMemory;
    size_t limit = route_body_limit(c->route);
    if (len > limit) {
        in->body_too_large = limit;
        return 0;
    }
    if (c->route->body == BODY_NONE || (c->route->body == BODY_JSON && (!method_has_body(c) || len == 0)))
        return 0;
    if (!(c->raw = dup_iovec(len ? req->entity.base : "", len)))
        goto NoMemory;
    c->raw_len = len;
    return 0;
NoMemory:
    fail_out_of_memory(c);
    return -1;
}

int request_body_or_fail(gw_call_t *c)
{
    struct gw_call_internal *in = c->internal;
    int rc = -1;
    if (in->body_too_large) {
        call_fail(c, ERR_PAYLOAD_TOO_LARGE, NULL, "%s body exceeds %zu bytes",
                  c->route->body == BODY_JSON ? "JSON" : "request", in->body_too_large);
        return -1;
    }
    switch (c->route->body) {
    case BODY_NONE:
        return 0;
    case BODY_RAW:
        if (!c->raw && !(c->raw = strdup(""))) {
            fail_out_of_memory(c);
            return -1;
        }
        return 0;
    case BODY_JSON:
        break;
    }
    if (!c->raw) { /* no body, or a method without one: required fields then fail by name */
        if (!(c->body = cJSON_CreateObject())) {
            fail_out_of_memory(c);
            return -1;
        }
        return 0;
    }
    if (!is_json_content_type(c->content_type)) {
        call_fail(c, ERR_UNSUPPORTED_MEDIA, NULL, "Content-Type must be application/json");
        goto Exit;
    }
    const char *why = NULL;
    c->body = json_parse_object(c->raw, c->raw_len, gw_cfg->json_max_depth, &why);
    if (!c->body) {
        call_fail(c, ERR_INVALID_JSON, NULL, "%s", why);
        goto Exit;
    }
    rc = 0;
Exit:
    free(c->raw); /* handlers of JSON routes see only c->body */
    c->raw = NULL;
    c->raw_len = 0;
    return rc;
}

/* Checks the bearer token; on success the call continues with the user's
 * roles (users_auth_loop_step: the auth cache, else a DB worker). */
static int authenticate(gw_call_t *c, h2o_req_t *req)
{
    const h2o_iovec_t *auth = find_header(req, H2O_TOKEN_AUTHORIZATION);
    if (!auth && c->cookie_session[0]) { /* the console: looked up on a DB worker */
        c->console_session = 1;
        return 0;
    }
    if (!auth) {
        call_fail(c, ERR_UNAUTHENTICATED, NULL, "Authorization: Bearer <token> is required");
        return -1;
    }
    if (auth->len < 8 || strncasecmp(auth->base, "Bearer ", 7) != 0) {
        call_fail(c, ERR_TOKEN_INVALID, NULL, "Authorization must be a Bearer token");
        return -1;
    }
    long long uid = 0;
    switch (session_verify_sid(auth->base + 7, auth->len - 7, (long long)time(NULL), &uid, &c->session_expires_at,
                               c->session_id, sizeof(c->session_id))) {
    case SESSION_OK:
        c->session_user_id = uid;
        return 0;
    case SESSION_EXPIRED:
        call_fail(c, ERR_TOKEN_EXPIRED, NULL, "session token has expired; log in again");
        return -1;
    default:
        call_fail(c, ERR_TOKEN_INVALID, NULL, "session token is invalid; log in again");
        return -1;
    }
}

/* A value too long for its field is left empty: it cannot be a cookie we
 * set. The User-Agent is shown to the staff member who scans a login code. */
void request_capture_console(gw_call_t *c, h2o_req_t *req)
{
    for (ssize_t i = -1; (i = h2o_find_header(&req->headers, H2O_TOKEN_COOKIE, i)) != -1;) {
        const h2o_iovec_t *v = &req->headers.entries[i].value;
        if (!c->cookie_session[0])
            console_cookie_value(v->base, v->len, CONSOLE_SESSION_COOKIE, c->cookie_session, sizeof(c->cookie_session));
        if (!c->cookie_ticket[0])
            console_cookie_value(v->base, v->len, CONSOLE_TICKET_COOKIE, c->cookie_ticket, sizeof(c->cookie_ticket));
    }
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-csrf-token"), -1);
    if (i != -1 && req->headers.entries[i].value.len < sizeof(c->csrf_header)) {
        memcpy(c->csrf_header, req->headers.entries[i].value.base, req->headers.entries[i].value.len);
        c->csrf_header[req->headers.entries[i].value.len] = '\0';
    }
    const h2o_iovec_t *ua = find_header(req, H2O_TOKEN_USER_AGENT);
    if (ua) {
        char *copy = dup_iovec(ua->base, ua->len < 4096 ? ua->len : 4096);
        if (copy)
            utf8_copy(c->user_agent, sizeof(c->user_agent), copy);
        free(copy);
    }
}

/* The order of the checks is part of the API: route (404/405), the
 * address's rate limit (429), the token (401), the user's rate limit (429);
 * then, once the user is loaded (401 if gone), the body (413, 415, 400)
 * right before the route's first step (request_body_or_fail, run by call.c). */
static void prepare(gw_call_t *c, struct gw_thread *t, h2o_req_t *req)
{
    size_t mlen = req->method.len < sizeof(c->method) - 1 ? req->method.len : sizeof(c->method) - 1;
    memcpy(c->method, req->method.base, mlen);
    c->method[mlen] = '\0';
    if (!(c->path = dup_iovec(req->path_normalized.base, req->path_normalized.len)) ||
        (req->query_at != SIZE_MAX &&
         !(c->query = dup_iovec(req->path.base + req->query_at + 1, req->path.len - req->query_at - 1)))) {
        fail_out_of_memory(c);
        return;
    }
    request_client_ip(req, c->client_ip, sizeof(c->client_ip));
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("idempotency-key"), -1);
    if (i != -1 &&
        !(c->idempotency_key = dup_iovec(req->headers.entries[i].value.base, req->headers.entries[i].value.len))) {
        fail_out_of_memory(c);
        return;
    }

    if (t->stopping) {
        call_fail(c, ERR_SHUTTING_DOWN, NULL, NULL);
        return;
    }
    int status = 404;
    c->route = router_match(req->method.base, req->method.len, req->path_normalized.base, req->path_normalized.len,
                            &c->params, &status, c->allow, sizeof(c->allow));
    if (ratelimit_ip_or_fail(c) != 0) /* unmatched paths count in the default class */
        return;
    if (!c->route) {
        if (status == 405)
            call_fail(c, ERR_METHOD_NOT_ALLOWED, NULL, "%s is not allowed here; allowed: %s", c->method, c->allow);
        else
            call_fail(c, ERR_NOT_FOUND, NULL, "no such endpoint");
        return;
    }
    request_capture_console(c, req);
    /* A console session's user is known once its row is read: its rate
     * limit is taken then (console_session.c). */
    if (c->route->roles && (authenticate(c, req) != 0 || (!c->console_session && ratelimit_user_or_fail(c) != 0)))
        return;
    if (request_capture_body(c, req) != 0)
        return;
    c->internal->body_pending = 1;
    if (c->route->roles)
        call_then_loop(c, c->console_session ? console_session_auth_loop_step : users_auth_loop_step);
    else
        call_then_route(c);
}

int request_on_req(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    struct gw_thread *t = server_this_thread();
    gw_call_t *c = call_new();
    if (!c) { /* no call to answer through: h2o's own plain answer */
        h2o_send_error_generic(req, 503, "Service Unavailable", "out of memory; retry later\n", 0);
        return 0;
    }
    call_start_clock(c);
    make_request_id(c->request_id, sizeof(c->request_id));
    prepare(c, t, req);
    call_start(t, req, c);
    return 0;
}
