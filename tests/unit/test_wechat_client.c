/* test_wechat_client.c: the WeChat client against the fake WeChat server
 * (tools/fake_wechat), whose base URL comes from FAKE_WECHAT_URL. Without it
 * the test reports itself skipped.
 *
 * The fake's control API (/__fake/...) injects failures and reports what it
 * received, so retries, token refresh and single flight are checked on the
 * wire, not only through the client's own counters. Everything written to
 * fd 2 (the client's log) goes to /tmp/test_wechat_client.log.XXXXXX, which
 * is scanned at the end for the secret, session keys and access tokens; the
 * file is removed on success and kept on failure (sanitizer reports land in
 * it too). TEST_VERBOSE=1 copies it to stderr. */
#include <curl/curl.h>
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "errors.h"
#include "log.h"
#include "metrics.h"
#include "fake_ctl.h"
#include "test.h"
#include "wechat_client.h"
#include "wechat_client_internal.h"

#define PHONE_WORKERS 50

static char appid[128], secret[128];
static wx_config_t cfg;
static long long next_phone = 13000000000LL; /* phone codes are single use */
static char session_keys[8][128];
static int n_session_keys;
static int log_fd = -1; /* the client's captured log */

/* The body (as JSON) and query of the last request the fake got on path. */
static cJSON *fake_last_request(const char *path)
{
    char p[256];
    cJSON *r, *reqs, *last = NULL;
    int n;

    snprintf(p, sizeof p, "/__fake/requests?path=%s", path);
    r = ctl("GET", p, NULL);
    reqs = cJSON_GetObjectItemCaseSensitive(r, "requests");
    n = cJSON_GetArraySize(reqs);
    if (n > 0)
        last = cJSON_DetachItemFromArray(reqs, n - 1);
    cJSON_Delete(r);
    return last;
}

static void set_quirks(const char *quirks)
{
    char body[512];

    snprintf(body, sizeof body, "{\"quirks\":{%s}}", quirks);
    if (ctl_post("/__fake/config", body) != 0)
        printf("could not set quirks %s\n", quirks);
}

static void reinit(int timeout_ms, const char *api_base)
{
    wx_config_t c = cfg;

    wx_client_cleanup();
    c.timeout_ms = timeout_ms;
    if (api_base)
        c.api_base = api_base;
    if (wx_client_init(&c) != 0)
        printf("wx_client_init failed\n");
}

static void new_phone_code(char *out, size_t outsz, const char *suffix)
{
    snprintf(out, outsz, "P_%lld%s", next_phone++, suffix);
}

static void remember_session_key(const char *k)
{
    if (k[0] && n_session_keys < 8)
        snprintf(session_keys[n_session_keys++], sizeof session_keys[0], "%s", k);
}

/* gateway_wechat_calls_total for one endpoint and result (0 when absent). */
static long wechat_calls(const char *endpoint, const char *result)
{
    size_t len = 0;
    char key[160], *text = metrics_render(&len), *p;
    long v = 0;

    snprintf(key, sizeof key, "gateway_wechat_calls_total{endpoint=\"%s\",result=\"%s\"} ", endpoint, result);
    /* Every sample line ends in '\n', so strtol stops inside the buffer. */
    if (text && (p = memmem(text, len, key, strlen(key))))
        v = strtol(p + strlen(key), NULL, 10);
    free(text);
    return v;
}

/* ---- tests --------------------------------------------------------------- */

