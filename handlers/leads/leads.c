/* leads.c: a buyer leaves their details (留资); agents work their leads.
 *
 *   POST /api/v1/leads {project_id, name, phone | phone_code, interest, note, channel, consent}
 *   GET  /api/v1/leads?stage=&cursor=&limit=   agent: the caller's leads (masked phones)
 *   GET  /api/v1/leads/:id                     one lead with follow-ups, stage history, assignments
 *   POST /api/v1/leads/:id/followups           {kind, note, next_at}   the lead's agent
 *   POST /api/v1/leads/:id/stage               {stage, reason}         the lead's agent, supervisor, admin
 *
 * The intake. Steps: the form is checked on the loop (BODY_CHECK: every 4xx
 * that names a field comes before anything is written); a phone_code is
 * exchanged for the number on a WeChat worker (after a DB step checks the
 * daily cap, so a capped caller costs no WeChat call); then on a DB worker
 * one statement, CALL lead_intake (schema/023_lead_intake.sql), which holds
 * every rule of the intake and runs it as one transaction that it commits:
 * the project (404 when unknown or taking no leads), the submitter's daily
 * cap (429 with Retry-After), dedupe by the phone's open lead of the
 * project (created, updated by its submitter or the phone's verified
 * holder, or only recorded for anyone else), the submission row, the
 * referral of a bound submitter with a verified phone, the agent (channel
 * rule or round robin, the project's cursor locked last) and both events.
 * It answers one row (outcome, ids, the agent, the referral's outcome),
 * from which this file builds the receipt and the log line. The events'
 * masked parts are built here from the form and passed in
 * (lead_assigned_payload_base, referral_stage_payload_base).
 *
 * The phone is verified when the submitter proved it is theirs: it came
 * from WeChat (phone_code), or it is the phone the submitter bound.
 *
 * The answer is the same whether the phone was known or not: 201 and the
 * submission's receipt, built from what the caller sent. Only a verified
 * phone's referral outcome can depend on the lead (it is the caller's own).
 *
 * Concurrency is the procedure's: it locks the submitter's user row (the
 * cap is exact), then the phone's open lead (the unique key (project_id,
 * open_phone); two first submissions of one phone: the second fails on the
 * key and starts over, finding the committed lead), then the project's
 * cursor; no lock is held across a round trip to the gateway.
 *
 * Working a lead. Who may see or change a lead is decided by the roles held
 * in the lead's project at the time of the request (lead_access.h): its
 * agent while they still hold the agent role there, the project's
 * supervisors, and admins. Anyone else, another agent of the project
 * included (撞单), gets 404. The full phone is shown only to the lead's
 * agent, on the detail view, and each such view writes an audit_log row
 * (lead.phone_viewed) before the phone leaves the server. The views are
 * their SELECTs rendered by db_row_json (lead_json.h adds the masks). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain/leads/lead_access.h"
#include "domain/leads/lead_assign.h"
#include "domain/leads/lead_json.h"
#include "domain/leads/lead_rules.h"
#include "domain/leads/referral_attribution.h"
#include "gateway/audit.h"
#include "gateway/call.h"
#include "gateway/config.h"
#include "gateway/db_json.h"
#include "gateway/json_util.h"
#include "gateway/log.h"
#include "gateway/mask.h"
#include "gateway/query.h"
#include "gateway/roles.h"
#include "gateway/utf8.h"
#include "gateway/wechat_client.h"
#include "handlers/handlers.h"

/* ---- POST /leads: the form ---- */

/* Strings point into the call's body, which lives as long as the call. */
typedef struct {
    long long project_id;
    const char *name, *phone_code, *layout, *area, *budget, *note, *channel;
    char phone[32];
    int verified; /* the phone is the submitter's: from WeChat, or their bound phone */
} lead_form_t;

/* An optional string inside the interest object; the error names
 * "interest.<key>". */
