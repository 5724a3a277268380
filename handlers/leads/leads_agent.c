/* leads_agent.c: agents working their leads.
 *
 *   GET  /api/v1/leads                    the caller's leads (masked phones)
 *   GET  /api/v1/leads/:id                one lead with follow-ups, stage history, assignments
 *   POST /api/v1/leads/:id/followups      {kind, note, next_at}   the lead's agent
 *   POST /api/v1/leads/:id/stage          {stage, reason}         the lead's agent, supervisor, admin
 *
 * Who may see or change a lead, decided by the roles held in the lead's
 * project at the time of the request (lead_access.h): its agent while they
 * still hold the agent role there, the project's supervisors, and admins.
 * Anyone else, another agent of the project included (撞单), gets 404. The
 * full phone is shown only to the lead's agent, on the detail view, and each
 * such view writes an audit_log row (lead.phone_viewed) before the phone
 * leaves the server. */
#include <string.h>
#include <time.h>

#include "gateway/audit.h"
#include "gateway/call.h"
#include "gateway/db_json.h"
#include "gateway/json_util.h"
#include "gateway/log.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"
#include "domain/leads/lead_access.h"
#include "domain/leads/lead_json.h"
#include "domain/leads/lead_rules.h"
#include "domain/leads/referral_attribution.h"

/* ---- access ---- */

typedef enum { ACCESS_NONE = 0, ACCESS_MANAGE, ACCESS_AGENT_OF_LEAD } lead_access_t;

/* The caller's relation to a lead of project_id assigned to agent. 0, or -1
 * after a db error. */
static int lead_access(gw_call_t *c, long long project_id, long long agent, lead_access_t *out)
{
    unsigned roles;
    if (lead_project_roles(c->db, c->user.id, project_id, &roles) != 0)
        return -1;
    if (agent == c->user.id && (roles & ROLE_AGENT))
        *out = ACCESS_AGENT_OF_LEAD;
    else if (roles & (ROLE_SUPERVISOR | ROLE_ADMIN))
        *out = ACCESS_MANAGE;
    else
        *out = ACCESS_NONE;
    return 0;
}

/* Locks the lead and checks the caller may change it: `need` is the least
 * access required. 1 ok, 0 refused (call failed: 404 when the caller cannot
 * see the lead, 403 when they can), -1 db error. */
static int lock_lead_for_change(gw_call_t *c, long long id, lead_access_t need, lead_locked_t *l)
{
    int found = lead_lock(c->db, id, l);
    lead_access_t a = ACCESS_NONE;
    if (found < 0 || (found && lead_access(c, l->project_id, l->agent, &a) != 0))
        return -1;
    if (a == ACCESS_NONE) {
        call_fail(c, ERR_NOT_FOUND, NULL, "lead %lld not found", id);
        return 0;
    }
    /* The lead's agent may do what a manager may, but not the reverse. */
    if (need == ACCESS_AGENT_OF_LEAD && a != ACCESS_AGENT_OF_LEAD) {
        call_fail(c, ERR_FORBIDDEN, NULL, "only the lead's agent can do this");
        return 0;
    }
    return 1;
}

/* ---- GET /leads ---- */

static const char *SQL_MY_LEADS =
    "SELECT " LEAD_HEAD_COLUMNS ", l.stage, l.channel,"
    " UNIX_TIMESTAMP(l.created_at) AS created_at, UNIX_TIMESTAMP(l.first_contact_due_at) AS first_contact_due_at,"
    " UNIX_TIMESTAMP(l.first_contacted_at) AS first_contacted_at,"
    " (SELECT UNIX_TIMESTAMP(f.next_at) FROM lead_followups f WHERE f.lead_id = l.id ORDER BY f.id DESC LIMIT 1)"
    " AS next_followup_at,"
    " l.contact_overdue_at IS NOT NULL AS contact_overdue, l.erased_at IS NOT NULL AS erased"
    " FROM leads l JOIN projects p ON p.id = l.project_id"
    " WHERE " LEAD_OWN_AGENT("l") " AND l.id < ? AND (? IS NULL OR l.stage = ?)"
                                  " ORDER BY l.id DESC LIMIT ?";

