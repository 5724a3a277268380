/* admin_guard.c: see admin_guard.h. */
#include "domain/identity/admin_guard.h"

int admin_guard_lock_others(db_conn_t *db, long long user_id, int *is_admin)
{
    db_rows_t *r = db_query(db,
                            "SELECT r.user_id FROM staff_roles r JOIN users u ON u.id = r.user_id AND u.disabled = 0"
                            " WHERE r.role = 'admin' FOR UPDATE",
                            DB_NOARGS);
    if (!r)
        return -1;
    int others = 0;
    *is_admin = 0;
    for (int i = 0; i < r->nrows; i++) {
        if (db_get_int(r, i, "user_id") == user_id)
            *is_admin = 1;
        else
            others++;
    }
    db_rows_free(r);
    return others;
}
