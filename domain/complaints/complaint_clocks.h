/* complaint_clocks.h: a complaint's clocks, kept by the one service-level
 * engine (domain/sla/sla_store.h, kind "complaint"). Every call the
 * complaint code makes about clocks is here, so the routes never name the
 * engine.
 *
 * Two clocks per round: 0 "respond" (first response) and 1 "resolve"
 * (a proposed resolution), their budgets from the complaint's category for
 * its level, in business or natural time (the category's business_hours).
 * A round starts at filing and at each rejection (round = rejection_count).
 * The first public staff reply stops "respond"; a proposed resolution stops
 * "resolve"; closing stops both. A new level, category or handler syncs the
 * budgets and the next escalation. The ladder of both: the handler (or the
 * supervisors while there is none) when the clock runs out, then the
 * project's supervisors, then its project managers
 * (complaint.escalated events).
 *
 * The engine mirrors each complaint's due times into complaints.respond_due_at,
 * resolve_due_at and breached (the overdue filter reads them).
 * Every function runs inside the caller's transaction after the complaint
 * row was locked (or inserted) and returns 0, or -1 on a db error. */
#ifndef GW_COMPLAINT_CLOCKS_H
#define GW_COMPLAINT_CLOCKS_H
#include "gateway/db.h"

enum { COMPLAINT_CLOCK_RESPOND = 0, COMPLAINT_CLOCK_RESOLVE = 1 };

/* Registers the kind with the engine; at start-up. 0 or -1. */
int complaint_clocks_register(void);

/* A new round (filing, a rejection), from the complaint's row. */
int complaint_clocks_start(db_conn_t *db, long long complaint_id);
/* The first public staff reply. */
int complaint_clocks_responded(db_conn_t *db, long long complaint_id);
/* A resolution proposed. */
int complaint_clocks_resolved(db_conn_t *db, long long complaint_id);
/* Closed: every clock stops. */
int complaint_clocks_closed(db_conn_t *db, long long complaint_id);
/* The level, category or handler changed: budgets and escalations again. */
int complaint_clocks_sync(db_conn_t *db, long long complaint_id);

#endif
