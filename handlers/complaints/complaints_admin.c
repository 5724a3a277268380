/* complaints_admin.c: complaints, the staff's side.
 *
 *   GET  /api/v1/admin/complaints              the list (filters: complaint_lists.h), shared with
 *                                              the CSV export "complaints"
 *   POST /api/v1/admin/complaints/:id/assign   {handler_id}: a supervisor, service-desk member or engineer
 *                                              of the project handles it; submitted -> in_progress
 *   POST /api/v1/admin/complaints/:id/level    {level}: 一般/热点/重要/重大; the clocks' budgets follow
 *   POST /api/v1/admin/complaints/:id/reply    {text, photo_ids?}: visible to the owner; the first one
 *                                              stops the first-response clock; submitted -> in_progress
 *   POST /api/v1/admin/complaints/:id/note     {text}: internal, never shown to the owner
 *   POST /api/v1/admin/complaints/:id/resolve  {resolution}: proposed to the owner; -> resolved
 *   POST /api/v1/admin/complaints/:id/close    {reason?}: praise and enquiries at any time,
 *                                              complaints and suggestions once resolved
 *   POST /api/v1/admin/complaints/:id/repair   {category, description?}: opens a repair ticket for the
 *                                              complaint's unit; the two name each other
 *
 * Who: assign, level and close are for supervisors and service-desk members
 * of the complaint's project and admins (COMPLAINT_REL_MANAGE); reply, note,
 * resolve and repair also for its handler. Anyone else who may not see the
 * complaint gets 404; one who may (the owner) 403. Each action is one
 * transaction that locks the complaint first: of two staff members resolving
 * or closing it at once, the second waits, sees the new state and gets 409.
 * Every staff change writes an audit row. */
#include <stdlib.h>
#include <string.h>

#include "domain/complaints/complaint.h"
#include "domain/complaints/complaint_actions.h"
#include "domain/complaints/complaint_clocks.h"
#include "domain/complaints/complaint_lists.h"
#include "domain/repairs/repair_insert.h"
#include "domain/repairs/repair_view.h"
#include "gateway/audit.h"
#include "gateway/call.h"
#include "gateway/json_util.h"
#include "gateway/log.h"
#include "gateway/roles.h"
#include "gateway/utf8.h"
#include "handlers/handlers.h"

#define WORKERS (ROLE_SUPERVISOR | ROLE_ADMIN | ROLE_SERVICE | ROLE_ENGINEER)

static void staff_list(gw_call_t *c, db_conn_t *db)
{
    list_respond(c, db, &complaint_staff_list);
}

/* ---- the bodies ---- */

typedef struct {
    const char *text, *extra; /* point into c->body */
    long long number;
    long long photo_ids[COMPLAINT_MAX_PHOTOS];
    int nphotos;
} form_t;

static form_t *form_new_or_fail(gw_call_t *c)
{
    return call_state_new_or_fail(c, 1, sizeof(form_t), free);
}

static void check_assign(gw_call_t *c)
{
    form_t *f = form_new_or_fail(c);
    if (f)
        json_int_or_fail(c, c->body, "handler_id", 1, 1LL << 53, &f->number);
}

static void check_level(gw_call_t *c)
{
    form_t *f = form_new_or_fail(c);
    if (!f || !(f->text = json_string_or_fail(c, c->body, "level", 1, 16)))
        return;
    for (int i = 0; complaint_level_names[i]; i++)
        if (!strcmp(complaint_level_names[i], f->text))
            return;
    call_fail(c, ERR_INVALID_FIELD, "level", "level must be normal, hot, important or major");
}

static void check_reply(gw_call_t *c)
{
    form_t *f = form_new_or_fail(c);
    if (f && (f->text = json_string_or_fail(c, c->body, "text", 1, COMPLAINT_CONTENT_MAX)))
        repair_photo_ids_or_fail(c, c->body, f->photo_ids, &f->nphotos);
}

static void check_note(gw_call_t *c)
{
    form_t *f = form_new_or_fail(c);
    if (f)
        f->text = json_string_or_fail(c, c->body, "text", 1, COMPLAINT_CONTENT_MAX);
}

static void check_resolve(gw_call_t *c)
{
    form_t *f = form_new_or_fail(c);
    if (f)
        f->text = json_string_or_fail(c, c->body, "resolution", 1, COMPLAINT_CONTENT_MAX);
}

static void check_close(gw_call_t *c)
{
    form_t *f = form_new_or_fail(c);
    if (f)
        json_opt_string_or_fail(c, c->body, "reason", 1, 500, &f->text);
}

static void check_repair(gw_call_t *c)
{
    form_t *f = form_new_or_fail(c);
    if (f && (f->extra = json_string_or_fail(c, c->body, "category", 1, 32)))
        json_opt_string_or_fail(c, c->body, "description", 1, 500, &f->text);
}

