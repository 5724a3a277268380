/* repair_insert.c: see repair_insert.h. The statements moved here from
 * handlers/repairs/repairs.c unchanged, so a complaint's repair ticket is
 * filed exactly as an owner's. */
#include "domain/repairs/repair_insert.h"

#include "domain/repairs/repair_catalog.h"
#include "domain/repairs/repair_clocks.h"
#include "domain/repairs/repair_dispatch.h"
#include "domain/repairs/repair_state.h"

/* The warranty's last covered day: handover date + the category's period. */
#define WARRANTY_UNTIL                                                                                                 \
    "IF(u.handover_date IS NULL OR c.warranty_months IS NULL, NULL,"                                                   \
    " DATE_SUB(DATE_ADD(u.handover_date, INTERVAL c.warranty_months MONTH), INTERVAL 1 DAY))"

static const char *SQL_INSERT_TICKET =
    "INSERT INTO repair_tickets (user_id, unit_id, building_id, project_id, category_id, description,"
    " contact_phone, preferred_time, state, content_check, content_trace_id, within_warranty, warranty_until,"
    " clock_started_at, accept_due_at, arrive_due_at, resolve_due_at)"
    " SELECT ?, u.id, b.id, b.project_id, c.id, ?, ?, ?, 'submitted', ?, ?, CURDATE() <= " WARRANTY_UNTIL ","
    " " WARRANTY_UNTIL ", NOW(3), NOW(3) + INTERVAL c.accept_within_s SECOND,"
    " NOW(3) + INTERVAL c.arrive_within_s SECOND, NOW(3) + INTERVAL c.resolve_within_s SECOND"
    " FROM units u JOIN buildings b ON b.id = u.building_id JOIN repair_categories c ON c.id = ?"
    " WHERE u.id = ?";

/* A human number: BX + filing date + the id, at least 6 digits. */
static const char *SQL_TICKET_NO =
    "UPDATE repair_tickets SET ticket_no = CONCAT('BX', DATE_FORMAT(created_at, '%Y%m%d'),"
    " LPAD(id, GREATEST(6, LENGTH(id)), '0')) WHERE id = ?";

/* The unit's project, its row share-locked until the commit: the first
 * change of the project's categories (repair_catalog_own, which locks the
 * row for update) then cannot move the project's tickets to its own
 * categories between this check and the insert. */
static const char *SQL_LOCK_UNIT_PROJECT = "SELECT p.id FROM units u JOIN buildings b ON b.id = u.building_id"
                                           " JOIN projects p ON p.id = b.project_id WHERE u.id = ? LOCK IN SHARE MODE";

/* An active category of the project's set (its own, or the defaults). */
static const char *SQL_CATEGORY_OF_PROJECT = "SELECT c.id FROM repair_categories c WHERE c.code = ? AND c.active = 1"
                                             " AND c.project_id = " REPAIR_CATEGORY_SET("?");

int repair_category_of_unit(db_conn_t *db, long long unit_id, const char *code, long long *category_id)
{
    long long project = 0;
    int rc = db_query_int(db, &project, SQL_LOCK_UNIT_PROJECT, DB_ARGS(DB_INT(unit_id)));
    if (rc <= 0)
        return rc;
    return db_query_int(db, category_id, SQL_CATEGORY_OF_PROJECT, DB_ARGS(DB_STR(code), DB_INT(project)));
}

int repair_ticket_insert(db_conn_t *db, const repair_filing_t *f, long long *id, long long *bad_photo)
{
    if (db_exec(db, SQL_INSERT_TICKET,
                DB_ARGS(DB_INT(f->user_id), DB_STR(f->description), DB_STR(f->contact_phone),
                        DB_STR(f->preferred_time), DB_STR(f->content_check), DB_STR(f->trace_id),
                        DB_INT(f->category_id), DB_INT(f->unit_id))) != 0)
        return -1;
    *id = (long long)db_insert_id(db);
    if (db_exec(db, SQL_TICKET_NO, DB_ARGS(DB_INT(*id))) != 0 || repair_clocks_start(db, *id) != 0)
        return -1;
    long long row = repair_timeline_add(db, *id, "submit", NULL, "submitted", f->actor_user_id, f->actor_role, NULL,
                                        f->photo_ids, f->nphotos, f->actor_user_id, bad_photo);
    if (row <= 0)
        return row < 0 ? -1 : 0;
    return repair_dispatch(db, *id, 1) < 0 ? -1 : 1;
}
