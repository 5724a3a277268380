/* repair_view.h: reading tickets for the repair routes: who may see one,
 * the list item and the detail as JSON, and the staff views' scope. DB
 * workers only.
 *
 * Who may see a ticket at all: the owner who filed it, its assigned
 * engineer while they hold the engineer role in the ticket's project,
 * supervisors of its project and admins, each read from the grants at the
 * time of the request. Anyone else gets 404, as if it did not exist.
 *
 * The JSON is the SELECT's: every column of the lists and the detail is
 * aliased with its field's name (a dotted alias nests, "unit.name"), rows
 * are rendered by db_row_json, and only the labels, the engineer's name
 * fallback and the photos are added after rendering.
 *
 * THE STORED VIEW (schema 033, repair_ticket_views). The detail as its
 * owner sees it is kept rendered, one row a ticket, so that the read of an
 * owner or of the assigned engineer is one statement by primary key
 * (repair_view_read). It is rendered by the same statement and code as the
 * live detail; what turns with the clock is left as markers that the read
 * fills in (the photos' URLs, signed at read time, and `overdue`, from the
 * ticket's row in the same statement). Staff read the live detail (their
 * escalations and follow-up are not in the view).
 *
 * The rule for every change path (filing, a state change or action,
 * assignment, timeline rows and photos, ratings, follow-ups, pauses, clocks,
 * anything new):
 *   1. a transaction that changes what a ticket's detail shows calls
 *      repair_view_store(db, ticket_id) for each ticket it changed, as its
 *      last statement before the commit, after every write of the ticket
 *      and its timeline;
 *   2. a change of a name the detail shows without a write of the tickets
 *      (a category, unit, building or project renamed, a staff member's
 *      display name) calls repair_view_names_changed(db) in its
 *      transaction: every view is then rendered again on its next read;
 *   3. anything else that changes the detail writes the ticket's row,
 *      among them the content check, which hides a photo outside the
 *      ticket's transactions (gateway/media_check.c).
 * Rule 1 is the fast path; the read's check is the safety net, so a path
 * that forgets it (or an older gateway, which writes no views) costs one
 * render on the next read, never a stale answer: a view is current only
 * while the ticket row's updated_at and the names' epoch are the ones it
 * was rendered from, compared in the read's statement. (A hidden photo is
 * also refused where it is served, handlers/media/media.c, so a view that
 * still lists one never shows it.) */
#ifndef GW_REPAIR_VIEW_H
#define GW_REPAIR_VIEW_H
#include <cjson/cJSON.h>

#include "gateway/call.h"
#include "gateway/query.h"
#include "domain/repairs/repair_state.h"

enum {
    REPAIR_REL_OWNER = 1u << 0,      /* filed it */
    REPAIR_REL_ENGINEER = 1u << 1,   /* is assigned to it and an engineer of its project */
    REPAIR_REL_SUPERVISOR = 1u << 2, /* supervisor of its project */
    REPAIR_REL_ADMIN = 1u << 3,
};
#define REPAIR_REL_STAFF (REPAIR_REL_SUPERVISOR | REPAIR_REL_ADMIN)

typedef struct {
    long long id, user_id, project_id, engineer_id, category_id;
    repair_state_t state;
    int rework_count;
    unsigned rel; /* REPAIR_REL_* bits of the caller */
} repair_ticket_t;

/* Loads ticket id for the caller: 0 found and visible; -1 with the call
 * failed (404 when the caller may not see it, or a db error). */
int repair_load_or_fail(gw_call_t *c, db_conn_t *db, long long id, repair_ticket_t *t);
/* As above with the id from the path (:id). */
int repair_load_from_path_or_fail(gw_call_t *c, db_conn_t *db, repair_ticket_t *t);

/* The actor role a caller acts in on this ticket, for the timeline. */
const char *repair_staff_role(const repair_ticket_t *t);

/* SELECT list and joins of the list items (alias t), to be followed by a
 * WHERE clause; the rows go to repair_item_json. Every column is aliased
 * with the name of its field, so a column added anywhere shifts nothing. */
