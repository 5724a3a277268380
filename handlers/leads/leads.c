/* leads.c: a buyer leaves their details (留资).
 *
 *   POST /api/v1/leads {project_id, name, phone | phone_code, interest, note, channel, consent}
 *
 * Steps: the form is checked on the loop; a phone_code is exchanged for the
 * number on a WeChat worker (after a DB step checks the daily cap, so a
 * capped caller costs no WeChat call); then on a DB worker one read of the
 * project (with the submitter's referral binding) and one transaction.
 *
 * The phone is verified when the submitter proved it is theirs: it came
 * from WeChat (phone_code), or it is the phone the submitter bound. The
 * transaction:
 *   1. locks the submitter's user row and counts their submissions of the
 *      last 24 hours: at lead_daily_max_per_submitter the answer is 429 and
 *      nothing is written;
 *   2. locks the phone's open lead of the project, if there is one;
 *   3. creates the lead; or updates it when the caller is its submitter or
 *      the phone's verified holder (who then becomes its submitter); or,
 *      for anyone else, only counts the submission: another user's
 *      submission never changes a lead's personal fields or consent;
 *   4. records the submission (lead_submissions, no personal fields);
 *   5. locks the referral of a bound submitter, for a verified phone only
 *      (referral_attribution.h);
 *   6. assigns an agent if the lead has none; this locks the project's
 *      assignment cursor, so it comes last (lead_assign.h).
 *
 * The answer is the same whether the phone was known or not: 201 and the
 * submission's receipt, built from what the caller sent. Only a verified
 * phone's referral outcome can depend on the lead (it is the caller's own).
 *
 * Concurrency: one open lead per phone and project is the unique key
 * (project_id, open_phone). Sessions run READ COMMITTED, so the locking read
 * of a phone without an open lead takes no gap lock; two first submissions
 * of one phone both insert, the second waits for the first's row and fails
 * on the unique key, and its retry finds and locks the committed lead. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/call.h"
#include "gateway/config.h"
#include "gateway/json_util.h"
#include "gateway/log.h"
#include "gateway/mask.h"
#include "gateway/roles.h"
#include "gateway/utf8.h"
#include "gateway/wechat_client.h"
#include "handlers/handlers.h"
#include "domain/leads/lead_access.h"
#include "domain/leads/lead_assign.h"
#include "domain/leads/lead_rules.h"
#include "domain/leads/referral_attribution.h"

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

/* Fills f from the body; -1 with the call failed. */
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
    snprintf(f->phone, sizeof(f->phone), "%s", phone ? phone : "");
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

/* The submitter's submissions in the last 24 hours, and when the oldest of
 * them leaves that window. */
static const char *SQL_RECENT_SUBMISSIONS =
    "SELECT COUNT(*) AS n,"
    " CEIL(TIMESTAMPDIFF(MICROSECOND, NOW(3), MIN(created_at) + INTERVAL 1 DAY) / 1000000) AS retry_after_s"
    " FROM lead_submissions WHERE user_id = ? AND created_at > NOW(3) - INTERVAL 1 DAY";

/* 1 the caller may submit, 0 the cap is reached (call failed: 429 with
 * Retry-After), -1 db error. */
static int under_cap_or_fail(gw_call_t *c)
{
    db_rows_t *r = db_query(c->db, SQL_RECENT_SUBMISSIONS, DB_ARGS(DB_INT(c->user.id)));
    if (!r)
        return -1;
    long long n = db_get_int(r, 0, "n"), retry = db_get_int(r, 0, "retry_after_s");
    db_rows_free(r);
    if (n < gw_cfg->lead_daily_max_per_submitter)
        return 1;
    c->retry_after_s = retry > 0 ? (int)retry : 1;
    call_fail(c, ERR_RATE_LIMITED, NULL, "at most %d lead submissions in 24 hours; retry in %d s",
              gw_cfg->lead_daily_max_per_submitter, c->retry_after_s);
    log_info("leads", "user %lld reached the daily lead cap (%lld in 24 h)", c->user.id, n);
    return 0;
}

