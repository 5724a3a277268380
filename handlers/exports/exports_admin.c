/* exports_admin.c: CSV exports of the staff lists, run in the background.
 *
 *   POST /api/v1/admin/exports {kind, params, unmasked?}   202 {export}: queued
 *   GET  /api/v1/admin/exports?mine=&cursor=&limit=        exports, newest first
 *   GET  /api/v1/admin/exports/:id                         one export: state, progress
 *   GET  /api/v1/admin/exports/:id/file                    the CSV (text/csv, attachment)
 *
 * An export of any kind of domain/exports/export_kinds.h: the same
 * filters (params) as the list route, read by the list's own code and
 * checked for the caller now (400 naming params.<name>, 403 for a project
 * the caller does not supervise); the export runner (jobs/export_runner.c)
 * checks them again for the requester when it runs. Masked unless
 * `unmasked: true`, which only admins may ask for. The request and every
 * download are audited (export.request, export.download; a phone in the
 * filters is masked there).
 *
 * Bounds: rate_exports_* per address and user; export_per_user queued or
 * running per user (429 EXPORT_LIMIT), export_total for everyone (503
 * EXPORTS_BUSY). The per-user count is taken under a lock of the user's
 * row, so two requests at once cannot both pass it.
 *
 * Who sees an export: its requester, and admins (every export; the list
 * with mine=true shows only the caller's). Anyone else gets 404. A file
 * past its expiry is 410 EXPORT_EXPIRED.
 *
 * Its own folder: exports cover every domain's lists, so they belong to
 * none of them (handlers/ops/ is the probes and WeChat's push). */
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/exports/export_kinds.h"
#include "domain/identity/project_access.h"
#include "gateway/audit.h"
#include "gateway/call.h"
#include "gateway/config.h"
#include "gateway/db_json.h"
#include "gateway/json_util.h"
#include "gateway/mask.h"
#include "gateway/query.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"

#define STAFF (ROLE_SUPERVISOR | ROLE_ADMIN)

/* An export as the API shows it. Takes nothing; add the WHERE. */
#define EXPORT_SELECT                                                                                                  \
    "SELECT e.id, e.kind, e.params, e.masked, e.state, e.rows_done, e.rows_total, e.size_bytes, e.error,"              \
    " e.requester_user_id AS `requester.user_id`, u.display_name AS `requester.name`,"                                 \
    " FLOOR(UNIX_TIMESTAMP(e.created_at)) AS created_at, FLOOR(UNIX_TIMESTAMP(e.finished_at)) AS finished_at,"         \
    " FLOOR(UNIX_TIMESTAMP(e.expires_at)) AS expires_at, e.file_name AS file_name_stored,"                             \
    " (e.state = 'done' AND e.expires_at <= NOW(3)) AS past_expiry"                                                    \
    " FROM exports e LEFT JOIN users u ON u.id = e.requester_user_id"

/* The row with params as JSON, the state as a client sees it (done past its
 * expiry is expired), progress (0..1, null before the total is known) and
 * the download's name and URL once done. */
static cJSON *export_json(const db_rows_t *r, int i, void *ud)
{
    (void)ud;
    cJSON *o = db_row_json(r, i);
    if (!o)
        return NULL;
    const char *text = db_get(r, i, "params");
    cJSON *params = text ? cJSON_Parse(text) : NULL;
    cJSON_ReplaceItemInObjectCaseSensitive(o, "params", params ? params : cJSON_CreateObject());
    cJSON_ReplaceItemInObjectCaseSensitive(o, "masked", cJSON_CreateBool(db_get_int(r, i, "masked") != 0));
    const char *state = db_get(r, i, "state");
    int expired = db_get_int(r, i, "past_expiry") != 0;
    if (expired)
        cJSON_ReplaceItemInObjectCaseSensitive(o, "state", cJSON_CreateString("expired"));
    long long done = db_get_int(r, i, "rows_done"), total = db_get_int(r, i, "rows_total");
    if (db_is_null(r, i, "rows_total"))
        cJSON_AddNullToObject(o, "progress");
    else
        cJSON_AddNumberToObject(o, "progress", total ? (double)done / (double)total : 1.0);
    const export_kind_t *k = export_kind_find(db_get(r, i, "kind"));
    char name[160];
    snprintf(name, sizeof(name), "%s-%lld.csv", k ? k->title : "导出", db_get_int(r, i, "id"));
    cJSON_AddStringToObject(o, "file_name", name);
    if (state && !strcmp(state, "done") && !expired) {
        char url[96];
        snprintf(url, sizeof(url), "/api/v1/admin/exports/%lld/file", db_get_int(r, i, "id"));
        cJSON_AddStringToObject(o, "download_url", url);
    } else {
        cJSON_AddNullToObject(o, "download_url");
    }
    cJSON_DeleteItemFromObjectCaseSensitive(o, "file_name_stored");
    cJSON_DeleteItemFromObjectCaseSensitive(o, "past_expiry");
    return o;
}

