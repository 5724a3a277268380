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
#include "../gateway/db.h"

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

#endif
