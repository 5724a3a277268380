#include "domain/service/desk_scope.h"

#include <string.h>

const char *desk_role(db_conn_t *db, long long user_id, long long project_id, int *err)
{
    static const char *const roles[] = {"service", "supervisor", "admin"};
    *err = 0;
    /* service first: a member who holds both acts at the desk as 客服. */
    db_rows_t *r = db_query(db,
                            "SELECT role FROM staff_roles WHERE user_id = ? AND ((role IN ('service', 'supervisor')"
                            " AND project_id = ?) OR role = 'admin')"
                            " ORDER BY FIELD(role, 'service', 'supervisor', 'admin') LIMIT 1",
                            DB_ARGS(DB_INT(user_id), DB_INT(project_id)));
    if (!r) {
        *err = -1;
        return NULL;
    }
    const char *role = NULL, *v = r->nrows == 1 ? db_get(r, 0, "role") : NULL;
    for (size_t i = 0; v && i < sizeof(roles) / sizeof(roles[0]); i++)
        if (!strcmp(v, roles[i]))
            role = roles[i];
    db_rows_free(r);
    return role;
}
