#include "users.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "id_cache.h"
#include "mask.h"
#include "metrics.h"
#include "roles.h"
#include "workers.h"

/* ---- the auth cache ----
 * Every authenticated request needs its caller's roles. They are kept per
 * process for auth_cache_ms (1 s by default), so a busy client costs one
 * user load a second instead of one a request. A change made through this
 * process (a grant, a revocation, a phone binding, an owner import) applies
 * at once: it calls users_changed(). A change made elsewhere (another
 * gateway process, `gateway grant`, SQL) applies within auth_cache_ms. */
static id_cache_t *auth_cache;
static pthread_once_t auth_cache_once = PTHREAD_ONCE_INIT;

/* Slots: a power of two comfortably above the users active in a second. */
enum { AUTH_CACHE_SLOTS = 65536 };

static void auth_cache_init(void)
{
    if (gw_cfg->auth_cache_ms > 0)
        auth_cache = id_cache_new(AUTH_CACHE_SLOTS);
}

static id_cache_t *the_auth_cache(void)
{
    pthread_once(&auth_cache_once, auth_cache_init);
    return auth_cache;
}

void users_changed(long long id)
{
    id_cache_forget(the_auth_cache(), id);
}

void users_changed_all(void)
{
    id_cache_clear(the_auth_cache());
}

/* One row per staff grant (one row with a NULL role when there is none):
 * cheaper for the server than aggregating the grants in a subquery, and
 * this runs before every authenticated request. */
static const char *SQL_LOAD_USER =
    "SELECT u.id, u.openid, u.phone, u.disabled, EXISTS(SELECT 1 FROM owners o WHERE o.user_id = u.id), r.role"
    " FROM users u LEFT JOIN staff_roles r ON r.user_id = u.id WHERE u.id = ?";

int users_load(db_conn_t *db, long long id, gw_user_t *out)
{
    db_rows_t *r = db_query(db, SQL_LOAD_USER, DB_ARGS(DB_INT(id)));
    if (!r)
        return -1;
    int found = r->nrows >= 1 && db_cell_int(r, 0, 3) == 0;
    if (found) {
        memset(out, 0, sizeof(*out));
        out->id = db_cell_int(r, 0, 0);
        snprintf(out->openid, sizeof(out->openid), "%s", db_cell(r, 0, 1));
        const char *phone = db_cell(r, 0, 2);
        out->has_phone = phone != NULL;
        snprintf(out->phone, sizeof(out->phone), "%s", phone ? phone : "");
        out->roles = ROLE_BUYER;
        if (db_cell_int(r, 0, 4))
            out->roles |= ROLE_OWNER;
        for (int i = 0; i < r->nrows; i++)
            if (db_cell(r, i, 5))
                out->roles |= role_from_name(db_cell(r, i, 5));
    }
    db_rows_free(r);
    return found;
}

int users_has_project_role(db_conn_t *db, long long user_id, const char *role, long long project_id)
{
    long long one;
    return db_query_int(db, &one, "SELECT 1 FROM staff_roles WHERE user_id = ? AND role = ? AND project_id = ?",
                        DB_ARGS(DB_INT(user_id), DB_STR(role), DB_INT(project_id)));
}

cJSON *users_to_json(const gw_user_t *u)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)u->id);
    cJSON *roles = cJSON_AddArrayToObject(o, "roles");
    for (unsigned bit = 1; bit <= ROLE_ADMIN; bit <<= 1)
        if (u->roles & bit)
            cJSON_AddItemToArray(roles, cJSON_CreateString(role_name(bit)));
    cJSON_AddBoolToObject(o, "phone_bound", u->has_phone);
    if (u->has_phone) {
        char masked[32];
        mask_phone(u->phone, masked, sizeof(masked));
        cJSON_AddStringToObject(o, "phone_masked", masked);
    } else {
        cJSON_AddNullToObject(o, "phone_masked");
    }
    return o;
}

/* The user is known: check the route's roles and go on with its first step. */
static void authorize(gw_call_t *c)
{
    unsigned need = c->route->roles & ~ROLE_ANY;
    if (need && !(c->user.roles & need)) {
        call_fail(c, ERR_FORBIDDEN, NULL, "this needs one of the roles this endpoint allows");
        return;
    }
    call_then(c, c->route->pool, c->route->start);
}

void users_auth_loop_step(gw_call_t *c)
{
    id_cache_t *cache = the_auth_cache();
    int hit = id_cache_get_fixed(cache, c->session_user_id, monotonic_ms(), &c->user, sizeof(c->user));
    if (cache)
        metrics_cache_lookup(METRICS_CACHE_AUTH, hit);
    if (hit)
        authorize(c);
    else
        call_then(c, POOL_DB, users_auth_step);
}

void users_auth_step(gw_call_t *c)
{
    id_cache_t *cache = the_auth_cache();
    uint64_t generation = id_cache_generation(cache, c->session_user_id);
    int found = users_load(c->db, c->session_user_id, &c->user);
    if (found < 0) {
        call_fail_db(c);
        return;
    }
    if (found == 0) {
        call_fail(c, ERR_TOKEN_INVALID, NULL, "the session's user no longer exists or is disabled; log in again");
        return;
    }
    id_cache_put(cache, c->user.id, &c->user, sizeof(c->user), monotonic_ms() + gw_cfg->auth_cache_ms, generation);
    authorize(c);
}
