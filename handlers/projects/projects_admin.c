/* projects_admin.c: projects and their settings, for admins and the
 * projects' supervisors.
 *
 *   POST  /api/v1/admin/projects                     admin: a new project (pre-sale included)
 *   GET   /api/v1/admin/projects                     admin: all; supervisor: theirs
 *   GET   /api/v1/admin/projects/:id                 admin, supervisor of the project
 *   PATCH /api/v1/admin/projects/:id                 admin; the supervisor for city, address,
 *                                                    open_for_leads, default_handover_date
 *   GET   /api/v1/admin/projects/:id/reward-rule     admin, supervisor of the project
 *   PUT   /api/v1/admin/projects/:id/reward-rule     admin: {kind, amount, active, description}
 *   GET   /api/v1/admin/projects/:id/managers        admin, supervisor of the project
 *   PUT   /api/v1/admin/projects/:id/managers        admin, supervisor of the project: {user_ids}
 *   GET   /api/v1/admin/projects/:id/buildings       admin, supervisor of the project
 *   POST  /api/v1/admin/projects/:id/buildings       admin, supervisor of the project: {name, handover_date}
 *
 * A project's code and name identify it across the installation (the owner
 * roster import finds projects by them), so only an admin sets them; its
 * supervisors run the rest. Every change commits with its audit row, whose
 * detail holds the changed fields before and after.
 *
 * A project's reward rule (one per project) says what a referrer earns when
 * a referred lead is signed (referral_attribution.c creates the reward; the
 * rewards themselves are handled in handlers/leads/rewards_admin.c). Setting
 * it is an upsert; a change applies to deals signed afterwards.
 *
 * Project managers are the top of the repair escalation ladder
 * (domain/repairs/): each must hold a staff role in the project. */
#include <stdlib.h>
#include <string.h>

#include "domain/identity/admin_change.h"
#include "domain/identity/project_access.h"
#include "domain/leads/lead_rules.h"
#include "domain/projects/project_lists.h"
#include "domain/repairs/repair_view.h"
#include "gateway/audit.h"
#include "gateway/call.h"
#include "gateway/db_json.h"
#include "gateway/json_util.h"
#include "gateway/query.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"

#define MANAGERS_MAX 20

/* ---- projects ---- */

static const char *const PROJECT_FIELDS[] = {
    "name", "code", "city", "address", "open_for_leads", "default_handover_date", NULL};

/* PROJECT_COLUMNS: domain/projects/project_lists.h. */

static const char *SQL_PROJECT = "SELECT " PROJECT_COLUMNS ","
                                 " (SELECT COUNT(*) FROM buildings b WHERE b.project_id = p.id) AS building_count,"
                                 " (SELECT COUNT(*) FROM units u JOIN buildings b ON b.id = u.building_id"
                                 "   WHERE b.project_id = p.id) AS unit_count"
                                 " FROM projects p WHERE p.id = ?";
static const char *SQL_PROJECT_LOCKED = "SELECT " PROJECT_COLUMNS " FROM projects p WHERE p.id = ? FOR UPDATE";

/* A project code: 2-16 of A-Z, 0-9 and '-'. */
static int code_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 2 || n > 16)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return 0;
    return 1;
}

static void check_project(gw_call_t *c, int create)
{
    cJSON *ch = admin_changes_new_or_fail(c, PROJECT_FIELDS);
    if (!ch || admin_text_change_or_fail(c, ch, "name", create, 1, 100) != 0 ||
        admin_text_change_or_fail(c, ch, "code", create, 2, 16) != 0 ||
        admin_text_change_or_fail(c, ch, "city", 0, 0, 50) != 0 ||
        admin_text_change_or_fail(c, ch, "address", 0, 0, 255) != 0 ||
        admin_bool_change_or_fail(c, ch, "open_for_leads") != 0 ||
        admin_date_change_or_fail(c, ch, "default_handover_date") != 0)
        return;
    const char *code = admin_str(ch, "code");
    if (code && !code_valid(code))
        call_fail(c, ERR_INVALID_FIELD, "code", "code must be 2 to 16 of A-Z, 0-9 and -");
}

