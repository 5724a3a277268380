/* console.c: the staff console's login by a mini-program code, its session
 * and its logout (console-api.md).
 *
 *   POST /api/v1/console/tickets                  a login ticket and its nonce cookie (browser)
 *   GET  /api/v1/console/tickets/{ticket}/qrcode  the ticket's mini-program code (browser, nonce)
 *   GET  /api/v1/console/tickets/{ticket}         its state; redeems a confirmed one (browser, nonce)
 *   POST /api/v1/console/tickets/{ticket}/scan    the staff member saw the code (mini-program)
 *   POST /api/v1/console/tickets/{ticket}/confirm the staff member logs the browser in (mini-program)
 *   POST /api/v1/console/tickets/{ticket}/reject  the staff member refuses it (mini-program)
 *   GET  /api/v1/console/session                  who is signed in, and the CSRF token (console)
 *   POST /api/v1/console/logout                   ends the console session (console)
 *
 * A ticket is useful only to the browser that asked for it: that browser
 * got a secret nonce in an HttpOnly cookie (only its SHA-256 is stored), and
 * every browser-side route of the ticket wants it. A photographed code can
 * be scanned and confirmed by its staff member, but only the browser with
 * the nonce learns the state and redeems the ticket for a session. The
 * redeem is one conditional UPDATE (confirmed -> redeemed) in the
 * transaction that creates the session, so one ticket gives one session
 * however many polls race for it. Times are the database's (NOW(3)), so
 * expiry is judged by one clock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/audit.h"
#include "gateway/base64url.h"
#include "gateway/call.h"
#include "gateway/config.h"
#include "gateway/console_session.h"
#include "gateway/db_json.h"
#include "gateway/log.h"
#include "gateway/roles.h"
#include "gateway/users.h"
#include "gateway/utf8.h"
#include "gateway/wechat_client.h"
#include "handlers/handlers.h"

/* 12 random bytes: a 16-character scene for getwxacodeunlimit (at most 32). */
#define TICKET_BYTES 12
#define TICKET_LEN 16
/* How often the console should poll (a hint in the answers). */
#define POLL_INTERVAL_MS 1500

/* The path's ticket, checked to be one we could have made; else 404. */
static const char *ticket_param_or_fail(gw_call_t *c)
{
    const char *t = call_param(c, "ticket");
    unsigned char raw[TICKET_BYTES];
    if (!t || strlen(t) != TICKET_LEN || b64url_decode(t, TICKET_LEN, raw, sizeof(raw)) != TICKET_BYTES) {
        call_fail(c, ERR_NOT_FOUND, NULL, "no such login ticket");
        return NULL;
    }
    return t;
}

/* The client's address with its last part hidden: "203.0.113.*",
 * "2001:db8:1:2:*". */
static void mask_address(const char *ip, char *out, size_t outsz)
{
    const char *cut = strchr(ip, ':') ? NULL : strrchr(ip, '.');
    if (!cut) { /* IPv6: the first four groups (the /64 a subscriber holds) */
        const char *p = ip;
        for (int groups = 0; p && groups < 4; groups++) {
            p = strchr(p, ':');
            if (p)
                p++;
        }
        cut = p ? p - 1 : NULL;
    }
    if (!cut) {
        snprintf(out, outsz, "*");
        return;
    }
    snprintf(out, outsz, "%.*s%c*", (int)(cut - ip), ip, *cut);
}

/* ---- create ---- */

