/* owners_admin.c: importing the owner roster (admin only).
 *
 *   POST /api/v1/admin/owners/import
 *        {"rows": [{project, building, unit, name, phone, handover_date?}, ...]}
 *
 * Creates the projects, buildings and units that are missing and the roster
 * rows (unit, phone). `project` names a project by code, else by exact name;
 * an unknown value creates a project named after it, coded with the value
 * itself when it is a valid code (1-32 of A-Z a-z 0-9 _ -) or else
 * "PRJ-" + 12 hex of its SHA-256. A handover date given for an existing unit
 * replaces the stored one. A roster row whose phone belongs to a user links
 * that user (who becomes the unit's owner).
 *
 * Idempotent: importing the same rows again changes nothing. All or
 * nothing: every row is checked first, and any bad row gets 422 listing each
 * error by row number (1-based) with nothing applied; the writes then run in
 * one transaction with the audit row. The rows are checked on the loop,
 * before any worker is taken (BODY_CHECK); only the writes use a DB worker. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/audit.h"
#include "gateway/call.h"
#include "gateway/json_util.h"
#include "gateway/log.h"
#include "gateway/phone.h"
#include "gateway/roles.h"
#include "gateway/users.h"
#include "handlers/handlers.h"

#define MAX_ROWS 2000
#define MAX_REPORTED_ERRORS 100

typedef struct {
    const char *project, *building, *unit, *name, *handover_date; /* point into c->body */
    char phone[32];                                               /* normalised */
} roster_row_t;

typedef struct {
    int projects_created, buildings_created, units_created, units_updated, owners_created, owners_updated, users_linked;
} import_counts_t;

/* ---- checking rows (no I/O) ---- */

static void add_row_error(cJSON *errors, int row, const char *field, const char *message)
{
    if (cJSON_GetArraySize(errors) >= MAX_REPORTED_ERRORS)
        return;
    cJSON *e = cJSON_CreateObject();
    cJSON_AddNumberToObject(e, "row", row);
    cJSON_AddStringToObject(e, "field", field);
    cJSON_AddStringToObject(e, "message", message);
    cJSON_AddItemToArray(errors, e);
}

/* A required (or optional) string field of 1..max characters. */
static const char *row_string(const cJSON *obj, const char *field, size_t max, int required, int row, cJSON *errors)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
    char msg[96];
    if (!v || cJSON_IsNull(v)) {
        if (required) {
            snprintf(msg, sizeof(msg), "%s is required", field);
            add_row_error(errors, row, field, msg);
        }
        return NULL;
    }
    long n = cJSON_IsString(v) ? utf8_length(v->valuestring, strlen(v->valuestring)) : -1;
    if (n < 1 || (size_t)n > max) {
        snprintf(msg, sizeof(msg), "%s must be a string of 1 to %zu characters", field, max);
        add_row_error(errors, row, field, msg);
        return NULL;
    }
    return v->valuestring;
}

/* Fills rows[]; errors collects every problem. */
static void check_row(const cJSON *obj, int row, roster_row_t *out, cJSON *errors)
{
    memset(out, 0, sizeof(*out));
    if (!cJSON_IsObject(obj)) {
        add_row_error(errors, row, "row", "each row must be an object");
        return;
    }
    out->project = row_string(obj, "project", 100, 1, row, errors);
    out->building = row_string(obj, "building", 50, 1, row, errors);
    out->unit = row_string(obj, "unit", 50, 1, row, errors);
    out->name = row_string(obj, "name", 64, 1, row, errors);
    const char *phone = row_string(obj, "phone", 32, 1, row, errors);
    if (phone && phone_normalise(phone, out->phone, sizeof(out->phone)) != 0)
        add_row_error(errors, row, "phone", "phone must be an 11-digit mainland number or +<country code><number>");
    out->handover_date = row_string(obj, "handover_date", 10, 0, row, errors);
    if (out->handover_date && !json_date_valid(out->handover_date)) {
        add_row_error(errors, row, "handover_date", "handover_date must be a date YYYY-MM-DD");
        out->handover_date = NULL;
    }
}

/* ---- writing ---- */

/* code, else name, else created. Each statement returns the id through
 * LAST_INSERT_ID so one round trip finds or creates. */
static const char *SQL_PROJECT_BY_CODE = "SELECT id FROM projects WHERE code = ?";
static const char *SQL_PROJECT_BY_NAME = "SELECT id FROM projects WHERE name = ? ORDER BY id LIMIT 1";
static const char *SQL_PROJECT_CREATE = "INSERT INTO projects (code, name) VALUES (IF(? REGEXP "
                                        "'^[A-Za-z0-9_-]{1,32}$', ?, CONCAT('PRJ-', LEFT(SHA2(?, 256), 12))), ?)"
                                        " ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id)";
static const char *SQL_BUILDING =
    "INSERT INTO buildings (project_id, name) VALUES (?, ?) ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id)";
static const char *SQL_UNIT =
    "INSERT INTO units (building_id, name, handover_date) VALUES (?, ?, ?)"
    " ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id), handover_date = COALESCE(VALUES(handover_date), handover_date)";
static const char *SQL_OWNER =
    "INSERT INTO owners (unit_id, name, phone) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE name = VALUES(name)";
static const char *SQL_LINK =
    "UPDATE owners o JOIN users u ON u.phone = o.phone AND u.disabled = 0 SET o.user_id = u.id"
    " WHERE o.unit_id = ? AND o.phone = ? AND o.user_id IS NULL";

/* Affected rows of an upsert: 1 inserted, 2 updated, 0 unchanged. */
static void count_upsert(db_conn_t *db, int *created, int *updated)
{
    uint64_t n = db_affected_rows(db);
    if (n == 1)
        (*created)++;
    else if (n == 2 && updated)
        (*updated)++;
}

