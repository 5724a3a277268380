/* coro_pool.h: database steps run on the event loop, each on a stack of its
 * own, over MariaDB's non-blocking API (the probe's mode "coro").
 *
 * A pool belongs to one loop thread: `conns` connections (gateway/db.c's
 * db_conn_t, each with a waiter of nb_calls.h), one coroutine stack each, and a bounded FIFO of jobs
 * waiting for a free connection. A job's run() is straight-line code that
 * calls db_query/db_exec/db_begin/db_commit as on a worker; whenever
 * MariaDB has to wait for the server, the waiter arms a watch on the
 * connection's socket (a dup of it, an h2o socket that never reads) and a
 * timer, and switches back to the loop; the watch's callback switches into
 * the stack again. When run() returns, done() is called on the loop's own
 * stack, where the response is sent.
 *
 * Everything here runs on the pool's loop thread. */
#ifndef DBHOP_CORO_POOL_H
#define DBHOP_CORO_POOL_H
#define H2O_USE_LIBUV 0
#include <h2o.h>

#include "gateway/db.h"

/* A readiness watch on a socket owned by another library, for the loop:
 * on_events is called with MYSQL_WAIT_READ/WRITE/TIMEOUT. Shared by the
 * coroutine pool and the probe's hand-written state machine (mode "async"). */
typedef struct loop_watch {
    h2o_loop_t *loop;
    h2o_socket_t *sock; /* on a dup of fd, H2O_SOCKET_FLAG_DONT_READ */
    int fd;             /* the library's descriptor, -1 when none */
    int reading;        /* h2o_socket_read_start is on */
    int write_armed;    /* h2o_socket_notify_write is one-shot: armed until it fires */
    int want;           /* the events waited for now */
    h2o_timeout_entry_t timer;
    void (*on_events)(struct loop_watch *w, int events);
} loop_watch_t;

void loop_watch_init(loop_watch_t *w, h2o_loop_t *loop, void (*on_events)(loop_watch_t *w, int events));
/* Waits for `events` on fd (a new fd replaces the watched one); with
 * MYSQL_WAIT_TIMEOUT, timeout (a fixed-duration list of the loop) fires
 * MYSQL_WAIT_TIMEOUT. -1 when the descriptor cannot be watched. */
int loop_watch_arm(loop_watch_t *w, int fd, int events, h2o_timeout_t *timeout);
/* Nothing is waited for: stops reading (the loop is level-triggered). */
void loop_watch_idle(loop_watch_t *w);
/* The descriptor is about to close: lets the copy go. */
void loop_watch_close(loop_watch_t *w);

/* The fixed-duration timer list of the loop for `ms` (h2o 2.2.5 has one
 * list per duration); a few are kept per loop. NULL when more durations are
 * asked for than there are lists. */
typedef struct {
    h2o_loop_t *loop;
    int n;
    struct {
        int ms;
        h2o_timeout_t t;
    } lists[4];
} loop_timeouts_t;
h2o_timeout_t *loop_timeouts_get(loop_timeouts_t *lt, int ms);
void loop_timeouts_dispose(loop_timeouts_t *lt);

typedef struct coro_job {
    struct coro_job *next;
    long long enqueued_ms;
    /* Runs on a coroutine stack of the loop thread; db is the job's
     * connection (not connected yet, maybe: call db_conn_ensure). expired:
     * the job waited longer than the pool's queue timeout. */
    void (*run)(struct coro_job *job, db_conn_t *db, int expired);
    /* Then on the loop's own stack. */
    void (*done)(struct coro_job *job);
} coro_job_t;

typedef struct coro_pool coro_pool_t;

typedef struct {
    int conns;
    int queue_max;
    int queue_timeout_ms;
    size_t stack_bytes;
    const db_params_t *db; /* copied by db_conn_new */
} coro_pool_config_t;

coro_pool_t *coro_pool_create(h2o_loop_t *loop, const coro_pool_config_t *cfg);
/* 0 when queued (or started); -1 when the queue is full. */
int coro_pool_submit(coro_pool_t *p, coro_job_t *job);
/* After the loop stopped running jobs (none in flight). */
void coro_pool_destroy(coro_pool_t *p);

#endif
