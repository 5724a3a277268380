/* notifications_admin.c: the outbox as staff see it (admin, supervisor).
 *
 *   GET  /api/v1/admin/notifications?status=&kind=&user=&cursor=&limit=
 *   POST /api/v1/admin/notifications/:id/retry
 *
 * Retry puts a dead, failed or no_quota row back to pending with its
 * attempts reset (the dispatcher picks it up on its next run) and writes an
 * audit row in the same transaction. A sent row answers 409: sending it again
 * would duplicate the message; rows still on their way answer 409 too.
 *
 * Admins see every event. A supervisor sees only the events of the projects
 * they supervise at the time of the request (notification_events.project_id);
 * events without a project are for admins only. Another project's event
 * answers 404 to retry, as if it did not exist. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/call.h"
#include "gateway/json_util.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"
#include "domain/notifications/notification_paging.h"

static const char *const STATUSES[] = {"pending", "sending", "retrying", "sent", "no_quota", "failed", "dead"};

#define COLUMNS                                                                                                        \
    "SELECT id, kind, user_id, ref_type, ref_id, status, attempts, template_id, msgid, last_errcode, last_error,"      \
    " FLOOR(UNIX_TIMESTAMP(next_attempt_at)), FLOOR(UNIX_TIMESTAMP(created_at)),"                                      \
    " FLOOR(UNIX_TIMESTAMP(sent_at)), lease_owner, project_id FROM notification_events"

/* The caller's scope, read from the grants at the time of the request (the
 * role bits of the route are the union over every project). Takes (caller,
 * caller). */
#define SCOPE_SQL                                                                                                      \
    " AND (EXISTS (SELECT 1 FROM staff_roles a WHERE a.user_id = ? AND a.role = 'admin')"                              \
    " OR project_id IN (SELECT s.project_id FROM staff_roles s WHERE s.user_id = ? AND s.role = 'supervisor'))"

static void add_int_or_null(cJSON *o, const char *name, const db_rows_t *r, int row, int col)
{
    if (db_cell(r, row, col))
        cJSON_AddNumberToObject(o, name, (double)db_cell_int(r, row, col));
    else
        cJSON_AddNullToObject(o, name);
}

static cJSON *row_json(const db_rows_t *r, int i)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)db_cell_int(r, i, 0));
    cJSON_AddStringToObject(o, "kind", db_cell(r, i, 1));
    cJSON_AddNumberToObject(o, "user_id", (double)db_cell_int(r, i, 2));
    cJSON_AddStringToObject(o, "ref_type", db_cell(r, i, 3));
    cJSON_AddNumberToObject(o, "ref_id", (double)db_cell_int(r, i, 4));
    cJSON_AddStringToObject(o, "status", db_cell(r, i, 5));
    cJSON_AddNumberToObject(o, "attempts", (double)db_cell_int(r, i, 6));
    json_add_string_or_null(o, "template_id", db_cell(r, i, 7));
    json_add_string_or_null(o, "msgid", db_cell(r, i, 8)); /* a string: int64 beyond a double */
    add_int_or_null(o, "last_errcode", r, i, 9);
    json_add_string_or_null(o, "last_error", db_cell(r, i, 10));
    add_int_or_null(o, "next_attempt_at", r, i, 11);
    add_int_or_null(o, "created_at", r, i, 12);
    add_int_or_null(o, "sent_at", r, i, 13);
    json_add_string_or_null(o, "lease_owner", db_cell(r, i, 14));
    if (db_is_null(r, i, "project_id"))
        cJSON_AddNullToObject(o, "project_id");
    else
        cJSON_AddNumberToObject(o, "project_id", (double)db_get_int(r, i, "project_id"));
    return o;
}

typedef struct {
    const char *status; /* one of STATUSES, or NULL */
    char kind[64];
    long long user_id;
    long long project_id;
} filters_t;

/* ?name=<positive id>, 0 when absent; -1 with the call failed (400). */
static int read_id(gw_call_t *c, const char *name, long long *out)
{
    char buf[32];
    *out = 0;
    if (!call_query(c, name, buf, sizeof buf) || !buf[0])
        return 0;
    char *end;
    *out = strtoll(buf, &end, 10);
    if (*end || *out <= 0) {
        call_fail(c, ERR_INVALID_FIELD, name, "%s must be a %s id", name, name);
        return -1;
    }
    return 0;
}

/* -1 with the call failed (400 naming the parameter). */
static int read_filters(gw_call_t *c, filters_t *f)
{
    char buf[64];

    memset(f, 0, sizeof *f);
    if (call_query(c, "status", buf, sizeof buf) && buf[0]) {
        for (size_t i = 0; i < sizeof STATUSES / sizeof *STATUSES; i++)
            if (strcmp(buf, STATUSES[i]) == 0)
                f->status = STATUSES[i];
        if (!f->status) {
            call_fail(c, ERR_INVALID_FIELD, "status",
                      "status must be pending, sending, retrying, sent, no_quota, failed or dead");
            return -1;
        }
    }
    if (call_query(c, "kind", f->kind, sizeof f->kind) && strlen(f->kind) > 48) {
        call_fail(c, ERR_INVALID_FIELD, "kind", "kind is at most 48 characters");
        return -1;
    }
    if (read_id(c, "user", &f->user_id) != 0 || read_id(c, "project", &f->project_id) != 0)
        return -1;
    return 0;
}

