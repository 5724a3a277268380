/* repair_categories.c: the categories an owner picks from when filing.
 *
 *   GET /api/v1/repair-categories
 *
 * Configured in the repair_categories table: name, order, whether active,
 * the warranty period from handover (NULL: no warranty applies) and the
 * three clocks in seconds (accept 响应, arrive 到场, resolve 完成). A short
 * list, not paged. */
#include "gateway/call.h"
#include "gateway/db_json.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"

static const char *SQL_CATEGORIES =
    "SELECT id, code, name, warranty_months, accept_within_s, arrive_within_s, resolve_within_s"
    " FROM repair_categories WHERE active = 1 ORDER BY sort_order, id";

static void list_categories(gw_call_t *c, db_conn_t *db)
{
    db_rows_t *r = db_query(db, SQL_CATEGORIES, DB_NOARGS);
    if (!r) {
        call_fail_db(c);
        return;
    }
    cJSON *items = db_rows_json(r, 0, r->nrows);
    db_rows_free(r);
    if (!items) {
        call_fail(c, ERR_OVERLOADED, NULL, "out of memory; retry later");
        return;
    }
    call_ok_list(c, items, NULL);
}

static const route_t routes[] = {
    {"GET", "/api/v1/repair-categories", ROLE_ANY, BODY_NONE, DB_STEP(list_categories)},
};

void repair_categories_register(void)
{
    ROUTES_REGISTER(routes);
}
