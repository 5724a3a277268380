#include "users.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "background.h"
#include "config.h"
#include "id_cache.h"
#include "mask.h"
#include "metrics.h"
#include "roles.h"
#include "workers.h"

/* ---- the auth cache ----
 * Every authenticated request needs its caller's roles. They are kept per
 * process for auth_cache_ms (1 s by default) and reloaded ahead of expiry
 * in batches while the caller stays busy (refresh_job below), so requests
 * almost never wait for a user load. A change made through this
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
#define SQL_USER_COLUMNS                                                                                    \
    "SELECT u.id, u.openid, u.phone, u.disabled, EXISTS(SELECT 1 FROM owners o WHERE o.user_id = u.id), r.role" \
    " FROM users u LEFT JOIN staff_roles r ON r.user_id = u.id"
static const char *SQL_LOAD_USER = SQL_USER_COLUMNS " WHERE u.id = ?";

/* The user whose rows start at `first` (the grants of one user are
 * consecutive); returns the row after them. out->id is 0 when the user is
 * disabled. */
static int user_from_rows(const db_rows_t *r, int first, gw_user_t *out)
{
    memset(out, 0, sizeof(*out));
    long long id = db_cell_int(r, first, 0);
    int end = first;
    while (end < r->nrows && db_cell_int(r, end, 0) == id)
        end++;
    if (db_cell_int(r, first, 3) != 0)
        return end;
    out->id = id;
    snprintf(out->openid, sizeof(out->openid), "%s", db_cell(r, first, 1));
    const char *phone = db_cell(r, first, 2);
    out->has_phone = phone != NULL;
    snprintf(out->phone, sizeof(out->phone), "%s", phone ? phone : "");
    out->roles = ROLE_BUYER;
    if (db_cell_int(r, first, 4))
        out->roles |= ROLE_OWNER;
    for (int i = first; i < end; i++)
        if (db_cell(r, i, 5))
            out->roles |= role_from_name(db_cell(r, i, 5));
    return end;
}

int users_load(db_conn_t *db, long long id, gw_user_t *out)
{
    db_rows_t *r = db_query(db, SQL_LOAD_USER, DB_ARGS(DB_INT(id)));
    if (!r)
        return -1;
    gw_user_t u = {0};
    if (r->nrows >= 1)
        user_from_rows(r, 0, &u);
    db_rows_free(r);
    if (u.id)
        *out = u;
    return u.id != 0;
}

/* ---- refresh ahead ----
 * A user who keeps making requests would miss the cache once every
 * auth_cache_ms, and that request would wait for a DB worker. Instead a
 * background job reloads, a batch at a time, the users read since they were
 * cached whose entry is in the last half of its life. Their roles are still
 * never older than auth_cache_ms. */
enum { REFRESH_BATCH = DB_IN_LIST_SIZE, REFRESH_MAX = 4096 };
static const char *SQL_LOAD_USERS = SQL_USER_COLUMNS " WHERE u.id" DB_IN_LIST " ORDER BY u.id";

static void refresh_batch(db_conn_t *db, id_cache_t *cache, const long long *ids, int n)
{
    uint64_t generation[REFRESH_BATCH];
    db_param_t args[REFRESH_BATCH];
    for (int i = 0; i < n; i++)
        generation[i] = id_cache_generation(cache, ids[i]);
    db_in_list_args(args, ids, n);
    db_rows_t *r = db_query(db, SQL_LOAD_USERS, args, REFRESH_BATCH);
    if (!r)
        return; /* the entries expire and requests load them again */
    long long expires = monotonic_ms() + gw_cfg->auth_cache_ms;
    int found[REFRESH_BATCH] = {0};
    unsigned refreshed = 0;
    for (int row = 0; row < r->nrows;) {
        gw_user_t u;
        long long id = db_cell_int(r, row, 0);
        row = user_from_rows(r, row, &u);
        for (int i = 0; i < n; i++)
            if (ids[i] == id) {
                found[i] = 1;
                if (u.id)
                    refreshed += (unsigned)id_cache_put(cache, id, &u, sizeof(u), expires, generation[i]);
                else
                    id_cache_forget(cache, id); /* disabled */
            }
    }
    metrics_cache_refreshed(METRICS_CACHE_AUTH, refreshed);
    for (int i = 0; i < n; i++)
        if (!found[i])
            id_cache_forget(cache, ids[i]);
    db_rows_free(r);
}

static void refresh_job(db_conn_t *db)
{
    id_cache_t *cache = the_auth_cache();
    static long long ids[REFRESH_MAX];
    size_t n = id_cache_due_for_refresh(cache, monotonic_ms(), gw_cfg->auth_cache_ms / 2, ids, REFRESH_MAX);
    for (size_t i = 0; i < n && !background_stopping(); i += REFRESH_BATCH)
        refresh_batch(db, cache, ids + i, n - i < REFRESH_BATCH ? (int)(n - i) : REFRESH_BATCH);
}

void users_auth_cache_register(void)
{
    if (gw_cfg->auth_cache_ms > 0)
        background_register("auth-cache-refresh", gw_cfg->auth_cache_ms / 4 > 10 ? gw_cfg->auth_cache_ms / 4 : 10,
                            refresh_job);
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
