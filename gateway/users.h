/* users.h: loading the caller and their roles (DB worker only). */
#ifndef GW_USERS_H
#define GW_USERS_H
#include "call.h"

/* 1 found, 0 no such user, -1 database error. Roles are computed fresh on
 * every request: buyer always, owner from the roster, staff from grants. */
int users_load(db_conn_t *db, long long id, gw_user_t *out);
/* Does the user hold `role` ("supervisor", "agent", ...) on that project?
 * 1 yes, 0 no, -1 database error. */
int users_has_project_role(db_conn_t *db, long long user_id, const char *role, long long project_id);
/* {id, roles:[...], phone_bound, phone_masked} for responses. */
cJSON *users_to_json(const gw_user_t *u);
/* First step of every authenticated route: loads the session's user, answers
 * 401 (unknown or disabled user) or 403 (missing role), else continues with
 * the route's own first step. */
void users_auth_step(gw_call_t *c);

#endif
