/* admin_change.c: see admin_change.h. */
#include "domain/identity/admin_change.h"

#include <stdlib.h>
#include <string.h>

#include "domain/leads/lead_access.h"
#include "gateway/audit.h"
#include "gateway/db_json.h"
#include "gateway/json_util.h"
#include "gateway/roles.h"
#include "gateway/users.h"

int admin_lock_or_fail(gw_call_t *c, db_conn_t *db, const char *sql, const char *what, long long *id,
                       long long *project)
{
    *project = 0;
    if (call_param_id_or_fail(c, "id", id) != 0)
        return -1;
    int found = db_begin(db) != 0 ? -1 : db_query_int(db, project, sql, DB_ARGS(DB_INT(*id)));
    if (found < 0) {
        call_fail_db(c);
        return -1;
    }
    return lead_access_or_fail(c, db, found, *project, ROLE_SUPERVISOR | ROLE_ADMIN, what, *id, NULL);
}

/* The one row of sql (one `?`: id) rendered; *found: 1, 0 (no row) or -1
 * (database). NULL unless found and rendered. */
static cJSON *object_json(db_conn_t *db, const char *sql, long long id,
                          cJSON *(*render)(const db_rows_t *r, int row, void *ud), int *found)
{
    db_rows_t *r = db_query(db, sql, DB_ARGS(DB_INT(id)));
    *found = r ? r->nrows > 0 : -1;
    cJSON *o = *found > 0 ? (render ? render(r, 0, NULL) : db_row_json(r, 0)) : NULL;
    db_rows_free(r);
    return o;
}

cJSON *admin_object_json(db_conn_t *db, const char *sql, long long id,
                         cJSON *(*render)(const db_rows_t *r, int row, void *ud))
{
    int found;
    return object_json(db, sql, id, render, &found);
}

cJSON *admin_row_or_fail(gw_call_t *c, db_conn_t *db, const char *sql, long long id, const char *what)
{
    int found;
    cJSON *o = object_json(db, sql, id, NULL, &found);
    if (found < 0)
        call_fail_db(c);
    else if (!found)
        call_fail(c, ERR_NOT_FOUND, NULL, "%s %lld not found", what, id);
    else if (!o)
        call_fail(c, ERR_OVERLOADED, NULL, "out of memory; retry later");
    return o;
}

int admin_role_or_fail(gw_call_t *c, db_conn_t *db, long long user, const char *role, long long project,
                       const char *field)
{
    int rc = users_has_project_role(db, user, role, project);
    if (rc < 0)
        call_fail_db(c);
    else if (rc == 0)
        call_fail(c, ERR_UNPROCESSABLE, field, "user %lld is not %s %s of project %lld", user,
                  strchr("aeiou", role[0]) ? "an" : "a", role, project);
    return rc > 0 ? 0 : -1;
}

/* Audit, commit, answer `shown` (taken); the other is freed. */
static void finish(gw_call_t *c, db_conn_t *db, int status, const char *action, const char *target_type, long long id,
                   long long project, cJSON *before, cJSON *after, const cJSON *extra, int deleted)
{
    cJSON *shown = deleted ? before : after;
    if (!shown || audit_change(db, c->user.id, action, target_type, id, project, before, after, extra) != 0 ||
        db_commit(db) != 0) {
        cJSON_Delete(before);
        cJSON_Delete(after);
        call_fail_db(c);
        return;
    }
    cJSON_Delete(deleted ? after : before);
    call_ok(c, status, shown);
}

void admin_finish(gw_call_t *c, db_conn_t *db, int status, const char *action, const char *target_type, long long id,
                  long long project, cJSON *before, cJSON *after, const cJSON *extra)
{
    finish(c, db, status, action, target_type, id, project, before, after, extra, 0);
}

void admin_finish_delete(gw_call_t *c, db_conn_t *db, const char *action, const char *target_type, long long id,
                         long long project, cJSON *before)
{
    finish(c, db, 200, action, target_type, id, project, before, NULL, NULL, 1);
}

void admin_delete(gw_call_t *c, db_conn_t *db, const admin_object_t *o)
{
    long long id, project;
    if (admin_lock_or_fail(c, db, o->lock_sql, o->what, &id, &project) != 0)
        return;
    cJSON *before = admin_object_json(db, o->show_sql, id, NULL);
    if (!before || db_exec(db, o->delete_sql, DB_ARGS(DB_INT(id))) != 0) {
        cJSON_Delete(before);
        call_fail_db(c);
        return;
    }
    admin_finish_delete(c, db, o->action, o->target_type, id, project, before);
}

typedef struct {
    cJSON *changes;
} changes_state_t;

static void changes_free(void *p)
{
    changes_state_t *s = p;
    if (s)
        cJSON_Delete(s->changes);
    free(s);
}

cJSON *admin_changes_new_or_fail(gw_call_t *c, const char *const known[])
{
    if (json_known_fields_or_fail(c, c->body, known) != 0)
        return NULL;
    changes_state_t *s = call_state_new_or_fail(c, 1, sizeof(*s), changes_free);
    if (!s)
        return NULL;
    if (!(s->changes = cJSON_CreateObject())) {
        call_fail(c, ERR_OVERLOADED, NULL, "out of memory; retry later");
        return NULL;
    }
    return s->changes;
}

cJSON *admin_changes(const gw_call_t *c)
{
    const changes_state_t *s = c->state;
    return s ? s->changes : NULL;
}