static void create_ticket(gw_call_t *c, db_conn_t *db)
{
    char ticket[TICKET_LEN + 1], nonce[CONSOLE_SECRET_LEN + 1], nonce_hash[CONSOLE_HASH_HEX];
    if (console_random_text(TICKET_BYTES, ticket, sizeof(ticket)) != 0 ||
        console_random_text(CONSOLE_SECRET_BYTES, nonce, sizeof(nonce)) != 0) {
        call_fail(c, ERR_INTERNAL, NULL, "no randomness for a login ticket");
        return;
    }
    console_hash_hex(nonce, nonce_hash);
    /* Tickets are useless a minute after they expire; a bounded batch of
     * old ones goes with each new one. */
    if (db_begin(db) != 0 ||
        db_exec(db,
                "INSERT INTO console_tickets (id, nonce_hash, client_ip, user_agent, expires_at)"
                " VALUES (?, ?, ?, ?, NOW(3) + INTERVAL ? SECOND)",
                DB_ARGS(DB_STR(ticket), DB_STR(nonce_hash), DB_STR(c->client_ip), DB_STR(c->user_agent),
                        DB_INT(gw_cfg->console_ticket_ttl_s))) != 0 ||
        db_exec(db, "DELETE FROM console_tickets WHERE expires_at < NOW(3) - INTERVAL 1 DAY LIMIT 100", DB_NOARGS) !=
            0) {
        call_fail_db(c);
        return;
    }
    long long expires_at = 0;
    if (db_query_int(db, &expires_at, "SELECT FLOOR(UNIX_TIMESTAMP(expires_at)) FROM console_tickets WHERE id = ?",
                     DB_ARGS(DB_STR(ticket))) != 1 ||
        db_commit(db) != 0) {
        call_fail_db(c);
        return;
    }
    if (console_set_cookie(
            c, CONSOLE_TICKET_COOKIE "=%s; Path=/api/v1/console; Max-Age=%d; HttpOnly; Secure; SameSite=Strict", nonce,
            gw_cfg->console_ticket_ttl_s) != 0) {
        call_fail(c, ERR_INTERNAL, NULL, NULL);
        return;
    }
    char url[96];
    snprintf(url, sizeof(url), "/api/v1/console/tickets/%s/qrcode", ticket);
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "ticket", ticket);
    cJSON_AddStringToObject(d, "state", "waiting");
    cJSON_AddNumberToObject(d, "expires_at", (double)expires_at);
    cJSON_AddNumberToObject(d, "expires_in", gw_cfg->console_ticket_ttl_s);
    cJSON_AddStringToObject(d, "qrcode_url", url);
    cJSON_AddStringToObject(d, "page", gw_cfg->console_qr_page);
    cJSON_AddNumberToObject(d, "poll_interval_ms", POLL_INTERVAL_MS);
    call_ok(c, 201, d);
}

/* ---- the browser's side: the nonce decides ---- */

static const char *SQL_TICKET = "SELECT t.id, t.nonce_hash, t.state, t.expires_at <= NOW(3) AS expired,"
                                " FLOOR(UNIX_TIMESTAMP(t.expires_at)) AS expires_at, t.scanned_by, t.decided_by,"
                                " COALESCE(u.display_name, '') AS scanner_name"
                                " FROM console_tickets t LEFT JOIN users u ON u.id = t.scanned_by WHERE t.id = ?";

/* The ticket's row when this browser holds its nonce; else NULL with 404
 * (no such ticket) or 403 TICKET_NOT_YOURS in the call. */
static db_rows_t *own_ticket_or_fail(gw_call_t *c, db_conn_t *db, const char *ticket)
{
    db_rows_t *r = db_query(db, SQL_TICKET, DB_ARGS(DB_STR(ticket)));
    if (!r) {
        call_fail_db(c);
        return NULL;
    }
    if (r->nrows == 0) {
        call_fail(c, ERR_NOT_FOUND, NULL, "no such login ticket");
        goto Fail;
    }
    char hash[CONSOLE_HASH_HEX];
    console_hash_hex(c->cookie_ticket, hash);
    if (!c->cookie_ticket[0] || !console_text_equal(hash, db_get(r, 0, "nonce_hash"))) {
        log_warn("console", "ticket %s asked for without its nonce ip=%s", ticket, c->client_ip);
        call_fail(c, ERR_TICKET_NOT_YOURS, NULL, NULL);
        goto Fail;
    }
    return r;
Fail:
    db_rows_free(r);
    return NULL;
}

typedef struct {
    char ticket[TICKET_LEN + 1];
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

static void qr_fetch(gw_call_t *c)
{
    qr_state_t *s = c->state;
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "scene", s->ticket);
    cJSON_AddStringToObject(body, "page", gw_cfg->console_qr_page);
    cJSON_AddBoolToObject(body, "check_path", 0);
    cJSON_AddNumberToObject(body, "width", 430);
    char *json = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    if (!json) {
        call_fail(c, ERR_OVERLOADED, NULL, "out of memory; retry later");
        return;
    }
    wx_status_t st;
    int rc = wx_get_unlimited_qrcode(json, &s->image, &s->image_len, s->content_type, sizeof(s->content_type), &st);
    free(json);
    if (rc != 0) {
        log_warn("console", "login code image for ticket %s failed: WeChat %d", s->ticket, st.errcode);
        call_fail_wechat(c, &st, NULL);
        return;
    }
    char *image = (char *)s->image;
    s->image = NULL;
    call_ok_raw(c, s->content_type, image, s->image_len);
    snprintf(c->cache_control, sizeof(c->cache_control), "private, no-store");
}

