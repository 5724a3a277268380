/* metrics_db.h: database pool gauges, exported by metrics_render() (metrics.h).
 * Thread-safe and cheap (relaxed atomics); the pool gauges are called from
 * the loop, metrics_db_connect from whichever thread connects. */
#ifndef GW_METRICS_DB_H
#define GW_METRICS_DB_H

/* Latest pool state of one event-loop thread (0-based thread_index; indexes
 * outside 0..63 are ignored): connections in use, connections open, jobs
 * waiting. Exported as gateway_db_pool_busy{thread="N"},
 * gateway_db_pool_size{thread="N"} and gateway_db_queue_length{thread="N"}. */
void metrics_db_pool(int thread_index, int busy, int total, int queued);
/* One job refused because the wait queue was full (the 503 path):
 * gateway_db_queue_rejected_total. */
void metrics_db_rejected(void);
/* One attempt to open a database connection (any connection of the process,
 * reconnects included): gateway_db_connects_total{result="ok"|"failed"}. */
void metrics_db_connect(int ok);

#endif
