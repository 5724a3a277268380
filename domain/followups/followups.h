/* followups.h: follow-up visits (回访) of any subject: a repair ticket now,
 * a complaint through the same calls (kind "complaint").
 *
 * A follow-up names its subject (kind, subject_id and the subject's round:
 * a repair's rework_count, 0 for a subject without rounds), the project,
 * the owner to call, why it was opened (a poor rating, or the sample of
 * closed subjects), the service-desk member it is assigned to and its
 * deadline (now + followup_due_hours). One per subject and round: opening
 * it again is a no-op.
 *
 * Assignment: the active service (客服) member of the project with the
 * fewest open follow-ups (ties: the lowest user id); none in the project
 * leaves it in the pool (assignee NULL), which every service member of the
 * project sees and may take by recording a result.
 *
 * The owner contact limit (domain/service/contact_limit.h) applies: a
 * sampled owner asked within owner_contact_min_days is skipped; a poor
 * rating always gets its follow-up and counts as a contact when the limit
 * allows (so a survey does not follow on its heels).
 *
 * Every call runs inside the caller's open transaction on a DB worker. */
#ifndef GW_FOLLOWUPS_H
#define GW_FOLLOWUPS_H
#include <stdint.h>

#include "gateway/db.h"

#define FOLLOWUP_POOR_RATING "poor_rating"
#define FOLLOWUP_SAMPLE "sample"

/* Opens a follow-up of (kind, subject_id, round) for `reason`
 * (FOLLOWUP_POOR_RATING or FOLLOWUP_SAMPLE; score: a poor rating's lowest
 * dimension, 0 none). Returns its id, 0 when the subject's round has one
 * already, -1 on a database error. Notifies nobody: the caller tells whom
 * its subject's practice says (a poor repair rating: its supervisors). */
long long followup_open(db_conn_t *db, const char *kind, long long subject_id, int round, long long project_id,
                        long long owner_user_id, const char *reason, int score);

/* Pure: whether subject (kind, subject_id) falls in the sample of
 * `percent` (0-100) under `seed`: FNV-1a 64 of "<seed>:<kind>:<subject_id>"
 * modulo 100 is below percent. The same seed always picks the same
 * subjects. */
int followup_sampled(long long seed, const char *kind, long long subject_id, int percent);

/* When the closed subject falls in the sample (followup_sample_percent,
 * followup_sample_seed) and the owner may be asked now (the contact limit,
 * claimed here): opens a FOLLOWUP_SAMPLE follow-up and returns its id; 0
 * when not sampled, skipped by the contact limit or already followed up;
 * -1 on a database error. */
long long followup_sample(db_conn_t *db, const char *kind, long long subject_id, int round, long long project_id,
                          long long owner_user_id);

/* The subject's notification payload's common part: followup_id, kind,
 * subject_id, project_id. Caller frees. NULL when memory runs out. */
struct cJSON *followup_payload(long long followup_id, const char *kind, long long subject_id, long long project_id);

/* Writes event `kind` about follow-up `followup_id` of (subject_kind,
 * subject_id) to user_id: a repair's event carries the ticket's payload
 * (repair_events.h), any other subject followup_payload's; both with the
 * keys of extra (borrowed, may be NULL). 0 or -1. */
int followup_notify(db_conn_t *db, const char *kind, long long user_id, long long followup_id, const char *subject_kind,
                    long long subject_id, long long project_id, const struct cJSON *extra);

/* Writes event `kind` to every active supervisor of the project (as
 * followup_notify). How many, or -1. */
int followup_notify_supervisors(db_conn_t *db, const char *kind, long long followup_id, const char *subject_kind,
                                long long subject_id, long long project_id, const struct cJSON *extra);

#endif