/* ---- POST /admin/exports ---- */

typedef struct {
    const export_kind_t *kind;
    char *query;  /* params as the list's query string */
    char *params; /* params as stored, compact JSON */
    int unmasked;
    long long project; /* params.project or params.project_id: the audit row's project */
} create_t;

static void create_free(void *p)
{
    create_t *s = p;
    free(s->query);
    free(s->params);
    free(s);
}

static void check_create(gw_call_t *c)
{
    static const char *const known[] = {"kind", "params", "unmasked", NULL};
    if (json_known_fields_or_fail(c, c->body, known) != 0)
        return;
    const char *name = json_string_or_fail(c, c->body, "kind", 1, 64);
    if (!name)
        return;
    const export_kind_t *k = export_kind_find(name);
    if (!k) {
        call_fail(c, ERR_INVALID_FIELD, "kind", "no export of kind %.64s", name);
        return;
    }
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(c->body, "unmasked");
    if (u && !cJSON_IsNull(u) && !cJSON_IsBool(u)) {
        call_fail(c, ERR_INVALID_FIELD, "unmasked", "unmasked must be true or false");
        return;
    }
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(c->body, "params");
    char field[EXPORT_FIELD_MAX], why[EXPORT_WHY_MAX];
    char *query = export_params_query(params, field, why);
    if (!query) {
        if (why[0])
            call_fail(c, ERR_INVALID_FIELD, field, "%s", why);
        else
            call_fail(c, ERR_OVERLOADED, NULL, "out of memory");
        return;
    }
    create_t *s = call_state_new_or_fail(c, 1, sizeof(*s), create_free);
    if (!s) {
        free(query);
        return;
    }
    s->kind = k;
    s->query = query;
    s->unmasked = cJSON_IsTrue(u);
    s->params = params && cJSON_IsObject(params) ? cJSON_PrintUnformatted(params) : strdup("{}");
    const cJSON *project = cJSON_GetObjectItemCaseSensitive(params, "project");
    if (!project)
        project = cJSON_GetObjectItemCaseSensitive(params, "project_id");
    s->project = cJSON_IsNumber(project) && project->valuedouble > 0 ? (long long)project->valuedouble : 0;
    if (!s->params)
        call_fail(c, ERR_OVERLOADED, NULL, "out of memory");
}

/* The filters, read by the list's own code from params as its query
 * string, and checked for the caller: 0, or -1 with the call failed (its
 * field named as params.<name>). */
static int filters_or_fail(gw_call_t *c, db_conn_t *db, const create_t *s)
{
    char *saved = c->query;
    c->query = s->query;
    int rc;
    if (s->kind->list) {
        alignas(max_align_t) char filter[LIST_FILTER_MAX];
        memset(filter, 0, sizeof(filter));
        rc = list_filter_or_fail(c, db, s->kind->list, filter);
    } else {
        /* A statistic's scope, checked as it will be read when it runs;
         * the statistic itself runs in the background. */
        rc = export_stat_scope_or_fail(c, db);
    }
    c->query = saved;
    if (rc != 0 && c->err_field[0] && strncmp(c->err_field, "params", 6) != 0) {
        char field[sizeof(c->err_field)];
        snprintf(field, sizeof(field), "params.%.48s", c->err_field);
        snprintf(c->err_field, sizeof(c->err_field), "%s", field);
    }
    return rc;
}

/* The filters as the audit row keeps them: a phone searched for (`phone`,
 * or a `q` that is a phone number) masked, as every phone in the audit log
 * (the project's supervisors read it). */
static void mask_phone_params(cJSON *params)
{
    static const char *const keys[] = {"phone", "q"};
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, keys[k]);
        if (!cJSON_IsString(v))
            continue;
        const char *s = v->valuestring + (v->valuestring[0] == '+');
        size_t digits = strspn(s, "0123456789");
        if (k == 0 || (digits >= 7 && s[digits] == '\0')) {
            char masked[64];
            mask_phone(v->valuestring, masked, sizeof(masked));
            cJSON_ReplaceItemInObjectCaseSensitive(params, keys[k], cJSON_CreateString(masked));
        }
    }
}

