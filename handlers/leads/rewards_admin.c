/* rewards_admin.c: referral rewards for staff.
 *
 *   GET  /api/v1/admin/rewards?status=&project=&cursor=&limit=   supervisor (own projects), admin
 *   POST /api/v1/admin/rewards/:id/approve        pending -> approved; reward.approved to the referrer
 *   POST /api/v1/admin/rewards/:id/pay            approved -> paid, by someone other than the approver
 *
 * Rewards are created by the stage change to signed (referral_attribution.c),
 * once per referral; a project's reward rule is set in
 * handlers/projects/projects_admin.c. Each transition is a conditional update
 * on the current status, written with its audit row (and event) in one
 * transaction. The caller's roles are read for the reward's project by the
 * request (lead_access.h). Money needs two people: whoever approved a reward
 * cannot record its payment, and nobody approves or pays their own reward. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "domain/leads/lead_access.h"
#include "domain/leads/lead_json.h"
#include "domain/leads/lead_lists.h"
#include "domain/leads/lead_rules.h"
#include "gateway/audit.h"
#include "gateway/call.h"
#include "gateway/db_json.h"
#include "gateway/events.h"
#include "gateway/log.h"
#include "gateway/query.h"
#include "gateway/roles.h"
#include "gateway/utf8.h"
#include "handlers/handlers.h"

/* ---- GET /admin/rewards ---- */

/* The list is shared with its CSV export (domain/leads/lead_lists.h). */
static void list_rewards(gw_call_t *c, db_conn_t *db)
{
    list_respond(c, db, &reward_admin_list);
}

/* ---- approve / pay ---- */

typedef struct {
    char status[16], kind[16];
    long long project_id, referrer, referral_id, amount, approved_by;
} reward_row_t;

/* Locks the reward; 0 found and managed by the caller, -1 answered (404,
 * or a db error). */
static int lock_reward_or_fail(gw_call_t *c, db_conn_t *db, long long id, reward_row_t *w)
{
    db_rows_t *r = db_query(db,
                            "SELECT status, kind, project_id, referrer_user_id, referral_id, amount,"
                            " COALESCE(approved_by, 0) AS approved_by FROM referral_rewards WHERE id = ? FOR UPDATE",
                            DB_ARGS(DB_INT(id)));
    if (!r) {
        call_fail_db(c);
        return -1;
    }
    int found = r->nrows == 1;
    if (found) {
        utf8_copy(w->status, sizeof(w->status), db_get(r, 0, "status"));
        utf8_copy(w->kind, sizeof(w->kind), db_get(r, 0, "kind"));
        w->project_id = db_get_int(r, 0, "project_id");
        w->referrer = db_get_int(r, 0, "referrer_user_id");
        w->referral_id = db_get_int(r, 0, "referral_id");
        w->amount = db_get_int(r, 0, "amount");
        w->approved_by = db_get_int(r, 0, "approved_by");
    }
    db_rows_free(r);
    return lead_access_or_fail(c, db, found, w->project_id, ROLE_SUPERVISOR | ROLE_ADMIN, "reward", id, NULL);
}

static int emit_approved(db_conn_t *db, long long id, const reward_row_t *w)
{
    char name[LEAD_PROJECT_NAME_BYTES], shown[32];
    if (lead_project_name(db, w->project_id, name, sizeof(name)) != 0)
        return -1;
    reward_amount_display(w->kind, w->amount, shown, sizeof(shown));
    cJSON *p = cJSON_CreateObject();
    if (!p)
        return -1;
    cJSON_AddNumberToObject(p, "reward_id", (double)id);
    cJSON_AddNumberToObject(p, "referral_id", (double)w->referral_id);
    cJSON_AddStringToObject(p, "project_name", name);
    cJSON_AddStringToObject(p, "kind", w->kind);
    /* amount is what the template's amount field shows: money for cash, the
     * bare number for points (reward_name then says they are points). */
    char amount[32], reward_name[48];
    if (!strcmp(w->kind, "cash"))
        snprintf(amount, sizeof(amount), "%s", shown);
    else
        snprintf(amount, sizeof(amount), "%lld", w->amount);
    snprintf(reward_name, sizeof(reward_name), "推荐奖励%s", !strcmp(w->kind, "cash") ? "" : shown);
    cJSON_AddStringToObject(p, "amount", amount);
    cJSON_AddNumberToObject(p, "amount_value", (double)w->amount);
    cJSON_AddStringToObject(p, "amount_display", shown);
    cJSON_AddStringToObject(p, "reward_name", reward_name);
    cJSON_AddNumberToObject(p, "approved_at", (double)time(NULL));
    int rc = events_emit(db, "reward.approved", w->referrer, "reward", id, p);
    cJSON_Delete(p);
    return rc;
}

