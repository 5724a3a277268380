/* lead_channel_rules_admin.c: which agent gets a project's leads of a channel.
 *
 *   GET    /api/v1/admin/lead-channel-rules?project=&channel=&cursor=&limit=
 *   POST   /api/v1/admin/lead-channel-rules        {project_id, channel, agent_user_id}
 *   PATCH  /api/v1/admin/lead-channel-rules/:id    {channel?, agent_user_id?}
 *   DELETE /api/v1/admin/lead-channel-rules/:id
 *
 * A rule sends every new lead of (project, channel) to one agent while that
 * agent holds the agent role in the project and is enabled; other channels,
 * and a rule whose agent lost the role, use round robin
 * (domain/leads/lead_assign.c reads the rules). One rule per channel of a
 * project (409 DUPLICATE). The named agent must hold the agent role in the
 * project when the rule is written (422 naming agent_user_id).
 *
 * Supervisors manage the rules of their projects, admins every project's. A
 * rule of a project the caller does not manage is answered 404, as if it did
 * not exist. Each change and its audit row (lead_channel_rule.create,
 * .update, .delete: the rule before and after) commit together. */
#include <stdlib.h>
#include <string.h>

#include "domain/leads/lead_access.h"
#include "domain/leads/lead_rules.h"
#include "gateway/audit.h"
#include "gateway/call.h"
#include "gateway/db_json.h"
#include "gateway/json_util.h"
#include "gateway/query.h"
#include "gateway/roles.h"
#include "gateway/users.h"
#include "handlers/handlers.h"

/* The body of a creation or an edit, checked on the loop. */
typedef struct {
    long long project_id, agent_user_id; /* 0: not given */
    char channel[17];                    /* "": not given */
} rule_form_t;

static int check_channel_or_fail(gw_call_t *c, int required, char *out, size_t outsz)
{
    int present;
    if (json_trimmed_or_fail(c, c->body, "channel", required, 1, 16, out, outsz, &present) != 0)
        return -1;
    if (present && !lead_channel_valid(out)) {
        call_fail(c, ERR_INVALID_FIELD, "channel",
                  "channel must be one of referral, poster, ad, walk_in, organic, other");
        return -1;
    }
    return 0;
}

static void check_create(gw_call_t *c)
{
    static const char *const known[] = {"project_id", "channel", "agent_user_id", NULL};
    rule_form_t *f = call_state_new_or_fail(c, 1, sizeof(rule_form_t), free);
    if (!f || json_known_fields_or_fail(c, c->body, known) != 0 ||
        json_int_or_fail(c, c->body, "project_id", 1, 1LL << 53, &f->project_id) != 0 ||
        check_channel_or_fail(c, 1, f->channel, sizeof(f->channel)) != 0)
        return;
    json_int_or_fail(c, c->body, "agent_user_id", 1, 1LL << 53, &f->agent_user_id);
}

static void check_update(gw_call_t *c)
{
    static const char *const known[] = {"channel", "agent_user_id", NULL};
    int present;
    rule_form_t *f = call_state_new_or_fail(c, 1, sizeof(rule_form_t), free);
    if (!f || json_known_fields_or_fail(c, c->body, known) != 0 ||
        check_channel_or_fail(c, 0, f->channel, sizeof(f->channel)) != 0 ||
        json_opt_int_or_fail(c, c->body, "agent_user_id", 1, 1LL << 53, &f->agent_user_id, &present) != 0)
        return;
    if (!*f->channel && !f->agent_user_id)
        call_fail(c, ERR_MISSING_FIELD, "agent_user_id", "nothing to change: give channel or agent_user_id");
}

/* One rule as the API shows it. Parameters of the WHERE follow. */
#define RULE_SELECT                                                                                                    \
    "SELECT r.id, r.project_id, r.channel, r.agent_user_id AS `agent.id`, u.display_name AS `agent.name`,"             \
    " EXISTS (SELECT 1 FROM staff_roles s WHERE s.user_id = r.agent_user_id AND s.project_id = r.project_id"           \
    "  AND s.role = 'agent') AS `agent.holds_role`,"                                                                   \
    " FLOOR(UNIX_TIMESTAMP(r.created_at)) AS created_at"                                                               \
    " FROM lead_channel_rules r JOIN users u ON u.id = r.agent_user_id"

