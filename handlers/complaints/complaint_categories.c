/* complaint_categories.c: the categories an owner files a complaint with.
 *
 *   GET /api/v1/complaint-categories?project=   the project's active categories, in order
 *
 * Any logged-in user; the project's own copy of the defaults is made on the
 * first read (domain/complaints/complaint_catalog.h). */
#include "domain/complaints/complaint_catalog.h"
#include "gateway/call.h"
#include "gateway/query.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"

static void list_categories(gw_call_t *c, db_conn_t *db)
{
    long long project, one;
    if (query_id_or_fail(c, "project", &project) != 0)
        return;
    if (!project) {
        call_fail(c, ERR_MISSING_FIELD, "project", "project is required");
        return;
    }
    int rc = db_query_int(db, &one, "SELECT 1 FROM projects WHERE id = ?", DB_ARGS(DB_INT(project)));
    if (rc == 0) {
        call_fail(c, ERR_NOT_FOUND, "project", "no such project");
        return;
    }
    if (rc < 0 || complaint_catalog_ensure(db, project) != 0) {
        call_fail_db(c);
        return;
    }
    cJSON *items = rows_json_or_fail(c, db,
                                     "SELECT cc.id AS id, cc.code AS code, cc.name AS name FROM complaint_categories cc"
                                     " WHERE cc.project_id = ? AND cc.active = 1 ORDER BY cc.sort_order, cc.id",
                                     DB_ARGS(DB_INT(project)));
    if (items)
        call_ok_list(c, items, NULL);
}

static const route_t routes[] = {
    {"GET", "/api/v1/complaint-categories", ROLE_ANY, BODY_NONE, DB_STEP(list_categories)},
};

void complaint_categories_register(void)
{
    ROUTES_REGISTER(routes);
}
