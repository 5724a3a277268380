/* repair_lists.h: the staff lists of repairs, shared by their routes and
 * the CSV exports (gateway/list_query.h).
 *
 *   repair_staff_list:    GET /api/v1/admin/repairs?project=&state=&overdue=&category=&engineer=&from=&to=
 *                         (rendered by repair_item_json)
 *   repair_followup_list: GET /api/v1/admin/repair-followups?project=&status=
 *
 * A supervisor sees the projects they supervise, an admin all; naming a
 * project one does not supervise is 403 (the follow-ups: repair_project_or_fail
 * first; the tickets: their statement applies the scope, and an empty page
 * asks repair_supervises_or_fail). */
#ifndef GW_REPAIR_LISTS_H
#define GW_REPAIR_LISTS_H
#include "gateway/list_query.h"

extern const list_def_t repair_staff_list;
extern const list_def_t repair_followup_list;

#endif
