/* repairs.c: repair tickets, by everyone who works one.
 *
 *   POST /api/v1/repairs               file a ticket (an owner; Idempotency-Key header)
 *   GET  /api/v1/repairs               the caller's tickets, newest first
 *   GET  /api/v1/repairs/:id           one ticket, for everyone who may see it
 *   POST /api/v1/repairs/:id/cancel    the owner, before work starts
 *   POST /api/v1/repairs/:id/reopen    the owner rejects a resolution (返工), within repair_reopen_days
 *   POST /api/v1/repairs/:id/rating    the owner scores 1-5 in resolved, once; closes the ticket
 *   POST /api/v1/repairs/:id/accept    the assigned engineer: dispatched -> accepted
 *   POST /api/v1/repairs/:id/start     the assigned engineer: accepted -> in_progress (on site)
 *   POST /api/v1/repairs/:id/resolve   the assigned engineer: in_progress -> resolved {note, photo_ids}
 *   POST /api/v1/repairs/:id/decline   the assigned engineer: dispatched/accepted -> dispatch again {reason}
 *   POST /api/v1/repairs/:id/assign    a supervisor or admin (re)assigns: -> dispatched {engineer_id}
 *
 * Filing is three steps: the body on the loop (its BODY_CHECK), the
 * description's WeChat text check on a WeChat worker (skipped, the ticket
 * "unchecked", when the WeChat pool cannot start it promptly), then one
 * transaction on a DB worker holding the idempotency key, the ticket, its
 * first timeline row, the attached photos and the dispatch (with its
 * events).
 *
 * The detail: the owner who filed it, its assigned engineer, supervisors of
 * its project and admins get it (timeline, signed photo URLs, engineer, due
 * times); anyone else gets 404. Staff also see the content-check flag,
 * escalations and the follow-up. The owner's view is kept rendered in
 * memory (repair_cache.h) and answered on the loop.
 *
 * Every action is one transaction (repair_actions.h); its body is checked
 * on the loop first. The route's role bits are the union over every
 * project, so who may act is decided on the ticket, from the grants in its
 * project: only the owner who filed it for the owner's actions, only the
 * engineer it is assigned to while they hold the engineer role there, only
 * a supervisor of its project or an admin to assign. A declined ticket goes
 * back to dispatch, which never picks the same engineer again for it. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/call.h"
#include "gateway/config.h"
#include "gateway/idempotency.h"
#include "gateway/json_util.h"
#include "gateway/log.h"
#include "gateway/metrics.h"
#include "gateway/query.h"
#include "gateway/users.h"
#include "gateway/roles.h"
#include "gateway/utf8.h"
#include "gateway/wechat_client.h"
#include "handlers/handlers.h"
#include "domain/repairs/repair_actions.h"
#include "domain/repairs/repair_cache.h"
#include "domain/repairs/repair_catalog.h"
#include "domain/repairs/repair_dispatch.h"
#include "domain/repairs/repair_events.h"
#include "domain/repairs/repair_view.h"

/* ---- filing ---- */

typedef struct {
    long long unit_id;
    const char *category, *description, *contact_phone, *preferred_time; /* point into c->body */
    long long photo_ids[REPAIR_MAX_PHOTOS];
    int nphotos;
    const char *content_check; /* pass, review or unchecked */
    char trace_id[128];
} create_req_t;

static int valid_contact_phone(const char *s)
{
    int digits = 0;
    for (const char *p = s; *p; p++) {
        if (isdigit((unsigned char)*p))
            digits++;
        else if (!(*p == '+' && p == s) && *p != '-' && *p != ' ')
            return 0;
    }
    return digits >= 5 && digits <= 20;
}

