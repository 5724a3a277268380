/* lead_assign.c: see lead_assign.h. */
#include "lead_assign.h"

#include <cjson/cJSON.h>
#include <time.h>

#include "../gateway/events.h"
#include "../gateway/log.h"
#include "../gateway/mask.h"
#include "lead_rules.h"

int lead_assign_lock_project(db_conn_t *db, long long project_id)
{
    /* ON DUPLICATE KEY takes the row's exclusive lock in one step (an
     * INSERT IGNORE would take a shared lock first, and two of those
     * upgrading at once deadlock). */
    if (db_exec(db,
                "INSERT INTO lead_assignment_cursors (project_id) VALUES (?)"
                " ON DUPLICATE KEY UPDATE project_id = project_id",
                DB_ARGS(DB_INT(project_id))) != 0)
        return -1;
    long long ignored;
    return db_query_int(db, &ignored,
                        "SELECT COALESCE(last_agent_user_id, 0) FROM lead_assignment_cursors"
                        " WHERE project_id = ? FOR UPDATE",
                        DB_ARGS(DB_INT(project_id))) < 0
               ? -1
               : 0;
}

static const char *SQL_CHANNEL_RULE_AGENT =
    "SELECT r.agent_user_id FROM lead_channel_rules r"
    " JOIN staff_roles s ON s.user_id = r.agent_user_id AND s.project_id = r.project_id AND s.role = 'agent'"
    " JOIN users u ON u.id = r.agent_user_id AND u.disabled = 0"
    " WHERE r.project_id = ? AND r.channel = ?";

/* The active agent after the cursor, wrapping to the first. */
static const char *SQL_NEXT_AGENT =
    "SELECT s.user_id FROM staff_roles s JOIN users u ON u.id = s.user_id AND u.disabled = 0"
    " WHERE s.project_id = ? AND s.role = 'agent'"
    " ORDER BY s.user_id > (SELECT COALESCE(last_agent_user_id, 0) FROM lead_assignment_cursors"
    "                       WHERE project_id = ?) DESC, s.user_id"
    " LIMIT 1";

/* 1 found, 0 none, -1 db error. */
static int choose_agent(db_conn_t *db, const lead_assign_input_t *in, long long *agent, const char **method)
{
    int found = db_query_int(db, agent, SQL_CHANNEL_RULE_AGENT, DB_ARGS(DB_INT(in->project_id), DB_STR(in->channel)));
    if (found != 0) {
        *method = "channel_rule";
        return found;
    }
    found = db_query_int(db, agent, SQL_NEXT_AGENT, DB_ARGS(DB_INT(in->project_id), DB_INT(in->project_id)));
    if (found != 1)
        return found;
    *method = "round_robin";
    if (db_exec(db, "UPDATE lead_assignment_cursors SET last_agent_user_id = ? WHERE project_id = ?",
                DB_ARGS(DB_INT(*agent), DB_INT(in->project_id))) != 0)
        return -1;
    return 1;
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
    if (db_exec(db, "UPDATE leads SET agent_user_id = ?, assigned_at = NOW(3) WHERE id = ?",
                DB_ARGS(DB_INT(agent), DB_INT(in->lead_id))) != 0 ||
        db_exec(db, "INSERT INTO lead_assignments (lead_id, agent_user_id, method) VALUES (?, ?, ?)",
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
