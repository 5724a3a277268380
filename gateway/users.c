#include "users.h"

#include <stdio.h>
#include <string.h>

#include "mask.h"
#include "roles.h"

/* One row per staff grant (one row with a NULL role when there is none):
 * cheaper for the server than aggregating the grants in a subquery, and
 * this runs before every authenticated request. */
static const char *SQL_LOAD_USER =
    "SELECT u.id, u.openid, u.phone, u.disabled, EXISTS(SELECT 1 FROM owners o WHERE o.user_id = u.id), r.role"
    " FROM users u LEFT JOIN staff_roles r ON r.user_id = u.id WHERE u.id = ?";

int users_load(db_conn_t *db, long long id, gw_user_t *out)
{
    db_rows_t *r = db_query(db, SQL_LOAD_USER, DB_ARGS(DB_INT(id)));
    if (!r)
        return -1;
    int found = r->nrows >= 1 && db_cell_int(r, 0, 3) == 0;
    if (found) {
        memset(out, 0, sizeof(*out));
        out->id = db_cell_int(r, 0, 0);
        snprintf(out->openid, sizeof(out->openid), "%s", db_cell(r, 0, 1));
        const char *phone = db_cell(r, 0, 2);
        out->has_phone = phone != NULL;
        snprintf(out->phone, sizeof(out->phone), "%s", phone ? phone : "");
        out->roles = ROLE_BUYER;
        if (db_cell_int(r, 0, 4))
            out->roles |= ROLE_OWNER;
        for (int i = 0; i < r->nrows; i++)
            if (db_cell(r, i, 5))
                out->roles |= role_from_name(db_cell(r, i, 5));
    }
    db_rows_free(r);
    return found;
}

int users_has_project_role(db_conn_t *db, long long user_id, const char *role, long long project_id)
{
    long long one;
    return db_query_int(db, &one, "SELECT 1 FROM staff_roles WHERE user_id = ? AND role = ? AND project_id = ?",
                        DB_ARGS(DB_INT(user_id), DB_STR(role), DB_INT(project_id)));
}

cJSON *users_to_json(const gw_user_t *u)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)u->id);
    cJSON *roles = cJSON_AddArrayToObject(o, "roles");
    for (unsigned bit = 1; bit <= ROLE_ADMIN; bit <<= 1)
        if (u->roles & bit)
            cJSON_AddItemToArray(roles, cJSON_CreateString(role_name(bit)));
    cJSON_AddBoolToObject(o, "phone_bound", u->has_phone);
    if (u->has_phone) {
        char masked[32];
        mask_phone(u->phone, masked, sizeof(masked));
        cJSON_AddStringToObject(o, "phone_masked", masked);
    } else {
        cJSON_AddNullToObject(o, "phone_masked");
    }
    return o;
}

void users_auth_step(gw_call_t *c)
{
    int found = users_load(c->db, c->session_user_id, &c->user);
    if (found < 0) {
        call_fail_db(c);
        return;
    }
    if (found == 0) {
        call_fail(c, ERR_TOKEN_INVALID, NULL, "the session's user no longer exists or is disabled; log in again");
        return;
    }
    unsigned need = c->route->roles & ~ROLE_ANY;
    if (need && !(c->user.roles & need)) {
        call_fail(c, ERR_FORBIDDEN, NULL, "this needs one of the roles this endpoint allows");
        return;
    }
    call_then(c, c->route->pool, c->route->start);
}
