/* admin_change.c: see admin_change.h. */
#include "domain/identity/admin_change.h"

#include <string.h>

#include "domain/leads/lead_access.h"
#include "gateway/audit.h"
#include "gateway/db_json.h"
#include "gateway/roles.h"
#include "gateway/users.h"

int admin_lock_or_fail(gw_call_t *c, db_conn_t *db, const char *sql, const char *what, long long *id,
                       long long *project)
{
    *project = 0;
    if (call_param_id_or_fail(c, "id", id) != 0)
        return -1;
    int found = db_begin(db) != 0 ? -1 : db_query_int(db, project, sql, DB_ARGS(DB_INT(*id)));
    if (found < 0) {
        call_fail_db(c);
        return -1;
    }
    return lead_access_or_fail(c, db, found, *project, ROLE_SUPERVISOR | ROLE_ADMIN, what, *id, NULL);
}

cJSON *admin_object_json(db_conn_t *db, const char *sql, long long id,
                         cJSON *(*render)(const db_rows_t *r, int row, void *ud))
{
    db_rows_t *r = db_query(db, sql, DB_ARGS(DB_INT(id)));
    cJSON *o = r && r->nrows == 1 ? (render ? render(r, 0, NULL) : db_row_json(r, 0)) : NULL;
    db_rows_free(r);
    return o;
}

int admin_role_or_fail(gw_call_t *c, db_conn_t *db, long long user, const char *role, long long project,
                       const char *field)
{
    int rc = users_has_project_role(db, user, role, project);
    if (rc < 0)
        call_fail_db(c);
    else if (rc == 0)
        call_fail(c, ERR_UNPROCESSABLE, field, "user %lld is not %s %s of project %lld", user,
                  strchr("aeiou", role[0]) ? "an" : "a", role, project);
    return rc > 0 ? 0 : -1;
}

void admin_fail_write(gw_call_t *c, db_conn_t *db, const char *field, const char *message)
{
    if (db_errno(db) == DB_ER_DUP_ENTRY)
        call_fail(c, ERR_DUPLICATE, field, "%s", message);
    else
        call_fail_db(c);
}

/* Audit, commit, answer `shown` (taken); the other is freed. */
static void finish(gw_call_t *c, db_conn_t *db, int status, const char *action, const char *target_type, long long id,
                   long long project, cJSON *before, cJSON *after, const cJSON *extra, int deleted)
{
    cJSON *shown = deleted ? before : after;
    if (!shown || audit_change(db, c->user.id, action, target_type, id, project, before, after, extra) != 0 ||
        db_commit(db) != 0) {
        cJSON_Delete(before);
        cJSON_Delete(after);
        call_fail_db(c);
        return;
    }
    cJSON_Delete(deleted ? after : before);
    call_ok(c, status, shown);
}

void admin_finish(gw_call_t *c, db_conn_t *db, int status, const char *action, const char *target_type, long long id,
                  long long project, cJSON *before, cJSON *after, const cJSON *extra)
{
    finish(c, db, status, action, target_type, id, project, before, after, extra, 0);
}

void admin_delete(gw_call_t *c, db_conn_t *db, const admin_object_t *o)
{
    long long id, project;
    if (admin_lock_or_fail(c, db, o->lock_sql, o->what, &id, &project) != 0)
        return;
    cJSON *before = admin_object_json(db, o->show_sql, id, NULL);
    if (!before || db_exec(db, o->delete_sql, DB_ARGS(DB_INT(id))) != 0) {
        cJSON_Delete(before);
        call_fail_db(c);
        return;
    }
    finish(c, db, 200, o->action, o->target_type, id, project, before, NULL, NULL, 1);
}
