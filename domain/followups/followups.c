#include "domain/followups/followups.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "domain/repairs/repair_events.h"
#include "domain/service/contact_limit.h"
#include "gateway/events.h"
#include "gateway/config.h"

/* The least-loaded service member of the project; none leaves the task in
 * the pool. Two tasks opened at once may pick the same member: the spread
 * evens out, and any member of the project may take any task. */
static const char *SQL_ASSIGNEE =
    "SELECT r.user_id AS user_id FROM staff_roles r JOIN users u ON u.id = r.user_id AND u.disabled = 0"
    " WHERE r.role = 'service' AND r.project_id = ?"
    " ORDER BY (SELECT COUNT(*) FROM followups f WHERE f.assignee_user_id = r.user_id AND f.status = 'open'),"
    " r.user_id LIMIT 1";

static const char *SQL_OPEN =
    "INSERT INTO followups (kind, subject_id, round, project_id, owner_user_id, reason, score, assignee_user_id,"
    " due_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NOW(3) + INTERVAL ? HOUR)";

/* The owner's users row, locked first: every opening for one owner (a
 * rating, the sweeper's auto-close, a complaint) takes it before touching
 * followups or owner_contacts, so they queue in one order and never
 * deadlock on those tables' index gaps. 1 locked, 0 no such user, -1. */
static int lock_owner(db_conn_t *db, long long owner_user_id)
{
    long long one;
    return db_query_int(db, &one, "SELECT 1 FROM users WHERE id = ? FOR UPDATE", DB_ARGS(DB_INT(owner_user_id)));
}

long long followup_open(db_conn_t *db, const char *kind, long long subject_id, int round, long long project_id,
                        long long owner_user_id, const char *reason, int score)
{
    long long assignee = 0, existing = 0;
    if (lock_owner(db, owner_user_id) < 0)
        return -1;
    /* One per subject and round (the unique key backs it up). */
    int rc = db_query_int(db, &existing, "SELECT id FROM followups WHERE kind = ? AND subject_id = ? AND round = ?",
                          DB_ARGS(DB_STR(kind), DB_INT(subject_id), DB_INT(round)));
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    if (db_query_int(db, &assignee, SQL_ASSIGNEE, DB_ARGS(DB_INT(project_id))) < 0)
        return -1;
    if (db_exec(db, SQL_OPEN,
                DB_ARGS(DB_STR(kind), DB_INT(subject_id), DB_INT(round), DB_INT(project_id), DB_INT(owner_user_id),
                        DB_STR(reason), score > 0 ? DB_INT(score) : DB_NULL, assignee ? DB_INT(assignee) : DB_NULL,
                        DB_INT(gw_cfg->followup_due_hours))) != 0)
        return -1;
    return (long long)db_insert_id(db);
}

int followup_sampled(long long seed, const char *kind, long long subject_id, int percent)
{
    char key[96];
    snprintf(key, sizeof(key), "%lld:%s:%lld", seed, kind, subject_id);
    uint64_t h = 14695981039346656037ULL;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    return (int)(h % 100) < percent;
}

long long followup_sample(db_conn_t *db, const char *kind, long long subject_id, int round, long long project_id,
                          long long owner_user_id)
{
    if (!followup_sampled(gw_cfg->followup_sample_seed, kind, subject_id, gw_cfg->followup_sample_percent))
        return 0;
    /* Asked too recently: skipped before anything is written (the owner's
     * row locked first, as followup_open does). */
    if (lock_owner(db, owner_user_id) < 0)
        return -1;
    long long last = owner_contact_last(db, owner_user_id);
    if (last < 0)
        return -1;
    if (last > 0 && gw_cfg->owner_contact_min_days > 0 &&
        last > (long long)time(NULL) - (long long)gw_cfg->owner_contact_min_days * 86400)
        return 0;
    long long id = followup_open(db, kind, subject_id, round, project_id, owner_user_id, FOLLOWUP_SAMPLE, 0);
    if (id <= 0)
        return id;
    int claimed = owner_contact_claim(db, owner_user_id, project_id, "followup", id);
    if (claimed < 0)
        return -1;
    if (claimed == 0) {
        /* Asked too recently: this subject is not followed up. */
        if (db_exec(db, "DELETE FROM followups WHERE id = ?", DB_ARGS(DB_INT(id))) != 0)
            return -1;
        return 0;
    }
    return id;
}

cJSON *followup_payload(long long followup_id, const char *kind, long long subject_id, long long project_id)
{
    cJSON *p = cJSON_CreateObject();
    if (!p)
        return NULL;
    if (!cJSON_AddNumberToObject(p, "followup_id", (double)followup_id) || !cJSON_AddStringToObject(p, "kind", kind) ||
        !cJSON_AddNumberToObject(p, "subject_id", (double)subject_id) ||
        !cJSON_AddNumberToObject(p, "project_id", (double)project_id)) {
        cJSON_Delete(p);
        return NULL;
    }
    return p;
}

int followup_notify(db_conn_t *db, const char *kind, long long user_id, long long followup_id, const char *subject_kind,
                    long long subject_id, long long project_id, const cJSON *extra)
{
    cJSON *p = followup_payload(followup_id, subject_kind, subject_id, project_id);
    if (!p)
        return -1;
    for (const cJSON *it = extra ? extra->child : NULL; it; it = it->next)
        cJSON_AddItemToObject(p, it->string, cJSON_Duplicate(it, 1));
    int rc = !strcmp(subject_kind, "repair")
                 ? repair_event(db, kind, user_id, subject_id, p)
                 : events_emit_project(db, kind, user_id, subject_kind, subject_id, project_id, p);
    cJSON_Delete(p);
    return rc;
}

int followup_notify_supervisors(db_conn_t *db, const char *kind, long long followup_id, const char *subject_kind,
                                long long subject_id, long long project_id, const cJSON *extra)
{
    db_rows_t *r = db_query(db,
                            "SELECT r.user_id AS user_id FROM staff_roles r JOIN users u ON u.id = r.user_id"
                            " AND u.disabled = 0 WHERE r.role = 'supervisor' AND r.project_id = ? ORDER BY r.user_id",
                            DB_ARGS(DB_INT(project_id)));
    if (!r)
        return -1;
    int n = 0;
    for (int i = 0; i < r->nrows; i++) {
        if (followup_notify(db, kind, db_get_int(r, i, "user_id"), followup_id, subject_kind, subject_id, project_id,
                            extra) != 0) {
            n = -1;
            break;
        }
        n++;
    }
    db_rows_free(r);
    return n;
}