static void list_my_leads(gw_call_t *c)
{
    long long before;
    int limit;
    if (lead_page_params(c, &before, &limit) != 0)
        return;
    char stage[16];
    int has_stage = call_query(c, "stage", stage, sizeof(stage));
    if (has_stage && lead_stage_from_name(stage) == STAGE_INVALID) {
        call_fail(c, ERR_INVALID_FIELD, "stage",
                  "stage must be one of new, contacted, visited, subscribed, signed, lost, cancelled");
        return;
    }
    const char *filter = has_stage ? stage : NULL;
    db_rows_t *r =
        db_query(c->db, SQL_MY_LEADS,
                 DB_ARGS(DB_INT(c->user.id), DB_INT(before), DB_STR(filter), DB_STR(filter), DB_INT(limit + 1)));
    if (!r) {
        call_fail_db(c);
        return;
    }
    cJSON *items = cJSON_CreateArray();
    for (int i = 0; i < lead_page_rows(r, limit); i++) {
        cJSON *o = cJSON_CreateObject();
        lead_json_add_head(o, r, i);
        lead_json_add_str(o, "stage", r, i, "stage");
        lead_json_add_str(o, "channel", r, i, "channel");
        lead_json_add_int(o, "created_at", r, i, "created_at");
        lead_json_add_int(o, "first_contact_due_at", r, i, "first_contact_due_at");
        lead_json_add_int(o, "first_contacted_at", r, i, "first_contacted_at");
        lead_json_add_int(o, "next_followup_at", r, i, "next_followup_at");
        lead_json_add_bool(o, "contact_overdue", r, i, "contact_overdue");
        lead_json_add_bool(o, "erased", r, i, "erased");
        cJSON_AddItemToArray(items, o);
    }
    lead_page_respond(c, items, limit, r, "id");
    db_rows_free(r);
}

/* ---- GET /leads/:id ---- */

static const char *SQL_LEAD_DETAIL =
    "SELECT " LEAD_HEAD_COLUMNS ", l.stage, l.channel,"
    " COALESCE(l.agent_user_id, 0) AS agent_user_id, au.display_name AS agent_name, l.interest_layout,"
    " l.interest_area, l.interest_budget, l.note, l.submissions, UNIX_TIMESTAMP(l.created_at) AS created_at,"
    " UNIX_TIMESTAMP(l.first_contact_due_at) AS first_contact_due_at,"
    " UNIX_TIMESTAMP(l.first_contacted_at) AS first_contacted_at,"
    " UNIX_TIMESTAMP(l.contact_overdue_at) AS contact_overdue_at, l.stage_reason,"
    " UNIX_TIMESTAMP(l.consent_at) AS consent_at, l.privacy_notice_version, UNIX_TIMESTAMP(l.updated_at) AS updated_at,"
    " UNIX_TIMESTAMP(l.erased_at) AS erased_at"
    " FROM leads l JOIN projects p ON p.id = l.project_id LEFT JOIN users au ON au.id = l.agent_user_id"
    " WHERE l.id = ?";

static cJSON *detail_json(const db_rows_t *r, int show_phone)
{
    cJSON *o = cJSON_CreateObject();
    lead_json_add_head(o, r, 0);
    if (show_phone)
        lead_json_add_str(o, "phone", r, 0, "phone");
    else
        cJSON_AddNullToObject(o, "phone");
    lead_json_add_str(o, "stage", r, 0, "stage");
    lead_json_add_str(o, "stage_reason", r, 0, "stage_reason");
    lead_json_add_str(o, "channel", r, 0, "channel");
    lead_json_add_agent(o, r, 0);
    lead_json_add_interest(o, r, 0);
    lead_json_add_str(o, "note", r, 0, "note");
    lead_json_add_int(o, "submissions", r, 0, "submissions");
    lead_json_add_int(o, "created_at", r, 0, "created_at");
    lead_json_add_int(o, "first_contact_due_at", r, 0, "first_contact_due_at");
    lead_json_add_int(o, "first_contacted_at", r, 0, "first_contacted_at");
    lead_json_add_int(o, "contact_overdue_at", r, 0, "contact_overdue_at");
    lead_json_add_consent(o, r, 0);
    lead_json_add_int(o, "updated_at", r, 0, "updated_at");
    lead_json_add_int(o, "erased_at", r, 0, "erased_at");
    return o;
}

/* The lead's lists, each rendered as its SELECT names it (db_json.h);
 * one parameter, the lead's id. */
static const struct {
    const char *name, *sql;
} LEAD_CHILDREN[] = {
    {"followups", "SELECT id, agent_user_id, kind, note, FLOOR(UNIX_TIMESTAMP(next_at)) AS next_at,"
                  " FLOOR(UNIX_TIMESTAMP(created_at)) AS created_at FROM lead_followups WHERE lead_id = ? ORDER BY id "
                  "DESC LIMIT 50"},
    {"stage_history",
     "SELECT from_stage AS `from`, to_stage AS `to`, reason, actor_user_id, FLOOR(UNIX_TIMESTAMP(created_at)) AS at"
     " FROM lead_stage_history WHERE lead_id = ? ORDER BY id LIMIT 100"},
    {"assignments",
     "SELECT agent_user_id, method, from_agent_user_id, actor_user_id, reason, FLOOR(UNIX_TIMESTAMP(created_at)) AS at"
     " FROM lead_assignments WHERE lead_id = ? ORDER BY id LIMIT 100"},
};

