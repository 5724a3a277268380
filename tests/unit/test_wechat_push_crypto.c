/* test_wechat_push_crypto.c: the message push's signatures and safe-mode
 * decryption, against WeChat's published example (the WXBizMsgCrypt sample:
 * Token spamtest, EncodingAESKey abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG,
 * appid wx2c2769f8efd9abc2) and a signature example (Token AAAAA, timestamp
 * 1714036504, nonce 1514711492: the SHA-1 of "15147114921714036504AAAAA");
 * the malformed inputs were made with Python's
 * cryptography under the sample's key. */
#include <stdlib.h>

#include "test.h"
#include "wechat_push_crypto.h"

#define SAMPLE_KEY "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
#define SAMPLE_APPID "wx2c2769f8efd9abc2"
#define SAMPLE_ENCRYPT                                                                                                 \
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2"          \
    "LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIb"            \
    "gU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/H"          \
    "TnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyV"         \
    "WQLCzpu9GhglF2PE="
/* {"Event":"x"} with 16 bytes 00..0f in front; a length field of 1000 for
 * a 2-byte message; a last padding byte of 0. */
#define JSON_OK "IG+0eOkLdhYW9kHtuT3HY6H1n0VmWdgbrUj9d8V0gJahkRWjfLHFIuBvliAuLXTr3zVO1eyAMD75tfPQi/uWqA=="
#define BAD_LENGTH "IG+0eOkLdhYW9kHtuT3HY+xFD26D4Usft7OZTXih+FYmRrkIP9IVRED+9Loqb5OtQRImhAWv1e8DpBUJk3uidg=="
#define BAD_PADDING "IG+0eOkLdhYW9kHtuT3HY1m1rh25Y7NpimyqsMW4oJJ5oi8nbNRs68LSgVqMb0NGVUES5IPog87wtC2+reSyWg=="

static unsigned char key[WXPC_KEY_BYTES];

static wxpc_err_t decrypt(const char *b64, const char *appid, char **msg, size_t *len)
{
    return wxpc_decrypt(key, b64, strlen(b64), 4096, appid, msg, len);
}

static void test_key_decode(void)
{
    unsigned char k[WXPC_KEY_BYTES];
    CHECK_INT(wxpc_key_decode(SAMPLE_KEY, key), 0);
    CHECK_INT(key[0], 0x69); /* base64 "abcd" = 69 b7 1d */
    CHECK_INT(key[1], 0xb7);
    CHECK_INT(wxpc_key_decode("abcdefghijklmnopqrstuvwxyz0123456789ABCDEF", k), -1);   /* 42 */
    CHECK_INT(wxpc_key_decode("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH", k), -1); /* 44 */
    CHECK_INT(wxpc_key_decode("abcdefghijklmnopqrstuvwxyz0123456789ABCDEF!", k), -1);  /* not base64 */
    CHECK_INT(wxpc_key_decode("", k), -1);
    CHECK_INT(wxpc_key_decode(NULL, k), -1);
}

static void test_signatures(void)
{
    char out[WXPC_SIG_HEX + 1];
    const char *plain[3] = {"AAAAA", "1714036504", "1514711492"};
    CHECK_INT(wxpc_signature(plain, 3, out), 0);
    CHECK_STR(out, "f464b24fc39322e44b38aa78f5edd27bd1441696");
    const char *msg[4] = {"spamtest", "1409735669", "1320562132", SAMPLE_ENCRYPT};
    CHECK_INT(wxpc_signature(msg, 4, out), 0);
    CHECK_STR(out, "5d197aaffba7e9b25a30732f161a50dee96bd5fa");
    CHECK(wxpc_signature_equal("5d197aaffba7e9b25a30732f161a50dee96bd5fa", out));
    CHECK(!wxpc_signature_equal("5d197aaffba7e9b25a30732f161a50dee96bd5fb", out));
    CHECK(!wxpc_signature_equal("5d197aaffba7e9b25a30732f161a50dee96bd5f", out));
    CHECK(!wxpc_signature_equal(NULL, out));
}

static void test_decrypt_wechat_sample(void)
{
    char *msg = NULL;
    size_t len = 0;
    CHECK_INT(decrypt(SAMPLE_ENCRYPT, SAMPLE_APPID, &msg, &len), WXPC_OK);
    CHECK(msg && strncmp(msg, "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]>", 44) == 0);
    CHECK(msg && strstr(msg, "<Content><![CDATA[abcdteT]]></Content>") != NULL);
    CHECK_INT(len, msg ? strlen(msg) : 0);
    CHECK(msg && msg[len - 1] == '>');
    free(msg);
    CHECK_INT(decrypt(JSON_OK, SAMPLE_APPID, &msg, &len), WXPC_OK);
    CHECK_STR(msg, "{\"Event\":\"x\"}");
    free(msg);
}

static void test_decrypt_refuses(void)
{
    char *msg = (char *)"x", tampered[sizeof SAMPLE_ENCRYPT];
    size_t len = 1;
    CHECK_INT(decrypt(SAMPLE_ENCRYPT, "wxfakeappid", &msg, &len), WXPC_ERR_APPID);
    CHECK(msg == NULL);
    CHECK_INT(decrypt(SAMPLE_ENCRYPT, "wx2c2769f8efd9abc", &msg, &len), WXPC_ERR_APPID); /* a prefix */
    CHECK_INT(decrypt(BAD_LENGTH, SAMPLE_APPID, &msg, &len), WXPC_ERR_LENGTH);
    CHECK_INT(decrypt(BAD_PADDING, SAMPLE_APPID, &msg, &len), WXPC_ERR_PADDING);
    /* one bit of the last block flipped: its padding no longer reads */
    memcpy(tampered, SAMPLE_ENCRYPT, sizeof tampered);
    tampered[sizeof tampered - 4] = tampered[sizeof tampered - 4] == 'A' ? 'B' : 'A';
    CHECK(decrypt(tampered, SAMPLE_APPID, &msg, &len) != WXPC_OK);
    CHECK(msg == NULL);
    CHECK_INT(decrypt("not base64!", SAMPLE_APPID, &msg, &len), WXPC_ERR_BASE64);
    CHECK_INT(decrypt("AAAAAAAAAAAAAAAAAAAAAA==", SAMPLE_APPID, &msg, &len), WXPC_ERR_BASE64); /* 16 bytes */
    CHECK_INT(decrypt("", SAMPLE_APPID, &msg, &len), WXPC_ERR_BASE64);
    CHECK_INT(decrypt("AAA=A===", SAMPLE_APPID, &msg, &len), WXPC_ERR_BASE64);
    CHECK_INT(wxpc_decrypt(key, SAMPLE_ENCRYPT, strlen(SAMPLE_ENCRYPT), 100, SAMPLE_APPID, &msg, &len),
              WXPC_ERR_TOO_LONG);
    CHECK(strlen(wxpc_strerror(WXPC_ERR_APPID)) > 0);
}

int main(void)
{
    RUN(test_key_decode);
    RUN(test_signatures);
    RUN(test_decrypt_wechat_sample);
    RUN(test_decrypt_refuses);
    return TEST_REPORT();
}
