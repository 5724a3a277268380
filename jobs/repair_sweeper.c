/* repair_sweeper.c: the background side of repair tickets.
 *
 * repair-sweeper (every repair_sweep_interval_ms):
 *   - reminders: when repair_reminder_percent of a running clock has passed,
 *     the assigned engineer gets repair.reminder (once per clock and round);
 *   - escalations: once a running clock is past its due time, the ladder's
 *     steps fire, each repair_escalate_<level>_after_s after the due time:
 *     1 the assigned engineer, 2 the project's supervisors, 3 its project
 *     managers (project_managers). Each step writes a repair_escalations row
 *     and repair.escalated to each person; the owner hears once per clock
 *     and round, at the first step above the engineer;
 *   - dispatch retries: tickets left submitted (nobody was available) are
 *     dispatched again when an engineer has become available;
 *   - overdue marks (repair_overdue, schema 022): tickets whose running
 *     clock has run out since the last sweep are marked, for the staff's
 *     overdue list, which reads the marks by index. State changes add and
 *     remove marks themselves (domain/repairs/repair_state.c); only the
 *     passing of time is left to the sweep, so a ticket joins that list
 *     within one sweep interval.
 * repair-recheck (every repair_recheck_interval_ms): descriptions stored
 * "unchecked" because WeChat's text check was unavailable are checked again.
 *
 * Several gateway processes may sweep one database. Each reminder and step
 * is claimed by inserting its row under a unique key (ticket, clock, round,
 * kind, step) after locking the ticket row, in the same transaction as its
 * events: whoever inserts first does it, the others insert nothing. */
#include <stdio.h>
#include <string.h>

#include "gateway/background.h"
#include "gateway/config.h"
#include "gateway/idempotency.h"
#include "gateway/log.h"
#include "gateway/wechat_client.h"
#include "handlers/handlers.h"
#include "domain/repairs/repair_cache.h"
#include "domain/repairs/repair_dispatch.h"
#include "domain/repairs/repair_events.h"
#include "domain/repairs/repair_state.h"
#include "domain/repairs/repair_view.h"

/* Per clock: its due column and the states it runs in (see repair_state.c). */
#define ACCEPT_STATES "('submitted', 'dispatched')"
#define ARRIVE_STATES "('submitted', 'dispatched', 'accepted')"
#define RESOLVE_STATES "('submitted', 'dispatched', 'accepted', 'in_progress')"

/* Tickets whose step is due and not yet recorded. Takes (delay_s, clock, step). */
#define FIND_ESCALATIONS(due, states)                                                                                  \
    "SELECT t.id FROM repair_tickets t WHERE t.state IN " states " AND t." due " + INTERVAL ? SECOND <= NOW(3)"        \
    " AND NOT EXISTS (SELECT 1 FROM repair_escalations e WHERE e.ticket_id = t.id AND e.clock = ?"                     \
    "   AND e.round = t.rework_count AND e.kind = 'escalation' AND e.step = ?)"                                        \
    " ORDER BY t.id LIMIT 100"

/* Assigned tickets past pct% of the clock, not yet due, not yet reminded.
 * Takes (pct, clock). */
#define FIND_REMINDERS(due, states)                                                                                    \
    "SELECT t.id FROM repair_tickets t WHERE t.state IN " states " AND t.engineer_id IS NOT NULL"                      \
    " AND t." due " > NOW(3) AND TIMESTAMPADD(MICROSECOND,"                                                            \
    "   TIMESTAMPDIFF(MICROSECOND, t.clock_started_at, t." due ") * ? DIV 100, t.clock_started_at) <= NOW(3)"          \
    " AND NOT EXISTS (SELECT 1 FROM repair_escalations e WHERE e.ticket_id = t.id AND e.clock = ?"                     \
    "   AND e.round = t.rework_count AND e.kind = 'reminder')"                                                         \
    " ORDER BY t.id LIMIT 100"

