/* referrals.c: referral touches, an owner's referral code, and the
 * caller's referrals.
 *
 *   POST /api/v1/referrals/touch {code, project_id?}   any: opened from a share
 *   GET  /api/v1/referrals?cursor=&limit=              the caller's referees (masked)
 *   GET  /api/v1/referrals/code                        owner: {code, status, scene, page}
 *   GET  /api/v1/referrals/qrcode                      owner: the image (image/png or image/jpeg)
 *
 * A touch binds the caller (the referee) to the code's owner for
 * referral_protection_days, unless a binding by someone else still holds:
 * then the touch is recorded (referral_touches, outcome "recorded") and
 * answered 409 ALREADY_BOUND. At most one active binding per referee is a
 * unique key; touches for the same referee are serialised on the referee's
 * user row, so the second finds the first's binding. Rejected touches
 * (unknown code, self-referral, already a customer) change nothing.
 *
 * The code is made on first request and is stable afterwards (one per
 * owner: unique key). The image comes from getwxacodeunlimit with the code as
 * scene, once: it is stored in referral_codes.qr_image and served from there.
 * A WeChat error is answered as an error and nothing is stored (the client
 * refuses a JSON body as an image). Three steps: DB (code, stored image?),
 * WeChat (fetch), DB (store, first writer wins). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/leads/lead_json.h"
#include "domain/leads/lead_rules.h"
#include "gateway/call.h"
#include "gateway/config.h"
#include "gateway/db_json.h"
#include "gateway/json_util.h"
#include "gateway/log.h"
#include "gateway/query.h"
#include "gateway/roles.h"
#include "gateway/utf8.h"
#include "gateway/wechat_client.h"
#include "handlers/handlers.h"

/* ---- POST /referrals/touch ---- */

/* The body, checked on the loop. */
typedef struct {
    char code[REFERRAL_CODE_LEN + 1]; /* normalised */
    long long project_id;             /* 0 when not given */
} touch_form_t;

static void check_touch_form(gw_call_t *c)
{
    long long project_id = 0;
    int present;
    const char *raw = json_string_or_fail(c, c->body, "code", 1, 64);
    if (!raw || json_opt_int_or_fail(c, c->body, "project_id", 1, 1LL << 53, &project_id, &present) != 0)
        return;
    touch_form_t *f = call_state_new_or_fail(c, 1, sizeof(*f), free);
    if (!f)
        return;
    if (referral_code_normalise(raw, f->code, sizeof(f->code)) != 0) {
        call_fail(c, ERR_REFERRAL_CODE_UNKNOWN, "code", "this is not a referral code");
        return;
    }
    f->project_id = present ? project_id : 0;
}

typedef struct {
    long long code_id, referrer;
    char referrer_name[64];
    long long project_id; /* 0 when not given */
} touch_t;

/* The code's owner must still be an active owner (in the roster). */
static const char *SQL_CODE =
    "SELECT c.id, c.owner_user_id, u.phone,"
    " COALESCE((SELECT o.name FROM owners o WHERE o.user_id = u.id ORDER BY o.id LIMIT 1), u.display_name) AS name"
    " FROM referral_codes c JOIN users u ON u.id = c.owner_user_id"
    " WHERE c.code = ? AND c.status = 'active' AND u.disabled = 0"
    " AND EXISTS (SELECT 1 FROM owners o WHERE o.user_id = u.id)";

/* The caller is already a customer of the project: in its owner roster, or
 * an open lead there that its phone's holder verified (by phone or by
 * user). An unverified lead someone filed with the caller's phone does not
 * count: it must not keep a genuine referrer out. */
static const char *SQL_ALREADY_CUSTOMER =
    "SELECT EXISTS (SELECT 1 FROM owners o JOIN units un ON un.id = o.unit_id JOIN buildings b ON b.id = un.building_id"
    "               WHERE b.project_id = ? AND (o.phone = ? OR o.user_id = ?))"
    " OR EXISTS (SELECT 1 FROM leads l WHERE l.project_id = ? AND l.stage NOT IN ('lost', 'cancelled')"
    "            AND l.phone_verified = 1 AND (l.phone = ? OR l.user_id = ?))";

