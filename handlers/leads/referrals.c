/* referrals.c: referral touches and the referral lists.
 *
 *   POST /api/v1/referrals/touch {code, project_id?}   any: opened from a share
 *   GET  /api/v1/referrals                             the caller's referees (masked)
 *   GET  /api/v1/agent/referrals?project=              agent: referrals of the leads assigned to them
 *
 * A touch binds the caller (the referee) to the code's owner for
 * referral_protection_days, unless a binding by someone else still holds:
 * then the touch is recorded (referral_touches, outcome "recorded") and
 * answered 409 ALREADY_BOUND. At most one active binding per referee is a
 * unique key; touches for the same referee are serialised on the referee's
 * user row, so the second finds the first's binding. Rejected touches
 * (unknown code, self-referral, already a customer) change nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/call.h"
#include "gateway/config.h"
#include "gateway/json_util.h"
#include "gateway/log.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"
#include "domain/leads/lead_access.h"
#include "domain/leads/lead_json.h"
#include "domain/leads/lead_rules.h"

/* ---- POST /referrals/touch ---- */

typedef struct {
    long long code_id, referrer;
    char referrer_name[64];
    long long project_id; /* 0 when not given */
} touch_t;

/* The code's owner must still be an active owner (in the roster). */
static const char *SQL_CODE =
    "SELECT c.id, c.owner_user_id, u.phone,"
    " COALESCE((SELECT o.name FROM owners o WHERE o.user_id = u.id ORDER BY o.id LIMIT 1), u.display_name) AS name"
    " FROM referral_codes c JOIN users u ON u.id = c.owner_user_id"
    " WHERE c.code = ? AND c.status = 'active' AND u.disabled = 0"
    " AND EXISTS (SELECT 1 FROM owners o WHERE o.user_id = u.id)";

/* The caller is already a customer of the project: in its owner roster, or
 * an open lead there that its phone's holder verified (by phone or by
 * user). An unverified lead someone filed with the caller's phone does not
 * count: it must not keep a genuine referrer out. */
static const char *SQL_ALREADY_CUSTOMER =
    "SELECT EXISTS (SELECT 1 FROM owners o JOIN units un ON un.id = o.unit_id JOIN buildings b ON b.id = un.building_id"
    "               WHERE b.project_id = ? AND (o.phone = ? OR o.user_id = ?))"
    " OR EXISTS (SELECT 1 FROM leads l WHERE l.project_id = ? AND l.stage NOT IN ('lost', 'cancelled')"
    "            AND l.phone_verified = 1 AND (l.phone = ? OR l.user_id = ?))";

/* Checks the rules that reject a touch outright. 1 valid, 0 rejected (call
 * failed), -1 db error. */
static int check_touch(gw_call_t *c, const char *code, touch_t *t)
{
    db_rows_t *r = db_query(c->db, SQL_CODE, DB_ARGS(DB_STR(code)));
    if (!r)
        return -1;
    if (r->nrows == 0) {
        db_rows_free(r);
        call_fail(c, ERR_REFERRAL_CODE_UNKNOWN, "code", "%s is not an active referral code", code);
        return 0;
    }
    t->code_id = db_get_int(r, 0, "id");
    t->referrer = db_get_int(r, 0, "owner_user_id");
    const char *referrer_phone = db_get(r, 0, "phone");
    const char *name = db_get(r, 0, "name");
    lead_mask_name(name ? name : "", t->referrer_name, sizeof(t->referrer_name));
    int self =
        t->referrer == c->user.id || (referrer_phone && c->user.has_phone && !strcmp(referrer_phone, c->user.phone));
    db_rows_free(r);
    if (self) {
        call_fail(c, ERR_SELF_REFERRAL, "code", "this is your own referral code");
        return 0;
    }
    if (!t->project_id)
        return 1;
    long long v;
    int found = db_query_int(c->db, &v, "SELECT 1 FROM projects WHERE id = ?", DB_ARGS(DB_INT(t->project_id)));
    if (found <= 0) {
        if (found == 0)
            call_fail(c, ERR_NOT_FOUND, "project_id", "project %lld does not exist", t->project_id);
        return found;
    }
    const char *phone = c->user.has_phone ? c->user.phone : NULL;
    if (db_query_int(c->db, &v, SQL_ALREADY_CUSTOMER,
                     DB_ARGS(DB_INT(t->project_id), DB_STR(phone), DB_INT(c->user.id), DB_INT(t->project_id),
                             DB_STR(phone), DB_INT(c->user.id))) < 0)
        return -1;
    if (v) {
        call_fail(c, ERR_ALREADY_CUSTOMER, "project_id", "you are already a customer of this project");
        return 0;
    }
    return 1;
}

