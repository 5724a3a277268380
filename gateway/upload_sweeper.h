/* upload_sweeper.h: the background job that removes orphan uploads, photos
 * never attached to a ticket (ticket_id NULL) within upload_orphan_ttl_s,
 * then, once that deletion committed, their files if no other upload shares
 * them (media_objects.h); it finishes file deletions left undone before. It
 * also forgets content-check verdicts older than MEDIA_CHECK_RESULTS_KEEP_DAYS
 * and upload quota counters older than MEDIA_QUOTA_KEEP_DAYS. */
#ifndef GW_UPLOAD_SWEEPER_H
#define GW_UPLOAD_SWEEPER_H
#include "db.h"

#define UPLOAD_SWEEP_BATCH 200
#define MEDIA_CHECK_RESULTS_KEEP_DAYS 30

void upload_sweeper_job(db_conn_t *db);

#endif
