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
 * configured template, its grants, and whether to ask the user again.
 *
 * An acceptance also re-delivers what the user missed for want of a grant:
 * the user's notifications of that template's kinds that ended no_quota and
 * were created within notification_regrant_window_s go back to pending,
 * oldest first, each at most once (requeued_at), and no more of them than
 * the grants held leave room for after the notifications already waiting to
 * be sent (one grant = one message; a long-term template: up to
 * REQUEUE_LONG_TERM_MAX). This happens in the grant's own transaction.
 *
 * The report is read on the loop (check_report) against the template
 * configuration, which is loaded at start-up and read-only afterwards: a bad
 * report is answered before any worker is used, and the DB step receives
 * the configured templates themselves. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/call.h"
#include "gateway/config.h"
#include "gateway/log.h"
#include "gateway/json_util.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"
#include "domain/notifications/notification_templates.h"

#define MAX_IDS 20 /* WeChat shows at most 5 templates per popup */
#define REQUEUE_LONG_TERM_MAX 20

/* One list of the report, as configured templates (the process-wide
 * configuration outlives every call). */
typedef struct {
    const ntpl_template_t *tpl[MAX_IDS];
    int n;
    int present;
} tpl_list_t;

/* The report, read by check_report on the loop. */
typedef struct {
    tpl_list_t accepted, rejected;
} report_t;

static int listed(const tpl_list_t *l, const ntpl_template_t *tpl)
{
    for (int i = 0; i < l->n; i++)
        if (l->tpl[i] == tpl)
            return 1;
    return 0;
}

/* Reads body[field] as an array of configured template ids (duplicates
 * folded). -1 with the call failed (400 naming the field). */
static int read_ids_or_fail(gw_call_t *c, const char *field, tpl_list_t *out)
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
            call_fail(c, ERR_INVALID_FIELD, field, "%s[%d] must be a template id (a string of 1-128 characters)", field,
                      i);
            return -1;
        }
        i++;
        const ntpl_template_t *tpl = ntpl_template(cfg, it->valuestring);
        if (!tpl) {
            size_t used = strlen(unknown);
            if (used + strlen(it->valuestring) + 3 < sizeof unknown)
                snprintf(unknown + used, sizeof unknown - used, "%s%s", nunknown ? ", " : "", it->valuestring);
            else
                truncated = 1;
            nunknown++;
        } else if (!listed(out, tpl)) {
            out->tpl[out->n++] = tpl;
        }
    }
    if (nunknown) {
        call_fail(c, ERR_INVALID_FIELD, field, "unknown template ids in %s: %s%s", field, unknown,
                  truncated ? ", ..." : "");
        return -1;
    }
    return 0;
}

/* POST's body check (on the loop): both lists into the call's report_t. */
static void check_report(gw_call_t *c)
{
    report_t rep;

    if (read_ids_or_fail(c, "accepted", &rep.accepted) != 0 || read_ids_or_fail(c, "rejected", &rep.rejected) != 0)
        return;
    if (!rep.accepted.present && !rep.rejected.present) {
        call_fail(c, ERR_MISSING_FIELD, "accepted", "accepted or rejected is required");
        return;
    }
    for (int i = 0; i < rep.rejected.n; i++)
        if (listed(&rep.accepted, rep.rejected.tpl[i])) {
            call_fail(c, ERR_INVALID_FIELD, "rejected", "template %s is both accepted and rejected",
                      rep.rejected.tpl[i]->id);
            return;
        }
    report_t *kept = call_state_new_or_fail(c, 1, sizeof *kept, free);
    if (kept)
        *kept = rep;
}

