#include "admin_form.h"

#include <stdlib.h>

#include "gateway/audit.h"
#include "gateway/db_json.h"
#include "gateway/json_util.h"

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

cJSON *admin_row_or_fail(gw_call_t *c, db_conn_t *db, const char *sql, long long id, const char *what)
{
    db_rows_t *r = db_query(db, sql, DB_ARGS(DB_INT(id)));
    if (!r) {
        call_fail_db(c);
        return NULL;
    }
    cJSON *o = NULL;
    if (r->nrows == 0)
        call_fail(c, ERR_NOT_FOUND, NULL, "%s %lld not found", what, id);
    else if (!(o = db_row_json(r, 0)))
        call_fail(c, ERR_OVERLOADED, NULL, "out of memory; retry later");
    db_rows_free(r);
    return o;
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

int admin_unique_or_fail(gw_call_t *c, db_conn_t *db, int rc, const char *field, const char *value)
{
    if (rc == 0)
        return 0;
    if (db_errno(db) == DB_ER_DUP_ENTRY)
        call_fail(c, ERR_DUPLICATE, field, "%s %s is already taken", field, value ? value : "");
    else
        call_fail_db(c);
    return -1;
}

int admin_audit(gw_call_t *c, db_conn_t *db, long long project_id, const char *action, const char *target_type,
                long long target_id, cJSON *diff)
{
    if (project_id > 0 && !cJSON_GetObjectItemCaseSensitive(diff, "project_id") &&
        !cJSON_AddNumberToObject(diff, "project_id", (double)project_id))
        return -1;
    return audit_write(db, c->user.id, project_id, action, target_type, target_id, diff);
}

void admin_edit(gw_call_t *c, db_conn_t *db, const admin_edit_t *e, long long id, long long project_id)
{
    const cJSON *ch = admin_changes(c);
    cJSON *row = NULL, *diff = NULL, *m = NULL;
    db_param_t args[ADMIN_EDIT_COLUMNS_MAX + 1];
    int n, k = 0;
    if (db_begin(db) != 0)
        goto DbError;
    if (!(row = admin_row_or_fail(c, db, e->sql_locked, id, e->what)))
        goto Exit;
    if (!(diff = audit_diff(row, ch, &n)) || !(m = admin_merged(row, ch)))
        goto DbError;
    if (n > 0) {
        for (; e->columns[k] && k < ADMIN_EDIT_COLUMNS_MAX; k++)
            args[k] = DB_STR(admin_str(m, e->columns[k]));
        args[k++] = DB_INT(id);
        if (admin_unique_or_fail(c, db, db_exec(db, e->sql_update, args, k), e->unique_field,
                                 admin_str(m, e->unique_field)) != 0)
            goto Exit;
        if (admin_audit(c, db, project_id, e->action, e->what, id, diff) != 0)
            goto DbError;
        cJSON_Delete(row);
        /* Read again: computed fields and the dates as the database stores them. */
        if (!(row = admin_row_or_fail(c, db, e->sql_locked, id, e->what)))
            goto Exit;
    }
    if (db_commit(db) != 0)
        goto DbError;
    if (n > 0 && e->changed)
        e->changed(id);
    cJSON *d = cJSON_CreateObject();
    if (!d || !cJSON_AddItemToObject(d, e->what, row)) {
        cJSON_Delete(d);
        goto DbError;
    }
    row = NULL;
    cJSON_AddBoolToObject(d, "changed", n > 0);
    call_ok(c, 200, d);
    goto Exit;
DbError:
    call_fail_db(c);
Exit:
    cJSON_Delete(row);
    cJSON_Delete(diff);
    cJSON_Delete(m);
}

void admin_create_finish(gw_call_t *c, db_conn_t *db, int rc, const char *unique_field, const char *value,
                         const char *sql_row, const char *what, const char *action, long long project_id)
{
    cJSON *row = NULL, *diff = NULL, *d = NULL;
    if (admin_unique_or_fail(c, db, rc, unique_field, value) != 0)
        return;
    long long id = (long long)db_insert_id(db);
    if (!(row = admin_row_or_fail(c, db, sql_row, id, what)))
        return;
    if (!(diff = cJSON_CreateObject()) || !cJSON_AddItemReferenceToObject(diff, "after", row) ||
        admin_audit(c, db, project_id, action, what, id, diff) != 0 || db_commit(db) != 0 ||
        !(d = cJSON_CreateObject()) || !cJSON_AddItemToObject(d, what, row)) {
        cJSON_Delete(d);
        cJSON_Delete(diff);
        cJSON_Delete(row);
        call_fail_db(c);
        return;
    }
    cJSON_Delete(diff);
    call_ok(c, 201, d);
}