/* ---- helpers ---- */

/* Opens the transaction and locks the complaint; the caller must hold one
 * of `rel` bits: 0, or -1 with the call failed. */
static int begin_or_fail(gw_call_t *c, db_conn_t *db, unsigned rel, complaint_t *k)
{
    long long id;
    if (call_param_id_or_fail(c, "id", &id) != 0)
        return -1;
    if (db_begin(db) != 0) {
        call_fail_db(c);
        return -1;
    }
    if (complaint_load_or_fail(c, db, id, 1, k) != 0)
        return -1;
    if (!(k->rel & rel)) {
        call_fail(c, ERR_FORBIDDEN, NULL,
                  rel == COMPLAINT_REL_MANAGE ? "only a supervisor or service-desk member of the project may do this"
                                              : "only the complaint's staff may do this");
        return -1;
    }
    return 0;
}

static int is_open(const complaint_t *k)
{
    return !strcmp(k->state, "submitted") || !strcmp(k->state, "in_progress");
}

static void fail_state(gw_call_t *c, const char *what, const complaint_t *k)
{
    call_fail(c, ERR_CONFLICT, NULL, "cannot %s: the complaint is %s (%s)", what, complaint_state_label(k->state),
              k->state);
}

/* The audit row of a staff action, with what it did. */
static int audit(db_conn_t *db, gw_call_t *c, const complaint_t *k, const char *action, const char *key,
                 const char *value, long long number)
{
    cJSON *d = cJSON_CreateObject();
    if (!d)
        return -1;
    cJSON_AddNumberToObject(d, "project_id", (double)k->project_id);
    cJSON_AddStringToObject(d, "from_state", k->state);
    if (key && value)
        cJSON_AddStringToObject(d, key, value);
    else if (key)
        cJSON_AddNumberToObject(d, key, (double)number);
    int rc = audit_write(db, c->user.id, k->project_id, action, "complaint", k->id, d);
    cJSON_Delete(d);
    return rc;
}

static void commit_and_show(gw_call_t *c, db_conn_t *db, long long id)
{
    cJSON *d = complaint_detail_json(db, id, 1);
    if (!d || db_commit(db) != 0) {
        cJSON_Delete(d);
        call_fail_db(c);
        return;
    }
    call_ok(c, 200, d);
}

/* A first staff answer moves a submitted complaint to in_progress. */
static int take_up(db_conn_t *db, const complaint_t *k)
{
    return db_exec(db, "UPDATE complaints SET state = 'in_progress' WHERE id = ? AND state = 'submitted'",
                   DB_ARGS(DB_INT(k->id)));
}

/* ---- the actions ---- */

static void assign(gw_call_t *c, db_conn_t *db)
{
    const form_t *f = c->state;
    complaint_t k;
    if (begin_or_fail(c, db, COMPLAINT_REL_MANAGE, &k) != 0)
        return;
    if (!is_open(&k)) {
        fail_state(c, "assign", &k);
        return;
    }
    long long one;
    int rc =
        db_query_int(db, &one,
                     "SELECT 1 FROM staff_roles r JOIN users u ON u.id = r.user_id AND u.disabled = 0"
                     " WHERE r.user_id = ? AND r.project_id = ? AND r.role IN ('supervisor', 'service', 'engineer')"
                     " LIMIT 1",
                     DB_ARGS(DB_INT(f->number), DB_INT(k.project_id)));
    if (rc < 0)
        goto DbError;
    if (rc == 0) {
        call_fail(c, ERR_UNPROCESSABLE, "handler_id", "user %lld is not active staff of this project", f->number);
        return;
    }
    if (f->number == k.handler_id) {
        call_fail(c, ERR_CONFLICT, "handler_id", "the complaint is already assigned to this handler");
        return;
    }
    if (db_exec(db, "UPDATE complaints SET handler_id = ? WHERE id = ?", DB_ARGS(DB_INT(f->number), DB_INT(k.id))) !=
            0 ||
        take_up(db, &k) != 0 ||
        complaint_timeline_add(db, k.id, "assign", k.state, "in_progress", "internal", c->user.id,
                               complaint_actor_role(&k), NULL, NULL, 0, 0, NULL) <= 0 ||
        complaint_clocks_sync(db, k.id) != 0 || complaint_event(db, "complaint.assigned", f->number, k.id, NULL) != 0 ||
        audit(db, c, &k, "complaint.assign", "handler_id", NULL, f->number) != 0)
        goto DbError;
    commit_and_show(c, db, k.id);
    return;
DbError:
    call_fail_db(c);
}

