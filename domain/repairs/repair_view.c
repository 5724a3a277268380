#include "domain/repairs/repair_view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/config.h"
#include "gateway/db_json.h"
#include "gateway/json_util.h"
#include "gateway/media_url.h"
#include "gateway/metrics.h"
#include "gateway/roles.h"
#include "gateway/users.h"

/* ---- who may see a ticket ---- */

/* The caller's relations, read from the grants at the time of the request
 * (never from the auth cache's role bits, which are the union over every
 * project): supervisor of the ticket's project, admin, and holding the
 * engineer role in the ticket's project, without which the engineer the
 * ticket is assigned to has no relation to it. Outer joins of staff_roles
 * by its whole primary key (user_id, role, project_id; an admin's grant is
 * project 0), so each adds at most one row and the statement's rows do not
 * multiply: MariaDB plans these for a fraction of what three EXISTS
 * subqueries cost it, on every repair request ("The caller's checks as
 * joins" in bench/RESULTS.md). REPAIR_RELATION_JOINS follows the ticket
 * (alias t) and takes (caller, caller, caller); REPAIR_RELATION_COLUMNS
 * reads them. */
#define REPAIR_RELATION_JOINS                                                                                          \
    " LEFT JOIN staff_roles rel_s ON rel_s.user_id = ? AND rel_s.role = 'supervisor'"                                  \
    " AND rel_s.project_id = t.project_id"                                                                             \
    " LEFT JOIN staff_roles rel_a ON rel_a.user_id = ? AND rel_a.role = 'admin' AND rel_a.project_id = 0"              \
    " LEFT JOIN staff_roles rel_e ON rel_e.user_id = ? AND rel_e.role = 'engineer'"                                    \
    " AND rel_e.project_id = t.project_id"
#define REPAIR_RELATION_COLUMNS                                                                                        \
    " rel_s.user_id IS NOT NULL AS rel_supervisor, rel_a.user_id IS NOT NULL AS rel_admin,"                            \
    " rel_e.user_id IS NOT NULL AS rel_engineer"

/* The ticket's own fields under the names the detail's row gives them
 * (REPAIR_SUMMARY_COLUMNS), so that ticket_from_row reads both. */
static const char *SQL_LOAD = "SELECT t.id AS id, t.user_id AS owner_user_id, t.project_id AS \"unit.project_id\","
                              " t.engineer_id AS \"engineer.id\", t.category_id AS category_id, t.state AS state,"
                              " t.rework_count AS rework_count," REPAIR_RELATION_COLUMNS
                              " FROM repair_tickets t" REPAIR_RELATION_JOINS " WHERE t.id = ?";

/* The ticket and the caller's relation to it from row 0 of SQL_LOAD or
 * SQL_DETAIL. */
static void ticket_from_row(const db_rows_t *r, long long me, repair_ticket_t *t)
{
    memset(t, 0, sizeof(*t));
    t->id = db_get_int(r, 0, "id");
    t->user_id = db_get_int(r, 0, "owner_user_id");
    t->project_id = db_get_int(r, 0, "unit.project_id");
    t->engineer_id = db_get_int(r, 0, "engineer.id");
    t->category_id = db_get_int(r, 0, "category_id");
    repair_state_parse(db_get(r, 0, "state"), &t->state);
    t->rework_count = (int)db_get_int(r, 0, "rework_count");
    if (t->user_id == me)
        t->rel |= REPAIR_REL_OWNER;
    if (t->engineer_id == me && db_get_int(r, 0, "rel_engineer"))
        t->rel |= REPAIR_REL_ENGINEER;
    if (db_get_int(r, 0, "rel_supervisor"))
        t->rel |= REPAIR_REL_SUPERVISOR;
    if (db_get_int(r, 0, "rel_admin"))
        t->rel |= REPAIR_REL_ADMIN;
}

int repair_load_or_fail(gw_call_t *c, db_conn_t *db, long long id, repair_ticket_t *t)
{
    long long me = c->user.id;
    db_rows_t *r = db_query(db, SQL_LOAD, DB_ARGS(DB_INT(me), DB_INT(me), DB_INT(me), DB_INT(id)));
    if (!r) {
        call_fail_db(c);
        return -1;
    }
    memset(t, 0, sizeof(*t));
    if (r->nrows == 1)
        ticket_from_row(r, me, t);
    db_rows_free(r);
    if (!t->rel) {
        call_fail(c, ERR_NOT_FOUND, NULL, "no such repair ticket");
        return -1;
    }
    return 0;
}

