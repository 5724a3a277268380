/* referral_attribution.c: see referral_attribution.h. */
#include "domain/leads/referral_attribution.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gateway/events.h"
#include "gateway/log.h"

cJSON *referral_stage_payload_base(const char *lead_name, lead_stage_t stage, const char *reason)
{
    char name[64];
    lead_mask_name(lead_name, name, sizeof(name));
    cJSON *p = cJSON_CreateObject();
    if (!p || !cJSON_AddStringToObject(p, "referee_name", name) ||
        !cJSON_AddStringToObject(p, "stage", lead_stage_name(stage)) ||
        !cJSON_AddStringToObject(p, "stage_label", lead_stage_label(stage)) ||
        !(reason ? cJSON_AddStringToObject(p, "reason", reason) : cJSON_AddNullToObject(p, "reason"))) {
        cJSON_Delete(p);
        return NULL;
    }
    return p;
}

static cJSON *stage_payload(long long referral_id, long long lead_id, const char *project_name, const char *lead_name,
                            lead_stage_t stage, const char *reason)
{
    cJSON *p = referral_stage_payload_base(lead_name, stage, reason);
    if (!p)
        return NULL;
    cJSON_AddNumberToObject(p, "referral_id", (double)referral_id);
    cJSON_AddNumberToObject(p, "lead_id", (double)lead_id);
    cJSON_AddStringToObject(p, "project_name", project_name ? project_name : "");
    cJSON_AddNumberToObject(p, "changed_at", (double)time(NULL));
    return p;
}

static int emit_stage_changed(db_conn_t *db, long long referrer, cJSON *payload, long long referral_id)
{
    int rc = payload ? events_emit(db, "referral.stage_changed", referrer, "referral", referral_id, payload) : -1;
    cJSON_Delete(payload);
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
