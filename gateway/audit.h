/* audit.h: the audit log, one row per change a person made (DB worker only).
 *
 * Write the row in the same transaction as the change it records, so that
 * one commits only with the other. `detail` is the change itself: by
 * convention {"before": {...}, "after": {...}} for an edit, plus whatever
 * explains it (a reason, the project). Never put a full phone number, an
 * openid or a secret in it: the log is read by staff. */
#ifndef GW_AUDIT_H
#define GW_AUDIT_H
#include <cjson/cJSON.h>

#include "db.h"

/* 0, or -1 after a database error (the caller fails the call with
 * call_fail_db). The caller keeps `detail` (may be NULL). project_id is the
 * project the change belongs to (a supervisor of that project reads the
 * row in GET /api/v1/admin/audit); 0 for a global change, which only admins
 * read. target_id 0 means none. */
int audit_write(db_conn_t *db, long long actor_user_id, long long project_id, const char *action,
                const char *target_type, long long target_id, const cJSON *detail);

/* An edit's audit row: detail is {"before": {...}, "after": {...}} holding
 * only the fields whose values differ between the two renderings of the
 * object (db_row_json of the same SELECT before and after the change), plus
 * "project_id" when project_id > 0 (so a project's changes can be found).
 * before NULL: a creation (the whole object after, "before": null); after
 * NULL: a deletion. Neither may hold a full phone or an openid. extra
 * (may be NULL): more fields copied into detail (what else the change did).
 * The caller keeps before, after and extra. 0, or -1 after a database error
 * or when memory runs out. */
int audit_change(db_conn_t *db, long long actor_user_id, const char *action, const char *target_type,
                 long long target_id, long long project_id, const cJSON *before, const cJSON *after,
                 const cJSON *extra);

#endif