static void list(gw_call_t *c)
{
    filters_t f;
    npage_t page;
    char sql[1024];
    db_param_t args[8];
    int nargs = 0;

    if (read_filters(c, &f) != 0 || npage_read(c, &page) != 0)
        return;
    /* The statement is put together from constant pieces only; every value
     * is a bound parameter. */
    snprintf(sql, sizeof sql, "%s WHERE id < ?" SCOPE_SQL "%s%s%s%s ORDER BY id DESC LIMIT ?", COLUMNS,
             f.status ? " AND status = ?" : "", f.kind[0] ? " AND kind = ?" : "", f.user_id ? " AND user_id = ?" : "",
             f.project_id ? " AND project_id = ?" : "");
    args[nargs++] = DB_INT(page.before_id);
    args[nargs++] = DB_INT(c->user.id);
    args[nargs++] = DB_INT(c->user.id);
    if (f.status)
        args[nargs++] = DB_STR(f.status);
    if (f.kind[0])
        args[nargs++] = DB_STR(f.kind);
    if (f.user_id)
        args[nargs++] = DB_INT(f.user_id);
    if (f.project_id)
        args[nargs++] = DB_INT(f.project_id);
    args[nargs++] = DB_INT(page.limit + 1);
    db_rows_t *r = db_query(c->db, sql, args, nargs);
    if (!r) {
        call_fail_db(c);
        return;
    }
    cJSON *items = cJSON_CreateArray();
    for (int i = 0; i < r->nrows && i < page.limit; i++)
        cJSON_AddItemToArray(items, row_json(r, i));
    npage_respond(c, &page, items, r, 0);
    db_rows_free(r);
}

static void retry(gw_call_t *c)
{
    long long id;
    db_rows_t *r = NULL;

    if (call_param_id(c, "id", &id) != 0)
        return;
    /* Visibility first, without locking the caller's grants. */
    long long one;
    int visible = db_query_int(c->db, &one, "SELECT 1 FROM notification_events WHERE id = ?" SCOPE_SQL,
                               DB_ARGS(DB_INT(id), DB_INT(c->user.id), DB_INT(c->user.id)));
    if (visible < 0) {
        call_fail_db(c);
        return;
    }
    if (!visible) {
        call_fail(c, ERR_NOT_FOUND, NULL, "notification %lld does not exist", id);
        return;
    }
    if (db_begin(c->db) != 0 ||
        !(r = db_query(c->db, "SELECT status, attempts FROM notification_events WHERE id = ? FOR UPDATE",
                       DB_ARGS(DB_INT(id)))))
        goto DbError;
    if (r->nrows == 0) {
        db_rollback(c->db);
        call_fail(c, ERR_NOT_FOUND, NULL, "notification %lld does not exist", id);
        goto Exit;
    }
    const char *status = db_cell(r, 0, 0);
    if (strcmp(status, "dead") && strcmp(status, "failed") && strcmp(status, "no_quota")) {
        db_rollback(c->db);
        if (!strcmp(status, "sent"))
            call_fail(c, ERR_CONFLICT, NULL, "notification %lld is sent; retrying would send it twice", id);
        else
            call_fail(c, ERR_CONFLICT, NULL, "notification %lld is %s; only dead, failed or no_quota can be retried",
                      id, status);
        goto Exit;
    }
    if (db_exec(c->db,
                "UPDATE notification_events SET status = 'pending', attempts = 0, next_attempt_at = NOW(3),"
                " lease_owner = NULL, lease_until = NULL WHERE id = ?",
                DB_ARGS(DB_INT(id))) != 0 ||
        db_exec(c->db,
                "INSERT INTO audit_log (actor_user_id, action, target_type, target_id, detail)"
                " VALUES (?, 'notification.retry', 'notification_event', ?,"
                " JSON_OBJECT('previous_status', ?, 'previous_attempts', ?))",
                DB_ARGS(DB_INT(c->user.id), DB_INT(id), DB_STR(status), DB_INT(db_cell_int(r, 0, 1)))) != 0 ||
        db_commit(c->db) != 0)
        goto DbError;
    db_rows_free(r);
    r = db_query(c->db, COLUMNS " WHERE id = ?", DB_ARGS(DB_INT(id)));
    if (!r || r->nrows != 1) {
        call_fail_db(c);
        goto Exit;
    }
    call_ok(c, 200, row_json(r, 0));
    goto Exit;
DbError:
    db_rollback(c->db);
    call_fail_db(c);
Exit:
    db_rows_free(r);
}

static const route_t routes[] = {
    {"GET", "/api/v1/admin/notifications", ROLE_ADMIN | ROLE_SUPERVISOR, BODY_NONE, POOL_DB, list},
    {"POST", "/api/v1/admin/notifications/:id/retry", ROLE_ADMIN | ROLE_SUPERVISOR, BODY_NONE, POOL_DB, retry},
};

void notifications_admin_register(void)
{
    router_add(routes, sizeof(routes) / sizeof(routes[0]));
}
