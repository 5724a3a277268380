#include "domain/followups/repair_satisfaction.h"

#include <cjson/cJSON.h>
#include <stdio.h>

#include "domain/followups/followups.h"
#include "domain/repairs/repair_actions.h"
#include "domain/repairs/repair_events.h"
#include "domain/repairs/repair_state.h"
#include "domain/repairs/repair_view.h"
#include "domain/service/contact_limit.h"
#include "gateway/config.h"

int repair_rating_overall(const repair_rating_t *r)
{
    return (r->speed + r->attitude + r->quality + 1) / 3;
}

int repair_rating_lowest(const repair_rating_t *r)
{
    int low = r->speed < r->attitude ? r->speed : r->attitude;
    return r->quality < low ? r->quality : low;
}

/* The poor rating's follow-up, told to the project's supervisors. It
 * counts as a contact when the limit allows, so a survey does not follow on
 * its heels; it is never skipped for one. */
static int open_poor(db_conn_t *db, const repair_ticket_t *t, const repair_rating_t *r)
{
    int lowest = repair_rating_lowest(r);
    long long id =
        followup_open(db, "repair", t->id, t->rework_count, t->project_id, t->user_id, FOLLOWUP_POOR_RATING, lowest);
    if (id <= 0)
        return id < 0 ? -1 : 0;
    if (owner_contact_claim(db, t->user_id, t->project_id, "followup", id) < 0)
        return -1;
    cJSON *extra = cJSON_CreateObject();
    if (!extra)
        return -1;
    cJSON_AddNumberToObject(extra, "followup_id", (double)id);
    cJSON_AddNumberToObject(extra, "score", lowest);
    cJSON_AddNumberToObject(extra, "speed", r->speed);
    cJSON_AddNumberToObject(extra, "attitude", r->attitude);
    cJSON_AddNumberToObject(extra, "quality", r->quality);
    cJSON_AddStringToObject(extra, "comment", r->comment ? r->comment : "");
    int n = repair_event_to_staff(db, "repair.followup", REPAIR_TO_SUPERVISORS, t->project_id, t->id, extra);
    cJSON_Delete(extra);
    return n < 0 ? -1 : 0;
}

int repair_rating_store(db_conn_t *db, const repair_ticket_t *t, const repair_rating_t *r)
{
    if (db_exec(db,
                "INSERT INTO repair_ratings (ticket_id, round, project_id, engineer_id, speed, attitude, quality,"
                " comment) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                DB_ARGS(DB_INT(t->id), DB_INT(t->rework_count), DB_INT(t->project_id),
                        t->engineer_id ? DB_INT(t->engineer_id) : DB_NULL, DB_INT(r->speed), DB_INT(r->attitude),
                        DB_INT(r->quality), DB_STR(r->comment))) != 0)
        return -1;
    if (db_exec(db,
                "UPDATE repair_tickets SET rating_score = ?, rating_comment = ?, rated_at = NOW(3),"
                " rated_engineer_id = engineer_id WHERE id = ?",
                DB_ARGS(DB_INT(repair_rating_overall(r)), DB_STR(r->comment), DB_INT(t->id))) != 0)
        return -1;
    if (repair_rating_lowest(r) <= REPAIR_RATING_POOR_MAX)
        return open_poor(db, t, r);
    return followup_sample(db, "repair", t->id, t->rework_count, t->project_id, t->user_id) < 0 ? -1 : 0;
}

int repair_rating_remind(db_conn_t *db, long long ticket_id, int round, long long owner_user_id, int step)
{
    if (db_exec(db, "INSERT IGNORE INTO repair_rating_reminders (ticket_id, round, step) VALUES (?, ?, ?)",
                DB_ARGS(DB_INT(ticket_id), DB_INT(round), DB_INT(step))) != 0)
        return -1;
    if (db_affected_rows(db) != 1)
        return 0; /* this round's reminder of this step went out already */
    cJSON *extra = cJSON_CreateObject();
    if (!extra)
        return -1;
    cJSON_AddNumberToObject(extra, "step", step);
    cJSON_AddNumberToObject(extra, "rating_days", gw_cfg->repair_rating_days);
    int rc = repair_event(db, "repair.rate_reminder", owner_user_id, ticket_id, extra);
    cJSON_Delete(extra);
    return rc;
}

