/* outbox_list.c: see outbox_list.h. The statement and filters moved here
 * from handlers/notifications/notifications_admin.c unchanged. */
#include "domain/notifications/outbox_list.h"

const char *const outbox_statuses[] = {"pending", "sending", "retrying", "sent", "no_quota", "failed", "dead", NULL};

typedef struct {
    const char *status, *kind;
    long long user_id, project_id;
} outbox_filter_t;

/* Every filter is optional and bound (NULL or 0: not filtered), so there is
 * one statement whatever the query string holds. */
#define SQL_LIST                                                                                                       \
    OUTBOX_ROW_SQL " WHERE id < ?" OUTBOX_SCOPE_SQL " AND (? IS NULL OR status = ?)"                                   \
                   " AND (? IS NULL OR kind = ?) AND (? = 0 OR user_id = ?)"                                           \
                   " AND (? = 0 OR project_id = ?) ORDER BY id DESC LIMIT ?"

static int outbox_filter_or_fail(gw_call_t *c, db_conn_t *db, void *filter)
{
    (void)db;
    outbox_filter_t *f = filter;
    return query_enum_or_fail(c, "status", outbox_statuses, NULL, &f->status) != 0 ||
                   query_string_or_fail(c, "kind", 48, &f->kind) != 0 ||
                   query_id_or_fail(c, "user", &f->user_id) != 0 || query_id_or_fail(c, "project", &f->project_id) != 0
               ? -1
               : 0;
}

static db_rows_t *outbox_rows(db_conn_t *db, const gw_call_t *c, const void *filter, long long before, int limit,
                              int count)
{
    const outbox_filter_t *f = filter;
    return db_query(db, count ? LIST_COUNT_SQL(SQL_LIST) : SQL_LIST,
                    DB_ARGS(DB_INT(before), DB_INT(c->user.id), DB_INT(c->user.id), DB_STR(f->status),
                            DB_STR(f->status), DB_STR(f->kind), DB_STR(f->kind), DB_INT(f->user_id), DB_INT(f->user_id),
                            DB_INT(f->project_id), DB_INT(f->project_id), DB_INT(limit)));
}

const list_def_t outbox_admin_list = {
    .filter_size = sizeof(outbox_filter_t),
    .filter_or_fail = outbox_filter_or_fail,
    .rows = outbox_rows,
    .render = NULL,
};
