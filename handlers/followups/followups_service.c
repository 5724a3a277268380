/* followups_service.c: follow-up visits (回访), for the service desk and
 * the supervisors.
 *
 *   GET  /api/v1/service/followups?project=&status=&mine=&overdue=&reason=&kind=&cursor=&limit=
 *        the desk's tasks: service members and supervisors of the task's
 *        project, admins
 *   POST /api/v1/service/followups/:id/result {contact, satisfied?, note?, unsatisfied_action?}
 *        records a call: the same people
 *   GET  /api/v1/admin/followups?...  the same list for supervisors (their
 *        projects) and admins
 *
 * Tasks are opened by domain/followups (a poor rating, the sample of closed
 * subjects) and assigned to the least-loaded service member of the
 * project, or left in its pool; any service member of the project may
 * record a result, and takes a pool task by doing so. A result "reached"
 * or "refused" ends the task; "no_answer" and "call_back" count an attempt
 * and leave it open. An ended task tells the owner (followup.done); an
 * unsatisfied owner gets the repair reopened (a new round, the engineer
 * told), or, with unsatisfied_action "complaint", a complaint opened
 * instead (followup_complaint_instead). */
#include <stdlib.h>
#include <string.h>

#include "gateway/audit.h"
#include "gateway/db_json.h"
#include "gateway/call.h"
#include "gateway/json_util.h"
#include "gateway/list_query.h"
#include "gateway/log.h"
#include "gateway/mask.h"
#include "gateway/query.h"
#include "gateway/roles.h"
#include "gateway/users.h"
#include "handlers/handlers.h"
#include "domain/followups/followups.h"
#include "domain/followups/repair_satisfaction.h"
#include "domain/repairs/repair_cache.h"

/* ---- the list ---- */

typedef struct {
    int desk; /* 1: the desk's route (service members too), 0: supervisors' */
    long long project;
    const char *status, *reason, *kind;
    int mine, overdue;
} followup_filter_t;

#define FOLLOWUP_COLUMNS                                                                                               \
    "SELECT f.id AS id, f.kind AS kind, f.subject_id AS subject_id, f.round AS round, t.ticket_no AS ticket_no,"       \
    " f.project_id AS project_id, p.name AS project_name, f.reason AS reason, f.score AS score,"                       \
    " f.status AS status, f.assignee_user_id AS \"assignee.id\", au.display_name AS \"assignee.name\","                \
    " f.owner_user_id AS \"owner.id\", ou.display_name AS \"owner.name\", ou.phone AS \"owner.phone\","                \
    " FLOOR(UNIX_TIMESTAMP(f.due_at)) AS due_at, (f.status = 'open' AND f.due_at < NOW(3)) AS overdue,"                \
    " f.attempts AS attempts, f.contact AS \"result.contact\", f.satisfied AS \"result.satisfied\","                   \
    " f.note AS \"result.note\", FLOOR(UNIX_TIMESTAMP(f.done_at)) AS done_at,"                                         \
    " FLOOR(UNIX_TIMESTAMP(f.created_at)) AS created_at"                                                               \
    " FROM followups f JOIN projects p ON p.id = f.project_id LEFT JOIN users au ON au.id = f.assignee_user_id"        \
    " LEFT JOIN users ou ON ou.id = f.owner_user_id"                                                                   \
    " LEFT JOIN repair_tickets t ON f.kind = 'repair' AND t.id = f.subject_id"

/* Scope: admins everything; others the projects where they are supervisor
 * (or service, on the desk's route). Takes (admin, user, desk). */
#define FOLLOWUP_SCOPE_SQL                                                                                             \
    "(? = 1 OR f.project_id IN (SELECT r.project_id FROM staff_roles r WHERE r.user_id = ?"                            \
    " AND r.role IN ('supervisor', IF(? = 1, 'service', 'supervisor'))))"

#define SQL_FOLLOWUP_LIST                                                                                              \
    FOLLOWUP_COLUMNS " WHERE " FOLLOWUP_SCOPE_SQL " AND (? = 0 OR f.project_id = ?) AND (? IS NULL OR f.status = ?)"   \
                     " AND (? = 0 OR f.assignee_user_id = ?) AND (? IS NULL OR f.reason = ?)"                          \
                     " AND (? IS NULL OR f.kind = ?) AND (? = 0 OR (f.status = 'open' AND f.due_at < NOW(3)))"         \
                     " AND f.id < ? ORDER BY f.id DESC LIMIT ?"

