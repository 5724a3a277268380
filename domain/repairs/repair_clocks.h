/* repair_clocks.h: a repair ticket's three clocks (accept, arrive, resolve)
 * on the service-level engine (domain/sla/sla_store.h, docs/sla.md).
 *
 * The kind "repair": clock i is repair_clock_t i; a round is the ticket's
 * rework_count; the ladder comes from the configuration (reminder step 0 at
 * repair_reminder_percent, escalations 1 engineer, 2 supervisors, 3 project
 * managers at repair_escalate_*_after_s; a step at 0 % or -1 is left out).
 * Its fire callback claims the step in repair_escalations (unique per ticket,
 * clock, round, kind and step) and writes repair.reminder / repair.escalated;
 * its mirror writes the engine's due times into repair_tickets.*_due_at
 * (NULL while an open pause holds a clock) and keeps the overdue mark
 * (repair_overdue) true, in the same transaction.
 *
 * Every function runs inside the caller's transaction, after the ticket's
 * row is locked or updated (the lock order of sla_store.h). */
#ifndef GW_REPAIR_CLOCKS_H
#define GW_REPAIR_CLOCKS_H
#include "domain/repairs/repair_state.h"
#include "gateway/db.h"

#define REPAIR_SLA_KIND "repair"

/* Registers the kind with the store (at start-up, after the configuration
 * is loaded). 0 or -1. */
int repair_clocks_register(void);

/* The clocks that run in state s, as a mask of repair_clock_t bits. */
unsigned repair_clocks_running_in(repair_state_t s);

/* Starts the ticket's round (its rework_count) from now: filing and reopen.
 * Budgets and mode from its category (accept/arrive/resolve_within_s,
 * business_hours); the clocks of its current state run. 0 or -1. */
int repair_clocks_start(db_conn_t *db, long long ticket_id);

/* After a transition to state s (not a reopen): the clocks of s run, the
 * others are met, and due/next are recomputed (a reassignment re-derives
 * the next step). 0 or -1. */
int repair_clocks_follow(db_conn_t *db, long long ticket_id, repair_state_t s);

#endif
