#include "staff_names.h"

#include "domain/identity/admin_form.h"
#include "gateway/audit.h"
#include "gateway/users.h"

void staff_names_check(gw_call_t *c, int with_title)
{
    static const char *const with[] = {"display_name", "title", NULL}, *const without[] = {"display_name", NULL};
    cJSON *ch = admin_changes_new_or_fail(c, with_title ? with : without);
    if (!ch || admin_text_change_or_fail(c, ch, "display_name", 0, 1, STAFF_NAME_MAX_CHARS) != 0 || !with_title ||
        admin_text_change_or_fail(c, ch, "title", 0, 0, STAFF_TITLE_MAX_CHARS) != 0)
        return;
    /* An empty title is no title: stored and compared as null. */
    const char *title = admin_str(ch, "title");
    if (title && !title[0])
        cJSON_ReplaceItemInObjectCaseSensitive(ch, "title", cJSON_CreateNull());
}

static const char *SQL_USER_NAMES = "SELECT id, display_name, title FROM users WHERE id = ? FOR UPDATE";

void staff_names_apply(gw_call_t *c, db_conn_t *db, long long user_id, long long project_id)
{
    const cJSON *ch = admin_changes(c);
    cJSON *row = NULL, *diff = NULL, *m = NULL;
    int n;
    if (db_begin(db) != 0)
        goto DbError;
    if (!(row = admin_row_or_fail(c, db, SQL_USER_NAMES, user_id, "user")))
        goto Exit;
    if (!(diff = audit_diff(row, ch, &n)) || !(m = admin_merged(row, ch)))
        goto DbError;
    if (n > 0 &&
        (db_exec(db, "UPDATE users SET display_name = ?, title = ? WHERE id = ?",
                 DB_ARGS(DB_STR(admin_str(m, "display_name")), DB_STR(admin_str(m, "title")), DB_INT(user_id))) != 0 ||
         admin_audit(c, db, project_id, "user.update", "user", user_id, diff) != 0))
        goto DbError;
    if (db_commit(db) != 0)
        goto DbError;
    if (n > 0)
        users_changed(user_id);
    cJSON *d = cJSON_CreateObject();
    cJSON_AddItemToObject(d, "user", m);
    m = NULL;
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
