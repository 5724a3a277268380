/* export_runner.c: runs the queued CSV exports (handlers/exports/exports_admin.c)
 * and deletes the expired files.
 *
 * export-runner (every export_interval_ms, in every process) first expires
 * the finished exports past expires_at (the row becomes `expired`, then the
 * file is deleted), then claims queued exports one at a time with SKIP
 * LOCKED, so several processes share them, and runs each:
 *
 *   1. the requester as they are now (users_load_status): a disabled user,
 *      or one who no longer holds a role that may export the kind, fails
 *      the export; then the list's own filters are read from the stored
 *      params and checked for them again (a supervisor who lost the
 *      project fails it with the list's own message);
 *   2. the rows are counted with the list's statement (at most
 *      export_max_rows + 1: more fails the export) for the progress;
 *   3. the list's statement is read page by page (export_page_rows, keyset
 *      on the id, in the list's order, as the route pages), each row rendered as
 *      the route renders it and written as CSV (gateway/csv.h, bounded by
 *      export_max_bytes) to export-<id>.<attempt>.part in export_dir; after
 *      each page the progress is saved and the lease renewed;
 *   4. the file is flushed to disk and renamed export-<id>.csv, and only
 *      then is the export marked done. A half-written file is never served.
 *
 * A process that dies while running an export leaves its lease to run out
 * (EXPORT_LEASE_S); any process then runs it again from the start, as a
 * new attempt (the older attempt's .part file is deleted), and an export
 * interrupted EXPORT_MAX_ATTEMPTS times fails. Every update of a running
 * export names its attempt, so a process that lost the export changes
 * nothing. On shutdown the running export is put back in the queue. */
#include <errno.h>
#include <fcntl.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "domain/exports/export_kinds.h"
#include "gateway/background.h"
#include "gateway/config.h"
#include "gateway/db_json.h"
#include "gateway/log.h"
#include "gateway/metrics.h"
#include "gateway/roles.h"
#include "gateway/users.h"
#include "gateway/utf8.h"
#include "handlers/handlers.h"

#define EXPORT_LEASE_S 60
#define EXPORT_MAX_ATTEMPTS 3
#define EXPORTS_PER_RUN 8
#define EXPIRE_BATCH 100

typedef struct {
    long long id, requester;
    int attempt, masked;
    const export_kind_t *kind;
    char *params;
} job_t;

/* Outcome of running an export. */
typedef enum { RUN_DONE, RUN_FAILED, RUN_LOST, RUN_REQUEUE } run_t;

static void part_path(char *out, size_t outsz, long long id, int attempt)
{
    snprintf(out, outsz, "%s/export-%lld.%d.part", gw_cfg->export_dir, id, attempt);
}

static int ensure_dir(void)
{
    if (mkdir(gw_cfg->export_dir, 0750) == 0 || errno == EEXIST)
        return 0;
    log_error("exports", "cannot create export_dir %s: %s", gw_cfg->export_dir, strerror(errno));
    return -1;
}

/* ---- expiry ---- */

static void expire(db_conn_t *db)
{
    db_rows_t *r = db_query(db,
                            "SELECT id, file_name FROM exports WHERE state = 'done' AND expires_at <= NOW(3)"
                            " ORDER BY expires_at LIMIT ?",
                            DB_ARGS(DB_INT(EXPIRE_BATCH)));
    if (!r) {
        log_error("exports", "expiry sweep failed: %s", db_error(db));
        return;
    }
    for (int i = 0; i < r->nrows && !background_stopping(); i++) {
        long long id = db_get_int(r, i, "id");
        /* The row first: once it says expired nobody is sent the file. */
        if (db_exec(db, "UPDATE exports SET state = 'expired' WHERE id = ? AND state = 'done'", DB_ARGS(DB_INT(id))) !=
            0)
            break;
        if (db_affected_rows(db) != 1)
            continue;
        const char *name = db_get(r, i, "file_name");
        if (name) {
            char path[1024];
            snprintf(path, sizeof(path), "%s/%s", gw_cfg->export_dir, name);
            if (unlink(path) != 0 && errno != ENOENT)
                log_warn("exports", "export %lld: cannot delete %s: %s", id, path, strerror(errno));
        }
        metrics_export(METRICS_EXPORT_EXPIRED);
        log_info("exports", "export %lld expired, file deleted", id);
    }
    db_rows_free(r);
}

