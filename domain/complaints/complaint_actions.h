/* complaint_actions.h: the changes of a complaint that more than one route
 * or job makes: filing (the owner, or the service desk for them), proposing
 * a resolution (staff, or an incident's resolution on each linked
 * complaint) and closing (the owner accepts, staff, or the sweeper after
 * complaint_accept_days). Each runs inside the caller's transaction (the
 * complaint row locked by the caller, or inserted here) and writes the
 * state, its timeline row, the clocks and the owner's notification
 * together; the caller commits. */
#ifndef GW_COMPLAINT_ACTIONS_H
#define GW_COMPLAINT_ACTIONS_H
#include "domain/complaints/complaint.h"

/* What a filing holds. Strings are borrowed. */
typedef struct {
    long long user_id;    /* the owner */
    long long unit_id;    /* 0: none (project_id then names the project) */
    long long project_id; /* used when unit_id is 0 */
    const char *type, *category, *content;
    const char *channel;    /* miniprogram, hotline, front_desk, wechat_group */
    long long filed_by;     /* the staff member filing for the owner; 0 = the owner */
    const char *actor_role; /* owner or service */
    const long long *photo_ids;
    int nphotos;
    long long photo_owner_id; /* whose uploads the photos must be */
} complaint_filing_t;

/* Files a complaint: checks the unit (one of the owner's) or the project
 * (one where the owner has a unit) and the category (active, of the
 * project), locks the category (group-complaint detection), inserts the
 * complaint with its number and first timeline row and photos, starts its
 * clocks, runs detection and, when filed for the owner, tells them
 * (complaint.filed_for_you). 0 with *id set; -1 with the call failed
 * (404 unit_id/project_id, 400 category, 422 photo_ids, or a db error). */
int complaint_file_or_fail(gw_call_t *c, db_conn_t *db, const complaint_filing_t *f, long long *id);

/* from_state (submitted or in_progress) -> resolved with `text` as the
 * proposed resolution; tells the owner (complaint.resolved). 1 applied, 0
 * the complaint was not in from_state, -1 db error. */
int complaint_propose(db_conn_t *db, long long id, const char *from_state, const char *text, long long actor_user_id,
                      const char *actor_role);

/* from_state -> closed with close_reason "accepted", "auto" or "staff";
 * tells the owner (complaint.closed) unless they closed it themselves.
 * A closed complaint or suggestion gets its follow-up visit (回访,
 * domain/followups/followups.h): always after a rating of 2 or less (set
 * the rating before closing), else when it falls in the sample.
 * 1 applied, 0 not in from_state, -1 db error. */
int complaint_close(db_conn_t *db, long long id, const char *from_state, const char *reason, long long actor_user_id,
                    const char *actor_role, const char *note);

/* from_state (resolved: the owner rejects the resolution; closed: an
 * unsatisfied follow-up visit) -> in_progress: a new round (rejection_count
 * + 1, the resolution cleared, the clocks started again), the timeline row
 * `action` with `note`, the handler (or, with none, the supervisors) told
 * (complaint.rejected, reason = note). 1 applied, 0 not in from_state, -1
 * db error. */
int complaint_new_round(db_conn_t *db, long long id, const char *from_state, const char *action,
                        long long actor_user_id, const char *actor_role, const char *note);

#endif
