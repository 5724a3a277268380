/* customers.c: the service desk's lookup, phone reveal and one view of a
 * customer (customers.h). */
#include "domain/service/customers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/audit.h"
#include "gateway/db_json.h"
#include "gateway/json_util.h"
#include "gateway/log.h"
#include "gateway/mask.h"
#include "gateway/metrics.h"
#include "gateway/query.h"
#include "gateway/utf8.h"
#include "domain/identity/project_access.h"
#include "domain/notifications/notification_templates.h"
#include "domain/repairs/repair_view.h"
#include "domain/service/desk_scope.h"

const char *const customer_kind_names[] = {"user", "owner", "lead", NULL};

/* Replaces a selected "phone" field by "phone_masked". */
static void mask_phone_field(cJSON *o)
{
    const char *phone = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "phone"));
    char masked[40] = "";
    if (phone)
        mask_phone(phone, masked, sizeof(masked));
    json_add_string_or_null(o, "phone_masked", phone ? masked : NULL);
    cJSON_DeleteItemFromObjectCaseSensitive(o, "phone");
}

/* ---- who the customer is ---- */

typedef struct {
    customer_kind_t kind;
    long long id;
    long long user_id;    /* 0: never logged in */
    long long project_id; /* a project of the caller's desk the customer belongs to */
    char phone[40];       /* "" when unknown */
    char name[64 * 4 + 1];
    int admin; /* the caller is an admin */
} who_t;

/* The projects a user (uid, phone: SQL expressions) belongs to: roster
 * entries (by user or their phone), leads and tickets. */
#define USER_PROJECTS_SQL(uid, phone)                                                                                  \
    "SELECT b.project_id AS p FROM owners o JOIN units un ON un.id = o.unit_id"                                        \
    " JOIN buildings b ON b.id = un.building_id WHERE o.user_id = " uid " OR o.phone = " phone                         \
    " UNION SELECT l.project_id FROM leads l WHERE l.user_id = " uid " AND l.erased_at IS NULL"                        \
    " UNION SELECT t.project_id FROM repair_tickets t WHERE t.user_id = " uid

static const char *SQL_WHO_USER =
    "SELECT u.id AS id, u.id AS user_id, u.phone AS phone,"
    " COALESCE(NULLIF(u.display_name, ''), (SELECT o.name FROM owners o WHERE o.user_id = u.id ORDER BY o.id LIMIT 1),"
    " '') AS name,"
    " (SELECT MIN(x.p) FROM (" USER_PROJECTS_SQL("?",
                                                 "?") ") x WHERE " DESK_SCOPE_SQL("x.p") ") AS project_id"
                                                                                         " FROM users u WHERE u.id = ?";
static const char *SQL_WHO_OWNER =
    "SELECT o.id AS id, o.user_id AS user_id, o.phone AS phone, o.name AS name,"
    " b.project_id AS project_id FROM owners o JOIN units u ON u.id = o.unit_id"
    " JOIN buildings b ON b.id = u.building_id WHERE o.id = ? AND " DESK_SCOPE_SQL("b.project_id");
static const char *SQL_WHO_LEAD = "SELECT l.id AS id, l.user_id AS user_id, l.phone AS phone, l.name AS name,"
                                  " l.project_id AS project_id FROM leads l WHERE l.id = ? AND l.erased_at IS NULL"
                                  " AND " DESK_SCOPE_SQL("l.project_id");

/* 0 with *w, or -1 with the call failed (404 for a customer outside the
 * caller's projects, or a db error). */
