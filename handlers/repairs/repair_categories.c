/* repair_categories.c: the categories an owner picks from when filing.
 *
 *   GET /api/v1/repair-categories
 *
 * Configured in the repair_categories table: name, order, whether active,
 * the warranty period from handover (NULL: no warranty applies) and the
 * three clocks in seconds (accept 响应, arrive 到场, resolve 完成). */
#include "gateway/call.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"

static const char *SQL_CATEGORIES =
    "SELECT id, code, name, warranty_months, accept_within_s, arrive_within_s, resolve_within_s"
    " FROM repair_categories WHERE active = 1 ORDER BY sort_order, id";

static void list_categories(gw_call_t *c)
{
    db_rows_t *r = db_query(c->db, SQL_CATEGORIES, DB_NOARGS);
    if (!r) {
        call_fail_db(c);
        return;
    }
    cJSON *items = cJSON_CreateArray();
    for (int i = 0; i < r->nrows; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "id", (double)db_cell_int(r, i, 0));
        cJSON_AddStringToObject(o, "code", db_cell(r, i, 1));
        cJSON_AddStringToObject(o, "name", db_cell(r, i, 2));
        if (db_cell(r, i, 3))
            cJSON_AddNumberToObject(o, "warranty_months", (double)db_cell_int(r, i, 3));
        else
            cJSON_AddNullToObject(o, "warranty_months");
        cJSON_AddNumberToObject(o, "accept_within_s", (double)db_cell_int(r, i, 4));
        cJSON_AddNumberToObject(o, "arrive_within_s", (double)db_cell_int(r, i, 5));
        cJSON_AddNumberToObject(o, "resolve_within_s", (double)db_cell_int(r, i, 6));
        cJSON_AddItemToArray(items, o);
    }
    db_rows_free(r);
    call_ok_list(c, items, NULL);
}

static const route_t routes[] = {
    {"GET", "/api/v1/repair-categories", ROLE_ANY, BODY_NONE, POOL_DB, list_categories},
};

void repair_categories_register(void)
{
    router_add(routes, sizeof(routes) / sizeof(routes[0]));
}
