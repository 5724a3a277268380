/* Unit tests of the notification message building: pattern expansion, the
 * template file (parsing errors, and that the shipped
 * config/notification-templates.json covers every event kind with the
 * fake WeChat's template keys), and the send-result policy. The keyword
 * values by type are test_wechat_keywords.c's. Run from the
 * repository root (tests/run-all.sh does). */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../domain/notifications/notification_policy.h"
#include "../../domain/notifications/notification_templates.h"
#include "../../gateway/wechat_subscribe.h"
#include "test.h"

static void test_expand(void)
{
    cJSON *p = cJSON_Parse("{\"name\":\"王工\",\"n\":3,\"big\":2100000000000000001,\"half\":2.5,\"ok\":true,"
                           "\"empty\":\"\",\"obj\":{}}");
    ntpl_event_t ev = {.kind = "repair.dispatched", .ref_type = "repair", .ref_id = 42, .payload = p};
    char *s;

    s = ntpl_expand("{name}上门 id={ref_id} {ref_type} {kind}", &ev);
    CHECK_STR(s, "王工上门 id=42 repair repair.dispatched");
    free(s);
    s = ntpl_expand("{n}件 {half} {ok}", &ev);
    CHECK_STR(s, "3件 2.5 true");
    free(s);
    s = ntpl_expand("[{missing}] [{missing|默认}] [{empty|空}] [{obj}]", &ev);
    CHECK_STR(s, "[-] [默认] [空] [-]");
    free(s);
    s = ntpl_expand("{not closed {bad key} {} {name", &ev);
    CHECK_STR(s, "{not closed {bad key} {} {name");
    free(s);
    ev.payload = NULL;
    s = ntpl_expand("{name}", &ev);
    CHECK_STR(s, "-");
    free(s);
    cJSON_Delete(p);
}

static ntpl_config_t *parse(const char *json, char *err, size_t errsz)
{
    return ntpl_parse(json, strlen(json), err, errsz);
}

static void test_parse_errors(void)
{
    char err[512];
    ntpl_config_t *cfg;

    CHECK(!parse("[]", err, sizeof err));
    CHECK(!parse("{\"templates\":{\"T\":{}},\"kinds\":{\"k\":{\"template_id\":\"X\",\"title\":\"t\","
                 "\"data\":{\"thing1\":\"a\"}}}}",
                 err, sizeof err));
    CHECK(strstr(err, "kinds.k.template_id") != NULL);
    CHECK(!parse("{\"templates\":{\"T\":{}},\"kinds\":{\"k\":{\"template_id\":\"T\",\"title\":\"t\","
                 "\"data\":{\"enum1\":\"a\"}}}}",
                 err, sizeof err));
    CHECK(strstr(err, "kinds.k.data.enum1") != NULL);
    CHECK(!parse("{\"templates\":{\"T\":{}},\"kinds\":{\"k\":{\"template_id\":\"T\",\"title\":\"t\","
                 "\"page\":\"/pages/a\",\"data\":{\"thing1\":\"a\"}}}}",
                 err, sizeof err));
    CHECK(strstr(err, "kinds.k.page") != NULL);
    CHECK(!parse("{\"templates\":{\"T\":{\"long_term\":1}},\"kinds\":{}}", err, sizeof err));
    CHECK(strstr(err, "long_term") != NULL);
    CHECK(!parse("{\"templates\":{\"T\":{}},\"kinds\":{\"k\":{\"template_id\":\"T\",\"data\":{\"thing1\":\"a\"}}}}",
                 err, sizeof err));
    CHECK(strstr(err, "kinds.k.title") != NULL);
    cfg = parse("{\"templates\":{\"T\":{\"long_term\":true}},\"kinds\":{\"k\":{\"template_id\":\"T\",\"title\":\"t\","
                "\"data\":{\"thing1\":\"a\"}}}}",
                err, sizeof err);
    CHECK(cfg != NULL);
    CHECK(cfg && ntpl_template(cfg, "T")->long_term == 1);
    CHECK(cfg && ntpl_kind(cfg, "k")->tpl == ntpl_template(cfg, "T"));
    CHECK(cfg && !ntpl_kind(cfg, "other"));
    ntpl_free(cfg);
}