int repair_load_from_path_or_fail(gw_call_t *c, db_conn_t *db, repair_ticket_t *t)
{
    long long id;
    if (call_param_id_or_fail(c, "id", &id) != 0)
        return -1;
    return repair_load_or_fail(c, db, id, t);
}

const char *repair_staff_role(const repair_ticket_t *t)
{
    return t->rel & REPAIR_REL_SUPERVISOR ? "supervisor" : "admin";
}

/* ---- JSON ---- */

/* The markers of a stored view (view_expand): a control byte, which
 * JSON text never holds unescaped, so no text of a ticket can forge one;
 * then what to put there, and for a photo its upload id and the control
 * byte again. */
enum { VIEW_MARK = 0x01, VIEW_MARK_FULL = 'F', VIEW_MARK_THUMB = 'T', VIEW_MARK_OVERDUE = 'O' };

/* A state field as its name, with its label next to it under label_field. */
static void add_state_label(cJSON *o, const char *state_field, const char *label_field)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, state_field);
    repair_state_t s = RS_SUBMITTED;
    repair_state_parse(cJSON_GetStringValue(v), &s);
    cJSON_AddStringToObject(o, label_field, repair_state_label(s));
}

/* A person's name field that is null or empty gets the fallback. */
static void name_or(cJSON *person, const char *fallback)
{
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(person, "name"));
    if (!name || !*name)
        cJSON_ReplaceItemInObjectCaseSensitive(person, "name", cJSON_CreateString(fallback));
}

const char *repair_channel_label(const char *channel)
{
    static const char *const labels[][2] = {
        {"hotline", "客服热线"}, {"front_desk", "前台"}, {"miniprogram", "小程序"}, {"wechat_group", "微信群"}};
    for (size_t i = 0; channel && i < sizeof(labels) / sizeof(labels[0]); i++)
        if (!strcmp(labels[i][0], channel))
            return labels[i][1];
    return channel ? channel : "";
}

/* The labels and the engineer's name fallback of a rendered list item. */
static cJSON *item_decorate(cJSON *o)
{
    if (!o)
        return NULL;
    add_state_label(o, "state", "state_label");
    cJSON *engineer = cJSON_GetObjectItemCaseSensitive(o, "engineer");
    if (cJSON_IsObject(engineer))
        name_or(engineer, "工程师");
    cJSON *filed_for = cJSON_GetObjectItemCaseSensitive(o, "filed_for");
    cJSON_AddBoolToObject(o, "filed_for_you", cJSON_IsObject(filed_for));
    if (cJSON_IsObject(filed_for)) {
        const char *ch = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(filed_for, "channel"));
        cJSON_AddStringToObject(filed_for, "channel_label", repair_channel_label(ch));
        cJSON *by = cJSON_GetObjectItemCaseSensitive(filed_for, "by");
        if (cJSON_IsObject(by))
            name_or(by, "客服");
    }
    return o;
}

cJSON *repair_item_json(const db_rows_t *r, int row, void *ud)
{
    (void)ud;
    return item_decorate(db_row_json(r, row));
}

void repair_page_respond(gw_call_t *c, const page_t *page, db_rows_t *r)
{
    static const char *const keys[] = {"id"};
    if (!r) {
        call_fail_db(c);
        return;
    }
    page_respond(c, page, r, repair_item_json, NULL, keys);
    db_rows_free(r);
}

/* A photo: signed URLs, or in a stored view (stored) the markers that
 * view_expand() replaces with URLs signed at read time. */
static cJSON *photo_json(long long upload_id, int hidden, int stored)
{
    char full[256], thumb[256];
    if (stored) {
        cJSON *p = cJSON_CreateObject();
        snprintf(full, sizeof(full), "%c%c%lld%c", VIEW_MARK, VIEW_MARK_FULL, upload_id, VIEW_MARK);
        snprintf(thumb, sizeof(thumb), "%c%c%lld%c", VIEW_MARK, VIEW_MARK_THUMB, upload_id, VIEW_MARK);
        cJSON_AddNumberToObject(p, "id", (double)upload_id);
        cJSON_AddItemToObject(p, "url", cJSON_CreateRaw(full));
        cJSON_AddItemToObject(p, "thumb_url", cJSON_CreateRaw(thumb));
        return p;
    }
    long long ttl = gw_cfg->media_url_ttl_s;
    if (media_url_sign(upload_id, "full", ttl, full, sizeof(full)) != 0 ||
        media_url_sign(upload_id, "thumb", ttl, thumb, sizeof(thumb)) != 0)
        return NULL;
    cJSON *p = cJSON_CreateObject();
    cJSON_AddNumberToObject(p, "id", (double)upload_id);
    cJSON_AddStringToObject(p, "url", full);
    cJSON_AddStringToObject(p, "thumb_url", thumb);
    if (hidden)
        cJSON_AddBoolToObject(p, "hidden", 1);
    return p;
}