/* The locked ticket, re-checked under the lock. Takes (id). */
#define LOCK_TICKET(due)                                                                                               \
    "SELECT state, rework_count, engineer_id, project_id, user_id, " due " AS due_at,"                                 \
    " TIMESTAMPDIFF(MICROSECOND, " due ", NOW(3)) AS past_due_us,"                                                     \
    " TIMESTAMPDIFF(MICROSECOND, clock_started_at, " due ") AS clock_us,"                                              \
    " DATE_FORMAT(" due ", '%Y-%m-%d %H:%i') AS due_text"                                                              \
    " FROM repair_tickets WHERE id = ? FOR UPDATE"

typedef struct {
    repair_clock_t clock;
    const char *find_escalations, *find_reminders, *lock;
} clock_sql_t;

static const clock_sql_t clocks[RC__COUNT] = {
    {RC_ACCEPT, FIND_ESCALATIONS("accept_due_at", ACCEPT_STATES), FIND_REMINDERS("accept_due_at", ACCEPT_STATES),
     LOCK_TICKET("accept_due_at")},
    {RC_ARRIVE, FIND_ESCALATIONS("arrive_due_at", ARRIVE_STATES), FIND_REMINDERS("arrive_due_at", ARRIVE_STATES),
     LOCK_TICKET("arrive_due_at")},
    {RC_RESOLVE, FIND_ESCALATIONS("resolve_due_at", RESOLVE_STATES), FIND_REMINDERS("resolve_due_at", RESOLVE_STATES),
     LOCK_TICKET("resolve_due_at")},
};

typedef enum { STEP_REMINDER = 0, STEP_ENGINEER = 1, STEP_SUPERVISOR = 2, STEP_MANAGER = 3 } step_t;
static const char *const step_levels[] = {"engineer", "engineer", "supervisor", "manager"};

static int step_delay_s(step_t s)
{
    switch (s) {
    case STEP_ENGINEER:
        return gw_cfg->repair_escalate_engineer_after_s;
    case STEP_SUPERVISOR:
        return gw_cfg->repair_escalate_supervisor_after_s;
    case STEP_MANAGER:
        return gw_cfg->repair_escalate_manager_after_s;
    default:
        return -1;
    }
}

/* The first enabled step above the engineer, which the owner hears about;
 * -1 when both are skipped. */
static int owner_step(void)
{
    return step_delay_s(STEP_SUPERVISOR) >= 0 ? STEP_SUPERVISOR : step_delay_s(STEP_MANAGER) >= 0 ? STEP_MANAGER : -1;
}

typedef struct {
    repair_state_t state;
    int round;
    long long engineer_id, project_id, owner_id;
    char due_at[32], due_text[32];
    long long past_due_us, clock_us;
} locked_ticket_t;

/* 1 locked and read, 0 gone, -1 db error. */
static int lock_ticket(db_conn_t *db, const clock_sql_t *k, long long id, locked_ticket_t *t)
{
    db_rows_t *r = db_query(db, k->lock, DB_ARGS(DB_INT(id)));
    if (!r)
        return -1;
    int found = r->nrows == 1;
    if (found) {
        repair_state_parse(db_get(r, 0, "state"), &t->state);
        t->round = (int)db_get_int(r, 0, "rework_count");
        t->engineer_id = db_get_int(r, 0, "engineer_id");
        t->project_id = db_get_int(r, 0, "project_id");
        t->owner_id = db_get_int(r, 0, "user_id");
        snprintf(t->due_at, sizeof(t->due_at), "%s", db_get(r, 0, "due_at"));
        t->past_due_us = db_get_int(r, 0, "past_due_us");
        t->clock_us = db_get_int(r, 0, "clock_us");
        snprintf(t->due_text, sizeof(t->due_text), "%s", db_get(r, 0, "due_text"));
    }
    db_rows_free(r);
    return found;
}