static void store_lead(gw_call_t *c);
static void exchange_phone_code(gw_call_t *c);

/* Before asking WeChat for the number. The transaction checks again. */
static void check_cap(gw_call_t *c)
{
    int ok = under_cap_or_fail(c);
    if (ok < 0)
        call_fail_db(c);
    else if (ok)
        call_then(c, POOL_WECHAT, exchange_phone_code);
}

static void check_form(gw_call_t *c)
{
    lead_form_t *f = call_state_new_or_fail(c, 1, sizeof(*f), free);
    if (!f)
        return;
    if (read_form(c, f) != 0)
        return;
    call_then(c, POOL_DB, f->phone_code ? check_cap : store_lead);
}

static void exchange_phone_code(gw_call_t *c)
{
    lead_form_t *f = c->state;
    wx_phone_t p;
    wx_status_t st;
    if (wx_get_phone_number(f->phone_code, &p, &st) != 0) {
        err_code_t err = wx_error_to_gateway(&st);
        if (err == ERR_RATE_LIMITED)
            c->retry_after_s = 60;
        call_fail(c, err, err == ERR_WECHAT_CODE_INVALID ? "phone_code" : NULL, "%s (WeChat %d)",
                  err_info(err)->message, st.errcode);
        return;
    }
    if ((*p.country_code && strcmp(p.country_code, "86")) || !lead_phone_valid(p.pure_phone)) {
        call_fail(c, ERR_INVALID_FIELD, "phone_code", "the WeChat phone number is not a mainland mobile number");
        return;
    }
    snprintf(f->phone, sizeof(f->phone), "%s", p.pure_phone);
    f->verified = 1; /* getPhoneNumber answers with the tapping user's own number */
    call_then(c, POOL_DB, store_lead);
}

/* ---- the transaction ---- */

typedef enum { SUBMISSION_CREATED, SUBMISSION_UPDATED, SUBMISSION_RECORDED } submission_outcome_t;

static const char *const outcome_names[] = {"created", "updated", "recorded"};

typedef struct {
    long long lead_id, agent, submission_id;
    submission_outcome_t outcome;
    int was_verified;    /* an existing lead's phone was verified before */
    char channel[17];    /* the lead's (VARCHAR(16)) */
    char lead_name[257]; /* the lead's (VARCHAR(64) in utf8mb4), for events */
    referral_lock_result_t referral;
} lead_outcome_t;

/* What the intake reads before its transaction. */
typedef struct {
    char project_name[LEAD_PROJECT_NAME_BYTES];
    int cursor_exists;
    referral_binding_t binding;
} intake_context_t;

static const char *SQL_PROJECT_AND_BINDING =
    "SELECT p.name, " LEAD_ASSIGN_CURSOR_EXISTS " AS cursor_exists, " REFERRAL_BINDING_COLUMNS
    " FROM projects p" REFERRAL_BINDING_JOIN " WHERE p.id = ? AND p.open_for_leads = 1";

/* The phone's open lead of the project, locked. */
static const char *SQL_OPEN_LEAD = "SELECT id, COALESCE(submitted_by_user_id, 0) AS submitted_by, phone_verified,"
                                   " COALESCE(agent_user_id, 0) AS agent, channel, name"
                                   " FROM leads WHERE project_id = ? AND open_phone = ? FOR UPDATE";

/* The phone's holder, if a user has bound it. */
#define SQL_PHONE_HOLDER "(SELECT id FROM users WHERE phone = ? AND disabled = 0 ORDER BY id LIMIT 1)"

/* user_id: the submitter when verified (first parameter), else the user
 * who bound the phone. */