/* {templates: [...], ask_again: [...]} for the caller. */
static void respond_state(gw_call_t *c, db_conn_t *db)
{
    const ntpl_config_t *cfg = notification_templates();
    db_rows_t *r =
        db_query(db, "SELECT template_id, one_time_count, long_term FROM notification_grants WHERE user_id = ?",
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
            if (strcmp(db_get(r, i, "template_id"), tpl->id) == 0) {
                count = db_get_int(r, i, "one_time_count");
                long_term_on = tpl->long_term && db_get_int(r, i, "long_term");
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
    call_ok(c, 200, d);
}

static void subscriptions_get(gw_call_t *c, db_conn_t *db)
{
    respond_state(c, db);
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

/* The template's kinds as one statement's IN list: places for DB_IN_LIST_SIZE
 * kinds, the unused ones repeating the first. Fills p[0 ..
 * DB_IN_LIST_SIZE) with the kinds from *next on; 0 when none are left. */
static int kinds_chunk(const ntpl_config_t *cfg, const ntpl_template_t *tpl, int *next, db_param_t *p)
{
    int n = 0;

    for (; *next < cfg->nkinds && n < DB_IN_LIST_SIZE; (*next)++)
        if (cfg->kinds[*next].tpl == tpl)
            p[n++] = DB_STR(cfg->kinds[*next].kind);
    for (int i = n; n > 0 && i < DB_IN_LIST_SIZE; i++)
        p[i] = p[0];
    return n;
}

static const char *SQL_IN_FLIGHT =
    "SELECT COUNT(*) AS waiting FROM notification_events"
    " WHERE user_id = ? AND status IN ('pending', 'retrying', 'sending') AND kind" DB_IN_LIST;
static const char *SQL_REQUEUE =
    "UPDATE notification_events SET status = 'pending', next_attempt_at = NOW(3), requeued_at = NOW(3)"
    " WHERE user_id = ? AND status = 'no_quota' AND requeued_at IS NULL"
    " AND created_at >= NOW(3) - INTERVAL ? SECOND AND kind" DB_IN_LIST " ORDER BY created_at, id LIMIT ?";

/* Inside the grant's transaction, before the grant itself is written: puts
 * the user's recent no_quota events of tpl back to pending, as many as the
 * grants (with the one being added) leave room for. Events are locked
 * before the grant row, the order the dispatcher's "sent" statement takes
 * them in, so the two cannot deadlock. Adds the number to *requeued. 0 or
 * -1 (database error). */
static int requeue_no_quota(gw_call_t *c, db_conn_t *db, const ntpl_template_t *tpl, int *requeued)
{
    const ntpl_config_t *cfg = notification_templates();
    db_param_t p[3 + DB_IN_LIST_SIZE];
    long long room = 0, waiting = 0, n = 0;
    int next = 0;

    if (gw_cfg->notification_regrant_window_s <= 0)
        return 0;
    if (tpl->long_term) {
        room = REQUEUE_LONG_TERM_MAX;
    } else {
        if (db_query_int(db, &room,
                         "SELECT one_time_count FROM notification_grants WHERE user_id = ? AND template_id = ?",
                         DB_ARGS(DB_INT(c->user.id), DB_STR(tpl->id))) < 0)
            return -1;
        room += 1; /* the grant this request adds */
    }
    /* Events already waiting will use grants first. */
    p[0] = DB_INT(c->user.id);
    while (kinds_chunk(cfg, tpl, &next, p + 1) > 0) {
        if (db_query_int(db, &n, SQL_IN_FLIGHT, p, 1 + DB_IN_LIST_SIZE) < 0)
            return -1;
        waiting += n;
    }
    room -= waiting;
    next = 0;
    p[1] = DB_INT(gw_cfg->notification_regrant_window_s);
    while (room > 0 && kinds_chunk(cfg, tpl, &next, p + 2) > 0) {
        p[2 + DB_IN_LIST_SIZE] = DB_INT(room);
        if (db_exec(db, SQL_REQUEUE, p, 3 + DB_IN_LIST_SIZE) != 0)
            return -1;
        n = (long long)db_affected_rows(db);
        room -= n;
        *requeued += (int)n;
    }
    return 0;
}

/* The report (check_report) in one transaction, then the state as GET
 * answers it. */
static void subscriptions_post(gw_call_t *c, db_conn_t *db)
{
    const report_t *rep = c->state;
    int requeued = 0;

    if (db_begin(db) != 0)
        goto DbError;
    for (int i = 0; i < rep->accepted.n; i++) {
        const ntpl_template_t *tpl = rep->accepted.tpl[i];
        if (requeue_no_quota(c, db, tpl, &requeued) != 0 ||
            db_exec(db, tpl->long_term ? SQL_ACCEPT_LONG_TERM : SQL_ACCEPT_ONE_TIME,
                    DB_ARGS(DB_INT(c->user.id), DB_STR(tpl->id))) != 0)
            goto DbError;
    }
    for (int i = 0; i < rep->rejected.n; i++)
        if (db_exec(db, SQL_REJECT, DB_ARGS(DB_INT(c->user.id), DB_STR(rep->rejected.tpl[i]->id))) != 0)
            goto DbError;
    if (db_commit(db) != 0)
        goto DbError;
    if (requeued)
        log_info("subscriptions", "user %lld: %d no_quota notifications back to pending after a new grant", c->user.id,
                 requeued);
    respond_state(c, db);
    return;
DbError:
    call_fail_db(c); /* the runner rolls the transaction back */
}

static const route_t routes[] = {
    {"POST", "/api/v1/subscriptions", ROLE_ANY, BODY_JSON, DB_STEP(subscriptions_post), BODY_CHECK(check_report)},
    {"GET", "/api/v1/subscriptions", ROLE_ANY, BODY_NONE, DB_STEP(subscriptions_get)},
};

void subscriptions_register(void)
{
    notification_templates(); /* a bad file stops the start here */
    ROUTES_REGISTER(routes);
}