/* Claims (ticket, clock, round, kind, step): 1 ours, 0 done by someone else, -1 error. */
static int claim_mark(db_conn_t *db, long long id, const clock_sql_t *k, const locked_ticket_t *t, step_t step)
{
    if (db_exec(db,
                "INSERT IGNORE INTO repair_escalations (ticket_id, clock, round, kind, step, level, due_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                DB_ARGS(DB_INT(id), DB_STR(repair_clock_name(k->clock)), DB_INT(t->round),
                        DB_STR(step == STEP_REMINDER ? "reminder" : "escalation"), DB_INT(step),
                        DB_STR(step_levels[step]), DB_STR(t->due_at))) != 0)
        return -1;
    return db_affected_rows(db) == 1;
}

static cJSON *clock_extra(const clock_sql_t *k, const locked_ticket_t *t, step_t step)
{
    cJSON *x = cJSON_CreateObject();
    cJSON_AddStringToObject(x, "clock", repair_clock_name(k->clock));
    cJSON_AddStringToObject(x, "clock_label", repair_clock_label(k->clock));
    cJSON_AddStringToObject(x, "due_time", t->due_text);
    if (step != STEP_REMINDER) {
        cJSON_AddStringToObject(x, "reason", "overdue");
        cJSON_AddStringToObject(x, "level", step_levels[step]);
        cJSON_AddNumberToObject(x, "step", step);
    }
    return x;
}

/* The people of one step; returns how many were told, or -1. */
static int notify_step(db_conn_t *db, long long id, const clock_sql_t *k, const locked_ticket_t *t, step_t step)
{
    cJSON *x = clock_extra(k, t, step);
    int n = 0;
    if (step == STEP_REMINDER || step == STEP_ENGINEER) {
        if (t->engineer_id)
            n = repair_event(db, step == STEP_REMINDER ? "repair.reminder" : "repair.escalated", t->engineer_id, id, x)
                    ? -1
                    : 1;
    } else {
        n = repair_event_to_staff(db, "repair.escalated",
                                  step == STEP_SUPERVISOR ? REPAIR_TO_SUPERVISORS : REPAIR_TO_MANAGERS, t->project_id,
                                  id, x);
    }
    if (n >= 0 && (int)step == owner_step())
        n = repair_event(db, "repair.escalated", t->owner_id, id, x) != 0 ? -1 : n + 1;
    cJSON_Delete(x);
    return n;
}

/* One reminder or step for one ticket, in its own transaction. */
static void fire(db_conn_t *db, long long id, const clock_sql_t *k, step_t step)
{
    locked_ticket_t t;
    if (db_begin(db) != 0)
        goto DbError;
    int found = lock_ticket(db, k, id, &t);
    if (found < 0)
        goto DbError;
    /* Re-checked under the lock: the ticket may have moved on since the scan. */
    int due = step == STEP_REMINDER
                  ? t.past_due_us < 0 && t.engineer_id &&
                        -t.past_due_us <= t.clock_us - t.clock_us * gw_cfg->repair_reminder_percent / 100
                  : t.past_due_us >= (long long)step_delay_s(step) * 1000000;
    if (!found || !repair_clock_running(k->clock, t.state) || !due) {
        db_rollback(db);
        return;
    }
    int claimed = claim_mark(db, id, k, &t, step);
    if (claimed < 0)
        goto DbError;
    if (!claimed) {
        db_rollback(db);
        return;
    }
    int told = notify_step(db, id, k, &t, step);
    if (told < 0 || db_exec(db,
                            "UPDATE repair_escalations SET notified = ? WHERE ticket_id = ? AND clock = ? AND round = ?"
                            " AND kind = ? AND step = ?",
                            DB_ARGS(DB_INT(told), DB_INT(id), DB_STR(repair_clock_name(k->clock)), DB_INT(t.round),
                                    DB_STR(step == STEP_REMINDER ? "reminder" : "escalation"), DB_INT(step))) != 0)
        goto DbError;
    if (step != STEP_REMINDER &&
        db_exec(db, "UPDATE repair_tickets SET breached = 1 WHERE id = ?", DB_ARGS(DB_INT(id))) != 0)
        goto DbError;
    if (db_commit(db) != 0)
        goto DbError;
    log_info("repairs", "ticket %lld: %s clock %s (%s), %d told", id, repair_clock_name(k->clock),
             step == STEP_REMINDER ? "reminder" : "escalated", step_levels[step], told);
    return;
DbError:
    log_warn("repairs", "ticket %lld: %s clock step %d failed: %s", id, repair_clock_name(k->clock), step,
             db_error(db));
    db_rollback(db);
}

