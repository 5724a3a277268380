/* referrals_admin.c: the referrals of a project for staff, and correcting an
 * attribution.
 *
 *   GET  /api/v1/admin/referrals?project=&stage=&cursor=&limit=   supervisor (own projects), admin
 *   POST /api/v1/admin/referrals/:id/reassign {referrer_user_id, reason}
 *
 * The list (domain/leads/lead_lists.c, also the CSV export kind
 * `referrals`) shows what a supervisor needs to judge a reassignment: the
 * referrer and the referee (phones masked), the lead's agent and stage, and
 * the reward. Supervisors see the referrals of the projects they supervise
 * now (LEAD_MANAGES, read by the query itself), admins all of them.
 *
 * Supervisors of the referral's project and admins (roles read for that
 * project by the request); once the lead has been signed, admins only, so
 * that one supervisor cannot move a reward that is about to be paid. The
 * new referrer must be an active owner in the referral's own project, and
 * neither the referee nor the holder of the lead's phone; a refusal says
 * only that the user is not eligible, the same for every reason, so the
 * route cannot be used to find out who owns what. An unpaid reward moves
 * with the referral and goes back to pending (it must be approved again for
 * the new referrer); a paid one blocks the change. The change and its audit
 * row (referral.reassign: from, to, reason) commit together. */
#include <stdlib.h>
#include <string.h>

#include "domain/leads/lead_access.h"
#include "domain/leads/lead_lists.h"
#include "domain/leads/lead_rules.h"
#include "gateway/audit.h"
#include "gateway/call.h"
#include "gateway/json_util.h"
#include "gateway/log.h"
#include "gateway/roles.h"
#include "gateway/utf8.h"
#include "handlers/handlers.h"

/* ---- GET /admin/referrals ---- */

/* The list is domain/leads/lead_lists.c's (shared with its CSV export). */
static void list_admin_referrals(gw_call_t *c, db_conn_t *db)
{
    list_respond(c, db, &referral_admin_list);
}

/* ---- POST /admin/referrals/:id/reassign ---- */

static void check_reassign(gw_call_t *c)
{
    lead_reassign_check(c, "referrer_user_id");
}

typedef struct {
    long long referrer, referee, project_id, lead_id;
    int lead_signed; /* the lead has been signed (it may be cancelled since) */
} referral_row_t;

/* Locks the referral; 0 found and the caller may reassign it, -1 answered
 * (404; 403 for a supervisor once the lead is signed; a db error). */
static int lock_referral_or_fail(gw_call_t *c, db_conn_t *db, long long id, referral_row_t *out)
{
    db_rows_t *r = db_query(db,
                            "SELECT referrer_user_id, referee_user_id, project_id, lead_id FROM referrals"
                            " WHERE id = ? FOR UPDATE",
                            DB_ARGS(DB_INT(id)));
    if (!r) {
        call_fail_db(c);
        return -1;
    }
    int found = r->nrows == 1;
    if (found) {
        out->referrer = db_get_int(r, 0, "referrer_user_id");
        out->referee = db_get_int(r, 0, "referee_user_id");
        out->project_id = db_get_int(r, 0, "project_id");
        out->lead_id = db_get_int(r, 0, "lead_id");
    }
    db_rows_free(r);
    unsigned roles;
    if (lead_access_or_fail(c, db, found, out->project_id, ROLE_SUPERVISOR | ROLE_ADMIN, "referral", id, &roles) != 0)
        return -1;
    /* A plain read: a stage change locks the lead before its referral, so
     * this transaction, holding the referral, must not wait for the lead. */
    long long signed_ = 0;
    if (db_query_int(db, &signed_, "SELECT signed_at IS NOT NULL FROM leads WHERE id = ?",
                     DB_ARGS(DB_INT(out->lead_id))) < 0) {
        call_fail_db(c);
        return -1;
    }
    out->lead_signed = signed_ != 0;
    if (out->lead_signed && !(roles & ROLE_ADMIN)) {
        call_fail(c, ERR_FORBIDDEN, NULL, "the referral's lead has been signed; only an admin can reassign it now");
        return -1;
    }
    return 0;
}

/* Whether `to` may be the referral's referrer: an active owner in the
 * referral's project who is neither the referee nor the holder of the
 * lead's phone. */
static const char *SQL_ELIGIBLE =
    "SELECT 1 FROM users u"
    " WHERE u.id = ? AND u.disabled = 0 AND u.id <> ?"
    " AND EXISTS (SELECT 1 FROM owners o JOIN units un ON un.id = o.unit_id JOIN buildings b ON b.id = un.building_id"
    "             WHERE o.user_id = u.id AND b.project_id = ?)"
    " AND NOT (u.phone IS NOT NULL AND u.phone <=> (SELECT l.phone FROM leads l WHERE l.id = ?))";

