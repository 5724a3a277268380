#include "upload_sweeper.h"

#include <stdio.h>

#include "background.h"
#include "config.h"
#include "log.h"
#include "media_objects.h"
#include "media_store.h"

/* One orphan per transaction: claimed with SKIP LOCKED so several gateway
 * processes share the work, and locked so the repairs code cannot attach it
 * meanwhile (its conditional UPDATE ... WHERE ticket_id IS NULL then finds
 * nothing). Returns 1 if one was removed, 0 if none is due, -1 on error. */
static int sweep_one(db_conn_t *db, media_store_t *store)
{
    db_rows_t *r = NULL;
    int rc = -1;
    if (db_begin(db) != 0)
        goto Exit;
    r = db_query(db,
                 "SELECT id, sha256, thumb_sha256 FROM uploads"
                 " WHERE ticket_id IS NULL AND created_at < NOW(3) - INTERVAL ? SECOND"
                 " ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED",
                 DB_ARGS(DB_INT(gw_cfg->upload_orphan_ttl_s)));
    if (!r)
        goto Exit;
    if (r->nrows == 0) {
        rc = 0;
        goto Exit;
    }
    long long id = db_cell_int(r, 0, 0);
    if (db_exec(db, "DELETE FROM uploads WHERE id = ? AND ticket_id IS NULL", DB_ARGS(DB_INT(id))) != 0 ||
        media_objects_release(db, store, db_cell(r, 0, 1), db_cell(r, 0, 2)) != 0 || db_commit(db) != 0)
        goto Exit;
    log_info("uploads", "removed orphan upload=%lld", id);
    rc = 1;
Exit:
    if (rc < 0)
        log_error("uploads", "orphan sweep failed: %s", db_error(db));
    if (rc != 1)
        db_rollback(db);
    db_rows_free(r);
    return rc;
}

void upload_sweeper_job(db_conn_t *db)
{
    media_store_t *store = media_store_default();
    if (!store)
        return;
    for (int i = 0; i < UPLOAD_SWEEP_BATCH && !background_stopping(); i++)
        if (sweep_one(db, store) != 1)
            break;
    if (db_exec(db, "DELETE FROM media_check_results WHERE received_at < NOW(3) - INTERVAL ? DAY LIMIT 1000",
                DB_ARGS(DB_INT(MEDIA_CHECK_RESULTS_KEEP_DAYS))) != 0)
        log_error("uploads", "cannot prune old content-check verdicts: %s", db_error(db));
}
