/* wechat_client.c: blocking WeChat server API client (see wechat_client.h).
 *
 * Layers, bottom up:
 *   wx_decode_reply()     a 200 reply's body -> result or errcode (no I/O; the
 *                         wx_read_*() readers pick an endpoint's fields)
 *   attempt()             one HTTP request on the thread's curl handle
 *   call_with_retries()   -1 / 5xx / transport / timeout -> backoff, retry
 *   wx_call()             access token in the query; 40001/40014/42001 ->
 *                         compare-and-invalidate, refresh (forced after
 *                         40001/42001, see wechat_token.c), replay once
 *   wx_code2session()...  build the request, pick the fields out of the reply
 * The access-token cache lives in wechat_token.c.
 *
 * Nothing here logs the secret, a session_key or an access token: URLs are
 * never logged, and curl's error text does not contain the query string. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, explicit_bzero, rand_r */
#endif
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"
#include "mask.h"
#include "metrics.h"
#include "wechat_client_internal.h"
#include "workers.h"

#define WX_MAX_REPLY (4 * 1024 * 1024) /* QR codes are ~100 KiB; JSON far less */
#define WX_MAX_BACKOFF_MS 30000

static struct {
    wx_config_t cfg; /* strings below are owned copies */
    pthread_key_t curl_key;
    int ready;
} g;

/* ---- setup ------------------------------------------------------------- */

static void free_curl(void *h)
{
    curl_easy_cleanup(h);
}

static void free_config(void)
{
    free((char *)g.cfg.api_base);
    free((char *)g.cfg.appid);
    if (g.cfg.secret)
        explicit_bzero((char *)g.cfg.secret, strlen(g.cfg.secret));
    free((char *)g.cfg.secret);
    free((char *)g.cfg.ca_file);
    memset(&g.cfg, 0, sizeof g.cfg);
}

int wx_client_init(const wx_config_t *cfg)
{
    int curl_ok = 0, rc = -1;
    size_t n;

    if (g.ready || !cfg || !cfg->api_base || !cfg->appid || !cfg->secret || !cfg->api_base[0] || !cfg->appid[0] ||
        !cfg->secret[0]) {
        log_error("wechat", "wx_client_init: %s",
                  g.ready ? "already initialised" : "api_base, appid and secret are required");
        return -1; /* nothing to undo, and g must stay as it is */
    }
    g.cfg = *cfg;
    g.cfg.api_base = strdup(cfg->api_base);
    g.cfg.appid = strdup(cfg->appid);
    g.cfg.secret = strdup(cfg->secret);
    g.cfg.ca_file = cfg->ca_file && cfg->ca_file[0] ? strdup(cfg->ca_file) : NULL;
    if (!g.cfg.api_base || !g.cfg.appid || !g.cfg.secret || (cfg->ca_file && cfg->ca_file[0] && !g.cfg.ca_file))
        goto Exit;
    n = strlen(g.cfg.api_base);
    while (n > 0 && g.cfg.api_base[n - 1] == '/') /* paths start with '/' */
        ((char *)g.cfg.api_base)[--n] = '\0';
    if (g.cfg.connect_timeout_ms <= 0)
        g.cfg.connect_timeout_ms = 3000;
    if (g.cfg.timeout_ms <= 0)
        g.cfg.timeout_ms = 5000;
    if (g.cfg.max_retries < 0)
        g.cfg.max_retries = 2;
    if (g.cfg.max_retries > 10)
        g.cfg.max_retries = 10;
    if (g.cfg.retry_base_ms <= 0)
        g.cfg.retry_base_ms = 200;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        goto Exit;
    curl_ok = 1;
    if (pthread_key_create(&g.curl_key, free_curl) != 0)
        goto Exit;
    wx_token_reset();
    g.ready = 1;
    rc = 0;
Exit:
    if (rc != 0) {
        log_error("wechat", "wx_client_init: out of memory or curl init failed");
        if (curl_ok)
            curl_global_cleanup();
        free_config();
    }
    return rc;
}

