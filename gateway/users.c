#include "users.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "background.h"
#include "call_internal.h"
#include "config.h"
#include "id_cache.h"
#include "mask.h"
#include "metrics.h"
#include "roles.h"
#include "session_token.h"
#include "utf8.h"
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

/* What the auth cache keeps per user: the user with their roles, and the
 * ids of their sessions that were ended (logout) and have not expired yet,
 * so that a revoked token is refused on a cache hit too. A user with more
 * revoked sessions than fit is not cached (each request asks the database);
 * disabled users are never cached. */
enum { REVOKED_MAX = 8 };
typedef struct {
    gw_user_t user;
    int nrevoked;
    char revoked[REVOKED_MAX][SESSION_ID_MAX];
} auth_entry_t;

typedef enum { LOADED_NONE = 0, LOADED_OK, LOADED_DISABLED, LOADED_MANY_REVOKED } loaded_t;

/* One row per staff grant (one row with a NULL role when there is none):
 * cheaper for the server than aggregating the grants in a subquery, and
 * this runs before every authenticated request. Every table is read by a
 * key: the user by its primary key, the grants by theirs (user_id first),
 * the owner roster by ix_owners_user, and the revoked sessions by
 * ix_revoked_user, counted only (a COUNT needs no temporary table; the
 * GROUP_CONCAT of their ids did, on every load). The ids themselves are
 * read, one more statement, only for a user who has any (a logout within
 * the sessions' lifetime): SQL_REVOKED. */
#define SQL_USER_COLUMNS                                                                                               \
    "SELECT u.id, u.openid, u.phone, u.disabled, EXISTS(SELECT 1 FROM owners o WHERE o.user_id = u.id) AS owner,"      \
    " r.role, (SELECT COUNT(*) FROM revoked_sessions s WHERE s.user_id = u.id AND s.expires_at > NOW(3)) AS revoked"   \
    " FROM users u LEFT JOIN staff_roles r ON r.user_id = u.id"
static const char *SQL_LOAD_USER = SQL_USER_COLUMNS " WHERE u.id = ?";
/* Takes (user_id, limit). */
static const char *SQL_REVOKED =
    "SELECT session_id FROM revoked_sessions WHERE user_id = ? AND expires_at > NOW(3) LIMIT ?";

/* The user's revoked sessions into e->revoked, when the count read with
 * the user (`revoked`) says there are some; LOADED_MANY_REVOKED when they do
 * not fit (without reading them), -1 on a db error. */
static int revoked_load(db_conn_t *db, long long count, auth_entry_t *e)
{
    if (count == 0)
        return LOADED_OK;
    if (count > REVOKED_MAX)
        return LOADED_MANY_REVOKED;
    db_rows_t *r = db_query(db, SQL_REVOKED, DB_ARGS(DB_INT(e->user.id), DB_INT(REVOKED_MAX + 1)));
    if (!r)
        return -1;
    int how = LOADED_OK;
    for (int i = 0; i < r->nrows && how == LOADED_OK; i++) {
        const char *sid = db_get(r, i, "session_id");
        size_t len = sid ? strlen(sid) : 0;
        /* More revoked since they were counted, or an id this code would
         * not compare whole: asked of the database on each request. */
        if (e->nrevoked == REVOKED_MAX || len >= SESSION_ID_MAX)
            how = LOADED_MANY_REVOKED;
        else
            memcpy(e->revoked[e->nrevoked++], sid, len + 1);
    }
    db_rows_free(r);
    return how;
}

/* The user whose rows start at `first` (the grants of one user are
 * consecutive) into *out; *how says whether the user may be served, and
 * *revoked how many of their sessions were revoked (revoked_load reads
 * them). Returns the row after them. */
static int entry_from_rows(const db_rows_t *r, int first, auth_entry_t *out, loaded_t *how, long long *revoked)
{
    memset(out, 0, sizeof(*out));
    long long id = db_get_int(r, first, "id");
    int end = first;
    while (end < r->nrows && db_get_int(r, end, "id") == id)
        end++;
    gw_user_t *u = &out->user;
    u->id = id;
    *revoked = 0;
    if (db_get_int(r, first, "disabled") != 0) {
        *how = LOADED_DISABLED;
        return end;
    }
    utf8_copy(u->openid, sizeof(u->openid), db_get(r, first, "openid"));
    const char *phone = db_get(r, first, "phone");
    u->has_phone = phone != NULL;
    utf8_copy(u->phone, sizeof(u->phone), phone ? phone : "");
    u->roles = ROLE_BUYER;
    if (db_get_int(r, first, "owner"))
        u->roles |= ROLE_OWNER;
    for (int i = first; i < end; i++)
        if (!db_is_null(r, i, "role"))
            u->roles |= role_from_name(db_get(r, i, "role"));
    *revoked = db_get_int(r, first, "revoked");
    *how = LOADED_OK;
    return end;
}

/* LOADED_NONE when there is no such user, -1 on a db error. */
static int load_entry(db_conn_t *db, long long id, auth_entry_t *out)
{
    db_rows_t *r = db_query(db, SQL_LOAD_USER, DB_ARGS(DB_INT(id)));
    if (!r)
        return -1;
    loaded_t how = LOADED_NONE;
    long long revoked = 0;
    if (r->nrows >= 1)
        entry_from_rows(r, 0, out, &how, &revoked);
    db_rows_free(r);
    return how == LOADED_OK ? revoked_load(db, revoked, out) : (int)how;
}

