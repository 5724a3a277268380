#include "events.h"

#include <math.h>
#include <stdlib.h>

/* The project of the row the event refers to, in the statement itself: the
 * row was usually written or locked by the same transaction. */
static const char *SQL_EMIT_DERIVED =
    "INSERT INTO notification_events (kind, user_id, ref_type, ref_id, project_id, payload)"
    " VALUES (?, ?, ?, ?, CASE ?"
    "  WHEN 'repair' THEN (SELECT project_id FROM repair_tickets WHERE id = ?)"
    "  WHEN 'lead' THEN (SELECT project_id FROM leads WHERE id = ?)"
    "  WHEN 'referral' THEN (SELECT project_id FROM referrals WHERE id = ?)"
    "  WHEN 'reward' THEN (SELECT project_id FROM referral_rewards WHERE id = ?) END, ?)";
static const char *SQL_EMIT =
    "INSERT INTO notification_events (kind, user_id, ref_type, ref_id, project_id, payload) VALUES (?, ?, ?, ?, ?, ?)";

/* A positive integer "project_id" in the payload, else 0. */
static long long payload_project(const cJSON *payload)
{
    const cJSON *p = payload ? cJSON_GetObjectItemCaseSensitive(payload, "project_id") : NULL;
    if (!cJSON_IsNumber(p) || p->valuedouble < 1 || p->valuedouble > 9007199254740992.0 ||
        p->valuedouble != floor(p->valuedouble))
        return 0;
    return (long long)p->valuedouble;
}

int events_emit_project(db_conn_t *db, const char *kind, long long user_id, const char *ref_type, long long ref_id,
                        long long project_id, const cJSON *payload)
{
    char *json = payload ? cJSON_PrintUnformatted(payload) : NULL;
    if (payload && !json)
        return -1;
    if (project_id <= 0)
        project_id = payload_project(payload);
    int rc;
    if (project_id > 0)
        rc = db_exec(db, SQL_EMIT,
                     DB_ARGS(DB_STR(kind), DB_INT(user_id), DB_STR(ref_type), DB_INT(ref_id), DB_INT(project_id),
                             DB_STR(json ? json : "{}")));
    else
        rc = db_exec(db, SQL_EMIT_DERIVED,
                     DB_ARGS(DB_STR(kind), DB_INT(user_id), DB_STR(ref_type), DB_INT(ref_id), DB_STR(ref_type),
                             DB_INT(ref_id), DB_INT(ref_id), DB_INT(ref_id), DB_INT(ref_id),
                             DB_STR(json ? json : "{}")));
    free(json);
    return rc;
}

int events_emit(db_conn_t *db, const char *kind, long long user_id, const char *ref_type, long long ref_id,
                const cJSON *payload)
{
    return events_emit_project(db, kind, user_id, ref_type, ref_id, 0, payload);
}
