/* dispatch_groups_admin.c: a project's groups of engineers for dispatch.
 *
 *   GET   /api/v1/admin/dispatch-groups?project=&cursor=&limit=
 *   POST  /api/v1/admin/dispatch-groups               {project_id, name}
 *   PATCH /api/v1/admin/dispatch-groups/:id           {name}
 *   PUT   /api/v1/admin/dispatch-groups/:id/members   {user_ids: [...]}
 *   DELETE /api/v1/admin/dispatch-groups/:id
 *
 * A dispatch rule (dispatch_rules_admin.c) sends a building's or a
 * category's tickets to a group; dispatch picks among its members who hold
 * the engineer role in the project now (domain/repairs/repair_dispatch.c).
 * Members are set whole: each must hold the engineer role in the group's
 * project when the list is written (422 naming user_ids). A group's name is
 * unique in its project (409 DUPLICATE).
 *
 * Supervisors manage their projects' groups, admins every project's; a
 * group of a project the caller does not supervise is answered 404. Each
 * change and its audit row (dispatch_group.create, .update, .members,
 * .delete: the group before and after) commit together. A group that a
 * rule still names is not deleted (409): its tickets would lose their
 * route without anyone deciding where they go. */
#include <stdlib.h>
#include <string.h>

#include "domain/identity/admin_change.h"
#include "domain/leads/lead_access.h"
#include "gateway/call.h"
#include "gateway/db_json.h"
#include "gateway/json_util.h"
#include "gateway/query.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"

#define MEMBERS_MAX 100

/* The body of each route, checked on the loop. */
typedef struct {
    long long project_id;
    char name[64 * 4 + 1];
    long long user_ids[MEMBERS_MAX];
    int nusers;
} group_form_t;

static void check_create(gw_call_t *c)
{
    static const char *const known[] = {"project_id", "name", NULL};
    int present;
    group_form_t *f = call_state_new_or_fail(c, 1, sizeof(group_form_t), free);
    if (!f || json_known_fields_or_fail(c, c->body, known) != 0 ||
        json_int_or_fail(c, c->body, "project_id", 1, 1LL << 53, &f->project_id) != 0)
        return;
    json_trimmed_or_fail(c, c->body, "name", 1, 1, 64, f->name, sizeof(f->name), &present);
}

static void check_rename(gw_call_t *c)
{
    static const char *const known[] = {"name", NULL};
    int present;
    group_form_t *f = call_state_new_or_fail(c, 1, sizeof(group_form_t), free);
    if (!f || json_known_fields_or_fail(c, c->body, known) != 0)
        return;
    json_trimmed_or_fail(c, c->body, "name", 1, 1, 64, f->name, sizeof(f->name), &present);
}

static void check_members(gw_call_t *c)
{
    static const char *const known[] = {"user_ids", NULL};
    group_form_t *f = call_state_new_or_fail(c, 1, sizeof(group_form_t), free);
    if (!f || json_known_fields_or_fail(c, c->body, known) != 0)
        return;
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(c->body, "user_ids"), *v;
    if (!ids || cJSON_IsNull(ids)) {
        call_fail(c, ERR_MISSING_FIELD, "user_ids", "user_ids is required ([] empties the group)");
        return;
    }
    if (!cJSON_IsArray(ids) || cJSON_GetArraySize(ids) > MEMBERS_MAX) {
        call_fail(c, ERR_INVALID_FIELD, "user_ids", "user_ids must be an array of at most %d user ids", MEMBERS_MAX);
        return;
    }
    cJSON_ArrayForEach(v, ids)
    {
        double d = v->valuedouble;
        if (!cJSON_IsNumber(v) || d != (double)(long long)d || d < 1 || d > (double)(1LL << 53)) {
            call_fail(c, ERR_INVALID_FIELD, "user_ids", "user_ids must hold positive integer ids");
            return;
        }
        for (int i = 0; i < f->nusers; i++)
            if (f->user_ids[i] == (long long)d) {
                call_fail(c, ERR_INVALID_FIELD, "user_ids", "user %lld is listed twice", (long long)d);
                return;
            }
        f->user_ids[f->nusers++] = (long long)d;
    }
}

/* A group as shown: members as a JSON array text, parsed by group_item;
 * `engineer` false for a member who no longer holds the role (dispatch
 * skips them). */
