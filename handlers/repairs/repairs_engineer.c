/* repairs_engineer.c: the assigned engineer's side of a repair ticket.
 *
 *   GET  /api/v1/work/repairs             tickets assigned to the caller
 *   POST /api/v1/repairs/:id/accept       dispatched -> accepted
 *   POST /api/v1/repairs/:id/start        accepted -> in_progress (on site)
 *   POST /api/v1/repairs/:id/resolve      in_progress -> resolved {note, photo_ids}
 *   POST /api/v1/repairs/:id/decline      dispatched/accepted -> dispatch again {reason}
 *
 * Only the engineer the ticket is assigned to may act on it, and only while
 * they hold the engineer role in the ticket's project (the role bits of the
 * route are the union over every project). A declined ticket goes back to
 * dispatch, which never picks the same engineer again for it. */

#include "gateway/call.h"
#include "gateway/json_util.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"
#include "domain/repairs/repair_actions.h"
#include "domain/repairs/repair_dispatch.h"
#include "domain/repairs/repair_events.h"
#include "domain/repairs/repair_view.h"

/* ---- work list ---- */

static void work_list(gw_call_t *c)
{
    long long before;
    int limit;
    char state[32] = "";
    repair_state_t s;
    if (repair_page_params(c, &before, &limit) != 0)
        return;
    if (call_query(c, "state", state, sizeof(state)) && *state && repair_state_parse(state, &s) != 0) {
        call_fail(c, ERR_INVALID_FIELD, "state", "unknown state \"%s\"", state);
        return;
    }
    /* Without ?state= the open ones: dispatched, accepted, in progress.
     * Only tickets of projects where the caller is an engineer now. */
    db_rows_t *r = db_query(
        c->db,
        REPAIR_SUMMARY_SELECT " WHERE t.engineer_id = ?"
                              " AND EXISTS (SELECT 1 FROM staff_roles r WHERE r.user_id = t.engineer_id"
                              " AND r.role = 'engineer' AND r.project_id = t.project_id)"
                              " AND (? = '' AND t.state IN ('dispatched', 'accepted', 'in_progress') OR t.state = ?)"
                              " AND (? = 0 OR t.id < ?) ORDER BY t.id DESC LIMIT ?",
        DB_ARGS(DB_INT(c->user.id), DB_STR(state), DB_STR(state), DB_INT(before), DB_INT(before), DB_INT(limit + 1)));
    repair_list_respond(c, r, limit, 0);
}

/* ---- actions ---- */

/* 1, or 0 with the call failed: 404 when the caller may not see the
 * ticket, 403 when they may (a supervisor) but it is not assigned to them. */
static int load_assigned(gw_call_t *c, repair_ticket_t *t)
{
    if (repair_load_from_path(c, t) != 1)
        return 0;
    if (!(t->rel & REPAIR_REL_ENGINEER)) {
        call_fail(c, ERR_FORBIDDEN, NULL, "only the engineer the ticket is assigned to may do this");
        return 0;
    }
    return 1;
}

static int tell_owner(gw_call_t *c, const repair_ticket_t *t, void *kind)
{
    return repair_event(c->db, kind, t->user_id, t->id, NULL);
}

static void accept(gw_call_t *c)
{
    repair_ticket_t t;
    if (!load_assigned(c, &t))
        return;
    repair_transition_t tr = {.action = RA_ACCEPT, .actor_user_id = c->user.id, .actor_role = "engineer"};
    repair_run_action(c, &t, &tr, tell_owner, "repair.accepted");
}

static void start(gw_call_t *c)
{
    repair_ticket_t t;
    if (!load_assigned(c, &t))
        return;
    repair_transition_t tr = {.action = RA_START, .actor_user_id = c->user.id, .actor_role = "engineer"};
    repair_run_action(c, &t, &tr, NULL, NULL);
}

static int after_resolve(gw_call_t *c, const repair_ticket_t *t, void *note)
{
    cJSON *extra = cJSON_CreateObject();
    cJSON_AddStringToObject(extra, "note", note);
    int rc = repair_event(c->db, "repair.resolved", t->user_id, t->id, extra);
    cJSON_Delete(extra);
    return rc;
}

static void resolve(gw_call_t *c)
{
    repair_ticket_t t;
    long long ids[REPAIR_MAX_PHOTOS];
    const char *note = json_string_or_fail(c, c->body, "note", 1, 500);
    if (!note)
        return;
    int nphotos = repair_read_photo_ids(c, c->body, ids);
    if (nphotos < 0 || !load_assigned(c, &t))
        return;
    repair_transition_t tr = {.action = RA_RESOLVE,
                              .actor_user_id = c->user.id,
                              .actor_role = "engineer",
                              .note = note,
                              .photo_ids = ids,
                              .nphotos = nphotos,
                              .photo_owner_id = c->user.id};
    repair_run_action(c, &t, &tr, after_resolve, (void *)note);
}

/* Remembers who declined, then dispatches again (never to them). */
static int after_decline(gw_call_t *c, const repair_ticket_t *t, void *reason)
{
    if (db_exec(c->db,
                "INSERT INTO repair_declines (ticket_id, engineer_id, reason) VALUES (?, ?, ?)"
                " ON DUPLICATE KEY UPDATE reason = VALUES(reason), created_at = NOW(3)",
                DB_ARGS(DB_INT(t->id), DB_INT(c->user.id), DB_STR(reason))) != 0)
        return -1;
    return repair_dispatch(c->db, t->id, 1) < 0 ? -1 : 0;
}

static void decline(gw_call_t *c)
{
    repair_ticket_t t;
    const char *reason = json_string_or_fail(c, c->body, "reason", 1, 200);
    if (!reason || !load_assigned(c, &t))
        return;
    repair_transition_t tr = {
        .action = RA_DECLINE, .actor_user_id = c->user.id, .actor_role = "engineer", .note = reason};
    repair_run_action(c, &t, &tr, after_decline, (void *)reason);
}

static const route_t routes[] = {
    {"GET", "/api/v1/work/repairs", ROLE_ENGINEER, BODY_NONE, POOL_DB, work_list},
    {"POST", "/api/v1/repairs/:id/accept", ROLE_ENGINEER, BODY_JSON, POOL_DB, accept},
    {"POST", "/api/v1/repairs/:id/start", ROLE_ENGINEER, BODY_JSON, POOL_DB, start},
    {"POST", "/api/v1/repairs/:id/resolve", ROLE_ENGINEER, BODY_JSON, POOL_DB, resolve},
    {"POST", "/api/v1/repairs/:id/decline", ROLE_ENGINEER, BODY_JSON, POOL_DB, decline},
};

void repairs_engineer_register(void)
{
    router_add(routes, sizeof(routes) / sizeof(routes[0]));
}
