/* notification_dispatcher.c: delivers the outbox (notification_events) as
 * WeChat subscribe messages, on its own background thread and connection.
 *
 * Each run claims due rows in a short transaction (SELECT ... FOR UPDATE
 * SKIP LOCKED, then status 'sending' with this process's lease), then sends
 * them one by one outside any transaction. Reading the claimed rows, their
 * users' grants and recording no_quota take one statement a chunk of up to
 * NB_CHUNK rows (notification_batch.h), not one a row:
 *
 *   claim      pending/retrying rows whose next_attempt_at has come, and
 *              'sending' rows whose lease expired (their process died)
 *   check      kind configured? attempts left? grant held? (no grant:
 *              no_quota without calling WeChat), for the whole chunk before
 *              its first send
 *   attempt    attempts + 1 and a fresh lease, only while the lease is still
 *              ours (a conditional UPDATE), then one HTTP send
 *   record     sent (msgid; a one-time grant consumed in the same statement),
 *              no_quota, failed, retrying (backoff + jitter) or dead, again
 *              only while the lease is ours
 *
 * Several processes never send one event at the same time: a row is claimed
 * by one transaction, and every later step checks lease_owner. Delivery is
 * at least once: if a process dies between the send and the record, the
 * lease expires and the row is sent again, so one message may repeat but
 * none is lost. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../gateway/background.h"
#include "../gateway/config.h"
#include "../gateway/json_util.h"
#include "../gateway/log.h"
#include "../gateway/mask.h"
#include "../gateway/metrics.h"
#include "../gateway/wechat_client.h"
#include "../gateway/wechat_subscribe.h"
#include "handlers.h"
#include "notification_batch.h"
#include "notification_policy.h"
#include "notification_templates.h"

#define MAX_BATCH 500
#define LAST_ERROR_CHARS 255

static char lease_owner[64]; /* host:pid:random, unique per process */

/* ---- claiming ---------------------------------------------------------------- */

/* Expired leases first (a dead process's rows), then retries, then new rows;
 * each query follows an index, so it locks little more than what it takes. */
static const char *SQL_SELECT_EXPIRED =
    "SELECT id FROM notification_events WHERE status = 'sending' AND lease_until < NOW(3)"
    " LIMIT ? FOR UPDATE SKIP LOCKED";
static const char *SQL_SELECT_DUE =
    "SELECT id FROM notification_events WHERE status = ? AND next_attempt_at <= NOW(3)"
    " ORDER BY next_attempt_at LIMIT ? FOR UPDATE SKIP LOCKED";
static const char *SQL_TAKE =
    "UPDATE notification_events SET status = 'sending', lease_owner = ?,"
    " lease_until = DATE_ADD(NOW(3), INTERVAL ? MICROSECOND) WHERE id" NB_IN_IDS;

static long long lease_us(void)
{
    return (long long)gw_cfg->notification_lease_ms * 1000;
}

/* Appends up to max - *n ids from one query. -1 on a database error. */
static int select_ids(db_conn_t *db, const char *sql, const char *status, long long *ids, int *n, int max)
{
    db_rows_t *r = status ? db_query(db, sql, DB_ARGS(DB_STR(status), DB_INT(max - *n)))
                          : db_query(db, sql, DB_ARGS(DB_INT(max - *n)));
    if (!r)
        return -1;
    for (int i = 0; i < r->nrows && *n < max; i++)
        ids[(*n)++] = db_cell_int(r, i, 0);
    db_rows_free(r);
    return 0;
}

/* The rows the caller's transaction has locked become this process's, a
 * chunk a statement. 0 or -1. */
static int take(db_conn_t *db, const long long *ids, int n)
{
    db_param_t p[2 + NB_CHUNK];
    for (int off = 0; off < n; off += NB_CHUNK) {
        p[0] = DB_STR(lease_owner);
        p[1] = DB_INT(lease_us());
        db_in_list_args(p + 2, ids + off, n - off < NB_CHUNK ? n - off : NB_CHUNK);
        if (db_exec(db, SQL_TAKE, p, 2 + NB_CHUNK) != 0)
            return -1;
    }
    return 0;
}

