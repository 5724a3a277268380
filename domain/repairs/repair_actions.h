/* repair_actions.h: the shape every ticket action route shares (cancel,
 * reopen, rating, accept, start, resolve, decline, assign): one transaction
 * holding the conditional state change, its timeline row and whatever the
 * action adds (events, a follow-up), then 200 with the ticket's detail.
 *
 * An action not allowed in the ticket's state, or one that lost a race with
 * another transition, gets 409 CONFLICT naming the current state; a photo
 * that is not the caller's or already attached gets 422 (field photo_ids). */
#ifndef GW_REPAIR_ACTIONS_H
#define GW_REPAIR_ACTIONS_H
#include "gateway/call.h"
#include "domain/repairs/repair_state.h"
#include "domain/repairs/repair_view.h"

#define REPAIR_MAX_PHOTOS 9

/* Runs inside the transaction after the transition applied, on the step's
 * connection. Returns 0 to commit, -1 on a db error, or 1 when it failed
 * the call itself (the runner rolls the transaction back). */
typedef int (*repair_after_fn)(gw_call_t *c, db_conn_t *db, const repair_ticket_t *t, void *arg);

/* Answers the call: the detail after the commit, or the failure.
 * tr->ticket_id, tr->from and tr->from_engineer_id are taken from t. */
void repair_run_action(gw_call_t *c, db_conn_t *db, const repair_ticket_t *t, repair_transition_t *tr,
                       repair_after_fn after, void *arg);

/* 409 naming the current state: "cannot accept: the ticket is 已完成 (closed)". */
void repair_fail_state(gw_call_t *c, repair_action_t a, repair_state_t current);

/* Reads an optional photo_ids array (at most REPAIR_MAX_PHOTOS distinct
 * positive ids) into ids and their count into *n. 0, or -1 with the call
 * failed (400, or 422 for too many photos). Never blocks (body checks). */
int repair_photo_ids_or_fail(gw_call_t *c, const cJSON *body, long long ids[REPAIR_MAX_PHOTOS], int *n);

/* After a reopen (t as loaded before it): the engineer who did the work
 * gets the ticket back (repair.assigned with the new rework_count) while
 * they are still an active engineer of the project; otherwise it goes back
 * to dispatch. Inside the reopen's transaction. 0 or -1. */
int repair_reopen_handback(db_conn_t *db, const repair_ticket_t *t);

#endif
