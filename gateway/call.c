#include "call_internal.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "metrics.h"
#include "metrics_db.h"
#include "request.h"
#include "wechat_client.h"

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

struct call_kept {
    struct call_kept *next;
    void *block;
};

static long long (*clock_ms)(void) = monotonic_ms;

void call_set_clock(long long (*now_ms)(void))
{
    clock_ms = now_ms ? now_ms : monotonic_ms;
}

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
    free(c->file_path);
    for (struct call_kept *k = c->internal->kept, *next; k; k = next) {
        next = k->next;
        free(k->block);
        free(k);
    }
    free(c->internal);
    free(c);
}

int call_keep(gw_call_t *c, void *block)
{
    struct call_kept *k = malloc(sizeof(*k));
    if (!k)
        return -1;
    k->block = block;
    k->next = c->internal->kept;
    c->internal->kept = k;
    return 0;
}

/* ---- results ---- */

void call_ok(gw_call_t *c, int status, cJSON *data)
{
    cJSON_Delete(c->data);
    c->data = data ? data : cJSON_CreateObject();
    c->status = status;
    c->list = 0;
    c->err = ERR_NONE;
    c->next = NULL;
}

void call_ok_list(gw_call_t *c, cJSON *items, const char *next_cursor)
{
    call_ok(c, 200, items);
    c->list = 1; /* items may be an array's printed text (page_respond) */
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

int call_ok_file(gw_call_t *c, const char *content_type, const char *path, const char *disposition)
{
    char *p = strdup(path);
    if (!p) {
        call_fail(c, ERR_OVERLOADED, NULL, "out of memory");
        return -1;
    }
    free(c->file_path);
    c->file_path = p;
    snprintf(c->raw_content_type, sizeof(c->raw_content_type), "%s", content_type);
    snprintf(c->content_disposition, sizeof(c->content_disposition), "%s", disposition ? disposition : "");
    c->status = 200;
    c->err = ERR_NONE;
    c->next = NULL;
    return 0;
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
        err == ERR_SHUTTING_DOWN || err == ERR_DEADLINE_EXCEEDED)
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

void call_fail_wechat(gw_call_t *c, const wx_status_t *st, const char *code_field)
{
    err_code_t err = wx_error_to_gateway(st);
    if (err == ERR_RATE_LIMITED)
        c->retry_after_s = 60;
    call_fail(c, err, err == ERR_WECHAT_CODE_INVALID || err == ERR_WECHAT_CODE_USED ? code_field : NULL,
              "%s (WeChat %d)", err_info(err)->message, st->errcode);
}

/* Names the next step and its pool, forgetting any typed DB step and
 * fallback named before. The public forms below say the pool by their name
 * and check the step's type. */
static void then_step(gw_call_t *c, pool_kind_t pool, gw_step_fn fn)
{
    c->next = fn;
    c->next_pool = pool;
    c->internal->next_db = NULL;
    c->internal->fallback = NULL;
    c->internal->fallback_db = NULL;
    c->internal->max_wait_ms = 0;
}

/* c->next of a typed DB step: hands it the worker's connection. */
static void run_db_step(gw_call_t *c)
{
    gw_db_step_fn fn = c->internal->next_db;
    c->internal->next_db = NULL;
    assert(fn && c->db); /* the runner sets c->db before every POOL_DB step */
    if (!fn || !c->db) {
        call_fail(c, ERR_INTERNAL, NULL, "a database step ran without a connection");
        return;
    }
    fn(c, c->db);
}

void call_then_db(gw_call_t *c, gw_db_step_fn fn)
{
    then_step(c, POOL_DB, run_db_step);
    c->internal->next_db = fn;
}

void call_then_wechat(gw_call_t *c, gw_step_fn fn)
{
    then_step(c, POOL_WECHAT, fn);
}

void call_then_cpu(gw_call_t *c, gw_step_fn fn)
{
    then_step(c, POOL_CPU, fn);
}

void call_then_loop(gw_call_t *c, gw_step_fn fn)
{
    then_step(c, POOL_LOOP, fn);
}

/* router_add_file refused a route whose DB step is untyped: route->pool is
 * POOL_DB exactly when start_db is set. */
static void queue_route_start(gw_call_t *c)
{
    if (c->route->start_db)
        call_then_db(c, c->route->start_db);
    else
        then_step(c, c->route->pool, c->route->start);
}

/* The route's body check, on the loop: the body is parsed by now. */
static void run_route_check(gw_call_t *c)
{
    c->route->check(c);
    if (c->err != ERR_NONE || c->status != 0)
        return; /* the check answered */
    queue_route_start(c);
}

void call_then_route(gw_call_t *c)
{
    if (c->route->check)
        then_step(c, POOL_LOOP, run_route_check);
    else
        queue_route_start(c);
    c->internal->at_route_start = 1;
}

/* ---- deadline ---- */

void call_start_clock(gw_call_t *c)
{
    c->internal->started_ms = clock_ms();
    c->internal->deadline_ms =
        gw_cfg && gw_cfg->call_deadline_ms > 0 ? c->internal->started_ms + gw_cfg->call_deadline_ms : 0;
}

long long call_remaining_ms(const gw_call_t *c)
{
    if (!c->internal->deadline_ms)
        return 0x7fffffffffffffffLL / 2;
    return c->internal->deadline_ms - clock_ms();
}

int call_deadline_or_fail(gw_call_t *c)
{
    if (call_remaining_ms(c) > 0)
        return 0;
    /* Skipping a step leaves no half-written change behind: a transaction
     * never spans steps. Work earlier steps committed stays committed. */
    c->retry_after_s = c->retry_after_s ? c->retry_after_s : 1;
    call_fail(c, ERR_DEADLINE_EXCEEDED, NULL, "the request took longer than %d ms inside the server; retry later",
              gw_cfg ? gw_cfg->call_deadline_ms : 0);
    metrics_call_deadline_exceeded();
    return -1;
}

void call_then_wechat_or_db(gw_call_t *c, gw_step_fn fn, int max_wait_ms, gw_db_step_fn fallback)
{
    call_then_wechat(c, fn);
    c->internal->fallback_db = fallback;
    c->internal->max_wait_ms = max_wait_ms > 0 ? max_wait_ms : 0;
}

void call_then_wechat_or_loop(gw_call_t *c, gw_step_fn fn, int max_wait_ms, gw_step_fn fallback)
{
    call_then_wechat(c, fn);
    c->internal->fallback = fallback;
    c->internal->max_wait_ms = max_wait_ms > 0 ? max_wait_ms : 0;
}

/* The next worker step was refused or waited too long: continues with its
 * fallback (call_then_wechat_or_*), typed as it was named. 1 when there was
 * one, 0 otherwise. */
static int take_fallback(gw_call_t *c)
{
    struct gw_call_internal *in = c->internal;
    gw_step_fn fallback = in->fallback;
    gw_db_step_fn fallback_db = in->fallback_db;
    if (fallback_db)
        call_then_db(c, fallback_db);
    else if (fallback)
        call_then_loop(c, fallback);
    return fallback_db || fallback;
}

int call_refused_or_fail(gw_call_t *c)
{
    pool_kind_t refused = c->next_pool;
    wx_class_t wx = refused == POOL_WECHAT && c->route ? c->route->wechat : WX_OTHER;
    if (refused == POOL_DB)
        metrics_db_rejected();
    else if (refused == POOL_WECHAT)
        metrics_wechat_pool_rejected((int)wx);
    if (take_fallback(c))
        return 0;
    if (refused == POOL_WECHAT)
        call_fail(c, ERR_OVERLOADED, NULL, "too many WeChat requests of this kind (%s) in progress; retry later",
                  wx_class_name(wx));
    else
        call_fail(c, ERR_OVERLOADED, NULL, "server is busy; retry later");
    return -1;
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

int call_param_id_or_fail(gw_call_t *c, const char *name, long long *out)
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

/* Before each step: the deadline, and when the step is the route's first
 * one (or its body check), the body still to judge
 * (request_body_or_fail). 0 to go on, -1 when the call failed. */
static int before_step_or_fail(gw_call_t *c)
{
    struct gw_call_internal *in = c->internal;
    if (call_deadline_or_fail(c) != 0)
        return -1;
    if (!in->at_route_start)
        return 0;
    in->at_route_start = 0;
    if (!in->body_pending)
        return 0;
    in->body_pending = 0;
    return request_body_or_fail(c);
}

/* A DB step has returned: a transaction it left open is rolled back. After
 * a failure that is the normal way out; after a success (or a next step
 * named) the step forgot to commit, and the call must not say it saved. */
static void end_db_step(gw_call_t *c, db_conn_t *db)
{
    if (!db_in_transaction(db))
        return;
    db_rollback(db);
    if (c->err != ERR_NONE)
        return;
    log_error("call", "BUG: a step of %s %s returned with a transaction open and no failure; rolled back", c->method,
              c->route ? c->route->pattern : "-");
    call_fail(c, ERR_INTERNAL, NULL, "the change was not saved; retry later");
}

void call_run_on_worker(gw_call_t *c, pool_kind_t pool, void *worker_ctx)
{
    struct gw_call_internal *in = c->internal;
    in->fallback = NULL; /* the step runs: no fallback any more */
    in->fallback_db = NULL;
    in->max_wait_ms = 0;
    /* Run steps inline while they stay on this pool: saves a hop. */
    while (c->next && c->next_pool == pool) {
        if (before_step_or_fail(c) != 0)
            break;
        if (pool == POOL_DB) {
            c->db = worker_ctx;
            if (db_conn_ensure(c->db) != 0) {
                call_fail(c, ERR_DB_UNAVAILABLE, NULL, NULL);
                c->db = NULL;
                break;
            }
        }
        gw_step_fn fn = c->next;
        c->next = NULL;
        if (pool == POOL_WECHAT) /* the WeChat calls of this step end by the deadline */
            wx_set_thread_deadline(in->deadline_ms);
        fn(c);
        if (pool == POOL_WECHAT)
            wx_set_thread_deadline(0);
        if (c->db)
            end_db_step(c, c->db);
        c->db = NULL;
        if (!c->next && c->status == 0)
            call_fail(c, ERR_INTERNAL, NULL, "handler produced no result");
    }
}

void call_run_job(gw_call_t *c, pool_kind_t pool, void *worker_ctx, int expired)
{
    if (!expired)
        call_run_on_worker(c, pool, worker_ctx);
    else if (!take_fallback(c)) /* the loop queues or runs the fallback */
        call_fail(c, ERR_OVERLOADED, NULL, "server is busy; retry later");
}

static void run_step_on_worker(pool_job_t *job, void *worker_ctx, int expired)
{
    struct gw_call_internal *in = container_of(job, struct gw_call_internal, job);
    gw_call_t *c = in->call;
    log_set_request_id(c->request_id);
    call_run_job(c, in->pool, worker_ctx, expired);
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
        if (before_step_or_fail(c) != 0)
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
        if (call_refused_or_fail(c) != 0)
            break;
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
