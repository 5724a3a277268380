/* leads_admin.c: sales managers' view of a project's leads.
 *
 *   GET  /api/v1/admin/leads?project_id=&stage=&agent_user_id=&channel=&q=&cursor=&limit=   the project's leads
 *   POST /api/v1/admin/leads/:id/reassign {agent_user_id, reason}   gives a lead to another agent
 *   GET  /api/v1/admin/leads/stats?project=&from=&to=                 the project's lead numbers
 *
 * Supervisors of the project and admins, read for that project by the
 * request (lead_access.h). Phones are masked. A reassignment goes to a user
 * who holds the agent role in the lead's project now; it is written to the
 * lead's assignment timeline (lead_assignments, 'manual'), to audit_log
 * (lead.reassign) and as a lead.assigned event for the new agent, in one
 * transaction.
 *
 * The numbers are for the period [from, to) (Unix seconds; default the
 * last 30 days). The funnel, by channel, is that of domain/stats/stats.h:
 * the leads created in the period and the furthest stage each reached by the
 * period's end, from the stage history (a lead lost after a visit still
 * counts as visited); the referral share is of the signings made in the
 * period. The median time to first contact and the per-agent conversion
 * are over the leads created in the period. */
#include <stdlib.h>
#include <string.h>

#include "domain/leads/lead_access.h"
#include "domain/leads/lead_assign.h"
#include "domain/leads/lead_json.h"
#include "domain/leads/lead_lists.h"
#include "domain/leads/lead_rules.h"
#include "domain/stats/stats.h"
#include "domain/stats/stats_request.h"
#include "gateway/audit.h"
#include "gateway/call.h"
#include "gateway/db_json.h"
#include "gateway/json_util.h"
#include "gateway/log.h"
#include "gateway/query.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"

/* ---- GET /admin/leads ---- */

/* The list is shared with its CSV export (domain/leads/lead_lists.h). */
static void list_project_leads(gw_call_t *c, db_conn_t *db)
{
    list_respond(c, db, &lead_admin_list);
}

/* ---- POST /admin/leads/:id/reassign ---- */

static void check_reassign(gw_call_t *c)
{
    lead_reassign_check(c, "agent_user_id");
}

/* Locks the lead; 0 found and managed by the caller, -1 answered (404, or
 * a db error). */
static int lock_managed_lead_or_fail(gw_call_t *c, db_conn_t *db, long long id, lead_locked_t *l)
{
    int found = lead_lock(db, id, l);
    if (found < 0) {
        call_fail_db(c);
        return -1;
    }
    return lead_access_or_fail(c, db, found, l->project_id, ROLE_SUPERVISOR | ROLE_ADMIN, "lead", id, NULL);
}

/* The new agent must hold the agent role in the lead's project and be
 * active. 0 ok, -1 answered (refused, or a db error). */
static int new_agent_or_fail(gw_call_t *c, db_conn_t *db, long long id, const lead_locked_t *l, long long to)
{
    if (l->stage == STAGE_LOST || l->stage == STAGE_CANCELLED) {
        call_fail(c, ERR_CONFLICT, NULL, "lead %lld is %s; it cannot be reassigned", id, lead_stage_name(l->stage));
        return -1;
    }
    if (to == l->agent) {
        call_fail(c, ERR_CONFLICT, "agent_user_id", "user %lld is already the lead's agent", to);
        return -1;
    }
    long long one;
    int agent = db_query_int(db, &one,
                             "SELECT 1 FROM staff_roles s JOIN users u ON u.id = s.user_id AND u.disabled = 0"
                             " WHERE s.user_id = ? AND s.project_id = ? AND s.role = 'agent'",
                             DB_ARGS(DB_INT(to), DB_INT(l->project_id)));
    if (agent < 0)
        call_fail_db(c);
    else if (agent == 0)
        call_fail(c, ERR_UNPROCESSABLE, "agent_user_id", "user %lld is not an agent of the lead's project", to);
    return agent > 0 ? 0 : -1;
}