static void create(gw_call_t *c, db_conn_t *db)
{
    create_t *s = c->state;
    if (!(c->user.roles & s->kind->roles)) {
        call_fail(c, ERR_FORBIDDEN, "kind", "your role may not export %s", s->kind->name);
        return;
    }
    int admin = project_access_is_admin(db, c->user.id);
    if (admin < 0) {
        call_fail_db(c);
        return;
    }
    if (s->unmasked && !admin) {
        call_fail(c, ERR_FORBIDDEN, "unmasked", "only admins may export unmasked phones and names");
        return;
    }
    if (filters_or_fail(c, db, s) != 0)
        return;
    long long mine, all, one;
    if (db_begin(db) != 0 ||
        db_query_int(db, &one, "SELECT id FROM users WHERE id = ? FOR UPDATE", DB_ARGS(DB_INT(c->user.id))) < 0 ||
        db_query_int(db, &mine,
                     "SELECT COUNT(*) FROM exports WHERE state IN ('queued', 'running') AND requester_user_id = ?",
                     DB_ARGS(DB_INT(c->user.id))) != 1 ||
        db_query_int(db, &all, "SELECT COUNT(*) FROM exports WHERE state IN ('queued', 'running')", DB_NOARGS) != 1) {
        call_fail_db(c);
        return;
    }
    if (mine >= gw_cfg->export_per_user) {
        call_fail(c, ERR_EXPORT_LIMIT, NULL, "you have %lld exports queued or running (at most %d); wait for one", mine,
                  gw_cfg->export_per_user);
        c->retry_after_s = 5;
        return;
    }
    if (all >= gw_cfg->export_total) {
        call_fail(c, ERR_EXPORTS_BUSY, NULL, "%lld exports are queued or running (at most %d); retry later", all,
                  gw_cfg->export_total);
        c->retry_after_s = 10;
        return;
    }
    if (db_exec(db, "INSERT INTO exports (requester_user_id, kind, params, masked) VALUES (?, ?, ?, ?)",
                DB_ARGS(DB_INT(c->user.id), DB_STR(s->kind->name), DB_STR(s->params), DB_INT(!s->unmasked))) != 0) {
        call_fail_db(c);
        return;
    }
    long long id = (long long)db_insert_id(db);
    cJSON *detail = cJSON_CreateObject();
    cJSON *params = cJSON_Parse(s->params);
    if (!detail || !params) {
        cJSON_Delete(detail);
        cJSON_Delete(params);
        call_fail(c, ERR_OVERLOADED, NULL, "out of memory");
        return;
    }
    mask_phone_params(params);
    cJSON_AddStringToObject(detail, "kind", s->kind->name);
    cJSON_AddItemToObject(detail, "params", params);
    cJSON_AddBoolToObject(detail, "masked", !s->unmasked);
    int rc = audit_write(db, c->user.id, s->project, "export.request", "export", id, detail);
    cJSON_Delete(detail);
    db_rows_t *r = rc == 0 ? db_query(db, EXPORT_SELECT " WHERE e.id = ?", DB_ARGS(DB_INT(id))) : NULL;
    if (!r || r->nrows != 1 || db_commit(db) != 0) {
        db_rows_free(r);
        call_fail_db(c);
        return;
    }
    cJSON *o = export_json(r, 0, NULL);
    db_rows_free(r);
    call_ok(c, 202, o);
}

/* ---- GET /admin/exports ---- */

static void list_exports(gw_call_t *c, db_conn_t *db)
{
    static const char *const keys[] = {"id"};
    int mine;
    page_t page;
    if (query_bool_or_fail(c, "mine", 0, &mine) != 0 || page_or_fail(c, 1, &page) != 0)
        return;
    int admin = project_access_is_admin(db, c->user.id);
    if (admin < 0) {
        call_fail_db(c);
        return;
    }
    db_rows_t *r = db_query(db,
                            EXPORT_SELECT " WHERE (? = 1 OR e.requester_user_id = ?) AND e.id < ?"
                                          " ORDER BY e.id DESC LIMIT ?",
                            DB_ARGS(DB_INT(admin && !mine), DB_INT(c->user.id),
                                    DB_INT(page_key(&page, 0, PAGE_KEY_MAX)), DB_INT(page.limit + 1)));
    if (!r) {
        call_fail_db(c);
        return;
    }
    page_respond(c, &page, r, export_json, NULL, keys);
    db_rows_free(r);
}

/* ---- GET /admin/exports/:id ---- */

/* The export of the path's id if the caller may see it (its requester, or
 * an admin): the row, or NULL with the call failed (404, db error). */
