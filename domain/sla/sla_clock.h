/* sla_clock.h: service-level clocks and their escalation ladder, shared by
 * repair tickets and complaints. Pure: no I/O, no globals, no allocation;
 * the same inputs always give the same answer. See docs/sla.md.
 *
 * Times are unix seconds (UTC). A clock counts "clock time": every second in
 * natural mode; in business mode only the working time of its calendar
 * (sla_calendar.h, China time UTC+8). Paused time never counts.
 *
 * A clock is due at the first instant its counted time reaches the budget
 * (a budget that runs out at the close of a working day is due at the
 * close). It is breached once now is past that instant: an action at the due
 * instant itself is on time. While an open pause holds a clock whose budget
 * is not used up, it has no due time (the pause's end is unknown);
 * `remaining_s` says what is left.
 *
 * Ownership: a clock borrows its calendar and its pauses; both must outlive
 * the calls that use the clock. The caller keeps them (rows of its ticket). */
#ifndef GW_SLA_CLOCK_H
#define GW_SLA_CLOCK_H
#include "domain/sla/sla_calendar.h"

#define SLA_MAX_BUDGET_S (400LL * SLA_DAY_S) /* a budget, and an escalation's delay */
#define SLA_MAX_PAUSES 64
#define SLA_MAX_STEPS 32 /* step ids are 0..31: bits of a fired mask */

typedef enum { SLA_NATURAL = 0, SLA_BUSINESS } sla_mode_t;

/* [start, end): the clock stands still. end == SLA_NEVER: still paused
 * (an open pause; only the last one may be open). A closed pause may end in
 * the future (an agreed visit time): the due time moves by its length. */
typedef struct {
    long long start, end;
} sla_pause_t;

typedef struct {
    long long start;             /* filing, or the last reopen */
    long long budget_s;          /* 0 .. SLA_MAX_BUDGET_S; 0 = due at start */
    sla_mode_t mode;
    const sla_calendar_t *cal;   /* business mode: required; natural: ignored */
    const sla_pause_t *pauses;   /* ascending, not overlapping, none before start */
    int npauses;                 /* 0 .. SLA_MAX_PAUSES */
} sla_clock_t;

/* 0 when the clock is well formed; -1 with a reason otherwise. Every function
 * below checks its clock the same way and refuses a bad one. */
int sla_clock_check(const sla_clock_t *c, const char **why);

typedef enum {
    SLA_RUNNING = 0, /* before the due time, counting (or waiting for working hours) */
    SLA_PAUSED,      /* now inside a pause, before the due time */
    SLA_BREACHED,    /* now past the due time (paused or not) */
} sla_state_t;

typedef struct {
    sla_state_t state;
    long long elapsed_s;   /* clock time counted in [start, now) */
    long long remaining_s; /* budget_s - elapsed_s: negative once over (in clock time) */
    long long due;         /* the due instant; SLA_NEVER while an open pause holds it */
    double fraction;       /* elapsed_s / budget_s (above 1 once over); budget 0: 0 before start, else 1 */
} sla_status_t;

/* 0, or -1 for a bad clock or now out of range. */
int sla_clock_status(const sla_clock_t *c, long long now, sla_status_t *out);
/* Clock time counted in [start, now): -1 for a bad clock. */
long long sla_clock_elapsed(const sla_clock_t *c, long long now);
/* The first instant at which the clock has counted `position` seconds;
 * SLA_NEVER when an open pause comes first (or out of range). The due time
 * is sla_clock_at(c, c->budget_s). */
long long sla_clock_at(const sla_clock_t *c, long long position);

/* ---- the ladder ------------------------------------------------------------
 * Steps, each at a position on the clock:
 *   SLA_REMINDER    at `percent` % of the budget (rounded down to a second);
 *   SLA_ESCALATION  `after_s` of clock time after the due time.
 * Escalation delays count like the clock: a paused clock does not escalate,
 * and a business clock escalates in working time only.
 *
 * A round is one run of the clock: the caller numbers them (repairs: the
 * ticket's rework_count) and records each step it fires under (round, id).
 * Reopening starts a new round: a new start, no pauses, nothing fired, so
 * every step comes again. Everything else (reassignment, pause, resume, a
 * budget changed with the category or level) only changes the clock that is
 * passed in: the answer is recomputed from it and the fired set, so a step
 * already fired in the round never comes back, and a step whose instant has
 * passed unfired is due now.
 *
 * One exception, by design: a reminder warns before the due time. Once the
 * clock is due (now >= due) a reminder that has not fired lapses: it is
 * never sent late; the escalations cover the breach. */
typedef enum { SLA_REMINDER = 0, SLA_ESCALATION } sla_step_kind_t;

typedef struct {
    int id;               /* 0..31, unique in the ladder: the key the caller records */
    sla_step_kind_t kind;
    int percent;          /* reminder: 1..99 */
    long long after_s;    /* escalation: 0..SLA_MAX_BUDGET_S */
    int level;            /* who is told: the caller's recipient class (engine ignores it) */
} sla_step_t;

/* Steps in firing order: reminders by ascending percent, then escalations by
 * ascending after_s. That order is the order of their instants for every
 * budget and every pause. */
typedef struct {
    const sla_step_t *steps;
    int nsteps; /* 0..SLA_MAX_STEPS */
} sla_ladder_t;

int sla_ladder_check(const sla_ladder_t *l, const char **why);

#define SLA_STEP_BIT(id) (1u << (id))

typedef enum {
    SLA_NEXT_NONE = 0,   /* nothing left in this round (all fired or lapsed) */
    SLA_NEXT_AT = 1,     /* steps[index] fires at `at` (at <= now: due now) */
    SLA_NEXT_PAUSED = 2, /* steps[index] is next, but an open pause holds the clock first */
} sla_next_kind_t;

typedef struct {
    sla_next_kind_t kind;
    int index;    /* into the ladder; -1 with SLA_NEXT_NONE */
    long long at; /* SLA_NEVER unless SLA_NEXT_AT */
} sla_next_t;

/* The next step of the round: the first in ladder order whose id is not in
 * `fired` (bits SLA_STEP_BIT(id)) and that has not lapsed at `now`.
 * To look past steps due now that the caller cannot send yet (nobody holds
 * the level), pass their bits in `fired` too. 0, or -1 on bad input. */
int sla_ladder_next(const sla_ladder_t *l, const sla_clock_t *c, unsigned fired, long long now, sla_next_t *out);
/* The steps due at `now` and not fired, as bits of their ids in *due
 * (0 = none). Fire them in ladder order. 0, or -1 on bad input. */
int sla_ladder_due(const sla_ladder_t *l, const sla_clock_t *c, unsigned fired, long long now, unsigned *due);

#endif
