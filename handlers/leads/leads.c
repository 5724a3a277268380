/* leads.c: a buyer leaves their details (留资); agents work their leads.
 *
 *   POST /api/v1/leads {project_id, name, phone | phone_code, interest, note, channel, consent}
 *   GET  /api/v1/leads?stage=&cursor=&limit=   agent: the caller's leads (masked phones)
 *   GET  /api/v1/leads/:id                     one lead with follow-ups, stage history, assignments
 *   POST /api/v1/leads/:id/followups           {kind, note, next_at}   the lead's agent
 *   POST /api/v1/leads/:id/stage               {stage, reason}         the lead's agent, supervisor, admin
 *
 * The intake. Steps: the form is checked on the loop (BODY_CHECK); a
 * phone_code is exchanged for the number on a WeChat worker (after a DB step
 * checks the daily cap, so a capped caller costs no WeChat call); then on a
 * DB worker one transaction.
 *
 * The phone is verified when the submitter proved it is theirs: it came
 * from WeChat (phone_code), or it is the phone the submitter bound. The
 * transaction:
 *   1. in one statement, locks the submitter's user row and the phone's
 *      open lead of the project, if there is one, reads the project (404
 *      when it is unknown or takes no leads) and the submitter's referral
 *      binding, and counts the submitter's submissions of the last 24
 *      hours: at lead_daily_max_per_submitter the answer is 429 and
 *      nothing is written;
 *   2. creates the lead; or updates it when the caller is its submitter or
 *      the phone's verified holder (who then becomes its submitter); or,
 *      for anyone else, only counts the submission: another user's
 *      submission never changes a lead's personal fields or consent;
 *   3. records the submission (lead_submissions, no personal fields);
 *   4. locks the referral of a bound submitter, for a verified phone only
 *      (referral_attribution.h);
 *   5. assigns an agent if the lead has none; this locks the project's
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
 * on the unique key, and its retry finds and locks the committed lead.
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

/* The submitter's submissions in the last 24 hours (n), and in how many
 * seconds the oldest of them leaves that window (retry_after_s), for the
 * user id `user` (a parameter or a column); a range of the index (user_id,
 * created_at). */
#define RECENT_SUBMISSIONS_COLUMNS(user)                                                                               \
    "(SELECT COUNT(*) FROM lead_submissions s WHERE s.user_id = " user                                                 \
    "  AND s.created_at > NOW(3) - INTERVAL 1 DAY) AS n,"                                                              \
    " (SELECT CEIL(TIMESTAMPDIFF(MICROSECOND, NOW(3), MIN(s.created_at) + INTERVAL 1 DAY) / 1000000)"                  \
    "  FROM lead_submissions s WHERE s.user_id = " user                                                                \
    " AND s.created_at > NOW(3) - INTERVAL 1 DAY) AS retry_after_s"
static const char *SQL_RECENT_SUBMISSIONS = "SELECT " RECENT_SUBMISSIONS_COLUMNS("?");

/* The caller's submissions of the last 24 hours, and in how many seconds
 * the oldest leaves that window. 0, or -1 (db error). */
static int count_recent(gw_call_t *c, db_conn_t *db, long long *n, long long *retry_s)
{
    db_rows_t *r = db_query(db, SQL_RECENT_SUBMISSIONS, DB_ARGS(DB_INT(c->user.id), DB_INT(c->user.id)));
    if (!r)
        return -1;
    *n = db_get_int(r, 0, "n");
    *retry_s = db_get_int(r, 0, "retry_after_s");
    db_rows_free(r);
    return 0;
}

/* 0 the caller may submit n + 1; -1 the cap is reached (call failed: 429
 * with Retry-After). */
static int cap_or_fail(gw_call_t *c, long long n, long long retry_s)
{
    if (n < gw_cfg->lead_daily_max_per_submitter)
        return 0;
    c->retry_after_s = retry_s > 0 ? (int)retry_s : 1;
    call_fail(c, ERR_RATE_LIMITED, NULL, "at most %d lead submissions in 24 hours; retry in %d s",
              gw_cfg->lead_daily_max_per_submitter, c->retry_after_s);
    log_info("leads", "user %lld reached the daily lead cap (%lld in 24 h)", c->user.id, n);
    return -1;
}

static void store_lead(gw_call_t *c, db_conn_t *db);
static void exchange_phone_code(gw_call_t *c);

