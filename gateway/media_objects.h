/* media_objects.h: keeping stored files and the rows that reference them in
 * step, with several gateway processes on one database.
 *
 * Each stored file has a media_objects row (its sha256). Writers lock it
 * (claim) in the transaction that inserts the uploads row, and write the file
 * after the commit; whoever removes uploads rows releases the keys in the same
 * transaction: with the row locked it checks that no upload references the
 * key any more, and only then deletes the file and the row. The two therefore
 * never interleave, and a file is deleted only when nothing points at it.
 * Keys are locked in a fixed (sorted) order to avoid deadlocks. */
#ifndef GW_MEDIA_OBJECTS_H
#define GW_MEDIA_OBJECTS_H
#include "db.h"
#include "media_store.h"

/* Inside the caller's transaction: creates or locks the rows of both keys
 * (they may be equal). 0 or -1 (db error). */
int media_objects_claim(db_conn_t *db, const char *key_a, const char *key_b);

/* Inside the caller's transaction, after it deleted its uploads rows: for each
 * key no upload references, deletes the file from store and the row.
 * 0 or -1 (db or store error: roll back). */
int media_objects_release(db_conn_t *db, media_store_t *store, const char *key_a, const char *key_b);

#endif
