/* test_sla.c: the service-level engine (handlers/sla/): the business
 * calendar with China's holidays and make-up days, clocks with pauses, and
 * the escalation ladder under every change a ticket goes through.
 *
 * main() sets TZ to a zone with daylight saving first: every answer must
 * still be China time, so nothing may depend on the process's zone. */
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "domain/sla/sla_calendar.h"
#include "domain/sla/sla_clock.h"
#include "test.h"

#define H 3600LL
#define DAY 86400LL

/* A China local time as unix seconds. */
static long long T(int y, int mo, int d, int h, int mi)
{
    long long m = sla_local_midnight(y, mo, d);
    return m == SLA_NEVER ? SLA_NEVER : m + h * H + mi * 60LL;
}

static char *read_text(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(SLA_CAL_MAX_TEXT + 1);
    *len = buf ? fread(buf, 1, SLA_CAL_MAX_TEXT + 1, f) : 0;
    fclose(f);
    return buf;
}

/* The shipped holidays; with `hours` ("[\"09:00\",\"18:00\"]") or whole days. */
static sla_calendar_t *shipped(const char *hours)
{
    size_t len = 0;
    char *text = read_text("config/holidays-cn.json", &len);
    sla_calendar_t *cal = NULL;
    sla_error_t err;
    cJSON *doc = text ? cJSON_ParseWithLength(text, len) : NULL;
    if (doc && hours)
        cJSON_AddItemToObject(doc, "hours", cJSON_Parse(hours));
    if (doc && !(cal = sla_calendar_from_json(doc, &err)))
        printf("# config/holidays-cn.json: %s\n", err.message);
    cJSON_Delete(doc);
    free(text);
    return cal;
}

static sla_calendar_t *parse(const char *text, sla_error_t *err)
{
    return sla_calendar_parse(text, strlen(text), err);
}

/* Deterministic pseudo-random numbers for the property loops. */
static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static long long rnd(long long n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (long long)(rng % (uint64_t)n);
}

/* ---- local time ------------------------------------------------------------- */

static void test_local_time_is_china_time(void)
{
    sla_local_t l;
    CHECK_INT(sla_local(0, &l), 0);
    CHECK_INT(l.year, 1970);
    CHECK_INT(l.day, 1);
    CHECK_INT(l.weekday, 4); /* Thursday */
    CHECK_INT(l.second_of_day, 8 * H);
    /* 2026-01-01 00:00 in China is 2025-12-31 16:00 UTC. */
    CHECK_INT(T(2026, 1, 1, 0, 0), 1767225600LL - 8 * H);
    CHECK_INT(sla_local(T(2026, 1, 1, 0, 0) - 1, &l), 0);
    CHECK_INT(l.year, 2025);
    CHECK_INT(l.month, 12);
    CHECK_INT(l.day, 31);
    CHECK_INT(l.second_of_day, DAY - 1);
    CHECK_INT(l.weekday, 3);
    CHECK_INT(sla_local(-1, &l), -1);
    CHECK_INT(sla_local(SLA_TIME_MAX + 1, &l), -1);
    /* Against gmtime_r of the shifted instant, every 13 days and 7 hours
     * from 1970 to 2199 (leap days, century years, year ends). */
    int bad = 0;
    for (long long t = 0; t < SLA_TIME_MAX; t += 13 * DAY + 7 * H + 11) {
        time_t shifted = (time_t)(t + 8 * H);
        struct tm tm;
        gmtime_r(&shifted, &tm);
        sla_local(t, &l);
        int wd = tm.tm_wday == 0 ? 7 : tm.tm_wday;
        bad += l.year != tm.tm_year + 1900 || l.month != tm.tm_mon + 1 || l.day != tm.tm_mday || l.weekday != wd ||
               l.second_of_day != tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
        if (t - l.second_of_day >= 0)
            bad += sla_local_midnight(l.year, l.month, l.day) != t - l.second_of_day;
    }
    CHECK_INT(bad, 0);
}

static void test_dates_and_leap_years(void)
{
    CHECK(T(2024, 2, 29, 0, 0) != SLA_NEVER);
    CHECK(T(2000, 2, 29, 0, 0) != SLA_NEVER);
    CHECK_INT(T(2025, 2, 29, 0, 0), SLA_NEVER);
    CHECK_INT(T(2100, 2, 29, 0, 0), SLA_NEVER); /* a century, not a leap year */
    CHECK_INT(T(2026, 4, 31, 0, 0), SLA_NEVER);
    CHECK_INT(T(2026, 13, 1, 0, 0), SLA_NEVER);
    CHECK_INT(T(1970, 1, 1, 0, 0), SLA_NEVER); /* 1969-12-31 16:00 UTC: before the range */
    CHECK_INT(T(2028, 3, 1, 0, 0) - T(2028, 2, 28, 0, 0), 2 * DAY);
    CHECK_INT(T(2027, 3, 1, 0, 0) - T(2027, 2, 28, 0, 0), DAY);
    /* 2028 has no data: the weekly pattern, over 366 days from a Saturday. */
    sla_calendar_t *cal = shipped(NULL);
    CHECK(cal != NULL);
    if (!cal)
        return;
    CHECK_INT(sla_calendar_is_working_day(cal, 2028, 2, 29), 1); /* a Tuesday */
    CHECK_INT(sla_calendar_is_working_day(cal, 2027, 2, 29), -1);
    CHECK_INT(sla_calendar_between(cal, T(2028, 1, 1, 0, 0), T(2029, 1, 1, 0, 0)), 260 * DAY);
    CHECK_INT(sla_calendar_add(cal, T(2028, 2, 28, 12, 0), DAY), T(2028, 2, 29, 12, 0));
    sla_calendar_free(cal);
}

/* ---- parsing ---------------------------------------------------------------- */

static void test_parse_good(void)
{
    sla_error_t err;
    sla_calendar_t *cal = parse("{\"years\": []}", &err);
    CHECK(cal != NULL);
    if (cal) {
        CHECK_INT(sla_calendar_is_working_day(cal, 2026, 1, 1), 1); /* no data: a Thursday */
        CHECK_INT(sla_calendar_is_working_day(cal, 2026, 1, 3), 0);
        CHECK_INT(sla_calendar_is_working_time(cal, T(2026, 1, 2, 0, 0)), 1); /* whole days */
        CHECK_INT(sla_calendar_has_year(cal, 2026), 0);
        sla_calendar_free(cal);
    }
    cal = parse("{\"note\": \"六天工作制\", \"weekdays\": [1, 2, 3, 4, 5, 6], \"hours\": [\"08:30\", \"24:00\"],"
                " \"years\": [{\"year\": 2028, \"source\": \"test\", \"holidays\": [\"2028-02-29\"],"
                " \"workdays\": [\"2028-03-05\"]},"
                " {\"year\": 2030, \"holidays\": [], \"workdays\": []}]}",
                &err);
    CHECK(cal != NULL);
    if (!cal) {
        printf("# %s\n", err.message);
        return;
    }
    CHECK_INT(sla_calendar_has_year(cal, 2028), 1);
    CHECK_INT(sla_calendar_has_year(cal, 2029), 0);
    CHECK_INT(sla_calendar_has_year(cal, 2030), 1);
    CHECK_INT(sla_calendar_is_working_day(cal, 2028, 2, 29), 0); /* a holiday on a Tuesday */
    CHECK_INT(sla_calendar_is_working_day(cal, 2028, 3, 4), 1);  /* Saturday: a six-day week */
    CHECK_INT(sla_calendar_is_working_day(cal, 2028, 3, 5), 1);  /* Sunday, made up */
    CHECK_INT(sla_calendar_is_working_day(cal, 2028, 3, 12), 0);
    CHECK_INT(sla_calendar_is_working_time(cal, T(2028, 3, 6, 8, 29)), 0);
    CHECK_INT(sla_calendar_is_working_time(cal, T(2028, 3, 6, 8, 30)), 1);
    CHECK_INT(sla_calendar_is_working_time(cal, T(2028, 3, 6, 23, 59)), 1); /* open until midnight */
    CHECK_INT(sla_calendar_next_working(cal, T(2028, 3, 6, 3, 0)), T(2028, 3, 6, 8, 30));
    sla_calendar_free(cal);
}

