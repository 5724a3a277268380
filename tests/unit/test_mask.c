/* test_mask.c: mask_phone / mask_openid, including NULL, short input and
 * buffers too small for the result. */
#include "mask.h"
#include "test.h"

static void test_phone_mainland(void)
{
    char out[32];
    mask_phone("13812341234", out, sizeof out);
    CHECK_STR(out, "138****1234");
}

static void test_phone_plus_prefix(void)
{
    char out[32];
    mask_phone("+8613812341234", out, sizeof out);
    CHECK_STR(out, "+861****1234");
    mask_phone("+1234567", out, sizeof out); /* 7 after the '+' */
    CHECK_STR(out, "+123****4567");
    mask_phone("+123456", out, sizeof out); /* 6 after the '+' */
    CHECK_STR(out, "****");
    mask_phone("+", out, sizeof out);
    CHECK_STR(out, "****");
}

static void test_phone_short_boundary(void)
{
    char out[32];
    mask_phone("123456", out, sizeof out);
    CHECK_STR(out, "****");
    mask_phone("", out, sizeof out);
    CHECK_STR(out, "****");
    mask_phone("1234567", out, sizeof out); /* exactly 7: the documented rule */
    CHECK_STR(out, "123****4567");
}

static void test_phone_null(void)
{
    char out[8];
    mask_phone(NULL, out, sizeof out);
    CHECK_STR(out, "-");
}

static void test_phone_tiny_buffers(void)
{
    char out[16];

    memset(out, 'x', sizeof out);
    mask_phone("13812341234", out, 5);
    CHECK_STR(out, "138*");
    CHECK(out[5] == 'x'); /* nothing written past outsz */

    memset(out, 'x', sizeof out);
    mask_phone("13812341234", out, 1);
    CHECK_STR(out, "");
    CHECK(out[1] == 'x');

    memset(out, 'x', sizeof out);
    mask_phone("13812341234", out, 0); /* must not touch out at all */
    CHECK(out[0] == 'x');

    mask_phone("13812341234", NULL, 0); /* must not crash */
    mask_phone("13812341234", out, 12); /* exactly fits 11 + NUL */
    CHECK_STR(out, "138****1234");
    mask_phone("13812341234", out, 11);
    CHECK_STR(out, "138****123");

    memset(out, 'x', sizeof out);
    mask_phone(NULL, out, 1);
    CHECK_STR(out, "");
    mask_phone("12", out, 3);
    CHECK_STR(out, "**");
}

static void test_openid(void)
{
    char out[64];
    mask_openid("oAbCdEfGhIjKlMnOpQrStUvWxYz0", out, sizeof out);
    CHECK_STR(out, "oAbC****xYz0");
    mask_openid("0123456789", out, sizeof out); /* exactly 10 */
    CHECK_STR(out, "0123****6789");
    mask_openid("012345678", out, sizeof out); /* 9 */
    CHECK_STR(out, "****");
    mask_openid("", out, sizeof out);
    CHECK_STR(out, "****");
    mask_openid(NULL, out, sizeof out);
    CHECK_STR(out, "-");
}

static void test_openid_tiny_buffers(void)
{
    char out[16];

    memset(out, 'x', sizeof out);
    mask_openid("oAbCdEfGhIjKlMnOp", out, 7);
    CHECK_STR(out, "oAbC**");
    CHECK(out[7] == 'x');

    memset(out, 'x', sizeof out);
    mask_openid("oAbCdEfGhIjKlMnOp", out, 0);
    CHECK(out[0] == 'x');
    mask_openid("oAbCdEfGhIjKlMnOp", NULL, 10);

    mask_openid("short", out, 2);
    CHECK_STR(out, "*");
}

int main(void)
{
    RUN(test_phone_mainland);
    RUN(test_phone_plus_prefix);
    RUN(test_phone_short_boundary);
    RUN(test_phone_null);
    RUN(test_phone_tiny_buffers);
    RUN(test_openid);
    RUN(test_openid_tiny_buffers);
    return TEST_REPORT();
}