static int interest_field(gw_call_t *c, const cJSON *interest, const char *key, const char **out)
{
    *out = NULL;
    const cJSON *v = interest ? cJSON_GetObjectItemCaseSensitive(interest, key) : NULL;
    if (!v || cJSON_IsNull(v))
        return 0;
    char field[32];
    snprintf(field, sizeof(field), "interest.%s", key);
    long n = cJSON_IsString(v) ? utf8_length(v->valuestring, strlen(v->valuestring)) : -1;
    if (n < 0 || n > 32) {
        call_fail(c, ERR_INVALID_FIELD, field, "%s must be a string of at most 32 characters", field);
        return -1;
    }
    *out = n ? v->valuestring : NULL;
    return 0;
}

/* Fills f from the body; 0, or -1 with the call failed. */
static int read_form(gw_call_t *c, lead_form_t *f)
{
    const cJSON *b = c->body;
    const char *phone = NULL;
    if (json_int_or_fail(c, b, "project_id", 1, 1LL << 53, &f->project_id) != 0)
        return -1;
    if (!(f->name = json_string_or_fail(c, b, "name", 1, 32)))
        return -1;
    if (json_opt_string_or_fail(c, b, "phone", 1, 32, &phone) != 0 ||
        json_opt_string_or_fail(c, b, "phone_code", 1, 128, &f->phone_code) != 0)
        return -1;
    if (!phone && !f->phone_code) {
        call_fail(c, ERR_MISSING_FIELD, "phone", "phone or phone_code is required");
        return -1;
    }
    if (phone && f->phone_code) {
        call_fail(c, ERR_INVALID_FIELD, "phone", "send phone or phone_code, not both");
        return -1;
    }
    if (phone && !lead_phone_valid(phone)) {
        call_fail(c, ERR_INVALID_FIELD, "phone", "phone must be a mainland mobile number: 11 digits starting with 1");
        return -1;
    }
    utf8_copy(f->phone, sizeof(f->phone), phone ? phone : "");
    f->verified = phone && c->user.has_phone && !strcmp(phone, c->user.phone);
    const cJSON *interest = cJSON_GetObjectItemCaseSensitive(b, "interest");
    if (interest && !cJSON_IsNull(interest) && !cJSON_IsObject(interest)) {
        call_fail(c, ERR_INVALID_FIELD, "interest", "interest must be an object {layout, area, budget}");
        return -1;
    }
    if (interest_field(c, interest, "layout", &f->layout) != 0 || interest_field(c, interest, "area", &f->area) != 0 ||
        interest_field(c, interest, "budget", &f->budget) != 0)
        return -1;
    if (json_opt_string_or_fail(c, b, "note", 0, 500, &f->note) != 0 ||
        json_opt_string_or_fail(c, b, "channel", 1, 16, &f->channel) != 0)
        return -1;
    if (f->channel && !lead_channel_valid(f->channel)) {
        call_fail(c, ERR_INVALID_FIELD, "channel", "channel must be referral, poster, ad, walk_in, organic or other");
        return -1;
    }
    const cJSON *consent = cJSON_GetObjectItemCaseSensitive(b, "consent");
    if (consent && !cJSON_IsNull(consent) && !cJSON_IsBool(consent)) {
        call_fail(c, ERR_INVALID_FIELD, "consent", "consent must be true or false");
        return -1;
    }
    if (!cJSON_IsTrue(consent)) {
        call_fail(c, ERR_CONSENT_REQUIRED, "consent",
                  "the phone's holder must agree to the privacy notice: send consent: true");
        return -1;
    }
    return 0;
}

/* ---- the daily cap ---- */

/* The cap is the database's (lead_submitter_cap, which lead_intake
 * applies): retry_after_s NULL under the cap, else the seconds to wait. */
static const char *SQL_CAP = "CALL lead_submitter_cap_row(?, ?)";

/* The caller reached the cap: 429 with Retry-After (call failed). */
static void fail_capped(gw_call_t *c, long long retry_s)
{
    c->retry_after_s = retry_s > 0 && retry_s < 86400 * 2 ? (int)retry_s : 1;
    call_fail(c, ERR_RATE_LIMITED, NULL, "at most %d lead submissions in 24 hours; retry in %d s",
              gw_cfg->lead_daily_max_per_submitter, c->retry_after_s);
    log_info("leads", "user %lld reached the daily lead cap (%d in 24 h)", c->user.id,
             gw_cfg->lead_daily_max_per_submitter);
}