/* Body check (loop): bad input never takes a WeChat worker. */
static void check_create(gw_call_t *c)
{
    create_req_t *q = call_state_new_or_fail(c, 1, sizeof(*q), free);
    if (!q || idempotency_key_or_fail(c) != 0 ||
        json_int_or_fail(c, c->body, "unit_id", 1, 1LL << 53, &q->unit_id) != 0)
        return;
    if (!(q->category = json_string_or_fail(c, c->body, "category", 1, 32)) ||
        !(q->description = json_string_or_fail(c, c->body, "description", 1, 500)) ||
        json_opt_string_or_fail(c, c->body, "contact_phone", 1, 32, &q->contact_phone) != 0 ||
        json_opt_string_or_fail(c, c->body, "preferred_time", 1, 64, &q->preferred_time) != 0)
        return;
    if (q->contact_phone && !valid_contact_phone(q->contact_phone)) {
        call_fail(c, ERR_INVALID_FIELD, "contact_phone", "contact_phone must be a phone number");
        return;
    }
    repair_photo_ids_or_fail(c, c->body, q->photo_ids, &q->nphotos);
}

static void create_store(gw_call_t *c, db_conn_t *db);
static void create_check(gw_call_t *c);
static void create_unchecked(gw_call_t *c, db_conn_t *db);

/* Step 1 (loop): the text check on a WeChat worker, unless the pool cannot
 * start it within repair_check_max_wait_ms (its class is over its share, or
 * WeChat is slow): then the ticket goes straight to the database,
 * "unchecked". */
static void create_start(gw_call_t *c)
{
    call_then_wechat_or_db(c, create_check, gw_cfg->repair_check_max_wait_ms, create_unchecked);
}

/* Step 2 (WeChat worker): the text check. WeChat being unavailable does not
 * stop the owner: the ticket is stored "unchecked" and checked again later
 * (jobs/repair_sweeper.c). */
static void create_check(gw_call_t *c)
{
    create_req_t *q = c->state;
    wx_seccheck_t res;
    wx_status_t st;
    if (wx_msg_sec_check(c->user.openid, q->description, 2, &res, &st) != 0) {
        log_warn("repairs", "text check unavailable (WeChat %d); ticket will be checked later", st.errcode);
        q->content_check = "unchecked";
    } else if (!strcmp(res.suggest, "risky")) {
        call_fail(c, ERR_CONTENT_RISKY, "description",
                  "the description did not pass the content check; please rephrase");
        return;
    } else {
        q->content_check = !strcmp(res.suggest, "pass") ? "pass" : "review";
        utf8_copy(q->trace_id, sizeof(q->trace_id), res.trace_id);
    }
    call_then_db(c, create_store);
}

/* Step 2 instead (DB worker): the text check could not start in time. */
static void create_unchecked(gw_call_t *c, db_conn_t *db)
{
    create_req_t *q = c->state;
    log_warn("repairs", "text check could not start within %d ms; ticket will be checked later",
             gw_cfg->repair_check_max_wait_ms);
    metrics_repair_check_skipped();
    q->content_check = "unchecked";
    create_store(c, db);
}

/* The warranty's last covered day: handover date + the category's period. */
#define WARRANTY_UNTIL                                                                                                 \
    "IF(u.handover_date IS NULL OR c.warranty_months IS NULL, NULL,"                                                   \
    " DATE_SUB(DATE_ADD(u.handover_date, INTERVAL c.warranty_months MONTH), INTERVAL 1 DAY))"

static const char *SQL_INSERT_TICKET =
    "INSERT INTO repair_tickets (user_id, unit_id, building_id, project_id, category_id, description,"
    " contact_phone, preferred_time, state, content_check, content_trace_id, within_warranty, warranty_until,"
    " clock_started_at, accept_due_at, arrive_due_at, resolve_due_at)"
    " SELECT ?, u.id, b.id, b.project_id, c.id, ?, ?, ?, 'submitted', ?, ?, CURDATE() <= " WARRANTY_UNTIL ","
    " " WARRANTY_UNTIL ", NOW(3), NOW(3) + INTERVAL c.accept_within_s SECOND,"
    " NOW(3) + INTERVAL c.arrive_within_s SECOND, NOW(3) + INTERVAL c.resolve_within_s SECOND"
    " FROM units u JOIN buildings b ON b.id = u.building_id JOIN repair_categories c ON c.id = ?"
    " WHERE u.id = ?";