/* 0, or -1 with 503 when memory ran out adding a value. */
static int add_or_fail(gw_call_t *c, cJSON *changes, const char *field, cJSON *v)
{
    if (!v || !cJSON_AddItemToObject(changes, field, v)) {
        cJSON_Delete(v);
        call_fail(c, ERR_OVERLOADED, NULL, "out of memory; retry later");
        return -1;
    }
    return 0;
}

int admin_text_change_or_fail(gw_call_t *c, cJSON *changes, const char *field, int required, size_t min, size_t max)
{
    const char *s;
    int present;
    if (json_text_or_fail(c, c->body, field, required, min, max, &s, &present) != 0)
        return -1;
    return present ? add_or_fail(c, changes, field, cJSON_CreateString(s)) : 0;
}

int admin_date_change_or_fail(gw_call_t *c, cJSON *changes, const char *field)
{
    const char *s;
    int present;
    if (json_opt_date_or_fail(c, c->body, field, &s, &present) != 0)
        return -1;
    if (!present)
        return 0;
    return add_or_fail(c, changes, field, s ? cJSON_CreateString(s) : cJSON_CreateNull());
}

int admin_bool_change_or_fail(gw_call_t *c, cJSON *changes, const char *field)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->body, field);
    int b;
    if (!v)
        return 0;
    if (json_bool_or_fail(c, c->body, field, &b) != 0)
        return -1;
    return add_or_fail(c, changes, field, cJSON_CreateBool(b));
}

int admin_not_null_or_fail(gw_call_t *c, const char *field)
{
    if (!cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(c->body, field)))
        return 0;
    call_fail(c, ERR_INVALID_FIELD, field, "%s cannot be null", field);
    return -1;
}

cJSON *admin_merged(const cJSON *row, const cJSON *changes)
{
    cJSON *m = cJSON_Duplicate(row, 1);
    const cJSON *f;
    cJSON_ArrayForEach(f, changes)
    {
        cJSON *v = cJSON_Duplicate(f, 1);
        if (!m || !v) {
            cJSON_Delete(v);
            cJSON_Delete(m);
            return NULL;
        }
        if (cJSON_GetObjectItemCaseSensitive(m, f->string))
            cJSON_ReplaceItemInObjectCaseSensitive(m, f->string, v);
        else
            cJSON_AddItemToObject(m, f->string, v);
    }
    return m;
}

const char *admin_str(const cJSON *o, const char *field)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, field));
}

int admin_unique_or_fail(gw_call_t *c, db_conn_t *db, int rc, const char *field, const char *message, const char *value)
{
    if (rc == 0)
        return 0;
    if (db_errno(db) == DB_ER_DUP_ENTRY)
        call_fail(c, ERR_DUPLICATE, field, message, value ? value : "");
    else
        call_fail_db(c);
    return -1;
}

void admin_edit(gw_call_t *c, db_conn_t *db, const admin_edit_t *e, long long id, long long project_id)
{
    const cJSON *ch = admin_changes(c);
    cJSON *row = NULL, *m = NULL;
    db_param_t args[ADMIN_EDIT_COLUMNS_MAX + 1];
    int changed, k = 0;
    if (db_begin(db) != 0)
        goto DbError;
    if (!(row = admin_row_or_fail(c, db, e->sql_locked, id, e->what)))
        goto Exit;
    if (!(m = admin_merged(row, ch)))
        goto DbError;
    if ((changed = !cJSON_Compare(row, m, 1))) {
        for (; e->columns[k] && k < ADMIN_EDIT_COLUMNS_MAX; k++)
            args[k] = DB_STR(admin_str(m, e->columns[k]));
        args[k++] = DB_INT(id);
        if (admin_unique_or_fail(c, db, db_exec(db, e->sql_update, args, k), e->unique_field, e->duplicate,
                                 admin_str(m, e->unique_field)) != 0)
            goto Exit;
        if (audit_change(db, c->user.id, e->action, e->what, id, project_id, row, m, NULL) != 0 ||
            (e->in_transaction && e->in_transaction(db) != 0))
            goto DbError;
        cJSON_Delete(row);
        /* Read again: computed fields and the dates as the database stores them. */
        if (!(row = admin_row_or_fail(c, db, e->sql_locked, id, e->what)))
            goto Exit;
    }
    if (db_commit(db) != 0)
        goto DbError;
    if (changed && e->changed)
        e->changed(id);
    cJSON *d = cJSON_CreateObject();
    if (!d || !cJSON_AddItemToObject(d, e->what, row)) {
        cJSON_Delete(d);
        goto DbError;
    }
    row = NULL;
    cJSON_AddBoolToObject(d, "changed", changed);
    call_ok(c, 200, d);
    goto Exit;
DbError:
    call_fail_db(c);
Exit:
    cJSON_Delete(row);
    cJSON_Delete(m);
}

void admin_create_finish(gw_call_t *c, db_conn_t *db, int rc, const char *unique_field, const char *duplicate,
                         const char *value, const char *sql_row, const char *what, const char *action,
                         long long project_id)
{
    cJSON *row = NULL, *d = NULL;
    if (admin_unique_or_fail(c, db, rc, unique_field, duplicate, value) != 0)
        return;
    long long id = (long long)db_insert_id(db);
    if (!(row = admin_row_or_fail(c, db, sql_row, id, what)))
        return;
    if (audit_change(db, c->user.id, action, what, id, project_id, NULL, row, NULL) != 0 || db_commit(db) != 0 ||
        !(d = cJSON_CreateObject()) || !cJSON_AddItemToObject(d, what, row)) {
        cJSON_Delete(d);
        cJSON_Delete(row);
        call_fail_db(c);
        return;
    }
    call_ok(c, 201, d);
}
