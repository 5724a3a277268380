/* json_util.h: request-body parsing with limits, and field getters that
 * answer the error themselves (redis' "...OrReply" style): when a getter
 * fails the call already holds a 400 naming the field, so handler code reads
 * as a straight line:
 *
 *     const char *code = json_string_or_fail(c, c->body, "code", 1, 128);
 *     if (!code) return;
 */
#ifndef GW_JSON_UTIL_H
#define GW_JSON_UTIL_H
#include <cjson/cJSON.h>
#include <stddef.h>

#include "utf8.h"

struct gw_call;

/* Nesting depth of the JSON text (strings skipped); -1 if unbalanced. */
int json_depth(const char *text, size_t len);
/* Parses text as a JSON object within max_depth. NULL with *why on error. */
cJSON *json_parse_object(const char *text, size_t len, int max_depth, const char **why);

/* Required string of min..max UTF-8 characters. NULL on failure (call failed). */
const char *json_string_or_fail(struct gw_call *c, const cJSON *obj, const char *field, size_t min, size_t max);
/* Optional string: returns 0 and *out = NULL when absent or null. -1 on failure. */
/* A required string that is one of `names` (NULL-terminated, static): the
 * matching entry of names (so the result outlives the body), or NULL with
 * the call failed (400 MISSING_FIELD, or INVALID_FIELD listing the allowed
 * values). */
const char *json_enum_or_fail(struct gw_call *c, const cJSON *obj, const char *field, const char *const names[]);
int json_opt_string_or_fail(struct gw_call *c, const cJSON *obj, const char *field, size_t min, size_t max,
                            const char **out);
/* Required integer in lo..hi. -1 on failure (call failed). */
int json_int_or_fail(struct gw_call *c, const cJSON *obj, const char *field, long long lo, long long hi,
                     long long *out);
int json_opt_int_or_fail(struct gw_call *c, const cJSON *obj, const char *field, long long lo, long long hi,
                         long long *out, int *present);
int json_bool_or_fail(struct gw_call *c, const cJSON *obj, const char *field, int *out);

/* Refuses a body holding a field not in `known` (a NULL-terminated list):
 * 0, or -1 with 400 INVALID_FIELD naming the first unknown field. */
int json_known_fields_or_fail(struct gw_call *c, const cJSON *obj, const char *const known[]);
/* A text field: the string trimmed of leading and trailing white space
 * (ASCII and U+3000) in place in the body (the body is the call's and
 * outlives the value), then checked for min..max UTF-8 characters. NULL
 * or absent: *present = 0, *out = NULL and 0 when optional, 400
 * MISSING_FIELD when required. -1 when the call failed. */
int json_text_or_fail(struct gw_call *c, cJSON *obj, const char *field, int required, size_t min, size_t max,
                      const char **out, int *present);
/* 1 when s is a calendar date YYYY-MM-DD (years 1900-2999), else 0. */
int json_date_valid(const char *s);
/* An optional date YYYY-MM-DD; JSON null is present with *out = NULL (a
 * date cleared). 0 or -1 (400 INVALID_FIELD naming the field). */
int json_opt_date_or_fail(struct gw_call *c, const cJSON *obj, const char *field, const char **out, int *present);
/* A string trimmed of leading and trailing whitespace (ASCII and U+3000)
 * into out (outsz >= 4 * max + 1 bytes holds any max characters), then
 * bounded to min..max UTF-8 characters. required: absent or null is 400
 * MISSING_FIELD; otherwise absent leaves *present 0 and out "". 0, or -1
 * with the call failed. */
int json_trimmed_or_fail(struct gw_call *c, const cJSON *obj, const char *field, int required, size_t min, size_t max,
                         char *out, size_t outsz, int *present);

/* Adds helpers: string or JSON null. */
void json_add_string_or_null(cJSON *obj, const char *name, const char *value);

#endif
