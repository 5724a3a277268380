/* wechat_client.h: blocking client for the WeChat server API.
 *
 * Every function here blocks on the network (with timeouts) and must only be
 * called from a worker thread, never from an h2o event-loop thread.
 * Thread-safe: each calling thread keeps its own curl handle (connection
 * reuse); the access token is WeChat's stable token (/cgi-bin/stable_token),
 * the same for every process of the appid, cached by the whole process and
 * refreshed by a single fetch (single flight) ahead of its expiry.
 *
 * Retry policy (inside each call): errcode -1, HTTP 5xx and transport errors
 * are retried with exponential backoff up to cfg.max_retries times;
 * 40001/40014/42001 invalidate the token (only if it is still the one that
 * failed), refresh once and replay once. After 40001/42001 the refresh is a
 * forced one if the force gate allows it (wx_token_set_force_gate). Business
 * errors are never retried.
 */
#ifndef GW_WECHAT_CLIENT_H
#define GW_WECHAT_CLIENT_H
#include <stddef.h>
#include "errors.h"

/* Pseudo errcodes for failures that WeChat itself did not report. */
#define WX_ERR_TRANSPORT (-1001) /* connect/TLS/reset */
#define WX_ERR_TIMEOUT (-1002)   /* the call's total timeout passed */
#define WX_ERR_HTTP (-1003)      /* non-200 HTTP status */
#define WX_ERR_PARSE (-1004)     /* body is not the expected JSON */
#define WX_ERR_DEADLINE (-1005)  /* the request's deadline ended the call (wx_set_thread_deadline) */

typedef struct {
    const char *api_base; /* "https://api.weixin.qq.com" or the fake's URL */
    const char *appid;
    const char *secret;     /* never logged */
    int connect_timeout_ms; /* default 3000 */
    int timeout_ms;         /* total per attempt, default 5000 */
    int max_retries;        /* retries after the first attempt on -1/5xx/transport; default 2 */
    int retry_base_ms;      /* first backoff, doubled each retry; default 200 */
    const char *ca_file;    /* optional CA bundle for api_base; NULL = system */
    int force_interval_s;   /* without a force gate: least time between this process's
                               forced token refreshes; default 60 */
} wx_config_t;

typedef struct {
    int errcode;      /* 0 on success, WeChat errcode, or WX_ERR_* */
    int http_status;  /* last HTTP status seen, 0 if none */
    int attempts;     /* how many HTTP attempts the call made */
    char errmsg[256]; /* WeChat errmsg (with its rid) or a transport description */
} wx_status_t;

typedef struct {
    char openid[128];
    char unionid[128];     /* "" when absent */
    char session_key[128]; /* secret: store server-side only, never log or return */
} wx_session_t;

typedef struct {
    char phone[32];       /* phoneNumber, with country prefix for non-CN */
    char pure_phone[32];  /* purePhoneNumber */
    char country_code[8]; /* "86"; WeChat sends number or string */
} wx_phone_t;

typedef struct {
    char suggest[16]; /* "pass" | "review" | "risky" */
    int label;        /* 100 normal, 20006 ... */
    char trace_id[128];
} wx_seccheck_t;

int wx_client_init(const wx_config_t *cfg); /* once, before threads; copies cfg */

/* Decides across processes whether a rejected token (40001/42001) may be
 * replaced by a forced refresh, which retires the token every process
 * shares. begin() runs on the one thread of this process that refreshes,
 * with the rejected token's fingerprint (hex sha256); it answers 1 (force
 * now; the gate stays held until end() is called with whether the forced
 * refresh got a token), 0 (do not force: fetch the stable token normally)
 * or -1 (cannot tell, e.g. the database is down: fetch normally). Both may
 * block (with timeouts); they never run on an event-loop thread. */
typedef struct {
    int (*begin)(void *ud, const char *rejected_fp);
    void (*end)(void *ud, int forced_ok);
    void *ud;
} wx_force_gate_t;
/* Copies *gate; NULL removes it (then: one forced refresh per
 * force_interval_s per process). Call after wx_client_init. */
void wx_token_set_force_gate(const wx_force_gate_t *gate);
void wx_client_cleanup(void);
/* Frees the calling thread's curl handle; call when a worker thread exits. */
void wx_client_thread_cleanup(void);

/* Each returns 0 on success, -1 on failure with *st filled. */
int wx_code2session(const char *js_code, wx_session_t *out, wx_status_t *st);
int wx_get_phone_number(const char *phone_code, wx_phone_t *out, wx_status_t *st);
/* body: the complete JSON request body (touser, template_id, page, data...). */
int wx_send_subscribe(const char *json_body, long long *msgid, wx_status_t *st);
int wx_msg_sec_check(const char *openid, const char *content, int scene, wx_seccheck_t *out, wx_status_t *st);
/* On success *image is malloc'ed (caller frees) and content_type is filled.
 * A JSON error body is never returned as an image. */
int wx_get_unlimited_qrcode(const char *json_body, unsigned char **image, size_t *image_len, char *content_type,
                            size_t ct_size, wx_status_t *st);
int wx_media_check_async(const char *openid, const char *media_url, int scene, char *trace_id, size_t trace_size,
                         wx_status_t *st);

/* An end for the WeChat calls this thread makes next (a monotonic time in
 * ms, as monotonic_ms() in workers.h; 0 = none): each attempt's timeout is
 * cut to the time left, no retry starts after it, and a call with less than
 * WX_MIN_ATTEMPT_MS left fails at once with WX_ERR_DEADLINE. The call
 * runner sets it around a request's WeChat steps. */
#define WX_MIN_ATTEMPT_MS 100
void wx_set_thread_deadline(long long deadline_ms);

/* The gateway error for a failed call (WeChat's global return codes and
 * those of jscode2session and getuserphonenumber):
 * 40029 (invalid code) -> ERR_WECHAT_CODE_INVALID, 40163 (code already
 * used) -> ERR_WECHAT_CODE_USED, 40226 (risk control blocked the user) ->
 * ERR_WECHAT_USER_BLOCKED, 45011/45009 (minute or daily quota) ->
 * ERR_RATE_LIMITED, -1 (system busy)/transport/timeout/5xx ->
 * ERR_WECHAT_UNAVAILABLE, WX_ERR_DEADLINE -> ERR_DEADLINE_EXCEEDED,
 * everything else -> ERR_WECHAT_ERROR. */
err_code_t wx_error_to_gateway(const wx_status_t *st);

/* Counters for tests and /metrics: HTTP requests to the token endpoint, and
 * forced refreshes that got a token. */
long wx_token_fetch_count(void);
long wx_token_forced_count(void);

#endif