/* Checks the rules that reject a touch outright. 0 valid, -1 answered
 * (rejected, or a db error). */
static int touch_rules_or_fail(gw_call_t *c, db_conn_t *db, const touch_form_t *in, touch_t *t)
{
    db_rows_t *r = db_query(db, SQL_CODE, DB_ARGS(DB_STR(in->code)));
    if (!r)
        goto DbError;
    if (r->nrows == 0) {
        db_rows_free(r);
        call_fail(c, ERR_REFERRAL_CODE_UNKNOWN, "code", "%s is not an active referral code", in->code);
        return -1;
    }
    t->code_id = db_get_int(r, 0, "id");
    t->referrer = db_get_int(r, 0, "owner_user_id");
    const char *referrer_phone = db_get(r, 0, "phone");
    const char *name = db_get(r, 0, "name");
    lead_mask_name(name ? name : "", t->referrer_name, sizeof(t->referrer_name));
    int self =
        t->referrer == c->user.id || (referrer_phone && c->user.has_phone && !strcmp(referrer_phone, c->user.phone));
    db_rows_free(r);
    if (self) {
        call_fail(c, ERR_SELF_REFERRAL, "code", "this is your own referral code");
        return -1;
    }
    if (!t->project_id)
        return 0;
    long long v;
    int found = db_query_int(db, &v, "SELECT 1 FROM projects WHERE id = ?", DB_ARGS(DB_INT(t->project_id)));
    if (found < 0)
        goto DbError;
    if (found == 0) {
        call_fail(c, ERR_NOT_FOUND, "project_id", "project %lld does not exist", t->project_id);
        return -1;
    }
    const char *phone = c->user.has_phone ? c->user.phone : NULL;
    if (db_query_int(db, &v, SQL_ALREADY_CUSTOMER,
                     DB_ARGS(DB_INT(t->project_id), DB_STR(phone), DB_INT(c->user.id), DB_INT(t->project_id),
                             DB_STR(phone), DB_INT(c->user.id))) < 0)
        goto DbError;
    if (v) {
        call_fail(c, ERR_ALREADY_CUSTOMER, "project_id", "you are already a customer of this project");
        return -1;
    }
    return 0;
DbError:
    call_fail_db(c);
    return -1;
}

typedef enum { TOUCH_BOUND, TOUCH_SAME_REFERRER, TOUCH_RECORDED } touch_outcome_t;

static const char *const outcome_names[] = {"bound", "same_referrer", "recorded"};

static const char *SQL_BINDING =
    "SELECT id, referrer_user_id, UNIX_TIMESTAMP(expires_at) AS expires_at, expires_at > NOW(3) AS holds"
    " FROM referral_bindings WHERE active_referee = ? FOR UPDATE";

/* One attempt in one transaction. 0 committed (*outcome, *binding,
 * *expires set), -1 db error (the caller rolls back, maybe retries). */
