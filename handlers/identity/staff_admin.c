/* admin_staff.c: staff roles and user accounts (admin only).
 *
 *   POST   /api/v1/admin/staff {user_id, role, project_id}
 *   DELETE /api/v1/admin/staff {user_id, role, project_id}
 *   POST   /api/v1/admin/users/:id/disable {reason}
 *   POST   /api/v1/admin/users/:id/enable
 *
 * agent, engineer and supervisor are granted per project; admin is global
 * (project_id omitted or 0). Each change and its audit row commit together.
 * The change applies on the user's next request: roles are read per request.
 *
 * A revocation hands back, in its transaction, what the person held through
 * the role in that project: an engineer's open repair tickets go back to
 * dispatch (never to them again), an agent's open leads are assigned again;
 * the owners, the new engineers and agents (or the supervisors, when nobody
 * is left) are told through the outbox.
 *
 * A disabled user cannot log in and their tokens stop working (users.h:
 * at once through this process, within auth_cache_ms through others). An
 * admin cannot disable themselves or the last enabled admin. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/audit.h"
#include "gateway/call.h"
#include "gateway/json_util.h"
#include "gateway/log.h"
#include "gateway/roles.h"
#include "gateway/users.h"
#include "handlers/handlers.h"
#include "domain/leads/lead_assign.h"
#include "domain/repairs/repair_cache.h"
#include "domain/repairs/repair_dispatch.h"

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

/* {role, project_id} for the audit row; NULL when out of memory. */
static cJSON *audit_detail(const grant_t *g)
{
    cJSON *d = cJSON_CreateObject();
    if (d && (!cJSON_AddStringToObject(d, "role", g->role) ||
              !cJSON_AddNumberToObject(d, "project_id", (double)g->project_id))) {
        cJSON_Delete(d);
        d = NULL;
    }
    return d;
}

static int audit_grant(gw_call_t *c, const char *action, const grant_t *g, int tickets, int leads)
{
    cJSON *d = audit_detail(g);
    if (!d)
        return -1;
    if (tickets >= 0)
        cJSON_AddNumberToObject(d, "tickets_released", tickets);
    if (leads >= 0)
        cJSON_AddNumberToObject(d, "leads_released", leads);
    int rc = audit_write(c->db, c->user.id, action, "user", g->user_id, d);
    cJSON_Delete(d);
    return rc;
}

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
    if (created && audit_grant(c, "staff.grant", &g, -1, -1) != 0)
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

/* Locks the enabled admins' grant rows; how many there are besides
 * user_id, and whether user_id is one (*is_admin). -1 on a db error. */
static int other_enabled_admins(gw_call_t *c, long long user_id, int *is_admin)
{
    db_rows_t *r = db_query(c->db,
                            "SELECT r.user_id FROM staff_roles r JOIN users u ON u.id = r.user_id AND u.disabled = 0"
                            " WHERE r.role = 'admin' FOR UPDATE",
                            DB_NOARGS);
    if (!r)
        return -1;
    int others = 0;
    *is_admin = 0;
    for (int i = 0; i < r->nrows; i++) {
        if (db_get_int(r, i, "user_id") == user_id)
            *is_admin = 1;
        else
            others++;
    }
    db_rows_free(r);
    return others;
}

static void revoke(gw_call_t *c)
{
    grant_t g;
    long long *tickets = NULL;
    int ntickets = -1, nleads = -1;
    if (read_grant(c, &g) != 0)
        return;
    unsigned bit = role_from_name(g.role);
    /* The leads' round robin needs the project's cursor row; it is created
     * outside any transaction (lead_assign.h). */
    if (bit == ROLE_AGENT && lead_assign_create_cursor(c->db, g.project_id) != 0)
        goto DbError;
    if (db_begin(c->db) != 0)
        goto DbError;
    if (bit == ROLE_ADMIN) {
        /* Never remove the last admin: nobody could grant roles again. The
         * admin rows stay locked so two concurrent revocations cannot both
         * pass. */
        int is_admin, others = other_enabled_admins(c, g.user_id, &is_admin);
        if (others < 0)
            goto DbError;
        if (is_admin && others == 0) {
            db_rollback(c->db);
            call_fail(c, ERR_CONFLICT, "user_id", "cannot revoke the last admin");
            return;
        }
    }
    if (db_exec(c->db, "DELETE FROM staff_roles WHERE user_id = ? AND role = ? AND project_id = ?",
                DB_ARGS(DB_INT(g.user_id), DB_STR(g.role), DB_INT(g.project_id))) != 0)
        goto DbError;
    int removed = db_affected_rows(c->db) > 0;
    if (!removed) {
        db_rollback(c->db);
        call_fail(c, ERR_NOT_FOUND, NULL, "user %lld does not hold that role there", g.user_id);
        return;
    }
    /* The grant is gone in this transaction, so neither dispatch nor the
     * lead assignment can pick the same person again. */
    if (bit == ROLE_ENGINEER && (ntickets = repair_release_engineer(c->db, g.user_id, g.project_id, c->user.id, "admin",
                                                                    "engineer role revoked", &tickets)) < 0)
        goto DbError;
    if (bit == ROLE_AGENT && (nleads = lead_assign_release_agent(c->db, g.user_id, g.project_id, c->user.id)) < 0)
        goto DbError;
    if (audit_grant(c, "staff.revoke", &g, ntickets, nleads) != 0 || db_commit(c->db) != 0)
        goto DbError;
    users_changed(g.user_id);
    for (int i = 0; i < ntickets; i++)
        repair_cache_forget(tickets[i]);
    free(tickets);
    cJSON *d = grant_json(&g);
    cJSON_AddBoolToObject(d, "removed", 1);
    if (ntickets >= 0)
        cJSON_AddNumberToObject(d, "tickets_released", ntickets);
    if (nleads >= 0)
        cJSON_AddNumberToObject(d, "leads_released", nleads);
    call_ok(c, 200, d);
    return;
DbError:
    free(tickets);
    db_rollback(c->db);
    call_fail_db(c);
}

