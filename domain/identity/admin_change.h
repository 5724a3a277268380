/* admin_change.h: the steps every route of the administration API that
 * changes something shares (projects, buildings, units, staff names,
 * dispatch groups and rules, repair categories, lead channel rules): read
 * and check the body's fields into a `changes` object (loop), lock the
 * object named by the path and check that the caller manages its project,
 * refuse a duplicate key, and end a change with its audit row (audit_change:
 * the fields that differ before and after), the commit and the answer
 * (DB worker).
 *
 * Two shapes of route use it: the form routes (projects, buildings, units,
 * staff names) collect the checked fields into `changes` on the loop and
 * apply them with admin_edit / admin_create_finish, answering
 * {"<what>": row}; the rule routes (dispatch, categories, channel rules)
 * check into their own state and end with admin_finish, answering the
 * object itself. */
#ifndef GW_ADMIN_CHANGE_H
#define GW_ADMIN_CHANGE_H
#include <cjson/cJSON.h>

#include "gateway/call.h"
#include "gateway/db.h"
#include <stddef.h>

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

/* Ends a change made in the open transaction: its audit row (audit_change:
 * action on target_type id of project, before and after, extra), the
 * commit, and the answer: status with `after`. before is NULL for a
 * creation. Takes before and after; the caller keeps extra. Answers the db
 * error when a write fails or after is NULL (a rendering that failed). */
void admin_finish(gw_call_t *c, db_conn_t *db, int status, const char *action, const char *target_type, long long id,
                  long long project, cJSON *before, cJSON *after, const cJSON *extra);

/* Ends a deletion made in the open transaction: its audit row ("after":
 * null), the commit, and the answer: 200 with `before`, the object as it
 * was (taken; the db error when it is NULL). */
void admin_finish_delete(gw_call_t *c, db_conn_t *db, const char *action, const char *target_type, long long id,
                         long long project, cJSON *before);

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

/* Loop. Refuses unknown fields (`known`, NULL-terminated), then makes the
 * call's state an empty `changes` object (freed with the call), reachable
 * later through admin_changes(c). NULL when the call failed. */
cJSON *admin_changes_new_or_fail(gw_call_t *c, const char *const known[]);
/* The call's `changes` object (borrowed). */
cJSON *admin_changes(const gw_call_t *c);

/* Loop. Each reads one body field (400 naming it) and, when given, adds its
 * value to changes under the same name. 0 or -1 (the call failed). */
int admin_text_change_or_fail(gw_call_t *c, cJSON *changes, const char *field, int required, size_t min, size_t max);
int admin_date_change_or_fail(gw_call_t *c, cJSON *changes, const char *field); /* YYYY-MM-DD or null */
int admin_bool_change_or_fail(gw_call_t *c, cJSON *changes, const char *field);
/* Loop. 0 unless the body gives field as null, which a field the model
 * needs cannot be: -1 with 400 INVALID_FIELD naming it. */
int admin_not_null_or_fail(gw_call_t *c, const char *field);

/* DB. Row 0 of `sql` (one `?`: id) rendered by db_row_json, or NULL with
 * the call failed: 404 "<what> <id> not found" or the database failure.
 * The caller owns the result. */
cJSON *admin_row_or_fail(gw_call_t *c, db_conn_t *db, const char *sql, long long id, const char *what);

/* `row` with `changes` applied (a new object the caller owns; NULL when
 * memory runs out). */
cJSON *admin_merged(const cJSON *row, const cJSON *changes);

/* A string field of a row or merged row; NULL for null or absent. */
const char *admin_str(const cJSON *o, const char *field);

/* DB, inside the caller's transaction, after an INSERT or UPDATE (rc: its
 * result; -1 for a write already known to have failed) that may collide
 * with a unique key: 0 when rc is 0; -1 with 409 DUPLICATE naming `field`
 * when it failed on a duplicate key, else with the database failure. The
 * message is `message` (static text) with its one `%s`, if any, replaced by
 * value (NULL: ""). */
int admin_unique_or_fail(gw_call_t *c, db_conn_t *db, int rc, const char *field, const char *message,
                         const char *value);

/* DB step's end, inside the caller's transaction, after the INSERT of a
 * create (rc: its result): 409 DUPLICATE naming unique_field (with
 * `duplicate` and value, as admin_unique_or_fail) when the key is taken; else reads the new row (sql_row, one `?`:
 * the id, as answered), writes its audit row (action, target type `what`,
 * detail {"before": null, "after": row}) under project_id, commits and answers 201
 * {"<what>": row}. */
void admin_create_finish(gw_call_t *c, db_conn_t *db, int rc, const char *unique_field, const char *duplicate,
                         const char *value, const char *sql_row, const char *what, const char *action,
                         long long project_id);

/* An edit whose written fields are all strings or null (names, dates). */
typedef struct {
    const char *what;              /* "building": the 404 message, the answer's key, the audit target type */
    const char *sql_locked;        /* the row as answered, one `?` (the id), FOR UPDATE */
    const char *sql_update;        /* binds each of `columns`, then the id */
    const char *const *columns;    /* NULL-terminated, at most ADMIN_EDIT_COLUMNS_MAX */
    const char *unique_field;      /* the field a duplicate key is reported on */
    const char *duplicate;         /* and its message then (admin_unique_or_fail; %s: the value) */
    const char *action;            /* the audit action, e.g. "building.update" */
    void (*changed)(long long id); /* after a commit that changed the row; may be NULL */
    /* In the transaction of a change, before its commit (e.g. a name that
     * rendered views show: repair_view_names_changed); 0, or -1 (a db
     * error, rolled back). May be NULL. */
    int (*in_transaction)(db_conn_t *db);
} admin_edit_t;

#define ADMIN_EDIT_COLUMNS_MAX 8

/* DB step's end: applies the call's changes (admin_changes) to object id of
 * project_id in one transaction with its audit row (the changed fields
 * before and after) and answers 200 {"<what>": row after, "changed": bool};
 * nothing is written when nothing changes. 404 when the row is gone, 409
 * DUPLICATE on e->unique_field. */
void admin_edit(gw_call_t *c, db_conn_t *db, const admin_edit_t *e, long long id, long long project_id);

#endif
