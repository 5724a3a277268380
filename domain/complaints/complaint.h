/* complaint.h: complaints, suggestions, praise and enquiries (投诉/建议/表扬/
 * 咨询): their names and labels, who may see and act on one, the timeline,
 * the owner's and the staff's views as JSON, and their notification events.
 * DB workers only; every function that writes runs inside the caller's
 * transaction and never commits.
 *
 * States (schema/029_complaints.sql):
 *   submitted   -> in_progress  the first staff reply, or an assignment
 *   submitted,
 *   in_progress -> resolved     staff propose a resolution (an incident's
 *                               resolution is proposed on each linked one)
 *   resolved    -> closed       the owner accepts; or complaint_accept_days
 *                               pass without an answer (jobs/complaint_sweeper.c)
 *   resolved    -> in_progress  the owner rejects it: rejection_count + 1, a
 *                               new round of clocks
 *   any open    -> closed       staff close it: praise and enquiries at any
 *                               time (their shorter path: nothing to accept);
 *                               complaints and suggestions only once resolved
 *                               (the owner cannot be reached)
 *
 * Who may see one (read from the grants at the time of the request): the
 * owner it belongs to, its handler, supervisors and service-desk members
 * (客服) of its project, and admins. Anyone else gets 404. Staff see the
 * internal notes of the timeline; the owner never does. */
#ifndef GW_COMPLAINT_H
#define GW_COMPLAINT_H
#include <cjson/cJSON.h>

#include "domain/repairs/repair_actions.h"
#include "gateway/call.h"

#define COMPLAINT_MAX_PHOTOS REPAIR_MAX_PHOTOS /* photo_ids are read by repair_photo_ids_or_fail */
#define COMPLAINT_CONTENT_MAX 1000 /* characters of the owner's words, a reply, a resolution */

/* NULL-terminated name lists, in the schema's ENUM order. */
extern const char *const complaint_type_names[];    /* complaint suggestion praise enquiry */
extern const char *const complaint_level_names[];   /* normal hot important major */
extern const char *const complaint_state_names[];   /* submitted in_progress resolved closed */
extern const char *const complaint_channel_names[]; /* miniprogram hotline front_desk wechat_group */

/* Chinese labels of a name of the lists above ("" for an unknown name). */
const char *complaint_type_label(const char *type);
const char *complaint_level_label(const char *level);
const char *complaint_state_label(const char *state);
const char *complaint_channel_label(const char *channel);

enum {
    COMPLAINT_REL_OWNER = 1u << 0,      /* it is theirs */
    COMPLAINT_REL_HANDLER = 1u << 1,    /* assigned to them */
    COMPLAINT_REL_SUPERVISOR = 1u << 2, /* supervisor of its project */
    COMPLAINT_REL_SERVICE = 1u << 3,    /* 客服 of its project */
    COMPLAINT_REL_ADMIN = 1u << 4,
};
/* Staff who run a project's complaints: assign, set the level, link. */
#define COMPLAINT_REL_MANAGE (COMPLAINT_REL_SUPERVISOR | COMPLAINT_REL_SERVICE | COMPLAINT_REL_ADMIN)
/* Staff who work one: the above and its handler (reply, note, resolve). */
#define COMPLAINT_REL_STAFF (COMPLAINT_REL_MANAGE | COMPLAINT_REL_HANDLER)

typedef struct {
    long long id, project_id, user_id, unit_id, building_id, category_id, handler_id, incident_id, repair_ticket_id,
        filed_by;
    char type[16], level[16], state[16];
    int rejection_count;
    int confirmed; /* filed by staff and confirmed by the owner, or filed by the owner */
    unsigned rel;  /* COMPLAINT_REL_* bits of the caller */
} complaint_t;

/* Loads complaint id for the caller, its row locked FOR UPDATE when
 * `lock` (inside the caller's transaction: every action locks before it
 * checks the state, so two staff members acting at once are serialised and
 * the second sees the first's result). 0 found and visible; -1 with the call
 * failed (404 when the caller may not see it, or a db error). */
int complaint_load_or_fail(gw_call_t *c, db_conn_t *db, long long id, int lock, complaint_t *out);

/* The role a caller acts in on this complaint, for the timeline and audit:
 * admin, supervisor, service, handler or owner. */
const char *complaint_actor_role(const complaint_t *k);

/* Adds a timeline row, attaching photos: the caller's (photo_owner_id) own
 * unattached, visible uploads, each to one complaint only. Returns the row
 * id (> 0), 0 when a photo could not be attached (*bad_photo says which;
 * the caller fails the call and the transaction is rolled back), -1 on a
 * db error. visibility: "public" or "internal"; to_state NULL: the
 * complaint's current state (an action that changes none). */
long long complaint_timeline_add(db_conn_t *db, long long complaint_id, const char *action, const char *from_state,
                                 const char *to_state, const char *visibility, long long actor_user_id,
                                 const char *actor_role, const char *note, const long long *photo_ids, int nphotos,
                                 long long photo_owner_id, long long *bad_photo);

