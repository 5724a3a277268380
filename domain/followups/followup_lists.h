/* followup_lists.h: the follow-up visits (回访) as lists: the service
 * desk's (GET /api/v1/service/followups, followups_service.c) and the
 * supervisors' (GET /api/v1/admin/followups, followups_admin.c), one list
 * definition each (gateway/list_query.h), and who may work a project's
 * follow-ups. DB workers only. */
#ifndef GW_FOLLOWUP_LISTS_H
#define GW_FOLLOWUP_LISTS_H
#include <cjson/cJSON.h>

#include "gateway/call.h"
#include "gateway/list_query.h"

/* The columns of an item (alias f: followups), to be followed by a WHERE
 * clause; each aliased with its field's name. */
#define FOLLOWUP_COLUMNS                                                                                               \
    "SELECT f.id AS id, f.kind AS kind, f.subject_id AS subject_id, f.round AS round, t.ticket_no AS ticket_no,"       \
    " f.project_id AS project_id, p.name AS project_name, f.reason AS reason, f.score AS score,"                       \
    " f.status AS status, f.assignee_user_id AS \"assignee.id\", au.display_name AS \"assignee.name\","                \
    " f.owner_user_id AS \"owner.id\", ou.display_name AS \"owner.name\", ou.phone AS \"owner.phone\","                \
    " FLOOR(UNIX_TIMESTAMP(f.due_at)) AS due_at, (f.status = 'open' AND f.due_at < NOW(3)) AS overdue,"                \
    " f.attempts AS attempts, f.contact AS \"result.contact\", f.satisfied AS \"result.satisfied\","                   \
    " f.note AS \"result.note\", FLOOR(UNIX_TIMESTAMP(f.done_at)) AS done_at,"                                         \
    " FLOOR(UNIX_TIMESTAMP(f.created_at)) AS created_at"                                                               \
    " FROM followups f JOIN projects p ON p.id = f.project_id LEFT JOIN users au ON au.id = f.assignee_user_id"        \
    " LEFT JOIN users ou ON ou.id = f.owner_user_id"                                                                   \
    " LEFT JOIN repair_tickets t ON f.kind = 'repair' AND t.id = f.subject_id"

extern const list_def_t followup_desk_list;  /* service members, supervisors, admins */
extern const list_def_t followup_admin_list; /* supervisors, admins */

/* Whether the caller may work project_id's follow-ups: an admin, a
 * supervisor of the project, or (desk: 1) a service member of it. 1, 0, or
 * -1 on a database error. */
int followup_may_work(const gw_call_t *c, db_conn_t *db, long long project_id, int desk);

/* A row of FOLLOWUP_COLUMNS as the API shows it (the owner's phone
 * masked); caller frees. NULL when memory runs out. */
cJSON *followup_render(const db_rows_t *r, int row, void *ud);

#endif
