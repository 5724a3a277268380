/* lead_assign.h: giving a lead to an agent (DB worker, inside the caller's
 * transaction).
 *
 * A channel rule (lead_channel_rules) names the agent for leads of that
 * channel while the agent still holds the agent role in the project;
 * otherwise the project's active agents take turns (round robin over their
 * user ids, after the last one who got a lead). That choice is made in the
 * database, by the procedure lead_pick_agent (schema/023_lead_intake.sql),
 * for the intake (inside lead_intake) and for the leads returned to
 * assignment here alike. Every change of a lead's agent is a row of
 * lead_assignments, the lead's assignment timeline (method, from whom, by
 * whom, why), and the new agent gets a lead.assigned event, all in the
 * caller's transaction.
 *
 * Round robin under concurrency: the project's cursor row
 * (lead_assignment_cursors) is locked FOR UPDATE by the read that picks the
 * next agent, and stays locked until the caller commits, so concurrent
 * leads of a project take turns. Callers take it last. */
#ifndef GW_LEAD_ASSIGN_H
#define GW_LEAD_ASSIGN_H
#include <cjson/cJSON.h>

#include "gateway/db.h"

/* Borrowed strings: they only need to live during the call. */
typedef struct {
    long long lead_id;
    long long project_id;
    const char *project_name;
    const char *channel;
    const char *customer_name; /* masked in the event */
    const char *phone;         /* masked in the event; NULL once erased */
    /* A lead moved away from an agent (0/NULL: it had none). */
    long long from_agent;    /* the agent it leaves: never chosen again */
    long long actor_user_id; /* who moved it */
    const char *reason;
} lead_assign_input_t;

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

/* Creates the project's cursor row if it is missing (an agent's first role
 * in the project; lead_intake creates it too, before its transaction). 0 or
 * -1. */
int lead_assign_create_cursor(db_conn_t *db, long long project_id);

/* The lead.assigned payload's part that comes from the lead itself:
 * customer_name and phone_masked, both masked here. The caller adds
 * lead_id, project_id, project_name, channel and assigned_at (the intake's
 * procedure does it in SQL). NULL when out of memory; the caller owns the
 * result. */
cJSON *lead_assigned_payload_base(const char *customer_name, const char *phone);

#endif
