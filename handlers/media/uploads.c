/* uploads.c: photo uploads (the photos of repair tickets).
 *
 *   POST /api/v1/uploads   multipart/form-data as wx.uploadFile sends it, the
 *                          photo in the field "file"; other fields are ignored
 *
 * Steps: CPU (split the multipart body) -> DB (is the user's daily quota
 * used up already? then 429 before any decoding) -> CPU (decide the type from
 * the bytes, check the size in the header, reserve the decode's memory in
 * the process-wide budget, validate, turn upright, strip all metadata,
 * thumbnail, hash) -> DB (count the upload against the quota, insert the row,
 * claim the file keys: one transaction) -> CPU (write the files) -> [WeChat
 * (submit the content check) -> DB (record its trace_id)] -> 201 with signed
 * URLs. The row is written before the files so the orphan sweeper can never
 * delete a file a new row is about to use (gateway/media_objects.h). The
 * upload stays an orphan until the repairs code sets its ticket_id; the
 * sweeper of orphans and the content check's retries are
 * jobs/upload_sweeper.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/call.h"
#include "gateway/config.h"
#include "gateway/image.h"
#include "gateway/log.h"
#include "gateway/metrics.h"
#include "gateway/media_check.h"
#include "gateway/media_budget.h"
#include "gateway/media_objects.h"
#include "gateway/media_quota.h"
#include "gateway/media_store.h"
#include "gateway/media_url.h"
#include "gateway/multipart.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"

#define UPLOAD_MAX_PARTS 16
#define UPLOAD_FILE_FIELD "file"
#define UPLOAD_BUSY_RETRY_AFTER_S 2 /* the decode budget was full: other photos finish within seconds */

typedef struct {
    const char *file; /* the photo's bytes, inside c->raw until they are processed */
    size_t file_len;
    media_quota_day_t day; /* the quota day the upload counts on */
    image_out_t img;
    char key[MEDIA_KEY_LEN + 1];
    char thumb_key[MEDIA_KEY_LEN + 1];
    long long id;
    char trace_id[128];
} upload_t;

static void upload_free(void *p)
{
    upload_t *u = p;
    image_out_free(&u->img);
    free(u);
}

static void respond_created(gw_call_t *c)
{
    upload_t *u = c->state;
    char url[256], thumb_url[256];
    long long ttl = gw_cfg->media_url_ttl_s;
    if (media_url_sign(u->id, "full", ttl, url, sizeof(url)) != 0 ||
        media_url_sign(u->id, "thumb", ttl, thumb_url, sizeof(thumb_url)) != 0) {
        call_fail(c, ERR_INTERNAL, NULL, NULL);
        return;
    }
    cJSON *d = cJSON_CreateObject();
    cJSON_AddNumberToObject(d, "id", (double)u->id);
    cJSON_AddStringToObject(d, "url", url);
    cJSON_AddStringToObject(d, "thumb_url", thumb_url);
    cJSON_AddNumberToObject(d, "url_expires_at", (double)((long long)time(NULL) + ttl));
    cJSON_AddStringToObject(d, "content_type", u->img.content_type);
    cJSON_AddNumberToObject(d, "bytes", (double)u->img.len);
    cJSON_AddNumberToObject(d, "width", u->img.width);
    cJSON_AddNumberToObject(d, "height", u->img.height);
    call_ok(c, 201, d);
}

/* ---- steps ---- */

static void upload_quota_check(gw_call_t *c, db_conn_t *db);
static void upload_image(gw_call_t *c);
static void upload_insert(gw_call_t *c, db_conn_t *db);
static void upload_write_files(gw_call_t *c);
static void upload_undo(gw_call_t *c, db_conn_t *db);
static void upload_submit_check(gw_call_t *c);
static void upload_record_check(gw_call_t *c, db_conn_t *db);

/* CPU: the multipart body, and the file's presence and size. */
static void upload_process(gw_call_t *c)
{
    char boundary[MULTIPART_BOUNDARY_MAX + 1];
    switch (multipart_boundary(c->content_type, boundary, sizeof(boundary))) {
    case 0:
        break;
    case -1:
        call_fail(c, ERR_UNSUPPORTED_MEDIA, NULL,
                  "Content-Type must be multipart/form-data with the photo in the field \"file\"");
        return;
    default:
        call_fail(c, ERR_INVALID_FIELD, NULL, "multipart/form-data needs a boundary parameter of 1-70 characters");
        return;
    }
    mp_part_t parts[UPLOAD_MAX_PARTS];
    int nparts = 0;
    mp_status_t mst = multipart_parse(c->raw, c->raw_len, boundary, parts, UPLOAD_MAX_PARTS, &nparts);
    if (mst != MP_OK) {
        call_fail(c, ERR_INVALID_FIELD, NULL, "malformed multipart body: %s%s", multipart_strerror(mst),
                  mst == MP_ERR_TOO_MANY_PARTS ? " (at most 16)" : "");
        return;
    }
    const mp_part_t *file = multipart_find(parts, nparts, UPLOAD_FILE_FIELD);
    if (!file || !file->filename) {
        call_fail(c, ERR_MISSING_FIELD, UPLOAD_FILE_FIELD, "the photo must be sent as the file field \"file\"");
        return;
    }
    if (file->len == 0) {
        call_fail(c, ERR_INVALID_FIELD, UPLOAD_FILE_FIELD, "the file is empty");
        return;
    }
    if (file->len > (size_t)gw_cfg->upload_max_bytes) {
        call_fail(c, ERR_PAYLOAD_TOO_LARGE, UPLOAD_FILE_FIELD, "the photo is %zu bytes; at most %d are accepted",
                  file->len, gw_cfg->upload_max_bytes);
        return;
    }
    upload_t *u = call_state_new_or_fail(c, 1, sizeof(*u), upload_free);
    if (!u)
        return;
    u->file = file->data;
    u->file_len = file->len;
    media_quota_day(time(NULL), &u->day);
    if (gw_cfg->upload_daily_max_count > 0 || gw_cfg->upload_daily_max_bytes > 0)
        call_then_db(c, upload_quota_check);
    else
        call_then_cpu(c, upload_image);
}

