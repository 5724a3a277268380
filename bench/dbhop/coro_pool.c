#include "coro_pool.h"

#include "nb_calls.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

/* AddressSanitizer must be told when the stack changes under it, or it
 * takes the coroutine's frames for an overflow of the thread's stack. */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define SWITCH_START(save, bottom, size) __sanitizer_start_switch_fiber((save), (bottom), (size))
#define SWITCH_FINISH(save, bottom, size) __sanitizer_finish_switch_fiber((save), (bottom), (size))
#else
#define SWITCH_START(save, bottom, size) ((void)(save), (void)(bottom), (void)(size))
#define SWITCH_FINISH(save, bottom, size) ((void)(save), (void)(bottom), (void)(size))
#endif

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* ---- watching another library's socket ---- */

static void watch_fire(loop_watch_t *w, int events)
{
    w->want = 0;
    if (h2o_timeout_is_linked(&w->timer))
        h2o_timeout_unlink(&w->timer);
    w->on_events(w, events);
}

static void on_readable(h2o_socket_t *sock, const char *err)
{
    (void)err; /* an error or a hang-up: MariaDB reads it and reports it */
    loop_watch_t *w = sock->data;
    if (w->want & MYSQL_WAIT_READ)
        watch_fire(w, MYSQL_WAIT_READ);
}

static void on_writable(h2o_socket_t *sock, const char *err)
{
    (void)err;
    loop_watch_t *w = sock->data;
    w->write_armed = 0;
    if (w->want & MYSQL_WAIT_WRITE)
        watch_fire(w, MYSQL_WAIT_WRITE);
}

static void on_timer(h2o_timeout_entry_t *entry)
{
    loop_watch_t *w = container_of(entry, loop_watch_t, timer);
    if (w->want)
        watch_fire(w, MYSQL_WAIT_TIMEOUT);
}

void loop_watch_init(loop_watch_t *w, h2o_loop_t *loop, void (*on_events)(loop_watch_t *w, int events))
{
    memset(w, 0, sizeof(*w));
    w->loop = loop;
    w->fd = -1;
    w->timer.cb = on_timer;
    w->on_events = on_events;
}

int loop_watch_arm(loop_watch_t *w, int fd, int events, h2o_timeout_t *timeout)
{
    if (w->fd != fd) {
        loop_watch_close(w);
        int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (copy < 0)
            return -1;
        w->sock = h2o_evloop_socket_create(w->loop, copy, H2O_SOCKET_FLAG_DONT_READ);
        w->sock->data = w;
        w->fd = fd;
    }
    w->want = events;
    /* Reading stays on between waits of a job: each change costs an
     * epoll_ctl. Off while only writing, or the level-triggered loop would
     * spin on an answer that is already there. */
    if ((events & MYSQL_WAIT_READ) && !w->reading) {
        h2o_socket_read_start(w->sock, on_readable);
        w->reading = 1;
    } else if (!(events & MYSQL_WAIT_READ) && w->reading) {
        h2o_socket_read_stop(w->sock);
        w->reading = 0;
    }
    if ((events & MYSQL_WAIT_WRITE) && !w->write_armed) {
        w->write_armed = 1;
        h2o_socket_notify_write(w->sock, on_writable);
    }
    if ((events & MYSQL_WAIT_TIMEOUT) && timeout)
        h2o_timeout_link(w->loop, timeout, &w->timer);
    return 0;
}

void loop_watch_idle(loop_watch_t *w)
{
    w->want = 0;
    if (h2o_timeout_is_linked(&w->timer))
        h2o_timeout_unlink(&w->timer);
    if (w->reading) {
        h2o_socket_read_stop(w->sock);
        w->reading = 0;
    }
}

void loop_watch_close(loop_watch_t *w)
{
    loop_watch_idle(w);
    if (w->sock) {
        w->sock->data = NULL;
        h2o_socket_close(w->sock); /* closes the copy; MariaDB closes its own */
        w->sock = NULL;
    }
    w->fd = -1;
    w->write_armed = 0;
}