/* A human number: BX + filing date + the id, at least 6 digits. */
static const char *SQL_TICKET_NO =
    "UPDATE repair_tickets SET ticket_no = CONCAT('BX', DATE_FORMAT(created_at, '%Y%m%d'),"
    " LPAD(id, GREATEST(6, LENGTH(id)), '0')) WHERE id = ?";

/* The unit's project, its row share-locked until the commit: the first
 * change of the project's categories (repair_catalog_own, which locks the
 * row for update) then cannot move the project's tickets to its own
 * categories between this check and the insert. */
static const char *SQL_LOCK_UNIT_PROJECT = "SELECT p.id FROM units u JOIN buildings b ON b.id = u.building_id"
                                           " JOIN projects p ON p.id = b.project_id WHERE u.id = ? LOCK IN SHARE MODE";

/* An active category of the project's set (its own, or the defaults). */
static const char *SQL_CATEGORY_OF_PROJECT = "SELECT c.id FROM repair_categories c WHERE c.code = ? AND c.active = 1"
                                             " AND c.project_id = " REPAIR_CATEGORY_SET("?");

/* The unit must be one of the caller's and the category an active one of
 * the unit's project: 0, or -1 with the call failed. */
static int check_unit_and_category_or_fail(gw_call_t *c, db_conn_t *db, const create_req_t *q, long long *category_id)
{
    long long found, project = 0;
    int rc = db_query_int(db, &found, "SELECT o.unit_id FROM owners o WHERE o.unit_id = ? AND o.user_id = ? LIMIT 1",
                          DB_ARGS(DB_INT(q->unit_id), DB_INT(c->user.id)));
    if (rc > 0)
        rc = db_query_int(db, &project, SQL_LOCK_UNIT_PROJECT, DB_ARGS(DB_INT(q->unit_id)));
    if (rc > 0)
        rc = db_query_int(db, category_id, SQL_CATEGORY_OF_PROJECT, DB_ARGS(DB_STR(q->category), DB_INT(project)));
    else if (rc == 0) {
        call_fail(c, ERR_NOT_FOUND, "unit_id", "no such unit among yours");
        return -1;
    }
    if (rc < 0) {
        call_fail_db(c);
        return -1;
    }
    if (rc == 0) {
        call_fail(c, ERR_INVALID_FIELD, "category",
                  "unknown or inactive category \"%s\"; see GET /api/v1/repair-categories?unit=", q->category);
        return -1;
    }
    return 0;
}