cJSON *repair_photo_json(long long upload_id, int hidden)
{
    return photo_json(upload_id, hidden, 0);
}

/* The timeline's columns, after the ticket's in SQL_DETAIL: one row per
 * timeline row and photo of it, in the timeline's order (a row with a NULL
 * tl_id is the ticket alone, from SQL_DETAIL_BARE). The entry is the row's
 * columns from tl_id up to the photo's (tl_photo_*), without tl_id; the
 * rows of one timeline row are consecutive, one per photo (one with a NULL
 * photo when it has none). The photos are joined rather than aggregated in
 * a subquery: a GROUP_CONCAT made MariaDB create a temporary table on every
 * detail read. Their order (position) is restored by the gateway, so the
 * statement orders by tl.id alone and reads the timeline's index in order
 * with no sort. */
#define REPAIR_TIMELINE_COLUMNS                                                                                        \
    " tl.id AS tl_id, tl.action AS action, tl.from_state AS from_state, tl.to_state AS to_state,"                      \
    " tl.actor_role AS \"actor.role\", a.display_name AS \"actor.name\", tl.note AS note,"                             \
    " FLOOR(UNIX_TIMESTAMP(tl.created_at)) AS at, up.id AS tl_photo_id, up.hidden AS tl_photo_hidden,"                 \
    " ph.position AS tl_photo_position"
#define REPAIR_TIMELINE_JOIN(kind)                                                                                     \
    " " kind " JOIN repair_timeline tl ON tl.ticket_id = t.id LEFT JOIN users a ON a.id = tl.actor_user_id"            \
    " LEFT JOIN (repair_timeline_photos ph JOIN uploads up ON up.id = ph.upload_id) ON ph.timeline_id = tl.id"

static const char *role_label(const char *role)
{
    static const struct {
        const char *role, *label;
    } labels[] = {{"owner", "业主"},   {"engineer", "工程师"}, {"supervisor", "主管"},
                  {"admin", "管理员"}, {"system", "系统"},     {"service", "客服"}};
    for (size_t i = 0; role && i < sizeof(labels) / sizeof(labels[0]); i++)
        if (!strcmp(labels[i].role, role))
            return labels[i].label;
    return role ? role : "";
}

/* The photos of the timeline row on rows [first, end) (one a photo, or
 * one with none), in position order. Hidden photos (reported risky) are
 * shown to staff only, marked. NULL when memory runs out. */
static cJSON *photos_of(const db_rows_t *r, int first, int end, int staff, int stored)
{
    enum { MAX_PHOTOS = 16 }; /* a timeline row has at most 9 (REPAIR_MAX_PHOTOS) */
    int order[MAX_PHOTOS], n = 0;
    for (int i = first; i < end && n < MAX_PHOTOS; i++) {
        if (db_is_null(r, i, "tl_photo_id") || (!staff && db_get_int(r, i, "tl_photo_hidden")))
            continue;
        /* Insertion by position: rows come in the index's order already,
         * which SQL does not promise without a sort. */
        long long pos = db_get_int(r, i, "tl_photo_position");
        int k = n++;
        for (; k > 0 && db_get_int(r, order[k - 1], "tl_photo_position") > pos; k--)
            order[k] = order[k - 1];
        order[k] = i;
    }
    cJSON *arr = cJSON_CreateArray();
    for (int k = 0; arr && k < n; k++) {
        cJSON *p =
            photo_json(db_get_int(r, order[k], "tl_photo_id"), db_get_int(r, order[k], "tl_photo_hidden") != 0, stored);
        if (p)
            cJSON_AddItemToArray(arr, p);
    }
    return arr;
}

/* The timeline entry of rows [first, end): the first row's columns from
 * first_col (tl_id) up to photo_col (tl_photo_id), and the photos. */
