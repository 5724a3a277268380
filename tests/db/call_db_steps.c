/* call_db_steps: the call runner's DB steps on a real connection. A typed
 * step gets the worker's connection; a transaction left open after a
 * failure is rolled back quietly; one left open after a success is rolled
 * back and the call answers 500, so a forgotten commit is never reported as
 * saved. Run by tests/e2e/test_db_client.py against the test MariaDB:
 *   call_db_steps <unix socket> <user>
 * Prints one line per expectation and exits 0 when every one held. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call_internal.h"
#include "db.h"
#include "db_check.h"

static db_conn_t *given;

static void insert(gw_call_t *c, db_conn_t *db, int id)
{
    given = db;
    if (db_begin(db) != 0 || db_exec(db, "INSERT INTO steps VALUES (?)", DB_ARGS(DB_INT(id))) != 0)
        call_fail_db(c);
}

static void saves(gw_call_t *c, db_conn_t *db)
{
    insert(c, db, 1);
    if (db_commit(db) != 0) {
        call_fail_db(c);
        return;
    }
    call_ok(c, 201, NULL);
}

static void forgets_the_commit(gw_call_t *c, db_conn_t *db)
{
    insert(c, db, 2);
    call_ok(c, 201, NULL);
}

static void fails_inside(gw_call_t *c, db_conn_t *db)
{
    insert(c, db, 3);
    call_fail(c, ERR_CONFLICT, "state", "not in this state"); /* no db_rollback: the runner's job */
}

static void never_runs(gw_call_t *c)
{
    call_ok(c, 200, NULL);
}

static void continues_inside(gw_call_t *c, db_conn_t *db)
{
    insert(c, db, 4);
    call_then_cpu(c, never_runs); /* a transaction never spans steps */
}

static gw_call_t *run(db_conn_t *db, gw_db_step_fn fn)
{
    gw_call_t *c = call_new();
    snprintf(c->method, sizeof(c->method), "POST");
    call_then_db(c, fn);
    given = NULL;
    call_run_on_worker(c, POOL_DB, db);
    return c;
}

static long long rows(db_conn_t *db, int id)
{
    long long n = -1;
    db_query_int(db, &n, "SELECT COUNT(*) FROM steps WHERE id = ?", DB_ARGS(DB_INT(id)));
    return n;
}

int main(int argc, char **argv)
{
    int exit_code = 0;
    db_conn_t *db = check_connect(argc, argv, &exit_code);
    if (!db)
        return exit_code;
    db_exec(db, "CREATE TEMPORARY TABLE steps (id INT PRIMARY KEY) ENGINE=InnoDB", DB_NOARGS);

    gw_call_t *c = run(db, saves);
    expect(given == db && c->status == 201 && rows(db, 1) == 1, "a typed step gets the connection and commits");
    call_free(c);

    c = run(db, forgets_the_commit);
    expect(c->status == 500 && c->err == ERR_INTERNAL && rows(db, 2) == 0 && !db_in_transaction(db),
           "a success with the transaction open is a 500 and nothing is saved");
    call_free(c);

    c = run(db, fails_inside);
    expect(c->status == 409 && !strcmp(c->err_field, "state") && rows(db, 3) == 0 && !db_in_transaction(db),
           "a failure keeps its answer and its transaction is rolled back");
    call_free(c);

    c = run(db, continues_inside);
    expect(c->status == 500 && c->next == NULL && rows(db, 4) == 0,
           "a next step named with the transaction open is a 500 too");
    call_free(c);

    db_conn_free(db);
    db_thread_end();
    return failures ? 1 : 0;
}
