/* lead_assign.h: giving a lead to an agent (DB worker, inside the caller's
 * transaction, as its last step before the commit).
 *
 * A channel rule (lead_channel_rules) names the agent for leads of that
 * channel while the agent still holds the agent role in the project;
 * otherwise the project's active agents take turns (round robin over their
 * user ids, after the last one who got a lead). The choice is recorded in
 * lead_assignments, and a lead.assigned event for the agent is written in
 * the same transaction.
 *
 * Round robin under concurrency: the project's cursor row
 * (lead_assignment_cursors) is locked FOR UPDATE by the statement that reads
 * it and picks the next agent, and stays locked until the caller commits, so
 * concurrent leads of a project take turns. Only that tail of the intake
 * (choose, record, commit) is serialised per project; the caller does
 * everything else before. */
#ifndef GW_LEAD_ASSIGN_H
#define GW_LEAD_ASSIGN_H
#include "../gateway/db.h"

typedef struct {
    long long lead_id;
    long long project_id;
    const char *project_name;
    const char *channel;
    const char *customer_name;
    const char *phone;         /* masked in the event */
} lead_assign_input_t;

/* The project's cursor row must exist (lead_assign_create_cursor).
 * 1 assigned (*agent_user_id set), 0 the project has no active agent (the
 * lead stays unassigned), -1 db error (or no cursor row). */
int lead_assign(db_conn_t *db, const lead_assign_input_t *in, long long *agent_user_id);

/* For a query that reads the project's row as p: 1 when its cursor exists. */
#define LEAD_ASSIGN_CURSOR_EXISTS "EXISTS (SELECT 1 FROM lead_assignment_cursors WHERE project_id = p.id)"

/* Creates the project's cursor row (a project's first lead), in its own
 * statement before the intake's transaction (autocommit), so that no
 * transaction holds a gap lock on the missing row while concurrent first
 * leads insert it. 0 or -1. */
int lead_assign_create_cursor(db_conn_t *db, long long project_id);

#endif
