/* db_check.h: what the checks of tests/db share: their command line
 * (<unix socket> <user>, run by tests/e2e/test_db_client.py against the
 * test MariaDB), the connection, and one printed line per expectation.
 * Included once, by the check's own .c file. */
#ifndef GW_DB_CHECK_H
#define GW_DB_CHECK_H
#include <stdio.h>

#include "db.h"

static int failures;

static void expect(int ok, const char *what)
{
    printf("%s: %s\n", ok ? "ok" : "FAILED", what);
    failures += !ok;
}

/* The connection to the server the command line names, or NULL (said on
 * stdout or stderr; exit with 2 for a usage error, else 1). */
static db_conn_t *check_connect(int argc, char **argv, int *exit_code)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s <unix socket> <user>\n", argv[0]);
        *exit_code = 2;
        return NULL;
    }
    db_thread_init();
    db_params_t p = {.unix_socket = argv[1],
                     .user = argv[2],
                     .password = "",
                     .database = "mysql",
                     .connect_timeout_ms = 2000,
                     .query_timeout_ms = 2000};
    db_conn_t *db = db_conn_new(&p);
    if (!db || db_conn_ensure(db) != 0) {
        printf("FAILED: connect: %s\n", db ? db_error(db) : "out of memory");
        db_conn_free(db);
        *exit_code = 1;
        return NULL;
    }
    return db;
}

#endif