typedef enum { TOUCH_BOUND, TOUCH_SAME_REFERRER, TOUCH_RECORDED } touch_outcome_t;

static const char *const outcome_names[] = {"bound", "same_referrer", "recorded"};

static const char *SQL_BINDING =
    "SELECT id, referrer_user_id, UNIX_TIMESTAMP(expires_at) AS expires_at, expires_at > NOW(3) AS holds"
    " FROM referral_bindings WHERE active_referee = ? FOR UPDATE";

/* One attempt in one transaction. 0 committed (*outcome, *binding,
 * *expires set), -1 db error (the caller rolls back, maybe retries). */
static int bind(gw_call_t *c, const touch_t *t, touch_outcome_t *outcome, long long *binding, long long *expires)
{
    /* Touches for one referee queue on the referee's user row, so racing
     * touches do not deadlock on the bindings index; the unique key on the
     * active binding stays the guarantee. */
    long long me;
    if (db_begin(c->db) != 0 ||
        db_query_int(c->db, &me, "SELECT id FROM users WHERE id = ? FOR UPDATE", DB_ARGS(DB_INT(c->user.id))) < 0)
        return -1;
    db_rows_t *r = db_query(c->db, SQL_BINDING, DB_ARGS(DB_INT(c->user.id)));
    if (!r)
        return -1;
    int holds = r->nrows == 1 && db_get_int(r, 0, "holds");
    long long old = r->nrows == 1 ? db_get_int(r, 0, "id") : 0;
    if (holds) {
        *binding = old;
        *expires = db_get_int(r, 0, "expires_at");
        *outcome = db_get_int(r, 0, "referrer_user_id") == t->referrer ? TOUCH_SAME_REFERRER : TOUCH_RECORDED;
    }
    db_rows_free(r);
    if (!holds) {
        if (old && db_exec(c->db, "UPDATE referral_bindings SET status = 'expired' WHERE id = ? AND status = 'active'",
                           DB_ARGS(DB_INT(old))) != 0)
            return -1;
        if (db_exec(c->db,
                    "INSERT INTO referral_bindings (referee_user_id, referrer_user_id, code_id, expires_at)"
                    " VALUES (?, ?, ?, NOW(3) + INTERVAL ? DAY)",
                    DB_ARGS(DB_INT(c->user.id), DB_INT(t->referrer), DB_INT(t->code_id),
                            DB_INT(gw_cfg->referral_protection_days))) != 0)
            return -1;
        *binding = (long long)db_insert_id(c->db);
        *outcome = TOUCH_BOUND;
        if (db_query_int(c->db, expires, "SELECT UNIX_TIMESTAMP(expires_at) FROM referral_bindings WHERE id = ?",
                         DB_ARGS(DB_INT(*binding))) < 0)
            return -1;
    }
    if (db_exec(
            c->db,
            "INSERT INTO referral_touches (code_id, referrer_user_id, referee_user_id, project_id, outcome, binding_id)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            DB_ARGS(DB_INT(t->code_id), DB_INT(t->referrer), DB_INT(c->user.id),
                    t->project_id ? DB_INT(t->project_id) : DB_NULL, DB_STR(outcome_names[*outcome]),
                    DB_INT(*binding))) != 0)
        return -1;
    return db_commit(c->db);
}