static cJSON *timeline_entry(const db_rows_t *r, int first, int end, int first_col, int photo_col, int staff,
                             int stored)
{
    cJSON *e = db_row_json_cols(r, first, first_col, photo_col);
    cJSON *photos = e ? photos_of(r, first, end, staff, stored) : NULL;
    if (!photos) {
        cJSON_Delete(e);
        return NULL;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(e, "tl_id");
    add_state_label(e, "to_state", "state_label");
    /* An owner shows as 业主, never by their name. */
    const char *role = db_get(r, first, "actor.role");
    cJSON *actor = cJSON_GetObjectItemCaseSensitive(e, "actor");
    if (role && !strcmp(role, "owner"))
        cJSON_ReplaceItemInObjectCaseSensitive(actor, "name", cJSON_CreateString("业主"));
    else if (cJSON_IsObject(actor))
        name_or(actor, role_label(role));
    cJSON_AddItemToObject(e, "photos", photos);
    return e;
}

/* Adds timeline[] and photos[] (the report's photos: the first timeline
 * row's) from the rows of SQL_DETAIL. 0, or -1 when memory runs out. */
static int add_timeline(const db_rows_t *r, int first_col, cJSON *o, int staff, int stored)
{
    cJSON *arr = cJSON_AddArrayToObject(o, "timeline");
    if (!arr)
        return -1;
    int photo_col = db_col(r, "tl_photo_id");
    for (int i = 0, end; i < r->nrows && !db_is_null(r, i, "tl_id"); i = end) {
        long long tl = db_get_int(r, i, "tl_id");
        for (end = i + 1; end < r->nrows && db_get_int(r, end, "tl_id") == tl; end++)
            ;
        cJSON *e = timeline_entry(r, i, end, first_col, photo_col, staff, stored);
        if (!e)
            return -1;
        if (i == 0)
            cJSON_AddItemToObject(o, "photos", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(e, "photos"), 1));
        cJSON_AddItemToArray(arr, e);
    }
    if (!cJSON_GetObjectItemCaseSensitive(o, "photos"))
        cJSON_AddArrayToObject(o, "photos");
    return 0;
}

/* The detail in one read: the ticket's row (the list item's columns, the
 * staff columns, the detail's own, then the caller's relation to the
 * ticket: rel_*, and category_id, read by ticket_from_row and not shown)
 * repeated on each of its timeline rows (REPAIR_TIMELINE_COLUMNS, last).
 * The ticket and its small lookup rows are read by primary key, the
 * timeline by its (ticket_id, id) index in order. The timeline is joined
 * inner: every ticket gets its "created" row in the transaction that files
 * it, and an outer join would make MariaDB sort the rows through a
 * temporary table. SQL_DETAIL_BARE, the same with an outer join, tells a
 * ticket without a timeline row from none (one more statement, on the 404
 * path). Each takes (caller, caller, caller, ticket id). */
/* The latest rating's dimensions (schema 030) and, when closed, how: by
 * a rating, or without one (the satisfaction sweeper's auto-close). */
#define REPAIR_RATING_DIMENSION(col)                                                                                   \
    " (SELECT rr." col " FROM repair_ratings rr WHERE rr.ticket_id = t.id ORDER BY rr.round DESC LIMIT 1)"
/* clang-format off */
#define REPAIR_RATING_COLUMNS                                                                                          \
    REPAIR_RATING_DIMENSION("speed") " AS \"rating.speed\","                                                          \
    REPAIR_RATING_DIMENSION("attitude") " AS \"rating.attitude\","                                                    \
    REPAIR_RATING_DIMENSION("quality") " AS \"rating.quality\","                                                      \
    " CASE WHEN t.state = 'closed' THEN IF(EXISTS(SELECT 1 FROM repair_unrated_closes uc WHERE uc.ticket_id = t.id"   \
    " AND uc.round = t.rework_count), 'unrated', 'rated') END AS close_reason,"
/* clang-format on */
#define SQL_DETAIL_WITH(extra_columns, timeline_join)                                                                  \
    "SELECT " REPAIR_SUMMARY_COLUMNS ", " REPAIR_STAFF_COLUMNS ","                                                     \
    " t.contact_phone AS contact_phone, t.preferred_time AS preferred_time,"                                           \
    " FLOOR(UNIX_TIMESTAMP(t.accepted_at)) AS accepted_at, FLOOR(UNIX_TIMESTAMP(t.started_at)) AS started_at,"         \
    " FLOOR(UNIX_TIMESTAMP(t.resolved_at)) AS resolved_at, FLOOR(UNIX_TIMESTAMP(t.closed_at)) AS closed_at,"           \
    " FLOOR(UNIX_TIMESTAMP(t.cancelled_at)) AS cancelled_at, t.rating_score AS \"rating.score\","                      \
    " t.rating_comment AS \"rating.comment\", FLOOR(UNIX_TIMESTAMP(t.rated_at)) AS "                                   \
    "\"rating.at\"," REPAIR_RATING_COLUMNS                                                                             \
    " t.category_id AS category_id, (SELECT k.id FROM complaints k WHERE k.repair_ticket_id = t.id LIMIT 1) AS "       \
    "complaint_id," REPAIR_RELATION_COLUMNS extra_columns                                                              \
    "," REPAIR_TIMELINE_COLUMNS REPAIR_SUMMARY_FROM REPAIR_RELATION_JOINS timeline_join                                \
    " WHERE t.id = ? ORDER BY tl.id"
