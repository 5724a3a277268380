/* wechat_subscribe.c: one subscribe-message send per call (see the header).
 * The request goes through the WeChat client's own path (wx_call) with its
 * retries turned off; the access-token replay stays. */
#include "wechat_subscribe.h"

#include <stdio.h>
#include <string.h>

#include "wechat_client_internal.h"

int wx_subscribe_send_once(const char *json_body, char msgid[WX_MSGID_MAX], wx_status_t *st)
{
    wx_res_t res;
    memset(st, 0, sizeof *st);
    msgid[0] = '\0';
    wx_req_t req = {.endpoint = "subscribe_send",
                    .path = "/cgi-bin/message/subscribe/send",
                    .body = json_body ? json_body : "",
                    .with_token = 1,
                    .no_retry = 1};
    int rc = wx_call(&req, &res, st);
    if (rc == 0) {
        long long id = wx_reply_int64(&res, "msgid");
        if (id)
            snprintf(msgid, WX_MSGID_MAX, "%lld", id);
    }
    int sent = res.sent;
    wx_res_free(&res);
    if (rc == 0)
        return WX_SEND_OK;
    return sent ? WX_SEND_FAILED : WX_SEND_NO_TOKEN;
}