static void create_store(gw_call_t *c, db_conn_t *db)
{
    create_req_t *q = c->state;
    idem_claim_t claim;
    if (idempotency_begin(c, "repairs.create", &claim) != IDEM_CLAIMED)
        return;
    long long category_id = 0, bad_photo = 0;
    if (check_unit_and_category_or_fail(c, db, q, &category_id) != 0)
        return;
    if (db_exec(db, SQL_INSERT_TICKET,
                DB_ARGS(DB_INT(c->user.id), DB_STR(q->description), DB_STR(q->contact_phone), DB_STR(q->preferred_time),
                        DB_STR(q->content_check), DB_STR(*q->trace_id ? q->trace_id : NULL), DB_INT(category_id),
                        DB_INT(q->unit_id))) != 0)
        goto DbError;
    long long id = (long long)db_insert_id(db);
    if (db_exec(db, SQL_TICKET_NO, DB_ARGS(DB_INT(id))) != 0)
        goto DbError;
    long long row = repair_timeline_add(db, id, "submit", NULL, "submitted", c->user.id, "owner", NULL, q->photo_ids,
                                        q->nphotos, c->user.id, &bad_photo);
    if (row < 0)
        goto DbError;
    if (row == 0) {
        call_fail(c, ERR_UNPROCESSABLE, "photo_ids", "photo %lld is not one of your uploads, or is already attached",
                  bad_photo);
        return;
    }
    if (repair_dispatch(db, id, 1) < 0 || repair_view_store(db, id) != 0)
        goto DbError;
    db_rows_t *r = db_query(db, REPAIR_SUMMARY_SELECT " WHERE t.id = ?", DB_ARGS(DB_INT(id)));
    cJSON *d = r && r->nrows == 1 ? repair_item_json(r, 0, NULL) : NULL;
    db_rows_free(r);
    if (!d)
        goto DbError;
    cJSON *photos = cJSON_AddArrayToObject(d, "photo_ids");
    for (int i = 0; i < q->nphotos; i++)
        cJSON_AddItemToArray(photos, cJSON_CreateNumber((double)q->photo_ids[i]));
    if (idempotency_finish(c, &claim, 201, id, d) != 0 || db_commit(db) != 0) {
        cJSON_Delete(d);
        goto DbError;
    }
    log_info("repairs", "ticket %lld filed by user %lld (content %s, %d photos)", id, c->user.id, q->content_check,
             q->nphotos);
    call_ok(c, 201, d);
    return;
DbError:
    call_fail_db(c);
}

/* ---- the caller's tickets ---- */

static void list_own(gw_call_t *c, db_conn_t *db)
{
    page_t page;
    if (page_or_fail(c, 1, &page) != 0)
        return;
    db_rows_t *r =
        db_query(db, REPAIR_SUMMARY_SELECT " WHERE t.user_id = ? AND t.id < ? ORDER BY t.id DESC LIMIT ?",
                 DB_ARGS(DB_INT(c->user.id), DB_INT(page_key(&page, 0, PAGE_KEY_MAX)), DB_INT(page.limit + 1)));
    repair_page_respond(c, &page, r);
}

/* ---- one ticket ---- */

/* One statement (repair_view_read): the caller's checks, their relation to
 * the ticket and the stored view. A caller not loaded yet is checked before
 * the path's id, in the order of the checks of every route (request.c). */
static void show(gw_call_t *c, db_conn_t *db)
{
    long long id = 0;
    int pending = users_caller_pending(c);
    if (pending) {
        const char *raw = call_param(c, "id");
        id = raw ? strtoll(raw, NULL, 10) : 0;
    } else if (call_param_id_or_fail(c, "id", &id) != 0) {
        return;
    }
    uint64_t generation = repair_cache_generation(id);
    char *json = NULL;
    repair_detail_meta_t meta;
    int rc = repair_view_read(c, db, id, &json, &meta);
    if (pending && rc != -2 && call_param_id_or_fail(c, "id", &id) != 0)
        rc = -2;
    if (rc == -1)
        call_fail_db(c);
    else if (rc == 0)
        call_fail(c, ERR_NOT_FOUND, NULL, "no such repair ticket");
    else if (rc == 1) {
        /* The owner's view: keep it in memory for the next read. */
        if (!meta.staff && meta.owner_user_id == c->user.id)
            repair_cache_store(id, meta.owner_user_id, json, meta.next_due_ms, generation);
        call_ok(c, 200, cJSON_CreateRaw(json));
    }
    free(json);
}

/* On the loop: an owner's read from memory, else from the database. Staff
 * who supervise or administer get their own view, never from memory; a
 * caller not loaded yet (users_caller_pending) is checked by the read. */
static void show_from_memory(gw_call_t *c)
{
    long long id;
    if (users_caller_pending(c)) {
        call_then_db(c, show);
        return;
    }
    if (call_param_id_or_fail(c, "id", &id) != 0)
        return;
    if ((c->user.roles & (ROLE_SUPERVISOR | ROLE_ADMIN)) || !repair_cache_answer(c, id))
        call_then_db(c, show);
}