/* Claims up to max rows for this process. Returns how many, or -1. */
static int claim(db_conn_t *db, long long *ids, int max)
{
    int n = 0;

    if (db_begin(db) != 0 || select_ids(db, SQL_SELECT_EXPIRED, NULL, ids, &n, max) != 0 ||
        (n < max && select_ids(db, SQL_SELECT_DUE, "retrying", ids, &n, max) != 0) ||
        (n < max && select_ids(db, SQL_SELECT_DUE, "pending", ids, &n, max) != 0))
        goto DbError;
    if ((n > 0 && take(db, ids, n) != 0) || db_commit(db) != 0)
        goto DbError;
    return n;
DbError:
    log_error("notify", "claiming events failed (%u): %s", db_errno(db), db_error(db));
    db_rollback(db);
    return -1;
}

/* On shutdown: hands claimed rows back at once instead of after the lease. */
static void release(db_conn_t *db, long long id)
{
    db_exec(db,
            "UPDATE notification_events SET status = IF(attempts = 0, 'pending', 'retrying'),"
            " lease_owner = NULL, lease_until = NULL WHERE id = ? AND status = 'sending' AND lease_owner = ?",
            DB_ARGS(DB_INT(id), DB_STR(lease_owner)));
}

/* ---- one event --------------------------------------------------------------- */

typedef struct {
    long long id, user_id, ref_id;
    int attempts;
    int loaded;  /* still ours when the chunk was read */
    int to_send; /* checked, and held a grant: a WeChat send comes next */
    char kind[64], ref_type[48], created_at[24], openid[128];
    cJSON *payload;
    const ntpl_kind_t *k;
} event_t;

/* What one chunk reads once and its events share. */
typedef struct {
    nb_grants_t grants;
    const event_t *no_quota[NB_CHUNK]; /* held no grant: recorded together */
    int n_no_quota;
} chunk_t;

/* Reads the chunk's rows that are still ours, in one statement: evs[i] is
 * ids[i], with loaded 0 when the row is no longer ours. 0 or -1. */
static int load_events(db_conn_t *db, const long long *ids, int n, event_t *evs)
{
    db_param_t p[NB_CHUNK + 1];
    db_in_list_args(p, ids, n);
    p[NB_CHUNK] = DB_STR(lease_owner);
    db_rows_t *r = db_query(db,
                            "SELECT e.id, e.kind, e.user_id, e.ref_type, e.ref_id, e.payload, e.attempts,"
                            " DATE_FORMAT(e.created_at, '%Y-%m-%d %H:%i'), u.openid"
                            " FROM notification_events e JOIN users u ON u.id = e.user_id"
                            " WHERE e.id" NB_IN_IDS " AND e.status = 'sending' AND e.lease_owner = ?",
                            p, NB_CHUNK + 1);
    if (!r)
        return -1;
    for (int row = 0; row < r->nrows; row++) {
        long long id = db_cell_int(r, row, 0);
        event_t *ev = NULL;
        for (int i = 0; i < n && !ev; i++)
            if (ids[i] == id && !evs[i].loaded)
                ev = &evs[i];
        if (!ev)
            continue;
        ev->id = id;
        ev->loaded = 1;
        snprintf(ev->kind, sizeof ev->kind, "%s", db_cell(r, row, 1));
        ev->user_id = db_cell_int(r, row, 2);
        snprintf(ev->ref_type, sizeof ev->ref_type, "%s", db_cell(r, row, 3));
        ev->ref_id = db_cell_int(r, row, 4);
        const char *payload = db_cell(r, row, 5);
        ev->payload = payload ? cJSON_Parse(payload) : NULL;
        ev->attempts = (int)db_cell_int(r, row, 6);
        snprintf(ev->created_at, sizeof ev->created_at, "%s", db_cell(r, row, 7) ? db_cell(r, row, 7) : "");
        snprintf(ev->openid, sizeof ev->openid, "%s", db_cell(r, row, 8) ? db_cell(r, row, 8) : "");
    }
    db_rows_free(r);
    return 0;
}