/* The caller may work the project's follow-ups: 1, 0, -1 on error. */
static int may_work(const gw_call_t *c, db_conn_t *db, long long project_id, int desk)
{
    if (c->user.roles & ROLE_ADMIN)
        return 1;
    int rc = users_has_project_role(db, c->user.id, "supervisor", project_id);
    if (rc == 0 && desk)
        rc = users_has_project_role(db, c->user.id, "service", project_id);
    return rc;
}

static int filter_scope_or_fail(gw_call_t *c, db_conn_t *db, const void *filter)
{
    const followup_filter_t *f = filter;
    if (!f->project)
        return 0;
    int rc = may_work(c, db, f->project, f->desk);
    if (rc < 0) {
        call_fail_db(c);
        return -1;
    }
    if (rc == 0) {
        call_fail(c, ERR_FORBIDDEN, "project", "you do not work the follow-ups of project %lld", f->project);
        return -1;
    }
    return 0;
}

static int filter_or_fail(gw_call_t *c, db_conn_t *db, void *filter, int desk)
{
    static const char *const statuses[] = {"open", "done", NULL};
    static const char *const reasons[] = {FOLLOWUP_POOR_RATING, FOLLOWUP_SAMPLE, NULL};
    static const char *const kinds[] = {"repair", "complaint", NULL};
    followup_filter_t *f = filter;
    (void)db;
    f->desk = desk;
    if (query_id_or_fail(c, "project", &f->project) != 0 ||
        query_enum_or_fail(c, "status", statuses, NULL, &f->status) ||
        query_enum_or_fail(c, "reason", reasons, NULL, &f->reason) != 0 ||
        query_enum_or_fail(c, "kind", kinds, NULL, &f->kind) != 0 || query_bool_or_fail(c, "mine", 0, &f->mine) != 0 ||
        query_bool_or_fail(c, "overdue", 0, &f->overdue) != 0)
        return -1;
    return 0;
}

static int desk_filter_or_fail(gw_call_t *c, db_conn_t *db, void *filter)
{
    return filter_or_fail(c, db, filter, 1);
}

static int admin_filter_or_fail(gw_call_t *c, db_conn_t *db, void *filter)
{
    return filter_or_fail(c, db, filter, 0);
}

static db_rows_t *followup_rows(db_conn_t *db, const gw_call_t *c, const void *filter, long long before, int limit,
                                int count)
{
    const followup_filter_t *f = filter;
    int admin = (c->user.roles & ROLE_ADMIN) != 0;
    long long me = c->user.id;
    return db_query(db, count ? LIST_COUNT_SQL(SQL_FOLLOWUP_LIST) : SQL_FOLLOWUP_LIST,
                    DB_ARGS(DB_INT(admin), DB_INT(me), DB_INT(f->desk), DB_INT(f->project), DB_INT(f->project),
                            DB_STR(f->status), DB_STR(f->status), DB_INT(f->mine), DB_INT(me), DB_STR(f->reason),
                            DB_STR(f->reason), DB_STR(f->kind), DB_STR(f->kind), DB_INT(f->overdue), DB_INT(before),
                            DB_INT(limit)));
}

/* A row as the API shows it: the owner's phone masked. */
static cJSON *followup_render(const db_rows_t *r, int row, void *ud)
{
    (void)ud;
    cJSON *o = db_row_json(r, row);
    cJSON *owner = o ? cJSON_GetObjectItemCaseSensitive(o, "owner") : NULL;
    if (owner) {
        const char *phone = db_get(r, row, "owner.phone");
        char masked[40];
        mask_phone(phone ? phone : "", masked, sizeof(masked));
        cJSON_DeleteItemFromObjectCaseSensitive(owner, "phone");
        json_add_string_or_null(owner, "phone", phone ? masked : NULL);
    }
    return o;
}

static const list_def_t desk_list = {
    .filter_size = sizeof(followup_filter_t),
    .filter_or_fail = desk_filter_or_fail,
    .rows = followup_rows,
    .render = followup_render,
    .scope_or_fail = filter_scope_or_fail,
};

static const list_def_t admin_list = {
    .filter_size = sizeof(followup_filter_t),
    .filter_or_fail = admin_filter_or_fail,
    .rows = followup_rows,
    .render = followup_render,
    .scope_or_fail = filter_scope_or_fail,
};

static void desk_followups(gw_call_t *c, db_conn_t *db)
{
    list_respond(c, db, &desk_list);
}

