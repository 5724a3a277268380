/* notification_policy.c: classification of send results and retry delays. */
#include "domain/notifications/notification_policy.h"

#include "gateway/wechat_subscribe.h"

np_outcome_t np_classify(int send_rc, const wx_status_t *st)
{
    if (send_rc == WX_SEND_OK)
        return NP_SENT;
    if (send_rc == WX_SEND_NO_TOKEN) /* nothing was sent; not this message's fault */
        return NP_RETRY;
    switch (st->errcode) {
    case 43101:
        return NP_NO_QUOTA;
    case -1: /* system busy */
    case WX_ERR_TRANSPORT:
    case WX_ERR_TIMEOUT:
    case WX_ERR_PARSE: /* an unreadable 200: maybe a proxy's page; try again */
    case 40001:        /* the token was refreshed and replayed once already */
    case 40014:
    case 42001:
    case 45009: /* daily limit */
    case 45011: /* per-minute limit */
        return NP_RETRY;
    case WX_ERR_HTTP:
        return st->http_status >= 500 || st->http_status == 429 ? NP_RETRY : NP_FAILED;
    default: /* 40037, 47003, 41030, 40003 and every other business error */
        return NP_FAILED;
    }
}

long long np_backoff_ms(int attempts, long long base_ms, long long max_ms, unsigned rnd)
{
    long long d = base_ms > 0 ? base_ms : 1;

    for (int i = 1; i < attempts && d < max_ms; i++)
        d *= 2;
    if (d > max_ms)
        d = max_ms;
    if (d < 1)
        d = 1;
    return d - d / 2 + (long long)(rnd % (unsigned long long)(d / 2 + 1));
}
