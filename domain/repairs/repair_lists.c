/* repair_lists.c: see repair_lists.h. The follow-ups' statement moved here
 * from handlers/repairs/repair_followups_admin.c unchanged; the tickets'
 * from handlers/repairs/repairs_admin.c. */
#include "domain/repairs/repair_lists.h"

#include "domain/repairs/repair_state.h"
#include "domain/repairs/repair_view.h"
#include "gateway/roles.h"

/* ---- tickets ---- */

/* A page is one range of one index, read in id order, with the caller's
 * scope in the same statement. Six shapes, so that each names its index's
 * leading columns as plain equalities:
 *   one project:   ix_repair_project_id (project_id, id);
 *                  overdue: repair_overdue's primary key (project_id, ticket_id)
 *   all the caller's projects (every project for an admin): PRIMARY;
 *                  overdue: repair_overdue's (ticket_id)
 *   one engineer (not overdue), with or without a project:
 *                  ix_repair_engineer_id (engineer_id, id) (schema 028)
 * repair_overdue (schema 022) holds the tickets marked overdue: the repair
 * sweeper marks a ticket once a running clock has run out, and each state
 * change adds or removes its ticket's mark. The exact condition,
 * REPAIR_OVERDUE_SQL, is checked on each marked ticket, so a ticket is never
 * listed while none of its running clocks is past due; one whose clock has
 * just run out is listed from the sweeper's next run.
 * The other filters (state, category code, engineer on the overdue shapes,
 * filing time [from, to)) are conditions on the range's rows: categories
 * are few and a category's tickets dense in any range, and the filing time
 * is checked on created_at itself rather than translated into ids, which
 * would hold only while no row's created_at is set out of id order.
 * A supervisor's projects are in the statement (the scope); a project they
 * do not supervise gives no row, and only an empty page asks whether they
 * supervise it (403). The check of a named project is uncorrelated (read
 * once, before the tickets): correlated, a foreign project's page would
 * read every marked ticket of it to return none. Each takes
 * ([engineer], [project], is_admin, user_id, [project], STAFF_FILTERS' ten,
 * key, limit): the engineer on its shapes, the projects when one is named. */
#define SCOPE_PROJECT(project_col)                                                                                     \
    project_col " = ? AND (? = 1 OR EXISTS(SELECT 1 FROM staff_roles r WHERE r.user_id = ?"                            \
                " AND r.role = 'supervisor' AND r.project_id = ?))"
/* Without a project: every project for an admin, else those the caller
 * supervises, checked per ticket by primary key (as IN or EXISTS, MariaDB
 * materialises the grants into a temporary table first). */
#define SCOPE_ALL                                                                                                      \
    "(? = 1 OR (SELECT COUNT(*) FROM staff_roles r WHERE r.user_id = ? AND r.role = 'supervisor'"                      \
    " AND r.project_id = t.project_id) > 0)"
#define STAFF_COLUMNS "SELECT " REPAIR_SUMMARY_COLUMNS ", " REPAIR_STAFF_COLUMNS
/* state, state, category, category, engineer, engineer, from, from, to, to:
 * each NULL when not asked for. */
#define STAFF_FILTERS                                                                                                  \
    " AND (? IS NULL OR t.state = ?) AND (? IS NULL OR c.code = ?) AND (? IS NULL OR t.engineer_id = ?)"               \
    " AND (? IS NULL OR t.created_at >= FROM_UNIXTIME(?)) AND (? IS NULL OR t.created_at < FROM_UNIXTIME(?))"
#define STAFF_PAGE(id_col) STAFF_FILTERS " AND " id_col " < ? ORDER BY " id_col " DESC LIMIT ?"
#define STAFF_OVERDUE_FROM(index)                                                                                      \
    " FROM repair_overdue o FORCE INDEX (" index                                                                       \
    ") STRAIGHT_JOIN repair_tickets t ON t.id = o.ticket_id" REPAIR_SUMMARY_JOINS
#define STAFF_ENGINEER_FROM                                                                                            \
    " FROM repair_tickets t FORCE INDEX (ix_repair_engineer_id)" REPAIR_SUMMARY_JOINS " WHERE t.engineer_id = ? AND "
enum { STAFF_ALL, STAFF_OVERDUE, STAFF_ENGINEER };
#define STAFF_ALL_ALL STAFF_COLUMNS REPAIR_SUMMARY_FROM " WHERE " SCOPE_ALL STAFF_PAGE("t.id")
#define STAFF_ALL_OVERDUE                                                                                              \
    STAFF_COLUMNS STAFF_OVERDUE_FROM("uq_repair_overdue_ticket") " WHERE " SCOPE_ALL                                   \
                                                                 " AND " REPAIR_OVERDUE_SQL STAFF_PAGE("o.ticket_id")
#define STAFF_ALL_ENGINEER STAFF_COLUMNS STAFF_ENGINEER_FROM SCOPE_ALL STAFF_PAGE("t.id")
#define STAFF_PROJECT_ALL STAFF_COLUMNS REPAIR_SUMMARY_FROM " WHERE " SCOPE_PROJECT("t.project_id") STAFF_PAGE("t.id")
#define STAFF_PROJECT_OVERDUE                                                                                          \
    STAFF_COLUMNS STAFF_OVERDUE_FROM("PRIMARY") " WHERE " SCOPE_PROJECT(                                               \
        "o.project_id") " AND " REPAIR_OVERDUE_SQL STAFF_PAGE("o.ticket_id")
