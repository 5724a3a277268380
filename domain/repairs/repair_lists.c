/* repair_lists.c: see repair_lists.h. The follow-ups' statement moved here
 * from handlers/repairs/repair_followups_admin.c unchanged; the tickets'
 * is REPAIR_STAFF_LIST_SQL (repair_view.h), which the route uses too. */
#include "domain/repairs/repair_lists.h"

#include "domain/repairs/repair_state.h"
#include "domain/repairs/repair_view.h"
#include "gateway/roles.h"

/* ---- tickets ---- */

typedef struct {
    long long project;
    int overdue;
    const char *state;
} repair_filter_t;

/* The filters of repairs_admin.c's staff_list, read the same way. */
static int repair_filter_or_fail(gw_call_t *c, db_conn_t *db, void *filter)
{
    repair_filter_t *f = filter;
    return query_bool_or_fail(c, "overdue", 0, &f->overdue) != 0 ||
                   query_enum_or_fail(c, "state", repair_state_names, NULL, &f->state) != 0 ||
                   repair_project_or_fail(c, db, &f->project) != 0
               ? -1
               : 0;
}

static db_rows_t *repair_rows(db_conn_t *db, const gw_call_t *c, const void *filter, long long before, int limit,
                              int count)
{
    const repair_filter_t *f = filter;
    int admin = (c->user.roles & ROLE_ADMIN) != 0;
    return db_query(db, count ? LIST_COUNT_SQL(REPAIR_STAFF_LIST_SQL) : REPAIR_STAFF_LIST_SQL,
                    DB_ARGS(DB_INT(admin), DB_INT(c->user.id), DB_INT(f->project), DB_INT(f->project), DB_STR(f->state),
                            DB_STR(f->state), DB_INT(f->overdue), DB_INT(before), DB_INT(limit)));
}

const list_def_t repair_staff_list = {
    .filter_size = sizeof(repair_filter_t),
    .filter_or_fail = repair_filter_or_fail,
    .rows = repair_rows,
    .render = repair_item_json,
};

/* ---- follow-ups ---- */

typedef struct {
    long long project;
    const char *status;
} followup_filter_t;

/* Newest first: the page's one key is the id. */
#define SQL_FOLLOWUPS                                                                                                  \
    "SELECT f.id AS id, f.ticket_id AS ticket_id, t.ticket_no AS ticket_no, f.project_id AS project_id,"               \
    " f.score AS score, t.rating_comment AS comment, f.status AS status, f.note AS note,"                              \
    " FLOOR(UNIX_TIMESTAMP(f.created_at)) AS created_at, FLOOR(UNIX_TIMESTAMP(f.done_at)) AS done_at"                  \
    " FROM repair_followups f JOIN repair_tickets t ON t.id = f.ticket_id"                                             \
    " WHERE " REPAIR_STAFF_SCOPE_SQL " AND (? = 0 OR f.project_id = ?) AND (? IS NULL OR f.status = ?)"                \
    " AND f.id < ? ORDER BY f.id DESC LIMIT ?"

static int followup_filter_or_fail(gw_call_t *c, db_conn_t *db, void *filter)
{
    static const char *const statuses[] = {"open", "done", NULL};
    followup_filter_t *f = filter;
    return query_enum_or_fail(c, "status", statuses, NULL, &f->status) != 0 ||
                   repair_project_or_fail(c, db, &f->project) != 0
               ? -1
               : 0;
}

static db_rows_t *followup_rows(db_conn_t *db, const gw_call_t *c, const void *filter, long long before, int limit,
                                int count)
{
    const followup_filter_t *f = filter;
    int admin = (c->user.roles & ROLE_ADMIN) != 0;
    return db_query(db, count ? LIST_COUNT_SQL(SQL_FOLLOWUPS) : SQL_FOLLOWUPS,
                    DB_ARGS(DB_INT(admin), DB_INT(c->user.id), DB_INT(f->project), DB_INT(f->project),
                            DB_STR(f->status), DB_STR(f->status), DB_INT(before), DB_INT(limit)));
}

const list_def_t repair_followup_list = {
    .filter_size = sizeof(followup_filter_t),
    .filter_or_fail = followup_filter_or_fail,
    .rows = followup_rows,
    .render = NULL,
};
