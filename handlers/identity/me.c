/* me.c: the caller's profile.
 *
 *   GET /api/v1/me
 *
 * The user and their roles are loaded by the authentication step before
 * any route step runs (users.h), so the answer needs no database round trip
 * of its own and runs on the loop. */
#include "gateway/call.h"
#include "gateway/roles.h"
#include "gateway/users.h"
#include "handlers/handlers.h"

static void me(gw_call_t *c)
{
    call_ok(c, 200, users_to_json(&c->user));
}

static const route_t routes[] = {
    {"GET", "/api/v1/me", ROLE_ANY, BODY_NONE, LOOP_STEP(me)},
};

void me_register(void)
{
    ROUTES_REGISTER(routes);
}
