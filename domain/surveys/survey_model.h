/* survey_model.h: what an owner survey is made of, without the database.
 *
 * Owner phases (the target of a survey, and each owner's when chosen):
 *   prospective 准业主  a signed buyer: a lead of the project at stage
 *                       signed, or an owner none of whose units of the
 *                       project is handed over yet (no handover date, or
 *                       one after today);
 *   run_in      磨合期  handed over, up to and including the first
 *                       anniversary of the handover;
 *   stable      稳定期  after the first anniversary, up to and including
 *                       the third;
 *   veteran     老业主  after the third anniversary.
 * An owner of several units of the project counts from the earliest handed
 * over one. Days are Asia/Shanghai calendar days; the anniversary of a 29
 * February handover in a common year is 28 February.
 *
 * Dimensions are a fixed list (a question names one; results are scored per
 * dimension): adding one is a line in survey_model.c and miniprogram-api.md.
 *
 * Question kinds: scale (1-5, scored in its dimension), nps (0-10, "would
 * you recommend", counted into the NPS), choice (one of 2-10 options, the
 * answer is the option's index from 0), text (free text, 1-500 characters).
 *
 * Pure functions; any thread. */
#ifndef GW_SURVEY_MODEL_H
#define GW_SURVEY_MODEL_H
#include <cjson/cJSON.h>
#include <stddef.h>

typedef enum {
    SURVEY_PHASE_INVALID = -1,
    SURVEY_PHASE_ALL = 0, /* a survey's target only: every phase */
    SURVEY_PHASE_PROSPECTIVE,
    SURVEY_PHASE_RUN_IN,
    SURVEY_PHASE_STABLE,
    SURVEY_PHASE_VETERAN,
} survey_phase_t;

/* Bounds of a questionnaire, checked on every create and edit. */
#define SURVEY_TITLE_MAX 60
#define SURVEY_INTRO_MAX 500
#define SURVEY_QUESTIONS_MAX 30
#define SURVEY_QUESTION_TEXT_MAX 200
#define SURVEY_OPTIONS_MIN 2
#define SURVEY_OPTIONS_MAX 10
#define SURVEY_OPTION_TEXT_MAX 50
#define SURVEY_TEXT_ANSWER_MAX 500

/* NULL-terminated lists of the API's names, for query_enum_or_fail. */
extern const char *const SURVEY_PHASE_NAMES[]; /* all, prospective, run_in, stable, veteran */
extern const char *const SURVEY_STATE_NAMES[]; /* draft, sending, open, closed */
extern const char *const SURVEY_KIND_NAMES[];  /* scale, nps, choice, text */
extern const char *const SURVEY_DIMENSION_NAMES[];

survey_phase_t survey_phase_from_name(const char *name); /* SURVEY_PHASE_INVALID if unknown */
const char *survey_phase_name(survey_phase_t p);         /* "run_in"; NULL if invalid */
const char *survey_phase_label(const char *name);        /* "磨合期"; NULL if unknown */
const char *survey_dimension_label(const char *name);    /* "房屋质量"; NULL if unknown */

/* The phase of an owner on `today` (both "YYYY-MM-DD"). handover: the
 * earliest handover date of their units in the project, or NULL when none
 * has one (then, as for a date after today, prospective). SURVEY_PHASE_
 * INVALID when a date does not parse. */
survey_phase_t survey_phase_on(const char *handover, const char *today);

/* Today in Asia/Shanghai (UTC+8, no daylight saving) at unix time `now`,
 * as "YYYY-MM-DD" into out (at least 11 bytes). */
void survey_shanghai_date(long long now, char out[11]);

/* A questionnaire's questions as given in a request body: checks the array
 * (1..SURVEY_QUESTIONS_MAX objects with text, dimension, kind, required?,
 * options? only for choice). 0 when valid; -1 with *field set to the
 * offending field (e.g. "questions[2].options[1]", into field of fieldsz
 * bytes) and msg to a one-line reason. */
int survey_questions_check(const cJSON *questions, char *field, size_t fieldsz, char *msg, size_t msgsz);

/* One question as stored, for checking an answer. */
typedef struct {
    long long id;
    const char *kind; /* scale, nps, choice, text */
    int required;
    int noptions; /* choice only */
} survey_question_t;

/* Checks an answer's value against its question: 0 valid, -1 not (msg
 * set). A NULL or JSON-null value is valid only for an optional question
 * (and is then no answer). */
int survey_answer_check(const survey_question_t *q, const cJSON *value, char *msg, size_t msgsz);

/* Net promoter score of counts: promoters (9-10) minus detractors (0-6) in
 * percent of all answers, rounded to one decimal; 0 when there is none. */
double survey_nps(long long promoters, long long passives, long long detractors);

#endif
