/* dispatch_rules_admin.c: which group of engineers gets which tickets.
 *
 *   GET    /api/v1/admin/dispatch-rules?project=&building=&category=&group=&cursor=&limit=
 *   POST   /api/v1/admin/dispatch-rules        {project_id, building_id?, category_id?, group_id}
 *   DELETE /api/v1/admin/dispatch-rules/:id
 *
 * A rule maps (project, building or any, category or any) to a group of the
 * project; the most specific matching rule wins (domain/repairs/
 * repair_dispatch.c). The building must be the project's, the category one
 * the project uses (its own or the defaults: repair_catalog.h) and the
 * group the project's (422 naming the field); one rule per (building,
 * category) of a project (409 DUPLICATE). To change a rule, delete it and
 * create another.
 *
 * Supervisors manage their projects' rules, admins every project's; a rule
 * of a project the caller does not supervise is answered 404. Each change
 * and its audit row (dispatch_rule.create, .delete) commit together. */
#include <stdlib.h>
#include <string.h>

#include "domain/identity/admin_change.h"
#include "domain/leads/lead_access.h"
#include "domain/repairs/repair_catalog.h"
#include "gateway/call.h"
#include "gateway/db_json.h"
#include "gateway/json_util.h"
#include "gateway/query.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"

typedef struct {
    long long project_id, building_id, category_id, group_id; /* building, category: 0 any */
} rule_form_t;

static void check_create(gw_call_t *c)
{
    static const char *const known[] = {"project_id", "building_id", "category_id", "group_id", NULL};
    int present;
    rule_form_t *f = call_state_new_or_fail(c, 1, sizeof(rule_form_t), free);
    if (!f || json_known_fields_or_fail(c, c->body, known) != 0 ||
        json_int_or_fail(c, c->body, "project_id", 1, 1LL << 53, &f->project_id) != 0 ||
        json_opt_int_or_fail(c, c->body, "building_id", 0, 1LL << 53, &f->building_id, &present) != 0 ||
        json_opt_int_or_fail(c, c->body, "category_id", 0, 1LL << 53, &f->category_id, &present) != 0)
        return;
    json_int_or_fail(c, c->body, "group_id", 1, 1LL << 53, &f->group_id);
}

/* A rule as shown; building and category null for "any". */
#define RULE_SELECT                                                                                                    \
    "SELECT r.id, r.project_id, b.id AS `building.id`, b.name AS `building.name`, c.id AS `category.id`,"              \
    " c.code AS `category.code`, c.name AS `category.name`, g.id AS `group.id`, g.name AS `group.name`"                \
    " FROM repair_dispatch_rules r JOIN repair_engineer_groups g ON g.id = r.group_id"                                 \
    " LEFT JOIN buildings b ON b.id = r.building_id LEFT JOIN repair_categories c ON c.id = r.category_id"

/* Filters (each twice; 0 = any), the cursor, the manager (twice), the limit. */
static const char *SQL_LIST = RULE_SELECT
    " WHERE (? = 0 OR r.project_id = ?) AND (? = 0 OR r.building_id = ?) AND (? = 0 OR r.category_id = ?)"
    " AND (? = 0 OR r.group_id = ?) AND r.id < ? AND " LEAD_MANAGES("r.project_id") " ORDER BY r.id DESC LIMIT ?";

static void list_rules(gw_call_t *c, db_conn_t *db)
{
    static const char *const keys[] = {"id"};
    long long project, building, category, group;
    page_t page;
    if (page_or_fail(c, 1, &page) != 0 || query_id_or_fail(c, "project", &project) != 0 ||
        query_id_or_fail(c, "building", &building) != 0 || query_id_or_fail(c, "category", &category) != 0 ||
        query_id_or_fail(c, "group", &group) != 0 ||
        (project && lead_manages_project_or_fail(c, db, project, "project") != 0))
        return;
    db_rows_t *r =
        db_query(db, SQL_LIST,
                 DB_ARGS(DB_INT(project), DB_INT(project), DB_INT(building), DB_INT(building), DB_INT(category),
                         DB_INT(category), DB_INT(group), DB_INT(group), DB_INT(page_key(&page, 0, PAGE_KEY_MAX)),
                         DB_INT(c->user.id), DB_INT(c->user.id), DB_INT(page.limit + 1)));
    if (!r) {
        call_fail_db(c);
        return;
    }
    page_respond(c, &page, r, NULL, NULL, keys);
    db_rows_free(r);
}

