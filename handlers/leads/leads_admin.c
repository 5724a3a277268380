/* leads_admin.c: sales managers' view of a project's leads.
 *
 *   GET  /api/v1/admin/leads?project_id=&stage=&agent_user_id=&channel=&q=   the project's leads
 *   POST /api/v1/admin/leads/:id/reassign {agent_user_id, reason}          gives a lead to another agent
 *
 * Supervisors of the project and admins, read for that project by the
 * request (lead_access.h). Phones are masked. A reassignment goes to a user
 * who holds the agent role in the lead's project now; it is written to the
 * lead's assignment timeline (lead_assignments, 'manual'), to audit_log
 * (lead.reassign) and as a lead.assigned event for the new agent, in one
 * transaction. */
#include <stdlib.h>
#include <string.h>

#include "gateway/audit.h"
#include "gateway/call.h"
#include "gateway/json_util.h"
#include "gateway/log.h"
#include "gateway/roles.h"
#include "gateway/utf8.h"
#include "handlers/handlers.h"
#include "domain/leads/lead_access.h"
#include "domain/leads/lead_assign.h"
#include "domain/leads/lead_json.h"
#include "domain/leads/lead_rules.h"

/* ---- GET /admin/leads ---- */

typedef struct {
    long long project_id;
    long long agent; /* -1: any; 0: unassigned */
    char stage[16], channel[24];
    int has_stage, has_channel;
    char like[256 * 2 + 3]; /* "%q%" with q's LIKE wildcards escaped; "" when no q */
} admin_query_t;

/* A non-negative integer parameter; 1 present, 0 absent, -1 bad (call failed). */
static int query_id(gw_call_t *c, const char *name, long long *out)
{
    char buf[24];
    if (!call_query(c, name, buf, sizeof(buf)) || !*buf)
        return 0;
    char *end;
    long long v = strtoll(buf, &end, 10);
    if (*end || v < 0 || v > (1LL << 53)) {
        call_fail(c, ERR_INVALID_FIELD, name, "%s must be a non-negative integer", name);
        return -1;
    }
    *out = v;
    return 1;
}

/* q matches a part of the name or of the phone: LIKE '%q%', with q's own
 * wildcards taken literally. -1 (call failed) when q is too long or not
 * UTF-8. */
static int read_search(gw_call_t *c, admin_query_t *q)
{
    char text[257]; /* room for 64 characters: a longer q is refused, never cut */
    if (!call_query(c, "q", text, sizeof(text)) || !*text)
        return 0;
    long n = utf8_length(text, strlen(text));
    if (n < 1 || n > 32) {
        call_fail(c, ERR_INVALID_FIELD, "q", "q must be 1 to 32 characters of a name or a phone");
        return -1;
    }
    char *o = q->like;
    *o++ = '%';
    for (const char *s = text; *s; s++) {
        if (*s == '%' || *s == '_' || *s == '\\')
            *o++ = '\\';
        *o++ = *s;
    }
    *o++ = '%';
    *o = '\0';
    return 0;
}

static int read_admin_query(gw_call_t *c, admin_query_t *q)
{
    memset(q, 0, sizeof(*q));
    int has = query_id(c, "project_id", &q->project_id);
    if (has < 0)
        return -1;
    if (!has || !q->project_id) {
        call_fail(c, ERR_MISSING_FIELD, "project_id", "project_id is required");
        return -1;
    }
    /* `state` is accepted for `stage`. */
    const char *stage_name = call_query(c, "stage", q->stage, sizeof(q->stage))   ? "stage"
                             : call_query(c, "state", q->stage, sizeof(q->stage)) ? "state"
                                                                                  : NULL;
    q->has_stage = stage_name && *q->stage;
    if (q->has_stage && lead_stage_from_name(q->stage) == STAGE_INVALID) {
        call_fail(c, ERR_INVALID_FIELD, stage_name,
                  "%s must be one of new, contacted, visited, subscribed, signed, lost, cancelled", stage_name);
        return -1;
    }
    q->has_channel = call_query(c, "channel", q->channel, sizeof(q->channel)) && *q->channel;
    if (q->has_channel && !lead_channel_valid(q->channel)) {
        call_fail(c, ERR_INVALID_FIELD, "channel", "channel must be referral, poster, ad, walk_in, organic or other");
        return -1;
    }
    q->agent = -1;
    if (query_id(c, "agent_user_id", &q->agent) < 0)
        return -1;
    return read_search(c, q);
}

