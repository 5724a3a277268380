/* repair_file.c: filing a ticket, by its owner or by the service desk for
 * them, and the owner's confirmation and correction of a ticket filed for
 * them (see repair_file.h). */
#include "domain/repairs/repair_file.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/config.h"
#include "gateway/idempotency.h"
#include "gateway/json_util.h"
#include "gateway/log.h"
#include "gateway/metrics.h"
#include "gateway/utf8.h"
#include "gateway/wechat_client.h"
#include "domain/repairs/repair_cache.h"
#include "domain/repairs/repair_catalog.h"
#include "domain/repairs/repair_events.h"
#include "domain/repairs/repair_view.h"
#include "domain/repairs/repair_clocks.h"
#include "domain/repairs/repair_insert.h"
#include "domain/sla/sla_store.h"
#include "domain/identity/project_access.h"
#include "domain/service/desk_scope.h"

const char *const repair_file_channels[] = {"hotline", "front_desk", "miniprogram", "wechat_group", NULL};

/* ---- filing ---- */

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
repair_file_req_t *repair_file_body_or_fail(gw_call_t *c)
{
    repair_file_req_t *q = call_state_new_or_fail(c, 1, sizeof(*q), free);
    if (!q || idempotency_key_or_fail(c) != 0 ||
        json_int_or_fail(c, c->body, "unit_id", 1, 1LL << 53, &q->unit_id) != 0)
        return NULL;
    if (!(q->category = json_string_or_fail(c, c->body, "category", 1, 32)) ||
        !(q->description = json_string_or_fail(c, c->body, "description", 1, 500)) ||
        json_opt_string_or_fail(c, c->body, "contact_phone", 1, 32, &q->contact_phone) != 0 ||
        json_opt_string_or_fail(c, c->body, "preferred_time", 1, 64, &q->preferred_time) != 0)
        return NULL;
    if (q->contact_phone && !valid_contact_phone(q->contact_phone)) {
        call_fail(c, ERR_INVALID_FIELD, "contact_phone", "contact_phone must be a phone number");
        return NULL;
    }
    if (repair_photo_ids_or_fail(c, c->body, q->photo_ids, &q->nphotos) != 0)
        return NULL;
    q->owner_user_id = c->user.id;
    return q;
}

static void create_store(gw_call_t *c, db_conn_t *db);
static void create_check(gw_call_t *c);
static void create_unchecked(gw_call_t *c, db_conn_t *db);

/* Step 1 (loop): the text check on a WeChat worker, unless the pool cannot
 * start it within repair_check_max_wait_ms (its class is over its share, or
 * WeChat is slow): then the ticket goes straight to the database,
 * "unchecked". */
void repair_file_start(gw_call_t *c)
{
    call_then_wechat_or_db(c, create_check, gw_cfg->repair_check_max_wait_ms, create_unchecked);
}

/* Step 2 (WeChat worker): the text check. WeChat being unavailable does not
 * stop the owner: the ticket is stored "unchecked" and checked again later
 * (jobs/repair_sweeper.c). The caller's openid is the one WeChat asks for:
 * the owner's, or the desk member's who typed the text. */
static void create_check(gw_call_t *c)
{
    repair_file_req_t *q = c->state;
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
    repair_file_req_t *q = c->state;
    log_warn("repairs", "text check could not start within %d ms; ticket will be checked later",
             gw_cfg->repair_check_max_wait_ms);
    metrics_repair_check_skipped();
    q->content_check = "unchecked";
    create_store(c, db);
}

/* The warranty's last covered day: handover date + the category's period
 * (as repair_insert.c computes it at filing). */
#define WARRANTY_UNTIL                                                                                                 \
    "IF(u.handover_date IS NULL OR c.warranty_months IS NULL, NULL,"                                                   \
    " DATE_SUB(DATE_ADD(u.handover_date, INTERVAL c.warranty_months MONTH), INTERVAL 1 DAY))"

/* An active category of the project's set (its own, or the defaults). */
static const char *SQL_CATEGORY_OF_PROJECT = "SELECT c.id FROM repair_categories c WHERE c.code = ? AND c.active = 1"
                                             " AND c.project_id = " REPAIR_CATEGORY_SET("?");

