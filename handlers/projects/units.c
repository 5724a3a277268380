/* units.c: the caller's units, from the owner roster.
 *
 *   GET /api/v1/units
 *
 * A unit is the caller's when a roster row for it carries the caller's user
 * id (set when the user binds the roster's phone, or by the roster import
 * when the phone was already bound). */
#include "gateway/call.h"
#include "gateway/query.h"
#include "gateway/db_json.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"

static const char *SQL_UNITS =
    "SELECT u.id, u.name, b.id AS \"building.id\", b.name AS \"building.name\", p.id AS \"project.id\","
    " p.code AS \"project.code\", p.name AS \"project.name\","
    " DATE_FORMAT(u.handover_date, '%Y-%m-%d') AS handover_date, o.name AS owner_name"
    " FROM owners o JOIN units u ON u.id = o.unit_id JOIN buildings b ON b.id = u.building_id"
    " JOIN projects p ON p.id = b.project_id WHERE o.user_id = ? ORDER BY p.id, b.name, u.name, u.id";

/* A household's few units: the list is not paged (miniprogram-api.md). */
static void list_units(gw_call_t *c, db_conn_t *db)
{
    cJSON *items = rows_json_or_fail(c, db, SQL_UNITS, DB_ARGS(DB_INT(c->user.id)));
    if (items)
        call_ok_list(c, items, NULL);
}

static const route_t routes[] = {
    {"GET", "/api/v1/units", ROLE_ANY, BODY_NONE, DB_STEP(list_units)},
};

void units_register(void)
{
    ROUTES_REGISTER(routes);
}
