/* staff_names.h: a staff member's display name and title, set by an admin,
 * a supervisor of their projects (PATCH /api/v1/admin/users/{id},
 * users_admin.c) or themselves (PATCH /api/v1/me, me.c). The display name
 * is what owners and supervisors see instead of a bare role. */
#ifndef GW_STAFF_NAMES_H
#define GW_STAFF_NAMES_H
#include "gateway/call.h"

#define STAFF_NAME_MAX_CHARS 32
#define STAFF_TITLE_MAX_CHARS 32

/* BODY_CHECK (loop): display_name (1-32 characters) and, when with_title,
 * title (0-32; "" clears it), both optional and trimmed; any other field
 * is refused. */
void staff_names_check(gw_call_t *c, int with_title);

/* DB step's end: writes the checked fields to user_id with its audit row
 * (`user.update`, the changed fields before and after, recorded under
 * project_id, 0 for none) in one transaction and answers {"user": {id,
 * display_name, title}, "changed"}; 404 when there is no such user. */
void staff_names_apply(gw_call_t *c, db_conn_t *db, long long user_id, long long project_id);

#endif