/* ---- the actions' bodies ---- */

/* What an action's body holds, checked on the loop. */
typedef struct {
    const char *text; /* reason, note or comment; points into c->body; NULL when absent */
    long long number; /* score or engineer_id */
    long long photo_ids[REPAIR_MAX_PHOTOS];
    int nphotos;
} action_form_t;

static action_form_t *new_form_or_fail(gw_call_t *c)
{
    return call_state_new_or_fail(c, 1, sizeof(action_form_t), free);
}

/* A body of one text field (1..max characters; required or not), and
 * photo_ids when `photos`. */
static void check_text(gw_call_t *c, const char *field, int required, size_t max, int photos)
{
    action_form_t *f = new_form_or_fail(c);
    if (!f || (required ? !(f->text = json_string_or_fail(c, c->body, field, 1, max))
                        : json_opt_string_or_fail(c, c->body, field, 1, max, &f->text) != 0))
        return;
    if (photos)
        repair_photo_ids_or_fail(c, c->body, f->photo_ids, &f->nphotos);
}

/* cancel: {"reason"?} */
static void check_cancel(gw_call_t *c)
{
    check_text(c, "reason", 0, 200, 0);
}

/* reopen: {"reason", "photo_ids"?} */
static void check_reopen(gw_call_t *c)
{
    check_text(c, "reason", 1, 500, 1);
}

/* rating: {"score", "comment"?} */
static void check_rating(gw_call_t *c)
{
    action_form_t *f = new_form_or_fail(c);
    if (f && json_int_or_fail(c, c->body, "score", 1, 5, &f->number) == 0)
        json_opt_string_or_fail(c, c->body, "comment", 1, 500, &f->text);
}

/* resolve: {"note", "photo_ids"?} */
static void check_resolve(gw_call_t *c)
{
    check_text(c, "note", 1, 500, 1);
}

/* decline: {"reason"} */
static void check_decline(gw_call_t *c)
{
    check_text(c, "reason", 1, 200, 0);
}

/* assign: {"engineer_id"} */
static void check_assign(gw_call_t *c)
{
    action_form_t *f = new_form_or_fail(c);
    if (f)
        json_int_or_fail(c, c->body, "engineer_id", 1, 1LL << 53, &f->number);
}

/* ---- the owner's actions ---- */

/* Loads the ticket for an owner action: 0, or -1 with the call failed (404
 * when the caller may not see it, 403 when they may but did not file it). */
static int load_own_or_fail(gw_call_t *c, db_conn_t *db, repair_ticket_t *t)
{
    if (repair_load_from_path_or_fail(c, db, t) != 0)
        return -1;
    if (!(t->rel & REPAIR_REL_OWNER)) {
        call_fail(c, ERR_FORBIDDEN, NULL, "only the owner who filed the ticket may do this");
        return -1;
    }
    return 0;
}

static void cancel(gw_call_t *c, db_conn_t *db)
{
    const action_form_t *f = c->state;
    repair_ticket_t t;
    if (load_own_or_fail(c, db, &t) != 0)
        return;
    repair_transition_t tr = {.action = RA_CANCEL, .actor_user_id = c->user.id, .actor_role = "owner", .note = f->text};
    repair_run_action(c, db, &t, &tr, NULL, NULL);
}

/* The engineer who did the work gets the ticket back, while they are still
 * an active engineer of the project; otherwise it goes to dispatch. */
