/* db_named_rows: result columns carry their names and kinds, and a row
 * renders as JSON shaped by its SELECT. Run by tests/e2e/test_db_client.py
 * against the test MariaDB:
 *   db_named_rows <unix socket> <user>
 * Prints one line per expectation and exits 0 when every one held. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "db_check.h"
#include "db_json.h"

static const char *SQL_SHAPES = "SELECT t.id, t.label AS \"category.name\", t.code AS \"category.code\","
                                " t.price, t.engineer AS \"engineer.id\", t.engineer_name AS \"engineer.name\","
                                " (t.id = 1) AS is_first, COUNT(*) OVER () AS total"
                                " FROM (SELECT 1 AS id, CAST(1 AS INT) AS n, 'a' AS label, 'A' AS code, 1.50 AS price,"
                                "        NULL AS engineer, NULL AS engineer_name"
                                "       UNION ALL SELECT 2, 2, '维修', 'B', 2.25, 7, '张工') t ORDER BY t.id";

int main(int argc, char **argv)
{
    int exit_code = 0;
    db_conn_t *db = check_connect(argc, argv, &exit_code);
    if (!db)
        return exit_code;
    db_exec(db, "CREATE TEMPORARY TABLE named_rows (id INT PRIMARY KEY, done TINYINT(1), note VARCHAR(20))", DB_NOARGS);
    db_exec(db, "INSERT INTO named_rows VALUES (1, 1, 'x'), (2, 0, NULL)", DB_NOARGS);

    db_rows_t *r = db_query(db, SQL_SHAPES, DB_NOARGS);
    expect(r && r->nrows == 2, "the query runs");
    expect(r && db_get_int(r, 1, "id") == 2 && !strcmp(db_get(r, 1, "category.name"), "维修"),
           "cells are read by their alias");
    expect(r && db_col(r, "no_such") == -1 && db_get(r, 0, "no_such") == NULL, "an unknown name reads as NULL");
    expect(r && db_is_null(r, 0, "engineer.id") && db_get_len(r, 1, "category.name") == strlen("维修"),
           "NULL and lengths by name");
    char *text = NULL;
    if (r) {
        cJSON *arr = db_rows_json(r, 0, 10);
        text = cJSON_PrintUnformatted(arr);
        cJSON_Delete(arr);
    }
    const char *want = "[{\"id\":1,\"category\":{\"name\":\"a\",\"code\":\"A\"},\"price\":1.50,"
                       "\"engineer\":null,\"is_first\":true,\"total\":2},"
                       "{\"id\":2,\"category\":{\"name\":\"维修\",\"code\":\"B\"},\"price\":2.25,"
                       "\"engineer\":{\"id\":7,\"name\":\"张工\"},\"is_first\":false,\"total\":2}]";
    expect(text && !strcmp(text, want), "rows render as JSON shaped by the SELECT");
    if (text && strcmp(text, want))
        printf("  got  %s\n  want %s\n", text, want);
    free(text);
    db_rows_free(r);

    r = db_query(db, "SELECT id, done, note FROM named_rows ORDER BY id", DB_NOARGS);
    cJSON *o = r ? db_row_json(r, 1) : NULL;
    text = o ? cJSON_PrintUnformatted(o) : NULL;
    expect(text && !strcmp(text, "{\"id\":2,\"done\":false,\"note\":null}"),
           "a TINYINT(1) column is a boolean, a NULL text null");
    free(text);
    cJSON_Delete(o);
    db_rows_free(r);

    db_conn_free(db);
    db_thread_end();
    return failures ? 1 : 0;
}