void wx_client_thread_cleanup(void)
{
    CURL *h;

    if (!g.ready)
        return;
    h = pthread_getspecific(g.curl_key);
    if (h) {
        pthread_setspecific(g.curl_key, NULL);
        curl_easy_cleanup(h);
    }
}

/* Call after the worker threads have been joined. */
void wx_client_cleanup(void)
{
    if (!g.ready)
        return;
    wx_client_thread_cleanup();
    pthread_key_delete(g.curl_key);
    wx_token_reset();
    curl_global_cleanup();
    free_config();
    g.ready = 0;
}

const wx_config_t *wx_config(void)
{
    return g.ready ? &g.cfg : NULL;
}

/* ---- small helpers ----------------------------------------------------- */

void wx_status_set(wx_status_t *st, int errcode, const char *fmt, ...)
{
    va_list ap;

    st->errcode = errcode;
    va_start(ap, fmt);
    vsnprintf(st->errmsg, sizeof st->errmsg, fmt, ap);
    va_end(ap);
}

static void status_init(wx_status_t *st)
{
    memset(st, 0, sizeof *st);
}

int wx_json_int(const cJSON *item, long long *out)
{
    char *end;
    long long v;

    if (cJSON_IsNumber(item)) {
        if (!(item->valuedouble >= -9.2e18 && item->valuedouble <= 9.2e18)) /* NaN too */
            return -1;
        *out = (long long)item->valuedouble;
        return 0;
    }
    if (!cJSON_IsString(item) || !item->valuestring[0])
        return -1;
    errno = 0;
    v = strtoll(item->valuestring, &end, 10);
    while (*end == ' ')
        end++;
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

/* Copies obj[key] (a string) into dst. A missing key gives "" unless
 * required; a wrong type or a value that does not fit is an error. */
static int json_str(const cJSON *obj, const char *key, char *dst, size_t dstsz, int required)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

    dst[0] = '\0';
    if (!it || cJSON_IsNull(it))
        return required ? -1 : 0;
    if (!cJSON_IsString(it) || strlen(it->valuestring) >= dstsz || (required && !it->valuestring[0]))
        return -1;
    strcpy(dst, it->valuestring);
    return 0;
}

char *wx_query(const char *key, ...)
{
    va_list ap;
    char *out = NULL, *esc = NULL, *rc = NULL;
    size_t len = 0, cap = 0;

    va_start(ap, key);
    for (const char *k = key; k; k = va_arg(ap, const char *)) {
        const char *v = va_arg(ap, const char *);
        if (!(esc = curl_easy_escape(NULL, v ? v : "", 0)))
            goto Exit;
        size_t need = len + strlen(k) + strlen(esc) + 3;
        if (need > cap) {
            char *p = realloc(out, need * 2);
            if (!p)
                goto Exit;
            out = p;
            cap = need * 2;
        }
        len += sprintf(out + len, "%s%s=%s", len ? "&" : "", k, esc);
        curl_free(esc);
        esc = NULL;
    }
    rc = out ? out : strdup("");
    out = NULL;
Exit:
    va_end(ap);
    curl_free(esc);
    free(out);
    return rc;
}

void wx_res_free(wx_res_t *res)
{
    cJSON_Delete(res->json);
    free(res->raw);
    memset(res, 0, sizeof *res);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* retry_base_ms * 2^n plus up to 25% jitter, so callers that failed together
 * do not come back together. */
static long backoff_ms(int n)
{
    static _Thread_local unsigned seed;
    long d = (long)g.cfg.retry_base_ms << (n < 16 ? n : 16);

    if (!seed)
        seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)&seed;
    if (d > WX_MAX_BACKOFF_MS)
        d = WX_MAX_BACKOFF_MS;
    return d + rand_r(&seed) % (d / 4 + 1);
}

int wx_is_token_error(int errcode)
{
    return errcode == 40001 || errcode == 40014 || errcode == 42001;
}