/* Without a project: the rules of every project the caller manages (the
 * user id twice); with one, that project's (which the caller must manage). */
static const char *SQL_LIST =
    RULE_SELECT " WHERE (? = 0 OR r.project_id = ?) AND (? IS NULL OR r.channel = ?)"
                " AND r.id < ? AND " LEAD_MANAGES("r.project_id") " ORDER BY r.id DESC LIMIT ?";

static void list_rules(gw_call_t *c, db_conn_t *db)
{
    static const char *const keys[] = {"id"};
    long long project;
    const char *channel;
    page_t page;
    if (page_or_fail(c, 1, &page) != 0 || query_id_or_fail(c, "project", &project) != 0 ||
        query_enum_or_fail(c, "channel", LEAD_CHANNEL_NAMES, NULL, &channel) != 0 ||
        (project && lead_manages_project_or_fail(c, db, project, "project") != 0))
        return;
    db_rows_t *r = db_query(db, SQL_LIST,
                            DB_ARGS(DB_INT(project), DB_INT(project), DB_STR(channel), DB_STR(channel),
                                    DB_INT(page_key(&page, 0, PAGE_KEY_MAX)), DB_INT(c->user.id), DB_INT(c->user.id),
                                    DB_INT(page.limit + 1)));
    if (!r) {
        call_fail_db(c);
        return;
    }
    page_respond(c, &page, r, NULL, NULL, keys);
    db_rows_free(r);
}

/* The rule as shown, or NULL (a db error, or no such rule: *found 0). */
static cJSON *rule_json(db_conn_t *db, long long id, int *found)
{
    db_rows_t *r = db_query(db, RULE_SELECT " WHERE r.id = ?", DB_ARGS(DB_INT(id)));
    *found = r && r->nrows == 1;
    cJSON *o = *found ? db_row_json(r, 0) : NULL;
    db_rows_free(r);
    return o;
}

/* 0 when agent holds the agent role in project, else -1 answered. */
static int agent_of_project_or_fail(gw_call_t *c, db_conn_t *db, long long agent, long long project)
{
    int rc = users_has_project_role(db, agent, "agent", project);
    if (rc < 0) {
        call_fail_db(c);
        return -1;
    }
    if (rc == 0) {
        call_fail(c, ERR_UNPROCESSABLE, "agent_user_id", "user %lld is not an agent of project %lld", agent, project);
        return -1;
    }
    return 0;
}

/* A write that broke the one-rule-per-channel key is 409, anything else
 * the db error. */
static void fail_write(gw_call_t *c, db_conn_t *db, const char *channel)
{
    if (db_errno(db) == DB_ER_DUP_ENTRY)
        call_fail(c, ERR_DUPLICATE, "channel", "the project already has a rule for channel %s", channel);
    else
        call_fail_db(c);
}

static void create_rule(gw_call_t *c, db_conn_t *db)
{
    const rule_form_t *f = c->state;
    if (lead_manages_project_or_fail(c, db, f->project_id, "project_id") != 0 ||
        agent_of_project_or_fail(c, db, f->agent_user_id, f->project_id) != 0)
        return;
    cJSON *after = NULL;
    int found = 0;
    if (db_begin(db) != 0)
        goto DbError;
    if (db_exec(db, "INSERT INTO lead_channel_rules (project_id, channel, agent_user_id) VALUES (?, ?, ?)",
                DB_ARGS(DB_INT(f->project_id), DB_STR(f->channel), DB_INT(f->agent_user_id))) != 0) {
        fail_write(c, db, f->channel);
        return;
    }
    long long id = (long long)db_insert_id(db);
    after = rule_json(db, id, &found);
    if (!after ||
        audit_change(db, c->user.id, "lead_channel_rule.create", "lead_channel_rule", id, f->project_id, NULL, after,
                     NULL) != 0 ||
        db_commit(db) != 0)
        goto DbError;
    call_ok(c, 201, after);
    return;
DbError:
    cJSON_Delete(after);
    call_fail_db(c);
}

