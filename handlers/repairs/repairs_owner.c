/* repairs_owner.c: what an owner does with repair tickets.
 *
 *   POST /api/v1/repairs               file a ticket (Idempotency-Key header)
 *   GET  /api/v1/repairs               the caller's tickets, newest first
 *   POST /api/v1/repairs/:id/cancel    before work starts
 *   POST /api/v1/repairs/:id/reopen    reject a resolution (返工), within repair_reopen_days
 *   POST /api/v1/repairs/:id/rating    score 1-5 in resolved, once; closes the ticket
 *
 * Filing is three steps: the body on the loop, the description's WeChat
 * text check on a WeChat worker (skipped, the ticket "unchecked", when the
 * WeChat pool cannot start it promptly), then one transaction on a DB
 * worker holding the idempotency key, the ticket, its first timeline row,
 * the attached photos and the dispatch (with its events). */
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
#include "gateway/roles.h"
#include "gateway/wechat_client.h"
#include "handlers/handlers.h"
#include "domain/repairs/repair_actions.h"
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

/* Checks the body; -1 with the call failed. */
static int read_create(gw_call_t *c, create_req_t *q)
{
    if (idempotency_check_key(c) != 0 || json_int_or_fail(c, c->body, "unit_id", 1, 1LL << 53, &q->unit_id) != 0)
        return -1;
    if (!(q->category = json_string_or_fail(c, c->body, "category", 1, 32)) ||
        !(q->description = json_string_or_fail(c, c->body, "description", 1, 500)) ||
        json_opt_string_or_fail(c, c->body, "contact_phone", 1, 32, &q->contact_phone) != 0 ||
        json_opt_string_or_fail(c, c->body, "preferred_time", 1, 64, &q->preferred_time) != 0)
        return -1;
    if (q->contact_phone && !valid_contact_phone(q->contact_phone)) {
        call_fail(c, ERR_INVALID_FIELD, "contact_phone", "contact_phone must be a phone number");
        return -1;
    }
    q->nphotos = repair_read_photo_ids(c, c->body, q->photo_ids);
    return q->nphotos < 0 ? -1 : 0;
}

static void create_store(gw_call_t *c);
static void create_check(gw_call_t *c);
static void create_unchecked(gw_call_t *c);

/* Step 1 (loop): the body, so that bad input never takes a WeChat worker.
 * Then the text check on a WeChat worker, unless the pool cannot start it
 * within repair_check_max_wait_ms (its class is over its share, or WeChat
 * is slow): then the ticket goes straight to the database, "unchecked". */
static void create_start(gw_call_t *c)
{
    create_req_t *q = call_state_new_or_fail(c, 1, sizeof(*q), free);
    if (!q || read_create(c, q) != 0)
        return;
    call_then_or(c, POOL_WECHAT, create_check, gw_cfg->repair_check_max_wait_ms, POOL_DB, create_unchecked);
}

/* Step 2 (WeChat worker): the text check. WeChat being unavailable does not
 * stop the owner: the ticket is stored "unchecked" and checked again later
 * (repair_sweeper.c). */
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
        snprintf(q->trace_id, sizeof(q->trace_id), "%s", res.trace_id);
    }
    call_then(c, POOL_DB, create_store);
}

