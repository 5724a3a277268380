#include "call_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "metrics_db.h"
#include "request.h"

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

gw_call_t *call_new(void)
{
    gw_call_t *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->internal = calloc(1, sizeof(*c->internal));
    if (!c->internal) {
        free(c);
        return NULL;
    }
    c->internal->call = c;
    return c;
}

void call_free(gw_call_t *c)
{
    if (!c)
        return;
    if (c->state_free && c->state)
        c->state_free(c->state);
    cJSON_Delete(c->body);
    cJSON_Delete(c->data);
    cJSON_Delete(c->err_details);
    free(c->path);
    free(c->query);
    free(c->raw);
    free(c->content_type);
    free(c->idempotency_key);
    free(c->next_cursor);
    free(c->raw_response);
    free(c->internal);
    free(c);
}

/* ---- results ---- */

void call_ok(gw_call_t *c, int status, cJSON *data)
{
    cJSON_Delete(c->data);
    c->data = data ? data : cJSON_CreateObject();
    c->status = status;
    c->err = ERR_NONE;
    c->next = NULL;
}

void call_ok_list(gw_call_t *c, cJSON *items, const char *next_cursor)
{
    call_ok(c, 200, items);
    free(c->next_cursor);
    c->next_cursor = next_cursor ? strdup(next_cursor) : NULL;
}

void call_ok_raw(gw_call_t *c, const char *content_type, char *body, size_t len)
{
    free(c->raw_response);
    c->raw_response = body;
    c->raw_response_len = len;
    snprintf(c->raw_content_type, sizeof(c->raw_content_type), "%s", content_type);
    c->status = 200;
    c->err = ERR_NONE;
    c->next = NULL;
}

void call_fail(gw_call_t *c, err_code_t err, const char *field, const char *fmt, ...)
{
    c->err = err;
    c->status = err_info(err)->status;
    c->next = NULL;
    snprintf(c->err_field, sizeof(c->err_field), "%s", field ? field : "");
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err_message, sizeof(c->err_message), fmt, ap);
        va_end(ap);
    } else {
        snprintf(c->err_message, sizeof(c->err_message), "%s", err_info(err)->message);
    }
    if (err == ERR_OVERLOADED || err == ERR_DB_UNAVAILABLE || err == ERR_WECHAT_UNAVAILABLE ||
        err == ERR_SHUTTING_DOWN)
        c->retry_after_s = c->retry_after_s ? c->retry_after_s : 1;
}

void call_fail_db(gw_call_t *c)
{
    if (!c->db || db_conn_lost(c->db)) {
        call_fail(c, ERR_DB_UNAVAILABLE, NULL, NULL);
        return;
    }
    unsigned e = db_errno(c->db);
    log_error("db", "query failed (%u): %s", e, db_error(c->db));
    if (e == DB_ER_LOCK_WAIT_TIMEOUT || e == DB_ER_LOCK_DEADLOCK)
        call_fail(c, ERR_OVERLOADED, NULL, "the record is busy; retry");
    else
        call_fail(c, ERR_INTERNAL, NULL, NULL);
}

void call_then(gw_call_t *c, pool_kind_t pool, gw_step_fn fn)
{
    c->next = fn;
    c->next_pool = pool;
    c->internal->fallback = NULL;
    c->internal->max_wait_ms = 0;
}

void call_then_or(gw_call_t *c, pool_kind_t pool, gw_step_fn fn, int max_wait_ms, pool_kind_t fallback_pool,
                  gw_step_fn fallback)
{
    call_then(c, pool, fn);
    c->internal->fallback = fallback;
    c->internal->fallback_pool = fallback_pool;
    c->internal->max_wait_ms = max_wait_ms;
}

/* Continues with the fallback of call_then_or, if there is one. */
static int take_fallback(gw_call_t *c)
{
    struct gw_call_internal *in = c->internal;
    if (!in->fallback)
        return 0;
    c->next = in->fallback;
    c->next_pool = in->fallback_pool;
    in->fallback = NULL;
    in->max_wait_ms = 0;
    return 1;
}

void *call_state_new_or_fail(gw_call_t *c, size_t count, size_t size, void (*state_free)(void *state))
{
    void *s = calloc(count ? count : 1, size ? size : 1);
    if (!s) {
        call_fail(c, ERR_OVERLOADED, NULL, "out of memory; retry later");
        return NULL;
    }
    if (c->state_free && c->state)
        c->state_free(c->state);
    c->state = s;
    c->state_free = state_free;
    return s;
}

/* ---- inputs ---- */

const char *call_param(const gw_call_t *c, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < c->params.count; i++) {
        const char *pn = c->params.name[i];
        if (strncmp(pn, name, n) == 0 && (pn[n] == '\0' || pn[n] == '/'))
            return c->params.value[i];
    }
    return NULL;
}

