#include "media_url.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define KEY_MIN 32
#define KEY_MAX 512
#define SIG_HEX_LEN 64

static unsigned char url_key[KEY_MAX];
static size_t url_key_len;

int media_url_set_key(const char *key, size_t len)
{
    if (!key || len < KEY_MIN || len > KEY_MAX)
        return -1;
    memcpy(url_key, key, len);
    url_key_len = len;
    return 0;
}

void media_url_clear_key(void)
{
    OPENSSL_cleanse(url_key, sizeof(url_key));
    url_key_len = 0;
}

static int valid_variant(const char *variant)
{
    return variant && (!strcmp(variant, "full") || !strcmp(variant, "thumb"));
}

/* hex(HMAC(key, "<id>/<variant>/<exp>")) into out[SIG_HEX_LEN + 1]. */
static int compute_sig(long long upload_id, const char *variant, long long exp, char out[SIG_HEX_LEN + 1])
{
    if (url_key_len == 0)
        return -1;
    char msg[96];
    int n = snprintf(msg, sizeof(msg), "%lld/%s/%lld", upload_id, variant, exp);
    if (n < 0 || (size_t)n >= sizeof(msg))
        return -1;
    unsigned char digest[32];
    unsigned dlen = sizeof(digest);
    if (!HMAC(EVP_sha256(), url_key, (int)url_key_len, (const unsigned char *)msg, (size_t)n, digest, &dlen))
        return -1;
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < dlen; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 15];
    }
    out[2 * dlen] = '\0';
    return 0;
}

int media_url_sign_until(long long upload_id, const char *variant, long long exp, char *out, size_t outsz)
{
    char sig[SIG_HEX_LEN + 1];
    if (upload_id <= 0 || !valid_variant(variant) || compute_sig(upload_id, variant, exp, sig) != 0)
        return -1;
    int n = snprintf(out, outsz, "/media/%lld/%s?exp=%lld&sig=%s", upload_id, variant, exp, sig);
    return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

int media_url_sign(long long upload_id, const char *variant, long long ttl_s, char *out, size_t outsz)
{
    if (ttl_s <= 0)
        return -1;
    return media_url_sign_until(upload_id, variant, (long long)time(NULL) + ttl_s, out, outsz);
}

int media_url_verify(long long upload_id, const char *variant, long long exp, const char *sig_hex, long long now)
{
    char want[SIG_HEX_LEN + 1];
    if (upload_id <= 0 || !valid_variant(variant) || !sig_hex || strlen(sig_hex) != SIG_HEX_LEN)
        return -1;
    if (compute_sig(upload_id, variant, exp, want) != 0)
        return -1;
    /* Accept upper-case hex too; compare in constant time. */
    char got[SIG_HEX_LEN];
    for (int i = 0; i < SIG_HEX_LEN; i++) {
        char ch = sig_hex[i];
        got[i] = (ch >= 'A' && ch <= 'F') ? (char)(ch - 'A' + 'a') : ch;
    }
    if (CRYPTO_memcmp(got, want, SIG_HEX_LEN) != 0)
        return -1;
    return now > exp ? -2 : 0;
}
