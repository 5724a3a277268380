/* notification_policy.h: what a send result means for an outbox row, and
 * when a failed row is tried again. Pure functions. */
#ifndef NOTIFICATION_POLICY_H
#define NOTIFICATION_POLICY_H
#include "gateway/wechat_client.h"

typedef enum {
    NP_SENT,     /* delivered; the grant is consumed */
    NP_NO_QUOTA, /* 43101: the user holds no subscription for the template */
    NP_FAILED,   /* permanent: sending the same message again cannot work */
    NP_RETRY,    /* transient: -1, timeout, 5xx, transport, rate limits, token trouble */
} np_outcome_t;

/* send_rc is a send's result (WX_SEND_*, wechat_subscribe.h). */
np_outcome_t np_classify(int send_rc, const wx_status_t *st);

/* Delay before the next try after `attempts` failed ones (1, 2, ...):
 * base * 2^(attempts-1), at most max_ms, with "equal jitter": the first half
 * fixed, the second half random (rnd: any random number), so rows that
 * failed together do not come back together. Always >= 1. */
long long np_backoff_ms(int attempts, long long base_ms, long long max_ms, unsigned rnd);

#endif
