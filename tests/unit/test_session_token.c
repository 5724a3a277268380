/* test_session_token.c: signing and verifying session tokens: round trip,
 * tampering, expiry, unknown key ids, key rotation and malformed input. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#include "session_token.h"
#include "test.h"

#define K1 "k1=0123456789abcdef0123456789abcdef"
#define K2 "k2=fedcba9876543210fedcba9876543210"
#define NOW 1700000000LL

/* "<msg>.<base64url(HMAC-SHA256(secret, msg))>", built independently of
 * session_sign so malformed fields can carry a valid signature. */
static void sign_raw(const char *secret, const char *msg, char *out, size_t outsz)
{
    unsigned char mac[32], b64[64];
    unsigned len = sizeof(mac);
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)msg, strlen(msg), mac, &len);
    int n = EVP_EncodeBlock(b64, mac, (int)len);
    for (int i = 0; i < n; i++)
        b64[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
    while (n > 0 && b64[n - 1] == '=')
        n--;
    b64[n] = '\0';
    snprintf(out, outsz, "%s.%s", msg, (char *)b64);
}

static session_status_t verify(const char *token, long long now, long long *uid, long long *exp)
{
    return session_verify(token, strlen(token), now, uid, exp);
}

static void test_round_trip(void)
{
    CHECK_INT(session_keys_load(K1), 0);
    char tok[160];
    CHECK_INT(session_sign(42, NOW + 100, tok, sizeof(tok)), 0);
    CHECK(strncmp(tok, "k1.42.1700000100.", 17) == 0);
    long long uid = 0, exp = 0;
    CHECK_INT(verify(tok, NOW, &uid, &exp), SESSION_OK);
    CHECK_INT(uid, 42);
    CHECK_INT(exp, NOW + 100);
    uid = 0;
    CHECK_INT(verify(tok, NOW, &uid, NULL), SESSION_OK); /* expires_at is optional */
    CHECK_INT(uid, 42);
    /* Two tokens for the same user and expiry differ (nonce). */
    char tok2[160];
    CHECK_INT(session_sign(42, NOW + 100, tok2, sizeof(tok2)), 0);
    CHECK(strcmp(tok, tok2) != 0);
    session_keys_free();
}

static void test_expiry(void)
{
    CHECK_INT(session_keys_load(K1), 0);
    char tok[160];
    CHECK_INT(session_sign(7, NOW, tok, sizeof(tok)), 0);
    long long uid = -5;
    CHECK_INT(verify(tok, NOW - 1, &uid, NULL), SESSION_OK);
    uid = -5;
    CHECK_INT(verify(tok, NOW, &uid, NULL), SESSION_EXPIRED); /* valid strictly before expires_at */
    CHECK_INT(uid, -5);                                       /* untouched when not OK */
    CHECK_INT(verify(tok, NOW + 3600, &uid, NULL), SESSION_EXPIRED);
    session_keys_free();
}

static void test_tampering(void)
{
    CHECK_INT(session_keys_load(K1), 0);
    char tok[160], bad[160];
    CHECK_INT(session_sign(42, NOW + 100, tok, sizeof(tok)), 0);
    long long uid = 0;
    size_t n = strlen(tok);
    /* Every single-character change anywhere in the token is refused. */
    for (size_t i = 0; i < n; i++) {
        memcpy(bad, tok, n + 1);
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        if (bad[i] == tok[i])
            continue;
        session_status_t st = verify(bad, NOW, &uid, NULL);
        if (st != SESSION_INVALID)
            printf("  position %zu of %s accepted\n", i, tok);
        CHECK_INT(st, SESSION_INVALID);
    }
    /* Another user id or a later expiry under the same signature. */
    snprintf(bad, sizeof(bad), "k1.43%s", tok + 5);
    CHECK_INT(verify(bad, NOW, &uid, NULL), SESSION_INVALID);
    snprintf(bad, sizeof(bad), "k1.42.1700000999%s", tok + strlen("k1.42.1700000100"));
    CHECK_INT(verify(bad, NOW, &uid, NULL), SESSION_INVALID);
    /* A cut signature. */
    memcpy(bad, tok, n + 1);
    bad[n - 1] = '\0';
    CHECK_INT(verify(bad, NOW, &uid, NULL), SESSION_INVALID);
    /* An expired token with a bad signature is invalid, not expired. */
    memcpy(bad, tok, n + 1);
    bad[n - 2] = bad[n - 2] == 'A' ? 'B' : 'A';
    CHECK_INT(verify(bad, NOW + 1000, &uid, NULL), SESSION_INVALID);
    session_keys_free();
}

static void test_unknown_kid(void)
{
    CHECK_INT(session_keys_load(K2), 0);
    char tok[160];
    CHECK_INT(session_sign(42, NOW + 100, tok, sizeof(tok)), 0);
    CHECK_INT(session_keys_load(K1), 0); /* k2 retired */
    long long uid = 0;
    CHECK_INT(verify(tok, NOW, &uid, NULL), SESSION_INVALID);
    /* Same secret under another kid: still refused (the kid is signed). */
    CHECK_INT(session_keys_load("k1=fedcba9876543210fedcba9876543210"), 0);
    CHECK_INT(verify(tok, NOW, &uid, NULL), SESSION_INVALID);
    session_keys_free();
}

