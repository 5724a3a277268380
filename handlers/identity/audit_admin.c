/* audit_admin.c: reading the audit log.
 *
 *   GET /api/v1/admin/audit?actor=&object_type=&object_id=&project=&action=&from=&to=&cursor=&limit=
 *
 * Newest first. An admin reads every row; a supervisor reads the rows of
 * their projects only (audit_log.project_id: global changes, such as role
 * grants of admins or console logins, are admins' reading). The filters are
 * bound and each is served by an index of migration 019. */
#include <stdlib.h>

#include "domain/identity/project_access.h"
#include "gateway/call.h"
#include "gateway/db_json.h"
#include "gateway/query.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"

static const char *SQL_AUDIT =
    "SELECT a.id, a.action, a.target_type AS \"object.type\", a.target_id AS \"object.id\", a.project_id,"
    " a.actor_user_id AS \"actor.user_id\", u.display_name AS \"actor.display_name\", a.detail,"
    " FLOOR(UNIX_TIMESTAMP(a.created_at)) AS created_at"
    " FROM audit_log a LEFT JOIN users u ON u.id = a.actor_user_id"
    " WHERE (? = 1 OR a.project_id IN (SELECT sr.project_id FROM staff_roles sr"
    "                                  WHERE sr.user_id = ? AND sr.role = 'supervisor'))"
    " AND (? = 0 OR a.actor_user_id = ?) AND (? IS NULL OR a.target_type = ?) AND (? = 0 OR a.target_id = ?)"
    " AND (? = 0 OR a.project_id = ?) AND (? IS NULL OR a.action = ?)"
    " AND (? = 0 OR a.created_at >= FROM_UNIXTIME(?)) AND (? = 0 OR a.created_at < FROM_UNIXTIME(?))"
    " AND a.id < ? ORDER BY a.id DESC LIMIT ?";

/* The row with its detail as JSON rather than text. */
static cJSON *audit_json(const db_rows_t *r, int i, void *ud)
{
    (void)ud;
    cJSON *o = db_row_json(r, i);
    const char *text = db_get(r, i, "detail");
    cJSON *detail = text ? cJSON_Parse(text) : NULL;
    if (o)
        cJSON_ReplaceItemInObjectCaseSensitive(o, "detail", detail ? detail : cJSON_CreateNull());
    else
        cJSON_Delete(detail);
    return o;
}

static void list_audit(gw_call_t *c, db_conn_t *db)
{
    static const char *const keys[] = {"id"};
    long long actor, object_id, project, from, to;
    const char *object_type, *action;
    page_t page;
    if (query_id_or_fail(c, "actor", &actor) != 0 || query_string_or_fail(c, "object_type", 32, &object_type) != 0 ||
        query_id_or_fail(c, "object_id", &object_id) != 0 || query_id_or_fail(c, "project", &project) != 0 ||
        query_string_or_fail(c, "action", 64, &action) != 0 || query_time_or_fail(c, "from", 0, &from) != 0 ||
        query_time_or_fail(c, "to", 0, &to) != 0 || page_or_fail(c, 1, &page) != 0)
        return;
    int admin = project_access_is_admin(db, c->user.id);
    if (admin < 0) {
        call_fail_db(c);
        return;
    }
    if (project && !admin && project_access_or_fail(c, db, project, 1, "project", NULL) != 0)
        return;
    db_rows_t *r =
        db_query(db, SQL_AUDIT,
                 DB_ARGS(DB_INT(admin), DB_INT(c->user.id), DB_INT(actor), DB_INT(actor), DB_STR(object_type),
                         DB_STR(object_type), DB_INT(object_id), DB_INT(object_id), DB_INT(project), DB_INT(project),
                         DB_STR(action), DB_STR(action), DB_INT(from), DB_INT(from), DB_INT(to), DB_INT(to),
                         DB_INT(page_key(&page, 0, PAGE_KEY_MAX)), DB_INT(page.limit + 1)));
    if (!r) {
        call_fail_db(c);
        return;
    }
    page_respond(c, &page, r, audit_json, NULL, keys);
    db_rows_free(r);
}

static const route_t routes[] = {
    {"GET", "/api/v1/admin/audit", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_NONE, DB_STEP(list_audit)},
};

void audit_admin_register(void)
{
    ROUTES_REGISTER(routes);
}
