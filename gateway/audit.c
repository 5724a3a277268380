#include "audit.h"

#include <stdlib.h>

int audit_write(db_conn_t *db, long long actor_user_id, long long project_id, const char *action,
                const char *target_type, long long target_id, const cJSON *detail)
{
    char *text = detail ? cJSON_PrintUnformatted(detail) : NULL;
    if (detail && !text)
        return -1;
    int rc = db_exec(db,
                     "INSERT INTO audit_log (actor_user_id, action, target_type, target_id, project_id, detail)"
                     " VALUES (?, ?, ?, ?, ?, ?)",
                     DB_ARGS(actor_user_id > 0 ? DB_INT(actor_user_id) : DB_NULL, DB_STR(action), DB_STR(target_type),
                             target_id > 0 ? DB_INT(target_id) : DB_NULL, project_id > 0 ? DB_INT(project_id) : DB_NULL,
                             DB_STR(text)));
    free(text);
    return rc;
}
