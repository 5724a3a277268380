/* complaints.c: complaints, suggestions, praise and enquiries, the owner's
 * side (domain/complaints/complaint.h has the states and who may see one).
 *
 *   POST /api/v1/complaints              file one (an owner; Idempotency-Key header)
 *                                        {type, category, content, unit_id? | project_id?, photo_ids?}
 *   GET  /api/v1/complaints              the caller's own, newest first
 *   GET  /api/v1/complaints/:id          one, for the owner (public timeline) and its staff (with notes)
 *   POST /api/v1/complaints/:id/accept   the owner accepts the proposed resolution {rating?, comment?}: -> closed
 *   POST /api/v1/complaints/:id/reject   the owner rejects it {reason}: -> in_progress, a new round
 *   POST /api/v1/complaints/:id/confirm  the owner confirms one the service desk filed for them,
 *                                        correcting its content or category {content?, category?}
 *
 * Every write is one transaction that locks the complaint first, so an
 * owner's answer and a staff member's action on the same complaint are
 * serialised and the later one sees the earlier one's state (409). */
#include <stdlib.h>
#include <string.h>

#include "domain/complaints/complaint.h"
#include "domain/complaints/complaint_actions.h"
#include "domain/complaints/complaint_catalog.h"
#include "domain/complaints/complaint_clocks.h"
#include "gateway/call.h"
#include "gateway/idempotency.h"
#include "gateway/json_util.h"
#include "gateway/log.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"

/* ---- filing ---- */

typedef struct {
    long long unit_id, project_id;
    const char *type, *category, *content; /* point into c->body */
    long long photo_ids[COMPLAINT_MAX_PHOTOS];
    int nphotos;
} file_req_t;

static void check_file(gw_call_t *c)
{
    int present;
    file_req_t *q = call_state_new_or_fail(c, 1, sizeof(*q), free);
    if (!q || idempotency_key_or_fail(c) != 0 ||
        !(q->type = json_enum_or_fail(c, c->body, "type", complaint_type_names)) ||
        !(q->category = json_string_or_fail(c, c->body, "category", 1, 32)) ||
        !(q->content = json_string_or_fail(c, c->body, "content", 1, COMPLAINT_CONTENT_MAX)) ||
        json_opt_int_or_fail(c, c->body, "unit_id", 1, 1LL << 53, &q->unit_id, &present) != 0 ||
        json_opt_int_or_fail(c, c->body, "project_id", 1, 1LL << 53, &q->project_id, &present) != 0)
        return;
    if (!q->unit_id && !q->project_id) {
        call_fail(c, ERR_MISSING_FIELD, "unit_id",
                  "unit_id (or, for a complaint about no unit, project_id) is required");
        return;
    }
    repair_photo_ids_or_fail(c, c->body, q->photo_ids, &q->nphotos);
}

static void file_store(gw_call_t *c, db_conn_t *db)
{
    const file_req_t *q = c->state;
    idem_claim_t claim;
    if (idempotency_begin(c, "complaints.create", &claim) != IDEM_CLAIMED)
        return;
    complaint_filing_t f = {.user_id = c->user.id,
                            .unit_id = q->unit_id,
                            .project_id = q->project_id,
                            .type = q->type,
                            .category = q->category,
                            .content = q->content,
                            .channel = "miniprogram",
                            .actor_role = "owner",
                            .photo_ids = q->photo_ids,
                            .nphotos = q->nphotos,
                            .photo_owner_id = c->user.id};
    long long id;
    if (complaint_file_or_fail(c, db, &f, &id) != 0)
        return;
    cJSON *d = complaint_detail_json(db, id, 0);
    if (!d || idempotency_finish(c, &claim, 201, id, d) != 0 || db_commit(db) != 0) {
        cJSON_Delete(d);
        call_fail_db(c);
        return;
    }
    log_info("complaints", "complaint %lld (%s) filed by user %lld", id, q->type, c->user.id);
    call_ok(c, 201, d);
}

/* ---- reading ---- */

