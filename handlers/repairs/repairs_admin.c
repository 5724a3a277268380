/* repairs_admin.c: supervisors and admins looking over the repair tickets.
 *
 *   GET /api/v1/admin/repairs?project=&state=&overdue=&category=&engineer=&from=&to=&cursor=&limit=
 *                                                                        tickets of the caller's projects
 *   GET /api/v1/admin/repairs/stats?project=&from=&to=                   the numbers managers look at
 *
 * A supervisor sees the projects they supervise; an admin sees all. The
 * list items carry the staff columns (content check, breach mark, owner).
 *
 * The statistics are those of domain/stats/stats.h, computed from the
 * history for the period [from, to) (Unix seconds; default the last 30
 * days) of the caller's projects (or one of them): tickets filed by category
 * and by their state at the period's end, time to accept and to resolve of
 * the tickets resolved in the period (average, p90), the clocks' breach rate
 * and the satisfaction and rework rate per engineer. (Assigning a ticket,
 * POST /api/v1/repairs/:id/assign, is in repairs.c; the follow-up visits in
 * repair_followups_admin.c.) */
#include <string.h>

#include "gateway/call.h"
#include "gateway/db_json.h"
#include "gateway/query.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"
#include "domain/repairs/repair_state.h"
#include "domain/stats/stats.h"
#include "domain/stats/stats_request.h"
#include "domain/repairs/repair_view.h"

/* ---- the staff list ---- */

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
static const char *const SQL_STAFF_LISTS[2][3] = {
    /* [project given][STAFF_*] */
    {STAFF_COLUMNS REPAIR_SUMMARY_FROM " WHERE " SCOPE_ALL STAFF_PAGE("t.id"),
     STAFF_COLUMNS STAFF_OVERDUE_FROM("uq_repair_overdue_ticket") " WHERE " SCOPE_ALL
                                                                  " AND " REPAIR_OVERDUE_SQL STAFF_PAGE("o.ticket_id"),
     STAFF_COLUMNS STAFF_ENGINEER_FROM SCOPE_ALL STAFF_PAGE("t.id")},
    {STAFF_COLUMNS REPAIR_SUMMARY_FROM " WHERE " SCOPE_PROJECT("t.project_id") STAFF_PAGE("t.id"),
     STAFF_COLUMNS STAFF_OVERDUE_FROM("PRIMARY") " WHERE " SCOPE_PROJECT(
         "o.project_id") " AND " REPAIR_OVERDUE_SQL STAFF_PAGE("o.ticket_id"),
     STAFF_COLUMNS STAFF_ENGINEER_FROM SCOPE_PROJECT("t.project_id") STAFF_PAGE("t.id")},
};

static void staff_list(gw_call_t *c, db_conn_t *db)
{
    long long project, engineer, from, to;
    int overdue;
    const char *state, *category;
    page_t page;
    if (page_or_fail(c, 1, &page) != 0 || query_bool_or_fail(c, "overdue", 0, &overdue) != 0 ||
        query_enum_or_fail(c, "state", repair_state_names, NULL, &state) != 0 ||
        query_id_or_fail(c, "project", &project) != 0 || query_string_or_fail(c, "category", 32, &category) != 0 ||
        query_id_or_fail(c, "engineer", &engineer) != 0 || query_time_or_fail(c, "from", -1, &from) != 0 ||
        query_time_or_fail(c, "to", -1, &to) != 0)
        return;
    if (from >= 0 && to >= 0 && from >= to) {
        call_fail(c, ERR_INVALID_FIELD, "from", "from must be before to");
        return;
    }
    int admin = (c->user.roles & ROLE_ADMIN) != 0;
    int shape = overdue ? STAFF_OVERDUE : engineer ? STAFF_ENGINEER : STAFF_ALL;
    db_param_t args[18]; /* the most a shape takes: 17 */
    int n = 0;
    if (shape == STAFF_ENGINEER)
        args[n++] = DB_INT(engineer);
    if (project)
        args[n++] = DB_INT(project);
    args[n++] = DB_INT(admin);
    args[n++] = DB_INT(c->user.id);
    if (project)
        args[n++] = DB_INT(project);
    db_param_t eng = engineer ? DB_INT(engineer) : DB_NULL, since = from >= 0 ? DB_INT(from) : DB_NULL,
               until = to >= 0 ? DB_INT(to) : DB_NULL;
    const db_param_t filters[] = {
        DB_STR(state), DB_STR(state), DB_STR(category), DB_STR(category), eng, eng, since, since, until, until};
    for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++)
        args[n++] = filters[i];
    args[n++] = DB_INT(page_key(&page, 0, PAGE_KEY_MAX));
    args[n++] = DB_INT(page.limit + 1);
    db_rows_t *r = db_query(db, SQL_STAFF_LISTS[project != 0][shape], args, n);
    if (r && r->nrows == 0 && project && repair_supervises_or_fail(c, db, project) != 0) {
        db_rows_free(r);
        return;
    }
    repair_page_respond(c, &page, r);
}

/* ---- statistics ----
 *
 * The figures are those of domain/stats/stats.h (from the history), shaped
 * as this route has always answered them. */

/* by_category and by_state: sums of the volume rows (category x state at
 * the period's end); every state in lifecycle order, zeros included. */