static int who_or_fail(gw_call_t *c, db_conn_t *db, customer_kind_t kind, long long id, who_t *w)
{
    memset(w, 0, sizeof(*w));
    w->kind = kind;
    w->id = id;
    int admin = project_access_is_admin(db, c->user.id);
    if (admin < 0) {
        call_fail_db(c);
        return -1;
    }
    w->admin = admin;
    db_rows_t *r;
    if (kind == CUSTOMER_USER) {
        /* The user's phone is read first: the projects follow it too. */
        char *phone = NULL;
        db_rows_t *p = db_query(db, "SELECT phone FROM users WHERE id = ?", DB_ARGS(DB_INT(id)));
        if (p && p->nrows == 1 && db_get(p, 0, "phone"))
            phone = strdup(db_get(p, 0, "phone"));
        db_rows_free(p);
        if (!p) {
            call_fail_db(c);
            return -1;
        }
        r = db_query(
            db, SQL_WHO_USER,
            DB_ARGS(DB_INT(id), DB_STR(phone), DB_INT(id), DB_INT(id), DB_INT(admin), DB_INT(c->user.id), DB_INT(id)));
        free(phone);
    } else {
        r = db_query(db, kind == CUSTOMER_OWNER ? SQL_WHO_OWNER : SQL_WHO_LEAD,
                     DB_ARGS(DB_INT(id), DB_INT(admin), DB_INT(c->user.id)));
    }
    if (!r) {
        call_fail_db(c);
        return -1;
    }
    int found = r->nrows == 1 && !db_is_null(r, 0, "project_id");
    if (found) {
        w->user_id = db_get_int(r, 0, "user_id");
        w->project_id = db_get_int(r, 0, "project_id");
        utf8_copy(w->phone, sizeof(w->phone), db_get(r, 0, "phone") ? db_get(r, 0, "phone") : "");
        utf8_copy(w->name, sizeof(w->name), db_get(r, 0, "name") ? db_get(r, 0, "name") : "");
    }
    db_rows_free(r);
    if (!found) {
        call_fail(c, ERR_NOT_FOUND, NULL, "no such customer in your projects");
        return -1;
    }
    return 0;
}

/* ---- the lookup ---- */

/* Users with the phone who belong to a project of the caller's desk, one
 * row per such project. Binds (phone, admin, me, project, project, limit). */
static const char *SQL_LOOKUP_USERS =
    "SELECT u.id AS id, u.id AS user_id, COALESCE(NULLIF(u.display_name, ''),"
    " (SELECT o.name FROM owners o WHERE o.user_id = u.id ORDER BY o.id LIMIT 1), '') AS name, u.phone AS phone,"
    " p.id AS \"project.id\", p.name AS \"project.name\""
    " FROM users u JOIN projects p ON p.id IN (" USER_PROJECTS_SQL(
        "u.id", "u.phone") ")"
                           " WHERE u.phone = ? AND " DESK_SCOPE_SQL(
                               "p.id") " AND (? = 0 OR p.id = ?) ORDER BY u.id, p.id LIMIT ?";
static const char *SQL_LOOKUP_OWNERS =
    "SELECT o.id AS id, o.user_id AS user_id, o.name AS name, o.phone AS phone, p.id AS \"project.id\","
    " p.name AS \"project.name\", u.id AS \"unit.id\", b.name AS \"unit.building\", u.name AS \"unit.name\""
    " FROM owners o JOIN units u ON u.id = o.unit_id JOIN buildings b ON b.id = u.building_id"
    " JOIN projects p ON p.id = b.project_id WHERE o.phone = ? AND " DESK_SCOPE_SQL(
        "p.id") " AND (? = 0 OR p.id = ?) ORDER BY o.id LIMIT ?";
static const char *SQL_LOOKUP_LEADS =
    "SELECT l.id AS id, l.user_id AS user_id, l.name AS name, l.phone AS phone, p.id AS \"project.id\","
    " p.name AS \"project.name\", l.stage AS stage, FLOOR(UNIX_TIMESTAMP(l.created_at)) AS created_at"
    " FROM leads l JOIN projects p ON p.id = l.project_id WHERE l.phone = ? AND l.erased_at IS NULL "
    "AND " DESK_SCOPE_SQL("l.project_id") " AND (? = 0 OR p.id = ?) ORDER BY l.id DESC LIMIT ?";

/* Adds the rows of r to matches as `kind` items; users' rows (one per
 * project) fold into one item with projects[]. 0, or -1 out of memory. */
static int add_matches(cJSON *matches, const db_rows_t *r, const char *kind)
{
    int users = !strcmp(kind, "user");
    cJSON *last = NULL;
    long long last_id = 0;
    for (int i = 0; i < r->nrows; i++) {
        if (users && last && db_get_int(r, i, "id") == last_id) {
            cJSON *proj = db_row_json(r, i);
            if (!proj)
                return -1;
            cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(last, "projects"),
                                 cJSON_DetachItemFromObjectCaseSensitive(proj, "project"));
            cJSON_Delete(proj);
            continue;
        }
        cJSON *o = db_row_json(r, i);
        if (!o)
            return -1;
        mask_phone_field(o);
        cJSON_AddStringToObject(o, "kind", kind);
        if (users) {
            cJSON *projects = cJSON_AddArrayToObject(o, "projects");
            cJSON_AddItemToArray(projects, cJSON_DetachItemFromObjectCaseSensitive(o, "project"));
            last = o;
            last_id = db_get_int(r, i, "id");
        }
        cJSON_AddItemToArray(matches, o);
    }
    return 0;
}