static const char *SQL_DETAIL = SQL_DETAIL_WITH("", REPAIR_TIMELINE_JOIN(""));
static const char *SQL_DETAIL_BARE = SQL_DETAIL_WITH("", REPAIR_TIMELINE_JOIN("LEFT"));
/* How many of the ticket's photos are hidden: recorded with a view for a
 * gateway older than this one, whose read compares it; this one's read
 * relies on the content check writing the ticket's row (repair_view.h,
 * rule 3). One range of ix_uploads_ticket_hidden, at render time only. */
#define VIEW_HIDDEN_PHOTOS "(SELECT COUNT(*) FROM uploads hu WHERE hu.ticket_id = t.id AND hu.hidden = 1)"
/* The stored view's render: the detail's statement with what the view
 * records of the snapshot it was rendered from (the ticket row's updated_at
 * and the names' epoch), read in the same statement so that both belong to
 * the rows the body was rendered from. */
#define VIEW_RENDER_COLUMNS                                                                                            \
    ", t.user_id AS view_user_id, t.updated_at AS view_ticket_updated_at,"                                             \
    " (SELECT ep.epoch FROM repair_view_epoch ep WHERE ep.id = 1) AS view_epoch, " VIEW_HIDDEN_PHOTOS                  \
    " AS view_hidden"
static const char *SQL_VIEW_RENDER = SQL_DETAIL_WITH(VIEW_RENDER_COLUMNS, REPAIR_TIMELINE_JOIN(""));
static const char *SQL_VIEW_RENDER_BARE = SQL_DETAIL_WITH(VIEW_RENDER_COLUMNS, REPAIR_TIMELINE_JOIN("LEFT"));

/* Staff only: the reminder/escalation record and the follow-up task. */
static const char *SQL_ESCALATIONS =
    "SELECT clock, round, kind, step, level, notified, FLOOR(UNIX_TIMESTAMP(due_at)) AS due_at,"
    " FLOOR(UNIX_TIMESTAMP(created_at)) AS at FROM repair_escalations WHERE ticket_id = ? ORDER BY id";
static const char *SQL_FOLLOWUP =
    "SELECT id, reason, score, status, contact, satisfied, attempts, note,"
    " FLOOR(UNIX_TIMESTAMP(created_at)) AS created_at, FLOOR(UNIX_TIMESTAMP(due_at)) AS due_at,"
    " FLOOR(UNIX_TIMESTAMP(done_at)) AS done_at FROM followups WHERE kind = 'repair' AND subject_id = ?"
    " ORDER BY round DESC LIMIT 1";

static int add_staff_parts(db_conn_t *db, cJSON *o, long long id)
{
    db_rows_t *r = db_query(db, SQL_ESCALATIONS, DB_ARGS(DB_INT(id)));
    if (!r)
        return -1;
    cJSON *arr = db_rows_json(r, 0, r->nrows);
    db_rows_free(r);
    if (!arr)
        return -1;
    cJSON_AddItemToObject(o, "escalations", arr);
    if (!(r = db_query(db, SQL_FOLLOWUP, DB_ARGS(DB_INT(id)))))
        return -1;
    cJSON *f = r->nrows == 1 ? db_row_json(r, 0) : cJSON_CreateNull();
    db_rows_free(r);
    if (!f)
        return -1;
    cJSON_AddItemToObject(o, "followup", f);
    return 0;
}

/* The detail from the rows of SQL_DETAIL (and for staff the queries that
 * follow). */
