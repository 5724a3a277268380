#include "events.h"

#include <stdlib.h>

int events_emit(db_conn_t *db, const char *kind, long long user_id, const char *ref_type, long long ref_id,
                const cJSON *payload)
{
    char *json = payload ? cJSON_PrintUnformatted(payload) : NULL;
    int rc = db_exec(db,
                     "INSERT INTO notification_events (kind, user_id, ref_type, ref_id, payload)"
                     " VALUES (?, ?, ?, ?, ?)",
                     DB_ARGS(DB_STR(kind), DB_INT(user_id), DB_STR(ref_type), DB_INT(ref_id),
                             DB_STR(json ? json : "{}")));
    free(json);
    return rc;
}
