/* wechat_push_crypto.c: see wechat_push_crypto.h. AES and SHA-1 come from
 * OpenSSL's EVP interface; base64 from EVP_DecodeBlock. */
#include "wechat_push_crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WXPC_BLOCK 32 /* WeChat pads to 32 bytes, not AES's 16 */
#define WXPC_RANDOM 16

static int is_b64_char(unsigned char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '+' || ch == '/';
}

/* Standard base64 with padding into out (room for len / 4 * 3 bytes).
 * EVP_DecodeBlock counts the padding as zero bytes, so the '=' are
 * subtracted here. The decoded length, or -1. */
static long b64_decode(const char *in, size_t len, unsigned char *out)
{
    size_t pad = 0;

    if (len == 0 || len % 4 != 0)
        return -1;
    while (pad < 2 && in[len - 1 - pad] == '=')
        pad++;
    for (size_t i = 0; i < len - pad; i++)
        if (!is_b64_char((unsigned char)in[i]))
            return -1;
    if (len > INT32_MAX)
        return -1;
    int n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
    if (n < 0 || (size_t)n < pad)
        return -1;
    return n - (long)pad;
}

int wxpc_key_decode(const char *encoding_aes_key, unsigned char key[WXPC_KEY_BYTES])
{
    char padded[WXPC_KEY_CHARS + 2];
    unsigned char out[WXPC_KEY_BYTES + 3];

    if (!encoding_aes_key || strlen(encoding_aes_key) != WXPC_KEY_CHARS)
        return -1;
    memcpy(padded, encoding_aes_key, WXPC_KEY_CHARS);
    padded[WXPC_KEY_CHARS] = '=';
    padded[WXPC_KEY_CHARS + 1] = '\0';
    long n = b64_decode(padded, WXPC_KEY_CHARS + 1, out);
    if (n != WXPC_KEY_BYTES) {
        OPENSSL_cleanse(out, sizeof out);
        return -1;
    }
    memcpy(key, out, WXPC_KEY_BYTES);
    OPENSSL_cleanse(out, sizeof out);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int wxpc_signature(const char *const *parts, int n, char out[WXPC_SIG_HEX + 1])
{
    const char *sorted[8];
    unsigned char digest[SHA_DIGEST_LENGTH];
    int ok;

    if (n < 1 || n > (int)(sizeof sorted / sizeof *sorted))
        return -1;
    memcpy(sorted, parts, sizeof *parts * (size_t)n);
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_str);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    ok = md && EVP_DigestInit_ex(md, EVP_sha1(), NULL) == 1;
    for (int i = 0; ok && i < n; i++)
        ok = EVP_DigestUpdate(md, sorted[i], strlen(sorted[i])) == 1;
    ok = ok && EVP_DigestFinal_ex(md, digest, NULL) == 1;
    EVP_MD_CTX_free(md);
    if (!ok)
        return -1;
    for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
    return 0;
}

int wxpc_signature_equal(const char *given, const char *want)
{
    return given && strlen(given) == WXPC_SIG_HEX && strlen(want) == WXPC_SIG_HEX &&
           CRYPTO_memcmp(given, want, WXPC_SIG_HEX) == 0;
}

wxpc_err_t wxpc_decrypt(const unsigned char key[WXPC_KEY_BYTES], const char *b64, size_t b64_len, size_t max_b64,
                        const char *appid, char **msg, size_t *msg_len)
{
    unsigned char *cipher = NULL, *plain = NULL;
    EVP_CIPHER_CTX *ctx = NULL;
    wxpc_err_t rc = WXPC_ERR_CIPHER;
    int n1 = 0, n2 = 0;
    long clen = 0;

    *msg = NULL;
    *msg_len = 0;
    if (b64_len > max_b64)
        return WXPC_ERR_TOO_LONG;
    if (!(cipher = malloc(b64_len / 4 * 3 + 3))) {
        rc = WXPC_ERR_NOMEM;
        goto Exit;
    }
    clen = b64_decode(b64, b64_len, cipher);
    if (clen <= 0 || clen % WXPC_BLOCK != 0) { /* whole 32-byte blocks, padding included */
        rc = WXPC_ERR_BASE64;
        goto Exit;
    }
    if (!(plain = malloc((size_t)clen + 16)) || !(ctx = EVP_CIPHER_CTX_new())) {
        rc = WXPC_ERR_NOMEM;
        goto Exit;
    }
    /* No padding at the cipher level: WeChat's is PKCS#7 to 32 bytes. */
    if (EVP_DecryptInit_ex(ctx, EVP_aes_256_cbc(), NULL, key, key) != 1 || EVP_CIPHER_CTX_set_padding(ctx, 0) != 1 ||
        EVP_DecryptUpdate(ctx, plain, &n1, cipher, (int)clen) != 1 || EVP_DecryptFinal_ex(ctx, plain + n1, &n2) != 1)
        goto Exit;
    size_t plen = (size_t)n1 + (size_t)n2;
    unsigned pad = plen ? plain[plen - 1] : 0;
    if (plen != (size_t)clen || pad < 1 || pad > WXPC_BLOCK || pad > plen) {
        rc = WXPC_ERR_PADDING;
        goto Exit;
    }
    for (size_t i = plen - pad; i < plen; i++)
        if (plain[i] != pad) {
            rc = WXPC_ERR_PADDING;
            goto Exit;
        }
    plen -= pad;
    if (plen < WXPC_RANDOM + 4) {
        rc = WXPC_ERR_LENGTH;
        goto Exit;
    }
    const unsigned char *p = plain + WXPC_RANDOM;
    size_t mlen = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | (size_t)p[3];
    if (mlen > plen - WXPC_RANDOM - 4) {
        rc = WXPC_ERR_LENGTH;
        goto Exit;
    }
    const unsigned char *m = p + 4, *app = m + mlen;
    size_t app_len = plen - WXPC_RANDOM - 4 - mlen;
    if (!appid || app_len != strlen(appid) || CRYPTO_memcmp(app, appid, app_len) != 0) {
        rc = WXPC_ERR_APPID;
        goto Exit;
    }
    if (!(*msg = malloc(mlen + 1))) {
        rc = WXPC_ERR_NOMEM;
        goto Exit;
    }
    memcpy(*msg, m, mlen);
    (*msg)[mlen] = '\0';
    *msg_len = mlen;
    rc = WXPC_OK;
Exit:
    EVP_CIPHER_CTX_free(ctx);
    if (plain) {
        OPENSSL_cleanse(plain, (size_t)clen);
        free(plain);
    }
    free(cipher);
    return rc;
}

const char *wxpc_strerror(wxpc_err_t err)
{
    switch (err) {
    case WXPC_OK:
        return "ok";
    case WXPC_ERR_BASE64:
        return "Encrypt is not base64 of whole 32-byte blocks";
    case WXPC_ERR_CIPHER:
        return "decryption failed";
    case WXPC_ERR_PADDING:
        return "Encrypt does not decrypt with the configured EncodingAESKey";
    case WXPC_ERR_LENGTH:
        return "the decrypted message has a bad length";
    case WXPC_ERR_APPID:
        return "the message was encrypted for another appid";
    case WXPC_ERR_NOMEM:
        return "out of memory";
    case WXPC_ERR_TOO_LONG:
        return "Encrypt is too long";
    }
    return "unknown error";
}
