/* sla_calendar.h: the business calendar of the service-level clocks (China).
 *
 * Times are unix seconds (UTC). Days, weekdays and working hours are those of
 * China: UTC+8 all year, no daylight saving. The offset is a constant here;
 * neither the process's TZ nor the database session's time zone is ever used.
 *
 * A calendar holds:
 *   - the weekly pattern: which weekdays are working days (Mon-Fri unless the
 *     document says otherwise);
 *   - per year, the public holidays (off, even on a weekday) and the make-up
 *     working days (调休: days the weekly pattern has off that are worked);
 *   - the working hours of every working day ("09:00"-"18:00"), or the whole
 *     day when none are given.
 * A year without data follows the weekly pattern alone; the caller checks
 * sla_calendar_has_year() and logs it (the engine does no I/O).
 *
 * Document (JSON, at most SLA_CAL_MAX_TEXT bytes; config/holidays-cn.json):
 *   {"note": "...",                        optional text
 *    "weekdays": [1, 2, 3, 4, 5],          optional, ISO 1 = Monday .. 7 = Sunday
 *    "hours": ["09:00", "18:00"],          optional, start < end, "24:00" allowed as end
 *    "years": [{"year": 2026, "source": "国办发明电〔2025〕7号",
 *               "holidays": ["2026-01-01", ...], "workdays": ["2026-01-04", ...]}]}
 * Parsing is strict: unknown or repeated keys, years out of order or
 * repeated, dates that are malformed, outside their year, out of order,
 * repeated, both a holiday and a workday, or a workday that is a working day
 * anyway, are refused with the path of the bad entry.
 *
 * Ownership: sla_calendar_parse() returns one allocation that the caller owns
 * and releases with sla_calendar_free(). A calendar is never changed after
 * parsing, so any number of threads may read one at once; the clocks borrow
 * it (sla_clock.h) and it must outlive them. Nothing else allocates. */
#ifndef GW_SLA_CALENDAR_H
#define GW_SLA_CALENDAR_H
#include <cjson/cJSON.h>
#include <stddef.h>

#define SLA_UTC_OFFSET_S (8 * 3600) /* China Standard Time, no daylight saving */
#define SLA_DAY_S 86400

/* Instants the engine accepts: 1970-01-01 to 2200-01-01 UTC. Every function
 * refuses (or answers SLA_NEVER for) instants outside. */
#define SLA_TIME_MAX 7258118400LL
#define SLA_NEVER (-1LL) /* "no such instant" */

#define SLA_CAL_MIN_YEAR 2000
#define SLA_CAL_MAX_YEAR 2199
#define SLA_CAL_MAX_YEARS 64      /* year entries in one document */
#define SLA_CAL_MAX_TEXT 65536    /* bytes of one document */
#define SLA_CAL_MAX_NOTE 1024     /* bytes of a "note" or "source" */
#define SLA_CAL_MIN_HOURS_S 3600  /* a working day is at least one hour long */

/* Where parsing failed: field is the JSON path of the bad entry
 * ("years[1].holidays[3]"; "" for the document itself), message a sentence
 * that names it too, for a log line or an error response. */
typedef struct {
    char field[64];
    char message[256];
} sla_error_t;

typedef struct sla_calendar sla_calendar_t;

/* The calendar of a document; NULL with *err filled on bad input or when
 * out of memory. */
sla_calendar_t *sla_calendar_parse(const char *text, size_t len, sla_error_t *err);
/* The same from an already parsed document (an admin request's body). */
sla_calendar_t *sla_calendar_from_json(const cJSON *doc, sla_error_t *err);
void sla_calendar_free(sla_calendar_t *cal);

/* Whether the document had an entry for that year. */
int sla_calendar_has_year(const sla_calendar_t *cal, int year);

/* The local (UTC+8) date of t. */
typedef struct {
    int year, month, day; /* 2026, 2, 15 */
    int weekday;          /* ISO: 1 = Monday .. 7 = Sunday */
    int second_of_day;    /* 0 .. 86399 */
} sla_local_t;
/* 0, or -1 when t is outside [0, SLA_TIME_MAX). */
int sla_local(long long t, sla_local_t *out);
/* The instant of local midnight starting that date; SLA_NEVER for a date
 * that does not exist or lies outside the range. */
long long sla_local_midnight(int year, int month, int day);

/* Whether that local date is a working day: 1 yes, 0 no, -1 not a date. */
int sla_calendar_is_working_day(const sla_calendar_t *cal, int year, int month, int day);
/* Whether t falls in working time: 1 yes, 0 no, -1 t out of range. */
int sla_calendar_is_working_time(const sla_calendar_t *cal, long long t);
/* The first working instant >= t; SLA_NEVER when out of range. */
long long sla_calendar_next_working(const sla_calendar_t *cal, long long t);
/* The earliest instant u >= t with business_between(t, u) == seconds (so
 * add(t, 0) == t, and a budget that ends at the close of a working day is due
 * at the close, not at the next opening). SLA_NEVER when out of range or
 * seconds < 0. */
long long sla_calendar_add(const sla_calendar_t *cal, long long t, long long seconds);
/* Working seconds in [t1, t2): 0 when t2 <= t1; -1 when out of range. */
long long sla_calendar_between(const sla_calendar_t *cal, long long t1, long long t2);

#endif