static const char *SQL_LEAD_REFERRAL =
    "SELECT id, referrer_user_id, FLOOR(UNIX_TIMESTAMP(protection_expires_at)) AS protection_expires_at,"
    " FLOOR(UNIX_TIMESTAMP(locked_at)) AS locked_at FROM referrals WHERE lead_id = ?";

/* Adds followups, stage_history, assignments and referral (or null) to the
 * lead object. 0 or -1 (db error, or out of memory). */
static int add_lead_children(gw_call_t *c, long long id, cJSON *o)
{
    for (size_t k = 0; k < sizeof(LEAD_CHILDREN) / sizeof(LEAD_CHILDREN[0]); k++) {
        db_rows_t *r = db_query(c->db, LEAD_CHILDREN[k].sql, DB_ARGS(DB_INT(id)));
        cJSON *list = r ? db_rows_json(r, 0, r->nrows) : NULL;
        db_rows_free(r);
        if (!list)
            return -1;
        cJSON_AddItemToObject(o, LEAD_CHILDREN[k].name, list);
    }
    db_rows_t *r = db_query(c->db, SQL_LEAD_REFERRAL, DB_ARGS(DB_INT(id)));
    if (!r)
        return -1;
    cJSON *ref = r->nrows == 1 ? db_row_json(r, 0) : cJSON_CreateNull();
    db_rows_free(r);
    if (!ref)
        return -1;
    cJSON_AddItemToObject(o, "referral", ref);
    return 0;
}

/* The audit row of an unmasked view. 0 or -1. */
static int audit_phone_view(gw_call_t *c, long long id, long long project_id)
{
    cJSON *detail = cJSON_CreateObject();
    if (!detail)
        return -1;
    cJSON_AddNumberToObject(detail, "project_id", (double)project_id);
    cJSON_AddStringToObject(detail, "request_id", c->request_id);
    int rc = audit_write(c->db, c->user.id, "lead.phone_viewed", "lead", id, detail);
    cJSON_Delete(detail);
    return rc;
}

static void get_lead(gw_call_t *c)
{
    long long id;
    if (call_param_id(c, "id", &id) != 0)
        return;
    cJSON *o = NULL;
    db_rows_t *r = db_query(c->db, SQL_LEAD_DETAIL, DB_ARGS(DB_INT(id)));
    if (!r)
        goto DbError;
    lead_access_t a = ACCESS_NONE;
    if (r->nrows == 1 && lead_access(c, db_get_int(r, 0, "project_id"), db_get_int(r, 0, "agent_user_id"), &a) != 0)
        goto DbError;
    if (a == ACCESS_NONE) {
        db_rows_free(r);
        call_fail(c, ERR_NOT_FOUND, NULL, "lead %lld not found", id);
        return;
    }
    int show_phone = a == ACCESS_AGENT_OF_LEAD && !db_is_null(r, 0, "phone");
    /* The audit row is written before the phone is sent: no row, no phone. */
    if (show_phone && audit_phone_view(c, id, db_get_int(r, 0, "project_id")) != 0)
        goto DbError;
    o = detail_json(r, show_phone);
    if (add_lead_children(c, id, o) != 0)
        goto DbError;
    db_rows_free(r);
    call_ok(c, 200, o);
    return;
DbError:
    cJSON_Delete(o);
    db_rows_free(r);
    call_fail_db(c);
}

/* ---- POST /leads/:id/followups ---- */

typedef struct {
    const char *kind, *note;
    long long next_at;
    int has_next;
} followup_form_t;

static int read_followup(gw_call_t *c, followup_form_t *f)
{
    if (!(f->kind = json_string_or_fail(c, c->body, "kind", 1, 16)))
        return -1;
    if (strcmp(f->kind, "call") && strcmp(f->kind, "visit") && strcmp(f->kind, "wechat")) {
        call_fail(c, ERR_INVALID_FIELD, "kind", "kind must be call, visit or wechat");
        return -1;
    }
    if (json_opt_string_or_fail(c, c->body, "note", 0, 500, &f->note) != 0)
        return -1;
    /* A few minutes in the past are tolerated: the phone's clock may be off. */
    long long now = (long long)time(NULL);
    if (json_opt_int_or_fail(c, c->body, "next_at", now - 300, now + 366LL * 86400, &f->next_at, &f->has_next) != 0)
        return -1;
    return 0;
}

