/* referrals_agent.c: an agent's view of the referrals of their leads.
 *
 *   GET /api/v1/agent/referrals?project=&cursor=&limit=   agent
 *
 * Referrals of the leads assigned to the caller, in the projects where the
 * caller holds the agent role now (LEAD_OWN_AGENT, read by the query
 * itself): a colleague's clients stay hidden. The referee's phone is masked
 * here; the lead itself shows it to its agent (handlers/leads/leads.c). */
#include "domain/leads/lead_access.h"
#include "domain/leads/lead_json.h"
#include "gateway/call.h"
#include "gateway/db_json.h"
#include "gateway/query.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"

/* Parameters: the caller, the project filter twice, the cursor, the limit.
 * assigned_to_me is always true (kept for compatibility), selected as a
 * comparison so that it renders as a boolean. */
static const char *SQL_AGENT_REFERRALS =
    "SELECT r.id, r.project_id AS `project.id`, p.name AS `project.name`, r.lead_id, l.name AS referee_name,"
    " l.phone AS referee_phone, r.id IS NOT NULL AS assigned_to_me, r.referrer_user_id AS `referrer.user_id`,"
    " ru.display_name AS `referrer.name`, r.stage,"
    " FLOOR(UNIX_TIMESTAMP(r.protection_expires_at)) AS protection_expires_at,"
    " FLOOR(UNIX_TIMESTAMP(r.locked_at)) AS locked_at, " LEAD_REWARD_COLUMNS
    " FROM referrals r JOIN projects p ON p.id = r.project_id JOIN leads l ON l.id = r.lead_id"
    " JOIN users ru ON ru.id = r.referrer_user_id LEFT JOIN referral_rewards w ON w.referral_id = r.id"
    " WHERE " LEAD_OWN_AGENT("l") " AND (? = 0 OR r.project_id = ?) AND r.id < ? ORDER BY r.id DESC LIMIT ?";

/* The row as selected, the referee's phone masked. */
static cJSON *agent_referral_json(const db_rows_t *r, int i, void *ud)
{
    (void)ud;
    cJSON *o = db_row_json(r, i);
    if (o && (lead_json_mask_phone(o, "referee_phone") != 0 ||
              lead_json_amount_display(cJSON_GetObjectItemCaseSensitive(o, "reward")) != 0)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static void list_agent_referrals(gw_call_t *c, db_conn_t *db)
{
    static const char *const keys[] = {"id"};
    long long project;
    page_t page;
    if (page_or_fail(c, 1, &page) != 0 || query_id_or_fail(c, "project", &project) != 0)
        return;
    db_rows_t *r = db_query(db, SQL_AGENT_REFERRALS,
                            DB_ARGS(DB_INT(c->user.id), DB_INT(project), DB_INT(project),
                                    DB_INT(page_key(&page, 0, PAGE_KEY_MAX)), DB_INT(page.limit + 1)));
    if (!r) {
        call_fail_db(c);
        return;
    }
    page_respond(c, &page, r, agent_referral_json, NULL, keys);
    db_rows_free(r);
}

static const route_t routes[] = {
    {"GET", "/api/v1/agent/referrals", ROLE_AGENT, BODY_NONE, DB_STEP(list_agent_referrals)},
};

void referrals_agent_register(void)
{
    ROUTES_REGISTER(routes);
}