static const char *SQL_ADMIN_LEADS =
    "SELECT " LEAD_HEAD_COLUMNS ", l.stage, l.channel,"
    " l.agent_user_id, au.display_name AS agent_name, l.submissions, UNIX_TIMESTAMP(l.created_at) AS created_at,"
    " UNIX_TIMESTAMP(l.first_contact_due_at) AS first_contact_due_at,"
    " UNIX_TIMESTAMP(l.first_contacted_at) AS first_contacted_at,"
    " l.contact_overdue_at IS NOT NULL AS contact_overdue, l.erased_at IS NOT NULL AS erased,"
    " (SELECT rf.id FROM referrals rf WHERE rf.lead_id = l.id) AS referral_id"
    " FROM leads l JOIN projects p ON p.id = l.project_id LEFT JOIN users au ON au.id = l.agent_user_id"
    " WHERE l.project_id = ? AND l.id < ? AND (? IS NULL OR l.stage = ?) AND (? IS NULL OR l.channel = ?)"
    " AND (? < 0 OR COALESCE(l.agent_user_id, 0) = ?) AND (? IS NULL OR l.name LIKE ? OR l.phone LIKE ?)"
    " ORDER BY l.id DESC LIMIT ?";

static cJSON *admin_lead_json(const db_rows_t *r, int i)
{
    cJSON *o = cJSON_CreateObject();
    lead_json_add_head(o, r, i);
    lead_json_add_str(o, "stage", r, i, "stage");
    lead_json_add_str(o, "channel", r, i, "channel");
    lead_json_add_agent(o, r, i);
    lead_json_add_int(o, "submissions", r, i, "submissions");
    lead_json_add_int(o, "created_at", r, i, "created_at");
    lead_json_add_int(o, "first_contact_due_at", r, i, "first_contact_due_at");
    lead_json_add_int(o, "first_contacted_at", r, i, "first_contacted_at");
    lead_json_add_bool(o, "contact_overdue", r, i, "contact_overdue");
    lead_json_add_bool(o, "erased", r, i, "erased");
    lead_json_add_int(o, "referral_id", r, i, "referral_id");
    return o;
}

/* 1 the project exists and the caller manages it, 0 not (call failed: 404
 * or 403), -1 db error. */
static int managed_project_or_fail(gw_call_t *c, long long project_id, const char *field)
{
    long long one;
    unsigned roles;
    int found = db_query_int(c->db, &one, "SELECT 1 FROM projects WHERE id = ?", DB_ARGS(DB_INT(project_id)));
    if (found < 0 || (found && lead_project_roles(c->db, c->user.id, project_id, &roles) != 0))
        return -1;
    if (!found) {
        call_fail(c, ERR_NOT_FOUND, field, "project %lld not found", project_id);
        return 0;
    }
    if (!(roles & (ROLE_SUPERVISOR | ROLE_ADMIN))) {
        call_fail(c, ERR_FORBIDDEN, field, "you do not supervise project %lld", project_id);
        return 0;
    }
    return 1;
}

static void list_project_leads(gw_call_t *c)
{
    admin_query_t q;
    long long before;
    int limit;
    if (lead_page_params(c, &before, &limit) != 0 || read_admin_query(c, &q) != 0)
        return;
    int ok = managed_project_or_fail(c, q.project_id, "project_id");
    if (ok <= 0) {
        if (ok < 0)
            call_fail_db(c);
        return;
    }
    const char *stage = q.has_stage ? q.stage : NULL, *channel = q.has_channel ? q.channel : NULL;
    const char *like = *q.like ? q.like : NULL;
    db_rows_t *r = db_query(c->db, SQL_ADMIN_LEADS,
                            DB_ARGS(DB_INT(q.project_id), DB_INT(before), DB_STR(stage), DB_STR(stage), DB_STR(channel),
                                    DB_STR(channel), DB_INT(q.agent), DB_INT(q.agent), DB_STR(like), DB_STR(like),
                                    DB_STR(like), DB_INT(limit + 1)));
    lead_page_answer(c, r, limit, admin_lead_json);
}

/* ---- POST /admin/leads/:id/reassign ---- */

