/* audit_admin.c: reading the audit log.
 *
 *   GET /api/v1/admin/audit?actor=&object_type=&object_id=&project=&action=&from=&to=&cursor=&limit=
 *
 * Newest first. An admin reads every row; a supervisor reads the rows of
 * their projects only (audit_log.project_id: global changes, such as role
 * grants of admins or console logins, are admins' reading). The filters are
 * bound and each is served by an index of migration 019. The list itself
 * is in domain/identity/audit_list.c, shared with its CSV export. */
#include "domain/identity/audit_list.h"
#include "gateway/call.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"

/* The list is shared with its CSV export (domain/identity/audit_list.h). */
static void list_audit(gw_call_t *c, db_conn_t *db)
{
    list_respond(c, db, &audit_admin_list);
}

static const route_t routes[] = {
    {"GET", "/api/v1/admin/audit", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_NONE, DB_STEP(list_audit)},
};

void audit_admin_register(void)
{
    ROUTES_REGISTER(routes);
}
