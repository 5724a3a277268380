#include "background.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "log.h"
#include "workers.h"

#define MAX_JOBS 16

typedef struct {
    const char *name;
    int interval_ms;
    background_fn fn;
    long long next_ms;
} bg_job_t;

static bg_job_t jobs[MAX_JOBS];
static int njobs;
static pthread_t tid;
static int running;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int stop_flag;

void background_register(const char *name, int interval_ms, background_fn fn)
{
    if (njobs < MAX_JOBS)
        jobs[njobs++] = (bg_job_t){name, interval_ms, fn, 0};
}

static void *bg_main(void *arg)
{
    (void)arg;
    db_thread_init();
    db_params_t p = {
        .unix_socket = gw_cfg->db_socket, .host = gw_cfg->db_host, .port = gw_cfg->db_port,
        .user = gw_cfg->db_user, .password = gw_cfg->db_password, .database = gw_cfg->db_name,
        .connect_timeout_ms = gw_cfg->db_connect_timeout_ms, .query_timeout_ms = gw_cfg->db_query_timeout_ms,
    };
    db_conn_t *db = db_conn_new(&p);
    pthread_mutex_lock(&mu);
    while (!stop_flag) {
        long long now = monotonic_ms(), wake = now + 1000;
        for (int i = 0; i < njobs; i++) {
            if (jobs[i].next_ms <= now) {
                pthread_mutex_unlock(&mu);
                if (db_conn_ensure(db) == 0) {
                    jobs[i].fn(db);
                    db_end_step(db);
                }
                pthread_mutex_lock(&mu);
                jobs[i].next_ms = monotonic_ms() + jobs[i].interval_ms;
                if (stop_flag)
                    break;
            }
            if (jobs[i].next_ms < wake)
                wake = jobs[i].next_ms;
        }
        if (stop_flag)
            break;
        long long wait = wake - monotonic_ms();
        if (wait > 0) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += wait / 1000;
            ts.tv_nsec += (wait % 1000) * 1000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&cv, &mu, &ts);
        }
    }
    pthread_mutex_unlock(&mu);
    db_conn_free(db);
    db_thread_end();
    return NULL;
}

void background_start(void)
{
    if (njobs == 0 || running)
        return;
    stop_flag = 0;
    if (pthread_create(&tid, NULL, bg_main, NULL) == 0)
        running = 1;
}

void background_stop(void)
{
    if (!running)
        return;
    pthread_mutex_lock(&mu);
    stop_flag = 1;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(tid, NULL);
    running = 0;
}