static int is_retryable(const wx_status_t *st)
{
    return st->errcode == -1 || st->errcode == WX_ERR_TRANSPORT || st->errcode == WX_ERR_TIMEOUT ||
           (st->errcode == WX_ERR_HTTP && st->http_status >= 500);
}

/* The end of the current request's time on this thread (0 = none). */
static _Thread_local long long thread_deadline_ms;

void wx_set_thread_deadline(long long deadline_ms)
{
    thread_deadline_ms = deadline_ms;
}

static long long time_left_ms(void)
{
    return thread_deadline_ms ? thread_deadline_ms - monotonic_ms() : 0x7fffffffffffffffLL;
}

/* ---- one HTTP attempt -------------------------------------------------- */

typedef wx_buf_t buf_t;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    buf_t *b = ud;
    size_t len = size * n;

    if (len > WX_MAX_REPLY - b->len) {
        b->overflow = 1;
        return 0; /* makes curl fail with CURLE_WRITE_ERROR */
    }
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d)
            return 0;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, len);
    b->len += len;
    b->data[b->len] = '\0';
    return len;
}

static CURL *thread_handle(void)
{
    CURL *h = pthread_getspecific(g.curl_key);

    if (!h) {
        h = curl_easy_init();
        if (h && pthread_setspecific(g.curl_key, h) != 0) {
            curl_easy_cleanup(h);
            h = NULL;
        }
    }
    return h;
}

static int is_image_magic(const unsigned char *p, size_t n)
{
    static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

    return (n >= 8 && !memcmp(p, png, 8)) || (n >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff);
}

/* The QR endpoint answers an image on success and JSON on failure. Decide by
 * Content-Type, but a body that starts like JSON is never taken as an image. */
static int reply_is_image(const char *ct, const char *data, size_t len, char *ct_out, size_t ct_size)
{
    const unsigned char *p = (const unsigned char *)data;
    size_t i = 0;

    while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
        i++;
    if (len == 0 || (i < len && p[i] == '{'))
        return 0;
    if (ct && !strncasecmp(ct, "image/", 6)) {
        snprintf(ct_out, ct_size, "%.*s", (int)strcspn(ct, "; \t"), ct);
        return 1;
    }
    if (is_image_magic(p, len)) {
        snprintf(ct_out, ct_size, "%s", p[0] == 0x89 ? "image/png" : "image/jpeg");
        return 1;
    }
    return 0;
}

int wx_decode_reply(const wx_req_t *req, char **body, size_t len, const char *ct, wx_res_t *res, wx_status_t *st)
{
    const cJSON *ec;
    long long code = 0;
    cJSON *json = NULL;
    int rc = -1;

    if (!(req->accept_image && reply_is_image(ct, *body, len, res->content_type, sizeof res->content_type))) {
        json = cJSON_ParseWithLength(*body ? *body : "", len);
        if (!cJSON_IsObject(json)) {
            wx_status_set(st, WX_ERR_PARSE, "reply is not a JSON object (%zu bytes%s%s)", len, ct ? ", " : "",
                          ct ? ct : "");
            goto Exit;
        }
        /* Missing errcode = 0; it may also come as a numeric string. */
        ec = cJSON_GetObjectItemCaseSensitive(json, "errcode");
        if (ec && (wx_json_int(ec, &code) != 0 || code < -2147483647 || code > 2147483647)) {
            wx_status_set(st, WX_ERR_PARSE, "reply has a malformed errcode");
            goto Exit;
        }
        json_str(json, "errmsg", st->errmsg, sizeof st->errmsg, 0);
        st->errcode = (int)code;
        if (code != 0)
            goto Exit;
        if (req->accept_image) {
            wx_status_set(st, WX_ERR_PARSE, "JSON reply without an image");
            goto Exit;
        }
    }
    res->json = json;
    json = NULL;
    res->raw = *body;
    res->raw_len = len;
    *body = NULL;
    st->errcode = 0;
    rc = 0;
Exit:
    cJSON_Delete(json);
    return rc;
}