/* The kinds of gateway/events.h, and the fake WeChat's default templates. */
static const char *const KINDS[] = {"repair.assigned",        "repair.dispatched", "repair.accepted",
                                    "repair.resolved",        "repair.escalated",  "repair.reminder",
                                    "repair.followup",        "lead.assigned",     "lead.contact_overdue",
                                    "referral.stage_changed", "reward.approved"};
static const struct {
    const char *id, *keys;
} FAKE_TEMPLATES[] = {
    {"TPL_REPAIR_STATUS", "thing1 character_string2 phrase3 time4 thing5"},
    {"TPL_LEAD_ASSIGNED", "name1 phone_number2 thing3 time4"},
    {"TPL_REFERRAL_STAGE", "name1 phrase2 thing3 date4 thing5"},
    {"TPL_REWARD", "amount1 thing2 phrase3 date4"},
};

static void test_shipped_config(void)
{
    char err[512];
    ntpl_config_t *cfg = ntpl_load("config/notification-templates.json", err, sizeof err);

    CHECK(cfg != NULL);
    if (!cfg) {
        printf("  %s\n", err);
        return;
    }
    cJSON *empty = cJSON_CreateObject();
    for (size_t i = 0; i < sizeof KINDS / sizeof *KINDS; i++) {
        const ntpl_kind_t *k = ntpl_kind(cfg, KINDS[i]);
        CHECK(k != NULL);
        if (!k) {
            printf("  kind %s is not configured\n", KINDS[i]);
            continue;
        }
        char keys[256] = "";
        for (int f = 0; f < k->nfields; f++)
            snprintf(keys + strlen(keys), sizeof keys - strlen(keys), "%s%s", f ? " " : "", k->fields[f].key);
        int known = 0;
        for (size_t t = 0; t < sizeof FAKE_TEMPLATES / sizeof *FAKE_TEMPLATES; t++)
            if (!strcmp(FAKE_TEMPLATES[t].id, k->tpl->id)) {
                known = 1;
                CHECK_STR(keys, FAKE_TEMPLATES[t].keys);
            }
        CHECK(known);
        /* an event without any payload still gives a complete message */
        ntpl_event_t ev = {
            .kind = KINDS[i], .ref_type = "x", .ref_id = 7, .payload = empty, .created_at = "2025-05-31 09:30"};
        cJSON *msg = ntpl_message(k, &ev, "o_user", NULL);
        CHECK(msg != NULL);
        cJSON *data = cJSON_GetObjectItem(msg, "data");
        CHECK_INT(cJSON_GetArraySize(data), k->nfields);
        for (cJSON *d = data ? data->child : NULL; d; d = d->next)
            CHECK(cJSON_GetStringValue(cJSON_GetObjectItem(d, "value"))[0] != '\0');
        cJSON_Delete(msg);
        char *summary = ntpl_summary(k, &ev);
        CHECK(summary && summary[0]);
        free(summary);
    }
    cJSON_Delete(empty);
    ntpl_free(cfg);
}