static int bind(gw_call_t *c, db_conn_t *db, const touch_t *t, touch_outcome_t *outcome, long long *binding,
                long long *expires)
{
    /* Touches for one referee queue on the referee's user row, so racing
     * touches do not deadlock on the bindings index; the unique key on the
     * active binding stays the guarantee. */
    long long me;
    if (db_begin(db) != 0 ||
        db_query_int(db, &me, "SELECT id FROM users WHERE id = ? FOR UPDATE", DB_ARGS(DB_INT(c->user.id))) < 0)
        return -1;
    db_rows_t *r = db_query(db, SQL_BINDING, DB_ARGS(DB_INT(c->user.id)));
    if (!r)
        return -1;
    int holds = r->nrows == 1 && db_get_int(r, 0, "holds");
    long long old = r->nrows == 1 ? db_get_int(r, 0, "id") : 0;
    if (holds) {
        *binding = old;
        *expires = db_get_int(r, 0, "expires_at");
        *outcome = db_get_int(r, 0, "referrer_user_id") == t->referrer ? TOUCH_SAME_REFERRER : TOUCH_RECORDED;
    }
    db_rows_free(r);
    if (!holds) {
        if (old && db_exec(db, "UPDATE referral_bindings SET status = 'expired' WHERE id = ? AND status = 'active'",
                           DB_ARGS(DB_INT(old))) != 0)
            return -1;
        if (db_exec(db,
                    "INSERT INTO referral_bindings (referee_user_id, referrer_user_id, code_id, expires_at)"
                    " VALUES (?, ?, ?, NOW(3) + INTERVAL ? DAY)",
                    DB_ARGS(DB_INT(c->user.id), DB_INT(t->referrer), DB_INT(t->code_id),
                            DB_INT(gw_cfg->referral_protection_days))) != 0)
            return -1;
        *binding = (long long)db_insert_id(db);
        *outcome = TOUCH_BOUND;
        if (db_query_int(db, expires, "SELECT UNIX_TIMESTAMP(expires_at) FROM referral_bindings WHERE id = ?",
                         DB_ARGS(DB_INT(*binding))) < 0)
            return -1;
    }
    if (db_exec(
            db,
            "INSERT INTO referral_touches (code_id, referrer_user_id, referee_user_id, project_id, outcome, binding_id)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            DB_ARGS(DB_INT(t->code_id), DB_INT(t->referrer), DB_INT(c->user.id),
                    t->project_id ? DB_INT(t->project_id) : DB_NULL, DB_STR(outcome_names[*outcome]),
                    DB_INT(*binding))) != 0)
        return -1;
    return db_commit(db);
}

static void touch(gw_call_t *c, db_conn_t *db)
{
    const touch_form_t *f = c->state;
    touch_t t = {.project_id = f->project_id};
    if (touch_rules_or_fail(c, db, f, &t) != 0)
        return;
    touch_outcome_t outcome = TOUCH_BOUND;
    long long binding = 0, expires = 0;
    for (int attempt = 1;; attempt++) {
        if (bind(c, db, &t, &outcome, &binding, &expires) == 0)
            break;
        /* Rolled back here, not by the runner: the call goes on with a
         * retry, which must start a transaction of its own. */
        unsigned e = db_errno(db);
        db_rollback(db);
        if (attempt < 3 && (e == DB_ER_DUP_ENTRY || e == DB_ER_LOCK_DEADLOCK))
            continue; /* a concurrent touch bound first: the retry sees it */
        call_fail_db(c);
        return;
    }
    log_info("referrals", "touch: referee %lld, referrer %lld: %s", c->user.id, t.referrer, outcome_names[outcome]);
    if (outcome == TOUCH_RECORDED) {
        call_fail(c, ERR_ALREADY_BOUND, "code",
                  "you are bound to another referrer until %lld; this touch was recorded but changes nothing", expires);
        return;
    }
    cJSON *d = cJSON_CreateObject();
    cJSON_AddBoolToObject(d, "bound", 1);
    cJSON_AddBoolToObject(d, "new_binding", outcome == TOUCH_BOUND);
    cJSON_AddStringToObject(d, "referrer_name", t.referrer_name);
    cJSON_AddNumberToObject(d, "expires_at", (double)expires);
    call_ok(c, outcome == TOUCH_BOUND ? 201 : 200, d);
}

/* ---- GET /referrals ---- */

static const char *SQL_MY_REFERRALS =
    "SELECT r.id, r.project_id AS `project.id`, p.name AS `project.name`, l.name AS referee_name,"
    " l.phone AS referee_phone, r.stage, FLOOR(UNIX_TIMESTAMP(r.protection_expires_at)) AS protection_expires_at,"
    " FLOOR(UNIX_TIMESTAMP(r.locked_at)) AS locked_at, " LEAD_REWARD_COLUMNS
    " FROM referrals r JOIN projects p ON p.id = r.project_id JOIN leads l ON l.id = r.lead_id"
    " LEFT JOIN referral_rewards w ON w.referral_id = r.id"
    " WHERE r.referrer_user_id = ? AND r.id < ? ORDER BY r.id DESC LIMIT ?";

