/* admin_change.h: the steps every configuration route of the
 * administration API shares (dispatch groups and rules, repair categories,
 * lead channel rules): lock the object named by the path and check that the
 * caller manages its project, refuse a duplicate key, and end a change with
 * its audit row, the commit and the answer. DB worker only. */
#ifndef GW_ADMIN_CHANGE_H
#define GW_ADMIN_CHANGE_H
#include <cjson/cJSON.h>

#include "gateway/call.h"
#include "gateway/db.h"

/* Reads the path's :id, begins a transaction and runs `sql` (one parameter,
 * the id; selects the object's project_id ... FOR UPDATE). 0 with *id and
 * *project when the object exists and the caller supervises its project (or
 * is an admin); -1 answered otherwise: 404 "<what> <id> not found" for an
 * object the caller may not see as for a missing one, or the db error. */
int admin_lock_or_fail(gw_call_t *c, db_conn_t *db, const char *sql, const char *what, long long *id,
                       long long *project);

/* The object as shown: runs `sql` (one parameter, the id) and renders its
 * one row with render (NULL: db_row_json). NULL after a db error, when
 * memory runs out, or when there is no such row. The caller frees. */
cJSON *admin_object_json(db_conn_t *db, const char *sql, long long id,
                         cJSON *(*render)(const db_rows_t *r, int row, void *ud));

/* 0 when user holds role in project now, else -1 answered: 422
 * UNPROCESSABLE naming field ("user N is not a <role> of project P"), or
 * the db error. */
int admin_role_or_fail(gw_call_t *c, db_conn_t *db, long long user, const char *role, long long project,
                       const char *field);

/* After a failed INSERT or UPDATE: 409 DUPLICATE naming field with
 * `message` (static text) when it broke a unique key, else the db error. */
void admin_fail_write(gw_call_t *c, db_conn_t *db, const char *field, const char *message);

/* Ends a change made in the open transaction: its audit row (audit_change:
 * action on target_type id of project, before and after, extra), the
 * commit, and the answer: status with `after`. before is NULL for a
 * creation. Takes before and after; the caller keeps extra. Answers the db
 * error when a write fails or after is NULL (a rendering that failed). */
void admin_finish(gw_call_t *c, db_conn_t *db, int status, const char *action, const char *target_type, long long id,
                  long long project, cJSON *before, cJSON *after, const cJSON *extra);

/* An object a DELETE route removes: SQL with one parameter, the id. */
typedef struct {
    const char *lock_sql;    /* selects project_id ... FOR UPDATE (admin_lock_or_fail) */
    const char *show_sql;    /* the object as shown (admin_object_json, db_row_json) */
    const char *delete_sql;  /* removes it */
    const char *what;        /* for the 404: "dispatch rule" */
    const char *action;      /* the audit row's: "dispatch_rule.delete" */
    const char *target_type; /* the audit row's: "dispatch_rule" */
} admin_object_t;

/* The whole step of DELETE .../:id: locks the object and checks the caller
 * (admin_lock_or_fail), deletes it, writes the audit row ("after": null)
 * and answers 200 with the object as it was. */
void admin_delete(gw_call_t *c, db_conn_t *db, const admin_object_t *o);

#endif
