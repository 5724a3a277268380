/* staff_admin.c: the staff directory, granting and revoking staff roles.
 *
 *   GET    /api/v1/admin/staff ?q=&phone=&role=&project=&limit=&cursor=   admin; supervisor: their projects' staff
 *   POST   /api/v1/admin/staff {user_id, role, project_id}                admin
 *   DELETE /api/v1/admin/staff {user_id, role, project_id}                admin
 *
 * The directory lists each user holding a staff role the caller may see (an
 * admin: every role; a supervisor: the roles in their projects), with those
 * roles by project and the phone masked. `phone` finds a user by their full
 * number, compared with the stored one, or by the masked number the
 * directory itself shows (138****1234): that tells the caller nothing the
 * list did not. Any other part of a number is refused, so that nobody can
 * enumerate the phones digit by digit.
 *
 * agent, engineer and supervisor are granted per project; admin is global
 * (project_id omitted or 0). Each change and its audit row commit together.
 * The change applies on the user's next request: roles are read per request.
 *
 * A revocation hands back, in its transaction, what the person held through
 * the role in that project: an engineer's open repair tickets go back to
 * dispatch (never to them again), an agent's open leads are assigned again;
 * the owners, the new engineers and agents (or the supervisors, when nobody
 * is left) are told through the outbox. The last enabled admin keeps the
 * role (domain/identity/admin_guard.h).
 *
 * Disabling and enabling accounts is users_admin.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/audit.h"
#include "gateway/call.h"
#include "gateway/db_json.h"
#include "gateway/json_util.h"
#include "gateway/log.h"
#include "gateway/query.h"
#include "gateway/roles.h"
#include "gateway/users.h"
#include "handlers/handlers.h"
#include "domain/identity/admin_guard.h"
#include "domain/identity/project_access.h"
#include "domain/identity/staff_list.h"
#include "domain/leads/lead_assign.h"
#include "domain/repairs/repair_cache.h"
#include "domain/repairs/repair_dispatch.h"

/* The body, checked. */
typedef struct {
    long long user_id, project_id; /* project_id 0 for admin */
    unsigned role_bit;
    const char *role; /* role_name(role_bit): static */
} grant_t;

/* The body of both routes, on the loop. */
static void check_grant(gw_call_t *c)
{
    long long user_id, project_id = 0;
    int present = 0;
    if (json_int_or_fail(c, c->body, "user_id", 1, 1LL << 53, &user_id) != 0)
        return;
    const char *role = json_string_or_fail(c, c->body, "role", 1, 16);
    if (!role)
        return;
    unsigned bit = role_from_name(role);
    if (!(bit & ROLE_STAFF)) {
        call_fail(c, ERR_INVALID_FIELD, "role", "role must be agent, engineer, supervisor, service or admin");
        return;
    }
    if (json_opt_int_or_fail(c, c->body, "project_id", 0, 1LL << 53, &project_id, &present) != 0)
        return;
    if (bit == ROLE_ADMIN && project_id != 0) {
        call_fail(c, ERR_INVALID_FIELD, "project_id", "admin is a global role; omit project_id");
        return;
    }
    if (bit != ROLE_ADMIN && project_id == 0) {
        call_fail(c, ERR_MISSING_FIELD, "project_id", "project_id is required for %s", role);
        return;
    }
    grant_t *g = call_state_new_or_fail(c, 1, sizeof(*g), free);
    if (!g)
        return;
    g->user_id = user_id;
    g->project_id = project_id;
    g->role_bit = bit;
    g->role = role_name(bit);
}

/* 0 when the row exists; else -1 with 404 naming the field (or the database
 * failure) in the call. */
static int exists_or_fail(gw_call_t *c, db_conn_t *db, const char *sql, long long id, const char *field)
{
    long long one;
    int found = db_query_int(db, &one, sql, DB_ARGS(DB_INT(id)));
    if (found < 0) {
        call_fail_db(c);
        return -1;
    }
    if (!found) {
        call_fail(c, ERR_NOT_FOUND, field, "%s %lld does not exist", field, id);
        return -1;
    }
    return 0;
}

/* The audit row: {role, project_id} and, on a revocation, what was handed
 * back (a count < 0 is left out). */
