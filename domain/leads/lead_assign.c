/* lead_assign.c: see lead_assign.h. */
#include "domain/leads/lead_assign.h"

#include <cjson/cJSON.h>
#include <string.h>
#include <time.h>

#include "gateway/config.h"
#include "gateway/events.h"
#include "gateway/log.h"
#include "gateway/mask.h"
#include "domain/leads/lead_access.h"
#include "domain/leads/lead_rules.h"

/* The choice itself is the database's (schema/023_lead_intake.sql,
 * lead_pick_agent), the same the intake makes: it locks the cursor, chooses
 * and gives the lead to the agent (and moves the cursor for round robin) in
 * one round trip, and answers (agent, method). */
static const char *SQL_PICK_AGENT = "CALL lead_pick_agent_row(?, ?, ?, ?)";

/* Channel rules and manual choices; NULL unassigns. */
static const char *SQL_SET_AGENT =
    "UPDATE leads SET agent_user_id = ?, assigned_at = IF(? IS NULL, NULL, NOW(3)) WHERE id = ?";

/* A lead that changes hands before its first contact: the new agent gets the
 * whole first-contact time, and a late contact is reported again. */
static const char *SQL_FRESH_FIRST_CONTACT =
    "UPDATE leads SET first_contact_due_at = NOW(3) + INTERVAL ? SECOND, contact_overdue_at = NULL"
    " WHERE id = ? AND first_contacted_at IS NULL";

static const char *SQL_RECORD =
    "INSERT INTO lead_assignments (lead_id, agent_user_id, method, from_agent_user_id, actor_user_id, reason)"
    " VALUES (?, ?, ?, ?, ?, ?)";

int lead_assign_create_cursor(db_conn_t *db, long long project_id)
{
    /* ON DUPLICATE KEY: a concurrent first lead may have created it (and
     * errors other than that one still count, unlike INSERT IGNORE). */
    return db_exec(db,
                   "INSERT INTO lead_assignment_cursors (project_id) VALUES (?)"
                   " ON DUPLICATE KEY UPDATE project_id = project_id",
                   DB_ARGS(DB_INT(project_id)));
}

/* Locks the cursor, picks the agent and writes it to the lead (and to the
 * cursor for round robin). 1 found, 0 none, -1 db error (a missing cursor
 * row included). *method is a static string. */
static int choose_agent(db_conn_t *db, const lead_assign_input_t *in, long long *agent, const char **method)
{
    db_rows_t *r =
        db_query(db, SQL_PICK_AGENT,
                 DB_ARGS(DB_INT(in->lead_id), DB_INT(in->project_id), DB_STR(in->channel), DB_INT(in->from_agent)));
    if (!r)
        return -1;
    int found = r->nrows == 1 && !db_is_null(r, 0, "agent");
    if (found) {
        const char *m = db_get(r, 0, "method");
        *agent = db_get_int(r, 0, "agent");
        *method = m && !strcmp(m, "channel_rule") ? "channel_rule" : "round_robin";
    }
    db_rows_free(r);
    return found;
}

cJSON *lead_assigned_payload_base(const char *customer_name, const char *phone)
{
    char masked_phone[32], name[64];
    mask_phone(phone, masked_phone, sizeof(masked_phone));
    lead_mask_name(customer_name ? customer_name : "", name, sizeof(name));
    cJSON *p = cJSON_CreateObject();
    if (p && (!cJSON_AddStringToObject(p, "customer_name", name) ||
              !cJSON_AddStringToObject(p, "phone_masked", masked_phone))) {
        cJSON_Delete(p);
        return NULL;
    }
    return p;
}

static cJSON *assigned_payload(const lead_assign_input_t *in)
{
    cJSON *p = lead_assigned_payload_base(in->customer_name, in->phone);
    if (!p)
        return NULL;
    cJSON_AddNumberToObject(p, "lead_id", (double)in->lead_id);
    cJSON_AddNumberToObject(p, "project_id", (double)in->project_id);
    cJSON_AddStringToObject(p, "project_name", in->project_name ? in->project_name : "");
    cJSON_AddStringToObject(p, "channel", in->channel ? in->channel : "");
    cJSON_AddNumberToObject(p, "assigned_at", (double)time(NULL));
    return p;
}

/* The timeline row for the lead's new agent (0: none), the fresh deadline
 * of a moved lead, and the new agent's event. 0 or -1. */