static const char *SQL_INSERT_LEAD =
    "INSERT INTO leads (project_id, name, phone, phone_verified, user_id, submitted_by_user_id, channel,"
    " interest_layout, interest_area, interest_budget, note, consent_at, privacy_notice_version,"
    " first_contact_due_at)"
    " VALUES (?, ?, ?, ?, COALESCE(?, " SQL_PHONE_HOLDER "), ?, ?, ?, ?, ?, ?, NOW(3), ?, NOW(3) + INTERVAL ? SECOND)";

/* The lead's submitter or the phone's verified holder updates it: the new
 * name, the interest and note where given, a fresh consent, one more
 * submission. A verified holder (parameters 8 and 9: their id, else NULL)
 * becomes its user and submitter; channel, agent and stage stay. */
static const char *SQL_UPDATE_LEAD =
    "UPDATE leads SET name = ?, interest_layout = COALESCE(?, interest_layout),"
    " interest_area = COALESCE(?, interest_area), interest_budget = COALESCE(?, interest_budget),"
    " note = COALESCE(?, note), consent_at = NOW(3), privacy_notice_version = ?, submissions = submissions + 1,"
    " phone_verified = GREATEST(phone_verified, ?),"
    " user_id = COALESCE(?, user_id, " SQL_PHONE_HOLDER "), submitted_by_user_id = COALESCE(?, submitted_by_user_id)"
    " WHERE id = ?";

/* Creates the lead, or applies the submission to the phone's open lead of
 * the project as its submitter, its verified holder or anyone else may. 0,
 * or -1 (db error; a unique-key error means a concurrent first submission
 * of the phone won, and the retry finds its lead). */
static int create_or_apply(gw_call_t *c, const lead_form_t *f, lead_outcome_t *o)
{
    db_rows_t *r = db_query(c->db, SQL_OPEN_LEAD, DB_ARGS(DB_INT(f->project_id), DB_STR(f->phone)));
    if (!r)
        return -1;
    int found = r->nrows == 1;
    long long submitted_by = 0;
    if (found) {
        o->lead_id = db_get_int(r, 0, "id");
        submitted_by = db_get_int(r, 0, "submitted_by");
        o->was_verified = db_get_int(r, 0, "phone_verified") != 0;
        o->agent = db_get_int(r, 0, "agent");
        utf8_copy(o->channel, sizeof(o->channel), db_get(r, 0, "channel"));
        utf8_copy(o->lead_name, sizeof(o->lead_name), db_get(r, 0, "name"));
    }
    db_rows_free(r);
    db_param_t me = f->verified ? DB_INT(c->user.id) : DB_NULL;
    if (!found) {
        const char *channel = f->channel ? f->channel : "organic";
        o->outcome = SUBMISSION_CREATED;
        utf8_copy(o->channel, sizeof(o->channel), channel);
        utf8_copy(o->lead_name, sizeof(o->lead_name), f->name);
        if (db_exec(c->db, SQL_INSERT_LEAD,
                    DB_ARGS(DB_INT(f->project_id), DB_STR(f->name), DB_STR(f->phone), DB_INT(f->verified), me,
                            DB_STR(f->phone), DB_INT(c->user.id), DB_STR(channel), DB_STR(f->layout), DB_STR(f->area),
                            DB_STR(f->budget), DB_STR(f->note), DB_STR(gw_cfg->privacy_notice_version),
                            DB_INT(gw_cfg->lead_first_contact_s))) != 0)
            return -1;
        o->lead_id = (long long)db_insert_id(c->db);
        return db_exec(c->db,
                       "INSERT INTO lead_stage_history (lead_id, from_stage, to_stage, actor_user_id)"
                       " VALUES (?, NULL, 'new', ?)",
                       DB_ARGS(DB_INT(o->lead_id), DB_INT(c->user.id)));
    }
    if (submitted_by != c->user.id && !f->verified) {
        o->outcome = SUBMISSION_RECORDED;
        return db_exec(c->db, "UPDATE leads SET submissions = submissions + 1 WHERE id = ?",
                       DB_ARGS(DB_INT(o->lead_id)));
    }
    o->outcome = SUBMISSION_UPDATED;
    utf8_copy(o->lead_name, sizeof(o->lead_name), f->name);
    return db_exec(c->db, SQL_UPDATE_LEAD,
                   DB_ARGS(DB_STR(f->name), DB_STR(f->layout), DB_STR(f->area), DB_STR(f->budget), DB_STR(f->note),
                           DB_STR(gw_cfg->privacy_notice_version), DB_INT(f->verified), me, DB_STR(f->phone), me,
                           DB_INT(o->lead_id)));
}

