/* repairs_work.c: an engineer's work list.
 *
 *   GET /api/v1/work/repairs?state=&cursor=&limit=   tickets assigned to the caller
 *
 * Only tickets of projects where the caller holds the engineer role now:
 * the route's role bits are the union over every project, and an engineer
 * whose grant in a project was revoked no longer sees its tickets. Without
 * ?state= the open ones (dispatched, accepted, in progress). The actions on
 * a ticket are in repairs.c. */
#include "gateway/call.h"
#include "gateway/query.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"
#include "domain/repairs/repair_state.h"
#include "domain/repairs/repair_view.h"

static const char *SQL_WORK_LIST =
    REPAIR_SUMMARY_SELECT " WHERE t.engineer_id = ?"
                          " AND EXISTS (SELECT 1 FROM staff_roles r WHERE r.user_id = t.engineer_id"
                          " AND r.role = 'engineer' AND r.project_id = t.project_id)"
                          " AND (? IS NULL AND t.state IN ('dispatched', 'accepted', 'in_progress') OR t.state = ?)"
                          " AND t.id < ? ORDER BY t.id DESC LIMIT ?";

static void work_list(gw_call_t *c, db_conn_t *db)
{
    const char *state;
    page_t page;
    if (page_or_fail(c, 1, &page) != 0 || query_enum_or_fail(c, "state", repair_state_names, NULL, &state) != 0)
        return;
    db_rows_t *r = db_query(db, SQL_WORK_LIST,
                            DB_ARGS(DB_INT(c->user.id), DB_STR(state), DB_STR(state),
                                    DB_INT(page_key(&page, 0, PAGE_KEY_MAX)), DB_INT(page.limit + 1)));
    repair_page_respond(c, &page, r);
}

static const route_t routes[] = {
    {"GET", "/api/v1/work/repairs", ROLE_ENGINEER, BODY_NONE, DB_STEP(work_list)},
};

void repairs_work_register(void)
{
    ROUTES_REGISTER(routes);
}