/* The row as selected, the referee masked, with the stage's label. */
static cJSON *my_referral_json(const db_rows_t *r, int i, void *ud)
{
    (void)ud;
    cJSON *o = db_row_json(r, i);
    if (o &&
        (lead_json_mask_name(o, "referee_name") != 0 || lead_json_mask_phone(o, "referee_phone") != 0 ||
         !cJSON_AddStringToObject(o, "stage_label", lead_stage_label(lead_stage_from_name(db_get(r, i, "stage")))) ||
         lead_json_amount_display(cJSON_GetObjectItemCaseSensitive(o, "reward")) != 0)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static void list_my_referrals(gw_call_t *c, db_conn_t *db)
{
    static const char *const keys[] = {"id"};
    page_t page;
    if (page_or_fail(c, 1, &page) != 0)
        return;
    db_rows_t *r =
        db_query(db, SQL_MY_REFERRALS,
                 DB_ARGS(DB_INT(c->user.id), DB_INT(page_key(&page, 0, PAGE_KEY_MAX)), DB_INT(page.limit + 1)));
    if (!r) {
        call_fail_db(c);
        return;
    }
    page_respond(c, &page, r, my_referral_json, NULL, keys);
    db_rows_free(r);
}

/* ---- GET /referrals/code ---- */

typedef struct {
    long long id;
    char code[REFERRAL_CODE_LEN + 1];
    char status[16];
    long long created_at;
} referral_code_t;

static const char *SQL_OWNER_CODE =
    "SELECT id, code, status, FLOOR(UNIX_TIMESTAMP(created_at)) AS created_at FROM referral_codes"
    " WHERE owner_user_id = ?";

/* 1 found, 0 none, -1 db error. */
static int load_code(gw_call_t *c, db_conn_t *db, referral_code_t *out)
{
    db_rows_t *r = db_query(db, SQL_OWNER_CODE, DB_ARGS(DB_INT(c->user.id)));
    if (!r)
        return -1;
    int found = r->nrows == 1;
    if (found) {
        out->id = db_get_int(r, 0, "id");
        utf8_copy(out->code, sizeof(out->code), db_get(r, 0, "code"));
        utf8_copy(out->status, sizeof(out->status), db_get(r, 0, "status"));
        out->created_at = db_get_int(r, 0, "created_at");
    }
    db_rows_free(r);
    return found;
}

/* The caller's code, made if missing. INSERT IGNORE ignores both a
 * concurrent first request (same owner) and a code collision; reading back
 * tells which, and a collision retries with a new code. 0 or -1. */
static int ensure_code(gw_call_t *c, db_conn_t *db, referral_code_t *out)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        int found = load_code(c, db, out);
        if (found != 0)
            return found < 0 ? -1 : 0;
        char code[REFERRAL_CODE_LEN + 1];
        if (referral_code_generate(code, sizeof(code)) != 0)
            return -1;
        if (db_exec(db, "INSERT IGNORE INTO referral_codes (owner_user_id, code) VALUES (?, ?)",
                    DB_ARGS(DB_INT(c->user.id), DB_STR(code))) != 0)
            return -1;
    }
    log_error("referrals", "could not make a unique referral code for user %lld", c->user.id);
    return -1;
}

static void get_code(gw_call_t *c, db_conn_t *db)
{
    referral_code_t rc;
    if (ensure_code(c, db, &rc) != 0) {
        call_fail_db(c);
        return;
    }
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "code", rc.code);
    cJSON_AddStringToObject(d, "status", rc.status);
    cJSON_AddStringToObject(d, "scene", rc.code);
    cJSON_AddStringToObject(d, "page", gw_cfg->referral_qr_page);
    cJSON_AddNumberToObject(d, "created_at", (double)rc.created_at);
    call_ok(c, 200, d);
}

/* ---- GET /referrals/qrcode ---- */

typedef struct {
    referral_code_t code;
    unsigned char *image;
    size_t image_len;
    char content_type[64];
} qr_state_t;