int users_load_status(db_conn_t *db, long long id, gw_user_t *out)
{
    auth_entry_t e;
    int how = load_entry(db, id, &e);
    if (how < 0)
        return -1;
    if (how == LOADED_NONE)
        return 0;
    if (how == LOADED_DISABLED)
        return 2;
    *out = e.user;
    return 1;
}

int users_load(db_conn_t *db, long long id, gw_user_t *out)
{
    int rc = users_load_status(db, id, out);
    return rc == 2 ? 0 : rc;
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
        auth_entry_t e;
        loaded_t how;
        long long id = db_get_int(r, row, "id"), revoked;
        row = entry_from_rows(r, row, &e, &how, &revoked);
        if (how == LOADED_OK) {
            int rc = revoked_load(db, revoked, &e);            /* rare: a user with sessions ended */
            how = rc < 0 ? LOADED_MANY_REVOKED : (loaded_t)rc; /* not kept: requests load it */
        }
        for (int i = 0; i < n; i++)
            if (ids[i] == id) {
                found[i] = 1;
                if (how == LOADED_OK)
                    refreshed += (unsigned)id_cache_put(cache, id, &e, sizeof(e), expires, generation[i]);
                else
                    id_cache_forget(cache, id); /* disabled, or too many revoked sessions to keep */
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
    for (unsigned bit = 1; bit <= ROLE_LAST; bit <<= 1)
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
    call_then_route(c);
}

static int is_revoked(const auth_entry_t *e, const char *sid)
{
    for (int i = 0; i < e->nrevoked; i++)
        if (!strcmp(e->revoked[i], sid))
            return 1;
    return 0;
}

static void fail_gone(gw_call_t *c)
{
    call_fail(c, ERR_TOKEN_INVALID, NULL, "the session's user no longer exists; log in again");
}

static void fail_disabled(gw_call_t *c)
{
    metrics_auth_refused(METRICS_AUTH_DISABLED);
    call_fail(c, ERR_USER_DISABLED, NULL, "this account is disabled; ask the property's staff");
}

static void fail_revoked(gw_call_t *c)
{
    metrics_auth_refused(METRICS_AUTH_REVOKED);
    call_fail(c, ERR_TOKEN_REVOKED, NULL, "this session was ended (logout); log in again");
}

void users_auth_loop_step(gw_call_t *c)
{
    id_cache_t *cache = the_auth_cache();
    if (!cache && c->route->caller_in_step) {
        /* The route's statement checks the caller: no statement of its own
         * (a loaded user always holds ROLE_BUYER, so roles 0 marks this). */
        memset(&c->user, 0, sizeof(c->user));
        c->user.id = c->session_user_id;
        call_then_route(c);
        return;
    }
    auth_entry_t e;
    int hit = id_cache_get_fixed(cache, c->session_user_id, monotonic_ms(), &e, sizeof(e));
    if (cache)
        metrics_cache_lookup(METRICS_CACHE_AUTH, hit);
    if (!hit) {
        call_then_db(c, users_auth_step);
        return;
    }
    if (is_revoked(&e, c->session_id)) {
        fail_revoked(c);
        return;
    }
    c->user = e.user;
    authorize(c);
}

void users_auth_step(gw_call_t *c, db_conn_t *db)
{
    id_cache_t *cache = the_auth_cache();
    uint64_t generation = id_cache_generation(cache, c->session_user_id);
    auth_entry_t e;
    int how = load_entry(db, c->session_user_id, &e);
    if (how < 0) {
        call_fail_db(c);
        return;
    }
    if (how == LOADED_NONE) {
        fail_gone(c);
        return;
    }
    if (how == LOADED_DISABLED) {
        fail_disabled(c);
        return;
    }
    if (how == LOADED_MANY_REVOKED) {
        long long one;
        int revoked =
            db_query_int(db, &one, "SELECT 1 FROM revoked_sessions WHERE session_id = ? AND expires_at > NOW(3)",
                         DB_ARGS(DB_STR(c->session_id)));
        if (revoked < 0) {
            call_fail_db(c);
            return;
        }
        if (revoked) {
            fail_revoked(c);
            return;
        }
    } else {
        if (is_revoked(&e, c->session_id)) {
            fail_revoked(c);
            return;
        }
        id_cache_put(cache, e.user.id, &e, sizeof(e), monotonic_ms() + gw_cfg->auth_cache_ms, generation);
    }
    c->user = e.user;
    authorize(c);
}

int users_caller_pending(const gw_call_t *c)
{
    return c->user.roles == 0;
}

int users_caller_check_or_fail(gw_call_t *c, const db_rows_t *r)
{
    if (r->nrows == 0 || db_is_null(r, 0, "caller_id")) {
        fail_gone(c);
        return -1;
    }
    if (db_get_int(r, 0, "caller_disabled")) {
        fail_disabled(c);
        return -1;
    }
    if (db_get_int(r, 0, "caller_revoked")) {
        fail_revoked(c);
        return -1;
    }
    return 0;
}