/* ---- disabling a user ---- */

static cJSON *user_status_json(long long id, int disabled, const char *reason, int changed)
{
    cJSON *d = cJSON_CreateObject();
    cJSON_AddNumberToObject(d, "user_id", (double)id);
    cJSON_AddBoolToObject(d, "disabled", disabled);
    json_add_string_or_null(d, "reason", reason);
    cJSON_AddBoolToObject(d, "changed", changed);
    return d;
}

/* 1 with the user's row locked, 0 with a 404 in the call, -1 db error. */
static int lock_user_or_fail(gw_call_t *c, long long id)
{
    long long disabled;
    int found =
        db_query_int(c->db, &disabled, "SELECT disabled FROM users WHERE id = ? FOR UPDATE", DB_ARGS(DB_INT(id)));
    if (found == 0)
        call_fail(c, ERR_NOT_FOUND, NULL, "user %lld does not exist", id);
    return found;
}

/* Disables (reason given) or enables (reason NULL) user id, with its audit
 * row, and answers. Only a change of state is written and audited. */
static void set_disabled(gw_call_t *c, long long id, const char *reason)
{
    int disable = reason != NULL;
    if (db_begin(c->db) != 0)
        goto DbError;
    int found = lock_user_or_fail(c, id);
    if (found < 0)
        goto DbError;
    if (found == 0)
        goto Refused;
    if (disable) {
        int is_admin, others = other_enabled_admins(c, id, &is_admin);
        if (others < 0)
            goto DbError;
        if (is_admin && others == 0) {
            call_fail(c, ERR_CONFLICT, NULL, "cannot disable the last admin");
            goto Refused;
        }
    }
    if (db_exec(c->db,
                disable ? "UPDATE users SET disabled = 1, disabled_at = NOW(3), disabled_reason = ?"
                          " WHERE id = ? AND disabled = 0"
                        : "UPDATE users SET disabled = 0, disabled_at = NULL, disabled_reason = ?"
                          " WHERE id = ? AND disabled = 1",
                DB_ARGS(DB_STR(reason), DB_INT(id))) != 0)
        goto DbError;
    int changed = db_affected_rows(c->db) > 0;
    if (changed) {
        cJSON *detail = disable ? cJSON_CreateObject() : NULL;
        if (disable && (!detail || !cJSON_AddStringToObject(detail, "reason", reason))) {
            cJSON_Delete(detail);
            goto DbError;
        }
        int rc = audit_write(c->db, c->user.id, disable ? "user.disable" : "user.enable", "user", id, detail);
        cJSON_Delete(detail);
        if (rc != 0)
            goto DbError;
    }
    if (db_commit(c->db) != 0)
        goto DbError;
    users_changed(id);
    if (changed)
        log_info("staff", "user %lld %s by %lld", id, disable ? "disabled" : "enabled", c->user.id);
    call_ok(c, 200, user_status_json(id, disable, reason, changed));
    return;
Refused: /* the call holds the answer */
    db_rollback(c->db);
    return;
DbError:
    db_rollback(c->db);
    call_fail_db(c);
}

static void disable_user(gw_call_t *c)
{
    long long id;
    const char *reason = json_string_or_fail(c, c->body, "reason", 1, 255);
    if (!reason || call_param_id(c, "id", &id) != 0)
        return;
    if (id == c->user.id) {
        call_fail(c, ERR_CONFLICT, NULL, "you cannot disable your own account");
        return;
    }
    set_disabled(c, id, reason);
}

static void enable_user(gw_call_t *c)
{
    long long id;
    if (call_param_id(c, "id", &id) == 0)
        set_disabled(c, id, NULL);
}

static const route_t routes[] = {
    {"POST", "/api/v1/admin/staff", ROLE_ADMIN, BODY_JSON, POOL_DB, grant},
    {"DELETE", "/api/v1/admin/staff", ROLE_ADMIN, BODY_JSON, POOL_DB, revoke},
    {"POST", "/api/v1/admin/users/:id/disable", ROLE_ADMIN, BODY_JSON, POOL_DB, disable_user},
    {"POST", "/api/v1/admin/users/:id/enable", ROLE_ADMIN, BODY_NONE, POOL_DB, enable_user},
};

void admin_staff_register(void)
{
    router_add(routes, sizeof(routes) / sizeof(routes[0]));
}