#define REPAIR_SUMMARY_SELECT "SELECT " REPAIR_SUMMARY_COLUMNS REPAIR_SUMMARY_FROM
#define REPAIR_SUMMARY_COLUMNS                                                                                         \
    "t.id AS id, t.ticket_no AS ticket_no, t.state AS state, c.code AS \"category.code\","                             \
    " c.name AS \"category.name\", t.unit_id AS \"unit.id\", p.id AS \"unit.project_id\", p.name AS \"unit.project\"," \
    " b.name AS \"unit.building\", u.name AS \"unit.name\", t.description AS description,"                             \
    " t.engineer_id AS \"engineer.id\", e.display_name AS \"engineer.name\", t.rework_count AS rework_count,"          \
    " t.within_warranty AS within_warranty, DATE_FORMAT(t.warranty_until, '%Y-%m-%d') AS warranty_until,"              \
    " FLOOR(UNIX_TIMESTAMP(t.created_at)) AS created_at,"                                                              \
    " FLOOR(UNIX_TIMESTAMP(t.accept_due_at)) AS \"due.accept_by\","                                                    \
    " FLOOR(UNIX_TIMESTAMP(t.arrive_due_at)) AS \"due.arrive_by\","                                                    \
    " FLOOR(UNIX_TIMESTAMP(t.resolve_due_at)) AS \"due.resolve_by\", " REPAIR_OVERDUE_SQL                              \
    " AS overdue, " REPAIR_FILED_FOR_COLUMNS
/* What staff also see of a list item (append to REPAIR_SUMMARY_COLUMNS). */
#define REPAIR_STAFF_COLUMNS "t.content_check AS content_check, t.breached AS breached, t.user_id AS owner_user_id"
/* The ticket drives the join and the small lookup tables are read by
 * primary key, both forced: MariaDB picks the join order without weighing
 * the LIMIT, and with a handful of rows in a lookup table (or a unit index
 * that covers the join) it starts from that table instead, joins every
 * ticket, copies them to a temporary table and sorts them, to return 20
 * (seconds on 200 000 tickets). With the ticket first, a page is a range of
 * the ticket's index read in the list's order. */
#define REPAIR_SUMMARY_FROM " FROM repair_tickets t" REPAIR_SUMMARY_JOINS
/* The lookup tables of a list item, to follow the ticket (alias t). */
#define REPAIR_SUMMARY_JOINS                                                                                           \
    " STRAIGHT_JOIN repair_categories c FORCE INDEX (PRIMARY) ON c.id = t.category_id"                                 \
    " STRAIGHT_JOIN units u FORCE INDEX (PRIMARY) ON u.id = t.unit_id"                                                 \
    " STRAIGHT_JOIN buildings b FORCE INDEX (PRIMARY) ON b.id = t.building_id"                                         \
    " STRAIGHT_JOIN projects p FORCE INDEX (PRIMARY) ON p.id = t.project_id"                                           \
    " LEFT JOIN users e FORCE INDEX (PRIMARY) ON e.id = t.engineer_id" REPAIR_FILED_FOR_JOINS

/* A ticket the service desk filed on the owner's behalf (schema 032,
 * repair_filings): filed_for {channel, by {id, name}, confirmed_at}, null
 * for a ticket the owner filed; item_decorate adds filed_for_you and the
 * channel's label. */
#define REPAIR_FILED_FOR_COLUMNS                                                                                       \
    "rf.channel AS \"filed_for.channel\", rf.filed_by AS \"filed_for.by.id\","                                         \
    " fb.display_name AS \"filed_for.by.name\","                                                                       \
    " FLOOR(UNIX_TIMESTAMP(rf.confirmed_at)) AS \"filed_for.confirmed_at\""
/* Forced to their primary keys like the lookups above: while the desk has
 * filed few tickets, MariaDB may otherwise scan repair_filings into a join
 * buffer, which gives up the ticket index's order, so every ticket of the
 * range is joined, copied to a temporary table and sorted for one page (the
 * staff's overdue list at a fifth of its rate, "The desk's filings in a
 * join buffer" in bench/RESULTS.md). */
#define REPAIR_FILED_FOR_JOINS                                                                                         \
    " LEFT JOIN repair_filings rf FORCE INDEX (PRIMARY) ON rf.ticket_id = t.id"                                        \
    " LEFT JOIN users fb FORCE INDEX (PRIMARY) ON fb.id = rf.filed_by"

/* True while a running clock is past its due time. A running clock means
 * an open ticket: t.is_open (schema 021, a virtual column) says so first,
 * so that a list filtered on it reads the (.., is_open, id, due times)
 * indexes in id order and checks the due times on the index entries. */
