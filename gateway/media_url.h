/* media_url.h: short-lived signed URLs for private photos.
 * A URL is a capability: whoever holds it may fetch that one variant until it expires;
 * handlers decide who gets one. Path form: /media/<upload id>/<variant>?exp=<unix s>&sig=<hex HMAC-SHA256>
 * variant: "full" or "thumb".
 * The signature is hex(HMAC-SHA256(media_url_key, "<upload id>/<variant>/<exp>")). */
#ifndef GW_MEDIA_URL_H
#define GW_MEDIA_URL_H
#include <stddef.h>

/* Sets the signing key (>= 32 bytes; config media_url_key) and forgets any
 * earlier one. Returns 0 or -1. Thread-safe. */
int media_url_set_key(const char *key, size_t len);
/* Rotation (SIGHUP): the new key signs; the key it replaces still verifies
 * until the next rotation, so URLs already handed out keep working until they
 * expire. The same key again changes nothing. -1 (and no change) if unusable. */
int media_url_rotate_key(const char *key, size_t len);
void media_url_clear_key(void);

int media_url_sign(long long upload_id, const char *variant, long long ttl_s, char *out, size_t outsz); /* 0 or -1 */
int media_url_verify(long long upload_id, const char *variant, long long exp, const char *sig_hex,
                     long long now); /* 0 ok, -1 bad, -2 expired */

/* As media_url_sign with an absolute expiry instead of a TTL. */
int media_url_sign_until(long long upload_id, const char *variant, long long exp, char *out, size_t outsz);

#endif