/* 429 naming the quota, until the Asia/Shanghai day ends. */
static void fail_quota(gw_call_t *c, media_quota_status_t st)
{
    upload_t *u = c->state;
    c->retry_after_s = u->day.seconds_left;
    if (st == MEDIA_QUOTA_COUNT) {
        metrics_upload_refused(METRICS_UPLOAD_QUOTA_COUNT);
        call_fail(c, ERR_RATE_LIMITED, NULL,
                  "daily upload quota reached: at most %d photos a day; it resets at midnight China time (UTC+8)",
                  gw_cfg->upload_daily_max_count);
    } else {
        long long max = gw_cfg->upload_daily_max_bytes;
        char size[48];
        if (max >= 1024 * 1024)
            snprintf(size, sizeof(size), "%.*f MiB", max % (1024 * 1024) ? 1 : 0, (double)max / (1024.0 * 1024.0));
        else
            snprintf(size, sizeof(size), "%lld bytes", max);
        metrics_upload_refused(METRICS_UPLOAD_QUOTA_BYTES);
        call_fail(c, ERR_RATE_LIMITED, NULL,
                  "daily upload quota reached: at most %s of photos a day; it resets at midnight China time (UTC+8)",
                  size);
    }
}

/* DB: a user whose quota is used up is refused before any decoding.
 * Only a first look: the insert's transaction decides. */
static void upload_quota_check(gw_call_t *c, db_conn_t *db)
{
    upload_t *u = c->state;
    media_quota_status_t st =
        media_quota_peek(db, c->user.id, u->day.day, gw_cfg->upload_daily_max_count, gw_cfg->upload_daily_max_bytes);
    if (st == MEDIA_QUOTA_ERROR) {
        call_fail_db(c);
        return;
    }
    if (st != MEDIA_QUOTA_OK) {
        fail_quota(c, st);
        return;
    }
    call_then_cpu(c, upload_image);
}

/* CPU: everything that looks at the image's bytes. */
static void upload_image(gw_call_t *c)
{
    upload_t *u = c->state;
    char why[200];
    switch (image_process((const unsigned char *)u->file, u->file_len, &u->img, why, sizeof(why))) {
    case IMAGE_OK:
        break;
    case IMAGE_UNSUPPORTED:
        call_fail(c, ERR_UNSUPPORTED_MEDIA, UPLOAD_FILE_FIELD, "%s", why);
        return;
    case IMAGE_INVALID:
        call_fail(c, ERR_IMAGE_INVALID, UPLOAD_FILE_FIELD, "%s", why);
        return;
    case IMAGE_TOO_LARGE:
        metrics_upload_refused(METRICS_UPLOAD_TOO_LARGE);
        call_fail(c, ERR_IMAGE_TOO_LARGE, UPLOAD_FILE_FIELD, "%s", why);
        return;
    case IMAGE_BUSY:
        metrics_upload_refused(METRICS_UPLOAD_DECODE_BUSY);
        c->retry_after_s = UPLOAD_BUSY_RETRY_AFTER_S;
        call_fail(c, ERR_OVERLOADED, NULL, "%s", why);
        return;
    case IMAGE_NOMEM:
        call_fail(c, ERR_OVERLOADED, NULL, "out of memory; retry later");
        return;
    }
    media_key_of(u->img.data, u->img.len, u->key);
    media_key_of(u->img.thumb, u->img.thumb_len, u->thumb_key);
    /* The original is no longer needed; free it before the slower steps. */
    u->file = NULL;
    u->file_len = 0;
    free(c->raw);
    c->raw = NULL;
    c->raw_len = 0;
    call_then_db(c, upload_insert);
}

/* DB: the quota's count, the row, and the locks on its file keys, in
 * one transaction. */
