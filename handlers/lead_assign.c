/* lead_assign.c: see lead_assign.h. */
#include "lead_assign.h"

#include <cjson/cJSON.h>
#include <time.h>

#include "../gateway/events.h"
#include "../gateway/log.h"
#include "../gateway/mask.h"
#include "lead_rules.h"

/* Locks the cursor and, in the same round trip, reads the agent a channel
 * rule names (parameter 1: the channel) and the active agent after the
 * cursor's last one, wrapping to the first. FOR UPDATE locks only the
 * cursor row: the subqueries are plain reads, and they see the locked,
 * latest cursor value. */
static const char *SQL_LOCK_CURSOR_AND_CHOOSE =
    "SELECT"
    " (SELECT r.agent_user_id FROM lead_channel_rules r"
    "  JOIN staff_roles s ON s.user_id = r.agent_user_id AND s.project_id = r.project_id AND s.role = 'agent'"
    "  JOIN users u ON u.id = r.agent_user_id AND u.disabled = 0"
    "  WHERE r.project_id = c.project_id AND r.channel = ?),"
    " (SELECT s.user_id FROM staff_roles s JOIN users u ON u.id = s.user_id AND u.disabled = 0"
    "  WHERE s.project_id = c.project_id AND s.role = 'agent'"
    "  ORDER BY s.user_id > COALESCE(c.last_agent_user_id, 0) DESC, s.user_id LIMIT 1)"
    " FROM lead_assignment_cursors c WHERE c.project_id = ? FOR UPDATE";

/* Round robin: the cursor moves to the agent and the lead gets the agent in
 * one statement (both rows are already this transaction's). */
static const char *SQL_ASSIGN_ROUND_ROBIN =
    "UPDATE lead_assignment_cursors c JOIN leads l ON l.id = ?"
    " SET c.last_agent_user_id = ?, l.agent_user_id = ?, l.assigned_at = NOW(3)"
    " WHERE c.project_id = ?";

static const char *SQL_ASSIGN_CHANNEL_RULE = "UPDATE leads SET agent_user_id = ?, assigned_at = NOW(3) WHERE id = ?";

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
    db_rows_t *r = db_query(db, SQL_LOCK_CURSOR_AND_CHOOSE, DB_ARGS(DB_STR(in->channel), DB_INT(in->project_id)));
    if (!r)
        return -1;
    int cursor = r->nrows == 1;
    long long rule_agent = cursor ? db_cell_int(r, 0, 0) : 0, next_agent = cursor ? db_cell_int(r, 0, 1) : 0;
    db_rows_free(r);
    if (!cursor) {
        log_error("leads", "project %lld has no assignment cursor row", in->project_id);
        return -1;
    }
    int rc;
    if (rule_agent) {
        *agent = rule_agent;
        *method = "channel_rule";
        rc = db_exec(db, SQL_ASSIGN_CHANNEL_RULE, DB_ARGS(DB_INT(rule_agent), DB_INT(in->lead_id)));
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
    lead_mask_name(in->customer_name, name, sizeof(name));
    cJSON *p = cJSON_CreateObject();
    cJSON_AddNumberToObject(p, "lead_id", (double)in->lead_id);
    cJSON_AddNumberToObject(p, "project_id", (double)in->project_id);
    cJSON_AddStringToObject(p, "project_name", in->project_name);
    cJSON_AddStringToObject(p, "customer_name", name);
    cJSON_AddStringToObject(p, "phone_masked", phone);
    cJSON_AddStringToObject(p, "channel", in->channel);
    cJSON_AddNumberToObject(p, "assigned_at", (double)time(NULL));
    return p;
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
    if (db_exec(db, "INSERT INTO lead_assignments (lead_id, agent_user_id, method) VALUES (?, ?, ?)",
                DB_ARGS(DB_INT(in->lead_id), DB_INT(agent), DB_STR(method))) != 0)
        return -1;
    cJSON *payload = assigned_payload(in);
    int rc = events_emit(db, "lead.assigned", agent, "lead", in->lead_id, payload);
    cJSON_Delete(payload);
    if (rc != 0)
        return -1;
    log_info("leads", "lead %lld assigned to agent %lld (%s)", in->lead_id, agent, method);
    *agent_user_id = agent;
    return 1;
}
