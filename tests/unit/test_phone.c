/* test_phone.c: phone_normalise, the stored form of a full phone number,
 * and the refusal of anything else (a part of a number included). */
#include "phone.h"
#include "test.h"

static void test_mainland(void)
{
    char out[32];
    CHECK(phone_normalise("13812341234", out, sizeof out) == 0);
    CHECK_STR(out, "13812341234");
    CHECK(phone_normalise("138-1234 1234", out, sizeof out) == 0);
    CHECK_STR(out, "13812341234");
    CHECK(phone_normalise("+86 138 1234 1234", out, sizeof out) == 0);
    CHECK_STR(out, "13812341234");
}

static void test_other_countries(void)
{
    char out[32];
    CHECK(phone_normalise("+85291234567", out, sizeof out) == 0);
    CHECK_STR(out, "+85291234567");
    CHECK(phone_normalise("+1234567", out, sizeof out) == 0);
    CHECK_STR(out, "+1234567");
}

static void test_refused(void)
{
    char out[32];
    CHECK(phone_normalise("", out, sizeof out) == -1);
    CHECK(phone_normalise("1381234", out, sizeof out) == -1);     /* a part of a number */
    CHECK(phone_normalise("1381234123", out, sizeof out) == -1);  /* 10 digits */
    CHECK(phone_normalise("23812341234", out, sizeof out) == -1); /* not a mainland mobile */
    CHECK(phone_normalise("+123456", out, sizeof out) == -1);     /* 6 digits */
    CHECK(phone_normalise("+1234567890123456", out, sizeof out) == -1);
    CHECK(phone_normalise("138%", out, sizeof out) == -1);
    CHECK(phone_normalise("1381234123412341234123412341234", out, sizeof out) == -1);
    CHECK(phone_normalise("++8613812341234", out, sizeof out) == -1);
}

int main(void)
{
    RUN(test_mainland);
    RUN(test_other_countries);
    RUN(test_refused);
    return TEST_REPORT();
}