static cJSON *detail_from_row(db_conn_t *db, const db_rows_t *r, long long id, int staff, int stored)
{
    static const char *const hidden[] = {"category_id",  "rel_supervisor",         "rel_admin",  "rel_engineer",
                                         "view_user_id", "view_ticket_updated_at", "view_epoch", "view_hidden"};
    static const char *const staff_only[] = {"content_check", "breached", "owner_user_id"};
    int timeline_col = db_col(r, "tl_id");
    cJSON *o = item_decorate(db_row_json_cols(r, 0, 0, timeline_col));
    if (!o)
        return NULL;
    for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++)
        cJSON_DeleteItemFromObjectCaseSensitive(o, hidden[i]);
    if (stored) { /* `overdue` turns with the clock: filled in at read time */
        char mark[4] = {VIEW_MARK, VIEW_MARK_OVERDUE, VIEW_MARK, '\0'};
        cJSON_ReplaceItemInObjectCaseSensitive(o, "overdue", cJSON_CreateRaw(mark));
    }
    for (size_t i = 0; !staff && i < sizeof(staff_only) / sizeof(staff_only[0]); i++)
        cJSON_DeleteItemFromObjectCaseSensitive(o, staff_only[i]);
    if (add_timeline(r, timeline_col, o, staff, stored) != 0 || (staff && add_staff_parts(db, o, id) != 0)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* When the detail's `overdue` may turn next (unix ms), 0 never: the
 * earliest due time still ahead. The columns are whole seconds, rounded
 * down: a due time in the current second counts as due at its end. */
static long long next_due_ms(const db_rows_t *r)
{
    static const char *const due_cols[] = {"due.accept_by", "due.arrive_by", "due.resolve_by"};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long now_ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, next = 0;
    for (size_t i = 0; i < sizeof(due_cols) / sizeof(due_cols[0]); i++) {
        long long due = db_get_int(r, 0, due_cols[i]) * 1000;
        if (due > 0 && due <= now_ms && due + 1000 > now_ms)
            due += 1000;
        if (due > now_ms && (next == 0 || due < next))
            next = due;
    }
    return next;
}

int repair_detail_for_caller(gw_call_t *c, db_conn_t *db, long long id, cJSON **out, repair_detail_meta_t *meta)
{
    long long me = c->user.id;
    *out = NULL;
    db_rows_t *r = db_query(db, SQL_DETAIL, DB_ARGS(DB_INT(me), DB_INT(me), DB_INT(me), DB_INT(id)));
    if (r && r->nrows == 0) {
        db_rows_free(r);
        r = db_query(db, SQL_DETAIL_BARE, DB_ARGS(DB_INT(me), DB_INT(me), DB_INT(me), DB_INT(id)));
    }
    if (!r)
        return -1;
    repair_ticket_t t = {0};
    if (r->nrows >= 1)
        ticket_from_row(r, me, &t);
    int rc = 0;
    if (t.rel) {
        int staff = (t.rel & REPAIR_REL_STAFF) != 0;
        *out = detail_from_row(db, r, id, staff, 0);
        rc = *out ? 1 : -1;
        if (meta)
            *meta = (repair_detail_meta_t){.staff = staff, .owner_user_id = t.user_id, .next_due_ms = next_due_ms(r)};
    }
    db_rows_free(r);
    return rc;
}

/* ---- the staff views' scope ---- */

int repair_supervises_or_fail(gw_call_t *c, db_conn_t *db, long long project_id)
{
    if (c->user.roles & ROLE_ADMIN)
        return 0;
    int rc = users_has_project_role(db, c->user.id, "supervisor", project_id);
    if (rc < 0) {
        call_fail_db(c);
        return -1;
    }
    if (rc == 0) {
        call_fail(c, ERR_FORBIDDEN, "project", "you do not supervise project %lld", project_id);
        return -1;
    }
    return 0;
}

int repair_project_or_fail(gw_call_t *c, db_conn_t *db, long long *project_id)
{
    long long id;
    *project_id = 0;
    if (query_id_or_fail(c, "project", &id) != 0 || (id && repair_supervises_or_fail(c, db, id) != 0))
        return -1;
    *project_id = id;
    return 0;
}

/* ---- the stored view ---- */

/* Newer only: a render from an older snapshot (a read that raced a change)
 * never replaces one from a newer. Snapshots see the ticket's updates and
 * the epoch's in commit order, so (ticket_updated_at, epoch) orders them. */
#define VIEW_NEWER                                                                                                     \
    "(VALUES(ticket_updated_at) > ticket_updated_at OR (VALUES(ticket_updated_at) = ticket_updated_at AND "            \
    "VALUES(epoch) >= epoch))"
#define VIEW_SET(col) " " col " = IF(" VIEW_NEWER ", VALUES(" col "), " col ")"
/* The two compared columns are set last: an assignment sees the columns set
 * before it, and setting them (epoch first) keeps VIEW_NEWER's answer. */
#define VIEW_SETS                                                                                                      \
    VIEW_SET("body")                                                                                                   \
    "," VIEW_SET("user_id") "," VIEW_SET("project_id") "," VIEW_SET("engineer_id") "," VIEW_SET(                       \
        "hidden_photos") "," VIEW_SET("epoch") "," VIEW_SET("ticket_updated_at")
static const char *SQL_VIEW_UPSERT =
    "INSERT INTO repair_ticket_views"
    " (ticket_id, user_id, project_id, engineer_id, ticket_updated_at, epoch, hidden_photos, body)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE" VIEW_SETS;

/* Renders ticket id's stored view from one statement and writes it: 1
 * written, 0 when there is no such ticket, -1 on a db error. *text (the
 * stored body, malloc'd; NULL when memory ran out) and *overdue (as
 * rendered), when the caller wants them, are set once the body is rendered,
 * even if writing it then fails. */
static int view_render_store(db_conn_t *db, long long id, char **text, int *overdue)
{
    char *body = NULL;
    cJSON *o = NULL;
    int rc = -1;
    db_rows_t *r = db_query(db, SQL_VIEW_RENDER, DB_ARGS(DB_INT(0), DB_INT(0), DB_INT(0), DB_INT(id)));
    if (r && r->nrows == 0) {
        db_rows_free(r);
        r = db_query(db, SQL_VIEW_RENDER_BARE, DB_ARGS(DB_INT(0), DB_INT(0), DB_INT(0), DB_INT(id)));
    }
    if (!r)
        goto Exit;
    if (r->nrows == 0) {
        rc = 0;
        goto Exit;
    }
    if (!(o = detail_from_row(db, r, id, 0, 1)) || !(body = cJSON_PrintUnformatted(o)))
        goto Exit;
    /* Handed out before the write: a read that renders a missing view still
     * answers with it when the write loses a race (a lock wait, a deadlock
     * between two first reads of the ticket). */
    if (overdue)
        *overdue = db_get_int(r, 0, "overdue") != 0;
    if (text)
        *text = strdup(body);
    if (db_exec(db, SQL_VIEW_UPSERT,
                DB_ARGS(DB_INT(id), DB_INT(db_get_int(r, 0, "view_user_id")),
                        DB_INT(db_get_int(r, 0, "unit.project_id")),
                        db_is_null(r, 0, "engineer.id") ? DB_NULL : DB_INT(db_get_int(r, 0, "engineer.id")),
                        DB_STR(db_get(r, 0, "view_ticket_updated_at")), DB_INT(db_get_int(r, 0, "view_epoch")),
                        DB_INT(db_get_int(r, 0, "view_hidden")), DB_STR(body))) != 0)
        goto Exit;
    rc = 1;
Exit:
    cJSON_Delete(o);
    free(body);
    db_rows_free(r);
    return rc;
}

int repair_view_store(db_conn_t *db, long long ticket_id)
{
    return view_render_store(db, ticket_id, NULL, NULL) < 0 ? -1 : 0;
}

int repair_view_names_changed(db_conn_t *db)
{
    return db_exec(db, "UPDATE repair_view_epoch SET epoch = epoch + 1 WHERE id = 1", DB_NOARGS);
}

/* The response text of a stored body: the markers replaced by the photos'
 * URLs signed now and by `overdue`. NULL when memory runs out, a marker is
 * malformed or a URL cannot be signed. */
static char *view_expand(const char *body, size_t len, int overdue)
{
    size_t cap = len + 1024, n = 0;
    char *out = malloc(cap);
    const char *p = body, *end = body + len;
    while (out && p < end) {
        const char *mark = memchr(p, VIEW_MARK, (size_t)(end - p));
        const char *stop = mark ? memchr(mark + 1, VIEW_MARK, (size_t)(end - mark - 1)) : NULL;
        size_t plain = (size_t)((mark ? mark : end) - p), plen = 0;
        char piece[300];
        if (mark) {
            if (!stop || stop - mark < 2)
                goto Fail;
            if (mark[1] == VIEW_MARK_OVERDUE) {
                plen = (size_t)snprintf(piece, sizeof(piece), "%s", overdue ? "true" : "false");
            } else {
                char url[256];
                long long upload = strtoll(mark + 2, NULL, 10);
                if (media_url_sign(upload, mark[1] == VIEW_MARK_FULL ? "full" : "thumb", gw_cfg->media_url_ttl_s, url,
                                   sizeof(url)) != 0)
                    goto Fail;
                plen = (size_t)snprintf(piece, sizeof(piece), "\"%s\"", url);
            }
            if (plen >= sizeof(piece))
                goto Fail;
        }
        if (n + plain + plen + 1 > cap) {
            size_t want = (n + plain + plen + 1) * 2;
            char *bigger = realloc(out, want);
            if (!bigger)
                goto Fail;
            out = bigger;
            cap = want;
        }
        memcpy(out + n, p, plain);
        memcpy(out + n + plain, piece, plen);
        n += plain + plen;
        p = mark ? stop + 1 : end;
    }
    if (out)
        out[n] = '\0';
    return out;
Fail:
    free(out);
    return NULL;
}

/* The read: the caller (USERS_CALLER_COLUMNS), their relation to the ticket,
 * the ticket's clock and the stored view with whether it is current, in one
 * statement: every table by primary key, the caller's, the ticket's, the
 * view's and the epoch's rows, and at most one row each of the revoked
 * sessions and the grants. Whether the view is current is compared here
 * (repair_view.h): the ticket row's updated_at and the names' epoch. Takes
 * (session id, ticket id, caller, caller, caller, caller). */
static const char *SQL_VIEW_READ =
    "SELECT" USERS_CALLER_COLUMNS ", t.id AS id, t.user_id AS owner_user_id, t.project_id AS \"unit.project_id\","
    " t.engineer_id AS \"engineer.id\", t.category_id AS category_id, t.state AS state, t.rework_count AS rework_count,"
    "" REPAIR_RELATION_COLUMNS ", " REPAIR_OVERDUE_SQL " AS overdue,"
    " FLOOR(UNIX_TIMESTAMP(t.accept_due_at)) AS \"due.accept_by\","
    " FLOOR(UNIX_TIMESTAMP(t.arrive_due_at)) AS \"due.arrive_by\","
    " FLOOR(UNIX_TIMESTAMP(t.resolve_due_at)) AS \"due.resolve_by\", v.body AS view_body,"
    " (v.ticket_updated_at = t.updated_at AND v.epoch = ep.epoch) AS view_fresh"
    " FROM" USERS_CALLER_FROM " LEFT JOIN repair_tickets t ON t.id = ?" REPAIR_RELATION_JOINS
    " LEFT JOIN repair_ticket_views v ON v.ticket_id = t.id LEFT JOIN repair_view_epoch ep ON ep.id = 1"
    " WHERE cu.id = ?";

int repair_view_read(gw_call_t *c, db_conn_t *db, long long id, char **json, repair_detail_meta_t *meta)
{
    long long me = c->user.id;
    char *stored = NULL;
    int rc = -1;
    *json = NULL;
    db_rows_t *r = db_query(db, SQL_VIEW_READ,
                            DB_ARGS(DB_STR(c->session_id), DB_INT(id), DB_INT(me), DB_INT(me), DB_INT(me), DB_INT(me)));
    if (!r)
        return -1;
    if (users_caller_check_or_fail(c, r) != 0) {
        rc = -2;
        goto Exit;
    }
    repair_ticket_t t = {0};
    if (!db_is_null(r, 0, "id"))
        ticket_from_row(r, me, &t);
    if (!t.rel) {
        rc = 0;
        goto Exit;
    }
    int staff = (t.rel & REPAIR_REL_STAFF) != 0;
    *meta = (repair_detail_meta_t){.staff = staff, .owner_user_id = t.user_id, .next_due_ms = next_due_ms(r)};
    if (staff) { /* staff's own parts are not in the stored view: the live detail */
        cJSON *d = NULL;
        int seen = repair_detail_for_caller(c, db, id, &d, NULL);
        if (seen == 1 && !(*json = cJSON_PrintUnformatted(d)))
            seen = -1;
        cJSON_Delete(d);
        rc = seen;
        goto Exit;
    }
    int overdue = db_get_int(r, 0, "overdue") != 0, fresh = db_get_int(r, 0, "view_fresh") != 0;
    metrics_cache_lookup(METRICS_CACHE_REPAIR_VIEW, fresh);
    if (fresh) {
        *json = view_expand(db_get(r, 0, "view_body"), db_get_len(r, 0, "view_body"), overdue);
    } else {
        /* Missing (never rendered since the migration) or stale (changed by
         * a gateway that does not write views, or a name changed): rendered
         * now and kept. */
        int st = view_render_store(db, id, &stored, &overdue);
        if (st < 0 && !stored) {
            rc = -1;
            goto Exit;
        }
        *json = stored ? view_expand(stored, strlen(stored), overdue) : NULL;
    }
    rc = *json ? 1 : -1;
Exit:
    free(stored);
    db_rows_free(r);
    return rc;
}
