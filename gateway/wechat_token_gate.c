/* wechat_token_gate.c: see wechat_token_gate.h. */
#include "wechat_token_gate.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "log.h"
#include "wechat_client.h"

static struct {
    pthread_mutex_t mu; /* held from a begin() that answered 1 to its end() */
    db_conn_t *db;
    char owner[64]; /* host:pid */
} g = {.mu = PTHREAD_MUTEX_INITIALIZER};

static db_conn_t *connection(void)
{
    if (!g.db) {
        db_params_t p = {
            .unix_socket = gw_cfg->db_socket,
            .host = gw_cfg->db_host,
            .port = gw_cfg->db_port,
            .user = gw_cfg->db_user,
            .password = gw_cfg->db_password,
            .database = gw_cfg->db_name,
            .connect_timeout_ms = gw_cfg->db_connect_timeout_ms,
            .query_timeout_ms = gw_cfg->db_query_timeout_ms,
        };
        g.db = db_conn_new(&p);
    }
    return g.db && db_conn_ensure(g.db) == 0 ? g.db : NULL;
}

/* Waiting for the row must end before the connection's read timeout does,
 * or the wait would cost the connection. */
static int lock_wait_s(void)
{
    int query_s = (gw_cfg->db_query_timeout_ms + 999) / 1000;
    return query_s > 1 ? query_s - 1 : 1;
}

static int gate_begin(void *ud, const char *rejected_fp)
{
    (void)ud;
    db_rows_t *r = NULL;
    db_conn_t *db;
    int rc = -1;

    pthread_mutex_lock(&g.mu);
    if (!(db = connection()))
        goto Exit;
    if (db_exec(db, "SET SESSION innodb_lock_wait_timeout = ?", DB_ARGS(DB_INT(lock_wait_s()))) != 0 ||
        db_begin(db) != 0)
        goto Exit;
    r = db_query(db,
                 "SELECT COALESCE(retired_fp = ?, 0) AS already_retired,"
                 " COALESCE(forced_at > NOW(6) - INTERVAL ? SECOND, 0) AS forced_recently"
                 " FROM wechat_token_refresh WHERE id = 1 FOR UPDATE",
                 DB_ARGS(DB_STR(rejected_fp), DB_INT(gw_cfg->wechat_token_force_interval_s)));
    if (!r || r->nrows != 1)
        goto Exit;
    if (db_get_int(r, 0, "already_retired") || db_get_int(r, 0, "forced_recently")) {
        rc = 0;
        goto Exit;
    }
    /* Recorded now, committed by gate_end once the new token is in hand. */
    if (db_exec(db, "UPDATE wechat_token_refresh SET forced_at = NOW(6), retired_fp = ?, forced_by = ? WHERE id = 1",
                DB_ARGS(DB_STR(rejected_fp), DB_STR(g.owner))) != 0)
        goto Exit;
    db_rows_free(r);
    return 1; /* g.mu stays locked until gate_end */
Exit:
    if (rc < 0 && db)
        log_warn("wechat", "token force gate: database error (%u): %s", db_errno(db), db_error(db));
    else if (rc < 0)
        log_warn("wechat", "token force gate: no database connection");
    db_rows_free(r);
    if (db)
        db_rollback(db);
    pthread_mutex_unlock(&g.mu);
    return rc;
}

static void gate_end(void *ud, int forced_ok)
{
    (void)ud;
    if (!forced_ok)
        db_rollback(g.db); /* another process may try */
    else if (db_commit(g.db) != 0)
        log_warn("wechat", "token force gate: recording the forced refresh failed (%u): %s", db_errno(g.db),
                 db_error(g.db));
    pthread_mutex_unlock(&g.mu);
}

void wechat_token_gate_install(void)
{
    char host[32] = "host";

    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    snprintf(g.owner, sizeof g.owner, "%s:%d", host, (int)getpid());
    wx_force_gate_t gate = {.begin = gate_begin, .end = gate_end};
    wx_token_set_force_gate(&gate);
}

void wechat_token_gate_close(void)
{
    wx_token_set_force_gate(NULL);
    pthread_mutex_lock(&g.mu);
    db_conn_free(g.db);
    g.db = NULL;
    pthread_mutex_unlock(&g.mu);
}