int wx_easy_setup(CURL *h, const wx_req_t *req, const char *url, char *errbuf, wx_buf_t *b, struct curl_slist **hdrs,
                  wx_status_t *st)
{
    const wx_config_t *cfg = &g.cfg;

    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)cfg->timeout_ms);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (cfg->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, cfg->ca_file);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "gateway-wechat-client/1");
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
    if (req->body) {
        /* "Expect:" off: no 100-continue round trip for larger bodies. */
        if (!(*hdrs = curl_slist_append(NULL, "Content-Type: application/json")) ||
            !curl_slist_append(*hdrs, "Expect:")) {
            wx_status_set(st, WX_ERR_TRANSPORT, "out of memory");
            return -1;
        }
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hdrs);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(req->body));
    }
    return 0;
}

int wx_easy_result(const wx_req_t *req, CURL *h, CURLcode cc, const char *errbuf, wx_buf_t *b, wx_res_t *res,
                   wx_status_t *st)
{
    char *ct = NULL;
    long http = 0;

    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &http);
    st->http_status = (int)http;
    if (cc == CURLE_OPERATION_TIMEDOUT) {
        wx_status_set(st, WX_ERR_TIMEOUT, "timeout: %s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
        return -1;
    }
    if (cc == CURLE_WRITE_ERROR && b->overflow) {
        wx_status_set(st, WX_ERR_PARSE, "reply larger than %d bytes", WX_MAX_REPLY);
        return -1;
    }
    if (cc != CURLE_OK) {
        wx_status_set(st, WX_ERR_TRANSPORT, "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
        return -1;
    }
    if (http != 200) {
        wx_status_set(st, WX_ERR_HTTP, "HTTP status %ld", http);
        return -1;
    }
    curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
    return wx_decode_reply(req, &b->data, b->len, ct, res, st);
}

static int attempt(const wx_req_t *req, const char *url, wx_res_t *res, wx_status_t *st)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdrs = NULL;
    buf_t b = {0};
    CURL *h = NULL;
    CURLcode cc;
    int rc = -1;
    long long left = time_left_ms();
    long timeout_ms = g.cfg.timeout_ms, connect_ms = g.cfg.connect_timeout_ms;

    st->http_status = 0;
    st->errmsg[0] = '\0';
    if (left < WX_MIN_ATTEMPT_MS) {
        wx_status_set(st, WX_ERR_DEADLINE, "the request's deadline leaves no time for this call");
        goto Exit;
    }
    st->attempts++;
    if (left < timeout_ms)
        timeout_ms = (long)left;
    if (connect_ms > timeout_ms)
        connect_ms = timeout_ms;
    h = thread_handle();
    if (!h) {
        wx_status_set(st, WX_ERR_TRANSPORT, "curl_easy_init failed");
        goto Exit;
    }
    curl_easy_reset(h); /* keeps the connection cache: keep-alive reuse */
    if (wx_easy_setup(h, req, url, errbuf, &b, &hdrs, st) != 0)
        goto Exit;
    /* The request's deadline may leave less than the configured timeouts. */
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    cc = curl_easy_perform(h);
    if (cc == CURLE_OPERATION_TIMEDOUT && timeout_ms < g.cfg.timeout_ms) {
        wx_status_set(st, WX_ERR_DEADLINE, "the request's deadline ended the call after %ld ms", timeout_ms);
        goto Exit;
    }
    rc = wx_easy_result(req, h, cc, errbuf, &b, res, st);
Exit:
    if (h) /* the handle must not keep pointers to this frame's buffers */
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(hdrs);
    free(b.data);
    metrics_wechat_call(req->endpoint, st->errcode);
    return rc;
}

static int call_with_retries(const wx_req_t *req, const char *url, wx_res_t *res, wx_status_t *st)
{
    for (int n = 0;; n++) {
        if (attempt(req, url, res, st) == 0)
            return 0;
        if (req->no_retry || n >= g.cfg.max_retries || !is_retryable(st))
            return -1;
        long delay = backoff_ms(n);
        if (time_left_ms() < delay + WX_MIN_ATTEMPT_MS)
            return -1; /* no time left for another attempt: the last error stands */
        log_info("wechat", "%s: errcode %d (http %d, %s), retry %d/%d in %ld ms", req->endpoint, st->errcode,
                 st->http_status, st->errmsg, n + 1, g.cfg.max_retries, delay);
        sleep_ms(delay);
    }
}

