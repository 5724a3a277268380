/* subscriptions.c: what each user allowed through wx.requestSubscribeMessage.
 *
 *   POST /api/v1/subscriptions {accepted: [template_id...], rejected: [...]}
 *   GET  /api/v1/subscriptions
 *
 * The mini-program reports each popup's result. An accepted one-time
 * template adds one grant (one message); an accepted long-term template (as
 * the template configuration says) switches long-term delivery on, and a
 * rejection switches it off. Rejecting a one-time template keeps the grants
 * already held: WeChat keeps them too. Both routes answer with every
 * configured template, its grants, and whether to ask the user again. */
#include <stdio.h>
#include <string.h>

#include "../gateway/call.h"
#include "../gateway/json_util.h"
#include "../gateway/roles.h"
#include "handlers.h"
#include "notification_templates.h"

#define MAX_IDS 20 /* WeChat shows at most 5 templates per popup */

typedef struct {
    const char *ids[MAX_IDS];
    int n;
    int present;
} id_list_t;

static int listed(const id_list_t *l, const char *id)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->ids[i], id) == 0)
            return 1;
    return 0;
}

/* Reads body[field] as an array of configured template ids (duplicates
 * folded). -1 with the call failed (400 naming the field). */
static int read_ids(gw_call_t *c, const char *field, id_list_t *out)
{
    const ntpl_config_t *cfg = notification_templates();
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(c->body, field), *it;
    char unknown[160] = "";
    int nunknown = 0, truncated = 0, i = 0;

    memset(out, 0, sizeof *out);
    if (!arr || cJSON_IsNull(arr))
        return 0;
    out->present = 1;
    if (!cJSON_IsArray(arr)) {
        call_fail(c, ERR_INVALID_FIELD, field, "%s must be an array of template ids", field);
        return -1;
    }
    if (cJSON_GetArraySize(arr) > MAX_IDS) {
        call_fail(c, ERR_INVALID_FIELD, field, "%s holds at most %d template ids", field, MAX_IDS);
        return -1;
    }
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsString(it) || !it->valuestring[0] || strlen(it->valuestring) > 128) {
            call_fail(c, ERR_INVALID_FIELD, field, "%s[%d] must be a template id (a string of 1-128 characters)",
                      field, i);
            return -1;
        }
        i++;
        if (!ntpl_template(cfg, it->valuestring)) {
            size_t used = strlen(unknown);
            if (used + strlen(it->valuestring) + 3 < sizeof unknown)
                snprintf(unknown + used, sizeof unknown - used, "%s%s", nunknown ? ", " : "", it->valuestring);
            else
                truncated = 1;
            nunknown++;
        } else if (!listed(out, it->valuestring)) {
            out->ids[out->n++] = it->valuestring;
        }
    }
    if (nunknown) {
        call_fail(c, ERR_INVALID_FIELD, field, "unknown template ids in %s: %s%s", field, unknown,
                  truncated ? ", ..." : "");
        return -1;
    }
    return 0;
}

/* {templates: [...], ask_again: [...]} for the caller. */
static void respond_state(gw_call_t *c, int status)
{
    const ntpl_config_t *cfg = notification_templates();
    db_rows_t *r = db_query(c->db,
                            "SELECT template_id, one_time_count, long_term FROM notification_grants WHERE user_id = ?",
                            DB_ARGS(DB_INT(c->user.id)));
    if (!r) {
        call_fail_db(c);
        return;
    }
    cJSON *d = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(d, "templates");
    cJSON *ask = cJSON_AddArrayToObject(d, "ask_again");
    for (int t = 0; t < cfg->ntemplates; t++) {
        const ntpl_template_t *tpl = &cfg->templates[t];
        long long count = 0;
        int long_term_on = 0;
        for (int i = 0; i < r->nrows; i++)
            if (strcmp(db_cell(r, i, 0), tpl->id) == 0) {
                count = db_cell_int(r, i, 1);
                long_term_on = tpl->long_term && db_cell_int(r, i, 2);
            }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "template_id", tpl->id);
        json_add_string_or_null(o, "title", tpl->title);
        cJSON_AddBoolToObject(o, "long_term", tpl->long_term);
        cJSON *kinds = cJSON_AddArrayToObject(o, "kinds");
        for (int k = 0; k < cfg->nkinds; k++)
            if (cfg->kinds[k].tpl == tpl)
                cJSON_AddItemToArray(kinds, cJSON_CreateString(cfg->kinds[k].kind));
        cJSON_AddNumberToObject(o, "one_time_grants", (double)count);
        cJSON_AddBoolToObject(o, "long_term_active", long_term_on);
        cJSON_AddBoolToObject(o, "ask_again", !long_term_on && count == 0);
        cJSON_AddItemToArray(list, o);
        if (!long_term_on && count == 0)
            cJSON_AddItemToArray(ask, cJSON_CreateString(tpl->id));
    }
    db_rows_free(r);
    call_ok(c, status, d);
}