static void test_message(void)
{
    char err[512];
    ntpl_config_t *cfg = ntpl_load("config/notification-templates.json", err, sizeof err);
    const ntpl_kind_t *k = cfg ? ntpl_kind(cfg, "repair.dispatched") : NULL;
    CHECK(k != NULL);
    if (!k) {
        ntpl_free(cfg);
        return;
    }
    cJSON *p = cJSON_Parse("{\"ticket_no\":\"R20250601-0001\",\"category\":\"水电维修\",\"state_label\":\"已派单\","
                           "\"engineer_name\":\"王师傅\",\"time\":\"2025-06-01 14:05\"}");
    ntpl_event_t ev = {.kind = "repair.dispatched",
                       .ref_type = "repair",
                       .ref_id = 123,
                       .payload = p,
                       .created_at = "2025-06-01 14:00"};
    cJSON *msg = ntpl_message(k, &ev, "o_owner", "developer");
    char *text = cJSON_PrintUnformatted(msg);
    CHECK_STR(text, "{\"touser\":\"o_owner\",\"template_id\":\"TPL_REPAIR_STATUS\","
                    "\"page\":\"pages/repair/detail?id=123\",\"data\":{\"thing1\":{\"value\":\"水电维修\"},"
                    "\"character_string2\":{\"value\":\"R20250601-0001\"},\"phrase3\":{\"value\":\"已派单\"},"
                    "\"time4\":{\"value\":\"2025-06-01 14:05\"},\"thing5\":{\"value\":\"王师傅将联系您上门\"}},"
                    "\"miniprogram_state\":\"developer\"}");
    free(text);
    cJSON_Delete(msg);
    char *summary = ntpl_summary(k, &ev);
    CHECK_STR(summary, "您的水电维修报修已派给王师傅，工单号R20250601-0001");
    free(summary);
    cJSON_Delete(p);
    ntpl_free(cfg);
}

static np_outcome_t classify(int rc, int errcode, int http)
{
    wx_status_t st = {.errcode = errcode, .http_status = http};
    return np_classify(rc, &st);
}

static void test_policy(void)
{
    CHECK_INT(classify(WX_SEND_OK, 0, 200), NP_SENT);
    CHECK_INT(classify(WX_SEND_FAILED, 43101, 200), NP_NO_QUOTA);
    CHECK_INT(classify(WX_SEND_FAILED, 40037, 200), NP_FAILED);
    CHECK_INT(classify(WX_SEND_FAILED, 47003, 200), NP_FAILED);
    CHECK_INT(classify(WX_SEND_FAILED, 41030, 200), NP_FAILED);
    CHECK_INT(classify(WX_SEND_FAILED, 40003, 200), NP_FAILED);
    CHECK_INT(classify(WX_SEND_FAILED, -1, 200), NP_RETRY);
    CHECK_INT(classify(WX_SEND_FAILED, WX_ERR_TIMEOUT, 0), NP_RETRY);
    CHECK_INT(classify(WX_SEND_FAILED, WX_ERR_TRANSPORT, 0), NP_RETRY);
    CHECK_INT(classify(WX_SEND_FAILED, WX_ERR_HTTP, 502), NP_RETRY);
    CHECK_INT(classify(WX_SEND_FAILED, WX_ERR_HTTP, 404), NP_FAILED);
    CHECK_INT(classify(WX_SEND_FAILED, 42001, 200), NP_RETRY);
    CHECK_INT(classify(WX_SEND_FAILED, 45009, 200), NP_RETRY);
    CHECK_INT(classify(WX_SEND_NO_TOKEN, 40125, 200), NP_RETRY);
    for (unsigned rnd = 0; rnd < 1000; rnd += 7) {
        long long d1 = np_backoff_ms(1, 100, 1000, rnd), d3 = np_backoff_ms(3, 100, 1000, rnd);
        long long d9 = np_backoff_ms(9, 100, 1000, rnd);
        CHECK(d1 >= 50 && d1 <= 100);
        CHECK(d3 >= 200 && d3 <= 400);
        CHECK(d9 >= 500 && d9 <= 1000);
    }
    CHECK(np_backoff_ms(1, 100, 1000, 0) != np_backoff_ms(1, 100, 1000, 37)); /* jitter */
    CHECK(np_backoff_ms(60, 30000, 3600000, 5) <= 3600000);
    CHECK(np_backoff_ms(1, 1, 1, 3) >= 1);
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    RUN(test_expand);
    RUN(test_parse_errors);
    RUN(test_shipped_config);
    RUN(test_message);
    RUN(test_policy);
    return TEST_REPORT();
}
