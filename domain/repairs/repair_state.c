#include "domain/repairs/repair_state.h"

#include "domain/repairs/repair_clocks.h"

#include <string.h>

const char *const repair_state_names[RS__COUNT + 1] = {
    "submitted", "dispatched", "accepted", "in_progress", "resolved", "closed", "cancelled", NULL,
};
/* What the owner sees, like a parcel's progress. */
static const char *const state_labels[RS__COUNT] = {
    "已受理", "已派单", "已接单", "处理中", "待评价", "已完成", "已取消",
};
static const char *const action_names[RA__COUNT] = {
    "dispatch", "assign", "accept", "decline", "start", "resolve", "reopen", "cancel", "rate", "unassign",
};
static const char *const clock_names[RC__COUNT] = {"accept", "arrive", "resolve"};
static const char *const clock_labels[RC__COUNT] = {"响应", "到场", "完成"};

#define BIT(s) (1u << (s))

/* For each action: the states it may start from, and where it leads. */
static const struct {
    unsigned from;
    repair_state_t to;
} transitions[RA__COUNT] = {
    [RA_DISPATCH] = {BIT(RS_SUBMITTED), RS_DISPATCHED},
    [RA_ASSIGN] = {BIT(RS_SUBMITTED) | BIT(RS_DISPATCHED) | BIT(RS_ACCEPTED), RS_DISPATCHED},
    [RA_ACCEPT] = {BIT(RS_DISPATCHED), RS_ACCEPTED},
    [RA_DECLINE] = {BIT(RS_DISPATCHED) | BIT(RS_ACCEPTED), RS_SUBMITTED},
    [RA_START] = {BIT(RS_ACCEPTED), RS_IN_PROGRESS},
    [RA_RESOLVE] = {BIT(RS_IN_PROGRESS), RS_RESOLVED},
    [RA_REOPEN] = {BIT(RS_RESOLVED), RS_DISPATCHED},
    [RA_CANCEL] = {BIT(RS_SUBMITTED) | BIT(RS_DISPATCHED) | BIT(RS_ACCEPTED), RS_CANCELLED},
    [RA_RATE] = {BIT(RS_RESOLVED), RS_CLOSED},
    [RA_UNASSIGN] = {BIT(RS_DISPATCHED) | BIT(RS_ACCEPTED) | BIT(RS_IN_PROGRESS), RS_SUBMITTED},
};

/* A clock runs until the step it measures is done. */
static const unsigned clock_running_in[RC__COUNT] = {
    [RC_ACCEPT] = BIT(RS_SUBMITTED) | BIT(RS_DISPATCHED),
    [RC_ARRIVE] = BIT(RS_SUBMITTED) | BIT(RS_DISPATCHED) | BIT(RS_ACCEPTED),
    [RC_RESOLVE] = BIT(RS_SUBMITTED) | BIT(RS_DISPATCHED) | BIT(RS_ACCEPTED) | BIT(RS_IN_PROGRESS),
};

const char *repair_state_name(repair_state_t s)
{
    return (unsigned)s < RS__COUNT ? repair_state_names[s] : "unknown";
}

const char *repair_state_label(repair_state_t s)
{
    return (unsigned)s < RS__COUNT ? state_labels[s] : "";
}

int repair_state_parse(const char *name, repair_state_t *out)
{
    for (int i = 0; name && i < RS__COUNT; i++)
        if (!strcmp(name, repair_state_names[i])) {
            *out = (repair_state_t)i;
            return 0;
        }
    return -1;
}

const char *repair_action_name(repair_action_t a)
{
    return (unsigned)a < RA__COUNT ? action_names[a] : "unknown";
}

int repair_next_state(repair_action_t a, repair_state_t from, repair_state_t *to)
{
    if ((unsigned)a >= RA__COUNT || (unsigned)from >= RS__COUNT || !(transitions[a].from & BIT(from)))
        return -1;
    *to = transitions[a].to;
    return 0;
}

int repair_state_cancellable(repair_state_t s)
{
    return (unsigned)s < RS__COUNT && (transitions[RA_CANCEL].from & BIT(s)) != 0;
}

const char *repair_clock_name(repair_clock_t k)
{
    return (unsigned)k < RC__COUNT ? clock_names[k] : "unknown";
}

const char *repair_clock_label(repair_clock_t k)
{
    return (unsigned)k < RC__COUNT ? clock_labels[k] : "";
}

int repair_clock_running(repair_clock_t k, repair_state_t s)
{
    return (unsigned)k < RC__COUNT && (unsigned)s < RS__COUNT && (clock_running_in[k] & BIT(s)) != 0;
}

/* ---- applying a transition ---- */

