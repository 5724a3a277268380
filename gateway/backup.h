/* backup.h: `gateway backup DIR` and `gateway restore DIR`.
 *
 * A backup is a folder:
 *   database.sql   mariadb-dump --single-transaction: every table as of one
 *                  consistent point (the dump's snapshot), taken first
 *   media/ab/cd/K  every photo in media_dir, copied after the dump, so every
 *                  photo a dumped row references is there (photos are written
 *                  before the rows that name them, and never changed)
 *   media.sha256   one line per photo, `sha256sum -c` format (run in DIR)
 *   manifest.json  written last: row count per table (counted in the dump),
 *                  size and SHA-256 of database.sql and media.sha256, photo
 *                  count and bytes. A folder without it is not a backup.
 *
 * restore checks every checksum first, refuses a database that has tables or
 * a media_dir that has photos, loads the dump with the mariadb client, puts
 * the photos in place, then checks the row counts against the manifest.
 *
 * Both connect as migrate_db_user when it is set (restore creates tables);
 * the password reaches mariadb-dump and mariadb through a pipe, never a
 * command line or a file. They run from the command line, single-threaded.
 * Return 0, or -1 after printing why on stderr. */
#ifndef GW_BACKUP_H
#define GW_BACKUP_H
#include "config.h"

int backup_run(const gw_config_t *cfg, const char *dir);
int restore_run(const gw_config_t *cfg, const char *dir);

#endif