static int record(db_conn_t *db, const lead_assign_input_t *in, long long agent, const char *method)
{
    if (db_exec(db, SQL_RECORD,
                DB_ARGS(DB_INT(in->lead_id), agent ? DB_INT(agent) : DB_NULL, DB_STR(method),
                        in->from_agent ? DB_INT(in->from_agent) : DB_NULL,
                        in->actor_user_id ? DB_INT(in->actor_user_id) : DB_NULL, DB_STR(in->reason))) != 0)
        return -1;
    int moved = in->from_agent || in->actor_user_id;
    if (moved &&
        db_exec(db, SQL_FRESH_FIRST_CONTACT, DB_ARGS(DB_INT(gw_cfg->lead_first_contact_s), DB_INT(in->lead_id))) != 0)
        return -1;
    if (!agent)
        return 0;
    cJSON *payload = assigned_payload(in);
    int rc = payload ? events_emit(db, "lead.assigned", agent, "lead", in->lead_id, payload) : -1;
    cJSON_Delete(payload);
    if (rc == 0)
        log_info("leads", "lead %lld assigned to agent %lld (%s)", in->lead_id, agent, method);
    return rc;
}

/* Chooses the agent (never in->from_agent) and gives them the lead. 1
 * assigned (*agent_user_id set), 0 the project has no other active agent
 * (nothing written), -1 db error (or no cursor row). */
static int lead_assign(db_conn_t *db, const lead_assign_input_t *in, long long *agent_user_id)
{
    const char *method = NULL;
    long long agent = 0;
    int found = choose_agent(db, in, &agent, &method);
    if (found <= 0) {
        if (found == 0)
            log_warn("leads", "project %lld has no active agent; lead %lld stays unassigned", in->project_id,
                     in->lead_id);
        return found;
    }
    if (record(db, in, agent, method) != 0)
        return -1;
    *agent_user_id = agent;
    return 1;
}

int lead_assign_to(db_conn_t *db, const lead_assign_input_t *in, long long agent)
{
    if (db_exec(db, SQL_SET_AGENT, DB_ARGS(DB_INT(agent), DB_INT(agent), DB_INT(in->lead_id))) != 0)
        return -1;
    return record(db, in, agent, "manual");
}

/* No agent is left for the lead: it waits unassigned. 0 or -1. */
static int unassign(db_conn_t *db, const lead_assign_input_t *in)
{
    if (db_exec(db, SQL_SET_AGENT, DB_ARGS(DB_NULL, DB_NULL, DB_INT(in->lead_id))) != 0)
        return -1;
    return record(db, in, 0, "unassigned");
}

/* Open leads only: a signed one is closed business and stays with the agent
 * who signed it (their numbers, the referral's reward); lost and cancelled
 * ones need nobody. */
static const char *SQL_AGENT_OPEN_LEADS =
    "SELECT id, name, phone, channel FROM leads"
    " WHERE agent_user_id = ? AND project_id = ? AND stage IN ('new', 'contacted', 'visited', 'subscribed')"
    " ORDER BY id FOR UPDATE";

int lead_assign_release_agent(db_conn_t *db, long long user_id, long long project_id, long long actor_user_id)
{
    char project_name[LEAD_PROJECT_NAME_BYTES];
    int moved = -1;
    db_rows_t *r = db_query(db, SQL_AGENT_OPEN_LEADS, DB_ARGS(DB_INT(user_id), DB_INT(project_id)));
    if (!r)
        goto Exit;
    if (r->nrows == 0) {
        moved = 0;
        goto Exit;
    }
    if (lead_project_name(db, project_id, project_name, sizeof(project_name)) != 0 ||
        lead_assign_create_cursor(db, project_id) != 0)
        goto Exit;
    for (int i = 0; i < r->nrows; i++) {
        lead_assign_input_t in = {
            .lead_id = db_get_int(r, i, "id"),
            .project_id = project_id,
            .project_name = project_name,
            .channel = db_get(r, i, "channel"),
            .customer_name = db_get(r, i, "name"),
            .phone = db_get(r, i, "phone"),
            .from_agent = user_id,
            .actor_user_id = actor_user_id,
            .reason = "agent role revoked",
        };
        long long agent = 0;
        int found = lead_assign(db, &in, &agent);
        if (found < 0 || (found == 0 && unassign(db, &in) != 0))
            goto Exit;
    }
    moved = r->nrows;
    log_info("leads", "%d lead(s) of agent %lld in project %lld returned to assignment", moved, user_id, project_id);
Exit:
    db_rows_free(r);
    return moved;
}
