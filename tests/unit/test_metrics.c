/* test_metrics.c: metrics_render() output for requests, the duration
 * histogram, WeChat calls, notifications, DB pool gauges, database
 * connects, cache refreshes, background job runs, label escaping,
 * cardinality folding and concurrent recording.
 * The metrics are process-wide, so each test uses labels of its own, and
 * the folding test (which fills the tables) runs last. */
#include "metrics.h"
#include "metrics_db.h"
#include "test.h"

#include <pthread.h>
#include <stdlib.h>

static char *render(void)
{
    size_t len = 1;
    char *text = metrics_render(&len);
    CHECK(text != NULL);
    if (text == NULL)
        return NULL;
    CHECK_INT(len, strlen(text));
    CHECK(len > 0 && text[len - 1] == '\n');
    return text;
}

/* True if text holds line as a whole line. */
static int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, line, n) == 0 && (p[n] == '\n' || p[n] == '\0'))
            return 1;
    }
    return 0;
}

#define CHECK_LINE(text, line)                                                                                         \
    do {                                                                                                               \
        if (!has_line((text), (line))) {                                                                               \
            printf("FAIL %s (%s:%d): missing line: %s\n", test_current, __FILE__, __LINE__, (line));                   \
            test_current_failed = 1;                                                                                   \
        }                                                                                                              \
    } while (0)

static void test_headers(void)
{
    char *t = render();
    if (t == NULL)
        return;
    CHECK_LINE(t, "# TYPE gateway_http_requests_total counter");
    CHECK_LINE(t, "# TYPE gateway_http_request_duration_seconds histogram");
    CHECK_LINE(t, "# TYPE gateway_wechat_calls_total counter");
    CHECK_LINE(t, "# TYPE gateway_notifications_total counter");
    CHECK_LINE(t, "# TYPE gateway_db_pool_busy gauge");
    CHECK_LINE(t, "# TYPE gateway_db_pool_size gauge");
    CHECK_LINE(t, "# TYPE gateway_db_queue_length gauge");
    CHECK_LINE(t, "# TYPE gateway_db_queue_rejected_total counter");
    CHECK_LINE(t, "# TYPE gateway_db_connects_total counter");
    CHECK_LINE(t, "# TYPE gateway_cache_refreshes_total counter");
    CHECK_LINE(t, "# TYPE gateway_background_runs_total counter");
    CHECK(strstr(t, "# HELP gateway_http_requests_total ") != NULL);
    CHECK(strstr(t, "# HELP gateway_http_request_duration_seconds ") != NULL);
    free(t);
}

static void test_request_counters(void)
{
    metrics_request("GET", "/api/v1/me", 200, 0.002);
    metrics_request("GET", "/api/v1/me", 200, 0.002);
    metrics_request("GET", "/api/v1/me", 401, 0.0005);
    metrics_request("POST", "/api/v1/me", 200, 0.01);
    metrics_request("GET", "unmatched", 404, 0.0001);

    char *t = render();
    if (t == NULL)
        return;
    CHECK_LINE(t, "gateway_http_requests_total{method=\"GET\",route=\"/api/v1/me\",status=\"200\"} 2");
    CHECK_LINE(t, "gateway_http_requests_total{method=\"GET\",route=\"/api/v1/me\",status=\"401\"} 1");
    CHECK_LINE(t, "gateway_http_requests_total{method=\"POST\",route=\"/api/v1/me\",status=\"200\"} 1");
    CHECK_LINE(t, "gateway_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1");
    free(t);
}

static void test_histogram(void)
{
    /* Bucket bounds are inclusive (le): 0.001 lands in le="0.001". */
    metrics_request("GET", "/h", 200, 0.001);
    metrics_request("GET", "/h", 200, 0.003);
    metrics_request("GET", "/h", 200, 0.2);
    metrics_request("GET", "/h", 500, 1.5);
    metrics_request("GET", "/h", 500, 30);
    metrics_request("GET", "/h", 200, -1); /* nonsense is counted as 0 */

    char *t = render();
    if (t == NULL)
        return;
    const char *n = "gateway_http_request_duration_seconds";
    char line[256];
    static const struct {
        const char *le;
        int count;
    } want[] = {
        {"0.001", 2}, {"0.0025", 2}, {"0.005", 3}, {"0.01", 3}, {"0.025", 3}, {"0.05", 3}, {"0.1", 3},
        {"0.25", 4},  {"0.5", 4},    {"1", 4},     {"2.5", 5},  {"5", 5},     {"+Inf", 6},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        snprintf(line, sizeof line, "%s_bucket{route=\"/h\",le=\"%s\"} %d", n, want[i].le, want[i].count);
        CHECK_LINE(t, line);
    }
    CHECK_LINE(t, "gateway_http_request_duration_seconds_count{route=\"/h\"} 6");
    CHECK_LINE(t, "gateway_http_request_duration_seconds_sum{route=\"/h\"} 31.704000000");
    free(t);
}

