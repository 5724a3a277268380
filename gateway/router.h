/* router.h: method + path dispatch with :name segments ("/api/v1/repairs/:id").
 * Routes are added at start-up, before the event-loop threads run; the table
 * is read-only afterwards. Handler files declare a static route table and
 * register it from their <resource>_register() function.
 *
 * The last two fields of a route are optional (a positional table that
 * stops after `start` gets the defaults): the route's rate-limit class and
 * the class of its WeChat work. */
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
    unsigned roles;     /* 0: public; ROLE_ANY: any logged-in user; else roles allowed (roles.h) */
    body_kind_t body;
    pool_kind_t pool;   /* pool of the first step */
    gw_step_fn start;
    rate_class_t rate;  /* optional: RATE_DEFAULT */
    wx_class_t wechat;  /* optional: WX_OTHER */
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
/* Names used in configuration keys and metrics labels ("login", "text_check"). */
const char *rate_class_name(rate_class_t cls);
const char *wx_class_name(wx_class_t cls);

#endif
