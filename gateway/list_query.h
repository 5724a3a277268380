/* list_query.h: one admin list, shared by its route and its CSV export.
 *
 * A list is its filters (read from the query string, with the caller's
 * access to them checked), one SQL statement ordered by id, newest first,
 * and the rendering of a row. The route answers a page of it
 * (list_respond); the export runner (jobs/export_runner.c) reads it whole,
 * page after page, with the same filters, statement and rendering, so a
 * CSV holds exactly the rows the list shows. DB workers only. */
#ifndef GW_LIST_QUERY_H
#define GW_LIST_QUERY_H
#include <stddef.h>

#include "gateway/call.h"
#include "gateway/query.h"

/* The largest filter struct a list may have. */
#define LIST_FILTER_MAX 1024

typedef struct {
    size_t filter_size; /* <= LIST_FILTER_MAX */
    /* Reads the filters from c's query string into filter (filter_size
     * bytes, zeroed) and checks that c->user may read them: 0, or -1 with
     * the call failed (400 naming the parameter, 403/404, a db error). */
    int (*filter_or_fail)(gw_call_t *c, db_conn_t *db, void *filter);
    /* The rows after `after` in the list's order, at most limit: id <
     * after, newest first, or id > after when `ascending`. With count set,
     * one row with the column n: how many rows that would be. NULL on a
     * database error. c is the caller (its user id and roles). */
    db_rows_t *(*rows)(db_conn_t *db, const gw_call_t *c, const void *filter, long long after, int limit, int count);
    page_render_fn render; /* NULL: db_row_json */
    int ascending;         /* ordered by the key ascending (oldest first) */
    const char *key;       /* the key column, an id unique in the list (NULL: "id") */
    /* Optional: what render needs beside a page's rows (its ud), read
     * after them for the first `shown` rows (shown > 0), e.g. the roles of
     * a page of users. NULL with *failed set on a database error; freed
     * with page_data_free. */
    void *(*page_data)(db_conn_t *db, const gw_call_t *c, const void *filter, const db_rows_t *r, int shown,
                       int *failed);
    void (*page_data_free)(void *data);
    /* Optional, for a list whose statement applies the caller's scope itself
     * (so that filter_or_fail spends no statement on it): whether the caller
     * may read what the filters name, e.g. a project. 0, or -1 with the
     * call failed (403). list_respond asks only when a page comes back
     * empty, to tell a refusal from an empty list; an export asks before it
     * runs (list_filter_or_fail). */
    int (*scope_or_fail)(gw_call_t *c, db_conn_t *db, const void *filter);
} list_def_t;

/* The key column of def. */
#define LIST_KEY(def) ((def)->key ? (def)->key : "id")

/* The first page's key of def: PAGE_KEY_MIN ascending, else PAGE_KEY_MAX. */
#define LIST_FIRST_KEY(def) ((def)->ascending ? PAGE_KEY_MIN : PAGE_KEY_MAX)

/* A list of the objects of one parent addressed by the route's path
 * (/admin/projects/:id/buildings), exported with the parent in params
 * (`query_name`): the id from the path when the call has one, else the
 * required query parameter. 0, or -1 with the call failed (404 for a bad
 * path id, 400 MISSING_FIELD / INVALID_FIELD naming query_name). */
int list_parent_id_or_fail(gw_call_t *c, const char *query_name, long long *id);

/* The filters of def read into filter (LIST_FILTER_MAX bytes, zeroed) with
 * the caller's access to them checked, scope_or_fail included: what an
 * export checks when it is asked for and again when it runs. 0, or -1 with
 * the call failed. */
int list_filter_or_fail(gw_call_t *c, db_conn_t *db, const list_def_t *def, void *filter);

/* The list route: a page of def (the one key "id") for the caller. */
void list_respond(gw_call_t *c, db_conn_t *db, const list_def_t *def);

/* The SQL of a count over a list's statement: its rows as a derived table. */
#define LIST_COUNT_SQL(list_sql) "SELECT COUNT(*) AS n FROM (" list_sql ") list_rows"

#endif
