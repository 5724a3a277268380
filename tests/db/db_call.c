/* db_call: a stored procedure called as a prepared statement. A CALL
 * answers with its result sets and then its own status; the connection must
 * read them all, and an error the procedure raises after answering rows is
 * the statement's error. Run by tests/e2e/test_db_client.py, which creates
 * db_check.rows_then_fail(fail): SELECT 1 AS a, then SIGNAL when fail:
 *   db_call <unix socket> <user>
 * Prints one line per expectation and exits 0 when every one held. */
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "db_check.h"

static const char *SQL_CALL = "CALL db_check.rows_then_fail(?)";

int main(int argc, char **argv)
{
    int exit_code = 0;
    db_conn_t *db = check_connect(argc, argv, &exit_code);
    if (!db)
        return exit_code;
    for (int round = 0; round < 2; round++) {
        db_rows_t *r = db_query(db, SQL_CALL, DB_ARGS(DB_INT(0)));
        expect(r && r->nrows == 1 && db_get_int(r, 0, "a") == 1, "a CALL answers its first result set");
        db_rows_free(r);
        long long one = 0;
        expect(db_query_int(db, &one, "SELECT 1", DB_NOARGS) == 1 && one == 1,
               "the next statement runs on the same connection");
        r = db_query(db, SQL_CALL, DB_ARGS(DB_INT(1)));
        expect(!r && db_errno(db) == 1644 && !db_conn_lost(db), "an error after the procedure's rows is an error");
        db_rows_free(r);
        expect(db_exec(db, SQL_CALL, DB_ARGS(DB_INT(1))) == -1 && db_errno(db) == 1644 && !db_conn_lost(db),
               "db_exec reports it too");
        expect(db_exec(db, SQL_CALL, DB_ARGS(DB_INT(0))) == 0 && db_query_int(db, &one, "SELECT 2", DB_NOARGS) == 1 &&
                   one == 2,
               "and the connection goes on");
    }
    db_conn_free(db);
    db_thread_end();
    return failures ? 1 : 0;
}
