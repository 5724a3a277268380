/* repair_insert.h: the transaction part of filing a repair ticket, for every route that opens one
 * (POST /api/v1/repairs by the owner; a complaint's repair ticket opened by
 * staff). DB workers only, inside the caller's transaction; never commits. */
#ifndef GW_REPAIR_INSERT_H
#define GW_REPAIR_INSERT_H
#include "gateway/db.h"

/* The active repair category `code` of the unit's project set (its own,
 * or the defaults), the project's row share-locked until the commit (see
 * repairs.c: a first change of the project's categories cannot move its
 * tickets between this check and the insert). 1 found (*category_id), 0 no
 * such category, -1 db error; *category_id 0 and 1 returned never. The unit
 * must exist (the caller checked it). */
int repair_category_of_unit(db_conn_t *db, long long unit_id, const char *code, long long *category_id);

typedef struct {
    long long user_id;     /* the owner the ticket is for */
    long long unit_id;     /* one of theirs (the caller checked) */
    long long category_id; /* from repair_category_of_unit */
    const char *description, *contact_phone, *preferred_time; /* the last two may be NULL */
    const char *content_check; /* pass, review or unchecked */
    const char *trace_id;      /* the text check's, or NULL */
    const long long *photo_ids; /* the actor's uploads */
    int nphotos;
    long long actor_user_id; /* who filed: the owner, or staff for them */
    const char *actor_role;  /* owner, supervisor, ... (the timeline's) */
} repair_filing_t;

/* Inserts the ticket with its clocks and warranty, its number, its first
 * timeline row with the photos, and dispatches it (with its events).
 * 1 with *id; 0 when a photo could not be attached (*bad_photo; the caller
 * fails and rolls back); -1 db error. */
int repair_ticket_insert(db_conn_t *db, const repair_filing_t *f, long long *id, long long *bad_photo);

#endif
