/* audit_list.c: see audit_list.h. The statement and filters moved here
 * from handlers/identity/audit_admin.c unchanged. */
#include "domain/identity/audit_list.h"

#include "domain/identity/project_access.h"
#include "gateway/db_json.h"

typedef struct {
    long long actor, object_id, project, from, to;
    const char *object_type, *action;
    int admin;
} audit_filter_t;

#define SQL_AUDIT                                                                                                      \
    "SELECT a.id, a.action, a.target_type AS \"object.type\", a.target_id AS \"object.id\", a.project_id,"             \
    " a.actor_user_id AS \"actor.user_id\", u.display_name AS \"actor.display_name\", a.detail,"                       \
    " FLOOR(UNIX_TIMESTAMP(a.created_at)) AS created_at"                                                               \
    " FROM audit_log a LEFT JOIN users u ON u.id = a.actor_user_id"                                                    \
    " WHERE (? = 1 OR a.project_id IN (SELECT sr.project_id FROM staff_roles sr"                                       \
    "                                  WHERE sr.user_id = ? AND sr.role = 'supervisor'))"                              \
    " AND (? = 0 OR a.actor_user_id = ?) AND (? IS NULL OR a.target_type = ?) AND (? = 0 OR a.target_id = ?)"          \
    " AND (? = 0 OR a.project_id = ?) AND (? IS NULL OR a.action = ?)"                                                 \
    " AND (? = 0 OR a.created_at >= FROM_UNIXTIME(?)) AND (? = 0 OR a.created_at < FROM_UNIXTIME(?))"                  \
    " AND a.id < ? ORDER BY a.id DESC LIMIT ?"

static int audit_filter_or_fail(gw_call_t *c, db_conn_t *db, void *filter)
{
    audit_filter_t *f = filter;
    if (query_id_or_fail(c, "actor", &f->actor) != 0 ||
        query_string_or_fail(c, "object_type", 32, &f->object_type) != 0 ||
        query_id_or_fail(c, "object_id", &f->object_id) != 0 || query_id_or_fail(c, "project", &f->project) != 0 ||
        query_string_or_fail(c, "action", 64, &f->action) != 0 || query_time_or_fail(c, "from", 0, &f->from) != 0 ||
        query_time_or_fail(c, "to", 0, &f->to) != 0)
        return -1;
    f->admin = project_access_is_admin(db, c->user.id);
    if (f->admin < 0) {
        call_fail_db(c);
        return -1;
    }
    if (f->project && !f->admin && project_access_or_fail(c, db, f->project, 1, "project", NULL) != 0)
        return -1;
    return 0;
}

static db_rows_t *audit_rows(db_conn_t *db, const gw_call_t *c, const void *filter, long long before, int limit,
                             int count)
{
    const audit_filter_t *f = filter;
    return db_query(db, count ? LIST_COUNT_SQL(SQL_AUDIT) : SQL_AUDIT,
                    DB_ARGS(DB_INT(f->admin), DB_INT(c->user.id), DB_INT(f->actor), DB_INT(f->actor),
                            DB_STR(f->object_type), DB_STR(f->object_type), DB_INT(f->object_id), DB_INT(f->object_id),
                            DB_INT(f->project), DB_INT(f->project), DB_STR(f->action), DB_STR(f->action),
                            DB_INT(f->from), DB_INT(f->from), DB_INT(f->to), DB_INT(f->to), DB_INT(before),
                            DB_INT(limit)));
}

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

const list_def_t audit_admin_list = {
    .filter_size = sizeof(audit_filter_t),
    .filter_or_fail = audit_filter_or_fail,
    .rows = audit_rows,
    .render = audit_json,
};
