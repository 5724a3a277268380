/* referral_attribution.c: see referral_attribution.h. */
#include "domain/leads/referral_attribution.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gateway/events.h"
#include "gateway/log.h"

static const char *SQL_PHONE_IN_ROSTER =
    "SELECT 1 FROM owners o JOIN units un ON un.id = o.unit_id JOIN buildings b ON b.id = un.building_id"
    " WHERE b.project_id = ? AND o.phone = ? LIMIT 1";

static cJSON *stage_payload(long long referral_id, long long lead_id, const char *project_name, const char *lead_name,
                            lead_stage_t stage, const char *reason)
{
    char name[64];
    lead_mask_name(lead_name, name, sizeof(name));
    cJSON *p = cJSON_CreateObject();
    cJSON_AddNumberToObject(p, "referral_id", (double)referral_id);
    cJSON_AddNumberToObject(p, "lead_id", (double)lead_id);
    cJSON_AddStringToObject(p, "project_name", project_name ? project_name : "");
    cJSON_AddStringToObject(p, "referee_name", name);
    cJSON_AddStringToObject(p, "stage", lead_stage_name(stage));
    cJSON_AddStringToObject(p, "stage_label", lead_stage_label(stage));
    if (reason)
        cJSON_AddStringToObject(p, "reason", reason);
    else
        cJSON_AddNullToObject(p, "reason");
    cJSON_AddNumberToObject(p, "changed_at", (double)time(NULL));
    return p;
}

static int emit_stage_changed(db_conn_t *db, long long referrer, cJSON *payload, long long referral_id)
{
    int rc = events_emit(db, "referral.stage_changed", referrer, "referral", referral_id, payload);
    cJSON_Delete(payload);
    return rc;
}

/* 1 when a rule refuses the lock (out->reason set), 0 when it may lock,
 * -1 db error. */
static int lock_refused(db_conn_t *db, const referral_lock_input_t *in, long long referrer, const char *referrer_phone,
                        referral_lock_result_t *out)
{
    if (referrer == in->submitter_user_id || (referrer_phone && !strcmp(referrer_phone, in->lead_phone))) {
        out->reason = ERR_SELF_REFERRAL;
        return 1;
    }
    /* The holder had left this lead before: a prospect already. An
     * unverified lead someone else filed for the phone does not count. */
    if (in->lead_existed && in->lead_was_verified) {
        out->reason = ERR_ALREADY_CUSTOMER;
        return 1;
    }
    long long one;
    int owner = db_query_int(db, &one, SQL_PHONE_IN_ROSTER, DB_ARGS(DB_INT(in->project_id), DB_STR(in->lead_phone)));
    if (owner < 0)
        return -1;
    if (owner) {
        out->reason = ERR_ALREADY_CUSTOMER;
        return 1;
    }
    return 0;
}

void referral_binding_from_row(const db_rows_t *r, referral_binding_t *out)
{
    memset(out, 0, sizeof(*out));
    out->id = db_get_int(r, 0, "binding_id");
    out->referrer_user_id = db_get_int(r, 0, "binding_referrer_user_id");
    out->expires_at = db_get_int(r, 0, "binding_expires_at");
    const char *phone = db_get(r, 0, "binding_referrer_phone");
    snprintf(out->referrer_phone, sizeof(out->referrer_phone), "%s", phone ? phone : "");
}

