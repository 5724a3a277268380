#include "domain/surveys/survey_model.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gateway/utf8.h"

const char *const SURVEY_PHASE_NAMES[] = {"all", "prospective", "run_in", "stable", "veteran", NULL};
static const char *const PHASE_LABELS[] = {"全部", "准业主", "磨合期", "稳定期", "老业主"};
const char *const SURVEY_STATE_NAMES[] = {"draft", "sending", "open", "closed", NULL};
const char *const SURVEY_KIND_NAMES[] = {"scale", "nps", "choice", "text", NULL};

/* The dimensions a question may score; the order is the results' order. */
const char *const SURVEY_DIMENSION_NAMES[] = {
    "house_quality", "repair_service", "property_service", "sales_service", "community", "overall", NULL};
static const char *const DIMENSION_LABELS[] = {"房屋质量", "维修服务", "物业服务", "销售服务", "社区环境", "总体评价"};

static int index_of(const char *const names[], const char *name)
{
    for (int i = 0; name && names[i]; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}

survey_phase_t survey_phase_from_name(const char *name)
{
    int i = index_of(SURVEY_PHASE_NAMES, name);
    return i < 0 ? SURVEY_PHASE_INVALID : (survey_phase_t)i;
}

const char *survey_phase_name(survey_phase_t p)
{
    return p >= SURVEY_PHASE_ALL && p <= SURVEY_PHASE_VETERAN ? SURVEY_PHASE_NAMES[p] : NULL;
}

const char *survey_phase_label(const char *name)
{
    int i = index_of(SURVEY_PHASE_NAMES, name);
    return i < 0 ? NULL : PHASE_LABELS[i];
}

const char *survey_dimension_label(const char *name)
{
    int i = index_of(SURVEY_DIMENSION_NAMES, name);
    return i < 0 ? NULL : DIMENSION_LABELS[i];
}

/* "YYYY-MM-DD" -> y, m, d, checked as a calendar date. */
static int parse_date(const char *s, int *y, int *m, int *d)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    char tail;
    if (!s || strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", y, m, d, &tail) != 3 || *m < 1 || *m > 12 || *d < 1 ||
        *d > mdays[*m - 1])
        return -1;
    int leap = (*y % 4 == 0 && *y % 100 != 0) || *y % 400 == 0;
    return *m == 2 && *d == 29 && !leap ? -1 : 0;
}

/* The n-th anniversary of y-m-d as yyyymmdd: 29 February becomes 28
 * February in a common year (as MariaDB's DATE + INTERVAL n YEAR). */
static long anniversary(int y, int m, int d, int n)
{
    int ny = y + n;
    int leap = (ny % 4 == 0 && ny % 100 != 0) || ny % 400 == 0;
    if (m == 2 && d == 29 && !leap)
        d = 28;
    return (long)ny * 10000 + m * 100 + d;
}

survey_phase_t survey_phase_on(const char *handover, const char *today)
{
    int hy, hm, hd, ty, tm, td;
    if (parse_date(today, &ty, &tm, &td) != 0)
        return SURVEY_PHASE_INVALID;
    if (!handover)
        return SURVEY_PHASE_PROSPECTIVE;
    if (parse_date(handover, &hy, &hm, &hd) != 0)
        return SURVEY_PHASE_INVALID;
    long h = (long)hy * 10000 + hm * 100 + hd, t = (long)ty * 10000 + tm * 100 + td;
    if (h > t)
        return SURVEY_PHASE_PROSPECTIVE;
    if (t <= anniversary(hy, hm, hd, 1))
        return SURVEY_PHASE_RUN_IN;
    if (t <= anniversary(hy, hm, hd, 3))
        return SURVEY_PHASE_STABLE;
    return SURVEY_PHASE_VETERAN;
}

void survey_shanghai_date(long long now, char out[11])
{
    time_t t = (time_t)(now + 8 * 3600);
    struct tm tm;
    gmtime_r(&t, &tm);
    if (strftime(out, 11, "%Y-%m-%d", &tm) != 10)
        out[0] = 0;
}

