/* repairs.c: repair tickets, by everyone who works one.
 *
 *   POST /api/v1/repairs               file a ticket (an owner; Idempotency-Key header)
 *   GET  /api/v1/repairs               the caller's tickets, newest first
 *   GET  /api/v1/repairs/:id           one ticket, for everyone who may see it
 *   POST /api/v1/repairs/:id/cancel    the owner, before work starts
 *   POST /api/v1/repairs/:id/reopen    the owner rejects a resolution (返工), within repair_reopen_days
 *   POST /api/v1/repairs/:id/rating    the owner rates speed, attitude, quality 1-5 in resolved, once a round; closes it
 *   POST /api/v1/repairs/:id/accept    the assigned engineer: dispatched -> accepted
 *   POST /api/v1/repairs/:id/start     the assigned engineer: accepted -> in_progress (on site)
 *   POST /api/v1/repairs/:id/resolve   the assigned engineer: in_progress -> resolved {note, photo_ids}
 *   POST /api/v1/repairs/:id/decline   the assigned engineer: dispatched/accepted -> dispatch again {reason}
 *   POST /api/v1/repairs/:id/assign    a supervisor or admin (re)assigns: -> dispatched {engineer_id}
 *   POST /api/v1/repairs/:id/confirm   the owner confirms a ticket the service desk filed for them
 *   PATCH /api/v1/repairs/:id          the owner corrects such a ticket before acceptance {description?, category?}
 *
 * Filing is three steps (domain/repairs/repair_file.h, shared with the
 * service desk's filing on an owner's behalf): the body on the loop (its
 * BODY_CHECK), the description's WeChat text check on a WeChat worker
 * (skipped, the ticket "unchecked", when the WeChat pool cannot start it
 * promptly), then one transaction on a DB worker holding the idempotency
 * key, the ticket, its first timeline row, the attached photos and the
 * dispatch (with its events).
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
#include "domain/repairs/repair_clocks.h"
#include "domain/repairs/repair_actions.h"
#include "domain/repairs/repair_cache.h"
#include "domain/repairs/repair_catalog.h"
#include "domain/repairs/repair_dispatch.h"
#include "domain/repairs/repair_events.h"
#include "domain/repairs/repair_file.h"
#include "domain/repairs/repair_view.h"
#include "domain/followups/repair_satisfaction.h"

/* ---- filing (domain/repairs/repair_file.h) ---- */

/* Body check (loop): bad input never takes a WeChat worker. */
static void check_create(gw_call_t *c)
{
    (void)repair_file_body_or_fail(c);
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
    long long number; /* engineer_id */
    repair_rating_t rating;
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

/* rating: {"speed", "attitude", "quality", "comment"?}; each dimension an
 * integer 1-5. The single "score" of before is no longer read. */
static void check_rating(gw_call_t *c)
{
    action_form_t *f = new_form_or_fail(c);
    long long speed, attitude, quality;
    if (!f || json_int_or_fail(c, c->body, "speed", 1, 5, &speed) != 0 ||
        json_int_or_fail(c, c->body, "attitude", 1, 5, &attitude) != 0 ||
        json_int_or_fail(c, c->body, "quality", 1, 5, &quality) != 0 ||
        json_opt_string_or_fail(c, c->body, "comment", 1, 500, &f->text) != 0)
        return;
    f->rating =
        (repair_rating_t){.speed = (int)speed, .attitude = (int)attitude, .quality = (int)quality, .comment = f->text};
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

/* The engineer it was assigned to hears of it. */
static int after_cancel(gw_call_t *c, db_conn_t *db, const repair_ticket_t *t, void *arg)
{
    (void)c;
    const action_form_t *f = arg;
    if (!t->engineer_id)
        return 0;
    cJSON *extra = cJSON_CreateObject();
    if (!extra)
        return -1;
    cJSON_AddStringToObject(extra, "reason", f->text ? f->text : "");
    int rc = repair_event(db, "repair.cancelled", t->engineer_id, t->id, extra);
    cJSON_Delete(extra);
    return rc;
}

static void cancel(gw_call_t *c, db_conn_t *db)
{
    const action_form_t *f = c->state;
    repair_ticket_t t;
    if (load_own_or_fail(c, db, &t) != 0)
        return;
    repair_transition_t tr = {.action = RA_CANCEL, .actor_user_id = c->user.id, .actor_role = "owner", .note = f->text};
    repair_run_action(c, db, &t, &tr, after_cancel, (void *)f);
}

static int after_reopen(gw_call_t *c, db_conn_t *db, const repair_ticket_t *t, void *arg)
{
    (void)c;
    (void)arg;
    return repair_reopen_handback(db, t);
}

static void reopen(gw_call_t *c, db_conn_t *db)
{
    const action_form_t *f = c->state;
    repair_ticket_t t;
    if (load_own_or_fail(c, db, &t) != 0)
        return;
    if (t.state == RS_CLOSED) {
        /* A closed ticket reopens only when it closed without rating (the
         * owner keeps the reopen window); a rating settled it. */
        long long unrated;
        int rc = db_query_int(db, &unrated,
                              "SELECT 1 FROM repair_unrated_closes u JOIN repair_tickets t ON t.id = u.ticket_id"
                              " AND t.rework_count = u.round WHERE u.ticket_id = ?",
                              DB_ARGS(DB_INT(t.id)));
        if (rc < 0) {
            call_fail_db(c);
            return;
        }
        if (rc == 0) {
            repair_fail_state(c, RA_REOPEN, t.state);
            return;
        }
    }
    if (t.state == RS_RESOLVED || t.state == RS_CLOSED) {
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
 * follow-up visit (回访), a good one may be sampled for one
 * (domain/followups/repair_satisfaction.h). */
static int after_rating(gw_call_t *c, db_conn_t *db, const repair_ticket_t *t, void *arg)
{
    (void)c;
    const action_form_t *f = arg;
    return repair_rating_store(db, t, &f->rating);
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
    if (rc == 0)
        rc = repair_rating_remind(db, t->id, t->rework_count, t->user_id, 1);
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
    /* The engineer it is taken from hears of it. */
    if (t->engineer_id && t->engineer_id != id &&
        repair_event(db, "repair.reassigned", t->engineer_id, t->id, NULL) != 0)
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
    {"POST", "/api/v1/repairs", ROLE_OWNER, BODY_JSON, LOOP_STEP(repair_file_start), BODY_CHECK(check_create),
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
    {"POST", "/api/v1/repairs/:id/confirm", ROLE_ANY, BODY_JSON, DB_STEP(repair_file_confirm)},
    {"PATCH", "/api/v1/repairs/:id", ROLE_ANY, BODY_JSON, DB_STEP(repair_file_correct),
     BODY_CHECK(repair_file_check_correct)},
};

void repairs_register(void)
{
    repair_cache_register();
    ROUTES_REGISTER(routes);
}