int referral_lock_for_lead(db_conn_t *db, const referral_lock_input_t *in, referral_lock_result_t *out)
{
    memset(out, 0, sizeof(*out));
    int rc = -1;
    db_rows_t *r = NULL;
    const referral_binding_t *b = in->binding;
    int bound = b && b->id;
    /* An unverified submission learns nothing about the lead it went to: the
     * answer depends only on the submitter's own binding. */
    if (!in->phone_verified) {
        out->status = bound ? REFERRAL_PENDING_VERIFICATION : REFERRAL_NONE;
        if (bound)
            log_info("referrals", "lead %lld: referral by user %lld waits for a verified phone", in->lead_id,
                     b->referrer_user_id);
        return 0;
    }
    /* A lead this transaction created cannot have a referral yet (nothing
     * else sees the lead before the commit): only an existing one is looked up. */
    if (in->lead_existed) {
        r = db_query(db,
                     "SELECT id, UNIX_TIMESTAMP(protection_expires_at) AS protection_expires_at FROM referrals"
                     " WHERE lead_id = ?",
                     DB_ARGS(DB_INT(in->lead_id)));
        if (!r)
            goto Exit;
        if (r->nrows == 1) {
            out->status = REFERRAL_EXISTING;
            out->referral_id = db_get_int(r, 0, "id");
            out->protection_expires_at = db_get_int(r, 0, "protection_expires_at");
            rc = 0;
            goto Exit;
        }
    }
    if (!bound) {
        out->status = REFERRAL_NONE;
        rc = 0;
        goto Exit;
    }
    long long binding = b->id, referrer = b->referrer_user_id, expires = b->expires_at;
    int refused = lock_refused(db, in, referrer, *b->referrer_phone ? b->referrer_phone : NULL, out);
    if (refused < 0)
        goto Exit;
    if (refused) {
        out->status = REFERRAL_REJECTED;
        log_info("referrals", "lead %lld: referral by user %lld refused (%s)", in->lead_id, referrer,
                 err_info(out->reason)->code);
        rc = 0;
        goto Exit;
    }
    if (db_exec(db,
                "INSERT INTO referrals (referrer_user_id, referee_user_id, project_id, lead_id, binding_id, stage,"
                " protection_expires_at) SELECT ?, ?, ?, ?, id, 'new', expires_at FROM referral_bindings WHERE id = ?",
                DB_ARGS(DB_INT(referrer), DB_INT(in->submitter_user_id), DB_INT(in->project_id), DB_INT(in->lead_id),
                        DB_INT(binding))) != 0)
        goto Exit;
    out->status = REFERRAL_LOCKED;
    out->referral_id = (long long)db_insert_id(db);
    out->protection_expires_at = expires;
    if (emit_stage_changed(
            db, referrer,
            stage_payload(out->referral_id, in->lead_id, in->project_name, in->lead_name, STAGE_NEW, NULL),
            out->referral_id) != 0)
        goto Exit;
    log_info("referrals", "referral %lld locked: lead %lld, referrer %lld", out->referral_id, in->lead_id, referrer);
    rc = 0;
Exit:
    db_rows_free(r);
    return rc;
}

/* At signed: the project's active rule, if any, becomes a pending reward.
 * The unique key on referral_id makes a second signed a no-op. */
static const char *SQL_CREATE_REWARD =
    "INSERT INTO referral_rewards (referral_id, rule_id, project_id, referrer_user_id, kind, amount)"
    " SELECT ?, w.id, w.project_id, ?, w.kind, w.amount FROM reward_rules w"
    " WHERE w.project_id = ? AND w.active = 1"
    " ON DUPLICATE KEY UPDATE referral_id = referral_id";

/* 退房: an unpaid reward is cancelled; a paid one is marked for clawback. */
static const char *SQL_CANCEL_REWARD =
    "UPDATE referral_rewards SET status = IF(status = 'paid', 'clawback', 'cancelled'),"
    " cancelled_at = NOW(3), cancel_reason = ?"
    " WHERE referral_id = ? AND status IN ('pending', 'approved', 'paid')";

int referral_follow_lead_stage(db_conn_t *db, const referral_stage_input_t *in, long long *referral_id)
{
    *referral_id = 0;
    int rc = -1;
    db_rows_t *r = db_query(db, "SELECT id, referrer_user_id, project_id FROM referrals WHERE lead_id = ? FOR UPDATE",
                            DB_ARGS(DB_INT(in->lead_id)));
    if (!r)
        goto Exit;
    if (r->nrows == 0) {
        rc = 0;
        goto Exit;
    }
    long long id = db_get_int(r, 0, "id"), referrer = db_get_int(r, 0, "referrer_user_id"),
              project = db_get_int(r, 0, "project_id");
    if (db_exec(db, "UPDATE referrals SET stage = ? WHERE id = ?",
                DB_ARGS(DB_STR(lead_stage_name(in->stage)), DB_INT(id))) != 0)
        goto Exit;
    if (in->stage == STAGE_SIGNED &&
        db_exec(db, SQL_CREATE_REWARD, DB_ARGS(DB_INT(id), DB_INT(referrer), DB_INT(project))) != 0)
        goto Exit;
    if (in->stage == STAGE_CANCELLED && db_exec(db, SQL_CANCEL_REWARD, DB_ARGS(DB_STR(in->reason), DB_INT(id))) != 0)
        goto Exit;
    if (emit_stage_changed(db, referrer,
                           stage_payload(id, in->lead_id, in->project_name, in->lead_name, in->stage, in->reason),
                           id) != 0)
        goto Exit;
    *referral_id = id;
    rc = 0;
Exit:
    db_rows_free(r);
    return rc;
}