static void test_rotation(void)
{
    char old_tok[160], new_tok[160];
    long long uid = 0;
    CHECK_INT(session_keys_load(K1), 0);
    CHECK_INT(session_sign(5, NOW + 100, old_tok, sizeof(old_tok)), 0);
    /* Rotate: k2 signs from now on, k1 still verifies. */
    CHECK_INT(session_keys_load(K2 "," K1), 0);
    CHECK_INT(session_sign(6, NOW + 100, new_tok, sizeof(new_tok)), 0);
    CHECK(strncmp(new_tok, "k2.", 3) == 0);
    CHECK_INT(verify(old_tok, NOW, &uid, NULL), SESSION_OK);
    CHECK_INT(uid, 5);
    CHECK_INT(verify(new_tok, NOW, &uid, NULL), SESSION_OK);
    CHECK_INT(uid, 6);
    /* A token signed by the second configured key (k1 here) still verifies
     * after the keys are reordered again. */
    CHECK_INT(session_keys_load(K1 "," K2), 0);
    CHECK_INT(verify(new_tok, NOW, &uid, NULL), SESSION_OK);
    CHECK_INT(uid, 6);
    /* Retire k1: its tokens stop working. */
    CHECK_INT(session_keys_load(K2), 0);
    CHECK_INT(verify(old_tok, NOW, &uid, NULL), SESSION_INVALID);
    CHECK_INT(verify(new_tok, NOW, &uid, NULL), SESSION_OK);
    session_keys_free();
}

static void test_malformed(void)
{
    CHECK_INT(session_keys_load(K1), 0);
    char tok[160];
    CHECK_INT(session_sign(42, NOW + 100, tok, sizeof(tok)), 0);
    char buf[512], msg[256];
    long long uid = 0;
    /* The independent signer agrees with session_sign. */
    snprintf(msg, sizeof(msg), "k1.42.%lld.nonce", NOW + 100);
    sign_raw(K1 + 3, msg, buf, sizeof(buf));
    CHECK_INT(verify(buf, NOW, &uid, NULL), SESSION_OK);
    CHECK_INT(uid, 42);
    const char *plain[] = {"",
                           ".",
                           "....",
                           "k1",
                           "k1.42",
                           "k1.42.1700000100",
                           "k1.42.1700000100.nonce",
                           "k1.42.1700000100.nonce.sig.extra",
                           "Bearer x",
                           "k1..1700000100.n.s"};
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
        CHECK_INT(verify(plain[i], NOW, &uid, NULL), SESSION_INVALID);
    /* A valid signature over a bad user id or expiry. */
    const char *fields[] = {"0.1700000100",
                            "-1.1700000100",
                            "x1.1700000100",
                            "+42.1700000100",
                            "42.0",
                            "42.-5",
                            "42.",
                            ".1700000100",
                            "1234567890123456789.1700000100",
                            "42.17000001000000000000"};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        snprintf(msg, sizeof(msg), "k1.%s.n", fields[i]);
        sign_raw(K1 + 3, msg, buf, sizeof(buf));
        uid = -5;
        CHECK_INT(verify(buf, NOW, &uid, NULL), SESSION_INVALID);
        CHECK_INT(uid, -5);
    }
    /* Overlong input. */
    memset(buf, 'a', 300);
    buf[300] = '\0';
    CHECK_INT(verify(buf, NOW, &uid, NULL), SESSION_INVALID);
    /* The length is honoured: a valid token followed by garbage is refused,
     * and a valid prefix given with its own length is accepted. */
    snprintf(buf, sizeof(buf), "%sXYZ", tok);
    CHECK_INT(session_verify(buf, strlen(buf), NOW, &uid, NULL), SESSION_INVALID);
    CHECK_INT(session_verify(buf, strlen(tok), NOW, &uid, NULL), SESSION_OK);
    /* An embedded NUL. */
    memcpy(buf, tok, strlen(tok) + 1);
    buf[4] = '\0';
    CHECK_INT(session_verify(buf, strlen(tok), NOW, &uid, NULL), SESSION_INVALID);
    session_keys_free();
}

/* The session id: 96 random bits, returned by sign and by verify; a token
 * of the earlier format (a 12-character nonce) still verifies and its nonce
 * is its id; an empty or overlong id is refused. */
