#include "media_url.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define KEY_MIN 32
#define KEY_MAX 512
#define SIG_HEX_LEN 64

/* url_key[0] signs; both verify. url_key[1] is the key a reload replaced,
 * so URLs handed out before a rotation stay valid until they expire. */
static unsigned char url_key[2][KEY_MAX];
static size_t url_key_len[2];
static pthread_rwlock_t key_lock = PTHREAD_RWLOCK_INITIALIZER;

int media_url_set_key(const char *key, size_t len)
{
    if (!key || len < KEY_MIN || len > KEY_MAX)
        return -1;
    pthread_rwlock_wrlock(&key_lock);
    memcpy(url_key[0], key, len);
    url_key_len[0] = len;
    OPENSSL_cleanse(url_key[1], sizeof(url_key[1]));
    url_key_len[1] = 0;
    pthread_rwlock_unlock(&key_lock);
    return 0;
}

int media_url_rotate_key(const char *key, size_t len)
{
    if (!key || len < KEY_MIN || len > KEY_MAX)
        return -1;
    pthread_rwlock_wrlock(&key_lock);
    if (len != url_key_len[0] || CRYPTO_memcmp(key, url_key[0], len) != 0) {
        memcpy(url_key[1], url_key[0], sizeof(url_key[0]));
        url_key_len[1] = url_key_len[0];
        memcpy(url_key[0], key, len);
        url_key_len[0] = len;
    }
    pthread_rwlock_unlock(&key_lock);
    return 0;
}

void media_url_clear_key(void)
{
    pthread_rwlock_wrlock(&key_lock);
    OPENSSL_cleanse(url_key, sizeof(url_key));
    url_key_len[0] = url_key_len[1] = 0;
    pthread_rwlock_unlock(&key_lock);
}

static int valid_variant(const char *variant)
{
    return variant && (!strcmp(variant, "full") || !strcmp(variant, "thumb"));
}

/* hex(HMAC(url_key[k], "<id>/<variant>/<exp>")) into out[SIG_HEX_LEN + 1].
 * The caller holds key_lock. */
static int compute_sig(int k, long long upload_id, const char *variant, long long exp, char out[SIG_HEX_LEN + 1])
{
    if (url_key_len[k] == 0)
        return -1;
    char msg[96];
    int n = snprintf(msg, sizeof(msg), "%lld/%s/%lld", upload_id, variant, exp);
    if (n < 0 || (size_t)n >= sizeof(msg))
        return -1;
    unsigned char digest[32];
    unsigned dlen = sizeof(digest);
    if (!HMAC(EVP_sha256(), url_key[k], (int)url_key_len[k], (const unsigned char *)msg, (size_t)n, digest, &dlen))
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
    if (upload_id <= 0 || !valid_variant(variant))
        return -1;
    pthread_rwlock_rdlock(&key_lock);
    int rc = compute_sig(0, upload_id, variant, exp, sig);
    pthread_rwlock_unlock(&key_lock);
    if (rc != 0)
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
    char want[2][SIG_HEX_LEN + 1];
    if (upload_id <= 0 || !valid_variant(variant) || !sig_hex || strlen(sig_hex) != SIG_HEX_LEN)
        return -1;
    pthread_rwlock_rdlock(&key_lock);
    int have[2];
    for (int k = 0; k < 2; k++)
        have[k] = compute_sig(k, upload_id, variant, exp, want[k]) == 0;
    pthread_rwlock_unlock(&key_lock);
    /* Accept upper-case hex too; compare in constant time. */
    char got[SIG_HEX_LEN];
    for (int i = 0; i < SIG_HEX_LEN; i++) {
        char ch = sig_hex[i];
        got[i] = (ch >= 'A' && ch <= 'F') ? (char)(ch - 'A' + 'a') : ch;
    }
    int ok = 0;
    for (int k = 0; k < 2; k++)
        ok |= have[k] && CRYPTO_memcmp(got, want[k], SIG_HEX_LEN) == 0;
    if (!ok)
        return -1;
    return now > exp ? -2 : 0;
}