static void test_parse_shipped_holidays(void)
{
    size_t len = 0;
    char *text = read_text("config/holidays-cn.json", &len);
    CHECK(text != NULL);
    if (!text)
        return;
    sla_error_t err;
    sla_calendar_t *cal = sla_calendar_parse(text, len, &err);
    CHECK(cal != NULL);
    if (cal) {
        CHECK_INT(sla_calendar_has_year(cal, 2025), 1);
        CHECK_INT(sla_calendar_has_year(cal, 2026), 1);
        CHECK_INT(sla_calendar_has_year(cal, 2024), 0);
        /* Working days per year, counted by hand from the notices: weekdays
         * 261 each, minus weekday holidays (2025: 18, 2026: 19), plus the
         * make-up days (5, 6). */
        CHECK_INT(sla_calendar_between(cal, T(2025, 1, 1, 0, 0), T(2026, 1, 1, 0, 0)), 248 * DAY);
        CHECK_INT(sla_calendar_between(cal, T(2026, 1, 1, 0, 0), T(2027, 1, 1, 0, 0)), 248 * DAY);
        sla_calendar_free(cal);
    } else {
        printf("# %s\n", err.message);
    }
    free(text);
}

typedef struct {
    const char *text, *field, *message;
} bad_doc_t;

#define Y26(h, w) "{\"years\": [{\"year\": 2026, \"holidays\": " h ", \"workdays\": " w "}]}"

static const bad_doc_t BAD_DOCS[] = {
    {"{", "", "not valid JSON"},
    {"[]", "", "must be a JSON object"},
    {"{}", "years", "must be a list"},
    {"{\"years\": {}}", "years", "must be a list"},
    {"{\"years\": [], \"holiday\": []}", "", "unknown key \"holiday\""},
    {"{\"years\": [], \"\\u0001\\n\": []}", "", "unknown key this value"},
    {"{\"years\": [], \"years\": []}", "years", "appears twice"},
    {"{\"years\": [], \"note\": 1}", "note", "must be a string"},
    {"{\"years\": [], \"weekdays\": []}", "weekdays", "1 to 7 weekdays"},
    {"{\"years\": [], \"weekdays\": [1, 2, 3, 4, 5, 6, 7, 1]}", "weekdays", "1 to 7 weekdays"},
    {"{\"years\": [], \"weekdays\": [0]}", "weekdays[0]", "whole number from 1"},
    {"{\"years\": [], \"weekdays\": [1.5]}", "weekdays[0]", "whole number from 1"},
    {"{\"years\": [], \"weekdays\": [\"1\"]}", "weekdays[0]", "whole number from 1"},
    {"{\"years\": [], \"weekdays\": [1, 3, 2]}", "weekdays[2]", "out of order"},
    {"{\"years\": [], \"weekdays\": [1, 1]}", "weekdays[1]", "repeated"},
    {"{\"years\": [], \"hours\": [\"09:00\"]}", "hours", "the start and the end"},
    {"{\"years\": [], \"hours\": \"09:00-18:00\"}", "hours", "the start and the end"},
    {"{\"years\": [], \"hours\": [\"9:00\", \"18:00\"]}", "hours[0]", "\"9:00\" is not a time"},
    {"{\"years\": [], \"hours\": [\"24:00\", \"24:00\"]}", "hours[0]", "is not a time"},
    {"{\"years\": [], \"hours\": [\"09:00\", \"24:01\"]}", "hours[1]", "is not a time"},
    {"{\"years\": [], \"hours\": [\"09:00\", \"18:60\"]}", "hours[1]", "is not a time"},
    {"{\"years\": [], \"hours\": [\"18:00\", \"09:00\"]}", "hours", "at least 60 minutes"},
    {"{\"years\": [], \"hours\": [\"09:00\", \"09:59\"]}", "hours", "at least 60 minutes"},
    {"{\"years\": [1]}", "years[0]", "must be an object"},
    {"{\"years\": [{\"holidays\": [], \"workdays\": []}]}", "years[0].year", "must be a year"},
    {"{\"years\": [{\"year\": 1999, \"holidays\": [], \"workdays\": []}]}", "years[0].year", "from 2000 to 2199"},
    {"{\"years\": [{\"year\": 2026.5, \"holidays\": [], \"workdays\": []}]}", "years[0].year", "must be a year"},
    {"{\"years\": [{\"year\": \"2026\", \"holidays\": [], \"workdays\": []}]}", "years[0].year", "must be a year"},
    {"{\"years\": [{\"year\": 2026, \"holidays\": [], \"workdays\": []},"
     " {\"year\": 2025, \"holidays\": [], \"workdays\": []}]}",
     "years[1].year", "2025 is out of order"},
    {"{\"years\": [{\"year\": 2026, \"holidays\": [], \"workdays\": []},"
     " {\"year\": 2026, \"holidays\": [], \"workdays\": []}]}",
     "years[1].year", "2026 is listed twice"},
    {"{\"years\": [{\"year\": 2026, \"holiday\": [], \"workdays\": []}]}", "years[0]", "unknown key \"holiday\""},
    {"{\"years\": [{\"year\": 2026, \"holidays\": [], \"holidays\": [], \"workdays\": []}]}", "years[0].holidays",
     "appears twice"},
    {"{\"years\": [{\"year\": 2026, \"source\": [], \"holidays\": [], \"workdays\": []}]}", "years[0].source",
     "must be a string"},
    {"{\"years\": [{\"year\": 2026, \"workdays\": []}]}", "years[0].holidays", "must be a list"},
    {"{\"years\": [{\"year\": 2026, \"holidays\": []}]}", "years[0].workdays", "must be a list"},
    {Y26("\"2026-01-01\"", "[]"), "years[0].holidays", "must be a list"},
    {Y26("[\"2026-1-01\"]", "[]"), "years[0].holidays[0]", "\"2026-1-01\" is not a date YYYY-MM-DD"},
    {Y26("[\"2026/01/01\"]", "[]"), "years[0].holidays[0]", "is not a date"},
    {Y26("[\"2026-02-29\"]", "[]"), "years[0].holidays[0]", "\"2026-02-29\" is not a date"},
    {Y26("[\"2026-04-31\"]", "[]"), "years[0].holidays[0]", "is not a date"},
    {Y26("[\"2026-13-01\"]", "[]"), "years[0].holidays[0]", "is not a date"},
    {Y26("[\"2026-00-10\"]", "[]"), "years[0].holidays[0]", "is not a date"},
    {Y26("[\"2026-01-00\"]", "[]"), "years[0].holidays[0]", "is not a date"},
    {Y26("[\"2026-01-01 \"]", "[]"), "years[0].holidays[0]", "is not a date"},
    {Y26("[\"２０２６-０１-０１\"]", "[]"), "years[0].holidays[0]", "this value is not a date"},
    {Y26("[\"2026-01-01, 2026-01-02, 2026-01-03\"]", "[]"), "years[0].holidays[0]", "this value is not a date"},
    {Y26("[20260101]", "[]"), "years[0].holidays[0]", "is not a date"},
    {Y26("[null]", "[]"), "years[0].holidays[0]", "is not a date"},
    {Y26("[\"2025-12-31\"]", "[]"), "years[0].holidays[0]", "2025-12-31 is not in 2026"},
    {Y26("[\"2026-01-01\", \"2027-01-01\"]", "[]"), "years[0].holidays[1]", "is not in 2026"},
    {Y26("[\"2026-01-02\", \"2026-01-01\"]", "[]"), "years[0].holidays[1]", "2026-01-01 is out of order"},
    {Y26("[\"2026-01-01\", \"2026-01-01\"]", "[]"), "years[0].holidays[1]", "2026-01-01 is repeated"},
    {Y26("[]", "[\"2026-02-28\", \"2026-02-14\"]"), "years[0].workdays[1]", "out of order"},
    {Y26("[\"2026-01-03\", \"2026-01-04\"]", "[\"2026-01-04\"]"), "years[0].workdays[0]",
     "2026-01-04 is both a holiday and a workday"},
    {Y26("[]", "[\"2026-01-05\"]"), "years[0].workdays[0]", "2026-01-05 is a working day anyway"},
    {"{\"weekdays\": [1, 2, 3, 4, 5, 6], \"years\": [{\"year\": 2026, \"holidays\": [],"
     " \"workdays\": [\"2026-02-14\"]}]}",
     "years[0].workdays[0]", "is a working day anyway"},
};

