/* projects_admin.c: an admin's settings of a project.
 *
 *   PUT /api/v1/admin/projects/:id/reward-rule   admin: {kind, amount, active, description}
 *
 * A project's reward rule (one per project) says what a referrer earns when
 * a referred lead is signed (referral_attribution.c creates the reward; the
 * rewards themselves are handled in handlers/leads/rewards_admin.c). Setting
 * it is an upsert written with its audit row (reward_rule.set) in one
 * transaction; a change applies to deals signed afterwards. Admin is a
 * global role, read by the request itself (lead_access.h), not from the
 * cached role bitmask. */
#include <stdlib.h>
#include <string.h>

#include "domain/leads/lead_access.h"
#include "domain/leads/lead_rules.h"
#include "gateway/audit.h"
#include "gateway/call.h"
#include "gateway/json_util.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"

/* Strings point into the call's body, which lives as long as the call. */
typedef struct {
    const char *kind, *description; /* description: "" when not given */
    long long amount;
    int active;
} rule_form_t;

static void check_rule(gw_call_t *c)
{
    const char *kind = json_string_or_fail(c, c->body, "kind", 1, 16);
    if (!kind)
        return;
    if (strcmp(kind, "cash") && strcmp(kind, "points")) {
        call_fail(c, ERR_INVALID_FIELD, "kind", "kind must be cash or points");
        return;
    }
    long long amount;
    const char *description = NULL;
    int active = 1;
    if (json_int_or_fail(c, c->body, "amount", 1, 100000000000LL, &amount) != 0 ||
        json_opt_string_or_fail(c, c->body, "description", 0, 100, &description) != 0)
        return;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(c->body, "active");
    if (a && !cJSON_IsNull(a) && json_bool_or_fail(c, c->body, "active", &active) != 0)
        return;
    rule_form_t *f = call_state_new_or_fail(c, 1, sizeof(*f), free);
    if (!f)
        return;
    f->kind = kind;
    f->description = description ? description : "";
    f->amount = amount;
    f->active = active;
}

static const char *SQL_UPSERT_RULE =
    "INSERT INTO reward_rules (project_id, kind, amount, active, description) VALUES (?, ?, ?, ?, ?)"
    " ON DUPLICATE KEY UPDATE kind = VALUES(kind), amount = VALUES(amount), active = VALUES(active),"
    " description = VALUES(description)";

/* 0 the project exists and the caller is an admin, -1 answered (404, 403 or
 * the db error). */
static int admin_of_project_or_fail(gw_call_t *c, db_conn_t *db, long long project)
{
    long long one;
    unsigned roles;
    int found = db_query_int(db, &one, "SELECT 1 FROM projects WHERE id = ?", DB_ARGS(DB_INT(project)));
    if (found < 0 || lead_project_roles(db, c->user.id, project, &roles) != 0) {
        call_fail_db(c);
        return -1;
    }
    if (!found) {
        call_fail(c, ERR_NOT_FOUND, NULL, "project %lld not found", project);
        return -1;
    }
    if (!(roles & ROLE_ADMIN)) {
        call_fail(c, ERR_FORBIDDEN, NULL, "only an admin can set a reward rule");
        return -1;
    }
    return 0;
}

static void put_rule(gw_call_t *c, db_conn_t *db)
{
    const rule_form_t *f = c->state;
    long long project;
    if (call_param_id_or_fail(c, "id", &project) != 0 || admin_of_project_or_fail(c, db, project) != 0)
        return;
    cJSON *detail = cJSON_CreateObject();
    if (!detail) {
        call_fail(c, ERR_INTERNAL, NULL, NULL);
        return;
    }
    cJSON_AddStringToObject(detail, "kind", f->kind);
    cJSON_AddNumberToObject(detail, "amount", (double)f->amount);
    cJSON_AddBoolToObject(detail, "active", f->active);
    int rc = db_begin(db) != 0 ||
             db_exec(db, SQL_UPSERT_RULE,
                     DB_ARGS(DB_INT(project), DB_STR(f->kind), DB_INT(f->amount), DB_INT(f->active),
                             DB_STR(f->description))) != 0 ||
             audit_write(db, c->user.id, "reward_rule.set", "project", project, detail) != 0 || db_commit(db) != 0;
    cJSON_Delete(detail);
    if (rc) {
        call_fail_db(c);
        return;
    }
    char shown[32];
    reward_amount_display(f->kind, f->amount, shown, sizeof(shown));
    cJSON *d = cJSON_CreateObject();
    cJSON *o = cJSON_AddObjectToObject(d, "rule");
    cJSON_AddNumberToObject(o, "project_id", (double)project);
    cJSON_AddStringToObject(o, "kind", f->kind);
    cJSON_AddNumberToObject(o, "amount", (double)f->amount);
    cJSON_AddStringToObject(o, "amount_display", shown);
    cJSON_AddBoolToObject(o, "active", f->active);
    cJSON_AddStringToObject(o, "description", f->description);
    call_ok(c, 200, d);
}

static const route_t routes[] = {
    {"PUT", "/api/v1/admin/projects/:id/reward-rule", ROLE_ADMIN, BODY_JSON, DB_STEP(put_rule), BODY_CHECK(check_rule)},
};

void projects_admin_register(void)
{
    ROUTES_REGISTER(routes);
}