/* 0 or -1. */
static int audit_reassign(gw_call_t *c, db_conn_t *db, long long id, const lead_locked_t *l, long long to,
                          const char *reason)
{
    cJSON *detail = cJSON_CreateObject();
    if (!detail)
        return -1;
    if (l->agent)
        cJSON_AddNumberToObject(detail, "from", (double)l->agent);
    else
        cJSON_AddNullToObject(detail, "from");
    cJSON_AddNumberToObject(detail, "to", (double)to);
    cJSON_AddStringToObject(detail, "reason", reason);
    cJSON_AddNumberToObject(detail, "project_id", (double)l->project_id);
    int rc = audit_write(db, c->user.id, l->project_id, "lead.reassign", "lead", id, detail);
    cJSON_Delete(detail);
    return rc;
}

/* A refusal leaves the transaction to the runner, which rolls it back. */
static void reassign_lead(gw_call_t *c, db_conn_t *db)
{
    const lead_reassign_form_t *f = c->state;
    long long id;
    lead_locked_t l;
    char project_name[LEAD_PROJECT_NAME_BYTES];
    if (call_param_id_or_fail(c, "id", &id) != 0)
        return;
    if (db_begin(db) != 0)
        goto DbError;
    if (lock_managed_lead_or_fail(c, db, id, &l) != 0 || new_agent_or_fail(c, db, id, &l, f->to) != 0)
        return;
    lead_assign_input_t in = {
        .lead_id = id,
        .project_id = l.project_id,
        .project_name = project_name,
        .channel = l.channel,
        .customer_name = l.name,
        .phone = *l.phone ? l.phone : NULL,
        .from_agent = l.agent,
        .actor_user_id = c->user.id,
        .reason = f->reason,
    };
    if (lead_project_name(db, l.project_id, project_name, sizeof(project_name)) != 0 ||
        lead_assign_to(db, &in, f->to) != 0 || audit_reassign(c, db, id, &l, f->to, f->reason) != 0 ||
        db_commit(db) != 0)
        goto DbError;
    log_info("leads", "lead %lld reassigned from agent %lld to %lld by user %lld", id, l.agent, f->to, c->user.id);
    cJSON *d = cJSON_CreateObject();
    cJSON *o = cJSON_AddObjectToObject(d, "lead");
    cJSON_AddNumberToObject(o, "id", (double)id);
    cJSON_AddNumberToObject(o, "agent_user_id", (double)f->to);
    if (l.agent)
        cJSON_AddNumberToObject(o, "previous_agent_user_id", (double)l.agent);
    else
        cJSON_AddNullToObject(o, "previous_agent_user_id");
    cJSON_AddStringToObject(o, "reason", f->reason);
    call_ok(c, 200, d);
    return;
DbError:
    call_fail_db(c);
}

/* ---- GET /admin/leads/stats ---- */

#define RANGE " l.project_id = ? AND l.created_at >= FROM_UNIXTIME(?) AND l.created_at < FROM_UNIXTIME(?)"
#define RANGE_ARGS(q) DB_INT((q)->project), DB_INT((q)->from), DB_INT((q)->to)

typedef struct {
    long long project, from, to;
} stats_query_t;

/* 0, or -1 with the call failed (400 naming the parameter). */
static int stats_query_or_fail(gw_call_t *c, stats_query_t *q)
{
    if (query_id_or_fail(c, "project", &q->project) != 0)
        return -1;
    if (!q->project) {
        call_fail(c, ERR_MISSING_FIELD, "project", "project is required");
        return -1;
    }
    stats_scope_t s;
    if (stats_period_or_fail(c, &s) != 0)
        return -1;
    q->from = s.from;
    q->to = s.to;
    return 0;
}

static void add_rate(cJSON *o, const char *name, long long part, long long whole)
{
    if (whole > 0)
        cJSON_AddNumberToObject(o, name, (double)part / (double)whole);
    else
        cJSON_AddNullToObject(o, name);
}

/* by_channel, the funnel, lost and cancelled: from the lead_funnel rows
 * (stats.h: the stage each lead reached by the period's end, from the stage
 * history), summed over the channels. */
