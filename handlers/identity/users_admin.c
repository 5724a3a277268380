/* users_admin.c: disabling and enabling user accounts (admin only).
 *
 *   POST /api/v1/admin/users/:id/disable {reason}
 *   POST /api/v1/admin/users/:id/enable
 *
 * A disabled user cannot log in and their tokens stop working (users.h:
 * at once through this process, within auth_cache_ms through others). An
 * admin cannot disable themselves or the last enabled admin
 * (domain/identity/admin_guard.h). Only a change of state is written, and
 * it commits with its audit row. */
#include <stdlib.h>

#include "gateway/audit.h"
#include "gateway/call.h"
#include "gateway/json_util.h"
#include "gateway/log.h"
#include "gateway/roles.h"
#include "gateway/users.h"
#include "gateway/utf8.h"
#include "handlers/handlers.h"
#include "domain/identity/admin_guard.h"

#define REASON_MAX_CHARS 255 /* users.disabled_reason */

typedef struct {
    long long id;
    char reason[REASON_MAX_CHARS * 4 + 1];
} disable_t;

/* The reason, the path's id, and never oneself, on the loop. */
static void check_disable(gw_call_t *c)
{
    long long id;
    const char *reason = json_string_or_fail(c, c->body, "reason", 1, REASON_MAX_CHARS);
    if (!reason || call_param_id_or_fail(c, "id", &id) != 0)
        return;
    if (id == c->user.id) {
        call_fail(c, ERR_CONFLICT, NULL, "you cannot disable your own account");
        return;
    }
    disable_t *d = call_state_new_or_fail(c, 1, sizeof(*d), free);
    if (!d)
        return;
    d->id = id;
    utf8_copy(d->reason, sizeof(d->reason), reason);
}

static cJSON *user_status_json(long long id, int disabled, const char *reason, int changed)
{
    cJSON *d = cJSON_CreateObject();
    cJSON_AddNumberToObject(d, "user_id", (double)id);
    cJSON_AddBoolToObject(d, "disabled", disabled);
    json_add_string_or_null(d, "reason", reason);
    cJSON_AddBoolToObject(d, "changed", changed);
    return d;
}

/* 0 with the user's row locked; else -1 with 404 (or the database failure)
 * in the call. */
static int lock_user_or_fail(gw_call_t *c, db_conn_t *db, long long id)
{
    long long disabled;
    int found = db_query_int(db, &disabled, "SELECT disabled FROM users WHERE id = ? FOR UPDATE", DB_ARGS(DB_INT(id)));
    if (found < 0) {
        call_fail_db(c);
        return -1;
    }
    if (!found) {
        call_fail(c, ERR_NOT_FOUND, NULL, "user %lld does not exist", id);
        return -1;
    }
    return 0;
}

/* Disables (reason given) or enables (reason NULL) user id, with its audit
 * row, and answers. */
static void set_disabled(gw_call_t *c, db_conn_t *db, long long id, const char *reason)
{
    int disable = reason != NULL;
    if (db_begin(db) != 0)
        goto DbError;
    if (lock_user_or_fail(c, db, id) != 0)
        return;
    if (disable) {
        int is_admin, others = admin_guard_lock_others(db, id, &is_admin);
        if (others < 0)
            goto DbError;
        if (is_admin && others == 0) {
            call_fail(c, ERR_CONFLICT, NULL, "cannot disable the last admin");
            return;
        }
    }
    if (db_exec(db,
                disable ? "UPDATE users SET disabled = 1, disabled_at = NOW(3), disabled_reason = ?"
                          " WHERE id = ? AND disabled = 0"
                        : "UPDATE users SET disabled = 0, disabled_at = NULL, disabled_reason = ?"
                          " WHERE id = ? AND disabled = 1",
                DB_ARGS(DB_STR(reason), DB_INT(id))) != 0)
        goto DbError;
    int changed = db_affected_rows(db) > 0;
    if (changed) {
        cJSON *detail = disable ? cJSON_CreateObject() : NULL;
        if (disable && (!detail || !cJSON_AddStringToObject(detail, "reason", reason))) {
            cJSON_Delete(detail);
            goto DbError;
        }
        int rc = audit_write(db, c->user.id, disable ? "user.disable" : "user.enable", "user", id, detail);
        cJSON_Delete(detail);
        if (rc != 0)
            goto DbError;
    }
    if (db_commit(db) != 0)
        goto DbError;
    users_changed(id);
    if (changed)
        log_info("staff", "user %lld %s by %lld", id, disable ? "disabled" : "enabled", c->user.id);
    call_ok(c, 200, user_status_json(id, disable, reason, changed));
    return;
DbError:
    call_fail_db(c);
}

static void disable_user(gw_call_t *c, db_conn_t *db)
{
    const disable_t *d = c->state;
    set_disabled(c, db, d->id, d->reason);
}

static void enable_user(gw_call_t *c, db_conn_t *db)
{
    long long id;
    if (call_param_id_or_fail(c, "id", &id) == 0)
        set_disabled(c, db, id, NULL);
}

static const route_t routes[] = {
    {"POST", "/api/v1/admin/users/:id/disable", ROLE_ADMIN, BODY_JSON, DB_STEP(disable_user),
     BODY_CHECK(check_disable)},
    {"POST", "/api/v1/admin/users/:id/enable", ROLE_ADMIN, BODY_NONE, DB_STEP(enable_user)},
};

void users_admin_register(void)
{
    ROUTES_REGISTER(routes);
}