/* The columns each action sets besides the state. Every statement takes
 * (new state, [engineer], id, expected state, expected engineer) and only
 * matches a ticket still in the state and with the engineer the caller saw:
 * of two racing transitions one updates the row, the other none (an accept
 * racing a reassignment loses too). A clock that stops late marks the
 * ticket breached. */
#define WHERE_EXPECTED " WHERE id = ? AND state = ? AND engineer_id <=> ?"
static const char *const update_sql[RA__COUNT] = {
    [RA_DISPATCH] = "UPDATE repair_tickets SET state = ?, engineer_id = ?, accepted_at = NULL" WHERE_EXPECTED,
    [RA_ASSIGN] = "UPDATE repair_tickets SET state = ?, engineer_id = ?, accepted_at = NULL" WHERE_EXPECTED,
    [RA_ACCEPT] = "UPDATE repair_tickets SET state = ?, accepted_at = NOW(3),"
                  " first_accepted_at = COALESCE(first_accepted_at, NOW(3)),"
                  " breached = breached OR NOW(3) > accept_due_at" WHERE_EXPECTED,
    [RA_DECLINE] = "UPDATE repair_tickets SET state = ?, engineer_id = NULL, accepted_at = NULL" WHERE_EXPECTED,
    [RA_START] = "UPDATE repair_tickets SET state = ?, started_at = NOW(3),"
                 " breached = breached OR NOW(3) > arrive_due_at" WHERE_EXPECTED,
    [RA_RESOLVE] = "UPDATE repair_tickets SET state = ?, resolved_at = NOW(3),"
                   " breached = breached OR NOW(3) > resolve_due_at" WHERE_EXPECTED,
    /* Rework: the same engineer gets it back and the three clocks restart. */
    [RA_REOPEN] = "UPDATE repair_tickets t JOIN repair_categories c ON c.id = t.category_id"
                  " SET t.state = ?, t.rework_count = t.rework_count + 1, t.accepted_at = NULL,"
                  " t.started_at = NULL, t.resolved_at = NULL, t.clock_started_at = NOW(3),"
                  " t.accept_due_at = NOW(3) + INTERVAL c.accept_within_s SECOND,"
                  " t.arrive_due_at = NOW(3) + INTERVAL c.arrive_within_s SECOND,"
                  " t.resolve_due_at = NOW(3) + INTERVAL c.resolve_within_s SECOND"
                  " WHERE t.id = ? AND t.state = ? AND t.engineer_id <=> ?",
    [RA_CANCEL] = "UPDATE repair_tickets SET state = ?, cancelled_at = NOW(3)" WHERE_EXPECTED,
    [RA_RATE] = "UPDATE repair_tickets SET state = ?, closed_at = NOW(3)" WHERE_EXPECTED,
    /* The arrive clock runs again until the next engineer starts. */
    [RA_UNASSIGN] =
        "UPDATE repair_tickets SET state = ?, engineer_id = NULL, accepted_at = NULL, started_at = NULL" WHERE_EXPECTED,
};

/* The ticket's overdue mark (repair_overdue, schema 022: the staff's
 * overdue list), kept in the transition's transaction when the action
 * changes which clocks run. Each takes (ticket id) and runs after the
 * UPDATE, so it sees the new state. "Late" is clock_due_at < NOW(3) (schema
 * 022), which is REPAIR_OVERDUE_SQL; the clocks that keep running are
 * marked by the sweeper as they run out. NULL: the same clocks run after as
 * before. */
/* Clocks stopped: the mark goes unless a clock still running is late. */
#define UNMARK_IF_ON_TIME                                                                                              \
    "DELETE o FROM repair_overdue o JOIN repair_tickets t ON t.id = o.ticket_id"                                       \
    " WHERE o.ticket_id = ? AND (t.clock_due_at IS NULL OR t.clock_due_at >= NOW(3))"
/* Every clock stopped, or restarted from now (reopen). */
#define UNMARK "DELETE FROM repair_overdue WHERE ticket_id = ?"
/* A clock runs again (back to submitted or dispatched): marked at once if
 * it is already past due. */
#define MARK_IF_LATE                                                                                                   \
    "INSERT IGNORE INTO repair_overdue (project_id, ticket_id) SELECT t.project_id, t.id FROM repair_tickets t"        \
    " WHERE t.id = ? AND t.clock_due_at < NOW(3)"
static const char *const mark_sql[RA__COUNT] = {
    [RA_DISPATCH] = NULL,       /* submitted -> dispatched: the same clocks */
    [RA_ASSIGN] = MARK_IF_LATE, /* from accepted, the accept clock runs again */
    [RA_ACCEPT] = UNMARK_IF_ON_TIME,
    [RA_DECLINE] = MARK_IF_LATE, /* from accepted, the accept clock runs again */
    [RA_START] = UNMARK_IF_ON_TIME,
    [RA_RESOLVE] = UNMARK,
    [RA_REOPEN] = UNMARK,
    [RA_CANCEL] = UNMARK,
    [RA_RATE] = UNMARK, /* resolved -> closed: none ran */
    [RA_UNASSIGN] = MARK_IF_LATE,
};