static void test_parse_bad(void)
{
    for (size_t i = 0; i < sizeof BAD_DOCS / sizeof *BAD_DOCS; i++) {
        const bad_doc_t *b = &BAD_DOCS[i];
        sla_error_t err;
        sla_calendar_t *cal = parse(b->text, &err);
        CHECK(cal == NULL);
        sla_calendar_free(cal);
        int ok = strcmp(err.field, b->field) == 0 && strstr(err.message, b->message) != NULL &&
                 strncmp(err.message, b->field, strlen(b->field)) == 0;
        if (!ok)
            printf("# case %zu: field \"%s\", message \"%s\"\n", i, err.field, err.message);
        CHECK(ok);
    }
}

static void test_parse_limits(void)
{
    sla_error_t err;
    /* Too long, before any parsing. */
    size_t n = SLA_CAL_MAX_TEXT + 1;
    char *big = malloc(n);
    if (!big)
        return;
    memset(big, ' ', n);
    CHECK(sla_calendar_parse(big, n, &err) == NULL);
    CHECK_STR(err.field, "");
    CHECK(strstr(err.message, "at most 65536 bytes") != NULL);
    CHECK(sla_calendar_parse(NULL, 0, &err) == NULL);

    /* 64 years are allowed, 65 are not. */
    char *p = big;
    p += sprintf(p, "{\"years\": [");
    for (int y = 2000; y < 2065; y++)
        p += sprintf(p, "%s{\"year\": %d, \"holidays\": [], \"workdays\": []}", y > 2000 ? "," : "", y);
    sprintf(p, "]}");
    CHECK(parse(big, &err) == NULL);
    CHECK_STR(err.field, "years");
    strcpy(strstr(big, ",{\"year\": 2064"), "]}");
    sla_calendar_t *cal = parse(big, &err);
    CHECK(cal != NULL);
    sla_calendar_free(cal);

    /* A note of more than SLA_CAL_MAX_NOTE bytes. */
    p = big + sprintf(big, "{\"years\": [], \"note\": \"");
    memset(p, 'x', SLA_CAL_MAX_NOTE + 1);
    strcpy(p + SLA_CAL_MAX_NOTE + 1, "\"}");
    CHECK(parse(big, &err) == NULL);
    CHECK_STR(err.field, "note");

    /* Every day of 2030 a holiday: 365 entries are fine, and the next working
     * instant of the year is in 2031 (a Wednesday). */
    p = big + sprintf(big, "{\"years\": [{\"year\": 2030, \"workdays\": [], \"holidays\": [");
    for (long long d = T(2030, 1, 1, 0, 0); d < T(2031, 1, 1, 0, 0); d += DAY) {
        sla_local_t l;
        sla_local(d, &l);
        p += sprintf(p, "%s\"%04d-%02d-%02d\"", d > T(2030, 1, 1, 0, 0) ? "," : "", l.year, l.month, l.day);
    }
    sprintf(p, "]}]}");
    cal = parse(big, &err);
    CHECK(cal != NULL);
    if (cal) {
        CHECK_INT(sla_calendar_next_working(cal, T(2030, 1, 1, 0, 0)), T(2031, 1, 1, 0, 0));
        CHECK_INT(sla_calendar_between(cal, T(2030, 1, 1, 0, 0), T(2031, 1, 1, 0, 0)), 0);
        CHECK_INT(sla_calendar_add(cal, T(2029, 12, 31, 23, 0), 2 * H), T(2031, 1, 1, 1, 0));
        sla_calendar_free(cal);
    }
    free(big);
}

/* ---- the shipped holidays ----------------------------------------------------- */

static void test_spring_festival_2026(void)
{
    sla_calendar_t *cal = shipped(NULL);
    CHECK(cal != NULL);
    if (!cal)
        return;
    static const struct {
        int m, d, working;
    } days[] = {
        {2, 12, 1}, {2, 13, 1}, {2, 14, 1}, /* Thursday, Friday, Saturday worked (调休) */
        {2, 15, 0}, {2, 16, 0}, {2, 17, 0}, {2, 18, 0}, {2, 19, 0}, {2, 20, 0}, {2, 21, 0}, {2, 22, 0}, {2, 23, 0},
        {2, 24, 1}, {2, 27, 1}, {2, 28, 1}, /* Saturday worked (调休) */
        {3, 1, 0},  {3, 2, 1},
    };
    for (size_t i = 0; i < sizeof days / sizeof *days; i++) {
        int w = sla_calendar_is_working_day(cal, 2026, days[i].m, days[i].d);
        if (w != days[i].working)
            printf("# 2026-%02d-%02d: %d\n", days[i].m, days[i].d, w);
        CHECK_INT(w, days[i].working);
    }
    /* 2025: 除夕 to 初七, 28 January to 4 February; 26 January and 8 February worked. */
    CHECK_INT(sla_calendar_is_working_day(cal, 2025, 1, 26), 1);
    CHECK_INT(sla_calendar_is_working_day(cal, 2025, 1, 27), 1);
    for (int d = 28; d <= 31; d++)
        CHECK_INT(sla_calendar_is_working_day(cal, 2025, 1, d), 0);
    for (int d = 1; d <= 4; d++)
        CHECK_INT(sla_calendar_is_working_day(cal, 2025, 2, d), 0);
    CHECK_INT(sla_calendar_is_working_day(cal, 2025, 2, 5), 1);
    CHECK_INT(sla_calendar_is_working_day(cal, 2025, 2, 8), 1);
    CHECK_INT(sla_calendar_is_working_day(cal, 2025, 2, 9), 0);
    sla_calendar_free(cal);
}