h2o_timeout_t *loop_timeouts_get(loop_timeouts_t *lt, int ms)
{
    for (int i = 0; i < lt->n; i++)
        if (lt->lists[i].ms == ms)
            return &lt->lists[i].t;
    if (lt->n == (int)(sizeof(lt->lists) / sizeof(lt->lists[0])))
        return NULL;
    lt->lists[lt->n].ms = ms;
    h2o_timeout_init(lt->loop, &lt->lists[lt->n].t, (uint64_t)ms);
    return &lt->lists[lt->n++].t;
}

void loop_timeouts_dispose(loop_timeouts_t *lt)
{
    for (int i = 0; i < lt->n; i++)
        h2o_timeout_dispose(lt->loop, &lt->lists[i].t);
    lt->n = 0;
}

/* ---- the coroutines ---- */

typedef struct {
    coro_pool_t *pool;
    db_conn_t *db;
    nb_waiter_t waiter;
    loop_watch_t watch;
    ucontext_t ctx, caller;
    char *map; /* guard page, then the stack */
    size_t map_bytes;
    coro_job_t *job; /* running, or NULL when the slot is free */
    int expired;
    int waiting;  /* suspended in waiter.wait */
    int events;   /* what woke it */
    int finished; /* run() returned: done() is due */
    void *fake_stack;
    const void *caller_bottom;
    size_t caller_size;
} coro_slot_t;

struct coro_pool {
    h2o_loop_t *loop;
    coro_pool_config_t cfg;
    loop_timeouts_t timeouts;
    coro_slot_t *slots;
    coro_job_t *head, *tail;
    int queued;
    int dispatching;
};

static _Thread_local coro_slot_t *entering; /* the slot a first switch starts */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t page_size(void)
{
    long n = sysconf(_SC_PAGESIZE);
    return n > 0 ? (size_t)n : 4096;
}

/* From the coroutine back to the loop. */
static void yield(coro_slot_t *s)
{
    SWITCH_START(&s->fake_stack, s->caller_bottom, s->caller_size);
    swapcontext(&s->ctx, &s->caller);
    SWITCH_FINISH(s->fake_stack, &s->caller_bottom, &s->caller_size);
}

static void slot_main(void)
{
    coro_slot_t *s = entering;
    SWITCH_FINISH(NULL, &s->caller_bottom, &s->caller_size);
    for (;;) {
        s->job->run(s->job, s->db, s->expired);
        s->finished = 1;
        yield(s);
    }
}

/* From the loop into the coroutine, until it waits or its job is done.
 * 1 when the job is done (done() called here, on the loop's stack). */
static int resume(coro_slot_t *s)
{
    void *fake = NULL;
    entering = s;
    nb_waiter = &s->waiter; /* the coroutine's db.c calls go through it */
    SWITCH_START(&fake, s->map + page_size(), s->map_bytes - page_size());
    swapcontext(&s->caller, &s->ctx);
    SWITCH_FINISH(fake, NULL, NULL);
    nb_waiter = NULL;
    if (!s->finished)
        return 0;
    coro_job_t *job = s->job;
    s->job = NULL;
    s->finished = 0;
    loop_watch_idle(&s->watch);
    job->done(job);
    return 1;
}

/* Free slots take waiting jobs, oldest first. Not re-entered: a job that
 * finishes inside lets the outer loop go on. */
static void dispatch(coro_pool_t *p)
{
    if (p->dispatching)
        return;
    p->dispatching = 1;
    for (int i = 0; i < p->cfg.conns && p->head; i++) {
        coro_slot_t *s = &p->slots[i];
        if (s->job)
            continue;
        coro_job_t *job = p->head;
        p->head = job->next;
        if (!p->head)
            p->tail = NULL;
        p->queued--;
        s->job = job;
        s->expired = now_ms() - job->enqueued_ms > p->cfg.queue_timeout_ms;
        resume(s);
        i = -1; /* a slot may have come free again: look from the start */
    }
    p->dispatching = 0;
}

