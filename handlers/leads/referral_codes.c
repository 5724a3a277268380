/* referral_codes.c: an owner's referral code and its mini-program code image.
 *
 *   GET /api/v1/referrals/code     owner: {code, status, scene, page}
 *   GET /api/v1/referrals/qrcode   owner: the image (image/png or image/jpeg)
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

#include "gateway/call.h"
#include "gateway/config.h"
#include "gateway/log.h"
#include "gateway/roles.h"
#include "gateway/wechat_client.h"
#include "handlers/handlers.h"
#include "domain/leads/lead_rules.h"

typedef struct {
    long long id;
    char code[REFERRAL_CODE_LEN + 1];
    char status[16];
    long long created_at;
} referral_code_t;

static const char *SQL_OWNER_CODE =
    "SELECT id, code, status, UNIX_TIMESTAMP(created_at) FROM referral_codes WHERE owner_user_id = ?";

/* 1 found, 0 none, -1 db error. */
static int load_code(gw_call_t *c, referral_code_t *out)
{
    db_rows_t *r = db_query(c->db, SQL_OWNER_CODE, DB_ARGS(DB_INT(c->user.id)));
    if (!r)
        return -1;
    int found = r->nrows == 1;
    if (found) {
        out->id = db_cell_int(r, 0, 0);
        snprintf(out->code, sizeof(out->code), "%s", db_cell(r, 0, 1));
        snprintf(out->status, sizeof(out->status), "%s", db_cell(r, 0, 2));
        out->created_at = db_cell_int(r, 0, 3);
    }
    db_rows_free(r);
    return found;
}

/* The caller's code, made if missing. INSERT IGNORE ignores both a
 * concurrent first request (same owner) and a code collision; reading back
 * tells which, and a collision retries with a new code. 0 or -1. */
static int ensure_code(gw_call_t *c, referral_code_t *out)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        int found = load_code(c, out);
        if (found != 0)
            return found < 0 ? -1 : 0;
        char code[REFERRAL_CODE_LEN + 1];
        if (referral_code_generate(code, sizeof(code)) != 0)
            return -1;
        if (db_exec(c->db, "INSERT IGNORE INTO referral_codes (owner_user_id, code) VALUES (?, ?)",
                    DB_ARGS(DB_INT(c->user.id), DB_STR(code))) != 0)
            return -1;
    }
    log_error("referrals", "could not make a unique referral code for user %lld", c->user.id);
    return -1;
}

static void get_code(gw_call_t *c)
{
    referral_code_t rc;
    if (ensure_code(c, &rc) != 0) {
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

/* ---- the image ---- */

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

static void qr_start(gw_call_t *c)
{
    qr_state_t *s = call_state_new_or_fail(c, 1, sizeof(*s), qr_state_free);
    if (!s)
        return;
    if (ensure_code(c, &s->code) != 0)
        goto DbError;
    db_rows_t *r =
        db_query(c->db, "SELECT qr_image, qr_content_type FROM referral_codes WHERE id = ? AND qr_image IS NOT NULL",
                 DB_ARGS(DB_INT(s->code.id)));
    if (!r)
        goto DbError;
    if (r->nrows == 1)
        respond_image(c, db_cell(r, 0, 1) ? db_cell(r, 0, 1) : "image/png", db_cell(r, 0, 0), r->lens[0]);
    else
        call_then(c, POOL_WECHAT, qr_fetch);
    db_rows_free(r);
    return;
DbError:
    call_fail_db(c);
}

static void qr_store(gw_call_t *c);

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
        err_code_t err = wx_error_to_gateway(&st);
        if (err == ERR_RATE_LIMITED)
            c->retry_after_s = 60;
        log_warn("referrals", "referral code image for user %lld failed: WeChat %d", c->user.id, st.errcode);
        call_fail(c, err, NULL, "%s (WeChat %d)", err_info(err)->message, st.errcode);
        return;
    }
    call_then(c, POOL_DB, qr_store);
}

static void qr_store(gw_call_t *c)
{
    qr_state_t *s = c->state;
    /* A concurrent first request may have stored its image already; both
     * carry the same scene, so either is right and the first one stays. */
    if (db_exec(c->db,
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
    {"GET", "/api/v1/referrals/code", ROLE_OWNER, BODY_NONE, POOL_DB, get_code},
    {"GET", "/api/v1/referrals/qrcode", ROLE_OWNER, BODY_NONE, POOL_DB, qr_start, RATE_DEFAULT, WX_QR},
};

void referral_codes_register(void)
{
    router_add(routes, sizeof(routes) / sizeof(routes[0]));
}