/* ---- claiming ---- */

/* Claims the oldest queued export, or a running one whose lease ran out:
 * 1 claimed (*j set), 0 none, -1 database error. An export out of attempts
 * is failed instead (and 1 returned with j->kind NULL). */
static int claim(db_conn_t *db, job_t *j)
{
    memset(j, 0, sizeof(*j));
    db_rows_t *r = NULL;
    int rc = -1;
    if (db_begin(db) != 0)
        goto Exit;
    r = db_query(db,
                 "SELECT id, requester_user_id, kind, params, masked, state, attempt FROM exports"
                 " WHERE state = 'queued' OR (state = 'running' AND lease_until < NOW(3))"
                 " ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED",
                 DB_NOARGS);
    if (!r)
        goto Exit;
    if (r->nrows == 0) {
        rc = 0;
        goto Exit;
    }
    j->id = db_get_int(r, 0, "id");
    j->requester = db_get_int(r, 0, "requester_user_id");
    j->attempt = (int)db_get_int(r, 0, "attempt");
    j->masked = db_get_int(r, 0, "masked") != 0;
    int lost = !strcmp(db_get(r, 0, "state"), "running");
    if (lost) {
        char path[1024];
        part_path(path, sizeof(path), j->id, j->attempt);
        unlink(path); /* the dead attempt's half file */
        metrics_export(METRICS_EXPORT_RETRIED);
        log_warn("exports", "export %lld: attempt %d was interrupted (its process stopped)", j->id, j->attempt);
    }
    if (lost && j->attempt >= EXPORT_MAX_ATTEMPTS) {
        if (db_exec(db,
                    "UPDATE exports SET state = 'failed', lease_until = NULL, finished_at = NOW(3),"
                    " error = ? WHERE id = ? AND attempt = ?",
                    DB_ARGS(DB_STR("the export was interrupted too many times; start it again"), DB_INT(j->id),
                            DB_INT(j->attempt))) != 0 ||
            db_commit(db) != 0)
            goto Exit;
        metrics_export(METRICS_EXPORT_FAILED);
        rc = 1;
        goto Exit;
    }
    j->attempt++;
    j->kind = export_kind_find(db_get(r, 0, "kind"));
    j->params = strdup(db_get(r, 0, "params") ? db_get(r, 0, "params") : "{}");
    if (!j->params ||
        db_exec(db,
                "UPDATE exports SET state = 'running', attempt = ?, lease_until = NOW(3) + INTERVAL ? SECOND,"
                " started_at = NOW(3), rows_done = 0, rows_total = NULL WHERE id = ?",
                DB_ARGS(DB_INT(j->attempt), DB_INT(EXPORT_LEASE_S), DB_INT(j->id))) != 0 ||
        db_commit(db) != 0) {
        free(j->params);
        j->params = NULL;
        goto Exit;
    }
    rc = 1;
Exit:
    if (rc < 0)
        log_error("exports", "claiming an export failed: %s", db_error(db));
    if (rc != 1 || db_in_transaction(db))
        db_rollback(db);
    db_rows_free(r);
    return rc;
}

/* Saves the progress and renews the lease: 0, 1 the export is no longer
 * this attempt's (lost), -1 database error. */
static int progress(db_conn_t *db, const job_t *j, long long done, long long total)
{
    if (db_exec(db,
                "UPDATE exports SET rows_done = ?, rows_total = ?, lease_until = NOW(3) + INTERVAL ? SECOND"
                " WHERE id = ? AND attempt = ? AND state = 'running'",
                DB_ARGS(DB_INT(done), total < 0 ? DB_NULL : DB_INT(total), DB_INT(EXPORT_LEASE_S), DB_INT(j->id),
                        DB_INT(j->attempt))) != 0)
        return -1;
    if (db_affected_rows(db) == 1)
        return 0;
    /* Affected rows count changed rows only: the same values within the
     * same millisecond change nothing, so ask whether the export is still
     * this attempt's. */
    long long one;
    int rc = db_query_int(db, &one, "SELECT 1 FROM exports WHERE id = ? AND attempt = ? AND state = 'running'",
                          DB_ARGS(DB_INT(j->id), DB_INT(j->attempt)));
    return rc < 0 ? -1 : rc == 1 ? 0 : 1;
}

