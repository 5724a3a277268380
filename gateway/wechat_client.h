/* wechat_client.h: blocking client for the WeChat server API.
 *
 * Every function here blocks on the network (with timeouts) and must only be
 * called from a worker thread, never from an h2o event-loop thread.
 * Thread-safe: each calling thread keeps its own curl handle (connection
 * reuse); the access token is shared by the whole process and refreshed by a
 * single fetch (single flight) ahead of its expiry.
 *
 * Retry policy (inside each call): errcode -1, HTTP 5xx and transport errors
 * are retried with exponential backoff up to cfg.max_retries times;
 * 40001/40014/42001 invalidate the token (only if it is still the one that
 * failed), refresh once and replay once. Business errors are never retried.
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

typedef struct {
    const char *api_base;   /* "https://api.weixin.qq.com" or the fake's URL */
    const char *appid;
    const char *secret;     /* never logged */
    int connect_timeout_ms; /* default 3000 */
    int timeout_ms;         /* total per attempt, default 5000 */
    int max_retries;        /* retries after the first attempt on -1/5xx/transport; default 2 */
    int retry_base_ms;      /* first backoff, doubled each retry; default 200 */
    const char *ca_file;    /* optional CA bundle for api_base; NULL = system */
} wx_config_t;

typedef struct {
    int errcode;       /* 0 on success, WeChat errcode, or WX_ERR_* */
    int http_status;   /* last HTTP status seen, 0 if none */
    int attempts;      /* how many HTTP attempts the call made */
    char errmsg[256];  /* WeChat errmsg (with its rid) or a transport description */
} wx_status_t;

typedef struct {
    char openid[128];
    char unionid[128];     /* "" when absent */
    char session_key[128]; /* secret: store server-side only, never log or return */
} wx_session_t;

typedef struct {
    char phone[32];        /* phoneNumber, with country prefix for non-CN */
    char pure_phone[32];   /* purePhoneNumber */
    char country_code[8];  /* "86"; WeChat sends number or string */
} wx_phone_t;

typedef struct {
    char suggest[16]; /* "pass" | "review" | "risky" */
    int label;        /* 100 normal, 20006 ... */
    char trace_id[128];
} wx_seccheck_t;

int wx_client_init(const wx_config_t *cfg); /* once, before threads; copies cfg */
void wx_client_cleanup(void);
/* Frees the calling thread's curl handle; call when a worker thread exits. */
void wx_client_thread_cleanup(void);

/* Each returns 0 on success, -1 on failure with *st filled. */
int wx_code2session(const char *js_code, wx_session_t *out, wx_status_t *st);
int wx_get_phone_number(const char *phone_code, wx_phone_t *out, wx_status_t *st);
/* body: the complete JSON request body (touser, template_id, page, data...). */
int wx_send_subscribe(const char *json_body, long long *msgid, wx_status_t *st);
int wx_msg_sec_check(const char *openid, const char *content, int scene, wx_seccheck_t *out,
                     wx_status_t *st);
/* On success *image is malloc'ed (caller frees) and content_type is filled.
 * A JSON error body is never returned as an image. */
int wx_get_unlimited_qrcode(const char *json_body, unsigned char **image, size_t *image_len,
                            char *content_type, size_t ct_size, wx_status_t *st);
int wx_media_check_async(const char *openid, const char *media_url, int scene,
                         char *trace_id, size_t trace_size, wx_status_t *st);

/* The gateway error for a failed call (see ../shared/wechat-api.md):
 * 40029 -> ERR_WECHAT_CODE_INVALID, 40163 -> ERR_WECHAT_CODE_USED,
 * 40226 -> ERR_WECHAT_USER_BLOCKED, 45011/45009 -> ERR_RATE_LIMITED,
 * -1/transport/timeout/5xx -> ERR_WECHAT_UNAVAILABLE, everything else ->
 * ERR_WECHAT_ERROR. */
err_code_t wx_error_to_gateway(const wx_status_t *st);

/* Counters for tests and /metrics. */
long wx_token_fetch_count(void);

#endif
