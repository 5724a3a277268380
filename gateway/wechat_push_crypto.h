/* wechat_push_crypto.h: the signatures and the safe-mode (AES) encryption of
 * WeChat's message push (the mini-program's "message push" server, set in
 * its admin console with a Token and an EncodingAESKey). A signature is the
 * hex SHA-1 of the lexicographically sorted concatenation of Token,
 * timestamp and nonce; in safe mode msg_signature sorts Encrypt in as well.
 * Pure functions, no I/O, safe on any thread.
 *
 * Safe mode: key = base64(EncodingAESKey + "="), 32 bytes; each message is
 * base64(AES-256-CBC(key, IV = key[0..16), PKCS#7 to 32 bytes of
 * 16 random bytes | 4-byte big-endian length | message | appid)). */
#ifndef GW_WECHAT_PUSH_CRYPTO_H
#define GW_WECHAT_PUSH_CRYPTO_H
#include <stddef.h>

#define WXPC_KEY_CHARS 43 /* an EncodingAESKey */
#define WXPC_KEY_BYTES 32
#define WXPC_SIG_HEX 40 /* a hex SHA-1 signature */

typedef enum {
    WXPC_OK = 0,
    WXPC_ERR_BASE64 = -1,  /* not base64, or not whole AES blocks */
    WXPC_ERR_CIPHER = -2,  /* OpenSSL failed */
    WXPC_ERR_PADDING = -3, /* the PKCS#7 padding is wrong: tampered or another key */
    WXPC_ERR_LENGTH = -4,  /* the length field points outside the plaintext */
    WXPC_ERR_APPID = -5,   /* encrypted for another appid */
    WXPC_ERR_NOMEM = -6,
    WXPC_ERR_TOO_LONG = -7 /* longer than the caller's limit */
} wxpc_err_t;

/* Decodes a 43-character EncodingAESKey into key. 0, or -1 when it is not
 * 43 base64 characters that decode to 32 bytes. */
int wxpc_key_decode(const char *encoding_aes_key, unsigned char key[WXPC_KEY_BYTES]);

/* hex(sha1(the n parts sorted bytewise and concatenated)) into out (41
 * bytes, NUL-terminated): the push's signature (Token, timestamp, nonce)
 * and msg_signature (the same and Encrypt). 0, or -1 if OpenSSL fails. */
int wxpc_signature(const char *const *parts, int n, char out[WXPC_SIG_HEX + 1]);

/* 1 when the hex signature `given` equals `want` (constant time), else 0. */
int wxpc_signature_equal(const char *given, const char *want);

/* Decrypts an Encrypt value of b64_len characters (at most max_b64 of them)
 * and checks that the appid inside is `appid`. On WXPC_OK *msg is the
 * message, malloc'ed and NUL-terminated (the caller frees it), and *msg_len
 * its length; on any error *msg is NULL. */
wxpc_err_t wxpc_decrypt(const unsigned char key[WXPC_KEY_BYTES], const char *b64, size_t b64_len, size_t max_b64,
                        const char *appid, char **msg, size_t *msg_len);

/* A short English reason for an error, for logs and 4xx messages. */
const char *wxpc_strerror(wxpc_err_t err);

#endif
