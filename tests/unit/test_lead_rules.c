/* test_lead_rules.c: phone and channel validation, the stage machine, name
 * masking, referral codes and reward amounts; what lead_json adds to a
 * rendered row. */
#include <cjson/cJSON.h>
#include <stdlib.h>

#include "../../domain/leads/lead_json.h"
#include "../../domain/leads/lead_rules.h"
#include "test.h"

static void test_phone_valid(void)
{
    CHECK(lead_phone_valid("13800000001"));
    CHECK(lead_phone_valid("19912345678"));
    CHECK(!lead_phone_valid(NULL));
    CHECK(!lead_phone_valid(""));
    CHECK(!lead_phone_valid("1380000000"));   /* 10 digits */
    CHECK(!lead_phone_valid("138000000012")); /* 12 digits */
    CHECK(!lead_phone_valid("23800000001"));  /* not starting with 1 */
    CHECK(!lead_phone_valid("1380000000a"));
    CHECK(!lead_phone_valid("+8613800000001"));
    CHECK(!lead_phone_valid("138 0000 000"));
}

static void test_channel_valid(void)
{
    CHECK(lead_channel_valid("referral"));
    CHECK(lead_channel_valid("walk_in"));
    CHECK(lead_channel_valid("organic"));
    CHECK(!lead_channel_valid("Referral"));
    CHECK(!lead_channel_valid(""));
    CHECK(!lead_channel_valid(NULL));
}

static void test_stage_names(void)
{
    CHECK_INT(lead_stage_from_name("visited"), STAGE_VISITED);
    CHECK_INT(lead_stage_from_name("cancelled"), STAGE_CANCELLED);
    CHECK_INT(lead_stage_from_name("Signed"), STAGE_INVALID);
    CHECK_INT(lead_stage_from_name(NULL), STAGE_INVALID);
    CHECK_STR(lead_stage_name(STAGE_SUBSCRIBED), "subscribed");
    CHECK_STR(lead_stage_label(STAGE_SIGNED), "已签约");
    CHECK_INT(lead_stage_rank(STAGE_SIGNED), 4);
    CHECK_INT(lead_stage_rank(STAGE_LOST), -1);
}

static void test_transitions_forward(void)
{
    CHECK_INT(lead_stage_transition(STAGE_NEW, STAGE_CONTACTED), TRANSITION_OK);
    CHECK_INT(lead_stage_transition(STAGE_NEW, STAGE_VISITED), TRANSITION_OK); /* walk-in */
    CHECK_INT(lead_stage_transition(STAGE_SUBSCRIBED, STAGE_SIGNED), TRANSITION_OK);
    CHECK_INT(lead_stage_transition(STAGE_SIGNED, STAGE_SIGNED), TRANSITION_SAME);
    CHECK_INT(lead_stage_transition(STAGE_VISITED, STAGE_CONTACTED), TRANSITION_INVALID);
    CHECK_INT(lead_stage_transition(STAGE_CONTACTED, STAGE_NEW), TRANSITION_INVALID);
}

static void test_transitions_closing(void)
{
    CHECK_INT(lead_stage_transition(STAGE_NEW, STAGE_LOST), TRANSITION_OK);
    CHECK_INT(lead_stage_transition(STAGE_SUBSCRIBED, STAGE_LOST), TRANSITION_OK);
    CHECK_INT(lead_stage_transition(STAGE_SIGNED, STAGE_LOST), TRANSITION_INVALID);
    CHECK_INT(lead_stage_transition(STAGE_SIGNED, STAGE_CANCELLED), TRANSITION_OK);
    CHECK_INT(lead_stage_transition(STAGE_VISITED, STAGE_CANCELLED), TRANSITION_INVALID);
    CHECK_INT(lead_stage_transition(STAGE_LOST, STAGE_CONTACTED), TRANSITION_INVALID);
    CHECK_INT(lead_stage_transition(STAGE_CANCELLED, STAGE_SIGNED), TRANSITION_INVALID);
    CHECK_INT(lead_stage_transition(STAGE_LOST, STAGE_LOST), TRANSITION_SAME);
    CHECK_INT(lead_stage_transition(STAGE_INVALID, STAGE_NEW), TRANSITION_INVALID);
    CHECK(lead_stage_needs_reason(STAGE_LOST));
    CHECK(lead_stage_needs_reason(STAGE_CANCELLED));
    CHECK(!lead_stage_needs_reason(STAGE_SIGNED));
}

