/* sla_clock.c: clocks and the ladder (see the header).
 *
 * A clock runs in the segments between its pauses: [start, p0.start),
 * [p0.end, p1.start), ... and, unless the last pause is open, from the last
 * end on. Counted time is non-decreasing and continuous in the instant, so
 * "the first instant it reaches P" always exists unless an open pause (or
 * the end of the range) comes first; every position on the ladder is found
 * with the same walk. */
#include "domain/sla/sla_clock.h"

#include <stddef.h>

int sla_clock_check(const sla_clock_t *c, const char **why)
{
    const char *reason = NULL;
    if (!c)
        reason = "no clock";
    else if (c->start < 0 || c->start > SLA_TIME_MAX)
        reason = "start is out of range";
    else if (c->budget_s < 0 || c->budget_s > SLA_MAX_BUDGET_S)
        reason = "budget_s is out of range";
    else if (c->mode != SLA_NATURAL && c->mode != SLA_BUSINESS)
        reason = "unknown mode";
    else if (c->mode == SLA_BUSINESS && !c->cal)
        reason = "a business clock needs a calendar";
    else if (c->npauses < 0 || c->npauses > SLA_MAX_PAUSES || (c->npauses > 0 && !c->pauses))
        reason = "too many pauses";
    for (int i = 0; !reason && c && i < c->npauses; i++) {
        const sla_pause_t *p = &c->pauses[i];
        long long prev_end = i ? c->pauses[i - 1].end : c->start;
        if (p->start < prev_end || p->start > SLA_TIME_MAX)
            reason = "pauses must be in order, not overlapping, and not before the start";
        else if (p->end == SLA_NEVER ? i != c->npauses - 1 : p->end < p->start || p->end > SLA_TIME_MAX)
            reason = "a pause must end after it starts; only the last may be open";
    }
    if (why)
        *why = reason;
    return reason ? -1 : 0;
}

/* Clock time counted in [a, b) of one running segment (a <= b). */
static long long count(const sla_clock_t *c, long long a, long long b)
{
    return c->mode == SLA_NATURAL ? b - a : sla_calendar_between(c->cal, a, b);
}

/* The first instant >= a at which r more seconds have been counted. */
static long long advance(const sla_clock_t *c, long long a, long long r)
{
    if (c->mode == SLA_BUSINESS)
        return sla_calendar_add(c->cal, a, r);
    return a + r <= SLA_TIME_MAX ? a + r : SLA_NEVER;
}

static long long elapsed(const sla_clock_t *c, long long now)
{
    long long sum = 0, a = c->start;
    for (int i = 0; i <= c->npauses; i++) {
        long long b = i < c->npauses ? c->pauses[i].start : SLA_TIME_MAX;
        if (b > now)
            b = now;
        if (b > a)
            sum += count(c, a, b);
        if (i == c->npauses || c->pauses[i].end == SLA_NEVER || c->pauses[i].end >= now)
            break;
        a = c->pauses[i].end;
    }
    return sum;
}

static long long at(const sla_clock_t *c, long long position)
{
    long long done = 0, a = c->start;
    for (int i = 0; i < c->npauses; i++) {
        long long n = count(c, a, c->pauses[i].start);
        if (done + n >= position)
            return advance(c, a, position - done);
        done += n;
        if (c->pauses[i].end == SLA_NEVER)
            return SLA_NEVER;
        a = c->pauses[i].end;
    }
    return advance(c, a, position - done);
}

static int paused_at(const sla_clock_t *c, long long now)
{
    for (int i = 0; i < c->npauses; i++)
        if (now >= c->pauses[i].start && (c->pauses[i].end == SLA_NEVER || now < c->pauses[i].end))
            return 1;
    return 0;
}

static int has_open_pause(const sla_clock_t *c)
{
    return c->npauses > 0 && c->pauses[c->npauses - 1].end == SLA_NEVER;
}

long long sla_clock_elapsed(const sla_clock_t *c, long long now)
{
    if (sla_clock_check(c, NULL) != 0 || now < 0 || now > SLA_TIME_MAX)
        return -1;
    return elapsed(c, now);
}

long long sla_clock_at(const sla_clock_t *c, long long position)
{
    if (sla_clock_check(c, NULL) != 0 || position < 0 || position > 2 * SLA_MAX_BUDGET_S)
        return SLA_NEVER;
    return at(c, position);
}

