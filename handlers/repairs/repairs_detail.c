/* repairs_detail.c: one repair ticket, for everyone who may see it.
 *
 *   GET /api/v1/repairs/:id
 *
 * The owner who filed it, its assigned engineer, supervisors of its project
 * and admins get the detail (timeline, signed photo URLs, engineer, due
 * times); anyone else gets 404. Staff also see the content-check flag,
 * escalations and the follow-up. */
#include <stdlib.h>

#include "gateway/call.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"
#include "domain/repairs/repair_cache.h"
#include "domain/repairs/repair_view.h"

static void show(gw_call_t *c)
{
    long long id;
    if (call_param_id(c, "id", &id) != 0)
        return;
    uint64_t generation = repair_cache_generation(id);
    cJSON *d;
    repair_detail_meta_t meta;
    int rc = repair_detail_for_caller(c, id, &d, &meta);
    if (rc < 0) {
        call_fail_db(c);
    } else if (rc == 0) {
        call_fail(c, ERR_NOT_FOUND, NULL, "no such repair ticket");
    } else if (!meta.staff && meta.owner_user_id == c->user.id) {
        /* The owner's view: keep it rendered for the next read. */
        char *json = cJSON_PrintUnformatted(d);
        cJSON_Delete(d);
        if (!json) {
            call_fail(c, ERR_INTERNAL, NULL, NULL);
            return;
        }
        repair_cache_store(id, meta.owner_user_id, json, meta.next_due_ms, generation);
        call_ok(c, 200, cJSON_CreateRaw(json));
        free(json);
    } else {
        call_ok(c, 200, d);
    }
}

/* On the loop: an owner's read from memory, else from the database. Staff
 * who supervise or administer get their own view, never from memory. */
static void show_from_memory(gw_call_t *c)
{
    long long id;
    if (call_param_id(c, "id", &id) != 0)
        return;
    if ((c->user.roles & (ROLE_SUPERVISOR | ROLE_ADMIN)) || !repair_cache_answer(c, id))
        call_then(c, POOL_DB, show);
}

static const route_t routes[] = {
    {"GET", "/api/v1/repairs/:id", ROLE_ANY, BODY_NONE, POOL_LOOP, show_from_memory},
};

void repairs_detail_register(void)
{
    repair_cache_register();
    router_add(routes, sizeof(routes) / sizeof(routes[0]));
}
