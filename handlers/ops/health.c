/* health.c: /healthz (the process), /readyz (database and migrations) and
 * /metrics (Prometheus text). No login; bind them to loopback or an internal
 * network in production. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/call.h"
#include "gateway/config.h"
#include "gateway/metrics.h"
#include "gateway/migrate.h"
#include "handlers/handlers.h"

static long long expected_version;

static void healthz(gw_call_t *c)
{
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "status", "ok");
    call_ok(c, 200, d);
}

static void readyz(gw_call_t *c, db_conn_t *db)
{
    long long version = -1;
    int found = db_query_int(db, &version, "SELECT COALESCE(MAX(version), -1) FROM schema_migrations", DB_NOARGS);
    if (found < 0) {
        call_fail_db(c);
        return;
    }
    if (version < expected_version) {
        call_fail(c, ERR_DB_UNAVAILABLE, NULL, "schema is at version %lld; this build needs %lld (run migrate)",
                  version, expected_version);
        return;
    }
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "status", "ready");
    cJSON_AddNumberToObject(d, "schema_version", (double)version);
    call_ok(c, 200, d);
}

static void metrics(gw_call_t *c)
{
    size_t len = 0;
    char *text = metrics_render(&len);
    if (!text) {
        call_fail(c, ERR_INTERNAL, NULL, NULL);
        return;
    }
    call_ok_raw(c, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

static const route_t routes[] = {
    {"GET", "/healthz", 0, BODY_NONE, LOOP_STEP(healthz)},
    {"GET", "/readyz", 0, BODY_NONE, DB_STEP(readyz)},
    {"GET", "/metrics", 0, BODY_NONE, LOOP_STEP(metrics)},
};

void health_register(void)
{
    expected_version = migrate_latest_file_version(gw_cfg->schema_dir);
    ROUTES_REGISTER(routes);
}