static void test_error_mapping(void)
{
    static const struct {
        int errcode, http;
        err_code_t want;
    } cases[] = {
        {40029, 200, ERR_WECHAT_CODE_INVALID},
        {40163, 200, ERR_WECHAT_CODE_USED},
        {40226, 200, ERR_WECHAT_USER_BLOCKED},
        {45011, 200, ERR_RATE_LIMITED},
        {45009, 200, ERR_RATE_LIMITED},
        {-1, 200, ERR_WECHAT_UNAVAILABLE},
        {WX_ERR_TRANSPORT, 0, ERR_WECHAT_UNAVAILABLE},
        {WX_ERR_TIMEOUT, 0, ERR_WECHAT_UNAVAILABLE},
        {WX_ERR_HTTP, 502, ERR_WECHAT_UNAVAILABLE},
        {WX_ERR_HTTP, 404, ERR_WECHAT_ERROR},
        {WX_ERR_PARSE, 200, ERR_WECHAT_ERROR},
        {40001, 200, ERR_WECHAT_ERROR},
        {43101, 200, ERR_WECHAT_ERROR},
        {0, 200, ERR_NONE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        wx_status_t st = {.errcode = cases[i].errcode, .http_status = cases[i].http};
        CHECK_INT(wx_error_to_gateway(&st), cases[i].want);
    }
}

static void test_code2session_ok(void)
{
    wx_session_t s;
    wx_status_t st;

    CHECK_INT(wx_code2session("C_oLoginUser0001", &s, &st), 0);
    CHECK_INT(st.errcode, 0);
    CHECK_INT(st.attempts, 1);
    CHECK_STR(s.openid, "oLoginUser0001");
    CHECK_STR(s.unionid, "");
    CHECK_INT(strlen(s.session_key), 24); /* base64 of 16 bytes */
    remember_session_key(s.session_key);

    CHECK_INT(wx_code2session("CU_oLoginUser0002", &s, &st), 0);
    CHECK_STR(s.openid, "oLoginUser0002");
    CHECK_STR(s.unionid, "U_oLoginUser0002");
    remember_session_key(s.session_key);

    /* Query values are URL-escaped: the openid survives '+', '&', '=' and spaces. */
    CHECK_INT(wx_code2session("C_o+a&b=c d/e", &s, &st), 0);
    CHECK_STR(s.openid, "o+a&b=c d/e");
    remember_session_key(s.session_key);
}

static void test_code2session_errors(void)
{
    wx_session_t s;
    wx_status_t st;

    CHECK_INT(wx_code2session("INVALID_1", &s, &st), -1);
    CHECK_INT(st.errcode, 40029);
    CHECK_INT(st.attempts, 1); /* business errors are not retried */
    CHECK(strstr(st.errmsg, "rid:") != NULL);
    CHECK_INT(wx_error_to_gateway(&st), ERR_WECHAT_CODE_INVALID);
    CHECK_STR(s.openid, "");

    CHECK_INT(wx_code2session("USED_1", &s, &st), -1);
    CHECK_INT(st.errcode, 40163);
    CHECK_INT(wx_error_to_gateway(&st), ERR_WECHAT_CODE_USED);

    /* A code that already logged in once is used. */
    CHECK_INT(wx_code2session("C_oLoginUser0001", &s, &st), -1);
    CHECK_INT(st.errcode, 40163);

    CHECK_INT(wx_code2session("RISKY_1", &s, &st), -1);
    CHECK_INT(wx_error_to_gateway(&st), ERR_WECHAT_USER_BLOCKED);

    CHECK_INT(wx_code2session("RATE_1", &s, &st), -1);
    CHECK_INT(st.attempts, 1);
    CHECK_INT(wx_error_to_gateway(&st), ERR_RATE_LIMITED);

    CHECK_INT(wx_code2session("", &s, &st), -1);
    CHECK_INT(st.errcode, 40029);
    CHECK_INT(st.attempts, 0);
}

static void test_retry_busy_then_ok(void)
{
    wx_session_t s;
    wx_status_t st;
    long before = fake_count("/sns/jscode2session");
    long busy0 = wechat_calls("jscode2session", "errcode_-1");
    long ok0 = wechat_calls("jscode2session", "ok");

    fake_fail("\"path\":\"/sns/jscode2session\",\"errcode\":-1,\"count\":2");
    CHECK_INT(wx_code2session("C_oRetryUser01", &s, &st), 0);
    CHECK_INT(st.attempts, 3);
    CHECK_STR(s.openid, "oRetryUser01");
    CHECK_INT(fake_count("/sns/jscode2session") - before, 3);
    /* One metrics sample per HTTP attempt. */
    CHECK_INT(wechat_calls("jscode2session", "errcode_-1") - busy0, 2);
    CHECK_INT(wechat_calls("jscode2session", "ok") - ok0, 1);

    /* Always busy: 1 + max_retries attempts, then unavailable. */
    CHECK_INT(wx_code2session("BUSY_1", &s, &st), -1);
    CHECK_INT(st.errcode, -1);
    CHECK_INT(st.attempts, 1 + cfg.max_retries);
    CHECK_INT(wx_error_to_gateway(&st), ERR_WECHAT_UNAVAILABLE);
}

static void test_http_errors(void)
{
    wx_session_t s;
    wx_status_t st;

    /* 5xx is retried. */
    fake_fail("\"path\":\"/sns/jscode2session\",\"http_status\":502,\"body\":\"bad gateway\","
              "\"count\":1");
    CHECK_INT(wx_code2session("C_oHttpUser01", &s, &st), 0);
    CHECK_INT(st.attempts, 2);

    fake_fail("\"path\":\"/sns/jscode2session\",\"http_status\":503,\"body\":\"x\",\"count\":3");
    CHECK_INT(wx_code2session("C_oHttpUser02", &s, &st), -1);
    CHECK_INT(st.errcode, WX_ERR_HTTP);
    CHECK_INT(st.http_status, 503);
    CHECK_INT(st.attempts, 3);
    CHECK_INT(wx_error_to_gateway(&st), ERR_WECHAT_UNAVAILABLE);

    /* 4xx is not. */
    fake_fail("\"path\":\"/sns/jscode2session\",\"http_status\":404,\"body\":\"no\",\"count\":1");
    CHECK_INT(wx_code2session("C_oHttpUser03", &s, &st), -1);
    CHECK_INT(st.errcode, WX_ERR_HTTP);
    CHECK_INT(st.attempts, 1);
    CHECK_INT(wx_error_to_gateway(&st), ERR_WECHAT_ERROR);
}

static void test_defensive_parsing(void)
{
    wx_session_t s;
    wx_status_t st;

    fake_fail("\"path\":\"/sns/jscode2session\",\"body\":\"<html>busy</html>\",\"count\":1");
    CHECK_INT(wx_code2session("C_oParseUser01", &s, &st), -1);
    CHECK_INT(st.errcode, WX_ERR_PARSE);
    CHECK_INT(st.attempts, 1);
    CHECK_INT(wx_error_to_gateway(&st), ERR_WECHAT_ERROR);

    /* Success without openid is a failure. */
    fake_fail("\"path\":\"/sns/jscode2session\",\"body\":{\"session_key\":\"abc\"},\"count\":1");
    CHECK_INT(wx_code2session("C_oParseUser02", &s, &st), -1);
    CHECK_INT(st.errcode, WX_ERR_PARSE);
    CHECK_STR(s.session_key, "");

    /* errcode as a numeric string. */
    fake_fail("\"path\":\"/sns/jscode2session\",\"body\":{\"errcode\":\"40029\","
              "\"errmsg\":\"invalid code rid: 1\"},\"count\":1");
    CHECK_INT(wx_code2session("C_oParseUser03", &s, &st), -1);
    CHECK_INT(st.errcode, 40029);
    CHECK_STR(st.errmsg, "invalid code rid: 1");

    fake_fail("\"path\":\"/sns/jscode2session\",\"body\":{\"errcode\":\"busy\"},\"count\":1");
    CHECK_INT(wx_code2session("C_oParseUser04", &s, &st), -1);
    CHECK_INT(st.errcode, WX_ERR_PARSE);

    /* The fake's own quirks: errcode strings, errcode 0 on success. */
    set_quirks("\"errcode_as_string\":true,\"errcode_on_success\":true");
    CHECK_INT(wx_code2session("C_oParseUser05", &s, &st), 0);
    CHECK_STR(s.openid, "oParseUser05");
    CHECK_INT(wx_code2session("INVALID_2", &s, &st), -1);
    CHECK_INT(st.errcode, 40029);
    set_quirks("\"errcode_as_string\":false,\"errcode_on_success\":false");
}

static void test_phone_number(void)
{
    wx_phone_t p;
    wx_status_t st;
    char code[64];
    cJSON *req;

    new_phone_code(code, sizeof code, "");
    CHECK_INT(wx_get_phone_number(code, &p, &st), 0);
    CHECK_STR(p.phone, code + 2);
    CHECK_STR(p.pure_phone, code + 2);
    CHECK_STR(p.country_code, "86");

    new_phone_code(code, sizeof code, "_S"); /* countryCode as a string */
    CHECK_INT(wx_get_phone_number(code, &p, &st), 0);
    CHECK_STR(p.country_code, "86");
    CHECK_INT(st.attempts, 1);

    /* The token travels in the query string, never in the body. */
    req = fake_last_request("/wxa/business/getuserphonenumber");
    CHECK(cJSON_IsString(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(req, "query"), "access_token")));
    CHECK(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(req, "body"), "access_token") == NULL);
    CHECK_STR(
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(req, "body"), "code")),
        code);
    cJSON_Delete(req);

    CHECK_INT(wx_get_phone_number(code, &p, &st), -1); /* reused */
    CHECK_INT(st.errcode, 40029);
    CHECK_INT(wx_error_to_gateway(&st), ERR_WECHAT_CODE_INVALID);
    CHECK_STR(p.phone, "");

    /* A number issued for another app is refused. */
    fake_fail("\"path\":\"/wxa/business/getuserphonenumber\",\"body\":{\"errcode\":0,"
              "\"phone_info\":{\"phoneNumber\":\"1\",\"countryCode\":86,"
              "\"watermark\":{\"appid\":\"wxother\"}}},\"count\":1");
    new_phone_code(code, sizeof code, "");
    CHECK_INT(wx_get_phone_number(code, &p, &st), -1);
    CHECK_INT(st.errcode, WX_ERR_PARSE);
}

