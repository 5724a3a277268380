/* repair_sweeper.c: the background side of repair tickets.
 *
 * The clocks' reminders and escalation steps are the service-level
 * sweeper's (jobs/sla_sweeper.c, domain/repairs/repair_clocks.c).
 *
 * repair-sweeper (every repair_sweep_interval_ms):
 *   - clocks adopted: an open ticket whose round has no clocks (filed or
 *     reopened by a gateway older than the engine) gets them from its due
 *     columns (repair_clocks_adopt);
 *   - dispatch retries: tickets left submitted (nobody was available) are
 *     dispatched again when an engineer has become available;
 *   - overdue marks (repair_overdue, schema 022): tickets whose running
 *     clock has run out since the last sweep are marked, for the staff's
 *     overdue list, which reads the marks by index. State changes and the
 *     clocks' changes add and remove marks themselves
 *     (domain/repairs/repair_state.c, repair_clocks.c); only the passing of
 *     time is left to the sweep, so a ticket joins that list within one
 *     sweep interval.
 * repair-recheck (every repair_recheck_interval_ms): descriptions stored
 * "unchecked" because WeChat's text check was unavailable are checked again. */
#include <stdio.h>
#include <string.h>

#include "gateway/background.h"
#include "gateway/config.h"
#include "gateway/idempotency.h"
#include "gateway/log.h"
#include "gateway/wechat_client.h"
#include "handlers/handlers.h"
#include "domain/repairs/repair_cache.h"
#include "domain/repairs/repair_clocks.h"
#include "domain/repairs/repair_dispatch.h"
#include "domain/repairs/repair_events.h"
#include "domain/repairs/repair_state.h"
#include "domain/repairs/repair_view.h"

/* Tickets nobody could take: try again, quietly (the supervisors were told
 * when it was filed). Oldest first, a batch per sweep. */
static void retry_dispatch(db_conn_t *db)
{
    db_rows_t *r =
        db_query(db, "SELECT id FROM repair_tickets WHERE state = 'submitted' ORDER BY id LIMIT 100", DB_NOARGS);
    if (!r)
        return;
    for (int i = 0; i < r->nrows && !background_stopping(); i++) {
        long long id = db_get_int(r, i, "id");
        if (db_begin(db) != 0)
            break;
        int rc = repair_dispatch(db, id, 0);
        if (rc == 1 && repair_view_store(db, id) == 0 && db_commit(db) == 0) {
            repair_cache_forget(id);
            log_info("repairs", "ticket %lld dispatched on retry", id);
        } else
            db_rollback(db);
    }
    db_rows_free(r);
}

/* ---- the overdue marks (repair_overdue, schema 022) ----
 * Candidates are found by a plain read (no locks); each is then marked or
 * unmarked by a statement that locks the ticket's row first and re-checks
 * it, in the order a state change takes the same locks (ticket, then mark):
 * a change committed meanwhile wins, and the two never wait on each other
 * in a cycle. */
enum { MARK_BATCH = 500 };

static const char *SQL_TO_MARK = "SELECT t.id AS id FROM repair_tickets t WHERE t.clock_due_at < NOW(3)"
                                 " AND NOT EXISTS(SELECT 1 FROM repair_overdue o WHERE o.ticket_id = t.id) LIMIT ?";
/* Marks a state change did not remove: left by a gateway from before 022. */
static const char *SQL_STALE_MARKS =
    "SELECT o.ticket_id AS id FROM repair_overdue o JOIN repair_tickets t ON t.id = o.ticket_id"
    " WHERE t.clock_due_at IS NULL OR t.clock_due_at >= NOW(3) LIMIT ?";
static const char *SQL_LOCK_ON_TIME = "SELECT id FROM repair_tickets WHERE id = ?"
                                      " AND (clock_due_at IS NULL OR clock_due_at >= NOW(3)) FOR UPDATE";

/* 1 unmarked, 0 not (late again, or gone), -1 db error. */
static int unmark_stale(db_conn_t *db, long long id)
{
    long long one;
    if (db_begin(db) != 0)
        return -1;
    int on_time = db_query_int(db, &one, SQL_LOCK_ON_TIME, DB_ARGS(DB_INT(id)));
    if (on_time < 0 ||
        (on_time && db_exec(db, "DELETE FROM repair_overdue WHERE ticket_id = ?", DB_ARGS(DB_INT(id))) != 0) ||
        db_commit(db) != 0) {
        db_rollback(db);
        return -1;
    }
    return on_time;
}

/* Runs `each` on the ids `find` returns, a batch at a time; how many it
 * changed, or -1 on a db error. */
