/* dispatch_groups_admin.c: a project's groups of engineers for dispatch.
 *
 *   GET   /api/v1/admin/dispatch-groups?project=&cursor=&limit=
 *   POST  /api/v1/admin/dispatch-groups               {project_id, name}
 *   PATCH /api/v1/admin/dispatch-groups/:id           {name}
 *   PUT   /api/v1/admin/dispatch-groups/:id/members   {user_ids: [...]}
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
 * change and its audit row (dispatch_group.create, .update, .members: the
 * group before and after) commit together. */
#include <stdlib.h>
#include <string.h>

#include "domain/leads/lead_access.h"
#include "gateway/audit.h"
#include "gateway/call.h"
#include "gateway/db_json.h"
#include "gateway/json_util.h"
#include "gateway/query.h"
#include "gateway/roles.h"
#include "gateway/users.h"
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

/* The group as shown, or NULL (a db error, memory, or no such group). */
static cJSON *group_json(db_conn_t *db, long long id)
{
    db_rows_t *r = db_query(db, GROUP_SELECT " WHERE g.id = ?", DB_ARGS(DB_INT(id)));
    cJSON *o = r && r->nrows == 1 ? group_item(r, 0, NULL) : NULL;
    db_rows_free(r);
    return o;
}

/* A write that broke the per-project name key is 409, anything else the db
 * error. */
static void fail_write(gw_call_t *c, db_conn_t *db, const char *name)
{
    if (db_errno(db) == DB_ER_DUP_ENTRY)
        call_fail(c, ERR_DUPLICATE, "name", "the project already has a group named %s", name);
    else
        call_fail_db(c);
}

static void create_group(gw_call_t *c, db_conn_t *db)
{
    const group_form_t *f = c->state;
    if (lead_manages_project_or_fail(c, db, f->project_id, "project_id") != 0)
        return;
    cJSON *after = NULL;
    if (db_begin(db) != 0)
        goto DbError;
    if (db_exec(db, "INSERT INTO repair_engineer_groups (project_id, name) VALUES (?, ?)",
                DB_ARGS(DB_INT(f->project_id), DB_STR(f->name))) != 0) {
        fail_write(c, db, f->name);
        return;
    }
    long long id = (long long)db_insert_id(db);
    after = group_json(db, id);
    if (!after ||
        audit_change(db, c->user.id, "dispatch_group.create", "dispatch_group", id, f->project_id, NULL, after, NULL) !=
            0 ||
        db_commit(db) != 0)
        goto DbError;
    call_ok(c, 201, after);
    return;
DbError:
    cJSON_Delete(after);
    call_fail_db(c);
}

/* Locks group :id in a new transaction and checks that the caller manages
 * its project: 0 with the id, project and the group as shown (*before, the
 * caller frees), -1 answered (404 for a group the caller may not see). */
static int lock_group_or_fail(gw_call_t *c, db_conn_t *db, long long *id, long long *project, cJSON **before)
{
    *before = NULL;
    *project = 0;
    if (call_param_id_or_fail(c, "id", id) != 0)
        return -1;
    int found = db_begin(db) != 0
                    ? -1
                    : db_query_int(db, project, "SELECT project_id FROM repair_engineer_groups WHERE id = ? FOR UPDATE",
                                   DB_ARGS(DB_INT(*id)));
    if (found < 0) {
        call_fail_db(c);
        return -1;
    }
    if (lead_access_or_fail(c, db, found, *project, ROLE_SUPERVISOR | ROLE_ADMIN, "dispatch group", *id, NULL) != 0)
        return -1;
    if (!(*before = group_json(db, *id))) {
        call_fail_db(c);
        return -1;
    }
    return 0;
}

/* Writes the audit row and commits, then answers with the group after the
 * change. Takes before. */
static void finish_change(gw_call_t *c, db_conn_t *db, const char *action, long long id, long long project,
                          cJSON *before)
{
    cJSON *after = group_json(db, id);
    if (!after || audit_change(db, c->user.id, action, "dispatch_group", id, project, before, after, NULL) != 0 ||
        db_commit(db) != 0) {
        cJSON_Delete(before);
        cJSON_Delete(after);
        call_fail_db(c);
        return;
    }
    cJSON_Delete(before);
    call_ok(c, 200, after);
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
        fail_write(c, db, f->name);
        return;
    }
    finish_change(c, db, "dispatch_group.update", id, project, before);
}

/* 0 when every listed user holds the engineer role in project, else -1
 * answered (422 naming user_ids, or the db error). */
static int engineers_or_fail(gw_call_t *c, db_conn_t *db, const group_form_t *f, long long project)
{
    for (int i = 0; i < f->nusers; i++) {
        int rc = users_has_project_role(db, f->user_ids[i], "engineer", project);
        if (rc < 0) {
            call_fail_db(c);
            return -1;
        }
        if (rc == 0) {
            call_fail(c, ERR_UNPROCESSABLE, "user_ids", "user %lld is not an engineer of project %lld", f->user_ids[i],
                      project);
            return -1;
        }
    }
    return 0;
}

static void set_members(gw_call_t *c, db_conn_t *db)
{
    const group_form_t *f = c->state;
    long long id, project;
    cJSON *before;
    if (lock_group_or_fail(c, db, &id, &project, &before) != 0)
        return;
    if (engineers_or_fail(c, db, f, project) != 0) {
        cJSON_Delete(before);
        return;
    }
    int rc = db_exec(db, "DELETE FROM repair_engineer_group_members WHERE group_id = ?", DB_ARGS(DB_INT(id)));
    for (int i = 0; rc == 0 && i < f->nusers; i++)
        rc = db_exec(db, "INSERT INTO repair_engineer_group_members (group_id, user_id) VALUES (?, ?)",
                     DB_ARGS(DB_INT(id), DB_INT(f->user_ids[i])));
    if (rc != 0) {
        cJSON_Delete(before);
        call_fail_db(c);
        return;
    }
    finish_change(c, db, "dispatch_group.members", id, project, before);
}

static const route_t routes[] = {
    {"GET", "/api/v1/admin/dispatch-groups", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_NONE, DB_STEP(list_groups)},
    {"POST", "/api/v1/admin/dispatch-groups", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_JSON, DB_STEP(create_group),
     BODY_CHECK(check_create)},
    {"PATCH", "/api/v1/admin/dispatch-groups/:id", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_JSON, DB_STEP(rename_group),
     BODY_CHECK(check_rename)},
    {"PUT", "/api/v1/admin/dispatch-groups/:id/members", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_JSON, DB_STEP(set_members),
     BODY_CHECK(check_members)},
};

void dispatch_groups_admin_register(void)
{
    ROUTES_REGISTER(routes);
}