static int add_funnel(db_conn_t *db, const stats_scope_t *s, cJSON *d)
{
    static const char *const reached_col[5] = {"leads", "contacted", "visited", "subscribed", "signed"};
    db_rows_t *r = stats_lead_funnel(db, s);
    if (!r)
        return -1;
    long long reached[5] = {0}, lost = 0, cancelled = 0;
    cJSON *channels = cJSON_AddArrayToObject(d, "by_channel");
    int rc = channels ? 0 : -1;
    for (int i = 0; i < r->nrows && rc == 0; i++) {
        for (int k = 0; k < 5; k++)
            reached[k] += db_get_int(r, i, reached_col[k]);
        lost += db_get_int(r, i, "lost");
        cancelled += db_get_int(r, i, "cancelled");
        cJSON *o = cJSON_CreateObject();
        if (!o) {
            rc = -1;
            break;
        }
        cJSON_AddStringToObject(o, "channel", db_get(r, i, "channel"));
        cJSON_AddNumberToObject(o, "leads", (double)db_get_int(r, i, "leads"));
        cJSON_AddNumberToObject(o, "signed", (double)db_get_int(r, i, "signed"));
        cJSON_AddItemToArray(channels, o);
    }
    db_rows_free(r);
    cJSON *list = cJSON_AddArrayToObject(d, "funnel");
    if (rc != 0 || !list)
        return -1;
    cJSON_AddNumberToObject(d, "total", (double)reached[0]);
    for (int k = 0; k < 5; k++) {
        cJSON *o = cJSON_CreateObject();
        if (!o)
            return -1;
        cJSON_AddStringToObject(o, "stage", lead_stage_name((lead_stage_t)k));
        cJSON_AddNumberToObject(o, "count", (double)reached[k]);
        if (k == 0)
            cJSON_AddNullToObject(o, "rate_from_previous");
        else
            add_rate(o, "rate_from_previous", reached[k], reached[k - 1]);
        add_rate(o, "rate_from_new", reached[k], reached[0]);
        cJSON_AddItemToArray(list, o);
    }
    cJSON_AddNumberToObject(d, "lost", (double)lost);
    cJSON_AddNumberToObject(d, "cancelled", (double)cancelled);
    return 0;
}

/* Signings in the period and those of referred leads (stats.h). */
static int add_referral_share(db_conn_t *db, const stats_scope_t *s, cJSON *d)
{
    db_rows_t *r = stats_referral_signings(db, s);
    if (!r)
        return -1;
    long long signed_all = db_get_int(r, 0, "signed"), referred = db_get_int(r, 0, "from_referrals");
    db_rows_free(r);
    cJSON *o = cJSON_AddObjectToObject(d, "referrals");
    if (!o)
        return -1;
    cJSON_AddNumberToObject(o, "signed", (double)signed_all);
    cJSON_AddNumberToObject(o, "signed_from_referrals", (double)referred);
    add_rate(o, "share", referred, signed_all);
    return 0;
}

/* The median in SQL: count, then the middle one or two values. */
static int add_first_contact(db_conn_t *db, const stats_query_t *q, cJSON *d)
{
    long long n = 0;
    if (db_query_int(db, &n, "SELECT COUNT(*) FROM leads l WHERE" RANGE " AND l.first_contacted_at IS NOT NULL",
                     DB_ARGS(RANGE_ARGS(q))) < 0)
        return -1;
    cJSON *o = cJSON_AddObjectToObject(d, "first_contact");
    cJSON_AddNumberToObject(o, "contacted", (double)n);
    if (n == 0) {
        cJSON_AddNullToObject(o, "median_seconds");
        return 0;
    }
    db_rows_t *r = db_query(db,
                            "SELECT TIMESTAMPDIFF(MICROSECOND, l.created_at, l.first_contacted_at) AS d FROM leads l"
                            " WHERE" RANGE " AND l.first_contacted_at IS NOT NULL ORDER BY d LIMIT ? OFFSET ?",
                            DB_ARGS(RANGE_ARGS(q), DB_INT(n % 2 ? 1 : 2), DB_INT((n - 1) / 2)));
    if (!r)
        return -1;
    double sum = 0;
    for (int i = 0; i < r->nrows; i++)
        sum += (double)db_get_int(r, i, "d");
    cJSON_AddNumberToObject(o, "median_seconds", r->nrows ? sum / r->nrows / 1e6 : 0);
    db_rows_free(r);
    return 0;
}

