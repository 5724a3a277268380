/* repairs_stats.c: the numbers managers look at.
 *
 *   GET /api/v1/admin/repairs/stats?project=&from=&to=
 *
 * Over the tickets filed in [from, to) (Unix seconds; default the last 30
 * days) of the caller's projects (or one of them): counts by category and by
 * state, average and 90th-percentile time to accept and to resolve, the
 * breach rate and the satisfaction per engineer. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/call.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"
#include "domain/repairs/repair_state.h"
#include "domain/repairs/repair_stats_math.h"
#include "domain/repairs/repair_view.h"

/* Every query takes (is_admin, user_id, project, project, from, to). */
#define STATS_FILTER                                                                                                   \
    " WHERE " REPAIR_STAFF_SCOPE_SQL " AND (? = 0 OR t.project_id = ?)"                                                \
    " AND t.created_at >= FROM_UNIXTIME(?) AND t.created_at < FROM_UNIXTIME(?)"

static const char *SQL_BY_CATEGORY =
    "SELECT c.code, c.name, COUNT(*) FROM repair_tickets t JOIN repair_categories c ON c.id = "
    "t.category_id" STATS_FILTER " GROUP BY c.id, c.code, c.name, c.sort_order ORDER BY c.sort_order, c.id";
static const char *SQL_BY_STATE = "SELECT t.state, COUNT(*) FROM repair_tickets t" STATS_FILTER " GROUP BY t.state";
static const char *SQL_TO_ACCEPT =
    "SELECT TIMESTAMPDIFF(SECOND, t.created_at, t.first_accepted_at) AS s FROM repair_tickets t" STATS_FILTER
    " AND t.first_accepted_at IS NOT NULL ORDER BY s";
static const char *SQL_TO_RESOLVE =
    "SELECT TIMESTAMPDIFF(SECOND, t.created_at, t.resolved_at) AS s FROM repair_tickets t" STATS_FILTER
    " AND t.resolved_at IS NOT NULL ORDER BY s";
/* Breached: a clock ran late (recorded) or is late now. */
static const char *SQL_BREACH =
    "SELECT COUNT(*), COALESCE(SUM(t.breached = 1 OR " REPAIR_OVERDUE_SQL "), 0) FROM repair_tickets t" STATS_FILTER;
static const char *SQL_SATISFACTION =
    "SELECT t.rated_engineer_id, u.display_name, COUNT(*), AVG(t.rating_score), SUM(t.rating_score <= 2)"
    " FROM repair_tickets t LEFT JOIN users u ON u.id = t.rated_engineer_id" STATS_FILTER
    " AND t.rating_score IS NOT NULL GROUP BY t.rated_engineer_id, u.display_name ORDER BY AVG(t.rating_score) DESC,"
    " t.rated_engineer_id";

typedef struct {
    int admin;
    long long user_id, project, from, to;
} stats_filter_t;

static db_rows_t *run(gw_call_t *c, const char *sql, const stats_filter_t *f)
{
    return db_query(c->db, sql,
                    DB_ARGS(DB_INT(f->admin), DB_INT(f->user_id), DB_INT(f->project), DB_INT(f->project),
                            DB_INT(f->from), DB_INT(f->to)));
}