int sla_clock_status(const sla_clock_t *c, long long now, sla_status_t *out)
{
    if (sla_clock_check(c, NULL) != 0 || now < 0 || now > SLA_TIME_MAX)
        return -1;
    out->elapsed_s = elapsed(c, now);
    out->remaining_s = c->budget_s - out->elapsed_s;
    out->due = at(c, c->budget_s);
    if (c->budget_s > 0)
        out->fraction = (double)out->elapsed_s / (double)c->budget_s;
    else
        out->fraction = now < c->start ? 0.0 : 1.0;
    if (out->due != SLA_NEVER && now > out->due)
        out->state = SLA_BREACHED;
    else if (paused_at(c, now))
        out->state = SLA_PAUSED;
    else
        out->state = SLA_RUNNING;
    return 0;
}

/* ---- the ladder ------------------------------------------------------------- */

int sla_ladder_check(const sla_ladder_t *l, const char **why)
{
    const char *reason = NULL;
    unsigned ids = 0;
    if (!l || l->nsteps < 0 || l->nsteps > SLA_MAX_STEPS || (l->nsteps > 0 && !l->steps))
        reason = "a ladder has 0 to 32 steps";
    for (int i = 0; !reason && i < l->nsteps; i++) {
        const sla_step_t *s = &l->steps[i], *prev = i ? &l->steps[i - 1] : NULL;
        if (s->id < 0 || s->id >= SLA_MAX_STEPS || (ids & SLA_STEP_BIT(s->id)))
            reason = "step ids must be unique, from 0 to 31";
        else if (s->kind == SLA_REMINDER ? s->percent < 1 || s->percent > 99
                 : s->kind == SLA_ESCALATION ? s->after_s < 0 || s->after_s > SLA_MAX_BUDGET_S
                                             : 1)
            reason = "a reminder is at 1 to 99 percent, an escalation 0 to SLA_MAX_BUDGET_S after the due time";
        else if (prev && (prev->kind > s->kind || (s->kind == SLA_REMINDER && prev->percent > s->percent) ||
                          (s->kind == SLA_ESCALATION && prev->kind == SLA_ESCALATION && prev->after_s > s->after_s)))
            reason = "steps must be in firing order: reminders by percent, then escalations by delay";
        else
            ids |= SLA_STEP_BIT(s->id);
    }
    if (why)
        *why = reason;
    return reason ? -1 : 0;
}

static long long position(const sla_clock_t *c, const sla_step_t *s)
{
    return s->kind == SLA_REMINDER ? c->budget_s * s->percent / 100 : c->budget_s + s->after_s;
}

/* A reminder not sent by the due time is never sent (see the header). */
static int lapsed(const sla_step_t *s, long long due, long long now)
{
    return s->kind == SLA_REMINDER && due != SLA_NEVER && now >= due;
}

static int ladder_inputs_ok(const sla_ladder_t *l, const sla_clock_t *c, long long now)
{
    return sla_ladder_check(l, NULL) == 0 && sla_clock_check(c, NULL) == 0 && now >= 0 && now <= SLA_TIME_MAX;
}

/* The first step from index i on that is neither fired nor lapsed; -1 when
 * none is left. */
static int live_step(const sla_ladder_t *l, unsigned fired, long long due, long long now, int i)
{
    for (; i < l->nsteps; i++)
        if (!(fired & SLA_STEP_BIT(l->steps[i].id)) && !lapsed(&l->steps[i], due, now))
            return i;
    return -1;
}

int sla_ladder_next(const sla_ladder_t *l, const sla_clock_t *c, unsigned fired, long long now, sla_next_t *out)
{
    out->kind = SLA_NEXT_NONE;
    out->index = -1;
    out->at = SLA_NEVER;
    if (!ladder_inputs_ok(l, c, now))
        return -1;
    int i = live_step(l, fired, at(c, c->budget_s), now, 0);
    if (i < 0)
        return 0;
    long long t = at(c, position(c, &l->steps[i]));
    if (t != SLA_NEVER) {
        out->kind = SLA_NEXT_AT;
        out->index = i;
        out->at = t;
    } else if (has_open_pause(c)) {
        /* Otherwise it lies beyond the engine's range, and so does the rest. */
        out->kind = SLA_NEXT_PAUSED;
        out->index = i;
    }
    return 0;
}

int sla_ladder_due(const sla_ladder_t *l, const sla_clock_t *c, unsigned fired, long long now, unsigned *due_steps)
{
    *due_steps = 0;
    if (!ladder_inputs_ok(l, c, now))
        return -1;
    long long due = at(c, c->budget_s);
    for (int i = live_step(l, fired, due, now, 0); i >= 0; i = live_step(l, fired, due, now, i + 1)) {
        long long t = at(c, position(c, &l->steps[i]));
        if (t == SLA_NEVER || t > now)
            break; /* the later steps come later still */
        *due_steps |= SLA_STEP_BIT(l->steps[i].id);
    }
    return 0;
}
