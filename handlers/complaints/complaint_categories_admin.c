/* complaint_categories_admin.c: a project's complaint categories and their
 * clocks.
 *
 *   GET   /api/v1/admin/complaint-categories?project=   the project's categories (inactive too)
 *   POST  /api/v1/admin/complaint-categories            {project_id, code, name, business_hours?,
 *                                                        respond_<level>_minutes?, resolve_<level>_minutes?,
 *                                                        sort_order?, active?}
 *   PATCH /api/v1/admin/complaint-categories/:id        {name?, business_hours?, the minutes?, sort_order?, active?}
 *
 * <level> is normal, hot, important or major (一般/热点/重要/重大): the
 * first-response and resolution budgets per level, in minutes (stored in
 * seconds), counted in business time when business_hours is true. A
 * project's categories are its own copy of the defaults (made on first
 * use, complaint_catalog.h); project 0 is the defaults, which only admins
 * change. Categories are never deleted (complaints name them): one is
 * retired with "active": false. Supervisors of the project and admins;
 * each change and its audit row (complaint_category.create, .update)
 * commit together. New budgets apply to the clocks of rounds started
 * afterwards. */
#include <stdlib.h>
#include <string.h>

#include "domain/complaints/complaint_catalog.h"
#include "domain/identity/admin_change.h"
#include "domain/leads/lead_access.h"
#include "gateway/call.h"
#include "gateway/json_util.h"
#include "gateway/query.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"

#define BUDGET_MAX_MINUTES 525600 /* a year */
#define SORT_ORDER_MAX 1000000
#define NBUDGETS 8

/* respond_normal_minutes ... resolve_major_minutes, and their columns. */
static const char *const BUDGET_FIELDS[NBUDGETS] = {
    "respond_normal_minutes",  "respond_hot_minutes",  "respond_important_minutes",  "respond_major_minutes",
    "resolve_normal_minutes", "resolve_hot_minutes", "resolve_important_minutes", "resolve_major_minutes"};

typedef struct {
    long long project_id;
    char code[33];
    char name[32 * 4 + 1];
    long long minutes[NBUDGETS], sort_order;
    int business_hours, active;
    int has_name, has_minutes[NBUDGETS], has_business_hours, has_active, has_sort;
} form_t;

static int check_fields(gw_call_t *c, form_t *f, int create)
{
    if (json_trimmed_or_fail(c, c->body, "name", create, 1, 32, f->name, sizeof(f->name), &f->has_name) != 0)
        return -1;
    for (int i = 0; i < NBUDGETS; i++)
        if (json_opt_int_or_fail(c, c->body, BUDGET_FIELDS[i], 1, BUDGET_MAX_MINUTES, &f->minutes[i],
                                 &f->has_minutes[i]) != 0)
            return -1;
    if (json_opt_int_or_fail(c, c->body, "sort_order", -SORT_ORDER_MAX, SORT_ORDER_MAX, &f->sort_order, &f->has_sort) !=
        0)
        return -1;
    f->has_business_hours = cJSON_GetObjectItemCaseSensitive(c->body, "business_hours") != NULL;
    if (f->has_business_hours && json_bool_or_fail(c, c->body, "business_hours", &f->business_hours) != 0)
        return -1;
    f->active = 1;
    f->has_active = cJSON_GetObjectItemCaseSensitive(c->body, "active") != NULL;
    if (f->has_active && json_bool_or_fail(c, c->body, "active", &f->active) != 0)
        return -1;
    return 0;
}