/* 0 with *category_id, or -1 with 400 naming `category` (or a db error). */
static int category_or_fail(gw_call_t *c, db_conn_t *db, const char *code, long long project, long long *category_id)
{
    int rc = db_query_int(db, category_id, SQL_CATEGORY_OF_PROJECT, DB_ARGS(DB_STR(code), DB_INT(project)));
    if (rc < 0) {
        call_fail_db(c);
        return -1;
    }
    if (rc == 0) {
        call_fail(c, ERR_INVALID_FIELD, "category",
                  "unknown or inactive category \"%s\"; see GET /api/v1/repair-categories?unit=", code);
        return -1;
    }
    return 0;
}

/* The unit must be one of the owner's and the category an active one of
 * the unit's project; a desk filing also needs the caller to work the
 * unit's project's desk (*actor_role says in which role). 0, or -1 with the
 * call failed. */
static int check_unit_and_category_or_fail(gw_call_t *c, db_conn_t *db, const repair_file_req_t *q,
                                           long long *category_id, const char **actor_role)
{
    long long project = 0;
    int rc = db_query_int(db, &project,
                          "SELECT b.project_id FROM owners o JOIN units u ON u.id = o.unit_id"
                          " JOIN buildings b ON b.id = u.building_id WHERE o.unit_id = ? AND o.user_id = ? LIMIT 1",
                          DB_ARGS(DB_INT(q->unit_id), DB_INT(q->owner_user_id)));
    if (rc < 0) {
        call_fail_db(c);
        return -1;
    }
    *actor_role = "owner";
    if (rc > 0 && q->channel) {
        int err;
        *actor_role = desk_role(db, c->user.id, project, &err);
        if (err) {
            call_fail_db(c);
            return -1;
        }
        if (!*actor_role)
            rc = 0; /* another project's unit: as if it did not exist */
    }
    if (rc == 0 && q->channel) {
        /* Which field is wrong: a user who is no owner in the caller's
         * projects at all, or a unit that is not theirs. */
        int admin = project_access_is_admin(db, c->user.id);
        long long one = 0;
        int known =
            admin < 0
                ? -1
                : db_query_int(db, &one,
                               "SELECT 1 FROM owners o JOIN units u ON u.id = o.unit_id"
                               " JOIN buildings b ON b.id = u.building_id WHERE o.user_id = ? AND " DESK_SCOPE_SQL(
                                   "b.project_id") " LIMIT 1",
                               DB_ARGS(DB_INT(q->owner_user_id), DB_INT(admin), DB_INT(c->user.id)));
        if (known < 0) {
            call_fail_db(c);
            return -1;
        }
        if (!known) {
            call_fail(c, ERR_NOT_FOUND, "user_id", "no such owner in your projects");
            return -1;
        }
    }
    if (rc == 0) {
        call_fail(c, ERR_NOT_FOUND, "unit_id",
                  q->channel ? "no such unit of this customer's in your projects" : "no such unit among yours");
        return -1;
    }
    rc = repair_category_of_unit(db, q->unit_id, q->category, category_id);
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

/* A desk filing's own rows: the filing, and the owner's event. 0 or -1. */
static int record_filing(gw_call_t *c, db_conn_t *db, const repair_file_req_t *q, long long id)
{
    if (db_exec(db, "INSERT INTO repair_filings (ticket_id, channel, filed_by) VALUES (?, ?, ?)",
                DB_ARGS(DB_INT(id), DB_STR(q->channel), DB_INT(c->user.id))) != 0)
        return -1;
    cJSON *extra = cJSON_CreateObject();
    if (!extra)
        return -1;
    cJSON_AddStringToObject(extra, "channel", q->channel);
    cJSON_AddStringToObject(extra, "channel_label", repair_channel_label(q->channel));
    int rc = repair_event(db, "repair.filed_for_you", q->owner_user_id, id, extra);
    cJSON_Delete(extra);
    return rc;
}

static void create_store(gw_call_t *c, db_conn_t *db)
{
    repair_file_req_t *q = c->state;
    idem_claim_t claim;
    if (idempotency_begin(c, q->channel ? "service.repairs.create" : "repairs.create", &claim) != IDEM_CLAIMED)
        return;
    long long category_id = 0, bad_photo = 0;
    const char *actor_role = "owner";
    if (check_unit_and_category_or_fail(c, db, q, &category_id, &actor_role) != 0)
        return;
    repair_filing_t f = {.user_id = q->owner_user_id,
                         .unit_id = q->unit_id,
                         .category_id = category_id,
                         .description = q->description,
                         .contact_phone = q->contact_phone,
                         .preferred_time = q->preferred_time,
                         .content_check = q->content_check,
                         .trace_id = *q->trace_id ? q->trace_id : NULL,
                         .photo_ids = q->photo_ids,
                         .nphotos = q->nphotos,
                         .actor_user_id = c->user.id,
                         .actor_role = actor_role};
    long long id;
    int filed = repair_ticket_insert(db, &f, &id, &bad_photo);
    if (filed < 0)
        goto DbError;
    if (filed == 0) {
        call_fail(c, ERR_UNPROCESSABLE, "photo_ids", "photo %lld is not one of your uploads, or is already attached",
                  bad_photo);
        return;
    }
    if ((q->channel && record_filing(c, db, q, id) != 0) || repair_view_store(db, id) != 0)
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
    if (q->channel)
        log_info("repairs", "ticket %lld filed for user %lld by user %lld (%s; content %s, %d photos)", id,
                 q->owner_user_id, c->user.id, q->channel, q->content_check, q->nphotos);
    else
        log_info("repairs", "ticket %lld filed by user %lld (content %s, %d photos)", id, c->user.id, q->content_check,
                 q->nphotos);
    call_ok(c, 201, d);
    return;
DbError:
    call_fail_db(c);
}

/* ---- the owner confirms or corrects a ticket filed for them ---- */

/* Loads the ticket for the owner's action on a filing: 0 with the ticket
 * and its filing's confirmed flag, or -1 with the call failed (404 when the
 * caller may not see it, 403 when they are not its owner, 409 when it was
 * not filed on their behalf). */
static int load_filed_or_fail(gw_call_t *c, db_conn_t *db, repair_ticket_t *t, int *confirmed)
{
    if (repair_load_from_path_or_fail(c, db, t) != 0)
        return -1;
    if (!(t->rel & REPAIR_REL_OWNER)) {
        call_fail(c, ERR_FORBIDDEN, NULL, "only the owner the ticket was filed for may do this");
        return -1;
    }
    db_rows_t *r = db_query(db, "SELECT confirmed_at IS NOT NULL AS confirmed FROM repair_filings WHERE ticket_id = ?",
                            DB_ARGS(DB_INT(t->id)));
    if (!r) {
        call_fail_db(c);
        return -1;
    }
    int found = r->nrows == 1;
    *confirmed = found && db_get_int(r, 0, "confirmed");
    db_rows_free(r);
    if (!found) {
        call_fail(c, ERR_CONFLICT, NULL, "this ticket was filed by you, not on your behalf");
        return -1;
    }
    return 0;
}

/* Ends the owner's action in its open transaction: its timeline row (the
 * state unchanged), the ticket row touched so that every gateway's memory
 * of the owner's view is refreshed (repair_cache.h), the commit, then the
 * owner's detail as the answer. */
static void finish_owner_action(gw_call_t *c, db_conn_t *db, const repair_ticket_t *t, const char *action,
                                const char *note)
{
    const char *state = repair_state_name(t->state);
    if (repair_timeline_add(db, t->id, action, state, state, c->user.id, "owner", note, NULL, 0, c->user.id, NULL) <
            0 ||
        db_exec(db, "UPDATE repair_tickets SET updated_at = NOW(3) WHERE id = ?", DB_ARGS(DB_INT(t->id))) != 0 ||
        repair_view_store(db, t->id) != 0 || db_commit(db) != 0) {
        call_fail_db(c);
        return;
    }
    repair_cache_forget(t->id);
    cJSON *d;
    if (repair_detail_for_caller(c, db, t->id, &d, NULL) <= 0) {
        call_fail_db(c);
        return;
    }
    call_ok(c, 200, d);
}

void repair_file_confirm(gw_call_t *c, db_conn_t *db)
{
    repair_ticket_t t;
    int confirmed;
    if (load_filed_or_fail(c, db, &t, &confirmed) != 0)
        return;
    if (confirmed) {
        call_fail(c, ERR_CONFLICT, NULL, "the ticket is already confirmed");
        return;
    }
    if (db_begin(db) != 0 ||
        db_exec(db, "UPDATE repair_filings SET confirmed_at = NOW(3) WHERE ticket_id = ? AND confirmed_at IS NULL",
                DB_ARGS(DB_INT(t.id))) != 0)
        goto DbError;
    if (db_affected_rows(db) != 1) {
        call_fail(c, ERR_CONFLICT, NULL, "the ticket is already confirmed");
        return;
    }
    finish_owner_action(c, db, &t, "confirm", NULL);
    return;
DbError:
    call_fail_db(c);
}

typedef struct {
    const char *description, *category; /* into c->body; NULL when absent */
} correct_form_t;

void repair_file_check_correct(gw_call_t *c)
{
    static const char *const known[] = {"description", "category", NULL};
    correct_form_t *f = call_state_new_or_fail(c, 1, sizeof(*f), free);
    if (!f || json_known_fields_or_fail(c, c->body, known) != 0 ||
        json_opt_string_or_fail(c, c->body, "description", 1, 500, &f->description) != 0 ||
        json_opt_string_or_fail(c, c->body, "category", 1, 32, &f->category) != 0)
        return;
    if (!f->description && !f->category)
        call_fail(c, ERR_MISSING_FIELD, "description", "give description, category or both");
}

/* The category's clocks restart from the filing (clock_started_at) and
 * its warranty applies; the dispatch stands. Only while not accepted. */
static const char *SQL_CORRECT =
    "UPDATE repair_tickets t JOIN units u ON u.id = t.unit_id JOIN repair_categories c ON c.id = ?"
    " SET t.description = COALESCE(?, t.description), t.category_id = c.id,"
    " t.within_warranty = CURDATE() <= " WARRANTY_UNTIL ", t.warranty_until = " WARRANTY_UNTIL
    " WHERE t.id = ? AND t.state IN ('submitted', 'dispatched')";

/* The new category's budgets for the ticket's clocks (the service-level
 * engine keeps each clock's start, pauses and fired steps). 0 or -1. */
static int rebudget_clocks(db_conn_t *db, long long ticket_id, long long category_id)
{
    static const char *const cols[RC__COUNT] = {"accept_within_s", "arrive_within_s", "resolve_within_s"};
    db_rows_t *r = db_query(db,
                            "SELECT accept_within_s, arrive_within_s, resolve_within_s, business_hours"
                            " FROM repair_categories WHERE id = ?",
                            DB_ARGS(DB_INT(category_id)));
    int rc = r && r->nrows == 1 ? 0 : -1;
    for (int i = 0; rc == 0 && i < RC__COUNT; i++) {
        sla_budget_t b = {db_get_int(r, 0, cols[i]), db_get_int(r, 0, "business_hours") ? SLA_BUSINESS : SLA_NATURAL};
        rc = sla_store_set_budget(db, REPAIR_SLA_KIND, ticket_id, i, &b);
    }
    db_rows_free(r);
    return rc;
}

void repair_file_correct(gw_call_t *c, db_conn_t *db)
{
    const correct_form_t *f = c->state;
    repair_ticket_t t;
    int confirmed;
    if (load_filed_or_fail(c, db, &t, &confirmed) != 0)
        return;
    if (t.state != RS_SUBMITTED && t.state != RS_DISPATCHED) {
        call_fail(c, ERR_CONFLICT, NULL, "a ticket can be corrected until an engineer accepts it; it is %s (%s)",
                  repair_state_label(t.state), repair_state_name(t.state));
        return;
    }
    long long category_id = t.category_id;
    if (f->category && category_or_fail(c, db, f->category, t.project_id, &category_id) != 0)
        return;
    if (db_begin(db) != 0 ||
        db_exec(db, SQL_CORRECT, DB_ARGS(DB_INT(category_id), DB_STR(f->description), DB_INT(t.id))) != 0)
        goto DbError;
    if (db_affected_rows(db) == 0) {
        /* Accepted meanwhile (or nothing changed: the same values). */
        long long open;
        if (db_query_int(db, &open,
                         "SELECT 1 FROM repair_tickets WHERE id = ? AND state IN ('submitted', 'dispatched')",
                         DB_ARGS(DB_INT(t.id))) < 0)
            goto DbError;
        if (!open) {
            call_fail(c, ERR_CONFLICT, NULL,
                      "an engineer accepted the ticket meanwhile; it can no longer be corrected");
            return;
        }
    }
    if (category_id != t.category_id && rebudget_clocks(db, t.id, category_id) != 0)
        goto DbError;
    /* The timeline's note, shown to the owner and staff. */
    const char *note = f->description && f->category ? "更正了描述和类别"
                       : f->description              ? "更正了描述"
                                                     : "更正了类别";
    log_info("repairs", "ticket %lld corrected by its owner (%s)", t.id, note);
    finish_owner_action(c, db, &t, "correct", note);
    return;
DbError:
    call_fail_db(c);
}
