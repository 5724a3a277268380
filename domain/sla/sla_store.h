/* sla_store.h: the stored side of the service-level clocks (docs/sla.md).
 *
 * The one place that keeps a ticket's clocks in the database and decides,
 * with the pure engine (sla_clock.h), when each next step of its ladder
 * fires. Every kind of ticket (repair, complaint, more later) keeps its clocks
 * here; the kind owns its own ticket table and writes its own notification
 * and escalation rows through its `fire` callback.
 *
 * Tables (schema/027_sla_clocks.sql):
 *   sla_clocks   one row per (kind, subject, clock, round): project, start,
 *                budget, mode (natural/business), state (running, met,
 *                stopped), the fired-step bits, and what the engine derived
 *                from them: `due_at` (NULL while an open pause holds the
 *                clock) and `next_at`, the instant the sweeper must look at
 *                it again (NULL: nothing left, or paused). Indexed on next_at.
 *   sla_pauses   the pauses of a subject's round: [started_at, ended_at),
 *                with a planned end (an agreed visit time) and a reason. A
 *                pause holds every clock of the subject that runs during it.
 *   sla_calendar_years  the business calendar, one row per year (holidays
 *                and make-up working days), seeded from
 *                config/holidays-cn.json; see sla_calendar_current().
 *
 * Subjects are named by (kind name, subject id); a kind names its clocks by
 * index into its `clocks` list (0..SLA_STORE_MAX_CLOCKS-1). A round is one
 * run of the clocks (repairs: rework_count; complaints: reopen count).
 *
 * Time: every instant is the database's NOW(3) read once per call (the
 * session is UTC), so the stored rows, the owner's own SQL and the engine
 * agree. Instants are unix milliseconds in this API.
 *
 * The recompute rule: after every call below, each touched clock's due_at
 * and next_at are derived from its stored state (start, budget, mode,
 * pauses) and its fired bits by sla_ladder_due()/sla_ladder_next(). Nothing
 * is ever "scheduled": a step already fired in the round is never sent again,
 * and a step whose instant passed while nothing swept is due at once.
 *
 * Threading and transactions: every function that takes a db_conn_t runs
 * INSIDE the caller's open transaction, on a database worker or background
 * thread (never an event loop), and never commits or rolls back. Callers
 * lock their own subject row first (UPDATE ... or SELECT ... FOR UPDATE on
 * the ticket), then call here: the store then locks the clock rows. The
 * sweeper takes the same order (the kind's `lock` callback, then the
 * clocks), so the two never wait on each other in a cycle.
 *
 * Return values: 0 done, -1 database error (db_error() says why; the caller
 * rolls back), unless said otherwise. A call about a subject with no clocks
 * (filed before the engine, or never started) does nothing and returns 0. */
#ifndef GW_SLA_STORE_H
#define GW_SLA_STORE_H
#include "domain/sla/sla_calendar.h"
#include "domain/sla/sla_clock.h"
#include "gateway/db.h"

#define SLA_STORE_MAX_KINDS 8
#define SLA_STORE_MAX_CLOCKS 4 /* clocks of one kind */
#define SLA_STORE_KIND_LEN 16  /* bytes of a kind's or a clock's name, with the NUL */
#define SLA_PAUSE_REASON_MAX 200 /* characters of a pause's reason */

/* What the sweeper hands a kind's fire callback: one step of one clock,
 * due now. Valid during the call only. */
typedef struct {
    const char *kind;         /* "repair" */
    long long subject_id;     /* the ticket */
    long long project_id;
    int clock;                /* index into the kind's clocks */
    const char *clock_name;   /* "accept" */
    int round;
    const sla_step_t *step;   /* the ladder's step: id, kind, level */
    long long started_at_ms;  /* the round's start */
    long long due_at_ms;      /* the clock's due time (steps are only due with one) */
    long long now_ms;
} sla_fire_t;

enum {
    SLA_FIRE_DONE = 1,  /* sent (or nobody to tell, on purpose): record the step as fired */
    SLA_FIRE_LATER = 0, /* cannot be sent yet (e.g. nobody holds the level): stays due;
                         * the next sla_store_sync() of the subject looks at it again */
    SLA_FIRE_ERROR = -1 /* database error: the sweeper rolls the subject back */
};

