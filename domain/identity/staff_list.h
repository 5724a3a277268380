/* staff_list.h: the staff directory as GET /api/v1/admin/staff lists it,
 * shared with its CSV export (gateway/list_query.h).
 *
 *   ?q= (a part of the display name) &phone= (a whole phone) &role= &project=
 *
 * A user is listed when one of their roles is visible to the caller (an
 * admin: every role; a supervisor: the roles in their projects) and
 * matches the role and project filters; each item carries those visible
 * roles. Ordered by user id, oldest first; the phone masked. */
#ifndef GW_STAFF_LIST_H
#define GW_STAFF_LIST_H
#include "gateway/list_query.h"

extern const list_def_t staff_admin_list;

#endif
