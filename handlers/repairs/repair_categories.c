/* repair_categories.c: the categories an owner picks from when filing.
 *
 *   GET /api/v1/repair-categories?unit=|project=
 *
 * The active categories of a project (its own, or the defaults while it
 * has none: domain/repairs/repair_catalog.h): name, order, the warranty
 * period from handover (NULL: no warranty applies) and the three clocks in
 * seconds (accept 响应, arrive 到场, resolve 完成). The project is the
 * caller's unit's (`unit`, the one being filed for) or `project`; with
 * neither, the defaults. Administrators edit them through
 * repair_categories_admin.c. A short list, not paged. */
#include "domain/repairs/repair_catalog.h"
#include "gateway/call.h"
#include "gateway/db_json.h"
#include "gateway/query.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"

static const char *SQL_CATEGORIES =
    "SELECT id, code, name, warranty_months, accept_within_s, arrive_within_s, resolve_within_s"
    " FROM repair_categories c WHERE c.active = 1 AND c.project_id = " REPAIR_CATEGORY_SET(
        "?") " ORDER BY sort_order, id";

/* The project of the caller's unit: 0 with *project, -1 answered (404 naming
 * unit when it is not one of the caller's). */
static int project_of_unit_or_fail(gw_call_t *c, db_conn_t *db, long long unit, long long *project)
{
    int found = db_query_int(db, project,
                             "SELECT b.project_id FROM owners o JOIN units u ON u.id = o.unit_id"
                             " JOIN buildings b ON b.id = u.building_id WHERE o.unit_id = ? AND o.user_id = ? LIMIT 1",
                             DB_ARGS(DB_INT(unit), DB_INT(c->user.id)));
    if (found < 0)
        call_fail_db(c);
    else if (found == 0)
        call_fail(c, ERR_NOT_FOUND, "unit", "no such unit among yours");
    return found > 0 ? 0 : -1;
}

static void list_categories(gw_call_t *c, db_conn_t *db)
{
    long long unit, project;
    if (query_id_or_fail(c, "unit", &unit) != 0 || query_id_or_fail(c, "project", &project) != 0 ||
        (unit && project_of_unit_or_fail(c, db, unit, &project) != 0))
        return;
    cJSON *items = rows_json_or_fail(c, db, SQL_CATEGORIES, DB_ARGS(DB_INT(project)));
    if (items)
        call_ok_list(c, items, NULL);
}

static const route_t routes[] = {
    {"GET", "/api/v1/repair-categories", ROLE_ANY, BODY_NONE, DB_STEP(list_categories)},
};

void repair_categories_register(void)
{
    ROUTES_REGISTER(routes);
}