#define STAFF_PROJECT_ENGINEER STAFF_COLUMNS STAFF_ENGINEER_FROM SCOPE_PROJECT("t.project_id") STAFF_PAGE("t.id")
static const char *const SQL_STAFF_LISTS[2][2][3] = {
    /* [counted][project given][STAFF_*] */
    {{STAFF_ALL_ALL, STAFF_ALL_OVERDUE, STAFF_ALL_ENGINEER},
     {STAFF_PROJECT_ALL, STAFF_PROJECT_OVERDUE, STAFF_PROJECT_ENGINEER}},
    {{LIST_COUNT_SQL(STAFF_ALL_ALL), LIST_COUNT_SQL(STAFF_ALL_OVERDUE), LIST_COUNT_SQL(STAFF_ALL_ENGINEER)},
     {LIST_COUNT_SQL(STAFF_PROJECT_ALL), LIST_COUNT_SQL(STAFF_PROJECT_OVERDUE),
      LIST_COUNT_SQL(STAFF_PROJECT_ENGINEER)}},
};

typedef struct {
    long long project, engineer, from, to; /* 0 / -1 when not asked for */
    int overdue;
    const char *state, *category;
} repair_filter_t;

static int repair_filter_or_fail(gw_call_t *c, db_conn_t *db, void *filter)
{
    (void)db; /* the statement applies the scope; repair_scope_or_fail tells a refusal */
    repair_filter_t *f = filter;
    if (query_bool_or_fail(c, "overdue", 0, &f->overdue) != 0 ||
        query_enum_or_fail(c, "state", repair_state_names, NULL, &f->state) != 0 ||
        query_id_or_fail(c, "project", &f->project) != 0 ||
        query_string_or_fail(c, "category", 32, &f->category) != 0 ||
        query_id_or_fail(c, "engineer", &f->engineer) != 0 || query_time_or_fail(c, "from", -1, &f->from) != 0 ||
        query_time_or_fail(c, "to", -1, &f->to) != 0)
        return -1;
    if (f->from >= 0 && f->to >= 0 && f->from >= f->to) {
        call_fail(c, ERR_INVALID_FIELD, "from", "from must be before to");
        return -1;
    }
    return 0;
}

static int repair_scope_or_fail(gw_call_t *c, db_conn_t *db, const void *filter)
{
    const repair_filter_t *f = filter;
    return f->project ? repair_supervises_or_fail(c, db, f->project) : 0;
}

static db_rows_t *repair_rows(db_conn_t *db, const gw_call_t *c, const void *filter, long long before, int limit,
                              int count)
{
    const repair_filter_t *f = filter;
    int admin = (c->user.roles & ROLE_ADMIN) != 0;
    int shape = f->overdue ? STAFF_OVERDUE : f->engineer ? STAFF_ENGINEER : STAFF_ALL;
    db_param_t args[18]; /* the most a shape takes: 17 */
    int n = 0;
    if (shape == STAFF_ENGINEER)
        args[n++] = DB_INT(f->engineer);
    if (f->project)
        args[n++] = DB_INT(f->project);
    args[n++] = DB_INT(admin);
    args[n++] = DB_INT(c->user.id);
    if (f->project)
        args[n++] = DB_INT(f->project);
    db_param_t eng = f->engineer ? DB_INT(f->engineer) : DB_NULL, since = f->from >= 0 ? DB_INT(f->from) : DB_NULL,
               until = f->to >= 0 ? DB_INT(f->to) : DB_NULL;
    const db_param_t filters[] = {DB_STR(f->state),
                                  DB_STR(f->state),
                                  DB_STR(f->category),
                                  DB_STR(f->category),
                                  eng,
                                  eng,
                                  since,
                                  since,
                                  until,
                                  until};
    for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++)
        args[n++] = filters[i];
    args[n++] = DB_INT(before);
    args[n++] = DB_INT(limit);
    return db_query(db, SQL_STAFF_LISTS[count != 0][f->project != 0][shape], args, n);
}

const list_def_t repair_staff_list = {
    .filter_size = sizeof(repair_filter_t),
    .filter_or_fail = repair_filter_or_fail,
    .rows = repair_rows,
    .render = repair_item_json,
    .scope_or_fail = repair_scope_or_fail,
};

/* ---- follow-ups ---- */

typedef struct {
    long long project;
    const char *status;
} followup_filter_t;

/* Newest first: the page's one key is the id. */
#define SQL_FOLLOWUPS                                                                                                  \
    "SELECT f.id AS id, f.subject_id AS ticket_id, t.ticket_no AS ticket_no, f.project_id AS project_id,"              \
    " f.score AS score, t.rating_comment AS comment, f.status AS status, f.note AS note,"                              \
    " FLOOR(UNIX_TIMESTAMP(f.created_at)) AS created_at, FLOOR(UNIX_TIMESTAMP(f.done_at)) AS done_at"                  \
    " FROM followups f JOIN repair_tickets t ON t.id = f.subject_id"                                                   \
    " WHERE f.kind = 'repair' AND f.reason = 'poor_rating' AND " REPAIR_STAFF_SCOPE_SQL                                \
    " AND (? = 0 OR f.project_id = ?) AND (? IS NULL OR f.status = ?)"                                                 \
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
