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
/* One lookup in an in-memory cache: gateway_cache_lookups_total{cache,result}. */
typedef enum { METRICS_CACHE_AUTH, METRICS_CACHE_REPAIR_DETAIL, METRICS_CACHE__COUNT } metrics_cache_t;
void metrics_cache_lookup(metrics_cache_t cache, int hit);
/* n entries reloaded ahead of their expiry: gateway_cache_refreshes_total{cache}. */
void metrics_cache_refreshed(metrics_cache_t cache, unsigned n);
/* One run of a background job finished (gateway/background.h):
 * gateway_background_runs_total{job}. Counted when a run ends, so once the
 * count has grown by two since some moment, a whole run has started after
 * that moment and finished. */
void metrics_background_run(const char *job);
/* Appends the exposition text to a malloc'ed buffer; caller frees. */
char *metrics_render(size_t *len);

#endif
