/* repair_file.h: filing a repair ticket, for the owner (POST
 * /api/v1/repairs, handlers/repairs/repairs.c) and for the service desk on
 * an owner's behalf (POST /api/v1/service/repairs,
 * handlers/repairs/repairs_service.c). Both run the same three steps and
 * the same transaction: the body on the loop, the description's WeChat
 * text check on a WeChat worker (skipped, the ticket "unchecked", when the
 * WeChat pool cannot start it promptly), then one transaction on a DB
 * worker holding the idempotency key, the ticket, its first timeline row,
 * the attached photos, the dispatch (with its events) and, for a filing on
 * the owner's behalf, its repair_filings row (schema 032) and the owner's
 * repair.filed_for_you event.
 *
 * Also the owner's two actions on a ticket filed for them (routes in
 * handlers/repairs/repairs.c): confirm it, and correct its description or
 * category before an engineer accepts it. */
#ifndef GW_REPAIR_FILE_H
#define GW_REPAIR_FILE_H
#include "gateway/call.h"
#include "domain/repairs/repair_actions.h"

typedef struct {
    long long unit_id;
    const char *category, *description, *contact_phone, *preferred_time; /* point into c->body */
    long long photo_ids[REPAIR_MAX_PHOTOS];
    int nphotos;
    const char *content_check; /* pass, review or unchecked */
    char trace_id[128];
    long long owner_user_id; /* whom the ticket is for: the caller, or the customer of a desk filing */
    const char *channel;     /* a desk filing's channel (static or into c->body); NULL: the owner filed it */
} repair_file_req_t;

/* Body check (loop): reads the fields both filings share (Idempotency-Key
 * header, unit_id, category, description, contact_phone, preferred_time,
 * photo_ids) into new call state, with owner_user_id the caller. NULL when
 * the call has failed (400 naming the field). */
repair_file_req_t *repair_file_body_or_fail(gw_call_t *c);

/* The first step (loop) of both filing routes, after the body check. */
void repair_file_start(gw_call_t *c);

/* The channels a desk filing may name, NULL-terminated. */
extern const char *const repair_file_channels[];

/* POST /api/v1/repairs/:id/confirm (DB step, body {}): the owner confirms a
 * ticket filed for them; once (409 when already confirmed). */
void repair_file_confirm(gw_call_t *c, db_conn_t *db);
/* PATCH /api/v1/repairs/:id: the owner corrects a ticket filed for them
 * while no engineer has accepted it: {description?, category?}. The body
 * check, then the DB step. */
void repair_file_check_correct(gw_call_t *c);
void repair_file_correct(gw_call_t *c, db_conn_t *db);

#endif