void customers_lookup(gw_call_t *c, db_conn_t *db, const char *phone, long long project)
{
    int admin = project_access_is_admin(db, c->user.id);
    if (admin < 0) {
        call_fail_db(c);
        return;
    }
    long long me = c->user.id;
    /* A user belongs to at most a few projects: the limit counts rows. */
    db_rows_t *users = db_query(db, SQL_LOOKUP_USERS,
                                DB_ARGS(DB_STR(phone), DB_INT(admin), DB_INT(me), DB_INT(project), DB_INT(project),
                                        DB_INT(CUSTOMER_LOOKUP_LIMIT)));
    db_rows_t *owners = users ? db_query(db, SQL_LOOKUP_OWNERS,
                                         DB_ARGS(DB_STR(phone), DB_INT(admin), DB_INT(me), DB_INT(project),
                                                 DB_INT(project), DB_INT(CUSTOMER_LOOKUP_LIMIT)))
                              : NULL;
    db_rows_t *leads = owners ? db_query(db, SQL_LOOKUP_LEADS,
                                         DB_ARGS(DB_STR(phone), DB_INT(admin), DB_INT(me), DB_INT(project),
                                                 DB_INT(project), DB_INT(CUSTOMER_LOOKUP_LIMIT)))
                              : NULL;
    cJSON *d = NULL;
    if (!leads) {
        call_fail_db(c);
        goto Done;
    }
    char masked[40];
    mask_phone(phone, masked, sizeof(masked));
    d = cJSON_CreateObject();
    cJSON *matches = d ? cJSON_AddArrayToObject(d, "matches") : NULL;
    if (!matches || !cJSON_AddStringToObject(d, "phone_masked", masked) || add_matches(matches, users, "user") != 0 ||
        add_matches(matches, owners, "owner") != 0 || add_matches(matches, leads, "lead") != 0) {
        call_fail(c, ERR_OVERLOADED, NULL, "out of memory");
        goto Done;
    }
    metrics_service_customer(0);
    log_info("service", "user %lld looked up %s: %d users, %d roster entries, %d leads", me, masked, users->nrows,
             owners->nrows, leads->nrows);
    call_ok(c, 200, d);
    d = NULL;
Done:
    cJSON_Delete(d);
    db_rows_free(users);
    db_rows_free(owners);
    db_rows_free(leads);
}

/* ---- the phone ---- */

void customers_reveal_phone(gw_call_t *c, db_conn_t *db, customer_kind_t kind, long long id, const char *reason)
{
    who_t w;
    if (who_or_fail(c, db, kind, id, &w) != 0)
        return;
    if (!*w.phone) {
        call_fail(c, ERR_CONFLICT, NULL, "no phone is known for this customer");
        return;
    }
    char masked[40];
    mask_phone(w.phone, masked, sizeof(masked));
    cJSON *detail = cJSON_CreateObject();
    if (!detail || !cJSON_AddStringToObject(detail, "reason", reason) ||
        !cJSON_AddStringToObject(detail, "kind", customer_kind_names[kind]) ||
        !cJSON_AddStringToObject(detail, "phone_masked", masked)) {
        cJSON_Delete(detail);
        call_fail(c, ERR_OVERLOADED, NULL, "out of memory");
        return;
    }
    int rc = db_begin(db) != 0 ||
             audit_write(db, c->user.id, w.project_id, "customer.phone_revealed", customer_kind_names[kind], id,
                         detail) != 0 ||
             db_commit(db) != 0;
    cJSON_Delete(detail);
    if (rc) {
        call_fail_db(c);
        return;
    }
    metrics_service_customer(1);
    log_info("service", "user %lld revealed the phone of %s %lld (%s)", c->user.id, customer_kind_names[kind], id,
             masked);
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "phone", w.phone);
    cJSON_AddStringToObject(d, "phone_masked", masked);
    call_ok(c, 200, d);
}

/* ---- the one view ---- */