static void test_label_escaping(void)
{
    metrics_request("GET", "/a\\b\"c\nd", 200, 0.001);
    metrics_request("G\x01T\xc3\xa9", "/e", 200, 0.001);
    metrics_notification("say \"hi\"");

    char *t = render();
    if (t == NULL)
        return;
    CHECK_LINE(t, "gateway_http_requests_total{method=\"GET\",route=\"/a\\\\b\\\"c\\nd\",status=\"200\"} 1");
    CHECK_LINE(t, "gateway_http_request_duration_seconds_count{route=\"/a\\\\b\\\"c\\nd\"} 1");
    /* Control and non-ASCII bytes from a client-chosen method become '?'. */
    CHECK_LINE(t, "gateway_http_requests_total{method=\"G?T??\",route=\"/e\",status=\"200\"} 1");
    CHECK_LINE(t, "gateway_notifications_total{outcome=\"say \\\"hi\\\"\"} 1");
    free(t);
}

static void test_long_labels_are_cut(void)
{
    char route[1000];
    memset(route, '/', sizeof route - 1);
    route[sizeof route - 1] = '\0';
    metrics_request("GET", route, 200, 0.001);
    metrics_request("GET", route, 200, 0.001); /* same cut key: same series */
    /* An escape is never split: 200 quotes cannot end in a lone backslash. */
    char quotes[201];
    memset(quotes, '"', 200);
    quotes[200] = '\0';
    metrics_request(quotes, "/q", 200, 0.001);

    char *t = render();
    if (t == NULL)
        return;
    char line[512];
    snprintf(line, sizeof line, "gateway_http_requests_total{method=\"GET\",route=\"%.159s\",status=\"200\"} 2", route);
    CHECK_LINE(t, line);
    CHECK_LINE(t, "gateway_http_requests_total{method=\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\","
                  "route=\"/q\",status=\"200\"} 1");
    free(t);
}

static void test_wechat_calls(void)
{
    metrics_wechat_call("jscode2session", 0);
    metrics_wechat_call("jscode2session", 0);
    metrics_wechat_call("jscode2session", 40029);
    metrics_wechat_call("jscode2session", -1);
    metrics_wechat_call("jscode2session", -2);
    metrics_wechat_call("jscode2session", -28);
    metrics_wechat_call("getAccessToken", 45009);

    char *t = render();
    if (t == NULL)
        return;
    CHECK_LINE(t, "gateway_wechat_calls_total{endpoint=\"jscode2session\",result=\"ok\"} 2");
    CHECK_LINE(t, "gateway_wechat_calls_total{endpoint=\"jscode2session\",result=\"errcode_40029\"} 1");
    CHECK_LINE(t, "gateway_wechat_calls_total{endpoint=\"jscode2session\",result=\"errcode_-1\"} 1");
    CHECK_LINE(t, "gateway_wechat_calls_total{endpoint=\"jscode2session\",result=\"transport_error\"} 2");
    CHECK_LINE(t, "gateway_wechat_calls_total{endpoint=\"getAccessToken\",result=\"errcode_45009\"} 1");
    free(t);
}

static void test_notifications(void)
{
    metrics_notification("sent");
    metrics_notification("sent");
    metrics_notification("failed");
    metrics_notification(NULL);

    char *t = render();
    if (t == NULL)
        return;
    CHECK_LINE(t, "gateway_notifications_total{outcome=\"sent\"} 2");
    CHECK_LINE(t, "gateway_notifications_total{outcome=\"failed\"} 1");
    CHECK_LINE(t, "gateway_notifications_total{outcome=\"unknown\"} 1");
    free(t);
}

/* The dispatcher's sends: a gauge and a histogram without labels. */
static void test_notification_sends(void)
{
    metrics_notification_sends_in_flight(7);
    metrics_notification_send_seconds(0.2);
    metrics_notification_send_seconds(0.0005);
    metrics_notification_send_seconds(9);

    char *t = render();
    if (t == NULL)
        return;
    CHECK_LINE(t, "# TYPE gateway_notification_sends_in_flight gauge");
    CHECK_LINE(t, "gateway_notification_sends_in_flight 7");
    CHECK_LINE(t, "# TYPE gateway_notification_send_seconds histogram");
    CHECK_LINE(t, "gateway_notification_send_seconds_bucket{le=\"0.001\"} 1");
    CHECK_LINE(t, "gateway_notification_send_seconds_bucket{le=\"0.1\"} 1");
    CHECK_LINE(t, "gateway_notification_send_seconds_bucket{le=\"0.25\"} 2");
    CHECK_LINE(t, "gateway_notification_send_seconds_bucket{le=\"+Inf\"} 3");
    CHECK_LINE(t, "gateway_notification_send_seconds_sum 9.200500000");
    CHECK_LINE(t, "gateway_notification_send_seconds_count 3");
    free(t);
    metrics_notification_sends_in_flight(0);
}

