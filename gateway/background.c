#include "background.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "log.h"
#include "metrics.h"
#include "workers.h"

#define MAX_JOBS 16

/* Each job has its own thread and connection, so a slow job (a WeChat call
 * with retries) never delays another (an escalation sweep). */
typedef struct {
    const char *name;
    int interval_ms;
    background_fn fn;
    pthread_t tid;
    int started;
} bg_job_t;

static bg_job_t jobs[MAX_JOBS];
static int njobs;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int stop_flag;

void background_register(const char *name, int interval_ms, background_fn fn)
{
    if (njobs < MAX_JOBS)
        jobs[njobs++] = (bg_job_t){.name = name, .interval_ms = interval_ms, .fn = fn};
    else
        log_error("background", "too many jobs; %s not registered", name);
}

int background_stopping(void)
{
    pthread_mutex_lock(&mu);
    int s = stop_flag;
    pthread_mutex_unlock(&mu);
    return s;
}

static void wait_ms(long long ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&mu);
    if (!stop_flag)
        pthread_cond_timedwait(&cv, &mu, &ts);
    pthread_mutex_unlock(&mu);
}

static void *job_main(void *arg)
{
    bg_job_t *job = arg;
    db_thread_init();
    db_params_t p = {
        .unix_socket = gw_cfg->db_socket,
        .host = gw_cfg->db_host,
        .port = gw_cfg->db_port,
        .user = gw_cfg->db_user,
        .password = gw_cfg->db_password,
        .database = gw_cfg->db_name,
        .connect_timeout_ms = gw_cfg->db_connect_timeout_ms,
        .query_timeout_ms = gw_cfg->db_query_timeout_ms,
    };
    db_conn_t *db = db_conn_new(&p);
    while (!background_stopping()) {
        long long started = monotonic_ms();
        log_set_request_id(job->name);
        if (db_conn_ensure(db) == 0) {
            job->fn(db);
            db_end_step(db);
            /* Counted after the run: whoever watches the counter knows a run
             * that started after a change of theirs has finished. */
            metrics_background_run(job->name);
        }
        log_set_request_id(NULL);
        long long left = job->interval_ms - (monotonic_ms() - started);
        if (left > 0)
            wait_ms(left);
    }
    db_conn_free(db);
    db_thread_end();
    return NULL;
}

void background_start(void)
{
    stop_flag = 0;
    for (int i = 0; i < njobs; i++)
        if (!jobs[i].started && pthread_create(&jobs[i].tid, NULL, job_main, &jobs[i]) == 0)
            jobs[i].started = 1;
}

void background_stop(void)
{
    pthread_mutex_lock(&mu);
    stop_flag = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    for (int i = 0; i < njobs; i++)
        if (jobs[i].started) {
            pthread_join(jobs[i].tid, NULL);
            jobs[i].started = 0;
        }
}
