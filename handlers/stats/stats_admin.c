/* stats_admin.c: every figure of the dashboard for one period in one call.
 *
 *   GET /api/v1/admin/stats?project=&from=&to=   supervisor (own projects), admin
 *
 * The answer holds, under each statistic's stable name (domain/stats/stats.h),
 * the rows that statistic computes from the event history for the period
 * [from, to) and the scope (stats_request.h): the same rows an export of that
 * statistic writes, so the chart, its CSV and this route agree; and under
 * `definitions` each statistic's title and columns with their Chinese
 * headers (the export's header line). */
#include "domain/stats/stats.h"
#include "domain/stats/stats_request.h"
#include "gateway/call.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"

/* {name, title, columns: [{name, header}]}: what an export of the
 * statistic writes as its header line; NULL when memory runs out. */
static cJSON *definition_json(const stats_def_t *def)
{
    cJSON *o = cJSON_CreateObject(), *cols = o ? cJSON_AddArrayToObject(o, "columns") : NULL;
    if (!cols) {
        cJSON_Delete(o);
        return NULL;
    }
    cJSON_AddStringToObject(o, "name", def->name);
    cJSON_AddStringToObject(o, "title", def->title);
    for (int i = 0; i < def->ncolumns; i++) {
        cJSON *col = cJSON_CreateObject();
        if (!col) {
            cJSON_Delete(o);
            return NULL;
        }
        cJSON_AddStringToObject(col, "name", def->columns[i].name);
        cJSON_AddStringToObject(col, "header", def->columns[i].header);
        cJSON_AddItemToArray(cols, col);
    }
    return o;
}

static void dashboard(gw_call_t *c, db_conn_t *db)
{
    stats_scope_t s;
    if (stats_scope_or_fail(c, db, &s) != 0)
        return;
    cJSON *d = cJSON_CreateObject();
    if (!d)
        goto Fail;
    stats_scope_add_json(d, &s);
    cJSON *defs = cJSON_AddArrayToObject(d, "definitions");
    for (int i = 0; i < stats_ndefs; i++) {
        cJSON *rows = stats_json(db, &stats_defs[i], &s), *def = rows ? definition_json(&stats_defs[i]) : NULL;
        if (!def || !defs) {
            cJSON_Delete(rows);
            goto Fail;
        }
        cJSON_AddItemToObject(d, stats_defs[i].name, rows);
        cJSON_AddItemToArray(defs, def);
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
