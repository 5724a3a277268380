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
 * The candidates are read without locks; each is then handled in a
 * transaction of its own whose conditional write (the close, the reminder's
 * key, the overdue mark) is the claim: several gateway processes sweeping
 * one database never do one thing twice, and none holds more than one
 * ticket or task at a time, so a sweep and an owner's rating or a desk's
 * result lock in the same order (the row, then the owner) and never
 * deadlock. */
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
    " ORDER BY id LIMIT ?";

/* Resolved and unrated, past the second reminder's time, not reminded
 * twice this round. */
static const char *SQL_REMIND =
    "SELECT t.id AS id, t.user_id AS user_id, t.rework_count AS round FROM repair_tickets t"
    " WHERE t.state = 'resolved' AND t.resolved_at <= NOW(3) - INTERVAL GREATEST(0, ? * 24 - ?) HOUR"
    " AND NOT EXISTS (SELECT 1 FROM repair_rating_reminders m WHERE m.ticket_id = t.id"
    " AND m.round = t.rework_count AND m.step = 2) ORDER BY t.id LIMIT ?";

static const char *SQL_OVERDUE =
    "SELECT id, kind, subject_id, project_id, FLOOR(UNIX_TIMESTAMP(due_at)) AS due_at FROM followups"
    " WHERE status = 'open' AND due_at < NOW(3) AND overdue_notified_at IS NULL"
    " ORDER BY due_at LIMIT ?";

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

/* One candidate in a transaction of its own: fn's result (1 done, 0 not,
 * -1 error), committed when it is not an error. */
static int one(db_conn_t *db, int (*fn)(db_conn_t *, const db_rows_t *, int), const db_rows_t *r, int i)
{
    if (db_begin(db) != 0)
        return -1;
    int rc = fn(db, r, i);
    if (rc < 0 || db_commit(db) != 0) {
        db_rollback(db);
        return -1;
    }
    return rc;
}

/* Runs fn on each row of sql's answer (its last parameter the batch size):
 * how many it did, or -1 after logging the error. forget: a done row's id
 * is a ticket whose cached view goes. *full: the batch was full (more may
 * be due). */
static int batch(db_conn_t *db, const char *what, const char *sql, const db_param_t *params, int nparams,
                 int (*fn)(db_conn_t *, const db_rows_t *, int), int forget, int *full)
{
    db_rows_t *r = db_query(db, sql, params, nparams);
    *full = 0;
    if (!r) {
        log_error("satisfaction", "%s: reading the candidates failed: %s", what, db_error(db));
        return -1;
    }
    int done = 0;
    for (int i = 0; i < r->nrows && !background_stopping(); i++) {
        int rc = one(db, fn, r, i);
        if (rc < 0) {
            log_error("satisfaction", "%s failed: %s", what, db_error(db));
            db_rows_free(r);
            return -1;
        }
        if (rc == 1 && forget) /* the ticket's cached view, after the commit */
            repair_cache_forget(db_get_int(r, i, "id"));
        done += rc;
    }
    *full = r->nrows == SWEEP_BATCH;
    db_rows_free(r);
    return done;
}

static int close_one(db_conn_t *db, const db_rows_t *r, int i)
{
    return repair_autoclose(db, db_get_int(r, i, "id"));
}

static int remind_one(db_conn_t *db, const db_rows_t *r, int i)
{
    return repair_rating_remind(db, db_get_int(r, i, "id"), (int)db_get_int(r, i, "round"), db_get_int(r, i, "user_id"),
                                2) < 0
               ? -1
               : 1;
}

static int overdue_one(db_conn_t *db, const db_rows_t *r, int i)
{
    long long id = db_get_int(r, i, "id");
    if (db_exec(db,
                "UPDATE followups SET overdue_notified_at = NOW(3) WHERE id = ? AND status = 'open'"
                " AND overdue_notified_at IS NULL AND due_at < NOW(3)",
                DB_ARGS(DB_INT(id))) != 0)
        return -1;
    if (db_affected_rows(db) != 1)
        return 0; /* done meanwhile, or another process told them */
    cJSON *extra = cJSON_CreateObject();
    if (!extra)
        return -1;
    cJSON_AddNumberToObject(extra, "due_at", (double)db_get_int(r, i, "due_at"));
    int n = followup_notify_supervisors(db, "followup.overdue", id, db_get(r, i, "kind"),
                                        db_get_int(r, i, "subject_id"), db_get_int(r, i, "project_id"), extra);
    cJSON_Delete(extra);
    return n < 0 ? -1 : 1;
}

static void copy_legacy(db_conn_t *db)
{
    if (db_exec(db, SQL_LEGACY, DB_ARGS(DB_INT(gw_cfg->followup_due_hours))) != 0)
        log_error("satisfaction", "copying older follow-ups failed: %s", db_error(db));
}

static void sweep(db_conn_t *db)
{
    int full = 1, n;
    /* Bounded, so one run cannot hold the job forever. */
    for (int round = 0; round < 20 && full && !background_stopping(); round++) {
        n = batch(db, "auto-close", SQL_UNRATED, DB_ARGS(DB_INT(gw_cfg->repair_rating_days), DB_INT(SWEEP_BATCH)),
                  close_one, 1, &full);
        if (n > 0)
            log_info("satisfaction", "%d ticket(s) closed without rating", n);
    }
    full = gw_cfg->repair_rating_reminder_hours > 0;
    for (int round = 0; round < 20 && full && !background_stopping(); round++)
        batch(db, "rating reminder", SQL_REMIND,
              DB_ARGS(DB_INT(gw_cfg->repair_rating_days), DB_INT(gw_cfg->repair_rating_reminder_hours),
                      DB_INT(SWEEP_BATCH)),
              remind_one, 0, &full);
    full = 1;
    for (int round = 0; round < 20 && full && !background_stopping(); round++) {
        n = batch(db, "overdue follow-up", SQL_OVERDUE, DB_ARGS(DB_INT(SWEEP_BATCH)), overdue_one, 0, &full);
        if (n > 0)
            log_info("satisfaction", "%d follow-up visit(s) overdue, reported to supervisors", n);
    }
    copy_legacy(db);
}

void satisfaction_sweeper_register(void)
{
    background_register("satisfaction-sweeper", gw_cfg->satisfaction_sweep_interval_ms, sweep);
}
