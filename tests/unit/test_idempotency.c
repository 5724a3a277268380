/* idempotency.c without a database: the Idempotency-Key header's rules and
 * the body hash that tells a retry from a different request. The claim and
 * the replay (a transaction) are checked against MariaDB by
 * tests/db/call_db_steps.c and end to end by test_repairs_idempotency.py. */
#include <stdlib.h>

#include "idempotency.h"
#include "test.h"

static gw_call_t *with_key(const char *key)
{
    gw_call_t *c = call_new();
    c->idempotency_key = key ? strdup(key) : NULL;
    return c;
}

static void test_a_usable_key_passes(void)
{
    char long_key[129];
    memset(long_key, 'k', 128);
    long_key[128] = '\0';
    const char *good[] = {"a", "3f1c-uuid-like_KEY.1~", long_key};
    for (int i = 0; i < 3; i++) {
        gw_call_t *c = with_key(good[i]);
        CHECK_INT(idempotency_key_or_fail(c), 0);
        CHECK_INT(c->status, 0);
        call_free(c);
    }
}

static void test_a_missing_or_bad_key_is_a_400_naming_the_header(void)
{
    gw_call_t *c = with_key(NULL);
    CHECK_INT(idempotency_key_or_fail(c), -1);
    CHECK_INT(c->err, ERR_MISSING_FIELD);
    CHECK_STR(c->err_field, "Idempotency-Key");
    call_free(c);

    c = with_key("");
    CHECK_INT(idempotency_check_key(c), -1); /* the deprecated name */
    CHECK_INT(c->err, ERR_MISSING_FIELD);
    call_free(c);

    char long_key[130];
    memset(long_key, 'k', 129);
    long_key[129] = '\0';
    const char *bad[] = {long_key, "has space", "tab\tkey", "\xe9\x94\xae", "del\x7f"};
    for (int i = 0; i < 5; i++) {
        c = with_key(bad[i]);
        CHECK_INT(idempotency_key_or_fail(c), -1);
        CHECK_INT(c->status, 400);
        CHECK_INT(c->err, ERR_INVALID_FIELD);
        CHECK_STR(c->err_field, "Idempotency-Key");
        call_free(c);
    }
}

static void test_the_hash_is_sha256_of_scope_and_body(void)
{
    char a[65], b[65], d[65];
    idempotency_hash("repairs.create", "{\"a\":1}", a);
    idempotency_hash("repairs.create", "{\"a\":1}", b);
    CHECK_STR(a, b);
    CHECK_INT(strlen(a), 64);
    CHECK(strspn(a, "0123456789abcdef") == 64);
    idempotency_hash("repairs.create", "{\"a\":2}", d);
    CHECK(strcmp(a, d) != 0);
    /* The scope is part of it, with a separator: the same key and body in
     * another route is another request. */
    idempotency_hash("leads.create", "{\"a\":1}", d);
    CHECK(strcmp(a, d) != 0);
    char x[65], y[65];
    idempotency_hash("ab", "c", x);
    idempotency_hash("a", "bc", y);
    CHECK(strcmp(x, y) != 0);
    /* sha256("s\n") */
    idempotency_hash("s", "", x);
    CHECK_STR(x, "cbc80bb5c0c0f8944bf73b3a429505ac5cde16644978bc9a1e74c5755f8ca556");
}

int main(void)
{
    RUN(test_a_usable_key_passes);
    RUN(test_a_missing_or_bad_key_is_a_400_naming_the_header);
    RUN(test_the_hash_is_sha256_of_scope_and_body);
    return TEST_REPORT();
}
