/* staff_release.c: see staff_release.h. */
#include "staff_release.h"

#include "../gateway/log.h"
#include "lead_assign.h"

static const char *SQL_OPEN_LEADS_OF_AGENT =
    "SELECT l.id, l.stage, l.channel, l.name, l.phone, p.name AS project_name"
    " FROM leads l JOIN projects p ON p.id = l.project_id"
    " WHERE l.agent_user_id = ? AND l.project_id = ? AND l.stage IN ('new', 'contacted', 'visited', 'subscribed')"
    " ORDER BY l.id FOR UPDATE";

int staff_release_agent_leads(db_conn_t *db, long long agent_user_id, long long project_id, long long actor_user_id)
{
    int n = -1;
    db_rows_t *r = db_query(db, SQL_OPEN_LEADS_OF_AGENT, DB_ARGS(DB_INT(agent_user_id), DB_INT(project_id)));
    if (!r)
        return -1;
    for (int i = 0; i < r->nrows; i++) {
        long long lead = db_get_int(r, i, "id");
        const char *stage = db_get(r, i, "stage");
        if (db_exec(db, "UPDATE leads SET agent_user_id = NULL, assigned_at = NULL WHERE id = ? AND agent_user_id = ?",
                    DB_ARGS(DB_INT(lead), DB_INT(agent_user_id))) != 0 ||
            db_exec(db,
                    "INSERT INTO lead_stage_history (lead_id, from_stage, to_stage, reason, actor_user_id)"
                    " VALUES (?, ?, ?, 'agent_released', ?)",
                    DB_ARGS(DB_INT(lead), DB_STR(stage), DB_STR(stage), DB_INT(actor_user_id))) != 0)
            goto Exit;
        lead_assign_input_t in = {.lead_id = lead,
                                  .project_id = project_id,
                                  .project_name = db_get(r, i, "project_name"),
                                  .channel = db_get(r, i, "channel"),
                                  .customer_name = db_get(r, i, "name"),
                                  .phone = db_get(r, i, "phone")};
        long long agent = 0;
        if (lead_assign(db, &in, &agent) < 0)
            goto Exit;
    }
    n = r->nrows;
    if (n > 0)
        log_info("staff", "released %d open leads of agent %lld in project %lld", n, agent_user_id, project_id);
Exit:
    db_rows_free(r);
    return n;
}
