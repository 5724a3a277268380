/* query.h: the one contract for query-string parameters and list paging.
 *
 * Every helper here answers the call itself when the parameter is bad: it
 * returns -1 with a 400 INVALID_FIELD in the call whose `field` and message
 * name the parameter, and the step simply returns. 0 means *out is set: to
 * the value, or to the default when the parameter is absent. An empty value
 * (`?limit=`) counts as absent. Values are URL-decoded (%XX and '+') first,
 * and a value longer than its type can be is refused, never cut.
 *
 *     long long project;
 *     page_t page;
 *     if (query_id_or_fail(c, "project", &project) != 0 || page_or_fail(c, 1, &page) != 0)
 *         return;
 *
 * Any thread: they read only the call's own copy of the query string. */
#ifndef GW_QUERY_H
#define GW_QUERY_H
#include <cjson/cJSON.h>
#include <stddef.h>

#include "call.h"
#include "db.h"

/* The raw value of `name`, URL-decoded into out (NUL-terminated, its
 * length in *outlen if not NULL): 1 present, 0 absent, -1 longer than out
 * (out holds its start). Answers nothing. */
int query_value(const gw_call_t *c, const char *name, char *out, size_t outsz, size_t *outlen);

/* An integer in lo..hi; def when absent. */
int query_int_or_fail(gw_call_t *c, const char *name, long long lo, long long hi, long long def, long long *out);
/* An optional positive id; 0 when absent. */
int query_id_or_fail(gw_call_t *c, const char *name, long long *out);
/* One of `allowed` (a NULL-terminated list); def (may be NULL) when absent.
 * *out points into allowed[] (or is def). */
int query_enum_or_fail(gw_call_t *c, const char *name, const char *const allowed[], const char *def, const char **out);
/* true/false (also 1/0); def when absent. */
int query_bool_or_fail(gw_call_t *c, const char *name, int def, int *out);
/* Valid UTF-8 of 1..max_chars characters; NULL when absent. The string is
 * owned by the call (freed with it). */
int query_string_or_fail(gw_call_t *c, const char *name, size_t max_chars, const char **out);
/* A time in unix seconds (0 .. 4102444800, the year 2100); def when absent. */
int query_time_or_fail(gw_call_t *c, const char *name, long long def, long long *out);
/* For a parameter whose defects are not answered 400 (every defect of a
 * signed URL or a signed push is 403): an integer in lo..hi read as
 * query_int_or_fail reads it, answering nothing. 1 present and valid (*out
 * set), 0 absent or empty, -1 present but not a whole decimal number in
 * lo..hi. */
int query_int_value(const gw_call_t *c, const char *name, long long lo, long long hi, long long *out);

/* ---- paging ----
 *
 * Every list takes `limit` (1..PAGE_LIMIT_MAX, default PAGE_LIMIT_DEFAULT)
 * and `cursor`, the opaque `next_cursor` of the previous page, and answers
 * `data` (the items) and `next_cursor` (null on the last page). A list is
 * paged by keyset, never by offset: the cursor holds the sort keys of the
 * last item shown (1..PAGE_KEYS_MAX signed 64-bit integers), and the next
 * query continues after them.
 *
 * Cursor format, version 1: base64url (no padding) of the byte 1, the
 * number of keys, then each key as 8 bytes big-endian two's complement.
 * A cursor that does not decode exactly, has another version or another
 * number of keys than the list's gets 400 INVALID_FIELD (field `cursor`).
 *
 * A list ordered by (created_at DESC, id DESC) selects both keys as
 * integers, fetches one row more than the page, and answers:
 *
 *     page_t page;
 *     if (page_or_fail(c, 2, &page) != 0)
 *         return;
 *     db_rows_t *r = db_query(db, "SELECT ..., CAST(UNIX_TIMESTAMP(x.created_at) * 1000 AS SIGNED) AS k_at, x.id"
 *                                 " FROM x WHERE ... AND (x.created_at, x.id) < (FROM_UNIXTIME(? / 1000), ?)"
 *                                 " ORDER BY x.created_at DESC, x.id DESC LIMIT ?",
 *                             DB_ARGS(..., DB_INT(page_key(&page, 0, PAGE_KEY_MAX)),
 *                                     DB_INT(page_key(&page, 1, PAGE_KEY_MAX)), DB_INT(page.limit + 1)));
 *     if (!r) { call_fail_db(c); return; }
 *     static const char *const keys[] = {"k_at", "id"};
 *     page_respond(c, &page, r, NULL, NULL, keys);
 *     db_rows_free(r);
 */
#define PAGE_LIMIT_DEFAULT 20
#define PAGE_LIMIT_MAX 100
#define PAGE_KEYS_MAX 3
#define PAGE_CURSOR_VERSION 1
/* Characters of the longest cursor, without the NUL. */
#define PAGE_CURSOR_MAX 36
#define PAGE_KEY_MAX 0x7fffffffffffffffLL
#define PAGE_KEY_MIN (-PAGE_KEY_MAX - 1)

typedef struct {
    int limit;                    /* 1..PAGE_LIMIT_MAX */
    int nkeys;                    /* the list's number of sort keys */
    int has_cursor;               /* 0 on the first page */
    long long key[PAGE_KEYS_MAX]; /* after a cursor: the last item shown's keys */
} page_t;

/* Reads `limit` and `cursor` for a list sorted by nkeys keys (1..3). */
int page_or_fail(gw_call_t *c, int nkeys, page_t *p);
/* Key i of the cursor, or first_page_value on the first page (PAGE_KEY_MAX
 * for a descending order, PAGE_KEY_MIN for an ascending one). */
long long page_key(const page_t *p, int i, long long first_page_value);

/* Renders one row of a list; NULL when memory runs out. */
typedef cJSON *(*page_render_fn)(const db_rows_t *r, int row, void *ud);
/* Answers a page from r, fetched with LIMIT p->limit + 1: the first
 * p->limit rows rendered by render (NULL: db_row_json, the row as the SELECT
 * names it), and next_cursor from key_cols (p->nkeys column names, integer
 * columns) of the last row shown when the extra row exists. r is borrowed.
 * render runs inside a json_arena scope: what it returns must be built from
 * nothing it was handed (no item of ud attached), and it lives only until the
 * page is printed. The answer's data is then that printed text (a raw item),
 * so nothing can be added to the page after this call. */
void page_respond(gw_call_t *c, const page_t *p, const db_rows_t *r, page_render_fn render, void *ud,
                  const char *const key_cols[]);
/* The same for items the caller built from r's first rows (taken). */
void page_respond_items(gw_call_t *c, const page_t *p, cJSON *items, const db_rows_t *r, const char *const key_cols[]);

/* The few lists that are not paged (a household's units, the open
 * projects, a project's categories): every row of sql as db_row_json names
 * it, as a new array the caller answers with (call_ok_list) or frees. NULL
 * when the call has failed (database error, or memory: 503). */
cJSON *rows_json_or_fail(gw_call_t *c, db_conn_t *db, const char *sql, const db_param_t *params, int nparams);

/* The cursor codec (exposed for tests). encode: 0, or -1 when out is too
 * small (PAGE_CURSOR_MAX + 1 always fits) or nkeys out of range. decode: 0,
 * or -1 when text is not a version-1 cursor of exactly nkeys keys. */
int page_cursor_encode(const long long *keys, int nkeys, char *out, size_t outsz);
int page_cursor_decode(const char *text, int nkeys, long long *keys);

#endif
