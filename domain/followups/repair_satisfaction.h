/* repair_satisfaction.h: what a repair ticket's rating, its auto-close and
 * its follow-up's result do beyond the state change. All run inside the
 * caller's open transaction on a DB worker.
 *
 * A rating has three dimensions, 1-5 each: 响应速度 (speed), 服务态度
 * (attitude), 维修质量 (quality). It is poor when any dimension is 2 or
 * less. repair_tickets.rating_score keeps the overall figure: the mean of
 * the three, rounded half up. */
#ifndef GW_REPAIR_SATISFACTION_H
#define GW_REPAIR_SATISFACTION_H
#include "gateway/db.h"
#include "domain/repairs/repair_view.h"

typedef struct {
    int speed, attitude, quality; /* 1-5 */
    const char *comment;          /* NULL or at most 500 characters */
} repair_rating_t;

#define REPAIR_RATING_POOR_MAX 2

/* The overall figure of a rating: round-half-up mean of the three. */
int repair_rating_overall(const repair_rating_t *r);
/* Its lowest dimension. */
int repair_rating_lowest(const repair_rating_t *r);

/* After the RATE transition (t as loaded before it): stores the rating of
 * the ticket's round, then a poor one opens a follow-up (told to the
 * project's supervisors as repair.followup) and a good one may be sampled.
 * 0 or -1. */
int repair_rating_store(db_conn_t *db, const repair_ticket_t *t, const repair_rating_t *r);

/* The first reminder to rate, at the resolve (step 1 of the round), sent
 * once per round. 0 or -1. */
int repair_rating_remind(db_conn_t *db, long long ticket_id, int round, long long owner_user_id, int step);

/* Closes ticket_id as closed without rating if it is still resolved and
 * unrated repair_rating_days after its resolution: the conditional update
 * is the race's arbiter with an owner rating at the same moment (one of
 * the two changes the row, the other finds it changed). Writes the
 * timeline row (action "autoclose", actor "system"), the unrated close and
 * the sample's follow-up. 1 closed, 0 not (rated, reopened or not yet
 * due), -1 on a database error. */
int repair_autoclose(db_conn_t *db, long long ticket_id);

/* A follow-up found the owner unsatisfied: the ticket is reopened (a new
 * round, as the owner's reopen: the engineer who did the work is told, or
 * dispatch runs again) when it is resolved or closed; otherwise it is
 * already being worked on and nothing changes. actor_role: the caller's
 * role ("service", "supervisor", "admin"). 1 reopened, 0 not, -1 error. */
int repair_followup_reopen(db_conn_t *db, long long ticket_id, long long actor_user_id, const char *actor_role);

#endif
