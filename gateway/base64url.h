/* base64url.h: RFC 4648 base64url without padding, the form of session
 * tokens' signatures and of list cursors. Both directions are bounded by the
 * caller's buffer; decoding is strict (canonical text only), so one byte
 * string has exactly one text and anything else is refused. */
#ifndef GW_BASE64URL_H
#define GW_BASE64URL_H
#include <stddef.h>

/* Characters b64url_encode writes for len bytes (without the NUL). */
#define B64URL_LEN(len) (((len) / 3) * 4 + ((len) % 3 ? (len) % 3 + 1 : 0))

/* Writes the text and its NUL into out. Returns the characters written, or
 * -1 when out (outsz bytes) is too small. */
long b64url_encode(const unsigned char *in, size_t len, char *out, size_t outsz);
/* Decodes len characters into out. Returns the bytes written, or -1 when
 * the text is not canonical unpadded base64url (a character outside the
 * alphabet, '=' padding, a length of 4n+1, non-zero unused bits) or the
 * result would not fit in outsz bytes. */
long b64url_decode(const char *in, size_t len, unsigned char *out, size_t outsz);

#endif