static void touch(gw_call_t *c)
{
    touch_t t = {0};
    char code[REFERRAL_CODE_LEN + 1];
    const char *raw = json_string_or_fail(c, c->body, "code", 1, 64);
    if (!raw)
        return;
    int present;
    if (json_opt_int_or_fail(c, c->body, "project_id", 1, 1LL << 53, &t.project_id, &present) != 0)
        return;
    if (referral_code_normalise(raw, code, sizeof(code)) != 0) {
        call_fail(c, ERR_REFERRAL_CODE_UNKNOWN, "code", "this is not a referral code");
        return;
    }
    int ok = check_touch(c, code, &t);
    if (ok <= 0) {
        if (ok < 0)
            call_fail_db(c);
        return;
    }
    touch_outcome_t outcome = TOUCH_BOUND;
    long long binding = 0, expires = 0;
    for (int attempt = 1;; attempt++) {
        if (bind(c, &t, &outcome, &binding, &expires) == 0)
            break;
        db_rollback(c->db);
        unsigned e = db_errno(c->db);
        if (attempt < 3 && (e == DB_ER_DUP_ENTRY || e == DB_ER_LOCK_DEADLOCK))
            continue; /* a concurrent touch bound first: the retry sees it */
        call_fail_db(c);
        return;
    }
    log_info("referrals", "touch: referee %lld, referrer %lld: %s", c->user.id, t.referrer, outcome_names[outcome]);
    if (outcome == TOUCH_RECORDED) {
        call_fail(c, ERR_ALREADY_BOUND, "code",
                  "you are bound to another referrer until %lld; this touch was recorded but changes nothing", expires);
        return;
    }
    cJSON *d = cJSON_CreateObject();
    cJSON_AddBoolToObject(d, "bound", 1);
    cJSON_AddBoolToObject(d, "new_binding", outcome == TOUCH_BOUND);
    cJSON_AddStringToObject(d, "referrer_name", t.referrer_name);
    cJSON_AddNumberToObject(d, "expires_at", (double)expires);
    call_ok(c, outcome == TOUCH_BOUND ? 201 : 200, d);
}

/* ---- lists ---- */

static const char *SQL_MY_REFERRALS =
    "SELECT r.id, r.project_id, p.name AS project_name, l.name AS referee_name, l.phone AS referee_phone, r.stage,"
    " UNIX_TIMESTAMP(r.protection_expires_at) AS protection_expires_at, UNIX_TIMESTAMP(r.locked_at) AS locked_at,"
    " w.status AS reward_status, w.kind AS reward_kind, w.amount AS reward_amount"
    " FROM referrals r JOIN projects p ON p.id = r.project_id JOIN leads l ON l.id = r.lead_id"
    " LEFT JOIN referral_rewards w ON w.referral_id = r.id"
    " WHERE r.referrer_user_id = ? AND r.id < ? ORDER BY r.id DESC LIMIT ?";

/* The reward_* columns of row i as {status, kind, amount, amount_display},
 * or null. */
static cJSON *reward_json(const db_rows_t *r, int i)
{
    if (db_is_null(r, i, "reward_status"))
        return cJSON_CreateNull();
    cJSON *w = cJSON_CreateObject();
    lead_json_add_str(w, "status", r, i, "reward_status");
    lead_json_add_str(w, "kind", r, i, "reward_kind");
    lead_json_add_int(w, "amount", r, i, "reward_amount");
    char shown[32];
    reward_amount_display(db_get(r, i, "reward_kind"), db_get_int(r, i, "reward_amount"), shown, sizeof(shown));
    cJSON_AddStringToObject(w, "amount_display", shown);
    return w;
}

static void list_my_referrals(gw_call_t *c)
{
    long long before;
    int limit;
    if (lead_page_params(c, &before, &limit) != 0)
        return;
    db_rows_t *r = db_query(c->db, SQL_MY_REFERRALS, DB_ARGS(DB_INT(c->user.id), DB_INT(before), DB_INT(limit + 1)));
    if (!r) {
        call_fail_db(c);
        return;
    }
    cJSON *items = cJSON_CreateArray();
    for (int i = 0; i < lead_page_rows(r, limit); i++) {
        cJSON *o = cJSON_CreateObject();
        lead_json_add_int(o, "id", r, i, "id");
        cJSON *p = cJSON_AddObjectToObject(o, "project");
        lead_json_add_int(p, "id", r, i, "project_id");
        lead_json_add_str(p, "name", r, i, "project_name");
        lead_json_add_name_masked(o, "referee_name", r, i, "referee_name");
        lead_json_add_phone_masked(o, "referee_phone", r, i, "referee_phone");
        lead_json_add_str(o, "stage", r, i, "stage");
        cJSON_AddStringToObject(o, "stage_label", lead_stage_label(lead_stage_from_name(db_get(r, i, "stage"))));
        lead_json_add_int(o, "protection_expires_at", r, i, "protection_expires_at");
        lead_json_add_int(o, "locked_at", r, i, "locked_at");
        cJSON_AddItemToObject(o, "reward", reward_json(r, i));
        cJSON_AddItemToArray(items, o);
    }
    lead_page_respond(c, items, limit, r, "id");
    db_rows_free(r);
}