/* Cuts text to what last_error holds, on a character boundary. */
static void fit_last_error(char *text)
{
    text[utf8_prefix_bytes(text, strlen(text), LAST_ERROR_CHARS)] = '\0';
}

/* no_quota, failed or dead; on 43101 (reset_grant) WeChat says the user holds
 * nothing, so the grant row is zeroed in the same transaction and the client
 * asks again. */
static void record_final(db_conn_t *db, const event_t *ev, const char *status, const int *errcode,
                         char *error, int reset_grant)
{
    fit_last_error(error);
    /* Only the grant reset makes it two rows, and a transaction. */
    if ((reset_grant && db_begin(db) != 0) ||
        db_exec(db,
                "UPDATE notification_events SET status = ?, last_errcode = ?, last_error = ?,"
                " lease_owner = NULL, lease_until = NULL WHERE id = ? AND status = 'sending' AND lease_owner = ?",
                DB_ARGS(DB_STR(status), errcode ? DB_INT(*errcode) : DB_NULL, DB_STR(error), DB_INT(ev->id),
                        DB_STR(lease_owner))) != 0)
        goto DbError;
    if (db_affected_rows(db) == 0) {
        if (reset_grant)
            db_rollback(db);
        log_warn("notify", "event %lld: lease lost before recording %s", ev->id, status);
        return;
    }
    if (reset_grant && db_exec(db,
                               "UPDATE notification_grants SET one_time_count = 0, long_term = 0"
                               " WHERE user_id = ? AND template_id = ?",
                               DB_ARGS(DB_INT(ev->user_id), DB_STR(ev->k->tpl->id))) != 0)
        goto DbError;
    if (reset_grant && db_commit(db) != 0)
        goto DbError;
    metrics_notification(status);
    log_warn("notify", "event %lld (%s, user %lld): %s: %s", ev->id, ev->kind, ev->user_id, status, error);
    return;
DbError:
    log_error("notify", "event %lld: recording %s failed (%u): %s", ev->id, status, db_errno(db), db_error(db));
    if (reset_grant)
        db_rollback(db);
}

/* no_quota for the chunk's events that held no grant: one statement per
 * template (its id is in the message). */
static void record_no_quota(db_conn_t *db, chunk_t *ch)
{
    int done[NB_CHUNK] = {0};
    db_param_t p[2 + NB_CHUNK];
    long long ids[NB_CHUNK];
    char error[256];

    for (int i = 0; i < ch->n_no_quota; i++) {
        if (done[i])
            continue;
        const ntpl_template_t *tpl = ch->no_quota[i]->k->tpl;
        int m = 0;
        for (int j = i; j < ch->n_no_quota; j++)
            if (!done[j] && ch->no_quota[j]->k->tpl == tpl) {
                ids[m++] = ch->no_quota[j]->id;
                done[j] = 1;
            }
        snprintf(error, sizeof error, "no subscription grant for template %s; not sent", tpl->id);
        fit_last_error(error);
        p[0] = DB_STR(error);
        db_in_list_args(p + 1, ids, m);
        p[1 + NB_CHUNK] = DB_STR(lease_owner);
        if (db_exec(db,
                    "UPDATE notification_events SET status = 'no_quota', last_errcode = NULL, last_error = ?,"
                    " lease_owner = NULL, lease_until = NULL"
                    " WHERE id" NB_IN_IDS " AND status = 'sending' AND lease_owner = ?",
                    p, 2 + NB_CHUNK) != 0) {
            log_error("notify", "recording no_quota for %d events failed (%u): %s", m, db_errno(db), db_error(db));
            continue;
        }
        long long recorded = (long long)db_affected_rows(db);
        for (int j = 0; j < ch->n_no_quota; j++) {
            const event_t *ev = ch->no_quota[j];
            if (ev->k->tpl != tpl)
                continue;
            if (recorded == m) {
                metrics_notification("no_quota");
                log_warn("notify", "event %lld (%s, user %lld): no_quota: %s", ev->id, ev->kind, ev->user_id, error);
            }
        }
        if (recorded < m) {
            for (long long k = 0; k < recorded; k++)
                metrics_notification("no_quota");
            log_warn("notify", "no_quota for template %s: %lld of %d events recorded, the others lost their lease",
                     tpl->id, recorded, m);
        }
    }
    ch->n_no_quota = 0;
}

