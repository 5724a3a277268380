/* workers.h: a fixed set of threads behind a bounded FIFO.
 *
 * Used for everything that would block an event loop: database statements
 * (one pool per loop thread, each worker owning a connection), WeChat calls
 * and image work. A full queue refuses new jobs at once (the caller answers
 * 503 with Retry-After); a job that waited longer than the queue timeout is
 * run with expired = 1 so it can fail fast instead of doing stale work. */
#ifndef GW_WORKERS_H
#define GW_WORKERS_H

typedef struct pool_job {
    struct pool_job *next;
    long long enqueued_ms;
    /* Runs on a worker. worker_ctx is what thread_init returned. */
    void (*run)(struct pool_job *job, void *worker_ctx, int expired);
} pool_job_t;

typedef struct {
    const char *name;
    int threads;
    int queue_max;
    int queue_timeout_ms;
    void *(*thread_init)(void *arg, int index); /* optional: per-worker context */
    void (*thread_fini)(void *worker_ctx);      /* optional */
    void *arg;
} pool_config_t;

typedef struct worker_pool worker_pool_t;

worker_pool_t *pool_create(const pool_config_t *cfg);
/* 0 when queued, -1 when the queue is full or the pool is stopping. */
int pool_submit(worker_pool_t *p, pool_job_t *job);
/* Jobs waiting plus jobs running. */
void pool_stats(worker_pool_t *p, int *busy, int *total, int *queued);
/* Lets the queue drain, then joins the threads and frees the pool. */
void pool_destroy(worker_pool_t *p);

long long monotonic_ms(void);

#endif
