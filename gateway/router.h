/* router.h: method + path dispatch with :name segments ("/api/v1/repairs/:id").
 * Routes are added at start-up, before the event-loop threads run; the table
 * is read-only afterwards. Handler files declare a static route table and
 * register it from their <resource>_register() function. */
#ifndef GW_ROUTER_H
#define GW_ROUTER_H
#include <stddef.h>

#define ROUTER_MAX_PARAMS 4

struct gw_call;
typedef void (*gw_step_fn)(struct gw_call *c);

/* Where a step runs. POOL_LOOP runs on the event loop itself and must not
 * block (health, metrics); the others are worker pools. */
typedef enum { POOL_LOOP = 0, POOL_DB, POOL_WECHAT, POOL_CPU, POOL__COUNT } pool_kind_t;

typedef enum {
    BODY_NONE = 0, /* any body is ignored */
    BODY_JSON,     /* application/json, parsed into call->body, capped by json_max_bytes */
    BODY_RAW,      /* copied as-is into call->raw (uploads), capped by max_body_bytes */
} body_kind_t;

typedef struct {
    const char *method;
    const char *pattern;
    unsigned roles;     /* 0: public; ROLE_ANY: any logged-in user; else roles allowed (roles.h) */
    body_kind_t body;
    pool_kind_t pool;   /* pool of the first step */
    gw_step_fn start;
} route_t;

typedef struct {
    const char *name[ROUTER_MAX_PARAMS];
    char value[ROUTER_MAX_PARAMS][128];
    int count;
} route_params_t;

void router_add(const route_t *routes, size_t count);
/* Returns the route, or NULL with *status 404 (no path matches) or 405 (the
 * path matches another method; `allow` then lists them, comma-separated). */
const route_t *router_match(const char *method, size_t method_len, const char *path, size_t path_len,
                            route_params_t *params, int *status, char *allow, size_t allow_size);
void router_reset(void); /* tests */

#endif
