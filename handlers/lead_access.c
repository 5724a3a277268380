/* lead_access.c: see lead_access.h. */
#include "lead_access.h"

#include "../gateway/roles.h"
#include "../gateway/utf8.h"

int lead_project_roles(db_conn_t *db, long long user_id, long long project_id, unsigned *roles)
{
    *roles = 0;
    db_rows_t *r = db_query(db,
                            "SELECT role FROM staff_roles WHERE user_id = ?"
                            " AND (project_id = ? OR (role = 'admin' AND project_id = 0))",
                            DB_ARGS(DB_INT(user_id), DB_INT(project_id)));
    if (!r)
        return -1;
    for (int i = 0; i < r->nrows; i++)
        *roles |= role_from_name(db_get(r, i, "role"));
    db_rows_free(r);
    *roles &= ROLE_AGENT | ROLE_SUPERVISOR | ROLE_ADMIN;
    return 0;
}

int lead_project_name(db_conn_t *db, long long project_id, char *out, size_t outsz)
{
    db_rows_t *r = db_query(db, "SELECT name FROM projects WHERE id = ?", DB_ARGS(DB_INT(project_id)));
    if (!r)
        return -1;
    utf8_copy(out, outsz, r->nrows == 1 ? db_get(r, 0, "name") : "");
    db_rows_free(r);
    return 0;
}
