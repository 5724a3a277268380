#include "media_objects.h"

#include <string.h>

#include "log.h"

static void sorted_keys(const char *a, const char *b, const char *out[2], int *n)
{
    int c = strcmp(a, b);
    out[0] = c <= 0 ? a : b;
    out[1] = c <= 0 ? b : a;
    *n = c == 0 ? 1 : 2;
}

int media_objects_claim(db_conn_t *db, const char *key_a, const char *key_b)
{
    const char *keys[2];
    int n;
    sorted_keys(key_a, key_b, keys, &n);
    for (int i = 0; i < n; i++)
        if (db_exec(db,
                    "INSERT INTO media_objects (sha256) VALUES (?)"
                    " ON DUPLICATE KEY UPDATE orphaned_at = NULL",
                    DB_ARGS(DB_STR(keys[i]))) != 0)
            return -1;
    return 0;
}

int media_objects_release(db_conn_t *db, const char *key_a, const char *key_b)
{
    const char *keys[2];
    int n;
    sorted_keys(key_a, key_b, keys, &n);
    /* Marked whether or not another upload still shares the file: the purge
     * decides that under the row's lock, after this commit. */
    for (int i = 0; i < n; i++)
        if (db_exec(db, "UPDATE media_objects SET orphaned_at = COALESCE(orphaned_at, NOW(3)) WHERE sha256 = ?",
                    DB_ARGS(DB_STR(keys[i]))) != 0)
            return -1;
    return 0;
}

/* One key, one transaction. 1 deleted, 0 kept (referenced, not marked, or
 * locked by another purge), -1 error (rolled back; the row stays marked). */
static int purge_one(db_conn_t *db, media_store_t *store, const char *key)
{
    long long marked = 0, refs = 0;
    int rc = -1, found;
    if (db_begin(db) != 0)
        goto Exit;
    found = db_query_int(db, &marked,
                         "SELECT orphaned_at IS NOT NULL FROM media_objects WHERE sha256 = ? FOR UPDATE SKIP LOCKED",
                         DB_ARGS(DB_STR(key)));
    if (found < 0)
        goto Exit;
    if (found == 0 || !marked) {
        rc = 0; /* gone, claimed again, or another process is on it */
        goto Exit;
    }
    if (db_query_int(db, &refs,
                     "SELECT (SELECT COUNT(*) FROM uploads WHERE sha256 = ?)"
                     " + (SELECT COUNT(*) FROM uploads WHERE thumb_sha256 = ?)",
                     DB_ARGS(DB_STR(key), DB_STR(key))) < 0)
        goto Exit;
    if (refs > 0) {
        if (db_exec(db, "UPDATE media_objects SET orphaned_at = NULL WHERE sha256 = ?", DB_ARGS(DB_STR(key))) != 0 ||
            db_commit(db) != 0)
            goto Exit;
        return 0;
    }
    /* Unlinked while the row is locked: a writer of the same content waits
     * for this transaction and then stores the file again. A commit that
     * fails after the unlink leaves a marked row without a file, which the
     * next purge deletes (a missing file counts as deleted). */
    if (db_exec(db, "DELETE FROM media_objects WHERE sha256 = ?", DB_ARGS(DB_STR(key))) != 0 ||
        media_store_del(store, key) != 0 || db_commit(db) != 0)
        goto Exit;
    log_debug("media", "deleted %.12s...", key);
    return 1;
Exit:
    if (rc < 0)
        log_error("media", "cannot purge %.12s... yet (tried again later): %s", key, db_error(db));
    db_rollback(db);
    return rc;
}

int media_objects_purge(db_conn_t *db, media_store_t *store, const char *key_a, const char *key_b)
{
    const char *keys[2];
    int n, rc = 0;
    sorted_keys(key_a, key_b, keys, &n);
    for (int i = 0; i < n; i++)
        if (purge_one(db, store, keys[i]) < 0)
            rc = -1;
    return rc;
}

int media_objects_purge_pending(db_conn_t *db, media_store_t *store, int older_than_s, int max)
{
    db_rows_t *r = db_query(db,
                            "SELECT sha256 FROM media_objects WHERE orphaned_at < NOW(3) - INTERVAL ? SECOND"
                            " ORDER BY orphaned_at LIMIT ?",
                            DB_ARGS(DB_INT(older_than_s), DB_INT(max)));
    if (!r)
        return -1;
    int n = r->nrows;
    for (int i = 0; i < r->nrows; i++)
        purge_one(db, store, db_get(r, i, "sha256"));
    db_rows_free(r);
    return n;
}