/* Step 2 instead (DB worker): the text check could not start in time. */
static void create_unchecked(gw_call_t *c)
{
    create_req_t *q = c->state;
    log_warn("repairs", "text check could not start within %d ms; ticket will be checked later",
             gw_cfg->repair_check_max_wait_ms);
    metrics_repair_check_skipped();
    q->content_check = "unchecked";
    create_store(c);
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

static void create_store(gw_call_t *c)
{
    create_req_t *q = c->state;
    idem_claim_t claim;
    if (idempotency_begin(c, "repairs.create", &claim) != IDEM_CLAIMED)
        return;
    long long found, category_id = 0, bad_photo = 0;
    int rc = db_query_int(c->db, &found, "SELECT o.unit_id FROM owners o WHERE o.unit_id = ? AND o.user_id = ? LIMIT 1",
                          DB_ARGS(DB_INT(q->unit_id), DB_INT(c->user.id)));
    if (rc < 0)
        goto DbError;
    if (rc == 0) {
        call_fail(c, ERR_NOT_FOUND, "unit_id", "no such unit among yours");
        goto Rollback;
    }
    rc = db_query_int(c->db, &category_id, "SELECT id FROM repair_categories WHERE code = ? AND active = 1",
                      DB_ARGS(DB_STR(q->category)));
    if (rc < 0)
        goto DbError;
    if (rc == 0) {
        call_fail(c, ERR_INVALID_FIELD, "category", "unknown category \"%s\"; see GET /api/v1/repair-categories",
                  q->category);
        goto Rollback;
    }
    if (db_exec(c->db, SQL_INSERT_TICKET,
                DB_ARGS(DB_INT(c->user.id), DB_STR(q->description), DB_STR(q->contact_phone), DB_STR(q->preferred_time),
                        DB_STR(q->content_check), DB_STR(*q->trace_id ? q->trace_id : NULL), DB_INT(category_id),
                        DB_INT(q->unit_id))) != 0)
        goto DbError;
    long long id = (long long)db_insert_id(c->db);
    if (db_exec(c->db, SQL_TICKET_NO, DB_ARGS(DB_INT(id))) != 0)
        goto DbError;
    long long row = repair_timeline_add(c->db, id, "submit", NULL, "submitted", c->user.id, "owner", NULL, q->photo_ids,
                                        q->nphotos, c->user.id, &bad_photo);
    if (row < 0)
        goto DbError;
    if (row == 0) {
        call_fail(c, ERR_UNPROCESSABLE, "photo_ids", "photo %lld is not one of your uploads, or is already attached",
                  bad_photo);
        goto Rollback;
    }
    if (repair_dispatch(c->db, id, 1) < 0)
        goto DbError;
    db_rows_t *r = db_query(c->db, REPAIR_SUMMARY_SELECT " WHERE t.id = ?", DB_ARGS(DB_INT(id)));
    if (!r || r->nrows != 1) {
        db_rows_free(r);
        goto DbError;
    }
    cJSON *d = repair_summary_json(r, 0, 0);
    db_rows_free(r);
    cJSON *photos = cJSON_AddArrayToObject(d, "photo_ids");
    for (int i = 0; i < q->nphotos; i++)
        cJSON_AddItemToArray(photos, cJSON_CreateNumber((double)q->photo_ids[i]));
    if (idempotency_finish(c, &claim, 201, id, d) != 0 || db_commit(c->db) != 0) {
        cJSON_Delete(d);
        goto DbError;
    }
    log_info("repairs", "ticket %lld filed by user %lld (content %s, %d photos)", id, c->user.id, q->content_check,
             q->nphotos);
    call_ok(c, 201, d);
    return;
DbError:
    db_rollback(c->db);
    call_fail_db(c);
    return;
Rollback:
    db_rollback(c->db);
}

/* ---- the caller's tickets ---- */

static void list_own(gw_call_t *c)
{
    long long before;
    int limit;
    if (repair_page_params(c, &before, &limit) != 0)
        return;
    db_rows_t *r =
        db_query(c->db, REPAIR_SUMMARY_SELECT " WHERE t.user_id = ? AND (? = 0 OR t.id < ?) ORDER BY t.id DESC LIMIT ?",
                 DB_ARGS(DB_INT(c->user.id), DB_INT(before), DB_INT(before), DB_INT(limit + 1)));
    repair_list_respond(c, r, limit, 0);
}

/* ---- owner actions ---- */

/* Loads the ticket for an owner action: 1, or 0 with the call failed (404
 * when the caller may not see it, 403 when they may but did not file it). */
static int load_own(gw_call_t *c, repair_ticket_t *t)
{
    if (repair_load_from_path(c, t) != 1)
        return 0;
    if (!(t->rel & REPAIR_REL_OWNER)) {
        call_fail(c, ERR_FORBIDDEN, NULL, "only the owner who filed the ticket may do this");
        return 0;
    }
    return 1;
}

static void cancel(gw_call_t *c)
{
    repair_ticket_t t;
    const char *reason;
    if (json_opt_string_or_fail(c, c->body, "reason", 1, 200, &reason) != 0 || !load_own(c, &t))
        return;
    repair_transition_t tr = {.action = RA_CANCEL, .actor_user_id = c->user.id, .actor_role = "owner", .note = reason};
    repair_run_action(c, &t, &tr, NULL, NULL);
}

/* The engineer who did the work gets the ticket back, while they are still
 * an active engineer of the project; otherwise it goes to dispatch. */
static int after_reopen(gw_call_t *c, const repair_ticket_t *t, void *arg)
{
    (void)arg;
    if (!t->engineer_id)
        return 0;
    long long one;
    int active = db_query_int(c->db, &one,
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
        if (repair_apply_transition(c->db, &tr, NULL) != REPAIR_TR_APPLIED)
            return -1;
        return repair_dispatch(c->db, t->id, 1) < 0 ? -1 : 0;
    }
    cJSON *extra = cJSON_CreateObject();
    cJSON_AddNumberToObject(extra, "rework_count", t->rework_count + 1);
    int rc = repair_event(c->db, "repair.assigned", t->engineer_id, t->id, extra);
    cJSON_Delete(extra);
    return rc;
}

static void reopen(gw_call_t *c)
{
    repair_ticket_t t;
    long long ids[REPAIR_MAX_PHOTOS];
    const char *reason = json_string_or_fail(c, c->body, "reason", 1, 500);
    if (!reason)
        return;
    int nphotos = repair_read_photo_ids(c, c->body, ids);
    if (nphotos < 0 || !load_own(c, &t))
        return;
    if (t.state == RS_RESOLVED) {
        long long open;
        int rc =
            db_query_int(c->db, &open, "SELECT resolved_at >= NOW(3) - INTERVAL ? DAY FROM repair_tickets WHERE id = ?",
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
                              .note = reason,
                              .photo_ids = ids,
                              .nphotos = nphotos,
                              .photo_owner_id = c->user.id};
    repair_run_action(c, &t, &tr, after_reopen, NULL);
}

typedef struct {
    long long score;
    const char *comment;
} rating_t;

/* The rating is about the engineer who resolved it. A poor one opens a
 * follow-up visit (回访) for the project's supervisors. */
static int after_rating(gw_call_t *c, const repair_ticket_t *t, void *arg)
{
    const rating_t *r = arg;
    if (db_exec(c->db,
                "UPDATE repair_tickets SET rating_score = ?, rating_comment = ?, rated_at = NOW(3),"
                " rated_engineer_id = engineer_id WHERE id = ?",
                DB_ARGS(DB_INT(r->score), DB_STR(r->comment), DB_INT(t->id))) != 0)
        return -1;
    if (r->score > 2)
        return 0;
    if (db_exec(c->db, "INSERT INTO repair_followups (ticket_id, project_id, score) VALUES (?, ?, ?)",
                DB_ARGS(DB_INT(t->id), DB_INT(t->project_id), DB_INT(r->score))) != 0)
        return -1;
    cJSON *extra = cJSON_CreateObject();
    cJSON_AddNumberToObject(extra, "followup_id", (double)db_insert_id(c->db));
    cJSON_AddNumberToObject(extra, "score", (double)r->score);
    cJSON_AddStringToObject(extra, "comment", r->comment ? r->comment : "");
    int n = repair_event_to_staff(c->db, "repair.followup", REPAIR_TO_SUPERVISORS, t->project_id, t->id, extra);
    cJSON_Delete(extra);
    return n < 0 ? -1 : 0;
}

static void rate(gw_call_t *c)
{
    repair_ticket_t t;
    rating_t r;
    if (json_int_or_fail(c, c->body, "score", 1, 5, &r.score) != 0 ||
        json_opt_string_or_fail(c, c->body, "comment", 1, 500, &r.comment) != 0 || !load_own(c, &t))
        return;
    repair_transition_t tr = {.action = RA_RATE, .actor_user_id = c->user.id, .actor_role = "owner", .note = r.comment};
    repair_run_action(c, &t, &tr, after_rating, &r);
}

static const route_t routes[] = {
    {"POST", "/api/v1/repairs", ROLE_OWNER, BODY_JSON, POOL_LOOP, create_start, RATE_DEFAULT, WX_TEXT_CHECK},
    {"GET", "/api/v1/repairs", ROLE_ANY, BODY_NONE, POOL_DB, list_own},
    {"POST", "/api/v1/repairs/:id/cancel", ROLE_ANY, BODY_JSON, POOL_DB, cancel},
    {"POST", "/api/v1/repairs/:id/reopen", ROLE_ANY, BODY_JSON, POOL_DB, reopen},
    {"POST", "/api/v1/repairs/:id/rating", ROLE_ANY, BODY_JSON, POOL_DB, rate},
};

void repairs_owner_register(void)
{
    router_add(routes, sizeof(routes) / sizeof(routes[0]));
}