/* A section of the view: its rows by id, newest first, within the caller's
 * desk. Every statement binds (user, [phone,] admin, me, before_id, limit):
 * the customer's user id (0 when they never logged in: nothing matches),
 * their phone when by_phone, the scope, then the page. */
typedef struct {
    int by_phone;
    page_render_fn render; /* NULL: the row as selected */
} section_t;

#define PAGE_SQL(id_col) " AND " id_col " < ? ORDER BY " id_col " DESC LIMIT ?"

static const char *SQL_UNITS =
    "SELECT o.id AS id, o.name AS owner_name, o.user_id AS user_id, u.id AS \"unit.id\", u.name AS \"unit.name\","
    " b.id AS \"unit.building_id\", b.name AS \"unit.building\", p.id AS \"unit.project_id\","
    " p.name AS \"unit.project\", DATE_FORMAT(u.handover_date, '%Y-%m-%d') AS \"unit.handover_date\""
    " FROM owners o JOIN units u ON u.id = o.unit_id JOIN buildings b ON b.id = u.building_id"
    " JOIN projects p ON p.id = b.project_id WHERE (o.user_id = ? OR o.phone = ?) AND " DESK_SCOPE_SQL("p.id")
        PAGE_SQL("o.id");

static const char *SQL_REPAIRS =
    "SELECT " REPAIR_SUMMARY_COLUMNS ", t.rating_score AS \"rating.score\", t.rating_comment AS \"rating.comment\","
    " FLOOR(UNIX_TIMESTAMP(t.rated_at)) AS \"rating.rated_at\"" REPAIR_SUMMARY_FROM
    " WHERE t.user_id = ? AND " DESK_SCOPE_SQL("t.project_id") PAGE_SQL("t.id");

static const char *SQL_RATINGS =
    "SELECT t.id AS id, t.ticket_no AS ticket_no, c.name AS category, t.rating_score AS score,"
    " t.rating_comment AS comment, FLOOR(UNIX_TIMESTAMP(t.rated_at)) AS rated_at, e.display_name AS engineer_name"
    " FROM repair_tickets t JOIN repair_categories c ON c.id = t.category_id"
    " LEFT JOIN users e ON e.id = t.rated_engineer_id WHERE t.user_id = ? AND t.rating_score IS NOT NULL "
    "AND " DESK_SCOPE_SQL("t.project_id") PAGE_SQL("t.id");

static const char *SQL_FOLLOWUPS =
    "SELECT f.id AS id, f.ticket_id AS ticket_id, t.ticket_no AS ticket_no, f.score AS score, f.status AS status,"
    " f.note AS note, FLOOR(UNIX_TIMESTAMP(f.created_at)) AS created_at, FLOOR(UNIX_TIMESTAMP(f.done_at)) AS done_at"
    " FROM repair_followups f JOIN repair_tickets t ON t.id = f.ticket_id WHERE t.user_id = ? AND " DESK_SCOPE_SQL(
        "f.project_id") PAGE_SQL("f.id");

static const char *SQL_LEADS =
    "SELECT l.id AS id, l.name AS name, l.stage AS stage, l.channel AS channel, p.id AS \"project.id\","
    " p.name AS \"project.name\", a.display_name AS agent_name, FLOOR(UNIX_TIMESTAMP(l.created_at)) AS created_at"
    " FROM leads l JOIN projects p ON p.id = l.project_id LEFT JOIN users a ON a.id = l.agent_user_id"
    " WHERE (l.user_id = ? OR l.phone = ?) AND l.erased_at IS NULL AND " DESK_SCOPE_SQL("l.project_id")
        PAGE_SQL("l.id");

static const char *SQL_REFERRALS =
    "SELECT r.id AS id, IF(r.referrer_user_id = ?, 'referrer', 'referee') AS role, r.stage AS stage,"
    " p.id AS \"project.id\", p.name AS \"project.name\", FLOOR(UNIX_TIMESTAMP(r.locked_at)) AS created_at"
    " FROM referrals r JOIN projects p ON p.id = r.project_id WHERE ? IN (r.referrer_user_id, r.referee_user_id)"
    " AND " DESK_SCOPE_SQL("r.project_id") PAGE_SQL("r.id");