static void qr_state_free(void *p)
{
    qr_state_t *s = p;
    free(s->image);
    free(s);
}

static void respond_image(gw_call_t *c, const char *content_type, const char *bytes, size_t len)
{
    char *copy = malloc(len ? len : 1);
    if (!copy) {
        call_fail(c, ERR_INTERNAL, NULL, NULL);
        return;
    }
    memcpy(copy, bytes, len);
    /* The image never changes for this owner. */
    snprintf(c->cache_control, sizeof(c->cache_control), "private, max-age=86400");
    call_ok_raw(c, content_type, copy, len);
}

static void qr_fetch(gw_call_t *c);

static void qr_start(gw_call_t *c, db_conn_t *db)
{
    qr_state_t *s = call_state_new_or_fail(c, 1, sizeof(*s), qr_state_free);
    if (!s)
        return;
    if (ensure_code(c, db, &s->code) != 0)
        goto DbError;
    db_rows_t *r =
        db_query(db, "SELECT qr_image, qr_content_type FROM referral_codes WHERE id = ? AND qr_image IS NOT NULL",
                 DB_ARGS(DB_INT(s->code.id)));
    if (!r)
        goto DbError;
    if (r->nrows == 1)
        respond_image(c, db_is_null(r, 0, "qr_content_type") ? "image/png" : db_get(r, 0, "qr_content_type"),
                      db_get(r, 0, "qr_image"), db_get_len(r, 0, "qr_image"));
    else
        call_then_wechat(c, qr_fetch);
    db_rows_free(r);
    return;
DbError:
    call_fail_db(c);
}

static void qr_store(gw_call_t *c, db_conn_t *db);

static void qr_fetch(gw_call_t *c)
{
    qr_state_t *s = c->state;
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "scene", s->code.code);
    cJSON_AddStringToObject(body, "page", gw_cfg->referral_qr_page);
    cJSON_AddNumberToObject(body, "width", 430);
    char *json = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    wx_status_t st;
    int rc = wx_get_unlimited_qrcode(json, &s->image, &s->image_len, s->content_type, sizeof(s->content_type), &st);
    free(json);
    if (rc != 0) {
        log_warn("referrals", "referral code image for user %lld failed: WeChat %d", c->user.id, st.errcode);
        call_fail_wechat(c, &st, NULL);
        return;
    }
    call_then_db(c, qr_store);
}

static void qr_store(gw_call_t *c, db_conn_t *db)
{
    qr_state_t *s = c->state;
    /* A concurrent first request may have stored its image already; both
     * carry the same scene, so either is right and the first one stays. */
    if (db_exec(db,
                "UPDATE referral_codes SET qr_image = ?, qr_content_type = ?, qr_created_at = NOW(3)"
                " WHERE id = ? AND qr_image IS NULL",
                DB_ARGS(DB_STRN((const char *)s->image, s->image_len), DB_STR(s->content_type), DB_INT(s->code.id))) !=
        0) {
        call_fail_db(c);
        return;
    }
    log_info("referrals", "referral code image stored for user %lld (%zu bytes)", c->user.id, s->image_len);
    snprintf(c->cache_control, sizeof(c->cache_control), "private, max-age=86400");
    call_ok_raw(c, s->content_type, (char *)s->image, s->image_len);
    s->image = NULL; /* the call owns it now */
}

static const route_t routes[] = {
    {"POST", "/api/v1/referrals/touch", ROLE_ANY, BODY_JSON, DB_STEP(touch), BODY_CHECK(check_touch_form),
     .rate = RATE_REFERRAL},
    {"GET", "/api/v1/referrals", ROLE_ANY, BODY_NONE, DB_STEP(list_my_referrals)},
    {"GET", "/api/v1/referrals/code", ROLE_OWNER, BODY_NONE, DB_STEP(get_code)},
    {"GET", "/api/v1/referrals/qrcode", ROLE_OWNER, BODY_NONE, DB_STEP(qr_start), .wechat = WX_QR},
};

void referrals_register(void)
{
    ROUTES_REGISTER(routes);
}