static void check_create_project(gw_call_t *c)
{
    check_project(c, 1);
}

static void check_patch_project(gw_call_t *c)
{
    check_project(c, 0);
}

/* Answers {"project": row of SQL_PROJECT} with status, plus "changed" when
 * changed >= 0. */
static void answer_project(gw_call_t *c, db_conn_t *db, long long id, int status, int changed)
{
    cJSON *p = admin_row_or_fail(c, db, SQL_PROJECT, id, "project");
    if (!p)
        return;
    cJSON *d = cJSON_CreateObject();
    cJSON_AddItemToObject(d, "project", p);
    if (changed >= 0)
        cJSON_AddBoolToObject(d, "changed", changed);
    call_ok(c, status, d);
}

static const char *DUPLICATE_CODE = "another project has the code %s";
static const char *DUPLICATE_BUILDING = "the project already has a building named %s";

static const char *SQL_INSERT_PROJECT =
    "INSERT INTO projects (code, name, city, address, open_for_leads, default_handover_date)"
    " VALUES (?, ?, ?, ?, ?, ?)";

static void create_project(gw_call_t *c, db_conn_t *db)
{
    const cJSON *ch = admin_changes(c);
    const cJSON *open = cJSON_GetObjectItemCaseSensitive(ch, "open_for_leads");
    const char *city = admin_str(ch, "city"), *address = admin_str(ch, "address");
    cJSON *row = NULL;
    if (db_begin(db) != 0)
        goto DbError;
    int rc = db_exec(db, SQL_INSERT_PROJECT,
                     DB_ARGS(DB_STR(admin_str(ch, "code")), DB_STR(admin_str(ch, "name")), DB_STR(city ? city : ""),
                             DB_STR(address ? address : ""), DB_INT(open ? cJSON_IsTrue(open) : 1),
                             DB_STR(admin_str(ch, "default_handover_date"))));
    if (admin_unique_or_fail(c, db, rc, "code", DUPLICATE_CODE, admin_str(ch, "code")) != 0)
        return;
    long long id = (long long)db_insert_id(db);
    if (!(row = admin_row_or_fail(c, db, SQL_PROJECT_LOCKED, id, "project")))
        return;
    if (audit_change(db, c->user.id, "project.create", "project", id, id, NULL, row, NULL) != 0 || db_commit(db) != 0)
        goto DbError;
    cJSON_Delete(row);
    answer_project(c, db, id, 201, -1);
    return;
DbError:
    cJSON_Delete(row);
    call_fail_db(c);
}

/* The list is shared with its CSV export (domain/projects/project_lists.h). */
static void list_projects(gw_call_t *c, db_conn_t *db)
{
    list_respond(c, db, &project_admin_list);
}

static void get_project(gw_call_t *c, db_conn_t *db)
{
    long long id;
    if (call_param_id_or_fail(c, "id", &id) != 0 || project_access_or_fail(c, db, id, 1, NULL, NULL) != 0)
        return;
    answer_project(c, db, id, 200, -1);
}

/* Fields only an admin may change. */
static const char *const GLOBAL_PROJECT_FIELDS[] = {"code", "name", NULL};