static void subscriptions_get(gw_call_t *c)
{
    respond_state(c, 200);
}

static const char *SQL_ACCEPT_ONE_TIME =
    "INSERT INTO notification_grants (user_id, template_id, one_time_count, last_accepted_at)"
    " VALUES (?, ?, 1, NOW(3))"
    " ON DUPLICATE KEY UPDATE one_time_count = one_time_count + 1, last_accepted_at = NOW(3)";
static const char *SQL_ACCEPT_LONG_TERM =
    "INSERT INTO notification_grants (user_id, template_id, long_term, last_accepted_at) VALUES (?, ?, 1, NOW(3))"
    " ON DUPLICATE KEY UPDATE long_term = 1, last_accepted_at = NOW(3)";
static const char *SQL_REJECT =
    "INSERT INTO notification_grants (user_id, template_id, last_rejected_at) VALUES (?, ?, NOW(3))"
    " ON DUPLICATE KEY UPDATE long_term = 0, last_rejected_at = NOW(3)";

static void subscriptions_post(gw_call_t *c)
{
    const ntpl_config_t *cfg = notification_templates();
    id_list_t accepted, rejected;

    if (read_ids(c, "accepted", &accepted) != 0 || read_ids(c, "rejected", &rejected) != 0)
        return;
    if (!accepted.present && !rejected.present) {
        call_fail(c, ERR_MISSING_FIELD, "accepted", "accepted or rejected is required");
        return;
    }
    for (int i = 0; i < rejected.n; i++)
        if (listed(&accepted, rejected.ids[i])) {
            call_fail(c, ERR_INVALID_FIELD, "rejected", "template %s is both accepted and rejected", rejected.ids[i]);
            return;
        }
    if (db_begin(c->db) != 0)
        goto DbError;
    for (int i = 0; i < accepted.n; i++) {
        const ntpl_template_t *tpl = ntpl_template(cfg, accepted.ids[i]);
        if (db_exec(c->db, tpl->long_term ? SQL_ACCEPT_LONG_TERM : SQL_ACCEPT_ONE_TIME,
                    DB_ARGS(DB_INT(c->user.id), DB_STR(tpl->id))) != 0)
            goto DbError;
    }
    for (int i = 0; i < rejected.n; i++)
        if (db_exec(c->db, SQL_REJECT, DB_ARGS(DB_INT(c->user.id), DB_STR(rejected.ids[i]))) != 0)
            goto DbError;
    if (db_commit(c->db) != 0)
        goto DbError;
    respond_state(c, 200);
    return;
DbError:
    db_rollback(c->db);
    call_fail_db(c);
}

static const route_t routes[] = {
    {"POST", "/api/v1/subscriptions", ROLE_ANY, BODY_JSON, POOL_DB, subscriptions_post},
    {"GET", "/api/v1/subscriptions", ROLE_ANY, BODY_NONE, POOL_DB, subscriptions_get},
};

void subscriptions_register(void)
{
    notification_templates(); /* a bad file stops the start here */
    router_add(routes, sizeof(routes) / sizeof(routes[0]));
}
