#include "media_url.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
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
/* Moves with every change of url_key (set, rotation, clear): a thread's
 * keyed contexts from another generation are rebuilt before use. */
static unsigned long key_generation = 1;
static pthread_rwlock_t key_lock = PTHREAD_RWLOCK_INITIALIZER;

/* ---- keyed HMAC contexts, one set per thread ----
 * Keying an HMAC (fetching the algorithm, hashing the key's two pads) costs
 * far more than signing a 30-byte message, and a ticket's detail signs two
 * URLs a photo. Each thread keeps a context per key slot, keyed once per key
 * generation; a signature re-initialises it with no key, which restarts
 * from the stored key's pads. Contexts are freed when their thread ends
 * (pthread key destructor) or when the thread next sees a new generation. */
typedef struct {
    EVP_MAC_CTX *ctx[2];
    unsigned long generation;
} thread_macs_t;

static pthread_once_t macs_once = PTHREAD_ONCE_INIT;
static pthread_key_t macs_key;
static int macs_key_ok;
static EVP_MAC *hmac_alg; /* fetched once, kept for the process's life */

static void thread_macs_free(void *p)
{
    thread_macs_t *t = p;
    if (!t)
        return;
    EVP_MAC_CTX_free(t->ctx[0]);
    EVP_MAC_CTX_free(t->ctx[1]);
    OPENSSL_free(t);
}

static void macs_init(void)
{
    hmac_alg = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
    macs_key_ok = pthread_key_create(&macs_key, thread_macs_free) == 0;
}

/* The calling thread's context for url_key[k], keyed for the current
 * generation; NULL when memory runs out. The caller holds key_lock. */
static EVP_MAC_CTX *thread_mac(int k)
{
    pthread_once(&macs_once, macs_init);
    if (!hmac_alg || !macs_key_ok)
        return NULL;
    thread_macs_t *t = pthread_getspecific(macs_key);
    if (!t) {
        if (!(t = OPENSSL_zalloc(sizeof(*t))))
            return NULL;
        if (pthread_setspecific(macs_key, t) != 0) {
            OPENSSL_free(t);
            return NULL;
        }
    }
    if (t->generation != key_generation) {
        for (int i = 0; i < 2; i++) {
            EVP_MAC_CTX_free(t->ctx[i]);
            t->ctx[i] = NULL;
        }
        t->generation = key_generation;
    }
    if (!t->ctx[k]) {
        char digest[] = "SHA256";
        OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
        EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(hmac_alg);
        if (!ctx || !EVP_MAC_init(ctx, url_key[k], url_key_len[k], params)) {
            EVP_MAC_CTX_free(ctx);
            return NULL;
        }
        t->ctx[k] = ctx;
    }
    return t->ctx[k];
}

int media_url_set_key(const char *key, size_t len)
{
    if (!key || len < KEY_MIN || len > KEY_MAX)
        return -1;
    pthread_rwlock_wrlock(&key_lock);
    memcpy(url_key[0], key, len);
    url_key_len[0] = len;
    OPENSSL_cleanse(url_key[1], sizeof(url_key[1]));
    url_key_len[1] = 0;
    key_generation++;
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
        key_generation++;
    }
    pthread_rwlock_unlock(&key_lock);
    return 0;
}

void media_url_clear_key(void)
{
    pthread_rwlock_wrlock(&key_lock);
    OPENSSL_cleanse(url_key, sizeof(url_key));
    url_key_len[0] = url_key_len[1] = 0;
    key_generation++;
    pthread_rwlock_unlock(&key_lock);
    /* This thread's contexts hold the old keys' pads: gone now, not later. */
    pthread_once(&macs_once, macs_init);
    if (macs_key_ok) {
        thread_macs_free(pthread_getspecific(macs_key));
        pthread_setspecific(macs_key, NULL);
    }
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
    size_t dlen = 0;
    EVP_MAC_CTX *ctx = thread_mac(k);
    /* No key: the one the context holds (its pads, already hashed). */
    if (!ctx || !EVP_MAC_init(ctx, NULL, 0, NULL) || !EVP_MAC_update(ctx, (const unsigned char *)msg, (size_t)n) ||
        !EVP_MAC_final(ctx, digest, &dlen, sizeof(digest)) || dlen != sizeof(digest))
        return -1;
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < dlen; i++) {
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