/* The list item's columns (alias k, joined per COMPLAINT_ITEM_FROM), every
 * column aliased with its field's name; rows go to complaint_item_json. */
#define COMPLAINT_ITEM_COLUMNS                                                                                         \
    "k.id AS id, k.complaint_no AS complaint_no, k.type AS type, k.state AS state, k.level AS level,"                  \
    " k.channel AS channel, k.project_id AS \"project.id\", p.name AS \"project.name\", k.category_id AS "              \
    "\"category.id\", cc.code AS \"category.code\", cc.name AS \"category.name\", k.unit_id AS \"unit.id\","          \
    " b.name AS \"unit.building\", u.name AS \"unit.name\", k.content AS content,"                                     \
    " k.rejection_count AS rejection_count, k.filed_by IS NOT NULL AS filed_for_owner,"                               \
    " k.owner_confirmed_at IS NOT NULL OR k.filed_by IS NULL AS confirmed, k.incident_id AS incident_id,"             \
    " k.repair_ticket_id AS \"repair.id\", rt.ticket_no AS \"repair.ticket_no\", rt.state AS \"repair.state\","       \
    " k.handler_id AS \"handler.id\", h.display_name AS \"handler.name\","                                             \
    " FLOOR(UNIX_TIMESTAMP(k.created_at)) AS created_at, FLOOR(UNIX_TIMESTAMP(k.first_response_at)) AS "              \
    "first_response_at, FLOOR(UNIX_TIMESTAMP(k.resolved_at)) AS resolved_at,"                                          \
    " FLOOR(UNIX_TIMESTAMP(k.closed_at)) AS closed_at, FLOOR(UNIX_TIMESTAMP(k.respond_due_at)) AS \"due.respond_by\","  \
    " FLOOR(UNIX_TIMESTAMP(k.resolve_due_at)) AS \"due.resolve_by\""
/* What staff also see of an item. */
#define COMPLAINT_STAFF_COLUMNS                                                                                        \
    "k.user_id AS owner_user_id, k.filed_by AS filed_by, k.building_id AS \"unit.building_id\","                      \
    " k.breached AS breached, " COMPLAINT_OVERDUE_SQL " AS overdue"
#define COMPLAINT_ITEM_FROM                                                                                            \
    " FROM complaints k JOIN projects p ON p.id = k.project_id JOIN complaint_categories cc ON cc.id = k.category_id" \
    " LEFT JOIN units u ON u.id = k.unit_id LEFT JOIN buildings b ON b.id = k.building_id"                            \
    " LEFT JOIN users h ON h.id = k.handler_id LEFT JOIN repair_tickets rt ON rt.id = k.repair_ticket_id"
/* True while a running clock is past due: the due times are mirrored from
 * the service-level engine's running clocks (complaint_clocks.h): first
 * response until the first staff reply, resolution until a resolution is
 * proposed; NULL once met. */
#define COMPLAINT_OVERDUE_SQL                                                                                          \
    "(k.state IN ('submitted', 'in_progress') AND (k.respond_due_at < NOW(3) OR k.resolve_due_at < NOW(3)))"

/* A list item from a row of COMPLAINT_ITEM_COLUMNS (staff: and
 * COMPLAINT_STAFF_COLUMNS), with the labels added. A page_render_fn (ud
 * unused); NULL when memory runs out. */
cJSON *complaint_item_json(const db_rows_t *r, int row, void *ud);

/* The detail: the item, the resolution, the rating, the timeline (with
 * photos; internal notes only for staff) and for staff the clocks.
 * NULL on a db error or when memory runs out. */
cJSON *complaint_detail_json(db_conn_t *db, long long id, int staff);

/* A notification event to one user about complaint id. Every payload has:
 * complaint_id, complaint_no, type_label, category, state, state_label,
 * level_label, project, unit ("" when none), time, plus extra's keys
 * (borrowed, may be NULL). 0 or -1. */
int complaint_event(db_conn_t *db, const char *kind, long long user_id, long long complaint_id, const cJSON *extra);
/* The same event to every active supervisor of the project (project
 * managers are supervisors); managers_only: only those listed in
 * project_managers. Returns how many were written, or -1. */
int complaint_event_to_staff(db_conn_t *db, const char *kind, long long project_id, int managers_only,
                             long long complaint_id, const cJSON *extra);

/* Staff scope of a project: 0 when the caller is an admin or a supervisor or
 * service-desk member of project_id, else -1 with the call failed (403,
 * field `field`, or a db error). */
int complaint_manages_or_fail(gw_call_t *c, db_conn_t *db, long long project_id, const char *field);

/* SQL condition: the caller (takes is_admin, user_id) is an admin, or a
 * supervisor or service-desk member of the project in column `col`, or the
 * complaint's (alias k) handler. */
#define COMPLAINT_SCOPE_SQL(col)                                                                                       \
    "(? = 1 OR EXISTS(SELECT 1 FROM staff_roles sr WHERE sr.user_id = ? AND sr.role IN ('supervisor', 'service')"    \
    " AND sr.project_id = " col "))"

#endif
