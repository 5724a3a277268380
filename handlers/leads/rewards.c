/* rewards.c: referral rewards for staff, and the reward rule of a project.
 *
 *   GET  /api/v1/admin/rewards?status=&project=   supervisor (own projects), admin
 *   POST /api/v1/admin/rewards/:id/approve        pending -> approved; reward.approved to the referrer
 *   POST /api/v1/admin/rewards/:id/pay            approved -> paid, by someone other than the approver
 *   PUT  /api/v1/admin/projects/:id/reward-rule   admin: {kind, amount, active, description}
 *
 * Rewards are created by the stage change to signed (referral_attribution.c),
 * once per referral. Each transition is a conditional update on the current
 * status, written with its audit row (and event) in one transaction. The
 * caller's roles are read for the reward's project by the request
 * (lead_access.h). Money needs two people: whoever approved a reward cannot
 * record its payment, and nobody approves or pays their own reward. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/audit.h"
#include "gateway/call.h"
#include "gateway/events.h"
#include "gateway/json_util.h"
#include "gateway/log.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"
#include "domain/leads/lead_access.h"
#include "domain/leads/lead_json.h"
#include "domain/leads/lead_rules.h"

/* ---- GET /admin/rewards ---- */

static const char *SQL_REWARDS =
    "SELECT w.id, w.referral_id, w.project_id, p.name AS project_name, w.referrer_user_id,"
    " COALESCE((SELECT o.name FROM owners o WHERE o.user_id = w.referrer_user_id ORDER BY o.id LIMIT 1),"
    " ru.display_name) AS referrer_name, ru.phone AS referrer_phone, r.lead_id, w.kind, w.amount, w.status,"
    " w.cancel_reason, UNIX_TIMESTAMP(w.created_at) AS created_at, UNIX_TIMESTAMP(w.approved_at) AS approved_at,"
    " w.approved_by, UNIX_TIMESTAMP(w.paid_at) AS paid_at, w.paid_by, UNIX_TIMESTAMP(w.cancelled_at) AS cancelled_at"
    " FROM referral_rewards w JOIN referrals r ON r.id = w.referral_id JOIN projects p ON p.id = w.project_id"
    " JOIN users ru ON ru.id = w.referrer_user_id"
    " WHERE " LEAD_MANAGES(
        "w.project_id") " AND (? IS NULL OR w.status = ?) AND (? = 0 OR w.project_id = ?) AND w.id < ?"
                        " ORDER BY w.id DESC LIMIT ?";

