#include "console_session.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base64url.h"
#include "call_internal.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"
#include "users.h"

int console_cookie_value(const char *header, size_t len, const char *name, char *out, size_t outsz)
{
    size_t nlen = strlen(name);
    const char *p = header, *end = header + len;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ';'))
            p++;
        const char *pair = p;
        while (p < end && *p != ';')
            p++;
        const char *pair_end = p;
        while (pair_end > pair && (pair_end[-1] == ' ' || pair_end[-1] == '\t'))
            pair_end--;
        if ((size_t)(pair_end - pair) > nlen && !memcmp(pair, name, nlen) && pair[nlen] == '=') {
            const char *v = pair + nlen + 1;
            size_t vlen = (size_t)(pair_end - v);
            if (vlen >= outsz)
                return 0;
            memcpy(out, v, vlen);
            out[vlen] = '\0';
            return 1;
        }
    }
    return 0;
}

int console_random_text(size_t n, char *out, size_t outsz)
{
    unsigned char buf[64];
    if (n > sizeof(buf) || RAND_bytes(buf, (int)n) != 1)
        return -1;
    long rc = b64url_encode(buf, n, out, outsz);
    OPENSSL_cleanse(buf, sizeof(buf));
    return rc < 0 ? -1 : 0;
}

void console_hash_hex(const char *text, char out[CONSOLE_HASH_HEX])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)text, strlen(text), md);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

int console_text_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    return la == lb && CRYPTO_memcmp(a, b, la) == 0;
}

int console_needs_csrf(const char *method)
{
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
}

int console_set_cookie(gw_call_t *c, const char *fmt, ...)
{
    for (size_t i = 0; i < sizeof(c->set_cookie) / sizeof(c->set_cookie[0]); i++) {
        if (c->set_cookie[i][0])
            continue;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(c->set_cookie[i], sizeof(c->set_cookie[i]), fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t)n >= sizeof(c->set_cookie[i])) {
            c->set_cookie[i][0] = '\0';
            return -1;
        }
        return 0;
    }
    return -1;
}

/* ---- authentication by the session cookie ---- */

static const char *SQL_SESSION =
    "SELECT s.id, s.session_id, s.user_id, s.csrf_token, FLOOR(UNIX_TIMESTAMP(s.expires_at)) AS expires_at,"
    " s.ended_at IS NOT NULL AS ended, s.expires_at <= NOW(3) AS expired,"
    " s.last_seen_at <= NOW(3) - INTERVAL ? SECOND AS idle, u.disabled,"
    " EXISTS(SELECT 1 FROM staff_roles r WHERE r.user_id = s.user_id) AS staff"
    " FROM console_sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?";

/* Ends the session for `reason` (a value of console_sessions.end_reason).
 * 0 or -1 (database error). */
static int end_session(db_conn_t *db, long long id, const char *reason)
{
    return db_exec(db,
                   "UPDATE console_sessions SET ended_at = NOW(3), end_reason = ? WHERE id = ? AND ended_at IS NULL",
                   DB_ARGS(DB_STR(reason), DB_INT(id)));
}

static void after_session(gw_call_t *c)
{
    if (ratelimit_user_or_fail(c) != 0)
        return;
    users_auth_loop_step(c);
}

static void session_step(gw_call_t *c, db_conn_t *db)
{
    char hash[CONSOLE_HASH_HEX];
    console_hash_hex(c->cookie_session, hash);
    db_rows_t *r = db_query(db, SQL_SESSION, DB_ARGS(DB_INT(gw_cfg->console_session_idle_s), DB_STR(hash)));
    if (!r) {
        call_fail_db(c);
        return;
    }
    if (r->nrows == 0) {
        call_fail(c, ERR_TOKEN_INVALID, NULL, "the console session is unknown; log in again");
        goto Exit;
    }
    long long id = db_get_int(r, 0, "id");
    const char *reason = NULL;
    if (db_get_int(r, 0, "ended")) {
        metrics_auth_refused(METRICS_AUTH_REVOKED);
        call_fail(c, ERR_TOKEN_REVOKED, NULL, "this console session was ended; log in again");
        goto Exit;
    }
    if (db_get_int(r, 0, "expired")) {
        reason = "expired";
        call_fail(c, ERR_TOKEN_EXPIRED, NULL, "the console session has expired; log in again");
    } else if (db_get_int(r, 0, "idle")) {
        reason = "idle";
        call_fail(c, ERR_TOKEN_EXPIRED, NULL, "the console session was idle longer than %d s; log in again",
                  gw_cfg->console_session_idle_s);
    } else if (db_get_int(r, 0, "disabled")) {
        reason = "disabled";
        metrics_auth_refused(METRICS_AUTH_DISABLED);
        call_fail(c, ERR_USER_DISABLED, NULL, "this account is disabled; ask the property's staff");
    } else if (!db_get_int(r, 0, "staff")) {
        reason = "role_revoked";
        metrics_auth_refused(METRICS_AUTH_REVOKED);
        call_fail(c, ERR_TOKEN_REVOKED, NULL, "this account holds no staff role any more; the console session ended");
    }
    if (reason) {
        if (end_session(db, id, reason) != 0)
            call_fail_db(c);
        goto Exit;
    }
    if (console_needs_csrf(c->method) && !console_text_equal(c->csrf_header, db_get(r, 0, "csrf_token"))) {
        call_fail(c, ERR_CSRF_INVALID, NULL,
                  c->csrf_header[0] ? "X-CSRF-Token does not match this console session"
                                    : "X-CSRF-Token is required on a write made with the console session cookie");
        goto Exit;
    }
    if (db_exec(db, "UPDATE console_sessions SET last_seen_at = NOW(3) WHERE id = ?", DB_ARGS(DB_INT(id))) != 0) {
        call_fail_db(c);
        goto Exit;
    }
    c->session_user_id = db_get_int(r, 0, "user_id");
    c->session_expires_at = db_get_int(r, 0, "expires_at");
    snprintf(c->session_id, sizeof(c->session_id), "%s", db_get(r, 0, "session_id"));
    call_then_loop(c, after_session);
Exit:
    db_rows_free(r);
}

void console_session_auth_loop_step(gw_call_t *c)
{
    call_then_db(c, session_step);
}
