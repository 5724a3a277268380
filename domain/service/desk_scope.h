/* desk_scope.h: the projects the service desk may read and file in (DB
 * workers only).
 *
 * A caller works the desk of a project when they hold `service` (客服) or
 * `supervisor` there, or are an admin (every project). The grants are read
 * by each request, so a role granted or revoked a moment ago applies at
 * once. Anything of another project is answered as if it did not exist. */
#ifndef GW_DESK_SCOPE_H
#define GW_DESK_SCOPE_H
#include "gateway/db.h"

/* A condition on a project id column: `col` is a project of the caller's
 * desk. Binds two parameters: is_admin (0/1), then the caller's user id. */
#define DESK_SCOPE_SQL(col)                                                                                            \
    "(? = 1 OR " col " IN (SELECT ds.project_id FROM staff_roles ds WHERE ds.user_id = ?"                              \
    " AND ds.role IN ('service', 'supervisor')))"

/* The role the caller works project_id's desk in, for timelines and
 * audit rows: "admin", "supervisor" or "service" (a static string), NULL
 * when they may not; *err set to -1 on a database error (else 0). */
const char *desk_role(db_conn_t *db, long long user_id, long long project_id, int *err);

/* Whether the caller is an admin (every project): project_access_is_admin
 * (domain/identity/project_access.h). */

#endif
