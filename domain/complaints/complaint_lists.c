/* complaint_lists.c: see complaint_lists.h. */
#include "domain/complaints/complaint_lists.h"

#include "domain/complaints/complaint.h"
#include "gateway/roles.h"

typedef struct {
    long long project, building, incident, handler, from, to; /* 0 / -1 when not asked for */
    int overdue;
    const char *type, *category, *level, *state;
} complaint_filter_t;

/* One statement, newest first, the caller's scope in it. Takes (is_admin,
 * user, user, project x2, type x2, category x2, level x2, state x2,
 * building x2, incident x2, handler x2, overdue, from x2, to x2, key, limit). */
#define SQL_STAFF_LIST                                                                                                 \
    "SELECT " COMPLAINT_ITEM_COLUMNS ", " COMPLAINT_STAFF_COLUMNS COMPLAINT_ITEM_FROM                                  \
    " WHERE (? = 1 OR k.handler_id = ? OR EXISTS(SELECT 1 FROM staff_roles sr WHERE sr.user_id = ?"                    \
    " AND sr.role IN ('supervisor', 'service') AND sr.project_id = k.project_id))"                                     \
    " AND (? = 0 OR k.project_id = ?) AND (? IS NULL OR k.type = ?) AND (? IS NULL OR cc.code = ?)"                    \
    " AND (? IS NULL OR k.level = ?) AND (? IS NULL OR k.state = ?) AND (? = 0 OR k.building_id = ?)"                  \
    " AND (? = 0 OR k.incident_id = ?) AND (? = 0 OR k.handler_id = ?) AND (? = 0 OR " COMPLAINT_OVERDUE_SQL ")"       \
    " AND (? IS NULL OR k.created_at >= FROM_UNIXTIME(?)) AND (? IS NULL OR k.created_at < FROM_UNIXTIME(?))"          \
    " AND k.id < ? ORDER BY k.id DESC LIMIT ?"

static int filter_or_fail(gw_call_t *c, db_conn_t *db, void *filter)
{
    (void)db; /* the statement applies the scope; scope_or_fail tells a refusal */
    complaint_filter_t *f = filter;
    if (query_id_or_fail(c, "project", &f->project) != 0 ||
        query_enum_or_fail(c, "type", complaint_type_names, NULL, &f->type) != 0 ||
        query_string_or_fail(c, "category", 32, &f->category) != 0 ||
        query_enum_or_fail(c, "level", complaint_level_names, NULL, &f->level) != 0 ||
        query_enum_or_fail(c, "state", complaint_state_names, NULL, &f->state) != 0 ||
        query_id_or_fail(c, "building", &f->building) != 0 || query_id_or_fail(c, "incident", &f->incident) != 0 ||
        query_id_or_fail(c, "handler", &f->handler) != 0 || query_bool_or_fail(c, "overdue", 0, &f->overdue) != 0 ||
        query_time_or_fail(c, "from", -1, &f->from) != 0 || query_time_or_fail(c, "to", -1, &f->to) != 0)
        return -1;
    if (f->from >= 0 && f->to >= 0 && f->from >= f->to) {
        call_fail(c, ERR_INVALID_FIELD, "from", "from must be before to");
        return -1;
    }
    return 0;
}

static int scope_or_fail(gw_call_t *c, db_conn_t *db, const void *filter)
{
    const complaint_filter_t *f = filter;
    return f->project ? complaint_manages_or_fail(c, db, f->project, "project") : 0;
}

static db_rows_t *rows(db_conn_t *db, const gw_call_t *c, const void *filter, long long before, int limit, int count)
{
    const complaint_filter_t *f = filter;
    long long me = c->user.id;
    db_param_t since = f->from >= 0 ? DB_INT(f->from) : DB_NULL, until = f->to >= 0 ? DB_INT(f->to) : DB_NULL;
    return db_query(db, count ? LIST_COUNT_SQL(SQL_STAFF_LIST) : SQL_STAFF_LIST,
                    DB_ARGS(DB_INT((c->user.roles & ROLE_ADMIN) != 0), DB_INT(me), DB_INT(me), DB_INT(f->project),
                            DB_INT(f->project), DB_STR(f->type), DB_STR(f->type), DB_STR(f->category),
                            DB_STR(f->category), DB_STR(f->level), DB_STR(f->level), DB_STR(f->state), DB_STR(f->state),
                            DB_INT(f->building), DB_INT(f->building), DB_INT(f->incident), DB_INT(f->incident),
                            DB_INT(f->handler), DB_INT(f->handler), DB_INT(f->overdue), since, since, until, until,
                            DB_INT(before), DB_INT(limit)));
}

const list_def_t complaint_staff_list = {
    .filter_size = sizeof(complaint_filter_t),
    .filter_or_fail = filter_or_fail,
    .rows = rows,
    .render = complaint_item_json,
    .scope_or_fail = scope_or_fail,
};
