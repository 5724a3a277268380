/* me.c: the caller's profile.
 *
 *   GET /api/v1/me
 *   PATCH /api/v1/me {display_name}   staff: their own display name
 *
 * The user and their roles are loaded by the authentication step before
 * any route step runs (users.h), so the answer needs no database round trip
 * of its own and runs on the loop. */
#include "domain/identity/staff_names.h"
#include "gateway/call.h"
#include "gateway/roles.h"
#include "gateway/users.h"
#include "handlers/handlers.h"

static void me(gw_call_t *c)
{
    call_ok(c, 200, users_to_json(&c->user));
}

static void check_own_name(gw_call_t *c)
{
    staff_names_check(c, 0);
}

/* A staff member sets their own display name (their title is set by an
 * admin or a supervisor). */
static void patch_me(gw_call_t *c, db_conn_t *db)
{
    staff_names_apply(c, db, c->user.id, 0);
}

static const route_t routes[] = {
    {"GET", "/api/v1/me", ROLE_ANY, BODY_NONE, LOOP_STEP(me)},
    {"PATCH", "/api/v1/me", ROLE_STAFF, BODY_JSON, DB_STEP(patch_me), BODY_CHECK(check_own_name)},
};

void me_register(void)
{
    ROUTES_REGISTER(routes);
}
