/* notification_dispatcher.c: delivers the outbox (notification_events) as
 * WeChat subscribe messages, on its own background thread and connection,
 * with up to notification_send_concurrency sends in flight at once.
 *
 * WeChat answers a send in 100-300 ms, so one send at a time delivers a few
 * messages a second; throughput is sends in flight / latency. The thread
 * therefore runs a pipeline: it drives a libcurl multi handle (wx_sender_t,
 * gateway/wechat_subscribe.h) and does the database work between polls,
 * every step on a chunk of up to NB_CHUNK rows a statement:
 *
 *   claim      pending/retrying rows whose next_attempt_at has come, and
 *              'sending' rows whose lease expired (their process died):
 *              one short transaction (SELECT ... FOR UPDATE SKIP LOCKED,
 *              then status 'sending' with this process's lease), whenever
 *              the pipeline has room for a batch; it holds at most
 *              concurrency + notification_batch_size rows
 *   check      kind configured? attempts left? (failed / dead at once)
 *   reserve    grant held? (the ledger, notification_batch.h: a one-time
 *              grant is reserved before its send; none: no_quota without
 *              calling WeChat; one in flight may come back: wait)
 *   start      attempts + 1 and a fresh lease, only for rows still ours (a
 *              conditional UPDATE), then the send goes on the wire
 *   record     sent (msgid; the one-time grants consumed) in one
 *              transaction per chunk, at most RECORD_DELAY_MS after the
 *              answer; no_quota, failed, retrying (backoff + jitter) and
 *              dead one row at a time (they are rare); always only while
 *              the lease is ours
 *   renew      every lease/3, the lease of every row the pipeline holds is
 *              extended, so however long a row waits for its turn its lease
 *              does not run out while this process lives
 *
 * Several processes never send one event at the same time: a row is claimed
 * by one transaction, and every later step checks lease_owner. Delivery is
 * at least once: if a process dies between a send and its record, the lease
 * expires and the row is sent again; what may repeat is what was in flight
 * or answered and not yet recorded.
 *
 * -1, 5xx, timeouts and transport errors are not retried on the spot: the
 * row goes to 'retrying' with the outbox's backoff. A retry in place would
 * hold a slot of the pipeline through its backoff; the outbox's retry keeps
 * every slot busy with sends that can succeed, counts the attempt on the
 * row, and survives a restart. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "gateway/background.h"
#include "gateway/config.h"
#include "gateway/json_util.h"
#include "gateway/log.h"
#include "gateway/mask.h"
#include "gateway/metrics.h"
#include "gateway/utf8.h"
#include "gateway/wechat_client.h"
#include "gateway/wechat_subscribe.h"
#include "handlers/handlers.h"
#include "domain/notifications/notification_batch.h"
#include "domain/notifications/notification_policy.h"
#include "domain/notifications/notification_templates.h"

#define MAX_BATCH 500
#define LAST_ERROR_CHARS 255
/* Longest a sent row waits for its batched record once no more answers
 * are coming soon: bounds what a crash can repeat. */
#define RECORD_DELAY_MS 50
#define POLL_MAX_MS 100

static char lease_owner[64]; /* host:pid:random, unique per process */

/* ---- claiming ---------------------------------------------------------------- */

/* Expired leases first (a dead process's rows), then retries, then new rows;
 * each query follows an index, so it locks little more than what it takes. */
static const char *SQL_SELECT_EXPIRED =
    "SELECT id FROM notification_events WHERE status = 'sending' AND lease_until < NOW(3)"
    " LIMIT ? FOR UPDATE SKIP LOCKED";
static const char *SQL_SELECT_DUE = "SELECT id FROM notification_events WHERE status = ? AND next_attempt_at <= NOW(3)"
                                    " ORDER BY next_attempt_at LIMIT ? FOR UPDATE SKIP LOCKED";
static const char *SQL_TAKE = "UPDATE notification_events SET status = 'sending', lease_owner = ?,"
                              " lease_until = DATE_ADD(NOW(3), INTERVAL ? MICROSECOND) WHERE id" NB_IN_IDS;
static const char *SQL_RENEW = "UPDATE notification_events SET lease_until = DATE_ADD(NOW(3), INTERVAL ? MICROSECOND)"
                               " WHERE id" NB_IN_IDS " AND status = 'sending' AND lease_owner = ?";

static long long lease_us(void)
{
    return (long long)gw_cfg->notification_lease_ms * 1000;
}

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Appends up to max - *n ids from one query. -1 on a database error. */
static int select_ids(db_conn_t *db, const char *sql, const char *status, long long *ids, int *n, int max)
{
    db_rows_t *r = status ? db_query(db, sql, DB_ARGS(DB_STR(status), DB_INT(max - *n)))
                          : db_query(db, sql, DB_ARGS(DB_INT(max - *n)));
    if (!r)
        return -1;
    for (int i = 0; i < r->nrows && *n < max; i++)
        ids[(*n)++] = db_get_int(r, i, "id");
    db_rows_free(r);
    return 0;
}

