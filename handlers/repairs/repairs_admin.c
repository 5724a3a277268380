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
#include "domain/repairs/repair_lists.h"
#include "domain/repairs/repair_view.h"

/* ---- the staff list ---- */

/* The list is shared with its CSV export (domain/repairs/repair_lists.h). */
static void staff_list(gw_call_t *c, db_conn_t *db)
{
    list_respond(c, db, &repair_staff_list);
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
    stats_scope_add_json(d, &s);
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