static int fail(char *field, size_t fieldsz, char *msg, size_t msgsz, const char *f, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static int fail(char *field, size_t fieldsz, char *msg, size_t msgsz, const char *f, const char *fmt, ...)
{
    va_list ap;
    snprintf(field, fieldsz, "%s", f);
    va_start(ap, fmt);
    vsnprintf(msg, msgsz, fmt, ap);
    va_end(ap);
    return -1;
}

/* A string of 1..max characters after no trimming (the console trims). */
static int text_ok(const cJSON *v, size_t max)
{
    if (!cJSON_IsString(v) || !v->valuestring[0])
        return 0;
    long n = utf8_length(v->valuestring, strlen(v->valuestring));
    return n >= 1 && (size_t)n <= max;
}

static int check_question(const cJSON *q, int i, char *field, size_t fieldsz, char *msg, size_t msgsz)
{
    static const char *const known[] = {"text", "dimension", "kind", "required", "options", NULL};
    char f[64];
    const cJSON *it;
    snprintf(f, sizeof f, "questions[%d]", i);
    if (!cJSON_IsObject(q))
        return fail(field, fieldsz, msg, msgsz, f, "%s must be an object", f);
    cJSON_ArrayForEach(it, q)
    {
        if (index_of(known, it->string) < 0) {
            snprintf(f, sizeof f, "questions[%d].%.32s", i, it->string);
            return fail(field, fieldsz, msg, msgsz, f, "%s is not a field of a question", f);
        }
    }
    snprintf(f, sizeof f, "questions[%d].text", i);
    if (!text_ok(cJSON_GetObjectItemCaseSensitive(q, "text"), SURVEY_QUESTION_TEXT_MAX))
        return fail(field, fieldsz, msg, msgsz, f, "%s must be text of 1-%d characters", f, SURVEY_QUESTION_TEXT_MAX);
    const cJSON *dim = cJSON_GetObjectItemCaseSensitive(q, "dimension");
    snprintf(f, sizeof f, "questions[%d].dimension", i);
    if (!cJSON_IsString(dim) || index_of(SURVEY_DIMENSION_NAMES, dim->valuestring) < 0)
        return fail(field, fieldsz, msg, msgsz, f,
                    "%s must be one of house_quality, repair_service, property_service, sales_service, community, "
                    "overall",
                    f);
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(q, "kind");
    snprintf(f, sizeof f, "questions[%d].kind", i);
    if (!cJSON_IsString(kind) || index_of(SURVEY_KIND_NAMES, kind->valuestring) < 0)
        return fail(field, fieldsz, msg, msgsz, f, "%s must be one of scale, nps, choice, text", f);
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(q, "required");
    snprintf(f, sizeof f, "questions[%d].required", i);
    if (req && !cJSON_IsBool(req))
        return fail(field, fieldsz, msg, msgsz, f, "%s must be true or false", f);
    const cJSON *opts = cJSON_GetObjectItemCaseSensitive(q, "options");
    snprintf(f, sizeof f, "questions[%d].options", i);
    if (strcmp(kind->valuestring, "choice") != 0) {
        if (opts && !cJSON_IsNull(opts))
            return fail(field, fieldsz, msg, msgsz, f, "%s is only for a choice question", f);
        return 0;
    }
    int n = cJSON_GetArraySize(opts);
    if (!cJSON_IsArray(opts) || n < SURVEY_OPTIONS_MIN || n > SURVEY_OPTIONS_MAX)
        return fail(field, fieldsz, msg, msgsz, f, "%s must be an array of %d-%d options", f, SURVEY_OPTIONS_MIN,
                    SURVEY_OPTIONS_MAX);
    int j = 0;
    cJSON_ArrayForEach(it, opts)
    {
        snprintf(f, sizeof f, "questions[%d].options[%d]", i, j);
        if (!text_ok(it, SURVEY_OPTION_TEXT_MAX))
            return fail(field, fieldsz, msg, msgsz, f, "%s must be text of 1-%d characters", f, SURVEY_OPTION_TEXT_MAX);
        for (const cJSON *o = opts->child; o != it; o = o->next)
            if (strcmp(o->valuestring, it->valuestring) == 0)
                return fail(field, fieldsz, msg, msgsz, f, "%s repeats an earlier option", f);
        j++;
    }
    return 0;
}

int survey_questions_check(const cJSON *questions, char *field, size_t fieldsz, char *msg, size_t msgsz)
{
    int n = cJSON_GetArraySize(questions), i = 0;
    const cJSON *q;
    if (!cJSON_IsArray(questions) || n < 1 || n > SURVEY_QUESTIONS_MAX)
        return fail(field, fieldsz, msg, msgsz, "questions", "questions must be an array of 1-%d questions",
                    SURVEY_QUESTIONS_MAX);
    cJSON_ArrayForEach(q, questions)
    {
        if (check_question(q, i++, field, fieldsz, msg, msgsz) != 0)
            return -1;
    }
    return 0;
}

int survey_answer_check(const survey_question_t *q, const cJSON *value, char *msg, size_t msgsz)
{
    if (!value || cJSON_IsNull(value)) {
        if (q->required) {
            snprintf(msg, msgsz, "question %lld must be answered", q->id);
            return -1;
        }
        return 0;
    }
    if (strcmp(q->kind, "text") == 0) {
        if (!text_ok(value, SURVEY_TEXT_ANSWER_MAX)) {
            snprintf(msg, msgsz, "the answer to question %lld must be text of 1-%d characters", q->id,
                     SURVEY_TEXT_ANSWER_MAX);
            return -1;
        }
        return 0;
    }
    int lo = 0, hi = 0;
    if (strcmp(q->kind, "scale") == 0)
        lo = 1, hi = 5;
    else if (strcmp(q->kind, "nps") == 0)
        lo = 0, hi = 10;
    else
        lo = 0, hi = q->noptions - 1;
    double d = cJSON_IsNumber(value) ? value->valuedouble : -1;
    if (!cJSON_IsNumber(value) || d != floor(d) || d < lo || d > hi) {
        snprintf(msg, msgsz, "the answer to question %lld must be a whole number from %d to %d", q->id, lo, hi);
        return -1;
    }
    return 0;
}

double survey_nps(long long promoters, long long passives, long long detractors)
{
    long long n = promoters + passives + detractors;
    if (n <= 0)
        return 0;
    return round((double)(promoters - detractors) * 1000.0 / (double)n) / 10.0;
}
