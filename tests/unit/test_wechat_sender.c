/* test_wechat_sender.c: many subscribe sends in flight on one thread
 * (gateway/wechat_subscribe.h), against the fake WeChat (FAKE_WECHAT_URL;
 * without it the test reports itself skipped). The fake answers after a
 * latency, so the sends overlap; what is checked is what came back and what
 * the fake received, never how long it took. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_ctl.h"
#include "log.h"
#include "test.h"
#include "wechat_client.h"
#include "wechat_client_internal.h"
#include "wechat_subscribe.h"

#define SEND "/cgi-bin/message/subscribe/send"
#define TOKEN "/cgi-bin/stable_token"
#define N 40

static const char *BODY =
    "{\"touser\":\"o_sender_test\",\"template_id\":\"TPL_REPAIR_STATUS\",\"page\":\"pages/index/index\","
    "\"data\":{\"thing1\":{\"value\":\"水电维修\"},\"character_string2\":{\"value\":\"R1\"},"
    "\"phrase3\":{\"value\":\"已派单\"},\"time4\":{\"value\":\"2025-06-01 14:05\"},\"thing5\":{\"value\":\"ok\"}}}";

typedef struct {
    int n;
    wx_sent_t sent[N];
} results_t;

static void collect_sent(const wx_sent_t *sent, void *ctx)
{
    results_t *r = ctx;
    if (r->n < N)
        r->sent[r->n] = *sent;
    r->n++;
}

/* Drives s until `want` sends were reported (or 30 s of polls passed). */
static void run_until(wx_sender_t *s, results_t *r, int want)
{
    for (int i = 0; i < 300 && r->n < want; i++)
        CHECK(wx_sender_run(s, 100, collect_sent, r) >= 0);
    CHECK_INT(r->n, want);
}

static void set_latency(int ms)
{
    char body[64];
    snprintf(body, sizeof body, "{\"latency_ms\":%d}", ms);
    CHECK_INT(ctl_post("/__fake/config", body), 0);
}

static void test_many_sends_in_flight(void)
{
    wx_sender_t *s = wx_sender_new(64);
    results_t r = {0};
    wx_status_t st;

    ctl_post("/__fake/reset", "{}");
    set_latency(300);
    for (int i = 0; i < N; i++)
        CHECK_INT(wx_sender_add(s, BODY, &r.sent[i], &st), WX_SEND_OK);
    CHECK_INT(wx_sender_in_flight(s), N); /* all on their way before any answer */
    run_until(s, &r, N);
    CHECK_INT(wx_sender_in_flight(s), 0);
    for (int i = 0; i < r.n && i < N; i++) {
        CHECK_INT(r.sent[i].rc, WX_SEND_OK);
        CHECK(r.sent[i].msgid[0] != '\0');
        CHECK(r.sent[i].seconds > 0);
        for (int j = 0; j < i; j++)
            CHECK(strcmp(r.sent[i].msgid, r.sent[j].msgid) != 0);
    }
    CHECK_INT(fake_count(SEND), N);
    /* the sender is full at its size */
    wx_sender_free(s);
    s = wx_sender_new(2);
    CHECK_INT(wx_sender_add(s, BODY, NULL, &st), WX_SEND_OK);
    CHECK_INT(wx_sender_add(s, BODY, NULL, &st), WX_SEND_OK);
    CHECK_INT(wx_sender_add(s, BODY, NULL, &st), WX_SEND_FAILED);
    wx_sender_free(s); /* abandons the two in flight */
    set_latency(0);
}

static void test_token_revoked_in_flight(void)
{
    wx_sender_t *s = wx_sender_new(64);
    results_t r = {0};
    wx_status_t st;
    int n = 20;

    ctl_post("/__fake/reset", "{}");
    wx_token_reset();
    CHECK_INT(wx_sender_add(s, BODY, NULL, &st), WX_SEND_OK); /* a token first */
    run_until(s, &r, 1);
    long tokens = fake_count(TOKEN);
    CHECK_INT(tokens, 1);
    memset(&r, 0, sizeof r);
    set_latency(500); /* the fake checks the token when its latency has passed */
    for (int i = 0; i < n; i++)
        CHECK_INT(wx_sender_add(s, BODY, NULL, &st), WX_SEND_OK);
    for (int i = 0; i < 100 && fake_count(SEND) < 1 + n; i++)
        wx_sender_run(s, 10, collect_sent, &r);
    CHECK_INT(fake_count(SEND), 1 + n);
    CHECK_INT(ctl_post("/__fake/tokens/revoke", "{}"), 0);
    run_until(s, &r, n);
    for (int i = 0; i < r.n && i < N; i++) {
        CHECK_INT(r.sent[i].rc, WX_SEND_OK);
        CHECK_INT(r.sent[i].st.attempts, 2); /* rejected once, replayed once */
    }
    CHECK_INT(fake_count(TOKEN), tokens + 1); /* one refresh for all of them */
    CHECK_INT(fake_count(SEND), 1 + 2 * n);
    wx_sender_free(s);
    set_latency(0);
}

