/* buildings_admin.c: a building and its units, for admins and the
 * building's project's supervisors.
 *
 *   PATCH /api/v1/admin/buildings/:id          {name, handover_date}
 *   GET   /api/v1/admin/buildings/:id/units    ?q=&limit=&cursor=
 *   POST  /api/v1/admin/buildings/:id/units    {name, handover_date}
 *
 * Buildings are created under their project (projects_admin.c); a unit is
 * edited by its own id (units_admin.c). A building addressed by its id
 * answers 404 to staff of other projects as to everyone when it does not
 * exist, so that its existence does not leak (project_access.h).
 *
 * A building's handover date is the default of the units created in it
 * afterwards; a change does not move the dates of its existing units (each
 * unit's date starts its statutory warranty, and is edited on the unit).
 * Names stay unique in their project (buildings) and building (units): the
 * owner roster import finds them by name. Every change commits with its
 * audit row, the changed fields before and after. */
#include <stdlib.h>

#include "domain/identity/admin_change.h"
#include "domain/identity/project_access.h"
#include "domain/projects/project_lists.h"
#include "domain/repairs/repair_view.h"
#include "gateway/call.h"
#include "gateway/db_json.h"
#include "gateway/query.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"

#define NAME_MAX_CHARS 50 /* buildings.name, units.name */

static const char *const FIELDS[] = {"name", "handover_date", NULL};

static const char *SQL_PROJECT_OF_BUILDING = "SELECT project_id FROM buildings WHERE id = ?";

/* name required on a create; handover_date: YYYY-MM-DD or null. */
static void check_fields(gw_call_t *c, int create)
{
    cJSON *ch = admin_changes_new_or_fail(c, FIELDS);
    if (ch && admin_not_null_or_fail(c, "name") == 0 &&
        admin_text_change_or_fail(c, ch, "name", create, 1, NAME_MAX_CHARS) == 0)
        admin_date_change_or_fail(c, ch, "handover_date");
}

static void check_patch(gw_call_t *c)
{
    check_fields(c, 0);
}

static void check_create_unit(gw_call_t *c)
{
    check_fields(c, 1);
}

/* 0 with the building's project in *project, or -1 answered (404 for a
 * building that does not exist or is not the caller's). */
static int building_access_or_fail(gw_call_t *c, db_conn_t *db, long long *building, long long *project)
{
    if (call_param_id_or_fail(c, "id", building) != 0)
        return -1;
    return project_access_of_or_fail(c, db, SQL_PROJECT_OF_BUILDING, *building, "building", project, NULL);
}

static const char *const BUILDING_COLUMNS[] = {"name", "handover_date", NULL};

static const admin_edit_t BUILDING_EDIT = {
    .what = "building",
    .sql_locked = "SELECT b.id, b.project_id, b.name, DATE_FORMAT(b.handover_date, '%Y-%m-%d') AS handover_date,"
                  " (SELECT COUNT(*) FROM units u WHERE u.building_id = b.id) AS unit_count"
                  " FROM buildings b WHERE b.id = ? FOR UPDATE",
    .sql_update = "UPDATE buildings SET name = ?, handover_date = ? WHERE id = ?",
    .columns = BUILDING_COLUMNS,
    .unique_field = "name",
    .duplicate = "the project already has a building named %s",
    .action = "building.update",
    .in_transaction = repair_view_names_changed, /* the name shows in repair tickets' details */
};

static void patch_building(gw_call_t *c, db_conn_t *db)
{
    long long id, project;
    if (building_access_or_fail(c, db, &id, &project) == 0)
        admin_edit(c, db, &BUILDING_EDIT, id, project);
}

/* ---- units of a building ---- */

/* In the order they were made, as the roster import and this API made them.
 * The list is shared with its CSV export (domain/projects/project_lists.h). */
static void list_units(gw_call_t *c, db_conn_t *db)
{
    list_respond(c, db, &unit_admin_list);
}

/* A unit's handover date defaults to its building's. */
static const char *SQL_INSERT_UNIT = "INSERT INTO units (building_id, name, handover_date)"
                                     " SELECT id, ?, IF(?, ?, handover_date) FROM buildings WHERE id = ?";
static const char *SQL_UNIT_CREATED =
    "SELECT u.id, u.building_id, b.project_id, u.name, DATE_FORMAT(u.handover_date, '%Y-%m-%d') AS handover_date"
    " FROM units u JOIN buildings b ON b.id = u.building_id WHERE u.id = ?";

static void create_unit(gw_call_t *c, db_conn_t *db)
{
    const cJSON *ch = admin_changes(c);
    long long building, project, one;
    if (building_access_or_fail(c, db, &building, &project) != 0)
        return;
    int dated = cJSON_GetObjectItemCaseSensitive(ch, "handover_date") != NULL;
    const char *name = admin_str(ch, "name");
    /* The building locked: its handover date is the one the unit copies. */
    if (db_begin(db) != 0 ||
        db_query_int(db, &one, "SELECT 1 FROM buildings WHERE id = ? FOR UPDATE", DB_ARGS(DB_INT(building))) < 0) {
        call_fail_db(c);
        return;
    }
    int rc = db_exec(db, SQL_INSERT_UNIT,
                     DB_ARGS(DB_STR(name), DB_INT(dated), DB_STR(admin_str(ch, "handover_date")), DB_INT(building)));
    admin_create_finish(c, db, rc, "name", "the building already has a unit named %s", name, SQL_UNIT_CREATED, "unit",
                        "unit.create", project);
}

static const route_t routes[] = {
    {"PATCH", "/api/v1/admin/buildings/:id", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_JSON, DB_STEP(patch_building),
     BODY_CHECK(check_patch)},
    {"GET", "/api/v1/admin/buildings/:id/units", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_NONE, DB_STEP(list_units)},
    {"POST", "/api/v1/admin/buildings/:id/units", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_JSON, DB_STEP(create_unit),
     BODY_CHECK(check_create_unit)},
};

void buildings_admin_register(void)
{
    ROUTES_REGISTER(routes);
}