static void sweep_step(db_conn_t *db, const clock_sql_t *k, step_t step)
{
    db_rows_t *r;
    if (step == STEP_REMINDER) {
        if (gw_cfg->repair_reminder_percent <= 0)
            return;
        r = db_query(db, k->find_reminders,
                     DB_ARGS(DB_INT(gw_cfg->repair_reminder_percent), DB_STR(repair_clock_name(k->clock))));
    } else {
        int delay = step_delay_s(step);
        if (delay < 0)
            return;
        r = db_query(db, k->find_escalations,
                     DB_ARGS(DB_INT(delay), DB_STR(repair_clock_name(k->clock)), DB_INT(step)));
    }
    if (!r) {
        log_warn("repairs", "sweep query failed: %s", db_error(db));
        return;
    }
    for (int i = 0; i < r->nrows && !background_stopping(); i++)
        fire(db, db_get_int(r, i, "id"), k, step);
    db_rows_free(r);
}

/* Tickets nobody could take: try again, quietly (the supervisors were told
 * when it was filed). Oldest first, a batch per sweep. */
static void retry_dispatch(db_conn_t *db)
{
    db_rows_t *r =
        db_query(db, "SELECT id FROM repair_tickets WHERE state = 'submitted' ORDER BY id LIMIT 100", DB_NOARGS);
    if (!r)
        return;
    for (int i = 0; i < r->nrows && !background_stopping(); i++) {
        long long id = db_get_int(r, i, "id");
        if (db_begin(db) != 0)
            break;
        int rc = repair_dispatch(db, id, 0);
        if (rc == 1 && repair_view_store(db, id) == 0 && db_commit(db) == 0) {
            repair_cache_forget(id);
            log_info("repairs", "ticket %lld dispatched on retry", id);
        } else
            db_rollback(db);
    }
    db_rows_free(r);
}

/* ---- the overdue marks (repair_overdue, schema 022) ----
 * Candidates are found by a plain read (no locks); each is then marked or
 * unmarked by a statement that locks the ticket's row first and re-checks
 * it, in the order a state change takes the same locks (ticket, then mark):
 * a change committed meanwhile wins, and the two never wait on each other
 * in a cycle. */
enum { MARK_BATCH = 500 };

static const char *SQL_TO_MARK = "SELECT t.id AS id FROM repair_tickets t WHERE t.clock_due_at < NOW(3)"
                                 " AND NOT EXISTS(SELECT 1 FROM repair_overdue o WHERE o.ticket_id = t.id) LIMIT ?";
/* Marks a state change did not remove: left by a gateway from before 022. */
static const char *SQL_STALE_MARKS =
    "SELECT o.ticket_id AS id FROM repair_overdue o JOIN repair_tickets t ON t.id = o.ticket_id"
    " WHERE t.clock_due_at IS NULL OR t.clock_due_at >= NOW(3) LIMIT ?";
static const char *SQL_LOCK_ON_TIME = "SELECT id FROM repair_tickets WHERE id = ?"
                                      " AND (clock_due_at IS NULL OR clock_due_at >= NOW(3)) FOR UPDATE";

/* 1 unmarked, 0 not (late again, or gone), -1 db error. */
static int unmark_stale(db_conn_t *db, long long id)
{
    long long one;
    if (db_begin(db) != 0)
        return -1;
    int on_time = db_query_int(db, &one, SQL_LOCK_ON_TIME, DB_ARGS(DB_INT(id)));
    if (on_time < 0 ||
        (on_time && db_exec(db, "DELETE FROM repair_overdue WHERE ticket_id = ?", DB_ARGS(DB_INT(id))) != 0) ||
        db_commit(db) != 0) {
        db_rollback(db);
        return -1;
    }
    return on_time;
}