static void store_lead(gw_call_t *c, db_conn_t *db);
static void exchange_phone_code(gw_call_t *c);

/* Before asking WeChat for the number: a capped caller costs no WeChat
 * call. The intake checks again. */
static void check_cap(gw_call_t *c, db_conn_t *db)
{
    db_rows_t *r = db_query(db, SQL_CAP, DB_ARGS(DB_INT(c->user.id), DB_INT(gw_cfg->lead_daily_max_per_submitter)));
    if (!r || r->nrows != 1) {
        db_rows_free(r);
        call_fail_db(c);
        return;
    }
    int capped = !db_is_null(r, 0, "retry_after_s");
    long long retry_s = db_get_int(r, 0, "retry_after_s");
    db_rows_free(r);
    if (capped)
        fail_capped(c, retry_s);
    else
        call_then_wechat(c, exchange_phone_code);
}

/* The body check: the form into the call's state. */
static void check_form(gw_call_t *c)
{
    lead_form_t *f = call_state_new_or_fail(c, 1, sizeof(*f), free);
    if (f)
        read_form(c, f);
}

/* The first step: a phone_code costs a WeChat call, after the cap. */
static void start_intake(gw_call_t *c, db_conn_t *db)
{
    const lead_form_t *f = c->state;
    if (f->phone_code)
        check_cap(c, db);
    else
        store_lead(c, db);
}

static void exchange_phone_code(gw_call_t *c)
{
    lead_form_t *f = c->state;
    wx_phone_t p;
    wx_status_t st;
    if (wx_get_phone_number(f->phone_code, &p, &st) != 0) {
        call_fail_wechat(c, &st, "phone_code");
        return;
    }
    if ((*p.country_code && strcmp(p.country_code, "86")) || !lead_phone_valid(p.pure_phone)) {
        call_fail(c, ERR_INVALID_FIELD, "phone_code", "the WeChat phone number is not a mainland mobile number");
        return;
    }
    utf8_copy(f->phone, sizeof(f->phone), p.pure_phone);
    f->verified = 1; /* getPhoneNumber answers with the tapping user's own number */
    call_then_db(c, store_lead);
}

/* ---- the intake: one CALL ---- */

/* The whole intake (schema/023_lead_intake.sql): takes (user, project,
 * name, phone, verified, channel, layout, area, budget, note, notice
 * version, first-contact seconds, daily cap, lead.assigned payload,
 * referral.stage_changed payload), commits, and answers one row. */
static const char *SQL_INTAKE = "CALL lead_intake(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/* The events' masked parts, from the form (the procedure adds what the
 * database decides). 0, or -1 (out of memory; nothing allocated). */
static int event_payloads(const lead_form_t *f, char **assigned, char **referral)
{
    cJSON *a = lead_assigned_payload_base(f->name, f->phone);
    cJSON *r = referral_stage_payload_base(f->name, STAGE_NEW, NULL);
    *assigned = a ? cJSON_PrintUnformatted(a) : NULL;
    *referral = r ? cJSON_PrintUnformatted(r) : NULL;
    cJSON_Delete(a);
    cJSON_Delete(r);
    if (*assigned && *referral)
        return 0;
    free(*assigned);
    free(*referral);
    *assigned = *referral = NULL;
    return -1;
}

/* The referral part of the receipt, from the procedure's answer: null when
 * the submitter is not bound. */
static cJSON *referral_json(const db_rows_t *r)
{
    const char *status = db_get(r, 0, "referral_status");
    if (!status || !strcmp(status, "none"))
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", status);
    if (!strcmp(status, "rejected"))
        json_add_string_or_null(o, "reason", db_get(r, 0, "referral_reason"));
    if (!strcmp(status, "locked") || !strcmp(status, "existing")) {
        cJSON_AddNumberToObject(o, "referral_id", (double)db_get_int(r, 0, "referral_id"));
        cJSON_AddNumberToObject(o, "protection_expires_at", (double)db_get_int(r, 0, "protection_expires_at"));
    }
    return o;
}