static int valid_status(const char *s)
{
    static const char *const names[] = {"pending", "approved", "paid", "cancelled", "clawback"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (!strcmp(s, names[i]))
            return 1;
    return 0;
}

static cJSON *reward_item(const db_rows_t *r, int i)
{
    cJSON *o = cJSON_CreateObject();
    lead_json_add_int(o, "id", r, i, "id");
    lead_json_add_int(o, "referral_id", r, i, "referral_id");
    cJSON *p = cJSON_AddObjectToObject(o, "project");
    lead_json_add_int(p, "id", r, i, "project_id");
    lead_json_add_str(p, "name", r, i, "project_name");
    cJSON *ref = cJSON_AddObjectToObject(o, "referrer");
    lead_json_add_int(ref, "user_id", r, i, "referrer_user_id");
    lead_json_add_str(ref, "name", r, i, "referrer_name");
    lead_json_add_phone_masked(ref, "phone_masked", r, i, "referrer_phone");
    lead_json_add_int(o, "lead_id", r, i, "lead_id");
    lead_json_add_str(o, "kind", r, i, "kind");
    lead_json_add_int(o, "amount", r, i, "amount");
    char shown[32];
    reward_amount_display(db_get(r, i, "kind"), db_get_int(r, i, "amount"), shown, sizeof(shown));
    cJSON_AddStringToObject(o, "amount_display", shown);
    lead_json_add_str(o, "status", r, i, "status");
    lead_json_add_str(o, "cancel_reason", r, i, "cancel_reason");
    lead_json_add_int(o, "created_at", r, i, "created_at");
    lead_json_add_int(o, "approved_at", r, i, "approved_at");
    lead_json_add_int(o, "approved_by", r, i, "approved_by");
    lead_json_add_int(o, "paid_at", r, i, "paid_at");
    lead_json_add_int(o, "paid_by", r, i, "paid_by");
    lead_json_add_int(o, "cancelled_at", r, i, "cancelled_at");
    return o;
}

static void list_rewards(gw_call_t *c)
{
    long long before, project = 0;
    int limit;
    char status[16], buf[24];
    if (lead_page_params(c, &before, &limit) != 0)
        return;
    int has_status = call_query(c, "status", status, sizeof(status));
    if (has_status && !valid_status(status)) {
        call_fail(c, ERR_INVALID_FIELD, "status", "status must be pending, approved, paid, cancelled or clawback");
        return;
    }
    if (call_query(c, "project", buf, sizeof(buf)) && *buf) {
        char *end;
        project = strtoll(buf, &end, 10);
        if (*end || project <= 0) {
            call_fail(c, ERR_INVALID_FIELD, "project", "project must be a project id");
            return;
        }
    }
    const char *filter = has_status ? status : NULL;
    db_rows_t *r = db_query(c->db, SQL_REWARDS,
                            DB_ARGS(DB_INT(c->user.id), DB_INT(c->user.id), DB_STR(filter), DB_STR(filter),
                                    DB_INT(project), DB_INT(project), DB_INT(before), DB_INT(limit + 1)));
    lead_page_answer(c, r, limit, reward_item);
}

/* ---- approve / pay ---- */

typedef struct {
    char status[16], kind[16];
    long long project_id, referrer, referral_id, amount, approved_by;
} reward_row_t;

/* Locks the reward; 1 found and managed by the caller, 0 not (404), -1. */
static int lock_reward(gw_call_t *c, long long id, reward_row_t *w)
{
    db_rows_t *r = db_query(c->db,
                            "SELECT status, kind, project_id, referrer_user_id, referral_id, amount,"
                            " COALESCE(approved_by, 0) AS approved_by FROM referral_rewards WHERE id = ? FOR UPDATE",
                            DB_ARGS(DB_INT(id)));
    if (!r)
        return -1;
    int found = r->nrows == 1;
    if (found) {
        snprintf(w->status, sizeof(w->status), "%s", db_get(r, 0, "status"));
        snprintf(w->kind, sizeof(w->kind), "%s", db_get(r, 0, "kind"));
        w->project_id = db_get_int(r, 0, "project_id");
        w->referrer = db_get_int(r, 0, "referrer_user_id");
        w->referral_id = db_get_int(r, 0, "referral_id");
        w->amount = db_get_int(r, 0, "amount");
        w->approved_by = db_get_int(r, 0, "approved_by");
    }
    db_rows_free(r);
    return lead_access_or_404(c, found, w->project_id, ROLE_SUPERVISOR | ROLE_ADMIN, "reward", id, NULL);
}

static int emit_approved(gw_call_t *c, long long id, const reward_row_t *w)
{
    char name[LEAD_PROJECT_NAME_BYTES], shown[32];
    if (lead_project_name(c->db, w->project_id, name, sizeof(name)) != 0)
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
    int rc = events_emit(c->db, "reward.approved", w->referrer, "reward", id, p);
    cJSON_Delete(p);
    return rc;
}

static const char *SQL_APPROVE =
    "UPDATE referral_rewards SET status = 'approved', approved_by = ?, approved_at = NOW(3)"
    " WHERE id = ? AND status = 'pending' AND referrer_user_id <> ?";
static const char *SQL_PAY = "UPDATE referral_rewards SET status = 'paid', paid_by = ?, paid_at = NOW(3)"
                             " WHERE id = ? AND status = 'approved' AND approved_by <> ?";

/* 0 or -1. */
static int audit_move(gw_call_t *c, long long id, const reward_row_t *w, const char *action)
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
    int rc = audit_write(c->db, c->user.id, action, "reward", id, detail);
    cJSON_Delete(detail);
    return rc;
}

/* Who may not move this reward: its referrer, and for the payment its
 * approver. 1 refused (call failed: 403), 0 allowed. */
static int second_person_refused(gw_call_t *c, long long id, const reward_row_t *w, const char *to)
{
    if (w->referrer == c->user.id) {
        call_fail(c, ERR_FORBIDDEN, NULL, "reward %lld is your own; another supervisor or an admin must handle it", id);
        return 1;
    }
    if (!strcmp(to, "paid") && w->approved_by == c->user.id) {
        call_fail(c, ERR_FORBIDDEN, NULL,
                  "you approved reward %lld; its payment must be recorded by another supervisor or an admin", id);
        return 1;
    }
    return 0;
}

/* Moves a reward from `from` to `to`; approve also tells the referrer. sql
 * takes (the caller, the reward, the caller): its WHERE repeats the
 * second-person rule. */
static void move_reward(gw_call_t *c, const char *from, const char *to, const char *sql, const char *action)
{
    long long id;
    reward_row_t w = {0};
    if (call_param_id(c, "id", &id) != 0)
        return;
    if (db_begin(c->db) != 0)
        goto DbError;
    int ok = lock_reward(c, id, &w);
    if (ok < 0)
        goto DbError;
    if (!ok) {
        db_rollback(c->db);
        return;
    }
    if (strcmp(w.status, from)) {
        db_rollback(c->db);
        call_fail(c, ERR_CONFLICT, NULL, "reward %lld is %s; only a %s reward can become %s", id, w.status, from, to);
        return;
    }
    if (second_person_refused(c, id, &w, to)) {
        db_rollback(c->db);
        return;
    }
    if (db_exec(c->db, sql, DB_ARGS(DB_INT(c->user.id), DB_INT(id), DB_INT(c->user.id))) != 0)
        goto DbError;
    if (db_affected_rows(c->db) != 1) { /* cannot happen under the row lock */
        db_rollback(c->db);
        call_fail(c, ERR_CONFLICT, NULL, "reward %lld changed meanwhile; reload it", id);
        return;
    }
    if (!strcmp(to, "approved") && emit_approved(c, id, &w) != 0)
        goto DbError;
    if (audit_move(c, id, &w, action) != 0 || db_commit(c->db) != 0)
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
    db_rollback(c->db);
    call_fail_db(c);
}

