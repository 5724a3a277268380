/* wechat_client_internal.h: shared by wechat_client.c (HTTP, retries,
 * endpoints) and wechat_token.c (the process-wide access-token cache).
 * Not part of the gateway's public interface; use wechat_client.h. */
#ifndef GW_WECHAT_CLIENT_INTERNAL_H
#define GW_WECHAT_CLIENT_INTERNAL_H
#include <stddef.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "wechat_client.h"

#define WX_TOKEN_MAX 1024  /* WeChat says reserve >= 512 chars */
#define WX_TOKEN_FP_HEX 64 /* a token's fingerprint: hex sha256 */

/* One logical WeChat call. wx_call retries it on -1/5xx/transport errors and,
 * when with_token is set, replays it once after 40001/40014/42001. */
typedef struct {
    const char *endpoint; /* metrics and log name, e.g. "jscode2session" */
    const char *path;     /* "/sns/jscode2session" */
    const char *query;    /* extra query string, already escaped; NULL = none */
    const char *body;     /* JSON POST body; NULL = GET */
    const char *openid;   /* only for log lines (masked); NULL = none */
    int with_token;       /* prepend access_token to the query */
    int accept_image;     /* an image reply is the success case (QR code) */
    int no_retry;         /* one HTTP attempt: the caller schedules its own retries
                             (the token replay after 40001/42001 still happens) */
} wx_req_t;

typedef struct {
    cJSON *json; /* parsed reply (errcode 0); NULL for an image */
    char *raw;   /* the reply body, NUL-terminated */
    size_t raw_len;
    char content_type[64]; /* set for an image: "image/png" */
    int sent;              /* the request itself went out at least once (it
                                  was not stopped by a failed token fetch) */
} wx_res_t;

/* The config copied by wx_client_init; NULL before init. */
const wx_config_t *wx_config(void);

/* 0 when WeChat answered errcode 0 (or an image for accept_image), else -1.
 * st->attempts is incremented by every HTTP request this call sends (token
 * fetches included); the other st fields describe the last failure. On 0
 * the caller owns *res and frees it with wx_res_free. */
int wx_call(const wx_req_t *req, wx_res_t *res, wx_status_t *st);
void wx_res_free(wx_res_t *res);
/* An integer member of the reply, exact even beyond 2^53 (msgid is an int64
 * that a double would round); 0 when absent. */
long long wx_reply_int64(const wx_res_t *res, const char *key);

/* The reply parsers, apart from the network so that they can be tested and
 * fuzzed on bytes alone (tests/fuzz/fuzz_wechat_reply.c).
 *
 * wx_decode_reply turns the body of an HTTP 200 reply into res (WeChat said
 * errcode 0, or an image for req->accept_image: returns 0) or st (anything
 * else: -1). *body is malloc'ed (or NULL when len is 0) and NUL-terminated at
 * len; on 0 res takes it and *body becomes NULL, otherwise the caller still
 * owns it. ct is the reply's Content-Type or NULL. Only req->accept_image is
 * read. */
int wx_decode_reply(const wx_req_t *req, char **body, size_t len, const char *ct, wx_res_t *res, wx_status_t *st);
/* The fields an endpoint promises in a decoded reply; each clears out, then
 * returns 0, or -1 with st set to WX_ERR_PARSE ("... reply without ...") and
 * out not to be used. appid: the configured appid the phone number's
 * watermark must name. */
int wx_read_session(const wx_res_t *res, wx_session_t *out, wx_status_t *st);
int wx_read_phone(const wx_res_t *res, const char *appid, wx_phone_t *out, wx_status_t *st);
int wx_read_seccheck(const wx_res_t *res, wx_seccheck_t *out, wx_status_t *st);
int wx_read_trace_id(const wx_res_t *res, char *trace_id, size_t trace_size, wx_status_t *st);

/* "k1=v1&k2=v2" with each value URL-escaped; the argument list is key,
 * value pairs closed by NULL. malloc'ed; NULL on allocation failure. */
char *wx_query(const char *key, ...) __attribute__((sentinel));

/* A JSON number or numeric string as an integer; -1 if neither. */
int wx_json_int(const cJSON *item, long long *out);
/* Sets st->errcode and a printf-style st->errmsg. */
void wx_status_set(wx_status_t *st, int errcode, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A reply being received: at most 4 MiB, NUL-terminated; data is
 * malloc'ed (the caller frees it, or decoding hands it to wx_res_t.raw). */
typedef struct {
    char *data;
    size_t len, cap;
    int overflow;
} wx_buf_t;

/* One HTTP request of req to url on h (fresh or curl_easy_reset), for a
 * caller that runs the transfer itself (curl_easy_perform or a multi
 * handle): timeouts, TLS checks and the body collector into *b. errbuf
 * (CURL_ERROR_SIZE bytes), *b and *hdrs (freed by the caller with
 * curl_slist_free_all) must outlive the transfer. 0, or -1 with st set. */
int wx_easy_setup(CURL *h, const wx_req_t *req, const char *url, char *errbuf, wx_buf_t *b, struct curl_slist **hdrs,
                  wx_status_t *st);
/* What a finished transfer of h (set up by wx_easy_setup) means, with cc its
 * curl result: 0 when WeChat answered errcode 0 (the caller owns *res, which
 * took b->data), else -1 with st set (timeout, transport, HTTP status or
 * WeChat's errcode and errmsg). Counts no attempt and no metric. */
int wx_easy_result(const wx_req_t *req, CURL *h, CURLcode cc, const char *errbuf, wx_buf_t *b, wx_res_t *res,
                   wx_status_t *st);
/* 40001, 40014, 42001: the access token was rejected; refresh and replay. */
int wx_is_token_error(int errcode);

/* wechat_token.c. Copies a usable token into out (single flight refresh).
 * On failure *st carries the token fetch's error. */
int wx_token_get(char *out, size_t outsz, wx_status_t *st);
/* Copies the cached token into out and answers 1 only when it is usable and
 * not due for a refresh; 0 otherwise (then wx_token_get would fetch or wait
 * for a fetch). Never blocks on the network. */
int wx_token_peek(char *out, size_t outsz);
/* Drops the cached token only if it is still `failed` (compare-and-invalidate).
 * errcode is WeChat's rejection: after 40001 or 42001 the next fetch may
 * force a refresh (see wechat_token.c); after anything else it only fetches. */
void wx_token_invalidate(const char *failed, int errcode);
/* hex(sha256(token)) into out: names a token in the database without
 * storing it. 0 or -1. */
int wx_token_fingerprint(const char *token, char out[WX_TOKEN_FP_HEX + 1]);
/* Forgets everything; only while no other thread uses the client. */
void wx_token_reset(void);

#endif
