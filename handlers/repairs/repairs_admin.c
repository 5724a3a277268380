/* repairs_admin.c: supervisors and admins looking over the repair tickets.
 *
 *   GET /api/v1/admin/repairs?project=&state=&overdue=&cursor=&limit=   tickets of the caller's projects
 *   GET /api/v1/admin/repairs/stats?project=&from=&to=                   the numbers managers look at
 *
 * A supervisor sees the projects they supervise; an admin sees all. The
 * list items carry the staff columns (content check, breach mark, owner).
 *
 * The statistics are over the tickets filed in [from, to) (Unix seconds;
 * default the last 30 days) of the caller's projects (or one of them):
 * counts by category and by state, average and 90th-percentile time to
 * accept and to resolve (repair_stats_math.h, over the sorted durations),
 * the breach rate and the satisfaction per engineer. (Assigning a ticket,
 * POST /api/v1/repairs/:id/assign, is in repairs.c; the follow-up visits in
 * repair_followups_admin.c.) */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/call.h"
#include "gateway/db_json.h"
#include "gateway/query.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"
#include "domain/repairs/repair_state.h"
#include "domain/repairs/repair_stats_math.h"
#include "domain/repairs/repair_view.h"

/* ---- the staff list ---- */

/* Shared with the CSV export (domain/repairs/repair_view.h). */
static const char *SQL_STAFF_LIST = REPAIR_STAFF_LIST_SQL;

static void staff_list(gw_call_t *c, db_conn_t *db)
{
    long long project;
    int overdue;
    const char *state;
    page_t page;
    if (page_or_fail(c, 1, &page) != 0 || query_bool_or_fail(c, "overdue", 0, &overdue) != 0 ||
        query_enum_or_fail(c, "state", repair_state_names, NULL, &state) != 0 ||
        repair_project_or_fail(c, db, &project) != 0)
        return;
    int admin = (c->user.roles & ROLE_ADMIN) != 0;
    db_rows_t *r = db_query(db, SQL_STAFF_LIST,
                            DB_ARGS(DB_INT(admin), DB_INT(c->user.id), DB_INT(project), DB_INT(project), DB_STR(state),
                                    DB_STR(state), DB_INT(overdue), DB_INT(page_key(&page, 0, PAGE_KEY_MAX)),
                                    DB_INT(page.limit + 1)));
    repair_page_respond(c, &page, r);
}

/* ---- statistics ---- */

/* Every query takes (is_admin, user_id, project, project, from, to). */
#define STATS_FILTER                                                                                                   \
    " WHERE " REPAIR_STAFF_SCOPE_SQL " AND (? = 0 OR t.project_id = ?)"                                                \
    " AND t.created_at >= FROM_UNIXTIME(?) AND t.created_at < FROM_UNIXTIME(?)"

static const char *SQL_BY_CATEGORY = "SELECT c.code AS code, c.name AS name, COUNT(*) AS count FROM repair_tickets t"
                                     " JOIN repair_categories c ON c.id = t.category_id" STATS_FILTER
                                     " GROUP BY c.id, c.code, c.name, c.sort_order ORDER BY c.sort_order, c.id";
static const char *SQL_BY_STATE =
    "SELECT t.state AS state, COUNT(*) AS count FROM repair_tickets t" STATS_FILTER " GROUP BY t.state";
static const char *SQL_TO_ACCEPT =
    "SELECT TIMESTAMPDIFF(SECOND, t.created_at, t.first_accepted_at) AS s FROM repair_tickets t" STATS_FILTER
    " AND t.first_accepted_at IS NOT NULL ORDER BY s";
static const char *SQL_TO_RESOLVE =
    "SELECT TIMESTAMPDIFF(SECOND, t.created_at, t.resolved_at) AS s FROM repair_tickets t" STATS_FILTER
    " AND t.resolved_at IS NOT NULL ORDER BY s";
/* Breached: a clock ran late (recorded) or is late now. */
static const char *SQL_BREACH = "SELECT COUNT(*) AS total, COALESCE(SUM(t.breached = 1 OR " REPAIR_OVERDUE_SQL
                                "), 0) AS breached FROM repair_tickets t" STATS_FILTER;
/* The average to two decimals, exact (a DECIMAL rounded half up). */
static const char *SQL_SATISFACTION =
    "SELECT t.rated_engineer_id AS engineer_id, u.display_name AS engineer_name, COUNT(*) AS ratings,"
    " ROUND(AVG(t.rating_score), 2) AS avg_score, SUM(t.rating_score <= 2) AS poor"
    " FROM repair_tickets t LEFT JOIN users u ON u.id = t.rated_engineer_id" STATS_FILTER
    " AND t.rating_score IS NOT NULL GROUP BY t.rated_engineer_id, u.display_name ORDER BY AVG(t.rating_score) DESC,"
    " t.rated_engineer_id";

typedef struct {
    int admin;
    long long user_id, project, from, to;
} stats_filter_t;

static db_rows_t *run(db_conn_t *db, const char *sql, const stats_filter_t *f)
{
    return db_query(db, sql,
                    DB_ARGS(DB_INT(f->admin), DB_INT(f->user_id), DB_INT(f->project), DB_INT(f->project),
                            DB_INT(f->from), DB_INT(f->to)));
}

