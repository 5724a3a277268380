/* lead_access.c: see lead_access.h. */
#include "domain/leads/lead_access.h"

#include <string.h>

#include "gateway/roles.h"
#include "gateway/utf8.h"

int lead_project_roles(db_conn_t *db, long long user_id, long long project_id, unsigned *roles)
{
    *roles = 0;
    db_rows_t *r = db_query(db,
                            "SELECT role FROM staff_roles WHERE user_id = ?"
                            " AND (project_id = ? OR (role = 'admin' AND project_id = 0))",
                            DB_ARGS(DB_INT(user_id), DB_INT(project_id)));
    if (!r)
        return -1;
    for (int i = 0; i < r->nrows; i++)
        *roles |= role_from_name(db_get(r, i, "role"));
    db_rows_free(r);
    *roles &= ROLE_AGENT | ROLE_SUPERVISOR | ROLE_ADMIN;
    return 0;
}

int lead_access_or_404(gw_call_t *c, int found, long long project_id, unsigned need, const char *what, long long id,
                       unsigned *roles)
{
    unsigned held = 0;
    if (found && lead_project_roles(c->db, c->user.id, project_id, &held) != 0)
        return -1;
    if (roles)
        *roles = held;
    if (!(held & need)) {
        call_fail(c, ERR_NOT_FOUND, NULL, "%s %lld not found", what, id);
        return 0;
    }
    return 1;
}

int lead_project_name(db_conn_t *db, long long project_id, char *out, size_t outsz)
{
    db_rows_t *r = db_query(db, "SELECT name FROM projects WHERE id = ?", DB_ARGS(DB_INT(project_id)));
    if (!r)
        return -1;
    utf8_copy(out, outsz, r->nrows == 1 ? db_get(r, 0, "name") : "");
    db_rows_free(r);
    return 0;
}

int lead_lock(db_conn_t *db, long long id, lead_locked_t *out)
{
    memset(out, 0, sizeof(*out));
    db_rows_t *r =
        db_query(db,
                 "SELECT project_id, COALESCE(agent_user_id, 0) AS agent, stage, erased_at IS NOT NULL AS erased,"
                 " name, phone, channel FROM leads WHERE id = ? FOR UPDATE",
                 DB_ARGS(DB_INT(id)));
    if (!r)
        return -1;
    int found = r->nrows == 1;
    if (found) {
        out->project_id = db_get_int(r, 0, "project_id");
        out->agent = db_get_int(r, 0, "agent");
        out->stage = lead_stage_from_name(db_get(r, 0, "stage"));
        out->erased = db_get_int(r, 0, "erased") != 0;
        utf8_copy(out->name, sizeof(out->name), db_get(r, 0, "name"));
        utf8_copy(out->phone, sizeof(out->phone), db_get(r, 0, "phone"));
        utf8_copy(out->channel, sizeof(out->channel), db_get(r, 0, "channel"));
    }
    db_rows_free(r);
    return found;
}
