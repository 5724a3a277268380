#include "staff_names.h"

#include "domain/identity/admin_change.h"
#include "domain/repairs/repair_view.h"
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

static const char *const NAME_COLUMNS[] = {"display_name", "title", NULL};

static const admin_edit_t NAMES_EDIT = {
    .what = "user",
    .sql_locked = "SELECT id, display_name, title FROM users WHERE id = ? FOR UPDATE",
    .sql_update = "UPDATE users SET display_name = ?, title = ? WHERE id = ?",
    .columns = NAME_COLUMNS,
    .unique_field = "display_name", /* no unique key: never reported */
    .duplicate = "",
    .action = "user.update",
    .changed = users_changed,
    .in_transaction = repair_view_names_changed, /* the name shows in repair tickets' details */
};

void staff_names_apply(gw_call_t *c, db_conn_t *db, long long user_id, long long project_id)
{
    admin_edit(c, db, &NAMES_EDIT, user_id, project_id);
}
