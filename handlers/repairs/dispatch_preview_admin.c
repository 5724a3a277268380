/* dispatch_preview_admin.c: who would get a ticket filed now, and why.
 *
 *   GET /api/v1/admin/dispatch-preview?unit=&category=
 *
 * Runs the choice dispatch makes (repair_pick_for in domain/repairs/
 * repair_dispatch.c, the same code, not a copy) for a ticket of this unit
 * and category that nobody has declined yet, and answers the matching rule,
 * its group, the engineer and their open load, or that nobody would get it
 * and the ticket would wait for a supervisor. It only reads: no ticket, no
 * event, no audit row. The answer holds for this moment: the loads change
 * as tickets are dispatched and closed.
 *
 * `category` is a code (as the mini-program files it) or an id; it must be
 * an active category of the unit's project. A supervisor previews the units
 * of their projects, an admin any; another unit is answered 404. */
#include <stdlib.h>
#include <string.h>

#include "domain/leads/lead_access.h"
#include "domain/repairs/repair_catalog.h"
#include "domain/repairs/repair_dispatch.h"
#include "gateway/call.h"
#include "gateway/db_json.h"
#include "gateway/query.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"

/* An active category of the project's set, by id (parameter 1: the value
 * as a number, 0 when it is not one) or by code (2); an id first. */
static const char *SQL_CATEGORY = "SELECT c.id FROM repair_categories c WHERE c.active = 1"
                                  " AND (c.id = ? OR c.code = ?)"
                                  " AND c.project_id = " REPAIR_CATEGORY_SET("?") " ORDER BY c.id = ? DESC LIMIT 1";

static const char *SQL_ANSWER =
    "SELECT u.id AS `unit.id`, u.name AS `unit.name`, b.id AS `unit.building.id`, b.name AS `unit.building.name`,"
    " b.project_id AS `unit.project_id`, c.id AS `category.id`, c.code AS `category.code`,"
    " c.name AS `category.name`, r.id AS `rule.id`, r.building_id AS `rule.building_id`,"
    " r.category_id AS `rule.category_id`, g.id AS `group.id`, g.name AS `group.name`, e.id AS `engineer.id`,"
    " e.display_name AS `engineer.name`"
    " FROM units u JOIN buildings b ON b.id = u.building_id JOIN repair_categories c ON c.id = ?"
    " LEFT JOIN repair_dispatch_rules r ON r.id = ? LEFT JOIN repair_engineer_groups g ON g.id = ?"
    " LEFT JOIN users e ON e.id = ? WHERE u.id = ?";

/* The reason, for the console to explain. */
static const char *reason_of(const repair_pick_t *p)
{
    if (!p->engineer_id)
        return "no_engineer";
    if (!strcmp(p->via, "group"))
        return "rule_group";
    return p->rule_id ? "group_nobody_eligible" : "no_rule";
}

static void preview(gw_call_t *c, db_conn_t *db)
{
    long long unit, category_id = 0, project = 0, building = 0;
    const char *category;
    if (query_id_or_fail(c, "unit", &unit) != 0 || query_string_or_fail(c, "category", 32, &category) != 0)
        return;
    if (!unit || !category) {
        call_fail(c, ERR_MISSING_FIELD, unit ? "category" : "unit", "%s is required", unit ? "category" : "unit");
        return;
    }
    db_rows_t *u = db_query(db,
                            "SELECT b.id AS building_id, b.project_id FROM units u"
                            " JOIN buildings b ON b.id = u.building_id WHERE u.id = ?",
                            DB_ARGS(DB_INT(unit)));
    if (!u) {
        call_fail_db(c);
        return;
    }
    int found = u->nrows == 1;
    if (found) {
        building = db_get_int(u, 0, "building_id");
        project = db_get_int(u, 0, "project_id");
    }
    db_rows_free(u);
    if (lead_access_or_fail(c, db, found, project, ROLE_SUPERVISOR | ROLE_ADMIN, "unit", unit, NULL) != 0)
        return;
    long long as_id = strspn(category, "0123456789") == strlen(category) ? strtoll(category, NULL, 10) : 0;
    found = db_query_int(db, &category_id, SQL_CATEGORY,
                         DB_ARGS(DB_INT(as_id), DB_STR(category), DB_INT(project), DB_INT(as_id)));
    if (found <= 0) {
        if (found < 0)
            call_fail_db(c);
        else
            call_fail(c, ERR_INVALID_FIELD, "category", "\"%s\" is not an active category of the unit's project",
                      category);
        return;
    }
    repair_pick_t p;
    if (repair_pick_for(db, project, building, category_id, 0, &p) < 0) {
        call_fail_db(c);
        return;
    }
    db_rows_t *r = db_query(
        db, SQL_ANSWER,
        DB_ARGS(DB_INT(category_id), DB_INT(p.rule_id), DB_INT(p.group_id), DB_INT(p.engineer_id), DB_INT(unit)));
    cJSON *d = r && r->nrows == 1 ? db_row_json(r, 0) : NULL;
    db_rows_free(r);
    if (!d) {
        call_fail_db(c);
        return;
    }
    cJSON *engineer = cJSON_GetObjectItemCaseSensitive(d, "engineer");
    if (cJSON_IsObject(engineer))
        cJSON_AddNumberToObject(engineer, "open_load", (double)p.open_load);
    if (p.via)
        cJSON_AddStringToObject(d, "via", p.via);
    else
        cJSON_AddNullToObject(d, "via");
    cJSON_AddStringToObject(d, "reason", reason_of(&p));
    cJSON_AddStringToObject(d, "outcome", p.engineer_id ? "dispatched" : "waits_for_supervisor");
    call_ok(c, 200, d);
}

static const route_t routes[] = {
    {"GET", "/api/v1/admin/dispatch-preview", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_NONE, DB_STEP(preview)},
};

void dispatch_preview_admin_register(void)
{
    ROUTES_REGISTER(routes);
}
