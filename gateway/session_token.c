#include "session_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64url.h"

#define MAX_KEYS 8

typedef struct {
    char kid[17];
    unsigned char secret[512];
    size_t secret_len;
} signing_key_t;

static signing_key_t keys[MAX_KEYS];
static int nkeys;
/* Signing and verifying read the keys; a reload (SIGHUP) replaces them. */
static pthread_rwlock_t keys_lock = PTHREAD_RWLOCK_INITIALIZER;

void session_keys_free(void)
{
    OPENSSL_cleanse(keys, sizeof(keys));
    nkeys = 0;
}

/* All or nothing: after a failure no key is left loaded. */
int session_keys_load(const char *spec)
{
    session_keys_free();
    const char *p = spec;
    while (p && *p && nkeys < MAX_KEYS) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (!eq)
            goto Fail;
        size_t kid_len = (size_t)(eq - p), sec_len = len - kid_len - 1;
        if (kid_len == 0 || kid_len >= sizeof(keys[0].kid) || sec_len == 0 || sec_len > sizeof(keys[0].secret))
            goto Fail;
        memcpy(keys[nkeys].kid, p, kid_len);
        keys[nkeys].kid[kid_len] = '\0';
        memcpy(keys[nkeys].secret, eq + 1, sec_len);
        keys[nkeys].secret_len = sec_len;
        nkeys++;
        p += len;
        if (*p == ',')
            p++;
    }
    if (nkeys > 0 && !(p && *p)) /* more than MAX_KEYS keys: refused, not cut */
        return 0;
Fail:
    session_keys_free();
    return -1;
}

static void mac(const signing_key_t *k, const char *msg, size_t len, char out[48])
{
    unsigned char digest[32];
    unsigned dlen = sizeof(digest);
    HMAC(EVP_sha256(), k->secret, (int)k->secret_len, (const unsigned char *)msg, len, digest, &dlen);
    b64url_encode(digest, dlen, out, 48);
}

/* The keys are read under keys_lock (session_keys_reload may swap them). */
static int sign_locked(long long user_id, long long expires_at, char *out, size_t outsz, char *sid, size_t sidsz)
{
    if (nkeys == 0)
        return -1;
    unsigned char nonce_bytes[12]; /* the session id: 96 random bits */
    if (RAND_bytes(nonce_bytes, sizeof(nonce_bytes)) != 1)
        return -1;
    char nonce[SESSION_ID_MAX];
    if (b64url_encode(nonce_bytes, sizeof(nonce_bytes), nonce, sizeof(nonce)) < 0)
        return -1;
    if (sid && (size_t)snprintf(sid, sidsz, "%s", nonce) >= sidsz)
        return -1;
    char msg[128];
    int n = snprintf(msg, sizeof(msg), "%s.%lld.%lld.%s", keys[0].kid, user_id, expires_at, nonce);
    if (n < 0 || (size_t)n >= sizeof(msg))
        return -1;
    char sig[48];
    mac(&keys[0], msg, (size_t)n, sig);
    if ((size_t)snprintf(out, outsz, "%s.%s", msg, sig) >= outsz)
        return -1;
    return 0;
}

/* Parses a decimal number made only of digits; -1 if not. */
static long long parse_num(const char *s, size_t len)
{
    if (len == 0 || len > 18)
        return -1;
    long long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static session_status_t verify_locked(const char *token, size_t len, long long now, long long *user_id,
                                      long long *expires_at, char *sid, size_t sidsz)
{
    if (len == 0 || len > 200)
        return SESSION_INVALID;
    const char *part[5];
    size_t plen[5];
    int nparts = 0;
    const char *start = token, *end = token + len;
    for (const char *p = token; p <= end; p++) {
        if (p == end || *p == '.') {
            if (nparts == 5)
                return SESSION_INVALID;
            part[nparts] = start;
            plen[nparts] = (size_t)(p - start);
            nparts++;
            start = p + 1;
        }
    }
    if (nparts != 5)
        return SESSION_INVALID;
    const signing_key_t *k = NULL;
    for (int i = 0; i < nkeys; i++)
        if (strlen(keys[i].kid) == plen[0] && memcmp(keys[i].kid, part[0], plen[0]) == 0)
            k = &keys[i];
    if (!k)
        return SESSION_INVALID; /* foreign or retired key */
    char sig[48];
    size_t signed_len = (size_t)(part[4] - token) - 1;
    mac(k, token, signed_len, sig);
    if (strlen(sig) != plen[4] || CRYPTO_memcmp(sig, part[4], plen[4]) != 0)
        return SESSION_INVALID;
    long long uid = parse_num(part[1], plen[1]), exp = parse_num(part[2], plen[2]);
    if (uid <= 0 || exp <= 0 || plen[3] == 0 || plen[3] >= SESSION_ID_MAX)
        return SESSION_INVALID;
    if (exp <= now)
        return SESSION_EXPIRED;
    if (sid) {
        if (sidsz <= plen[3])
            return SESSION_INVALID;
        memcpy(sid, part[3], plen[3]);
        sid[plen[3]] = '\0';
    }
    *user_id = uid;
    if (expires_at)
        *expires_at = exp;
    return SESSION_OK;
}

int session_sign_sid(long long user_id, long long expires_at, char *out, size_t outsz, char *sid, size_t sidsz)
{
    pthread_rwlock_rdlock(&keys_lock);
    int rc = sign_locked(user_id, expires_at, out, outsz, sid, sidsz);
    pthread_rwlock_unlock(&keys_lock);
    return rc;
}

int session_sign(long long user_id, long long expires_at, char *out, size_t outsz)
{
    return session_sign_sid(user_id, expires_at, out, outsz, NULL, 0);
}

session_status_t session_verify_sid(const char *token, size_t len, long long now, long long *user_id,
                                    long long *expires_at, char *sid, size_t sidsz)
{
    pthread_rwlock_rdlock(&keys_lock);
    session_status_t st = verify_locked(token, len, now, user_id, expires_at, sid, sidsz);
    pthread_rwlock_unlock(&keys_lock);
    return st;
}

session_status_t session_verify(const char *token, size_t len, long long now, long long *user_id, long long *expires_at)
{
    return session_verify_sid(token, len, now, user_id, expires_at, NULL, 0);
}

int session_keys_reload(const char *spec)
{
    static signing_key_t saved[MAX_KEYS];
    pthread_rwlock_wrlock(&keys_lock);
    int nsaved = nkeys;
    memcpy(saved, keys, sizeof(keys));
    int rc = session_keys_load(spec);
    if (rc != 0) { /* keep serving with the keys in use */
        memcpy(keys, saved, sizeof(keys));
        nkeys = nsaved;
    }
    pthread_rwlock_unlock(&keys_lock);
    OPENSSL_cleanse(saved, sizeof(saved));
    return rc;
}