static const char *SQL_REWARDS =
    "SELECT w.id AS id, w.referral_id AS referral_id, w.kind AS kind, w.amount AS amount, w.status AS status,"
    " p.id AS \"project.id\", p.name AS \"project.name\", FLOOR(UNIX_TIMESTAMP(w.created_at)) AS created_at"
    " FROM referral_rewards w JOIN projects p ON p.id = w.project_id WHERE w.referrer_user_id = ? AND " DESK_SCOPE_SQL(
        "w.project_id") PAGE_SQL("w.id");

/* Events without a project are admins' only, everywhere: left out. */
static const char *SQL_NOTIFICATIONS =
    "SELECT e.id AS id, e.kind AS kind, e.status AS status, e.ref_type AS ref_type, e.ref_id AS ref_id,"
    " e.project_id AS project_id, FLOOR(UNIX_TIMESTAMP(e.created_at)) AS created_at,"
    " FLOOR(UNIX_TIMESTAMP(e.sent_at)) AS sent_at FROM notification_events e WHERE e.user_id = ?"
    " AND e.project_id IS NOT NULL AND " DESK_SCOPE_SQL("e.project_id") PAGE_SQL("e.id");

/* The notification with its template's title. */
static cJSON *notification_json(const db_rows_t *r, int row, void *ud)
{
    (void)ud;
    cJSON *o = db_row_json(r, row);
    const ntpl_kind_t *k = ntpl_kind(notification_templates(), db_get(r, row, "kind"));
    if (o)
        cJSON_AddStringToObject(o, "title", k && k->title ? k->title : db_get(r, row, "kind"));
    return o;
}

/* Complaints, suggestions, praise and enquiries (schema 029): the user's,
 * with the channel and whether the desk filed them for the owner. */
static const char *SQL_COMPLAINTS =
    "SELECT k.id AS id, k.complaint_no AS complaint_no, k.type AS type, k.level AS level, k.state AS state,"
    " k.channel AS channel, k.filed_by IS NOT NULL AS filed_for_you, cc.name AS category, k.content AS content,"
    " k.unit_id AS \"unit.id\", u.name AS \"unit.name\", k.rating AS rating, k.rejection_count AS rejection_count,"
    " FLOOR(UNIX_TIMESTAMP(k.created_at)) AS created_at, FLOOR(UNIX_TIMESTAMP(k.resolved_at)) AS resolved_at"
    " FROM complaints k LEFT JOIN complaint_categories cc ON cc.id = k.category_id LEFT JOIN units u ON u.id = "
    "k.unit_id"
    " WHERE k.user_id = ? AND " DESK_SCOPE_SQL("k.project_id") PAGE_SQL("k.id");

/* The view's sections, in the order shown. The first is also the list the
 * desk picks a unit from. Indexes match customer_section_names. */
static const section_t sections[] = {
    {1, NULL} /* units */,
    {0, repair_item_json} /* repairs */,
    {0, NULL} /* complaints */,
    {1, NULL} /* leads */,
    {0, NULL} /* referrals */,
    {0, NULL} /* rewards */,
    {0, notification_json} /* notifications */,
    {0, NULL} /* ratings */,
    {0, NULL} /* followups */,
};
#define NSECTIONS ((int)(sizeof(sections) / sizeof(sections[0])))
_Static_assert(sizeof(sections) / sizeof(sections[0]) == 9, "one section_t per customer_section_names entry");

const char *const customer_section_names[] = {"units",   "repairs",       "complaints", "leads",     "referrals",
                                              "rewards", "notifications", "ratings",    "followups", NULL};

static const char *section_sql(int i)
{
    switch (i) {
    case 0:
        return SQL_UNITS;
    case 1:
        return SQL_REPAIRS;
    case 2:
        return SQL_COMPLAINTS;
    case 3:
        return SQL_LEADS;
    case 4:
        return SQL_REFERRALS;
    case 5:
        return SQL_REWARDS;
    case 6:
        return SQL_NOTIFICATIONS;
    case 7:
        return SQL_RATINGS;
    default:
        return SQL_FOLLOWUPS;
    }
}

/* Rows of section i before id `before`, at most limit + 1. NULL on a db
 * error. */
static db_rows_t *section_rows(db_conn_t *db, const who_t *w, long long me, int i, long long before, int limit)
{
    db_param_t a[8];
    int n = 0;
    const char *sql = section_sql(i);
    a[n++] = DB_INT(w->user_id);
    if (i == 4) /* referrals: the user twice, the role and the match */
        a[n++] = DB_INT(w->user_id);
    if (sections[i].by_phone)
        a[n++] = DB_STR(*w->phone ? w->phone : NULL);
    a[n++] = DB_INT(w->admin);
    a[n++] = DB_INT(me);
    a[n++] = DB_INT(before);
    a[n++] = DB_INT(limit + 1);
    return db_query(db, sql, a, n);
}