/* ---- running ---- */

/* After a failed statement: a lost connection or a lock wait runs the
 * export again (RUN_REQUEUE); any other error fails it, so a statement that
 * cannot work is not retried for ever. */
static run_t db_outcome(db_conn_t *db, char *why)
{
    unsigned e = db_errno(db);
    if (db_conn_lost(db) || e == DB_ER_LOCK_WAIT_TIMEOUT || e == DB_ER_LOCK_DEADLOCK)
        return RUN_REQUEUE;
    log_error("exports", "export statement failed (%u): %s", e, db_error(db));
    snprintf(why, 256, "a database error stopped the export");
    return RUN_FAILED;
}

/* Writes what w holds to fd: 0, or -1 (errno). */
static int flush_to(csv_t *w, int fd)
{
    size_t len;
    char *b = csv_take(w, &len);
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, b + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            free(b);
            return -1;
        }
        off += (size_t)n;
    }
    free(b);
    return 0;
}

/* Runs job j whose requester is in c (user and roles loaded): the file
 * complete at `final` on RUN_DONE; why (255 bytes) set on RUN_FAILED. */
static run_t run_list(db_conn_t *db, gw_call_t *c, const job_t *j, const char *part, long long *rows_out,
                      long long *size_out, char *why)
{
    const list_def_t *list = j->kind->list;
    alignas(max_align_t) char filter[LIST_FILTER_MAX];
    memset(filter, 0, sizeof(filter));
    csv_t w;
    int fd = -1;
    run_t rc = RUN_REQUEUE; /* a database error: run again */
    long long total = 0, done = 0;
    memset(&w, 0, sizeof(w));
    if (list_filter_or_fail(c, db, list, filter) != 0) {
        if (c->err == ERR_DB_UNAVAILABLE || c->err == ERR_OVERLOADED || c->err == ERR_INTERNAL) {
            rc = db_outcome(db, why);
            goto Exit;
        }
        snprintf(why, 256, "the requester may no longer export these rows: %.*s",
                 (int)utf8_prefix_bytes(c->err_message, strlen(c->err_message), 150), c->err_message);
        rc = RUN_FAILED;
        goto Exit;
    }
    db_rows_t *r = list->rows(db, c, filter, LIST_FIRST_KEY(list), gw_cfg->export_max_rows + 1, 1);
    if (!r) {
        rc = db_outcome(db, why);
        goto Exit;
    }
    total = db_get_int(r, 0, "n");
    db_rows_free(r);
    if (total > gw_cfg->export_max_rows) {
        snprintf(why, 256, "more than %d rows; narrow the filters", gw_cfg->export_max_rows);
        rc = RUN_FAILED;
        goto Exit;
    }
    int p = progress(db, j, 0, total);
    if (p != 0) {
        rc = p > 0 ? RUN_LOST : RUN_REQUEUE;
        goto Exit;
    }
    fd = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) {
        snprintf(why, 256, "cannot write the export file");
        log_error("exports", "export %lld: cannot open %s: %s", j->id, part, strerror(errno));
        rc = RUN_FAILED;
        goto Exit;
    }
    if (csv_init(&w, (size_t)gw_cfg->export_max_bytes) != 0 || export_write_header(&w, j->kind) != 0)
        goto TooLarge;
    long long after = LIST_FIRST_KEY(list);
    for (;;) {
        if (background_stopping()) {
            rc = RUN_REQUEUE;
            goto Exit;
        }
        r = list->rows(db, c, filter, after, gw_cfg->export_page_rows, 0);
        if (!r) {
            rc = db_outcome(db, why);
            goto Exit;
        }
        int n = r->nrows, bad = 0, failed = 0;
        void *data = list->page_data && n > 0 ? list->page_data(db, c, filter, r, n, &failed) : NULL;
        if (failed) {
            db_rows_free(r);
            rc = db_outcome(db, why);
            goto Exit;
        }
        for (int i = 0; i < n && !bad; i++) {
            cJSON *item = list->render ? list->render(r, i, data) : db_row_json(r, i);
            bad = !item || export_write_row(&w, j->kind, item, r, i, !j->masked) != 0;
            cJSON_Delete(item);
        }
        if (data && list->page_data_free)
            list->page_data_free(data);
        if (n)
            after = db_get_int(r, n - 1, LIST_KEY(list));
        db_rows_free(r);
        if (bad)
            goto TooLarge;
        done += n;
        if (flush_to(&w, fd) != 0) {
            snprintf(why, 256, "cannot write the export file");
            log_error("exports", "export %lld: write failed: %s", j->id, strerror(errno));
            rc = RUN_FAILED;
            goto Exit;
        }
        /* A list may grow while it is read: the total follows. */
        p = progress(db, j, done, done > total ? done : total);
        if (p != 0) {
            rc = p > 0 ? RUN_LOST : RUN_REQUEUE;
            goto Exit;
        }
        if (n < gw_cfg->export_page_rows || done >= gw_cfg->export_max_rows)
            break;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        fd = -1;
        snprintf(why, 256, "cannot write the export file");
        rc = RUN_FAILED;
        goto Exit;
    }
    fd = -1;
    *rows_out = done;
    *size_out = (long long)w.total;
    rc = RUN_DONE;
    goto Exit;
