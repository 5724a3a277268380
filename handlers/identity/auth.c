/* auth.c: WeChat login, logout and phone binding.
 *
 *   POST /api/v1/auth/login {code}   wx.login code -> session token
 *   POST /api/v1/auth/logout         ends the presented token's session
 *   POST /api/v1/auth/phone {code}   getPhoneNumber code -> bound phone
 *
 * The caller's profile (GET /api/v1/me) is in me.c.
 *
 * Login and phone binding are two steps after their body check: the code is
 * exchanged on a WeChat worker, then stored on a DB worker. The WeChat
 * session_key that code2Session returns is not kept: no feature needs it,
 * and it is wiped from memory with the call. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/call.h"
#include "gateway/config.h"
#include "gateway/json_util.h"
#include "gateway/log.h"
#include "gateway/mask.h"
#include "gateway/roles.h"
#include "gateway/session_token.h"
#include "gateway/users.h"
#include "gateway/utf8.h"
#include "gateway/wechat_client.h"
#include "handlers/handlers.h"

/* wx.login and getPhoneNumber codes: 1-128 characters (WeChat's are 32). */
#define CODE_MAX_CHARS 128

/* Both routes' body is {code}; the state holds it and WeChat's answer, and
 * is wiped with the call (the code, and code2Session's session_key). */
typedef struct {
    char code[CODE_MAX_CHARS * 4 + 1];
    union {
        wx_session_t session; /* login: code2Session's answer */
        wx_phone_t phone;     /* phone binding: getPhoneNumber's answer */
    } wx;
} exchange_t;

static void exchange_free(void *p)
{
    if (p)
        OPENSSL_cleanse(p, sizeof(exchange_t));
    free(p);
}

static void check_code(gw_call_t *c)
{
    const char *code = json_string_or_fail(c, c->body, "code", 1, CODE_MAX_CHARS);
    if (!code)
        return;
    exchange_t *x = call_state_new_or_fail(c, 1, sizeof(*x), exchange_free);
    if (x)
        utf8_copy(x->code, sizeof(x->code), code);
}

/* ---- login ---- */

static void login_store(gw_call_t *c, db_conn_t *db);

static void login_exchange_code(gw_call_t *c)
{
    exchange_t *x = c->state;
    wx_status_t st;
    if (wx_code2session(x->code, &x->wx.session, &st) != 0) {
        call_fail_wechat(c, &st, "code");
        return;
    }
    call_then_db(c, login_store);
}

static const char *SQL_UPSERT_USER =
    "INSERT INTO users (openid, unionid, last_login_at) VALUES (?, ?, NOW(3))"
    " ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id), unionid = COALESCE(VALUES(unionid), unionid),"
    " last_login_at = NOW(3)";

static void respond_with_token(gw_call_t *c, int status)
{
    long long expires_at = (long long)time(NULL) + gw_cfg->session_ttl_s;
    char token[256];
    if (session_sign(c->user.id, expires_at, token, sizeof(token)) != 0) {
        call_fail(c, ERR_INTERNAL, NULL, NULL);
        return;
    }
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "token", token);
    cJSON_AddNumberToObject(d, "expires_at", (double)expires_at);
    cJSON_AddNumberToObject(d, "expires_in", gw_cfg->session_ttl_s);
    cJSON_AddItemToObject(d, "user", users_to_json(&c->user));
    call_ok(c, status, d);
}

static void login_store(gw_call_t *c, db_conn_t *db)
{
    const wx_session_t *s = &((const exchange_t *)c->state)->wx.session;
    if (db_begin(db) != 0 ||
        db_exec(db, SQL_UPSERT_USER, DB_ARGS(DB_STR(s->openid), DB_STR(*s->unionid ? s->unionid : NULL))) != 0)
        goto DbError;
    long long uid = (long long)db_insert_id(db);
    if (db_commit(db) != 0)
        goto DbError;
    int found = users_load_status(db, uid, &c->user);
    if (found < 0)
        goto DbError;
    char masked[64];
    mask_openid(s->openid, masked, sizeof(masked));
    if (found != 1) {
        log_info("auth", "login refused user=%lld openid=%s: disabled", uid, masked);
        call_fail(c, ERR_USER_DISABLED, NULL, "this account is disabled; ask the property's staff");
        return;
    }
    log_info("auth", "login user=%lld openid=%s", uid, masked);
    respond_with_token(c, 200);
    return;
DbError:
    call_fail_db(c);
}

/* ---- logout ---- */

/* The session id goes into revoked_sessions until the token's own expiry;
 * the auth step refuses it from then on (users.h). Rows past their expiry
 * are useless; each logout purges a bounded batch of them. */
