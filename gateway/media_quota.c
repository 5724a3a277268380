#include "media_quota.h"

#include <stdio.h>

void media_quota_day(time_t t, media_quota_day_t *out)
{
    /* Shift to UTC+8 and read the date in UTC: no TZ database involved. */
    time_t local = t + MEDIA_QUOTA_UTC_OFFSET_S;
    struct tm tm;
    gmtime_r(&local, &tm);
    strftime(out->day, sizeof(out->day), "%Y-%m-%d", &tm);
    long long into_day = ((long long)local % 86400 + 86400) % 86400;
    out->seconds_left = (int)(86400 - into_day);
}

static media_quota_status_t judge(long long uploads, long long bytes, long long max_count, long long max_bytes,
                                  int before)
{
    /* before: nothing of this upload counted yet, so reaching the limit
     * already leaves no room; after: this upload is in the counts */
    if (max_count > 0 && (before ? uploads >= max_count : uploads > max_count))
        return MEDIA_QUOTA_COUNT;
    if (max_bytes > 0 && (before ? bytes >= max_bytes : bytes > max_bytes))
        return MEDIA_QUOTA_BYTES;
    return MEDIA_QUOTA_OK;
}

static media_quota_status_t read_counts(db_conn_t *db, long long user_id, const char *day, long long max_count,
                                        long long max_bytes, int before)
{
    db_rows_t *r = db_query(db, "SELECT uploads, bytes FROM upload_quota_days WHERE user_id = ? AND day = ?",
                            DB_ARGS(DB_INT(user_id), DB_STR(day)));
    if (!r)
        return MEDIA_QUOTA_ERROR;
    media_quota_status_t st = MEDIA_QUOTA_OK;
    if (r->nrows > 0)
        st = judge(db_get_int(r, 0, "uploads"), db_get_int(r, 0, "bytes"), max_count, max_bytes, before);
    db_rows_free(r);
    return st;
}

media_quota_status_t media_quota_peek(db_conn_t *db, long long user_id, const char *day, long long max_count,
                                      long long max_bytes)
{
    if (max_count <= 0 && max_bytes <= 0)
        return MEDIA_QUOTA_OK;
    return read_counts(db, user_id, day, max_count, max_bytes, 1);
}

media_quota_status_t media_quota_charge(db_conn_t *db, long long user_id, const char *day, long long bytes,
                                        long long max_count, long long max_bytes)
{
    /* The upsert takes the row's lock until the caller's commit: a second
     * upload of the same user waits here and then sees this one counted. */
    if (db_exec(db,
                "INSERT INTO upload_quota_days (user_id, day, uploads, bytes) VALUES (?, ?, 1, ?)"
                " ON DUPLICATE KEY UPDATE uploads = uploads + 1, bytes = bytes + VALUES(bytes)",
                DB_ARGS(DB_INT(user_id), DB_STR(day), DB_INT(bytes))) != 0)
        return MEDIA_QUOTA_ERROR;
    return read_counts(db, user_id, day, max_count, max_bytes, 0);
}

int media_quota_refund(db_conn_t *db, long long user_id, const char *day, long long bytes)
{
    return db_exec(db,
                   "UPDATE upload_quota_days SET uploads = IF(uploads > 0, uploads - 1, 0),"
                   " bytes = IF(bytes > ?, bytes - ?, 0) WHERE user_id = ? AND day = ?",
                   DB_ARGS(DB_INT(bytes), DB_INT(bytes), DB_INT(user_id), DB_STR(day)));
}

int media_quota_prune(db_conn_t *db, const char *day, int limit)
{
    return db_exec(db, "DELETE FROM upload_quota_days WHERE day < CAST(? AS DATE) - INTERVAL ? DAY LIMIT ?",
                   DB_ARGS(DB_STR(day), DB_INT(MEDIA_QUOTA_KEEP_DAYS), DB_INT(limit)));
}