static void test_db_pool(void)
{
    char *t = render();
    if (t == NULL)
        return;
    CHECK(strstr(t, "gateway_db_pool_busy{") == NULL); /* no thread reported yet */
    CHECK_LINE(t, "gateway_db_queue_rejected_total 0");
    free(t);

    metrics_db_pool(0, 1, 4, 0);
    metrics_db_pool(1, 4, 4, 7);
    metrics_db_pool(1, 3, 4, 2);  /* latest value wins */
    metrics_db_pool(-1, 9, 9, 9); /* ignored */
    metrics_db_pool(64, 9, 9, 9); /* ignored */
    metrics_db_rejected();
    metrics_db_rejected();

    t = render();
    if (t == NULL)
        return;
    CHECK_LINE(t, "gateway_db_pool_busy{thread=\"0\"} 1");
    CHECK_LINE(t, "gateway_db_pool_size{thread=\"0\"} 4");
    CHECK_LINE(t, "gateway_db_queue_length{thread=\"0\"} 0");
    CHECK_LINE(t, "gateway_db_pool_busy{thread=\"1\"} 3");
    CHECK_LINE(t, "gateway_db_pool_size{thread=\"1\"} 4");
    CHECK_LINE(t, "gateway_db_queue_length{thread=\"1\"} 2");
    CHECK(strstr(t, "thread=\"64\"") == NULL);
    CHECK(strstr(t, "thread=\"-1\"") == NULL);
    CHECK_LINE(t, "gateway_db_queue_rejected_total 2");
    free(t);
}

static void test_db_connects(void)
{
    char *t = render();
    if (t == NULL)
        return;
    CHECK_LINE(t, "gateway_db_connects_total{result=\"ok\"} 0");
    CHECK_LINE(t, "gateway_db_connects_total{result=\"failed\"} 0");
    free(t);
    metrics_db_connect(1);
    metrics_db_connect(0);
    metrics_db_connect(0);
    t = render();
    if (t == NULL)
        return;
    CHECK_LINE(t, "gateway_db_connects_total{result=\"ok\"} 1");
    CHECK_LINE(t, "gateway_db_connects_total{result=\"failed\"} 2");
    free(t);
}

static void test_cache_refreshes(void)
{
    metrics_cache_refreshed(METRICS_CACHE_AUTH, 3);
    metrics_cache_refreshed(METRICS_CACHE_AUTH, 0);
    metrics_cache_refreshed(METRICS_CACHE_AUTH, 2);
    metrics_cache_refreshed(METRICS_CACHE__COUNT, 9); /* ignored */
    char *t = render();
    if (t == NULL)
        return;
    CHECK_LINE(t, "gateway_cache_refreshes_total{cache=\"auth\"} 5");
    CHECK_LINE(t, "gateway_cache_refreshes_total{cache=\"repair_detail\"} 0");
    free(t);
}

static void test_background_runs(void)
{
    char *t = render();
    if (t == NULL)
        return;
    CHECK(strstr(t, "gateway_background_runs_total{") == NULL); /* no run yet */
    free(t);
    metrics_background_run("leads-sweeper");
    metrics_background_run("leads-sweeper");
    metrics_background_run("notify-dispatch");
    metrics_background_run(NULL);
    t = render();
    if (t == NULL)
        return;
    CHECK_LINE(t, "gateway_background_runs_total{job=\"leads-sweeper\"} 2");
    CHECK_LINE(t, "gateway_background_runs_total{job=\"notify-dispatch\"} 1");
    CHECK_LINE(t, "gateway_background_runs_total{job=\"unknown\"} 1");
    free(t);
}

#define THREADS 4
#define PER_THREAD 20000

static void *hammer(void *arg)
{
    char route[32];
    (void)arg;
    for (int i = 0; i < PER_THREAD; i++) {
        /* Eight routes per thread set, so inserts race with lookups. */
        snprintf(route, sizeof route, "/mt/%d", i % 8);
        metrics_request("GET", route, 200, 0.004);
        metrics_wechat_call("mt", i % 2 ? 0 : 40001);
    }
    return NULL;
}

