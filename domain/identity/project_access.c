#include "project_access.h"

#include "gateway/users.h"

int project_access_is_admin(db_conn_t *db, long long user_id)
{
    return users_has_project_role(db, user_id, "admin", 0);
}

/* 1 the caller may act on project (admin, or supervisor when allowed), 0
 * not, -1 database error. */
static int may_act(gw_call_t *c, db_conn_t *db, long long project, int supervisor_ok, int *is_admin)
{
    int admin = project_access_is_admin(db, c->user.id);
    if (admin < 0)
        return -1;
    if (is_admin)
        *is_admin = admin;
    if (admin)
        return 1;
    return supervisor_ok ? users_has_project_role(db, c->user.id, "supervisor", project) : 0;
}

int project_access_or_fail(gw_call_t *c, db_conn_t *db, long long project, int supervisor_ok, const char *field,
                           int *is_admin)
{
    long long one;
    int found = db_query_int(db, &one, "SELECT 1 FROM projects WHERE id = ?", DB_ARGS(DB_INT(project)));
    int ok = found > 0 ? may_act(c, db, project, supervisor_ok, is_admin) : 0;
    if (found < 0 || ok < 0) {
        call_fail_db(c);
        return -1;
    }
    if (!found) {
        call_fail(c, ERR_NOT_FOUND, field, "project %lld not found", project);
        return -1;
    }
    if (!ok) {
        call_fail(c, ERR_FORBIDDEN, field,
                  supervisor_ok ? "only an admin or a supervisor of project %lld can do this"
                                : "only an admin can do this (project %lld)",
                  project);
        return -1;
    }
    return 0;
}

int project_access_of_or_fail(gw_call_t *c, db_conn_t *db, const char *sql_project_of, long long id, const char *what,
                              long long *project, int *is_admin)
{
    int found = db_query_int(db, project, sql_project_of, DB_ARGS(DB_INT(id)));
    int ok = found > 0 ? may_act(c, db, *project, 1, is_admin) : 0;
    if (found < 0 || ok < 0) {
        call_fail_db(c);
        return -1;
    }
    if (!found || !ok) {
        call_fail(c, ERR_NOT_FOUND, NULL, "%s %lld not found", what, id);
        return -1;
    }
    return 0;
}
