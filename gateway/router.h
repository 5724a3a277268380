/* router.h: method + path dispatch with :name segments ("/api/v1/repairs/:id").
 * Routes are added at start-up, before the event-loop threads run; the table
 * is read-only afterwards. Handler files declare a static route table and
 * register it from their <resource>_register() function with
 * ROUTES_REGISTER(table), which records the file for the route index
 * (`gateway --print-routes`, the "Route index" of miniprogram-api.md).
 *
 * A route states its first step and that step's pool once, with a macro
 * that also checks the step's type:
 *
 *     static const route_t routes[] = {
 *         {"GET", "/api/v1/units", ROLE_ANY, BODY_NONE, DB_STEP(list_units)},
 *         {"POST", "/api/v1/auth/login", 0, BODY_JSON, WECHAT_STEP(exchange_code), BODY_CHECK(check_login),
 *          .rate = RATE_LOGIN, .wechat = WX_LOGIN},
 *     };
 *     void units_register(void) { ROUTES_REGISTER(routes); }
 *
 * Only the first four fields are positional; the step macro and the
 * optional fields are designated. A pool and a step given by position do
 * not compile (the step would land in .wechat), and router_add_file refuses
 * a DB route whose step is not a gw_db_step_fn. */
#ifndef GW_ROUTER_H
#define GW_ROUTER_H
#include <stddef.h>
#include <stdio.h>

#define ROUTER_MAX_PARAMS 4

struct gw_call;
struct db_conn;
/* A step on the loop, a WeChat worker or a CPU worker. */
typedef void (*gw_step_fn)(struct gw_call *c);
/* A step on a DB worker: it gets the worker's connection, so it cannot run
 * anywhere else (call_then_db, DB_STEP). */
typedef void (*gw_db_step_fn)(struct gw_call *c, struct db_conn *db);

/* Where a step runs. POOL_LOOP runs on the event loop itself and must not
 * block (health, metrics); the others are worker pools. */
typedef enum { POOL_LOOP = 0, POOL_DB, POOL_WECHAT, POOL_CPU, POOL__COUNT } pool_kind_t;

typedef enum {
    BODY_NONE = 0, /* any body is ignored */
    BODY_JSON,     /* application/json, parsed into call->body, capped by json_max_bytes */
    BODY_RAW,      /* copied as-is into call->raw (uploads), capped by max_body_bytes */
} body_kind_t;

/* Rate-limit classes (ratelimit.h): each has its own token buckets per
 * client address and per user, configured by rate_<class>_ip and
 * rate_<class>_user. The class also sets the body limit: RATE_UPLOADS
 * routes accept bodies up to max_body_bytes, every other route up to
 * json_max_bytes. */
typedef enum {
    RATE_DEFAULT = 0, /* everything else */
    RATE_LOGIN,       /* login and phone binding */
    RATE_LEADS,       /* lead intake */
    RATE_UPLOADS,     /* photo uploads */
    RATE_REFERRAL,    /* referral touches */
    RATE_CONSOLE,     /* console login tickets (handlers/identity/console.c) */
    RATE_EXPORTS,     /* starting a CSV export (handlers/exports/exports_admin.c) */
    RATE_CUSTOMERS,   /* the service desk's customer lookup (handlers/service/customers_service.c) */
    RATE__COUNT
} rate_class_t;

/* Classes of work on the shared WeChat pool (wechat_share_<class>): each
 * may use at most its share of the pool's threads and queue, so a flood of
 * one kind never starves the others. Taken from the route when a step is
 * queued on POOL_WECHAT. */
typedef enum {
    WX_OTHER = 0,   /* anything not named below */
    WX_LOGIN,       /* jscode2session */
    WX_PHONE,       /* getuserphonenumber (phone binding, lead intake) */
    WX_TEXT_CHECK,  /* msg_sec_check of a repair's description */
    WX_MEDIA_CHECK, /* media_check_async of an upload */
    WX_QR,          /* getwxacodeunlimit (referral code image) */
    WX__COUNT
} wx_class_t;

typedef struct {
    const char *method;
    const char *pattern;
    unsigned roles; /* 0: public; ROLE_ANY: any logged-in user; else roles allowed (roles.h) */
    body_kind_t body;
    /* The optional classes come right after the positional fields, so that
     * a step given by position is a type error. */
    rate_class_t rate;      /* optional: RATE_DEFAULT */
    wx_class_t wechat;      /* optional: WX_OTHER */
    pool_kind_t pool;       /* pool of the first step (set by the *_STEP macros) */
    gw_step_fn start;       /* WECHAT_STEP, CPU_STEP, LOOP_STEP: the first step (then start_db is NULL) */
    gw_db_step_fn start_db; /* DB_STEP: the first step on a DB worker (then start is NULL) */
    /* BODY_CHECK: runs on the loop once the caller is authorised and the
     * body parsed, before the first step is queued. It reads and validates
     * c->body (json_*_or_fail) into call state (call_state_new_or_fail);
     * it answers only on failure. Optional. */
    gw_step_fn check;
    /* Optional, ROLE_ANY routes only: the route's own first statement checks
     * the caller (users.h, USERS_CALLER_COLUMNS), so with the auth cache off
     * no statement loads the caller before it. */
    int caller_in_step;
} route_t;

/* The first step of a route and its pool, type-checked: a DB step must be a
 * gw_db_step_fn, the others gw_step_fn. After one of these, name the
 * optional fields (.rate = ..., .wechat = ...). */
#define DB_STEP(fn) .pool = POOL_DB, .start_db = (fn)
#define WECHAT_STEP(fn) .pool = POOL_WECHAT, .start = (fn)
#define CPU_STEP(fn) .pool = POOL_CPU, .start = (fn)
#define LOOP_STEP(fn) .pool = POOL_LOOP, .start = (fn)
/* A route's loop-run body check (route_t.check). */
#define BODY_CHECK(fn) .check = (fn)

typedef struct {
    const char *name[ROUTER_MAX_PARAMS];
    char value[ROUTER_MAX_PARAMS][128];
    int count;
} route_params_t;

/* Adds a table; file names the source file for the route index. Aborts
 * (a programming error, caught at start-up) when the table is full or a
 * route has not exactly one first step of its pool's type: start_db for
 * POOL_DB, start for the others. */
void router_add_file(const route_t *routes, size_t count, const char *file);
#define ROUTES_REGISTER(table) router_add_file((table), sizeof(table) / sizeof((table)[0]), __FILE__)
/* Route i in registration order (0 .. router_count()-1), and its file ("?"
 * when none was given). */
size_t router_count(void);
const route_t *router_route(size_t i, const char **file);
/* Returns the route, or NULL with *status 404 (no path matches) or 405 (the
 * path matches another method; `allow` then lists them, comma-separated). */
const route_t *router_match(const char *method, size_t method_len, const char *path, size_t path_len,
                            route_params_t *params, int *status, char *allow, size_t allow_size);
void router_reset(void); /* tests */
/* The route index as a Markdown table (method, path with {name} segments,
 * roles, rate class, file), sorted by path then method:
 * `gateway --print-routes`, pasted into miniprogram-api.md by
 * scripts/gen-docs.py. */
void router_print_index(FILE *out);
/* Names used in configuration keys and metrics labels ("login", "text_check"). */
const char *rate_class_name(rate_class_t cls);
const char *wx_class_name(wx_class_t cls);

#endif
