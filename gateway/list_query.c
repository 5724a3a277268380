/* list_query.c: see list_query.h. */
#include "gateway/list_query.h"

#include <stdalign.h>
#include <string.h>

int list_filter_or_fail(gw_call_t *c, db_conn_t *db, const list_def_t *def, void *filter)
{
    if (def->filter_or_fail(c, db, filter) != 0)
        return -1;
    return def->scope_or_fail ? def->scope_or_fail(c, db, filter) : 0;
}

void list_respond(gw_call_t *c, db_conn_t *db, const list_def_t *def)
{
    const char *const keys[] = {LIST_KEY(def)};
    alignas(max_align_t) char filter[LIST_FILTER_MAX];
    page_t page;
    memset(filter, 0, sizeof(filter));
    if (def->filter_size > sizeof(filter)) {
        call_fail(c, ERR_INTERNAL, NULL, "list filter too large");
        return;
    }
    if (page_or_fail(c, 1, &page) != 0 || def->filter_or_fail(c, db, filter) != 0)
        return;
    db_rows_t *r = def->rows(db, c, filter, page_key(&page, 0, LIST_FIRST_KEY(def)), page.limit + 1, 0);
    if (!r) {
        call_fail_db(c);
        return;
    }
    if (r->nrows == 0 && def->scope_or_fail && def->scope_or_fail(c, db, filter) != 0) {
        db_rows_free(r);
        return;
    }
    void *data = NULL;
    int shown = r->nrows < page.limit ? r->nrows : page.limit, failed = 0;
    if (def->page_data && shown > 0)
        data = def->page_data(db, c, filter, r, shown, &failed);
    if (failed)
        call_fail_db(c);
    else
        page_respond(c, &page, r, def->render, data, keys);
    if (data && def->page_data_free)
        def->page_data_free(data);
    db_rows_free(r);
}

int list_parent_id_or_fail(gw_call_t *c, const char *query_name, long long *id)
{
    if (call_param(c, "id"))
        return call_param_id_or_fail(c, "id", id);
    if (query_id_or_fail(c, query_name, id) != 0)
        return -1;
    if (!*id) {
        call_fail(c, ERR_MISSING_FIELD, query_name, "%s is required", query_name);
        return -1;
    }
    return 0;
}
