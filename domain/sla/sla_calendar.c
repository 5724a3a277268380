/* sla_calendar.c: the business calendar (see the header for the document).
 *
 * Dates are counted in local days: day d starts at d * 86400 - SLA_UTC_OFFSET_S
 * (day 0 is 1970-01-01 in China). The civil-date conversions are the
 * proleptic Gregorian algorithms of H. Hinnant ("chrono-compatible low-level
 * date algorithms"), so no libc time function, and no TZ, is involved.
 * A year's holidays and make-up days are two bitmaps indexed by the day of
 * the year: every question about a day is answered without allocation. */
#include "domain/sla/sla_calendar.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/utf8.h"

typedef struct {
    int year;
    long long jan1;               /* local day number of 1 January */
    unsigned char off[46], on[46]; /* bit per day of the year: holiday, make-up working day */
} cal_year_t;

struct sla_calendar {
    unsigned weekdays;      /* bit 0 = Monday .. bit 6 = Sunday: working */
    int open_s, close_s;    /* working hours, seconds after local midnight */
    int nyears;
    cal_year_t years[SLA_CAL_MAX_YEARS]; /* ascending by year */
};

/* ---- dates ------------------------------------------------------------------ */

static long long days_from_civil(long long y, int m, int d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(long long z, int *y, int *m, int *d)
{
    z += 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    long long doe = z - era * 146097;
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long long mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int n[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : n[m - 1];
}

static int valid_date(int y, int m, int d)
{
    return y >= 1970 && y <= 2200 && m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(y, m);
}

static long long local_day(long long t)
{
    return (t + SLA_UTC_OFFSET_S) / SLA_DAY_S;
}

static long long day_start(long long day)
{
    return day * SLA_DAY_S - SLA_UTC_OFFSET_S;
}

static int in_range(long long t)
{
    return t >= 0 && t <= SLA_TIME_MAX;
}

int sla_local(long long t, sla_local_t *out)
{
    if (!in_range(t))
        return -1;
    long long day = local_day(t);
    civil_from_days(day, &out->year, &out->month, &out->day);
    out->weekday = (int)((day + 3) % 7) + 1; /* 1970-01-01 was a Thursday */
    out->second_of_day = (int)(t + SLA_UTC_OFFSET_S - day * SLA_DAY_S);
    return 0;
}

long long sla_local_midnight(int year, int month, int day)
{
    if (!valid_date(year, month, day))
        return SLA_NEVER;
    long long t = day_start(days_from_civil(year, month, day));
    return in_range(t) ? t : SLA_NEVER;
}

/* ---- questions about days ------------------------------------------------- */

static const cal_year_t *find_year(const sla_calendar_t *cal, int year)
{
    int lo = 0, hi = cal->nyears;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (cal->years[mid].year < year)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < cal->nyears && cal->years[lo].year == year ? &cal->years[lo] : NULL;
}

static int bit(const unsigned char *set, long long i)
{
    return (set[i / 8] >> (i % 8)) & 1;
}

static int weekday_working(const sla_calendar_t *cal, long long day)
{
    return (cal->weekdays >> ((day + 3) % 7)) & 1;
}

static int day_working(const sla_calendar_t *cal, long long day)
{
    int y, m, d;
    civil_from_days(day, &y, &m, &d);
    const cal_year_t *cy = find_year(cal, y);
    if (cy) {
        long long doy = day - cy->jan1;
        if (bit(cy->off, doy))
            return 0;
        if (bit(cy->on, doy))
            return 1;
    }
    return weekday_working(cal, day);
}

int sla_calendar_has_year(const sla_calendar_t *cal, int year)
{
    return find_year(cal, year) != NULL;
}

int sla_calendar_is_working_day(const sla_calendar_t *cal, int year, int month, int day)
{
    if (!valid_date(year, month, day))
        return -1;
    return day_working(cal, days_from_civil(year, month, day));
}

int sla_calendar_is_working_time(const sla_calendar_t *cal, long long t)
{
    if (!in_range(t))
        return -1;
    long long day = local_day(t), sod = t - day_start(day);
    return day_working(cal, day) && sod >= cal->open_s && sod < cal->close_s;
}

/* The loops below walk local days. Each working day has at least
 * SLA_CAL_MIN_HOURS_S of working time and every week at least one working
 * day outside the years with data, so they end; SLA_TIME_MAX bounds them. */

long long sla_calendar_next_working(const sla_calendar_t *cal, long long t)
{
    if (!in_range(t))
        return SLA_NEVER;
    for (long long day = local_day(t); day_start(day) <= SLA_TIME_MAX; day++) {
        if (!day_working(cal, day))
            continue;
        long long open = day_start(day) + cal->open_s, close = day_start(day) + cal->close_s;
        if (t < close)
            return t > open ? t : open;
    }
    return SLA_NEVER;
}

long long sla_calendar_add(const sla_calendar_t *cal, long long t, long long seconds)
{
    if (!in_range(t) || seconds < 0)
        return SLA_NEVER;
    if (seconds == 0)
        return t;
    for (long long day = local_day(t); day_start(day) <= SLA_TIME_MAX; day++) {
        if (!day_working(cal, day))
            continue;
        long long open = day_start(day) + cal->open_s, close = day_start(day) + cal->close_s;
        long long from = t > open ? t : open;
        if (from >= close)
            continue;
        if (seconds <= close - from)
            return from + seconds <= SLA_TIME_MAX ? from + seconds : SLA_NEVER;
        seconds -= close - from;
    }
    return SLA_NEVER;
}

long long sla_calendar_between(const sla_calendar_t *cal, long long t1, long long t2)
{
    if (!in_range(t1) || !in_range(t2))
        return -1;
    long long sum = 0;
    for (long long day = local_day(t1); t2 > t1 && day <= local_day(t2 - 1); day++) {
        if (!day_working(cal, day))
            continue;
        long long open = day_start(day) + cal->open_s, close = day_start(day) + cal->close_s;
        long long from = t1 > open ? t1 : open, to = t2 < close ? t2 : close;
        if (to > from)
            sum += to - from;
    }
    return sum;
}

/* ---- parsing ---------------------------------------------------------------- */

static void fail(sla_error_t *err, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(sla_error_t *err, const char *field, const char *fmt, ...)
{
    char what[192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    /* Paths and messages are built from bounded parts (a quoted value is at
     * most 20 bytes, see quoted()): nothing is cut. */
    utf8_copy(err->field, sizeof(err->field), field);
    snprintf(err->message, sizeof(err->message), "%s%s%s", field, field[0] ? ": " : "", what);
}

/* A short quotable copy of a bad value: printable ASCII of at most 20 bytes,
 * otherwise a placeholder (the value may be any text, of any length). */
static const char *quoted(const char *s, char buf[24])
{
    size_t n = s ? strlen(s) : 0;
    int ok = s && n <= 20;
    for (size_t i = 0; ok && i < n; i++)
        ok = s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"';
    if (ok)
        snprintf(buf, 24, "\"%s\"", s);
    else
        snprintf(buf, 24, "this value");
    return buf;
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* "YYYY-MM-DD" of a real date. */
static int parse_date(const cJSON *v, int *y, int *m, int *d)
{
    const char *s = cJSON_IsString(v) ? v->valuestring : NULL;
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-' || digits(s, 4, y) || digits(s + 5, 2, m) ||
        digits(s + 8, 2, d))
        return -1;
    return valid_date(*y, *m, *d) ? 0 : -1;
}

/* "HH:MM" as seconds after midnight; "24:00" only when end is set. */
static int parse_hour(const cJSON *v, int end, int *out)
{
    const char *s = cJSON_IsString(v) ? v->valuestring : NULL;
    int h, m;
    if (!s || strlen(s) != 5 || s[2] != ':' || digits(s, 2, &h) || digits(s + 3, 2, &m) || m > 59 || h > 24 ||
        (h == 24 && (m != 0 || !end)))
        return -1;
    *out = h * 3600 + m * 60;
    return 0;
}

/* Refuses keys that are unknown or repeated: a misspelt "holiday" must not
 * silently mean "no holidays". */
static int check_keys(const cJSON *obj, const char *const *known, const char *where, sla_error_t *err)
{
    unsigned seen = 0;
    for (const cJSON *c = obj->child; c; c = c->next) {
        int k = 0;
        while (known[k] && strcmp(known[k], c->string) != 0)
            k++;
        if (!known[k]) {
            char buf[24];
            fail(err, where, "unknown key %s", quoted(c->string, buf));
            return -1;
        }
        if (seen & (1u << k)) {
            char path[64];
            snprintf(path, sizeof(path), "%s%s%s", where, where[0] ? "." : "", known[k]);
            fail(err, path, "appears twice");
            return -1;
        }
        seen |= 1u << k;
    }
    return 0;
}

static int check_note(const cJSON *obj, const char *key, const char *where, sla_error_t *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (v && (!cJSON_IsString(v) || strlen(v->valuestring) > SLA_CAL_MAX_NOTE)) {
        char path[64];
        snprintf(path, sizeof(path), "%s%s%s", where, where[0] ? "." : "", key);
        fail(err, path, "must be a string of at most %d bytes", SLA_CAL_MAX_NOTE);
        return -1;
    }
    return 0;
}

static int parse_weekdays(const cJSON *v, sla_calendar_t *cal, sla_error_t *err)
{
    cal->weekdays = 0x1f; /* Monday to Friday */
    if (!v)
        return 0;
    int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 0;
    if (n < 1 || n > 7) {
        fail(err, "weekdays", "must be a list of 1 to 7 weekdays (1 = Monday .. 7 = Sunday)");
        return -1;
    }
    cal->weekdays = 0;
    int i = 0, prev = 0;
    for (const cJSON *c = v->child; c; c = c->next, i++) {
        char path[32];
        snprintf(path, sizeof(path), "weekdays[%d]", i);
        int wd = cJSON_IsNumber(c) && c->valuedouble >= 1 && c->valuedouble <= 7 ? (int)c->valuedouble : 0;
        if (!wd || wd != c->valuedouble) {
            fail(err, path, "must be a whole number from 1 (Monday) to 7 (Sunday)");
            return -1;
        }
        if (wd <= prev) {
            fail(err, path, "%d is %s", wd, wd == prev ? "repeated" : "out of order (list weekdays in ascending order)");
            return -1;
        }
        prev = wd;
        cal->weekdays |= 1u << (wd - 1);
    }
    return 0;
}

static int parse_hours(const cJSON *v, sla_calendar_t *cal, sla_error_t *err)
{
    cal->open_s = 0;
    cal->close_s = SLA_DAY_S;
    if (!v)
        return 0;
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2) {
        fail(err, "hours", "must be [\"HH:MM\", \"HH:MM\"], the start and the end of the working day");
        return -1;
    }
    char buf[24];
    if (parse_hour(v->child, 0, &cal->open_s) != 0) {
        fail(err, "hours[0]", "%s is not a time HH:MM from 00:00 to 23:59", quoted(cJSON_GetStringValue(v->child), buf));
        return -1;
    }
    if (parse_hour(v->child->next, 1, &cal->close_s) != 0) {
        fail(err, "hours[1]", "%s is not a time HH:MM from 00:01 to 24:00", quoted(cJSON_GetStringValue(v->child->next), buf));
        return -1;
    }
    if (cal->close_s - cal->open_s < SLA_CAL_MIN_HOURS_S) {
        fail(err, "hours", "the working day must end at least %d minutes after it starts", SLA_CAL_MIN_HOURS_S / 60);
        return -1;
    }
    return 0;
}

/* One list of dates of the year (holidays, or the make-up workdays) into its
 * bitmap; a date may not be in both lists. */
static int parse_dates(const cJSON *entry, const char *key, const char *where, int is_workdays, const sla_calendar_t *cal,
                       cal_year_t *cy, sla_error_t *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(entry, key);
    char path[64], buf[24];
    snprintf(path, sizeof(path), "%s.%s", where, key);
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > 366) {
        fail(err, path, "must be a list of at most 366 dates \"YYYY-MM-DD\" (it may be empty)");
        return -1;
    }
    unsigned char *set = is_workdays ? cy->on : cy->off;
    const unsigned char *other = is_workdays ? cy->off : cy->on;
    long long prev = -1;
    int i = 0;
    for (const cJSON *c = v->child; c; c = c->next, i++) {
        int y, m, d;
        snprintf(path, sizeof(path), "%s.%s[%d]", where, key, i);
        if (parse_date(c, &y, &m, &d) != 0) {
            fail(err, path, "%s is not a date YYYY-MM-DD", quoted(cJSON_GetStringValue(c), buf));
            return -1;
        }
        if (y != cy->year) {
            fail(err, path, "%s is not in %d", c->valuestring, cy->year);
            return -1;
        }
        long long doy = days_from_civil(y, m, d) - cy->jan1;
        if (doy <= prev) {
            fail(err, path, "%s is %s", c->valuestring,
                 doy == prev ? "repeated" : "out of order (list dates in ascending order)");
            return -1;
        }
        prev = doy;
        if (bit(other, doy)) {
            fail(err, path, "%s is both a holiday and a workday", c->valuestring);
            return -1;
        }
        if (is_workdays && weekday_working(cal, cy->jan1 + doy)) {
            fail(err, path, "%s is a working day anyway: a make-up workday must fall on a day the weekly pattern has off",
                 c->valuestring);
            return -1;
        }
        set[doy / 8] |= (unsigned char)(1u << (doy % 8));
    }
    return 0;
}

static int parse_year(const cJSON *entry, int i, sla_calendar_t *cal, sla_error_t *err)
{
    static const char *const keys[] = {"year", "source", "holidays", "workdays", NULL};
    char where[32];
    snprintf(where, sizeof(where), "years[%d]", i);
    if (!cJSON_IsObject(entry)) {
        fail(err, where, "must be an object {\"year\", \"holidays\", \"workdays\"}");
        return -1;
    }
    if (check_keys(entry, keys, where, err) != 0 || check_note(entry, "source", where, err) != 0)
        return -1;
    const cJSON *y = cJSON_GetObjectItemCaseSensitive(entry, "year");
    char path[48];
    snprintf(path, sizeof(path), "%s.year", where);
    if (!cJSON_IsNumber(y) || y->valuedouble < SLA_CAL_MIN_YEAR || y->valuedouble > SLA_CAL_MAX_YEAR ||
        y->valuedouble != (int)y->valuedouble) {
        fail(err, path, "must be a year from %d to %d", SLA_CAL_MIN_YEAR, SLA_CAL_MAX_YEAR);
        return -1;
    }
    int year = (int)y->valuedouble;
    if (cal->nyears > 0 && year <= cal->years[cal->nyears - 1].year) {
        fail(err, path, "%d is %s", year,
             year == cal->years[cal->nyears - 1].year ? "listed twice" : "out of order (list years in ascending order)");
        return -1;
    }
    cal_year_t *cy = &cal->years[cal->nyears];
    memset(cy, 0, sizeof(*cy));
    cy->year = year;
    cy->jan1 = days_from_civil(year, 1, 1);
    if (parse_dates(entry, "holidays", where, 0, cal, cy, err) != 0 ||
        parse_dates(entry, "workdays", where, 1, cal, cy, err) != 0)
        return -1;
    cal->nyears++;
    return 0;
}

sla_calendar_t *sla_calendar_from_json(const cJSON *doc, sla_error_t *err)
{
    static const char *const keys[] = {"note", "weekdays", "hours", "years", NULL};
    sla_calendar_t *cal = NULL;
    memset(err, 0, sizeof(*err));
    if (!cJSON_IsObject(doc)) {
        fail(err, "", "the calendar must be a JSON object {\"years\": [...]}");
        goto Fail;
    }
    if (check_keys(doc, keys, "", err) != 0 || check_note(doc, "note", "", err) != 0)
        goto Fail;
    if (!(cal = calloc(1, sizeof(*cal)))) {
        fail(err, "", "out of memory");
        goto Fail;
    }
    if (parse_weekdays(cJSON_GetObjectItemCaseSensitive(doc, "weekdays"), cal, err) != 0 ||
        parse_hours(cJSON_GetObjectItemCaseSensitive(doc, "hours"), cal, err) != 0)
        goto Fail;
    const cJSON *years = cJSON_GetObjectItemCaseSensitive(doc, "years");
    if (!cJSON_IsArray(years) || cJSON_GetArraySize(years) > SLA_CAL_MAX_YEARS) {
        fail(err, "years", "must be a list of at most %d year entries (it may be empty)", SLA_CAL_MAX_YEARS);
        goto Fail;
    }
    int i = 0;
    for (const cJSON *e = years->child; e; e = e->next, i++)
        if (parse_year(e, i, cal, err) != 0)
            goto Fail;
    return cal;
Fail:
    free(cal);
    return NULL;
}

sla_calendar_t *sla_calendar_parse(const char *text, size_t len, sla_error_t *err)
{
    memset(err, 0, sizeof(*err));
    if (!text || len > SLA_CAL_MAX_TEXT) {
        fail(err, "", "the calendar document must be at most %d bytes", SLA_CAL_MAX_TEXT);
        return NULL;
    }
    cJSON *doc = cJSON_ParseWithLength(text, len);
    if (!doc) {
        fail(err, "", "the calendar document is not valid JSON");
        return NULL;
    }
    sla_calendar_t *cal = sla_calendar_from_json(doc, err);
    cJSON_Delete(doc);
    return cal;
}

void sla_calendar_free(sla_calendar_t *cal)
{
    free(cal);
}
