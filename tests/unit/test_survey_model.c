/* test_survey_model.c: the owner phase at its boundaries (exactly one and
 * three years, leap days, a handover after today), the Asia/Shanghai date,
 * the questionnaire and answer checks, and the NPS arithmetic. */
#include <cjson/cJSON.h>
#include <stdlib.h>

#include "../../domain/surveys/survey_model.h"
#include "test.h"

static void test_phase_boundaries(void)
{
    /* no handover, or one after today: a signed buyer */
    CHECK_INT(survey_phase_on(NULL, "2026-12-03"), SURVEY_PHASE_PROSPECTIVE);
    CHECK_INT(survey_phase_on("2026-12-04", "2026-12-03"), SURVEY_PHASE_PROSPECTIVE);
    /* the handover day itself through the first anniversary: 磨合期 */
    CHECK_INT(survey_phase_on("2026-12-03", "2026-12-03"), SURVEY_PHASE_RUN_IN);
    CHECK_INT(survey_phase_on("2025-12-03", "2026-12-03"), SURVEY_PHASE_RUN_IN);
    CHECK_INT(survey_phase_on("2025-12-02", "2026-12-03"), SURVEY_PHASE_STABLE);
    /* through the third anniversary: 稳定期; the day after: 老业主 */
    CHECK_INT(survey_phase_on("2023-12-03", "2026-12-03"), SURVEY_PHASE_STABLE);
    CHECK_INT(survey_phase_on("2023-12-02", "2026-12-03"), SURVEY_PHASE_VETERAN);
    CHECK_INT(survey_phase_on("2001-01-01", "2026-12-03"), SURVEY_PHASE_VETERAN);
    /* a year-end handover and a new year's day */
    CHECK_INT(survey_phase_on("2025-12-31", "2026-12-31"), SURVEY_PHASE_RUN_IN);
    CHECK_INT(survey_phase_on("2025-12-31", "2027-01-01"), SURVEY_PHASE_STABLE);
}

static void test_phase_leap_days(void)
{
    /* 29 Feb 2024: its first anniversary is 28 Feb 2025 */
    CHECK_INT(survey_phase_on("2024-02-29", "2025-02-28"), SURVEY_PHASE_RUN_IN);
    CHECK_INT(survey_phase_on("2024-02-29", "2025-03-01"), SURVEY_PHASE_STABLE);
    /* its third is 28 Feb 2027 */
    CHECK_INT(survey_phase_on("2024-02-29", "2027-02-28"), SURVEY_PHASE_STABLE);
    CHECK_INT(survey_phase_on("2024-02-29", "2027-03-01"), SURVEY_PHASE_VETERAN);
    /* a year that holds a 29 February: 1 Mar 2023 -> 1 Mar 2024 is still one year */
    CHECK_INT(survey_phase_on("2023-03-01", "2024-02-29"), SURVEY_PHASE_RUN_IN);
    CHECK_INT(survey_phase_on("2023-03-01", "2024-03-01"), SURVEY_PHASE_RUN_IN);
    CHECK_INT(survey_phase_on("2023-03-01", "2024-03-02"), SURVEY_PHASE_STABLE);
    /* 28 Feb handed over, the leap year after */
    CHECK_INT(survey_phase_on("2023-02-28", "2024-02-29"), SURVEY_PHASE_STABLE);
    /* bad dates */
    CHECK_INT(survey_phase_on("2023-02-29", "2024-01-01"), SURVEY_PHASE_INVALID);
    CHECK_INT(survey_phase_on("2023-1-1", "2024-01-01"), SURVEY_PHASE_INVALID);
    CHECK_INT(survey_phase_on(NULL, "2024-13-01"), SURVEY_PHASE_INVALID);
}

static void test_shanghai_date(void)
{
    char d[11];
    survey_shanghai_date(1764777599LL, d); /* 2025-12-03 15:59:59 UTC = 23:59:59 in Shanghai */
    CHECK_STR(d, "2025-12-03");
    survey_shanghai_date(1764777600LL, d); /* 16:00 UTC = midnight in Shanghai */
    CHECK_STR(d, "2025-12-04");
}

