/* repair_catalog.c: see repair_catalog.h. */
#include "domain/repairs/repair_catalog.h"

static const char *SQL_COPY_DEFAULTS =
    "INSERT INTO repair_categories (project_id, code, name, sort_order, active, warranty_months, accept_within_s,"
    " arrive_within_s, resolve_within_s, business_hours)"
    " SELECT ?, code, name, sort_order, active, warranty_months, accept_within_s, arrive_within_s, resolve_within_s,"
    " business_hours"
    " FROM repair_categories WHERE project_id = 0";

/* Tickets and rules naming a default follow it to the project's copy. The
 * ticket's updated_at is kept: nothing the owner sees has changed. */
static const char *SQL_MOVE_TICKETS =
    "UPDATE repair_tickets t JOIN repair_categories d ON d.id = t.category_id AND d.project_id = 0"
    " JOIN repair_categories c ON c.project_id = t.project_id AND c.code = d.code"
    " SET t.category_id = c.id, t.updated_at = t.updated_at WHERE t.project_id = ?";
static const char *SQL_MOVE_RULES =
    "UPDATE repair_dispatch_rules r JOIN repair_categories d ON d.id = r.category_id AND d.project_id = 0"
    " JOIN repair_categories c ON c.project_id = r.project_id AND c.code = d.code"
    " SET r.category_id = c.id WHERE r.project_id = ?";

int repair_catalog_own(db_conn_t *db, long long project_id)
{
    long long one;
    int found = db_query_int(db, &one, "SELECT 1 FROM projects WHERE id = ? FOR UPDATE", DB_ARGS(DB_INT(project_id)));
    if (found <= 0)
        return -1;
    found = db_query_int(db, &one, "SELECT 1 FROM repair_categories WHERE project_id = ? LIMIT 1",
                         DB_ARGS(DB_INT(project_id)));
    if (found != 0)
        return found < 0 ? -1 : 0;
    if (db_exec(db, SQL_COPY_DEFAULTS, DB_ARGS(DB_INT(project_id))) != 0 ||
        db_exec(db, SQL_MOVE_TICKETS, DB_ARGS(DB_INT(project_id))) != 0 ||
        db_exec(db, SQL_MOVE_RULES, DB_ARGS(DB_INT(project_id))) != 0)
        return -1;
    return 1;
}