static void qr_check(gw_call_t *c, db_conn_t *db)
{
    const char *ticket = ticket_param_or_fail(c);
    if (!ticket)
        return;
    db_rows_t *r = own_ticket_or_fail(c, db, ticket);
    if (!r)
        return;
    const char *state = db_get(r, 0, "state");
    if (db_get_int(r, 0, "expired") || (strcmp(state, "waiting") != 0 && strcmp(state, "scanned") != 0)) {
        call_fail(c, ERR_TICKET_EXPIRED, NULL, "this login ticket has expired or was used; show a new code");
        db_rows_free(r);
        return;
    }
    db_rows_free(r);
    qr_state_t *s = call_state_new_or_fail(c, 1, sizeof(*s), qr_state_free);
    if (!s)
        return;
    snprintf(s->ticket, sizeof(s->ticket), "%s", ticket);
    call_then_wechat(c, qr_fetch);
}

/* {user: {id, display_name, roles, phone_bound, phone_masked}, projects:
 * [{project_id, project_name, role}], csrf_token, expires_at,
 * idle_timeout_s}: what the console knows of its session. NULL with the
 * call failed. */
static cJSON *session_json_or_fail(gw_call_t *c, db_conn_t *db, const char *session_id)
{
    db_rows_t *s = db_query(db,
                            "SELECT s.csrf_token, FLOOR(UNIX_TIMESTAMP(s.expires_at)) AS expires_at,"
                            " u.display_name FROM console_sessions s JOIN users u ON u.id = s.user_id"
                            " WHERE s.session_id = ?",
                            DB_ARGS(DB_STR(session_id)));
    db_rows_t *p = s ? db_query(db,
                                "SELECT r.project_id, p.name AS project_name, r.role FROM staff_roles r"
                                " LEFT JOIN projects p ON p.id = r.project_id WHERE r.user_id = ?"
                                " ORDER BY r.project_id, r.role",
                                DB_ARGS(DB_INT(c->user.id)))
                     : NULL;
    cJSON *d = NULL;
    if (!s || !p) {
        call_fail_db(c);
        goto Exit;
    }
    if (s->nrows == 0) {
        call_fail(c, ERR_TOKEN_INVALID, NULL, "the console session is unknown; log in again");
        goto Exit;
    }
    d = cJSON_CreateObject();
    cJSON *user = users_to_json(&c->user);
    const char *name = db_get(s, 0, "display_name");
    if (name)
        cJSON_AddStringToObject(user, "display_name", name);
    else
        cJSON_AddNullToObject(user, "display_name");
    cJSON_AddItemToObject(d, "user", user);
    cJSON_AddItemToObject(d, "projects", db_rows_json(p, 0, p->nrows));
    cJSON_AddStringToObject(d, "csrf_token", db_get(s, 0, "csrf_token"));
    cJSON_AddNumberToObject(d, "expires_at", (double)db_get_int(s, 0, "expires_at"));
    cJSON_AddNumberToObject(d, "idle_timeout_s", gw_cfg->console_session_idle_s);
Exit:
    db_rows_free(s);
    db_rows_free(p);
    return d;
}

/* The confirmed ticket becomes a session, once: the UPDATE that moves it
 * to redeemed matches one poll only. 1 redeemed (c->user and the cookies
 * set, session_id filled), 0 another poll redeemed it, -1 failed (the call
 * holds the answer). */