/* A token-protected call whose token the fake rejects (after ctl_path):
 * exactly one refresh and one replay. */
static void token_refresh_case(const char *ctl_path)
{
    wx_phone_t p;
    wx_status_t st;
    char code[64];
    long tok0, ep0, fetch0;

    new_phone_code(code, sizeof code, "");
    CHECK_INT(wx_get_phone_number(code, &p, &st), 0); /* a cached token */
    tok0 = fake_count("/cgi-bin/stable_token");
    ep0 = fake_count("/wxa/business/getuserphonenumber");
    fetch0 = wx_token_fetch_count();
    CHECK_INT(ctl_post(ctl_path, "{}"), 0);

    new_phone_code(code, sizeof code, "");
    CHECK_INT(wx_get_phone_number(code, &p, &st), 0);
    CHECK_STR(p.phone, code + 2);
    CHECK_INT(st.attempts, 3); /* rejected call, token fetch, replay */
    CHECK_INT(fake_count("/cgi-bin/stable_token") - tok0, 1);
    CHECK_INT(fake_count("/wxa/business/getuserphonenumber") - ep0, 2);
    CHECK_INT(wx_token_fetch_count() - fetch0, 1);
}

static void test_token_expired(void)
{
    token_refresh_case("/__fake/tokens/expire"); /* 42001 */
}

static void test_token_revoked(void)
{
    token_refresh_case("/__fake/tokens/revoke"); /* 40001 */
}

