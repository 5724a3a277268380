/* repair_view.h: reading tickets for the repair routes: who may see one,
 * the list and detail JSON, and the opaque list cursor. DB workers only.
 *
 * Who may see a ticket at all: the owner who filed it, its assigned
 * engineer while they hold the engineer role in the ticket's project,
 * supervisors of its project and admins, each read from the grants at the
 * time of the request. Anyone else gets 404, as if it did not exist. */
#ifndef GW_REPAIR_VIEW_H
#define GW_REPAIR_VIEW_H
#include <cjson/cJSON.h>

#include "gateway/call.h"
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

/* Loads the ticket for the caller. 1 found and visible; 0 the call holds a
 * 404; -1 the call holds a db error. */
int repair_load_for_caller(gw_call_t *c, long long id, repair_ticket_t *t);
/* As above with the id from the path (:id). */
int repair_load_from_path(gw_call_t *c, repair_ticket_t *t);

/* The actor role a caller acts in on this ticket, for the timeline. */
const char *repair_staff_role(const repair_ticket_t *t);

/* SELECT list and joins of the list items (alias t), to be followed by a
 * WHERE clause; the rows go to repair_summary_json. */
#define REPAIR_SUMMARY_SELECT "SELECT " REPAIR_SUMMARY_COLUMNS REPAIR_SUMMARY_FROM
#define REPAIR_SUMMARY_COLUMNS                                                                                         \
    "t.id, t.ticket_no, t.state, c.code, c.name, t.unit_id, p.id, p.name, b.name, u.name, t.engineer_id,"              \
    " e.display_name, t.rework_count, t.within_warranty, DATE_FORMAT(t.warranty_until, '%Y-%m-%d'),"                   \
    " FLOOR(UNIX_TIMESTAMP(t.created_at)), FLOOR(UNIX_TIMESTAMP(t.accept_due_at)),"                                    \
    " FLOOR(UNIX_TIMESTAMP(t.arrive_due_at)), FLOOR(UNIX_TIMESTAMP(t.resolve_due_at)), " REPAIR_OVERDUE_SQL ","        \
    " t.content_check, t.description, t.breached, t.user_id"
/* The small lookup tables are joined by primary key, forced: with a handful
 * of rows a table scan through a join buffer looks cheaper to the
 * optimizer, and then a page of tickets can no longer be read in index
 * order: every one of the caller's tickets is joined, copied to a temporary
 * table and sorted, to return 20. */
#define REPAIR_SUMMARY_FROM                                                                                            \
    " FROM repair_tickets t JOIN repair_categories c FORCE INDEX (PRIMARY) ON c.id = t.category_id"                    \
    " JOIN units u ON u.id = t.unit_id JOIN buildings b FORCE INDEX (PRIMARY) ON b.id = t.building_id"                 \
    " JOIN projects p FORCE INDEX (PRIMARY) ON p.id = t.project_id LEFT JOIN users e ON e.id = t.engineer_id"

/* True while a running clock is past its due time. */
#define REPAIR_OVERDUE_SQL                                                                                             \
    "((t.state IN ('submitted', 'dispatched') AND t.accept_due_at < NOW(3))"                                           \
    " OR (t.state IN ('submitted', 'dispatched', 'accepted') AND t.arrive_due_at < NOW(3))"                            \
    " OR (t.state IN ('submitted', 'dispatched', 'accepted', 'in_progress') AND t.resolve_due_at < NOW(3)))"

/* One list item from a REPAIR_SUMMARY_SELECT row; staff also see the
 * content-check flag and the breach mark. */
cJSON *repair_summary_json(const db_rows_t *r, int row, int staff);

/* The detail (the summary plus contact, times, photos as signed URLs,
 * timeline, rating, and for staff escalations and the follow-up) for the
 * caller, with the visibility check of
 * repair_load_for_caller in the same statement: 1 with *out set, 0 when the
 * caller may not see the ticket (or there is none), -1 on a db error. The
 * call is left as it was: the caller answers. Two statements (the ticket;
 * its timeline with the photos), staff one more. */
typedef struct {
    int staff;               /* the detail has the staff parts */
    long long owner_user_id; /* who filed the ticket */
    long long next_due_ms;   /* when `overdue` may turn next (unix ms), 0 never */
} repair_detail_meta_t;
/* meta may be NULL. */
int repair_detail_for_caller(gw_call_t *c, long long id, cJSON **out, repair_detail_meta_t *meta);

/* Paging: ?cursor= (opaque, from next_cursor) and ?limit= (1-50, default
 * 20). *before_id is 0 on the first page. -1 with a 400 in the call. */
int repair_page_params(gw_call_t *c, long long *before_id, int *limit);
/* Finishes a list: rows fetched with LIMIT limit + 1; the extra row only
 * tells that there is a next page. */
void repair_page_finish(gw_call_t *c, cJSON *items, int more, long long last_id);
/* Answers a page of tickets from REPAIR_SUMMARY_SELECT rows fetched with
 * LIMIT limit + 1, and frees them; r NULL (a failed query) answers the
 * database error. */
void repair_list_respond(gw_call_t *c, db_rows_t *r, int limit, int staff);

/* Staff views: reads ?project= (0 when absent). A supervisor may name only
 * a project they supervise (else 403, field project); admins any.
 * -1 with the call failed. */
int repair_project_param(gw_call_t *c, long long *project_id);
/* SQL condition limiting tickets (alias t) to what the caller supervises;
 * takes (is_admin, user_id). */
#define REPAIR_STAFF_SCOPE_SQL                                                                                         \
    "(? = 1 OR t.project_id IN (SELECT r.project_id FROM staff_roles r WHERE r.user_id = ?"                            \
    " AND r.role = 'supervisor'))"

int repair_cursor_encode(long long id, char *out, size_t outsz);
int repair_cursor_decode(const char *cursor, long long *id);

#endif