static void logout(gw_call_t *c, db_conn_t *db)
{
    if (db_begin(db) != 0 ||
        db_exec(db,
                "INSERT IGNORE INTO revoked_sessions (session_id, user_id, expires_at)"
                " VALUES (?, ?, FROM_UNIXTIME(?))",
                DB_ARGS(DB_STR(c->session_id), DB_INT(c->user.id), DB_INT(c->session_expires_at))) != 0 ||
        db_exec(db, "DELETE FROM revoked_sessions WHERE expires_at < NOW(3) LIMIT 100", DB_NOARGS) != 0 ||
        db_commit(db) != 0) {
        call_fail_db(c);
        return;
    }
    users_changed(c->user.id);
    log_info("auth", "logout user=%lld", c->user.id);
    cJSON *d = cJSON_CreateObject();
    cJSON_AddBoolToObject(d, "logged_out", 1);
    call_ok(c, 200, d);
}

/* ---- phone binding ---- */

static void phone_store(gw_call_t *c, db_conn_t *db);

static void phone_exchange_code(gw_call_t *c)
{
    exchange_t *x = c->state;
    wx_status_t st;
    if (wx_get_phone_number(x->code, &x->wx.phone, &st) != 0) {
        call_fail_wechat(c, &st, "code");
        return;
    }
    if (!*x->wx.phone.pure_phone) {
        call_fail(c, ERR_WECHAT_ERROR, NULL, "WeChat returned no phone number");
        return;
    }
    call_then_db(c, phone_store);
}

/* Mainland numbers are stored as their 11 digits (the roster's form); others
 * as +<country code><number>. */
static void normalise_phone(const wx_phone_t *p, char *out, size_t outsz)
{
    if (!*p->country_code || !strcmp(p->country_code, "86"))
        snprintf(out, outsz, "%s", p->pure_phone);
    else
        snprintf(out, outsz, "+%s%s", p->country_code, p->pure_phone);
}

static void phone_store(gw_call_t *c, db_conn_t *db)
{
    char phone[48];
    normalise_phone(&((const exchange_t *)c->state)->wx.phone, phone, sizeof(phone));
    long long uid = c->user.id;
    if (db_begin(db) != 0 ||
        db_exec(db, "UPDATE users SET phone = ? WHERE id = ?", DB_ARGS(DB_STR(phone), DB_INT(uid))) != 0)
        goto DbError;
    /* The phone is the customer's identity: claim roster rows and leads that
     * carry it and belong to nobody yet. */
    if (db_exec(db, "UPDATE owners SET user_id = ? WHERE phone = ? AND user_id IS NULL",
                DB_ARGS(DB_INT(uid), DB_STR(phone))) != 0)
        goto DbError;
    long long owner_rows = (long long)db_affected_rows(db);
    if (db_exec(db, "UPDATE leads SET user_id = ? WHERE phone = ? AND user_id IS NULL",
                DB_ARGS(DB_INT(uid), DB_STR(phone))) != 0)
        goto DbError;
    long long lead_rows = (long long)db_affected_rows(db);
    if (db_commit(db) != 0)
        goto DbError;
    users_changed(uid);
    if (users_load(db, uid, &c->user) < 0)
        goto DbError;
    char masked[32];
    mask_phone(phone, masked, sizeof(masked));
    log_info("auth", "phone bound user=%lld phone=%s owner_units=%lld leads=%lld", uid, masked, owner_rows, lead_rows);
    cJSON *d = cJSON_CreateObject();
    cJSON_AddItemToObject(d, "user", users_to_json(&c->user));
    cJSON *linked = cJSON_AddObjectToObject(d, "linked");
    cJSON_AddNumberToObject(linked, "owner_units", (double)owner_rows);
    cJSON_AddNumberToObject(linked, "leads", (double)lead_rows);
    call_ok(c, 200, d);
    return;
DbError:
    call_fail_db(c);
}

static const route_t routes[] = {
    {"POST", "/api/v1/auth/login", 0, BODY_JSON, WECHAT_STEP(login_exchange_code), BODY_CHECK(check_code),
     .rate = RATE_LOGIN, .wechat = WX_LOGIN},
    {"POST", "/api/v1/auth/logout", ROLE_ANY, BODY_NONE, DB_STEP(logout)},
    {"POST", "/api/v1/auth/phone", ROLE_ANY, BODY_JSON, WECHAT_STEP(phone_exchange_code), BODY_CHECK(check_code),
     .rate = RATE_LOGIN, .wechat = WX_PHONE},
};

void auth_register(void)
{
    users_auth_cache_register();
    ROUTES_REGISTER(routes);
}
