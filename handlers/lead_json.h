/* lead_json.h: small helpers shared by the lead, referral and reward
 * handlers: list paging from the query string and typed cells to JSON.
 * Cells are named by the column's name or alias in the SELECT. */
#ifndef GW_LEAD_JSON_H
#define GW_LEAD_JSON_H
#include <cjson/cJSON.h>

#include "../gateway/call.h"

/* ?cursor= (the opaque value of a previous next_cursor: the last id seen)
 * and ?limit= (1..100, default 20). Lists are newest first, so the next
 * page holds ids below *before_id (LLONG_MAX on the first page). -1 with a
 * 400 naming the parameter. */
int lead_page_params(gw_call_t *c, long long *before_id, int *limit);
/* Rows to turn into items when limit + 1 were fetched. */
int lead_page_rows(const db_rows_t *r, int limit);
/* call_ok_list for rows fetched with LIMIT limit + 1 and turned into at most
 * `limit` items: next_cursor is the id (column id_col) of the last item kept
 * when a further row exists, else null. Takes items. */
void lead_page_respond(gw_call_t *c, cJSON *items, int limit, const db_rows_t *r, const char *id_col);

/* Adds cell (row, col) as a number, or null when the cell is NULL. */
void lead_json_add_int(cJSON *o, const char *name, const db_rows_t *r, int row, const char *col);
/* Adds a cell as a string, or null. */
void lead_json_add_str(cJSON *o, const char *name, const db_rows_t *r, int row, const char *col);
/* Adds a cell as true/false (NULL and 0 are false). */
void lead_json_add_bool(cJSON *o, const char *name, const db_rows_t *r, int row, const char *col);
/* Adds the cell (a phone) masked, or null. */
void lead_json_add_phone_masked(cJSON *o, const char *name, const db_rows_t *r, int row, const char *col);
/* Adds the cell (a person's name) masked as 张*, or null. */
void lead_json_add_name_masked(cJSON *o, const char *name, const db_rows_t *r, int row, const char *col);

#endif