static void test_mask_name(void)
{
    char out[16];
    lead_mask_name("张伟", out, sizeof out);
    CHECK_STR(out, "张*");
    lead_mask_name("John", out, sizeof out);
    CHECK_STR(out, "J*");
    lead_mask_name("", out, sizeof out);
    CHECK_STR(out, "*");
    lead_mask_name(NULL, out, sizeof out);
    CHECK_STR(out, "*");
    lead_mask_name("\xe5\xbc", out, sizeof out); /* a cut character */
    CHECK_STR(out, "*");
    lead_mask_name("张伟", out, 4); /* no room for 张 and * */
    CHECK_STR(out, "*");
}

static void test_referral_codes(void)
{
    char a[16], b[16], n[16];
    CHECK_INT(referral_code_generate(a, sizeof a), 0);
    CHECK_INT(referral_code_generate(b, sizeof b), 0);
    CHECK_INT((long long)strlen(a), REFERRAL_CODE_LEN);
    CHECK(strcmp(a, b) != 0);
    CHECK_INT(referral_code_normalise(a, n, sizeof n), 0);
    CHECK_STR(n, a);
    CHECK_INT(referral_code_generate(a, 4), -1);
    CHECK_INT(referral_code_normalise("abcdefgh", n, sizeof n), 0);
    CHECK_STR(n, "ABCDEFGH");
    CHECK_INT(referral_code_normalise("ABCDEFG0", n, sizeof n), -1); /* 0 is not in the alphabet */
    CHECK_INT(referral_code_normalise("ABC%EFGH", n, sizeof n), -1);
    CHECK_INT(referral_code_normalise("ABCDEFGHJ", n, sizeof n), -1);
    CHECK_INT(referral_code_normalise(NULL, n, sizeof n), -1);
}

static void test_reward_amount(void)
{
    char out[32];
    reward_amount_display("cash", 500000, out, sizeof out);
    CHECK_STR(out, "¥5000.00");
    reward_amount_display("cash", 1205, out, sizeof out);
    CHECK_STR(out, "¥12.05");
    reward_amount_display("points", 300, out, sizeof out);
    CHECK_STR(out, "300积分");
}

/* A lead as db_row_json renders it: numbers as raw text, an all-NULL
 * nested object as null. */
static void test_lead_json_finish(void)
{
    cJSON *o = cJSON_Parse("{\"id\": 7, \"phone_masked\": \"13912345678\", \"interest\": null,"
                           " \"consent\": {\"at\": 1764300000, \"privacy_notice_version\": \"2025-01\"}}");
    CHECK(o != NULL);
    CHECK(lead_json_finish(o) == 0);
    CHECK_STR(cJSON_GetObjectItem(o, "phone_masked")->valuestring, "139****5678");
    const cJSON *interest = cJSON_GetObjectItem(o, "interest");
    CHECK(cJSON_IsObject(interest));
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(interest, "layout")) &&
          cJSON_IsNull(cJSON_GetObjectItem(interest, "budget")));
    CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "consent"), "at")->valuedouble == 1764300000);
    cJSON_Delete(o);
    /* An erased lead: no phone, nothing to mask; a view without interest
     * or consent gets none added. */
    o = cJSON_Parse("{\"phone_masked\": null}");
    CHECK(lead_json_finish(o) == 0);
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(o, "phone_masked")));
    CHECK(!cJSON_GetObjectItem(o, "interest") && !cJSON_GetObjectItem(o, "consent"));
    cJSON_Delete(o);
}

static void test_lead_json_masks_and_amounts(void)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", "张伟");
    cJSON_AddItemToObject(o, "kind", cJSON_CreateString("cash"));
    cJSON_AddItemToObject(o, "amount", cJSON_CreateRaw("500000")); /* as db_row_json renders it */
    CHECK(lead_json_mask_name(o, "name") == 0);
    CHECK_STR(cJSON_GetObjectItem(o, "name")->valuestring, "张*");
    CHECK(lead_json_mask_phone(o, "absent") == 0);
    CHECK(lead_json_amount_display(o) == 0);
    CHECK_STR(cJSON_GetObjectItem(o, "amount_display")->valuestring, "¥5000.00");
    cJSON_Delete(o);
    CHECK(lead_json_amount_display(NULL) == 0); /* a null reward */
    cJSON *null = cJSON_CreateNull();
    CHECK(lead_json_amount_display(null) == 0 && cJSON_IsNull(null));
    cJSON_Delete(null);
}

int main(void)
{
    RUN(test_phone_valid);
    RUN(test_channel_valid);
    RUN(test_stage_names);
    RUN(test_transitions_forward);
    RUN(test_transitions_closing);
    RUN(test_mask_name);
    RUN(test_referral_codes);
    RUN(test_reward_amount);
    RUN(test_lead_json_finish);
    RUN(test_lead_json_masks_and_amounts);
    return TEST_REPORT();
}