/* A kind of ticket. Registered once at start-up, before the sweeper runs;
 * the registry keeps the pointer: the struct, its names and its ladders
 * must live as long as the process (static storage). */
typedef struct {
    const char *name;                                /* "repair", "complaint": sla_clocks.kind */
    int nclocks;                                     /* 1..SLA_STORE_MAX_CLOCKS */
    const char *clocks[SLA_STORE_MAX_CLOCKS];        /* "accept", "arrive", "resolve" */
    sla_ladder_t ladders[SLA_STORE_MAX_CLOCKS];      /* each clock's ladder (may have 0 steps) */
    /* Locks the subject's row FOR UPDATE inside the sweeper's transaction:
     * 1 found (and still a subject whose clocks may fire), 0 gone, -1 error.
     * Called before the clock rows are read. */
    int (*lock)(db_conn_t *db, long long subject_id);
    /* Writes the step's notification/escalation rows in the sweeper's
     * transaction; returns SLA_FIRE_*. Must not commit. Called in ladder
     * order for the steps due, at most once per (clock, round, step). */
    int (*fire)(db_conn_t *db, const sla_fire_t *f);
    /* Optional: after the store changed the clocks of a subject (any call
     * below, or a sweep), in the same transaction: lets the kind mirror the
     * clocks into its own columns (repairs: the *_due_at columns, the
     * overdue mark). NULL when the kind reads sla_clocks itself. */
    int (*mirror)(db_conn_t *db, long long subject_id);
} sla_kind_t;

/* 0, or -1 when the registry is full, the name is taken or the kind is
 * malformed (a bad ladder: sla_ladder_check). Before background_start(). */
int sla_kind_register(const sla_kind_t *k);
/* The registered kind, or NULL. */
const sla_kind_t *sla_kind_find(const char *name);

/* One clock's budget for a new round. */
typedef struct {
    long long budget_s; /* 0..SLA_MAX_BUDGET_S */
    sla_mode_t mode;    /* SLA_NATURAL, or SLA_BUSINESS (the category's business_hours) */
} sla_budget_t;

/* Starts round `round` of every clock of the subject, from now (filing,
 * reopen): budgets[i] for clock i (nclocks of the kind). The clocks of
 * earlier rounds are stopped; the new round has no pauses and nothing fired,
 * so every step comes again. Starting a round that exists already is a no-op
 * (returns 0). `running_mask`: bit i set = clock i runs from now; the others
 * are created stopped ('met' at the start: a state with nothing to measure). */
int sla_store_start_round(db_conn_t *db, const char *kind, long long subject_id, long long project_id, int round,
                          const sla_budget_t *budgets, unsigned running_mask);

/* The clocks of the subject's current round that run from now on: bit i =
 * clock i. A clock leaving the mask stops as met (its stop instant kept: it
 * ends the count), a clock entering it runs again with its start, budget and
 * fired bits unchanged (repairs: a declined ticket's accept clock). Then
 * syncs. The usual call after a state change of a kind whose clocks follow
 * its states. */
int sla_store_set_running(db_conn_t *db, const char *kind, long long subject_id, unsigned running_mask);

/* One clock met (its step was done): stops it. Same as set_running without
 * that clock. */
int sla_store_stop(db_conn_t *db, const char *kind, long long subject_id, int clock);
/* Every clock of the subject stopped (closed, cancelled); no more steps, and
 * an open pause is closed now. */
int sla_store_stop_all(db_conn_t *db, const char *kind, long long subject_id);

/* Pauses every clock of the subject's current round from now: it waits on
 * the owner. planned_end_ms > now: the pause ends then by itself (an agreed
 * visit time; the due time moves by its length at once); 0: open until
 * sla_store_resume(). reason: NULL or text (cut to SLA_PAUSE_REASON_MAX
 * characters). actor_user_id: 0 = the system.
 * Returns 1 paused, 0 already paused or no running clock (nothing written),
 * -1 error. */
int sla_store_pause(db_conn_t *db, const char *kind, long long subject_id, long long planned_end_ms,
                    const char *reason, long long actor_user_id);
