/* upload_sweeper.c: the background side of photo uploads.
 *
 * upload-sweeper (every upload_sweep_interval_ms) removes orphan uploads,
 * photos never attached to a ticket (ticket_id NULL) within
 * upload_orphan_ttl_s, then, once that deletion committed, their files if
 * no other upload shares them (gateway/media_objects.h); it finishes file
 * deletions left undone before. It also forgets content-check verdicts older
 * than MEDIA_CHECK_RESULTS_KEEP_DAYS and upload quota counters older than
 * MEDIA_QUOTA_KEEP_DAYS.
 *
 * media-check-retry (same interval, only with the content check on)
 * submits again the photos whose content check could not be submitted
 * (gateway/media_check.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gateway/background.h"
#include "gateway/config.h"
#include "gateway/log.h"
#include "gateway/media_check.h"
#include "gateway/media_objects.h"
#include "gateway/media_quota.h"
#include "gateway/media_store.h"
#include "handlers/handlers.h"

#define UPLOAD_SWEEP_BATCH 200
#define MEDIA_CHECK_RESULTS_KEEP_DAYS 30

/* One orphan per transaction: claimed with SKIP LOCKED so several gateway
 * processes share the work, and locked so the repairs code cannot attach it
 * meanwhile (its conditional UPDATE ... WHERE ticket_id IS NULL then finds
 * nothing). The row goes and its files are marked in that transaction; the
 * files are deleted only after it committed (media_objects.h), so a deletion
 * that fails or is rolled back leaves the upload with its files. Returns 1
 * if one was removed, 0 if none is due, -1 on error. */
static int sweep_one(db_conn_t *db, media_store_t *store)
{
    db_rows_t *r = NULL;
    int rc = -1;
    char key[MEDIA_KEY_LEN + 1], thumb_key[MEDIA_KEY_LEN + 1];
    if (db_begin(db) != 0)
        goto Exit;
    r = db_query(db,
                 "SELECT id, sha256, thumb_sha256 FROM uploads"
                 " WHERE ticket_id IS NULL AND complaint_id IS NULL AND created_at < NOW(3) - INTERVAL ? SECOND"
                 " ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED",
                 DB_ARGS(DB_INT(gw_cfg->upload_orphan_ttl_s)));
    if (!r)
        goto Exit;
    if (r->nrows == 0) {
        rc = 0;
        goto Exit;
    }
    long long id = db_get_int(r, 0, "id");
    snprintf(key, sizeof(key), "%s", db_get(r, 0, "sha256"));
    snprintf(thumb_key, sizeof(thumb_key), "%s", db_get(r, 0, "thumb_sha256"));
    if (db_exec(db, "DELETE FROM uploads WHERE id = ? AND ticket_id IS NULL AND complaint_id IS NULL", DB_ARGS(DB_INT(id))) != 0 ||
        media_objects_release(db, key, thumb_key) != 0 || db_commit(db) != 0)
        goto Exit;
    log_info("uploads", "removed orphan upload=%lld", id);
    rc = 1;
    /* Committed: now the files, unless another upload shares them. A purge
     * that fails here is finished by media_objects_purge_pending. */
    media_objects_purge(db, store, key, thumb_key);
Exit:
    if (rc < 0)
        log_error("uploads", "orphan sweep failed: %s", db_error(db));
    if (rc != 1)
        db_rollback(db);
    db_rows_free(r);
    return rc;
}

static void sweep(db_conn_t *db)
{
    media_store_t *store = media_store_default();
    if (!store)
        return;
    for (int i = 0; i < UPLOAD_SWEEP_BATCH && !background_stopping(); i++)
        if (sweep_one(db, store) != 1)
            break;
    /* Files whose purge did not finish (a crash between the commit and the
     * unlink, a failed unlink): after the same grace as an orphan, so that
     * only a process that could have swept the upload finishes its files. */
    if (!background_stopping() &&
        media_objects_purge_pending(db, store, gw_cfg->upload_orphan_ttl_s, UPLOAD_SWEEP_BATCH) < 0)
        log_error("uploads", "cannot look for files left to delete: %s", db_error(db));
    if (db_exec(db, "DELETE FROM media_check_results WHERE received_at < NOW(3) - INTERVAL ? DAY LIMIT 1000",
                DB_ARGS(DB_INT(MEDIA_CHECK_RESULTS_KEEP_DAYS))) != 0)
        log_error("uploads", "cannot prune old content-check verdicts: %s", db_error(db));
    media_quota_day_t today;
    media_quota_day(time(NULL), &today);
    if (media_quota_prune(db, today.day, 1000) != 0)
        log_error("uploads", "cannot prune old upload quota counters: %s", db_error(db));
}

void upload_sweeper_register(void)
{
    background_register("upload-sweeper", gw_cfg->upload_sweep_interval_ms, sweep);
    if (media_check_enabled())
        background_register("media-check-retry", gw_cfg->upload_sweep_interval_ms, media_check_retry_job);
}