static const char *SQL_RULE = RULE_SELECT " WHERE r.id = ?";

/* 0 when `sql` (one row for a good value; parameters: the id, the project)
 * finds it, else -1 answered: 422 naming field, or the db error. */
static int belongs_or_fail(gw_call_t *c, db_conn_t *db, const char *sql, long long id, long long project,
                           const char *field, const char *what)
{
    long long one;
    int found = db_query_int(db, &one, sql, DB_ARGS(DB_INT(id), DB_INT(project)));
    if (found < 0)
        call_fail_db(c);
    else if (!found)
        call_fail(c, ERR_UNPROCESSABLE, field, "%s %lld is not one of project %lld's", what, id, project);
    return found > 0 ? 0 : -1;
}

static void create_rule(gw_call_t *c, db_conn_t *db)
{
    const rule_form_t *f = c->state;
    long long one;
    if (lead_manages_project_or_fail(c, db, f->project_id, "project_id") != 0)
        return;
    /* The project row, share-locked: the first change of its categories
     * (repair_catalog_own) moves its rules, and must see this one. */
    if (db_begin(db) != 0 || db_query_int(db, &one, "SELECT 1 FROM projects WHERE id = ? LOCK IN SHARE MODE",
                                          DB_ARGS(DB_INT(f->project_id))) != 1) {
        call_fail_db(c);
        return;
    }
    if ((f->building_id && belongs_or_fail(c, db, "SELECT 1 FROM buildings WHERE id = ? AND project_id = ?",
                                           f->building_id, f->project_id, "building_id", "building") != 0) ||
        (f->category_id &&
         belongs_or_fail(c, db,
                         "SELECT 1 FROM repair_categories WHERE id = ? AND project_id = " REPAIR_CATEGORY_SET("?"),
                         f->category_id, f->project_id, "category_id", "category") != 0) ||
        belongs_or_fail(c, db, "SELECT 1 FROM repair_engineer_groups WHERE id = ? AND project_id = ?", f->group_id,
                        f->project_id, "group_id", "group") != 0)
        return;
    if (db_exec(
            db,
            "INSERT INTO repair_dispatch_rules (project_id, building_id, category_id, group_id) VALUES (?, ?, ?, ?)",
            DB_ARGS(DB_INT(f->project_id), DB_INT(f->building_id), DB_INT(f->category_id), DB_INT(f->group_id))) != 0) {
        admin_unique_or_fail(c, db, -1, "category_id",
                             "the project already has a rule for this building and category; delete it first", NULL);
        return;
    }
    long long id = (long long)db_insert_id(db);
    admin_finish(c, db, 201, "dispatch_rule.create", "dispatch_rule", id, f->project_id, NULL,
                 admin_object_json(db, SQL_RULE, id, NULL), NULL);
}

static const admin_object_t RULE = {
    .lock_sql = "SELECT project_id FROM repair_dispatch_rules WHERE id = ? FOR UPDATE",
    .show_sql = RULE_SELECT " WHERE r.id = ?",
    .delete_sql = "DELETE FROM repair_dispatch_rules WHERE id = ?",
    .what = "dispatch rule",
    .action = "dispatch_rule.delete",
    .target_type = "dispatch_rule",
};

static void delete_rule(gw_call_t *c, db_conn_t *db)
{
    admin_delete(c, db, &RULE);
}

static const route_t routes[] = {
    {"GET", "/api/v1/admin/dispatch-rules", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_NONE, DB_STEP(list_rules)},
    {"POST", "/api/v1/admin/dispatch-rules", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_JSON, DB_STEP(create_rule),
     BODY_CHECK(check_create)},
    {"DELETE", "/api/v1/admin/dispatch-rules/:id", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_NONE, DB_STEP(delete_rule)},
};

void dispatch_rules_admin_register(void)
{
    ROUTES_REGISTER(routes);
}
