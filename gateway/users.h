/* users.h: loading the caller and their roles (DB worker only, except
 * users_auth_loop_step and users_changed*). */
#ifndef GW_USERS_H
#define GW_USERS_H
#include "call.h"

/* 1 found, 0 no such user, -1 database error. Roles: buyer always, owner
 * from the roster, staff from grants. */
int users_load(db_conn_t *db, long long id, gw_user_t *out);
/* As users_load, telling a disabled user apart: 1 loaded, 2 disabled (out
 * untouched), 0 no such user, -1 database error. */
int users_load_status(db_conn_t *db, long long id, gw_user_t *out);
/* Does the user hold `role` ("supervisor", "agent", ...) on that project?
 * 1 yes, 0 no, -1 database error. */
int users_has_project_role(db_conn_t *db, long long user_id, const char *role, long long project_id);
/* {id, roles:[...], phone_bound, phone_masked} for responses. */
cJSON *users_to_json(const gw_user_t *u);
/* First step of every authenticated route, on the loop: takes the session's
 * user from the auth cache (auth_cache_ms), else continues with
 * users_auth_step on a DB worker. Answers 403 (missing role) or continues
 * with the route's own first step. */
void users_auth_loop_step(gw_call_t *c);
/* Loads the session's user (and caches it), answers 401 TOKEN_INVALID
 * (unknown user), 401 TOKEN_REVOKED (the session was ended: logout), 403
 * USER_DISABLED or 403 FORBIDDEN (missing role), else continues with the
 * route's own first step.
 *
 * Ending sessions and disabling users: the cache entry holds the user's
 * revoked session ids (revoked_sessions, until each token's expiry) and is
 * never kept for a disabled user. A logout or a disable made through this
 * process applies at once (users_changed); one made through another process
 * applies here within auth_cache_ms, when the entry is reloaded. */
void users_auth_step(gw_call_t *c, db_conn_t *db);
/* A route whose own first statement checks its caller (route_t's
 * caller_in_step): with the auth cache off, users_auth_loop_step does not
 * load the caller; the route's steps run with c->user.id from the token and
 * no roles (users_caller_pending), and its statement selects
 * USERS_CALLER_COLUMNS from USERS_CALLER_FROM (the session's users row as
 * `cu`, by primary key, and its revoked-session row, if any, as an outer
 * join by primary key: cheaper for the server than a subquery), taking the
 * session id where USERS_CALLER_FROM sits and the caller's id in the
 * statement's `WHERE cu.id = ?`, then calls users_caller_check_or_fail on
 * row 0. The checks and answers are users_auth_step's: no row (no such
 * user) 401 TOKEN_INVALID, disabled 403 USER_DISABLED, the session ended 401
 * TOKEN_REVOKED. */
#define USERS_CALLER_COLUMNS                                                                                           \
    " cu.id AS caller_id, cu.disabled AS caller_disabled, crs.session_id IS NOT NULL AS caller_revoked"
#define USERS_CALLER_FROM " users cu LEFT JOIN revoked_sessions crs ON crs.session_id = ? AND crs.expires_at > NOW(3)"
/* 0 when the caller may go on, else -1 with the call failed. */
int users_caller_check_or_fail(gw_call_t *c, const db_rows_t *r);
/* 1 while the caller was not loaded (a caller_in_step route), 0 once it was
 * (its roles are known). */
int users_caller_pending(const gw_call_t *c);
/* After a committed change of a user's roles, phone or status: the next
 * request of that user loads it again. Any thread. */
void users_changed(long long id);
/* After a bulk change (an owner import). */
void users_changed_all(void);
/* The auth cache's refresh-ahead job (serve only, config loaded). */
void users_auth_cache_register(void);

#endif