#define SQL_TICKET                                                                                                     \
    "SELECT id, user_id, project_id, COALESCE(engineer_id, 0) AS engineer_id, category_id, state, rework_count"        \
    " FROM repair_tickets WHERE id = ? FOR UPDATE"

/* The ticket's row, locked by its primary key (the first lock a rating or
 * a reopen takes too): 1 found (t filled), 0 gone, or locked by another
 * transaction when `skip_locked`; -1 error. */
static int lock_ticket(db_conn_t *db, long long id, repair_ticket_t *t, int skip_locked)
{
    db_rows_t *r = db_query(db, skip_locked ? SQL_TICKET " SKIP LOCKED" : SQL_TICKET, DB_ARGS(DB_INT(id)));
    if (!r)
        return -1;
    int found = r->nrows == 1;
    if (found) {
        *t = (repair_ticket_t){.id = id,
                               .user_id = db_get_int(r, 0, "user_id"),
                               .project_id = db_get_int(r, 0, "project_id"),
                               .engineer_id = db_get_int(r, 0, "engineer_id"),
                               .category_id = db_get_int(r, 0, "category_id"),
                               .rework_count = (int)db_get_int(r, 0, "rework_count")};
        if (repair_state_parse(db_get(r, 0, "state"), &t->state) != 0)
            found = 0;
    }
    db_rows_free(r);
    return found;
}

int repair_autoclose(db_conn_t *db, long long ticket_id)
{
    repair_ticket_t t;
    /* A ticket locked now is being rated or changed: left to that change,
     * and to the next sweep if it is still unrated. */
    int rc = lock_ticket(db, ticket_id, &t, 1);
    if (rc <= 0)
        return rc;
    if (db_exec(db,
                "UPDATE repair_tickets SET state = 'closed', closed_at = NOW(3)"
                " WHERE id = ? AND state = 'resolved' AND resolved_at <= NOW(3) - INTERVAL ? DAY",
                DB_ARGS(DB_INT(ticket_id), DB_INT(gw_cfg->repair_rating_days))) != 0)
        return -1;
    if (db_affected_rows(db) != 1)
        return 0;
    if (db_exec(db,
                "INSERT INTO repair_unrated_closes (ticket_id, round, project_id, engineer_id, resolved_at)"
                " SELECT id, rework_count, project_id, engineer_id, resolved_at FROM repair_tickets WHERE id = ?",
                DB_ARGS(DB_INT(ticket_id))) != 0)
        return -1;
    char note[96];
    snprintf(note, sizeof(note), "超过%d天未评价，系统自动关闭", gw_cfg->repair_rating_days);
    if (repair_timeline_add(db, ticket_id, "autoclose", "resolved", "closed", 0, "system", note, NULL, 0, 0, NULL) <= 0)
        return -1;
    if (followup_sample(db, "repair", ticket_id, t.rework_count, t.project_id, t.user_id) < 0 ||
        repair_view_store(db, ticket_id) != 0)
        return -1;
    return 1;
}

int repair_followup_reopen(db_conn_t *db, long long ticket_id, long long actor_user_id, const char *actor_role)
{
    repair_ticket_t t;
    int rc = lock_ticket(db, ticket_id, &t, 0);
    if (rc <= 0)
        return rc;
    if (t.state != RS_RESOLVED && t.state != RS_CLOSED)
        return 0;
    repair_transition_t tr = {.ticket_id = t.id,
                              .action = RA_REOPEN,
                              .from = t.state,
                              .from_engineer_id = t.engineer_id,
                              .actor_user_id = actor_user_id,
                              .actor_role = actor_role,
                              .note = "回访不满意，重新处理"};
    rc = repair_apply_transition(db, &tr, NULL);
    if (rc != REPAIR_TR_APPLIED)
        return -1; /* the row is locked: nothing else could have changed it */
    return repair_reopen_handback(db, &t) != 0 || repair_view_store(db, t.id) != 0 ? -1 : 1;
}
