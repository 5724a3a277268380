/* fake_ctl.h: the fake WeChat's control API (tools/fake_wechat, /__fake/...)
 * for the unit tests that run against it; base is its URL, from
 * FAKE_WECHAT_URL. Blocking libcurl calls with a 5 s timeout; a failed call
 * prints a line and returns NULL / -1. Each test program gets its own copy
 * (static inline). */
#ifndef GW_TEST_FAKE_CTL_H
#define GW_TEST_FAKE_CTL_H
#include <curl/curl.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *base;

typedef struct {
    char *data;
    size_t len;
} buf_t;

static inline size_t collect(char *p, size_t size, size_t n, void *ud)
{
    buf_t *b = ud;
    char *d = realloc(b->data, b->len + size * n + 1);

    if (!d)
        return 0;
    memcpy(d + b->len, p, size * n);
    b->data = d;
    b->len += size * n;
    b->data[b->len] = '\0';
    return size * n;
}

/* Parsed JSON reply of a control call, or NULL. */
static inline cJSON *ctl(const char *method, const char *path, const char *body)
{
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    char url[512];
    buf_t b = {0};
    long status = 0;
    cJSON *json = NULL;

    snprintf(url, sizeof url, "%s%s", base, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    if (!strcmp(method, "POST")) {
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "{}");
    }
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (status == 200 && b.data)
        json = cJSON_Parse(b.data);
    else
        printf("control call %s %s failed (HTTP %ld): %s\n", method, path, status, b.data ? b.data : "");
    free(b.data);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return json;
}

static inline int ctl_post(const char *path, const char *body)
{
    cJSON *r = ctl("POST", path, body);

    cJSON_Delete(r);
    return r ? 0 : -1;
}

/* Queue a failure for the next `count` calls to path (see /__fake/fail). */
static inline void fake_fail(const char *fields)
{
    char body[1024];

    snprintf(body, sizeof body, "{%s}", fields);
    if (ctl_post("/__fake/fail", body) != 0)
        printf("could not queue failure %s\n", body);
}

/* How many calls the fake has seen on path. */
static inline long fake_count(const char *path)
{
    cJSON *r = ctl("GET", "/__fake/requests", NULL);
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "counts"), path);
    long v = cJSON_IsNumber(n) ? (long)n->valuedouble : 0;

    cJSON_Delete(r);
    return v;
}

#endif
