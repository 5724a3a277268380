/* complaint_clocks.c: see complaint_clocks.h. The service-level engine's
 * stored layer is not on this branch yet: until it is merged these keep no
 * clock, so respond_due_at/resolve_due_at stay NULL and nothing is overdue.
 * Wiring them is the only change the engine needs here. */
#include "domain/complaints/complaint_clocks.h"

int complaint_clocks_register(void)
{
    return 0;
}

int complaint_clocks_start(db_conn_t *db, long long complaint_id)
{
    (void)db;
    (void)complaint_id;
    return 0;
}

int complaint_clocks_responded(db_conn_t *db, long long complaint_id)
{
    (void)db;
    (void)complaint_id;
    return 0;
}

int complaint_clocks_resolved(db_conn_t *db, long long complaint_id)
{
    (void)db;
    (void)complaint_id;
    return 0;
}

int complaint_clocks_closed(db_conn_t *db, long long complaint_id)
{
    (void)db;
    (void)complaint_id;
    return 0;
}

int complaint_clocks_sync(db_conn_t *db, long long complaint_id)
{
    (void)db;
    (void)complaint_id;
    return 0;
}