/* Runs `each` on the ids `find` returns, a batch at a time; how many it
 * changed, or -1 on a db error. */
static long long mark_batches(db_conn_t *db, const char *find, int (*each)(db_conn_t *, long long))
{
    long long changed = 0, before;
    int n;
    do {
        db_rows_t *r = db_query(db, find, DB_ARGS(DB_INT(MARK_BATCH)));
        if (!r)
            return -1;
        n = r->nrows;
        before = changed;
        for (int i = 0; i < n && !background_stopping(); i++) {
            int rc = each(db, db_get_int(r, i, "id"));
            if (rc < 0) {
                db_rows_free(r);
                return -1;
            }
            changed += rc;
        }
        db_rows_free(r);
        /* A full batch where nothing changed would come back the same. */
    } while (n == MARK_BATCH && changed > before && !background_stopping());
    return changed;
}

static void mark_overdue(db_conn_t *db)
{
    long long marked = mark_batches(db, SQL_TO_MARK, repair_overdue_mark);
    long long unmarked = marked < 0 ? -1 : mark_batches(db, SQL_STALE_MARKS, unmark_stale);
    if (marked < 0 || unmarked < 0)
        log_warn("repairs", "overdue marks: %s", db_error(db));
    else if (marked || unmarked)
        log_info("repairs", "overdue marks: %lld ticket(s) marked, %lld stale mark(s) removed", marked, unmarked);
}

static void sweep(db_conn_t *db)
{
    mark_overdue(db);
    for (int k = 0; k < RC__COUNT && !background_stopping(); k++)
        for (step_t s = STEP_REMINDER; s <= STEP_MANAGER; s++)
            sweep_step(db, &clocks[k], s);
    retry_dispatch(db);
}

/* ---- re-checking descriptions ---- */

static void recheck(db_conn_t *db)
{
    db_rows_t *r =
        db_query(db,
                 "SELECT t.id, u.openid, t.description FROM repair_tickets t JOIN users u ON u.id = t.user_id"
                 " WHERE t.content_check = 'unchecked' AND t.content_check_attempts < 10"
                 " ORDER BY t.id LIMIT 20",
                 DB_NOARGS);
    if (!r)
        return;
    for (int i = 0; i < r->nrows && !background_stopping(); i++) {
        long long id = db_get_int(r, i, "id");
        wx_seccheck_t res;
        wx_status_t st;
        /* The WeChat call is made outside any transaction; the result is
         * stored only if the ticket is still unchecked. */
        if (wx_msg_sec_check(db_get(r, i, "openid"), db_get(r, i, "description"), 2, &res, &st) != 0) {
            db_exec(db, "UPDATE repair_tickets SET content_check_attempts = content_check_attempts + 1 WHERE id = ?",
                    DB_ARGS(DB_INT(id)));
            log_warn("repairs", "ticket %lld: text check still unavailable (WeChat %d)", id, st.errcode);
            continue;
        }
        const char *verdict = !strcmp(res.suggest, "pass")    ? "pass"
                              : !strcmp(res.suggest, "risky") ? "risky"
                                                              : "review";
        db_exec(db,
                "UPDATE repair_tickets SET content_check = ?, content_trace_id = ?,"
                " content_check_attempts = content_check_attempts + 1 WHERE id = ? AND content_check = 'unchecked'",
                DB_ARGS(DB_STR(verdict), DB_STR(res.trace_id), DB_INT(id)));
        log_info("repairs", "ticket %lld: text re-checked: %s", id, verdict);
    }
    db_rows_free(r);
}

void repair_sweeper_register(void)
{
    background_register("repair-sweeper", gw_cfg->repair_sweep_interval_ms, sweep);
    background_register("repair-recheck", gw_cfg->repair_recheck_interval_ms, recheck);
    idempotency_register_purge_job();
}
