/* complaint_lists.h: the staff list of complaints, shared by its route and
 * its CSV export (gateway/list_query.h, export kind "complaints").
 *
 *   complaint_staff_list: GET /api/v1/admin/complaints?project=&type=&category=&level=&state=
 *                         &building=&incident=&handler=&overdue=&from=&to=
 *                         (rendered by complaint_item_json, with the staff columns)
 *
 * Scope: admins see every project; supervisors and service-desk members the
 * projects they hold that role in; anyone the complaints assigned to them.
 * Naming a project outside one's scope gives 403 (field project) when the
 * page comes back empty. */
#ifndef GW_COMPLAINT_LISTS_H
#define GW_COMPLAINT_LISTS_H
#include "gateway/list_query.h"

extern const list_def_t complaint_staff_list;

#endif