static void list_own(gw_call_t *c, db_conn_t *db)
{
    static const char *const keys[] = {"id"};
    page_t page;
    if (page_or_fail(c, 1, &page) != 0)
        return;
    db_rows_t *r =
        db_query(db,
                 "SELECT " COMPLAINT_ITEM_COLUMNS COMPLAINT_ITEM_FROM
                 " WHERE k.user_id = ? AND k.id < ? ORDER BY k.id DESC LIMIT ?",
                 DB_ARGS(DB_INT(c->user.id), DB_INT(page_key(&page, 0, PAGE_KEY_MAX)), DB_INT(page.limit + 1)));
    if (!r) {
        call_fail_db(c);
        return;
    }
    page_respond(c, &page, r, complaint_item_json, NULL, keys);
    db_rows_free(r);
}

static void show(gw_call_t *c, db_conn_t *db)
{
    long long id;
    complaint_t k;
    if (call_param_id_or_fail(c, "id", &id) != 0 || complaint_load_or_fail(c, db, id, 0, &k) != 0)
        return;
    cJSON *d = complaint_detail_json(db, id, (k.rel & COMPLAINT_REL_STAFF) != 0);
    if (!d) {
        call_fail_db(c);
        return;
    }
    call_ok(c, 200, d);
}

/* ---- the owner's answers ---- */

typedef struct {
    const char *text, *category; /* point into c->body */
    long long rating;
} answer_t;

static answer_t *answer_new_or_fail(gw_call_t *c)
{
    return call_state_new_or_fail(c, 1, sizeof(answer_t), free);
}

/* accept: {rating? 1-5, comment?} */
static void check_accept(gw_call_t *c)
{
    int present;
    answer_t *a = answer_new_or_fail(c);
    if (a && json_opt_int_or_fail(c, c->body, "rating", 1, 5, &a->rating, &present) == 0)
        json_opt_string_or_fail(c, c->body, "comment", 1, 500, &a->text);
}

/* reject: {reason} */
static void check_reject(gw_call_t *c)
{
    answer_t *a = answer_new_or_fail(c);
    if (a)
        a->text = json_string_or_fail(c, c->body, "reason", 1, 500);
}

/* confirm: {content?, category?} */
static void check_confirm(gw_call_t *c)
{
    answer_t *a = answer_new_or_fail(c);
    if (a && json_opt_string_or_fail(c, c->body, "content", 1, COMPLAINT_CONTENT_MAX, &a->text) == 0)
        json_opt_string_or_fail(c, c->body, "category", 1, 32, &a->category);
}

/* Opens the transaction and locks the caller's own complaint: 0, or -1
 * with the call failed (404, or 403 for staff who may see it). */
static int begin_own_or_fail(gw_call_t *c, db_conn_t *db, complaint_t *k)
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
    if (!(k->rel & COMPLAINT_REL_OWNER)) {
        call_fail(c, ERR_FORBIDDEN, NULL, "only the owner may answer their complaint");
        return -1;
    }
    return 0;
}

static void fail_state(gw_call_t *c, const char *what, const complaint_t *k)
{
    call_fail(c, ERR_CONFLICT, NULL, "cannot %s: the complaint is %s (%s)", what, complaint_state_label(k->state),
              k->state);
}

/* Commits and answers the complaint's detail for the owner. */
static void commit_and_show(gw_call_t *c, db_conn_t *db, long long id, int staff)
{
    cJSON *d = complaint_detail_json(db, id, staff);
    if (!d || db_commit(db) != 0) {
        cJSON_Delete(d);
        call_fail_db(c);
        return;
    }
    call_ok(c, 200, d);
}

static void accept(gw_call_t *c, db_conn_t *db)
{
    const answer_t *a = c->state;
    complaint_t k;
    if (begin_own_or_fail(c, db, &k) != 0)
        return;
    if (strcmp(k.state, "resolved") != 0) {
        fail_state(c, "accept", &k);
        return;
    }
    /* The rating first: closing opens the follow-up a poor one asks for. */
    if ((a->rating &&
         db_exec(db, "UPDATE complaints SET rating = ? WHERE id = ?", DB_ARGS(DB_INT(a->rating), DB_INT(k.id))) != 0) ||
        complaint_close(db, k.id, "resolved", "accepted", c->user.id, "owner", a->text) != 1) {
        call_fail_db(c);
        return;
    }
    commit_and_show(c, db, k.id, 0);
}