static void test_national_day_2026(void)
{
    sla_calendar_t *cal = shipped(NULL);
    CHECK(cal != NULL);
    if (!cal)
        return;
    CHECK_INT(sla_calendar_is_working_day(cal, 2026, 9, 20), 1); /* Sunday worked */
    CHECK_INT(sla_calendar_is_working_day(cal, 2026, 9, 24), 1);
    for (int d = 25; d <= 27; d++) /* 中秋节 */
        CHECK_INT(sla_calendar_is_working_day(cal, 2026, 9, d), 0);
    CHECK_INT(sla_calendar_is_working_day(cal, 2026, 9, 28), 1);
    CHECK_INT(sla_calendar_is_working_day(cal, 2026, 9, 30), 1);
    for (int d = 1; d <= 7; d++)
        CHECK_INT(sla_calendar_is_working_day(cal, 2026, 10, d), 0);
    CHECK_INT(sla_calendar_is_working_day(cal, 2026, 10, 8), 1);
    CHECK_INT(sla_calendar_is_working_day(cal, 2026, 10, 10), 1); /* Saturday worked */
    CHECK_INT(sla_calendar_is_working_day(cal, 2026, 10, 11), 0);
    /* 2025: 1 to 8 October together with 中秋; 28 September and 11 October worked. */
    CHECK_INT(sla_calendar_is_working_day(cal, 2025, 9, 28), 1);
    CHECK_INT(sla_calendar_is_working_day(cal, 2025, 10, 8), 0);
    CHECK_INT(sla_calendar_is_working_day(cal, 2025, 10, 9), 1);
    CHECK_INT(sla_calendar_is_working_day(cal, 2025, 10, 11), 1);
    /* New Year 2026: 1-3 January off, Sunday 4 January worked. */
    CHECK_INT(sla_calendar_is_working_day(cal, 2026, 1, 2), 0);
    CHECK_INT(sla_calendar_is_working_day(cal, 2026, 1, 4), 1);
    /* 2027 has no data yet: the weekly pattern, so 1 January (a Friday) counts. */
    CHECK_INT(sla_calendar_has_year(cal, 2027), 0);
    CHECK_INT(sla_calendar_is_working_day(cal, 2027, 1, 1), 1);
    sla_calendar_free(cal);
}

/* ---- business-time arithmetic ---------------------------------------------- */

static void test_business_hours(void)
{
    sla_calendar_t *cal = shipped("[\"09:00\", \"18:00\"]");
    CHECK(cal != NULL);
    if (!cal)
        return;
    /* Working time is [09:00, 18:00). */
    CHECK_INT(sla_calendar_is_working_time(cal, T(2026, 3, 2, 9, 0) - 1), 0);
    CHECK_INT(sla_calendar_is_working_time(cal, T(2026, 3, 2, 9, 0)), 1);
    CHECK_INT(sla_calendar_is_working_time(cal, T(2026, 3, 2, 18, 0) - 1), 1);
    CHECK_INT(sla_calendar_is_working_time(cal, T(2026, 3, 2, 18, 0)), 0);
    CHECK_INT(sla_calendar_is_working_time(cal, T(2026, 3, 7, 12, 0)), 0); /* Saturday */
    CHECK_INT(sla_calendar_is_working_time(cal, -5), -1);

    /* Next working instant: over a night, a weekend, the Spring Festival. */
    CHECK_INT(sla_calendar_next_working(cal, T(2026, 3, 2, 10, 0)), T(2026, 3, 2, 10, 0));
    CHECK_INT(sla_calendar_next_working(cal, T(2026, 3, 2, 3, 0)), T(2026, 3, 2, 9, 0));
    CHECK_INT(sla_calendar_next_working(cal, T(2026, 3, 2, 18, 0)), T(2026, 3, 3, 9, 0));
    CHECK_INT(sla_calendar_next_working(cal, T(2026, 3, 6, 18, 30)), T(2026, 3, 9, 9, 0));
    CHECK_INT(sla_calendar_next_working(cal, T(2026, 2, 13, 18, 0)), T(2026, 2, 14, 9, 0)); /* 调休 Saturday */
    CHECK_INT(sla_calendar_next_working(cal, T(2026, 2, 14, 18, 0)), T(2026, 2, 24, 9, 0));
    CHECK_INT(sla_calendar_next_working(cal, T(2026, 9, 30, 18, 0)), T(2026, 10, 8, 9, 0));

    /* Adding: a budget that runs out at the close is due at the close. */
    CHECK_INT(sla_calendar_add(cal, T(2026, 3, 2, 10, 0), 8 * H), T(2026, 3, 2, 18, 0));
    CHECK_INT(sla_calendar_add(cal, T(2026, 3, 2, 10, 0), 8 * H + 1), T(2026, 3, 3, 9, 0) + 1);
    CHECK_INT(sla_calendar_add(cal, T(2026, 3, 6, 17, 0), 2 * H), T(2026, 3, 9, 10, 0));
    CHECK_INT(sla_calendar_add(cal, T(2026, 3, 7, 12, 0), 1), T(2026, 3, 9, 9, 0) + 1);
    CHECK_INT(sla_calendar_add(cal, T(2026, 3, 7, 12, 0), 0), T(2026, 3, 7, 12, 0)); /* nothing to count */
    CHECK_INT(sla_calendar_add(cal, T(2026, 2, 13, 17, 0), 2 * H), T(2026, 2, 14, 10, 0));
    CHECK_INT(sla_calendar_add(cal, T(2026, 2, 14, 17, 0), 2 * H), T(2026, 2, 24, 10, 0));
    CHECK_INT(sla_calendar_add(cal, T(2026, 9, 30, 17, 0), 9 * H), T(2026, 10, 8, 17, 0));
    /* Over the year's end: 31 December worked, 1-3 January off, Sunday 4 January worked. */
    CHECK_INT(sla_calendar_add(cal, T(2025, 12, 31, 17, 0), 2 * H), T(2026, 1, 4, 10, 0));
    /* Into 2027, which has no data: 1 January is worked by the weekly pattern. */
    CHECK_INT(sla_calendar_add(cal, T(2026, 12, 31, 17, 0), 2 * H), T(2027, 1, 1, 10, 0));
    CHECK_INT(sla_calendar_add(cal, T(2026, 3, 2, 10, 0), -1), SLA_NEVER);
    CHECK_INT(sla_calendar_add(cal, SLA_TIME_MAX - 60, 3 * DAY), SLA_NEVER);

    /* Between. */
    CHECK_INT(sla_calendar_between(cal, T(2026, 3, 6, 17, 0), T(2026, 3, 9, 10, 0)), 2 * H);
    CHECK_INT(sla_calendar_between(cal, T(2026, 2, 13, 9, 0), T(2026, 2, 25, 9, 0)), 27 * H);
    CHECK_INT(sla_calendar_between(cal, T(2026, 3, 9, 10, 0), T(2026, 3, 6, 17, 0)), 0);
    CHECK_INT(sla_calendar_between(cal, T(2026, 3, 7, 0, 0), T(2026, 3, 8, 23, 0)), 0);
    CHECK_INT(sla_calendar_between(cal, 0, SLA_TIME_MAX + 1), -1);
    sla_calendar_free(cal);

    /* Whole working days. */
    cal = shipped(NULL);
    CHECK(cal != NULL);
    if (!cal)
        return;
    CHECK_INT(sla_calendar_add(cal, T(2026, 2, 13, 12, 0), DAY), T(2026, 2, 14, 12, 0));
    CHECK_INT(sla_calendar_add(cal, T(2026, 2, 14, 12, 0), DAY), T(2026, 2, 24, 12, 0));
    CHECK_INT(sla_calendar_next_working(cal, T(2026, 2, 15, 12, 0)), T(2026, 2, 24, 0, 0));
    CHECK_INT(sla_calendar_between(cal, T(2026, 2, 13, 0, 0), T(2026, 3, 1, 0, 0)), 7 * DAY);
    sla_calendar_free(cal);
}

/* add() and between() agree for thousands of instants and durations, in
 * both kinds of working day: between(t, add(t, d)) == d, add() is the
 * earliest such instant, and between() adds up over adjacent spans. */
