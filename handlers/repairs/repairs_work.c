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

/* The engineer's tickets in projects where they hold the engineer role now
 * (a scalar subquery: as EXISTS, MariaDB would read the grants first and
 * then sort the tickets), then the state condition, then the page. The
 * open list and the list of one state are two statements: with an OR
 * between them the page could no longer be read in index order. */
#define SQL_WORK_LIST(state_condition)                                                                                 \
    REPAIR_SUMMARY_SELECT " WHERE t.engineer_id = ?"                                                                   \
                          " AND (SELECT COUNT(*) FROM staff_roles r WHERE r.user_id = t.engineer_id"                   \
                          " AND r.role = 'engineer' AND r.project_id = t.project_id) > 0"                              \
                          " AND " state_condition " AND t.id < ? ORDER BY t.id DESC LIMIT ?"
/* Open: t.is_open (schema 021) makes it a range of (engineer_id, is_open,
 * id). Takes (engineer, key, limit). */
static const char *SQL_WORK_OPEN =
    SQL_WORK_LIST("t.is_open = 1 AND t.state IN ('dispatched', 'accepted', 'in_progress')");
/* Takes (engineer, state, key, limit). */
static const char *SQL_WORK_STATE = SQL_WORK_LIST("t.state = ?");

static void work_list(gw_call_t *c, db_conn_t *db)
{
    const char *state;
    page_t page;
    if (page_or_fail(c, 1, &page) != 0 || query_enum_or_fail(c, "state", repair_state_names, NULL, &state) != 0)
        return;
    db_param_t key = DB_INT(page_key(&page, 0, PAGE_KEY_MAX)), limit = DB_INT(page.limit + 1);
    db_rows_t *r = state ? db_query(db, SQL_WORK_STATE, DB_ARGS(DB_INT(c->user.id), DB_STR(state), key, limit))
                         : db_query(db, SQL_WORK_OPEN, DB_ARGS(DB_INT(c->user.id), key, limit));
    repair_page_respond(c, &page, r);
}

static const route_t routes[] = {
    {"GET", "/api/v1/work/repairs", ROLE_ENGINEER, BODY_NONE, DB_STEP(work_list)},
};

void repairs_work_register(void)
{
    ROUTES_REGISTER(routes);
}
