/* leads.c: a buyer leaves their details (留资).
 *
 *   POST /api/v1/leads {project_id, name, phone | phone_code, interest, note, channel, consent}
 *
 * Steps: the form is checked on the loop; a phone_code is exchanged for the
 * number on a WeChat worker; then on a DB worker one read of the project
 * (with the submitter's referral binding) and one transaction that merges
 * the submission into the phone's open lead of the project or creates the
 * lead, locks the referral of a bound submitter, and assigns an agent.
 *
 * Concurrency: one open lead per phone and project is the unique key
 * (project_id, open_phone), and the merge-or-create is a single
 * INSERT ... ON DUPLICATE KEY UPDATE on it: a concurrent submission of the
 * same phone waits for the first one's row and then merges into it. The
 * project's assignment cursor is locked only by the assignment, the last
 * step before the commit (lead_assign.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../gateway/call.h"
#include "../gateway/config.h"
#include "../gateway/json_util.h"
#include "../gateway/log.h"
#include "../gateway/mask.h"
#include "../gateway/roles.h"
#include "../gateway/wechat_client.h"
#include "handlers.h"
#include "lead_assign.h"
#include "lead_rules.h"
#include "referral_attribution.h"

/* Strings point into the call's body, which lives as long as the call. */
typedef struct {
    long long project_id;
    const char *name, *phone_code, *layout, *area, *budget, *note, *channel;
    char phone[32];
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

static void store_lead(gw_call_t *c);
static void exchange_phone_code(gw_call_t *c);

static void check_form(gw_call_t *c)
{
    lead_form_t *f = call_state_new_or_fail(c, 1, sizeof(*f), free);
    if (!f)
        return;
    if (read_form(c, f) != 0)
        return;
    call_then(c, f->phone_code ? POOL_WECHAT : POOL_DB, f->phone_code ? exchange_phone_code : store_lead);
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
    call_then(c, POOL_DB, store_lead);
}

/* ---- the transaction ---- */

typedef struct {
    long long lead_id, agent;
    int deduplicated;
    char channel[17];
    referral_lock_result_t referral;
} lead_outcome_t;

/* What the intake reads before its transaction. */
typedef struct {
    char project_name[128];
    int cursor_exists;
    referral_binding_t binding;
} intake_context_t;

static const char *SQL_PROJECT_AND_BINDING =
    "SELECT p.name, " LEAD_ASSIGN_CURSOR_EXISTS ", " REFERRAL_BINDING_COLUMNS " FROM projects p" REFERRAL_BINDING_JOIN
    " WHERE p.id = ? AND p.open_for_leads = 1";

/* The phone's holder, if a user has bound it. */
#define SQL_PHONE_HOLDER "(SELECT id FROM users WHERE phone = ? AND disabled = 0 ORDER BY id LIMIT 1)"

/* Creates the lead, or merges the submission into the phone's open lead of
 * the project (the unique key (project_id, open_phone)): the new name, the
 * interest and note where given, a fresh consent, one more submission, the
 * holder if the lead had none; channel, submitter and agent stay. A merge
 * leaves the lead's id in LAST_INSERT_ID and reports 2 affected rows. */
static const char *SQL_UPSERT_LEAD =
    "INSERT INTO leads (project_id, name, phone, user_id, submitted_by_user_id, channel, interest_layout,"
    " interest_area, interest_budget, note, consent_at, privacy_notice_version, first_contact_due_at)"
    " VALUES (?, ?, ?, " SQL_PHONE_HOLDER ", ?, ?, ?, ?, ?, ?, NOW(3), ?, NOW(3) + INTERVAL ? SECOND)"
    " ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id), name = VALUES(name),"
    " interest_layout = COALESCE(VALUES(interest_layout), interest_layout),"
    " interest_area = COALESCE(VALUES(interest_area), interest_area),"
    " interest_budget = COALESCE(VALUES(interest_budget), interest_budget),"
    " note = COALESCE(VALUES(note), note), consent_at = NOW(3),"
    " privacy_notice_version = VALUES(privacy_notice_version), submissions = submissions + 1,"
    " user_id = COALESCE(user_id, VALUES(user_id))";

/* Merges or inserts; 0 or -1 (db error). */
static int upsert_lead(gw_call_t *c, const lead_form_t *f, lead_outcome_t *o)
{
    const char *channel = f->channel ? f->channel : "organic";
    if (db_exec(c->db, SQL_UPSERT_LEAD,
                DB_ARGS(DB_INT(f->project_id), DB_STR(f->name), DB_STR(f->phone), DB_STR(f->phone),
                        DB_INT(c->user.id), DB_STR(channel), DB_STR(f->layout), DB_STR(f->area),
                        DB_STR(f->budget), DB_STR(f->note), DB_STR(gw_cfg->privacy_notice_version),
                        DB_INT(gw_cfg->lead_first_contact_s))) != 0)
        return -1;
    o->lead_id = (long long)db_insert_id(c->db);
    o->deduplicated = db_affected_rows(c->db) != 1;
    if (!o->deduplicated) {
        snprintf(o->channel, sizeof(o->channel), "%s", channel);
        return db_exec(c->db,
                       "INSERT INTO lead_stage_history (lead_id, from_stage, to_stage, actor_user_id)"
                       " VALUES (?, NULL, 'new', ?)",
                       DB_ARGS(DB_INT(o->lead_id), DB_INT(c->user.id)));
    }
    /* The merged lead keeps its channel and agent (its row is locked now). */
    db_rows_t *r = db_query(c->db, "SELECT COALESCE(agent_user_id, 0), channel FROM leads WHERE id = ?",
                            DB_ARGS(DB_INT(o->lead_id)));
    if (!r)
        return -1;
    int found = r->nrows == 1;
    if (found) {
        o->agent = db_cell_int(r, 0, 0);
        snprintf(o->channel, sizeof(o->channel), "%s", db_cell(r, 0, 1));
    }
    db_rows_free(r);
    return found ? 0 : -1;
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
        snprintf(ctx->project_name, sizeof(ctx->project_name), "%s", db_cell(r, 0, 0));
        ctx->cursor_exists = db_cell_int(r, 0, 1) != 0;
        referral_binding_from_row(r, 2, &ctx->binding);
    }
    db_rows_free(r);
    if (!found)
        call_fail(c, ERR_NOT_FOUND, "project_id", "project %lld does not exist or takes no leads", f->project_id);
    return found;
}

