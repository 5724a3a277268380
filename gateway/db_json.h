/* db_json.h: a result row rendered as JSON, shaped by the SELECT.
 *
 * The column's alias names the field, and a dotted alias nests it:
 *
 *     SELECT t.id, t.state, c.code AS "category.code", c.name AS "category.name"
 *
 * renders {"id": 7, "state": "accepted", "category": {"code": "...", ...}}.
 * The column's kind (db.h) picks the JSON type: integers and decimals are
 * numbers, TINYINT(1) and one-digit integer expressions are booleans, the
 * rest strings. NULL is null, and a nested object whose every field is NULL
 * is null itself (an unassigned engineer: "engineer": null). Times go out as
 * they are selected: the API's are unix seconds, FLOOR(UNIX_TIMESTAMP(x)).
 *
 * Masking, labels and computed fields are added by the caller after
 * rendering, as a few explicit lines. */
#ifndef GW_DB_JSON_H
#define GW_DB_JSON_H
#include <cjson/cJSON.h>

#include "db.h"

/* A new object for row `row`; NULL only when memory runs out. */
cJSON *db_row_json(const db_rows_t *r, int row);
/* Adds row `row`'s fields to an existing object (same rules). 0, or -1 when
 * memory runs out. */
int db_row_json_into(cJSON *obj, const db_rows_t *r, int row);
/* A new object for the columns first_col .. end_col-1 of row `row` (same
 * rules): one result that joins a row with its children (a ticket and its
 * timeline) renders each part from its own columns. NULL only when memory
 * runs out. */
cJSON *db_row_json_cols(const db_rows_t *r, int row, int first_col, int end_col);
/* A new array of rows first .. first+count-1 (clamped to the result). */
cJSON *db_rows_json(const db_rows_t *r, int first, int count);

#endif
