/* call.h: one API request as handlers see it.
 *
 * A request becomes a gw_call_t. The route's first step runs on the route's
 * pool (a DB worker, a WeChat worker, a CPU worker, or the loop itself); a
 * step either finishes the call (call_ok / call_fail*) or names the next step
 * with call_then_db / call_then_wechat / call_then_cpu / call_then_loop. The
 * gateway moves the call between threads, posts results back to the owning
 * event loop, and sends the one response envelope. docs/handler-guide.md
 * shows a route file as a whole.
 *
 * DB steps are gw_db_step_fn: they receive the worker's connection and use
 * it for every statement. A transaction is db_begin ... db_commit inside one
 * step. When a DB step returns:
 *   - after a failure (call_fail*), a transaction still open is rolled back
 *     quietly, so a step fails with call_fail_db(c) without db_rollback;
 *   - after a success, or with a next step named, a transaction still open
 *     is a programming error: it is logged, rolled back, and the call
 *     answers 500 INTERNAL; a forgotten commit is never reported as saved.
 *
 * Deadline: a call has call_deadline_ms (configuration) from its arrival. A
 * step that would start, or be queued, after it is skipped, and the call
 * answers 503 DEADLINE_EXCEEDED with Retry-After. Steps on the WeChat pool
 * run with the remaining time as the upper bound of their WeChat calls
 * (each attempt's timeout is cut to it and no retry starts after it).
 *
 * Helpers that answer the call themselves are named ..._or_fail and return
 * 0 (go on) or -1 (the call holds its answer; return), or a pointer or NULL
 * (answered).
 *
 * Lifetime: the request may vanish (client gone) while a step runs. Steps
 * never touch the h2o request; they read the call's own copies (body, params,
 * query, user) and write its result. A finished step whose request is gone
 * sends nothing and the call is freed. This is handled once, in call.c.
 *
 * Authenticated routes: before the first step the gateway verifies the
 * session token, loads the user and roles (from the database, or from the
 * auth cache for at most auth_cache_ms: see users.h), and answers 401/403
 * itself. Rate limits (429) are checked before that (ratelimit.h), and the
 * body (413/415/400) only after it, right before the route's first step:
 * an unauthenticated caller gets 401 whatever it sent. */
#ifndef GW_CALL_H
#define GW_CALL_H
#include <cjson/cJSON.h>
#include <stdint.h>

#include "db.h"
#include "errors.h"
#include "router.h"
#include "wechat_client.h"

typedef struct gw_thread gw_thread_t;

typedef struct {
    long long id;
    unsigned roles; /* ROLE_* bits */
    char openid[128];
    int has_phone;
    char phone[32];
} gw_user_t;

typedef struct gw_call gw_call_t;

struct gw_call {
    /* request, copied so steps on workers can read it safely */
    const route_t *route;
    route_params_t params;
    char method[8];
    char *path;  /* without the query */
    char *query; /* after '?', or NULL */
    cJSON *body; /* BODY_JSON routes: the parsed object */
    char *raw;   /* BODY_RAW routes: a copy of the body */
    size_t raw_len;
    char *content_type; /* the request's Content-Type, or NULL */
    char *idempotency_key;
    char request_id[24];
    char client_ip[64];
    gw_user_t user; /* filled for authenticated routes */
    long long session_user_id;
    char session_id[24];          /* the token's session id (SESSION_ID_MAX) */
    long long session_expires_at; /* the token's expiry, unix s */
    /* The staff console (console_session.h): its cookies and headers as
     * the request sent them ("" when absent or too long), and whether the
     * caller was authenticated by the console's session cookie instead of
     * a bearer token. */
    char cookie_session[48];
    char cookie_ticket[48];
    char csrf_header[48];
    char user_agent[256]; /* cut to whole UTF-8 characters */
    int console_session;
    /* The worker's connection while a DB step runs, NULL in every other
     * step. For the gateway's own helpers that take only the call
     * (call_fail_db, idempotency_*); a step uses its `db` parameter. */
    db_conn_t *db;

    /* result */
    int status;
    cJSON *data;       /* success payload (owned) */
    char *next_cursor; /* lists: opaque cursor for the next page, or NULL */
    int list;          /* call_ok_list: "next_cursor" is written, null on the last page */
    err_code_t err;
    char err_message[256];
    char err_field[64];
    cJSON *err_details; /* optional error.details (owned), e.g. per-row import errors */
    int retry_after_s;
    /* A raw (non-JSON) response, e.g. an image; set with call_ok_raw. */
    char *raw_response;
    size_t raw_response_len;
    char raw_content_type[64];
    /* A file answer (call_ok_file): its path, sent from the event loop by
     * h2o's file handler in chunks, and its Content-Disposition. */
    char *file_path;
    char content_disposition[512];
    char cache_control[64];
    char allow[64]; /* 405: the methods the path accepts */
    /* Set-Cookie headers of the answer, "" when unused (console_set_cookie). */
    char set_cookie[2][160];