/* One attempt of the transaction: the lead, its referral, then its
 * assignment (which locks the project's cursor) and the commit. 1 done,
 * -1 db error (the caller rolls back). */
static int intake(gw_call_t *c, const lead_form_t *f, const intake_context_t *ctx, lead_outcome_t *o)
{
    memset(o, 0, sizeof(*o));
    if (db_begin(c->db) != 0 || upsert_lead(c, f, o) != 0)
        return -1;
    referral_lock_input_t ri = {
        .lead_id = o->lead_id, .project_id = f->project_id, .project_name = ctx->project_name,
        .submitter_user_id = c->user.id, .binding = &ctx->binding, .lead_name = f->name, .lead_phone = f->phone,
        .lead_existed = o->deduplicated,
    };
    if (referral_lock_for_lead(c->db, &ri, &o->referral) != 0)
        return -1;
    /* A referred lead without an explicit channel counts as a referral. */
    if (o->referral.status == REFERRAL_LOCKED && !f->channel && !o->deduplicated) {
        snprintf(o->channel, sizeof(o->channel), "referral");
        if (db_exec(c->db, "UPDATE leads SET channel = 'referral' WHERE id = ?", DB_ARGS(DB_INT(o->lead_id))) != 0)
            return -1;
    }
    if (!o->agent) {
        lead_assign_input_t ai = {
            .lead_id = o->lead_id, .project_id = f->project_id, .project_name = ctx->project_name,
            .channel = o->channel, .customer_name = f->name, .phone = f->phone,
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

static void respond(gw_call_t *c, const lead_form_t *f, const lead_outcome_t *o, const char *project_name)
{
    char masked[32];
    mask_phone(f->phone, masked, sizeof(masked));
    cJSON *d = cJSON_CreateObject();
    cJSON *lead = cJSON_AddObjectToObject(d, "lead");
    cJSON_AddNumberToObject(lead, "id", (double)o->lead_id);
    cJSON_AddNumberToObject(lead, "project_id", (double)f->project_id);
    cJSON_AddStringToObject(lead, "project_name", project_name);
    cJSON_AddStringToObject(lead, "name", f->name);
    cJSON_AddStringToObject(lead, "phone_masked", masked);
    cJSON_AddStringToObject(lead, "channel", o->channel);
    cJSON_AddBoolToObject(lead, "assigned", o->agent != 0);
    cJSON_AddBoolToObject(d, "deduplicated", o->deduplicated);
    cJSON_AddItemToObject(d, "referral", referral_json(&o->referral));
    log_info("leads", "lead %lld %s: project %lld phone %s by user %lld", o->lead_id,
             o->deduplicated ? "merged" : "created", f->project_id, masked, c->user.id);
    call_ok(c, o->deduplicated ? 200 : 201, d);
}

/* Runs the transaction until it commits; a deadlock (or a unique-key error)
 * with a concurrent writer starts it over, and the next attempt sees the
 * committed lead. 1 committed, -1 db error. */
static int intake_with_retries(gw_call_t *c, const lead_form_t *f, const intake_context_t *ctx, lead_outcome_t *o)
{
    for (int attempt = 1;; attempt++) {
        if (intake(c, f, ctx, o) == 1)
            return 1;
        db_rollback(c->db);
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
    if (rc < 0 || (!ctx.cursor_exists && lead_assign_create_cursor(c->db, f->project_id) != 0) ||
        intake_with_retries(c, f, &ctx, &o) != 1) {
        call_fail_db(c);
        return;
    }
    respond(c, f, &o, ctx.project_name);
}

static const route_t routes[] = {
    {"POST", "/api/v1/leads", ROLE_ANY, BODY_JSON, POOL_LOOP, check_form, RATE_LEADS, WX_PHONE},
};

void leads_register(void)
{
    router_add(routes, sizeof(routes) / sizeof(routes[0]));
}