static void patch_project(gw_call_t *c, db_conn_t *db)
{
    const cJSON *ch = admin_changes(c);
    long long id;
    int admin, n;
    cJSON *row = NULL, *m = NULL;
    if (call_param_id_or_fail(c, "id", &id) != 0 || project_access_or_fail(c, db, id, 1, NULL, &admin) != 0)
        return;
    for (int i = 0; !admin && GLOBAL_PROJECT_FIELDS[i]; i++)
        if (cJSON_GetObjectItemCaseSensitive(ch, GLOBAL_PROJECT_FIELDS[i])) {
            call_fail(c, ERR_FORBIDDEN, GLOBAL_PROJECT_FIELDS[i], "only an admin can change a project's %s",
                      GLOBAL_PROJECT_FIELDS[i]);
            return;
        }
    if (db_begin(db) != 0)
        goto DbError;
    if (!(row = admin_row_or_fail(c, db, SQL_PROJECT_LOCKED, id, "project")))
        goto Exit;
    if (!(m = admin_merged(row, ch)))
        goto DbError;
    if ((n = !cJSON_Compare(row, m, 1))) {
        int rc = db_exec(db,
                         "UPDATE projects SET code = ?, name = ?, city = ?, address = ?, open_for_leads = ?,"
                         " default_handover_date = ? WHERE id = ?",
                         DB_ARGS(DB_STR(admin_str(m, "code")), DB_STR(admin_str(m, "name")),
                                 DB_STR(admin_str(m, "city")), DB_STR(admin_str(m, "address")),
                                 DB_INT(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "open_for_leads"))),
                                 DB_STR(admin_str(m, "default_handover_date")), DB_INT(id)));
        if (admin_unique_or_fail(c, db, rc, "code", DUPLICATE_CODE, admin_str(m, "code")) != 0)
            goto Exit;
        /* The project's name shows in repair tickets' details. */
        if (audit_change(db, c->user.id, "project.update", "project", id, id, row, m, NULL) != 0 ||
            repair_view_names_changed(db) != 0)
            goto DbError;
    }
    if (db_commit(db) != 0)
        goto DbError;
    answer_project(c, db, id, 200, n > 0);
    goto Exit;
DbError:
    call_fail_db(c);
Exit:
    cJSON_Delete(row);
    cJSON_Delete(m);
}

/* Inside a transaction: the project's row locked, so that the changes of
 * its settings happen one after the other. 0 or -1 (database). */
static int lock_project(db_conn_t *db, long long project)
{
    long long one;
    return db_query_int(db, &one, "SELECT 1 FROM projects WHERE id = ? FOR UPDATE", DB_ARGS(DB_INT(project))) < 0 ? -1
                                                                                                                  : 0;
}

/* ---- the reward rule ---- */

/* Strings point into the call's body, which lives as long as the call. */
typedef struct {
    const char *kind, *description; /* description: "" when not given */
    long long amount;
    int active;
} rule_form_t;

