/* call_internal.h: what the server and call.c share about a call in flight. */
#ifndef GW_CALL_INTERNAL_H
#define GW_CALL_INTERNAL_H
#include "call.h"
#include "server.h"
#include "workers.h"

struct gw_call_internal {
    pool_job_t job;
    h2o_multithread_message_t msg;
    gw_call_t *call;
    struct gw_thread *thread;
    h2o_req_t *req; /* NULL once h2o disposed the request */
    int in_worker;
    pool_kind_t pool; /* pool the call is queued on or running in */
    long long started_ms;
    long long deadline_ms; /* monotonic; 0 = none (call_deadline_ms after started_ms) */
    /* The next step when it is a DB step (call_then_db): c->next is then
     * the runner's trampoline that hands it the connection. */
    gw_db_step_fn next_db;
    /* The next step is the route's first one (or its body check): the body
     * is judged before it runs. */
    int at_route_start;
    /* The body kept by request.c, judged and parsed (request_body_or_fail)
     * right before the route's first step runs or is queued. */
    int body_pending;
    size_t body_too_large; /* the route's limit when the body is over it, else 0 */
    /* call_then_or: where the call goes instead when the next worker step
     * cannot be queued or waits longer than max_wait_ms. One step only. */
    gw_step_fn fallback;
    pool_kind_t fallback_pool;
    int max_wait_ms;
    struct call_kept *kept; /* call_keep: freed with the call */
};

/* Queues the route's first step (after its body check, if it has one);
 * called once the caller is authorised. */
void call_then_route(gw_call_t *c);
/* Starts the call's deadline clock: deadline after call_deadline_ms. */
void call_start_clock(gw_call_t *c);
/* The clock of deadlines (monotonic ms); tests replace it. NULL restores
 * the real one. */
void call_set_clock(long long (*now_ms)(void));
/* Runs the steps of a call that stay on a worker of `pool` (worker_ctx is a
 * DB worker's connection), as a worker does; exposed for tests. */
void call_run_on_worker(gw_call_t *c, pool_kind_t pool, void *worker_ctx);

/* Starts a call for a live request (loop thread). Takes ownership of c. */
void call_start(struct gw_thread *t, h2o_req_t *req, gw_call_t *c);
/* Loop thread: receives calls whose step finished on a worker. */
void call_on_worker_done(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages);
/* The envelope of a finished call: {"data", "next_cursor"?} or {"error"},
 * and "request_id"; takes c->data and c->err_details. NULL when memory runs
 * out. */
cJSON *response_envelope(gw_call_t *c);
/* Sets the response's status and headers on req and returns its body:
 * malloc'ed (the caller frees it), or NULL with the body in `fallback` (a
 * fixed INTERNAL envelope when memory ran out). *len is the body's length.
 * A raw response (call_ok_raw) is handed over, not copied. */
char *response_prepare(h2o_req_t *req, gw_call_t *c, size_t *len, char *fallback, size_t fallback_size);
/* Sends the envelope for a finished call (loop thread; request alive). */
void response_send(h2o_req_t *req, gw_call_t *c);

#endif