static int after_reopen(gw_call_t *c, db_conn_t *db, const repair_ticket_t *t, void *arg)
{
    (void)c;
    (void)arg;
    if (!t->engineer_id)
        return 0;
    long long one;
    int active = db_query_int(db, &one,
                              "SELECT 1 FROM staff_roles r JOIN users u ON u.id = r.user_id AND u.disabled = 0"
                              " WHERE r.user_id = ? AND r.role = 'engineer' AND r.project_id = ?",
                              DB_ARGS(DB_INT(t->engineer_id), DB_INT(t->project_id)));
    if (active < 0)
        return -1;
    if (!active) {
        repair_transition_t tr = {.ticket_id = t->id,
                                  .action = RA_UNASSIGN,
                                  .from = RS_DISPATCHED,
                                  .from_engineer_id = t->engineer_id,
                                  .actor_role = "system",
                                  .note = "engineer no longer works on this project"};
        if (repair_apply_transition(db, &tr, NULL) != REPAIR_TR_APPLIED)
            return -1;
        return repair_dispatch(db, t->id, 1) < 0 ? -1 : 0;
    }
    cJSON *extra = cJSON_CreateObject();
    cJSON_AddNumberToObject(extra, "rework_count", t->rework_count + 1);
    int rc = repair_event(db, "repair.assigned", t->engineer_id, t->id, extra);
    cJSON_Delete(extra);
    return rc;
}

static void reopen(gw_call_t *c, db_conn_t *db)
{
    const action_form_t *f = c->state;
    repair_ticket_t t;
    if (load_own_or_fail(c, db, &t) != 0)
        return;
    if (t.state == RS_RESOLVED) {
        long long open;
        int rc =
            db_query_int(db, &open, "SELECT resolved_at >= NOW(3) - INTERVAL ? DAY FROM repair_tickets WHERE id = ?",
                         DB_ARGS(DB_INT(gw_cfg->repair_reopen_days), DB_INT(t.id)));
        if (rc < 0) {
            call_fail_db(c);
            return;
        }
        if (!open) {
            call_fail(c, ERR_CONFLICT, NULL, "a resolution can be rejected within %d days; this one is older",
                      gw_cfg->repair_reopen_days);
            return;
        }
    }
    repair_transition_t tr = {.action = RA_REOPEN,
                              .actor_user_id = c->user.id,
                              .actor_role = "owner",
                              .note = f->text,
                              .photo_ids = f->photo_ids,
                              .nphotos = f->nphotos,
                              .photo_owner_id = c->user.id};
    repair_run_action(c, db, &t, &tr, after_reopen, NULL);
}

/* The rating is about the engineer who resolved it. A poor one opens a
 * follow-up visit (回访) for the project's supervisors. */
static int after_rating(gw_call_t *c, db_conn_t *db, const repair_ticket_t *t, void *arg)
{
    (void)c;
    const action_form_t *f = arg;
    if (db_exec(db,
                "UPDATE repair_tickets SET rating_score = ?, rating_comment = ?, rated_at = NOW(3),"
                " rated_engineer_id = engineer_id WHERE id = ?",
                DB_ARGS(DB_INT(f->number), DB_STR(f->text), DB_INT(t->id))) != 0)
        return -1;
    if (f->number > 2)
        return 0;
    if (db_exec(db, "INSERT INTO repair_followups (ticket_id, project_id, score) VALUES (?, ?, ?)",
                DB_ARGS(DB_INT(t->id), DB_INT(t->project_id), DB_INT(f->number))) != 0)
        return -1;
    cJSON *extra = cJSON_CreateObject();
    cJSON_AddNumberToObject(extra, "followup_id", (double)db_insert_id(db));
    cJSON_AddNumberToObject(extra, "score", (double)f->number);
    cJSON_AddStringToObject(extra, "comment", f->text ? f->text : "");
    int n = repair_event_to_staff(db, "repair.followup", REPAIR_TO_SUPERVISORS, t->project_id, t->id, extra);
    cJSON_Delete(extra);
    return n < 0 ? -1 : 0;
}

static void rate(gw_call_t *c, db_conn_t *db)
{
    action_form_t *f = c->state;
    repair_ticket_t t;
    if (load_own_or_fail(c, db, &t) != 0)
        return;
    repair_transition_t tr = {.action = RA_RATE, .actor_user_id = c->user.id, .actor_role = "owner", .note = f->text};
    repair_run_action(c, db, &t, &tr, after_rating, f);
}

