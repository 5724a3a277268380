/* projects.c: the projects a buyer can leave a lead for.
 *
 *   GET /api/v1/projects   public: no login needed
 *
 * Lists projects open for leads with what a buyer needs to choose one, and
 * the privacy notice version a lead's consent will refer to. */
#include <stdio.h>

#include "gateway/call.h"
#include "gateway/config.h"
#include "handlers/handlers.h"
#include "domain/leads/lead_json.h"

static void list_projects(gw_call_t *c)
{
    db_rows_t *r = db_query(
        c->db, "SELECT id, code, name, city, address FROM projects WHERE open_for_leads = 1 ORDER BY id", DB_NOARGS);
    if (!r) {
        call_fail_db(c);
        return;
    }
    cJSON *items = cJSON_CreateArray();
    for (int i = 0; i < r->nrows; i++) {
        cJSON *o = cJSON_CreateObject();
        lead_json_add_int(o, "id", r, i, "id");
        lead_json_add_str(o, "code", r, i, "code");
        lead_json_add_str(o, "name", r, i, "name");
        lead_json_add_str(o, "city", r, i, "city");
        lead_json_add_str(o, "address", r, i, "address");
        cJSON_AddStringToObject(o, "privacy_notice_version", gw_cfg->privacy_notice_version);
        cJSON_AddItemToArray(items, o);
    }
    db_rows_free(r);
    /* Public and the same for everyone: clients and proxies may cache it briefly. */
    snprintf(c->cache_control, sizeof(c->cache_control), "public, max-age=60");
    call_ok_list(c, items, NULL);
}

static const route_t routes[] = {
    {"GET", "/api/v1/projects", 0, BODY_NONE, POOL_DB, list_projects},
};

void projects_register(void)
{
    router_add(routes, sizeof(routes) / sizeof(routes[0]));
}