static void check_rule(gw_call_t *c)
{
    static const char *const known[] = {"kind", "amount", "active", "description", NULL};
    if (json_known_fields_or_fail(c, c->body, known) != 0)
        return;
    const char *kind = json_string_or_fail(c, c->body, "kind", 1, 16);
    if (!kind)
        return;
    if (strcmp(kind, "cash") && strcmp(kind, "points")) {
        call_fail(c, ERR_INVALID_FIELD, "kind", "kind must be cash or points");
        return;
    }
    long long amount;
    const char *description = NULL;
    int active = 1, present;
    if (json_int_or_fail(c, c->body, "amount", 1, 100000000000LL, &amount) != 0 ||
        json_text_or_fail(c, c->body, "description", 0, 0, 100, &description, &present) != 0)
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

static const char *SQL_RULE = "SELECT project_id, kind, amount, active, description FROM reward_rules"
                              " WHERE project_id = ?";

static const char *SQL_UPSERT_RULE =
    "INSERT INTO reward_rules (project_id, kind, amount, active, description) VALUES (?, ?, ?, ?, ?)"
    " ON DUPLICATE KEY UPDATE kind = VALUES(kind), amount = VALUES(amount), active = VALUES(active),"
    " description = VALUES(description)";

/* The rule as answered: the row with its amount as shown; NULL (JSON null
 * in the answer) when the project has none. 0 or -1 (database). */
static int rule_json(db_conn_t *db, long long project, cJSON **out)
{
    *out = NULL;
    db_rows_t *r = db_query(db, SQL_RULE, DB_ARGS(DB_INT(project)));
    if (!r)
        return -1;
    if (r->nrows > 0 && (*out = db_row_json(r, 0))) {
        char shown[32];
        reward_amount_display(db_get(r, 0, "kind"), db_get_int(r, 0, "amount"), shown, sizeof(shown));
        cJSON_AddStringToObject(*out, "amount_display", shown);
    }
    db_rows_free(r);
    return 0;
}

static void answer_rule(gw_call_t *c, db_conn_t *db, long long project)
{
    cJSON *rule;
    if (rule_json(db, project, &rule) != 0) {
        call_fail_db(c);
        return;
    }
    cJSON *d = cJSON_CreateObject();
    cJSON_AddItemToObject(d, "rule", rule ? rule : cJSON_CreateNull());
    call_ok(c, 200, d);
}

static void get_rule(gw_call_t *c, db_conn_t *db)
{
    long long project;
    if (call_param_id_or_fail(c, "id", &project) == 0 && project_access_or_fail(c, db, project, 1, NULL, NULL) == 0)
        answer_rule(c, db, project);
}

static void put_rule(gw_call_t *c, db_conn_t *db)
{
    const rule_form_t *f = c->state;
    long long project;
    cJSON *before = NULL, *after = NULL;
    if (call_param_id_or_fail(c, "id", &project) != 0 || project_access_or_fail(c, db, project, 0, NULL, NULL) != 0)
        return;
    if (db_begin(db) != 0 || lock_project(db, project) != 0 || rule_json(db, project, &before) != 0 ||
        db_exec(db, SQL_UPSERT_RULE,
                DB_ARGS(DB_INT(project), DB_STR(f->kind), DB_INT(f->amount), DB_INT(f->active),
                        DB_STR(f->description))) != 0 ||
        rule_json(db, project, &after) != 0 || !after ||
        audit_change(db, c->user.id, "reward_rule.set", "project", project, project, before, after, NULL) != 0 ||
        db_commit(db) != 0)
        goto DbError;
    cJSON_Delete(before);
    cJSON_Delete(after);
    answer_rule(c, db, project);
    return;
DbError:
    cJSON_Delete(before);
    cJSON_Delete(after);
    call_fail_db(c);
}

/* ---- managers ---- */

typedef struct {
    int n;
    long long ids[MANAGERS_MAX]; /* ascending, distinct */
} managers_form_t;

static int cmp_id(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static void check_managers(gw_call_t *c)
{
    static const char *const known[] = {"user_ids", NULL};
    if (json_known_fields_or_fail(c, c->body, known) != 0)
        return;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(c->body, "user_ids");
    if (!a || cJSON_IsNull(a)) {
        call_fail(c, ERR_MISSING_FIELD, "user_ids", "user_ids is required (an empty list removes every manager)");
        return;
    }
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) > MANAGERS_MAX) {
        call_fail(c, ERR_INVALID_FIELD, "user_ids", "user_ids must be a list of at most %d user ids", MANAGERS_MAX);
        return;
    }
    managers_form_t *f = call_state_new_or_fail(c, 1, sizeof(*f), free);
    if (!f)
        return;
    const cJSON *v;
    cJSON_ArrayForEach(v, a)
    {
        double d = cJSON_IsNumber(v) ? v->valuedouble : 0;
        if (d < 1 || d > 9007199254740992.0 || d != (double)(long long)d) {
            call_fail(c, ERR_INVALID_FIELD, "user_ids", "user_ids must hold positive integer user ids");
            return;
        }
        f->ids[f->n++] = (long long)d;
    }
    qsort(f->ids, (size_t)f->n, sizeof(f->ids[0]), cmp_id);
    for (int i = 1; i < f->n; i++)
        if (f->ids[i] == f->ids[i - 1]) {
            call_fail(c, ERR_INVALID_FIELD, "user_ids", "user %lld is listed twice", f->ids[i]);
            return;
        }
}

static const char *SQL_MANAGERS =
    "SELECT u.id AS user_id, u.display_name, u.title FROM project_managers pm JOIN users u ON u.id = pm.user_id"
    " WHERE pm.project_id = ? ORDER BY u.id";

/* The managers' ids, ascending (an array the caller owns); NULL on a
 * database error or when memory runs out. */