TooLarge:
    snprintf(why, 256, "the file would pass export_max_bytes (%d bytes); narrow the filters", gw_cfg->export_max_bytes);
    rc = RUN_FAILED;
Exit:
    if (fd >= 0)
        close(fd);
    csv_free(&w);
    return rc;
}

/* Runs a statistic: its header and rows for the requester (grouped rows,
 * a few hundred at most), written at once. As run_list. */
static run_t run_stat(db_conn_t *db, gw_call_t *c, const job_t *j, const char *part, long long *rows_out,
                      long long *size_out, char *why)
{
    run_t rc = RUN_FAILED;
    csv_t w;
    long long n = 0;
    int fd = -1;
    if (csv_init(&w, (size_t)gw_cfg->export_max_bytes) != 0)
        goto TooLarge;
    int st = j->kind->stat(c, db, j->kind, &w, &n);
    if (st == -2)
        goto TooLarge;
    if (st != 0) {
        if (c->err == ERR_DB_UNAVAILABLE || c->err == ERR_OVERLOADED || c->err == ERR_INTERNAL)
            rc = db_outcome(db, why);
        else
            snprintf(why, 256, "the requester may no longer export these rows: %.*s",
                     (int)utf8_prefix_bytes(c->err_message, strlen(c->err_message), 150), c->err_message);
        goto Exit;
    }
    if (n > gw_cfg->export_max_rows) {
        snprintf(why, 256, "more than %d rows; narrow the filters", gw_cfg->export_max_rows);
        goto Exit;
    }
    fd = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0 || flush_to(&w, fd) != 0 || fsync(fd) != 0) {
        snprintf(why, 256, "cannot write the export file");
        goto Exit;
    }
    int p = progress(db, j, n, n);
    if (p != 0) {
        rc = p > 0 ? RUN_LOST : RUN_REQUEUE;
        goto Exit;
    }
    *rows_out = n;
    *size_out = (long long)w.total;
    rc = RUN_DONE;
    goto Exit;
TooLarge:
    snprintf(why, 256, "the file would pass export_max_bytes (%d bytes); narrow the filters", gw_cfg->export_max_bytes);
Exit:
    if (fd >= 0 && close(fd) != 0 && rc == RUN_DONE) {
        snprintf(why, 256, "cannot write the export file");
        rc = RUN_FAILED;
    }
    csv_free(&w);
    return rc;
}

