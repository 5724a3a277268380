/* The console's cookie-session helpers (gateway/console_session.c): cookie
 * parsing, the CSRF rule, hashing and the answer's Set-Cookie slots. */
#include <string.h>

#include "gateway/call.h"
#include "gateway/console_session.h"
#include "test.h"

static void test_cookie_value(void)
{
    char out[48];
    const char *h = "theme=dark; console_session=AbC-_12; console_ticket=zz";
    CHECK_INT(console_cookie_value(h, strlen(h), "console_session", out, sizeof(out)), 1);
    CHECK_STR(out, "AbC-_12");
    CHECK_INT(console_cookie_value(h, strlen(h), "console_ticket", out, sizeof(out)), 1);
    CHECK_STR(out, "zz");
    CHECK_INT(console_cookie_value(h, strlen(h), "console", out, sizeof(out)), 0); /* a prefix is not a name */
    const char *prefixed = "xconsole_session=evil;console_session=good";
    CHECK_INT(console_cookie_value(prefixed, strlen(prefixed), "console_session", out, sizeof(out)), 1);
    CHECK_STR(out, "good");
    char small[4];
    CHECK_INT(console_cookie_value(h, strlen(h), "console_session", small, sizeof(small)), 0); /* too long */
    CHECK_INT(console_cookie_value("", 0, "console_session", out, sizeof(out)), 0);
    /* the header's length bounds the parse: nothing past it is read */
    CHECK_INT(console_cookie_value(h, 10, "console_session", out, sizeof(out)), 0);
}

static void test_csrf_rule(void)
{
    CHECK_INT(console_needs_csrf("GET"), 0);
    CHECK_INT(console_needs_csrf("HEAD"), 0);
    CHECK_INT(console_needs_csrf("POST"), 1);
    CHECK_INT(console_needs_csrf("PUT"), 1);
    CHECK_INT(console_needs_csrf("DELETE"), 1);
    CHECK_INT(console_text_equal("abc", "abc"), 1);
    CHECK_INT(console_text_equal("abc", "abd"), 0);
    CHECK_INT(console_text_equal("abc", "ab"), 0);
    CHECK_INT(console_text_equal("", "abc"), 0);
}

static void test_hash_and_random(void)
{
    char hex[CONSOLE_HASH_HEX];
    console_hash_hex("abc", hex);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    char a[CONSOLE_SECRET_LEN + 1], b[CONSOLE_SECRET_LEN + 1];
    CHECK_INT(console_random_text(CONSOLE_SECRET_BYTES, a, sizeof(a)), 0);
    CHECK_INT(console_random_text(CONSOLE_SECRET_BYTES, b, sizeof(b)), 0);
    CHECK_INT(strlen(a), CONSOLE_SECRET_LEN);
    CHECK(strcmp(a, b) != 0);
    char tiny[8];
    CHECK_INT(console_random_text(CONSOLE_SECRET_BYTES, tiny, sizeof(tiny)), -1);
}

static void test_set_cookie_slots(void)
{
    gw_call_t *c = call_new();
    CHECK_INT(console_set_cookie(c, "a=%s; Path=/", "1"), 0);
    CHECK_INT(console_set_cookie(c, "b=%s; Path=/", "2"), 0);
    CHECK_INT(console_set_cookie(c, "c=3"), -1); /* two slots */
    CHECK_STR(c->set_cookie[0], "a=1; Path=/");
    CHECK_STR(c->set_cookie[1], "b=2; Path=/");
    call_free(c);
    c = call_new();
    char long_value[400];
    memset(long_value, 'x', sizeof(long_value) - 1);
    long_value[sizeof(long_value) - 1] = '\0';
    CHECK_INT(console_set_cookie(c, "a=%s", long_value), -1); /* never a cut cookie */
    CHECK_STR(c->set_cookie[0], "");
    call_free(c);
}

int main(void)
{
    RUN(test_cookie_value);
    RUN(test_csrf_rule);
    RUN(test_hash_and_random);
    RUN(test_set_cookie_slots);
    return TEST_REPORT();
}