int repair_overdue_refresh(db_conn_t *db, long long ticket_id)
{
    if (db_exec(db, UNMARK_IF_ON_TIME, DB_ARGS(DB_INT(ticket_id))) != 0)
        return -1;
    return repair_overdue_mark(db, ticket_id) < 0 ? -1 : 0;
}

int repair_overdue_mark(db_conn_t *db, long long ticket_id)
{
    if (db_exec(db, MARK_IF_LATE, DB_ARGS(DB_INT(ticket_id))) != 0)
        return -1;
    return db_affected_rows(db) == 1;
}

long long repair_timeline_add(db_conn_t *db, long long ticket_id, const char *action, const char *from_state,
                              const char *to_state, long long actor_user_id, const char *actor_role, const char *note,
                              const long long *photo_ids, int nphotos, long long photo_owner_id, long long *bad_photo)
{
    if (db_exec(db,
                "INSERT INTO repair_timeline (ticket_id, action, from_state, to_state, actor_user_id, actor_role, note)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                DB_ARGS(DB_INT(ticket_id), DB_STR(action), DB_STR(from_state), DB_STR(to_state),
                        actor_user_id ? DB_INT(actor_user_id) : DB_NULL, DB_STR(actor_role), DB_STR(note))) != 0)
        return -1;
    long long row = (long long)db_insert_id(db);
    for (int i = 0; i < nphotos; i++) {
        /* Attach only the caller's own, unattached, visible uploads: the
         * condition is in the UPDATE, so two tickets cannot both take one. */
        if (db_exec(db,
                    "UPDATE uploads SET ticket_id = ? WHERE id = ? AND user_id = ? AND ticket_id IS NULL"
                    " AND complaint_id IS NULL AND hidden = 0",
                    DB_ARGS(DB_INT(ticket_id), DB_INT(photo_ids[i]), DB_INT(photo_owner_id))) != 0)
            return -1;
        if (db_affected_rows(db) != 1) {
            if (bad_photo)
                *bad_photo = photo_ids[i];
            return 0;
        }
        if (db_exec(db, "INSERT INTO repair_timeline_photos (upload_id, timeline_id, position) VALUES (?, ?, ?)",
                    DB_ARGS(DB_INT(photo_ids[i]), DB_INT(row), DB_INT(i))) != 0)
            return -1;
    }
    return row;
}

int repair_apply_transition(db_conn_t *db, const repair_transition_t *tr, long long *bad_photo)
{
    repair_state_t to;
    if (repair_next_state(tr->action, tr->from, &to) != 0)
        return REPAIR_TR_LOST;
    const char *sql = update_sql[tr->action];
    const char *to_name = repair_state_name(to), *from_name = repair_state_name(tr->from);
    int rc;
    db_param_t expected_engineer = tr->from_engineer_id ? DB_INT(tr->from_engineer_id) : DB_NULL;
    if (tr->action == RA_DISPATCH || tr->action == RA_ASSIGN)
        rc = db_exec(db, sql,
                     DB_ARGS(DB_STR(to_name), DB_INT(tr->engineer_id), DB_INT(tr->ticket_id), DB_STR(from_name),
                             expected_engineer));
    else
        rc = db_exec(db, sql, DB_ARGS(DB_STR(to_name), DB_INT(tr->ticket_id), DB_STR(from_name), expected_engineer));
    if (rc != 0)
        return REPAIR_TR_DB_ERROR;
    if (db_affected_rows(db) != 1)
        return REPAIR_TR_LOST;
    /* The clocks follow the new state (sla_store.h); their due times come
     * back into the ticket's columns before the mark reads them. */
    if ((tr->action == RA_REOPEN ? repair_clocks_start(db, tr->ticket_id)
                                 : repair_clocks_follow(db, tr->ticket_id, to)) != 0)
        return REPAIR_TR_DB_ERROR;
    if (mark_sql[tr->action]) {
        if (db_exec(db, mark_sql[tr->action], DB_ARGS(DB_INT(tr->ticket_id))) != 0)
            return REPAIR_TR_DB_ERROR;
    }
    long long row =
        repair_timeline_add(db, tr->ticket_id, repair_action_name(tr->action), from_name, to_name, tr->actor_user_id,
                            tr->actor_role, tr->note, tr->photo_ids, tr->nphotos, tr->photo_owner_id, bad_photo);
    if (row < 0)
        return REPAIR_TR_DB_ERROR;
    return row == 0 ? REPAIR_TR_BAD_PHOTO : REPAIR_TR_APPLIED;
}