/* Requests to stable_token that asked for a forced refresh. */
static int forced_requests(void)
{
    cJSON *r = ctl("GET", "/__fake/requests?path=/cgi-bin/stable_token", NULL), *it;
    int n = 0;

    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(r, "requests")) n +=
        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(it, "body"), "force_refresh"));
    cJSON_Delete(r);
    return n;
}

/* The fake's current stable token (fingerprinted for the gate check). */
static void current_stable_token(char *out, size_t outsz)
{
    cJSON *r = ctl("GET", "/__fake/tokens", NULL);
    const char *v = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "stable"), "current"));

    snprintf(out, outsz, "%s", v ? v : "");
    cJSON_Delete(r);
}

static struct {
    int answer, begins, ends, last_ok;
    char fp[WX_TOKEN_FP_HEX + 1];
} gate;

static int gate_begin(void *ud, const char *fp)
{
    (void)ud;
    gate.begins++;
    snprintf(gate.fp, sizeof gate.fp, "%s", fp);
    return gate.answer;
}

static void gate_end(void *ud, int ok)
{
    (void)ud;
    gate.ends++;
    gate.last_ok = ok;
}

/* One phone-number call after ctl_path spoiled the tokens: it succeeds. */
static void call_after(const char *ctl_path)
{
    wx_phone_t p;
    wx_status_t st;
    char code[64];

    if (ctl_path)
        CHECK_INT(ctl_post(ctl_path, "{}"), 0);
    new_phone_code(code, sizeof code, "");
    CHECK_INT(wx_get_phone_number(code, &p, &st), 0);
}

/* 40001/42001 ask the force gate; it decides whether the refresh is forced,
 * and a forced one is reported back to it. 40014 only refreshes. */
static void test_token_force_gate(void)
{
    char old[WX_TOKEN_MAX], fp[WX_TOKEN_FP_HEX + 1];
    long forced0 = wx_token_forced_count();
    int f0;

    reinit(cfg.timeout_ms, NULL);
    memset(&gate, 0, sizeof gate);
    wx_token_set_force_gate(&(wx_force_gate_t){.begin = gate_begin, .end = gate_end});
    call_after(NULL); /* a cached token */
    current_stable_token(old, sizeof old);
    CHECK_INT(wx_token_fingerprint(old, fp), 0);

    gate.answer = 1;
    f0 = forced_requests();
    call_after("/__fake/tokens/revoke");
    CHECK_INT(gate.begins, 1);
    CHECK_STR(gate.fp, fp); /* the rejected token, by fingerprint */
    CHECK_INT(gate.ends, 1);
    CHECK_INT(gate.last_ok, 1);
    CHECK_INT(forced_requests() - f0, 1);
    CHECK_INT(wx_token_forced_count() - forced0, 1);

    gate.answer = 0; /* another process forced: fetch normally */
    call_after("/__fake/tokens/expire");
    CHECK_INT(gate.begins, 2);
    CHECK_INT(gate.ends, 1);
    CHECK_INT(forced_requests() - f0, 1);

    gate.answer = -1; /* the gate cannot decide: fetch normally */
    call_after("/__fake/tokens/revoke");
    CHECK_INT(gate.begins, 3);
    CHECK_INT(forced_requests() - f0, 1);

    fake_fail("\"path\":\"/wxa/business/getuserphonenumber\",\"errcode\":40014,\"count\":1");
    call_after(NULL);
    CHECK_INT(gate.begins, 3); /* a malformed token is not a reason to force */
    CHECK_INT(wx_token_forced_count() - forced0, 1);
    wx_token_set_force_gate(NULL);
}

/* Without a gate, a process forces at most once per force_interval_s. */
static void test_token_force_interval(void)
{
    int f0;

    reinit(cfg.timeout_ms, NULL);
    call_after(NULL);
    f0 = forced_requests();
    call_after("/__fake/tokens/revoke");
    CHECK_INT(forced_requests() - f0, 1);
    call_after("/__fake/tokens/revoke"); /* within the interval: a normal fetch */
    CHECK_INT(forced_requests() - f0, 1);
}

/* A replay that is rejected again is not replayed a second time. */
static void test_token_replay_once(void)
{
    wx_phone_t p;
    wx_status_t st;
    char code[64];
    long tok0 = fake_count("/cgi-bin/stable_token");
    long ep0 = fake_count("/wxa/business/getuserphonenumber");

    fake_fail("\"path\":\"/wxa/business/getuserphonenumber\",\"errcode\":42001,\"count\":2");
    new_phone_code(code, sizeof code, "");
    CHECK_INT(wx_get_phone_number(code, &p, &st), -1);
    CHECK_INT(st.errcode, 42001);
    CHECK_INT(fake_count("/cgi-bin/stable_token") - tok0, 1);
    CHECK_INT(fake_count("/wxa/business/getuserphonenumber") - ep0, 2);
    CHECK_INT(wx_error_to_gateway(&st), ERR_WECHAT_ERROR);
}

/* With a short token lifetime the token is replaced before it expires, so
 * the API call never sees 42001. */