static int audit_grant(gw_call_t *c, db_conn_t *db, const char *action, const grant_t *g, int tickets, int leads)
{
    cJSON *d = cJSON_CreateObject();
    if (!d || !cJSON_AddStringToObject(d, "role", g->role) ||
        !cJSON_AddNumberToObject(d, "project_id", (double)g->project_id) ||
        (tickets >= 0 && !cJSON_AddNumberToObject(d, "tickets_released", tickets)) ||
        (leads >= 0 && !cJSON_AddNumberToObject(d, "leads_released", leads))) {
        cJSON_Delete(d);
        return -1;
    }
    int rc = audit_write(db, c->user.id, g->project_id, action, "user", g->user_id, d);
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

static void grant(gw_call_t *c, db_conn_t *db)
{
    const grant_t *g = c->state;
    if (exists_or_fail(c, db, "SELECT 1 FROM users WHERE id = ?", g->user_id, "user_id") != 0 ||
        (g->project_id &&
         exists_or_fail(c, db, "SELECT 1 FROM projects WHERE id = ?", g->project_id, "project_id") != 0))
        return;
    if (db_begin(db) != 0 ||
        db_exec(db, "INSERT IGNORE INTO staff_roles (user_id, role, project_id, granted_by) VALUES (?, ?, ?, ?)",
                DB_ARGS(DB_INT(g->user_id), DB_STR(g->role), DB_INT(g->project_id), DB_INT(c->user.id))) != 0)
        goto DbError;
    int created = db_affected_rows(db) > 0;
    if (created && audit_grant(c, db, "staff.grant", g, -1, -1) != 0)
        goto DbError;
    if (db_commit(db) != 0)
        goto DbError;
    users_changed(g->user_id);
    cJSON *d = grant_json(g);
    cJSON_AddBoolToObject(d, "created", created);
    call_ok(c, created ? 201 : 200, d);
    return;
DbError:
    call_fail_db(c);
}

static void revoke(gw_call_t *c, db_conn_t *db)
{
    const grant_t *g = c->state;
    long long *tickets = NULL;
    int ntickets = -1, nleads = -1;
    /* The leads' round robin needs the project's cursor row; it is created
     * outside any transaction (lead_assign.h). */
    if (g->role_bit == ROLE_AGENT && lead_assign_create_cursor(db, g->project_id) != 0)
        goto DbError;
    if (db_begin(db) != 0)
        goto DbError;
    if (g->role_bit == ROLE_ADMIN) {
        int is_admin, others = admin_guard_lock_others(db, g->user_id, &is_admin);
        if (others < 0)
            goto DbError;
        if (is_admin && others == 0) {
            call_fail(c, ERR_CONFLICT, "user_id", "cannot revoke the last admin");
            return;
        }
    }
    if (db_exec(db, "DELETE FROM staff_roles WHERE user_id = ? AND role = ? AND project_id = ?",
                DB_ARGS(DB_INT(g->user_id), DB_STR(g->role), DB_INT(g->project_id))) != 0)
        goto DbError;
    if (db_affected_rows(db) == 0) {
        call_fail(c, ERR_NOT_FOUND, NULL, "user %lld does not hold that role there", g->user_id);
        return;
    }
    /* The grant is gone in this transaction, so neither dispatch nor the
     * lead assignment can pick the same person again. */
    if (g->role_bit == ROLE_ENGINEER &&
        (ntickets = repair_release_engineer(db, g->user_id, g->project_id, c->user.id, "admin", "engineer role revoked",
                                            &tickets)) < 0)
        goto DbError;
    if (g->role_bit == ROLE_AGENT &&
        (nleads = lead_assign_release_agent(db, g->user_id, g->project_id, c->user.id)) < 0)
        goto DbError;
    if (audit_grant(c, db, "staff.revoke", g, ntickets, nleads) != 0 || db_commit(db) != 0)
        goto DbError;
    users_changed(g->user_id);
    for (int i = 0; i < ntickets; i++)
        repair_cache_forget(tickets[i]);
    free(tickets);
    cJSON *d = grant_json(g);
    cJSON_AddBoolToObject(d, "removed", 1);
    if (ntickets >= 0)
        cJSON_AddNumberToObject(d, "tickets_released", ntickets);
    if (nleads >= 0)
        cJSON_AddNumberToObject(d, "leads_released", nleads);
    call_ok(c, 200, d);
    return;
DbError:
    free(tickets);
    call_fail_db(c);
}

/* ---- the directory ---- */

/* The list is shared with its CSV export (domain/identity/staff_list.h). */
static void list_staff(gw_call_t *c, db_conn_t *db)
{
    list_respond(c, db, &staff_admin_list);
}

static const route_t routes[] = {
    {"GET", "/api/v1/admin/staff", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_NONE, DB_STEP(list_staff)},
    {"POST", "/api/v1/admin/staff", ROLE_ADMIN, BODY_JSON, DB_STEP(grant), BODY_CHECK(check_grant)},
    {"DELETE", "/api/v1/admin/staff", ROLE_ADMIN, BODY_JSON, DB_STEP(revoke), BODY_CHECK(check_grant)},
};

void staff_admin_register(void)
{
    ROUTES_REGISTER(routes);
}
