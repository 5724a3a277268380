/* lead_access.h: what the lead, referral and reward handlers look up about
 * a project on a DB worker: the staff roles a user holds there now, and the
 * project's name.
 *
 * The caller's role bitmask (gw_user_t.roles) is the union over every
 * project and may be up to auth_cache_ms old: it only lets a request reach a
 * staff route. Whether the caller may touch an object is decided by the
 * roles held in the object's own project, read from staff_roles by the
 * request itself (lead_project_roles, or the SQL fragments below inside the
 * query that reads the objects). */
#ifndef GW_LEAD_ACCESS_H
#define GW_LEAD_ACCESS_H
#include <stddef.h>

#include "gateway/call.h"
#include "gateway/db.h"
#include "domain/leads/lead_rules.h"

/* *roles = the ROLE_AGENT and ROLE_SUPERVISOR bits held in project_id, plus
 * ROLE_ADMIN when held (admin is global). 0, or -1 after a db error. */
int lead_project_roles(db_conn_t *db, long long user_id, long long project_id, unsigned *roles);

/* For a DB step that has just looked up (and locked) `what` `id` of
 * project_id: 0 when it was found and the caller holds one of the `need`
 * bits (roles.h) in that project now (*roles set; may be NULL); -1 with the
 * call failed otherwise: 404 "<what> <id> not found" when not found or not
 * allowed (so an object the caller may not touch does not seem to exist),
 * or the db error. */
int lead_access_or_fail(gw_call_t *c, db_conn_t *db, int found, long long project_id, unsigned need, const char *what,
                        long long id, unsigned *roles);

/* 0 when project_id exists and the caller manages it now (its supervisor,
 * or an admin); -1 answered otherwise: 404 when there is no such project,
 * 403 when the caller does not manage it (both naming field), or the db
 * error. */
int lead_manages_project_or_fail(gw_call_t *c, db_conn_t *db, long long project_id, const char *field);

/* For a query over rows with a project column: true when user ? manages that
 * project now (its supervisor, or an admin). Two parameters, both the user
 * id. Example: "... WHERE " LEAD_MANAGES("w.project_id") " AND ...". */
#define LEAD_MANAGES(project_col)                                                                                      \
    "(EXISTS (SELECT 1 FROM staff_roles ms WHERE ms.user_id = ? AND ms.role = 'admin' AND ms.project_id = 0)"          \
    " OR " project_col                                                                                                 \
    " IN (SELECT ms.project_id FROM staff_roles ms WHERE ms.user_id = ? AND ms.role = 'supervisor'))"

/* True when lead row `l` is assigned to user ? and that user still holds the
 * agent role in the lead's project. One parameter: the user id. */
#define LEAD_OWN_AGENT(l)                                                                                              \
    "(" l ".agent_user_id = ? AND EXISTS (SELECT 1 FROM staff_roles oa WHERE oa.user_id = " l ".agent_user_id"         \
    " AND oa.project_id = " l ".project_id AND oa.role = 'agent'))"

/* A lead row locked for a change (SELECT ... FOR UPDATE). */
typedef struct {
    long long project_id, agent; /* agent 0: unassigned */
    lead_stage_t stage;
    int erased;
    char name[257]; /* leads.name: VARCHAR(64) in utf8mb4 */
    char phone[33]; /* "" once erased */
    char channel[17];
} lead_locked_t;

/* Locks lead id in the caller's transaction. 1 found (*out filled), 0 no
 * such lead, -1 db error. */
int lead_lock(db_conn_t *db, long long id, lead_locked_t *out);

/* The caller's relation to a lead: none (another agent of the project
 * included), a manager (the project's supervisor, an admin), or its agent
 * while they hold the agent role in the lead's project. */
typedef enum { ACCESS_NONE = 0, ACCESS_MANAGE, ACCESS_AGENT_OF_LEAD } lead_access_t;

/* The caller's relation to a lead of project_id assigned to agent, from the
 * roles held there now. 0, or -1 after a db error. */
int lead_access(gw_call_t *c, db_conn_t *db, long long project_id, long long agent, lead_access_t *out);

/* Locks lead id in the open transaction and checks the caller may change
 * it: `need` is the least access required (the lead's agent may do what a
 * manager may, not the reverse). 0 ok (*l filled), -1 with the call failed:
 * 404 when the caller cannot see the lead, 403 when they can but lack
 * `need`, or the db error. */
int lead_lock_for_change_or_fail(gw_call_t *c, db_conn_t *db, long long id, lead_access_t need, lead_locked_t *l);

/* The body of a reassignment (of a lead to an agent, of a referral to a
 * referrer): {<to_field>: a user id, reason: 1..255 characters}. reason
 * points into the call's body, which lives as long as the call. */
typedef struct {
    long long to;
    const char *reason;
} lead_reassign_form_t;

/* For a route's BODY_CHECK: reads the body into a new lead_reassign_form_t
 * as the call's state, or fails the call (400 naming the field). */
void lead_reassign_check(gw_call_t *c, const char *to_field);

/* projects.name is VARCHAR(100) in utf8mb4: at most 400 bytes. */
#define LEAD_PROJECT_NAME_BYTES 401

/* Copies the project's name into out (whole characters only; "" when the
 * project is gone). 0, or -1 after a db error. */
int lead_project_name(db_conn_t *db, long long project_id, char *out, size_t outsz);

#endif
