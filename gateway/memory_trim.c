#include "memory_trim.h"

void trim_activity_init(trim_activity_t *a, long long now_ms)
{
    a->requests = 0;
    a->requests_at_tick = 0;
    atomic_init(&a->active_ms, now_ms);
}

void trim_activity_tick(trim_activity_t *a, size_t inflight, long long now_ms)
{
    if (a->requests != a->requests_at_tick || inflight > 0)
        atomic_store_explicit(&a->active_ms, now_ms, memory_order_relaxed);
    a->requests_at_tick = a->requests;
}

long long trim_activity_latest(trim_activity_t *threads, int n)
{
    long long latest = 0;
    for (int i = 0; i < n; i++) {
        long long t = atomic_load_explicit(&threads[i].active_ms, memory_order_relaxed);
        if (t > latest)
            latest = t;
    }
    return latest;
}

int memory_trim_due(memory_trim_t *m, long long latest_active_ms, long long now_ms)
{
    if (latest_active_ms <= m->active_at_trim)
        return 0; /* nothing ran since the last trim */
    if (!m->busy_since_ms)
        m->busy_since_ms = latest_active_ms;
    int quiet = now_ms - latest_active_ms >= m->quiet_ms;
    int backstop = m->backstop_ms > 0 && now_ms - m->busy_since_ms >= m->backstop_ms;
    if (!quiet && !backstop)
        return 0;
    m->active_at_trim = latest_active_ms;
    m->busy_since_ms = 0;
    return 1;
}