static cJSON *manager_ids(db_conn_t *db, long long project)
{
    db_rows_t *r = db_query(db, "SELECT user_id FROM project_managers WHERE project_id = ? ORDER BY user_id FOR UPDATE",
                            DB_ARGS(DB_INT(project)));
    cJSON *a = r ? cJSON_CreateArray() : NULL;
    for (int i = 0; a && i < r->nrows; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber((double)db_get_int(r, i, "user_id")));
    db_rows_free(r);
    return a;
}

static void answer_managers(gw_call_t *c, db_conn_t *db, long long project, int changed)
{
    db_rows_t *r = db_query(db, SQL_MANAGERS, DB_ARGS(DB_INT(project)));
    if (!r) {
        call_fail_db(c);
        return;
    }
    cJSON *d = cJSON_CreateObject();
    cJSON_AddNumberToObject(d, "project_id", (double)project);
    cJSON_AddItemToObject(d, "managers", db_rows_json(r, 0, r->nrows));
    if (changed >= 0)
        cJSON_AddBoolToObject(d, "changed", changed);
    db_rows_free(r);
    call_ok(c, 200, d);
}

static void get_managers(gw_call_t *c, db_conn_t *db)
{
    long long project;
    if (call_param_id_or_fail(c, "id", &project) == 0 && project_access_or_fail(c, db, project, 1, NULL, NULL) == 0)
        answer_managers(c, db, project, -1);
}

/* A manager holds an agent, engineer or supervisor role in the project and
 * is not disabled. */
static const char *SQL_STAFF_OF_PROJECT = "SELECT 1 FROM staff_roles s JOIN users u ON u.id = s.user_id"
                                          " WHERE s.user_id = ? AND s.project_id = ? AND u.disabled = 0 LIMIT 1";

/* The audit row of a change of managers: {"user_ids": [...]} before and
 * after (the arrays are the caller's). 0 or -1 (database, memory). */
static int managers_audit(gw_call_t *c, db_conn_t *db, long long project, const cJSON *before, const cJSON *after)
{
    cJSON *b = cJSON_CreateObject(), *a = cJSON_CreateObject();
    int rc = -1;
    if (b && a && cJSON_AddItemReferenceToObject(b, "user_ids", (cJSON *)before) &&
        cJSON_AddItemReferenceToObject(a, "user_ids", (cJSON *)after))
        rc = audit_change(db, c->user.id, "project.managers.set", "project", project, project, b, a, NULL);
    cJSON_Delete(b);
    cJSON_Delete(a);
    return rc;
}

static void put_managers(gw_call_t *c, db_conn_t *db)
{
    const managers_form_t *f = c->state;
    long long project, one;
    cJSON *before = NULL, *after = NULL;
    if (call_param_id_or_fail(c, "id", &project) != 0 || project_access_or_fail(c, db, project, 1, NULL, NULL) != 0)
        return;
    for (int i = 0; i < f->n; i++) {
        int found = db_query_int(db, &one, SQL_STAFF_OF_PROJECT, DB_ARGS(DB_INT(f->ids[i]), DB_INT(project)));
        if (found < 0)
            goto DbError;
        if (!found) {
            call_fail(c, ERR_UNPROCESSABLE, "user_ids", "user %lld holds no staff role in project %lld", f->ids[i],
                      project);
            return;
        }
    }
    if (db_begin(db) != 0 || lock_project(db, project) != 0 || !(before = manager_ids(db, project)) ||
        !(after = cJSON_CreateArray()))
        goto DbError;
    for (int i = 0; i < f->n; i++)
        cJSON_AddItemToArray(after, cJSON_CreateNumber((double)f->ids[i]));
    int changed = !cJSON_Compare(before, after, 1);
    if (changed) {
        if (db_exec(db, "DELETE FROM project_managers WHERE project_id = ?", DB_ARGS(DB_INT(project))) != 0)
            goto DbError;
        for (int i = 0; i < f->n; i++)
            if (db_exec(db, "INSERT INTO project_managers (project_id, user_id) VALUES (?, ?)",
                        DB_ARGS(DB_INT(project), DB_INT(f->ids[i]))) != 0)
                goto DbError;
        if (managers_audit(c, db, project, before, after) != 0)
            goto DbError;
    }
    if (db_commit(db) != 0)
        goto DbError;
    answer_managers(c, db, project, changed);
    goto Exit;
DbError:
    call_fail_db(c);
Exit:
    cJSON_Delete(before);
    cJSON_Delete(after);
}

