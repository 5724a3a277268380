/* staff_release.h: what a person leaves behind when a staff role of theirs
 * in a project is revoked (DB worker, inside the revoking transaction, after
 * the grant row is deleted).
 *
 * Repair tickets are handled by repair_release_engineer (repair_dispatch.h);
 * this file handles an agent's leads. */
#ifndef GW_STAFF_RELEASE_H
#define GW_STAFF_RELEASE_H
#include "../gateway/db.h"

/* Each open lead (new, contacted, visited, subscribed) of the agent in the
 * project loses its agent, gets a lead_stage_history row recording the
 * release (the stage itself is unchanged; reason "agent_released"), and is
 * assigned again by lead_assign (channel rule or round robin among the
 * project's remaining active agents; the new agent gets lead.assigned). With
 * no agent left the lead stays unassigned. The project's assignment cursor
 * must exist (lead_assign_create_cursor, before the transaction).
 * Returns how many leads were released, or -1 on a db error. */
int staff_release_agent_leads(db_conn_t *db, long long agent_user_id, long long project_id,
                              long long actor_user_id);

#endif
