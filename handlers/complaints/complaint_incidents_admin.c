/* complaint_incidents_admin.c: group complaints (群诉 incidents).
 *
 *   GET  /api/v1/admin/complaint-incidents?project=&state=   incidents, newest first
 *   GET  /api/v1/admin/complaint-incidents/:id               one, with its complaints
 *   POST /api/v1/admin/complaint-incidents                   {project_id, title}: opened by hand
 *   POST /api/v1/admin/complaint-incidents/:id/link          {complaint_id}
 *   POST /api/v1/admin/complaint-incidents/:id/unlink        {complaint_id}
 *   POST /api/v1/admin/complaint-incidents/:id/resolve       {resolution}: open -> resolved, and the
 *                                                            resolution proposed on every linked open
 *                                                            complaint (each owner accepts or rejects theirs)
 *
 * Detection opens incidents by itself (domain/complaints/complaint_incidents.h).
 * Supervisors and service-desk members of the incident's project, and
 * admins; an incident outside the caller's projects is 404. Every change is
 * one transaction with its audit row; the incident's row is locked first, so
 * a link racing a resolve is serialised. */
#include <stdlib.h>
#include <string.h>

#include "domain/complaints/complaint.h"
#include "domain/complaints/complaint_actions.h"
#include "domain/complaints/complaint_incidents.h"
#include "gateway/audit.h"
#include "gateway/call.h"
#include "gateway/db_json.h"
#include "gateway/json_util.h"
#include "gateway/query.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"

#define MANAGE (ROLE_SUPERVISOR | ROLE_ADMIN | ROLE_SERVICE)

typedef struct {
    const char *text; /* points into c->body */
    long long number;
} form_t;

static form_t *form_new_or_fail(gw_call_t *c)
{
    return call_state_new_or_fail(c, 1, sizeof(form_t), free);
}

static void check_create(gw_call_t *c)
{
    form_t *f = form_new_or_fail(c);
    if (f && json_int_or_fail(c, c->body, "project_id", 1, 1LL << 53, &f->number) == 0)
        f->text = json_string_or_fail(c, c->body, "title", 1, 100);
}

static void check_link(gw_call_t *c)
{
    form_t *f = form_new_or_fail(c);
    if (f)
        json_int_or_fail(c, c->body, "complaint_id", 1, 1LL << 53, &f->number);
}

static void check_resolve(gw_call_t *c)
{
    form_t *f = form_new_or_fail(c);
    if (f)
        f->text = json_string_or_fail(c, c->body, "resolution", 1, COMPLAINT_CONTENT_MAX);
}

/* ---- reading ---- */

static void list_incidents(gw_call_t *c, db_conn_t *db)
{
    static const char *const keys[] = {"id"};
    static const char *const states[] = {"open", "resolved", NULL};
    long long project;
    const char *state;
    page_t page;
    if (page_or_fail(c, 1, &page) != 0 || query_id_or_fail(c, "project", &project) != 0 ||
        query_enum_or_fail(c, "state", states, NULL, &state) != 0 ||
        (project && complaint_manages_or_fail(c, db, project, "project") != 0))
        return;
    db_rows_t *r = db_query(
        db,
        COMPLAINT_INCIDENT_SELECT " WHERE " COMPLAINT_SCOPE_SQL("i.project_id") " AND (? = 0 OR i.project_id = ?)"
                                  " AND (? IS NULL OR i.state = ?) AND i.id < ? ORDER BY i.id DESC LIMIT ?",
        DB_ARGS(DB_INT((c->user.roles & ROLE_ADMIN) != 0), DB_INT(c->user.id), DB_INT(project), DB_INT(project),
                DB_STR(state), DB_STR(state), DB_INT(page_key(&page, 0, PAGE_KEY_MAX)), DB_INT(page.limit + 1)));
    if (!r) {
        call_fail_db(c);
        return;
    }
    page_respond(c, &page, r, NULL, NULL, keys);
    db_rows_free(r);
}