/* {count, avg_s, p90_s} from one column of ascending seconds. */
static cJSON *durations_json(const db_rows_t *r)
{
    cJSON *o = cJSON_CreateObject();
    long long *v = malloc(sizeof(*v) * (size_t)(r->nrows ? r->nrows : 1));
    for (int i = 0; i < r->nrows; i++)
        v[i] = db_cell_int(r, i, 0);
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

/* ?name= as Unix seconds; def when absent. -1 with the call failed. */
static int read_time(gw_call_t *c, const char *name, long long def, long long *out)
{
    char buf[24];
    *out = def;
    if (!call_query(c, name, buf, sizeof(buf)) || !*buf)
        return 0;
    char *end;
    long long v = strtoll(buf, &end, 10);
    if (*end || v < 0 || v > 32503680000LL) {
        call_fail(c, ERR_INVALID_FIELD, name, "%s must be a time in Unix seconds", name);
        return -1;
    }
    *out = v;
    return 0;
}

static int add_counts(gw_call_t *c, cJSON *d, const stats_filter_t *f)
{
    db_rows_t *r = run(c, SQL_BY_CATEGORY, f);
    if (!r)
        return -1;
    cJSON *arr = cJSON_AddArrayToObject(d, "by_category");
    for (int i = 0; i < r->nrows; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "code", db_cell(r, i, 0));
        cJSON_AddStringToObject(e, "name", db_cell(r, i, 1));
        cJSON_AddNumberToObject(e, "count", (double)db_cell_int(r, i, 2));
        cJSON_AddItemToArray(arr, e);
    }
    db_rows_free(r);
    if (!(r = run(c, SQL_BY_STATE, f)))
        return -1;
    /* Every state, in lifecycle order, zeros included. */
    arr = cJSON_AddArrayToObject(d, "by_state");
    for (int s = 0; s < RS__COUNT; s++) {
        long long n = 0;
        for (int i = 0; i < r->nrows; i++)
            if (!strcmp(db_cell(r, i, 0), repair_state_name((repair_state_t)s)))
                n = db_cell_int(r, i, 1);
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "state", repair_state_name((repair_state_t)s));
        cJSON_AddStringToObject(e, "label", repair_state_label((repair_state_t)s));
        cJSON_AddNumberToObject(e, "count", (double)n);
        cJSON_AddItemToArray(arr, e);
    }
    db_rows_free(r);
    return 0;
}

static int add_times(gw_call_t *c, cJSON *d, const stats_filter_t *f)
{
    db_rows_t *r = run(c, SQL_TO_ACCEPT, f);
    if (!r)
        return -1;
    cJSON_AddItemToObject(d, "time_to_accept", durations_json(r));
    db_rows_free(r);
    if (!(r = run(c, SQL_TO_RESOLVE, f)))
        return -1;
    cJSON_AddItemToObject(d, "time_to_resolve", durations_json(r));
    db_rows_free(r);
    if (!(r = run(c, SQL_BREACH, f)))
        return -1;
    long long total = db_cell_int(r, 0, 0), breached = db_cell_int(r, 0, 1);
    db_rows_free(r);
    cJSON_AddNumberToObject(d, "total", (double)total);
    cJSON_AddNumberToObject(d, "breached", (double)breached);
    cJSON_AddNumberToObject(d, "breach_rate", total ? (double)breached / (double)total : 0.0);
    return 0;
}

static int add_satisfaction(gw_call_t *c, cJSON *d, const stats_filter_t *f)
{
    db_rows_t *r = run(c, SQL_SATISFACTION, f);
    if (!r)
        return -1;
    cJSON *arr = cJSON_AddArrayToObject(d, "satisfaction");
    for (int i = 0; i < r->nrows; i++) {
        cJSON *e = cJSON_CreateObject();
        if (db_cell(r, i, 0))
            cJSON_AddNumberToObject(e, "engineer_id", (double)db_cell_int(r, i, 0));
        else
            cJSON_AddNullToObject(e, "engineer_id");
        const char *name = db_cell(r, i, 1);
        cJSON_AddStringToObject(e, "engineer_name", name && *name ? name : "工程师");
        cJSON_AddNumberToObject(e, "ratings", (double)db_cell_int(r, i, 2));
        cJSON_AddNumberToObject(e, "avg_score", (double)(long long)(strtod(db_cell(r, i, 3), NULL) * 100 + 0.5) / 100);
        cJSON_AddNumberToObject(e, "poor", (double)db_cell_int(r, i, 4));
        cJSON_AddItemToArray(arr, e);
    }
    db_rows_free(r);
    return 0;
}

static void stats(gw_call_t *c)
{
    stats_filter_t f = {.admin = (c->user.roles & ROLE_ADMIN) != 0, .user_id = c->user.id};
    long long now = (long long)time(NULL);
    if (read_time(c, "to", now + 1, &f.to) != 0 || read_time(c, "from", f.to - 30LL * 86400, &f.from) != 0 ||
        repair_project_param(c, &f.project) != 0)
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
    if (add_counts(c, d, &f) != 0 || add_times(c, d, &f) != 0 || add_satisfaction(c, d, &f) != 0) {
        cJSON_Delete(d);
        call_fail_db(c);
        return;
    }
    call_ok(c, 200, d);
}

static const route_t routes[] = {
    {"GET", "/api/v1/admin/repairs/stats", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_NONE, POOL_DB, stats},
};

void repairs_stats_register(void)
{
    router_add(routes, sizeof(routes) / sizeof(routes[0]));
}
