/* referrals_admin.c: staff correcting an attribution.
 *
 *   POST /api/v1/admin/referrals/:id/reassign {referrer_user_id, reason}
 *
 * Supervisors of the referral's project and admins. The new referrer must be
 * an owner and must not be the referee. An unpaid reward moves with the
 * referral and goes back to pending (it must be approved again for the new
 * referrer); a paid one blocks the change. The change and its audit row
 * (referral.reassign: from, to, reason) commit together. */
#include <stdio.h>
#include <string.h>

#include "../gateway/call.h"
#include "../gateway/users.h"
#include "../gateway/json_util.h"
#include "../gateway/log.h"
#include "../gateway/roles.h"
#include "handlers.h"

typedef struct {
    long long referrer, referee, project_id, lead_id;
} referral_row_t;

/* Locks the referral; 1 found and the caller manages its project, 0 not
 * (404 set), -1 db error. */
static int lock_referral(gw_call_t *c, long long id, referral_row_t *out)
{
    db_rows_t *r = db_query(c->db,
                            "SELECT referrer_user_id, referee_user_id, project_id, lead_id FROM referrals"
                            " WHERE id = ? FOR UPDATE",
                            DB_ARGS(DB_INT(id)));
    if (!r)
        return -1;
    int found = r->nrows == 1;
    if (found) {
        out->referrer = db_cell_int(r, 0, 0);
        out->referee = db_cell_int(r, 0, 1);
        out->project_id = db_cell_int(r, 0, 2);
        out->lead_id = db_cell_int(r, 0, 3);
    }
    db_rows_free(r);
    if (found && !(c->user.roles & ROLE_ADMIN)) {
        found = users_has_project_role(c->db, c->user.id, "supervisor", out->project_id);
        if (found < 0)
            return -1;
    }
    if (!found)
        call_fail(c, ERR_NOT_FOUND, NULL, "referral %lld not found", id);
    return found;
}

/* The new referrer: an active owner who is neither the referee nor the
 * holder of the lead's phone. 1 ok, 0 refused (call failed), -1 db error. */
static int check_new_referrer(gw_call_t *c, const referral_row_t *ref, long long to)
{
    db_rows_t *r = db_query(c->db,
                            "SELECT u.disabled, EXISTS (SELECT 1 FROM owners o WHERE o.user_id = u.id),"
                            " u.phone IS NOT NULL AND u.phone = (SELECT phone FROM leads WHERE id = ?)"
                            " FROM users u WHERE u.id = ?",
                            DB_ARGS(DB_INT(ref->lead_id), DB_INT(to)));
    if (!r)
        return -1;
    int exists = r->nrows == 1 && db_cell_int(r, 0, 0) == 0;
    int owner = exists && db_cell_int(r, 0, 1);
    int has_lead_phone = exists && db_cell_int(r, 0, 2);
    db_rows_free(r);
    if (!exists)
        call_fail(c, ERR_NOT_FOUND, "referrer_user_id", "user %lld does not exist", to);
    else if (to == ref->referrer)
        call_fail(c, ERR_CONFLICT, "referrer_user_id", "user %lld is already the referrer", to);
    else if (to == ref->referee || has_lead_phone)
        call_fail(c, ERR_SELF_REFERRAL, "referrer_user_id", "user %lld is the referee", to);
    else if (!owner)
        call_fail(c, ERR_UNPROCESSABLE, "referrer_user_id", "user %lld is not an owner", to);
    else
        return 1;
    return 0;
}

static const char *SQL_AUDIT =
    "INSERT INTO audit_log (actor_user_id, action, target_type, target_id, detail)"
    " VALUES (?, 'referral.reassign', 'referral', ?, JSON_OBJECT('from', ?, 'to', ?, 'reason', ?))";

static void reassign(gw_call_t *c)
{
    long long id, to;
    referral_row_t ref;
    if (call_param_id(c, "id", &id) != 0 ||
        json_int_or_fail(c, c->body, "referrer_user_id", 1, 1LL << 53, &to) != 0)
        return;
    const char *reason = json_string_or_fail(c, c->body, "reason", 1, 255);
    if (!reason)
        return;
    if (db_begin(c->db) != 0)
        goto DbError;
    int ok = lock_referral(c, id, &ref);
    if (ok > 0)
        ok = check_new_referrer(c, &ref, to);
    if (ok < 0)
        goto DbError;
    if (!ok) {
        db_rollback(c->db);
        return;
    }
    db_rows_t *r = db_query(c->db, "SELECT status FROM referral_rewards WHERE referral_id = ? FOR UPDATE",
                            DB_ARGS(DB_INT(id)));
    if (!r)
        goto DbError;
    char reward[16] = "";
    if (r->nrows == 1)
        snprintf(reward, sizeof(reward), "%s", db_cell(r, 0, 0));
    db_rows_free(r);
    if (!strcmp(reward, "paid") || !strcmp(reward, "clawback")) {
        db_rollback(c->db);
        call_fail(c, ERR_CONFLICT, NULL, "the reward is %s already; it cannot move to another referrer", reward);
        return;
    }
    if (db_exec(c->db, "UPDATE referrals SET referrer_user_id = ?, reassigned_at = NOW(3) WHERE id = ?",
                DB_ARGS(DB_INT(to), DB_INT(id))) != 0 ||
        db_exec(c->db,
                "UPDATE referral_rewards SET referrer_user_id = ?, status = 'pending', approved_by = NULL,"
                " approved_at = NULL WHERE referral_id = ? AND status IN ('pending', 'approved')",
                DB_ARGS(DB_INT(to), DB_INT(id))) != 0 ||
        db_exec(c->db, SQL_AUDIT,
                DB_ARGS(DB_INT(c->user.id), DB_INT(id), DB_INT(ref.referrer), DB_INT(to), DB_STR(reason))) != 0 ||
        db_commit(c->db) != 0)
        goto DbError;
    log_info("referrals", "referral %lld reassigned from %lld to %lld by user %lld", id, ref.referrer, to, c->user.id);
    cJSON *d = cJSON_CreateObject();
    cJSON *o = cJSON_AddObjectToObject(d, "referral");
    cJSON_AddNumberToObject(o, "id", (double)id);
    cJSON_AddNumberToObject(o, "referrer_user_id", (double)to);
    cJSON_AddNumberToObject(o, "previous_referrer_user_id", (double)ref.referrer);
    cJSON_AddStringToObject(o, "reason", reason);
    if (*reward && strcmp(reward, "cancelled"))
        cJSON_AddStringToObject(d, "reward_status", "pending");
    else
        json_add_string_or_null(d, "reward_status", *reward ? reward : NULL);
    call_ok(c, 200, d);
    return;
DbError:
    db_rollback(c->db);
    call_fail_db(c);
}

static const route_t routes[] = {
    {"POST", "/api/v1/admin/referrals/:id/reassign", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_JSON, POOL_DB, reassign},
};

void referrals_admin_register(void)
{
    router_add(routes, sizeof(routes) / sizeof(routes[0]));
}