static void test_add_between_properties(void)
{
    const char *hours[] = {"[\"09:00\", \"18:00\"]", NULL, "[\"08:30\", \"12:00\"]"};
    for (int k = 0; k < 3; k++) {
        sla_calendar_t *cal = shipped(hours[k]);
        CHECK(cal != NULL);
        if (!cal)
            return;
        int bad_add = 0, bad_min = 0, bad_sum = 0, bad_next = 0;
        long long from = T(2024, 12, 1, 0, 0), span = T(2027, 2, 1, 0, 0) - from;
        for (int i = 0; i < 3000; i++) {
            long long t = from + rnd(span);
            long long d = i % 10 == 0 ? rnd(60) : rnd(20 * DAY);
            long long u = sla_calendar_add(cal, t, d);
            bad_add += u < t || sla_calendar_between(cal, t, u) != d;
            bad_min += d > 0 && sla_calendar_between(cal, t, u - 1) >= d;
            long long m = t + rnd(u - t + 1);
            bad_sum += sla_calendar_between(cal, t, m) + sla_calendar_between(cal, m, u) != d;
            long long w = sla_calendar_next_working(cal, t);
            bad_next += w < t || sla_calendar_is_working_time(cal, w) != 1 || sla_calendar_between(cal, t, w) != 0 ||
                        (w > t && sla_calendar_is_working_time(cal, w - 1) != 0);
        }
        CHECK_INT(bad_add, 0);
        CHECK_INT(bad_min, 0);
        CHECK_INT(bad_sum, 0);
        CHECK_INT(bad_next, 0);
        sla_calendar_free(cal);
    }
}

/* ---- clocks ------------------------------------------------------------------ */

#define S 1772000000LL /* 2026-02-25 14:13:20 in China, a Wednesday */

static sla_clock_t natural(long long budget, const sla_pause_t *p, int n)
{
    return (sla_clock_t){.start = S, .budget_s = budget, .mode = SLA_NATURAL, .pauses = p, .npauses = n};
}

static sla_status_t status(const sla_clock_t *c, long long now)
{
    sla_status_t st;
    memset(&st, 0x5a, sizeof st);
    CHECK_INT(sla_clock_status(c, now, &st), 0);
    return st;
}

static void test_clock_natural(void)
{
    sla_clock_t c = natural(2 * H, NULL, 0);
    sla_status_t st = status(&c, S);
    CHECK_INT(st.state, SLA_RUNNING);
    CHECK_INT(st.elapsed_s, 0);
    CHECK_INT(st.remaining_s, 2 * H);
    CHECK_INT(st.due, S + 2 * H);
    CHECK(st.fraction == 0.0);
    st = status(&c, S + 5400);
    CHECK(st.fraction == 0.75);
    /* Exactly at the due time: on time, nothing left. One second later: breached. */
    st = status(&c, S + 2 * H);
    CHECK_INT(st.state, SLA_RUNNING);
    CHECK_INT(st.remaining_s, 0);
    st = status(&c, S + 2 * H + 1);
    CHECK_INT(st.state, SLA_BREACHED);
    CHECK_INT(st.remaining_s, -1);
    CHECK(st.fraction > 1.0);
    /* Before the start: nothing counted. */
    st = status(&c, S - 100);
    CHECK_INT(st.state, SLA_RUNNING);
    CHECK_INT(st.elapsed_s, 0);
    CHECK_INT(sla_clock_elapsed(&c, S + 60), 60);
    CHECK_INT(sla_clock_at(&c, 60), S + 60);
}

static void test_clock_zero_budget(void)
{
    sla_clock_t c = natural(0, NULL, 0);
    sla_status_t st = status(&c, S - 1);
    CHECK_INT(st.due, S);
    CHECK(st.fraction == 0.0);
    st = status(&c, S);
    CHECK_INT(st.state, SLA_RUNNING);
    CHECK(st.fraction == 1.0);
    st = status(&c, S + 1);
    CHECK_INT(st.state, SLA_BREACHED);
    CHECK(st.fraction == 1.0);
    /* On a business clock too, even on a holiday: due at once. */
    sla_calendar_t *cal = shipped("[\"09:00\", \"18:00\"]");
    CHECK(cal != NULL);
    if (!cal)
        return;
    c = (sla_clock_t){.start = T(2026, 2, 17, 10, 0), .budget_s = 0, .mode = SLA_BUSINESS, .cal = cal};
    st = status(&c, T(2026, 2, 17, 10, 0));
    CHECK_INT(st.due, T(2026, 2, 17, 10, 0));
    sla_calendar_free(cal);
}

static void test_clock_business(void)
{
    sla_calendar_t *cal = shipped("[\"09:00\", \"18:00\"]");
    CHECK(cal != NULL);
    if (!cal)
        return;
    /* Started on a holiday (Monday of the Spring Festival): nothing counts
     * until Tuesday 24 February at 09:00. */
    sla_clock_t c = {.start = T(2026, 2, 16, 10, 0), .budget_s = 2 * H, .mode = SLA_BUSINESS, .cal = cal};
    sla_status_t st = status(&c, T(2026, 2, 20, 12, 0));
    CHECK_INT(st.state, SLA_RUNNING);
    CHECK_INT(st.elapsed_s, 0);
    CHECK_INT(st.due, T(2026, 2, 24, 11, 0));
    st = status(&c, T(2026, 2, 24, 10, 30));
    CHECK_INT(st.elapsed_s, 90 * 60);
    CHECK(st.fraction == 0.75);
    /* A budget ending at the close: breached after it, though no working
     * time passes over the weekend. */
    c = (sla_clock_t){.start = T(2026, 3, 6, 9, 0), .budget_s = 9 * H, .mode = SLA_BUSINESS, .cal = cal};
    st = status(&c, T(2026, 3, 6, 18, 0));
    CHECK_INT(st.due, T(2026, 3, 6, 18, 0));
    CHECK_INT(st.state, SLA_RUNNING);
    st = status(&c, T(2026, 3, 7, 12, 0));
    CHECK_INT(st.state, SLA_BREACHED);
    CHECK_INT(st.remaining_s, 0);
    st = status(&c, T(2026, 3, 9, 10, 0));
    CHECK_INT(st.remaining_s, -H);
    /* Paused from Monday 12:00 to Tuesday 12:00: three hours counted, six
     * left from Tuesday noon. */
    sla_pause_t p = {T(2026, 3, 2, 12, 0), T(2026, 3, 3, 12, 0)};
    c = (sla_clock_t){.start = T(2026, 3, 2, 9, 0), .budget_s = 9 * H, .mode = SLA_BUSINESS, .cal = cal,
                      .pauses = &p, .npauses = 1};
    st = status(&c, T(2026, 3, 3, 11, 0));
    CHECK_INT(st.state, SLA_PAUSED);
    CHECK_INT(st.elapsed_s, 3 * H);
    CHECK_INT(st.due, T(2026, 3, 3, 18, 0));
    sla_calendar_free(cal);
}

