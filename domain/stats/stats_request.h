/* stats_request.h: a statistics request's scope, read the one way every
 * statistics route (and an export of a statistic) reads it.
 *
 *   ?project=  optional; a supervisor may name only a project they
 *              supervise (403, field project), an admin any
 *   ?from= ?to=  unix seconds, the period [from, to); to defaults to now + 1,
 *              from to 30 days before to; from must be before to (400, field
 *              from)
 *
 * Call on a database worker (the project check reads staff_roles). */
#ifndef GW_STATS_REQUEST_H
#define GW_STATS_REQUEST_H
#include <cjson/cJSON.h>

#include "domain/stats/stats.h"
#include "gateway/call.h"

/* 0 with *s filled for the caller, or -1 with the call failed (400 naming
 * the parameter, 403, or a db error). */
int stats_scope_or_fail(gw_call_t *c, db_conn_t *db, stats_scope_t *s);
/* Only the period (from, to), for a route that reads the project itself. */
int stats_period_or_fail(gw_call_t *c, stats_scope_t *s);
/* The rows of one statistic as an array (db_rows_json); NULL on a database
 * error or when memory runs out. The caller owns the array. */
cJSON *stats_json(db_conn_t *db, const stats_def_t *def, const stats_scope_t *s);
/* The scope as every statistics answer opens: project_id (null for all the
 * caller's projects), from, to; added to d. */
void stats_scope_add_json(cJSON *d, const stats_scope_t *s);

#endif
