/* background.h: periodic jobs off the event loops (sweepers, the
 * notification dispatcher, clean-ups). Each job runs on its own thread with
 * its own database connection, at its own interval (measured from the start
 * of one run to the start of the next). A job that loops over a batch should
 * check background_stopping() between items so shutdown stays prompt. Jobs must be
 * safe with several gateway processes on one database: claim rows with
 * conditional updates or SELECT ... FOR UPDATE SKIP LOCKED. Every finished
 * run is counted in /metrics as gateway_background_runs_total{job="<name>"}
 * (a run skipped because the database is unreachable is not). */
#ifndef GW_BACKGROUND_H
#define GW_BACKGROUND_H
#include "db.h"

typedef void (*background_fn)(db_conn_t *db);

/* Before background_start(). */
void background_register(const char *name, int interval_ms, background_fn fn);
void background_start(void);
void background_stop(void);
int background_stopping(void);

#endif
