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
/* One fetch of the WeChat access token: gateway_wechat_token_refreshes_total{result}. */
void metrics_wechat_token_refresh(int ok);
/* The notification sender: subscribe sends in flight now
 * (gateway_notification_sends_in_flight), and each finished send's time from
 * start to answer, token replay included
 * (gateway_notification_send_seconds). */
void metrics_notification_sends_in_flight(int n);
void metrics_notification_send_seconds(double seconds);
/* One lookup in an in-memory cache: gateway_cache_lookups_total{cache,result}. */
/* REPAIR_VIEW: the stored views of repair tickets (a hit is a current view,
 * a miss one rendered by the read: missing or stale). */
typedef enum {
    METRICS_CACHE_AUTH,
    METRICS_CACHE_REPAIR_DETAIL,
    METRICS_CACHE_REPAIR_VIEW,
    METRICS_CACHE__COUNT
} metrics_cache_t;
void metrics_cache_lookup(metrics_cache_t cache, int hit);
/* One message push (POST /api/v1/wechat/push) by what became of it:
 * gateway_wechat_pushes_total{result}. */
typedef enum {
    METRICS_PUSH_ACCEPTED,
    METRICS_PUSH_BAD_SIGNATURE,  /* signature or msg_signature wrong, or missing */
    METRICS_PUSH_STALE,          /* timestamp more than 5 minutes off */
    METRICS_PUSH_REPLAYED,       /* nonce already seen */
    METRICS_PUSH_BAD_ENCRYPTION, /* does not decrypt, or another appid */
    METRICS_PUSH_MODE_REFUSED,   /* plaintext while safe mode is on, or the reverse */
    METRICS_PUSH__COUNT
} metrics_push_t;
void metrics_wechat_push(metrics_push_t result);
/* A valid token refused because its session was ended or its user is
 * disabled: gateway_auth_refused_total{reason}. */
typedef enum { METRICS_AUTH_REVOKED, METRICS_AUTH_DISABLED, METRICS_AUTH__COUNT } metrics_auth_refusal_t;
void metrics_auth_refused(metrics_auth_refusal_t reason);
/* An upload refused before anything was stored, by why:
 * gateway_uploads_refused_total{reason}. */
typedef enum {
    METRICS_UPLOAD_QUOTA_COUNT, /* the user's daily count is used up (429) */
    METRICS_UPLOAD_QUOTA_BYTES, /* the user's daily bytes are used up (429) */
    METRICS_UPLOAD_TOO_LARGE,   /* over the pixel limit or the whole decode budget (422) */
    METRICS_UPLOAD_DECODE_BUSY, /* no room in the decode budget in time (503) */
    METRICS_UPLOAD__COUNT
} metrics_upload_refusal_t;
void metrics_upload_refused(metrics_upload_refusal_t why);
/* A request refused by a rate limit: gateway_rate_limited_total{class,key}
 * (cls: rate_class_t, kind: rl_key_kind_t, ratelimit.h). */
void metrics_rate_limited(int cls, int kind);
/* A rate-limit bucket dropped to make room for another key:
 * gateway_rate_limit_evictions_total. */
void metrics_rate_limit_evicted(void);
/* A WeChat job refused because its class was over its share of the pool:
 * gateway_wechat_pool_rejected_total{class} (cls: wx_class_t). */
void metrics_wechat_pool_rejected(int cls);
/* A new repair stored "unchecked" because its text check could not start
 * in time: gateway_repair_check_skipped_total. */
void metrics_repair_check_skipped(void);
/* Owners a survey send recorded: asked (sent) and skipped (contact limit). */
void metrics_survey_recipients(int sent, int skipped);
/* The service desk looked a customer up by phone (reveal 0) or showed a
 * customer's full phone (reveal 1): gateway_service_customer_requests_total{action}. */
void metrics_service_customer(int reveal);
/* A CSV export ended: done, failed, retried (its process lost it and it is
 * run again) or expired (its file deleted). */
typedef enum {
    METRICS_EXPORT_DONE = 0,
    METRICS_EXPORT_FAILED,
    METRICS_EXPORT_RETRIED,
    METRICS_EXPORT_EXPIRED,
    METRICS_EXPORT__COUNT
} metrics_export_t;
void metrics_export(metrics_export_t outcome);
/* The unfinished outbox by status (pending, retrying, sending): the age in
 * seconds of its oldest event (0 when none) and how many there are:
 * gateway_notification_outbox_oldest_seconds{status},
 * gateway_notification_outbox_events{status}. Other statuses are ignored. */
void metrics_outbox_set(const char *status, long long oldest_s, long long count);
/* n entries reloaded ahead of their expiry: gateway_cache_refreshes_total{cache}. */
void metrics_cache_refreshed(metrics_cache_t cache, unsigned n);
/* One run of a background job finished (gateway/background.h):
 * gateway_background_runs_total{job}. Counted when a run ends, so once the
 * count has grown by two since some moment, a whole run has started after
 * that moment and finished. */
void metrics_background_run(const char *job);
/* A call that reached its deadline (call_deadline_ms) before a step:
 * gateway_call_deadline_exceeded_total. */
void metrics_call_deadline_exceeded(void);
/* Service-level clocks (domain/sla/sla_store.c): n steps fired,
 * gateway_sla_steps_fired_total; the business calendar in use,
 * gateway_sla_calendar_version. */
void metrics_sla_steps_fired(unsigned n);
void metrics_sla_calendar_version(long long version);
/* Appends the exposition text to a malloc'ed buffer; caller frees. */
char *metrics_render(size_t *len);

#endif
