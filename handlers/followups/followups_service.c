/* followups_service.c: follow-up visits (回访), for the service desk and
 * the supervisors.
 *
 *   GET  /api/v1/service/followups?project=&status=&mine=&overdue=&reason=&kind=&cursor=&limit=
 *        the desk's tasks: service members and supervisors of the task's
 *        project, admins
 *   POST /api/v1/service/followups/:id/result {contact, satisfied?, note?, unsatisfied_action?, category?}
 *        records a call: the same people
 *
 * Tasks are opened by domain/followups (a poor rating, the sample of closed
 * subjects) and assigned to the least-loaded service member of the
 * project, or left in its pool; any service member of the project may
 * record a result, and takes a pool task by doing so. A result "reached"
 * or "refused" ends the task; "no_answer" and "call_back" count an attempt
 * and leave it open. An ended task tells the owner (followup.done); an
 * unsatisfied owner gets the subject reopened (a repair: a new round, the
 * engineer told; a complaint: a new round, its handler told), or, for a
 * repair with unsatisfied_action "complaint", a complaint filed for them
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
#include "domain/complaints/complaint_actions.h"
#include "domain/followups/followup_lists.h"
#include "domain/followups/followups.h"
#include "domain/followups/repair_satisfaction.h"
#include "domain/repairs/repair_cache.h"

static void desk_followups(gw_call_t *c, db_conn_t *db)
{
    list_respond(c, db, &followup_desk_list);
}

/* ---- recording a result ---- */

typedef struct {
    const char *contact;  /* reached, no_answer, refused, call_back */
    int satisfied;        /* 1, 0, or -1 absent */
    const char *note;     /* points into c->body; NULL when absent */
    int complaint;        /* unsatisfied_action "complaint" */
    const char *category; /* the complaint's category code; points into c->body */
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
    if (json_opt_string_or_fail(c, c->body, "category", 1, 32, &f->category) != 0)
        return;
    if (f->complaint && !f->category) {
        call_fail(c, ERR_MISSING_FIELD, "category",
                  "category (a complaint category's code) is required to open a complaint");
        return;
    }
    if (f->complaint && !f->note) {
        call_fail(c, ERR_MISSING_FIELD, "note", "note (the owner's words) is required to open a complaint");
        return;
    }
    if (f->category && !f->complaint) {
        call_fail(c, ERR_INVALID_FIELD, "category", "category applies only with unsatisfied_action complaint");
        return;
    }
}

static const char *SQL_LOCK =
    "SELECT id, kind, subject_id, project_id, owner_user_id, status FROM followups WHERE id = ? FOR UPDATE";

/* An unsatisfied owner of a repair who would rather complain: the desk
 * member files the complaint for them (channel hotline) about the
 * ticket's unit, with the owner's words from the note, in the result's
 * transaction. A complaint's own follow-up cannot open another complaint:
 * it reopens the complaint. 0 filed, -1 with the call failed. */
static int followup_complaint_instead(gw_call_t *c, db_conn_t *db, const db_rows_t *task, const result_form_t *f,
                                      const char *role)
{
    if (strcmp(db_get(task, 0, "kind"), "repair") != 0) {
        call_fail(c, ERR_INVALID_FIELD, "unsatisfied_action",
                  "a complaint's follow-up reopens the complaint; unsatisfied_action complaint is for repairs");
        return -1;
    }
    long long unit = 0;
    if (db_query_int(db, &unit, "SELECT unit_id FROM repair_tickets WHERE id = ?",
                     DB_ARGS(DB_INT(db_get_int(task, 0, "subject_id")))) != 1) {
        call_fail_db(c);
        return -1;
    }
    complaint_filing_t k = {.user_id = db_get_int(task, 0, "owner_user_id"),
                            .unit_id = unit,
                            .project_id = db_get_int(task, 0, "project_id"),
                            .type = "complaint",
                            .category = f->category,
                            .content = f->note,
                            .channel = "hotline",
                            .filed_by = c->user.id,
                            .actor_role = role,
                            .photo_owner_id = c->user.id};
    long long id;
    return complaint_file_or_fail(c, db, &k, &id);
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
    int may = r->nrows == 1 ? followup_may_work(c, db, project, 1) : 0;
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
    if (f->complaint && followup_complaint_instead(c, db, r, f, actor_role(c, db, project)) != 0) {
        db_rollback(db);
        goto Done;
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
        if (f->satisfied == 0 && !f->complaint) {
            reopened = !strcmp(kind, "repair")
                           ? repair_followup_reopen(db, subject, c->user.id, actor_role(c, db, project))
                           : complaint_new_round(db, subject, "closed", "reopen", c->user.id,
                                                 actor_role(c, db, project), "回访不满意，重新处理");
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
    if (reopened && !strcmp(kind, "repair"))
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
};

void followups_service_register(void)
{
    ROUTES_REGISTER(routes);
}