static long long mark_batches(db_conn_t *db, const char *find, int (*each)(db_conn_t *, long long))
{
    long long changed = 0, before;
    int n;
    do {
        db_rows_t *r = db_query(db, find, DB_ARGS(DB_INT(MARK_BATCH)));
        if (!r)
            return -1;
        n = r->nrows;
        before = changed;
        for (int i = 0; i < n && !background_stopping(); i++) {
            int rc = each(db, db_get_int(r, i, "id"));
            if (rc < 0) {
                db_rows_free(r);
                return -1;
            }
            changed += rc;
        }
        db_rows_free(r);
        /* A full batch where nothing changed would come back the same. */
    } while (n == MARK_BATCH && changed > before && !background_stopping());
    return changed;
}

static void mark_overdue(db_conn_t *db)
{
    long long marked = mark_batches(db, SQL_TO_MARK, repair_overdue_mark);
    long long unmarked = marked < 0 ? -1 : mark_batches(db, SQL_STALE_MARKS, unmark_stale);
    if (marked < 0 || unmarked < 0)
        log_warn("repairs", "overdue marks: %s", db_error(db));
    else if (marked || unmarked)
        log_info("repairs", "overdue marks: %lld ticket(s) marked, %lld stale mark(s) removed", marked, unmarked);
}

/* Open tickets whose round has no clocks (from a gateway older than the
 * engine, during an upgrade) get them, so their reminders and escalations
 * go on. */
static void adopt_clocks(db_conn_t *db)
{
    db_rows_t *r = db_query(db, REPAIR_CLOCKS_ORPHANS_SQL, DB_ARGS(DB_INT(100)));
    if (!r)
        return;
    for (int i = 0; i < r->nrows && !background_stopping(); i++) {
        long long id = db_get_int(r, i, "id"), one;
        int rc = -1;
        if (db_begin(db) == 0 &&
            db_query_int(db, &one, "SELECT id FROM repair_tickets WHERE id = ? FOR UPDATE", DB_ARGS(DB_INT(id))) >= 0)
            rc = repair_clocks_adopt(db, id);
        if (rc < 0 || db_commit(db) != 0) {
            log_warn("repairs", "ticket %lld: clocks not adopted: %s", id, db_error(db));
            db_rollback(db);
        } else if (rc == 1)
            log_info("repairs", "ticket %lld: clocks adopted from its due times", id);
    }
    db_rows_free(r);
}

static void sweep(db_conn_t *db)
{
    adopt_clocks(db);
    mark_overdue(db);
    retry_dispatch(db);
}

/* ---- re-checking descriptions ---- */

static void recheck(db_conn_t *db)
{
    db_rows_t *r =
        db_query(db,
                 "SELECT t.id, u.openid, t.description FROM repair_tickets t JOIN users u ON u.id = t.user_id"
                 " WHERE t.content_check = 'unchecked' AND t.content_check_attempts < 10"
                 " ORDER BY t.id LIMIT 20",
                 DB_NOARGS);
    if (!r)
        return;
    for (int i = 0; i < r->nrows && !background_stopping(); i++) {
        long long id = db_get_int(r, i, "id");
        wx_seccheck_t res;
        wx_status_t st;
        /* The WeChat call is made outside any transaction; the result is
         * stored only if the ticket is still unchecked. */
        if (wx_msg_sec_check(db_get(r, i, "openid"), db_get(r, i, "description"), 2, &res, &st) != 0) {
            db_exec(db, "UPDATE repair_tickets SET content_check_attempts = content_check_attempts + 1 WHERE id = ?",
                    DB_ARGS(DB_INT(id)));
            log_warn("repairs", "ticket %lld: text check still unavailable (WeChat %d)", id, st.errcode);
            continue;
        }
        const char *verdict = !strcmp(res.suggest, "pass")    ? "pass"
                              : !strcmp(res.suggest, "risky") ? "risky"
                                                              : "review";
        db_exec(db,
                "UPDATE repair_tickets SET content_check = ?, content_trace_id = ?,"
                " content_check_attempts = content_check_attempts + 1 WHERE id = ? AND content_check = 'unchecked'",
                DB_ARGS(DB_STR(verdict), DB_STR(res.trace_id), DB_INT(id)));
        log_info("repairs", "ticket %lld: text re-checked: %s", id, verdict);
    }
    db_rows_free(r);
}

void repair_sweeper_register(void)
{
    background_register("repair-sweeper", gw_cfg->repair_sweep_interval_ms, sweep);
    background_register("repair-recheck", gw_cfg->repair_recheck_interval_ms, recheck);
    idempotency_register_purge_job();
}
