/* admin_guard.h: the gateway always keeps one enabled admin.
 *
 * Only an admin can grant roles, so the last enabled admin can neither lose
 * the role (DELETE /api/v1/admin/staff, staff_admin.c) nor be disabled
 * (POST /api/v1/admin/users/{id}/disable, users_admin.c). Both ask the same
 * question inside their transaction, here. */
#ifndef GW_ADMIN_GUARD_H
#define GW_ADMIN_GUARD_H
#include "gateway/db.h"

/* DB worker, inside the caller's transaction: locks the grant rows of the
 * enabled admins (FOR UPDATE, until the caller commits or rolls back, so
 * two concurrent removals cannot both pass) and returns how many of them
 * are someone other than user_id; *is_admin says whether user_id is one.
 * -1 on a database error (the caller fails the call with call_fail_db). */
int admin_guard_lock_others(db_conn_t *db, long long user_id, int *is_admin);

#endif