/* Each agent's row as selected, with the conversion rate. */
static int add_agents(db_conn_t *db, const stats_query_t *q, cJSON *d)
{
    db_rows_t *r =
        db_query(db,
                 "SELECT l.agent_user_id AS user_id, u.display_name AS name, COUNT(*) AS leads,"
                 " SUM(l.first_contacted_at IS NOT NULL) AS contacted, SUM(l.furthest_stage >= 2) AS visited,"
                 " SUM(l.stage = 'signed') AS `signed`"
                 " FROM leads l JOIN users u ON u.id = l.agent_user_id WHERE" RANGE
                 " GROUP BY l.agent_user_id, u.display_name ORDER BY l.agent_user_id",
                 DB_ARGS(RANGE_ARGS(q)));
    if (!r)
        return -1;
    cJSON *list = cJSON_AddArrayToObject(d, "agents");
    int rc = list ? 0 : -1;
    for (int i = 0; i < r->nrows && rc == 0; i++) {
        cJSON *o = db_row_json(r, i);
        if (!o) {
            rc = -1;
            break;
        }
        add_rate(o, "conversion", db_get_int(r, i, "signed"), db_get_int(r, i, "leads"));
        cJSON_AddItemToArray(list, o);
    }
    db_rows_free(r);
    return rc;
}

static void stats(gw_call_t *c, db_conn_t *db)
{
    stats_query_t q;
    if (stats_query_or_fail(c, &q) != 0)
        return;
    db_rows_t *r =
        db_query(db, "SELECT p.id, p.name, " LEAD_MANAGES("p.id") " AS manages FROM projects p WHERE p.id = ?",
                 DB_ARGS(DB_INT(c->user.id), DB_INT(c->user.id), DB_INT(q.project)));
    if (!r) {
        call_fail_db(c);
        return;
    }
    int found = r->nrows == 1, allowed = found && db_get_int(r, 0, "manages");
    cJSON *d = NULL, *p = NULL;
    if (allowed) {
        d = cJSON_CreateObject();
        p = db_row_json(r, 0);
    }
    db_rows_free(r);
    if (!found) {
        call_fail(c, ERR_NOT_FOUND, "project", "project %lld not found", q.project);
        return;
    }
    if (!allowed) {
        call_fail(c, ERR_FORBIDDEN, "project", "you do not supervise project %lld", q.project);
        return;
    }
    if (!d || !p)
        goto Fail;
    cJSON_DeleteItemFromObject(p, "manages"); /* selected for the check only */
    cJSON_AddItemToObject(d, "project", p);
    p = NULL;
    cJSON_AddNumberToObject(d, "from", (double)q.from);
    cJSON_AddNumberToObject(d, "to", (double)q.to);
    /* The project is checked: the scope is that one project. */
    stats_scope_t s = {.admin = 1, .user_id = c->user.id, .project = q.project, .from = q.from, .to = q.to};
    if (add_funnel(db, &s, d) != 0 || add_referral_share(db, &s, d) != 0 || add_first_contact(db, &q, d) != 0 ||
        add_agents(db, &q, d) != 0)
        goto Fail;
    call_ok(c, 200, d);
    return;
Fail:
    cJSON_Delete(p);
    cJSON_Delete(d);
    call_fail_db(c);
}

static const route_t routes[] = {
    {"GET", "/api/v1/admin/leads", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_NONE, DB_STEP(list_project_leads)},
    {"POST", "/api/v1/admin/leads/:id/reassign", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_JSON, DB_STEP(reassign_lead),
     BODY_CHECK(check_reassign)},
    {"GET", "/api/v1/admin/leads/stats", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_NONE, DB_STEP(stats)},
};

void leads_admin_register(void)
{
    ROUTES_REGISTER(routes);
}
