/* lead_assign.h: giving a lead to an agent (DB worker, inside the caller's
 * transaction).
 *
 * A channel rule (lead_channel_rules) names the agent for leads of that
 * channel while the agent still holds the agent role in the project;
 * otherwise the project's active agents take turns (round robin over their
 * user ids, after the last one who got a lead). The choice is recorded in
 * lead_assignments, and a lead.assigned event for the agent is written in
 * the same transaction. */
#ifndef GW_LEAD_ASSIGN_H
#define GW_LEAD_ASSIGN_H
#include "../gateway/db.h"

/* Locks the project's round-robin cursor (creating it on first use). Lead
 * intake of one project is serialised by this lock, which also makes the
 * "one open lead per phone" check race-free. Returns 0 or -1 (db error). */
int lead_assign_lock_project(db_conn_t *db, long long project_id);

typedef struct {
    long long lead_id;
    long long project_id;
    const char *project_name;
    const char *channel;
    const char *customer_name;
    const char *phone;         /* masked in the event */
} lead_assign_input_t;

/* Assigns the lead (after lead_assign_lock_project in the same transaction).
 * 1 assigned (*agent_user_id set), 0 the project has no active agent (the
 * lead stays unassigned), -1 db error. */
int lead_assign(db_conn_t *db, const lead_assign_input_t *in, long long *agent_user_id);

#endif