/* Ends the subject's pause now (by hand, or when work starts). A pause with
 * a planned end still ahead ends now too. Returns 1 resumed, 0 not paused,
 * -1 error. */
int sla_store_resume(db_conn_t *db, const char *kind, long long subject_id);

/* A clock's budget or mode changed (category or level changed): the
 * current round keeps its start, pauses and fired steps; due and next are
 * recomputed. */
int sla_store_set_budget(db_conn_t *db, const char *kind, long long subject_id, int clock, const sla_budget_t *b);

/* Recomputes due_at and next_at of the subject's clocks from the stored
 * state (after any other change: reassignment, a step that could not be sent
 * becoming sendable, a calendar change). Calls the kind's mirror. */
int sla_store_sync(db_conn_t *db, const char *kind, long long subject_id);

/* What the store holds about one clock of the subject's current round. */
typedef struct {
    int exists;            /* 0: no clock (all fields below 0) */
    int round;
    int running;           /* 1 running (paused or not), 0 met/stopped */
    int paused;            /* an open or planned pause holds it now */
    int breached;          /* now past due (or stopped after it) */
    long long started_at_ms;
    long long due_at_ms;   /* 0 while an open pause holds it */
    long long next_at_ms;  /* 0: no step left, or paused */
    long long budget_s;
    sla_mode_t mode;
    unsigned fired;        /* SLA_STEP_BIT(step id) of the steps fired this round */
} sla_clock_info_t;

/* Fills out[0..nclocks-1] for the subject's current round; 0 or -1. */
int sla_store_info(db_conn_t *db, const char *kind, long long subject_id, sla_clock_info_t *out, int nclocks);

/* Whether the subject's clocks are paused now: 1 yes (with *planned_end_ms,
 * 0 when open), 0 no, -1 error. */
int sla_store_paused(db_conn_t *db, const char *kind, long long subject_id, long long *planned_end_ms);

/* ---- the sweeper (jobs/sla_sweeper.c) ----
 * Fires the steps due on clocks whose next_at has passed, one transaction
 * per subject: the kind's lock, the clock rows FOR UPDATE, sla_ladder_due,
 * the kind's fire in ladder order, the fired bits, the new due/next, the
 * kind's mirror. Pauses whose planned end has passed are closed. Safe with
 * several gateway processes: the subject lock serialises them and a fired
 * bit is recorded in the transaction that fires it. Returns the number of
 * steps fired, or -1 on a database error. At most `limit` subjects. */
int sla_store_sweep(db_conn_t *db, int limit);

/* ---- the business calendar ----
 * The calendar every business clock counts with: the years stored in
 * sla_calendar_years on the config/holidays-cn.json weekly pattern. Each
 * gateway keeps one parsed copy and reloads it when the stored version
 * (sla_calendar_version) changes: the sweeper checks on every tick, and an
 * admin change reloads at once in the process that made it.
 *
 * sla_calendar_current() returns the copy in use, with a reference: the
 * caller releases it with sla_calendar_release(). Never NULL once
 * sla_calendar_init() succeeded (an empty calendar: the weekly pattern). */
int sla_calendar_init(const char *path); /* the shipped document; 0 or -1 (logged) */
const sla_calendar_t *sla_calendar_current(void);
void sla_calendar_release(const sla_calendar_t *cal);
/* Reloads from the database when its version changed: 1 reloaded, 0
 * unchanged, -1 error. Also seeds the table from the shipped document on
 * the first run against an empty table. */
int sla_calendar_refresh(db_conn_t *db);
/* The version of the copy in use (0 before the first load). */
long long sla_calendar_loaded_version(void);
void sla_calendar_shutdown(void);
/* A calendar document (sla_calendar.h) with the shipped weekly pattern and
 * hours and `years` as its years array; takes ownership of `years` (freed
 * on failure). The caller owns the result (cJSON_Delete); NULL when out of
 * memory. Used to check an administrator's year before storing it. */
cJSON *sla_calendar_document(cJSON *years);
/* The shipped document's entry for that year (borrowed from the document
 * loaded by sla_calendar_init; valid until sla_calendar_shutdown), or NULL. */
cJSON *sla_calendar_shipped_year(int year);

#endif
