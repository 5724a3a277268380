/* metrics.h: process-wide counters exported at /metrics in Prometheus text
 * format. All functions are thread-safe (atomics) and cheap. */
#ifndef GW_METRICS_H
#define GW_METRICS_H
#include <stddef.h>

/* route: the route's pattern ("/api/v1/me"), or "unmatched". */
void metrics_request(const char *method, const char *route, int status, double seconds);
/* endpoint: short WeChat API name, e.g. "jscode2session"; errcode 0 is success,
 * a negative errcode other than -1 is a transport failure. */
void metrics_wechat_call(const char *endpoint, int errcode);
void metrics_notification(const char *outcome);
/* The notification sender: subscribe sends in flight now
 * (gateway_notification_sends_in_flight), and each finished send's time from
 * start to answer, token replay included
 * (gateway_notification_send_seconds). */
void metrics_notification_sends_in_flight(int n);
void metrics_notification_send_seconds(double seconds);
/* One lookup in an in-memory cache: gateway_cache_lookups_total{cache,result}. */
typedef enum { METRICS_CACHE_AUTH, METRICS_CACHE_REPAIR_DETAIL, METRICS_CACHE__COUNT } metrics_cache_t;
void metrics_cache_lookup(metrics_cache_t cache, int hit);
/* One message push (POST /api/v1/wechat/push) by what became of it:
 * gateway_wechat_pushes_total{result}. */
typedef enum {
    METRICS_PUSH_ACCEPTED,
    METRICS_PUSH_BAD_SIGNATURE,   /* signature or msg_signature wrong, or missing */
    METRICS_PUSH_STALE,           /* timestamp more than 5 minutes off */
    METRICS_PUSH_REPLAYED,        /* nonce already seen */
    METRICS_PUSH_BAD_ENCRYPTION,  /* does not decrypt, or another appid */
    METRICS_PUSH_MODE_REFUSED,    /* plaintext while safe mode is on, or the reverse */
    METRICS_PUSH__COUNT
} metrics_push_t;
void metrics_wechat_push(metrics_push_t result);
/* Appends the exposition text to a malloc'ed buffer; caller frees. */
char *metrics_render(size_t *len);

#endif
