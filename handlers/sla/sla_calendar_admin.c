/* sla_calendar_admin.c: the business calendar, one year at a time.
 *
 *   GET /api/v1/admin/calendar/:year   the year's holidays and make-up working days
 *   PUT /api/v1/admin/calendar/:year   {"source"?, "holidays": [...], "workdays": [...]}
 *
 * Admins only. A PUT replaces the year: it is checked as the engine checks
 * the calendar (sla_calendar.h: dates of that year, ascending, each once,
 * never both a holiday and a workday, a workday only on a day the weekly
 * pattern has off), and a bad entry is 400 naming it ("holidays[3]") with
 * nothing written. The change, the calendar's new version, its audit row
 * (sla_calendar.update: before and after) and a recomputation of every
 * running business clock (their next_at set to now, for the sweeper)
 * commit together; this process reloads the calendar at once and every
 * other at its next sla-sweeper tick. */
#include <stdlib.h>
#include <string.h>

#include "domain/identity/admin_change.h"
#include "domain/sla/sla_store.h"
#include "gateway/audit.h"
#include "gateway/call.h"
#include "gateway/json_util.h"
#include "gateway/log.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"

/* The year from the path: 0, or -1 with 400 naming "year". */
static int year_or_fail(gw_call_t *c, int *year)
{
    const char *p = call_param(c, "year");
    char *end = NULL;
    long y = p ? strtol(p, &end, 10) : 0;
    if (!p || !*p || *end || y < SLA_CAL_MIN_YEAR || y > SLA_CAL_MAX_YEAR) {
        call_fail(c, ERR_INVALID_FIELD, "year", "year must be a year from %d to %d", SLA_CAL_MIN_YEAR,
                  SLA_CAL_MAX_YEAR);
        return -1;
    }
    *year = (int)y;
    return 0;
}

/* The stored year as the API shows it (new object), or NULL on a db error.
 * A year with no row: empty lists, "stored": false (the weekly pattern). */
static cJSON *year_json(db_conn_t *db, int year)
{
    db_rows_t *r = db_query(db,
                            "SELECT source, holidays, workdays, updated_by, FLOOR(UNIX_TIMESTAMP(updated_at)) AS at"
                            " FROM sla_calendar_years WHERE year = ?",
                            DB_ARGS(DB_INT(year)));
    long long version = 0;
    if (!r || db_query_int(db, &version, "SELECT version FROM sla_calendar_version WHERE id = 1", DB_NOARGS) < 0) {
        db_rows_free(r);
        return NULL;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "year", year);
    int stored = r->nrows == 1;
    cJSON *h = stored ? cJSON_Parse(db_get(r, 0, "holidays")) : cJSON_CreateArray();
    cJSON *w = stored ? cJSON_Parse(db_get(r, 0, "workdays")) : cJSON_CreateArray();
    if (stored && !db_is_null(r, 0, "source"))
        cJSON_AddStringToObject(o, "source", db_get(r, 0, "source"));
    else
        cJSON_AddNullToObject(o, "source");
    cJSON_AddItemToObject(o, "holidays", h ? h : cJSON_CreateArray());
    cJSON_AddItemToObject(o, "workdays", w ? w : cJSON_CreateArray());
    cJSON_AddBoolToObject(o, "stored", stored);
    if (stored && !db_is_null(r, 0, "updated_at"))
        cJSON_AddNumberToObject(o, "updated_at", (double)db_get_int(r, 0, "at"));
    cJSON_AddNumberToObject(o, "version", (double)version);
    db_rows_free(r);
    return o;
}

static void get_year(gw_call_t *c, db_conn_t *db)
{
    int year;
    if (year_or_fail(c, &year) != 0)
        return;
    cJSON *o = year_json(db, year);
    if (!o) {
        call_fail_db(c);
        return;
    }
    call_ok(c, 200, o);
}

typedef struct {
    int year;
    char *holidays, *workdays; /* the lists as checked, JSON text */
    const char *source;
} year_form_t;

static void year_form_free(void *p)
{
    year_form_t *f = p;
    if (f) {
        free(f->holidays);
        free(f->workdays);
        free(f);
    }
}

/* The body checked on the loop, by the engine's own parser: the year as a
 * one-year document. */
