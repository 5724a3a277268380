/* test_workers.c: the worker pool's classes of work: a class never runs
 * more jobs than its thread share nor holds more than its share of the
 * queue (refused at submit time), another class keeps its own threads while
 * one is flooded, waiting jobs past their wait limit run expired, and
 * pool_destroy drains what is queued. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test.h"
#include "workers.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int gate_open;
static int running[2], max_running[2];

typedef struct {
    pool_job_t job; /* first: the pool hands this pointer back */
    int cls;
    atomic_int done, expired, blocking;
} test_job_t;

static void run(pool_job_t *job, void *ctx, int expired)
{
    (void)ctx;
    test_job_t *j = (test_job_t *)job;
    pthread_mutex_lock(&mu);
    running[j->cls]++;
    if (running[j->cls] > max_running[j->cls])
        max_running[j->cls] = running[j->cls];
    while (j->blocking && !gate_open)
        pthread_cond_wait(&cv, &mu);
    running[j->cls]--;
    pthread_mutex_unlock(&mu);
    atomic_store(&j->expired, expired);
    atomic_store(&j->done, 1);
}

static void submit_ok(worker_pool_t *p, test_job_t *j, int cls, int blocking, int max_wait_ms)
{
    memset(j, 0, sizeof(*j));
    j->cls = cls;
    j->job.cls = cls;
    j->job.run = run;
    j->job.max_wait_ms = max_wait_ms;
    atomic_store(&j->blocking, blocking);
    CHECK_INT(pool_submit(p, &j->job), 0);
}

static int refused(worker_pool_t *p, int cls)
{
    test_job_t j;
    memset(&j, 0, sizeof(j));
    j.job.cls = cls;
    j.job.run = run;
    return pool_submit(p, &j.job) == -1;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Polls with a deadline: the pool's threads get there on their own time. */
static int wait_for(atomic_int *flag)
{
    for (int i = 0; i < 1000; i++) {
        if (atomic_load(flag))
            return 1;
        sleep_ms(5);
    }
    return 0;
}

static int wait_running(worker_pool_t *p, int cls, int want)
{
    for (int i = 0; i < 1000; i++) {
        int r, q;
        pool_class_stats(p, cls, &r, &q);
        if (r == want)
            return 1;
        sleep_ms(5);
    }
    return 0;
}

static void open_gate(void)
{
    pthread_mutex_lock(&mu);
    gate_open = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static void test_shares_bound_a_flood_and_keep_the_others_free(void)
{
    const pool_share_t shares[2] = {{2, 2}, {2, 0}}; /* class 0 floods; class 1 may not wait */
    pool_config_t cfg = {
        .name = "test", .threads = 4, .queue_max = 100, .queue_timeout_ms = 60000, .nclasses = 2, .shares = shares};
    worker_pool_t *p = pool_create(&cfg);
    CHECK(p != NULL);
    gate_open = 0;
    test_job_t flood[4], other[2];
    for (int i = 0; i < 4; i++)
        submit_ok(p, &flood[i], 0, 1, 0);
    CHECK(wait_running(p, 0, 2));
    /* Two running, two waiting: the class is full and refused at once. */
    CHECK(refused(p, 0));
    int r, q;
    pool_class_stats(p, 0, &r, &q);
    CHECK_INT(r, 2);
    CHECK_INT(q, 2);
    /* The other class runs on the two threads the flood may not take. */
    for (int i = 0; i < 2; i++)
        submit_ok(p, &other[i], 1, 0, 0);
    CHECK(wait_for(&other[0].done));
    CHECK(wait_for(&other[1].done));
    CHECK_INT(atomic_load(&other[0].expired), 0);
    /* With both of its threads taken, a class without a queue is refused. */
    test_job_t hold[2];
    for (int i = 0; i < 2; i++)
        submit_ok(p, &hold[i], 1, 1, 0);
    CHECK(wait_running(p, 1, 2));
    CHECK(refused(p, 1));
    open_gate();
    for (int i = 0; i < 4; i++)
        CHECK(wait_for(&flood[i].done));
    CHECK(wait_for(&hold[0].done) && wait_for(&hold[1].done));
    CHECK_INT(max_running[0], 2); /* never more than its share */
    CHECK_INT(max_running[1], 2);
    pool_destroy(p);
}

static void test_a_job_past_its_wait_runs_expired(void)
{
    const pool_share_t shares[2] = {{1, 4}, {1, 4}};
    pool_config_t cfg = {
        .name = "test", .threads = 2, .queue_max = 100, .queue_timeout_ms = 60000, .nclasses = 2, .shares = shares};
    worker_pool_t *p = pool_create(&cfg);
    gate_open = 0;
    test_job_t blocker, late, patient;
    submit_ok(p, &blocker, 0, 1, 0);
    CHECK(wait_running(p, 0, 1));
    submit_ok(p, &late, 0, 0, 20);   /* may wait 20 ms */
    submit_ok(p, &patient, 0, 0, 0); /* the pool's 60 s */
    sleep_ms(60);
    open_gate();
    CHECK(wait_for(&late.done) && wait_for(&patient.done));
    CHECK_INT(atomic_load(&late.expired), 1);
    CHECK_INT(atomic_load(&patient.expired), 0);
    pool_destroy(p);
}

static void test_destroy_drains_the_queue(void)
{
    const pool_share_t shares[1] = {{1, 50}};
    pool_config_t cfg = {
        .name = "test", .threads = 3, .queue_max = 100, .queue_timeout_ms = 60000, .nclasses = 1, .shares = shares};
    worker_pool_t *p = pool_create(&cfg);
    gate_open = 1;
    test_job_t *jobs = calloc(40, sizeof(*jobs));
    for (int i = 0; i < 40; i++)
        submit_ok(p, &jobs[i], 0, 0, 0);
    pool_destroy(p);
    int done = 0;
    for (int i = 0; i < 40; i++)
        done += atomic_load(&jobs[i].done);
    CHECK_INT(done, 40);
    free(jobs);
}

int main(void)
{
    RUN(test_shares_bound_a_flood_and_keep_the_others_free);
    RUN(test_a_job_past_its_wait_runs_expired);
    RUN(test_destroy_drains_the_queue);
    return TEST_REPORT();
}
