/* complaint_sweeper.c: closes proposed complaint resolutions the owner
 * left unanswered for complaint_accept_days (close_reason "auto"; the owner
 * is told, complaint.closed).
 *
 * One complaint per transaction, claimed with SKIP LOCKED so several
 * gateway processes share the work, and closed with the same conditional
 * change as every other close (complaint_close: state still resolved), so an
 * owner's answer arriving meanwhile wins or loses cleanly. The clocks'
 * escalations are the service-level engine's sweeper's (complaint_clocks.h). */
#include "domain/complaints/complaint_actions.h"
#include "gateway/background.h"
#include "gateway/config.h"
#include "gateway/log.h"
#include "handlers/handlers.h"

#define COMPLAINT_SWEEP_BATCH 200

/* 1 closed one, 0 none due, -1 error. */
static int close_one(db_conn_t *db)
{
    long long id;
    if (db_begin(db) != 0)
        return -1;
    int rc = db_query_int(db, &id,
                          "SELECT id FROM complaints WHERE state = 'resolved' AND resolved_at < NOW(3) - INTERVAL ? DAY"
                          " ORDER BY resolved_at LIMIT 1 FOR UPDATE SKIP LOCKED",
                          DB_ARGS(DB_INT(gw_cfg->complaint_accept_days)));
    if (rc > 0)
        rc = complaint_close(db, id, "resolved", "auto", 0, "system", NULL);
    if (rc > 0 && db_commit(db) != 0)
        rc = -1;
    if (rc <= 0)
        db_rollback(db);
    if (rc > 0)
        log_info("complaints", "complaint %lld closed: its resolution was not answered in %d days", id,
                 gw_cfg->complaint_accept_days);
    return rc;
}

static void sweep(db_conn_t *db)
{
    for (int i = 0; i < COMPLAINT_SWEEP_BATCH && !background_stopping(); i++) {
        int rc = close_one(db);
        if (rc < 0)
            log_error("complaints", "complaint sweep failed: %s", db_error(db));
        if (rc <= 0)
            break;
    }
}

void complaint_sweeper_register(void)
{
    background_register("complaint-sweeper", gw_cfg->complaint_sweep_interval_ms, sweep);
}
