/* satisfaction_sweeper.c: what happens to satisfaction with time.
 *
 *   - a repair ticket resolved repair_rating_days ago and still unrated
 *     closes as "closed without rating" (repair_autoclose: a conditional
 *     update, so an owner rating at the same moment and this sweep never
 *     both win);
 *   - repair_rating_reminder_hours before that, the owner is reminded to
 *     rate a second time (once per round: repair_rating_reminders' key);
 *   - a follow-up visit (回访) past its deadline is reported to the
 *     project's supervisors, once (a conditional update of
 *     overdue_notified_at in the transaction of the events);
 *   - a follow-up an older gateway still wrote into repair_followups is
 *     copied into followups (schema 030).
 *
 * Rows are taken with FOR UPDATE SKIP LOCKED in one transaction a batch,
 * so several gateway processes sweeping one database share the work and
 * never do one thing twice. */
#include <cjson/cJSON.h>

#include "gateway/background.h"
#include "gateway/config.h"
#include "gateway/log.h"
#include "handlers/handlers.h"
#include "domain/followups/followups.h"
#include "domain/followups/repair_satisfaction.h"
#include "domain/repairs/repair_cache.h"

#define SWEEP_BATCH 50

static const char *SQL_UNRATED =
    "SELECT id FROM repair_tickets WHERE state = 'resolved' AND resolved_at <= NOW(3) - INTERVAL ? DAY"
    " ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED";

/* Resolved and unrated, past the second reminder's time, not reminded
 * twice this round. */
static const char *SQL_REMIND =
    "SELECT t.id AS id, t.user_id AS user_id, t.rework_count AS round FROM repair_tickets t"
    " WHERE t.state = 'resolved' AND t.resolved_at <= NOW(3) - INTERVAL GREATEST(0, ? * 24 - ?) HOUR"
    " AND NOT EXISTS (SELECT 1 FROM repair_rating_reminders m WHERE m.ticket_id = t.id"
    " AND m.round = t.rework_count AND m.step = 2) ORDER BY t.id LIMIT ? FOR UPDATE SKIP LOCKED";

static const char *SQL_OVERDUE =
    "SELECT id, kind, subject_id, project_id, FLOOR(UNIX_TIMESTAMP(due_at)) AS due_at FROM followups"
    " WHERE status = 'open' AND due_at < NOW(3) AND overdue_notified_at IS NULL"
    " ORDER BY due_at LIMIT ? FOR UPDATE SKIP LOCKED";

static const char *SQL_LEGACY =
    "INSERT IGNORE INTO followups (kind, subject_id, round, project_id, owner_user_id, reason, score, status,"
    " due_at, attempts, contact, note, done_by, done_at, legacy_id, created_at)"
    " SELECT 'repair', f.ticket_id, t.rework_count, f.project_id, t.user_id, 'poor_rating', f.score, f.status,"
    " f.created_at + INTERVAL ? HOUR, IF(f.status = 'done', 1, 0), IF(f.status = 'done', 'reached', NULL),"
    " f.note, f.done_by, f.done_at, f.id, f.created_at"
    " FROM repair_followups f JOIN repair_tickets t ON t.id = f.ticket_id"
    " WHERE NOT EXISTS (SELECT 1 FROM followups x WHERE x.legacy_id = f.id)"
    " AND NOT EXISTS (SELECT 1 FROM followups y WHERE y.kind = 'repair' AND y.subject_id = f.ticket_id"
    " AND y.round = t.rework_count) LIMIT 200";

/* Each step: one batch in one transaction; 1 when the batch was full
 * (more may be due), 0 when done, -1 on a database error. */
static int autoclose_batch(db_conn_t *db)
{
    long long closed[SWEEP_BATCH];
    int n = 0;
    db_rows_t *r = NULL;
    if (db_begin(db) != 0 ||
        !(r = db_query(db, SQL_UNRATED, DB_ARGS(DB_INT(gw_cfg->repair_rating_days), DB_INT(SWEEP_BATCH)))))
        goto Fail;
    for (int i = 0; i < r->nrows; i++) {
        long long id = db_get_int(r, i, "id");
        int rc = repair_autoclose(db, id);
        if (rc < 0)
            goto Fail;
        if (rc == 1)
            closed[n++] = id;
    }
    if (db_commit(db) != 0)
        goto Fail;
    for (int i = 0; i < n; i++)
        repair_cache_forget(closed[i]);
    if (n)
        log_info("satisfaction", "%d ticket(s) closed without rating", n);
    int full = r->nrows == SWEEP_BATCH;
    db_rows_free(r);
    return full;
Fail:
    db_rollback(db);
    log_error("satisfaction", "auto-close sweep failed: %s", db_error(db));
    db_rows_free(r);
    return -1;
}

