/* lead_json.c: see lead_json.h. */
#include "domain/leads/lead_json.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "gateway/json_util.h"
#include "gateway/mask.h"
#include "domain/leads/lead_rules.h"

/* A positive decimal integer in lo..hi; -1 otherwise. */
static long long parse_positive(const char *s, long long lo, long long hi)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || v < lo || v > hi)
        return -1;
    return v;
}

int lead_page_params(gw_call_t *c, long long *before_id, int *limit)
{
    char buf[32];
    *before_id = LLONG_MAX;
    *limit = 20;
    if (call_query(c, "cursor", buf, sizeof(buf)) && *buf) {
        long long v = parse_positive(buf, 1, LLONG_MAX);
        if (v < 0) {
            call_fail(c, ERR_INVALID_FIELD, "cursor", "cursor must be a next_cursor value from a previous page");
            return -1;
        }
        *before_id = v;
    }
    if (call_query(c, "limit", buf, sizeof(buf))) {
        long long v = parse_positive(buf, 1, 100);
        if (v < 0) {
            call_fail(c, ERR_INVALID_FIELD, "limit", "limit must be an integer from 1 to 100");
            return -1;
        }
        *limit = (int)v;
    }
    return 0;
}

int lead_page_rows(const db_rows_t *r, int limit)
{
    return r->nrows < limit ? r->nrows : limit;
}

void lead_page_respond(gw_call_t *c, cJSON *items, int limit, const db_rows_t *r, const char *id_col)
{
    char cursor[32];
    int more = r->nrows > limit;
    if (more)
        snprintf(cursor, sizeof(cursor), "%lld", db_get_int(r, limit - 1, id_col));
    call_ok_list(c, items, more ? cursor : NULL);
}

void lead_page_answer(gw_call_t *c, db_rows_t *r, int limit, cJSON *(*item)(const db_rows_t *r, int row))
{
    if (!r) {
        call_fail_db(c);
        return;
    }
    cJSON *items = cJSON_CreateArray();
    for (int i = 0; i < lead_page_rows(r, limit); i++)
        cJSON_AddItemToArray(items, item(r, i));
    lead_page_respond(c, items, limit, r, "id");
    db_rows_free(r);
}

void lead_json_add_int(cJSON *o, const char *name, const db_rows_t *r, int row, const char *col)
{
    if (!db_is_null(r, row, col))
        cJSON_AddNumberToObject(o, name, (double)db_get_int(r, row, col));
    else
        cJSON_AddNullToObject(o, name);
}

void lead_json_add_str(cJSON *o, const char *name, const db_rows_t *r, int row, const char *col)
{
    json_add_string_or_null(o, name, db_get(r, row, col));
}

void lead_json_add_bool(cJSON *o, const char *name, const db_rows_t *r, int row, const char *col)
{
    cJSON_AddBoolToObject(o, name, db_get_int(r, row, col) != 0);
}

void lead_json_add_phone_masked(cJSON *o, const char *name, const db_rows_t *r, int row, const char *col)
{
    const char *phone = db_get(r, row, col);
    char masked[40];
    if (phone)
        mask_phone(phone, masked, sizeof(masked));
    json_add_string_or_null(o, name, phone ? masked : NULL);
}

void lead_json_add_name_masked(cJSON *o, const char *name, const db_rows_t *r, int row, const char *col)
{
    const char *person = db_get(r, row, col);
    char masked[16];
    if (person)
        lead_mask_name(person, masked, sizeof(masked));
    json_add_string_or_null(o, name, person ? masked : NULL);
}

void lead_json_add_head(cJSON *o, const db_rows_t *r, int row)
{
    lead_json_add_int(o, "id", r, row, "id");
    cJSON *p = cJSON_AddObjectToObject(o, "project");
    lead_json_add_int(p, "id", r, row, "project_id");
    lead_json_add_str(p, "name", r, row, "project_name");
    lead_json_add_str(o, "name", r, row, "name");
    lead_json_add_phone_masked(o, "phone_masked", r, row, "phone");
    lead_json_add_bool(o, "phone_verified", r, row, "phone_verified");
}

void lead_json_add_interest(cJSON *o, const db_rows_t *r, int row)
{
    cJSON *interest = cJSON_AddObjectToObject(o, "interest");
    lead_json_add_str(interest, "layout", r, row, "interest_layout");
    lead_json_add_str(interest, "area", r, row, "interest_area");
    lead_json_add_str(interest, "budget", r, row, "interest_budget");
}

void lead_json_add_consent(cJSON *o, const db_rows_t *r, int row)
{
    cJSON *consent = cJSON_AddObjectToObject(o, "consent");
    lead_json_add_int(consent, "at", r, row, "consent_at");
    lead_json_add_str(consent, "privacy_notice_version", r, row, "privacy_notice_version");
}

void lead_json_add_agent(cJSON *o, const db_rows_t *r, int row)
{
    if (!db_get_int(r, row, "agent_user_id")) {
        cJSON_AddNullToObject(o, "agent");
        return;
    }
    cJSON *agent = cJSON_AddObjectToObject(o, "agent");
    lead_json_add_int(agent, "user_id", r, row, "agent_user_id");
    lead_json_add_str(agent, "name", r, row, "agent_name");
}