static void test_token_refresh_ahead(void)
{
    wx_phone_t p;
    wx_status_t st;
    char code[64];
    long tok0, ep0;

    CHECK_INT(ctl_post("/__fake/config", "{\"token_ttl\":2}"), 0);
    /* The stable token is the same while it is valid: retire the current
     * (long-lived) one so that the next fetch gets a 2-second token. */
    CHECK_INT(ctl_post("/__fake/tokens/revoke", "{}"), 0);
    reinit(cfg.timeout_ms, NULL);
    new_phone_code(code, sizeof code, "");
    CHECK_INT(wx_get_phone_number(code, &p, &st), 0);
    /* The fake says expires_in 1 or 2 (it rounds down), so the token is
     * stale after 0.9 or 1.8 s and dead on the fake after 2 s. */
    nanosleep(&(struct timespec){1, 850000000L}, NULL);
    tok0 = fake_count("/cgi-bin/stable_token");
    ep0 = fake_count("/wxa/business/getuserphonenumber");
    new_phone_code(code, sizeof code, "");
    CHECK_INT(wx_get_phone_number(code, &p, &st), 0);
    CHECK_INT(st.attempts, 2); /* token fetch + the call, no 42001 */
    CHECK_INT(fake_count("/cgi-bin/stable_token") - tok0, 1);
    CHECK_INT(fake_count("/wxa/business/getuserphonenumber") - ep0, 1);
    CHECK_INT(ctl_post("/__fake/config", "{\"token_ttl\":7200}"), 0);
    reinit(cfg.timeout_ms, NULL);
}

typedef struct {
    pthread_barrier_t *barrier;
    char code[64];
    int rc;
    wx_phone_t phone;
    wx_status_t st;
} job_t;

static void *phone_worker(void *arg)
{
    job_t *j = arg;

    pthread_barrier_wait(j->barrier);
    j->rc = wx_get_phone_number(j->code, &j->phone, &j->st);
    wx_client_thread_cleanup();
    return NULL;
}

/* n threads call wx_get_phone_number at once on an empty token cache. */
static int run_phone_workers(job_t *jobs, int n)
{
    pthread_barrier_t barrier;
    pthread_t tid[PHONE_WORKERS];
    int started = 0;

    pthread_barrier_init(&barrier, NULL, (unsigned)n);
    for (int i = 0; i < n; i++) {
        jobs[i].barrier = &barrier;
        new_phone_code(jobs[i].code, sizeof jobs[i].code, "");
        if (pthread_create(&tid[i], NULL, phone_worker, &jobs[i]) != 0)
            break;
        started++;
    }
    if (started != n) { /* cannot happen on a sane box; avoid a barrier deadlock */
        printf("pthread_create failed after %d threads\n", started);
        exit(2);
    }
    for (int i = 0; i < n; i++)
        pthread_join(tid[i], NULL);
    pthread_barrier_destroy(&barrier);
    return started;
}

static void test_single_flight(void)
{
    static job_t jobs[PHONE_WORKERS];
    long tok0, fetch0;
    int ok = 0, attempts = 0;

    reinit(cfg.timeout_ms, NULL); /* empty token cache */
    memset(jobs, 0, sizeof jobs);
    tok0 = fake_count("/cgi-bin/stable_token");
    fetch0 = wx_token_fetch_count();
    /* A slow token endpoint makes sure every thread arrives mid-fetch. */
    fake_fail("\"path\":\"/cgi-bin/stable_token\",\"delay_ms\":300,\"count\":1");
    run_phone_workers(jobs, PHONE_WORKERS);
    for (int i = 0; i < PHONE_WORKERS; i++) {
        ok += jobs[i].rc == 0 && !strcmp(jobs[i].phone.phone, jobs[i].code + 2);
        attempts += jobs[i].st.attempts;
    }
    CHECK_INT(ok, PHONE_WORKERS);
    CHECK_INT(wx_token_fetch_count() - fetch0, 1);
    CHECK_INT(fake_count("/cgi-bin/stable_token") - tok0, 1);
    CHECK_INT(attempts, PHONE_WORKERS + 1); /* one call each plus the one token fetch */
}

/* Ten threads hold the same expired token. Half of them hear 42001 only
 * after the other half has already fetched a new token: their invalidation
 * must not drop the new token (compare-and-invalidate), so there is still
 * exactly one fetch. */
static void test_token_expired_concurrent(void)
{
    static job_t jobs[10];
    wx_phone_t p;
    wx_status_t st;
    char code[64];
    long tok0, ep0, fetch0;
    int ok = 0;

    memset(jobs, 0, sizeof jobs);
    new_phone_code(code, sizeof code, "");
    CHECK_INT(wx_get_phone_number(code, &p, &st), 0); /* a cached token */
    tok0 = fake_count("/cgi-bin/stable_token");
    ep0 = fake_count("/wxa/business/getuserphonenumber");
    fetch0 = wx_token_fetch_count();
    CHECK_INT(ctl_post("/__fake/tokens/expire", "{}"), 0);
    fake_fail("\"path\":\"/wxa/business/getuserphonenumber\",\"delay_ms\":300,\"count\":5");
    run_phone_workers(jobs, 10);
    for (int i = 0; i < 10; i++)
        ok += jobs[i].rc == 0;
    CHECK_INT(ok, 10);
    CHECK_INT(wx_token_fetch_count() - fetch0, 1);
    CHECK_INT(fake_count("/cgi-bin/stable_token") - tok0, 1);
    /* The 5 delayed calls and the first fast one used the old token and were
     * replayed; a thread that started after the refresh needed no replay. */
    long calls = fake_count("/wxa/business/getuserphonenumber") - ep0;
    CHECK(calls >= 16 && calls <= 20);
}

