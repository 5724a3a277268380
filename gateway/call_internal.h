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
    h2o_req_t *req;      /* NULL once h2o disposed the request */
    int in_worker;
    pool_kind_t pool;    /* pool the call is queued on or running in */
    long long started_ms;
    gw_step_fn after_auth; /* the route's first step, run once the user is loaded */
};

/* Starts a call for a live request (loop thread). Takes ownership of c. */
void call_start(struct gw_thread *t, h2o_req_t *req, gw_call_t *c);
/* Loop thread: receives calls whose step finished on a worker. */
void call_on_worker_done(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages);
/* Sends the envelope for a finished call (loop thread; request alive). */
void response_send(h2o_req_t *req, gw_call_t *c);

#endif