/* A rejection reopens it: a new round of clocks, the handler (or, with
 * none, the supervisors) told. */
static void reject(gw_call_t *c, db_conn_t *db)
{
    const answer_t *a = c->state;
    complaint_t k;
    if (begin_own_or_fail(c, db, &k) != 0)
        return;
    if (strcmp(k.state, "resolved") != 0) {
        fail_state(c, "reject", &k);
        return;
    }
    if (complaint_new_round(db, k.id, "resolved", "reject", c->user.id, "owner", a->text) != 1)
        goto DbError;
    commit_and_show(c, db, k.id, 0);
    return;
DbError:
    call_fail_db(c);
}

/* Only a complaint filed for the owner, once: the owner's confirmation,
 * with their corrections (the content then holds their words; what the
 * desk wrote stays in the timeline). */
static void confirm(gw_call_t *c, db_conn_t *db)
{
    const answer_t *a = c->state;
    complaint_t k;
    if (begin_own_or_fail(c, db, &k) != 0)
        return;
    if (!k.filed_by) {
        call_fail(c, ERR_CONFLICT, NULL, "only a complaint filed for you by the service desk is confirmed");
        return;
    }
    if (k.confirmed) {
        call_fail(c, ERR_CONFLICT, NULL, "already confirmed");
        return;
    }
    long long category = k.category_id;
    if (a->category) {
        int rc = complaint_category_find(db, k.project_id, a->category, 0, &category);
        if (rc < 0)
            goto DbError;
        if (rc == 0) {
            call_fail(c, ERR_INVALID_FIELD, "category", "unknown or inactive category \"%s\"", a->category);
            return;
        }
    }
    db_rows_t *r = db_query(db, "SELECT content FROM complaints WHERE id = ?", DB_ARGS(DB_INT(k.id)));
    if (!r || r->nrows != 1) {
        db_rows_free(r);
        goto DbError;
    }
    /* The desk's words go to the timeline before the owner's replace them. */
    long long row = a->text ? complaint_timeline_add(db, k.id, "correct", NULL, NULL, "public", c->user.id, "owner",
                                                     db_get(r, 0, "content"), NULL, 0, 0, NULL)
                            : 1;
    db_rows_free(r);
    if (row <= 0 ||
        db_exec(db,
                "UPDATE complaints SET owner_confirmed_at = NOW(3), content = COALESCE(?, content), category_id = ?"
                " WHERE id = ?",
                DB_ARGS(DB_STR(a->text), DB_INT(category), DB_INT(k.id))) != 0 ||
        complaint_timeline_add(db, k.id, "confirm", NULL, NULL, "public", c->user.id, "owner", NULL, NULL, 0, 0,
                               NULL) <= 0 ||
        (category != k.category_id && complaint_clocks_sync(db, k.id) != 0))
        goto DbError;
    commit_and_show(c, db, k.id, 0);
    return;
DbError:
    call_fail_db(c);
}

static const route_t routes[] = {
    {"POST", "/api/v1/complaints", ROLE_OWNER, BODY_JSON, DB_STEP(file_store), BODY_CHECK(check_file)},
    {"GET", "/api/v1/complaints", ROLE_ANY, BODY_NONE, DB_STEP(list_own)},
    {"GET", "/api/v1/complaints/:id", ROLE_ANY, BODY_NONE, DB_STEP(show)},
    {"POST", "/api/v1/complaints/:id/accept", ROLE_ANY, BODY_JSON, DB_STEP(accept), BODY_CHECK(check_accept)},
    {"POST", "/api/v1/complaints/:id/reject", ROLE_ANY, BODY_JSON, DB_STEP(reject), BODY_CHECK(check_reject)},
    {"POST", "/api/v1/complaints/:id/confirm", ROLE_ANY, BODY_JSON, DB_STEP(confirm), BODY_CHECK(check_confirm)},
};

void complaints_register(void)
{
    if (complaint_clocks_register() != 0)
        log_error("complaints", "the complaint clocks could not be registered");
    ROUTES_REGISTER(routes);
}
