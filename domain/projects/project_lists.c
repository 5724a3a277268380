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
    if (query_string_or_fail(c, "q", 50, &f->q) != 0 ||
        query_enum_or_fail(c, "open_for_leads", bools, NULL, &open) != 0)
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

/* ---- buildings of a project ---- */

typedef struct {
    long long project;
    const char *q;
} building_filter_t;

#define SQL_LIST_BUILDINGS                                                                                             \
    "SELECT b.id, b.project_id, b.name, DATE_FORMAT(b.handover_date, '%Y-%m-%d') AS handover_date,"                    \
    " (SELECT COUNT(*) FROM units u WHERE u.building_id = b.id) AS unit_count"                                         \
    " FROM buildings b WHERE b.project_id = ? AND (? IS NULL OR LOCATE(?, b.name) > 0) AND b.id > ?"                   \
    " ORDER BY b.id LIMIT ?"

static int building_filter_or_fail(gw_call_t *c, db_conn_t *db, void *filter)
{
    building_filter_t *f = filter;
    if (list_parent_id_or_fail(c, "project", &f->project) != 0 || query_string_or_fail(c, "q", 50, &f->q) != 0)
        return -1;
    return project_access_or_fail(c, db, f->project, 1, call_param(c, "id") ? NULL : "project", NULL);
}

static db_rows_t *building_rows(db_conn_t *db, const gw_call_t *c, const void *filter, long long after, int limit,
                                int count)
{
    (void)c;
    const building_filter_t *f = filter;
    return db_query(db, count ? LIST_COUNT_SQL(SQL_LIST_BUILDINGS) : SQL_LIST_BUILDINGS,
                    DB_ARGS(DB_INT(f->project), DB_STR(f->q), DB_STR(f->q), DB_INT(after), DB_INT(limit)));
}

const list_def_t building_admin_list = {
    .filter_size = sizeof(building_filter_t),
    .filter_or_fail = building_filter_or_fail,
    .rows = building_rows,
    .ascending = 1,
};

/* ---- units of a building ---- */

#define NAME_MAX_CHARS 50 /* buildings.name, units.name */

typedef struct {
    long long building;
    const char *q;
} unit_filter_t;

#define UNIT_COLUMNS                                                                                                   \
    "u.id, u.building_id, b.project_id, u.name, DATE_FORMAT(u.handover_date, '%Y-%m-%d') AS handover_date,"            \
    " (SELECT COUNT(*) FROM owners o WHERE o.unit_id = u.id) AS owner_count"

#define SQL_LIST_UNITS                                                                                                 \
    "SELECT " UNIT_COLUMNS " FROM units u JOIN buildings b ON b.id = u.building_id"                                    \
    " WHERE u.building_id = ? AND (? IS NULL OR LOCATE(?, u.name) > 0) AND u.id > ?"                                   \
    " ORDER BY u.id LIMIT ?"

static int unit_filter_or_fail(gw_call_t *c, db_conn_t *db, void *filter)
{
    unit_filter_t *f = filter;
    long long project;
    if (query_string_or_fail(c, "q", NAME_MAX_CHARS, &f->q) != 0 ||
        list_parent_id_or_fail(c, "building", &f->building) != 0)
        return -1;
    return project_access_of_or_fail(c, db, "SELECT project_id FROM buildings WHERE id = ?", f->building, "building",
                                     &project, NULL);
}

static db_rows_t *unit_rows(db_conn_t *db, const gw_call_t *c, const void *filter, long long after, int limit,
                            int count)
{
    (void)c;
    const unit_filter_t *f = filter;
    return db_query(db, count ? LIST_COUNT_SQL(SQL_LIST_UNITS) : SQL_LIST_UNITS,
                    DB_ARGS(DB_INT(f->building), DB_STR(f->q), DB_STR(f->q), DB_INT(after), DB_INT(limit)));
}

const list_def_t unit_admin_list = {
    .filter_size = sizeof(unit_filter_t),
    .filter_or_fail = unit_filter_or_fail,
    .rows = unit_rows,
    .ascending = 1,
};