/* The project (open for leads), whether its assignment cursor exists, and
 * the submitter's binding. 1 found, 0 the project is unknown or closed (call
 * failed), -1 db error. */
static int load_context(gw_call_t *c, const lead_form_t *f, intake_context_t *ctx)
{
    db_rows_t *r = db_query(c->db, SQL_PROJECT_AND_BINDING, DB_ARGS(DB_INT(c->user.id), DB_INT(f->project_id)));
    if (!r)
        return -1;
    int found = r->nrows == 1;
    if (found) {
        utf8_copy(ctx->project_name, sizeof(ctx->project_name), db_get(r, 0, "name"));
        ctx->cursor_exists = db_get_int(r, 0, "cursor_exists") != 0;
        referral_binding_from_row(r, &ctx->binding);
    }
    db_rows_free(r);
    if (!found)
        call_fail(c, ERR_NOT_FOUND, "project_id", "project %lld does not exist or takes no leads", f->project_id);
    return found;
}

/* One attempt of the transaction (see the top of the file). 1 committed,
 * 0 refused by the cap (call failed; the caller rolls back), -1 db error
 * (the caller rolls back). */
static int intake(gw_call_t *c, const lead_form_t *f, const intake_context_t *ctx, lead_outcome_t *o)
{
    memset(o, 0, sizeof(*o));
    long long me;
    if (db_begin(c->db) != 0 ||
        db_query_int(c->db, &me, "SELECT id FROM users WHERE id = ? FOR UPDATE", DB_ARGS(DB_INT(c->user.id))) < 0)
        return -1;
    int allowed = under_cap_or_fail(c);
    if (allowed <= 0)
        return allowed;
    if (create_or_apply(c, f, o) != 0 ||
        db_exec(c->db, "INSERT INTO lead_submissions (lead_id, user_id, phone_verified, outcome) VALUES (?, ?, ?, ?)",
                DB_ARGS(DB_INT(o->lead_id), DB_INT(c->user.id), DB_INT(f->verified),
                        DB_STR(outcome_names[o->outcome]))) != 0)
        return -1;
    o->submission_id = (long long)db_insert_id(c->db);
    referral_lock_input_t ri = {
        .lead_id = o->lead_id,
        .project_id = f->project_id,
        .project_name = ctx->project_name,
        .submitter_user_id = c->user.id,
        .binding = &ctx->binding,
        .lead_name = f->name,
        .lead_phone = f->phone,
        .phone_verified = f->verified,
        .lead_existed = o->outcome != SUBMISSION_CREATED,
        .lead_was_verified = o->was_verified,
    };
    if (referral_lock_for_lead(c->db, &ri, &o->referral) != 0)
        return -1;
    /* A lead whose referral locks now counts as a referral, unless the
     * submission names its channel. */
    if (o->referral.status == REFERRAL_LOCKED && !f->channel) {
        utf8_copy(o->channel, sizeof(o->channel), "referral");
        if (db_exec(c->db, "UPDATE leads SET channel = 'referral' WHERE id = ?", DB_ARGS(DB_INT(o->lead_id))) != 0)
            return -1;
    }
    if (!o->agent) {
        lead_assign_input_t ai = {
            .lead_id = o->lead_id,
            .project_id = f->project_id,
            .project_name = ctx->project_name,
            .channel = o->channel,
            .customer_name = o->lead_name,
            .phone = f->phone,
        };
        if (lead_assign(c->db, &ai, &o->agent) < 0)
            return -1;
    }
    return db_commit(c->db) == 0 ? 1 : -1;
}

