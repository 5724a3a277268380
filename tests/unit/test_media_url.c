/* test_media_url.c: signing and verifying media URLs: round trip, tampering
 * (id, variant, exp, signature), expiry, key handling. */
#include <stdlib.h>
#include <time.h>

#include "media_url.h"
#include "test.h"

static const char KEY[] = "0123456789abcdef0123456789abcdef-test-key";

/* Splits "/media/<id>/<variant>?exp=<exp>&sig=<sig>". */
static int parse_url(const char *url, long long *id, char *variant, long long *exp, char *sig)
{
    return sscanf(url, "/media/%lld/%15[a-z]?exp=%lld&sig=%64[0-9a-f]", id, variant, exp, sig) == 4 ? 0 : -1;
}

static void test_round_trip(void)
{
    char url[256], variant[16], sig[65];
    long long id, exp, now = (long long)time(NULL);
    CHECK_INT(media_url_sign(42, "full", 600, url, sizeof url), 0);
    long long after = (long long)time(NULL); /* the signer read the clock in between */
    CHECK_INT(parse_url(url, &id, variant, &exp, sig), 0);
    CHECK_INT(id, 42);
    CHECK_STR(variant, "full");
    CHECK(exp >= now + 600 && exp <= after + 600);
    CHECK_INT(strlen(sig), 64);
    CHECK_INT(media_url_verify(42, "full", exp, sig, now), 0);
    CHECK_INT(media_url_sign(42, "thumb", 600, url, sizeof url), 0);
    CHECK_INT(parse_url(url, &id, variant, &exp, sig), 0);
    CHECK_STR(variant, "thumb");
    CHECK_INT(media_url_verify(42, "thumb", exp, sig, now), 0);
}

static void test_tampering(void)
{
    char url[256], variant[16], sig[65];
    long long id, exp, now = (long long)time(NULL);
    CHECK_INT(media_url_sign(7, "thumb", 600, url, sizeof url), 0);
    CHECK_INT(parse_url(url, &id, variant, &exp, sig), 0);
    CHECK_INT(media_url_verify(8, "thumb", exp, sig, now), -1);     /* another upload */
    CHECK_INT(media_url_verify(7, "full", exp, sig, now), -1);      /* another variant */
    CHECK_INT(media_url_verify(7, "thumb", exp + 1, sig, now), -1); /* longer life */
    char bad[65];
    memcpy(bad, sig, sizeof bad);
    bad[10] = bad[10] == '0' ? '1' : '0';
    CHECK_INT(media_url_verify(7, "thumb", exp, bad, now), -1);
    bad[10] = sig[10];
    bad[63] = '\0'; /* too short */
    CHECK_INT(media_url_verify(7, "thumb", exp, bad, now), -1);
    CHECK_INT(media_url_verify(7, "thumb", exp, "", now), -1);
    CHECK_INT(media_url_verify(7, "thumb", exp, NULL, now), -1);
    CHECK_INT(media_url_verify(7, "other", exp, sig, now), -1);
    /* upper-case hex is the same signature */
    char upper[65];
    for (int i = 0; i < 65; i++)
        upper[i] = (sig[i] >= 'a' && sig[i] <= 'f') ? (char)(sig[i] - 32) : sig[i];
    CHECK_INT(media_url_verify(7, "thumb", exp, upper, now), 0);
}

static void test_expiry(void)
{
    char url[256], variant[16], sig[65];
    long long id, exp, now = (long long)time(NULL);
    CHECK_INT(media_url_sign_until(9, "full", now - 1, url, sizeof url), 0);
    CHECK_INT(parse_url(url, &id, variant, &exp, sig), 0);
    CHECK_INT(media_url_verify(9, "full", exp, sig, now), -2);
    CHECK_INT(media_url_verify(9, "full", exp, sig, exp), 0); /* valid up to and including exp */
    /* a bad signature is reported as bad even when also expired */
    sig[0] = sig[0] == 'a' ? 'b' : 'a';
    CHECK_INT(media_url_verify(9, "full", exp, sig, now), -1);
}

