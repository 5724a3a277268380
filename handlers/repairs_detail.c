/* repairs_detail.c: one repair ticket, for everyone who may see it.
 *
 *   GET /api/v1/repairs/:id
 *
 * The owner who filed it, its assigned engineer, supervisors of its project
 * and admins get the detail (timeline, signed photo URLs, engineer, due
 * times); anyone else gets 404. Staff also see the content-check flag,
 * escalations and the follow-up. */
#include "../gateway/call.h"
#include "../gateway/roles.h"
#include "handlers.h"
#include "repair_view.h"

static void show(gw_call_t *c)
{
    long long id;
    if (call_param_id(c, "id", &id) != 0)
        return;
    cJSON *d;
    int rc = repair_detail_for_caller(c, id, &d);
    if (rc < 0)
        call_fail_db(c);
    else if (rc == 0)
        call_fail(c, ERR_NOT_FOUND, NULL, "no such repair ticket");
    else
        call_ok(c, 200, d);
}

static const route_t routes[] = {
    {"GET", "/api/v1/repairs/:id", ROLE_ANY, BODY_NONE, POOL_DB, show},
};

void repairs_detail_register(void)
{
    router_add(routes, sizeof(routes) / sizeof(routes[0]));
}