static int remind_batch(db_conn_t *db)
{
    db_rows_t *r = NULL;
    if (db_begin(db) != 0 ||
        !(r = db_query(db, SQL_REMIND,
                       DB_ARGS(DB_INT(gw_cfg->repair_rating_days), DB_INT(gw_cfg->repair_rating_reminder_hours),
                               DB_INT(SWEEP_BATCH)))))
        goto Fail;
    for (int i = 0; i < r->nrows; i++)
        if (repair_rating_remind(db, db_get_int(r, i, "id"), (int)db_get_int(r, i, "round"),
                                 db_get_int(r, i, "user_id"), 2) != 0)
            goto Fail;
    if (db_commit(db) != 0)
        goto Fail;
    int full = r->nrows == SWEEP_BATCH;
    db_rows_free(r);
    return full;
Fail:
    db_rollback(db);
    log_error("satisfaction", "rating reminder sweep failed: %s", db_error(db));
    db_rows_free(r);
    return -1;
}

static int overdue_batch(db_conn_t *db)
{
    int reported = 0;
    db_rows_t *r = NULL;
    if (db_begin(db) != 0 || !(r = db_query(db, SQL_OVERDUE, DB_ARGS(DB_INT(SWEEP_BATCH)))))
        goto Fail;
    for (int i = 0; i < r->nrows; i++) {
        long long id = db_get_int(r, i, "id");
        if (db_exec(db,
                    "UPDATE followups SET overdue_notified_at = NOW(3) WHERE id = ? AND status = 'open'"
                    " AND overdue_notified_at IS NULL",
                    DB_ARGS(DB_INT(id))) != 0)
            goto Fail;
        if (db_affected_rows(db) != 1)
            continue;
        cJSON *extra = cJSON_CreateObject();
        if (!extra)
            goto Fail;
        cJSON_AddNumberToObject(extra, "due_at", (double)db_get_int(r, i, "due_at"));
        int n = followup_notify_supervisors(db, "followup.overdue", id, db_get(r, i, "kind"),
                                            db_get_int(r, i, "subject_id"), db_get_int(r, i, "project_id"), extra);
        cJSON_Delete(extra);
        if (n < 0)
            goto Fail;
        reported++;
    }
    if (db_commit(db) != 0)
        goto Fail;
    if (reported)
        log_info("satisfaction", "%d follow-up visit(s) overdue, reported to supervisors", reported);
    int full = r->nrows == SWEEP_BATCH;
    db_rows_free(r);
    return full;
Fail:
    db_rollback(db);
    log_error("satisfaction", "overdue follow-up sweep failed: %s", db_error(db));
    db_rows_free(r);
    return -1;
}

static void copy_legacy(db_conn_t *db)
{
    if (db_exec(db, SQL_LEGACY, DB_ARGS(DB_INT(gw_cfg->followup_due_hours))) != 0)
        log_error("satisfaction", "copying older follow-ups failed: %s", db_error(db));
}

static void sweep(db_conn_t *db)
{
    /* Bounded, so one run cannot hold the job forever. */
    for (int batch = 0; batch < 20 && !background_stopping(); batch++)
        if (autoclose_batch(db) != 1)
            break;
    if (gw_cfg->repair_rating_reminder_hours > 0)
        for (int batch = 0; batch < 20 && !background_stopping(); batch++)
            if (remind_batch(db) != 1)
                break;
    for (int batch = 0; batch < 20 && !background_stopping(); batch++)
        if (overdue_batch(db) != 1)
            break;
    copy_legacy(db);
}

void satisfaction_sweeper_register(void)
{
    background_register("satisfaction-sweeper", gw_cfg->satisfaction_sweep_interval_ms, sweep);
}