/* The rows of sql as the SELECT names them; NULL on a db error or when
 * memory runs out. */
static cJSON *run_json(db_conn_t *db, const char *sql, const stats_filter_t *f)
{
    db_rows_t *r = run(db, sql, f);
    cJSON *arr = r ? db_rows_json(r, 0, r->nrows) : NULL;
    db_rows_free(r);
    return arr;
}

/* {count, avg_s, p90_s} from the column s of ascending seconds; NULL when
 * memory runs out. */
static cJSON *durations_json(const db_rows_t *r)
{
    long long *v = malloc(sizeof(*v) * (size_t)(r->nrows ? r->nrows : 1));
    cJSON *o = v ? cJSON_CreateObject() : NULL;
    if (!o) {
        free(v);
        return NULL;
    }
    for (int i = 0; i < r->nrows; i++)
        v[i] = db_get_int(r, i, "s");
    cJSON_AddNumberToObject(o, "count", r->nrows);
    if (r->nrows) {
        cJSON_AddNumberToObject(o, "avg_s", (double)repair_mean(v, r->nrows));
        cJSON_AddNumberToObject(o, "p90_s", (double)repair_percentile(v, r->nrows, 90));
    } else {
        cJSON_AddNullToObject(o, "avg_s");
        cJSON_AddNullToObject(o, "p90_s");
    }
    free(v);
    return o;
}

static int add_counts(db_conn_t *db, cJSON *d, const stats_filter_t *f)
{
    db_rows_t *r;
    cJSON *arr = run_json(db, SQL_BY_CATEGORY, f);
    if (!arr || !(r = run(db, SQL_BY_STATE, f))) {
        cJSON_Delete(arr);
        return -1;
    }
    cJSON_AddItemToObject(d, "by_category", arr);
    /* Every state, in lifecycle order, zeros included. */
    arr = cJSON_AddArrayToObject(d, "by_state");
    for (int s = 0; s < RS__COUNT; s++) {
        long long n = 0;
        for (int i = 0; i < r->nrows; i++)
            if (!strcmp(db_get(r, i, "state"), repair_state_name((repair_state_t)s)))
                n = db_get_int(r, i, "count");
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "state", repair_state_name((repair_state_t)s));
        cJSON_AddStringToObject(e, "label", repair_state_label((repair_state_t)s));
        cJSON_AddNumberToObject(e, "count", (double)n);
        cJSON_AddItemToArray(arr, e);
    }
    db_rows_free(r);
    return 0;
}

static int add_times(db_conn_t *db, cJSON *d, const stats_filter_t *f)
{
    static const struct {
        const char *field, *const *sql;
    } durations[] = {{"time_to_accept", &SQL_TO_ACCEPT}, {"time_to_resolve", &SQL_TO_RESOLVE}};
    for (size_t k = 0; k < sizeof(durations) / sizeof(durations[0]); k++) {
        db_rows_t *r = run(db, *durations[k].sql, f);
        cJSON *o = r ? durations_json(r) : NULL;
        db_rows_free(r);
        if (!o)
            return -1;
        cJSON_AddItemToObject(d, durations[k].field, o);
    }
    db_rows_t *r = run(db, SQL_BREACH, f);
    if (!r)
        return -1;
    long long total = db_get_int(r, 0, "total"), breached = db_get_int(r, 0, "breached");
    db_rows_free(r);
    cJSON_AddNumberToObject(d, "total", (double)total);
    cJSON_AddNumberToObject(d, "breached", (double)breached);
    cJSON_AddNumberToObject(d, "breach_rate", total ? (double)breached / (double)total : 0.0);
    return 0;
}

static int add_satisfaction(db_conn_t *db, cJSON *d, const stats_filter_t *f)
{
    cJSON *arr = run_json(db, SQL_SATISFACTION, f);
    if (!arr)
        return -1;
    cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "engineer_name"));
        if (!name || !*name)
            cJSON_ReplaceItemInObjectCaseSensitive(e, "engineer_name", cJSON_CreateString("工程师"));
    }
    cJSON_AddItemToObject(d, "satisfaction", arr);
    return 0;
}

static void stats(gw_call_t *c, db_conn_t *db)
{
    stats_filter_t f = {.admin = (c->user.roles & ROLE_ADMIN) != 0, .user_id = c->user.id};
    long long now = (long long)time(NULL);
    if (query_time_or_fail(c, "to", now + 1, &f.to) != 0 ||
        query_time_or_fail(c, "from", f.to - 30LL * 86400, &f.from) != 0 ||
        repair_project_or_fail(c, db, &f.project) != 0)
        return;
    if (f.from >= f.to) {
        call_fail(c, ERR_INVALID_FIELD, "from", "from must be before to");
        return;
    }
    cJSON *d = cJSON_CreateObject();
    if (f.project)
        cJSON_AddNumberToObject(d, "project_id", (double)f.project);
    else
        cJSON_AddNullToObject(d, "project_id");
    cJSON_AddNumberToObject(d, "from", (double)f.from);
    cJSON_AddNumberToObject(d, "to", (double)f.to);
    if (add_counts(db, d, &f) != 0 || add_times(db, d, &f) != 0 || add_satisfaction(db, d, &f) != 0) {
        cJSON_Delete(d);
        call_fail_db(c);
        return;
    }
    call_ok(c, 200, d);
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
