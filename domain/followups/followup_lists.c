/* followup_lists.c: see followup_lists.h. */
#include "domain/followups/followup_lists.h"

#include "domain/followups/followups.h"
#include "gateway/db_json.h"
#include "gateway/json_util.h"
#include "gateway/mask.h"
#include "gateway/query.h"
#include "gateway/roles.h"
#include "gateway/users.h"

typedef struct {
    int desk; /* 1: the desk's route (service members too), 0: supervisors' */
    long long project;
    const char *status, *reason, *kind;
    int mine, overdue;
} followup_filter_t;

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
int followup_may_work(const gw_call_t *c, db_conn_t *db, long long project_id, int desk)
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
    int rc = followup_may_work(c, db, f->project, f->desk);
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
cJSON *followup_render(const db_rows_t *r, int row, void *ud)
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

const list_def_t followup_desk_list = {
    .filter_size = sizeof(followup_filter_t),
    .filter_or_fail = desk_filter_or_fail,
    .rows = followup_rows,
    .render = followup_render,
    .scope_or_fail = filter_scope_or_fail,
};

const list_def_t followup_admin_list = {
    .filter_size = sizeof(followup_filter_t),
    .filter_or_fail = admin_filter_or_fail,
    .rows = followup_rows,
    .render = followup_render,
    .scope_or_fail = filter_scope_or_fail,
};
