#include "domain/repairs/repair_events.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gateway/events.h"
#include "domain/repairs/repair_state.h"

static const char *SQL_TICKET_FACTS =
    "SELECT t.ticket_no, c.name, t.state, t.engineer_id, COALESCE(e.display_name, ''), p.name, b.name, u.name,"
    " t.project_id"
    " FROM repair_tickets t JOIN repair_categories c ON c.id = t.category_id"
    " JOIN units u ON u.id = t.unit_id JOIN buildings b ON b.id = t.building_id"
    " JOIN projects p ON p.id = t.project_id LEFT JOIN users e ON e.id = t.engineer_id WHERE t.id = ?";

/* The common payload and the ticket's project; NULL on a db error or a
 * missing ticket. */
static cJSON *base_payload(db_conn_t *db, long long ticket_id, long long *project_id)
{
    db_rows_t *r = db_query(db, SQL_TICKET_FACTS, DB_ARGS(DB_INT(ticket_id)));
    if (!r)
        return NULL;
    if (r->nrows != 1) {
        db_rows_free(r);
        return NULL;
    }
    *project_id = db_get_int(r, 0, "project_id");
    cJSON *p = cJSON_CreateObject();
    cJSON_AddNumberToObject(p, "ticket_id", (double)ticket_id);
    cJSON_AddStringToObject(p, "ticket_no", db_cell(r, 0, 0) ? db_cell(r, 0, 0) : "");
    cJSON_AddStringToObject(p, "category", db_cell(r, 0, 1));
    repair_state_t s = RS_SUBMITTED;
    repair_state_parse(db_cell(r, 0, 2), &s);
    cJSON_AddStringToObject(p, "state", repair_state_name(s));
    cJSON_AddStringToObject(p, "state_label", repair_state_label(s));
    const char *name = db_cell(r, 0, 4);
    cJSON_AddStringToObject(p, "engineer_name", !db_cell(r, 0, 3) ? "" : *name ? name : "工程师");
    cJSON_AddStringToObject(p, "project", db_cell(r, 0, 5));
    char unit[128];
    snprintf(unit, sizeof(unit), "%s %s", db_cell(r, 0, 6), db_cell(r, 0, 7));
    cJSON_AddStringToObject(p, "unit", unit);
    db_rows_free(r);
    time_t now = time(NULL);
    struct tm tm;
    char when[32];
    localtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
    cJSON_AddStringToObject(p, "time", when);
    return p;
}

static int emit_with(db_conn_t *db, const char *kind, long long user_id, long long ticket_id, long long project_id,
                     cJSON *payload, const cJSON *extra)
{
    for (const cJSON *it = extra ? extra->child : NULL; it; it = it->next)
        cJSON_AddItemToObject(payload, it->string, cJSON_Duplicate(it, 1));
    return events_emit_project(db, kind, user_id, "repair", ticket_id, project_id, payload);
}

int repair_event(db_conn_t *db, const char *kind, long long user_id, long long ticket_id, const cJSON *extra)
{
    long long project_id = 0;
    cJSON *p = base_payload(db, ticket_id, &project_id);
    if (!p)
        return -1;
    int rc = emit_with(db, kind, user_id, ticket_id, project_id, p, extra);
    cJSON_Delete(p);
    return rc;
}

static const char *SQL_SUPERVISORS =
    "SELECT r.user_id FROM staff_roles r JOIN users u ON u.id = r.user_id AND u.disabled = 0"
    " WHERE r.role = 'supervisor' AND r.project_id = ? ORDER BY r.user_id";
/* A project manager is a supervisor of the project listed in project_managers. */
static const char *SQL_MANAGERS =
    "SELECT m.user_id FROM project_managers m"
    " JOIN staff_roles r ON r.user_id = m.user_id AND r.role = 'supervisor' AND r.project_id = m.project_id"
    " JOIN users u ON u.id = m.user_id AND u.disabled = 0 WHERE m.project_id = ? ORDER BY m.user_id";

int repair_event_to_staff(db_conn_t *db, const char *kind, repair_audience_t who, long long project_id,
                          long long ticket_id, const cJSON *extra)
{
    db_rows_t *r =
        db_query(db, who == REPAIR_TO_MANAGERS ? SQL_MANAGERS : SQL_SUPERVISORS, DB_ARGS(DB_INT(project_id)));
    if (!r)
        return -1;
    int n = 0;
    for (int i = 0; i < r->nrows; i++) {
        if (repair_event(db, kind, db_cell_int(r, i, 0), ticket_id, extra) != 0) {
            n = -1;
            break;
        }
        n++;
    }
    db_rows_free(r);
    return n;
}
