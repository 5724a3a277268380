/* repairs_admin.c: supervisors and admins working the repair tickets.
 *
 *   POST /api/v1/repairs/:id/assign {engineer_id}       (re)assign; -> dispatched
 *   GET  /api/v1/admin/repairs?project=&state=&overdue=  tickets of the caller's projects
 *   GET  /api/v1/admin/repair-followups?project=&status= follow-up visits after poor ratings
 *   POST /api/v1/admin/repair-followups/:id/done {note}
 *
 * A supervisor sees the projects they supervise; an admin sees all. */
#include <string.h>

#include "gateway/call.h"
#include "gateway/json_util.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"
#include "domain/repairs/repair_actions.h"
#include "domain/repairs/repair_events.h"
#include "domain/repairs/repair_view.h"

/* ---- assign ---- */

static int after_assign(gw_call_t *c, const repair_ticket_t *t, void *engineer)
{
    long long id = *(const long long *)engineer;
    if (repair_event(c->db, "repair.assigned", id, t->id, NULL) != 0 ||
        repair_event(c->db, "repair.dispatched", t->user_id, t->id, NULL) != 0)
        return -1;
    return 0;
}

static void assign(gw_call_t *c)
{
    repair_ticket_t t;
    long long engineer;
    if (json_int_or_fail(c, c->body, "engineer_id", 1, 1LL << 53, &engineer) != 0 || repair_load_from_path(c, &t) != 1)
        return;
    if (!(t.rel & REPAIR_REL_STAFF)) {
        call_fail(c, ERR_FORBIDDEN, NULL, "only a supervisor of the ticket's project may assign it");
        return;
    }
    long long one;
    int rc = db_query_int(c->db, &one,
                          "SELECT 1 FROM staff_roles r JOIN users u ON u.id = r.user_id AND u.disabled = 0"
                          " WHERE r.user_id = ? AND r.role = 'engineer' AND r.project_id = ?",
                          DB_ARGS(DB_INT(engineer), DB_INT(t.project_id)));
    if (rc < 0) {
        call_fail_db(c);
        return;
    }
    if (rc == 0) {
        call_fail(c, ERR_UNPROCESSABLE, "engineer_id", "user %lld is not an active engineer of this project", engineer);
        return;
    }
    if (engineer == t.engineer_id && t.state == RS_DISPATCHED) {
        call_fail(c, ERR_CONFLICT, "engineer_id", "the ticket is already assigned to this engineer");
        return;
    }
    repair_transition_t tr = {
        .action = RA_ASSIGN, .actor_user_id = c->user.id, .actor_role = repair_staff_role(&t), .engineer_id = engineer};
    repair_run_action(c, &t, &tr, after_assign, &engineer);
}

/* ---- the staff list ---- */

/* ?overdue=: 1/true or 0/false; -1 with the call failed. */
static int read_flag(gw_call_t *c, const char *name, int *out)
{
    char buf[8];
    *out = 0;
    if (!call_query(c, name, buf, sizeof(buf)) || !*buf)
        return 0;
    if (!strcmp(buf, "1") || !strcmp(buf, "true"))
        *out = 1;
    else if (strcmp(buf, "0") && strcmp(buf, "false")) {
        call_fail(c, ERR_INVALID_FIELD, name, "%s must be true or false", name);
        return -1;
    }
    return 0;
}

static const char *SQL_STAFF_LIST =
    REPAIR_SUMMARY_SELECT " WHERE " REPAIR_STAFF_SCOPE_SQL " AND (? = 0 OR t.project_id = ?)"
                          " AND (? = '' OR t.state = ?) AND (? = 0 OR " REPAIR_OVERDUE_SQL ") AND (? = 0 OR t.id < ?)"
                          " ORDER BY t.id DESC LIMIT ?";

static void staff_list(gw_call_t *c)
{
    long long before, project;
    int limit, overdue;
    char state[32] = "";
    repair_state_t s;
    if (repair_page_params(c, &before, &limit) != 0 || read_flag(c, "overdue", &overdue) != 0)
        return;
    if (call_query(c, "state", state, sizeof(state)) && *state && repair_state_parse(state, &s) != 0) {
        call_fail(c, ERR_INVALID_FIELD, "state", "unknown state \"%s\"", state);
        return;
    }
    if (repair_project_param(c, &project) != 0)
        return;
    int admin = (c->user.roles & ROLE_ADMIN) != 0;
    db_rows_t *r = db_query(c->db, SQL_STAFF_LIST,
                            DB_ARGS(DB_INT(admin), DB_INT(c->user.id), DB_INT(project), DB_INT(project), DB_STR(state),
                                    DB_STR(state), DB_INT(overdue), DB_INT(before), DB_INT(before), DB_INT(limit + 1)));
    repair_list_respond(c, r, limit, 1);
}

/* ---- follow-ups ---- */