static void approve(gw_call_t *c)
{
    move_reward(c, "pending", "approved", SQL_APPROVE, "reward.approve");
}

static void pay(gw_call_t *c)
{
    move_reward(c, "approved", "paid", SQL_PAY, "reward.pay");
}

/* ---- PUT /admin/projects/:id/reward-rule ---- */

static const char *SQL_UPSERT_RULE =
    "INSERT INTO reward_rules (project_id, kind, amount, active, description) VALUES (?, ?, ?, ?, ?)"
    " ON DUPLICATE KEY UPDATE kind = VALUES(kind), amount = VALUES(amount), active = VALUES(active),"
    " description = VALUES(description)";

static void put_rule(gw_call_t *c)
{
    long long project, amount;
    const char *description = NULL;
    cJSON *detail = NULL;
    int active = 1;
    if (call_param_id(c, "id", &project) != 0)
        return;
    const char *kind = json_string_or_fail(c, c->body, "kind", 1, 16);
    if (!kind)
        return;
    if (strcmp(kind, "cash") && strcmp(kind, "points")) {
        call_fail(c, ERR_INVALID_FIELD, "kind", "kind must be cash or points");
        return;
    }
    if (json_int_or_fail(c, c->body, "amount", 1, 100000000000LL, &amount) != 0 ||
        json_opt_string_or_fail(c, c->body, "description", 0, 100, &description) != 0)
        return;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(c->body, "active");
    if (a && !cJSON_IsNull(a) && json_bool_or_fail(c, c->body, "active", &active) != 0)
        return;
    long long one;
    unsigned roles;
    int found = db_query_int(c->db, &one, "SELECT 1 FROM projects WHERE id = ?", DB_ARGS(DB_INT(project)));
    if (found < 0 || lead_project_roles(c->db, c->user.id, project, &roles) != 0)
        goto DbError;
    if (!found) {
        call_fail(c, ERR_NOT_FOUND, NULL, "project %lld not found", project);
        return;
    }
    if (!(roles & ROLE_ADMIN)) {
        call_fail(c, ERR_FORBIDDEN, NULL, "only an admin can set a reward rule");
        return;
    }
    detail = cJSON_CreateObject();
    if (!detail) {
        call_fail(c, ERR_INTERNAL, NULL, NULL);
        return;
    }
    cJSON_AddStringToObject(detail, "kind", kind);
    cJSON_AddNumberToObject(detail, "amount", (double)amount);
    cJSON_AddBoolToObject(detail, "active", active);
    if (db_begin(c->db) != 0 ||
        db_exec(c->db, SQL_UPSERT_RULE,
                DB_ARGS(DB_INT(project), DB_STR(kind), DB_INT(amount), DB_INT(active),
                        DB_STR(description ? description : ""))) != 0 ||
        audit_write(c->db, c->user.id, "reward_rule.set", "project", project, detail) != 0 || db_commit(c->db) != 0)
        goto DbError;
    cJSON_Delete(detail);
    char shown[32];
    reward_amount_display(kind, amount, shown, sizeof(shown));
    cJSON *d = cJSON_CreateObject();
    cJSON *o = cJSON_AddObjectToObject(d, "rule");
    cJSON_AddNumberToObject(o, "project_id", (double)project);
    cJSON_AddStringToObject(o, "kind", kind);
    cJSON_AddNumberToObject(o, "amount", (double)amount);
    cJSON_AddStringToObject(o, "amount_display", shown);
    cJSON_AddBoolToObject(o, "active", active);
    cJSON_AddStringToObject(o, "description", description ? description : "");
    call_ok(c, 200, d);
    return;
DbError:
    cJSON_Delete(detail);
    db_rollback(c->db);
    call_fail_db(c);
}

static const route_t routes[] = {
    {"GET", "/api/v1/admin/rewards", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_NONE, POOL_DB, list_rewards},
    {"POST", "/api/v1/admin/rewards/:id/approve", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_NONE, POOL_DB, approve},
    {"POST", "/api/v1/admin/rewards/:id/pay", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_NONE, POOL_DB, pay},
    {"PUT", "/api/v1/admin/projects/:id/reward-rule", ROLE_ADMIN, BODY_JSON, POOL_DB, put_rule},
};

void rewards_register(void)
{
    router_add(routes, sizeof(routes) / sizeof(routes[0]));
}
