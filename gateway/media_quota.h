/* media_quota.h: the per-user daily upload quota (upload_daily_max_count
 * photos and upload_daily_max_bytes stored bytes a day).
 *
 * A day is the calendar day in Asia/Shanghai (UTC+8 all year, no daylight
 * saving), computed here from Unix time: neither the server's TZ nor the
 * database session's time zone matters. The counters live in
 * upload_quota_days, one row per user and day, updated in the transaction
 * that inserts the upload (the row lock serialises two uploads of one user,
 * so both cannot pass at the quota's edge). */
#ifndef GW_MEDIA_QUOTA_H
#define GW_MEDIA_QUOTA_H
#include <time.h>

#include "db.h"

#define MEDIA_QUOTA_UTC_OFFSET_S (8 * 3600) /* Asia/Shanghai */
#define MEDIA_QUOTA_KEEP_DAYS 7             /* counter rows older than this are pruned */

typedef struct {
    char day[11];     /* "YYYY-MM-DD", the Asia/Shanghai day of t */
    int seconds_left; /* until that day ends (1..86400): the Retry-After of a refusal */
} media_quota_day_t;

void media_quota_day(time_t t, media_quota_day_t *out);

typedef enum {
    MEDIA_QUOTA_OK = 0,
    MEDIA_QUOTA_COUNT, /* the day's count is used up */
    MEDIA_QUOTA_BYTES, /* the day's bytes are used up */
    MEDIA_QUOTA_ERROR = -1,
} media_quota_status_t;

/* A read-only look before any work: is the quota already used up? (An
 * upload may still be refused by media_quota_charge, which decides.)
 * max_count / max_bytes 0 mean no limit. */
media_quota_status_t media_quota_peek(db_conn_t *db, long long user_id, const char *day, long long max_count,
                                      long long max_bytes);

/* Inside the caller's transaction: counts one upload of `bytes` and checks
 * the result against the limits. Anything but MEDIA_QUOTA_OK: the caller
 * rolls back (the count is undone with it). */
media_quota_status_t media_quota_charge(db_conn_t *db, long long user_id, const char *day, long long bytes,
                                        long long max_count, long long max_bytes);

/* Inside the caller's transaction: gives back one upload of `bytes` charged
 * on `day` (its files could not be stored). 0 or -1. */
int media_quota_refund(db_conn_t *db, long long user_id, const char *day, long long bytes);

/* Deletes counter rows of days older than MEDIA_QUOTA_KEEP_DAYS before `day`
 * (at most `limit` rows). 0 or -1. */
int media_quota_prune(db_conn_t *db, const char *day, int limit);

#endif
