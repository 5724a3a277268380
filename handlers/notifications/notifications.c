/* notifications.c: the caller's own notifications (the inbox).
 *
 *   GET /api/v1/notifications?cursor=&limit=
 *
 * Every event addressed to the caller, newest first, whether or not WeChat
 * delivered it, so the mini-program can show an inbox even without a
 * subscription. Title, summary and page are rendered from the event with the
 * same template configuration the WeChat message uses. */
#include <stdlib.h>
#include <string.h>

#include "gateway/call.h"
#include "gateway/db_json.h"
#include "gateway/json_util.h"
#include "gateway/query.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"
#include "domain/notifications/notification_templates.h"

/* The status as the user sees it. */
static const char *delivery_of(const char *status)
{
    if (!strcmp(status, "sent"))
        return "sent";
    if (!strcmp(status, "pending") || !strcmp(status, "sending") || !strcmp(status, "retrying"))
        return "pending";
    return "not_sent"; /* no_quota, failed, dead */
}

/* The row as selected, with the template's title, summary and page and the
 * status as the user sees it. NULL when memory runs out. */
static cJSON *item_json(const db_rows_t *r, int i, void *ud)
{
    (void)ud;
    const char *kind = db_get(r, i, "kind"), *payload_text = db_get(r, i, "payload");
    const ntpl_kind_t *k = ntpl_kind(notification_templates(), kind);
    cJSON *payload = cJSON_Parse(payload_text ? payload_text : "{}");
    ntpl_event_t ev = {.kind = kind,
                       .ref_type = db_get(r, i, "ref_type"),
                       .ref_id = db_get_int(r, i, "ref_id"),
                       .payload = payload,
                       .created_at = db_get(r, i, "created_local")};
    cJSON *o = db_row_json(r, i);
    if (o) {
        /* Selected for the templates only. */
        cJSON_DeleteItemFromObject(o, "payload");
        cJSON_DeleteItemFromObject(o, "created_local");
        cJSON_AddStringToObject(o, "title", k ? k->title : kind);
        char *summary = k ? ntpl_summary(k, &ev) : NULL;
        cJSON_AddStringToObject(o, "summary", summary ? summary : "");
        free(summary);
        char *page = k && k->page ? ntpl_expand(k->page, &ev) : NULL;
        json_add_string_or_null(o, "page", page);
        free(page);
        cJSON_AddStringToObject(o, "delivery", delivery_of(db_get(r, i, "status")));
    }
    cJSON_Delete(payload);
    return o;
}

static const char *SQL_INBOX =
    "SELECT id, kind, ref_type, ref_id, status, FLOOR(UNIX_TIMESTAMP(created_at)) AS created_at,"
    " FLOOR(UNIX_TIMESTAMP(sent_at)) AS sent_at, payload,"
    " DATE_FORMAT(created_at, '%Y-%m-%d %H:%i') AS created_local"
    " FROM notification_events WHERE user_id = ? AND id < ? ORDER BY id DESC LIMIT ?";

/* Newest first: the page's one key is the id. */
static void inbox(gw_call_t *c, db_conn_t *db)
{
    static const char *const keys[] = {"id"};
    page_t page;
    if (page_or_fail(c, 1, &page) != 0)
        return;
    db_rows_t *r = db_query(
        db, SQL_INBOX, DB_ARGS(DB_INT(c->user.id), DB_INT(page_key(&page, 0, PAGE_KEY_MAX)), DB_INT(page.limit + 1)));
    if (!r) {
        call_fail_db(c);
        return;
    }
    page_respond(c, &page, r, item_json, NULL, keys);
    db_rows_free(r);
}

static const route_t routes[] = {
    {"GET", "/api/v1/notifications", ROLE_ANY, BODY_NONE, DB_STEP(inbox)},
};

void notifications_register(void)
{
    notification_templates(); /* a bad file stops the start here */
    ROUTES_REGISTER(routes);
}