/* Locks rule :id and checks that the caller manages its project: 0 with the
 * id and project, -1 answered (404 for a rule the caller may not see). */
static int lock_rule_or_fail(gw_call_t *c, db_conn_t *db, long long *id, long long *project)
{
    if (call_param_id_or_fail(c, "id", id) != 0)
        return -1;
    if (db_begin(db) != 0) {
        call_fail_db(c);
        return -1;
    }
    int found = db_query_int(db, project, "SELECT project_id FROM lead_channel_rules WHERE id = ? FOR UPDATE",
                             DB_ARGS(DB_INT(*id)));
    if (found < 0) {
        call_fail_db(c);
        return -1;
    }
    return lead_access_or_fail(c, db, found, *project, ROLE_SUPERVISOR | ROLE_ADMIN, "lead channel rule", *id, NULL);
}

static void update_rule(gw_call_t *c, db_conn_t *db)
{
    const rule_form_t *f = c->state;
    long long id, project;
    int found;
    cJSON *before = NULL, *after = NULL;
    if (lock_rule_or_fail(c, db, &id, &project) != 0 ||
        (f->agent_user_id && agent_of_project_or_fail(c, db, f->agent_user_id, project) != 0))
        return;
    if (!(before = rule_json(db, id, &found)))
        goto DbError;
    if (db_exec(db,
                "UPDATE lead_channel_rules SET channel = COALESCE(?, channel),"
                " agent_user_id = IF(? = 0, agent_user_id, ?) WHERE id = ?",
                DB_ARGS(DB_STR(*f->channel ? f->channel : NULL), DB_INT(f->agent_user_id), DB_INT(f->agent_user_id),
                        DB_INT(id))) != 0) {
        cJSON_Delete(before);
        fail_write(c, db, f->channel);
        return;
    }
    after = rule_json(db, id, &found);
    if (!after ||
        audit_change(db, c->user.id, "lead_channel_rule.update", "lead_channel_rule", id, project, before, after,
                     NULL) != 0 ||
        db_commit(db) != 0)
        goto DbError;
    cJSON_Delete(before);
    call_ok(c, 200, after);
    return;
DbError:
    cJSON_Delete(before);
    cJSON_Delete(after);
    call_fail_db(c);
}

static void delete_rule(gw_call_t *c, db_conn_t *db)
{
    long long id, project;
    int found;
    if (lock_rule_or_fail(c, db, &id, &project) != 0)
        return;
    cJSON *before = rule_json(db, id, &found);
    if (!before || db_exec(db, "DELETE FROM lead_channel_rules WHERE id = ?", DB_ARGS(DB_INT(id))) != 0 ||
        audit_change(db, c->user.id, "lead_channel_rule.delete", "lead_channel_rule", id, project, before, NULL,
                     NULL) != 0 ||
        db_commit(db) != 0) {
        cJSON_Delete(before);
        call_fail_db(c);
        return;
    }
    call_ok(c, 200, before);
}

static const route_t routes[] = {
    {"GET", "/api/v1/admin/lead-channel-rules", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_NONE, DB_STEP(list_rules)},
    {"POST", "/api/v1/admin/lead-channel-rules", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_JSON, DB_STEP(create_rule),
     BODY_CHECK(check_create)},
    {"PATCH", "/api/v1/admin/lead-channel-rules/:id", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_JSON, DB_STEP(update_rule),
     BODY_CHECK(check_update)},
    {"DELETE", "/api/v1/admin/lead-channel-rules/:id", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_NONE, DB_STEP(delete_rule)},
};

void lead_channel_rules_admin_register(void)
{
    ROUTES_REGISTER(routes);
}
