/* project_access.h: who may administer a project (DB worker only).
 *
 * The administration routes act on a project for an admin (a global role)
 * or for a supervisor of that project, read from staff_roles by the request
 * itself so that a role granted or revoked a moment ago applies at once.
 * A project addressed by its id answers 404 when it does not exist and 403
 * when the caller may not act on it; an object addressed by its own id (a
 * building, a unit) answers 404 in both cases, so that its existence does
 * not leak to other projects' staff (miniprogram-api.md, "Who may see
 * what"). */
#ifndef GW_PROJECT_ACCESS_H
#define GW_PROJECT_ACCESS_H
#include "gateway/call.h"

/* 1 the user is an admin, 0 not, -1 database error. */
int project_access_is_admin(db_conn_t *db, long long user_id);

/* 0 when project exists and the caller is an admin or (supervisor_ok) one of
 * its supervisors; *is_admin says which (may be NULL). -1 answered: 404
 * NOT_FOUND (field: `field`, may be NULL) for no such project, 403
 * FORBIDDEN for a caller who may not act on it, or the database failure. */
int project_access_or_fail(gw_call_t *c, db_conn_t *db, long long project, int supervisor_ok, const char *field,
                           int *is_admin);

/* The same for an object of a project found by `sql_project_of` (one `?`,
 * the id; answers the column `project_id`): 0 with *project set, or -1
 * with 404 NOT_FOUND ("<what> <id> not found") when the object does not
 * exist or the caller may not act on its project. */
int project_access_of_or_fail(gw_call_t *c, db_conn_t *db, const char *sql_project_of, long long id, const char *what,
                              long long *project, int *is_admin);

/* A condition on a project id column for the lists: `col` is a project of
 * the caller. Binds two parameters: is_admin, then the user id. */
#define PROJECT_ACCESS_SQL(col)                                                                                        \
    "(? = 1 OR " col " IN (SELECT sr.project_id FROM staff_roles sr WHERE sr.user_id = ? AND sr.role = 'supervisor'))"

#endif