static void test_concurrent(void)
{
    pthread_t th[THREADS];
    int started = 0;

    for (int i = 0; i < THREADS; i++)
        if (pthread_create(&th[i], NULL, hammer, NULL) == 0)
            started++;
    CHECK_INT(started, THREADS);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);

    char *t = render();
    if (t == NULL)
        return;
    char line[256];
    for (int r = 0; r < 8; r++) {
        snprintf(line, sizeof line, "gateway_http_requests_total{method=\"GET\",route=\"/mt/%d\",status=\"200\"} %d", r,
                 THREADS * PER_THREAD / 8);
        CHECK_LINE(t, line);
        snprintf(line, sizeof line, "gateway_http_request_duration_seconds_bucket{route=\"/mt/%d\",le=\"0.005\"} %d", r,
                 THREADS * PER_THREAD / 8);
        CHECK_LINE(t, line);
    }
    snprintf(line, sizeof line, "gateway_wechat_calls_total{endpoint=\"mt\",result=\"ok\"} %d",
             THREADS * PER_THREAD / 2);
    CHECK_LINE(t, line);
    free(t);
}

/* Sum of all gateway_http_requests_total series in text. */
static long long requests_total(const char *text)
{
    static const char name[] = "\ngateway_http_requests_total{";
    long long total = 0;

    for (const char *p = text; (p = strstr(p, name)) != NULL; p++) {
        const char *end = strchr(p + 1, '\n');
        const char *sp = end;
        while (sp > p && sp[-1] != ' ')
            sp--;
        total += atoll(sp);
    }
    return total;
}

/* Fills the tables: must run last. */
static void test_cardinality_folds(void)
{
    char route[32];
    long long before;
    char *t = render();

    if (t == NULL)
        return;
    before = requests_total(t);
    free(t);

    for (int i = 0; i < 1000; i++) {
        snprintf(route, sizeof route, "/many/%d", i);
        metrics_request("GET", route, 200, 0.001);
    }
    for (int i = 0; i < 1000; i++) /* fold keys keep method and status */
        metrics_request("PUT", "/fold", 200 + i, 0.001);
    for (int i = 0; i < 10; i++)
        metrics_request("GET", "/many/999", 200, 0.001);

    t = render();
    if (t == NULL)
        return;
    /* The first routes kept their own series. */
    CHECK_LINE(t, "gateway_http_requests_total{method=\"GET\",route=\"/many/0\",status=\"200\"} 1");
    CHECK(strstr(t, "route=\"/many/999\"") == NULL);
    /* Later ones share route="other". */
    CHECK(strstr(t, "gateway_http_requests_total{method=\"GET\",route=\"other\",status=\"200\"} ") != NULL);
    CHECK(strstr(t, "gateway_http_requests_total{method=\"PUT\",route=\"other\",status=\"") != NULL);
    CHECK_LINE(t, "gateway_http_request_duration_seconds_count{route=\"/many/0\"} 1");
    CHECK(strstr(t, "gateway_http_request_duration_seconds_count{route=\"other\"} ") != NULL);
    /* Past the hard cap one overflow series takes the rest. */
    CHECK(strstr(t, "gateway_http_requests_total{method=\"other\",route=\"other\",status=\"other\"} ") != NULL);

    /* Bounded output: never more series than the hard cap plus overflow. */
    int series = 0;
    for (const char *p = t; (p = strstr(p, "\ngateway_http_requests_total{")) != NULL; p++)
        series++;
    CHECK(series <= 768 + 1);
    int hists = 0;
    for (const char *p = t; (p = strstr(p, "\ngateway_http_request_duration_seconds_count{")) != NULL; p++)
        hists++;
    CHECK(hists <= 128 + 1);

    /* Folding loses no request. */
    CHECK_INT(requests_total(t), before + 2010);
    free(t);

    metrics_request("GET", "/many/0", 200, 0.001); /* an existing series still counts */
    t = render();
    if (t == NULL)
        return;
    CHECK_LINE(t, "gateway_http_requests_total{method=\"GET\",route=\"/many/0\",status=\"200\"} 2");
    free(t);
}

int main(void)
{
    RUN(test_headers);
    RUN(test_request_counters);
    RUN(test_histogram);
    RUN(test_label_escaping);
    RUN(test_long_labels_are_cut);
    RUN(test_wechat_calls);
    RUN(test_notifications);
    RUN(test_notification_sends);
    RUN(test_db_pool);
    RUN(test_db_connects);
    RUN(test_cache_refreshes);
    RUN(test_background_runs);
    RUN(test_concurrent);
    RUN(test_cardinality_folds);
    return TEST_REPORT();
}