static const char *SQL_APPROVE =
    "UPDATE referral_rewards SET status = 'approved', approved_by = ?, approved_at = NOW(3)"
    " WHERE id = ? AND status = 'pending' AND referrer_user_id <> ?";
static const char *SQL_PAY = "UPDATE referral_rewards SET status = 'paid', paid_by = ?, paid_at = NOW(3)"
                             " WHERE id = ? AND status = 'approved' AND approved_by <> ?";

/* 0 or -1. */
static int audit_move(gw_call_t *c, db_conn_t *db, long long id, const reward_row_t *w, const char *action)
{
    cJSON *detail = cJSON_CreateObject();
    if (!detail)
        return -1;
    cJSON_AddStringToObject(detail, "from", w->status);
    cJSON_AddStringToObject(detail, "kind", w->kind);
    cJSON_AddNumberToObject(detail, "amount", (double)w->amount);
    cJSON_AddNumberToObject(detail, "project_id", (double)w->project_id);
    if (w->approved_by)
        cJSON_AddNumberToObject(detail, "approved_by", (double)w->approved_by);
    int rc = audit_write(db, c->user.id, w->project_id, action, "reward", id, detail);
    cJSON_Delete(detail);
    return rc;
}

/* Who may not move this reward: its referrer, and for the payment its
 * approver. 0 allowed, -1 refused (call failed: 403). */
static int second_person_or_fail(gw_call_t *c, long long id, const reward_row_t *w, const char *to)
{
    if (w->referrer == c->user.id) {
        call_fail(c, ERR_FORBIDDEN, NULL, "reward %lld is your own; another supervisor or an admin must handle it", id);
        return -1;
    }
    if (!strcmp(to, "paid") && w->approved_by == c->user.id) {
        call_fail(c, ERR_FORBIDDEN, NULL,
                  "you approved reward %lld; its payment must be recorded by another supervisor or an admin", id);
        return -1;
    }
    return 0;
}

/* Moves a reward from `from` to `to`; approve also tells the referrer. sql
 * takes (the caller, the reward, the caller): its WHERE repeats the
 * second-person rule. A refusal leaves the transaction to the runner, which
 * rolls it back. */
static void move_reward(gw_call_t *c, db_conn_t *db, const char *from, const char *to, const char *sql,
                        const char *action)
{
    long long id;
    reward_row_t w = {0};
    if (call_param_id_or_fail(c, "id", &id) != 0)
        return;
    if (db_begin(db) != 0)
        goto DbError;
    if (lock_reward_or_fail(c, db, id, &w) != 0)
        return;
    if (strcmp(w.status, from)) {
        call_fail(c, ERR_CONFLICT, NULL, "reward %lld is %s; only a %s reward can become %s", id, w.status, from, to);
        return;
    }
    if (second_person_or_fail(c, id, &w, to) != 0)
        return;
    if (db_exec(db, sql, DB_ARGS(DB_INT(c->user.id), DB_INT(id), DB_INT(c->user.id))) != 0)
        goto DbError;
    if (db_affected_rows(db) != 1) { /* cannot happen under the row lock */
        call_fail(c, ERR_CONFLICT, NULL, "reward %lld changed meanwhile; reload it", id);
        return;
    }
    if (!strcmp(to, "approved") && emit_approved(db, id, &w) != 0)
        goto DbError;
    if (audit_move(c, db, id, &w, action) != 0 || db_commit(db) != 0)
        goto DbError;
    log_info("rewards", "reward %lld: %s -> %s by user %lld", id, from, to, c->user.id);
    cJSON *d = cJSON_CreateObject();
    cJSON *o = cJSON_AddObjectToObject(d, "reward");
    cJSON_AddNumberToObject(o, "id", (double)id);
    cJSON_AddNumberToObject(o, "referral_id", (double)w.referral_id);
    cJSON_AddStringToObject(o, "status", to);
    cJSON_AddStringToObject(o, "kind", w.kind);
    cJSON_AddNumberToObject(o, "amount", (double)w.amount);
    call_ok(c, 200, d);
    return;
DbError:
    call_fail_db(c);
}

static void approve(gw_call_t *c, db_conn_t *db)
{
    move_reward(c, db, "pending", "approved", SQL_APPROVE, "reward.approve");
}

static void pay(gw_call_t *c, db_conn_t *db)
{
    move_reward(c, db, "approved", "paid", SQL_PAY, "reward.pay");
}

static const route_t routes[] = {
    {"GET", "/api/v1/admin/rewards", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_NONE, DB_STEP(list_rewards)},
    {"POST", "/api/v1/admin/rewards/:id/approve", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_NONE, DB_STEP(approve)},
    {"POST", "/api/v1/admin/rewards/:id/pay", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_NONE, DB_STEP(pay)},
};

void rewards_admin_register(void)
{
    ROUTES_REGISTER(routes);
}
