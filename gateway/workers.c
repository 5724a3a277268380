#include "workers.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct worker_pool {
    pool_config_t cfg;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pool_job_t *head, *tail;
    int queued, busy, stopping;
    pthread_t *tids;
    int started;
};

typedef struct {
    worker_pool_t *pool;
    int index;
} worker_arg_t;

long long monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *worker_main(void *argp)
{
    worker_arg_t arg = *(worker_arg_t *)argp;
    free(argp);
    worker_pool_t *p = arg.pool;
    void *ctx = p->cfg.thread_init ? p->cfg.thread_init(p->cfg.arg, arg.index) : NULL;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->head && !p->stopping)
            pthread_cond_wait(&p->cv, &p->mu);
        if (!p->head)
            break; /* stopping and drained */
        pool_job_t *job = p->head;
        p->head = job->next;
        if (!p->head)
            p->tail = NULL;
        p->queued--;
        p->busy++;
        pthread_mutex_unlock(&p->mu);
        int expired = monotonic_ms() - job->enqueued_ms > p->cfg.queue_timeout_ms;
        job->run(job, ctx, expired);
        pthread_mutex_lock(&p->mu);
        p->busy--;
    }
    pthread_mutex_unlock(&p->mu);
    if (p->cfg.thread_fini)
        p->cfg.thread_fini(ctx);
    return NULL;
}

worker_pool_t *pool_create(const pool_config_t *cfg)
{
    worker_pool_t *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->cfg = *cfg;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->tids = calloc((size_t)cfg->threads, sizeof(pthread_t));
    for (int i = 0; i < cfg->threads; i++) {
        worker_arg_t *arg = malloc(sizeof(*arg));
        arg->pool = p;
        arg->index = i;
        if (pthread_create(&p->tids[i], NULL, worker_main, arg) != 0) {
            free(arg);
            fprintf(stderr, "workers: cannot start thread %d of %s\n", i, cfg->name);
            break;
        }
        p->started++;
    }
    return p;
}

int pool_submit(worker_pool_t *p, pool_job_t *job)
{
    job->next = NULL;
    job->enqueued_ms = monotonic_ms();
    pthread_mutex_lock(&p->mu);
    if (p->stopping || p->queued >= p->cfg.queue_max) {
        pthread_mutex_unlock(&p->mu);
        return -1;
    }
    if (p->tail)
        p->tail->next = job;
    else
        p->head = job;
    p->tail = job;
    p->queued++;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

void pool_stats(worker_pool_t *p, int *busy, int *total, int *queued)
{
    pthread_mutex_lock(&p->mu);
    *busy = p->busy;
    *total = p->started;
    *queued = p->queued;
    pthread_mutex_unlock(&p->mu);
}

void pool_destroy(worker_pool_t *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->started; i++)
        pthread_join(p->tids[i], NULL);
    free(p->tids);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}