static void add_followup(gw_call_t *c)
{
    long long id;
    followup_form_t f;
    lead_locked_t l;
    if (call_param_id(c, "id", &id) != 0 || read_followup(c, &f) != 0)
        return;
    if (db_begin(c->db) != 0)
        goto DbError;
    int ok = lock_lead_for_change(c, id, ACCESS_AGENT_OF_LEAD, &l);
    if (ok < 0)
        goto DbError;
    if (!ok) {
        db_rollback(c->db);
        return;
    }
    if (l.stage == STAGE_LOST || l.stage == STAGE_CANCELLED) {
        db_rollback(c->db);
        call_fail(c, ERR_CONFLICT, NULL, "lead %lld is %s; it takes no follow-ups", id, lead_stage_name(l.stage));
        return;
    }
    if (l.erased) {
        db_rollback(c->db);
        call_fail(c, ERR_CONFLICT, NULL, "lead %lld was erased at its holder's request; it takes no follow-ups", id);
        return;
    }
    if (db_exec(c->db,
                "INSERT INTO lead_followups (lead_id, agent_user_id, kind, note, next_at)"
                " VALUES (?, ?, ?, ?, FROM_UNIXTIME(?))",
                DB_ARGS(DB_INT(id), DB_INT(c->user.id), DB_STR(f.kind), DB_STR(f.note ? f.note : ""),
                        f.has_next ? DB_INT(f.next_at) : DB_NULL)) != 0)
        goto DbError;
    long long followup_id = (long long)db_insert_id(c->db);
    if (db_exec(c->db, "UPDATE leads SET first_contacted_at = COALESCE(first_contacted_at, NOW(3)) WHERE id = ?",
                DB_ARGS(DB_INT(id))) != 0)
        goto DbError;
    long long contacted = 0;
    if (db_query_int(c->db, &contacted, "SELECT UNIX_TIMESTAMP(first_contacted_at) FROM leads WHERE id = ?",
                     DB_ARGS(DB_INT(id))) < 0 ||
        db_commit(c->db) != 0)
        goto DbError;
    cJSON *d = cJSON_CreateObject();
    cJSON *fo = cJSON_AddObjectToObject(d, "followup");
    cJSON_AddNumberToObject(fo, "id", (double)followup_id);
    cJSON_AddNumberToObject(fo, "lead_id", (double)id);
    cJSON_AddStringToObject(fo, "kind", f.kind);
    cJSON_AddStringToObject(fo, "note", f.note ? f.note : "");
    if (f.has_next)
        cJSON_AddNumberToObject(fo, "next_at", (double)f.next_at);
    else
        cJSON_AddNullToObject(fo, "next_at");
    cJSON_AddNumberToObject(d, "first_contacted_at", (double)contacted);
    call_ok(c, 201, d);
    return;
DbError:
    db_rollback(c->db);
    call_fail_db(c);
}

/* ---- POST /leads/:id/stage ---- */

static const char *SQL_MOVE_STAGE =
    "UPDATE leads SET stage = ?, furthest_stage = GREATEST(furthest_stage, ?), stage_reason = ?,"
    " stage_changed_at = NOW(3),"
    " first_contacted_at = IF(? > 0, COALESCE(first_contacted_at, NOW(3)), first_contacted_at),"
    " signed_at = IF(? = 'signed', NOW(3), signed_at)"
    " WHERE id = ? AND stage = ?";

typedef struct {
    lead_stage_t to;
    const char *reason;
} stage_form_t;

static int read_stage(gw_call_t *c, stage_form_t *f)
{
    const char *name = json_string_or_fail(c, c->body, "stage", 1, 16);
    if (!name)
        return -1;
    f->to = lead_stage_from_name(name);
    if (f->to == STAGE_INVALID || f->to == STAGE_NEW) {
        call_fail(c, ERR_INVALID_FIELD, "stage",
                  "stage must be contacted, visited, subscribed, signed, lost or cancelled");
        return -1;
    }
    if (json_opt_string_or_fail(c, c->body, "reason", 1, 255, &f->reason) != 0)
        return -1;
    if (lead_stage_needs_reason(f->to) && !f->reason) {
        call_fail(c, ERR_MISSING_FIELD, "reason", "a reason is required for %s", lead_stage_name(f->to));
        return -1;
    }
    if (!lead_stage_needs_reason(f->to))
        f->reason = NULL;
    return 0;
}

