/* referral_attribution.h: locking a referral when a bound referee leaves a
 * lead, and keeping the referral (and its reward) in step with the lead's
 * stage. DB worker only, inside the caller's transaction, after the caller
 * has locked the lead (lead intake: the phone's open lead, locked or
 * inserted; stage changes: the lead row).
 *
 * The rules (see miniprogram-api.md, "Attribution"):
 *   - the submitter's binding must be active and unexpired;
 *   - the lead's phone must be verified: this submission proved it is the
 *     submitter's (WeChat's phone code, or the phone the submitter bound).
 *     A bound submitter's unverified lead locks nothing
 *     (REFERRAL_PENDING_VERIFICATION) and so blocks nobody: the phone's
 *     holder, or the same submitter once verified, can still lock it;
 *   - not a self-referral: the referrer is not the submitter and does not
 *     have the lead's phone;
 *   - not already a customer: the lead's phone is not in the project's owner
 *     roster and was not already a verified open lead of the project;
 *   - one referral per lead (unique key), fixed from then on except through
 *     a staff reassignment. */
#ifndef GW_REFERRAL_ATTRIBUTION_H
#define GW_REFERRAL_ATTRIBUTION_H
#include "gateway/db.h"
#include "gateway/errors.h"
#include "domain/leads/lead_rules.h"

/* The submitter's binding in force now (a binding past expires_at no longer
 * holds, even before a touch marks it expired). Lead intake reads it in its
 * transaction's first statement, which locks the submitter's row:
 * REFERRAL_BINDING_COLUMNS(user), 4 named columns (NULL when not bound)
 * for the user id `user` (a column of that statement), each a plain read
 * of the binding by its unique key (active_referee) that locks nothing;
 * then referral_binding_from_row. */
#define REFERRAL_BINDING_WHERE(user) " WHERE rb.active_referee = " user " AND rb.expires_at > NOW(3))"
#define REFERRAL_BINDING_COLUMNS(user)                                                                                 \
    "(SELECT rb.id FROM referral_bindings rb" REFERRAL_BINDING_WHERE(                                                  \
        user) " AS binding_id,"                                                                                        \
              " (SELECT rb.referrer_user_id FROM referral_bindings rb" REFERRAL_BINDING_WHERE(                         \
                  user) " AS binding_referrer_user_id,"                                                                \
                        " (SELECT UNIX_TIMESTAMP(rb.expires_at) FROM referral_bindings rb" REFERRAL_BINDING_WHERE(     \
                            user) " AS binding_expires_at,"                                                            \
                                  " (SELECT rbu.phone FROM referral_bindings rb JOIN users rbu ON rbu.id = "           \
                                  "rb.referrer_user_id" REFERRAL_BINDING_WHERE(user) " AS binding_referrer_phone"

typedef struct {
    long long id; /* 0: the submitter is not bound */
    long long referrer_user_id;
    long long expires_at;    /* unix seconds */
    char referrer_phone[33]; /* users.phone: up to 32 characters */
} referral_binding_t;

/* Fills *out from the REFERRAL_BINDING_COLUMNS of row 0. */
void referral_binding_from_row(const db_rows_t *r, referral_binding_t *out);

typedef struct {
    long long lead_id;
    long long project_id;
    const char *project_name;
    long long submitter_user_id;
    const referral_binding_t *binding; /* the submitter's, read by the transaction's first statement */
    const char *lead_name;
    const char *lead_phone;
    int phone_verified;    /* this submission proved the phone is the submitter's */
    int lead_existed;      /* the submission went to an open lead that existed before;
                                * 0: this transaction created the lead */
    int lead_was_verified; /* that lead's phone had been verified before this submission */
} referral_lock_input_t;

typedef enum {
    REFERRAL_NONE = 0,             /* the submitter is not bound to a referrer */
    REFERRAL_LOCKED,               /* locked now */
    REFERRAL_EXISTING,             /* the lead already had its referral */
    REFERRAL_REJECTED,             /* bound, but a rule refused it: see reason */
    REFERRAL_PENDING_VERIFICATION, /* bound, but the phone is not verified: nothing locked */
} referral_lock_status_t;

typedef struct {
    referral_lock_status_t status;
    err_code_t reason; /* REFERRAL_REJECTED: ERR_SELF_REFERRAL or ERR_ALREADY_CUSTOMER */
    long long referral_id;
    long long protection_expires_at; /* unix seconds */
} referral_lock_result_t;

/* 0 (result filled) or -1 (db error). */
int referral_lock_for_lead(db_conn_t *db, const referral_lock_input_t *in, referral_lock_result_t *out);

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
