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

#include "domain/identity/admin_change.h"
#include "domain/leads/lead_access.h"
#include "domain/leads/lead_rules.h"
#include "gateway/call.h"
#include "gateway/db_json.h"
#include "gateway/json_util.h"
#include "gateway/query.h"
#include "gateway/roles.h"
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

static const char *SQL_RULE = RULE_SELECT " WHERE r.id = ?";

static const char *DUPLICATE_CHANNEL = "the project already has a rule for this channel";

static void create_rule(gw_call_t *c, db_conn_t *db)
{
    const rule_form_t *f = c->state;
    if (lead_manages_project_or_fail(c, db, f->project_id, "project_id") != 0 ||
        admin_role_or_fail(c, db, f->agent_user_id, "agent", f->project_id, "agent_user_id") != 0)
        return;
    if (db_begin(db) != 0) {
        call_fail_db(c);
        return;
    }
    if (db_exec(db, "INSERT INTO lead_channel_rules (project_id, channel, agent_user_id) VALUES (?, ?, ?)",
                DB_ARGS(DB_INT(f->project_id), DB_STR(f->channel), DB_INT(f->agent_user_id))) != 0) {
        admin_unique_or_fail(c, db, -1, "channel", DUPLICATE_CHANNEL, NULL);
        return;
    }
    long long id = (long long)db_insert_id(db);
    admin_finish(c, db, 201, "lead_channel_rule.create", "lead_channel_rule", id, f->project_id, NULL,
                 admin_object_json(db, SQL_RULE, id, NULL), NULL);
}

#define SQL_LOCK "SELECT project_id FROM lead_channel_rules WHERE id = ? FOR UPDATE"

static void update_rule(gw_call_t *c, db_conn_t *db)
{
    const rule_form_t *f = c->state;
    long long id, project;
    if (admin_lock_or_fail(c, db, SQL_LOCK, "lead channel rule", &id, &project) != 0 ||
        (f->agent_user_id && admin_role_or_fail(c, db, f->agent_user_id, "agent", project, "agent_user_id") != 0))
        return;
    cJSON *before = admin_object_json(db, SQL_RULE, id, NULL);
    if (!before) {
        call_fail_db(c);
        return;
    }
    if (db_exec(db,
                "UPDATE lead_channel_rules SET channel = COALESCE(?, channel),"
                " agent_user_id = IF(? = 0, agent_user_id, ?) WHERE id = ?",
                DB_ARGS(DB_STR(*f->channel ? f->channel : NULL), DB_INT(f->agent_user_id), DB_INT(f->agent_user_id),
                        DB_INT(id))) != 0) {
        cJSON_Delete(before);
        admin_unique_or_fail(c, db, -1, "channel", DUPLICATE_CHANNEL, NULL);
        return;
    }
    admin_finish(c, db, 200, "lead_channel_rule.update", "lead_channel_rule", id, project, before,
                 admin_object_json(db, SQL_RULE, id, NULL), NULL);
}

static const admin_object_t RULE = {
    .lock_sql = SQL_LOCK,
    .show_sql = RULE_SELECT " WHERE r.id = ?",
    .delete_sql = "DELETE FROM lead_channel_rules WHERE id = ?",
    .what = "lead channel rule",
    .action = "lead_channel_rule.delete",
    .target_type = "lead_channel_rule",
};

static void delete_rule(gw_call_t *c, db_conn_t *db)
{
    admin_delete(c, db, &RULE);
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