/* The receipt: what the caller sent, never what the lead held before. */
static void respond(gw_call_t *c, const lead_form_t *f, const db_rows_t *r)
{
    char masked[32];
    mask_phone(f->phone, masked, sizeof(masked));
    cJSON *d = cJSON_CreateObject();
    cJSON *s = cJSON_AddObjectToObject(d, "submission");
    cJSON_AddNumberToObject(s, "id", (double)db_get_int(r, 0, "submission_id"));
    cJSON_AddNumberToObject(s, "project_id", (double)f->project_id);
    cJSON_AddStringToObject(s, "project_name", db_get(r, 0, "project_name"));
    cJSON_AddStringToObject(s, "name", f->name);
    cJSON_AddStringToObject(s, "phone_masked", masked);
    cJSON_AddBoolToObject(s, "phone_verified", f->verified);
    cJSON_AddNumberToObject(s, "submitted_at", (double)time(NULL));
    cJSON_AddItemToObject(d, "referral", referral_json(r));
    const char *method = db_get(r, 0, "assign_method");
    log_info("leads",
             "lead %lld %s by submission %lld: project %lld phone %s%s by user %lld; agent %lld%s%s; referral %s",
             db_get_int(r, 0, "lead_id"), db_get(r, 0, "outcome"), db_get_int(r, 0, "submission_id"), f->project_id,
             masked, f->verified ? " (verified)" : "", c->user.id, db_get_int(r, 0, "agent_id"),
             method ? " assigned now by " : "", method ? method : "", db_get(r, 0, "referral_status"));
    if (db_is_null(r, 0, "agent_id"))
        log_warn("leads", "project %lld has no active agent; lead %lld stays unassigned", f->project_id,
                 db_get_int(r, 0, "lead_id"));
    call_ok(c, 201, d);
}

/* One round trip: the procedure decides, writes and commits, or refuses
 * with nothing written, or fails having rolled back (its own handler). */
static void store_lead(gw_call_t *c, db_conn_t *db)
{
    const lead_form_t *f = c->state;
    char *assigned = NULL, *referral = NULL;
    if (event_payloads(f, &assigned, &referral) != 0) {
        call_fail_db(c);
        return;
    }
    db_rows_t *r =
        db_query(db, SQL_INTAKE,
                 DB_ARGS(DB_INT(c->user.id), DB_INT(f->project_id), DB_STR(f->name), DB_STR(f->phone),
                         DB_INT(f->verified), DB_STR(f->channel), DB_STR(f->layout), DB_STR(f->area), DB_STR(f->budget),
                         DB_STR(f->note), DB_STR(gw_cfg->privacy_notice_version), DB_INT(gw_cfg->lead_first_contact_s),
                         DB_INT(gw_cfg->lead_daily_max_per_submitter), DB_STR(assigned), DB_STR(referral)));
    free(assigned);
    free(referral);
    const char *outcome = r && r->nrows == 1 ? db_get(r, 0, "outcome") : NULL;
    if (!outcome) {
        if (r)
            log_error("leads", "lead_intake answered %d rows without an outcome", r->nrows);
        db_rows_free(r);
        call_fail_db(c);
        return;
    }
    if (!strcmp(outcome, "project_not_found"))
        call_fail(c, ERR_NOT_FOUND, "project_id", "project %lld does not exist or takes no leads", f->project_id);
    else if (!strcmp(outcome, "rate_limited"))
        fail_capped(c, db_get_int(r, 0, "retry_after_s"));
    else
        respond(c, f, r);
    db_rows_free(r);
}

/* ---- GET /leads ---- */

static const char *SQL_MY_LEADS =
    "SELECT " LEAD_HEAD_COLUMNS ", l.stage, l.channel, FLOOR(UNIX_TIMESTAMP(l.created_at)) AS created_at,"
    " FLOOR(UNIX_TIMESTAMP(l.first_contact_due_at)) AS first_contact_due_at,"
    " FLOOR(UNIX_TIMESTAMP(l.first_contacted_at)) AS first_contacted_at,"
    " (SELECT FLOOR(UNIX_TIMESTAMP(f.next_at)) FROM lead_followups f WHERE f.lead_id = l.id ORDER BY f.id DESC LIMIT 1)"
    " AS next_followup_at,"
    " l.contact_overdue_at IS NOT NULL AS contact_overdue, l.erased_at IS NOT NULL AS erased"
    " FROM leads l JOIN projects p ON p.id = l.project_id"
    " WHERE " LEAD_OWN_AGENT("l") " AND l.id < ? AND (? IS NULL OR l.stage = ?)"
                                  " ORDER BY l.id DESC LIMIT ?";