static void set_level(gw_call_t *c, db_conn_t *db)
{
    const form_t *f = c->state;
    complaint_t k;
    if (begin_or_fail(c, db, COMPLAINT_REL_MANAGE, &k) != 0)
        return;
    if (!strcmp(k.state, "closed")) {
        fail_state(c, "set the level", &k);
        return;
    }
    if (!strcmp(k.level, f->text)) {
        call_fail(c, ERR_CONFLICT, "level", "the complaint is already at this level");
        return;
    }
    if (db_exec(db, "UPDATE complaints SET level = ? WHERE id = ?", DB_ARGS(DB_STR(f->text), DB_INT(k.id))) != 0 ||
        complaint_timeline_add(db, k.id, "level", NULL, NULL, "internal", c->user.id, complaint_actor_role(&k),
                               complaint_level_label(f->text), NULL, 0, 0, NULL) <= 0 ||
        complaint_clocks_sync(db, k.id) != 0 || audit(db, c, &k, "complaint.level", "level", f->text, 0) != 0) {
        call_fail_db(c);
        return;
    }
    commit_and_show(c, db, k.id);
}

static void reply(gw_call_t *c, db_conn_t *db)
{
    const form_t *f = c->state;
    complaint_t k;
    long long bad_photo = 0;
    if (begin_or_fail(c, db, COMPLAINT_REL_STAFF, &k) != 0)
        return;
    if (!is_open(&k)) {
        fail_state(c, "reply", &k);
        return;
    }
    if (db_exec(db, "UPDATE complaints SET first_response_at = COALESCE(first_response_at, NOW(3)) WHERE id = ?",
                DB_ARGS(DB_INT(k.id))) != 0 ||
        take_up(db, &k) != 0)
        goto DbError;
    long long row =
        complaint_timeline_add(db, k.id, "reply", k.state, "in_progress", "public", c->user.id,
                               complaint_actor_role(&k), f->text, f->photo_ids, f->nphotos, c->user.id, &bad_photo);
    if (row < 0)
        goto DbError;
    if (row == 0) {
        call_fail(c, ERR_UNPROCESSABLE, "photo_ids", "photo %lld is not one of your uploads, or is already attached",
                  bad_photo);
        return;
    }
    cJSON *extra = cJSON_CreateObject();
    if (!extra)
        goto DbError;
    cJSON_AddStringToObject(extra, "text", f->text);
    int rc = complaint_event(db, "complaint.reply", k.user_id, k.id, extra);
    cJSON_Delete(extra);
    if (rc != 0 || complaint_clocks_responded(db, k.id) != 0 || audit(db, c, &k, "complaint.reply", NULL, NULL, 0) != 0)
        goto DbError;
    commit_and_show(c, db, k.id);
    return;
DbError:
    call_fail_db(c);
}

static void note(gw_call_t *c, db_conn_t *db)
{
    const form_t *f = c->state;
    complaint_t k;
    if (begin_or_fail(c, db, COMPLAINT_REL_STAFF, &k) != 0)
        return;
    if (complaint_timeline_add(db, k.id, "note", NULL, NULL, "internal", c->user.id, complaint_actor_role(&k), f->text,
                               NULL, 0, 0, NULL) <= 0 ||
        audit(db, c, &k, "complaint.note", NULL, NULL, 0) != 0) {
        call_fail_db(c);
        return;
    }
    commit_and_show(c, db, k.id);
}

static void resolve(gw_call_t *c, db_conn_t *db)
{
    const form_t *f = c->state;
    complaint_t k;
    if (begin_or_fail(c, db, COMPLAINT_REL_STAFF, &k) != 0)
        return;
    if (!is_open(&k)) {
        fail_state(c, "resolve", &k);
        return;
    }
    /* A proposed resolution answers the owner too. */
    if (db_exec(db, "UPDATE complaints SET first_response_at = COALESCE(first_response_at, NOW(3)) WHERE id = ?",
                DB_ARGS(DB_INT(k.id))) != 0 ||
        complaint_clocks_responded(db, k.id) != 0 ||
        complaint_propose(db, k.id, k.state, f->text, c->user.id, complaint_actor_role(&k)) != 1 ||
        audit(db, c, &k, "complaint.resolve", "resolution", f->text, 0) != 0) {
        call_fail_db(c);
        return;
    }
    commit_and_show(c, db, k.id);
}

static void close_one(gw_call_t *c, db_conn_t *db)
{
    const form_t *f = c->state;
    complaint_t k;
    if (begin_or_fail(c, db, COMPLAINT_REL_MANAGE, &k) != 0)
        return;
    int short_path = !strcmp(k.type, "praise") || !strcmp(k.type, "enquiry");
    if (!strcmp(k.state, "closed") || (!short_path && strcmp(k.state, "resolved") != 0)) {
        fail_state(c, "close", &k);
        return;
    }
    if (complaint_close(db, k.id, k.state, "staff", c->user.id, complaint_actor_role(&k), f->text) != 1 ||
        audit(db, c, &k, "complaint.close", "reason", f->text ? f->text : "", 0) != 0) {
        call_fail_db(c);
        return;
    }
    commit_and_show(c, db, k.id);
}

