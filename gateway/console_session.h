/* console_session.h: the staff console's cookie sessions, accepted by every
 * authenticated route in place of the bearer token.
 *
 * A console session is made when a browser redeems a confirmed login ticket
 * (handlers/identity/console.c). Its cookie `console_session` (HttpOnly;
 * Secure; SameSite=Strict; Path=/) holds 32 random bytes (43 base64url
 * characters); the database keeps only their SHA-256 (console_sessions,
 * schema/017), with the session's public id, its CSRF token, its absolute
 * expiry and the time of its last request.
 *
 * A request that carries no Authorization header but the session cookie is
 * authenticated here (request.c): on a DB worker the session is looked up
 * by the cookie's hash; it is refused when unknown (401 TOKEN_INVALID),
 * ended (401 TOKEN_REVOKED), past its absolute expiry or idle longer than
 * console_session_idle_s (401 TOKEN_EXPIRED, and the session is ended), or
 * its user is disabled (403 USER_DISABLED) or holds no staff role any more
 * (401 TOKEN_REVOKED; both end the session). A request other than GET and
 * HEAD must carry the session's CSRF token in X-CSRF-Token (403
 * CSRF_INVALID otherwise). Then the request's last use is recorded and the
 * call goes on exactly as a bearer token's would: the user's rate limit,
 * then the user and their current roles (users_auth_loop_step), so
 * authorization is the same for both. The bearer token is unchanged and
 * wins when both are sent. */
#ifndef GW_CONSOLE_SESSION_H
#define GW_CONSOLE_SESSION_H
#include <stddef.h>

#include "call.h"

#define CONSOLE_SESSION_COOKIE "console_session"
#define CONSOLE_TICKET_COOKIE "console_ticket"
/* A cookie's secret: 32 random bytes as base64url, and its NUL. */
#define CONSOLE_SECRET_BYTES 32
#define CONSOLE_SECRET_LEN 43
/* hex SHA-256 and its NUL */
#define CONSOLE_HASH_HEX 65

/* The value of cookie `name` in a Cookie header ("a=1; b=2"), copied into
 * out. 1 found (and it fits), 0 absent or longer than outsz - 1. */
int console_cookie_value(const char *header, size_t len, const char *name, char *out, size_t outsz);
/* n random bytes as base64url into out (outsz >= B64URL_LEN(n) + 1). 0 or
 * -1 (no randomness). */
int console_random_text(size_t n, char *out, size_t outsz);
/* hex(SHA-256(text)) into out (CONSOLE_HASH_HEX bytes). */
void console_hash_hex(const char *text, char out[CONSOLE_HASH_HEX]);
/* Constant-time comparison of two NUL-terminated strings: 1 equal. */
int console_text_equal(const char *a, const char *b);
/* Does the request need the CSRF token (any method but GET and HEAD)? */
int console_needs_csrf(const char *method);

/* Loop step: the first step of an authenticated route called with the
 * session cookie (request.c); goes on as described above. */
void console_session_auth_loop_step(gw_call_t *c);

/* A Set-Cookie value for the answer (call.h set_cookie): 0, or -1 when the
 * call has no free slot. */
int console_set_cookie(gw_call_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