/* 0 ok, -1 answered (refused, or a db error). */
static int new_referrer_or_fail(gw_call_t *c, db_conn_t *db, const referral_row_t *ref, long long to)
{
    if (to == ref->referrer) {
        call_fail(c, ERR_CONFLICT, "referrer_user_id", "user %lld is already the referrer", to);
        return -1;
    }
    long long one;
    int eligible =
        db_query_int(db, &one, SQL_ELIGIBLE,
                     DB_ARGS(DB_INT(to), DB_INT(ref->referee), DB_INT(ref->project_id), DB_INT(ref->lead_id)));
    if (eligible < 0)
        call_fail_db(c);
    else if (eligible == 0)
        call_fail(c, ERR_UNPROCESSABLE, "referrer_user_id",
                  "this user is not eligible: the referrer must be an owner in the referral's project, other than the "
                  "referee");
    return eligible > 0 ? 0 : -1;
}

/* 0 or -1. */
static int audit_reassign(gw_call_t *c, db_conn_t *db, long long id, const referral_row_t *ref, long long to,
                          const char *reason)
{
    cJSON *detail = cJSON_CreateObject();
    if (!detail)
        return -1;
    cJSON_AddNumberToObject(detail, "from", (double)ref->referrer);
    cJSON_AddNumberToObject(detail, "to", (double)to);
    cJSON_AddStringToObject(detail, "reason", reason);
    cJSON_AddNumberToObject(detail, "project_id", (double)ref->project_id);
    cJSON_AddBoolToObject(detail, "lead_signed", ref->lead_signed);
    int rc = audit_write(db, c->user.id, ref->project_id, "referral.reassign", "referral", id, detail);
    cJSON_Delete(detail);
    return rc;
}

/* A refusal leaves the transaction to the runner, which rolls it back. */
static void reassign(gw_call_t *c, db_conn_t *db)
{
    const lead_reassign_form_t *f = c->state;
    long long id;
    referral_row_t ref = {0};
    if (call_param_id_or_fail(c, "id", &id) != 0)
        return;
    if (db_begin(db) != 0)
        goto DbError;
    if (lock_referral_or_fail(c, db, id, &ref) != 0 || new_referrer_or_fail(c, db, &ref, f->to) != 0)
        return;
    db_rows_t *r =
        db_query(db, "SELECT status FROM referral_rewards WHERE referral_id = ? FOR UPDATE", DB_ARGS(DB_INT(id)));
    if (!r)
        goto DbError;
    char reward[16] = "";
    if (r->nrows == 1)
        utf8_copy(reward, sizeof(reward), db_get(r, 0, "status"));
    db_rows_free(r);
    if (!strcmp(reward, "paid") || !strcmp(reward, "clawback")) {
        call_fail(c, ERR_CONFLICT, NULL, "the reward is %s already; it cannot move to another referrer", reward);
        return;
    }
    if (db_exec(db, "UPDATE referrals SET referrer_user_id = ?, reassigned_at = NOW(3) WHERE id = ?",
                DB_ARGS(DB_INT(f->to), DB_INT(id))) != 0 ||
        db_exec(db,
                "UPDATE referral_rewards SET referrer_user_id = ?, status = 'pending', approved_by = NULL,"
                " approved_at = NULL WHERE referral_id = ? AND status IN ('pending', 'approved')",
                DB_ARGS(DB_INT(f->to), DB_INT(id))) != 0 ||
        audit_reassign(c, db, id, &ref, f->to, f->reason) != 0 || db_commit(db) != 0)
        goto DbError;
    log_info("referrals", "referral %lld reassigned from %lld to %lld by user %lld", id, ref.referrer, f->to,
             c->user.id);
    cJSON *d = cJSON_CreateObject();
    cJSON *o = cJSON_AddObjectToObject(d, "referral");
    cJSON_AddNumberToObject(o, "id", (double)id);
    cJSON_AddNumberToObject(o, "referrer_user_id", (double)f->to);
    cJSON_AddNumberToObject(o, "previous_referrer_user_id", (double)ref.referrer);
    cJSON_AddStringToObject(o, "reason", f->reason);
    if (*reward && strcmp(reward, "cancelled"))
        cJSON_AddStringToObject(d, "reward_status", "pending");
    else
        json_add_string_or_null(d, "reward_status", *reward ? reward : NULL);
    call_ok(c, 200, d);
    return;
DbError:
    call_fail_db(c);
}

static const route_t routes[] = {
    {"GET", "/api/v1/admin/referrals", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_NONE, DB_STEP(list_admin_referrals)},
    {"POST", "/api/v1/admin/referrals/:id/reassign", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_JSON, DB_STEP(reassign),
     BODY_CHECK(check_reassign)},
};

void referrals_admin_register(void)
{
    ROUTES_REGISTER(routes);
}
