#include "workers.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    pool_job_t *head, *tail;
    int queued, running;
    pool_share_t share;
} job_class_t;

struct worker_pool {
    pool_config_t cfg;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    job_class_t classes[POOL_CLASSES_MAX];
    int nclasses;
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

/* The class whose oldest waiting job should run next: among the classes
 * under their thread share, the one whose head waited longest. -1 if none.
 * Lock held. */
static int next_class(worker_pool_t *p)
{
    int best = -1;
    for (int i = 0; i < p->nclasses; i++) {
        job_class_t *k = &p->classes[i];
        if (k->head && k->running < k->share.threads &&
            (best < 0 || k->head->enqueued_ms < p->classes[best].head->enqueued_ms))
            best = i;
    }
    return best;
}

static void *worker_main(void *argp)
{
    worker_arg_t arg = *(worker_arg_t *)argp;
    free(argp);
    worker_pool_t *p = arg.pool;
    void *ctx = p->cfg.thread_init ? p->cfg.thread_init(p->cfg.arg, arg.index) : NULL;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        int cls;
        while ((cls = next_class(p)) < 0 && !(p->stopping && p->queued == 0))
            pthread_cond_wait(&p->cv, &p->mu);
        if (cls < 0)
            break; /* stopping and drained */
        job_class_t *k = &p->classes[cls];
        pool_job_t *job = k->head;
        k->head = job->next;
        if (!k->head)
            k->tail = NULL;
        k->queued--;
        k->running++;
        p->queued--;
        p->busy++;
        /* Another job may be runnable too (two submits, one wake-up). */
        if (next_class(p) >= 0)
            pthread_cond_signal(&p->cv);
        pthread_mutex_unlock(&p->mu);
        int wait_ms = job->max_wait_ms > 0 ? job->max_wait_ms : p->cfg.queue_timeout_ms;
        int expired = monotonic_ms() - job->enqueued_ms > wait_ms;
        job->run(job, ctx, expired); /* may free the job: not touched after this */
        pthread_mutex_lock(&p->mu);
        k->running--;
        p->busy--;
        if (p->stopping && p->queued == 0)
            pthread_cond_broadcast(&p->cv); /* let the others see the drain */
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
    p->cfg.shares = NULL; /* copied into classes below */
    p->nclasses = cfg->nclasses > 1 && cfg->shares ? cfg->nclasses : 1;
    if (p->nclasses > POOL_CLASSES_MAX)
        p->nclasses = POOL_CLASSES_MAX;
    for (int i = 0; i < p->nclasses; i++) {
        pool_share_t s =
            cfg->nclasses > 1 && cfg->shares ? cfg->shares[i] : (pool_share_t){cfg->threads, cfg->queue_max};
        if (s.threads > cfg->threads)
            s.threads = cfg->threads;
        if (s.threads < 1)
            s.threads = 1;
        if (s.queue < 0)
            s.queue = 0;
        p->classes[i].share = s;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->tids = calloc((size_t)(cfg->threads > 0 ? cfg->threads : 1), sizeof(pthread_t));
    if (!p->tids)
        goto Error;
    for (int i = 0; i < cfg->threads; i++) {
        worker_arg_t *arg = malloc(sizeof(*arg));
        if (!arg)
            break;
        arg->pool = p;
        arg->index = i;
        if (pthread_create(&p->tids[i], NULL, worker_main, arg) != 0) {
            free(arg);
            break;
        }
        p->started++;
    }
    if (p->started < cfg->threads)
        fprintf(stderr, "workers: started %d of %d threads of %s\n", p->started, cfg->threads, cfg->name);
    if (p->started == 0)
        goto Error;
    return p;
Error:
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->tids);
    free(p);
    return NULL;
}

int pool_submit(worker_pool_t *p, pool_job_t *job)
{
    job->next = NULL;
    job->enqueued_ms = monotonic_ms();
    pthread_mutex_lock(&p->mu);
    int cls = job->cls >= 0 && job->cls < p->nclasses ? job->cls : 0;
    job_class_t *k = &p->classes[cls];
    if (p->stopping || p->queued >= p->cfg.queue_max || k->queued + k->running >= k->share.threads + k->share.queue) {
        pthread_mutex_unlock(&p->mu);
        return -1;
    }
    if (k->tail)
        k->tail->next = job;
    else
        k->head = job;
    k->tail = job;
    k->queued++;
    p->queued++;
    if (k->running < k->share.threads)
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

void pool_class_stats(worker_pool_t *p, int cls, int *running, int *queued)
{
    pthread_mutex_lock(&p->mu);
    int ok = cls >= 0 && cls < p->nclasses;
    *running = ok ? p->classes[cls].running : 0;
    *queued = ok ? p->classes[cls].queued : 0;
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