int wx_call(const wx_req_t *req, wx_res_t *res, wx_status_t *st)
{
    char token[WX_TOKEN_MAX] = "", who[64] = "";
    char *url = NULL, *tq = NULL;
    int replayed = 0, rc = -1, sent = 0;

    memset(res, 0, sizeof *res);
    if (!g.ready) {
        wx_status_set(st, WX_ERR_TRANSPORT, "wechat client not initialised");
        goto Exit;
    }
    for (;;) {
        if (req->with_token) {
            if (wx_token_get(token, sizeof token, st) != 0)
                goto Exit;
            tq = wx_query("access_token", token, (char *)NULL);
        } else {
            tq = strdup("");
        }
        if (!tq || asprintf(&url, "%s%s?%s%s%s", g.cfg.api_base, req->path, tq, tq[0] && req->query ? "&" : "",
                            req->query ? req->query : "") < 0) {
            url = NULL;
            wx_status_set(st, WX_ERR_TRANSPORT, "out of memory");
            goto Exit;
        }
        sent = 1;
        if (call_with_retries(req, url, res, st) == 0) {
            rc = 0;
            goto Exit;
        }
        if (!req->with_token || replayed || !wx_is_token_error(st->errcode))
            goto Exit;
        log_info("wechat", "%s: access token rejected (errcode %d, %s); refreshing, replaying once", req->endpoint,
                 st->errcode, st->errmsg);
        wx_token_invalidate(token, st->errcode);
        replayed = 1;
        explicit_bzero(url, strlen(url));
        free(url);
        free(tq);
        url = tq = NULL;
    }
Exit:
    res->sent = sent;
    if (url)
        explicit_bzero(url, strlen(url));
    free(url);
    free(tq);
    explicit_bzero(token, sizeof token);
    if (rc != 0) {
        if (req->openid)
            mask_openid(req->openid, who, sizeof who);
        log_warn("wechat", "%s failed%s%s: errcode %d, http %d, attempts %d: %s", req->endpoint,
                 who[0] ? " for openid " : "", who, st->errcode, st->http_status, st->attempts, st->errmsg);
    }
    return rc;
}

/* ---- endpoints --------------------------------------------------------- */

/* A reply that said errcode 0 but lacks what the endpoint promises. */
static void bad_reply(wx_status_t *st, const char *endpoint, const char *what)
{
    wx_status_set(st, WX_ERR_PARSE, "%s reply %s", endpoint, what);
    log_warn("wechat", "%s", st->errmsg);
}

/* A body for the JSON POST endpoints; NULL on allocation failure. */
static char *print_body(cJSON *obj, wx_status_t *st)
{
    char *s = obj ? cJSON_PrintUnformatted(obj) : NULL;

    if (!s)
        wx_status_set(st, WX_ERR_TRANSPORT, "out of memory");
    cJSON_Delete(obj);
    return s;
}

int wx_read_session(const wx_res_t *res, wx_session_t *out, wx_status_t *st)
{
    memset(out, 0, sizeof *out);
    /* A "success" without openid is useless (EasyWeChat rejects it too). */
    if (json_str(res->json, "openid", out->openid, sizeof out->openid, 1) != 0 ||
        json_str(res->json, "session_key", out->session_key, sizeof out->session_key, 0) != 0 ||
        json_str(res->json, "unionid", out->unionid, sizeof out->unionid, 0) != 0) {
        bad_reply(st, "jscode2session", "without a valid openid");
        return -1;
    }
    return 0;
}