/* Before asking WeChat for the number. The transaction checks again. */
static void check_cap(gw_call_t *c, db_conn_t *db)
{
    long long n, retry_s;
    if (count_recent(c, db, &n, &retry_s) != 0) {
        call_fail_db(c);
        return;
    }
    if (cap_or_fail(c, n, retry_s) == 0)
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

/* What the intake's first statement reads besides the locked rows. */
typedef struct {
    char project_name[LEAD_PROJECT_NAME_BYTES];
    referral_binding_t binding;
} intake_context_t;

/* The transaction's first statement: locks the submitter's user row and
 * the phone's open lead of the project (if there is one: lead_id NULL
 * otherwise); reads the project (project_name NULL when it is unknown or
 * takes no leads), whether its assignment cursor exists, the submitter's
 * binding, and counts the submitter's recent submissions. Both rows are
 * read by unique key before the subqueries, which are correlated with the
 * locked user row, so the counts see every submission committed by whoever
 * held the lock before. The subqueries are plain reads and lock nothing.
 * Takes (project, project, project, phone, user). */
static const char *SQL_LOCK_INTAKE =
    "SELECT (SELECT p.name FROM projects p WHERE p.id = ? AND p.open_for_leads = 1) AS project_name,"
    " (SELECT " LEAD_ASSIGN_CURSOR_EXISTS " FROM projects p WHERE p.id = ?) AS cursor_exists,"
    " " REFERRAL_BINDING_COLUMNS("u.id") ", " RECENT_SUBMISSIONS_COLUMNS(
        "u.id") ", l.id AS lead_id,"
                " COALESCE(l.submitted_by_user_id, 0) AS submitted_by, l.phone_verified AS phone_verified,"
                " COALESCE(l.agent_user_id, 0) AS agent, l.channel AS channel, l.name AS name"
                " FROM users u LEFT JOIN leads l ON l.project_id = ? AND l.open_phone = ? WHERE u.id = ? FOR UPDATE";

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
 * the project (found: o->lead_id and the lead's fields are set) as its
 * submitter, its verified holder or anyone else may. 0, or -1 (db error; a
 * unique-key error means a concurrent first submission of the phone won,
 * and the retry finds its lead). */
static int create_or_apply(gw_call_t *c, db_conn_t *db, const lead_form_t *f, int found, long long submitted_by,
                           lead_outcome_t *o)
{
    db_param_t me = f->verified ? DB_INT(c->user.id) : DB_NULL;
    if (!found) {
        const char *channel = f->channel ? f->channel : "organic";
        o->outcome = SUBMISSION_CREATED;
        utf8_copy(o->channel, sizeof(o->channel), channel);
        utf8_copy(o->lead_name, sizeof(o->lead_name), f->name);
        if (db_exec(db, SQL_INSERT_LEAD,
                    DB_ARGS(DB_INT(f->project_id), DB_STR(f->name), DB_STR(f->phone), DB_INT(f->verified), me,
                            DB_STR(f->phone), DB_INT(c->user.id), DB_STR(channel), DB_STR(f->layout), DB_STR(f->area),
                            DB_STR(f->budget), DB_STR(f->note), DB_STR(gw_cfg->privacy_notice_version),
                            DB_INT(gw_cfg->lead_first_contact_s))) != 0)
            return -1;
        o->lead_id = (long long)db_insert_id(db);
        return db_exec(db,
                       "INSERT INTO lead_stage_history (lead_id, from_stage, to_stage, actor_user_id)"
                       " VALUES (?, NULL, 'new', ?)",
                       DB_ARGS(DB_INT(o->lead_id), DB_INT(c->user.id)));
    }
    if (submitted_by != c->user.id && !f->verified) {
        o->outcome = SUBMISSION_RECORDED;
        return db_exec(db, "UPDATE leads SET submissions = submissions + 1 WHERE id = ?", DB_ARGS(DB_INT(o->lead_id)));
    }
    o->outcome = SUBMISSION_UPDATED;
    utf8_copy(o->lead_name, sizeof(o->lead_name), f->name);
    return db_exec(db, SQL_UPDATE_LEAD,
                   DB_ARGS(DB_STR(f->name), DB_STR(f->layout), DB_STR(f->area), DB_STR(f->budget), DB_STR(f->note),
                           DB_STR(gw_cfg->privacy_notice_version), DB_INT(f->verified), me, DB_STR(f->phone), me,
                           DB_INT(o->lead_id)));
}

/* What intake() answers besides committed (1), refused (0) and a db error
 * (-1): the project has no assignment cursor yet (nothing written). */
#define INTAKE_NO_CURSOR 2

/* One attempt of the transaction (see the top of the file). 1 committed,
 * 0 refused: the project is unknown or closed (404) or the cap is reached
 * (429) (call failed; the caller rolls back), -1 db error (the caller rolls
 * back), INTAKE_NO_CURSOR (the caller rolls back, creates it and tries
 * again). */
static int intake(gw_call_t *c, db_conn_t *db, const lead_form_t *f, intake_context_t *ctx, lead_outcome_t *o)
{
    memset(o, 0, sizeof(*o));
    if (db_begin(db) != 0)
        return -1;
    db_rows_t *r = db_query(db, SQL_LOCK_INTAKE,
                            DB_ARGS(DB_INT(f->project_id), DB_INT(f->project_id), DB_INT(f->project_id),
                                    DB_STR(f->phone), DB_INT(c->user.id)));
    if (!r)
        return -1;
    if (r->nrows != 1) { /* the caller's own row: the auth step has just read it */
        log_error("leads", "user %lld has no row to lock", c->user.id);
        db_rows_free(r);
        return -1;
    }
    int project = !db_is_null(r, 0, "project_name"), cursor = db_get_int(r, 0, "cursor_exists") != 0;
    utf8_copy(ctx->project_name, sizeof(ctx->project_name), project ? db_get(r, 0, "project_name") : "");
    referral_binding_from_row(r, &ctx->binding);
    long long n = db_get_int(r, 0, "n"), retry_s = db_get_int(r, 0, "retry_after_s"), submitted_by = 0;
    int found = !db_is_null(r, 0, "lead_id");
    if (found) {
        o->lead_id = db_get_int(r, 0, "lead_id");
        submitted_by = db_get_int(r, 0, "submitted_by");
        o->was_verified = db_get_int(r, 0, "phone_verified") != 0;
        o->agent = db_get_int(r, 0, "agent");
        utf8_copy(o->channel, sizeof(o->channel), db_get(r, 0, "channel"));
        utf8_copy(o->lead_name, sizeof(o->lead_name), db_get(r, 0, "name"));
    }
    db_rows_free(r);
    if (!project) {
        call_fail(c, ERR_NOT_FOUND, "project_id", "project %lld does not exist or takes no leads", f->project_id);
        return 0;
    }
    if (!cursor)
        return INTAKE_NO_CURSOR;
    if (cap_or_fail(c, n, retry_s) != 0)
        return 0;
    if (create_or_apply(c, db, f, found, submitted_by, o) != 0 ||
        db_exec(db, "INSERT INTO lead_submissions (lead_id, user_id, phone_verified, outcome) VALUES (?, ?, ?, ?)",
                DB_ARGS(DB_INT(o->lead_id), DB_INT(c->user.id), DB_INT(f->verified),
                        DB_STR(outcome_names[o->outcome]))) != 0)
        return -1;
    o->submission_id = (long long)db_insert_id(db);
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
    if (referral_lock_for_lead(db, &ri, &o->referral) != 0)
        return -1;
    /* A lead whose referral locks now counts as a referral, unless the
     * submission names its channel. */
    if (o->referral.status == REFERRAL_LOCKED && !f->channel) {
        utf8_copy(o->channel, sizeof(o->channel), "referral");
        if (db_exec(db, "UPDATE leads SET channel = 'referral' WHERE id = ?", DB_ARGS(DB_INT(o->lead_id))) != 0)
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
        if (lead_assign(db, &ai, &o->agent) < 0)
            return -1;
    }
    return db_commit(db) == 0 ? 1 : -1;
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
 * committed lead. A project's first lead creates the project's cursor in
 * its own statement between two attempts, so that no transaction holds a
 * lock on the missing row (lead_assign.h). 1 committed, 0 refused (call
 * failed), -1 db error. */
static int intake_with_retries(gw_call_t *c, db_conn_t *db, const lead_form_t *f, intake_context_t *ctx,
                               lead_outcome_t *o)
{
    for (int attempt = 1;; attempt++) {
        int rc = intake(c, db, f, ctx, o);
        if (rc == 0 || rc == 1)
            return rc; /* committed, or refused: the runner rolls back */
        /* Rolled back here, not by the runner: the call goes on with a
         * retry, which must start a transaction of its own. */
        unsigned e = db_errno(db);
        db_rollback(db);
        if (rc == INTAKE_NO_CURSOR) {
            if (attempt >= 3 || lead_assign_create_cursor(db, f->project_id) != 0)
                return -1;
            continue;
        }
        if (attempt >= 3 || (e != DB_ER_DUP_ENTRY && e != DB_ER_LOCK_DEADLOCK))
            return -1;
    }
}

static void store_lead(gw_call_t *c, db_conn_t *db)
{
    const lead_form_t *f = c->state;
    intake_context_t ctx;
    lead_outcome_t o;
    int rc = intake_with_retries(c, db, f, &ctx, &o);
    if (rc < 0)
        call_fail_db(c);
    else if (rc > 0)
        respond(c, f, &o, ctx.project_name);
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
