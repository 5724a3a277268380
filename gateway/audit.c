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

/* Adds to out a copy of each field of a whose value differs in b (absent
 * from b counts as different). */
static int add_changed(cJSON *out, const cJSON *a, const cJSON *b)
{
    for (const cJSON *f = a ? a->child : NULL; f; f = f->next) {
        const cJSON *g = b ? cJSON_GetObjectItemCaseSensitive(b, f->string) : NULL;
        if (b && g && cJSON_Compare(f, g, 1))
            continue;
        cJSON *copy = cJSON_Duplicate(f, 1);
        if (!copy || !cJSON_AddItemToObject(out, f->string, copy)) {
            cJSON_Delete(copy);
            return -1;
        }
    }
    return 0;
}

int audit_change(db_conn_t *db, long long actor_user_id, const char *action, const char *target_type,
                 long long target_id, long long project_id, const cJSON *before, const cJSON *after, const cJSON *extra)
{
    int rc = -1;
    cJSON *detail = cJSON_CreateObject();
    cJSON *b = before ? cJSON_CreateObject() : cJSON_CreateNull();
    cJSON *a = after ? cJSON_CreateObject() : cJSON_CreateNull();
    if (!detail || !b || !a || !cJSON_AddItemToObject(detail, "before", b)) {
        cJSON_Delete(b);
        cJSON_Delete(a);
        goto Exit;
    }
    if (!cJSON_AddItemToObject(detail, "after", a)) {
        cJSON_Delete(a);
        goto Exit;
    }
    if ((before && add_changed(b, before, after)) || (after && add_changed(a, after, before)))
        goto Exit;
    if (project_id > 0 && !cJSON_AddNumberToObject(detail, "project_id", (double)project_id))
        goto Exit;
    if (extra && add_changed(detail, extra, NULL))
        goto Exit;
    rc = audit_write(db, actor_user_id, project_id, action, target_type, target_id, detail);
Exit:
    cJSON_Delete(detail);
    return rc;
}
