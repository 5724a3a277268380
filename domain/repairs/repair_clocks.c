#include "domain/repairs/repair_clocks.h"

#include <string.h>

#include "domain/repairs/repair_events.h"
#include "domain/sla/sla_store.h"
#include "gateway/config.h"
#include "gateway/log.h"

enum { STEP_REMINDER = 0, STEP_ENGINEER = 1, STEP_SUPERVISOR = 2, STEP_MANAGER = 3 };
static const char *const step_levels[] = {"engineer", "engineer", "supervisor", "manager"};

/* The ladder is the configuration's, the same for the three clocks. */
static sla_step_t steps[4];
static sla_kind_t kind = {
    .name = REPAIR_SLA_KIND,
    .nclocks = RC__COUNT,
    .clocks = {"accept", "arrive", "resolve"},
};

unsigned repair_clocks_running_in(repair_state_t s)
{
    unsigned m = 0;
    for (int k = 0; k < RC__COUNT; k++)
        if (repair_clock_running((repair_clock_t)k, s))
            m |= 1u << k;
    return m;
}

/* The first enabled step above the engineer, which the owner hears about;
 * -1 when both are skipped. */
static int owner_step(void)
{
    return gw_cfg->repair_escalate_supervisor_after_s >= 0 ? STEP_SUPERVISOR
           : gw_cfg->repair_escalate_manager_after_s >= 0  ? STEP_MANAGER
                                                           : -1;
}

static int lock_ticket(db_conn_t *db, long long id)
{
    long long one;
    return db_query_int(db, &one,
                        "SELECT id FROM repair_tickets WHERE id = ?"
                        " AND state IN ('submitted', 'dispatched', 'accepted', 'in_progress') FOR UPDATE",
                        DB_ARGS(DB_INT(id)));
}

static int fire(db_conn_t *db, const sla_fire_t *f)
{
    int step = f->step->id, told = 0, rc = SLA_FIRE_ERROR;
    const char *kind_name = step == STEP_REMINDER ? "reminder" : "escalation";
    cJSON *x = NULL;
    db_rows_t *r = db_query(db,
                            "SELECT engineer_id, project_id, user_id, rework_count,"
                            " DATE_FORMAT(FROM_UNIXTIME(? / 1000), '%Y-%m-%d %H:%i') AS due_text,"
                            " FROM_UNIXTIME(? / 1000) AS due_at FROM repair_tickets WHERE id = ?",
                            DB_ARGS(DB_INT(f->due_at_ms), DB_INT(f->due_at_ms), DB_INT(f->subject_id)));
    if (!r || r->nrows != 1)
        goto Exit;
    long long engineer = db_get_int(r, 0, "engineer_id");
    /* A reminder goes to the assigned engineer: with nobody assigned it
     * waits (the assignment syncs the clocks, which brings it back). */
    if (step == STEP_REMINDER && !engineer) {
        rc = SLA_FIRE_LATER;
        goto Exit;
    }
    /* Claimed under the same unique key as before the engine, so a gateway
     * of the older sweeper and this one never both send a step. */
    if (db_exec(db,
                "INSERT IGNORE INTO repair_escalations (ticket_id, clock, round, kind, step, level, due_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                DB_ARGS(DB_INT(f->subject_id), DB_STR(f->clock_name), DB_INT(f->round), DB_STR(kind_name), DB_INT(step),
                        DB_STR(step_levels[step]), DB_STR(db_get(r, 0, "due_at")))) != 0)
        goto Exit;
    if (db_affected_rows(db) != 1) {
        rc = SLA_FIRE_DONE; /* sent already */
        goto Exit;
    }
    x = cJSON_CreateObject();
    if (!x)
        goto Exit;
    cJSON_AddStringToObject(x, "clock", f->clock_name);
    cJSON_AddStringToObject(x, "clock_label", repair_clock_label((repair_clock_t)f->clock));
    cJSON_AddStringToObject(x, "due_time", db_get(r, 0, "due_text"));
    if (step != STEP_REMINDER) {
        cJSON_AddStringToObject(x, "reason", "overdue");
        cJSON_AddStringToObject(x, "level", step_levels[step]);
        cJSON_AddNumberToObject(x, "step", step);
    }
    if (step == STEP_REMINDER || step == STEP_ENGINEER) {
        if (engineer) {
            if (repair_event(db, step == STEP_REMINDER ? "repair.reminder" : "repair.escalated", engineer,
                             f->subject_id, x) != 0)
                goto Exit;
            told = 1;
        }
    } else {
        told = repair_event_to_staff(db, "repair.escalated",
                                     step == STEP_SUPERVISOR ? REPAIR_TO_SUPERVISORS : REPAIR_TO_MANAGERS,
                                     f->project_id, f->subject_id, x);
        if (told < 0)
            goto Exit;
    }
    if (step == owner_step()) {
        if (repair_event(db, "repair.escalated", db_get_int(r, 0, "user_id"), f->subject_id, x) != 0)
            goto Exit;
        told++;
    }
    if (db_exec(db,
                "UPDATE repair_escalations SET notified = ? WHERE ticket_id = ? AND clock = ? AND round = ?"
                " AND kind = ? AND step = ?",
                DB_ARGS(DB_INT(told), DB_INT(f->subject_id), DB_STR(f->clock_name), DB_INT(f->round), DB_STR(kind_name),
                        DB_INT(step))) != 0)
        goto Exit;
    if (step != STEP_REMINDER &&
        db_exec(db, "UPDATE repair_tickets SET breached = 1 WHERE id = ?", DB_ARGS(DB_INT(f->subject_id))) != 0)
        goto Exit;
    log_info("repairs", "ticket %lld: %s clock %s (%s), %d told", f->subject_id, f->clock_name,
             step == STEP_REMINDER ? "reminder" : "escalated", step_levels[step], told);
    rc = SLA_FIRE_DONE;
