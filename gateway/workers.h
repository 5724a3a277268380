/* workers.h: a fixed set of threads behind a bounded queue.
 *
 * Used for everything that would block an event loop: database statements
 * (one pool per loop thread, each worker owning a connection), WeChat calls
 * and image work. A full queue refuses new jobs at once (the caller answers
 * 503 with Retry-After); a job that waited longer than its wait limit is
 * run with expired = 1 so it can fail fast instead of doing stale work.
 *
 * Classes of work: a pool may split its jobs into classes (pool_share_t),
 * each with its own FIFO. A class may have at most `threads` of its jobs
 * running and `threads + queue` in the pool (running or waiting); a job of
 * a class that is full is refused at submit time, so a flood of one class
 * never delays another class by more than the running jobs it is allowed.
 * A free worker takes the oldest waiting job among the classes that are
 * under their thread share. */
#ifndef GW_WORKERS_H
#define GW_WORKERS_H

#define POOL_CLASSES_MAX 8

typedef struct pool_job {
    struct pool_job *next;
    long long enqueued_ms;
    int cls;         /* class of work, 0..nclasses-1 (0 in a pool without classes) */
    int max_wait_ms; /* longest wait before it runs expired; 0 = the pool's queue_timeout_ms */
    /* Runs on a worker. worker_ctx is what thread_init returned. */
    void (*run)(struct pool_job *job, void *worker_ctx, int expired);
} pool_job_t;

typedef struct {
    int threads; /* at most this many of the class's jobs run at once (capped to the pool's threads) */
    int queue;   /* and at most this many more wait */
} pool_share_t;

typedef struct {
    const char *name;
    int threads;
    int queue_max; /* jobs waiting, all classes together */
    int queue_timeout_ms;
    int nclasses;                               /* 0 or 1: one class that may use every thread */
    const pool_share_t *shares;                 /* nclasses entries (copied) */
    void *(*thread_init)(void *arg, int index); /* optional: per-worker context */
    void (*thread_fini)(void *worker_ctx);      /* optional */
    void *arg;
} pool_config_t;

typedef struct worker_pool worker_pool_t;

/* NULL when out of memory or no thread could be started. */
worker_pool_t *pool_create(const pool_config_t *cfg);
/* 0 when queued; -1 when the pool's queue or the job's class is full, or
 * the pool is stopping. */
int pool_submit(worker_pool_t *p, pool_job_t *job);
/* Jobs waiting plus jobs running. */
void pool_stats(worker_pool_t *p, int *busy, int *total, int *queued);
/* Running and waiting jobs of one class. */
void pool_class_stats(worker_pool_t *p, int cls, int *running, int *queued);
/* Lets the queue drain, then joins the threads and frees the pool. */
void pool_destroy(worker_pool_t *p);

long long monotonic_ms(void);

#endif