/* sent, and a one-time grant consumed, in one statement (so one
 * transaction): the grant row joins only when it is to be consumed and has
 * one left. Nothing changes unless the lease is still ours. */
static const char *SQL_SENT_CONSUMING =
    "UPDATE notification_events e LEFT JOIN notification_grants g"
    " ON g.user_id = e.user_id AND g.template_id = ? AND g.one_time_count > 0"
    " SET e.status = 'sent', e.msgid = ?, e.sent_at = NOW(3), e.lease_owner = NULL, e.lease_until = NULL,"
    " g.one_time_count = g.one_time_count - 1"
    " WHERE e.id = ? AND e.status = 'sending' AND e.lease_owner = ?";
static const char *SQL_SENT =
    "UPDATE notification_events SET status = 'sent', msgid = ?, sent_at = NOW(3),"
    " lease_owner = NULL, lease_until = NULL WHERE id = ? AND status = 'sending' AND lease_owner = ?";

static void record_sent(db_conn_t *db, const event_t *ev, const char *msgid, int consume_grant, int attempts)
{
    int rc = consume_grant ? db_exec(db, SQL_SENT_CONSUMING,
                                     DB_ARGS(DB_STR(ev->k->tpl->id), DB_STR(msgid[0] ? msgid : NULL), DB_INT(ev->id),
                                             DB_STR(lease_owner)))
                           : db_exec(db, SQL_SENT,
                                     DB_ARGS(DB_STR(msgid[0] ? msgid : NULL), DB_INT(ev->id), DB_STR(lease_owner)));
    if (rc != 0) {
        /* The message went out; the lease will expire and it will go out again. */
        log_error("notify", "event %lld: sent (msgid %s) but recording failed (%u): %s", ev->id, msgid, db_errno(db),
                  db_error(db));
        return;
    }
    if (db_affected_rows(db) == 0) {
        log_warn("notify", "event %lld: sent (msgid %s) but the lease was lost; another process may send it again",
                 ev->id, msgid);
        return;
    }
    metrics_notification("sent");
    char who[64];
    mask_openid(ev->openid, who, sizeof who);
    log_info("notify", "event %lld (%s, user %lld, openid %s): sent, msgid %s, attempt %d", ev->id, ev->kind,
             ev->user_id, who, msgid, attempts);
}

static void record_retry(db_conn_t *db, const event_t *ev, int attempts, const wx_status_t *st, char *error)
{
    static _Thread_local unsigned seed;
    if (!seed)
        seed = (unsigned)time(NULL) ^ (unsigned)getpid() ^ (unsigned)ev->id * 2654435761u;
    long long delay = np_backoff_ms(attempts, gw_cfg->notification_retry_base_ms, gw_cfg->notification_retry_max_ms,
                                    (unsigned)rand_r(&seed));
    fit_last_error(error);
    if (db_exec(db,
                "UPDATE notification_events SET status = 'retrying', last_errcode = ?, last_error = ?,"
                " next_attempt_at = DATE_ADD(NOW(3), INTERVAL ? MICROSECOND), lease_owner = NULL, lease_until = NULL"
                " WHERE id = ? AND status = 'sending' AND lease_owner = ?",
                DB_ARGS(DB_INT(st->errcode), DB_STR(error), DB_INT(delay * 1000), DB_INT(ev->id),
                        DB_STR(lease_owner))) != 0) {
        log_error("notify", "event %lld: recording retrying failed (%u): %s", ev->id, db_errno(db), db_error(db));
        return;
    }
    metrics_notification("retrying");
    log_warn("notify", "event %lld (%s): attempt %d failed (%s); next in %lld ms", ev->id, ev->kind, attempts, error,
             delay);
}

/* The user's grant for the event's template (from the chunk's read, kept in
 * step with what this chunk consumed), or NULL when none is held; *consume
 * says whether sending uses one up (one-time) or not (long-term). */