/* ---- the assigned engineer's actions ---- */

/* 0, or -1 with the call failed: 404 when the caller may not see the
 * ticket, 403 when they may (a supervisor) but it is not assigned to them. */
static int load_assigned_or_fail(gw_call_t *c, db_conn_t *db, repair_ticket_t *t)
{
    if (repair_load_from_path_or_fail(c, db, t) != 0)
        return -1;
    if (!(t->rel & REPAIR_REL_ENGINEER)) {
        call_fail(c, ERR_FORBIDDEN, NULL, "only the engineer the ticket is assigned to may do this");
        return -1;
    }
    return 0;
}

static int tell_owner(gw_call_t *c, db_conn_t *db, const repair_ticket_t *t, void *kind)
{
    (void)c;
    return repair_event(db, kind, t->user_id, t->id, NULL);
}

static void accept(gw_call_t *c, db_conn_t *db)
{
    repair_ticket_t t;
    if (load_assigned_or_fail(c, db, &t) != 0)
        return;
    repair_transition_t tr = {.action = RA_ACCEPT, .actor_user_id = c->user.id, .actor_role = "engineer"};
    repair_run_action(c, db, &t, &tr, tell_owner, "repair.accepted");
}

static void start(gw_call_t *c, db_conn_t *db)
{
    repair_ticket_t t;
    if (load_assigned_or_fail(c, db, &t) != 0)
        return;
    repair_transition_t tr = {.action = RA_START, .actor_user_id = c->user.id, .actor_role = "engineer"};
    repair_run_action(c, db, &t, &tr, NULL, NULL);
}

static int after_resolve(gw_call_t *c, db_conn_t *db, const repair_ticket_t *t, void *note)
{
    (void)c;
    cJSON *extra = cJSON_CreateObject();
    cJSON_AddStringToObject(extra, "note", note);
    int rc = repair_event(db, "repair.resolved", t->user_id, t->id, extra);
    cJSON_Delete(extra);
    return rc;
}

static void resolve(gw_call_t *c, db_conn_t *db)
{
    const action_form_t *f = c->state;
    repair_ticket_t t;
    if (load_assigned_or_fail(c, db, &t) != 0)
        return;
    repair_transition_t tr = {.action = RA_RESOLVE,
                              .actor_user_id = c->user.id,
                              .actor_role = "engineer",
                              .note = f->text,
                              .photo_ids = f->photo_ids,
                              .nphotos = f->nphotos,
                              .photo_owner_id = c->user.id};
    repair_run_action(c, db, &t, &tr, after_resolve, (void *)f->text);
}

/* Remembers who declined, then dispatches again (never to them). */
static int after_decline(gw_call_t *c, db_conn_t *db, const repair_ticket_t *t, void *reason)
{
    if (db_exec(db,
                "INSERT INTO repair_declines (ticket_id, engineer_id, reason) VALUES (?, ?, ?)"
                " ON DUPLICATE KEY UPDATE reason = VALUES(reason), created_at = NOW(3)",
                DB_ARGS(DB_INT(t->id), DB_INT(c->user.id), DB_STR(reason))) != 0)
        return -1;
    return repair_dispatch(db, t->id, 1) < 0 ? -1 : 0;
}

static void decline(gw_call_t *c, db_conn_t *db)
{
    const action_form_t *f = c->state;
    repair_ticket_t t;
    if (load_assigned_or_fail(c, db, &t) != 0)
        return;
    repair_transition_t tr = {
        .action = RA_DECLINE, .actor_user_id = c->user.id, .actor_role = "engineer", .note = f->text};
    repair_run_action(c, db, &t, &tr, after_decline, (void *)f->text);
}

/* ---- assigning (supervisors and admins) ---- */

