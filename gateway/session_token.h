/* session_token.h: the signed session token handed to the mini-program.
 *
 * Format: <kid>.<user id>.<expiry unix s>.<session id>.<signature>, where
 * the signature is base64url(HMAC-SHA256(key[kid], "<kid>.<uid>.<exp>.<sid>")).
 * The key id lets keys rotate: the first configured key signs, every
 * configured key verifies. Nothing secret is inside the token.
 *
 * The session id is 96 random bits (16 base64url characters). It names the
 * session so that a logout can revoke it (users.h). Tokens signed before it
 * carried a 72-bit random nonce (12 characters) in the same place; they
 * verify unchanged until they expire, and their nonce serves as their
 * session id, so they can be revoked too. */
#ifndef GW_SESSION_TOKEN_H
#define GW_SESSION_TOKEN_H
#include <stddef.h>

typedef enum { SESSION_OK = 0, SESSION_INVALID, SESSION_EXPIRED } session_status_t;

/* spec: "kid=secret[,kid=secret...]" (validated by config.c). */
int session_keys_load(const char *spec);
void session_keys_free(void);
/* Longest session id, with its NUL. */
#define SESSION_ID_MAX 24

/* Replaces the keys while other threads sign and verify (SIGHUP). On a bad
 * spec the keys in use stay and -1 is returned. Called from one thread at a
 * time (the main thread). */
int session_keys_reload(const char *spec);
/* Writes the token into out (>= 160 bytes); returns 0 or -1. */
int session_sign(long long user_id, long long expires_at, char *out, size_t outsz);
/* As session_sign; also copies the new session id into sid (>= SESSION_ID_MAX). */
int session_sign_sid(long long user_id, long long expires_at, char *out, size_t outsz, char *sid, size_t sidsz);
/* Checks the signature and the expiry. expires_at may be NULL. */
session_status_t session_verify(const char *token, size_t len, long long now, long long *user_id,
                                long long *expires_at);
/* As session_verify; on SESSION_OK also copies the session id into sid
 * (sidsz >= SESSION_ID_MAX), NUL-terminated. sid may be NULL. */
session_status_t session_verify_sid(const char *token, size_t len, long long now, long long *user_id,
                                    long long *expires_at, char *sid, size_t sidsz);

#endif
