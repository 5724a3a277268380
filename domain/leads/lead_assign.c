/* lead_assign.c: see lead_assign.h. */
#include "domain/leads/lead_assign.h"

#include <cjson/cJSON.h>
#include <time.h>

#include "gateway/config.h"
#include "gateway/events.h"
#include "gateway/log.h"
#include "gateway/mask.h"
#include "domain/leads/lead_access.h"
#include "domain/leads/lead_rules.h"

/* Locks the cursor and, in the same round trip, reads the agent a channel
 * rule names (parameter 1: the channel) and the active agent after the
 * cursor's last one, wrapping to the first; neither is the agent the lead
 * leaves (parameters 2 and 3; 0 at the intake). FOR UPDATE locks only the
 * cursor row: the subqueries are plain reads, and they see the locked,
 * latest cursor value. */
static const char *SQL_LOCK_CURSOR_AND_CHOOSE =
    "SELECT"
    " (SELECT r.agent_user_id FROM lead_channel_rules r"
    "  JOIN staff_roles s ON s.user_id = r.agent_user_id AND s.project_id = r.project_id AND s.role = 'agent'"
    "  JOIN users u ON u.id = r.agent_user_id AND u.disabled = 0"
    "  WHERE r.project_id = c.project_id AND r.channel = ? AND r.agent_user_id <> ?) AS rule_agent,"
    " (SELECT s.user_id FROM staff_roles s JOIN users u ON u.id = s.user_id AND u.disabled = 0"
    "  WHERE s.project_id = c.project_id AND s.role = 'agent' AND s.user_id <> ?"
    "  ORDER BY s.user_id > COALESCE(c.last_agent_user_id, 0) DESC, s.user_id LIMIT 1) AS next_agent"
    " FROM lead_assignment_cursors c WHERE c.project_id = ? FOR UPDATE";

/* Round robin: the cursor moves to the agent and the lead gets the agent in
 * one statement (both rows are already this transaction's). */
static const char *SQL_ASSIGN_ROUND_ROBIN = "UPDATE lead_assignment_cursors c JOIN leads l ON l.id = ?"
                                            " SET c.last_agent_user_id = ?, l.agent_user_id = ?, l.assigned_at = NOW(3)"
                                            " WHERE c.project_id = ?";

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
 * cursor for round robin). 1 found, 0 none, -1 db error. */
static int choose_agent(db_conn_t *db, const lead_assign_input_t *in, long long *agent, const char **method)
{
    db_rows_t *r =
        db_query(db, SQL_LOCK_CURSOR_AND_CHOOSE,
                 DB_ARGS(DB_STR(in->channel), DB_INT(in->from_agent), DB_INT(in->from_agent), DB_INT(in->project_id)));
    if (!r)
        return -1;
    int cursor = r->nrows == 1;
    long long rule_agent = cursor ? db_get_int(r, 0, "rule_agent") : 0;
    long long next_agent = cursor ? db_get_int(r, 0, "next_agent") : 0;
    db_rows_free(r);
    if (!cursor) {
        log_error("leads", "project %lld has no assignment cursor row", in->project_id);
        return -1;
    }
    int rc;
    if (rule_agent) {
        *agent = rule_agent;
        *method = "channel_rule";
        rc = db_exec(db, SQL_SET_AGENT, DB_ARGS(DB_INT(rule_agent), DB_INT(rule_agent), DB_INT(in->lead_id)));
    } else if (next_agent) {
        *agent = next_agent;
        *method = "round_robin";
        rc = db_exec(db, SQL_ASSIGN_ROUND_ROBIN,
                     DB_ARGS(DB_INT(in->lead_id), DB_INT(next_agent), DB_INT(next_agent), DB_INT(in->project_id)));
    } else {
        return 0;
    }
    return rc == 0 ? 1 : -1;
}

static cJSON *assigned_payload(const lead_assign_input_t *in)
{
    char phone[32], name[64];
    mask_phone(in->phone, phone, sizeof(phone));
    lead_mask_name(in->customer_name ? in->customer_name : "", name, sizeof(name));
    cJSON *p = cJSON_CreateObject();
    cJSON_AddNumberToObject(p, "lead_id", (double)in->lead_id);
    cJSON_AddNumberToObject(p, "project_id", (double)in->project_id);
    cJSON_AddStringToObject(p, "project_name", in->project_name ? in->project_name : "");
    cJSON_AddStringToObject(p, "customer_name", name);
    cJSON_AddStringToObject(p, "phone_masked", phone);
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

int lead_assign(db_conn_t *db, const lead_assign_input_t *in, long long *agent_user_id)
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
