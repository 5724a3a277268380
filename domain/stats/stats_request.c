#include "domain/stats/stats_request.h"

#include <time.h>

#include "domain/repairs/repair_view.h"
#include "gateway/db_json.h"
#include "gateway/query.h"
#include "gateway/roles.h"

int stats_period_or_fail(gw_call_t *c, stats_scope_t *s)
{
    if (query_time_or_fail(c, "to", (long long)time(NULL) + 1, &s->to) != 0 ||
        query_time_or_fail(c, "from", s->to - STATS_DEFAULT_DAYS * 86400LL, &s->from) != 0)
        return -1;
    if (s->from >= s->to) {
        call_fail(c, ERR_INVALID_FIELD, "from", "from must be before to");
        return -1;
    }
    return 0;
}

int stats_scope_or_fail(gw_call_t *c, db_conn_t *db, stats_scope_t *s)
{
    s->admin = (c->user.roles & ROLE_ADMIN) != 0;
    s->user_id = c->user.id;
    /* The period first: a bad date is a 400 whatever the project. */
    if (stats_period_or_fail(c, s) != 0 || repair_project_or_fail(c, db, &s->project) != 0)
        return -1;
    return 0;
}

cJSON *stats_json(db_conn_t *db, const stats_def_t *def, const stats_scope_t *s)
{
    db_rows_t *r = def->run(db, s);
    cJSON *arr = r ? db_rows_json(r, 0, r->nrows) : NULL;
    db_rows_free(r);
    return arr;
}

void stats_scope_add_json(cJSON *d, const stats_scope_t *s)
{
    if (s->project)
        cJSON_AddNumberToObject(d, "project_id", (double)s->project);
    else
        cJSON_AddNullToObject(d, "project_id");
    cJSON_AddNumberToObject(d, "from", (double)s->from);
    cJSON_AddNumberToObject(d, "to", (double)s->to);
}