static void check_create(gw_call_t *c)
{
    static const char *const known[] = {"project_id",
                                        "code",
                                        "name",
                                        "business_hours",
                                        "sort_order",
                                        "active",
                                        "respond_normal_minutes",
                                        "respond_hot_minutes",
                                        "respond_important_minutes",
                                        "respond_major_minutes",
                                        "resolve_normal_minutes",
                                        "resolve_hot_minutes",
                                        "resolve_important_minutes",
                                        "resolve_major_minutes",
                                        NULL};
    int present;
    form_t *f = call_state_new_or_fail(c, 1, sizeof(form_t), free);
    if (!f || json_known_fields_or_fail(c, c->body, known) != 0 ||
        json_int_or_fail(c, c->body, "project_id", 1, 1LL << 53, &f->project_id) != 0 ||
        json_trimmed_or_fail(c, c->body, "code", 1, 1, 32, f->code, sizeof(f->code), &present) != 0)
        return;
    if (strspn(f->code, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(f->code)) {
        call_fail(c, ERR_INVALID_FIELD, "code", "code must be lower-case letters, digits and _");
        return;
    }
    check_fields(c, f, 1);
}

static void check_update(gw_call_t *c)
{
    static const char *const known[] = {"name",
                                        "business_hours",
                                        "sort_order",
                                        "active",
                                        "respond_normal_minutes",
                                        "respond_hot_minutes",
                                        "respond_important_minutes",
                                        "respond_major_minutes",
                                        "resolve_normal_minutes",
                                        "resolve_hot_minutes",
                                        "resolve_important_minutes",
                                        "resolve_major_minutes",
                                        NULL};
    form_t *f = call_state_new_or_fail(c, 1, sizeof(form_t), free);
    if (!f || json_known_fields_or_fail(c, c->body, known) != 0 || check_fields(c, f, 0) != 0)
        return;
    if (!c->body->child)
        call_fail(c, ERR_MISSING_FIELD, "name", "nothing to change: give at least one field");
}

static const char *SQL_CATEGORY = "SELECT " COMPLAINT_CATEGORY_COLUMNS " FROM complaint_categories cc WHERE cc.id = ?";

static void list_categories(gw_call_t *c, db_conn_t *db)
{
    long long project;
    if (query_id_or_fail(c, "project", &project) != 0)
        return;
    if (!project) {
        call_fail(c, ERR_MISSING_FIELD, "project", "project is required");
        return;
    }
    if (lead_manages_project_or_fail(c, db, project, "project") != 0)
        return;
    if (complaint_catalog_ensure(db, project) != 0) {
        call_fail_db(c);
        return;
    }
    cJSON *items = rows_json_or_fail(c, db,
                                     "SELECT " COMPLAINT_CATEGORY_COLUMNS " FROM complaint_categories cc"
                                     " WHERE cc.project_id = ? ORDER BY cc.sort_order, cc.id",
                                     DB_ARGS(DB_INT(project)));
    if (items)
        call_ok_list(c, items, NULL);
}

/* The budgets' parameters of SQL_INSERT/SQL_UPDATE: (has, seconds) pairs. */
static void budget_args(const form_t *f, db_param_t *args)
{
    for (int i = 0; i < NBUDGETS; i++) {
        args[2 * i] = DB_INT(f->has_minutes[i]);
        args[2 * i + 1] = DB_INT(f->minutes[i] * 60);
    }
}

#define BUDGET_SETS                                                                                                    \
    " respond_normal_s = IF(?, ?, respond_normal_s), respond_hot_s = IF(?, ?, respond_hot_s),"                         \
    " respond_important_s = IF(?, ?, respond_important_s), respond_major_s = IF(?, ?, respond_major_s),"               \
    " resolve_normal_s = IF(?, ?, resolve_normal_s), resolve_hot_s = IF(?, ?, resolve_hot_s),"                         \
    " resolve_important_s = IF(?, ?, resolve_important_s), resolve_major_s = IF(?, ?, resolve_major_s)"

static const char *SQL_UPDATE = "UPDATE complaint_categories SET name = IF(?, ?, name),"
                                " business_hours = IF(?, ?, business_hours), active = IF(?, ?, active),"
                                " sort_order = IF(?, ?, sort_order)," BUDGET_SETS " WHERE id = ?";

/* Applies the form's fields to category id. 0 or -1. */
static int apply(db_conn_t *db, const form_t *f, long long id)
{
    db_param_t args[8 + 2 * NBUDGETS + 1];
    int n = 0;
    args[n++] = DB_INT(f->has_name);
    args[n++] = DB_STR(f->name);
    args[n++] = DB_INT(f->has_business_hours);
    args[n++] = DB_INT(f->business_hours);
    args[n++] = DB_INT(f->has_active);
    args[n++] = DB_INT(f->active);
    args[n++] = DB_INT(f->has_sort);
    args[n++] = DB_INT(f->sort_order);
    budget_args(f, args + n);
    n += 2 * NBUDGETS;
    args[n++] = DB_INT(id);
    return db_exec(db, SQL_UPDATE, args, n);
}

/* A new category starts from the defaults' budgets (the column defaults)
 * and takes the form's. */
static void create_category(gw_call_t *c, db_conn_t *db)
{
    const form_t *f = c->state;
    if (lead_manages_project_or_fail(c, db, f->project_id, "project_id") != 0)
        return;
    long long one;
    int rc = db_query_int(db, &one, "SELECT 1 FROM projects WHERE id = ?", DB_ARGS(DB_INT(f->project_id)));
    if (rc <= 0) {
        if (rc == 0)
            call_fail(c, ERR_NOT_FOUND, "project_id", "no such project");
        else
            call_fail_db(c);
        return;
    }
    if (db_begin(db) != 0 || complaint_catalog_ensure(db, f->project_id) != 0) {
        call_fail_db(c);
        return;
    }
    if (db_exec(db, "INSERT INTO complaint_categories (project_id, code, name) VALUES (?, ?, ?)",
                DB_ARGS(DB_INT(f->project_id), DB_STR(f->code), DB_STR(f->name))) != 0) {
        admin_unique_or_fail(c, db, -1, "code", "the project already has a category with this code", NULL);
        return;
    }
    long long id = (long long)db_insert_id(db);
    if (apply(db, f, id) != 0) {
        call_fail_db(c);
        return;
    }
    admin_finish(c, db, 201, "complaint_category.create", "complaint_category", id, f->project_id, NULL,
                 admin_object_json(db, SQL_CATEGORY, id, NULL), NULL);
}

static void update_category(gw_call_t *c, db_conn_t *db)
{
    const form_t *f = c->state;
    long long id, project;
    if (admin_lock_or_fail(c, db, "SELECT project_id FROM complaint_categories WHERE id = ? FOR UPDATE",
                           "complaint category", &id, &project) != 0)
        return;
    cJSON *before = admin_object_json(db, SQL_CATEGORY, id, NULL);
    if (!before || apply(db, f, id) != 0) {
        cJSON_Delete(before);
        call_fail_db(c);
        return;
    }
    admin_finish(c, db, 200, "complaint_category.update", "complaint_category", id, project, before,
                 admin_object_json(db, SQL_CATEGORY, id, NULL), NULL);
}

static const route_t routes[] = {
    {"GET", "/api/v1/admin/complaint-categories", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_NONE, DB_STEP(list_categories)},
    {"POST", "/api/v1/admin/complaint-categories", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_JSON, DB_STEP(create_category),
     BODY_CHECK(check_create)},
    {"PATCH", "/api/v1/admin/complaint-categories/:id", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_JSON,
     DB_STEP(update_category), BODY_CHECK(check_update)},
};

void complaint_categories_admin_register(void)
{
    ROUTES_REGISTER(routes);
}