static void run_one(db_conn_t *db, job_t *j)
{
    char part[1024], final[1024], name[64], why[256] = "";
    long long rows = 0, size = 0;
    run_t rc = RUN_FAILED;
    gw_call_t *c = NULL;
    part_path(part, sizeof(part), j->id, j->attempt);
    snprintf(name, sizeof(name), "export-%lld.csv", j->id);
    snprintf(final, sizeof(final), "%s/%s", gw_cfg->export_dir, name);
    if (j->attempt > 1) { /* an earlier attempt's half file, if its process left one */
        char old[1024];
        part_path(old, sizeof(old), j->id, j->attempt - 1);
        unlink(old);
    }
    if (!j->kind) {
        snprintf(why, sizeof(why), "this gateway does not know the export's kind");
        goto Fail;
    }
    if (ensure_dir() != 0) {
        snprintf(why, sizeof(why), "cannot write the export file");
        goto Fail;
    }
    c = call_new();
    if (!c) {
        rc = RUN_REQUEUE;
        goto Done;
    }
    c->db = db;
    int st = users_load_status(db, j->requester, &c->user);
    if (st < 0) {
        rc = RUN_REQUEUE;
        goto Done;
    }
    if (st != 1) {
        snprintf(why, sizeof(why), "the requester's account is %s", st == 2 ? "disabled" : "gone");
        goto Fail;
    }
    c->user.id = j->requester;
    if (!(c->user.roles & j->kind->roles)) {
        snprintf(why, sizeof(why), "the requester no longer holds a role that may export %s", j->kind->name);
        goto Fail;
    }
    char field[EXPORT_FIELD_MAX];
    cJSON *params = cJSON_Parse(j->params);
    c->query = export_params_query(params, field, why);
    cJSON_Delete(params);
    if (!c->query) {
        if (!why[0])
            snprintf(why, sizeof(why), "the export's params cannot be read");
        goto Fail;
    }
    rc = j->kind->list ? run_list(db, c, j, part, &rows, &size, why) : run_stat(db, c, j, part, &rows, &size, why);
    if (rc != RUN_DONE)
        goto Done;
    /* Complete on disk: only now does it get the name a download reads. */
    if (rename(part, final) != 0) {
        log_error("exports", "export %lld: rename to %s failed: %s", j->id, final, strerror(errno));
        snprintf(why, sizeof(why), "cannot write the export file");
        goto Fail;
    }
    if (db_exec(db,
                "UPDATE exports SET state = 'done', file_name = ?, size_bytes = ?, rows_done = ?, rows_total = ?,"
                " lease_until = NULL, finished_at = NOW(3), expires_at = NOW(3) + INTERVAL ? HOUR"
                " WHERE id = ? AND attempt = ? AND state = 'running'",
                DB_ARGS(DB_STR(name), DB_INT(size), DB_INT(rows), DB_INT(rows), DB_INT(gw_cfg->export_expiry_hours),
                        DB_INT(j->id), DB_INT(j->attempt))) != 0) {
        rc = RUN_REQUEUE; /* the lease runs out and the export runs again */
        goto Done;
    }
    if (db_affected_rows(db) != 1) {
        rc = RUN_LOST; /* another attempt owns it now; its rename replaces this file */
        goto Done;
    }
    metrics_export(METRICS_EXPORT_DONE);
    log_info("exports", "export %lld (%s) done: %lld rows, %lld bytes", j->id, j->kind->name, rows, size);
    goto Done;
Fail:
    rc = RUN_FAILED;
Done:
    if (rc == RUN_FAILED) {
        if (db_exec(db,
                    "UPDATE exports SET state = 'failed', error = ?, lease_until = NULL, finished_at = NOW(3)"
                    " WHERE id = ? AND attempt = ? AND state = 'running'",
                    DB_ARGS(DB_STR(why), DB_INT(j->id), DB_INT(j->attempt))) != 0)
            log_error("exports", "export %lld: recording the failure failed: %s", j->id, db_error(db));
        metrics_export(METRICS_EXPORT_FAILED);
        log_warn("exports", "export %lld failed: %s", j->id, why);
    } else if (rc == RUN_REQUEUE) {
        /* Shutting down, or the database failed: back to the queue now if
         * possible, else when the lease runs out. */
        if (db_exec(db,
                    "UPDATE exports SET state = 'queued', lease_until = NULL, attempt = attempt - 1"
                    " WHERE id = ? AND attempt = ? AND state = 'running'",
                    DB_ARGS(DB_INT(j->id), DB_INT(j->attempt))) != 0)
            log_warn("exports", "export %lld: left to its lease: %s", j->id, db_error(db));
    }
    if (rc != RUN_DONE)
        unlink(part);
    call_free(c);
}

static void run(db_conn_t *db)
{
    expire(db);
    for (int n = 0; n < EXPORTS_PER_RUN && !background_stopping(); n++) {
        job_t j;
        if (claim(db, &j) != 1)
            break;
        if (j.params)
            run_one(db, &j);
        free(j.params);
    }
}

void export_runner_register(void)
{
    background_register("export-runner", gw_cfg->export_interval_ms, run);
}