static int redeem_or_fail(gw_call_t *c, db_conn_t *db, const char *ticket, long long user_id, char *session_id,
                          size_t sidsz)
{
    int found = users_load_status(db, user_id, &c->user);
    if (found < 0) {
        call_fail_db(c);
        return -1;
    }
    if (found != 1) {
        call_fail(c, ERR_USER_DISABLED, NULL, "the account that confirmed this login is disabled");
        return -1;
    }
    if (!(c->user.roles & ROLE_STAFF)) {
        call_fail(c, ERR_FORBIDDEN, NULL, "the account that confirmed this login holds no staff role");
        return -1;
    }
    char secret[CONSOLE_SECRET_LEN + 1], hash[CONSOLE_HASH_HEX], csrf[CONSOLE_SECRET_LEN + 1], sid[TICKET_LEN + 1];
    if (console_random_text(CONSOLE_SECRET_BYTES, secret, sizeof(secret)) != 0 ||
        console_random_text(CONSOLE_SECRET_BYTES, csrf, sizeof(csrf)) != 0 ||
        console_random_text(TICKET_BYTES, sid, sizeof(sid)) != 0) {
        call_fail(c, ERR_INTERNAL, NULL, "no randomness for a session");
        return -1;
    }
    console_hash_hex(secret, hash);
    if (db_begin(db) != 0 || db_exec(db,
                                     "UPDATE console_tickets SET state = 'redeemed', redeemed_at = NOW(3)"
                                     " WHERE id = ? AND state = 'confirmed' AND expires_at > NOW(3)",
                                     DB_ARGS(DB_STR(ticket))) != 0)
        goto DbError;
    if (db_affected_rows(db) != 1) {
        db_rollback(db);
        return 0;
    }
    if (db_exec(db,
                "INSERT INTO console_sessions (token_hash, session_id, csrf_token, user_id, ticket_id, client_ip,"
                " user_agent, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, NOW(3) + INTERVAL ? SECOND)",
                DB_ARGS(DB_STR(hash), DB_STR(sid), DB_STR(csrf), DB_INT(user_id), DB_STR(ticket), DB_STR(c->client_ip),
                        DB_STR(c->user_agent), DB_INT(gw_cfg->console_session_max_s))) != 0)
        goto DbError;
    long long session_row = (long long)db_insert_id(db);
    cJSON *detail = cJSON_CreateObject();
    cJSON_AddStringToObject(detail, "ticket", ticket);
    cJSON_AddStringToObject(detail, "session_id", sid);
    cJSON_AddStringToObject(detail, "ip", c->client_ip);
    cJSON_AddStringToObject(detail, "user_agent", c->user_agent);
    int audited = audit_write(db, user_id, "console.login", "console_session", session_row, detail);
    cJSON_Delete(detail);
    if (audited != 0 || db_commit(db) != 0)
        goto DbError;
    if (console_set_cookie(c, CONSOLE_SESSION_COOKIE "=%s; Path=/; Max-Age=%d; HttpOnly; Secure; SameSite=Strict",
                           secret, gw_cfg->console_session_max_s) != 0 ||
        console_set_cookie(c, CONSOLE_TICKET_COOKIE
                           "=; Path=/api/v1/console; Max-Age=0; HttpOnly; Secure; SameSite=Strict") != 0) {
        call_fail(c, ERR_INTERNAL, NULL, NULL);
        return -1;
    }
    snprintf(session_id, sidsz, "%s", sid);
    log_info("console", "login user=%lld session=%s ticket=%s ip=%s", user_id, sid, ticket, c->client_ip);
    return 1;
DbError:
    call_fail_db(c);
    return -1;
}

static void poll_ticket(gw_call_t *c, db_conn_t *db)
{
    const char *ticket = ticket_param_or_fail(c);
    if (!ticket)
        return;
    db_rows_t *r = own_ticket_or_fail(c, db, ticket);
    if (!r)
        return;
    const char *stored = db_get(r, 0, "state");
    int expired = (int)db_get_int(r, 0, "expired");
    const char *state = !strcmp(stored, "redeemed") ? "confirmed" : expired ? "expired" : stored;
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "ticket", ticket);
    cJSON_AddStringToObject(d, "state", state);
    cJSON_AddNumberToObject(d, "expires_at", (double)db_get_int(r, 0, "expires_at"));
    cJSON_AddNumberToObject(d, "poll_interval_ms", POLL_INTERVAL_MS);
    if (!strcmp(state, "scanned")) {
        cJSON *by = cJSON_AddObjectToObject(d, "scanned_by");
        cJSON_AddStringToObject(by, "display_name", db_get(r, 0, "scanner_name"));
    } else {
        cJSON_AddNullToObject(d, "scanned_by");
    }
    cJSON *session = NULL;
    if (!strcmp(stored, "confirmed") && !expired) {
        char sid[TICKET_LEN + 1] = "";
        int redeemed = redeem_or_fail(c, db, ticket, db_get_int(r, 0, "decided_by"), sid, sizeof(sid));
        if (redeemed < 0)
            goto Fail;
        if (redeemed == 1 && !(session = session_json_or_fail(c, db, sid)))
            goto Fail;
    }
    cJSON_AddBoolToObject(d, "redeemed", !strcmp(stored, "redeemed") || session);
    if (session)
        cJSON_AddItemToObject(d, "session", session);
    else
        cJSON_AddNullToObject(d, "session");
    db_rows_free(r);
    call_ok(c, 200, d);
    return;
Fail:
    cJSON_Delete(d);
    db_rows_free(r);
}

