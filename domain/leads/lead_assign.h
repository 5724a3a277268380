/* lead_assign.h: giving a lead to an agent (DB worker, inside the caller's
 * transaction).
 *
 * A channel rule (lead_channel_rules) names the agent for leads of that
 * channel while the agent still holds the agent role in the project;
 * otherwise the project's active agents take turns (round robin over their
 * user ids, after the last one who got a lead). Every change of a lead's
 * agent is a row of lead_assignments, the lead's assignment timeline
 * (method, from whom, by whom, why), and the new agent gets a lead.assigned
 * event, all in the caller's transaction.
 *
 * Round robin under concurrency: the project's cursor row
 * (lead_assignment_cursors) is locked FOR UPDATE by the statement that reads
 * it and picks the next agent, and stays locked until the caller commits, so
 * concurrent leads of a project take turns. Only that tail of the intake
 * (choose, record, commit) is serialised per project; the caller does
 * everything else before. */
#ifndef GW_LEAD_ASSIGN_H
#define GW_LEAD_ASSIGN_H
#include "gateway/db.h"

/* Borrowed strings: they only need to live during the call. */
typedef struct {
    long long lead_id;
    long long project_id;
    const char *project_name;
    const char *channel;
    const char *customer_name; /* masked in the event */
    const char *phone;         /* masked in the event; NULL once erased */
    /* A lead moved away from an agent; all 0/NULL at the intake. */
    long long from_agent;    /* the agent it leaves: never chosen again */
    long long actor_user_id; /* who moved it */
    const char *reason;
} lead_assign_input_t;

/* Chooses the agent (channel rule, else round robin; never in->from_agent)
 * and gives them the lead. The project's cursor row must exist
 * (lead_assign_create_cursor). 1 assigned (*agent_user_id set), 0 the
 * project has no other active agent (nothing written), -1 db error (or no
 * cursor row). */
int lead_assign(db_conn_t *db, const lead_assign_input_t *in, long long *agent_user_id);

/* A supervisor's choice: gives the lead to `agent` (the caller has checked
 * that they hold the agent role in the lead's project), recorded as
 * 'manual'. A lead not contacted yet gets a fresh first-contact deadline
 * (lead_first_contact_s from now). 0 or -1. */
int lead_assign_to(db_conn_t *db, const lead_assign_input_t *in, long long agent);

/* Returns the open leads (not lost or cancelled) of project_id assigned to
 * user_id to assignment, for when that user stops being an agent there.
 * Call it in the transaction that removes the role, after the staff_roles
 * row is gone. Each lead goes to the channel rule's agent or the next agent
 * in turn (never user_id), who gets a lead.assigned event; when no other
 * active agent is left, the lead becomes unassigned. Each move is a
 * lead_assignments row (from user_id, by actor_user_id, reason "agent role
 * revoked"), and a lead not contacted yet gets a fresh first-contact
 * deadline (the sweeper tells the supervisors if nobody contacts it). Locks
 * the leads, then the project's cursor (creating it if missing). Returns the
 * number of leads moved, or -1 (db error: the caller rolls back). */
int lead_assign_release_agent(db_conn_t *db, long long user_id, long long project_id, long long actor_user_id);

/* For a query that reads the project's row as p: 1 when its cursor exists. */
#define LEAD_ASSIGN_CURSOR_EXISTS "EXISTS (SELECT 1 FROM lead_assignment_cursors WHERE project_id = p.id)"

/* Creates the project's cursor row (a project's first lead), in its own
 * statement before the intake's transaction (autocommit), so that no
 * transaction holds a gap lock on the missing row while concurrent first
 * leads insert it. 0 or -1. */
int lead_assign_create_cursor(db_conn_t *db, long long project_id);

#endif
