/* lead_json.h: small helpers shared by the lead, referral and reward
 * handlers: list paging from the query string and typed cells to JSON.
 * Cells are named by the column's name or alias in the SELECT. */
#ifndef GW_LEAD_JSON_H
#define GW_LEAD_JSON_H
#include <cjson/cJSON.h>

#include "gateway/call.h"

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

/* Answers a page of a list: r holds rows fetched with LIMIT limit + 1 (NULL
 * after a db error: the call fails with it), item renders one row; r is
 * freed. */
void lead_page_answer(gw_call_t *c, db_rows_t *r, int limit, cJSON *(*item)(const db_rows_t *r, int row));

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

/* A lead's fields shared by every view of it, from LEAD_HEAD_COLUMNS (a
 * lead l joined to its project p): id, project {id, name}, name,
 * phone_masked, phone_verified. */
#define LEAD_HEAD_COLUMNS "l.id, l.project_id, p.name AS project_name, l.name, l.phone, l.phone_verified"
void lead_json_add_head(cJSON *o, const db_rows_t *r, int row);
/* interest {layout, area, budget} from interest_layout, interest_area and
 * interest_budget; always an object. */
void lead_json_add_interest(cJSON *o, const db_rows_t *r, int row);
/* consent {at, privacy_notice_version} from consent_at and
 * privacy_notice_version; always an object. */
void lead_json_add_consent(cJSON *o, const db_rows_t *r, int row);
/* agent {user_id, name} from agent_user_id and agent_name, or null when
 * agent_user_id is NULL or 0. */
void lead_json_add_agent(cJSON *o, const db_rows_t *r, int row);

#endif