/* ---- the mini-program's side: a staff member with a bearer token ---- */

/* After an UPDATE of the ticket that matched nothing: why. Always fails the
 * call (404, 410 TICKET_EXPIRED or 409 CONFLICT). */
static void explain_refusal(gw_call_t *c, db_conn_t *db, const char *ticket, const char *action)
{
    db_rows_t *r = db_query(db, SQL_TICKET, DB_ARGS(DB_STR(ticket)));
    if (!r) {
        call_fail_db(c);
        return;
    }
    if (r->nrows == 0)
        call_fail(c, ERR_NOT_FOUND, NULL, "no such login ticket");
    else if (db_get_int(r, 0, "expired"))
        call_fail(c, ERR_TICKET_EXPIRED, NULL, NULL);
    else if (!db_is_null(r, 0, "scanned_by") && db_get_int(r, 0, "scanned_by") != c->user.id)
        call_fail(c, ERR_CONFLICT, NULL, "another staff member scanned this code");
    else
        call_fail(c, ERR_CONFLICT, NULL, "this login ticket is %s; it cannot be %s", db_get(r, 0, "state"), action);
    db_rows_free(r);
}

static void scan_ticket(gw_call_t *c, db_conn_t *db)
{
    const char *ticket = ticket_param_or_fail(c);
    if (!ticket)
        return;
    if (db_exec(
            db,
            "UPDATE console_tickets SET state = 'scanned', scanned_by = ?, scanned_at = NOW(3)"
            " WHERE id = ? AND expires_at > NOW(3) AND (state = 'waiting' OR (state = 'scanned' AND scanned_by = ?))",
            DB_ARGS(DB_INT(c->user.id), DB_STR(ticket), DB_INT(c->user.id))) != 0) {
        call_fail_db(c);
        return;
    }
    if (db_affected_rows(db) == 0) {
        /* MariaDB counts a row set to the values it had as unchanged: a second scan by the same person */
        long long one;
        int same = db_query_int(db, &one,
                                "SELECT 1 FROM console_tickets WHERE id = ? AND state = 'scanned' AND scanned_by = ?"
                                " AND expires_at > NOW(3)",
                                DB_ARGS(DB_STR(ticket), DB_INT(c->user.id)));
        if (same < 0) {
            call_fail_db(c);
            return;
        }
        if (!same) {
            explain_refusal(c, db, ticket, "scanned");
            return;
        }
    }
    db_rows_t *r = db_query(db,
                            "SELECT id AS ticket, state, FLOOR(UNIX_TIMESTAMP(expires_at)) AS expires_at,"
                            " client_ip AS \"browser.ip\", user_agent AS \"browser.user_agent\","
                            " FLOOR(UNIX_TIMESTAMP(created_at)) AS \"browser.requested_at\""
                            " FROM console_tickets WHERE id = ?",
                            DB_ARGS(DB_STR(ticket)));
    if (!r || r->nrows == 0) {
        db_rows_free(r);
        call_fail_db(c);
        return;
    }
    cJSON *d = db_row_json(r, 0);
    cJSON *browser = cJSON_GetObjectItem(d, "browser");
    char masked[80];
    mask_address(db_get(r, 0, "browser.ip"), masked, sizeof(masked));
    cJSON_DeleteItemFromObject(browser, "ip");
    cJSON_AddStringToObject(browser, "ip_masked", masked);
    db_rows_free(r);
    call_ok(c, 200, d);
}

static void confirm_ticket(gw_call_t *c, db_conn_t *db)
{
    const char *ticket = ticket_param_or_fail(c);
    if (!ticket)
        return;
    if (db_exec(db,
                "UPDATE console_tickets SET state = 'confirmed', decided_by = ?, decided_at = NOW(3)"
                " WHERE id = ? AND state = 'scanned' AND scanned_by = ? AND expires_at > NOW(3)",
                DB_ARGS(DB_INT(c->user.id), DB_STR(ticket), DB_INT(c->user.id))) != 0) {
        call_fail_db(c);
        return;
    }
    if (db_affected_rows(db) != 1) {
        explain_refusal(c, db, ticket, "confirmed (scan it first)");
        return;
    }
    log_info("console", "ticket %s confirmed by user=%lld", ticket, c->user.id);
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "ticket", ticket);
    cJSON_AddStringToObject(d, "state", "confirmed");
    call_ok(c, 200, d);
}

