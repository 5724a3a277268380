/* migrate.h: numbered, forward-only schema migrations and the admin CLI.
 *
 * schema/NNN_name.sql files are applied in order by `gateway migrate`, each
 * recorded in schema_migrations; running it again applies nothing. A named
 * lock keeps two migrators from running at once. These run from the command
 * line, never on an event loop, so they use plain blocking connections. */
#ifndef GW_MIGRATE_H
#define GW_MIGRATE_H
#include "config.h"

/* Highest NNN among schema_dir's files; -1 if none or unreadable. */
long long migrate_latest_file_version(const char *dir);
int migrate_run(const gw_config_t *cfg);
/* A blocking connection as migrate_db_user (or db_user when it is empty),
 * with db_tls applied; NULL after printing why. Close with mysql_close. */
struct st_mysql *migrate_connect(const gw_config_t *cfg);
/* The user and password those commands log in with: migrate_db_user and the
 * contents of migrate_db_password_file, or db_user and db_password. 0, or -1
 * after printing why. *user points into cfg. */
int migrate_db_login(const gw_config_t *cfg, const char **user, char *password, size_t passwordsz);
/* Grants a role (creating the user by openid if needed). project_id 0 = global. */
int migrate_grant(const gw_config_t *cfg, const char *openid, const char *role, long long project_id);

#endif