/* A failing token fetch fails its waiters too; they do not each retry it. */
static void test_token_failure_shared(void)
{
    static job_t jobs[10];
    wx_phone_t p;
    wx_status_t st;
    char code[64];
    long tok0, ep0;
    int failed = 0;

    reinit(cfg.timeout_ms, NULL);
    memset(jobs, 0, sizeof jobs);
    tok0 = fake_count("/cgi-bin/stable_token");
    ep0 = fake_count("/wxa/business/getuserphonenumber");
    fake_fail("\"path\":\"/cgi-bin/stable_token\",\"errcode\":40164,\"delay_ms\":300,\"count\":1");
    run_phone_workers(jobs, 10);
    for (int i = 0; i < 10; i++)
        failed += jobs[i].rc == -1 && jobs[i].st.errcode == 40164;
    CHECK_INT(failed, 10);
    CHECK(strstr(jobs[0].st.errmsg, "token") != NULL);
    CHECK_INT(wx_error_to_gateway(&jobs[0].st), ERR_WECHAT_ERROR);
    CHECK_INT(fake_count("/cgi-bin/stable_token") - tok0, 1);
    CHECK_INT(fake_count("/wxa/business/getuserphonenumber") - ep0, 0);

    /* 40164 (IP not whitelisted) is not fixed by retrying: for a while the
     * next call fails at once without another token request, so a
     * misconfigured server cannot spend the token endpoint's daily quota. */
    long tok1 = fake_count("/cgi-bin/stable_token");
    new_phone_code(code, sizeof code, "");
    CHECK_INT(wx_get_phone_number(code, &p, &st), -1);
    CHECK_INT(st.errcode, 40164);
    CHECK_INT(fake_count("/cgi-bin/stable_token") - tok1, 0);
    CHECK_INT(fake_count("/wxa/business/getuserphonenumber") - ep0, 0);

    reinit(cfg.timeout_ms, NULL); /* a fixed configuration starts afresh */
    CHECK_INT(wx_get_phone_number(code, &p, &st), 0);
}

