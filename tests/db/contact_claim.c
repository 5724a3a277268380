/* contact_claim: owner_contact_claim in a transaction of its own, as a
 * survey or a follow-up visit would call it. Run by
 * tests/e2e/test_contact_limit.py against the test database:
 *   contact_claim <gateway config file> <user id> <project id> <kind> <ref id>
 * Prints "claimed 1" (recorded) or "claimed 0" (asked too recently, or this
 * very contact already recorded) and exits 0, or prints the failure and
 * exits 1. */
#include <stdio.h>
#include <stdlib.h>

#include "../../domain/service/contact_limit.h"
#include "config.h"
#include "db.h"

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: %s <gateway config file> <user> <project> <kind> <ref>\n", argv[0]);
        return 2;
    }
    long long user = atoll(argv[2]), project = atoll(argv[3]), ref = atoll(argv[5]);
    gw_config_t cfg;
    if (config_load(argv[1], &cfg) != 0)
        return 1;
    gw_cfg = &cfg;
    db_thread_init();
    db_params_t p = {.unix_socket = cfg.db_socket,
                     .host = cfg.db_host,
                     .port = cfg.db_port,
                     .user = cfg.db_user,
                     .password = cfg.db_password,
                     .database = cfg.db_name,
                     .connect_timeout_ms = cfg.db_connect_timeout_ms,
                     .query_timeout_ms = cfg.db_query_timeout_ms};
    db_conn_t *db = db_conn_new(&p);
    int rc = 1, claimed = -1;
    if (db_conn_ensure(db) != 0) {
        printf("FAILED: connect: %s\n", db_error(db));
        goto Exit;
    }
    if (db_begin(db) != 0 || (claimed = owner_contact_claim(db, user, project, argv[4], ref)) < 0 ||
        db_commit(db) != 0) {
        printf("FAILED: %s\n", db_error(db));
        db_rollback(db);
        goto Exit;
    }
    printf("claimed %d\n", claimed);
    rc = 0;
Exit:
    db_conn_free(db);
    db_thread_end();
    config_free(&cfg);
    return rc;
}