/* The incident with its complaints (list items). NULL on a db error. */
static cJSON *incident_json(db_conn_t *db, long long id)
{
    db_rows_t *r = db_query(db, COMPLAINT_INCIDENT_SELECT " WHERE i.id = ?", DB_ARGS(DB_INT(id)));
    cJSON *o = r && r->nrows == 1 ? db_row_json(r, 0) : NULL;
    db_rows_free(r);
    if (!o)
        return NULL;
    r = db_query(db, "SELECT " COMPLAINT_ITEM_COLUMNS ", " COMPLAINT_STAFF_COLUMNS COMPLAINT_ITEM_FROM
                     " WHERE k.incident_id = ? ORDER BY k.id",
                 DB_ARGS(DB_INT(id)));
    cJSON *arr = r ? cJSON_AddArrayToObject(o, "complaints") : NULL;
    for (int i = 0; arr && i < r->nrows; i++) {
        cJSON *item = complaint_item_json(r, i, NULL);
        if (!item) {
            arr = NULL;
            break;
        }
        cJSON_AddItemToArray(arr, item);
    }
    db_rows_free(r);
    if (!arr) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* Loads the incident (locked when `lock`, in a transaction it opens): 0
 * with *project and *state, or -1 with the call failed (404 when missing or
 * outside the caller's projects). */
static int load_or_fail(gw_call_t *c, db_conn_t *db, int lock, long long *id, long long *project, char *state,
                        size_t state_size)
{
    if (call_param_id_or_fail(c, "id", id) != 0)
        return -1;
    if (lock && db_begin(db) != 0) {
        call_fail_db(c);
        return -1;
    }
    db_rows_t *r = db_query(db,
                            lock ? "SELECT project_id, state FROM complaint_incidents WHERE id = ? FOR UPDATE"
                                 : "SELECT project_id, state FROM complaint_incidents WHERE id = ?",
                            DB_ARGS(DB_INT(*id)));
    if (!r) {
        call_fail_db(c);
        return -1;
    }
    int found = r->nrows == 1;
    if (found) {
        *project = db_get_int(r, 0, "project_id");
        snprintf(state, state_size, "%s", db_get(r, 0, "state"));
    }
    db_rows_free(r);
    if (!found) {
        call_fail(c, ERR_NOT_FOUND, NULL, "complaint incident %lld not found", *id);
        return -1;
    }
    if (complaint_manages_or_fail(c, db, *project, NULL) != 0) {
        /* Outside the caller's projects: as if it did not exist. */
        if (c->status == 403)
            call_fail(c, ERR_NOT_FOUND, NULL, "complaint incident %lld not found", *id);
        return -1;
    }
    return 0;
}

static void show(gw_call_t *c, db_conn_t *db)
{
    long long id, project;
    char state[16];
    if (load_or_fail(c, db, 0, &id, &project, state, sizeof(state)) != 0)
        return;
    cJSON *o = incident_json(db, id);
    if (!o) {
        call_fail_db(c);
        return;
    }
    call_ok(c, 200, o);
}

/* ---- changes ---- */

static int audit(db_conn_t *db, gw_call_t *c, long long project, const char *action, long long id, const char *key,
                 long long number, const char *text)
{
    cJSON *d = cJSON_CreateObject();
    if (!d)
        return -1;
    cJSON_AddNumberToObject(d, "project_id", (double)project);
    if (key)
        cJSON_AddNumberToObject(d, key, (double)number);
    if (text)
        cJSON_AddStringToObject(d, "text", text);
    int rc = audit_write(db, c->user.id, project, action, "complaint_incident", id, d);
    cJSON_Delete(d);
    return rc;
}

static void commit_and_show(gw_call_t *c, db_conn_t *db, long long id, int status)
{
    cJSON *o = incident_json(db, id);
    if (!o || db_commit(db) != 0) {
        cJSON_Delete(o);
        call_fail_db(c);
        return;
    }
    call_ok(c, status, o);
}

static void create(gw_call_t *c, db_conn_t *db)
{
    const form_t *f = c->state;
    long long one;
    int rc = db_query_int(db, &one, "SELECT 1 FROM projects WHERE id = ?", DB_ARGS(DB_INT(f->number)));
    if (rc <= 0) {
        if (rc == 0)
            call_fail(c, ERR_NOT_FOUND, "project_id", "no such project");
        else
            call_fail_db(c);
        return;
    }
    if (complaint_manages_or_fail(c, db, f->number, "project_id") != 0)
        return;
    if (db_begin(db) != 0 ||
        db_exec(db, "INSERT INTO complaint_incidents (project_id, title, created_by) VALUES (?, ?, ?)",
                DB_ARGS(DB_INT(f->number), DB_STR(f->text), DB_INT(c->user.id))) != 0) {
        call_fail_db(c);
        return;
    }
    long long id = (long long)db_insert_id(db);
    if (audit(db, c, f->number, "complaint_incident.create", id, NULL, 0, f->text) != 0) {
        call_fail_db(c);
        return;
    }
    commit_and_show(c, db, id, 201);
}

/* link (into = 1) or unlink: the complaint must be of the incident's
 * project and visible to the caller. */
static void relink(gw_call_t *c, db_conn_t *db, int into)
{
    const form_t *f = c->state;
    long long id, project;
    char state[16];
    complaint_t k;
    if (load_or_fail(c, db, 1, &id, &project, state, sizeof(state)) != 0)
        return;
    if (strcmp(state, "open") != 0) {
        call_fail(c, ERR_CONFLICT, NULL, "the incident is resolved");
        return;
    }
    if (complaint_load_or_fail(c, db, f->number, 1, &k) != 0) {
        if (c->status == 404)
            call_fail(c, ERR_NOT_FOUND, "complaint_id", "no such complaint");
        return;
    }
    if (k.project_id != project) {
        call_fail(c, ERR_UNPROCESSABLE, "complaint_id", "the complaint is of another project");
        return;
    }
    if (into ? k.incident_id == id : k.incident_id != id) {
        call_fail(c, ERR_CONFLICT, "complaint_id",
                  into ? "the complaint is in this incident already" : "the complaint is not in this incident");
        return;
    }
    if (into && k.incident_id) {
        call_fail(c, ERR_CONFLICT, "complaint_id", "the complaint is in incident %lld; unlink it first", k.incident_id);
        return;
    }
    char note[64];
    snprintf(note, sizeof(note), "群诉事件 #%lld", id);
    if (db_exec(db, "UPDATE complaints SET incident_id = ? WHERE id = ?",
                DB_ARGS(into ? DB_INT(id) : DB_NULL, DB_INT(k.id))) != 0 ||
        complaint_timeline_add(db, k.id, into ? "link" : "unlink", NULL, NULL, "internal", c->user.id,
                               complaint_actor_role(&k), note, NULL, 0, 0, NULL) <= 0 ||
        audit(db, c, project, into ? "complaint_incident.link" : "complaint_incident.unlink", id, "complaint_id", k.id,
              NULL) != 0) {
        call_fail_db(c);
        return;
    }
    commit_and_show(c, db, id, 200);
}

static void link(gw_call_t *c, db_conn_t *db)
{
    relink(c, db, 1);
}

static void unlink_one(gw_call_t *c, db_conn_t *db)
{
    relink(c, db, 0);
}

static void resolve(gw_call_t *c, db_conn_t *db)
{
    const form_t *f = c->state;
    long long id, project;
    char state[16];
    if (load_or_fail(c, db, 1, &id, &project, state, sizeof(state)) != 0)
        return;
    if (strcmp(state, "open") != 0) {
        call_fail(c, ERR_CONFLICT, NULL, "the incident is resolved already");
        return;
    }
    /* Each open complaint locked in id order, then proposed. */
    db_rows_t *r = db_query(db,
                            "SELECT id, state FROM complaints WHERE incident_id = ?"
                            " AND state IN ('submitted', 'in_progress') ORDER BY id FOR UPDATE",
                            DB_ARGS(DB_INT(id)));
    if (!r)
        goto DbError;
    int failed = 0;
    for (int i = 0; i < r->nrows && !failed; i++) {
        long long k = db_get_int(r, i, "id");
        failed = db_exec(db,
                         "UPDATE complaints SET first_response_at = COALESCE(first_response_at, NOW(3)) WHERE id = ?",
                         DB_ARGS(DB_INT(k))) != 0 ||
                 complaint_propose(db, k, db_get(r, i, "state"), f->text, c->user.id,
                                   (c->user.roles & ROLE_ADMIN) ? "admin" : "supervisor") != 1;
    }
    int n = r->nrows;
    db_rows_free(r);
    if (failed ||
        db_exec(db,
                "UPDATE complaint_incidents SET state = 'resolved', resolution = ?, resolved_by = ?,"
                " resolved_at = NOW(3) WHERE id = ?",
                DB_ARGS(DB_STR(f->text), DB_INT(c->user.id), DB_INT(id))) != 0 ||
        audit(db, c, project, "complaint_incident.resolve", id, "complaints_proposed", n, f->text) != 0)
        goto DbError;
    commit_and_show(c, db, id, 200);
    return;
DbError:
    call_fail_db(c);
}

static const route_t routes[] = {
    {"GET", "/api/v1/admin/complaint-incidents", MANAGE, BODY_NONE, DB_STEP(list_incidents)},
    {"GET", "/api/v1/admin/complaint-incidents/:id", MANAGE, BODY_NONE, DB_STEP(show)},
    {"POST", "/api/v1/admin/complaint-incidents", MANAGE, BODY_JSON, DB_STEP(create), BODY_CHECK(check_create)},
    {"POST", "/api/v1/admin/complaint-incidents/:id/link", MANAGE, BODY_JSON, DB_STEP(link), BODY_CHECK(check_link)},
    {"POST", "/api/v1/admin/complaint-incidents/:id/unlink", MANAGE, BODY_JSON, DB_STEP(unlink_one),
     BODY_CHECK(check_link)},
    {"POST", "/api/v1/admin/complaint-incidents/:id/resolve", MANAGE, BODY_JSON, DB_STEP(resolve),
     BODY_CHECK(check_resolve)},
};

void complaint_incidents_admin_register(void)
{
    ROUTES_REGISTER(routes);
}
