/* fuzz_wechat_reply.c: turning a WeChat HTTP 200 reply into a result or an
 * errcode (gateway/wechat_client_internal.h), then reading the fields each
 * endpoint promises.
 *
 * Input: one byte choosing the endpoint and the reply's Content-Type, then
 * the reply body.
 *   byte % 8: 0 jscode2session, 1 getuserphonenumber, 2 subscribe send
 *             (msgid), 3 msg_sec_check, 4 media_check_async, 5..7 the QR code
 *             (an image is the success case)
 *   byte / 8 % 4: Content-Type none, application/json, image/png,
 *             "image/jpeg; charset=binary"
 *
 * Calls: wx_decode_reply, wx_read_session, wx_read_phone, wx_reply_int64,
 * wx_read_seccheck, wx_read_trace_id, wx_res_free, wx_json_int.
 * Properties: 0 means errcode 0 and a result that owns the body (JSON
 * object, or an image only where one is accepted and never a body starting
 * with '{'); -1 leaves an errcode that is not 0 and the body with the
 * caller; errmsg is always a terminated string; the endpoint readers fill
 * only terminated strings that fit their fields. */
#include <string.h>

#include "../../gateway/wechat_client_internal.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    return 0;
}

#define TERMINATED(field) (strnlen((field), sizeof(field)) < sizeof(field))

static void read_fields(int endpoint, const wx_res_t *res, wx_status_t *st)
{
    switch (endpoint) {
    case 0: {
        wx_session_t s;
        memset(&s, 0x55, sizeof(s));
        if (wx_read_session(res, &s, st) == 0)
            FUZZ_CHECK(s.openid[0] && TERMINATED(s.openid) && TERMINATED(s.unionid) && TERMINATED(s.session_key));
        else
            FUZZ_CHECK(st->errcode == WX_ERR_PARSE);
        break;
    }
    case 1: {
        wx_phone_t p;
        memset(&p, 0x55, sizeof(p));
        if (wx_read_phone(res, FUZZ_APPID, &p, st) == 0)
            FUZZ_CHECK(p.phone[0] && TERMINATED(p.phone) && TERMINATED(p.pure_phone) && TERMINATED(p.country_code));
        else
            FUZZ_CHECK(st->errcode == WX_ERR_PARSE);
        break;
    }
    case 2:
        (void)wx_reply_int64(res, "msgid");
        break;
    case 3: {
        wx_seccheck_t s;
        memset(&s, 0x55, sizeof(s));
        if (wx_read_seccheck(res, &s, st) == 0)
            FUZZ_CHECK(s.suggest[0] && TERMINATED(s.suggest) && TERMINATED(s.trace_id) && s.label >= 0);
        else
            FUZZ_CHECK(st->errcode == WX_ERR_PARSE);
        break;
    }
    case 4: {
        char trace[64];
        if (wx_read_trace_id(res, trace, sizeof(trace), st) == 0)
            FUZZ_CHECK(trace[0] && TERMINATED(trace));
        else
            FUZZ_CHECK(st->errcode == WX_ERR_PARSE);
        break;
    }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const types[] = {NULL, "application/json", "image/png", "image/jpeg; charset=binary"};
    if (size < 1)
        return 0;
    int endpoint = data[0] % 8 > 5 ? 5 : data[0] % 8;
    const char *ct = types[data[0] / 8 % 4];
    size_t len = size - 1;
    /* As the HTTP layer leaves it: malloc'ed, NUL after the body, NULL when
     * nothing came. */
    char *body = len ? fuzz_strndup(data + 1, len) : NULL;
    wx_req_t req = {.endpoint = "fuzz", .path = "/fuzz", .accept_image = endpoint == 5};
    wx_res_t res;
    wx_status_t st;
    memset(&res, 0, sizeof(res));
    memset(&st, 0, sizeof(st));
    int rc = wx_decode_reply(&req, &body, len, ct, &res, &st);
    FUZZ_CHECK(TERMINATED(st.errmsg));
    if (rc == 0) {
        FUZZ_CHECK(st.errcode == 0 && body == NULL && res.raw_len == len);
        FUZZ_CHECK(res.raw && res.raw[len] == '\0');
        if (endpoint == 5) {
            FUZZ_CHECK(res.json == NULL && res.content_type[0] && TERMINATED(res.content_type));
            size_t i = strspn(res.raw, " \t\r\n");
            FUZZ_CHECK(i >= len || res.raw[i] != '{');
        } else {
            FUZZ_CHECK(cJSON_IsObject(res.json));
            read_fields(endpoint, &res, &st);
            FUZZ_CHECK(TERMINATED(st.errmsg));
        }
        wx_res_free(&res);
    } else {
        FUZZ_CHECK(rc == -1 && st.errcode != 0);
        FUZZ_CHECK(res.json == NULL && res.raw == NULL);
    }
    free(body);

    /* The number-or-string reader behind errcode, countryCode and label. */
    cJSON *item = cJSON_ParseWithLength((const char *)data + 1, len);
    long long v;
    if (item)
        (void)wx_json_int(item, &v);
    cJSON_Delete(item);
    return 0;
}