/* ---- buildings ---- */

static const char *const BUILDING_FIELDS[] = {"name", "handover_date", NULL};

static void check_create_building(gw_call_t *c)
{
    cJSON *ch = admin_changes_new_or_fail(c, BUILDING_FIELDS);
    if (ch && admin_text_change_or_fail(c, ch, "name", 1, 1, 50) == 0)
        admin_date_change_or_fail(c, ch, "handover_date");
}

/* The list is shared with its CSV export (domain/projects/project_lists.h). */
static void list_buildings(gw_call_t *c, db_conn_t *db)
{
    list_respond(c, db, &building_admin_list);
}

/* A building's handover date defaults to its project's. */
static const char *SQL_INSERT_BUILDING = "INSERT INTO buildings (project_id, name, handover_date)"
                                         " SELECT id, ?, IF(?, ?, default_handover_date) FROM projects WHERE id = ?";
static const char *SQL_BUILDING = "SELECT b.id, b.project_id, b.name,"
                                  " DATE_FORMAT(b.handover_date, '%Y-%m-%d') AS handover_date"
                                  " FROM buildings b WHERE b.id = ?";

static void create_building(gw_call_t *c, db_conn_t *db)
{
    const cJSON *ch = admin_changes(c);
    long long project;
    if (call_param_id_or_fail(c, "id", &project) != 0 || project_access_or_fail(c, db, project, 1, NULL, NULL) != 0)
        return;
    int dated = cJSON_GetObjectItemCaseSensitive(ch, "handover_date") != NULL;
    const char *name = admin_str(ch, "name");
    if (db_begin(db) != 0 || lock_project(db, project) != 0) {
        call_fail_db(c);
        return;
    }
    int rc = db_exec(db, SQL_INSERT_BUILDING,
                     DB_ARGS(DB_STR(name), DB_INT(dated), DB_STR(admin_str(ch, "handover_date")), DB_INT(project)));
    admin_create_finish(c, db, rc, "name", DUPLICATE_BUILDING, name, SQL_BUILDING, "building", "building.create",
                        project);
}

static const route_t routes[] = {
    {"POST", "/api/v1/admin/projects", ROLE_ADMIN, BODY_JSON, DB_STEP(create_project),
     BODY_CHECK(check_create_project)},
    {"GET", "/api/v1/admin/projects", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_NONE, DB_STEP(list_projects)},
    {"GET", "/api/v1/admin/projects/:id", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_NONE, DB_STEP(get_project)},
    {"PATCH", "/api/v1/admin/projects/:id", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_JSON, DB_STEP(patch_project),
     BODY_CHECK(check_patch_project)},
    {"GET", "/api/v1/admin/projects/:id/reward-rule", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_NONE, DB_STEP(get_rule)},
    {"PUT", "/api/v1/admin/projects/:id/reward-rule", ROLE_ADMIN, BODY_JSON, DB_STEP(put_rule), BODY_CHECK(check_rule)},
    {"GET", "/api/v1/admin/projects/:id/managers", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_NONE, DB_STEP(get_managers)},
    {"PUT", "/api/v1/admin/projects/:id/managers", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_JSON, DB_STEP(put_managers),
     BODY_CHECK(check_managers)},
    {"GET", "/api/v1/admin/projects/:id/buildings", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_NONE, DB_STEP(list_buildings)},
    {"POST", "/api/v1/admin/projects/:id/buildings", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_JSON, DB_STEP(create_building),
     BODY_CHECK(check_create_building)},
};

void projects_admin_register(void)
{
    ROUTES_REGISTER(routes);
}