static int after_assign(gw_call_t *c, db_conn_t *db, const repair_ticket_t *t, void *engineer)
{
    (void)c;
    long long id = *(const long long *)engineer;
    if (repair_event(db, "repair.assigned", id, t->id, NULL) != 0 ||
        repair_event(db, "repair.dispatched", t->user_id, t->id, NULL) != 0)
        return -1;
    return 0;
}

static void assign(gw_call_t *c, db_conn_t *db)
{
    action_form_t *f = c->state;
    repair_ticket_t t;
    if (repair_load_from_path_or_fail(c, db, &t) != 0)
        return;
    if (!(t.rel & REPAIR_REL_STAFF)) {
        call_fail(c, ERR_FORBIDDEN, NULL, "only a supervisor of the ticket's project may assign it");
        return;
    }
    long long one;
    int rc = db_query_int(db, &one,
                          "SELECT 1 FROM staff_roles r JOIN users u ON u.id = r.user_id AND u.disabled = 0"
                          " WHERE r.user_id = ? AND r.role = 'engineer' AND r.project_id = ?",
                          DB_ARGS(DB_INT(f->number), DB_INT(t.project_id)));
    if (rc < 0) {
        call_fail_db(c);
        return;
    }
    if (rc == 0) {
        call_fail(c, ERR_UNPROCESSABLE, "engineer_id", "user %lld is not an active engineer of this project",
                  f->number);
        return;
    }
    if (f->number == t.engineer_id && t.state == RS_DISPATCHED) {
        call_fail(c, ERR_CONFLICT, "engineer_id", "the ticket is already assigned to this engineer");
        return;
    }
    repair_transition_t tr = {.action = RA_ASSIGN,
                              .actor_user_id = c->user.id,
                              .actor_role = repair_staff_role(&t),
                              .engineer_id = f->number};
    repair_run_action(c, db, &t, &tr, after_assign, &f->number);
}

#define STAFF (ROLE_SUPERVISOR | ROLE_ADMIN)

static const route_t routes[] = {
    {"POST", "/api/v1/repairs", ROLE_OWNER, BODY_JSON, LOOP_STEP(create_start), BODY_CHECK(check_create),
     .wechat = WX_TEXT_CHECK},
    {"GET", "/api/v1/repairs", ROLE_ANY, BODY_NONE, DB_STEP(list_own)},
    {"GET", "/api/v1/repairs/:id", ROLE_ANY, BODY_NONE, LOOP_STEP(show_from_memory), .caller_in_step = 1},
    {"POST", "/api/v1/repairs/:id/cancel", ROLE_ANY, BODY_JSON, DB_STEP(cancel), BODY_CHECK(check_cancel)},
    {"POST", "/api/v1/repairs/:id/reopen", ROLE_ANY, BODY_JSON, DB_STEP(reopen), BODY_CHECK(check_reopen)},
    {"POST", "/api/v1/repairs/:id/rating", ROLE_ANY, BODY_JSON, DB_STEP(rate), BODY_CHECK(check_rating)},
    {"POST", "/api/v1/repairs/:id/accept", ROLE_ENGINEER, BODY_JSON, DB_STEP(accept)},
    {"POST", "/api/v1/repairs/:id/start", ROLE_ENGINEER, BODY_JSON, DB_STEP(start)},
    {"POST", "/api/v1/repairs/:id/resolve", ROLE_ENGINEER, BODY_JSON, DB_STEP(resolve), BODY_CHECK(check_resolve)},
    {"POST", "/api/v1/repairs/:id/decline", ROLE_ENGINEER, BODY_JSON, DB_STEP(decline), BODY_CHECK(check_decline)},
    {"POST", "/api/v1/repairs/:id/assign", STAFF, BODY_JSON, DB_STEP(assign), BODY_CHECK(check_assign)},
};

void repairs_register(void)
{
    repair_cache_register();
    ROUTES_REGISTER(routes);
}
