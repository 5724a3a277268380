/* fuzz_session_token.c: verification of the session token a client sends
 * as "Authorization: Bearer <token>" (gateway/session_token.h), with two
 * configured keys (t1 signs, t0 only verifies) and a fixed clock.
 *
 * Input: the token (without "Bearer "), passed without a terminating NUL as
 * h2o hands over the header value.
 *
 * Calls: session_keys_load (once), session_verify, session_sign.
 * Properties: an accepted token names a positive user id and an expiry after
 * "now"; a token signed now verifies to what was signed; changing any one
 * byte of it makes it invalid (the signature covers every byte). */
#include <string.h>

#include "../../gateway/session_token.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    if (session_keys_load(FUZZ_SESSION_KEYS) != 0) {
        fprintf(stderr, "fuzz: the test session keys do not load\n");
        exit(2);
    }
    return 0;
}

/* A fresh token for a user id and expiry taken from the input: it verifies,
 * and a one-byte change anywhere does not. */
static void check_round_trip(const uint8_t *data, size_t size)
{
    long long uid = 1, exp = FUZZ_NOW + 3600;
    size_t flip_at = 0;
    uint8_t flip = 1;
    if (size >= 8) {
        memcpy(&uid, data, 4);
        uid = (uid & 0x7fffffff) + 1;
        memcpy(&flip_at, data + 4, 2);
        flip = data[6] ? data[6] : 1;
    }
    char token[200];
    FUZZ_CHECK(session_sign(uid, exp, token, sizeof(token)) == 0);
    size_t len = strlen(token);
    long long got_uid = 0, got_exp = 0;
    FUZZ_CHECK(session_verify(token, len, FUZZ_NOW, &got_uid, &got_exp) == SESSION_OK);
    FUZZ_CHECK(got_uid == uid && got_exp == exp);
    FUZZ_CHECK(session_verify(token, len, exp, &got_uid, NULL) == SESSION_EXPIRED);
    token[flip_at % len] ^= flip;
    FUZZ_CHECK(session_verify(token, len, FUZZ_NOW, &got_uid, &got_exp) == SESSION_INVALID);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *token = malloc(size ? size : 1);
    long long uid = -1, exp = -1;
    if (!token)
        abort();
    memcpy(token, data, size);
    session_status_t st = session_verify(token, size, FUZZ_NOW, &uid, &exp);
    FUZZ_CHECK(st == SESSION_OK || st == SESSION_INVALID || st == SESSION_EXPIRED);
    if (st == SESSION_OK)
        FUZZ_CHECK(uid > 0 && exp > FUZZ_NOW);
    /* The same with the optional expires_at left out. */
    session_status_t st2 = session_verify(token, size, FUZZ_NOW, &uid, NULL);
    FUZZ_CHECK(st2 == st);
    free(token);
    check_round_trip(data, size);
    return 0;
}
