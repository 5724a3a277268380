/* memory_trim.h: when to hand memory freed after a burst back to the system.
 *
 * glibc keeps what a burst freed (1 MB upload bodies and image buffers,
 * thousands of TLS handshakes) in its arenas, so the footprint stays at its
 * peak until malloc_trim(). Trimming while requests run costs page faults
 * when the memory is needed again, so the process trims once a burst is over
 * (nothing started and nothing in flight for a moment), and during a long
 * busy stretch at most every backstop_ms.
 *
 * Each loop thread owns one trim_activity_t: it counts the requests it starts
 * and, from its one-second timer, publishes when it last saw work. The main
 * thread reads only that published time (an atomic load): no lock and no
 * shared write on the request path. */
#ifndef GW_MEMORY_TRIM_H
#define GW_MEMORY_TRIM_H
#include <stdatomic.h>
#include <stddef.h>

typedef struct {
    /* A cache line of its own: the loop threads write theirs on every request. */
    _Alignas(64) unsigned long long requests; /* started; its loop thread only */
    unsigned long long requests_at_tick;      /* at the previous tick; its loop thread only */
    atomic_llong active_ms;                   /* the last tick that saw work (monotonic ms) */
} trim_activity_t;

void trim_activity_init(trim_activity_t *a, long long now_ms);

/* Loop thread, for every request it starts. */
static inline void trim_activity_request(trim_activity_t *a)
{
    a->requests++;
}

/* Loop thread, from a periodic timer: work seen since the previous tick
 * (a request started, or one still in flight) moves active_ms to now. */
void trim_activity_tick(trim_activity_t *a, size_t inflight, long long now_ms);

/* The latest active_ms of n threads (main thread). */
long long trim_activity_latest(trim_activity_t *threads, int n);

typedef struct {
    long long quiet_ms;       /* a burst is over once no work was seen for this long */
    long long backstop_ms;    /* busy without a pause this long: trim anyway (0: never) */
    long long active_at_trim; /* the activity time the last trim covered */
    long long busy_since_ms;  /* first work seen after the last trim (0: none yet) */
} memory_trim_t;

/* Main thread, every few hundred ms: 1 when it is time to call malloc_trim
 * (the trim is then recorded), else 0. Only work seen since the last trim
 * can call for another, so a process that stays idle is not trimmed again
 * and again, and a new burst is not trimmed at its start. */
int memory_trim_due(memory_trim_t *m, long long latest_active_ms, long long now_ms);

#endif