static void test_clock_pauses(void)
{
    /* One closed pause moves the due time by its length. */
    sla_pause_t one = {S + 600, S + 1800};
    sla_clock_t c = natural(H, &one, 1);
    sla_status_t st = status(&c, S + 1000);
    CHECK_INT(st.state, SLA_PAUSED);
    CHECK_INT(st.elapsed_s, 600);
    CHECK_INT(st.due, S + H + 1200);
    st = status(&c, S + 1800);
    CHECK_INT(st.state, SLA_RUNNING);
    CHECK_INT(st.elapsed_s, 600);
    CHECK_INT(sla_clock_elapsed(&c, S + 2000), 800);

    /* Several, one of them empty. */
    sla_pause_t many[] = {{S + 600, S + 1200}, {S + 1500, S + 1500}, {S + 2000, S + 2600}};
    c = natural(H, many, 3);
    CHECK_INT(status(&c, S + 4000).elapsed_s, 4000 - 1200);
    CHECK_INT(status(&c, S + 4000).due, S + H + 1200);

    /* Open before the due time: no due time, the remaining budget kept. */
    sla_pause_t open = {S + 600, SLA_NEVER};
    c = natural(H, &open, 1);
    st = status(&c, S + 5000);
    CHECK_INT(st.state, SLA_PAUSED);
    CHECK_INT(st.due, SLA_NEVER);
    CHECK_INT(st.elapsed_s, 600);
    CHECK_INT(st.remaining_s, 3000);
    CHECK_INT(status(&c, S + 500 * DAY / 2).remaining_s, 3000);
    CHECK_INT(sla_clock_at(&c, H), SLA_NEVER);
    CHECK_INT(sla_clock_at(&c, 600), S + 600); /* reached as the pause began */

    /* Paused after the breach: still breached, the due time known. */
    sla_pause_t late = {S + 4000, SLA_NEVER};
    c = natural(H, &late, 1);
    st = status(&c, S + 5000);
    CHECK_INT(st.state, SLA_BREACHED);
    CHECK_INT(st.due, S + H);
    CHECK_INT(st.elapsed_s, 4000);
    CHECK_INT(st.remaining_s, -400);

    /* A pause already agreed to end in the future (a visit time). */
    sla_pause_t visit = {S + 600, S + DAY};
    c = natural(H, &visit, 1);
    st = status(&c, S + 700);
    CHECK_INT(st.state, SLA_PAUSED);
    CHECK_INT(st.due, S + DAY + 3000);

    /* A pause starting exactly at the due time does not move it. */
    sla_pause_t at_due = {S + H, S + 2 * H};
    c = natural(H, &at_due, 1);
    CHECK_INT(status(&c, S + H).due, S + H);
}

/* For random clocks (natural and business, with random closed pauses and
 * sometimes an open one): the instant of a position is the first at which
 * the elapsed time reaches it, and elapsed time never runs backwards. */
static void test_clock_properties(void)
{
    sla_calendar_t *cal = shipped("[\"09:00\", \"18:00\"]");
    CHECK(cal != NULL);
    if (!cal)
        return;
    int bad_at = 0, bad_min = 0, bad_mono = 0, bad_open = 0;
    for (int i = 0; i < 1000; i++) {
        sla_pause_t p[8];
        sla_clock_t c = {.start = T(2025, 12, 1, 0, 0) + rnd(400 * DAY), .budget_s = rnd(10 * DAY),
                         .mode = i % 2 ? SLA_BUSINESS : SLA_NATURAL, .cal = cal, .pauses = p,
                         .npauses = (int)rnd(9)};
        long long t = c.start;
        for (int k = 0; k < c.npauses; k++) {
            p[k].start = t + rnd(3 * DAY);
            p[k].end = p[k].start + rnd(2 * DAY);
            t = p[k].end;
        }
        int open = c.npauses > 0 && rnd(4) == 0;
        if (open)
            p[c.npauses - 1].end = SLA_NEVER;
        long long pos = rnd(c.budget_s + 1), u = sla_clock_at(&c, pos);
        if (u == SLA_NEVER) {
            /* Only an open pause holds a position back, and only one beyond what it counted. */
            bad_open += !open || sla_clock_elapsed(&c, SLA_TIME_MAX) >= pos;
            continue;
        }
        bad_at += sla_clock_elapsed(&c, u) != pos;
        bad_min += u > c.start && sla_clock_elapsed(&c, u - 1) >= pos && pos > 0;
        long long a = c.start + rnd(30 * DAY), b = a + rnd(DAY);
        bad_mono += sla_clock_elapsed(&c, a) > sla_clock_elapsed(&c, b);
    }
    CHECK_INT(bad_at, 0);
    CHECK_INT(bad_min, 0);
    CHECK_INT(bad_mono, 0);
    CHECK_INT(bad_open, 0);
    sla_calendar_free(cal);
}

static void test_clock_bad_input(void)
{
    const char *why = NULL;
    sla_status_t st;
    sla_clock_t c = natural(H, NULL, 0);
    CHECK_INT(sla_clock_check(&c, &why), 0);
    CHECK(why == NULL);
    CHECK_INT(sla_clock_check(NULL, &why), -1);
    c.budget_s = -1;
    CHECK_INT(sla_clock_check(&c, &why), -1);
    CHECK(why && strstr(why, "budget"));
    c.budget_s = SLA_MAX_BUDGET_S + 1;
    CHECK_INT(sla_clock_status(&c, S, &st), -1);
    c = natural(H, NULL, 0);
    c.start = -1;
    CHECK_INT(sla_clock_status(&c, S, &st), -1);
    c = natural(H, NULL, 0);
    c.mode = SLA_BUSINESS; /* without a calendar */
    CHECK_INT(sla_clock_status(&c, S, &st), -1);
    c.mode = (sla_mode_t)7;
    CHECK_INT(sla_clock_check(&c, NULL), -1);
    c = natural(H, NULL, 0);
    CHECK_INT(sla_clock_status(&c, -1, &st), -1);
    CHECK_INT(sla_clock_elapsed(&c, SLA_TIME_MAX + 1), -1);
    CHECK_INT(sla_clock_at(&c, -1), SLA_NEVER);
    static const sla_pause_t bad[][2] = {
        {{S - 1, S + 10}, {S + 20, S + 30}},           /* before the start */
        {{S + 10, S + 5}, {S + 20, S + 30}},           /* ends before it starts */
        {{S + 10, S + 25}, {S + 20, S + 30}},          /* overlapping */
        {{S + 20, S + 30}, {S + 10, S + 15}},          /* out of order */
        {{S + 10, SLA_NEVER}, {S + 20, S + 30}},       /* open, not last */
        {{S + 10, S + 15}, {S + 20, SLA_TIME_MAX + 1}}, /* out of range */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        c = natural(H, bad[i], 2);
        CHECK_INT(sla_clock_check(&c, &why), -1);
        CHECK_INT(sla_clock_status(&c, S, &st), -1);
    }
    sla_pause_t ok[SLA_MAX_PAUSES + 1];
    for (int i = 0; i <= SLA_MAX_PAUSES; i++)
        ok[i] = (sla_pause_t){S + 10 * i, S + 10 * i + 5};
    c = natural(H, ok, SLA_MAX_PAUSES);
    CHECK_INT(sla_clock_check(&c, NULL), 0);
    CHECK_INT(status(&c, S + DAY).due, S + H + 5 * SLA_MAX_PAUSES);
    c.npauses = SLA_MAX_PAUSES + 1;
    CHECK_INT(sla_clock_check(&c, NULL), -1);
    c = natural(H, NULL, 1); /* a count without pauses */
    CHECK_INT(sla_clock_check(&c, NULL), -1);
}

/* ---- the ladder --------------------------------------------------------------- */

enum { L_ENGINEER = 1, L_SUPERVISOR = 2, L_MANAGER = 3 };
/* The repair ladder of the default configuration. */
static const sla_step_t REPAIR_STEPS[] = {
    {.id = 0, .kind = SLA_REMINDER, .percent = 75, .level = L_ENGINEER},
    {.id = 1, .kind = SLA_ESCALATION, .after_s = 0, .level = L_ENGINEER},
    {.id = 2, .kind = SLA_ESCALATION, .after_s = 1800, .level = L_SUPERVISOR},
    {.id = 3, .kind = SLA_ESCALATION, .after_s = 7200, .level = L_MANAGER},
};
static const sla_ladder_t LADDER = {REPAIR_STEPS, 4};
#define B(id) SLA_STEP_BIT(id)

