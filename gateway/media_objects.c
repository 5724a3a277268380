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
                    " ON DUPLICATE KEY UPDATE sha256 = VALUES(sha256)",
                    DB_ARGS(DB_STR(keys[i]))) != 0)
            return -1;
    return 0;
}

int media_objects_release(db_conn_t *db, media_store_t *store, const char *key_a, const char *key_b)
{
    const char *keys[2];
    int n;
    sorted_keys(key_a, key_b, keys, &n);
    for (int i = 0; i < n; i++) {
        long long one = 0, refs = 0;
        if (db_query_int(db, &one, "SELECT 1 FROM media_objects WHERE sha256 = ? FOR UPDATE",
                         DB_ARGS(DB_STR(keys[i]))) < 0)
            return -1;
        if (db_query_int(db, &refs,
                         "SELECT (SELECT COUNT(*) FROM uploads WHERE sha256 = ?)"
                         " + (SELECT COUNT(*) FROM uploads WHERE thumb_sha256 = ?)",
                         DB_ARGS(DB_STR(keys[i]), DB_STR(keys[i]))) < 0)
            return -1;
        if (refs > 0)
            continue;
        /* Deleted while the row is locked: a writer of the same content
         * waits for this transaction and then stores the file again. */
        if (media_store_del(store, keys[i]) != 0)
            return -1;
        if (db_exec(db, "DELETE FROM media_objects WHERE sha256 = ?", DB_ARGS(DB_STR(keys[i]))) != 0)
            return -1;
        log_debug("media", "deleted %.12s...", keys[i]);
    }
    return 0;
}