#define GROUP_SELECT                                                                                                   \
    "SELECT g.id, g.project_id, g.name,"                                                                               \
    " (SELECT COALESCE(JSON_ARRAYAGG(JSON_OBJECT('id', m.user_id, 'name', u.display_name,"                             \
    "   'engineer', JSON_EXTRACT(IF(EXISTS (SELECT 1 FROM staff_roles s WHERE s.user_id = m.user_id"                   \
    "   AND s.project_id = g.project_id AND s.role = 'engineer'), 'true', 'false'), '$'))"                             \
    "   ORDER BY m.user_id), '[]')"                                                                                    \
    "  FROM repair_engineer_group_members m JOIN users u ON u.id = m.user_id WHERE m.group_id = g.id) AS members,"     \
    " (SELECT COUNT(*) FROM repair_dispatch_rules r WHERE r.group_id = g.id) AS rules"                                 \
    " FROM repair_engineer_groups g"

/* The row with its members as an array, ordered by user id. NULL when memory
 * runs out. */
static cJSON *group_item(const db_rows_t *r, int i, void *ud)
{
    (void)ud;
    cJSON *o = db_row_json(r, i);
    const char *text = db_get(r, i, "members");
    cJSON *members = cJSON_Parse(text ? text : "[]");
    if (!o || !members || !cJSON_ReplaceItemInObjectCaseSensitive(o, "members", members)) {
        cJSON_Delete(o);
        cJSON_Delete(members);
        return NULL;
    }
    return o;
}

/* Newest first; without a project, the groups of every project the caller
 * supervises (every project for an admin). */
static const char *SQL_LIST = GROUP_SELECT " WHERE (? = 0 OR g.project_id = ?) AND g.id < ?"
                                           " AND " LEAD_MANAGES("g.project_id") " ORDER BY g.id DESC LIMIT ?";

static void list_groups(gw_call_t *c, db_conn_t *db)
{
    static const char *const keys[] = {"id"};
    long long project;
    page_t page;
    if (page_or_fail(c, 1, &page) != 0 || query_id_or_fail(c, "project", &project) != 0 ||
        (project && lead_manages_project_or_fail(c, db, project, "project") != 0))
        return;
    db_rows_t *r = db_query(db, SQL_LIST,
                            DB_ARGS(DB_INT(project), DB_INT(project), DB_INT(page_key(&page, 0, PAGE_KEY_MAX)),
                                    DB_INT(c->user.id), DB_INT(c->user.id), DB_INT(page.limit + 1)));
    if (!r) {
        call_fail_db(c);
        return;
    }
    page_respond(c, &page, r, group_item, NULL, keys);
    db_rows_free(r);
}

static const char *SQL_GROUP = GROUP_SELECT " WHERE g.id = ?";

static const char *DUPLICATE_NAME = "the project already has a group of that name";

static void create_group(gw_call_t *c, db_conn_t *db)
{
    const group_form_t *f = c->state;
    if (lead_manages_project_or_fail(c, db, f->project_id, "project_id") != 0)
        return;
    if (db_begin(db) != 0) {
        call_fail_db(c);
        return;
    }
    if (db_exec(db, "INSERT INTO repair_engineer_groups (project_id, name) VALUES (?, ?)",
                DB_ARGS(DB_INT(f->project_id), DB_STR(f->name))) != 0) {
        admin_unique_or_fail(c, db, -1, "name", DUPLICATE_NAME, NULL);
        return;
    }
    long long id = (long long)db_insert_id(db);
    admin_finish(c, db, 201, "dispatch_group.create", "dispatch_group", id, f->project_id, NULL,
                 admin_object_json(db, SQL_GROUP, id, group_item), NULL);
}

/* Locks group :id (admin_lock_or_fail): 0 with the id, project and the
 * group as shown (*before, the caller frees), -1 answered. */
static int lock_group_or_fail(gw_call_t *c, db_conn_t *db, long long *id, long long *project, cJSON **before)
{
    *before = NULL;
    if (admin_lock_or_fail(c, db, "SELECT project_id FROM repair_engineer_groups WHERE id = ? FOR UPDATE",
                           "dispatch group", id, project) != 0)
        return -1;
    if (!(*before = admin_object_json(db, SQL_GROUP, *id, group_item))) {
        call_fail_db(c);
        return -1;
    }
    return 0;
}