static void test_names(void)
{
    CHECK_INT(survey_phase_from_name("run_in"), SURVEY_PHASE_RUN_IN);
    CHECK_INT(survey_phase_from_name("Run_in"), SURVEY_PHASE_INVALID);
    CHECK_STR(survey_phase_label("veteran"), "老业主");
    CHECK_STR(survey_phase_name(SURVEY_PHASE_STABLE), "stable");
    CHECK_STR(survey_dimension_label("house_quality"), "房屋质量");
    CHECK(survey_dimension_label("noise") == NULL);
}

static int check_json(const char *text, char *field)
{
    char msg[256];
    cJSON *q = cJSON_Parse(text);
    int rc = survey_questions_check(q, field, 64, msg, sizeof msg);
    cJSON_Delete(q);
    return rc;
}

static void test_questions_check(void)
{
    char f[64];
    CHECK_INT(check_json("[{\"text\":\"满意吗\",\"dimension\":\"overall\",\"kind\":\"scale\"}]", f), 0);
    CHECK_INT(check_json("[]", f), -1);
    CHECK_STR(f, "questions");
    CHECK_INT(check_json("[{\"text\":\"a\",\"dimension\":\"overall\",\"kind\":\"scale\"},"
                         "{\"text\":\"b\",\"dimension\":\"noise\",\"kind\":\"scale\"}]",
                         f),
              -1);
    CHECK_STR(f, "questions[1].dimension");
    CHECK_INT(check_json("[{\"text\":\"a\",\"dimension\":\"overall\",\"kind\":\"choice\",\"options\":[\"x\"]}]", f),
              -1);
    CHECK_STR(f, "questions[0].options");
    CHECK_INT(
        check_json("[{\"text\":\"a\",\"dimension\":\"overall\",\"kind\":\"choice\",\"options\":[\"x\",\"x\"]}]", f),
        -1);
    CHECK_STR(f, "questions[0].options[1]");
    CHECK_INT(check_json("[{\"text\":\"a\",\"dimension\":\"overall\",\"kind\":\"nps\",\"options\":[\"x\",\"y\"]}]", f),
              -1);
    CHECK_STR(f, "questions[0].options");
    CHECK_INT(check_json("[{\"text\":\"\",\"dimension\":\"overall\",\"kind\":\"nps\"}]", f), -1);
    CHECK_STR(f, "questions[0].text");
    CHECK_INT(check_json("[{\"text\":\"a\",\"dimension\":\"overall\",\"kind\":\"nps\",\"extra\":1}]", f), -1);
    CHECK_STR(f, "questions[0].extra");
}

static int answer(const char *kind, int required, int nopt, const char *value)
{
    char msg[256];
    survey_question_t q = {.id = 7, .kind = kind, .required = required, .noptions = nopt};
    cJSON *v = value ? cJSON_Parse(value) : NULL;
    int rc = survey_answer_check(&q, v, msg, sizeof msg);
    cJSON_Delete(v);
    return rc;
}

static void test_answer_check(void)
{
    CHECK_INT(answer("scale", 1, 0, "5"), 0);
    CHECK_INT(answer("scale", 1, 0, "0"), -1);
    CHECK_INT(answer("scale", 1, 0, "4.5"), -1);
    CHECK_INT(answer("scale", 1, 0, "\"5\""), -1);
    CHECK_INT(answer("nps", 1, 0, "0"), 0);
    CHECK_INT(answer("nps", 1, 0, "11"), -1);
    CHECK_INT(answer("choice", 1, 3, "2"), 0);
    CHECK_INT(answer("choice", 1, 3, "3"), -1);
    CHECK_INT(answer("text", 1, 0, "\"好\""), 0);
    CHECK_INT(answer("text", 1, 0, "\"\""), -1);
    CHECK_INT(answer("text", 0, 0, NULL), 0);
    CHECK_INT(answer("text", 1, 0, NULL), -1);
    CHECK_INT(answer("scale", 0, 0, "null"), 0);
}

static void test_nps(void)
{
    CHECK(survey_nps(0, 0, 0) == 0);
    CHECK(survey_nps(5, 3, 2) == 30.0);
    CHECK(survey_nps(1, 1, 1) == 0.0);
    CHECK(survey_nps(1, 0, 2) == -33.3);
    CHECK(survey_nps(2, 1, 0) == 66.7);
}

int main(void)
{
    RUN(test_phase_boundaries);
    RUN(test_phase_leap_days);
    RUN(test_shanghai_date);
    RUN(test_names);
    RUN(test_questions_check);
    RUN(test_answer_check);
    RUN(test_nps);
    return TEST_REPORT();
}
