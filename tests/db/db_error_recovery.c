/* db_error_recovery: a cached prepared statement whose result breaks off
 * with an error must leave its connection usable. Run by
 * tests/e2e/test_db_client.py against the test MariaDB:
 *   db_error_recovery <unix socket> <user>
 * Prints one line per execution and exits 0 when every expectation held. */
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "db_check.h"

/* The third row's subquery returns two rows when ? = 3: the server has
 * already sent rows when the error comes. */
static const char *SQL_BREAKS_OFF = "SELECT x, IF(x = ?, (SELECT 1 UNION ALL SELECT 2), 0) FROM (SELECT 1 AS x UNION "
                                    "ALL SELECT 2 UNION ALL SELECT 3) t";

int main(int argc, char **argv)
{
    int exit_code = 0;
    db_conn_t *db = check_connect(argc, argv, &exit_code);
    if (!db)
        return exit_code;
    for (int round = 0; round < 2; round++) {
        db_rows_t *r = db_query(db, SQL_BREAKS_OFF, DB_ARGS(DB_INT(3)));
        expect(!r && db_errno(db) == 1242 && !db_conn_lost(db), "the broken-off result fails with 1242");
        db_rows_free(r);
        r = db_query(db, SQL_BREAKS_OFF, DB_ARGS(DB_INT(0)));
        expect(r && r->nrows == 3 && !db_conn_lost(db), "the same statement then runs on the same connection");
        db_rows_free(r);
        long long one = 0;
        expect(db_query_int(db, &one, "SELECT 1", DB_NOARGS) == 1 && one == 1, "and so does another statement");
        /* db_exec drains a result it does not read: the error is still its error. */
        expect(db_exec(db, SQL_BREAKS_OFF, DB_ARGS(DB_INT(3))) == -1 && db_errno(db) == 1242 && !db_conn_lost(db),
               "db_exec reports the error of a result that broke off");
        expect(db_exec(db, SQL_BREAKS_OFF, DB_ARGS(DB_INT(0))) == 0, "and runs the statement again");
    }
    db_conn_free(db);
    db_thread_end();
    return failures ? 1 : 0;
}