static void rename_group(gw_call_t *c, db_conn_t *db)
{
    const group_form_t *f = c->state;
    long long id, project;
    cJSON *before;
    if (lock_group_or_fail(c, db, &id, &project, &before) != 0)
        return;
    if (db_exec(db, "UPDATE repair_engineer_groups SET name = ? WHERE id = ?", DB_ARGS(DB_STR(f->name), DB_INT(id))) !=
        0) {
        cJSON_Delete(before);
        admin_unique_or_fail(c, db, -1, "name", DUPLICATE_NAME, NULL);
        return;
    }
    admin_finish(c, db, 200, "dispatch_group.update", "dispatch_group", id, project, before,
                 admin_object_json(db, SQL_GROUP, id, group_item), NULL);
}

static void set_members(gw_call_t *c, db_conn_t *db)
{
    const group_form_t *f = c->state;
    long long id, project;
    cJSON *before;
    if (lock_group_or_fail(c, db, &id, &project, &before) != 0)
        return;
    int rc = 0;
    for (int i = 0; rc == 0 && i < f->nusers; i++)
        rc = admin_role_or_fail(c, db, f->user_ids[i], "engineer", project, "user_ids");
    if (rc == 0)
        rc = db_exec(db, "DELETE FROM repair_engineer_group_members WHERE group_id = ?", DB_ARGS(DB_INT(id))) ? -2 : 0;
    for (int i = 0; rc == 0 && i < f->nusers; i++)
        rc = db_exec(db, "INSERT INTO repair_engineer_group_members (group_id, user_id) VALUES (?, ?)",
                     DB_ARGS(DB_INT(id), DB_INT(f->user_ids[i])))
                 ? -2
                 : 0;
    if (rc != 0) {
        cJSON_Delete(before);
        if (rc == -2)
            call_fail_db(c);
        return;
    }
    admin_finish(c, db, 200, "dispatch_group.members", "dispatch_group", id, project, before,
                 admin_object_json(db, SQL_GROUP, id, group_item), NULL);
}

static void delete_group(gw_call_t *c, db_conn_t *db)
{
    long long id, project;
    cJSON *before;
    if (lock_group_or_fail(c, db, &id, &project, &before) != 0)
        return;
    /* The lock on the group holds back a rule being created for it (its
     * foreign key waits for this transaction), so the count stays true. */
    long long rules = 0;
    if (db_query_int(db, &rules, "SELECT COUNT(*) FROM repair_dispatch_rules WHERE group_id = ?", DB_ARGS(DB_INT(id))) <
        0) {
        cJSON_Delete(before);
        call_fail_db(c);
        return;
    }
    if (rules > 0) {
        cJSON_Delete(before);
        call_fail(c, ERR_CONFLICT, NULL, "%lld dispatch rule(s) send tickets to this group; delete them first", rules);
        return;
    }
    if (db_exec(db, "DELETE FROM repair_engineer_group_members WHERE group_id = ?", DB_ARGS(DB_INT(id))) != 0 ||
        db_exec(db, "DELETE FROM repair_engineer_groups WHERE id = ?", DB_ARGS(DB_INT(id))) != 0) {
        cJSON_Delete(before);
        call_fail_db(c);
        return;
    }
    admin_finish_delete(c, db, "dispatch_group.delete", "dispatch_group", id, project, before);
}

static const route_t routes[] = {
    {"GET", "/api/v1/admin/dispatch-groups", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_NONE, DB_STEP(list_groups)},
    {"POST", "/api/v1/admin/dispatch-groups", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_JSON, DB_STEP(create_group),
     BODY_CHECK(check_create)},
    {"PATCH", "/api/v1/admin/dispatch-groups/:id", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_JSON, DB_STEP(rename_group),
     BODY_CHECK(check_rename)},
    {"PUT", "/api/v1/admin/dispatch-groups/:id/members", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_JSON, DB_STEP(set_members),
     BODY_CHECK(check_members)},
    {"DELETE", "/api/v1/admin/dispatch-groups/:id", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_NONE, DB_STEP(delete_group)},
};

void dispatch_groups_admin_register(void)
{
    ROUTES_REGISTER(routes);
}