#define REPAIR_OVERDUE_SQL                                                                                             \
    "(t.is_open = 1 AND ((t.state IN ('submitted', 'dispatched') AND t.accept_due_at < NOW(3))"                        \
    " OR (t.state IN ('submitted', 'dispatched', 'accepted') AND t.arrive_due_at < NOW(3))"                            \
    " OR (t.state IN ('submitted', 'dispatched', 'accepted', 'in_progress') AND t.resolve_due_at < NOW(3))))"

/* The label of a desk filing's channel (hotline -> 客服热线); the channel
 * itself when unknown, "" for NULL. */
const char *repair_channel_label(const char *channel);

/* One list item from a row of REPAIR_SUMMARY_COLUMNS (and, for staff,
 * REPAIR_STAFF_COLUMNS): the row as selected, with state_label and the
 * engineer's name when they have none. A page_render_fn (ud unused); NULL
 * when memory runs out. */
cJSON *repair_item_json(const db_rows_t *r, int row, void *ud);

/* One photo as the API shows it: {id, url, thumb_url (signed for
 * media_url_ttl_s), hidden: true when reported risky}. Used by every
 * timeline with photos (repairs, complaints). NULL when signing fails or
 * memory runs out. */
cJSON *repair_photo_json(long long upload_id, int hidden);

/* Answers a page of list items from rows fetched with LIMIT page->limit + 1
 * and ordered by t.id DESC (the page's one key, "id"), and frees them; r
 * NULL (a failed query) answers the database error. */
void repair_page_respond(gw_call_t *c, const page_t *page, db_rows_t *r);

/* The detail (the list item plus contact, times, photos as signed URLs,
 * timeline, rating, and for staff the staff columns, escalations and the
 * follow-up) for the caller, with the visibility check of
 * repair_load_or_fail in the same statement: 1 with *out set, 0 when the
 * caller may not see the ticket (or there is none), -1 on a db error. The
 * call is left as it was: the caller answers. One statement (the ticket
 * with its timeline and the timeline's photos), staff two more. */
typedef struct {
    int staff;               /* the detail has the staff parts */
    long long owner_user_id; /* who filed the ticket */
    long long next_due_ms;   /* when `overdue` may turn next (unix ms), 0 never */
} repair_detail_meta_t;
/* meta may be NULL. */
int repair_detail_for_caller(gw_call_t *c, db_conn_t *db, long long id, cJSON **out, repair_detail_meta_t *meta);

/* The detail for the caller in ONE statement: the caller's checks
 * (USERS_CALLER_COLUMNS: the session's user exists, is not disabled, the
 * session is not revoked), their relation to the ticket, and for its owner
 * or assigned engineer the stored view, rendered and kept first when it is
 * missing or stale; staff get the live detail (more statements). 1 with
 * *json (malloc'd response text) and *meta set; 0 when the caller may not
 * see the ticket (or there is none); -1 on a db error or out of memory;
 * -2 with the call failed (the caller's check: 401/403). */
int repair_view_read(gw_call_t *c, db_conn_t *db, long long id, char **json, repair_detail_meta_t *meta);

/* Renders ticket ticket_id's stored view and writes it, in the caller's
 * transaction (rule 1 above): 0 (also when there is no such ticket), -1 on
 * a db error (the caller rolls back). */
int repair_view_store(db_conn_t *db, long long ticket_id);

/* Marks every stored view stale (rule 2 above), in the caller's
 * transaction: 0, or -1 on a db error. */
int repair_view_names_changed(db_conn_t *db);

/* Staff views: reads ?project= (0 when absent). A supervisor may name only
 * a project they supervise (else 403, field project); admins any.
 * 0, or -1 with the call failed. */
int repair_project_or_fail(gw_call_t *c, db_conn_t *db, long long *project_id);
/* The check of repair_project_or_fail alone: 0 when the caller is an admin
 * or supervises project_id, else -1 with the call failed (403, field
 * project, or a db error). */
int repair_supervises_or_fail(gw_call_t *c, db_conn_t *db, long long project_id);
/* SQL condition limiting tickets (alias t) to what the caller supervises;
 * takes (is_admin, user_id). */
#define REPAIR_STAFF_SCOPE_SQL                                                                                         \
    "(? = 1 OR t.project_id IN (SELECT r.project_id FROM staff_roles r WHERE r.user_id = ?"                            \
    " AND r.role = 'supervisor'))"

#endif
