/* lead_access.c: see lead_access.h. */
#include "domain/leads/lead_access.h"

#include <stdlib.h>
#include <string.h>

#include "gateway/json_util.h"
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

int lead_access_or_fail(gw_call_t *c, db_conn_t *db, int found, long long project_id, unsigned need, const char *what,
                        long long id, unsigned *roles)
{
    unsigned held = 0;
    if (found && lead_project_roles(db, c->user.id, project_id, &held) != 0) {
        call_fail_db(c);
        return -1;
    }
    if (roles)
        *roles = held;
    if (!(held & need)) {
        call_fail(c, ERR_NOT_FOUND, NULL, "%s %lld not found", what, id);
        return -1;
    }
    return 0;
}

int lead_manages_project_or_fail(gw_call_t *c, db_conn_t *db, long long project_id, const char *field)
{
    long long one;
    unsigned roles;
    int found = db_query_int(db, &one, "SELECT 1 FROM projects WHERE id = ?", DB_ARGS(DB_INT(project_id)));
    if (found < 0 || (found && lead_project_roles(db, c->user.id, project_id, &roles) != 0)) {
        call_fail_db(c);
        return -1;
    }
    if (!found) {
        call_fail(c, ERR_NOT_FOUND, field, "project %lld not found", project_id);
        return -1;
    }
    if (!(roles & (ROLE_SUPERVISOR | ROLE_ADMIN))) {
        call_fail(c, ERR_FORBIDDEN, field, "you do not supervise project %lld", project_id);
        return -1;
    }
    return 0;
}

int lead_access(gw_call_t *c, db_conn_t *db, long long project_id, long long agent, lead_access_t *out)
{
    unsigned roles;
    if (lead_project_roles(db, c->user.id, project_id, &roles) != 0)
        return -1;
    if (agent == c->user.id && (roles & ROLE_AGENT))
        *out = ACCESS_AGENT_OF_LEAD;
    else if (roles & (ROLE_SUPERVISOR | ROLE_ADMIN))
        *out = ACCESS_MANAGE;
    else
        *out = ACCESS_NONE;
    return 0;
}

int lead_lock_for_change_or_fail(gw_call_t *c, db_conn_t *db, long long id, lead_access_t need, lead_locked_t *l)
{
    int found = lead_lock(db, id, l);
    lead_access_t a = ACCESS_NONE;
    if (found < 0 || (found && lead_access(c, db, l->project_id, l->agent, &a) != 0)) {
        call_fail_db(c);
        return -1;
    }
    if (a == ACCESS_NONE) {
        call_fail(c, ERR_NOT_FOUND, NULL, "lead %lld not found", id);
        return -1;
    }
    if (need == ACCESS_AGENT_OF_LEAD && a != ACCESS_AGENT_OF_LEAD) {
        call_fail(c, ERR_FORBIDDEN, NULL, "only the lead's agent can do this");
        return -1;
    }
    return 0;
}

void lead_reassign_check(gw_call_t *c, const char *to_field)
{
    long long to;
    if (json_int_or_fail(c, c->body, to_field, 1, 1LL << 53, &to) != 0)
        return;
    const char *reason = json_string_or_fail(c, c->body, "reason", 1, 255);
    if (!reason)
        return;
    lead_reassign_form_t *f = call_state_new_or_fail(c, 1, sizeof(*f), free);
    if (!f)
        return;
    f->to = to;
    f->reason = reason;
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
