#include "media_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "background.h"
#include "config.h"
#include "log.h"
#include "mask.h"
#include "media_url.h"

#define RETRY_BATCH 20
#define RETRY_MAX_DELAY_S 86400

int media_check_enabled(void)
{
    return gw_cfg && gw_cfg->public_base_url && *gw_cfg->public_base_url;
}

int media_check_submit(long long upload_id, const char *openid, char *trace_id, size_t trace_size, wx_status_t *st)
{
    char path[256], url[1024];
    memset(st, 0, sizeof(*st));
    if (media_url_sign(upload_id, "full", gw_cfg->media_check_url_ttl_s, path, sizeof(path)) != 0) {
        st->errcode = WX_ERR_PARSE;
        snprintf(st->errmsg, sizeof(st->errmsg), "cannot sign the photo URL");
        return -1;
    }
    const char *base = gw_cfg->public_base_url;
    size_t blen = strlen(base);
    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    snprintf(url, sizeof(url), "%.*s%s", (int)blen, base, path);
    int rc = wx_media_check_async(openid, url, MEDIA_CHECK_SCENE, trace_id, trace_size, st);
    char masked[64];
    mask_openid(openid, masked, sizeof(masked));
    if (rc == 0)
        log_info("media_check", "submitted upload=%lld openid=%s trace=%s", upload_id, masked, trace_id);
    else
        log_warn("media_check", "submission failed upload=%lld openid=%s errcode=%d: %s", upload_id, masked,
                 st->errcode, st->errmsg);
    return rc;
}

/* Applies a verdict to the upload waiting for it (if any). In a transaction. */
static int apply_verdict(db_conn_t *db, const char *trace_id, const char *suggest, const char *label, int *changed)
{
    int rc;
    if (!strcmp(suggest, "error"))
        rc = db_exec(db,
                     "UPDATE uploads SET check_status = 'unchecked', check_next_at = NOW(3) + INTERVAL ? SECOND"
                     " WHERE check_trace_id = ? AND check_status = 'pending'",
                     DB_ARGS(DB_INT(gw_cfg->media_check_retry_s), DB_STR(trace_id)));
    else
        rc = db_exec(db,
                     "UPDATE uploads SET check_status = ?, hidden = IF(? = 'risky', 1, hidden), check_label = ?,"
                     " checked_at = NOW(3), check_next_at = NULL"
                     " WHERE check_trace_id = ? AND check_status = 'pending'",
                     DB_ARGS(DB_STR(suggest), DB_STR(suggest), DB_STR(label), DB_STR(trace_id)));
    int n = rc == 0 ? (int)db_affected_rows(db) : 0;
    /* A photo the check hides leaves its ticket's detail: the ticket's row
     * is written with it, so that a stored view of the ticket is rendered
     * again (domain/repairs/repair_view.h, rule 3). GREATEST: never the
     * same instant as the view's own render. */
    if (rc == 0 && n > 0 && !strcmp(suggest, "risky"))
        rc = db_exec(db,
                     "UPDATE repair_tickets t JOIN uploads u ON u.ticket_id = t.id"
                     " SET t.updated_at = GREATEST(NOW(3), t.updated_at + INTERVAL 1000 MICROSECOND)"
                     " WHERE u.check_trace_id = ?",
                     DB_ARGS(DB_STR(trace_id)));
    if (rc == 0 && changed)
        *changed = n;
    return rc;
}

int media_check_record_submission(db_conn_t *db, long long upload_id, const char *trace_id)
{
    db_rows_t *r = NULL;
    if (db_begin(db) != 0)
        goto DbError;
    /* Lock the trace's row first: a concurrent push for this trace waits. */
    if (db_exec(db,
                "INSERT INTO media_check_results (trace_id, suggest) VALUES (?, 'submitted')"
                " ON DUPLICATE KEY UPDATE trace_id = VALUES(trace_id)",
                DB_ARGS(DB_STR(trace_id))) != 0)
        goto DbError;
    if (db_exec(db,
                "UPDATE uploads SET check_status = 'pending', check_trace_id = ?,"
                " check_next_at = NOW(3) + INTERVAL ? SECOND"
                " WHERE id = ? AND check_status IN ('unchecked', 'pending')",
                DB_ARGS(DB_STR(trace_id), DB_INT(MEDIA_CHECK_RESULT_WAIT_S), DB_INT(upload_id))) != 0)
        goto DbError;
    if (!(r = db_query(db, "SELECT suggest, label FROM media_check_results WHERE trace_id = ?",
                       DB_ARGS(DB_STR(trace_id)))))
        goto DbError;
    if (r->nrows == 1 && strcmp(db_cell(r, 0, 0), "submitted") != 0) {
        log_info("media_check", "verdict for trace=%s arrived before its submission was recorded", trace_id);
        if (apply_verdict(db, trace_id, db_cell(r, 0, 0), db_cell(r, 0, 1), NULL) != 0)
            goto DbError;
    }
    if (db_commit(db) != 0)
        goto DbError;
    db_rows_free(r);
    return 0;
DbError:
    log_error("media_check", "cannot record the submission of upload=%lld: %s", upload_id, db_error(db));
    db_rows_free(r);
    db_rollback(db);
    return -1;
}