static void test_timeout(void)
{
    wx_session_t s;
    wx_status_t st;
    struct timespec t0, t1;

    reinit(300, NULL);
    /* Replies 6 s late: an attempt that waited for one would get -1, not a
     * timeout, and three of them would take 18 s. */
    fake_fail("\"path\":\"/sns/jscode2session\",\"errcode\":-1,\"delay_ms\":6000,\"count\":3");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_INT(wx_code2session("C_oSlowUser01", &s, &st), -1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK_INT(st.errcode, WX_ERR_TIMEOUT);
    CHECK_INT(st.attempts, 3);
    CHECK_INT(wx_error_to_gateway(&st), ERR_WECHAT_UNAVAILABLE);
    /* 3 x 300 ms plus backoff, with room for a loaded machine; not 3 x 6 s. */
    CHECK(t1.tv_sec - t0.tv_sec < 12);

    /* Nothing listens on port 1: a transport error, retried, then unavailable. */
    reinit(cfg.timeout_ms, "http://127.0.0.1:1");
    CHECK_INT(wx_code2session("C_oNoServer01", &s, &st), -1);
    CHECK_INT(st.errcode, WX_ERR_TRANSPORT);
    CHECK_INT(st.attempts, 1 + cfg.max_retries);
    CHECK_INT(wx_error_to_gateway(&st), ERR_WECHAT_UNAVAILABLE);
    reinit(cfg.timeout_ms, NULL);
}

static void test_qrcode(void)
{
    static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char *img;
    size_t len;
    char ct[64];
    wx_status_t st;

    CHECK_INT(wx_get_unlimited_qrcode("{\"scene\":\"ref=42\",\"page\":\"pages/referral/index\"}", &img, &len, ct,
                                      sizeof ct, &st),
              0);
    CHECK(img != NULL && len > 8 && !memcmp(img, png, 8));
    CHECK_STR(ct, "image/png");
    free(img);

    /* A JSON error is never an image. */
    CHECK_INT(wx_get_unlimited_qrcode("{\"scene\":\"a%b\"}", &img, &len, ct, sizeof ct, &st), -1);
    CHECK_INT(st.errcode, 40129);
    CHECK(img == NULL && len == 0);

    /* ... not even when it claims to be one. */
    fake_fail("\"path\":\"/wxa/getwxacodeunlimit\",\"body\":{\"errcode\":45009,\"errmsg\":\"quota\"},"
              "\"content_type\":\"image/jpeg\",\"count\":1");
    CHECK_INT(wx_get_unlimited_qrcode("{\"scene\":\"x=1\"}", &img, &len, ct, sizeof ct, &st), -1);
    CHECK_INT(st.errcode, 45009);
    CHECK(img == NULL);
    CHECK_INT(wx_error_to_gateway(&st), ERR_RATE_LIMITED);

    /* No image Content-Type: sniffed from the PNG magic. */
    set_quirks("\"qr_content_type\":\"application/octet-stream\"");
    CHECK_INT(wx_get_unlimited_qrcode("{\"scene\":\"x=2\"}", &img, &len, ct, sizeof ct, &st), 0);
    CHECK(img != NULL && len > 8 && !memcmp(img, png, 8));
    CHECK_STR(ct, "image/png");
    free(img);
    set_quirks("\"qr_content_type\":\"image/png\"");

    /* errcode 0 JSON where an image was expected. */
    fake_fail("\"path\":\"/wxa/getwxacodeunlimit\",\"body\":{\"errcode\":0},"
              "\"content_type\":\"application/json\",\"count\":1");
    CHECK_INT(wx_get_unlimited_qrcode("{\"scene\":\"x=3\"}", &img, &len, ct, sizeof ct, &st), -1);
    CHECK_INT(st.errcode, WX_ERR_PARSE);
    CHECK(img == NULL);
}

static void test_msg_sec_check(void)
{
    wx_seccheck_t r;
    wx_status_t st;
    cJSON *req, *body;

    CHECK_INT(wx_msg_sec_check("oSecUser0001", "a nice flat", 2, &r, &st), 0);
    CHECK_STR(r.suggest, "pass");
    CHECK_INT(r.label, 100);
    CHECK(r.trace_id[0] != '\0');
    req = fake_last_request("/wxa/msg_sec_check");
    body = cJSON_GetObjectItemCaseSensitive(req, "body");
    CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(body, "version")), 2);
    CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(body, "scene")), 2);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "openid")), "oSecUser0001");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "content")), "a nice flat");
    cJSON_Delete(req);

    CHECK_INT(wx_msg_sec_check("oSecUser0001", "this is RISKY", 3, &r, &st), 0);
    CHECK_STR(r.suggest, "risky");
    CHECK_INT(r.label, 20006);

    set_quirks("\"label_as_string\":true");
    CHECK_INT(wx_msg_sec_check("oSecUser0001", "please REVIEW", 1, &r, &st), 0);
    CHECK_STR(r.suggest, "review");
    CHECK_INT(r.label, 20001);
    set_quirks("\"label_as_string\":false");

    CHECK_INT(wx_msg_sec_check("STALE_user", "hi", 2, &r, &st), -1);
    CHECK_INT(st.errcode, 61010);
    CHECK_STR(r.suggest, "");

    /* errcode 0 without a verdict is not a pass. */
    fake_fail("\"path\":\"/wxa/msg_sec_check\",\"body\":{\"errcode\":0,\"errmsg\":\"ok\"},"
              "\"count\":1");
    CHECK_INT(wx_msg_sec_check("oSecUser0001", "hi", 2, &r, &st), -1);
    CHECK_INT(st.errcode, WX_ERR_PARSE);
}

static void test_media_check(void)
{
    char trace[128];
    wx_status_t st;
    cJSON *req;

    CHECK_INT(wx_media_check_async("oSecUser0001", "https://cdn.example.com/u/1.jpg?x=1", 3, trace, sizeof trace, &st),
              0);
    CHECK(trace[0] != '\0');
    req = fake_last_request("/wxa/media_check_async");
    CHECK_INT(cJSON_GetNumberValue(
                  cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(req, "body"), "media_type")),
              2);
    cJSON_Delete(req);

    CHECK_INT(wx_media_check_async("oSecUser0001", "https://cdn.example.com/v/1.MP3", 4, trace, sizeof trace, &st), 0);
    req = fake_last_request("/wxa/media_check_async");
    CHECK_INT(cJSON_GetNumberValue(
                  cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(req, "body"), "media_type")),
              1);
    cJSON_Delete(req);

    CHECK_INT(wx_media_check_async("oSecUser0001", "https://cdn.example.com/1.jpg", 9, trace, sizeof trace, &st), -1);
    CHECK_INT(st.errcode, 40129);
    CHECK_STR(trace, "");
}

static void test_subscribe(void)
{
    long long msgid = 0;
    wx_status_t st;

    CHECK_INT(wx_send_subscribe("{\"touser\":\"oSubUser0001\",\"template_id\":\"TPL_REPAIR_STATUS\","
                                "\"page\":\"pages/repair/detail?id=7\",\"data\":{"
                                "\"thing1\":{\"value\":\"kitchen tap\"},"
                                "\"character_string2\":{\"value\":\"WO-2024-007\"},"
                                "\"phrase3\":{\"value\":\"\xe5\xb7\xb2\xe5\xae\x8c\xe6\x88\x90\"},"
                                "\"time4\":{\"value\":\"2024-05-01 15:01\"},"
                                "\"thing5\":{\"value\":\"ok\"}}}",
                                &msgid, &st),
              0);
    CHECK(msgid > 2000000000000000000LL);

    /* int64 msgids beyond 2^53 come back exactly. */
    fake_fail("\"path\":\"/cgi-bin/message/subscribe/send\",\"body\":{\"errcode\":0,"
              "\"errmsg\":\"ok\",\"msgid\":2100000000000000123},\"count\":1");
    CHECK_INT(wx_send_subscribe("{\"touser\":\"oSubUser0001\"}", &msgid, &st), 0);
    CHECK(msgid == 2100000000000000123LL);

    CHECK_INT(wx_send_subscribe("{\"touser\":\"oSubUser0001\",\"template_id\":\"TPL_NOPE\","
                                "\"data\":{}}",
                                &msgid, &st),
              -1);
    CHECK_INT(st.errcode, 40037);
    CHECK_INT(msgid, 0);
    CHECK_INT(wx_error_to_gateway(&st), ERR_WECHAT_ERROR);
}

