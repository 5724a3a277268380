/* units.c: the caller's units, from the owner roster.
 *
 *   GET /api/v1/units
 *
 * A unit is the caller's when a roster row for it carries the caller's user
 * id (set when the user binds the roster's phone, or by the roster import
 * when the phone was already bound). */
#include "gateway/call.h"
#include "gateway/json_util.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"

static const char *SQL_UNITS =
    "SELECT u.id, u.name, b.id, b.name, p.id, p.code, p.name, DATE_FORMAT(u.handover_date, '%Y-%m-%d'), o.name"
    " FROM owners o JOIN units u ON u.id = o.unit_id JOIN buildings b ON b.id = u.building_id"
    " JOIN projects p ON p.id = b.project_id WHERE o.user_id = ? ORDER BY p.id, b.name, u.name, u.id";

static void list_units(gw_call_t *c)
{
    db_rows_t *r = db_query(c->db, SQL_UNITS, DB_ARGS(DB_INT(c->user.id)));
    if (!r) {
        call_fail_db(c);
        return;
    }
    cJSON *items = cJSON_CreateArray();
    for (int i = 0; i < r->nrows; i++) {
        cJSON *u = cJSON_CreateObject();
        cJSON_AddNumberToObject(u, "id", (double)db_cell_int(r, i, 0));
        cJSON_AddStringToObject(u, "name", db_cell(r, i, 1));
        cJSON *b = cJSON_AddObjectToObject(u, "building");
        cJSON_AddNumberToObject(b, "id", (double)db_cell_int(r, i, 2));
        cJSON_AddStringToObject(b, "name", db_cell(r, i, 3));
        cJSON *p = cJSON_AddObjectToObject(u, "project");
        cJSON_AddNumberToObject(p, "id", (double)db_cell_int(r, i, 4));
        cJSON_AddStringToObject(p, "code", db_cell(r, i, 5));
        cJSON_AddStringToObject(p, "name", db_cell(r, i, 6));
        json_add_string_or_null(u, "handover_date", db_cell(r, i, 7));
        cJSON_AddStringToObject(u, "owner_name", db_cell(r, i, 8));
        cJSON_AddItemToArray(items, u);
    }
    db_rows_free(r);
    call_ok_list(c, items, NULL);
}

static const route_t routes[] = {
    {"GET", "/api/v1/units", ROLE_ANY, BODY_NONE, POOL_DB, list_units},
};

void units_register(void)
{
    router_add(routes, sizeof(routes) / sizeof(routes[0]));
}
