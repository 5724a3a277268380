/* followups_admin.c: the follow-up visits (回访) for supervisors.
 *
 *   GET /api/v1/admin/followups?project=&status=&mine=&overdue=&reason=&kind=&cursor=&limit=
 *       the desk's list (followups_service.c) for the supervisors of the
 *       task's project and admins, with the same filters and items */
#include "domain/followups/followup_lists.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"

static void admin_followups(gw_call_t *c, db_conn_t *db)
{
    list_respond(c, db, &followup_admin_list);
}

static const route_t routes[] = {
    {"GET", "/api/v1/admin/followups", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_NONE, DB_STEP(admin_followups)},
};

void followups_admin_register(void)
{
    ROUTES_REGISTER(routes);
}
