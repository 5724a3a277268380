#include "domain/repairs/repair_dispatch.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "domain/repairs/repair_events.h"
#include "domain/repairs/repair_state.h"
#include "domain/repairs/repair_view.h"

static const char *SQL_TICKET =
    "SELECT project_id, building_id, category_id, state, user_id FROM repair_tickets WHERE id = ?";

/* The most specific rule: building and category beat building alone, which
 * beats category alone, which beats the project-wide rule (0 = any). */
static const char *SQL_RULE = "SELECT id, group_id FROM repair_dispatch_rules"
                              " WHERE project_id = ? AND building_id IN (0, ?) AND category_id IN (0, ?)"
                              " ORDER BY (building_id <> 0) DESC, (category_id <> 0) DESC LIMIT 1";

/* Open load per engineer, counted over every project they work on. */
#define ELIGIBLE_ENGINEERS(extra_join)                                                                                 \
    "SELECT r.user_id, (SELECT COUNT(*) FROM repair_tickets o WHERE o.engineer_id = r.user_id"                         \
    "   AND o.state IN ('dispatched', 'accepted', 'in_progress')) AS open_load"                                        \
    " FROM staff_roles r JOIN users u ON u.id = r.user_id AND u.disabled = 0" extra_join                               \
    " WHERE r.role = 'engineer' AND r.project_id = ?"                                                                  \
    "   AND NOT EXISTS (SELECT 1 FROM repair_declines d WHERE d.ticket_id = ? AND d.engineer_id = r.user_id)"          \
    " ORDER BY open_load, r.user_id LIMIT 1"

static const char *SQL_PICK_IN_GROUP =
    ELIGIBLE_ENGINEERS(" JOIN repair_engineer_group_members m ON m.user_id = r.user_id AND m.group_id = ?");
static const char *SQL_PICK_ANY = ELIGIBLE_ENGINEERS("");

/* Runs one of the picks: 1 found (engineer and load in out), 0 nobody, -1 db error. */
static int pick(db_conn_t *db, const char *sql, const db_param_t *args, int nargs, repair_pick_t *out)
{
    db_rows_t *r = db_query(db, sql, args, nargs);
    if (!r)
        return -1;
    int found = r->nrows == 1;
    if (found) {
        out->engineer_id = db_get_int(r, 0, "user_id");
        out->open_load = db_get_int(r, 0, "open_load");
    }
    db_rows_free(r);
    return found;
}

int repair_pick_for(db_conn_t *db, long long project, long long building, long long category, long long ticket_id,
                    repair_pick_t *out)
{
    memset(out, 0, sizeof(*out));
    db_rows_t *rule = db_query(db, SQL_RULE, DB_ARGS(DB_INT(project), DB_INT(building), DB_INT(category)));
    if (!rule)
        return -1;
    if (rule->nrows == 1) {
        out->rule_id = db_get_int(rule, 0, "id");
        out->group_id = db_get_int(rule, 0, "group_id");
    }
    db_rows_free(rule);
    int found = 0;
    if (out->group_id) {
        found = pick(db, SQL_PICK_IN_GROUP, DB_ARGS(DB_INT(out->group_id), DB_INT(project), DB_INT(ticket_id)), out);
        if (found != 0) {
            out->via = found > 0 ? "group" : NULL;
            return found;
        }
    }
    found = pick(db, SQL_PICK_ANY, DB_ARGS(DB_INT(project), DB_INT(ticket_id)), out);
    out->via = found > 0 ? "project" : NULL;
    return found;
}

int repair_pick_engineer(db_conn_t *db, long long ticket_id, long long *engineer_id)
{
    db_rows_t *t = db_query(db, SQL_TICKET, DB_ARGS(DB_INT(ticket_id)));
    if (!t)
        return -1;
    if (t->nrows != 1) {
        db_rows_free(t);
        return 0;
    }
    long long project = db_get_int(t, 0, "project_id"), building = db_get_int(t, 0, "building_id"),
              category = db_get_int(t, 0, "category_id");
    db_rows_free(t);
    repair_pick_t p;
    int found = repair_pick_for(db, project, building, category, ticket_id, &p);
    if (found > 0)
        *engineer_id = p.engineer_id;
    return found;
}