static int add_counts(cJSON *d, const db_rows_t *r)
{
    cJSON *cats = cJSON_AddArrayToObject(d, "by_category");
    long long total = 0, by_state[RS__COUNT] = {0};
    cJSON *last = NULL;
    for (int i = 0; cats && i < r->nrows; i++) {
        long long n = db_get_int(r, i, "tickets");
        const char *code = db_get(r, i, "category_code");
        repair_state_t st;
        if (repair_state_parse(db_get(r, i, "state"), &st) == 0)
            by_state[st] += n;
        total += n;
        cJSON *count = last ? cJSON_GetObjectItemCaseSensitive(last, "count") : NULL;
        if (count && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(last, "code")), code)) {
            cJSON_SetNumberValue(count, count->valuedouble + (double)n);
            continue;
        }
        last = cJSON_CreateObject();
        if (!last)
            return -1;
        cJSON_AddStringToObject(last, "code", code);
        cJSON_AddStringToObject(last, "name", db_get(r, i, "category_name"));
        cJSON_AddNumberToObject(last, "count", (double)n);
        cJSON_AddItemToArray(cats, last);
    }
    cJSON *arr = cJSON_AddArrayToObject(d, "by_state");
    if (!cats || !arr)
        return -1;
    for (int s = 0; s < RS__COUNT; s++) {
        cJSON *e = cJSON_CreateObject();
        if (!e)
            return -1;
        cJSON_AddStringToObject(e, "state", repair_state_name((repair_state_t)s));
        cJSON_AddStringToObject(e, "label", repair_state_label((repair_state_t)s));
        cJSON_AddNumberToObject(e, "count", (double)by_state[s]);
        cJSON_AddItemToArray(arr, e);
    }
    cJSON_AddNumberToObject(d, "total", (double)total);
    return 0;
}

/* time_to_accept and time_to_resolve: {count, avg_s, p90_s}. */
static int add_times(cJSON *d, const db_rows_t *r)
{
    for (int i = 0; i < r->nrows; i++) {
        /* The row as selected, less its names, with tickets as count. */
        cJSON *o = db_row_json(r, i);
        if (!o)
            return -1;
        cJSON_DeleteItemFromObjectCaseSensitive(o, "measure");
        cJSON_DeleteItemFromObjectCaseSensitive(o, "label");
        cJSON_DeleteItemFromObjectCaseSensitive(o, "tickets");
        cJSON_AddNumberToObject(o, "count", (double)db_get_int(r, i, "tickets"));
        const char *m = db_get(r, i, "measure");
        cJSON_AddItemToObject(d, !strcmp(m, "accept") ? "time_to_accept" : "time_to_resolve", o);
    }
    return 0;
}

/* clocks, breached, breach_rate (all clocks), and sla: the rows per clock. */
static int add_sla(cJSON *d, const db_rows_t *r)
{
    long long clocks = 0, breached = 0;
    for (int i = 0; i < r->nrows; i++) {
        clocks += db_get_int(r, i, "clocks");
        breached += db_get_int(r, i, "breached");
    }
    cJSON *rows = db_rows_json(r, 0, r->nrows);
    if (!rows)
        return -1;
    cJSON_AddItemToObject(d, "sla", rows);
    cJSON_AddNumberToObject(d, "clocks", (double)clocks);
    cJSON_AddNumberToObject(d, "breached", (double)breached);
    cJSON_AddNumberToObject(d, "breach_rate", clocks ? (double)breached / (double)clocks : 0.0);
    return 0;
}

static void stats(gw_call_t *c, db_conn_t *db)
{
    stats_scope_t s;
    if (stats_scope_or_fail(c, db, &s) != 0)
        return;
    db_rows_t *volume = stats_repairs_volume(db, &s), *times = volume ? stats_repair_handling_times(db, &s) : NULL,
              *sla = times ? stats_repair_sla(db, &s) : NULL;
    cJSON *sat = sla ? stats_json(db, stats_find("engineer_satisfaction"), &s) : NULL;
    cJSON *d = sat ? cJSON_CreateObject() : NULL;
    if (!d)
        goto Fail;
    if (s.project)
        cJSON_AddNumberToObject(d, "project_id", (double)s.project);
    else
        cJSON_AddNullToObject(d, "project_id");
    cJSON_AddNumberToObject(d, "from", (double)s.from);
    cJSON_AddNumberToObject(d, "to", (double)s.to);
    if (add_counts(d, volume) != 0 || add_times(d, times) != 0 || add_sla(d, sla) != 0)
        goto Fail;
    cJSON_AddItemToObject(d, "satisfaction", sat);
    sat = NULL;
    call_ok(c, 200, d);
    d = NULL;
    goto Exit;
Fail:
    call_fail_db(c);
Exit:
    cJSON_Delete(d);
    cJSON_Delete(sat);
    db_rows_free(volume);
    db_rows_free(times);
    db_rows_free(sla);
}

#define STAFF (ROLE_SUPERVISOR | ROLE_ADMIN)

static const route_t routes[] = {
    {"GET", "/api/v1/admin/repairs", STAFF, BODY_NONE, DB_STEP(staff_list)},
    {"GET", "/api/v1/admin/repairs/stats", STAFF, BODY_NONE, DB_STEP(stats)},
};

void repairs_admin_register(void)
{
    ROUTES_REGISTER(routes);
}