int wx_code2session(const char *js_code, wx_session_t *out, wx_status_t *st)
{
    wx_res_t res = {0};
    char *query = NULL;
    int rc = -1;

    status_init(st);
    memset(out, 0, sizeof *out);
    if (!js_code || !js_code[0]) { /* would cost a call just to hear 40029 */
        wx_status_set(st, 40029, "empty js_code (not sent)");
        goto Exit;
    }
    if (!wx_config()) {
        wx_status_set(st, WX_ERR_TRANSPORT, "wechat client not initialised");
        goto Exit;
    }
    query = wx_query("appid", g.cfg.appid, "secret", g.cfg.secret, "js_code", js_code, "grant_type",
                     "authorization_code", (char *)NULL);
    if (!query) {
        wx_status_set(st, WX_ERR_TRANSPORT, "out of memory");
        goto Exit;
    }
    wx_req_t req = {.endpoint = "jscode2session", .path = "/sns/jscode2session", .query = query};
    if (wx_call(&req, &res, st) != 0)
        goto Exit;
    if (wx_read_session(&res, out, st) != 0)
        goto Exit;
    rc = 0;
Exit:
    if (rc != 0)
        memset(out, 0, sizeof *out);
    if (query) {
        explicit_bzero(query, strlen(query));
        free(query);
    }
    if (res.raw)
        explicit_bzero(res.raw, res.raw_len); /* held the session_key */
    wx_res_free(&res);
    return rc;
}

int wx_read_phone(const wx_res_t *res, const char *appid, wx_phone_t *out, wx_status_t *st)
{
    const cJSON *info = cJSON_GetObjectItemCaseSensitive(res->json, "phone_info");
    const cJSON *cc = cJSON_GetObjectItemCaseSensitive(info, "countryCode"), *wm;
    char wm_appid[128];
    long long ccn = 0;

    memset(out, 0, sizeof *out);
    if (!cJSON_IsObject(info) || json_str(info, "phoneNumber", out->phone, sizeof out->phone, 1) != 0 ||
        json_str(info, "purePhoneNumber", out->pure_phone, sizeof out->pure_phone, 0) != 0) {
        bad_reply(st, "getuserphonenumber", "without phone_info.phoneNumber");
        return -1;
    }
    /* Documented as a string, seen as a number. */
    if (cc && (wx_json_int(cc, &ccn) != 0 || ccn < 0 || ccn > 99999)) {
        bad_reply(st, "getuserphonenumber", "with a bad countryCode");
        return -1;
    }
    if (cc)
        snprintf(out->country_code, sizeof out->country_code, "%lld", ccn);
    /* The watermark says which app the number was issued for. */
    wm = cJSON_GetObjectItemCaseSensitive(info, "watermark");
    if (json_str(wm, "appid", wm_appid, sizeof wm_appid, 0) == 0 && wm_appid[0] &&
        (!appid || strcmp(wm_appid, appid) != 0)) {
        bad_reply(st, "getuserphonenumber", "with a watermark for another appid");
        return -1;
    }
    return 0;
}

int wx_get_phone_number(const char *phone_code, wx_phone_t *out, wx_status_t *st)
{
    wx_res_t res = {0};
    char *body = NULL;
    int rc = -1;

    status_init(st);
    memset(out, 0, sizeof *out);
    if (!phone_code || !phone_code[0]) {
        wx_status_set(st, 40029, "empty phone code (not sent)");
        goto Exit;
    }
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "code", phone_code)) {
        cJSON_Delete(o);
        o = NULL;
    }
    if (!(body = print_body(o, st)))
        goto Exit;
    wx_req_t req = {
        .endpoint = "getuserphonenumber", .path = "/wxa/business/getuserphonenumber", .body = body, .with_token = 1};
    if (wx_call(&req, &res, st) != 0)
        goto Exit;
    if (wx_read_phone(&res, g.cfg.appid, out, st) != 0)
        goto Exit;
    rc = 0;
Exit:
    if (rc != 0)
        memset(out, 0, sizeof *out);
    free(body);
    wx_res_free(&res);
    return rc;
}

/* msgid is an int64 and may exceed 2^53, which a double (cJSON) rounds: read
 * the digits from the raw reply when the parsed value is that large. */