/* Locks the lead; 1 found and managed by the caller, 0 not (404), -1. */
static int lock_managed_lead(gw_call_t *c, long long id, lead_locked_t *l)
{
    int found = lead_lock(c->db, id, l);
    if (found < 0)
        return -1;
    return lead_access_or_404(c, found, l->project_id, ROLE_SUPERVISOR | ROLE_ADMIN, "lead", id, NULL);
}

/* The new agent must hold the agent role in the lead's project and be
 * active. 1 ok, 0 refused (call failed), -1 db error. */
static int check_new_agent(gw_call_t *c, long long id, const lead_locked_t *l, long long to)
{
    if (l->stage == STAGE_LOST || l->stage == STAGE_CANCELLED) {
        call_fail(c, ERR_CONFLICT, NULL, "lead %lld is %s; it cannot be reassigned", id, lead_stage_name(l->stage));
        return 0;
    }
    if (to == l->agent) {
        call_fail(c, ERR_CONFLICT, "agent_user_id", "user %lld is already the lead's agent", to);
        return 0;
    }
    long long one;
    int agent = db_query_int(c->db, &one,
                             "SELECT 1 FROM staff_roles s JOIN users u ON u.id = s.user_id AND u.disabled = 0"
                             " WHERE s.user_id = ? AND s.project_id = ? AND s.role = 'agent'",
                             DB_ARGS(DB_INT(to), DB_INT(l->project_id)));
    if (agent == 0)
        call_fail(c, ERR_UNPROCESSABLE, "agent_user_id", "user %lld is not an agent of the lead's project", to);
    return agent;
}

/* 0 or -1. */
static int audit_reassign(gw_call_t *c, long long id, const lead_locked_t *l, long long to, const char *reason)
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
    int rc = audit_write(c->db, c->user.id, "lead.reassign", "lead", id, detail);
    cJSON_Delete(detail);
    return rc;
}

static void reassign_lead(gw_call_t *c)
{
    long long id, to;
    lead_locked_t l;
    char project_name[LEAD_PROJECT_NAME_BYTES];
    if (call_param_id(c, "id", &id) != 0 || json_int_or_fail(c, c->body, "agent_user_id", 1, 1LL << 53, &to) != 0)
        return;
    const char *reason = json_string_or_fail(c, c->body, "reason", 1, 255);
    if (!reason)
        return;
    if (db_begin(c->db) != 0)
        goto DbError;
    int ok = lock_managed_lead(c, id, &l);
    if (ok > 0)
        ok = check_new_agent(c, id, &l, to);
    if (ok < 0)
        goto DbError;
    if (!ok) {
        db_rollback(c->db);
        return;
    }
    lead_assign_input_t in = {
        .lead_id = id,
        .project_id = l.project_id,
        .project_name = project_name,
        .channel = l.channel,
        .customer_name = l.name,
        .phone = *l.phone ? l.phone : NULL,
        .from_agent = l.agent,
        .actor_user_id = c->user.id,
        .reason = reason,
    };
    if (lead_project_name(c->db, l.project_id, project_name, sizeof(project_name)) != 0 ||
        lead_assign_to(c->db, &in, to) != 0 || audit_reassign(c, id, &l, to, reason) != 0 || db_commit(c->db) != 0)
        goto DbError;
    log_info("leads", "lead %lld reassigned from agent %lld to %lld by user %lld", id, l.agent, to, c->user.id);
    cJSON *d = cJSON_CreateObject();
    cJSON *o = cJSON_AddObjectToObject(d, "lead");
    cJSON_AddNumberToObject(o, "id", (double)id);
    cJSON_AddNumberToObject(o, "agent_user_id", (double)to);
    if (l.agent)
        cJSON_AddNumberToObject(o, "previous_agent_user_id", (double)l.agent);
    else
        cJSON_AddNullToObject(o, "previous_agent_user_id");
    cJSON_AddStringToObject(o, "reason", reason);
    call_ok(c, 200, d);
    return;
DbError:
    db_rollback(c->db);
    call_fail_db(c);
}

static const route_t routes[] = {
    {"GET", "/api/v1/admin/leads", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_NONE, POOL_DB, list_project_leads},
    {"POST", "/api/v1/admin/leads/:id/reassign", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_JSON, POOL_DB, reassign_lead},
};

void leads_admin_register(void)
{
    router_add(routes, sizeof(routes) / sizeof(routes[0]));
}
