/* contact_limit.h: how often the product may ask an owner for their
 * opinion. Surveys and follow-up visits (回访) share one limit: no owner is
 * asked more than once in owner_contact_min_days (0 = no limit), whatever
 * asked them (schema/026, table owner_contacts). DB workers only. */
#ifndef GW_CONTACT_LIMIT_H
#define GW_CONTACT_LIMIT_H
#include "gateway/db.h"

/* Inside the caller's open transaction: if user_id was not asked within the
 * limit, records that `kind` (a short static name: "survey", "followup")
 * number ref_id asks them now and returns 1; 0 when they were asked too
 * recently (nothing written), or when this very (kind, ref_id) already asked
 * them (the row stands: asking again is not a second contact); -1 on a
 * database error.
 *
 * Locks the user's row until the transaction ends, so two transactions
 * asking one owner at the same moment are ordered and only the first is
 * granted. The row counts from the caller's commit: a rollback frees the
 * owner again. */
int owner_contact_claim(db_conn_t *db, long long user_id, long long project_id, const char *kind, long long ref_id);

/* When user_id was last asked (unix seconds), 0 if never; -1 on error. Read
 * without a lock: for display and sampling, never to decide alone. */
long long owner_contact_last(db_conn_t *db, long long user_id);

#endif
