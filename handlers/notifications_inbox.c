/* notifications_inbox.c: the caller's own notifications.
 *
 *   GET /api/v1/notifications?cursor=&limit=
 *
 * Every event addressed to the caller, newest first, whether or not WeChat
 * delivered it, so the mini-program can show an inbox even without a
 * subscription. Title, summary and page are rendered from the event with the
 * same template configuration the WeChat message uses. */
#include <stdlib.h>
#include <string.h>

#include "../gateway/call.h"
#include "../gateway/json_util.h"
#include "../gateway/roles.h"
#include "handlers.h"
#include "notification_paging.h"
#include "notification_templates.h"

/* The status as the user sees it. */
static const char *delivery_of(const char *status)
{
    if (!strcmp(status, "sent"))
        return "sent";
    if (!strcmp(status, "pending") || !strcmp(status, "sending") || !strcmp(status, "retrying"))
        return "pending";
    return "not_sent"; /* no_quota, failed, dead */
}

static cJSON *item_json(const db_rows_t *r, int i)
{
    const ntpl_kind_t *k = ntpl_kind(notification_templates(), db_cell(r, i, 1));
    cJSON *payload = cJSON_Parse(db_cell(r, i, 4) ? db_cell(r, i, 4) : "{}");
    ntpl_event_t ev = {.kind = db_cell(r, i, 1), .ref_type = db_cell(r, i, 2), .ref_id = db_cell_int(r, i, 3),
                       .payload = payload, .created_at = db_cell(r, i, 8)};
    cJSON *o = cJSON_CreateObject();

    cJSON_AddNumberToObject(o, "id", (double)db_cell_int(r, i, 0));
    cJSON_AddStringToObject(o, "kind", ev.kind);
    cJSON_AddStringToObject(o, "title", k ? k->title : ev.kind);
    char *summary = k ? ntpl_summary(k, &ev) : NULL;
    cJSON_AddStringToObject(o, "summary", summary ? summary : "");
    free(summary);
    char *page = k && k->page ? ntpl_expand(k->page, &ev) : NULL;
    json_add_string_or_null(o, "page", page);
    free(page);
    cJSON_AddStringToObject(o, "ref_type", ev.ref_type);
    cJSON_AddNumberToObject(o, "ref_id", (double)ev.ref_id);
    cJSON_AddStringToObject(o, "status", db_cell(r, i, 5));
    cJSON_AddStringToObject(o, "delivery", delivery_of(db_cell(r, i, 5)));
    cJSON_AddNumberToObject(o, "created_at", (double)db_cell_int(r, i, 6));
    if (db_cell(r, i, 7))
        cJSON_AddNumberToObject(o, "sent_at", (double)db_cell_int(r, i, 7));
    else
        cJSON_AddNullToObject(o, "sent_at");
    cJSON_Delete(payload);
    return o;
}

static void inbox(gw_call_t *c)
{
    npage_t page;

    if (npage_read(c, &page) != 0)
        return;
    db_rows_t *r = db_query(c->db,
                            "SELECT id, kind, ref_type, ref_id, payload, status, FLOOR(UNIX_TIMESTAMP(created_at)),"
                            " FLOOR(UNIX_TIMESTAMP(sent_at)), DATE_FORMAT(created_at, '%Y-%m-%d %H:%i')"
                            " FROM notification_events WHERE user_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
                            DB_ARGS(DB_INT(c->user.id), DB_INT(page.before_id), DB_INT(page.limit + 1)));
    if (!r) {
        call_fail_db(c);
        return;
    }
    cJSON *items = cJSON_CreateArray();
    for (int i = 0; i < r->nrows && i < page.limit; i++)
        cJSON_AddItemToArray(items, item_json(r, i));
    npage_respond(c, &page, items, r, 0);
    db_rows_free(r);
}

static const route_t routes[] = {
    {"GET", "/api/v1/notifications", ROLE_ANY, BODY_NONE, POOL_DB, inbox},
};

void notifications_inbox_register(void)
{
    notification_templates(); /* a bad file stops the start here */
    router_add(routes, sizeof(routes) / sizeof(routes[0]));
}