long long wx_reply_int64(const wx_res_t *res, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(res->json, key);
    char pat[64], *p, *end;
    long long v = 0;

    if (wx_json_int(it, &v) != 0)
        return 0;
    if (!cJSON_IsNumber(it) || (v < (1LL << 53) && v > -(1LL << 53)))
        return v;
    snprintf(pat, sizeof pat, "\"%s\"", key);
    for (p = strstr(res->raw, pat); p; p = strstr(p + 1, pat)) {
        const char *q = p + strlen(pat);
        q += strspn(q, " \t\r\n");
        if (*q != ':')
            continue;
        long long exact = strtoll(q + 1, &end, 10);
        double diff = (double)exact - it->valuedouble;
        if (end != q + 1 && diff <= 4096.0 && diff >= -4096.0) /* same number, rounded */
            return exact;
    }
    return v;
}

int wx_send_subscribe(const char *json_body, long long *msgid, wx_status_t *st)
{
    wx_res_t res = {0};
    int rc = -1;

    status_init(st);
    if (msgid)
        *msgid = 0;
    wx_req_t req = {.endpoint = "subscribe_send",
                    .path = "/cgi-bin/message/subscribe/send",
                    .body = json_body ? json_body : "",
                    .with_token = 1};
    if (wx_call(&req, &res, st) != 0)
        goto Exit;
    if (msgid)
        *msgid = wx_reply_int64(&res, "msgid");
    rc = 0;
Exit:
    wx_res_free(&res);
    return rc;
}

int wx_read_seccheck(const wx_res_t *res, wx_seccheck_t *out, wx_status_t *st)
{
    /* errcode 0 only means the check ran; the verdict is result.suggest. */
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(res->json, "result");
    const cJSON *label = cJSON_GetObjectItemCaseSensitive(result, "label");
    long long lv = 0;

    memset(out, 0, sizeof *out);
    if (!cJSON_IsObject(result) || json_str(result, "suggest", out->suggest, sizeof out->suggest, 1) ||
        (label && (wx_json_int(label, &lv) != 0 || lv < 0 || lv > 2147483647)) ||
        json_str(res->json, "trace_id", out->trace_id, sizeof out->trace_id, 0) != 0) {
        bad_reply(st, "msg_sec_check", "without a valid result");
        return -1;
    }
    out->label = (int)lv;
    return 0;
}

int wx_msg_sec_check(const char *openid, const char *content, int scene, wx_seccheck_t *out, wx_status_t *st)
{
    wx_res_t res = {0};
    char *body = NULL;
    int rc = -1;

    status_init(st);
    memset(out, 0, sizeof *out);
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddNumberToObject(o, "version", 2) ||
        !cJSON_AddStringToObject(o, "openid", openid ? openid : "") || !cJSON_AddNumberToObject(o, "scene", scene) ||
        !cJSON_AddStringToObject(o, "content", content ? content : "")) {
        cJSON_Delete(o);
        o = NULL;
    }
    if (!(body = print_body(o, st)))
        goto Exit;
    wx_req_t req = {
        .endpoint = "msg_sec_check", .path = "/wxa/msg_sec_check", .body = body, .openid = openid, .with_token = 1};
    if (wx_call(&req, &res, st) != 0)
        goto Exit;
    if (wx_read_seccheck(&res, out, st) != 0)
        goto Exit;
    rc = 0;
Exit:
    if (rc != 0)
        memset(out, 0, sizeof *out);
    free(body);
    wx_res_free(&res);
    return rc;
}

int wx_get_unlimited_qrcode(const char *json_body, unsigned char **image, size_t *image_len, char *content_type,
                            size_t ct_size, wx_status_t *st)
{
    wx_res_t res = {0};
    int rc = -1;

    status_init(st);
    *image = NULL;
    *image_len = 0;
    if (content_type && ct_size)
        content_type[0] = '\0';
    wx_req_t req = {.endpoint = "getwxacodeunlimit",
                    .path = "/wxa/getwxacodeunlimit",
                    .body = json_body ? json_body : "",
                    .with_token = 1,
                    .accept_image = 1};
    if (wx_call(&req, &res, st) != 0)
        goto Exit;
    *image = (unsigned char *)res.raw; /* ownership passes to the caller */
    *image_len = res.raw_len;
    res.raw = NULL;
    if (content_type && ct_size)
        snprintf(content_type, ct_size, "%s", res.content_type);
    rc = 0;
Exit:
    wx_res_free(&res);
    return rc;
}

