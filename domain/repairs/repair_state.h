/* repair_state.h: the repair ticket's states, the transitions between them
 * and the one function that applies a transition (with its timeline row).
 *
 *   submitted -> dispatched -> accepted -> in_progress -> resolved -> closed
 *   cancelled: by the owner from submitted, dispatched or accepted
 *   reopen:    resolved -> dispatched (rework_count + 1, clocks restart)
 *   decline:   dispatched/accepted -> submitted (then dispatch runs again)
 *   assign:    submitted/dispatched/accepted -> dispatched (a supervisor's choice)
 *   unassign:  dispatched/accepted/in_progress -> submitted (the engineer lost the
 *              engineer role in the ticket's project; dispatch runs again)
 *
 * The pure part (names, labels, which action is allowed from which state,
 * which clock runs in which state) has no I/O and is unit-tested. */
#ifndef GW_REPAIR_STATE_H
#define GW_REPAIR_STATE_H
#include "gateway/db.h"

typedef enum {
    RS_SUBMITTED = 0,
    RS_DISPATCHED,
    RS_ACCEPTED,
    RS_IN_PROGRESS,
    RS_RESOLVED,
    RS_CLOSED,
    RS_CANCELLED,
    RS__COUNT
} repair_state_t;

typedef enum {
    RA_DISPATCH = 0, /* the system picked an engineer */
    RA_ASSIGN,       /* a supervisor picked one */
    RA_ACCEPT,
    RA_DECLINE,
    RA_START,
    RA_RESOLVE,
    RA_REOPEN,
    RA_CANCEL,
    RA_RATE,
    RA_UNASSIGN, /* the engineer no longer holds the role: back to dispatch */
    RA__COUNT
} repair_action_t;

typedef enum { RC_ACCEPT = 0, RC_ARRIVE, RC_RESOLVE, RC__COUNT } repair_clock_t;

/* Every state's name, in lifecycle order, then NULL (for query_enum_or_fail). */
extern const char *const repair_state_names[RS__COUNT + 1];
const char *repair_state_name(repair_state_t s);  /* "in_progress" */
const char *repair_state_label(repair_state_t s); /* "处理中" */
/* 0 and *out on a known name, -1 otherwise. */
int repair_state_parse(const char *name, repair_state_t *out);
const char *repair_action_name(repair_action_t a);
/* 0 with *to when the action is allowed from `from`; -1 otherwise. */
int repair_next_state(repair_action_t a, repair_state_t from, repair_state_t *to);
/* Whether the owner may still cancel (work has not started). */
int repair_state_cancellable(repair_state_t s);

const char *repair_clock_name(repair_clock_t k);  /* "accept" */
const char *repair_clock_label(repair_clock_t k); /* "响应" */
/* Whether the clock is still running in state s (it stops at accept, start
 * and resolve respectively, and on cancel/close). */
int repair_clock_running(repair_clock_t k, repair_state_t s);

/* One transition, applied with a conditional UPDATE on the expected state
 * and written as one timeline row, inside the caller's transaction. */
typedef struct {
    long long ticket_id;
    repair_action_t action;
    repair_state_t from;        /* the state the caller saw; the update is conditional on it */
    long long from_engineer_id; /* and the engineer it saw (0 = none) */
    long long actor_user_id;    /* 0 = the system */
    const char *actor_role;     /* "owner", "engineer", "supervisor", "admin" or "system" */
    const char *note;           /* NULL or text for the timeline */
    long long engineer_id;      /* RA_DISPATCH / RA_ASSIGN: the engineer */
    const long long *photo_ids; /* uploads to attach to the timeline row */
    int nphotos;
    long long photo_owner_id; /* whose uploads they must be */
} repair_transition_t;

enum {
    REPAIR_TR_APPLIED = 1,
    REPAIR_TR_LOST = 0, /* the ticket changed meanwhile (state or engineer): nothing written */
    REPAIR_TR_DB_ERROR = -1,
    REPAIR_TR_BAD_PHOTO = -2, /* a photo is not the owner's or already attached; *bad_photo names it */
};
/* Returns one of REPAIR_TR_*. On anything but APPLIED the caller rolls back. */
int repair_apply_transition(db_conn_t *db, const repair_transition_t *tr, long long *bad_photo);

/* Marks the ticket overdue for the staff's overdue list (repair_overdue,
 * schema 022) if a clock that runs in its state is past due now, reading
 * the ticket's row under a shared lock before writing the mark (the order a
 * transition takes them). 1 marked, 0 not (on time, gone, or marked
 * already), -1 on a db error. The repair sweeper calls it as clocks run
 * out; transitions keep the mark themselves. */
int repair_overdue_mark(db_conn_t *db, long long ticket_id);
/* The mark made true now, either way (after a clock's due time moved: a
 * pause, a resume, a recomputation): removed unless a running clock is past
 * due, added if one is. 0 or -1. */
int repair_overdue_refresh(db_conn_t *db, long long ticket_id);

/* Writes a timeline row and attaches photos (also used for the first row,
 * "submit", which has no from state). Returns the row id, 0 for a bad photo
 * (*bad_photo set), -1 on a db error. */
long long repair_timeline_add(db_conn_t *db, long long ticket_id, const char *action, const char *from_state,
                              const char *to_state, long long actor_user_id, const char *actor_role, const char *note,
                              const long long *photo_ids, int nphotos, long long photo_owner_id, long long *bad_photo);

#endif
