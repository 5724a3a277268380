/* repair_dispatch.h: choosing the engineer for a ticket.
 *
 * Rules map (project, building or any, category or any) to an engineer
 * group; the most specific matching rule wins (building and category, then
 * building, then category, then the project-wide rule). Among the group's
 * members who are active engineers of the project and have not declined this
 * ticket, the one with the fewest open tickets (dispatched, accepted,
 * in_progress) is picked, the lowest user id on a tie. When no rule matches,
 * or the matched group has nobody eligible, every active engineer of the
 * project is eligible. */
#ifndef GW_REPAIR_DISPATCH_H
#define GW_REPAIR_DISPATCH_H
#include "gateway/db.h"

/* Why an engineer would be picked. */
typedef struct {
    long long rule_id, group_id; /* the matching rule and its group; 0 when no rule matches */
    long long engineer_id;       /* 0: nobody */
    long long open_load;         /* the engineer's open tickets, the measure of the choice */
    /* "group": a member of the rule's group; "project": any engineer of the
     * project (no rule matched, or nobody in the group was eligible); NULL:
     * nobody (the ticket waits for a supervisor). Static. */
    const char *via;
} repair_pick_t;

/* The choice itself, for a ticket of (project, building, category): the one
 * code path of dispatch, also run by the dispatch preview with ticket_id 0
 * (no ticket yet, so nobody has declined it). Reads only. 1 found, 0 nobody,
 * -1 db error; *out says why either way. */
int repair_pick_for(db_conn_t *db, long long project, long long building, long long category, long long ticket_id,
                    repair_pick_t *out);

/* The engineer to give the ticket to: 1 with *engineer_id, 0 nobody, -1 db error. */
int repair_pick_engineer(db_conn_t *db, long long ticket_id, long long *engineer_id);

/* Dispatches a submitted ticket inside the caller's transaction: the
 * transition with its timeline row, repair.dispatched to the owner and
 * repair.assigned to the engineer. With nobody to pick, the ticket stays
 * submitted and, if tell_supervisors, every supervisor of the project gets
 * repair.escalated (reason "no_engineer").
 * Returns 1 dispatched, 0 not dispatched (nobody, or the ticket was no longer
 * submitted), -1 db error (the caller rolls back). */
int repair_dispatch(db_conn_t *db, long long ticket_id, int tell_supervisors);

/* An engineer no longer holds the engineer role in a project (revoked, in
 * the caller's transaction, before this call): each of their open tickets
 * there (dispatched, accepted, in_progress) goes back to submitted with an
 * "unassign" timeline row by the actor, is marked as declined by them (so
 * dispatch never gives it back to them, even after a new grant), and is
 * dispatched again (repair_dispatch: the owner and the new engineer are
 * told, or the supervisors when nobody is available).
 * *ids: the tickets released (malloc'ed, the caller frees; NULL when none),
 * for repair_cache_forget() after the commit; each one's stored view is
 * written (repair_view_store). Returns how many, or -1 on a
 * db error (the caller rolls back). */
int repair_release_engineer(db_conn_t *db, long long engineer_id, long long project_id, long long actor_user_id,
                            const char *actor_role, const char *note, long long **ids);

#endif
