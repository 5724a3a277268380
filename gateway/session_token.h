/* session_token.h: the signed session token handed to the mini-program.
 *
 * Format: <kid>.<user id>.<expiry unix s>.<nonce>.<signature>, where the
 * signature is base64url(HMAC-SHA256(key[kid], "<kid>.<uid>.<exp>.<nonce>")).
 * The key id lets keys rotate: the first configured key signs, every
 * configured key verifies. Nothing secret is inside the token; the WeChat
 * session_key stays in the database. */
#ifndef GW_SESSION_TOKEN_H
#define GW_SESSION_TOKEN_H
#include <stddef.h>

typedef enum { SESSION_OK = 0, SESSION_INVALID, SESSION_EXPIRED } session_status_t;

/* spec: "kid=secret[,kid=secret...]" (validated by config.c). */
int session_keys_load(const char *spec);
void session_keys_free(void);
/* Replaces the keys while other threads sign and verify (SIGHUP). On a bad
 * spec the keys in use stay and -1 is returned. Called from one thread at a
 * time (the main thread). */
int session_keys_reload(const char *spec);
/* Writes the token into out (>= 160 bytes); returns 0 or -1. */
int session_sign(long long user_id, long long expires_at, char *out, size_t outsz);
session_status_t session_verify(const char *token, size_t len, long long now, long long *user_id,
                                long long *expires_at);

#endif