static void admin_followups(gw_call_t *c, db_conn_t *db)
{
    list_respond(c, db, &admin_list);
}

/* ---- recording a result ---- */

typedef struct {
    const char *contact; /* reached, no_answer, refused, call_back */
    int satisfied;       /* 1, 0, or -1 absent */
    const char *note;    /* points into c->body; NULL when absent */
    int complaint;       /* unsatisfied_action "complaint" */
} result_form_t;

static void check_result(gw_call_t *c)
{
    static const char *const contacts[] = {"reached", "no_answer", "refused", "call_back", NULL};
    result_form_t *f = call_state_new_or_fail(c, 1, sizeof(*f), free);
    if (!f || !(f->contact = json_string_or_fail(c, c->body, "contact", 1, 16)))
        return;
    int known = 0;
    for (int i = 0; contacts[i]; i++)
        known |= !strcmp(contacts[i], f->contact);
    if (!known) {
        call_fail(c, ERR_INVALID_FIELD, "contact", "contact must be reached, no_answer, refused or call_back");
        return;
    }
    f->satisfied = -1;
    const cJSON *sat = cJSON_GetObjectItemCaseSensitive(c->body, "satisfied");
    int reached = !strcmp(f->contact, "reached");
    if (reached && (!sat || cJSON_IsNull(sat))) {
        call_fail(c, ERR_MISSING_FIELD, "satisfied", "satisfied is required when the owner was reached");
        return;
    }
    if (sat && !cJSON_IsNull(sat)) {
        if (!reached) {
            call_fail(c, ERR_INVALID_FIELD, "satisfied", "satisfied is recorded only when the owner was reached");
            return;
        }
        if (json_bool_or_fail(c, c->body, "satisfied", &f->satisfied) != 0)
            return;
    }
    if (json_opt_string_or_fail(c, c->body, "note", 1, 500, &f->note) != 0)
        return;
    const char *action = NULL;
    if (json_opt_string_or_fail(c, c->body, "unsatisfied_action", 1, 16, &action) != 0)
        return;
    if (action && strcmp(action, "reopen") && strcmp(action, "complaint")) {
        call_fail(c, ERR_INVALID_FIELD, "unsatisfied_action", "unsatisfied_action must be reopen or complaint");
        return;
    }
    if (action && f->satisfied != 0) {
        call_fail(c, ERR_INVALID_FIELD, "unsatisfied_action",
                  "unsatisfied_action applies only to a reached owner who is not satisfied");
        return;
    }
    f->complaint = action && !strcmp(action, "complaint");
}

static const char *SQL_LOCK =
    "SELECT id, kind, subject_id, project_id, owner_user_id, status FROM followups WHERE id = ? FOR UPDATE";

/* An unsatisfied owner who would rather complain: the complaint is filed
 * through the complaints module. It is not part of this build, so the
 * choice is refused (nothing written) and the desk reopens the subject
 * instead. 0 filed, -1 with the call failed. */
static int followup_complaint_instead(gw_call_t *c, db_conn_t *db, const db_rows_t *task)
{
    (void)db;
    (void)task;
    call_fail(c, ERR_UNPROCESSABLE, "unsatisfied_action",
              "complaints cannot be opened from a follow-up yet; choose reopen");
    return -1;
}

/* The timeline's actor role of the caller in the project. */
static const char *actor_role(const gw_call_t *c, db_conn_t *db, long long project_id)
{
    if (users_has_project_role(db, c->user.id, "service", project_id) == 1)
        return "service";
    if (users_has_project_role(db, c->user.id, "supervisor", project_id) == 1)
        return "supervisor";
    return "admin";
}

