/* media_objects.h: keeping stored files and the rows that reference them in
 * step, with several gateway processes on one database.
 *
 * Each stored file has a media_objects row (its sha256). Writers lock it
 * (claim) in the transaction that inserts the uploads row, and write the file
 * after the commit. Whoever removes uploads rows marks their keys' rows
 * (orphaned_at) in the same transaction, commits, and only then purges: in
 * a transaction of its own, with the media_objects row locked, it checks that
 * no upload references the key any more, deletes the file and then the row.
 *
 * So a failed or rolled-back deletion never loses a file (nothing was
 * unlinked before the uploads row was gone for good), and a purge never
 * interleaves with a writer of the same content: the writer's claim waits
 * for the purge's lock and then stores the file again, or the purge waits for
 * the writer's commit and then sees the new reference. A purge that did not
 * finish (a crash after the commit, a failed unlink, a failed commit) leaves
 * the row marked, and media_objects_purge_pending finishes it later: a file
 * is deleted only when no row references it. Keys are locked in a fixed
 * (sorted) order to avoid deadlocks. */
#ifndef GW_MEDIA_OBJECTS_H
#define GW_MEDIA_OBJECTS_H
#include "db.h"
#include "media_store.h"

/* Inside the caller's transaction: creates or locks the rows of both keys
 * (they may be equal), and cancels a pending purge of them. 0 or -1. */
int media_objects_claim(db_conn_t *db, const char *key_a, const char *key_b);

/* Inside the caller's transaction, after it deleted its uploads rows: marks
 * both keys for a purge. 0 or -1 (db error: roll back). Nothing is deleted
 * from the store here; call media_objects_purge once the caller committed. */
int media_objects_release(db_conn_t *db, const char *key_a, const char *key_b);

/* After the caller's commit, each key in a transaction of its own: deletes
 * the file and the row if the row is marked and no upload references the
 * key; unmarks it if one does. 0, or -1 when a key could not be finished
 * (it stays marked for media_objects_purge_pending). */
int media_objects_purge(db_conn_t *db, media_store_t *store, const char *key_a, const char *key_b);

/* Finishes marked rows left behind, those marked more than older_than_s
 * seconds ago (at most max of them; rows another process is purging are
 * skipped). Returns how many were looked at, or -1. */
int media_objects_purge_pending(db_conn_t *db, media_store_t *store, int older_than_s, int max);

#endif
