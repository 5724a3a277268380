/* outbox_list.h: the notification outbox as GET /api/v1/admin/notifications
 * lists it, shared with its CSV export (gateway/list_query.h).
 *
 *   ?status= &kind= &user= &project=
 *
 * Admins see every event; a supervisor the events of the projects they
 * supervise at the time of the request (events without a project are for
 * admins only). OUTBOX_ROW_SQL is what an event looks like to staff. */
#ifndef GW_OUTBOX_LIST_H
#define GW_OUTBOX_LIST_H
#include "gateway/list_query.h"

/* An event as staff see it; the alias names the field. msgid is a VARCHAR,
 * so it goes out as a string (WeChat's int64 is beyond a double). */
#define OUTBOX_ROW_SQL                                                                                                 \
    "SELECT id, kind, user_id, ref_type, ref_id, status, attempts, template_id, msgid, last_errcode, last_error,"      \
    " FLOOR(UNIX_TIMESTAMP(next_attempt_at)) AS next_attempt_at, FLOOR(UNIX_TIMESTAMP(created_at)) AS created_at,"     \
    " FLOOR(UNIX_TIMESTAMP(sent_at)) AS sent_at, lease_owner, project_id FROM notification_events"

/* The caller's scope, read from the grants at the time of the request (the
 * role bits of the route are the union over every project). Takes (caller,
 * caller). */
#define OUTBOX_SCOPE_SQL                                                                                               \
    " AND (EXISTS (SELECT 1 FROM staff_roles a WHERE a.user_id = ? AND a.role = 'admin')"                              \
    " OR project_id IN (SELECT s.project_id FROM staff_roles s WHERE s.user_id = ? AND s.role = 'supervisor'))"

/* Every status an event can be in, NULL-terminated. */
extern const char *const outbox_statuses[];

extern const list_def_t outbox_admin_list;

#endif