static void test_bad_arguments(void)
{
    char url[256], tiny[16];
    CHECK_INT(media_url_sign(1, "original", 600, url, sizeof url), -1);
    CHECK_INT(media_url_sign(0, "full", 600, url, sizeof url), -1);
    CHECK_INT(media_url_sign(1, "full", 0, url, sizeof url), -1);
    CHECK_INT(media_url_sign(1, "full", 600, tiny, sizeof tiny), -1);
}

static void test_key_rotation_invalidates(void)
{
    char url[256], variant[16], sig[65];
    long long id, exp, now = (long long)time(NULL);
    CHECK_INT(media_url_sign(5, "full", 600, url, sizeof url), 0);
    CHECK_INT(parse_url(url, &id, variant, &exp, sig), 0);
    CHECK_INT(media_url_set_key("another-key-another-key-another-key!", 36), 0);
    CHECK_INT(media_url_verify(5, "full", exp, sig, now), -1);
    CHECK_INT(media_url_set_key(KEY, strlen(KEY)), 0);
    CHECK_INT(media_url_verify(5, "full", exp, sig, now), 0);
}

static void test_key_rules(void)
{
    char url[256];
    CHECK_INT(media_url_set_key("short", 5), -1); /* under 32 bytes */
    media_url_clear_key();
    CHECK_INT(media_url_sign(1, "full", 600, url, sizeof url), -1); /* no key: nothing signs */
    CHECK_INT(media_url_verify(1, "full", 9999999999LL, "00", 0), -1);
    CHECK_INT(media_url_set_key(KEY, strlen(KEY)), 0);
}

/* A reload (SIGHUP): the new key signs, the replaced one still verifies
 * until the next rotation; the same key twice changes nothing. */
static void test_rotate_keeps_the_previous_key(void)
{
    static const char K2[] = "second-key-second-key-second-key-2", K3[] = "third-key-third-key-third-key-3333";
    char url[256], variant[16], sig1[65], sig2[65];
    long long id, exp, now = (long long)time(NULL);
    CHECK_INT(media_url_set_key(KEY, strlen(KEY)), 0);
    CHECK_INT(media_url_sign(7, "thumb", 600, url, sizeof url), 0);
    CHECK_INT(parse_url(url, &id, variant, &exp, sig1), 0);
    CHECK_INT(media_url_rotate_key(K2, strlen(K2)), 0);
    CHECK_INT(media_url_rotate_key(K2, strlen(K2)), 0); /* again: KEY is still the previous one */
    CHECK_INT(media_url_verify(7, "thumb", exp, sig1, now), 0);
    CHECK_INT(media_url_sign(7, "thumb", 600, url, sizeof url), 0);
    CHECK_INT(parse_url(url, &id, variant, &exp, sig2), 0);
    CHECK(strcmp(sig1, sig2) != 0);
    CHECK_INT(media_url_verify(7, "thumb", exp, sig2, now), 0);
    CHECK_INT(media_url_rotate_key("short", 5), -1); /* refused: nothing changes */
    CHECK_INT(media_url_verify(7, "thumb", exp, sig1, now), 0);
    CHECK_INT(media_url_rotate_key(K3, strlen(K3)), 0); /* KEY retired */
    CHECK_INT(media_url_verify(7, "thumb", exp, sig1, now), -1);
    CHECK_INT(media_url_verify(7, "thumb", exp, sig2, now), 0);
    CHECK_INT(media_url_set_key(KEY, strlen(KEY)), 0);
}

int main(void)
{
    media_url_set_key(KEY, strlen(KEY));
    RUN(test_round_trip);
    RUN(test_tampering);
    RUN(test_expiry);
    RUN(test_bad_arguments);
    RUN(test_key_rotation_invalidates);
    RUN(test_key_rules);
    RUN(test_rotate_keeps_the_previous_key);
    media_url_clear_key();
    return TEST_REPORT();
}
