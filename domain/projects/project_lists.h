/* project_lists.h: the projects as GET /api/v1/admin/projects lists them,
 * shared with its CSV export (gateway/list_query.h).
 *
 *   ?q= (a part of the name or code) &open_for_leads=true|false
 *
 * An admin sees every project, a supervisor the projects they supervise. */
#ifndef GW_PROJECT_LISTS_H
#define GW_PROJECT_LISTS_H
#include "gateway/list_query.h"

/* A project's fields as the administration routes show it (alias p). */
#define PROJECT_COLUMNS                                                                                                \
    "p.id, p.code, p.name, p.city, p.address, p.open_for_leads,"                                                       \
    " DATE_FORMAT(p.default_handover_date, '%Y-%m-%d') AS default_handover_date,"                                      \
    " FLOOR(UNIX_TIMESTAMP(p.created_at)) AS created_at"

extern const list_def_t project_admin_list;
/* GET /api/v1/admin/projects/:id/buildings?q= (exported with params
 * {project}), oldest first; the project's supervisors and admins. */
extern const list_def_t building_admin_list;
/* GET /api/v1/admin/buildings/:id/units?q= (exported with params
 * {building}), oldest first; the supervisors of its project and admins
 * (another project's building is 404). */
extern const list_def_t unit_admin_list;

#endif