static void record_result(gw_call_t *c, db_conn_t *db)
{
    const result_form_t *f = c->state;
    long long id;
    db_rows_t *r = NULL;
    cJSON *extra = NULL;
    if (call_param_id_or_fail(c, "id", &id) != 0)
        return;
    if (db_begin(db) != 0 || !(r = db_query(db, SQL_LOCK, DB_ARGS(DB_INT(id)))))
        goto DbError;
    long long project = r->nrows == 1 ? db_get_int(r, 0, "project_id") : 0;
    int may = r->nrows == 1 ? may_work(c, db, project, 1) : 0;
    if (may < 0)
        goto DbError;
    if (!may) {
        db_rollback(db);
        call_fail(c, ERR_NOT_FOUND, NULL, "no such follow-up");
        goto Done;
    }
    if (strcmp(db_get(r, 0, "status"), "open") != 0) {
        db_rollback(db);
        call_fail(c, ERR_CONFLICT, NULL, "the follow-up is already done");
        goto Done;
    }
    const char *kind = db_get(r, 0, "kind");
    long long subject = db_get_int(r, 0, "subject_id"), owner = db_get_int(r, 0, "owner_user_id");
    int done = !strcmp(f->contact, "reached") || !strcmp(f->contact, "refused");
    if (f->complaint) {
        if (followup_complaint_instead(c, db, r) != 0) {
            db_rollback(db);
            goto Done;
        }
    }
    if (db_exec(db,
                "INSERT INTO followup_attempts (followup_id, contact, satisfied, note, user_id) VALUES (?, ?, ?, ?, ?)",
                DB_ARGS(DB_INT(id), DB_STR(f->contact), f->satisfied < 0 ? DB_NULL : DB_INT(f->satisfied),
                        DB_STR(f->note), DB_INT(c->user.id))) != 0)
        goto DbError;
    if (db_exec(db,
                "UPDATE followups SET attempts = attempts + 1, contact = ?, satisfied = ?, note = ?,"
                " assignee_user_id = COALESCE(assignee_user_id, ?), status = IF(? = 1, 'done', 'open'),"
                " done_by = IF(? = 1, ?, NULL), done_at = IF(? = 1, NOW(3), NULL) WHERE id = ? AND status = 'open'",
                DB_ARGS(DB_STR(f->contact), f->satisfied < 0 ? DB_NULL : DB_INT(f->satisfied), DB_STR(f->note),
                        DB_INT(c->user.id), DB_INT(done), DB_INT(done), DB_INT(c->user.id), DB_INT(done),
                        DB_INT(id))) != 0)
        goto DbError;
    int reopened = 0;
    if (done) {
        if (!(extra = cJSON_CreateObject()))
            goto DbError;
        cJSON_AddStringToObject(extra, "contact", f->contact);
        cJSON_AddStringToObject(extra, "result_label",
                                f->satisfied == 1   ? "满意"
                                : f->satisfied == 0 ? "不满意，将重新处理"
                                                    : "回访已完成");
        if (followup_notify(db, "followup.done", owner, id, kind, subject, project, extra) != 0)
            goto DbError;
        if (f->satisfied == 0 && !f->complaint && !strcmp(kind, "repair")) {
            reopened = repair_followup_reopen(db, subject, c->user.id, actor_role(c, db, project));
            if (reopened < 0)
                goto DbError;
        }
    }
    cJSON_Delete(extra);
    if (!(extra = cJSON_CreateObject()))
        goto DbError;
    cJSON_AddStringToObject(extra, "contact", f->contact);
    if (f->satisfied >= 0)
        cJSON_AddBoolToObject(extra, "satisfied", f->satisfied);
    cJSON_AddBoolToObject(extra, "reopened", reopened);
    if (audit_write(db, c->user.id, project, "followup.result", "followup", id, extra) != 0 || db_commit(db) != 0)
        goto DbError;
    if (reopened)
        repair_cache_forget(subject);
    log_info("followups", "follow-up %lld: %s by user %lld%s", id, f->contact, c->user.id,
             reopened ? " (ticket reopened)" : "");
    db_rows_free(r);
    r = db_query(db, FOLLOWUP_COLUMNS " WHERE f.id = ?", DB_ARGS(DB_INT(id)));
    cJSON *d = r && r->nrows == 1 ? followup_render(r, 0, NULL) : NULL;
    if (!d) {
        call_fail_db(c);
        goto Done;
    }
    cJSON_AddBoolToObject(d, "reopened", reopened);
    call_ok(c, 200, d);
    goto Done;
DbError:
    db_rollback(db);
    call_fail_db(c);
Done:
    cJSON_Delete(extra);
    db_rows_free(r);
}

#define DESK (ROLE_SERVICE | ROLE_SUPERVISOR | ROLE_ADMIN)

static const route_t routes[] = {
    {"GET", "/api/v1/service/followups", DESK, BODY_NONE, DB_STEP(desk_followups)},
    {"POST", "/api/v1/service/followups/:id/result", DESK, BODY_JSON, DB_STEP(record_result), BODY_CHECK(check_result)},
    {"GET", "/api/v1/admin/followups", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_NONE, DB_STEP(admin_followups)},
};

void followups_service_register(void)
{
    ROUTES_REGISTER(routes);
}
