/* sla_sweeper.c: one sweeper for the service-level clocks of every kind of
 * ticket (domain/sla/sla_store.h, docs/sla.md).
 *
 * sla-sweeper (every sla_sweep_interval_ms):
 *   - the business calendar: reloaded when its stored version changed (an
 *     administrator's edit in another process), so every process counts
 *     with the same calendar within one interval;
 *   - the clocks whose next_at has passed: for each subject, in its own
 *     transaction, the steps due are fired through the kind's callback and
 *     recorded, and the next instant is derived again (sla_store_sweep).
 *     Several gateway processes may sweep one database: the subject's row
 *     lock serialises them and a step's fired bit is written with its
 *     notifications, so each step fires once.
 * The kinds register themselves here, before the background threads start. */
#include "domain/repairs/repair_clocks.h"
#include "domain/sla/sla_store.h"
#include "gateway/background.h"
#include "gateway/config.h"
#include "gateway/log.h"
#include "handlers/handlers.h"

/* Subjects per tick: the rest wait for the next one, oldest first. */
enum { SWEEP_BATCH = 500 };

static void sweep(db_conn_t *db)
{
    sla_calendar_refresh(db);
    if (sla_store_sweep(db, SWEEP_BATCH) < 0)
        log_warn("sla", "sweep failed: %s", db_error(db));
}

void sla_sweeper_register(void)
{
    if (sla_calendar_init(gw_cfg->sla_holidays_file) != 0)
        log_error("sla", "business clocks count without holidays until %s is fixed", gw_cfg->sla_holidays_file);
    if (repair_clocks_register() != 0)
        log_error("sla", "repair clocks not registered: repair reminders and escalations are off");
    background_register("sla-sweeper", gw_cfg->sla_sweep_interval_ms, sweep);
}