static int find_project(db_conn_t *db, const char *value, long long *id, import_counts_t *k)
{
    int rc = db_query_int(db, id, SQL_PROJECT_BY_CODE, DB_ARGS(DB_STR(value)));
    if (rc == 0)
        rc = db_query_int(db, id, SQL_PROJECT_BY_NAME, DB_ARGS(DB_STR(value)));
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    if (db_exec(db, SQL_PROJECT_CREATE, DB_ARGS(DB_STR(value), DB_STR(value), DB_STR(value), DB_STR(value))) != 0)
        return -1;
    count_upsert(db, &k->projects_created, NULL);
    *id = (long long)db_insert_id(db);
    return 0;
}

static int write_row(db_conn_t *db, const roster_row_t *r, import_counts_t *k)
{
    long long project, building, unit;
    if (find_project(db, r->project, &project, k) != 0 ||
        db_exec(db, SQL_BUILDING, DB_ARGS(DB_INT(project), DB_STR(r->building))) != 0)
        return -1;
    count_upsert(db, &k->buildings_created, NULL);
    building = (long long)db_insert_id(db);
    if (db_exec(db, SQL_UNIT, DB_ARGS(DB_INT(building), DB_STR(r->unit), DB_STR(r->handover_date))) != 0)
        return -1;
    count_upsert(db, &k->units_created, &k->units_updated);
    unit = (long long)db_insert_id(db);
    if (db_exec(db, SQL_OWNER, DB_ARGS(DB_INT(unit), DB_STR(r->name), DB_STR(r->phone))) != 0)
        return -1;
    count_upsert(db, &k->owners_created, &k->owners_updated);
    if (db_exec(db, SQL_LINK, DB_ARGS(DB_INT(unit), DB_STR(r->phone))) != 0)
        return -1;
    k->users_linked += (int)db_affected_rows(db);
    return 0;
}

static cJSON *counts_json(int rows, const import_counts_t *k)
{
    cJSON *d = cJSON_CreateObject();
    cJSON_AddNumberToObject(d, "rows", rows);
    cJSON_AddNumberToObject(d, "projects_created", k->projects_created);
    cJSON_AddNumberToObject(d, "buildings_created", k->buildings_created);
    cJSON_AddNumberToObject(d, "units_created", k->units_created);
    cJSON_AddNumberToObject(d, "units_updated", k->units_updated);
    cJSON_AddNumberToObject(d, "owners_created", k->owners_created);
    cJSON_AddNumberToObject(d, "owners_updated", k->owners_updated);
    cJSON_AddNumberToObject(d, "users_linked", k->users_linked);
    return d;
}

/* The rows, checked on the loop: points into c->body, which lives as long
 * as the call. */
typedef struct {
    int n;
    roster_row_t rows[];
} roster_t;

/* Every row is checked (no I/O); any error answers 422 listing them all. */
static void check_roster(gw_call_t *c)
{
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(c->body, "rows");
    if (!rows || cJSON_IsNull(rows)) {
        call_fail(c, ERR_MISSING_FIELD, "rows", "rows is required");
        return;
    }
    int n = cJSON_IsArray(rows) ? cJSON_GetArraySize(rows) : -1;
    if (n < 1 || n > MAX_ROWS) {
        call_fail(c, ERR_INVALID_FIELD, "rows", "rows must be an array of 1 to %d rows", MAX_ROWS);
        return;
    }
    roster_t *roster = call_state_new_or_fail(c, 1, sizeof(*roster) + (size_t)n * sizeof(roster->rows[0]), free);
    if (!roster)
        return;
    cJSON *errors = cJSON_CreateArray();
    if (!errors) {
        call_fail(c, ERR_OVERLOADED, NULL, "out of memory; retry later");
        return;
    }
    roster->n = n;
    int i = 0;
    for (const cJSON *it = rows->child; it; it = it->next, i++)
        check_row(it, i + 1, &roster->rows[i], errors);
    if (cJSON_GetArraySize(errors) > 0) {
        const cJSON *first = cJSON_GetArrayItem(errors, 0);
        call_fail(c, ERR_UNPROCESSABLE, "rows", "%d row error(s); nothing was imported; first: row %d: %s",
                  cJSON_GetArraySize(errors), cJSON_GetObjectItem(first, "row")->valueint,
                  cJSON_GetObjectItem(first, "message")->valuestring);
        c->err_details = errors;
        return;
    }
    cJSON_Delete(errors);
}

/* The writes, in one transaction with the audit row. */
static void import_roster(gw_call_t *c, db_conn_t *db)
{
    const roster_t *roster = c->state;
    import_counts_t k = {0};
    cJSON *d = NULL;
    if (db_begin(db) != 0)
        goto DbError;
    for (int i = 0; i < roster->n; i++)
        if (write_row(db, &roster->rows[i], &k) != 0)
            goto DbError;
    d = counts_json(roster->n, &k);
    if (!d || audit_write(db, c->user.id, 0, "owners.import", "roster", 0, d) != 0 || db_commit(db) != 0)
        goto DbError;
    if (k.users_linked)
        users_changed_all(); /* linked users became owners */
    log_info("owners", "roster import by user %lld: %d rows, %d owners created, %d linked", c->user.id, roster->n,
             k.owners_created, k.users_linked);
    call_ok(c, 200, d);
    return;
DbError:
    cJSON_Delete(d);
    call_fail_db(c);
}

static const route_t routes[] = {
    {"POST", "/api/v1/admin/owners/import", ROLE_ADMIN, BODY_JSON, DB_STEP(import_roster), BODY_CHECK(check_roster)},
};

void owners_admin_register(void)
{
    ROUTES_REGISTER(routes);
}
