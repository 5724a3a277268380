/* audit_list.h: the audit log as GET /api/v1/admin/audit lists it, shared
 * with its CSV export (gateway/list_query.h).
 *
 *   ?actor= &object_type= &object_id= &project= &action= &from= &to=
 *
 * An admin reads every row; a supervisor the rows of their projects
 * (audit_log.project_id), and naming another project is 403. */
#ifndef GW_AUDIT_LIST_H
#define GW_AUDIT_LIST_H
#include "gateway/list_query.h"

extern const list_def_t audit_admin_list;

#endif