static nb_grant_t *grant_held(const chunk_t *ch, const event_t *ev, int *consume)
{
    nb_grant_t *g = nb_grant_find(&ch->grants, ev->user_id, ev->k->tpl->id);
    int long_term = g && g->long_term && ev->k->tpl->long_term;
    *consume = !long_term;
    return g && (long_term || g->one_time_count > 0) ? g : NULL;
}

/* attempts + 1 and a fresh lease, if the row is still ours: 1 go, 0 lost, -1 error. */
static int start_attempt(db_conn_t *db, const event_t *ev)
{
    if (db_exec(db,
                "UPDATE notification_events SET attempts = attempts + 1, template_id = ?,"
                " lease_until = DATE_ADD(NOW(3), INTERVAL ? MICROSECOND)"
                " WHERE id = ? AND status = 'sending' AND lease_owner = ?",
                DB_ARGS(DB_STR(ev->k->tpl->id), DB_INT(lease_us()), DB_INT(ev->id), DB_STR(lease_owner))) != 0)
        return -1;
    return db_affected_rows(db) == 1;
}

static void send_event(db_conn_t *db, const chunk_t *ch, event_t *ev)
{
    char error[512], msgid[WX_MSGID_MAX];
    char *body = NULL;
    wx_status_t st;
    int consume = 1, started, attempts, rc;
    nb_grant_t *grant;
    np_outcome_t outcome;

    ntpl_event_t nev = {.kind = ev->kind, .ref_type = ev->ref_type, .ref_id = ev->ref_id, .payload = ev->payload,
                        .created_at = ev->created_at};
    cJSON *msg = ntpl_message(ev->k, &nev, ev->openid, gw_cfg->notification_miniprogram_state);
    if (!msg || !(body = cJSON_PrintUnformatted(msg))) {
        log_error("notify", "event %lld: out of memory building the message", ev->id);
        goto Exit; /* the lease expires and the row is tried again */
    }
    /* Again: an earlier send of this chunk may have used the last one up. */
    grant = grant_held(ch, ev, &consume);
    if (!grant) {
        snprintf(error, sizeof error, "no subscription grant for template %s; not sent", ev->k->tpl->id);
        record_final(db, ev, "no_quota", NULL, error, 0);
        goto Exit;
    }
    started = start_attempt(db, ev);
    if (started < 0)
        goto DbError;
    if (!started)
        goto Exit; /* another process took the row over */
    attempts = ev->attempts + 1;
    rc = wx_subscribe_send_once(body, msgid, &st);
    outcome = np_classify(rc, &st);
    snprintf(error, sizeof error, "%sWeChat %d: %s", rc == WX_SEND_NO_TOKEN ? "access token: " : "", st.errcode,
             st.errmsg);
    switch (outcome) {
    case NP_SENT:
        record_sent(db, ev, msgid, consume, attempts);
        if (consume && grant->one_time_count > 0)
            grant->one_time_count--;
        break;
    case NP_NO_QUOTA:
        record_final(db, ev, "no_quota", &st.errcode, error, 1);
        grant->one_time_count = 0;
        grant->long_term = 0;
        break;
    case NP_FAILED:
        if (st.errcode == 40037) {
            /* A configuration error: name the kind and template so it can be fixed. */
            char label[96];
            snprintf(error, sizeof error, "WeChat 40037: template %s of kind %s rejected (%s)", ev->k->tpl->id,
                     ev->kind, st.errmsg);
            snprintf(label, sizeof label, "template_rejected:%s", ev->kind);
            metrics_notification(label);
            log_error("notify", "template %s configured for kind %s was rejected by WeChat (40037); fix %s",
                      ev->k->tpl->id, ev->kind, gw_cfg->notification_templates_file);
        }
        record_final(db, ev, "failed", &st.errcode, error, 0);
        break;
    case NP_RETRY:
        if (attempts >= gw_cfg->notification_max_attempts)
            record_final(db, ev, "dead", &st.errcode, error, 0);
        else
            record_retry(db, ev, attempts, &st, error);
        break;
    }
    goto Exit;
DbError:
    log_error("notify", "event %lld: database error (%u): %s", ev->id, db_errno(db), db_error(db));
Exit:
    cJSON_Delete(msg);
    free(body);
}