int media_check_store_result_in_tx(db_conn_t *db, const char *trace_id, const char *suggest, const char *label,
                                   int *duplicate, int *changed)
{
    *duplicate = 0;
    *changed = 0;
    /* Affected rows: 1 new, 2 filled the submission's placeholder, 0 already
     * had a verdict. The assignments run left to right, so suggest goes last. */
    if (db_exec(db,
                "INSERT INTO media_check_results (trace_id, suggest, label) VALUES (?, ?, ?)"
                " ON DUPLICATE KEY UPDATE received_at = IF(suggest = 'submitted', NOW(3), received_at),"
                " label = IF(suggest = 'submitted', VALUES(label), label),"
                " suggest = IF(suggest = 'submitted', VALUES(suggest), suggest)",
                DB_ARGS(DB_STR(trace_id), DB_STR(suggest), DB_STR(label))) != 0)
        goto DbError;
    if (db_affected_rows(db) == 0)
        *duplicate = 1;
    else if (apply_verdict(db, trace_id, suggest, label, changed) != 0)
        goto DbError;
    return 0;
DbError:
    log_error("media_check", "cannot store the verdict of trace=%s: %s", trace_id, db_error(db));
    return -1;
}

int media_check_store_result(db_conn_t *db, const char *trace_id, const char *suggest, const char *label,
                             int *duplicate, int *changed)
{
    if (db_begin(db) != 0 || media_check_store_result_in_tx(db, trace_id, suggest, label, duplicate, changed) != 0 ||
        db_commit(db) != 0) {
        db_rollback(db);
        return -1;
    }
    return 0;
}

/* Claims one due upload: bumps its attempt count and pushes its next try out
 * before the (slow) WeChat call, so another process does not take it too.
 * Returns 1 with id/openid/attempts, 0 if none is due, -1 on error. */
static int claim_due(db_conn_t *db, long long *id, char *openid, size_t osz, long long *attempts)
{
    db_rows_t *r = NULL;
    int rc = -1;
    if (db_begin(db) != 0)
        goto Exit;
    r = db_query(db,
                 "SELECT id, check_attempts FROM uploads"
                 " WHERE check_status IN ('unchecked', 'pending') AND check_next_at <= NOW(3)"
                 " AND check_attempts < ? ORDER BY check_next_at LIMIT 1 FOR UPDATE SKIP LOCKED",
                 DB_ARGS(DB_INT(MEDIA_CHECK_MAX_ATTEMPTS)));
    if (!r)
        goto Exit;
    if (r->nrows == 0) {
        rc = 0;
        goto Exit;
    }
    *id = db_cell_int(r, 0, 0);
    *attempts = db_cell_int(r, 0, 1) + 1;
    long long delay = gw_cfg->media_check_retry_s;
    for (long long i = 1; i < *attempts && delay < RETRY_MAX_DELAY_S; i++)
        delay *= 2;
    if (delay > RETRY_MAX_DELAY_S)
        delay = RETRY_MAX_DELAY_S;
    if (db_exec(db,
                "UPDATE uploads SET check_attempts = check_attempts + 1, check_next_at = NOW(3) + INTERVAL ? SECOND"
                " WHERE id = ?",
                DB_ARGS(DB_INT(delay), DB_INT(*id))) != 0)
        goto Exit;
    db_rows_free(r);
    r = db_query(db, "SELECT u.openid FROM uploads p JOIN users u ON u.id = p.user_id WHERE p.id = ?",
                 DB_ARGS(DB_INT(*id)));
    if (!r || r->nrows != 1)
        goto Exit;
    snprintf(openid, osz, "%s", db_cell(r, 0, 0));
    if (db_commit(db) != 0)
        goto Exit;
    rc = 1;
Exit:
    if (rc < 0)
        log_error("media_check", "cannot claim a due check: %s", db_error(db));
    if (rc != 1)
        db_rollback(db);
    db_rows_free(r);
    return rc;
}

void media_check_retry_job(db_conn_t *db)
{
    if (!media_check_enabled())
        return;
    for (int i = 0; i < RETRY_BATCH && !background_stopping(); i++) {
        long long id = 0, attempts = 0;
        char openid[128], trace[128];
        if (claim_due(db, &id, openid, sizeof(openid), &attempts) != 1)
            return;
        wx_status_t st;
        if (media_check_submit(id, openid, trace, sizeof(trace), &st) == 0) {
            media_check_record_submission(db, id, trace);
        } else if (attempts >= MEDIA_CHECK_MAX_ATTEMPTS) {
            log_warn("media_check", "upload=%lld stays unchecked after %lld attempts", id, attempts);
        }
    }
}