static void reject_ticket(gw_call_t *c, db_conn_t *db)
{
    const char *ticket = ticket_param_or_fail(c);
    if (!ticket)
        return;
    if (db_begin(db) != 0 ||
        db_exec(db,
                "UPDATE console_tickets SET state = 'rejected', decided_by = ?, decided_at = NOW(3)"
                " WHERE id = ? AND state IN ('waiting', 'scanned') AND (scanned_by IS NULL OR scanned_by = ?)"
                " AND expires_at > NOW(3)",
                DB_ARGS(DB_INT(c->user.id), DB_STR(ticket), DB_INT(c->user.id))) != 0) {
        call_fail_db(c);
        return;
    }
    if (db_affected_rows(db) != 1) {
        db_rollback(db);
        explain_refusal(c, db, ticket, "rejected");
        return;
    }
    cJSON *detail = cJSON_CreateObject();
    cJSON_AddStringToObject(detail, "ticket", ticket);
    int audited = audit_write(db, c->user.id, "console.login_rejected", "console_ticket", 0, detail);
    cJSON_Delete(detail);
    if (audited != 0 || db_commit(db) != 0) {
        call_fail_db(c);
        return;
    }
    log_info("console", "ticket %s rejected by user=%lld", ticket, c->user.id);
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "ticket", ticket);
    cJSON_AddStringToObject(d, "state", "rejected");
    call_ok(c, 200, d);
}

/* ---- the console's session ---- */

static int console_caller_or_fail(gw_call_t *c)
{
    if (c->console_session)
        return 0;
    call_fail(c, ERR_UNAUTHENTICATED, NULL, "this route is for the console's session cookie, not a bearer token");
    return -1;
}

static void get_session(gw_call_t *c, db_conn_t *db)
{
    if (console_caller_or_fail(c) != 0)
        return;
    cJSON *d = session_json_or_fail(c, db, c->session_id);
    if (d)
        call_ok(c, 200, d);
}

static void logout(gw_call_t *c, db_conn_t *db)
{
    if (console_caller_or_fail(c) != 0)
        return;
    if (db_begin(db) != 0 || db_exec(db,
                                     "UPDATE console_sessions SET ended_at = NOW(3), end_reason = 'logout'"
                                     " WHERE session_id = ? AND ended_at IS NULL",
                                     DB_ARGS(DB_STR(c->session_id))) != 0)
        goto DbError;
    cJSON *detail = cJSON_CreateObject();
    cJSON_AddStringToObject(detail, "session_id", c->session_id);
    int audited = audit_write(db, c->user.id, "console.logout", "console_session", 0, detail);
    cJSON_Delete(detail);
    if (audited != 0 || db_commit(db) != 0)
        goto DbError;
    log_info("console", "logout user=%lld session=%s", c->user.id, c->session_id);
    if (console_set_cookie(c, CONSOLE_SESSION_COOKIE "=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict") != 0) {
        call_fail(c, ERR_INTERNAL, NULL, NULL);
        return;
    }
    cJSON *d = cJSON_CreateObject();
    cJSON_AddBoolToObject(d, "logged_out", 1);
    call_ok(c, 200, d);
    return;
DbError:
    call_fail_db(c);
}

static const route_t routes[] = {
    {"POST", "/api/v1/console/tickets", 0, BODY_NONE, DB_STEP(create_ticket), .rate = RATE_CONSOLE},
    {"GET", "/api/v1/console/tickets/:ticket", 0, BODY_NONE, DB_STEP(poll_ticket), .rate = RATE_CONSOLE},
    {"GET", "/api/v1/console/tickets/:ticket/qrcode", 0, BODY_NONE, DB_STEP(qr_check), .rate = RATE_CONSOLE,
     .wechat = WX_QR},
    {"POST", "/api/v1/console/tickets/:ticket/scan", ROLE_STAFF, BODY_NONE, DB_STEP(scan_ticket), .rate = RATE_CONSOLE},
    {"POST", "/api/v1/console/tickets/:ticket/confirm", ROLE_STAFF, BODY_NONE, DB_STEP(confirm_ticket),
     .rate = RATE_CONSOLE},
    {"POST", "/api/v1/console/tickets/:ticket/reject", ROLE_STAFF, BODY_NONE, DB_STEP(reject_ticket),
     .rate = RATE_CONSOLE},
    {"GET", "/api/v1/console/session", ROLE_ANY, BODY_NONE, DB_STEP(get_session)},
    {"POST", "/api/v1/console/logout", ROLE_ANY, BODY_NONE, DB_STEP(logout)},
};

void console_register(void)
{
    ROUTES_REGISTER(routes);
}