static sla_next_t next(const sla_clock_t *c, unsigned fired, long long now)
{
    sla_next_t n;
    CHECK_INT(sla_ladder_next(&LADDER, c, fired, now, &n), 0);
    return n;
}

static unsigned due(const sla_clock_t *c, unsigned fired, long long now)
{
    unsigned d = 0xdead;
    CHECK_INT(sla_ladder_due(&LADDER, c, fired, now, &d), 0);
    return d;
}

#define CHECK_NEXT(n, k, idx, t)                                                                                      \
    do {                                                                                                              \
        sla_next_t n_ = (n);                                                                                          \
        CHECK_INT(n_.kind, k);                                                                                        \
        CHECK_INT(n_.index, idx);                                                                                     \
        CHECK_INT(n_.at, t);                                                                                          \
    } while (0)

static void test_ladder_in_order(void)
{
    sla_clock_t c = natural(2 * H, NULL, 0);
    CHECK_NEXT(next(&c, 0, S), SLA_NEXT_AT, 0, S + 5400);
    CHECK_INT(due(&c, 0, S + 5399), 0);
    CHECK_INT(due(&c, 0, S + 5400), B(0));
    CHECK_NEXT(next(&c, B(0), S + 5400), SLA_NEXT_AT, 1, S + 2 * H);
    CHECK_INT(due(&c, B(0), S + 2 * H), B(1)); /* exactly at the due time */
    CHECK_NEXT(next(&c, B(0) | B(1), S + 2 * H), SLA_NEXT_AT, 2, S + 2 * H + 1800);
    CHECK_NEXT(next(&c, B(0) | B(1) | B(2), S + 3 * H), SLA_NEXT_AT, 3, S + 4 * H);
    CHECK_NEXT(next(&c, B(0) | B(1) | B(2) | B(3), S + 5 * H), SLA_NEXT_NONE, -1, SLA_NEVER);
    CHECK_INT(due(&c, B(0) | B(1) | B(2) | B(3), S + 5 * H), 0);
    /* Nothing swept for hours: every step passed and unfired is due now. */
    CHECK_INT(due(&c, B(0), S + 5 * H), B(1) | B(2) | B(3));
    /* An empty ladder has nothing. */
    sla_ladder_t none = {NULL, 0};
    sla_next_t n;
    CHECK_INT(sla_ladder_next(&none, &c, 0, S, &n), 0);
    CHECK_INT(n.kind, SLA_NEXT_NONE);
}

static void test_ladder_reminder_lapses_at_due(void)
{
    sla_clock_t c = natural(2 * H, NULL, 0);
    /* The reminder was never sent and the clock is due: it is skipped. */
    CHECK_INT(due(&c, 0, S + 2 * H - 1), B(0));
    CHECK_INT(due(&c, 0, S + 2 * H), B(1));
    CHECK_NEXT(next(&c, 0, S + 2 * H), SLA_NEXT_AT, 1, S + 2 * H);
    CHECK_INT(due(&c, 0, S + 9 * H), B(1) | B(2) | B(3));
    /* A zero budget: due at the start, no reminder at all. */
    c = natural(0, NULL, 0);
    CHECK_NEXT(next(&c, 0, S - 10), SLA_NEXT_AT, 0, S); /* before the start it is still ahead */
    CHECK_NEXT(next(&c, 0, S), SLA_NEXT_AT, 1, S);
    CHECK_INT(due(&c, 0, S), B(1));
}

/* Pause and resume: the ladder waits while the clock is held and moves by
 * the pause's length after. */
static void test_ladder_pause_resume(void)
{
    sla_pause_t p = {S + 1000, SLA_NEVER};
    sla_clock_t c = natural(2 * H, &p, 1);
    CHECK_NEXT(next(&c, 0, S + 2000), SLA_NEXT_PAUSED, 0, SLA_NEVER);
    CHECK_INT(due(&c, 0, S + 100 * H), 0);
    p.end = S + 4000; /* resumed */
    CHECK_NEXT(next(&c, 0, S + 4000), SLA_NEXT_AT, 0, S + 5400 + 3000);
    CHECK_INT(due(&c, 0, S + 8400), B(0));
    /* Paused after the breach: the steps after it wait too. */
    sla_pause_t q = {S + 2 * H + 600, SLA_NEVER};
    c = natural(2 * H, &q, 1);
    CHECK_INT(due(&c, B(0), S + 2 * H + 600), B(1));
    CHECK_NEXT(next(&c, B(0) | B(1), S + 5 * H), SLA_NEXT_PAUSED, 2, SLA_NEVER);
    q.end = S + 5 * H;
    CHECK_NEXT(next(&c, B(0) | B(1), S + 5 * H), SLA_NEXT_AT, 2, S + 5 * H + 1200);
}

/* Reassignment changes neither the clock nor the round: what was fired
 * stays fired. A step whose recipient is missing (no engineer) waits until
 * there is one, while the caller looks past it. */
static void test_ladder_reassignment(void)
{
    sla_clock_t c = natural(2 * H, NULL, 0);
    CHECK_NEXT(next(&c, B(0), S + 6000), SLA_NEXT_AT, 1, S + 2 * H);
    /* Nobody to remind at S + 5400: not marked; later steps still scheduled. */
    CHECK_INT(due(&c, 0, S + 5400), B(0));
    CHECK_NEXT(next(&c, B(0), S + 5400), SLA_NEXT_AT, 1, S + 2 * H);
    /* An engineer is assigned at S + 6000: the reminder is due now, not lost. */
    CHECK_INT(due(&c, 0, S + 6000), B(0));
    CHECK_NEXT(next(&c, 0, S + 6000), SLA_NEXT_AT, 0, S + 5400);
    /* Reassigned again after it was sent: nothing fires twice. */
    CHECK_INT(due(&c, B(0), S + 6500), 0);
}

/* Reopening starts a new round: everything comes again from the new start. */
static void test_ladder_reopen(void)
{
    sla_clock_t c = natural(2 * H, NULL, 0);
    unsigned all = B(0) | B(1) | B(2) | B(3);
    CHECK_NEXT(next(&c, all, S + DAY), SLA_NEXT_NONE, -1, SLA_NEVER);
    sla_clock_t reopened = c;
    reopened.start = S + DAY;
    CHECK_NEXT(next(&reopened, 0, S + DAY), SLA_NEXT_AT, 0, S + DAY + 5400);
    CHECK_INT(due(&reopened, 0, S + DAY + 2 * H), B(1));
}

/* A budget change (another category or level) moves the unfired steps and
 * never repeats a fired one. */
static void test_ladder_budget_change(void)
{
    sla_clock_t c = natural(2 * H, NULL, 0);
    c.budget_s = H; /* shortened at S + 3000: the reminder (S + 2700) is due now */
    CHECK_INT(due(&c, 0, S + 3000), B(0));
    CHECK_NEXT(next(&c, B(0), S + 3000), SLA_NEXT_AT, 1, S + H);
    /* Shortened at S + 4000: already past due, the reminder lapsed. */
    CHECK_INT(due(&c, 0, S + 4000), B(1));
    /* Lengthened after the reminder was sent: no second reminder. */
    c.budget_s = 4 * H;
    CHECK_NEXT(next(&c, B(0), S + 5400), SLA_NEXT_AT, 1, S + 4 * H);
    CHECK_INT(due(&c, B(0), S + 3 * H), 0);
    /* Lengthened after the breach was escalated: the next step is later. */
    CHECK_NEXT(next(&c, B(0) | B(1), S + 2 * H + 60), SLA_NEXT_AT, 2, S + 4 * H + 1800);
}

/* Business clocks escalate in working time: due Friday 17:00, the
 * supervisor at 17:30, the manager on Monday at 10:00; during the Spring
 * Festival the make-up Saturday counts. */