static cJSON *stage_result(long long id, lead_stage_t stage, const char *reason, int changed, long long referral_id)
{
    cJSON *d = cJSON_CreateObject();
    cJSON_AddBoolToObject(d, "changed", changed);
    cJSON *lead = cJSON_AddObjectToObject(d, "lead");
    cJSON_AddNumberToObject(lead, "id", (double)id);
    cJSON_AddStringToObject(lead, "stage", lead_stage_name(stage));
    json_add_string_or_null(lead, "stage_reason", reason);
    if (referral_id)
        cJSON_AddNumberToObject(d, "referral_id", (double)referral_id);
    else
        cJSON_AddNullToObject(d, "referral_id");
    return d;
}

/* Applies the move inside the open transaction; 0 or -1. */
static int apply_stage(gw_call_t *c, long long id, const lead_locked_t *l, const stage_form_t *f,
                       long long *referral_id)
{
    const char *to = lead_stage_name(f->to);
    if (db_exec(c->db, SQL_MOVE_STAGE,
                DB_ARGS(DB_STR(to), DB_INT(lead_stage_rank(f->to)), DB_STR(f->reason), DB_INT(lead_stage_rank(f->to)),
                        DB_STR(to), DB_INT(id), DB_STR(lead_stage_name(l->stage)))) != 0)
        return -1;
    if (db_exec(c->db,
                "INSERT INTO lead_stage_history (lead_id, from_stage, to_stage, reason, actor_user_id)"
                " VALUES (?, ?, ?, ?, ?)",
                DB_ARGS(DB_INT(id), DB_STR(lead_stage_name(l->stage)), DB_STR(to), DB_STR(f->reason),
                        DB_INT(c->user.id))) != 0)
        return -1;
    char project_name[LEAD_PROJECT_NAME_BYTES];
    if (lead_project_name(c->db, l->project_id, project_name, sizeof(project_name)) != 0)
        return -1;
    referral_stage_input_t in = {
        .lead_id = id,
        .project_name = project_name,
        .lead_name = l->name,
        .stage = f->to,
        .reason = f->reason,
    };
    return referral_follow_lead_stage(c->db, &in, referral_id);
}

static void move_stage(gw_call_t *c)
{
    long long id, referral_id = 0;
    stage_form_t f;
    lead_locked_t l;
    if (call_param_id(c, "id", &id) != 0 || read_stage(c, &f) != 0)
        return;
    if (db_begin(c->db) != 0)
        goto DbError;
    int ok = lock_lead_for_change(c, id, ACCESS_MANAGE, &l);
    if (ok < 0)
        goto DbError;
    if (!ok) {
        db_rollback(c->db);
        return;
    }
    lead_transition_t t = lead_stage_transition(l.stage, f.to);
    if (t == TRANSITION_SAME) { /* a repeated post (e.g. signed twice) changes nothing */
        db_rollback(c->db);
        call_ok(c, 200, stage_result(id, l.stage, NULL, 0, 0));
        return;
    }
    if (t == TRANSITION_INVALID) {
        db_rollback(c->db);
        call_fail(c, ERR_CONFLICT, "stage", "lead %lld is %s; it cannot move to %s", id, lead_stage_name(l.stage),
                  lead_stage_name(f.to));
        return;
    }
    if (apply_stage(c, id, &l, &f, &referral_id) != 0 || db_commit(c->db) != 0)
        goto DbError;
    log_info("leads", "lead %lld: %s -> %s by user %lld", id, lead_stage_name(l.stage), lead_stage_name(f.to),
             c->user.id);
    call_ok(c, 200, stage_result(id, f.to, f.reason, 1, referral_id));
    return;
DbError:
    db_rollback(c->db);
    call_fail_db(c);
}

static const route_t routes[] = {
    {"GET", "/api/v1/leads", ROLE_AGENT, BODY_NONE, POOL_DB, list_my_leads},
    {"GET", "/api/v1/leads/:id", ROLE_AGENT | ROLE_SUPERVISOR | ROLE_ADMIN, BODY_NONE, POOL_DB, get_lead},
    {"POST", "/api/v1/leads/:id/followups", ROLE_AGENT, BODY_JSON, POOL_DB, add_followup},
    {"POST", "/api/v1/leads/:id/stage", ROLE_AGENT | ROLE_SUPERVISOR | ROLE_ADMIN, BODY_JSON, POOL_DB, move_stage},
};

void leads_agent_register(void)
{
    router_add(routes, sizeof(routes) / sizeof(routes[0]));
}
