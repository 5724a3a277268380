/* units_admin.c: editing a unit, for admins and its project's supervisors.
 *
 *   PATCH /api/v1/admin/units/:id   {name, handover_date}
 *
 * Units are listed and created under their building (buildings_admin.c).
 * The handover date starts the unit's statutory warranty, which the repair
 * categories' warranty months count from; the name is unique in the
 * building (the owner roster import finds units by it). A unit of another
 * project answers 404, as one that does not exist. The change commits with
 * its audit row (`unit.update`, the changed fields before and after). */
#include "domain/identity/admin_change.h"
#include "domain/identity/project_access.h"
#include "domain/repairs/repair_view.h"
#include "gateway/call.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"

static void check_patch(gw_call_t *c)
{
    static const char *const fields[] = {"name", "handover_date", NULL};
    cJSON *ch = admin_changes_new_or_fail(c, fields);
    if (ch && admin_not_null_or_fail(c, "name") == 0 && admin_text_change_or_fail(c, ch, "name", 0, 1, 50) == 0)
        admin_date_change_or_fail(c, ch, "handover_date");
}

static const char *const UNIT_COLUMNS[] = {"name", "handover_date", NULL};

static const admin_edit_t UNIT_EDIT = {
    .what = "unit",
    .sql_locked = "SELECT u.id, u.building_id, b.project_id, u.name,"
                  " DATE_FORMAT(u.handover_date, '%Y-%m-%d') AS handover_date"
                  " FROM units u JOIN buildings b ON b.id = u.building_id WHERE u.id = ? FOR UPDATE",
    .sql_update = "UPDATE units SET name = ?, handover_date = ? WHERE id = ?",
    .columns = UNIT_COLUMNS,
    .unique_field = "name",
    .duplicate = "the building already has a unit named %s",
    .action = "unit.update",
    .in_transaction = repair_view_names_changed, /* the name shows in repair tickets' details */
};

static void patch_unit(gw_call_t *c, db_conn_t *db)
{
    long long id, project;
    if (call_param_id_or_fail(c, "id", &id) == 0 &&
        project_access_of_or_fail(c, db,
                                  "SELECT b.project_id FROM units u JOIN buildings b ON b.id = u.building_id"
                                  " WHERE u.id = ?",
                                  id, "unit", &project, NULL) == 0)
        admin_edit(c, db, &UNIT_EDIT, id, project);
}

static const route_t routes[] = {
    {"PATCH", "/api/v1/admin/units/:id", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_JSON, DB_STEP(patch_unit),
     BODY_CHECK(check_patch)},
};

void units_admin_register(void)
{
    ROUTES_REGISTER(routes);
}