/* A repair ticket for the complaint's unit, filed in the owner's name
 * through the repair filing (domain/repairs/repair_insert.h): dispatched as
 * any ticket, and the two name each other. */
static void spawn_repair(gw_call_t *c, db_conn_t *db)
{
    const form_t *f = c->state;
    complaint_t k;
    if (begin_or_fail(c, db, COMPLAINT_REL_STAFF, &k) != 0)
        return;
    if (!strcmp(k.state, "closed")) {
        fail_state(c, "open a repair ticket", &k);
        return;
    }
    if (!k.unit_id) {
        call_fail(c, ERR_CONFLICT, NULL, "the complaint names no unit to repair");
        return;
    }
    if (k.repair_ticket_id) {
        call_fail(c, ERR_CONFLICT, NULL, "repair ticket %lld was opened for this complaint already",
                  k.repair_ticket_id);
        return;
    }
    long long category;
    int rc = repair_category_of_unit(db, k.unit_id, f->extra, &category);
    if (rc < 0)
        goto DbError;
    if (rc == 0) {
        call_fail(c, ERR_INVALID_FIELD, "category", "unknown or inactive repair category \"%s\"", f->extra);
        return;
    }
    db_rows_t *r = f->text ? NULL : db_query(db, "SELECT content FROM complaints WHERE id = ?", DB_ARGS(DB_INT(k.id)));
    if (!f->text && (!r || r->nrows != 1)) {
        db_rows_free(r);
        goto DbError;
    }
    /* A repair description holds 500 characters; the complaint's words may be longer. */
    char description[500 * 4 + 1];
    const char *words = f->text ? f->text : db_get(r, 0, "content");
    size_t n = utf8_prefix_bytes(words, strlen(words), 500);
    memcpy(description, words, n < sizeof(description) ? n : sizeof(description) - 1);
    description[n < sizeof(description) ? n : sizeof(description) - 1] = 0;
    db_rows_free(r);
    repair_filing_t rf = {.user_id = k.user_id,
                          .unit_id = k.unit_id,
                          .category_id = category,
                          .description = description,
                          .content_check = "pass",
                          .actor_user_id = c->user.id,
                          .actor_role = complaint_actor_role(&k)};
    long long ticket, bad_photo = 0;
    if (repair_ticket_insert(db, &rf, &ticket, &bad_photo) != 1 ||
        db_exec(db, "UPDATE complaints SET repair_ticket_id = ? WHERE id = ?", DB_ARGS(DB_INT(ticket), DB_INT(k.id))) !=
            0 ||
        repair_view_store(db, ticket) != 0)
        goto DbError;
    char note[64];
    snprintf(note, sizeof(note), "报修工单 #%lld", ticket);
    if (complaint_timeline_add(db, k.id, "repair", NULL, NULL, "public", c->user.id, complaint_actor_role(&k), note,
                               NULL, 0, 0, NULL) <= 0 ||
        audit(db, c, &k, "complaint.repair", "repair_ticket_id", NULL, ticket) != 0)
        goto DbError;
    log_info("complaints", "complaint %lld opened repair ticket %lld", k.id, ticket);
    commit_and_show(c, db, k.id);
    return;
DbError:
    call_fail_db(c);
}

#define MANAGE (ROLE_SUPERVISOR | ROLE_ADMIN | ROLE_SERVICE)

static const route_t routes[] = {
    {"GET", "/api/v1/admin/complaints", WORKERS, BODY_NONE, DB_STEP(staff_list)},
    {"POST", "/api/v1/admin/complaints/:id/assign", MANAGE, BODY_JSON, DB_STEP(assign), BODY_CHECK(check_assign)},
    {"POST", "/api/v1/admin/complaints/:id/level", MANAGE, BODY_JSON, DB_STEP(set_level), BODY_CHECK(check_level)},
    {"POST", "/api/v1/admin/complaints/:id/reply", WORKERS, BODY_JSON, DB_STEP(reply), BODY_CHECK(check_reply)},
    {"POST", "/api/v1/admin/complaints/:id/note", WORKERS, BODY_JSON, DB_STEP(note), BODY_CHECK(check_note)},
    {"POST", "/api/v1/admin/complaints/:id/resolve", WORKERS, BODY_JSON, DB_STEP(resolve), BODY_CHECK(check_resolve)},
    {"POST", "/api/v1/admin/complaints/:id/close", MANAGE, BODY_JSON, DB_STEP(close_one), BODY_CHECK(check_close)},
    {"POST", "/api/v1/admin/complaints/:id/repair", WORKERS, BODY_JSON, DB_STEP(spawn_repair),
     BODY_CHECK(check_repair)},
};

void complaints_admin_register(void)
{
    ROUTES_REGISTER(routes);
}