static cJSON *referral_json(const referral_lock_result_t *r)
{
    if (r->status == REFERRAL_NONE)
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    if (r->status == REFERRAL_PENDING_VERIFICATION) {
        cJSON_AddStringToObject(o, "status", "pending_verification");
        return o;
    }
    if (r->status == REFERRAL_REJECTED) {
        cJSON_AddStringToObject(o, "status", "rejected");
        cJSON_AddStringToObject(o, "reason", err_info(r->reason)->code);
        return o;
    }
    cJSON_AddStringToObject(o, "status", r->status == REFERRAL_LOCKED ? "locked" : "existing");
    cJSON_AddNumberToObject(o, "referral_id", (double)r->referral_id);
    cJSON_AddNumberToObject(o, "protection_expires_at", (double)r->protection_expires_at);
    return o;
}

/* The receipt: what the caller sent, never what the lead held before. */
static void respond(gw_call_t *c, const lead_form_t *f, const lead_outcome_t *o, const char *project_name)
{
    char masked[32];
    mask_phone(f->phone, masked, sizeof(masked));
    cJSON *d = cJSON_CreateObject();
    cJSON *s = cJSON_AddObjectToObject(d, "submission");
    cJSON_AddNumberToObject(s, "id", (double)o->submission_id);
    cJSON_AddNumberToObject(s, "project_id", (double)f->project_id);
    cJSON_AddStringToObject(s, "project_name", project_name);
    cJSON_AddStringToObject(s, "name", f->name);
    cJSON_AddStringToObject(s, "phone_masked", masked);
    cJSON_AddBoolToObject(s, "phone_verified", f->verified);
    cJSON_AddNumberToObject(s, "submitted_at", (double)time(NULL));
    cJSON_AddItemToObject(d, "referral", referral_json(&o->referral));
    log_info("leads", "lead %lld %s by submission %lld: project %lld phone %s%s by user %lld", o->lead_id,
             outcome_names[o->outcome], o->submission_id, f->project_id, masked, f->verified ? " (verified)" : "",
             c->user.id);
    call_ok(c, 201, d);
}

/* Runs the transaction until it commits; a deadlock (or a unique-key error)
 * with a concurrent writer starts it over, and the next attempt sees the
 * committed lead. 1 committed, 0 refused (call failed), -1 db error. */
static int intake_with_retries(gw_call_t *c, const lead_form_t *f, const intake_context_t *ctx, lead_outcome_t *o)
{
    for (int attempt = 1;; attempt++) {
        int rc = intake(c, f, ctx, o);
        if (rc == 1)
            return 1;
        db_rollback(c->db);
        if (rc == 0)
            return 0;
        unsigned e = db_errno(c->db);
        if (attempt >= 3 || (e != DB_ER_DUP_ENTRY && e != DB_ER_LOCK_DEADLOCK))
            return -1;
    }
}

static void store_lead(gw_call_t *c)
{
    const lead_form_t *f = c->state;
    intake_context_t ctx;
    lead_outcome_t o;
    int rc = load_context(c, f, &ctx);
    if (rc == 0)
        return;
    if (rc < 0 || (!ctx.cursor_exists && lead_assign_create_cursor(c->db, f->project_id) != 0)) {
        call_fail_db(c);
        return;
    }
    rc = intake_with_retries(c, f, &ctx, &o);
    if (rc < 0)
        call_fail_db(c);
    else if (rc > 0)
        respond(c, f, &o, ctx.project_name);
}

static const route_t routes[] = {
    {"POST", "/api/v1/leads", ROLE_ANY, BODY_JSON, POOL_LOOP, check_form, RATE_LEADS, WX_PHONE},
};

void leads_register(void)
{
    router_add(routes, sizeof(routes) / sizeof(routes[0]));
}