/* The same statement of (lease, ids..., owner) over ids, a chunk at a time:
 * how many rows changed, or -1. */
static long long exec_chunks(db_conn_t *db, const char *sql, const long long *ids, int n)
{
    db_param_t p[2 + NB_CHUNK];
    long long changed = 0;

    for (int off = 0; off < n; off += NB_CHUNK) {
        p[0] = DB_INT(lease_us());
        db_in_list_args(p + 1, ids + off, n - off < NB_CHUNK ? n - off : NB_CHUNK);
        p[1 + NB_CHUNK] = DB_STR(lease_owner);
        if (db_exec(db, sql, p, 2 + NB_CHUNK) != 0)
            return -1;
        changed += (long long)db_affected_rows(db);
    }
    return changed;
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

/* On shutdown: hands a claimed row back at once instead of after the lease. */
static void release(db_conn_t *db, long long id)
{
    db_exec(db,
            "UPDATE notification_events SET status = IF(attempts = 0, 'pending', 'retrying'),"
            " lease_owner = NULL, lease_until = NULL WHERE id = ? AND status = 'sending' AND lease_owner = ?",
            DB_ARGS(DB_INT(id), DB_STR(lease_owner)));
}

/* ---- the pipeline's events ----------------------------------------------------- */

typedef enum {
    EV_READY,   /* claimed and checked: waits for its grant and a free slot */
    EV_SENDING, /* on the wire */
    EV_SENT,    /* WeChat accepted it: waits for the batched record */
    EV_GONE,    /* settled (or handed back): removed at the end of the turn */
} ev_state_t;

typedef struct {
    long long id, user_id, ref_id;
    int attempts; /* before this claim's attempt */
    ev_state_t state;
    int consume; /* the send reserved a one-time grant */
    char kind[64], ref_type[48], created_at[24], openid[128];
    char msgid[WX_MSGID_MAX];
    cJSON *payload;
    char *body; /* the request body while on the wire */
    const ntpl_kind_t *k;
    nb_hold_t *grant;
} event_t;

typedef struct {
    db_conn_t *db;
    wx_sender_t *wx;
    nb_ledger_t ledger;
    event_t **evs; /* every event held, in claim order */
    int n, cap;
    int concurrency, batch;
    int n_sent;                        /* EV_SENT events awaiting their record */
    long long first_sent_ms;           /* when the oldest of them was answered */
    long long renewed_ms;              /* last lease renewal */
    long long claimed_ms;              /* last claim that found fewer rows than asked */
    int drained;                       /* that claim found the outbox empty for now */
    const event_t *no_quota[NB_CHUNK]; /* found without a grant this turn */
    int n_no_quota;
} pipe_t;

static void event_free(pipe_t *p, event_t *ev)
{
    nb_ledger_drop(&p->ledger, ev->grant);
    cJSON_Delete(ev->payload);
    free(ev->body);
    free(ev);
}

/* Reads the chunk's rows that are still ours, in one statement, and appends
 * them to the pipeline. 0 or -1. */
static int load_events(pipe_t *p, const long long *ids, int n)
{
    db_param_t prm[NB_CHUNK + 1];
    int rc = -1;

    db_in_list_args(prm, ids, n);
    prm[NB_CHUNK] = DB_STR(lease_owner);
    db_rows_t *r = db_query(p->db,
                            "SELECT e.id, e.kind, e.user_id, e.ref_type, e.ref_id, e.payload, e.attempts,"
                            " DATE_FORMAT(e.created_at, '%Y-%m-%d %H:%i') AS created, u.openid"
                            " FROM notification_events e JOIN users u ON u.id = e.user_id"
                            " WHERE e.id" NB_IN_IDS " AND e.status = 'sending' AND e.lease_owner = ?"
                            " ORDER BY e.id",
                            prm, NB_CHUNK + 1);
    if (!r)
        return -1;
    for (int row = 0; row < r->nrows; row++) {
        event_t *ev = calloc(1, sizeof *ev);
        if (!ev)
            goto Exit; /* the rest stay claimed: their leases expire */
        ev->id = db_get_int(r, row, "id");
        utf8_copy(ev->kind, sizeof ev->kind, db_get(r, row, "kind"));
        ev->user_id = db_get_int(r, row, "user_id");
        utf8_copy(ev->ref_type, sizeof ev->ref_type, db_get(r, row, "ref_type"));
        ev->ref_id = db_get_int(r, row, "ref_id");
        const char *payload = db_get(r, row, "payload");
        ev->payload = payload ? cJSON_Parse(payload) : NULL;
        ev->attempts = (int)db_get_int(r, row, "attempts");
        utf8_copy(ev->created_at, sizeof ev->created_at,
                  db_is_null(r, row, "created") ? "" : db_get(r, row, "created"));
        utf8_copy(ev->openid, sizeof ev->openid, db_is_null(r, row, "openid") ? "" : db_get(r, row, "openid"));
        p->evs[p->n++] = ev;
    }
    rc = 0;
Exit:
    db_rows_free(r);
    return rc;
}

/* Cuts text to what last_error holds, on a character boundary. */
static void fit_last_error(char *text)
{
    text[utf8_prefix_bytes(text, strlen(text), LAST_ERROR_CHARS)] = '\0';
}

/* Whether recording a final status also zeroes the user's grant. */
typedef enum { KEEP_GRANT, RESET_GRANT } grant_reset_t;

/* no_quota, failed or dead; on 43101 (RESET_GRANT) WeChat says the user holds
 * nothing, so the grant row is zeroed in the same transaction and the client
 * asks again. */
static void record_final(db_conn_t *db, const event_t *ev, const char *status, const int *errcode, char *error,
                         grant_reset_t grant)
{
    fit_last_error(error);
    /* Only the grant reset makes it two rows, and a transaction. */
    if ((grant == RESET_GRANT && db_begin(db) != 0) ||
        db_exec(db,
                "UPDATE notification_events SET status = ?, last_errcode = ?, last_error = ?,"
                " lease_owner = NULL, lease_until = NULL WHERE id = ? AND status = 'sending' AND lease_owner = ?",
                DB_ARGS(DB_STR(status), errcode ? DB_INT(*errcode) : DB_NULL, DB_STR(error), DB_INT(ev->id),
                        DB_STR(lease_owner))) != 0)
        goto DbError;
    if (db_affected_rows(db) == 0) {
        if (grant == RESET_GRANT)
            db_rollback(db);
        log_warn("notify", "event %lld: lease lost before recording %s", ev->id, status);
        return;
    }
    if (grant == RESET_GRANT && db_exec(db,
                                        "UPDATE notification_grants SET one_time_count = 0, long_term = 0"
                                        " WHERE user_id = ? AND template_id = ?",
                                        DB_ARGS(DB_INT(ev->user_id), DB_STR(ev->k->tpl->id))) != 0)
        goto DbError;
    if (grant == RESET_GRANT && db_commit(db) != 0)
        goto DbError;
    metrics_notification(status);
    log_warn("notify", "event %lld (%s, user %lld): %s: %s", ev->id, ev->kind, ev->user_id, status, error);
    return;
DbError:
    log_error("notify", "event %lld: recording %s failed (%u): %s", ev->id, status, db_errno(db), db_error(db));
    if (grant == RESET_GRANT)
        db_rollback(db);
}

/* no_quota for the events of this turn that held no grant: one statement per
 * template (its id is in the message). */
static void record_no_quota(pipe_t *p)
{
    int done[NB_CHUNK] = {0};
    db_param_t prm[2 + NB_CHUNK];
    long long ids[NB_CHUNK];
    char error[256];
    db_conn_t *db = p->db;

    for (int i = 0; i < p->n_no_quota; i++) {
        if (done[i])
            continue;
        const ntpl_template_t *tpl = p->no_quota[i]->k->tpl;
        int m = 0;
        for (int j = i; j < p->n_no_quota; j++)
            if (!done[j] && p->no_quota[j]->k->tpl == tpl) {
                ids[m++] = p->no_quota[j]->id;
                done[j] = 1;
            }
        snprintf(error, sizeof error, "no subscription grant for template %s; not sent", tpl->id);
        fit_last_error(error);
        prm[0] = DB_STR(error);
        db_in_list_args(prm + 1, ids, m);
        prm[1 + NB_CHUNK] = DB_STR(lease_owner);
        if (db_exec(db,
                    "UPDATE notification_events SET status = 'no_quota', last_errcode = NULL, last_error = ?,"
                    " lease_owner = NULL, lease_until = NULL"
                    " WHERE id" NB_IN_IDS " AND status = 'sending' AND lease_owner = ?",
                    prm, 2 + NB_CHUNK) != 0) {
            log_error("notify", "recording no_quota for %d events failed (%u): %s", m, db_errno(db), db_error(db));
            continue;
        }
        long long recorded = (long long)db_affected_rows(db);
        for (int j = 0; j < p->n_no_quota; j++) {
            const event_t *ev = p->no_quota[j];
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
    p->n_no_quota = 0;
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
    if (db_affected_rows(db) == 0) {
        log_warn("notify", "event %lld: lease lost before recording retrying", ev->id);
        return;
    }
    metrics_notification("retrying");
    log_warn("notify", "event %lld (%s): attempt %d failed (%s); next in %lld ms", ev->id, ev->kind, attempts, error,
             delay);
}

/* ---- recording sends WeChat accepted, a chunk a transaction -------------------- */

#define WHEN4 "WHEN ? THEN ? WHEN ? THEN ? WHEN ? THEN ? WHEN ? THEN ? "
#define WHEN32 WHEN4 WHEN4 WHEN4 WHEN4 WHEN4 WHEN4 WHEN4 WHEN4 /* NB_CHUNK pairs */

static const char *SQL_OURS =
    "SELECT id FROM notification_events WHERE id" NB_IN_IDS " AND status = 'sending' AND lease_owner = ?"
    " FOR UPDATE";
static const char *SQL_SENT_MANY =
    "UPDATE notification_events SET status = 'sent', msgid = CASE id " WHEN32 "ELSE msgid END,"
    " sent_at = NOW(3), lease_owner = NULL, lease_until = NULL"
    " WHERE id" NB_IN_IDS " AND status = 'sending' AND lease_owner = ?";
/* The grants of one template a chunk consumed, by user: a user may have
 * several events in the chunk. Rows are locked in primary-key order (the IN
 * list is a range over the key), the same order in every process, so two
 * processes recording at once wait for each other instead of deadlocking.
 * Never below zero (the row's CHECK): a grant the user lost meanwhile is
 * not owed. */
static const char *SQL_CONSUME =
    "UPDATE notification_grants SET one_time_count = GREATEST(one_time_count - CASE user_id " WHEN32
    "ELSE 0 END, 0) WHERE template_id = ? AND user_id" NB_IN_IDS;

/* Consumes the grants of the consuming events among evs[0..n) (ours[i]):
 * one statement per template. 0 or -1. */
static int consume_grants(db_conn_t *db, event_t *const *evs, int n, const int *ours)
{
    db_param_t prm[2 * NB_CHUNK + 1 + NB_CHUNK];
    long long users[NB_CHUNK], counts[NB_CHUNK];
    int done[NB_CHUNK] = {0};

    for (int i = 0; i < n; i++) {
        if (done[i] || !ours[i] || !evs[i]->consume)
            continue;
        const char *tpl = evs[i]->k->tpl->id;
        int m = 0;
        for (int j = i; j < n; j++) {
            if (done[j] || !ours[j] || !evs[j]->consume || strcasecmp(evs[j]->k->tpl->id, tpl))
                continue;
            done[j] = 1;
            int u = 0;
            while (u < m && users[u] != evs[j]->user_id)
                u++;
            if (u == m) {
                users[m] = evs[j]->user_id;
                counts[m++] = 0;
            }
            counts[u]++;
        }
        for (int k = 0; k < NB_CHUNK; k++) { /* unused pairs repeat the first */
            prm[2 * k] = DB_INT(users[k < m ? k : 0]);
            prm[2 * k + 1] = DB_INT(counts[k < m ? k : 0]);
        }
        prm[2 * NB_CHUNK] = DB_STR(tpl);
        db_in_list_args(prm + 2 * NB_CHUNK + 1, users, m);
        if (db_exec(db, SQL_CONSUME, prm, 3 * NB_CHUNK + 1) != 0)
            return -1;
    }
    return 0;
}

/* The events of evs (all EV_SENT) that are still ours become 'sent', and
 * the one-time grants they reserved are consumed, in one transaction; ours[i]
 * says whether evs[i] was still ours. 0, or -1 (nothing was recorded). */
static int record_sent_chunk(db_conn_t *db, event_t *const *evs, int n, int *ours)
{
    db_param_t prm[2 * NB_CHUNK + NB_CHUNK + 1];
    long long ids[NB_CHUNK], mine[NB_CHUNK];
    int n_mine = 0;

    for (int i = 0; i < n; i++) {
        ids[i] = evs[i]->id;
        ours[i] = 0;
    }
    db_in_list_args(prm, ids, n);
    prm[NB_CHUNK] = DB_STR(lease_owner);
    if (db_begin(db) != 0)
        return -1;
    db_rows_t *r = db_query(db, SQL_OURS, prm, NB_CHUNK + 1);
    if (!r)
        goto DbError;
    for (int row = 0; row < r->nrows; row++) {
        long long id = db_get_int(r, row, "id");
        for (int i = 0; i < n; i++)
            if (evs[i]->id == id)
                ours[i] = 1;
    }
    db_rows_free(r);
    for (int i = 0; i < n; i++) {
        if (!ours[i])
            continue;
        mine[n_mine] = evs[i]->id;
        /* msgid "" is recorded as NULL, as WeChat gave none */
        prm[2 * n_mine] = DB_INT(evs[i]->id);
        prm[2 * n_mine + 1] = DB_STR(evs[i]->msgid[0] ? evs[i]->msgid : NULL);
        n_mine++;
    }
    if (n_mine == 0)
        goto Commit;
    for (int i = n_mine; i < NB_CHUNK; i++) { /* unused pairs repeat the first */
        prm[2 * i] = prm[0];
        prm[2 * i + 1] = prm[1];
    }
    db_in_list_args(prm + 2 * NB_CHUNK, mine, n_mine);
    prm[3 * NB_CHUNK] = DB_STR(lease_owner);
    if (db_exec(db, SQL_SENT_MANY, prm, 3 * NB_CHUNK + 1) != 0)
        goto DbError;
    if (consume_grants(db, evs, n, ours) != 0)
        goto DbError;
Commit:
    if (db_commit(db) != 0)
        goto DbError;
    return 0;
DbError:
    log_error("notify", "recording %d sent events failed (%u): %s", n, db_errno(db), db_error(db));
    db_rollback(db);
    return -1;
}

/* A deadlock or lock wait timeout rolled the transaction back: it can simply
 * run again. */
static int transient(db_conn_t *db)
{
    return db_errno(db) == 1213 || db_errno(db) == 1205;
}

/* Records every EV_SENT event, NB_CHUNK a transaction. */
static void record_sent(pipe_t *p)
{
    event_t *chunk[NB_CHUNK];
    int ours[NB_CHUNK], m = 0;

    for (int i = 0; i <= p->n; i++) {
        if (i < p->n && p->evs[i]->state == EV_SENT)
            chunk[m++] = p->evs[i];
        if (m == 0 || (m < NB_CHUNK && i < p->n))
            continue;
        int failed, tries = 0;
        while ((failed = record_sent_chunk(p->db, chunk, m, ours) != 0) && transient(p->db) && ++tries < 3)
            ;
        for (int j = 0; j < m; j++) {
            event_t *ev = chunk[j];
            char who[64];
            if (failed) /* the message went out; the lease will expire and it will go out again */
                log_error("notify", "event %lld: sent (msgid %s) but recording failed", ev->id, ev->msgid);
            else if (!ours[j])
                log_warn("notify",
                         "event %lld: sent (msgid %s) but the lease was lost; another process may send it again",
                         ev->id, ev->msgid);
            else {
                metrics_notification("sent");
                mask_openid(ev->openid, who, sizeof who);
                log_info("notify", "event %lld (%s, user %lld, openid %s): sent, msgid %s, attempt %d", ev->id,
                         ev->kind, ev->user_id, who, ev->msgid, ev->attempts + 1);
            }
            ev->state = EV_GONE;
        }
        m = 0;
    }
    p->n_sent = 0;
}

/* ---- answers ----------------------------------------------------------------- */

/* What WeChat's answer (or the lack of one) means for the row. */
static void settle(pipe_t *p, event_t *ev, int rc, const wx_status_t *st, const char *msgid)
{
    char error[512];
    int attempts = ev->attempts + 1;
    np_outcome_t outcome = np_classify(rc, st);

    free(ev->body);
    ev->body = NULL;
    snprintf(error, sizeof error, "%sWeChat %d: %s", rc == WX_SEND_NO_TOKEN ? "access token: " : "", st->errcode,
             st->errmsg);
    switch (outcome) {
    case NP_SENT:
        nb_ledger_settle(ev->grant, ev->consume, NB_SENT);
        utf8_copy(ev->msgid, sizeof ev->msgid, msgid);
        ev->state = EV_SENT;
        if (p->n_sent++ == 0)
            p->first_sent_ms = now_ms();
        return;
    case NP_NO_QUOTA:
        nb_ledger_settle(ev->grant, ev->consume, NB_REVOKED);
        record_final(p->db, ev, "no_quota", &st->errcode, error, RESET_GRANT);
        break;
    case NP_FAILED:
        nb_ledger_settle(ev->grant, ev->consume, NB_UNSENT);
        if (st->errcode == 40037) {
            /* A configuration error: name the kind and template so it can be fixed. */
            char label[96];
            snprintf(error, sizeof error, "WeChat 40037: template %s of kind %s rejected (%s)", ev->k->tpl->id,
                     ev->kind, st->errmsg);
            snprintf(label, sizeof label, "template_rejected:%s", ev->kind);
            metrics_notification(label);
            log_error("notify", "template %s configured for kind %s was rejected by WeChat (40037); fix %s",
                      ev->k->tpl->id, ev->kind, gw_cfg->notification_templates_file);
        }
        record_final(p->db, ev, "failed", &st->errcode, error, KEEP_GRANT);
        break;
    case NP_RETRY:
        nb_ledger_settle(ev->grant, ev->consume, NB_UNSENT);
        if (attempts >= gw_cfg->notification_max_attempts)
            record_final(p->db, ev, "dead", &st->errcode, error, KEEP_GRANT);
        else
            record_retry(p->db, ev, attempts, st, error);
        break;
    }
    ev->state = EV_GONE;
}

static void on_sent(const wx_sent_t *sent, void *ctx)
{
    settle(ctx, sent->ud, sent->rc, &sent->st, sent->msgid);
}

/* ---- filling the pipeline -------------------------------------------------------- */

/* The checks that need no WeChat call: an unknown kind is failed and a row
 * out of attempts is dead at once; the others take their grant's ledger
 * entry. grants: the database's rows for the chunk's users. */
static void check_event(pipe_t *p, event_t *ev, const nb_grants_t *grants)
{
    char error[256];

    ev->k = ntpl_kind(notification_templates(), ev->kind);
    if (!ev->k) {
        snprintf(error, sizeof error, "no template configured for kind %s", ev->kind);
        record_final(p->db, ev, "failed", NULL, error, KEEP_GRANT);
        log_error("notify", "event %lld: %s; add it to %s", ev->id, error, gw_cfg->notification_templates_file);
        ev->state = EV_GONE;
        return;
    }
    if (ev->attempts >= gw_cfg->notification_max_attempts) {
        /* Only a row whose lease expired after its last attempt gets here. */
        snprintf(error, sizeof error, "lease expired after attempt %d of %d; delivery unknown", ev->attempts,
                 gw_cfg->notification_max_attempts);
        record_final(p->db, ev, "dead", NULL, error, KEEP_GRANT);
        ev->state = EV_GONE;
        return;
    }
    ev->grant =
        nb_ledger_hold(&p->ledger, ev->user_id, ev->k->tpl->id, nb_grant_find(grants, ev->user_id, ev->k->tpl->id));
    if (!ev->grant) {
        log_error("notify", "event %lld: out of memory; handed back", ev->id);
        release(p->db, ev->id);
        ev->state = EV_GONE;
    }
}

/* Claims one batch, reads it a chunk at a time and checks it. Returns how
 * many rows were claimed, or -1. */
static int fill(pipe_t *p, int want)
{
    long long ids[MAX_BATCH], users[NB_CHUNK];
    int got = claim(p->db, ids, want), n = 0;

    /* A row of ours whose lease ran out (the thread stalled longer than the
     * renewals allow) comes back as expired: it is held already, and now
     * its lease is fresh again. */
    for (int i = 0; i < got; i++) {
        int held = 0;
        for (int j = 0; j < p->n && !held; j++)
            held = p->evs[j]->id == ids[i];
        if (!held)
            ids[n++] = ids[i];
    }
    for (int off = 0; off < n; off += NB_CHUNK) {
        int m = n - off < NB_CHUNK ? n - off : NB_CHUNK, first = p->n, nusers = 0;
        nb_grants_t grants = {0};
        if (load_events(p, ids + off, m) != 0) {
            log_error("notify", "loading %d events failed (%u): %s", m, db_errno(p->db), db_error(p->db));
            continue; /* the leases expire and the rows are tried again */
        }
        for (int i = first; i < p->n; i++)
            users[nusers++] = p->evs[i]->user_id;
        if (nusers && nb_grants_load(p->db, users, nusers, &grants) != 0) {
            log_error("notify", "loading grants failed (%u): %s", db_errno(p->db), db_error(p->db));
            for (int i = first; i < p->n; i++) {
                release(p->db, p->evs[i]->id);
                p->evs[i]->state = EV_GONE;
            }
            continue;
        }
        for (int i = first; i < p->n; i++)
            check_event(p, p->evs[i], &grants);
        nb_grants_free(&grants);
    }
    return got;
}

/* ---- starting sends ---------------------------------------------------------------- */

static const char *SQL_START = "UPDATE notification_events SET attempts = attempts + 1, template_id = CASE id " WHEN32
                               "ELSE template_id END, lease_until = DATE_ADD(NOW(3), INTERVAL ? MICROSECOND)"
                               " WHERE id" NB_IN_IDS " AND status = 'sending' AND lease_owner = ?";

/* attempts + 1 and a fresh lease for the rows still ours, one statement;
 * started[i] says whether evs[i] was. 0 or -1. */
static int start_attempts(db_conn_t *db, event_t *const *evs, int n, int *started)
{
    db_param_t prm[2 * NB_CHUNK + 1 + NB_CHUNK + 1];
    long long ids[NB_CHUNK];

    for (int i = 0; i < NB_CHUNK; i++) {
        const event_t *ev = evs[i < n ? i : 0];
        prm[2 * i] = DB_INT(ev->id);
        prm[2 * i + 1] = DB_STR(ev->k->tpl->id);
    }
    for (int i = 0; i < n; i++) {
        ids[i] = evs[i]->id;
        started[i] = 1;
    }
    prm[2 * NB_CHUNK] = DB_INT(lease_us());
    db_in_list_args(prm + 2 * NB_CHUNK + 1, ids, n);
    prm[3 * NB_CHUNK + 1] = DB_STR(lease_owner);
    if (db_exec(db, SQL_START, prm, 3 * NB_CHUNK + 2) != 0)
        return -1;
    if ((int)db_affected_rows(db) == n)
        return 0;
    /* Some row was taken over (its lease had expired): find which are ours. */
    db_in_list_args(prm, ids, n);
    prm[NB_CHUNK] = DB_STR(lease_owner);
    db_rows_t *r = db_query(
        db, "SELECT id FROM notification_events WHERE id" NB_IN_IDS " AND status = 'sending' AND lease_owner = ?", prm,
        NB_CHUNK + 1);
    if (!r)
        return -1;
    for (int i = 0; i < n; i++) {
        started[i] = 0;
        for (int row = 0; row < r->nrows; row++)
            if (db_get_int(r, row, "id") == ids[i])
                started[i] = 1;
    }
    db_rows_free(r);
    return 0;
}

/* Puts a chunk of reserved events on the wire. */
static void start_chunk(pipe_t *p, event_t *const *evs, int n)
{
    int started[NB_CHUNK];
    wx_status_t no_token = {0};
    int token_failed = 0;

    if (start_attempts(p->db, evs, n, started) != 0) {
        log_error("notify", "starting %d sends failed (%u): %s", n, db_errno(p->db), db_error(p->db));
        for (int i = 0; i < n; i++) { /* not sent; the leases expire and the rows are tried again */
            nb_ledger_settle(evs[i]->grant, evs[i]->consume, NB_UNSENT);
            evs[i]->state = EV_GONE;
        }
        return;
    }
    for (int i = 0; i < n; i++) {
        event_t *ev = evs[i];
        wx_status_t st;
        if (!started[i]) {
            log_warn("notify", "event %lld: taken over by another process before its send", ev->id);
            nb_ledger_settle(ev->grant, ev->consume, NB_UNSENT);
            ev->state = EV_GONE;
            continue;
        }
        /* Once no token could be had, the rest of the chunk fails the same
         * way without asking again: each ask may wait for a fetch. */
        int rc = token_failed ? WX_SEND_NO_TOKEN : wx_sender_add(p->wx, ev->body, ev, &st);
        if (rc == WX_SEND_OK) {
            ev->state = EV_SENDING;
            continue;
        }
        if (rc == WX_SEND_NO_TOKEN && !token_failed) {
            token_failed = 1;
            no_token = st;
        }
        settle(p, ev, rc, token_failed ? &no_token : &st, "");
    }
}

/* Starts sends for the ready events, in claim order, while slots are free. */
static void launch(pipe_t *p)
{
    event_t *chunk[NB_CHUNK];
    int m = 0, room = p->concurrency - wx_sender_in_flight(p->wx);

    for (int i = 0; i < p->n && room > 0; i++) {
        event_t *ev = p->evs[i];
        nb_verdict_t v;
        if (ev->state != EV_READY)
            continue;
        v = nb_ledger_reserve(ev->grant, ev->k->tpl->long_term, &ev->consume);
        if (v == NB_WAIT)
            continue;
        if (v == NB_NONE) {
            ev->state = EV_GONE;
            p->no_quota[p->n_no_quota++] = ev;
            if (p->n_no_quota == NB_CHUNK)
                record_no_quota(p);
            continue;
        }
        ntpl_event_t nev = {.kind = ev->kind,
                            .ref_type = ev->ref_type,
                            .ref_id = ev->ref_id,
                            .payload = ev->payload,
                            .created_at = ev->created_at};
        cJSON *msg = ntpl_message(ev->k, &nev, ev->openid, gw_cfg->notification_miniprogram_state);
        ev->body = msg ? cJSON_PrintUnformatted(msg) : NULL;
        cJSON_Delete(msg);
        if (!ev->body) {
            log_error("notify", "event %lld: out of memory building the message; handed back", ev->id);
            nb_ledger_settle(ev->grant, ev->consume, NB_UNSENT);
            release(p->db, ev->id);
            ev->state = EV_GONE;
            continue;
        }
        ev->state = EV_SENDING; /* not READY any more, even before its start */
        chunk[m++] = ev;
        room--;
        if (m == NB_CHUNK) {
            start_chunk(p, chunk, m);
            m = 0;
        }
    }
    if (m > 0)
        start_chunk(p, chunk, m);
    record_no_quota(p);
}

/* ---- the job ----------------------------------------------------------------- */

/* Drops the settled events, keeping claim order. */
static void compact(pipe_t *p)
{
    int k = 0;

    for (int i = 0; i < p->n; i++) {
        if (p->evs[i]->state == EV_GONE)
            event_free(p, p->evs[i]);
        else
            p->evs[k++] = p->evs[i];
    }
    p->n = k;
}

static void renew(pipe_t *p)
{
    long long ids[MAX_BATCH + WX_SENDER_MAX];
    int n = 0;

    for (int i = 0; i < p->n; i++)
        if (p->evs[i]->state != EV_GONE)
            ids[n++] = p->evs[i]->id;
    if (n > 0 && exec_chunks(p->db, SQL_RENEW, ids, n) < 0)
        log_error("notify", "renewing %d leases failed (%u): %s", n, db_errno(p->db), db_error(p->db));
    p->renewed_ms = now_ms();
}

/* Ready events that may start now. */
static int has_ready(const pipe_t *p)
{
    for (int i = 0; i < p->n; i++)
        if (p->evs[i]->state == EV_READY)
            return 1;
    return 0;
}

/* How long the next poll may wait: until the oldest answer must be recorded,
 * the leases renewed, or the outbox looked at again. */
static int poll_ms(const pipe_t *p, long long now)
{
    long long t = POLL_MAX_MS, d;

    if (p->n_sent > 0 && (d = p->first_sent_ms + RECORD_DELAY_MS - now) < t)
        t = d;
    if ((d = p->renewed_ms + gw_cfg->notification_lease_ms / 3 - now) < t)
        t = d;
    if (p->drained && (d = p->claimed_ms + gw_cfg->notification_dispatch_interval_ms - now) < t)
        t = d;
    return t > 0 ? (int)t : 0;
}

/* Whether the sent events should be recorded now: a chunk is full, no more
 * answers are on the way, or the oldest has waited long enough. */
static int record_due(const pipe_t *p, long long now)
{
    return p->n_sent > 0 && (p->n_sent >= NB_CHUNK || wx_sender_in_flight(p->wx) == 0 ||
                             now - p->first_sent_ms >= RECORD_DELAY_MS || background_stopping());
}

/* On shutdown: the sends in flight end (each within its timeout), what was
 * answered is recorded, and what never started is handed back. */
static void drain(pipe_t *p)
{
    while (wx_sender_in_flight(p->wx) > 0)
        if (wx_sender_run(p->wx, POLL_MAX_MS, on_sent, p) < 0)
            break;
    record_sent(p);
    for (int i = 0; i < p->n; i++)
        if (p->evs[i]->state == EV_READY) {
            release(p->db, p->evs[i]->id);
            p->evs[i]->state = EV_GONE;
        }
    compact(p);
}

/* The sender outlives a run, so its connections to WeChat stay open from
 * one run to the next; it is freed with the dispatcher's thread. */
static pthread_key_t sender_key;
static pthread_once_t sender_once = PTHREAD_ONCE_INIT;

static void sender_destroy(void *s)
{
    wx_sender_free(s);
}

static void sender_key_init(void)
{
    if (pthread_key_create(&sender_key, sender_destroy) != 0)
        log_error("notify", "pthread_key_create failed");
}

static wx_sender_t *thread_sender(int concurrency)
{
    pthread_once(&sender_once, sender_key_init);
    wx_sender_t *s = pthread_getspecific(sender_key);
    if (s && wx_sender_capacity(s) != concurrency) { /* the configuration changed */
        wx_sender_free(s);
        pthread_setspecific(sender_key, NULL);
        s = NULL;
    }
    if (!s && (s = wx_sender_new(concurrency)) && pthread_setspecific(sender_key, s) != 0) {
        wx_sender_free(s);
        s = NULL;
    }
    return s;
}

static void dispatch_run(db_conn_t *db)
{
    pipe_t p = {.db = db};
    int batch = gw_cfg->notification_batch_size < MAX_BATCH ? gw_cfg->notification_batch_size : MAX_BATCH;

    p.concurrency = gw_cfg->notification_send_concurrency;
    p.batch = batch;
    p.cap = p.concurrency + batch;
    p.evs = calloc((size_t)p.cap, sizeof *p.evs);
    p.wx = thread_sender(p.concurrency);
    if (!p.evs || !p.wx) {
        log_error("notify", "out of memory starting the dispatcher; next run in %d ms",
                  gw_cfg->notification_dispatch_interval_ms);
        goto Exit;
    }
    p.renewed_ms = now_ms();
    while (!background_stopping()) {
        long long now = now_ms();
        if (now - p.renewed_ms >= gw_cfg->notification_lease_ms / 3)
            renew(&p);
        if (p.drained && now - p.claimed_ms >= gw_cfg->notification_dispatch_interval_ms)
            p.drained = 0;
        /* A batch at a time while one fits, or whatever fits once nothing
         * is left to start: claimed rows wait no longer than needed. */
        while (!p.drained && (p.cap - p.n >= batch || (p.n < p.cap && !has_ready(&p)))) {
            int want = p.cap - p.n < batch ? p.cap - p.n : batch;
            int got = fill(&p, want);
            if (got < want) {
                p.drained = 1;
                p.claimed_ms = now_ms();
            }
            if (got <= 0)
                break;
        }
        launch(&p);
        if (record_due(&p, now_ms()))
            record_sent(&p);
        compact(&p);
        if (p.n == 0 && p.drained)
            break; /* idle: the next run comes after the interval */
        if (wx_sender_run(p.wx, poll_ms(&p, now_ms()), on_sent, &p) < 0) {
            log_error("notify", "the WeChat sender failed; stopping this run");
            break;
        }
        if (record_due(&p, now_ms()))
            record_sent(&p);
        compact(&p);
    }
    drain(&p);
Exit:
    if (p.wx && wx_sender_in_flight(p.wx) > 0) {
        /* only when the sender failed: it may still point at the events' bodies */
        wx_sender_free(p.wx);
        pthread_setspecific(sender_key, NULL);
    }
    for (int i = 0; i < p.n; i++)
        event_free(&p, p.evs[i]);
    free(p.evs);
    nb_ledger_free(&p.ledger);
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