static void test_failures_are_reported_not_retried(void)
{
    wx_sender_t *s = wx_sender_new(4);
    results_t r = {0};
    wx_status_t st;

    ctl_post("/__fake/reset", "{}");
    wx_token_reset();
    CHECK_INT(wx_sender_add(s, BODY, NULL, &st), WX_SEND_OK); /* a token first */
    run_until(s, &r, 1);
    CHECK_INT(r.sent[0].st.attempts, 2); /* the token fetch on this thread counts */
    memset(&r, 0, sizeof r);
    /* -1 (busy): one request, the caller's backoff retries it */
    fake_fail("\"path\":\"" SEND "\",\"errcode\":-1");
    CHECK_INT(wx_sender_add(s, BODY, NULL, &st), WX_SEND_OK);
    run_until(s, &r, 1);
    CHECK_INT(r.sent[0].rc, WX_SEND_FAILED);
    CHECK_INT(r.sent[0].st.errcode, -1);
    CHECK_INT(r.sent[0].st.attempts, 1);
    CHECK_INT(fake_count(SEND), 2);
    /* a send that outlives timeout_ms (1500 here) ends as a timeout */
    memset(&r, 0, sizeof r);
    fake_fail("\"path\":\"" SEND "\",\"delay_ms\":3000");
    CHECK_INT(wx_sender_add(s, BODY, NULL, &st), WX_SEND_OK);
    run_until(s, &r, 1);
    CHECK_INT(r.sent[0].rc, WX_SEND_FAILED);
    CHECK_INT(r.sent[0].st.errcode, WX_ERR_TIMEOUT);
    CHECK_INT(fake_count(SEND), 3);
    wx_sender_free(s);
}

static void test_no_token_sends_nothing(void)
{
    wx_sender_t *s = wx_sender_new(4);
    wx_status_t st;

    ctl_post("/__fake/reset", "{}");
    wx_token_reset();
    /* -1 three times: the token call and its two retries fail */
    fake_fail("\"path\":\"" TOKEN "\",\"errcode\":-1,\"count\":3");
    CHECK_INT(wx_sender_add(s, BODY, NULL, &st), WX_SEND_NO_TOKEN);
    CHECK_INT(st.errcode, -1);
    CHECK_INT(wx_sender_in_flight(s), 0);
    CHECK_INT(fake_count(SEND), 0);
    wx_sender_free(s);
}

int main(void)
{
    cJSON *conf;
    static char appid[128], secret[128];

    base = getenv("FAKE_WECHAT_URL");
    if (!base || !base[0]) {
        printf("1..0 # SKIP FAKE_WECHAT_URL unset\n");
        return 0;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (ctl_post("/__fake/reset", "{}") != 0 || !(conf = ctl("GET", "/__fake/config", NULL))) {
        printf("Bail out! fake WeChat at %s does not answer\n", base);
        return 1;
    }
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(conf, "config");
    snprintf(appid, sizeof appid, "%s", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "appid")));
    snprintf(secret, sizeof secret, "%s", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "secret")));
    cJSON_Delete(conf);
    log_set_level(LOG_ERROR);
    wx_config_t cfg = {.api_base = base,
                       .appid = appid,
                       .secret = secret,
                       .connect_timeout_ms = 2000,
                       .timeout_ms = 1500,
                       .max_retries = 2,
                       .retry_base_ms = 20};
    if (wx_client_init(&cfg) != 0) {
        printf("Bail out! wx_client_init\n");
        return 1;
    }
    RUN(test_many_sends_in_flight);
    RUN(test_token_revoked_in_flight);
    RUN(test_failures_are_reported_not_retried);
    RUN(test_no_token_sends_nothing);
    wx_client_cleanup();
    curl_global_cleanup();
    return TEST_REPORT();
}