/* Referrals of the leads assigned to the caller, in the projects where the
 * caller holds the agent role now: a colleague's clients stay hidden. The
 * referee's phone is masked here; the lead itself shows it to its agent. */
static const char *SQL_AGENT_REFERRALS =
    "SELECT r.id, r.project_id, p.name AS project_name, r.lead_id, l.name AS referee_name, l.phone AS referee_phone,"
    " r.referrer_user_id, ru.display_name AS referrer_name, r.stage,"
    " UNIX_TIMESTAMP(r.protection_expires_at) AS protection_expires_at, UNIX_TIMESTAMP(r.locked_at) AS locked_at,"
    " w.status AS reward_status, w.kind AS reward_kind, w.amount AS reward_amount"
    " FROM referrals r JOIN projects p ON p.id = r.project_id JOIN leads l ON l.id = r.lead_id"
    " JOIN users ru ON ru.id = r.referrer_user_id LEFT JOIN referral_rewards w ON w.referral_id = r.id"
    " WHERE " LEAD_OWN_AGENT("l") " AND (? = 0 OR r.project_id = ?) AND r.id < ? ORDER BY r.id DESC LIMIT ?";

static void list_agent_referrals(gw_call_t *c)
{
    long long before, project = 0;
    int limit;
    char buf[24];
    if (lead_page_params(c, &before, &limit) != 0)
        return;
    if (call_query(c, "project", buf, sizeof(buf)) && *buf) {
        char *end;
        project = strtoll(buf, &end, 10);
        if (*end || project <= 0) {
            call_fail(c, ERR_INVALID_FIELD, "project", "project must be a project id");
            return;
        }
    }
    db_rows_t *r =
        db_query(c->db, SQL_AGENT_REFERRALS,
                 DB_ARGS(DB_INT(c->user.id), DB_INT(project), DB_INT(project), DB_INT(before), DB_INT(limit + 1)));
    if (!r) {
        call_fail_db(c);
        return;
    }
    cJSON *items = cJSON_CreateArray();
    for (int i = 0; i < lead_page_rows(r, limit); i++) {
        cJSON *o = cJSON_CreateObject();
        lead_json_add_int(o, "id", r, i, "id");
        cJSON *p = cJSON_AddObjectToObject(o, "project");
        lead_json_add_int(p, "id", r, i, "project_id");
        lead_json_add_str(p, "name", r, i, "project_name");
        lead_json_add_int(o, "lead_id", r, i, "lead_id");
        lead_json_add_str(o, "referee_name", r, i, "referee_name");
        lead_json_add_phone_masked(o, "referee_phone", r, i, "referee_phone");
        cJSON_AddBoolToObject(o, "assigned_to_me", 1);
        cJSON *ref = cJSON_AddObjectToObject(o, "referrer");
        lead_json_add_int(ref, "user_id", r, i, "referrer_user_id");
        lead_json_add_str(ref, "name", r, i, "referrer_name");
        lead_json_add_str(o, "stage", r, i, "stage");
        lead_json_add_int(o, "protection_expires_at", r, i, "protection_expires_at");
        lead_json_add_int(o, "locked_at", r, i, "locked_at");
        cJSON_AddItemToObject(o, "reward", reward_json(r, i));
        cJSON_AddItemToArray(items, o);
    }
    lead_page_respond(c, items, limit, r, "id");
    db_rows_free(r);
}

static const route_t routes[] = {
    {"POST", "/api/v1/referrals/touch", ROLE_ANY, BODY_JSON, POOL_DB, touch, RATE_REFERRAL},
    {"GET", "/api/v1/referrals", ROLE_ANY, BODY_NONE, POOL_DB, list_my_referrals},
    {"GET", "/api/v1/agent/referrals", ROLE_AGENT, BODY_NONE, POOL_DB, list_agent_referrals},
};

void referrals_register(void)
{
    router_add(routes, sizeof(routes) / sizeof(routes[0]));
}