static int section_index(const char *name)
{
    for (int i = 0; i < NSECTIONS; i++)
        if (!strcmp(customer_section_names[i], name))
            return i;
    return -1;
}

/* One section of the full view: {items, next_cursor}. NULL
 * on a db error or out of memory (*dberr says which). */
static cJSON *section_json(db_conn_t *db, const who_t *w, long long me, int i, int *dberr)
{
    *dberr = 0;
    cJSON *s = cJSON_CreateObject();
    cJSON *items = s ? cJSON_AddArrayToObject(s, "items") : NULL;
    if (!items) {
        cJSON_Delete(s);
        return NULL;
    }
    db_rows_t *r = section_rows(db, w, me, i, PAGE_KEY_MAX, CUSTOMER_SECTION_LIMIT);
    if (!r) {
        *dberr = 1;
        cJSON_Delete(s);
        return NULL;
    }
    int shown = r->nrows < CUSTOMER_SECTION_LIMIT ? r->nrows : CUSTOMER_SECTION_LIMIT;
    for (int k = 0; k < shown; k++) {
        cJSON *o = sections[i].render ? sections[i].render(r, k, NULL) : db_row_json(r, k);
        if (!o) {
            db_rows_free(r);
            cJSON_Delete(s);
            return NULL;
        }
        cJSON_AddItemToArray(items, o);
    }
    char cursor[PAGE_CURSOR_MAX + 1];
    long long last = shown ? db_get_int(r, shown - 1, "id") : 0;
    if (r->nrows > CUSTOMER_SECTION_LIMIT && page_cursor_encode(&last, 1, cursor, sizeof(cursor)) == 0)
        cJSON_AddStringToObject(s, "next_cursor", cursor);
    else
        cJSON_AddNullToObject(s, "next_cursor");
    db_rows_free(r);
    return s;
}

void customers_view(gw_call_t *c, db_conn_t *db, customer_kind_t kind, long long id, const char *section)
{
    page_t page;
    if (section && page_or_fail(c, 1, &page) != 0)
        return;
    who_t w;
    if (who_or_fail(c, db, kind, id, &w) != 0)
        return;
    if (section) {
        static const char *const keys[] = {"id"};
        int i = section_index(section);
        db_rows_t *r = section_rows(db, &w, c->user.id, i, page_key(&page, 0, PAGE_KEY_MAX), page.limit);
        if (!r) {
            call_fail_db(c);
            return;
        }
        page_respond(c, &page, r, sections[i].render, NULL, keys);
        db_rows_free(r);
        return;
    }
    cJSON *d = cJSON_CreateObject(), *cust = cJSON_AddObjectToObject(d, "customer");
    cJSON *secs = cJSON_AddObjectToObject(d, "sections");
    if (!cust || !secs)
        goto NoMemory;
    char masked[40];
    mask_phone(w.phone, masked, sizeof(masked));
    cJSON_AddStringToObject(cust, "kind", customer_kind_names[kind]);
    cJSON_AddNumberToObject(cust, "id", (double)id);
    if (w.user_id)
        cJSON_AddNumberToObject(cust, "user_id", (double)w.user_id);
    else
        cJSON_AddNullToObject(cust, "user_id");
    cJSON_AddStringToObject(cust, "name", w.name);
    json_add_string_or_null(cust, "phone_masked", *w.phone ? masked : NULL);
    cJSON_AddNumberToObject(d, "section_limit", CUSTOMER_SECTION_LIMIT);
    for (int i = 0; i < NSECTIONS; i++) {
        int dberr;
        cJSON *s = section_json(db, &w, c->user.id, i, &dberr);
        if (!s) {
            cJSON_Delete(d);
            if (dberr)
                call_fail_db(c);
            else
                call_fail(c, ERR_OVERLOADED, NULL, "out of memory");
            return;
        }
        cJSON_AddItemToObject(secs, customer_section_names[i], s);
    }
    call_ok(c, 200, d);
    return;
NoMemory:
    cJSON_Delete(d);
    call_fail(c, ERR_OVERLOADED, NULL, "out of memory");
}