static void test_session_id(void)
{
    CHECK_INT(session_keys_load(K1), 0);
    char tok[160], sid[SESSION_ID_MAX], got[SESSION_ID_MAX], buf[512], msg[256];
    long long uid = 0, exp = 0;
    CHECK_INT(session_sign_sid(42, NOW + 100, tok, sizeof(tok), sid, sizeof(sid)), 0);
    CHECK_INT((long long)strlen(sid), 16);
    CHECK(strstr(tok, sid) != NULL);
    CHECK_INT(session_verify_sid(tok, strlen(tok), NOW, &uid, &exp, got, sizeof(got)), SESSION_OK);
    CHECK(strcmp(sid, got) == 0);
    CHECK_INT(uid, 42);
    CHECK_INT(exp, NOW + 100);
    /* Too small a buffer for the id: refused rather than cut. */
    CHECK_INT(session_verify_sid(tok, strlen(tok), NOW, &uid, &exp, got, 8), SESSION_INVALID);
    /* The earlier format: 9 random bytes, 12 characters. */
    snprintf(msg, sizeof(msg), "k1.42.%lld.AbCdEfGhIjKl", NOW + 100);
    sign_raw(K1 + 3, msg, buf, sizeof(buf));
    CHECK_INT(session_verify_sid(buf, strlen(buf), NOW, &uid, NULL, got, sizeof(got)), SESSION_OK);
    CHECK(strcmp(got, "AbCdEfGhIjKl") == 0);
    /* An empty id, and one longer than any the gateway signs. */
    snprintf(msg, sizeof(msg), "k1.42.%lld.", NOW + 100);
    sign_raw(K1 + 3, msg, buf, sizeof(buf));
    CHECK_INT(session_verify_sid(buf, strlen(buf), NOW, &uid, NULL, got, sizeof(got)), SESSION_INVALID);
    snprintf(msg, sizeof(msg), "k1.42.%lld.%s", NOW + 100, "0123456789abcdefghijklmnopq");
    sign_raw(K1 + 3, msg, buf, sizeof(buf));
    CHECK_INT(session_verify(buf, strlen(buf), NOW, &uid, NULL), SESSION_INVALID);
    session_keys_free();
}

static void test_key_loading(void)
{
    CHECK_INT(session_keys_load(""), -1);
    CHECK_INT(session_keys_load(NULL), -1);
    CHECK_INT(session_keys_load("nokey"), -1);
    CHECK_INT(session_keys_load("=secret"), -1);
    CHECK_INT(session_keys_load("k1="), -1);
    CHECK_INT(session_keys_load("k1234567890123456=secret"), -1); /* kid of 17 chars */
    CHECK_INT(session_keys_load(K1 ",bad"), -1);
    /* Eight keys at most; more is refused rather than silently cut. */
    char many[1024] = "";
    for (int i = 1; i <= 9; i++) {
        char one[64];
        snprintf(one, sizeof(one), "%sk%d=0123456789abcdef0123456789abcdef", i > 1 ? "," : "", i);
        strcat(many, one);
        CHECK_INT(session_keys_load(many), i <= 8 ? 0 : -1);
    }
    /* After a failed load nothing signs or verifies. */
    char tok[160];
    CHECK_INT(session_sign(1, NOW + 10, tok, sizeof(tok)), -1);
    CHECK_INT(verify("k1.1.1700000010.n.s", NOW, &(long long){0}, NULL), SESSION_INVALID);
    /* A secret may hold '='. */
    CHECK_INT(session_keys_load("k1=abc=def0123456789abcdef0123456789"), 0);
    CHECK_INT(session_sign(1, NOW + 10, tok, sizeof(tok)), 0);
    long long uid = 0;
    CHECK_INT(verify(tok, NOW, &uid, NULL), SESSION_OK);
    /* Too small an output buffer. */
    CHECK_INT(session_sign(1, NOW + 10, tok, 20), -1);
    session_keys_free();
    CHECK_INT(session_sign(1, NOW + 10, tok, sizeof(tok)), -1);
}

/* A reload (SIGHUP) replaces the keys; a spec that cannot be parsed is
 * refused and the keys in use stay. */
static void test_reload(void)
{
    char tok[160];
    long long uid = 0;
    CHECK_INT(session_keys_load(K1), 0);
    CHECK_INT(session_sign(42, 4000000000LL, tok, sizeof tok), 0);
    CHECK_INT(session_keys_reload("k1=,broken"), -1);
    CHECK_INT(session_verify(tok, strlen(tok), 1000, &uid, NULL), SESSION_OK);
    CHECK_INT(session_keys_reload(K2 "," K1), 0);
    CHECK_INT(session_verify(tok, strlen(tok), 1000, &uid, NULL), SESSION_OK);
    CHECK_INT(session_sign(43, 4000000000LL, tok, sizeof tok), 0);
    CHECK(strncmp(tok, "k2.", 3) == 0);
    CHECK_INT(session_keys_reload(K1), 0);
    CHECK_INT(session_verify(tok, strlen(tok), 1000, &uid, NULL), SESSION_INVALID);
    session_keys_free();
}

int main(void)
{
    RUN(test_round_trip);
    RUN(test_expiry);
    RUN(test_tampering);
    RUN(test_unknown_kid);
    RUN(test_rotation);
    RUN(test_malformed);
    RUN(test_session_id);
    RUN(test_key_loading);
    RUN(test_reload);
    return TEST_REPORT();
}
