/* referral_attribution.h: a referral (and its reward) keeps in step with
 * its lead's stage. DB worker only, inside the caller's transaction, after
 * the caller has locked the lead row.
 *
 * A referral is locked when a bound referee leaves a lead; that happens in
 * the intake's one statement, the procedure lead_intake
 * (schema/023_lead_intake.sql), which holds the rules (see
 * miniprogram-api.md, "Attribution"):
 *   - the submitter's binding must be active and unexpired;
 *   - the lead's phone must be verified: this submission proved it is the
 *     submitter's (WeChat's phone code, or the phone the submitter bound).
 *     A bound submitter's unverified lead locks nothing
 *     (pending_verification) and so blocks nobody: the phone's holder, or
 *     the same submitter once verified, can still lock it;
 *   - not a self-referral: the referrer is not the submitter and does not
 *     have the lead's phone;
 *   - not already a customer: the lead's phone is not in the project's owner
 *     roster and was not already a verified open lead of the project;
 *   - one referral per lead (unique key), fixed from then on except through
 *     a staff reassignment. */
#ifndef GW_REFERRAL_ATTRIBUTION_H
#define GW_REFERRAL_ATTRIBUTION_H
#include <cjson/cJSON.h>

#include "domain/leads/lead_rules.h"
#include "gateway/db.h"

/* The referral.stage_changed payload's part that comes from the lead
 * itself: referee_name (masked), stage, stage_label and reason (or null).
 * The caller adds referral_id, lead_id, project_name and changed_at (the
 * intake's procedure does it in SQL). NULL when out of memory; the caller
 * owns the result. */
cJSON *referral_stage_payload_base(const char *lead_name, lead_stage_t stage, const char *reason);

typedef struct {
    long long lead_id;
    const char *project_name;
    const char *lead_name;
    lead_stage_t stage; /* the lead's new stage */
    const char *reason; /* lost/cancelled reason, or NULL */
} referral_stage_input_t;

/* The lead moved to in->stage: the referral follows, a reward is created at
 * signed (at most once: unique per referral) or cancelled / marked for
 * clawback at cancelled, and the referrer gets a referral.stage_changed
 * event. *referral_id is 0 when the lead has no referral. 0 or -1. */
int referral_follow_lead_stage(db_conn_t *db, const referral_stage_input_t *in, long long *referral_id);

#endif
