/* complaint_catalog.c: see complaint_catalog.h. */
#include "domain/complaints/complaint_catalog.h"

#define BUDGET_COLUMNS                                                                                                 \
    "business_hours, respond_normal_s, respond_hot_s, respond_important_s, respond_major_s, resolve_normal_s,"         \
    " resolve_hot_s, resolve_important_s, resolve_major_s"

int complaint_catalog_ensure(db_conn_t *db, long long project_id)
{
    long long one;
    int rc = db_query_int(db, &one, "SELECT 1 FROM complaint_categories WHERE project_id = ? LIMIT 1",
                          DB_ARGS(DB_INT(project_id)));
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    return db_exec(db,
                   "INSERT IGNORE INTO complaint_categories (project_id, code, name, sort_order, active, " BUDGET_COLUMNS
                   ") SELECT ?, code, name, sort_order, active, " BUDGET_COLUMNS
                   " FROM complaint_categories WHERE project_id = 0",
                   DB_ARGS(DB_INT(project_id)));
}

int complaint_category_find(db_conn_t *db, long long project_id, const char *code, int lock, long long *id)
{
    if (complaint_catalog_ensure(db, project_id) != 0)
        return -1;
    return db_query_int(db, id,
                        lock ? "SELECT id FROM complaint_categories WHERE project_id = ? AND code = ? AND active = 1"
                               " FOR UPDATE"
                             : "SELECT id FROM complaint_categories WHERE project_id = ? AND code = ? AND active = 1",
                        DB_ARGS(DB_INT(project_id), DB_STR(code)));
}
