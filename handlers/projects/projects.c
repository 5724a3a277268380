/* projects.c: the projects a buyer can leave a lead for.
 *
 *   GET /api/v1/projects   public: no login needed
 *
 * Lists projects open for leads with what a buyer needs to choose one, and
 * the privacy notice version a lead's consent will refer to. */
#include <stdio.h>

#include "gateway/call.h"
#include "gateway/query.h"
#include "gateway/config.h"
#include "gateway/db_json.h"
#include "handlers/handlers.h"

static const char *SQL_PROJECTS =
    "SELECT id, code, name, city, address FROM projects WHERE open_for_leads = 1 ORDER BY id";

/* A handful of projects: the list is not paged (miniprogram-api.md). */
static void list_projects(gw_call_t *c, db_conn_t *db)
{
    cJSON *items = rows_json_or_fail(c, db, SQL_PROJECTS, DB_NOARGS);
    if (!items)
        return;
    cJSON *item;
    cJSON_ArrayForEach(item, items)
        cJSON_AddStringToObject(item, "privacy_notice_version", gw_cfg->privacy_notice_version);
    /* Public and the same for everyone: clients and proxies may cache it briefly. */
    snprintf(c->cache_control, sizeof(c->cache_control), "public, max-age=60");
    call_ok_list(c, items, NULL);
}

static const route_t routes[] = {
    {"GET", "/api/v1/projects", 0, BODY_NONE, DB_STEP(list_projects)},
};

void projects_register(void)
{
    ROUTES_REGISTER(routes);
}
