/* stats_admin.c: every figure of the dashboard for one period in one call.
 *
 *   GET /api/v1/admin/stats?project=&from=&to=   supervisor (own projects), admin
 *
 * The answer holds, under each statistic's stable name (domain/stats/stats.h),
 * the rows that statistic computes from the event history for the period
 * [from, to) and the scope (stats_request.h): the same rows an export of that
 * statistic writes, so the chart, its CSV and this route agree. */
#include "domain/stats/stats.h"
#include "domain/stats/stats_request.h"
#include "gateway/call.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"

static void dashboard(gw_call_t *c, db_conn_t *db)
{
    stats_scope_t s;
    if (stats_scope_or_fail(c, db, &s) != 0)
        return;
    cJSON *d = cJSON_CreateObject();
    if (!d)
        goto Fail;
    if (s.project)
        cJSON_AddNumberToObject(d, "project_id", (double)s.project);
    else
        cJSON_AddNullToObject(d, "project_id");
    cJSON_AddNumberToObject(d, "from", (double)s.from);
    cJSON_AddNumberToObject(d, "to", (double)s.to);
    for (int i = 0; i < stats_ndefs; i++) {
        cJSON *rows = stats_json(db, &stats_defs[i], &s);
        if (!rows)
            goto Fail;
        cJSON_AddItemToObject(d, stats_defs[i].name, rows);
    }
    call_ok(c, 200, d);
    return;
Fail:
    cJSON_Delete(d);
    call_fail_db(c);
}

static const route_t routes[] = {
    {"GET", "/api/v1/admin/stats", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_NONE, DB_STEP(dashboard)},
};

void stats_admin_register(void)
{
    ROUTES_REGISTER(routes);
}