/* media_type: 1 audio, 2 image (WeChat checks no video). Decided by the
 * URL's extension; anything not audio is sent as an image. */
static int media_type_of(const char *url)
{
    static const char *const audio[] = {"mp3", "aac", "ac3", "wma", "flac", "vorbis", "opus", "wav"};
    size_t n = strcspn(url, "?#");
    const char *dot = NULL;

    for (const char *p = url; p < url + n; p++)
        if (*p == '.')
            dot = p + 1;
        else if (*p == '/')
            dot = NULL;
    for (size_t i = 0; dot && i < sizeof audio / sizeof *audio; i++)
        if ((size_t)(url + n - dot) == strlen(audio[i]) && !strncasecmp(dot, audio[i], strlen(audio[i])))
            return 1;
    return 2;
}

int wx_read_trace_id(const wx_res_t *res, char *trace_id, size_t trace_size, wx_status_t *st)
{
    char tid[128];

    /* The verdict is pushed later and matched on trace_id: without it the
     * request is lost. */
    if (json_str(res->json, "trace_id", tid, sizeof tid, 1) != 0 || !trace_id || strlen(tid) >= trace_size) {
        bad_reply(st, "media_check_async", "without a usable trace_id");
        return -1;
    }
    strcpy(trace_id, tid);
    return 0;
}

int wx_media_check_async(const char *openid, const char *media_url, int scene, char *trace_id, size_t trace_size,
                         wx_status_t *st)
{
    wx_res_t res = {0};
    char *body = NULL;
    int rc = -1;

    status_init(st);
    if (trace_id && trace_size)
        trace_id[0] = '\0';
    media_url = media_url ? media_url : "";
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "media_url", media_url) ||
        !cJSON_AddNumberToObject(o, "media_type", media_type_of(media_url)) ||
        !cJSON_AddNumberToObject(o, "version", 2) || !cJSON_AddStringToObject(o, "openid", openid ? openid : "") ||
        !cJSON_AddNumberToObject(o, "scene", scene)) {
        cJSON_Delete(o);
        o = NULL;
    }
    if (!(body = print_body(o, st)))
        goto Exit;
    wx_req_t req = {.endpoint = "media_check_async",
                    .path = "/wxa/media_check_async",
                    .body = body,
                    .openid = openid,
                    .with_token = 1};
    if (wx_call(&req, &res, st) != 0)
        goto Exit;
    if (wx_read_trace_id(&res, trace_id, trace_size, st) != 0)
        goto Exit;
    rc = 0;
Exit:
    free(body);
    wx_res_free(&res);
    return rc;
}

err_code_t wx_error_to_gateway(const wx_status_t *st)
{
    if (!st)
        return ERR_INTERNAL;
    switch (st->errcode) {
    case 0:
        return ERR_NONE;
    case 40029:
        return ERR_WECHAT_CODE_INVALID;
    case 40163:
        return ERR_WECHAT_CODE_USED;
    case 40226:
        return ERR_WECHAT_USER_BLOCKED;
    case 45009:
    case 45011:
        return ERR_RATE_LIMITED;
    case -1:
    case WX_ERR_TRANSPORT:
    case WX_ERR_TIMEOUT:
        return ERR_WECHAT_UNAVAILABLE;
    case WX_ERR_DEADLINE:
        return ERR_DEADLINE_EXCEEDED;
    case WX_ERR_HTTP:
        return st->http_status >= 500 ? ERR_WECHAT_UNAVAILABLE : ERR_WECHAT_ERROR;
    default:
        return ERR_WECHAT_ERROR;
    }
}
