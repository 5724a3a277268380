#include "audit.h"

#include <stdlib.h>

int audit_write(db_conn_t *db, long long actor_user_id, long long project_id, const char *action,
                const char *target_type, long long target_id, const cJSON *detail)
{
    char *text = detail ? cJSON_PrintUnformatted(detail) : NULL;
    if (detail && !text)
        return -1;
    int rc = db_exec(db,
                     "INSERT INTO audit_log (actor_user_id, action, target_type, target_id, project_id, detail)"
                     " VALUES (?, ?, ?, ?, ?, ?)",
                     DB_ARGS(actor_user_id > 0 ? DB_INT(actor_user_id) : DB_NULL, DB_STR(action), DB_STR(target_type),
                             target_id > 0 ? DB_INT(target_id) : DB_NULL, project_id > 0 ? DB_INT(project_id) : DB_NULL,
                             DB_STR(text)));
    free(text);
    return rc;
}

cJSON *audit_diff(const cJSON *row, const cJSON *changes, int *changed)
{
    cJSON *d = cJSON_CreateObject();
    cJSON *before = cJSON_AddObjectToObject(d, "before"), *after = cJSON_AddObjectToObject(d, "after");
    *changed = 0;
    if (!before || !after)
        goto Fail;
    const cJSON *f;
    cJSON_ArrayForEach(f, changes)
    {
        const cJSON *old = cJSON_GetObjectItemCaseSensitive(row, f->string);
        if (old && cJSON_Compare(old, f, 1))
            continue;
        cJSON *b = old ? cJSON_Duplicate(old, 1) : cJSON_CreateNull(), *a = cJSON_Duplicate(f, 1);
        if (!b || !a) {
            cJSON_Delete(b);
            cJSON_Delete(a);
            goto Fail;
        }
        cJSON_AddItemToObject(before, f->string, b);
        cJSON_AddItemToObject(after, f->string, a);
        ++*changed;
    }
    return d;
Fail:
    cJSON_Delete(d);
    return NULL;
}
