/* wechat_subscribe.c: one subscribe-message send per call (see the header).
 *
 * Shares the WeChat client's configuration and access-token cache through
 * wechat_client_internal.h; the HTTP request itself is made here because the
 * client's own request path always retries. URLs carry the access token and
 * are never logged. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, explicit_bzero */
#endif
#include "wechat_subscribe.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "wechat_client_internal.h"

#define MAX_REPLY_BYTES (64 * 1024) /* a send reply is a few dozen bytes */
#define SEND_PATH "/cgi-bin/message/subscribe/send"

static _Thread_local CURL *thread_curl;

void wx_subscribe_thread_cleanup(void)
{
    if (thread_curl) {
        curl_easy_cleanup(thread_curl);
        thread_curl = NULL;
    }
}

typedef struct {
    char *data;
    size_t len, cap;
    int overflow;
} reply_t;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    reply_t *r = ud;
    size_t len = size * n;

    if (len > MAX_REPLY_BYTES - r->len) {
        r->overflow = 1;
        return 0;
    }
    if (r->len + len + 1 > r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 1024;
        while (cap < r->len + len + 1)
            cap *= 2;
        char *d = realloc(r->data, cap);
        if (!d)
            return 0;
        r->data = d;
        r->cap = cap;
    }
    memcpy(r->data + r->len, p, len);
    r->len += len;
    r->data[r->len] = '\0';
    return len;
}

/* The msgid's digits as they appear in the reply text. cJSON keeps numbers
 * as doubles, which cannot hold a 19-digit int64 exactly. */
static void copy_msgid(const cJSON *json, const char *raw, char msgid[WX_MSGID_MAX])
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(json, "msgid");
    const char *p;

    msgid[0] = '\0';
    if (cJSON_IsString(it) && strlen(it->valuestring) < WX_MSGID_MAX &&
        strspn(it->valuestring, "-0123456789") == strlen(it->valuestring)) {
        strcpy(msgid, it->valuestring);
        return;
    }
    if (!cJSON_IsNumber(it))
        return;
    for (p = strstr(raw, "\"msgid\""); p; p = strstr(p + 1, "\"msgid\"")) {
        const char *q = p + strlen("\"msgid\"");
        q += strspn(q, " \t\r\n");
        if (*q != ':')
            continue; /* the text appeared inside a string value */
        q++;
        q += strspn(q, " \t\r\n");
        size_t n = (*q == '-') + strspn(q + (*q == '-'), "0123456789");
        if (n > 0 && n < WX_MSGID_MAX) {
            memcpy(msgid, q, n);
            msgid[n] = '\0';
        }
        return;
    }
}

/* One POST with the given token. 0 when WeChat answered errcode 0. */
static int send_with_token(CURL *h, const char *token, const char *body, char msgid[WX_MSGID_MAX],
                           wx_status_t *st)
{
    const wx_config_t *cfg = wx_config();
    char errbuf[CURL_ERROR_SIZE] = "", *tq = NULL, *url = NULL;
    struct curl_slist *hdrs = NULL;
    reply_t r = {0};
    cJSON *json = NULL;
    long http = 0;
    long long code = 0;
    int rc = -1;

    st->attempts++;
    st->http_status = 0;
    st->errmsg[0] = '\0';
    if (!(tq = wx_query("access_token", token, (char *)NULL)) ||
        asprintf(&url, "%s%s?%s", cfg->api_base, SEND_PATH, tq) < 0) {
        url = NULL;
        wx_status_set(st, WX_ERR_TRANSPORT, "out of memory");
        goto Exit;
    }
    if (!(hdrs = curl_slist_append(NULL, "Content-Type: application/json")) ||
        !curl_slist_append(hdrs, "Expect:")) {
        wx_status_set(st, WX_ERR_TRANSPORT, "out of memory");
        goto Exit;
    }
    curl_easy_reset(h); /* keeps the connection cache */
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)cfg->timeout_ms);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (cfg->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, cfg->ca_file);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "gateway-wechat-client/1");
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    CURLcode cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &http);
    st->http_status = (int)http;
    if (cc == CURLE_OPERATION_TIMEDOUT) {
        wx_status_set(st, WX_ERR_TIMEOUT, "timeout: %s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
        goto Exit;
    }
    if (cc == CURLE_WRITE_ERROR && r.overflow) {
        wx_status_set(st, WX_ERR_PARSE, "reply larger than %d bytes", MAX_REPLY_BYTES);
        goto Exit;
    }
    if (cc != CURLE_OK) {
        wx_status_set(st, WX_ERR_TRANSPORT, "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
        goto Exit;
    }
    if (http != 200) {
        wx_status_set(st, WX_ERR_HTTP, "HTTP status %ld", http);
        goto Exit;
    }
    json = cJSON_ParseWithLength(r.data ? r.data : "", r.len);
    if (!cJSON_IsObject(json)) {
        wx_status_set(st, WX_ERR_PARSE, "reply is not a JSON object (%zu bytes)", r.len);
        goto Exit;
    }
    /* A missing errcode means 0; it may also come as a numeric string. */
    const cJSON *ec = cJSON_GetObjectItemCaseSensitive(json, "errcode");
    if (ec && (wx_json_int(ec, &code) != 0 || code < -2147483647 || code > 2147483647)) {
        wx_status_set(st, WX_ERR_PARSE, "reply has a malformed errcode");
        goto Exit;
    }
    const cJSON *em = cJSON_GetObjectItemCaseSensitive(json, "errmsg");
    wx_status_set(st, (int)code, "%s", cJSON_IsString(em) ? em->valuestring : "");
    if (code != 0)
        goto Exit;
    copy_msgid(json, r.data, msgid);
    rc = 0;
Exit:
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL); /* errbuf is about to go */
    metrics_wechat_call("subscribe_send", st->errcode);
    if (url)
        explicit_bzero(url, strlen(url));
    if (tq)
        explicit_bzero(tq, strlen(tq));
    free(url);
    free(tq);
    curl_slist_free_all(hdrs);
    cJSON_Delete(json);
    free(r.data);
    return rc;
}

static int is_token_error(int errcode)
{
    return errcode == 40001 || errcode == 40014 || errcode == 42001;
}

int wx_subscribe_send_once(const char *json_body, char msgid[WX_MSGID_MAX], wx_status_t *st)
{
    char token[WX_TOKEN_MAX];
    int rc = WX_SEND_FAILED;

    memset(st, 0, sizeof *st);
    msgid[0] = '\0';
    if (!wx_config()) {
        wx_status_set(st, WX_ERR_TRANSPORT, "wechat client not initialised");
        return WX_SEND_NO_TOKEN;
    }
    if (!thread_curl && !(thread_curl = curl_easy_init())) {
        wx_status_set(st, WX_ERR_TRANSPORT, "curl_easy_init failed");
        return WX_SEND_FAILED;
    }
    for (int replayed = 0;; replayed = 1) {
        if (wx_token_get(token, sizeof token, st) != 0) {
            rc = WX_SEND_NO_TOKEN;
            break;
        }
        if (send_with_token(thread_curl, token, json_body, msgid, st) == 0) {
            rc = WX_SEND_OK;
            break;
        }
        if (replayed || !is_token_error(st->errcode))
            break;
        log_info("wechat", "subscribe_send: access token rejected (errcode %d, %s); refreshing, replaying once",
                 st->errcode, st->errmsg);
        wx_token_invalidate(token);
    }
    explicit_bzero(token, sizeof token);
    return rc;
}