static int slot_wait(nb_waiter_t *w, int fd, int events, int timeout_ms)
{
    coro_slot_t *s = container_of(w, coro_slot_t, waiter);
    h2o_timeout_t *t = NULL;
    if (events & MYSQL_WAIT_TIMEOUT) {
        t = loop_timeouts_get(&s->pool->timeouts, timeout_ms > 0 ? timeout_ms : 1);
        if (!t) /* no timer for it: fail now rather than wait unbounded */
            return MYSQL_WAIT_TIMEOUT;
    }
    if (loop_watch_arm(&s->watch, fd, events, t) != 0)
        return MYSQL_WAIT_TIMEOUT;
    s->waiting = 1;
    yield(s);
    s->waiting = 0;
    return s->events;
}

static void slot_forget(nb_waiter_t *w)
{
    coro_slot_t *s = container_of(w, coro_slot_t, waiter);
    loop_watch_close(&s->watch);
}

static void slot_on_events(loop_watch_t *w, int events)
{
    coro_slot_t *s = container_of(w, coro_slot_t, watch);
    if (!s->waiting)
        return;
    s->events = events;
    if (resume(s))
        dispatch(s->pool);
}

int coro_pool_submit(coro_pool_t *p, coro_job_t *job)
{
    if (p->queued >= p->cfg.queue_max)
        return -1;
    job->next = NULL;
    job->enqueued_ms = now_ms();
    if (p->tail)
        p->tail->next = job;
    else
        p->head = job;
    p->tail = job;
    p->queued++;
    dispatch(p);
    return 0;
}

/* getcontext returns twice: kept out of the function with the loop, whose
 * locals the compiler would otherwise have to assume clobbered. */
static __attribute__((noinline)) int make_slot_context(coro_slot_t *s, size_t guard, size_t stack)
{
    if (getcontext(&s->ctx) != 0)
        return -1;
    s->ctx.uc_stack.ss_sp = s->map + guard;
    s->ctx.uc_stack.ss_size = stack;
    s->ctx.uc_link = NULL; /* slot_main never returns */
    makecontext(&s->ctx, slot_main, 0);
    return 0;
}

coro_pool_t *coro_pool_create(h2o_loop_t *loop, const coro_pool_config_t *cfg)
{
    coro_pool_t *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->loop = loop;
    p->cfg = *cfg;
    p->timeouts.loop = loop;
    p->slots = calloc((size_t)cfg->conns, sizeof(*p->slots));
    if (!p->slots) {
        free(p);
        return NULL;
    }
    size_t page = page_size();
    size_t stack = (cfg->stack_bytes + page - 1) / page * page;
    for (int i = 0; i < cfg->conns; i++) {
        coro_slot_t *s = &p->slots[i];
        s->pool = p;
        s->waiter = (nb_waiter_t){.wait = slot_wait, .forget = slot_forget};
        loop_watch_init(&s->watch, loop, slot_on_events);
        s->map_bytes = stack + page;
        s->map = mmap(NULL, s->map_bytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
        s->db = db_conn_new(cfg->db);
        if (s->map == MAP_FAILED || !s->db || mprotect(s->map, page, PROT_NONE) != 0 ||
            make_slot_context(s, page, stack) != 0) {
            if (s->map == MAP_FAILED)
                s->map = NULL;
            p->cfg.conns = i + 1;
            coro_pool_destroy(p);
            return NULL;
        }
    }
    return p;
}

void coro_pool_destroy(coro_pool_t *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->cfg.conns; i++) {
        coro_slot_t *s = &p->slots[i];
        nb_waiter = &s->waiter; /* closes through forget: the loop is done */
        db_conn_free(s->db);
        nb_waiter = NULL;
        loop_watch_close(&s->watch);
        if (s->map)
            munmap(s->map, s->map_bytes);
    }
    loop_timeouts_dispose(&p->timeouts);
    free(p->slots);
    free(p);
}