/* Reads the captured log; fails on any secret in it. */
static void test_log_has_no_secrets(void)
{
    int fd = log_fd;
    static const char *const forbidden_marks[] = {"access_token=", "secret="};
    char *text = NULL;
    size_t len = 0;
    ssize_t n;
    char chunk[4096];
    cJSON *tokens = ctl("GET", "/__fake/tokens", NULL), *t;

    lseek(fd, 0, SEEK_SET);
    while ((n = read(fd, chunk, sizeof chunk)) > 0) {
        char *p = realloc(text, len + (size_t)n + 1);
        if (!p)
            break;
        text = p;
        memcpy(text + len, chunk, (size_t)n);
        len += (size_t)n;
        text[len] = '\0';
    }
    if (!text)
        text = strdup("");
    CHECK(strstr(text, "getuserphonenumber") != NULL); /* the log was captured at all */
    CHECK(strstr(text, secret) == NULL);
    for (size_t i = 0; i < sizeof forbidden_marks / sizeof *forbidden_marks; i++)
        CHECK(strstr(text, forbidden_marks[i]) == NULL);
    for (int i = 0; i < n_session_keys; i++)
        CHECK(strstr(text, session_keys[i]) == NULL);
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(tokens, "tokens"))
    {
        const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "access_token"));
        CHECK(v && strstr(text, v) == NULL);
    }
    CHECK(strstr(text, "oSecUser0001") == NULL); /* openids are masked */
    if (test_current_failed || getenv("TEST_VERBOSE"))
        fprintf(stderr, "%s", text);
    cJSON_Delete(tokens);
    free(text);
}

int main(void)
{
    cJSON *conf;
    char logpath[] = "/tmp/test_wechat_client.log.XXXXXX";
    int logfd, saved_stderr;

    base = getenv("FAKE_WECHAT_URL");
    if (!base || !base[0]) {
        printf("unit test_wechat_client.c: 0 passed, 0 failed (skipped: FAKE_WECHAT_URL unset)\n");
        return 0;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    /* Start from a clean fake and take the app credentials from it. */
    if (ctl_post("/__fake/reset", "{}") != 0 || !(conf = ctl("GET", "/__fake/config", NULL))) {
        printf("FAIL fake WeChat at %s does not answer\n", base);
        printf("unit %s: 0 passed, 1 failed\n", __FILE__);
        return 1;
    }
    snprintf(appid, sizeof appid, "%s",
             cJSON_GetStringValue(
                 cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(conf, "config"), "appid")));
    snprintf(secret, sizeof secret, "%s",
             cJSON_GetStringValue(
                 cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(conf, "config"), "secret")));
    cJSON_Delete(conf);

    /* Capture the client's log lines (log.c writes to fd 2). */
    logfd = mkstemp(logpath);
    saved_stderr = dup(2);
    if (logfd < 0 || saved_stderr < 0 || dup2(logfd, 2) < 0) {
        printf("FAIL cannot capture stderr\n");
        return 1;
    }
    log_set_level(LOG_DEBUG);

    cfg = (wx_config_t){.api_base = base,
                        .appid = appid,
                        .secret = secret,
                        .connect_timeout_ms = 2000,
                        .timeout_ms = 3000,
                        .max_retries = 2,
                        .retry_base_ms = 20};
    if (wx_client_init(&cfg) != 0) {
        dup2(saved_stderr, 2);
        printf("FAIL wx_client_init\n");
        return 1;
    }
    RUN(test_error_mapping);
    RUN(test_code2session_ok);
    RUN(test_code2session_errors);
    RUN(test_retry_busy_then_ok);
    RUN(test_http_errors);
    RUN(test_defensive_parsing);
    RUN(test_phone_number);
    RUN(test_token_expired);
    RUN(test_token_revoked);
    RUN(test_token_replay_once);
    RUN(test_token_force_gate);
    RUN(test_token_force_interval);
    RUN(test_token_refresh_ahead);
    RUN(test_single_flight);
    RUN(test_token_expired_concurrent);
    RUN(test_token_failure_shared);
    RUN(test_timeout);
    RUN(test_qrcode);
    RUN(test_msg_sec_check);
    RUN(test_media_check);
    RUN(test_subscribe);
    wx_client_cleanup();

    dup2(saved_stderr, 2);
    close(saved_stderr);
    log_fd = logfd;
    RUN(test_log_has_no_secrets);
    close(logfd);
    if (test_failed)
        printf("client log kept at %s\n", logpath);
    else
        unlink(logpath);
    curl_global_cleanup();
    return TEST_REPORT();
}
