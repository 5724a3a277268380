/* nb_calls.h: gateway/db.c over MariaDB's non-blocking API, without a
 * change to db.c (the probe's modes "coro" and "async").
 *
 * dbhop.c includes gateway/db.c after this header, which renames the
 * blocking calls db.c makes that talk to the server (connect, query,
 * prepare, execute, store the result, close) to the nb_* functions below.
 * Each one blocks as before when no waiter is set on the calling thread;
 * with one set (nb_waiter), it uses the call's non-blocking form
 * (MYSQL_OPT_NONBLOCK, mysql_*_start / _cont) and, each time MariaDB has to
 * wait for the server, asks the waiter to wait. The gateway's own build of
 * db.c is untouched: this is a measurement, not the gateway's code path.
 *
 * Closing statements stays blocking: a few bytes written to a socket with
 * room in it, without waiting for an answer. */
#ifndef DBHOP_NB_CALLS_H
#define DBHOP_NB_CALLS_H
#include <mysql.h>

typedef struct nb_waiter {
    /* Waits for `events` (MYSQL_WAIT_READ / WRITE / TIMEOUT) on fd, the
     * connection's socket; with MYSQL_WAIT_TIMEOUT, for at most timeout_ms.
     * Returns the events that happened (MYSQL_WAIT_TIMEOUT when the time ran
     * out: the call then fails and db.c drops the connection, as a blocking
     * read timeout does). A coroutine driver switches back to its event loop
     * here (coro_pool.c); nb_poll_waiter blocks in poll(). */
    int (*wait)(struct nb_waiter *w, int fd, int events, int timeout_ms);
    /* The connection's socket is about to close: a driver watching a copy
     * of it lets the copy go before the number can be reused. */
    void (*forget)(struct nb_waiter *w);
} nb_waiter_t;

/* The waiter of the connection the calling thread works on now, NULL for
 * blocking calls. Set by the driver around each step it runs; the waiter
 * outlives the step. */
extern _Thread_local nb_waiter_t *nb_waiter;
/* Blocks the calling thread in poll(): connecting before a loop serves. */
extern nb_waiter_t nb_poll_waiter;

/* The hand-written state machine (mode "async") executes and stores a
 * statement itself, then lets db.c's db_query read the stored rows: while
 * nb_replay is that statement, executing and storing it do nothing and
 * succeed. Any other statement executed meanwhile fails (the state machine
 * only knows the one statement it ran). */
extern _Thread_local MYSQL_STMT *nb_replay;

MYSQL *nb_real_connect(MYSQL *m, const char *host, const char *user, const char *passwd, const char *db,
                       unsigned int port, const char *unix_socket, unsigned long flags);
int nb_real_query(MYSQL *m, const char *q, unsigned long len);
int nb_stmt_prepare(MYSQL_STMT *st, const char *sql, unsigned long len);
int nb_stmt_execute(MYSQL_STMT *st);
int nb_stmt_store_result(MYSQL_STMT *st);
void nb_close(MYSQL *m);

#ifdef NB_RENAME_CALLS
#define mysql_real_connect nb_real_connect
#define mysql_real_query nb_real_query
#define mysql_stmt_prepare nb_stmt_prepare
#define mysql_stmt_execute nb_stmt_execute
#define mysql_stmt_store_result nb_stmt_store_result
#define mysql_close nb_close
#endif

#endif
