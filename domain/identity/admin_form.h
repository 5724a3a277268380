/* admin_form.h: the bodies and rows of the administration API's creates
 * and edits (projects, buildings, units, staff names).
 *
 * A BODY_CHECK (on the loop) collects the fields it was given, checked and
 * trimmed, into a `changes` object held by the call; the DB step compares
 * them with the row as rendered for the answer (audit_diff), writes the
 * merged row and its audit row in one transaction. */
#ifndef GW_ADMIN_FORM_H
#define GW_ADMIN_FORM_H
#include <cjson/cJSON.h>
#include <stddef.h>

#include "gateway/call.h"

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

/* DB, inside the caller's transaction, after an insert or update that may
 * collide with a unique key: 0 when rc is 0; -1 with 409 DUPLICATE naming
 * `field` when it failed on a duplicate key, else with the database failure. */
int admin_unique_or_fail(gw_call_t *c, db_conn_t *db, int rc, const char *field, const char *value);

/* DB, inside the caller's transaction: the audit row of an edit whose
 * detail is `diff` (audit_diff), plus the project when project_id > 0
 * (kept in the detail too, for readers of older rows). 0 or -1 (database). */
int admin_audit(gw_call_t *c, db_conn_t *db, long long project_id, const char *action, const char *target_type,
                long long target_id, cJSON *diff);

/* DB step's end, inside the caller's transaction, after the INSERT of a
 * create (rc: its result): 409 DUPLICATE naming unique_field (value in the
 * message) when the key is taken; else reads the new row (sql_row, one `?`:
 * the id, as answered), writes its audit row (action, target type `what`,
 * detail {"after": row}) under project_id, commits and answers 201
 * {"<what>": row}. */
void admin_create_finish(gw_call_t *c, db_conn_t *db, int rc, const char *unique_field, const char *value,
                         const char *sql_row, const char *what, const char *action, long long project_id);

/* An edit whose written fields are all strings or null (names, dates). */
typedef struct {
    const char *what;              /* "building": the 404 message, the answer's key, the audit target type */
    const char *sql_locked;        /* the row as answered, one `?` (the id), FOR UPDATE */
    const char *sql_update;        /* binds each of `columns`, then the id */
    const char *const *columns;    /* NULL-terminated, at most ADMIN_EDIT_COLUMNS_MAX */
    const char *unique_field;      /* the field a duplicate key is reported on */
    const char *action;            /* the audit action, e.g. "building.update" */
    void (*changed)(long long id); /* after a commit that changed the row; may be NULL */
} admin_edit_t;

#define ADMIN_EDIT_COLUMNS_MAX 8

/* DB step's end: applies the call's changes (admin_changes) to object id of
 * project_id in one transaction with its audit row (the changed fields
 * before and after) and answers 200 {"<what>": row after, "changed": bool};
 * nothing is written when nothing changes. 404 when the row is gone, 409
 * DUPLICATE on e->unique_field. */
void admin_edit(gw_call_t *c, db_conn_t *db, const admin_edit_t *e, long long id, long long project_id);

#endif
