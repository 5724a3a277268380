/* export_kinds.h: what can be exported as CSV, in one table.
 *
 * A kind is an admin list (gateway/list_query.h: the list route's own
 * filters, statement and rendering) or a statistic, with the roles that may
 * export it, its columns with their Chinese headers, and which columns are
 * phones or names (masked unless the export is unmasked) or numbers
 * (written unescaped when they are plain numbers, gateway/csv.h).
 *
 * A column names a field of the list item as the list route renders it
 * (dotted for nested fields, "unit.building"), so a CSV row holds the
 * values the list shows for the same filters:
 *   - a phone column (EXPORT_PHONE) is the masked phone the route shows;
 *     unmasked, the phone as the row's SELECT read it (same alias);
 *   - a name column (EXPORT_NAME) is masked as 张* unless unmasked;
 *   - times (EXPORT_TIME, unix seconds) are written as Beijing time,
 *     "2026-01-31 08:00:00"; booleans (EXPORT_BOOL) as 是/否; objects and
 *     arrays as compact JSON; null as an empty cell;
 *   - openids are never exported: no kind has such a column.
 *
 * Statistics (domain/stats/stats.h) join the table one kind per entry of
 * stats_defs, built from it (so the statistics are listed once): kind
 * "stats.<name>", title the statistic's; `stat` writes the header and the
 * rows of the statistic `stat_def` for the caller, the scope (?project=
 * &from= &to=) read and checked from its query string by stats_request.h,
 * exactly as GET /admin/stats reads it, so the CSV holds the API's numbers;
 * columns the statistic's SELECT makes numbers are written as numbers.
 * export_write_db_rows writes rows with named columns. DB workers only,
 * except export_kind_find and export_kinds (any thread). */
#ifndef GW_EXPORT_KINDS_H
#define GW_EXPORT_KINDS_H
#include <cjson/cJSON.h>

#include "gateway/csv.h"
#include "gateway/list_query.h"

enum {
    EXPORT_NUMBER = 1u << 0, /* a numeric column (csv.h CSV_NUMERIC) */
    EXPORT_PHONE = 1u << 1,  /* a phone: masked unless unmasked */
    EXPORT_NAME = 1u << 2,   /* a person's name: masked unless unmasked */
    EXPORT_TIME = 1u << 3,   /* unix seconds, written as Beijing time */
    EXPORT_BOOL = 1u << 4,   /* 是 / 否 */
};

typedef struct {
    const char *field;  /* the list item's field, dotted when nested */
    const char *header; /* the CSV header, Chinese */
    unsigned flags;     /* EXPORT_* */
    const char *raw;    /* a phone: the SELECT's alias of the whole phone (NULL: field) */
} export_col_t;

struct export_kind;
/* Writes the header and the rows of statistic k->stat_def for the caller c
 * (its user and roles; the scope in its query string) to w, *rows set to
 * how many: 0; -1 with c failed (400 naming the parameter, 403, a db
 * error); -2 when w refused (its bound). */
typedef int (*export_stat_fn)(gw_call_t *c, db_conn_t *db, const struct export_kind *k, csv_t *w, long long *rows);

/* The scope of a statistic's export (?project=, ?from=, ?to= in c's query
 * string) read and checked for the caller exactly as the statistic reads
 * it when it runs, without running it: 0, or -1 with c failed (400 naming
 * the parameter, 403, a db error). */
int export_stat_scope_or_fail(gw_call_t *c, db_conn_t *db);

typedef struct export_kind {
    const char *name;         /* "repairs", "stats.<name>" */
    const char *title;        /* Chinese, the start of the download's name */
    unsigned roles;           /* ROLE_* that may export it (then the list's own scope) */
    const list_def_t *list;   /* a list ... */
    export_stat_fn stat;      /* ... or a statistic, */
    const void *stat_def;     /* its definition (stat's to read) */
    const export_col_t *cols; /* a list's columns */
    int ncols;
} export_kind_t;

/* The kind of that name, or NULL. */
const export_kind_t *export_kind_find(const char *name);
/* The table and its size (for documentation and tests). */
const export_kind_t *export_kinds(int *count);

/* An export's params (a JSON object of the list's query parameters:
 * {"project": 3, "state": "submitted", "overdue": true}) as the query
 * string the list route would get, URL-encoded; the caller frees it.
 * NULL when params is not such an object, with field (the offending key as
 * "params" or "params.<key>", EXPORT_FIELD_MAX bytes) and why (a sentence,
 * EXPORT_WHY_MAX bytes) set; also NULL with why empty when memory runs
 * out. At most EXPORT_PARAMS_MAX keys of [a-z0-9_] (1..32), each a string
 * (at most 256 bytes), a whole number or a boolean. */
#define EXPORT_PARAMS_MAX 16
#define EXPORT_FIELD_MAX 64
#define EXPORT_WHY_MAX 160
char *export_params_query(const cJSON *params, char *field, char *why);

/* Writes s percent-encoded at o (RFC 3986: unreserved characters as they
 * are, every other byte as %XX), NUL not included; o must hold 3 *
 * strlen(s) bytes. Returns the end of what was written. */
char *export_url_encode(char *o, const char *s);

/* Writes a header of `headers` and every row of r, each the cells of the
 * columns `names` (n of each; a NULL cell empty, every cell text with the
 * formula escape; numbers as plain numbers when numeric[i] is set, numeric
 * may be NULL). 0, or -1 when the writer refused. For statistics. */
int export_write_db_rows(csv_t *w, const db_rows_t *r, const char *const *names, const char *const *headers,
                         const int *numeric, int n);

/* Writes the header row. 0, or -1 when the writer refused (its bound). */
int export_write_header(csv_t *w, const export_kind_t *k);
/* Writes one item (the list's rendering of row i of r, or a statistic's
 * row with r NULL) as a CSV row, masked unless `unmasked`. 0, or -1 when
 * the writer refused or memory ran out. */
int export_write_row(csv_t *w, const export_kind_t *k, const cJSON *item, const db_rows_t *r, int i, int unmasked);

#endif