Exit:
    cJSON_Delete(x);
    db_rows_free(r);
    return rc;
}

/* The engine's due times into the ticket's columns (which the board, the
 * overdue list and the statistics read), and the overdue mark. A clock
 * paused with no planned end has no due time: its column holds
 * REPAIR_NO_DUE (the columns are NOT NULL, schema/027), which is never
 * past, and which the API shows as null. */
#define REPAIR_NO_DUE "CAST('9999-12-31' AS DATETIME(3))"
static int mirror(db_conn_t *db, long long id)
{
    if (db_exec(db,
                "UPDATE repair_tickets t"
                " JOIN sla_clocks a ON a.kind = 'repair' AND a.subject_id = t.id AND a.round = t.rework_count"
                "  AND a.clock_no = 0"
                " JOIN sla_clocks b ON b.kind = 'repair' AND b.subject_id = t.id AND b.round = t.rework_count"
                "  AND b.clock_no = 1"
                " JOIN sla_clocks c ON c.kind = 'repair' AND c.subject_id = t.id AND c.round = t.rework_count"
                "  AND c.clock_no = 2"
                " SET t.accept_due_at = COALESCE(a.due_at, " REPAIR_NO_DUE "),"
                " t.arrive_due_at = COALESCE(b.due_at, " REPAIR_NO_DUE "),"
                " t.resolve_due_at = COALESCE(c.due_at, " REPAIR_NO_DUE ")"
                " WHERE t.id = ?",
                DB_ARGS(DB_INT(id))) != 0)
        return -1;
    return repair_overdue_refresh(db, id);
}

int repair_clocks_register(void)
{
    int n = 0;
    if (gw_cfg->repair_reminder_percent > 0)
        steps[n++] = (sla_step_t){.id = STEP_REMINDER,
                                  .kind = SLA_REMINDER,
                                  .percent = gw_cfg->repair_reminder_percent,
                                  .level = STEP_REMINDER};
    /* Escalations in firing order: by delay, the step number on a tie. */
    long long delays[] = {0, gw_cfg->repair_escalate_engineer_after_s, gw_cfg->repair_escalate_supervisor_after_s,
                          gw_cfg->repair_escalate_manager_after_s};
    int first = n;
    for (int s = STEP_ENGINEER; s <= STEP_MANAGER; s++) {
        if (delays[s] < 0)
            continue;
        int j = n++;
        while (j > first && steps[j - 1].after_s > delays[s]) {
            steps[j] = steps[j - 1];
            j--;
        }
        steps[j] = (sla_step_t){.id = s, .kind = SLA_ESCALATION, .after_s = delays[s], .level = s};
    }
    for (int k = 0; k < RC__COUNT; k++)
        kind.ladders[k] = (sla_ladder_t){.steps = steps, .nsteps = n};
    kind.lock = lock_ticket;
    kind.fire = fire;
    kind.mirror = mirror;
    return sla_kind_register(&kind);
}