static const char *SQL_FOLLOWUPS =
    "SELECT f.id, f.ticket_id, t.ticket_no, f.project_id, f.score, f.status, f.note,"
    " FLOOR(UNIX_TIMESTAMP(f.created_at)), FLOOR(UNIX_TIMESTAMP(f.done_at)), t.rating_comment"
    " FROM repair_followups f JOIN repair_tickets t ON t.id = f.ticket_id"
    " WHERE " REPAIR_STAFF_SCOPE_SQL " AND (? = 0 OR f.project_id = ?) AND (? = '' OR f.status = ?)"
    " AND (? = 0 OR f.id < ?) ORDER BY f.id DESC LIMIT ?";

static void followups(gw_call_t *c)
{
    long long before, project;
    int limit;
    char status[16] = "";
    if (repair_page_params(c, &before, &limit) != 0)
        return;
    if (call_query(c, "status", status, sizeof(status)) && *status && strcmp(status, "open") &&
        strcmp(status, "done")) {
        call_fail(c, ERR_INVALID_FIELD, "status", "status must be open or done");
        return;
    }
    if (repair_project_param(c, &project) != 0)
        return;
    int admin = (c->user.roles & ROLE_ADMIN) != 0;
    db_rows_t *r = db_query(c->db, SQL_FOLLOWUPS,
                            DB_ARGS(DB_INT(admin), DB_INT(c->user.id), DB_INT(project), DB_INT(project), DB_STR(status),
                                    DB_STR(status), DB_INT(before), DB_INT(before), DB_INT(limit + 1)));
    if (!r) {
        call_fail_db(c);
        return;
    }
    cJSON *items = cJSON_CreateArray();
    int n = r->nrows > limit ? limit : r->nrows;
    for (int i = 0; i < n; i++) {
        cJSON *f = cJSON_CreateObject();
        cJSON_AddNumberToObject(f, "id", (double)db_cell_int(r, i, 0));
        cJSON_AddNumberToObject(f, "ticket_id", (double)db_cell_int(r, i, 1));
        json_add_string_or_null(f, "ticket_no", db_cell(r, i, 2));
        cJSON_AddNumberToObject(f, "project_id", (double)db_cell_int(r, i, 3));
        cJSON_AddNumberToObject(f, "score", (double)db_cell_int(r, i, 4));
        json_add_string_or_null(f, "comment", db_cell(r, i, 9));
        cJSON_AddStringToObject(f, "status", db_cell(r, i, 5));
        json_add_string_or_null(f, "note", db_cell(r, i, 6));
        cJSON_AddNumberToObject(f, "created_at", (double)db_cell_int(r, i, 7));
        if (db_cell(r, i, 8))
            cJSON_AddNumberToObject(f, "done_at", (double)db_cell_int(r, i, 8));
        else
            cJSON_AddNullToObject(f, "done_at");
        cJSON_AddItemToArray(items, f);
    }
    long long last = n ? db_cell_int(r, n - 1, 0) : 0;
    int more = r->nrows > limit;
    db_rows_free(r);
    repair_page_finish(c, items, more, last);
}

static void followup_done(gw_call_t *c)
{
    long long id;
    const char *note = json_string_or_fail(c, c->body, "note", 1, 500);
    if (!note || call_param_id(c, "id", &id) != 0)
        return;
    int admin = (c->user.roles & ROLE_ADMIN) != 0;
    db_rows_t *r = db_query(c->db,
                            "SELECT f.status FROM repair_followups f JOIN repair_tickets t ON t.id = f.ticket_id"
                            " WHERE f.id = ? AND " REPAIR_STAFF_SCOPE_SQL,
                            DB_ARGS(DB_INT(id), DB_INT(admin), DB_INT(c->user.id)));
    if (!r) {
        call_fail_db(c);
        return;
    }
    int found = r->nrows == 1;
    db_rows_free(r);
    if (!found) {
        call_fail(c, ERR_NOT_FOUND, NULL, "no such follow-up");
        return;
    }
    /* Conditional: of two staff closing it at once, one wins. */
    if (db_exec(c->db,
                "UPDATE repair_followups SET status = 'done', note = ?, done_by = ?, done_at = NOW(3)"
                " WHERE id = ? AND status = 'open'",
                DB_ARGS(DB_STR(note), DB_INT(c->user.id), DB_INT(id))) != 0) {
        call_fail_db(c);
        return;
    }
    if (db_affected_rows(c->db) != 1) {
        call_fail(c, ERR_CONFLICT, NULL, "the follow-up is already done");
        return;
    }
    cJSON *d = cJSON_CreateObject();
    cJSON_AddNumberToObject(d, "id", (double)id);
    cJSON_AddStringToObject(d, "status", "done");
    cJSON_AddStringToObject(d, "note", note);
    call_ok(c, 200, d);
}

static const route_t routes[] = {
    {"POST", "/api/v1/repairs/:id/assign", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_JSON, POOL_DB, assign},
    {"GET", "/api/v1/admin/repairs", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_NONE, POOL_DB, staff_list},
    {"GET", "/api/v1/admin/repair-followups", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_NONE, POOL_DB, followups},
    {"POST", "/api/v1/admin/repair-followups/:id/done", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_JSON, POOL_DB,
     followup_done},
};

void repairs_admin_register(void)
{
    router_add(routes, sizeof(routes) / sizeof(routes[0]));
}