static void list_my_leads(gw_call_t *c, db_conn_t *db)
{
    static const char *const keys[] = {"id"};
    const char *stage;
    page_t page;
    if (page_or_fail(c, 1, &page) != 0 || query_enum_or_fail(c, "stage", LEAD_STAGE_NAMES, NULL, &stage) != 0)
        return;
    db_rows_t *r = db_query(db, SQL_MY_LEADS,
                            DB_ARGS(DB_INT(c->user.id), DB_INT(page_key(&page, 0, PAGE_KEY_MAX)), DB_STR(stage),
                                    DB_STR(stage), DB_INT(page.limit + 1)));
    if (!r) {
        call_fail_db(c);
        return;
    }
    page_respond(c, &page, r, lead_json_row, NULL, keys);
    db_rows_free(r);
}

/* ---- GET /leads/:id ---- */

static const char *SQL_LEAD_DETAIL =
    "SELECT " LEAD_HEAD_COLUMNS ", l.phone, l.stage, l.stage_reason, l.channel, l.agent_user_id AS `agent.user_id`,"
    " au.display_name AS `agent.name`, " LEAD_INTEREST_COLUMNS ", l.note, l.submissions,"
    " FLOOR(UNIX_TIMESTAMP(l.created_at)) AS created_at,"
    " FLOOR(UNIX_TIMESTAMP(l.first_contact_due_at)) AS first_contact_due_at,"
    " FLOOR(UNIX_TIMESTAMP(l.first_contacted_at)) AS first_contacted_at,"
    " FLOOR(UNIX_TIMESTAMP(l.contact_overdue_at)) AS contact_overdue_at, " LEAD_CONSENT_COLUMNS ","
    " FLOOR(UNIX_TIMESTAMP(l.updated_at)) AS updated_at, FLOOR(UNIX_TIMESTAMP(l.erased_at)) AS erased_at"
    " FROM leads l JOIN projects p ON p.id = l.project_id LEFT JOIN users au ON au.id = l.agent_user_id"
    " WHERE l.id = ?";

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
static int add_lead_children(db_conn_t *db, long long id, cJSON *o)
{
    for (size_t k = 0; k < sizeof(LEAD_CHILDREN) / sizeof(LEAD_CHILDREN[0]); k++) {
        db_rows_t *r = db_query(db, LEAD_CHILDREN[k].sql, DB_ARGS(DB_INT(id)));
        cJSON *list = r ? db_rows_json(r, 0, r->nrows) : NULL;
        db_rows_free(r);
        if (!list)
            return -1;
        cJSON_AddItemToObject(o, LEAD_CHILDREN[k].name, list);
    }
    db_rows_t *r = db_query(db, SQL_LEAD_REFERRAL, DB_ARGS(DB_INT(id)));
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
static int audit_phone_view(gw_call_t *c, db_conn_t *db, long long id, long long project_id)
{
    cJSON *detail = cJSON_CreateObject();
    if (!detail)
        return -1;
    cJSON_AddNumberToObject(detail, "project_id", (double)project_id);
    cJSON_AddStringToObject(detail, "request_id", c->request_id);
    int rc = audit_write(db, c->user.id, project_id, "lead.phone_viewed", "lead", id, detail);
    cJSON_Delete(detail);
    return rc;
}

static void get_lead(gw_call_t *c, db_conn_t *db)
{
    long long id;
    if (call_param_id_or_fail(c, "id", &id) != 0)
        return;
    cJSON *o = NULL;
    db_rows_t *r = db_query(db, SQL_LEAD_DETAIL, DB_ARGS(DB_INT(id)));
    if (!r)
        goto DbError;
    lead_access_t a = ACCESS_NONE;
    if (r->nrows == 1 && lead_access(c, db, db_get_int(r, 0, "project.id"), db_get_int(r, 0, "agent.user_id"), &a) != 0)
        goto DbError;
    if (a == ACCESS_NONE) {
        db_rows_free(r);
        call_fail(c, ERR_NOT_FOUND, NULL, "lead %lld not found", id);
        return;
    }
    int show_phone = a == ACCESS_AGENT_OF_LEAD && !db_is_null(r, 0, "phone");
    /* The audit row is written before the phone is sent: no row, no phone. */
    if (show_phone && audit_phone_view(c, db, id, db_get_int(r, 0, "project.id")) != 0)
        goto DbError;
    o = db_row_json(r, 0);
    if (!o || lead_json_finish(o) != 0 ||
        (!show_phone && !cJSON_ReplaceItemInObjectCaseSensitive(o, "phone", cJSON_CreateNull())) ||
        add_lead_children(db, id, o) != 0)
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

/* Fills f from the body; 0, or -1 with the call failed. */
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

/* The body check: the form into the call's state. */
static void check_followup(gw_call_t *c)
{
    followup_form_t *f = call_state_new_or_fail(c, 1, sizeof(*f), free);
    if (f)
        read_followup(c, f);
}

/* A refusal leaves the transaction to the runner, which rolls it back. */
static void add_followup(gw_call_t *c, db_conn_t *db)
{
    const followup_form_t *f = c->state;
    long long id;
    lead_locked_t l;
    if (call_param_id_or_fail(c, "id", &id) != 0)
        return;
    if (db_begin(db) != 0)
        goto DbError;
    if (lead_lock_for_change_or_fail(c, db, id, ACCESS_AGENT_OF_LEAD, &l) != 0)
        return;
    if (l.stage == STAGE_LOST || l.stage == STAGE_CANCELLED) {
        call_fail(c, ERR_CONFLICT, NULL, "lead %lld is %s; it takes no follow-ups", id, lead_stage_name(l.stage));
        return;
    }
    if (l.erased) {
        call_fail(c, ERR_CONFLICT, NULL, "lead %lld was erased at its holder's request; it takes no follow-ups", id);
        return;
    }
    if (db_exec(db,
                "INSERT INTO lead_followups (lead_id, agent_user_id, kind, note, next_at)"
                " VALUES (?, ?, ?, ?, FROM_UNIXTIME(?))",
                DB_ARGS(DB_INT(id), DB_INT(c->user.id), DB_STR(f->kind), DB_STR(f->note ? f->note : ""),
                        f->has_next ? DB_INT(f->next_at) : DB_NULL)) != 0)
        goto DbError;
    long long followup_id = (long long)db_insert_id(db);
    if (db_exec(db, "UPDATE leads SET first_contacted_at = COALESCE(first_contacted_at, NOW(3)) WHERE id = ?",
                DB_ARGS(DB_INT(id))) != 0)
        goto DbError;
    long long contacted = 0;
    if (db_query_int(db, &contacted, "SELECT UNIX_TIMESTAMP(first_contacted_at) FROM leads WHERE id = ?",
                     DB_ARGS(DB_INT(id))) < 0 ||
        db_commit(db) != 0)
        goto DbError;
    cJSON *d = cJSON_CreateObject();
    cJSON *fo = cJSON_AddObjectToObject(d, "followup");
    cJSON_AddNumberToObject(fo, "id", (double)followup_id);
    cJSON_AddNumberToObject(fo, "lead_id", (double)id);
    cJSON_AddStringToObject(fo, "kind", f->kind);
    cJSON_AddStringToObject(fo, "note", f->note ? f->note : "");
    if (f->has_next)
        cJSON_AddNumberToObject(fo, "next_at", (double)f->next_at);
    else
        cJSON_AddNullToObject(fo, "next_at");
    cJSON_AddNumberToObject(d, "first_contacted_at", (double)contacted);
    call_ok(c, 201, d);
    return;
DbError:
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

/* Fills f from the body; 0, or -1 with the call failed. */
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
static int apply_stage(gw_call_t *c, db_conn_t *db, long long id, const lead_locked_t *l, const stage_form_t *f,
                       long long *referral_id)
{
    const char *to = lead_stage_name(f->to);
    if (db_exec(db, SQL_MOVE_STAGE,
                DB_ARGS(DB_STR(to), DB_INT(lead_stage_rank(f->to)), DB_STR(f->reason), DB_INT(lead_stage_rank(f->to)),
                        DB_STR(to), DB_INT(id), DB_STR(lead_stage_name(l->stage)))) != 0)
        return -1;
    if (db_exec(db,
                "INSERT INTO lead_stage_history (lead_id, from_stage, to_stage, reason, actor_user_id)"
                " VALUES (?, ?, ?, ?, ?)",
                DB_ARGS(DB_INT(id), DB_STR(lead_stage_name(l->stage)), DB_STR(to), DB_STR(f->reason),
                        DB_INT(c->user.id))) != 0)
        return -1;
    char project_name[LEAD_PROJECT_NAME_BYTES];
    if (lead_project_name(db, l->project_id, project_name, sizeof(project_name)) != 0)
        return -1;
    referral_stage_input_t in = {
        .lead_id = id,
        .project_name = project_name,
        .lead_name = l->name,
        .stage = f->to,
        .reason = f->reason,
    };
    return referral_follow_lead_stage(db, &in, referral_id);
}

/* The body check: the form into the call's state. */
static void check_stage(gw_call_t *c)
{
    stage_form_t *f = call_state_new_or_fail(c, 1, sizeof(*f), free);
    if (f)
        read_stage(c, f);
}

/* A refusal leaves the transaction to the runner, which rolls it back. */
static void move_stage(gw_call_t *c, db_conn_t *db)
{
    const stage_form_t *f = c->state;
    long long id, referral_id = 0;
    lead_locked_t l;
    if (call_param_id_or_fail(c, "id", &id) != 0)
        return;
    if (db_begin(db) != 0)
        goto DbError;
    if (lead_lock_for_change_or_fail(c, db, id, ACCESS_MANAGE, &l) != 0)
        return;
    lead_transition_t t = lead_stage_transition(l.stage, f->to);
    if (t == TRANSITION_SAME) {
        /* A repeated post (e.g. signed twice) changes nothing and is
         * answered as a success: the lead's lock is released here, since
         * the runner ends only a failed call's transaction. */
        db_rollback(db);
        call_ok(c, 200, stage_result(id, l.stage, NULL, 0, 0));
        return;
    }
    if (t == TRANSITION_INVALID) {
        call_fail(c, ERR_CONFLICT, "stage", "lead %lld is %s; it cannot move to %s", id, lead_stage_name(l.stage),
                  lead_stage_name(f->to));
        return;
    }
    if (apply_stage(c, db, id, &l, f, &referral_id) != 0 || db_commit(db) != 0)
        goto DbError;
    log_info("leads", "lead %lld: %s -> %s by user %lld", id, lead_stage_name(l.stage), lead_stage_name(f->to),
             c->user.id);
    call_ok(c, 200, stage_result(id, f->to, f->reason, 1, referral_id));
    return;
DbError:
    call_fail_db(c);
}

static const route_t routes[] = {
    {"POST", "/api/v1/leads", ROLE_ANY, BODY_JSON, DB_STEP(start_intake), BODY_CHECK(check_form), .rate = RATE_LEADS,
     .wechat = WX_PHONE},
    {"GET", "/api/v1/leads", ROLE_AGENT, BODY_NONE, DB_STEP(list_my_leads)},
    {"GET", "/api/v1/leads/:id", ROLE_AGENT | ROLE_SUPERVISOR | ROLE_ADMIN, BODY_NONE, DB_STEP(get_lead)},
    {"POST", "/api/v1/leads/:id/followups", ROLE_AGENT, BODY_JSON, DB_STEP(add_followup), BODY_CHECK(check_followup)},
    {"POST", "/api/v1/leads/:id/stage", ROLE_AGENT | ROLE_SUPERVISOR | ROLE_ADMIN, BODY_JSON, DB_STEP(move_stage),
     BODY_CHECK(check_stage)},
};

void leads_register(void)
{
    ROUTES_REGISTER(routes);
}