static db_rows_t *visible_export_or_fail(gw_call_t *c, db_conn_t *db)
{
    long long id;
    if (call_param_id_or_fail(c, "id", &id) != 0)
        return NULL;
    db_rows_t *r = db_query(db,
                            EXPORT_SELECT " WHERE e.id = ? AND (e.requester_user_id = ? OR EXISTS"
                                          " (SELECT 1 FROM staff_roles a WHERE a.user_id = ? AND a.role = 'admin'))",
                            DB_ARGS(DB_INT(id), DB_INT(c->user.id), DB_INT(c->user.id)));
    if (!r) {
        call_fail_db(c);
        return NULL;
    }
    if (r->nrows != 1) {
        db_rows_free(r);
        call_fail(c, ERR_NOT_FOUND, NULL, "no such export");
        return NULL;
    }
    return r;
}

static void get_export(gw_call_t *c, db_conn_t *db)
{
    db_rows_t *r = visible_export_or_fail(c, db);
    if (!r)
        return;
    cJSON *o = export_json(r, 0, NULL);
    db_rows_free(r);
    if (o)
        call_ok(c, 200, o);
    else
        call_fail(c, ERR_OVERLOADED, NULL, "out of memory");
}

/* ---- GET /admin/exports/:id/file ---- */

/* "attachment; filename=<ASCII>; filename*=UTF-8''<the Chinese name, %-encoded>"
 * (RFC 6266 with RFC 5987 for the non-ASCII name). */
static void disposition(const export_kind_t *k, long long id, char *out, size_t outsz)
{
    char name[128], enc[3 * sizeof(name)];
    snprintf(name, sizeof(name), "%s-%lld.csv", k ? k->title : "export", id);
    *export_url_encode(enc, name) = '\0';
    snprintf(out, outsz, "attachment; filename=\"export-%lld-%s.csv\"; filename*=UTF-8''%s", id,
             k ? k->name : "unknown", enc);
}

static void get_file(gw_call_t *c, db_conn_t *db)
{
    db_rows_t *r = visible_export_or_fail(c, db);
    if (!r)
        return;
    long long id = db_get_int(r, 0, "id"), project = 0;
    const char *state = db_get(r, 0, "state"), *stored = db_get(r, 0, "file_name_stored");
    const export_kind_t *k = export_kind_find(db_get(r, 0, "kind"));
    char path[1024], disp[512];
    if (!strcmp(state, "expired") || db_get_int(r, 0, "past_expiry")) {
        db_rows_free(r);
        call_fail(c, ERR_EXPORT_EXPIRED, NULL, NULL);
        return;
    }
    if (strcmp(state, "done") != 0 || !stored) {
        call_fail(c, ERR_CONFLICT, NULL, "the export is %s, not done", state);
        db_rows_free(r);
        return;
    }
    snprintf(path, sizeof(path), "%s/%s", gw_cfg->export_dir, stored);
    disposition(k, id, disp, sizeof(disp));
    const char *params_text = db_get(r, 0, "params");
    cJSON *params = params_text ? cJSON_Parse(params_text) : NULL;
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(params, "project");
    if (!p)
        p = cJSON_GetObjectItemCaseSensitive(params, "project_id");
    if (cJSON_IsNumber(p) && p->valuedouble > 0)
        project = (long long)p->valuedouble;
    cJSON_Delete(params);
    cJSON *detail = cJSON_CreateObject();
    if (!detail) {
        db_rows_free(r);
        call_fail(c, ERR_OVERLOADED, NULL, "out of memory");
        return;
    }
    cJSON_AddStringToObject(detail, "kind", k ? k->name : db_get(r, 0, "kind"));
    cJSON_AddBoolToObject(detail, "masked", db_get_int(r, 0, "masked") != 0);
    cJSON_AddNumberToObject(detail, "requester_user_id", (double)db_get_int(r, 0, "requester.user_id"));
    db_rows_free(r);
    int rc = audit_write(db, c->user.id, project, "export.download", "export", id, detail);
    cJSON_Delete(detail);
    if (rc != 0) {
        call_fail_db(c);
        return;
    }
    /* Sent from the event loop in chunks by h2o's file handler. */
    call_ok_file(c, "text/csv; charset=utf-8", path, disp);
}

static const route_t routes[] = {
    {"POST", "/api/v1/admin/exports", STAFF, BODY_JSON, DB_STEP(create), BODY_CHECK(check_create),
     .rate = RATE_EXPORTS},
    {"GET", "/api/v1/admin/exports", STAFF, BODY_NONE, DB_STEP(list_exports)},
    {"GET", "/api/v1/admin/exports/:id", STAFF, BODY_NONE, DB_STEP(get_export)},
    {"GET", "/api/v1/admin/exports/:id/file", STAFF, BODY_NONE, DB_STEP(get_file)},
};

void exports_admin_register(void)
{
    ROUTES_REGISTER(routes);
}
