/* test_lead_rules.c: phone and channel validation, the stage machine, name
 * masking, referral codes and reward amounts. */
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
    return TEST_REPORT();
}
