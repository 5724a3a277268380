/* admin_staff.c: granting and revoking staff roles (admin only).
 *
 *   POST   /api/v1/admin/staff {user_id, role, project_id}
 *   DELETE /api/v1/admin/staff {user_id, role, project_id}
 *
 * agent, engineer and supervisor are granted per project; admin is global
 * (project_id omitted or 0). Each change and its audit row commit together.
 * The change applies on the user's next request: roles are read per request. */
#include <stdio.h>
#include <string.h>

#include "../gateway/call.h"
#include "../gateway/json_util.h"
#include "../gateway/roles.h"
#include "../gateway/users.h"
#include "handlers.h"

typedef struct {
    long long user_id, project_id;
    const char *role;
} grant_t;

/* Reads and checks the body; -1 with the call failed. */
static int read_grant(gw_call_t *c, grant_t *g)
{
    if (json_int_or_fail(c, c->body, "user_id", 1, 1LL << 53, &g->user_id) != 0)
        return -1;
    g->role = json_string_or_fail(c, c->body, "role", 1, 16);
    if (!g->role)
        return -1;
    unsigned bit = role_from_name(g->role);
    if (!(bit & ROLE_STAFF)) {
        call_fail(c, ERR_INVALID_FIELD, "role", "role must be agent, engineer, supervisor or admin");
        return -1;
    }
    int present = 0;
    g->project_id = 0;
    if (json_opt_int_or_fail(c, c->body, "project_id", 0, 1LL << 53, &g->project_id, &present) != 0)
        return -1;
    if (bit == ROLE_ADMIN && g->project_id != 0) {
        call_fail(c, ERR_INVALID_FIELD, "project_id", "admin is a global role; omit project_id");
        return -1;
    }
    if (bit != ROLE_ADMIN && g->project_id == 0) {
        call_fail(c, ERR_MISSING_FIELD, "project_id", "project_id is required for %s", g->role);
        return -1;
    }
    return 0;
}

/* 1 exists, 0 not (call failed with 404 naming the field), -1 db error. */
static int exists_or_fail(gw_call_t *c, const char *sql, long long id, const char *field)
{
    long long one;
    int found = db_query_int(c->db, &one, sql, DB_ARGS(DB_INT(id)));
    if (found < 0)
        return -1;
    if (!found)
        call_fail(c, ERR_NOT_FOUND, field, "%s %lld does not exist", field, id);
    return found;
}

static const char *SQL_AUDIT =
    "INSERT INTO audit_log (actor_user_id, action, target_type, target_id, detail)"
    " VALUES (?, ?, 'user', ?, JSON_OBJECT('role', ?, 'project_id', ?))";

static cJSON *grant_json(const grant_t *g)
{
    cJSON *d = cJSON_CreateObject();
    cJSON_AddNumberToObject(d, "user_id", (double)g->user_id);
    cJSON_AddStringToObject(d, "role", g->role);
    if (g->project_id)
        cJSON_AddNumberToObject(d, "project_id", (double)g->project_id);
    else
        cJSON_AddNullToObject(d, "project_id");
    return d;
}

static void grant(gw_call_t *c)
{
    grant_t g;
    if (read_grant(c, &g) != 0)
        return;
    int ok = exists_or_fail(c, "SELECT 1 FROM users WHERE id = ?", g.user_id, "user_id");
    if (ok == 1 && g.project_id)
        ok = exists_or_fail(c, "SELECT 1 FROM projects WHERE id = ?", g.project_id, "project_id");
    if (ok < 0)
        goto DbError;
    if (ok == 0)
        return;
    if (db_begin(c->db) != 0 ||
        db_exec(c->db, "INSERT IGNORE INTO staff_roles (user_id, role, project_id, granted_by) VALUES (?, ?, ?, ?)",
                DB_ARGS(DB_INT(g.user_id), DB_STR(g.role), DB_INT(g.project_id), DB_INT(c->user.id))) != 0)
        goto DbError;
    int created = db_affected_rows(c->db) > 0;
    if (created && db_exec(c->db, SQL_AUDIT,
                           DB_ARGS(DB_INT(c->user.id), DB_STR("staff.grant"), DB_INT(g.user_id), DB_STR(g.role),
                                   DB_INT(g.project_id))) != 0)
        goto DbError;
    if (db_commit(c->db) != 0)
        goto DbError;
    users_changed(g.user_id);
    cJSON *d = grant_json(&g);
    cJSON_AddBoolToObject(d, "created", created);
    call_ok(c, created ? 201 : 200, d);
    return;
DbError:
    db_rollback(c->db);
    call_fail_db(c);
}

static void revoke(gw_call_t *c)
{
    grant_t g;
    if (read_grant(c, &g) != 0)
        return;
    if (db_begin(c->db) != 0)
        goto DbError;
    if (!strcmp(g.role, "admin")) {
        /* Never remove the last admin: nobody could grant roles again. Lock
         * the admin rows so two concurrent revocations cannot both pass. */
        db_rows_t *r = db_query(c->db, "SELECT user_id FROM staff_roles WHERE role = 'admin' FOR UPDATE", DB_NOARGS);
        if (!r)
            goto DbError;
        int admins = r->nrows, is_admin = 0;
        for (int i = 0; i < r->nrows; i++)
            is_admin |= db_cell_int(r, i, 0) == g.user_id;
        db_rows_free(r);
        if (is_admin && admins <= 1) {
            db_rollback(c->db);
            call_fail(c, ERR_CONFLICT, "user_id", "cannot revoke the last admin");
            return;
        }
    }
    if (db_exec(c->db, "DELETE FROM staff_roles WHERE user_id = ? AND role = ? AND project_id = ?",
                DB_ARGS(DB_INT(g.user_id), DB_STR(g.role), DB_INT(g.project_id))) != 0)
        goto DbError;
    int removed = db_affected_rows(c->db) > 0;
    if (removed && db_exec(c->db, SQL_AUDIT,
                           DB_ARGS(DB_INT(c->user.id), DB_STR("staff.revoke"), DB_INT(g.user_id), DB_STR(g.role),
                                   DB_INT(g.project_id))) != 0)
        goto DbError;
    if (db_commit(c->db) != 0)
        goto DbError;
    users_changed(g.user_id);
    if (!removed) {
        call_fail(c, ERR_NOT_FOUND, NULL, "user %lld does not hold that role there", g.user_id);
        return;
    }
    cJSON *d = grant_json(&g);
    cJSON_AddBoolToObject(d, "removed", 1);
    call_ok(c, 200, d);
    return;
DbError:
    db_rollback(c->db);
    call_fail_db(c);
}

static const route_t routes[] = {
    {"POST", "/api/v1/admin/staff", ROLE_ADMIN, BODY_JSON, POOL_DB, grant},
    {"DELETE", "/api/v1/admin/staff", ROLE_ADMIN, BODY_JSON, POOL_DB, revoke},
};

void admin_staff_register(void)
{
    router_add(routes, sizeof(routes) / sizeof(routes[0]));
}