int repair_clocks_start(db_conn_t *db, long long ticket_id)
{
    db_rows_t *r = db_query(db,
                            "SELECT t.project_id, t.rework_count, t.state, c.accept_within_s, c.arrive_within_s,"
                            " c.resolve_within_s, c.business_hours FROM repair_tickets t"
                            " JOIN repair_categories c ON c.id = t.category_id WHERE t.id = ?",
                            DB_ARGS(DB_INT(ticket_id)));
    int rc = -1;
    repair_state_t s;
    if (!r || r->nrows != 1 || repair_state_parse(db_get(r, 0, "state"), &s) != 0)
        goto Exit;
    sla_mode_t mode = db_get_int(r, 0, "business_hours") ? SLA_BUSINESS : SLA_NATURAL;
    sla_budget_t b[RC__COUNT] = {
        {db_get_int(r, 0, "accept_within_s"), mode},
        {db_get_int(r, 0, "arrive_within_s"), mode},
        {db_get_int(r, 0, "resolve_within_s"), mode},
    };
    rc = sla_store_start_round(db, REPAIR_SLA_KIND, ticket_id, db_get_int(r, 0, "project_id"),
                               (int)db_get_int(r, 0, "rework_count"), b, repair_clocks_running_in(s));
Exit:
    db_rows_free(r);
    return rc;
}

int repair_clocks_follow(db_conn_t *db, long long ticket_id, repair_state_t s)
{
    unsigned running = repair_clocks_running_in(s);
    /* Work started on site: the ticket no longer waits on the owner. */
    if (s == RS_IN_PROGRESS && sla_store_resume(db, REPAIR_SLA_KIND, ticket_id) < 0)
        return -1;
    if (!running)
        return sla_store_stop_all(db, REPAIR_SLA_KIND, ticket_id);
    return sla_store_set_running(db, REPAIR_SLA_KIND, ticket_id, running);
}

/* The clocks of a round that has none, from the ticket's columns: the start,
 * the budgets as its due times say, the steps repair_escalations recorded.
 * The same as schema 027's backfill, for one ticket. */
static const char *SQL_ADOPT =
    "INSERT IGNORE INTO sla_clocks (kind, subject_id, round, clock_no, clock, project_id, started_at, budget_s, mode,"
    " state, fired, breached)"
    " SELECT 'repair', t.id, t.rework_count, k.no, k.name, t.project_id, t.clock_started_at,"
    " GREATEST(0, LEAST(34560000, TIMESTAMPDIFF(SECOND, t.clock_started_at, CASE k.no WHEN 0 THEN t.accept_due_at"
    "  WHEN 1 THEN t.arrive_due_at ELSE t.resolve_due_at END))),"
    " 'natural', IF(FIND_IN_SET(t.state, k.states) > 0, 'running', 'met'),"
    " COALESCE((SELECT BIT_OR(1 << e.step) FROM repair_escalations e WHERE e.ticket_id = t.id AND e.clock = k.name"
    "  AND e.round = t.rework_count), 0), t.breached"
    " FROM repair_tickets t JOIN (SELECT 0 AS no, 'accept' AS name, 'submitted,dispatched' AS states"
    "  UNION ALL SELECT 1, 'arrive', 'submitted,dispatched,accepted'"
    "  UNION ALL SELECT 2, 'resolve', 'submitted,dispatched,accepted,in_progress') k"
    " WHERE t.id = ? AND t.state IN ('submitted', 'dispatched', 'accepted', 'in_progress')"
    " AND t.accept_due_at IS NOT NULL AND t.arrive_due_at IS NOT NULL AND t.resolve_due_at IS NOT NULL";

int repair_clocks_adopt(db_conn_t *db, long long ticket_id)
{
    if (db_exec(db, SQL_ADOPT, DB_ARGS(DB_INT(ticket_id))) != 0)
        return -1;
    if (db_affected_rows(db) == 0)
        return 0;
    return sla_store_sync(db, REPAIR_SLA_KIND, ticket_id) == 0 ? 1 : -1;
}