int call_param_id(gw_call_t *c, const char *name, long long *out)
{
    const char *v = call_param(c, name);
    char *end;
    errno = 0;
    long long id = v ? strtoll(v, &end, 10) : 0;
    if (!v || *end != '\0' || id <= 0 || errno == ERANGE) {
        call_fail(c, ERR_NOT_FOUND, NULL, "not found");
        return -1;
    }
    *out = id;
    return 0;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

int call_query(const gw_call_t *c, const char *name, char *out, size_t outsz)
{
    if (!c->query || outsz == 0)
        return 0;
    size_t n = strlen(name);
    const char *p = c->query;
    while (*p) {
        const char *amp = strchr(p, '&');
        const char *end = amp ? amp : p + strlen(p);
        if ((size_t)(end - p) >= n && strncmp(p, name, n) == 0 && (p[n] == '=' || p + n == end)) {
            const char *v = p[n] == '=' ? p + n + 1 : end;
            size_t o = 0;
            for (; v < end && o + 1 < outsz; v++) {
                if (*v == '+')
                    out[o++] = ' ';
                else if (*v == '%' && end - v > 2 && hexval(v[1]) >= 0 && hexval(v[2]) >= 0) {
                    out[o++] = (char)(hexval(v[1]) * 16 + hexval(v[2]));
                    v += 2;
                } else
                    out[o++] = *v;
            }
            out[o] = '\0';
            return 1;
        }
        p = amp ? amp + 1 : end;
    }
    return 0;
}

/* ---- lifecycle ---- */

/* Frees a call on its loop thread. The thread's inflight count covers every
 * call until this point, including those whose client left while a worker
 * ran them, so a draining thread waits for them too instead of leaving their
 * results undelivered (and the calls leaked). */
static void release(gw_call_t *c)
{
    c->internal->thread->inflight--;
    call_free(c);
}

/* h2o disposes the request's pool when the response is done or the client
 * is gone. If a worker still holds the call, it frees it when it comes back. */
static void on_request_disposed(void *p)
{
    gw_call_t *c = *(gw_call_t **)p;
    c->internal->req = NULL;
    if (!c->internal->in_worker)
        release(c);
}

/* Is the next step the route's first one, with the body still to judge?
 * Then the body is judged now (request_body_finish): 0 to go on, -1 when
 * the call failed. */
static int finish_body_before_route(gw_call_t *c)
{
    struct gw_call_internal *in = c->internal;
    if (!in->body_pending || !c->route || c->next != c->route->start)
        return 0;
    in->body_pending = 0;
    return request_body_finish(c);
}

static void run_step_on_worker(pool_job_t *job, void *worker_ctx, int expired)
{
    struct gw_call_internal *in = container_of(job, struct gw_call_internal, job);
    gw_call_t *c = in->call;
    log_set_request_id(c->request_id);
    if (expired) {
        if (!take_fallback(c))
            call_fail(c, ERR_OVERLOADED, NULL, "server is busy; retry later");
    } else {
        in->fallback = NULL; /* the step runs: no fallback any more */
        in->max_wait_ms = 0;
        /* Run steps inline while they stay on this pool: saves a hop. */
        while (c->next && c->next_pool == in->pool) {
            if (finish_body_before_route(c) != 0)
                break;
            if (in->pool == POOL_DB) {
                c->db = worker_ctx;
                if (db_conn_ensure(c->db) != 0) {
                    call_fail(c, ERR_DB_UNAVAILABLE, NULL, NULL);
                    break;
                }
            }
            gw_step_fn fn = c->next;
            c->next = NULL;
            fn(c);
            db_end_step(c->db); /* rolls back a transaction the step left open */
            c->db = NULL;
            if (!c->next && c->status == 0)
                call_fail(c, ERR_INTERNAL, NULL, "handler produced no result");
        }
    }
    log_set_request_id(NULL);
    h2o_multithread_send_message(&in->thread->done_receiver, &in->msg);
}

static void respond(gw_call_t *c)
{
    if (c->internal->req)
        response_send(c->internal->req, c);
}

/* Runs loop steps and hands the next worker step to its pool, until the call
 * has a result or is queued. Loop thread only. */
static void advance(gw_call_t *c)
{
    struct gw_call_internal *in = c->internal;
    while (c->next) {
        if (finish_body_before_route(c) != 0)
            break;
        if (c->next_pool == POOL_LOOP) {
            gw_step_fn fn = c->next;
            c->next = NULL;
            log_set_request_id(c->request_id);
            fn(c);
            log_set_request_id(NULL);
            if (!c->next && c->status == 0)
                call_fail(c, ERR_INTERNAL, NULL, "handler produced no result");
            continue;
        }
        worker_pool_t *pool = server_pool(in->thread, c->next_pool);
        wx_class_t wx = c->next_pool == POOL_WECHAT && c->route ? c->route->wechat : WX_OTHER;
        in->pool = c->next_pool;
        in->job.run = run_step_on_worker;
        in->job.cls = (int)wx;
        in->job.max_wait_ms = in->max_wait_ms;
        in->in_worker = 1;
        if (pool && pool_submit(pool, &in->job) == 0)
            return;
        in->in_worker = 0;
        pool_kind_t refused = c->next_pool;
        if (refused == POOL_DB)
            metrics_db_rejected();
        else if (refused == POOL_WECHAT)
            metrics_wechat_pool_rejected((int)wx);
        if (take_fallback(c))
            continue;
        if (refused == POOL_WECHAT)
            call_fail(c, ERR_OVERLOADED, NULL, "too many WeChat requests of this kind (%s) in progress; retry later",
                      wx_class_name(wx));
        else
            call_fail(c, ERR_OVERLOADED, NULL, "server is busy; retry later");
    }
    respond(c);
}

void call_start(struct gw_thread *t, h2o_req_t *req, gw_call_t *c)
{
    struct gw_call_internal *in = c->internal;
    in->thread = t;
    in->req = req;
    gw_call_t **slot = h2o_mem_alloc_shared(&req->pool, sizeof(*slot), on_request_disposed);
    *slot = c;
    t->inflight++;
    advance(c);
}

void call_on_worker_done(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    (void)receiver;
    while (!h2o_linklist_is_empty(messages)) {
        h2o_multithread_message_t *msg = H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, messages->next);
        h2o_linklist_unlink(&msg->link);
        struct gw_call_internal *in = container_of(msg, struct gw_call_internal, msg);
        gw_call_t *c = in->call;
        in->in_worker = 0;
        if (!in->req) { /* the client went away meanwhile */
            release(c);
            continue;
        }
        advance(c);
    }
}