static void test_ladder_business(void)
{
    sla_calendar_t *cal = shipped("[\"09:00\", \"18:00\"]");
    CHECK(cal != NULL);
    if (!cal)
        return;
    sla_clock_t c = {.start = T(2026, 3, 6, 9, 0), .budget_s = 8 * H, .mode = SLA_BUSINESS, .cal = cal};
    CHECK_NEXT(next(&c, 0, c.start), SLA_NEXT_AT, 0, T(2026, 3, 6, 15, 0));
    CHECK_NEXT(next(&c, B(0) | B(1), T(2026, 3, 6, 17, 0)), SLA_NEXT_AT, 2, T(2026, 3, 6, 17, 30));
    CHECK_NEXT(next(&c, B(0) | B(1) | B(2), T(2026, 3, 6, 17, 30)), SLA_NEXT_AT, 3, T(2026, 3, 9, 10, 0));
    CHECK_INT(due(&c, B(0) | B(1) | B(2), T(2026, 3, 8, 23, 0)), 0);
    c.start = T(2026, 2, 13, 9, 0);
    CHECK_NEXT(next(&c, B(0) | B(1) | B(2), T(2026, 2, 13, 17, 30)), SLA_NEXT_AT, 3, T(2026, 2, 14, 10, 0));
    sla_calendar_free(cal);
}

/* The engine is a function of its inputs: asking twice gives the same, and
 * a sweeper that fires what is due at whatever moments it runs fires each
 * step exactly once, at the first run at or after the step's instant, for
 * any schedule of runs. */
static void test_ladder_idempotent_sweeps(void)
{
    sla_pause_t p[] = {{S + 1000, S + 1600}, {S + 8000, S + 9000}};
    sla_clock_t c = natural(2 * H, p, 2);
    sla_next_t a = next(&c, B(0), S + 6000), b = next(&c, B(0), S + 6000);
    CHECK(memcmp(&a, &b, sizeof a) == 0);
    CHECK_INT(due(&c, B(0), S + 6000), due(&c, B(0), S + 6000));

    long long instant[4] = {S + 5400 + 600, S + 2 * H + 600, S + 2 * H + 600 + 1000 + 1800,
                            S + 2 * H + 600 + 1000 + 7200};
    for (int schedule = 0; schedule < 50; schedule++) {
        unsigned fired = 0;
        int times[4] = {0};
        long long fired_at[4] = {0};
        for (long long now = S; now < S + 6 * H; now += 1 + rnd(schedule ? 900 : 1)) {
            unsigned d = due(&c, fired, now);
            for (int i = 0; i < 4; i++)
                if (d & B(i)) {
                    times[i]++;
                    fired_at[i] = now;
                }
            CHECK_INT(d & fired, 0);
            fired |= d;
            CHECK_INT(due(&c, fired, now), 0); /* a second sweep at the same moment */
        }
        for (int i = 0; i < 4; i++) {
            CHECK_INT(times[i], 1);
            CHECK(fired_at[i] >= instant[i] && fired_at[i] <= instant[i] + 900);
        }
    }
}

static void test_ladder_bad_input(void)
{
    const char *why = NULL;
    CHECK_INT(sla_ladder_check(&LADDER, &why), 0);
    CHECK_INT(sla_ladder_check(NULL, &why), -1);
    static const sla_step_t bad[][2] = {
        {{.id = 0, .kind = SLA_REMINDER, .percent = 50}, {.id = 0, .kind = SLA_ESCALATION}},    /* same id */
        {{.id = 32, .kind = SLA_REMINDER, .percent = 50}, {.id = 1, .kind = SLA_ESCALATION}},   /* id too big */
        {{.id = -1, .kind = SLA_REMINDER, .percent = 50}, {.id = 1, .kind = SLA_ESCALATION}},   /* negative id */
        {{.id = 0, .kind = SLA_REMINDER, .percent = 0}, {.id = 1, .kind = SLA_ESCALATION}},     /* 0 % */
        {{.id = 0, .kind = SLA_REMINDER, .percent = 100}, {.id = 1, .kind = SLA_ESCALATION}},   /* 100 % */
        {{.id = 0, .kind = SLA_ESCALATION, .after_s = -1}, {.id = 1, .kind = SLA_ESCALATION}},  /* negative delay */
        {{.id = 0, .kind = SLA_ESCALATION, .after_s = SLA_MAX_BUDGET_S + 1}, {.id = 1, .kind = SLA_ESCALATION}},
        {{.id = 0, .kind = SLA_ESCALATION}, {.id = 1, .kind = SLA_REMINDER, .percent = 50}},    /* reminder last */
        {{.id = 0, .kind = SLA_REMINDER, .percent = 80}, {.id = 1, .kind = SLA_REMINDER, .percent = 50}},
        {{.id = 0, .kind = SLA_ESCALATION, .after_s = 60}, {.id = 1, .kind = SLA_ESCALATION, .after_s = 0}},
        {{.id = 0, .kind = (sla_step_kind_t)5}, {.id = 1, .kind = SLA_ESCALATION}},
    };
    sla_clock_t c = natural(H, NULL, 0);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        sla_ladder_t l = {bad[i], 2};
        sla_next_t n;
        unsigned d;
        CHECK_INT(sla_ladder_check(&l, &why), -1);
        CHECK(why != NULL);
        CHECK_INT(sla_ladder_next(&l, &c, 0, S, &n), -1);
        CHECK_INT(n.kind, SLA_NEXT_NONE);
        CHECK_INT(sla_ladder_due(&l, &c, 0, S, &d), -1);
        CHECK_INT(d, 0);
    }
    sla_step_t many[SLA_MAX_STEPS + 1];
    for (int i = 0; i <= SLA_MAX_STEPS; i++)
        many[i] = (sla_step_t){.id = i % SLA_MAX_STEPS, .kind = SLA_ESCALATION, .after_s = i};
    sla_ladder_t l = {many, SLA_MAX_STEPS};
    CHECK_INT(sla_ladder_check(&l, NULL), 0);
    l.nsteps = SLA_MAX_STEPS + 1;
    CHECK_INT(sla_ladder_check(&l, NULL), -1);
    /* A bad clock or instant under a good ladder. */
    sla_next_t n;
    c.budget_s = -5;
    CHECK_INT(sla_ladder_next(&LADDER, &c, 0, S, &n), -1);
    c.budget_s = H;
    CHECK_INT(sla_ladder_next(&LADDER, &c, 0, SLA_TIME_MAX + 1, &n), -1);
}

int main(void)
{
    /* A zone with daylight saving: the engine must not notice. */
    setenv("TZ", "America/New_York", 1);
    tzset();
    RUN(test_local_time_is_china_time);
    RUN(test_dates_and_leap_years);
    RUN(test_parse_good);
    RUN(test_parse_shipped_holidays);
    RUN(test_parse_bad);
    RUN(test_parse_limits);
    RUN(test_spring_festival_2026);
    RUN(test_national_day_2026);
    RUN(test_business_hours);
    RUN(test_add_between_properties);
    RUN(test_clock_natural);
    RUN(test_clock_zero_budget);
    RUN(test_clock_business);
    RUN(test_clock_pauses);
    RUN(test_clock_properties);
    RUN(test_clock_bad_input);
    RUN(test_ladder_in_order);
    RUN(test_ladder_reminder_lapses_at_due);
    RUN(test_ladder_pause_resume);
    RUN(test_ladder_reassignment);
    RUN(test_ladder_reopen);
    RUN(test_ladder_budget_change);
    RUN(test_ladder_business);
    RUN(test_ladder_idempotent_sweeps);
    RUN(test_ladder_bad_input);
    return TEST_REPORT();
}