static void check_put(gw_call_t *c)
{
    static const char *const known[] = {"source", "holidays", "workdays", NULL};
    year_form_t *f = call_state_new_or_fail(c, 1, sizeof(year_form_t), year_form_free);
    if (!f || year_or_fail(c, &f->year) != 0 || json_known_fields_or_fail(c, c->body, known) != 0 ||
        json_opt_string_or_fail(c, c->body, "source", 1, SLA_CAL_MAX_NOTE, &f->source) != 0)
        return;
    static const char *const lists[] = {"holidays", "workdays"};
    for (int i = 0; i < 2; i++)
        if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(c->body, lists[i]))) {
            call_fail(c, cJSON_GetObjectItemCaseSensitive(c->body, lists[i]) ? ERR_INVALID_FIELD : ERR_MISSING_FIELD,
                      lists[i], "%s must be an array of dates YYYY-MM-DD (may be empty)", lists[i]);
            return;
        }
    cJSON *entry = cJSON_CreateObject(), *years = cJSON_CreateArray();
    if (entry && years) {
        cJSON_AddNumberToObject(entry, "year", f->year);
        if (f->source)
            cJSON_AddStringToObject(entry, "source", f->source);
        cJSON_AddItemToObject(entry, "holidays",
                              cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(c->body, "holidays"), 1));
        cJSON_AddItemToObject(entry, "workdays",
                              cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(c->body, "workdays"), 1));
        cJSON_AddItemToArray(years, entry);
        entry = NULL;
    }
    cJSON_Delete(entry);
    cJSON *doc = years ? sla_calendar_document(years) : NULL;
    if (!doc) {
        call_fail(c, ERR_OVERLOADED, NULL, "out of memory; retry later");
        return;
    }
    sla_error_t err;
    sla_calendar_t *cal = sla_calendar_from_json(doc, &err);
    if (!cal) {
        /* "years[0].holidays[3]" is the body's "holidays[3]". */
        const char *field = strncmp(err.field, "years[0].", 9) ? err.field : err.field + 9;
        call_fail(c, ERR_INVALID_FIELD, *field ? field : "holidays", "%s", err.message);
    } else {
        f->holidays = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(c->body, "holidays"));
        f->workdays = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(c->body, "workdays"));
        if (!f->holidays || !f->workdays)
            call_fail(c, ERR_OVERLOADED, NULL, "out of memory; retry later");
    }
    sla_calendar_free(cal);
    cJSON_Delete(doc);
}

static void put_year(gw_call_t *c, db_conn_t *db)
{
    const year_form_t *f = c->state;
    cJSON *before = NULL, *after = NULL;
    if (db_begin(db) != 0 ||
        db_exec(db, "SELECT version FROM sla_calendar_version WHERE id = 1 FOR UPDATE", DB_NOARGS) != 0 ||
        !(before = year_json(db, f->year)) ||
        db_exec(db,
                "INSERT INTO sla_calendar_years (year, source, holidays, workdays, updated_by) VALUES (?, ?, ?, ?, ?)"
                " ON DUPLICATE KEY UPDATE source = VALUES(source), holidays = VALUES(holidays),"
                " workdays = VALUES(workdays), updated_by = VALUES(updated_by)",
                DB_ARGS(DB_INT(f->year), DB_STR(f->source), DB_STR(f->holidays), DB_STR(f->workdays),
                        DB_INT(c->user.id))) != 0 ||
        db_exec(db, "UPDATE sla_calendar_version SET version = version + 1 WHERE id = 1", DB_NOARGS) != 0 ||
        /* Every running business clock is looked at again with the new days. */
        db_exec(db, "UPDATE sla_clocks SET next_at = NOW(3) WHERE state = 'running' AND mode = 'business'",
                DB_NOARGS) != 0 ||
        !(after = year_json(db, f->year)))
        goto DbError;
    /* The version is not part of the change itself. */
    cJSON_DeleteItemFromObjectCaseSensitive(before, "version");
    cJSON_DeleteItemFromObjectCaseSensitive(before, "updated_at");
    cJSON *a = cJSON_Duplicate(after, 1);
    if (!a)
        goto DbError;
    cJSON_DeleteItemFromObjectCaseSensitive(a, "version");
    cJSON_DeleteItemFromObjectCaseSensitive(a, "updated_at");
    int rc = audit_change(db, c->user.id, "sla_calendar.update", "sla_calendar_year", f->year, 0, before, a, NULL);
    cJSON_Delete(a);
    if (rc != 0 || db_commit(db) != 0)
        goto DbError;
    cJSON_Delete(before);
    if (sla_calendar_refresh(db) < 0)
        log_warn("sla", "calendar %d stored; this process reloads it at the next sweep", f->year);
    log_info("sla", "calendar %d replaced by user %lld", f->year, c->user.id);
    call_ok(c, 200, after);
    return;
DbError:
    db_rollback(db);
    cJSON_Delete(before);
    cJSON_Delete(after);
    call_fail_db(c);
}

static const route_t routes[] = {
    {"GET", "/api/v1/admin/calendar/:year", ROLE_ADMIN, BODY_NONE, DB_STEP(get_year)},
    {"PUT", "/api/v1/admin/calendar/:year", ROLE_ADMIN, BODY_JSON, DB_STEP(put_year), BODY_CHECK(check_put)},
};

void sla_calendar_admin_register(void)
{
    ROUTES_REGISTER(routes);
}
