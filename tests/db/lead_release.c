/* lead_release: lead_assign_release_agent as the revocation of an agent's
 * role calls it, in the transaction that deletes the role. Run by
 * tests/e2e/test_leads_release.py against the test database, which set up
 * the project, its agents and leads:
 *   lead_release <gateway config file> <agent user id> <project id> <actor user id>
 * Prints "released N" and exits 0, or prints the failure and exits 1. */
#include <stdio.h>
#include <stdlib.h>

#include "../../domain/leads/lead_assign.h"
#include "config.h"
#include "db.h"

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s <gateway config file> <agent> <project> <actor>\n", argv[0]);
        return 2;
    }
    long long agent = atoll(argv[2]), project = atoll(argv[3]), actor = atoll(argv[4]);
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
    int rc = 1, released = -1;
    if (db_conn_ensure(db) != 0) {
        printf("FAILED: connect: %s\n", db_error(db));
        goto Exit;
    }
    if (db_begin(db) != 0 ||
        db_exec(db, "DELETE FROM staff_roles WHERE user_id = ? AND role = 'agent' AND project_id = ?",
                DB_ARGS(DB_INT(agent), DB_INT(project))) != 0 ||
        (released = lead_assign_release_agent(db, agent, project, actor)) < 0 || db_commit(db) != 0) {
        printf("FAILED: %s\n", db_error(db));
        db_rollback(db);
        goto Exit;
    }
    printf("released %d\n", released);
    rc = 0;
Exit:
    db_conn_free(db);
    db_thread_end();
    config_free(&cfg);
    return rc;
}
