/* notifications_admin.c: the outbox as staff see it (admin, supervisor).
 *
 *   GET  /api/v1/admin/notifications?status=&kind=&user=&project=&cursor=&limit=
 *   GET  /api/v1/admin/notifications/counts?kind=&user=&project=   events per status
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
 * answers 404 to retry, as if it did not exist.
 *
 * Both routes answer an event as OUTBOX_ROW_SQL selects it (db_row_json): the
 * SELECT is the one place that says what an event looks like to staff. */
#include <string.h>

#include "domain/notifications/outbox_list.h"
#include "gateway/audit.h"
#include "gateway/call.h"
#include "gateway/db_json.h"
#include "gateway/query.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"

/* The list is shared with its CSV export (domain/notifications/outbox_list.h). */
static void list(gw_call_t *c, db_conn_t *db)
{
    list_respond(c, db, &outbox_admin_list);
}

/* Events per status in the caller's scope, with the list's filters other
 * than status: the console's outbox shows them on its status tabs. */
static const char *SQL_COUNTS = "SELECT status, COUNT(*) AS n FROM notification_events WHERE 1 = 1" OUTBOX_SCOPE_SQL
                                " AND (? IS NULL OR kind = ?) AND (? = 0 OR user_id = ?)"
                                " AND (? = 0 OR project_id = ?) GROUP BY status";

static void counts(gw_call_t *c, db_conn_t *db)
{
    const char *kind;
    long long user_id, project_id;
    if (query_string_or_fail(c, "kind", 48, &kind) != 0 || query_id_or_fail(c, "user", &user_id) != 0 ||
        query_id_or_fail(c, "project", &project_id) != 0)
        return;
    db_rows_t *r = db_query(db, SQL_COUNTS,
                            DB_ARGS(DB_INT(c->user.id), DB_INT(c->user.id), DB_STR(kind), DB_STR(kind), DB_INT(user_id),
                                    DB_INT(user_id), DB_INT(project_id), DB_INT(project_id)));
    if (!r) {
        call_fail_db(c);
        return;
    }
    cJSON *d = cJSON_CreateObject();
    cJSON *by = cJSON_AddObjectToObject(d, "counts");
    for (int i = 0; by && outbox_statuses[i]; i++)
        cJSON_AddNumberToObject(by, outbox_statuses[i], 0);
    for (int i = 0; by && i < r->nrows; i++)
        cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(by, db_get(r, i, "status")),
                             (double)db_get_int(r, i, "n"));
    db_rows_free(r);
    if (!by) {
        cJSON_Delete(d);
        call_fail(c, ERR_OVERLOADED, NULL, "out of memory; retry later");
        return;
    }
    call_ok(c, 200, d);
}

static void retry(gw_call_t *c, db_conn_t *db)
{
    long long id, one;
    db_rows_t *r = NULL;
    cJSON *detail = NULL;

    if (call_param_id_or_fail(c, "id", &id) != 0)
        return;
    /* Visibility first, without locking the caller's grants. */
    int visible = db_query_int(db, &one, "SELECT 1 FROM notification_events WHERE id = ?" OUTBOX_SCOPE_SQL,
                               DB_ARGS(DB_INT(id), DB_INT(c->user.id), DB_INT(c->user.id)));
    if (visible < 0) {
        call_fail_db(c);
        return;
    }
    if (!visible) {
        call_fail(c, ERR_NOT_FOUND, NULL, "notification %lld does not exist", id);
        return;
    }
    /* A failure below leaves the transaction to the runner's rollback. */
    if (db_begin(db) != 0 ||
        !(r = db_query(db,
                       "SELECT status, attempts, COALESCE(project_id, 0) AS project_id FROM notification_events"
                       " WHERE id = ? FOR UPDATE",
                       DB_ARGS(DB_INT(id))))) {
        call_fail_db(c);
        goto Exit;
    }
    if (r->nrows == 0) {
        call_fail(c, ERR_NOT_FOUND, NULL, "notification %lld does not exist", id);
        goto Exit;
    }
    const char *status = db_get(r, 0, "status");
    if (strcmp(status, "dead") && strcmp(status, "failed") && strcmp(status, "no_quota")) {
        if (!strcmp(status, "sent"))
            call_fail(c, ERR_CONFLICT, NULL, "notification %lld is sent; retrying would send it twice", id);
        else
            call_fail(c, ERR_CONFLICT, NULL, "notification %lld is %s; only dead, failed or no_quota can be retried",
                      id, status);
        goto Exit;
    }
    detail = cJSON_CreateObject();
    if (!detail || !cJSON_AddStringToObject(detail, "previous_status", status) ||
        !cJSON_AddNumberToObject(detail, "previous_attempts", (double)db_get_int(r, 0, "attempts"))) {
        call_fail(c, ERR_OVERLOADED, NULL, "out of memory; retry later");
        goto Exit;
    }
    if (db_exec(db,
                "UPDATE notification_events SET status = 'pending', attempts = 0, next_attempt_at = NOW(3),"
                " lease_owner = NULL, lease_until = NULL WHERE id = ?",
                DB_ARGS(DB_INT(id))) != 0 ||
        audit_write(db, c->user.id, db_get_int(r, 0, "project_id"), "notification.retry", "notification_event", id,
                    detail) != 0 ||
        db_commit(db) != 0) {
        call_fail_db(c);
        goto Exit;
    }
    db_rows_free(r);
    r = db_query(db, OUTBOX_ROW_SQL " WHERE id = ?", DB_ARGS(DB_INT(id)));
    if (!r || r->nrows != 1) {
        call_fail_db(c);
        goto Exit;
    }
    call_ok(c, 200, db_row_json(r, 0));
Exit:
    cJSON_Delete(detail);
    db_rows_free(r);
}

static const route_t routes[] = {
    {"GET", "/api/v1/admin/notifications", ROLE_ADMIN | ROLE_SUPERVISOR, BODY_NONE, DB_STEP(list)},
    {"GET", "/api/v1/admin/notifications/counts", ROLE_ADMIN | ROLE_SUPERVISOR, BODY_NONE, DB_STEP(counts)},
    {"POST", "/api/v1/admin/notifications/:id/retry", ROLE_ADMIN | ROLE_SUPERVISOR, BODY_NONE, DB_STEP(retry)},
};

void notifications_admin_register(void)
{
    ROUTES_REGISTER(routes);
}
