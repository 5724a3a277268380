/* project_lists.c: see project_lists.h. The statement and filters moved
 * here from handlers/projects/projects_admin.c unchanged. */
#include "domain/projects/project_lists.h"

#include <string.h>

#include "domain/identity/project_access.h"

typedef struct {
    const char *q, *open; /* open: "1", "0" or NULL */
    int admin;
} project_filter_t;

#define SQL_LIST_PROJECTS                                                                                              \
    "SELECT " PROJECT_COLUMNS " FROM projects p"                                                                       \
    " WHERE " PROJECT_ACCESS_SQL("p.id") " AND (? IS NULL OR LOCATE(?, p.name) > 0 OR LOCATE(?, p.code) > 0)"          \
                                         " AND (? IS NULL OR p.open_for_leads = ?) AND p.id < ? ORDER BY p.id DESC"    \
                                         " LIMIT ?"

static int project_filter_or_fail(gw_call_t *c, db_conn_t *db, void *filter)
{
    static const char *const bools[] = {"true", "false", NULL};
    project_filter_t *f = filter;
    const char *open;
    if (query_string_or_fail(c, "q", 50, &f->q) != 0 || query_enum_or_fail(c, "open_for_leads", bools, NULL, &open) != 0)
        return -1;
    f->open = open ? (!strcmp(open, "true") ? "1" : "0") : NULL;
    f->admin = project_access_is_admin(db, c->user.id);
    if (f->admin < 0) {
        call_fail_db(c);
        return -1;
    }
    return 0;
}

static db_rows_t *project_rows(db_conn_t *db, const gw_call_t *c, const void *filter, long long before, int limit,
                               int count)
{
    const project_filter_t *f = filter;
    return db_query(db, count ? LIST_COUNT_SQL(SQL_LIST_PROJECTS) : SQL_LIST_PROJECTS,
                    DB_ARGS(DB_INT(f->admin), DB_INT(c->user.id), DB_STR(f->q), DB_STR(f->q), DB_STR(f->q),
                            DB_STR(f->open), DB_STR(f->open), DB_INT(before), DB_INT(limit)));
}

const list_def_t project_admin_list = {
    .filter_size = sizeof(project_filter_t),
    .filter_or_fail = project_filter_or_fail,
    .rows = project_rows,
    .render = NULL,
};