int repair_dispatch(db_conn_t *db, long long ticket_id, int tell_supervisors)
{
    db_rows_t *t = db_query(db, SQL_TICKET, DB_ARGS(DB_INT(ticket_id)));
    if (!t)
        return -1;
    int submitted = t->nrows == 1 && !strcmp(db_get(t, 0, "state"), "submitted");
    long long project = submitted ? db_get_int(t, 0, "project_id") : 0,
              owner = submitted ? db_get_int(t, 0, "user_id") : 0;
    db_rows_free(t);
    if (!submitted)
        return 0;
    long long engineer = 0;
    int found = repair_pick_engineer(db, ticket_id, &engineer);
    if (found < 0)
        return -1;
    if (!found) {
        if (!tell_supervisors)
            return 0;
        cJSON *extra = cJSON_CreateObject();
        cJSON_AddStringToObject(extra, "reason", "no_engineer");
        cJSON_AddStringToObject(extra, "level", "supervisor");
        int n = repair_event_to_staff(db, "repair.escalated", REPAIR_TO_SUPERVISORS, project, ticket_id, extra);
        cJSON_Delete(extra);
        return n < 0 ? -1 : 0;
    }
    repair_transition_t tr = {
        .ticket_id = ticket_id,
        .action = RA_DISPATCH,
        .from = RS_SUBMITTED,
        .actor_role = "system",
        .engineer_id = engineer,
    };
    int rc = repair_apply_transition(db, &tr, NULL);
    if (rc != REPAIR_TR_APPLIED)
        return rc == REPAIR_TR_LOST ? 0 : -1;
    if (repair_event(db, "repair.dispatched", owner, ticket_id, NULL) != 0 ||
        repair_event(db, "repair.assigned", engineer, ticket_id, NULL) != 0)
        return -1;
    return 1;
}

static const char *SQL_OPEN_OF_ENGINEER =
    "SELECT id, state FROM repair_tickets WHERE engineer_id = ? AND project_id = ?"
    " AND state IN ('dispatched', 'accepted', 'in_progress') ORDER BY id FOR UPDATE";

int repair_release_engineer(db_conn_t *db, long long engineer_id, long long project_id, long long actor_user_id,
                            const char *actor_role, const char *note, long long **ids)
{
    *ids = NULL;
    int n = -1;
    db_rows_t *r = db_query(db, SQL_OPEN_OF_ENGINEER, DB_ARGS(DB_INT(engineer_id), DB_INT(project_id)));
    if (!r)
        return -1;
    if (r->nrows == 0) {
        n = 0;
        goto Exit;
    }
    *ids = calloc((size_t)r->nrows, sizeof(**ids));
    if (!*ids)
        goto Exit;
    for (int i = 0; i < r->nrows; i++) {
        long long id = db_get_int(r, i, "id");
        repair_transition_t tr = {.ticket_id = id,
                                  .action = RA_UNASSIGN,
                                  .from_engineer_id = engineer_id,
                                  .actor_user_id = actor_user_id,
                                  .actor_role = actor_role,
                                  .note = note};
        /* The rows are locked: the transition cannot lose a race. */
        if (repair_state_parse(db_get(r, i, "state"), &tr.from) != 0 ||
            repair_apply_transition(db, &tr, NULL) != REPAIR_TR_APPLIED)
            goto Exit;
        if (db_exec(db,
                    "INSERT INTO repair_declines (ticket_id, engineer_id, reason) VALUES (?, ?, ?)"
                    " ON DUPLICATE KEY UPDATE reason = VALUES(reason), created_at = NOW(3)",
                    DB_ARGS(DB_INT(id), DB_INT(engineer_id), DB_STR(note))) != 0 ||
            repair_dispatch(db, id, 1) < 0 || repair_view_store(db, id) != 0)
            goto Exit;
        (*ids)[i] = id;
    }
    n = r->nrows;
Exit:
    db_rows_free(r);
    if (n < 0) {
        free(*ids);
        *ids = NULL;
    }
    return n;
}
