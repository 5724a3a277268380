/* request.c: turns an h2o request into a call: request id, route, body
 * limits and parsing, client address, session token. Loop thread only;
 * everything here is cheap and never blocks. */
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
#include "json_util.h"
#include "roles.h"
#include "session_token.h"
#include "users.h"

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
static void client_ip(h2o_req_t *req, char *out, size_t outsz)
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

static int is_json_content_type(const h2o_iovec_t *ct)
{
    static const char want[] = "application/json";
    if (!ct || ct->len < sizeof(want) - 1 || strncasecmp(ct->base, want, sizeof(want) - 1) != 0)
        return 0;
    return ct->len == sizeof(want) - 1 || ct->base[sizeof(want) - 1] == ';' || ct->base[sizeof(want) - 1] == ' ';
}

/* Reads the body the route wants. Returns -1 with the call failed. */
static int read_body(gw_call_t *c, h2o_req_t *req)
{
    const h2o_iovec_t *ct = find_header(req, H2O_TOKEN_CONTENT_TYPE);
    if (ct)
        c->content_type = dup_iovec(ct->base, ct->len);
    size_t len = req->entity.base ? req->entity.len : 0;
    switch (c->route->body) {
    case BODY_NONE:
        return 0;
    case BODY_RAW:
        if (len > (size_t)gw_cfg->max_body_bytes) {
            call_fail(c, ERR_PAYLOAD_TOO_LARGE, NULL, "request body exceeds %d bytes", gw_cfg->max_body_bytes);
            return -1;
        }
        c->raw = dup_iovec(len ? req->entity.base : "", len);
        c->raw_len = len;
        return 0;
    case BODY_JSON:
        break;
    }
    if (!method_has_body(c) || len == 0) {
        c->body = cJSON_CreateObject(); /* required fields then fail by name */
        return 0;
    }
    if (len > (size_t)gw_cfg->json_max_bytes) {
        call_fail(c, ERR_PAYLOAD_TOO_LARGE, NULL, "JSON body exceeds %d bytes", gw_cfg->json_max_bytes);
        return -1;
    }
    if (!is_json_content_type(ct)) {
        call_fail(c, ERR_UNSUPPORTED_MEDIA, NULL, "Content-Type must be application/json");
        return -1;
    }
    const char *why = NULL;
    c->body = json_parse_object(req->entity.base, len, gw_cfg->json_max_depth, &why);
    if (!c->body) {
        call_fail(c, ERR_INVALID_JSON, NULL, "%s", why);
        return -1;
    }
    return 0;
}

/* Checks the bearer token; on success the call continues with the user's
 * roles (users_auth_loop_step: the auth cache, else a DB worker). */
static int authenticate(gw_call_t *c, h2o_req_t *req)
{
    const h2o_iovec_t *auth = find_header(req, H2O_TOKEN_AUTHORIZATION);
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

static void prepare(gw_call_t *c, struct gw_thread *t, h2o_req_t *req)
{
    size_t mlen = req->method.len < sizeof(c->method) - 1 ? req->method.len : sizeof(c->method) - 1;
    memcpy(c->method, req->method.base, mlen);
    c->method[mlen] = '\0';
    c->path = dup_iovec(req->path_normalized.base, req->path_normalized.len);
    if (req->query_at != SIZE_MAX)
        c->query = dup_iovec(req->path.base + req->query_at + 1, req->path.len - req->query_at - 1);
    client_ip(req, c->client_ip, sizeof(c->client_ip));
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("idempotency-key"), -1);
    if (i != -1)
        c->idempotency_key = dup_iovec(req->headers.entries[i].value.base, req->headers.entries[i].value.len);

    if (t->stopping) {
        call_fail(c, ERR_SHUTTING_DOWN, NULL, NULL);
        return;
    }
    int status = 404;
    c->route = router_match(req->method.base, req->method.len, req->path_normalized.base, req->path_normalized.len,
                            &c->params, &status, c->allow, sizeof(c->allow));
    if (!c->route) {
        if (status == 405)
            call_fail(c, ERR_METHOD_NOT_ALLOWED, NULL, "%s is not allowed here; allowed: %s", c->method, c->allow);
        else
            call_fail(c, ERR_NOT_FOUND, NULL, "no such endpoint");
        return;
    }
    if (read_body(c, req) != 0)
        return;
    if (c->route->roles) {
        if (authenticate(c, req) != 0)
            return;
        call_then(c, POOL_LOOP, users_auth_loop_step);
    } else {
        call_then(c, c->route->pool, c->route->start);
    }
}

int request_on_req(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    struct gw_thread *t = H2O_STRUCT_FROM_MEMBER(struct gw_thread, ctx, req->conn->ctx);
    gw_call_t *c = call_new();
    if (!c)
        return -1;
    c->internal->started_ms = monotonic_ms();
    make_request_id(c->request_id, sizeof(c->request_id));
    prepare(c, t, req);
    call_start(t, req, c);
    return 0;
}
