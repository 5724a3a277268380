#include "nb_calls.h"

#include <poll.h>
#include <stddef.h>

_Thread_local nb_waiter_t *nb_waiter;
_Thread_local MYSQL_STMT *nb_replay;

static int poll_wait(nb_waiter_t *w, int fd, int events, int timeout_ms)
{
    (void)w;
    struct pollfd p = {
        .fd = fd,
        .events = (short)((events & MYSQL_WAIT_READ ? POLLIN : 0) | (events & MYSQL_WAIT_WRITE ? POLLOUT : 0))};
    int n = poll(&p, 1, events & MYSQL_WAIT_TIMEOUT ? timeout_ms : -1);
    if (n == 0)
        return MYSQL_WAIT_TIMEOUT;
    if (n < 0) /* EINTR: let MariaDB look again */
        return events & (MYSQL_WAIT_READ | MYSQL_WAIT_WRITE);
    return (p.revents & (POLLIN | POLLHUP | POLLERR) ? MYSQL_WAIT_READ : 0) |
           (p.revents & (POLLOUT | POLLHUP | POLLERR) ? MYSQL_WAIT_WRITE : 0);
}

static void poll_forget(nb_waiter_t *w)
{
    (void)w;
}

nb_waiter_t nb_poll_waiter = {.wait = poll_wait, .forget = poll_forget};

/* What the waiter says happened, for the _cont call that follows. */
static int wait_server(MYSQL *m, int events)
{
    int timeout_ms = events & MYSQL_WAIT_TIMEOUT ? (int)mysql_get_timeout_value_ms(m) : -1;
    return nb_waiter->wait(nb_waiter, (int)mysql_get_socket(m), events, timeout_ms);
}

/* The non-blocking form started, then waited for and continued until it
 * is done; `ev` carries the events from one call to the next. */
#define NB_LOOP(m, start, cont)                                                                                        \
    for (int ev = (start); ev; ev = (cont))                                                                            \
    ev = wait_server((m), ev)

MYSQL *nb_real_connect(MYSQL *m, const char *host, const char *user, const char *passwd, const char *db,
                       unsigned int port, const char *unix_socket, unsigned long flags)
{
    if (!nb_waiter)
        return mysql_real_connect(m, host, user, passwd, db, port, unix_socket, flags);
    MYSQL *ok = NULL;
    if (mysql_options(m, MYSQL_OPT_NONBLOCK, 0) != 0)
        return NULL;
    NB_LOOP(m, mysql_real_connect_start(&ok, m, host, user, passwd, db, port, unix_socket, flags),
            mysql_real_connect_cont(&ok, m, ev));
    return ok;
}

int nb_real_query(MYSQL *m, const char *q, unsigned long len)
{
    if (!nb_waiter)
        return mysql_real_query(m, q, len);
    int rc = 1;
    NB_LOOP(m, mysql_real_query_start(&rc, m, q, len), mysql_real_query_cont(&rc, m, ev));
    return rc;
}

int nb_stmt_prepare(MYSQL_STMT *st, const char *sql, unsigned long len)
{
    if (!nb_waiter)
        return mysql_stmt_prepare(st, sql, len);
    int rc = 1;
    NB_LOOP(st->mysql, mysql_stmt_prepare_start(&rc, st, sql, len), mysql_stmt_prepare_cont(&rc, st, ev));
    return rc;
}

int nb_stmt_execute(MYSQL_STMT *st)
{
    if (nb_replay)
        return st == nb_replay ? 0 : 1;
    if (!nb_waiter)
        return mysql_stmt_execute(st);
    int rc = 1;
    NB_LOOP(st->mysql, mysql_stmt_execute_start(&rc, st), mysql_stmt_execute_cont(&rc, st, ev));
    return rc;
}

int nb_stmt_store_result(MYSQL_STMT *st)
{
    if (nb_replay)
        return st == nb_replay ? 0 : 1;
    if (!nb_waiter)
        return mysql_stmt_store_result(st);
    int rc = 1;
    NB_LOOP(st->mysql, mysql_stmt_store_result_start(&rc, st), mysql_stmt_store_result_cont(&rc, st, ev));
    return rc;
}

void nb_close(MYSQL *m)
{
    if (nb_waiter)
        nb_waiter->forget(nb_waiter);
    mysql_close(m);
}