    /* continuation */
    gw_step_fn next;
    pool_kind_t next_pool;
    void *state; /* the handler's own state */
    void (*state_free)(void *state);

    /* owned by call.c */
    struct gw_call_internal *internal;
};

/* Results (any thread). `data` ownership passes to the call. */

void call_ok(gw_call_t *c, int status, cJSON *data);
void call_ok_list(gw_call_t *c, cJSON *items, const char *next_cursor);
void call_ok_raw(gw_call_t *c, const char *content_type, char *body, size_t len); /* takes body (malloc'ed) */
/* 200 with the file at path (copied), read and sent in chunks by h2o's file
 * handler on the event loop (never whole in memory), with content_type and
 * a Content-Disposition (may be NULL). A file that cannot be opened by then
 * is answered 410 EXPORT_EXPIRED. 0, or -1 with the call failed (memory). */
int call_ok_file(gw_call_t *c, const char *content_type, const char *path, const char *disposition);
void call_fail(gw_call_t *c, err_code_t err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* After a failed db_* call: 503 DB_UNAVAILABLE if the connection was lost,
 * 503 on a lock-wait timeout, 500 otherwise. Logs the database's message. */
void call_fail_db(gw_call_t *c);
/* After a failed WeChat call (wechat_client.h): the gateway error its
 * errcode maps to (wx_error_to_gateway), message "<meaning> (WeChat
 * <errcode>)"; RATE_LIMITED waits 60 s (Retry-After); the code errors
 * (WECHAT_CODE_INVALID, WECHAT_CODE_USED) name code_field (the body field
 * that carried the wx.login or getPhoneNumber code; NULL for none). */
void call_fail_wechat(gw_call_t *c, const wx_status_t *st, const char *code_field);

/* Continue with fn once this step returns, on the pool the name says. A
 * step queued on the WeChat pool counts against the route's WeChat class
 * (route_t.wechat); when that class is over its share of the pool the call
 * fails at once with 503 OVERLOADED. */
void call_then_db(gw_call_t *c, gw_db_step_fn fn);
void call_then_wechat(gw_call_t *c, gw_step_fn fn);
void call_then_cpu(gw_call_t *c, gw_step_fn fn);
void call_then_loop(gw_call_t *c, gw_step_fn fn);
/* A WeChat step that may be skipped and done later (a content check):
 * when it cannot be queued (the WeChat pool, or the route's class of it, is
 * full) or has not started within max_wait_ms (0: the pool's own
 * queue_timeout), the call continues with `fallback` instead of failing 503:
 * a DB step, which gets the worker's connection as every DB step does, or a
 * step on the loop. One step only: once fn starts, the fallback is
 * forgotten. The deadline applies to the fallback as to any step. */
void call_then_wechat_or_db(gw_call_t *c, gw_step_fn fn, int max_wait_ms, gw_db_step_fn fallback);
void call_then_wechat_or_loop(gw_call_t *c, gw_step_fn fn, int max_wait_ms, gw_step_fn fallback);
/* The handler's state: `count` zeroed objects of `size` bytes, owned by the
 * call and freed with state_free (replacing and freeing any earlier state).
 * NULL with the call failed (503 OVERLOADED) when memory runs out. */
void *call_state_new_or_fail(gw_call_t *c, size_t count, size_t size, void (*state_free)(void *state));

/* Milliseconds left before the call's deadline (negative once past it).
 * For work that should not start when it cannot finish in time. */
long long call_remaining_ms(const gw_call_t *c);
/* 0 while the call is within its deadline; else -1 with 503
 * DEADLINE_EXCEEDED (Retry-After) in the call. The gateway checks it before
 * each step; a long step may check it between its parts. */
int call_deadline_or_fail(gw_call_t *c);

/* Inputs. */
const char *call_param(const gw_call_t *c, const char *name); /* path :name */
/* The path parameter as a positive id; else -1 with 404 NOT_FOUND. */
int call_param_id_or_fail(gw_call_t *c, const char *name, long long *out);
/* Query parameters: the query_*_or_fail helpers of query.h. */
/* Keeps a malloc'ed block until the call is freed. 0, or -1 (out of
 * memory: the block is not kept; the caller still owns it). */
int call_keep(gw_call_t *c, void *block);

/* Used by the server. */
gw_call_t *call_new(void);
void call_free(gw_call_t *c);

#endif