static void upload_insert(gw_call_t *c, db_conn_t *db)
{
    upload_t *u = c->state;
    int check = media_check_enabled();
    if (db_begin(db) != 0)
        goto DbError;
    media_quota_status_t qst = media_quota_charge(db, c->user.id, u->day.day, (long long)u->img.len,
                                                  gw_cfg->upload_daily_max_count, gw_cfg->upload_daily_max_bytes);
    if (qst == MEDIA_QUOTA_ERROR)
        goto DbError;
    if (qst != MEDIA_QUOTA_OK) {
        fail_quota(c, qst);
        return;
    }
    if (media_objects_claim(db, u->key, u->thumb_key) != 0)
        goto DbError;
    /* With the content check on, the submission below is attempt 1 and a
     * retry is already scheduled in case it fails. */
    if (db_exec(
            db,
            "INSERT INTO uploads (user_id, sha256, thumb_sha256, content_type, bytes, width, height,"
            " check_attempts, check_next_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, IF(?, NOW(3) + INTERVAL ? SECOND, NULL))",
            DB_ARGS(DB_INT(c->user.id), DB_STR(u->key), DB_STR(u->thumb_key), DB_STR(u->img.content_type),
                    DB_INT(u->img.len), DB_INT(u->img.width), DB_INT(u->img.height), DB_INT(check ? 1 : 0),
                    DB_INT(check), DB_INT(gw_cfg->media_check_retry_s))) != 0)
        goto DbError;
    u->id = (long long)db_insert_id(db);
    if (db_commit(db) != 0)
        goto DbError;
    call_then_cpu(c, upload_write_files);
    return;
DbError:
    call_fail_db(c);
}

/* CPU: file I/O. */
static void upload_write_files(gw_call_t *c)
{
    upload_t *u = c->state;
    media_store_t *store = media_store_default();
    char key[MEDIA_KEY_LEN + 1], thumb_key[MEDIA_KEY_LEN + 1];
    if (!store || media_store_put(store, u->img.data, u->img.len, key) != 0 ||
        media_store_put(store, u->img.thumb, u->img.thumb_len, thumb_key) != 0) {
        call_then_db(c, upload_undo);
        return;
    }
    log_info("uploads", "stored upload=%lld user=%lld type=%s bytes=%zu size=%dx%d", u->id, c->user.id,
             u->img.content_type, u->img.len, u->img.width, u->img.height);
    if (media_check_enabled()) /* the photo is stored: a busy WeChat pool leaves it to the retry job */
        call_then_or(c, POOL_WECHAT, upload_submit_check, 0, POOL_LOOP, respond_created);
    else
        respond_created(c);
}

/* DB: the files could not be written; remove the row again (and its
 * count in the quota), then whatever part of its files is not shared. */
static void upload_undo(gw_call_t *c, db_conn_t *db)
{
    upload_t *u = c->state;
    media_store_t *store = media_store_default();
    if (db_begin(db) != 0 || db_exec(db, "DELETE FROM uploads WHERE id = ?", DB_ARGS(DB_INT(u->id))) != 0 ||
        media_quota_refund(db, c->user.id, u->day.day, (long long)u->img.len) != 0 ||
        media_objects_release(db, u->key, u->thumb_key) != 0 || db_commit(db) != 0)
        log_error("uploads", "cannot remove upload=%lld after a storage failure: %s", u->id, db_error(db));
    else if (store)
        media_objects_purge(db, store, u->key, u->thumb_key);
    /* A transaction left open by a failure above is rolled back with the call. */
    call_fail(c, ERR_INTERNAL, NULL, "the photo could not be stored; retry later");
}

/* WeChat: a failure leaves the upload 'unchecked' for the retry job. */
static void upload_submit_check(gw_call_t *c)
{
    upload_t *u = c->state;
    wx_status_t st;
    if (media_check_submit(u->id, c->user.openid, u->trace_id, sizeof(u->trace_id), &st) == 0)
        call_then_db(c, upload_record_check);
    else
        respond_created(c);
}

static void upload_record_check(gw_call_t *c, db_conn_t *db)
{
    upload_t *u = c->state;
    media_check_record_submission(db, u->id, u->trace_id); /* logged; the retry job covers a failure */
    respond_created(c);
}

static const route_t routes[] = {
    {"POST", "/api/v1/uploads", ROLE_ANY, BODY_RAW, CPU_STEP(upload_process), .rate = RATE_UPLOADS,
     .wechat = WX_MEDIA_CHECK},
};

void uploads_register(void)
{
    if (media_url_set_key(gw_cfg->media_url_key, strlen(gw_cfg->media_url_key)) != 0)
        log_error("uploads", "config: media_url_key: cannot be used as a signing key");
    media_store_open_default(gw_cfg->media_dir);
    if (media_budget_open_default((size_t)gw_cfg->image_decode_budget_bytes, gw_cfg->image_decode_wait_ms) != 0)
        log_error("uploads", "cannot set up the image decode budget; decodes are not capped");
    image_limits_t lim = {.max_pixels = gw_cfg->image_max_pixels, .budget = media_budget_default()};
    image_set_limits(&lim);
    ROUTES_REGISTER(routes);
}