/* What needs no WeChat call: an unknown kind is failed and a row out of
 * attempts is dead at once, one whose user holds no grant for it joins the
 * chunk's no_quota; the others get to_send. */
static void check_event(db_conn_t *db, chunk_t *ch, event_t *ev)
{
    char error[256];

    ev->k = ntpl_kind(notification_templates(), ev->kind);
    if (!ev->k) {
        snprintf(error, sizeof error, "no template configured for kind %s", ev->kind);
        record_final(db, ev, "failed", NULL, error, 0);
        log_error("notify", "event %lld: %s; add it to %s", ev->id, error, gw_cfg->notification_templates_file);
        return;
    }
    if (ev->attempts >= gw_cfg->notification_max_attempts) {
        /* Only a row whose lease expired after its last attempt gets here. */
        snprintf(error, sizeof error, "lease expired after attempt %d of %d; delivery unknown", ev->attempts,
                 gw_cfg->notification_max_attempts);
        record_final(db, ev, "dead", NULL, error, 0);
        return;
    }
    int consume;
    if (grant_held(ch, ev, &consume))
        ev->to_send = 1;
    else
        ch->no_quota[ch->n_no_quota++] = ev;
}

/* Delivers up to NB_CHUNK claimed rows: first records what needs no WeChat
 * call (so those rows are settled before any slow send), then sends the
 * rest in claim order. Returns how many rows it went through (fewer when the
 * process is stopping: the caller hands the rest back). */
static int process_chunk(db_conn_t *db, const long long *ids, int n)
{
    event_t evs[NB_CHUNK];
    long long users[NB_CHUNK];
    chunk_t ch = {0};
    int nusers = 0, done = 0;

    memset(evs, 0, sizeof evs);
    if (load_events(db, ids, n, evs) != 0) {
        log_error("notify", "loading %d events failed (%u): %s", n, db_errno(db), db_error(db));
        return n; /* the leases expire and the rows are tried again */
    }
    for (int i = 0; i < n; i++)
        if (evs[i].loaded)
            users[nusers++] = evs[i].user_id;
    if (nusers && nb_grants_load(db, users, nusers, &ch.grants) != 0) {
        log_error("notify", "loading grants failed (%u): %s", db_errno(db), db_error(db));
        done = n;
        goto Exit;
    }
    for (int i = 0; i < n; i++)
        if (evs[i].loaded)
            check_event(db, &ch, &evs[i]);
    record_no_quota(db, &ch);
    for (; done < n && !background_stopping(); done++)
        if (evs[done].to_send)
            send_event(db, &ch, &evs[done]);
Exit:
    nb_grants_free(&ch.grants);
    for (int i = 0; i < n; i++)
        cJSON_Delete(evs[i].payload);
    return done;
}

/* ---- the job ----------------------------------------------------------------- */

static void dispatch_run(db_conn_t *db)
{
    long long ids[MAX_BATCH];
    int batch = gw_cfg->notification_batch_size < MAX_BATCH ? gw_cfg->notification_batch_size : MAX_BATCH;

    while (!background_stopping()) {
        int n = claim(db, ids, batch), i = 0;
        if (n <= 0)
            break;
        while (i < n && !background_stopping())
            i += process_chunk(db, ids + i, n - i < NB_CHUNK ? n - i : NB_CHUNK);
        for (; i < n; i++)
            release(db, ids[i]);
        if (n < batch)
            break;
    }
    wx_client_thread_cleanup();
}

void notification_dispatcher_register(void)
{
    char host[32] = "host";
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();

    notification_templates(); /* a bad file stops the start here */
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    snprintf(lease_owner, sizeof lease_owner, "%s:%d:%04x", host, (int)getpid(), (unsigned)rand_r(&seed) & 0xffff);
    background_register("notify-dispatch", gw_cfg->notification_dispatch_interval_ms, dispatch_run);
}
