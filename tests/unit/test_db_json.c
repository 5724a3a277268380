/* Unit tests of gateway/db_json.c: a row rendered whole, and a row joined
 * with its children rendered part by part (db_row_json_cols). */
#include <stdlib.h>

#include "gateway/db_json.h"
#include "test.h"

/* A ticket joined with its timeline rows, as db_query returns it: the
 * ticket's columns (id, "engineer.id", "engineer.name") then the timeline's
 * (tl_id, "actor.role", note). */
typedef struct {
    db_rows_t r;
    char *cells[12];
    size_t lens[12];
    const char *names[6];
    unsigned char kinds[6];
} joined_rows_t;

static void joined_rows(joined_rows_t *j)
{
    static const char *const names[] = {"id", "engineer.id", "engineer.name", "tl_id", "actor.role", "note"};
    static const unsigned char kinds[] = {DB_COL_INT, DB_COL_INT, DB_COL_TEXT, DB_COL_INT, DB_COL_TEXT, DB_COL_TEXT};
    static char *cells[] = {"7", NULL, NULL, "70", "owner", "漏水", "7", NULL, NULL, "71", "system", NULL};
    memset(j, 0, sizeof(*j));
    for (int i = 0; i < 6; i++) {
        j->names[i] = names[i];
        j->kinds[i] = kinds[i];
    }
    for (int i = 0; i < 12; i++) {
        j->cells[i] = cells[i];
        j->lens[i] = cells[i] ? strlen(cells[i]) : 0;
    }
    j->r =
        (db_rows_t){.nrows = 2, .ncols = 6, .cells = j->cells, .lens = j->lens, .names = j->names, .kinds = j->kinds};
}

static char *render(cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static void test_columns_render_part_by_part(void)
{
    joined_rows_t j;
    joined_rows(&j);
    int tl = db_col(&j.r, "tl_id");
    CHECK_INT(tl, 3);
    char *s = render(db_row_json_cols(&j.r, 0, 0, tl));
    CHECK_STR(s, "{\"id\":7,\"engineer\":null}"); /* an all-NULL nested object is null */
    free(s);
    s = render(db_row_json_cols(&j.r, 1, tl, j.r.ncols));
    CHECK_STR(s, "{\"tl_id\":71,\"actor\":{\"role\":\"system\"},\"note\":null}");
    free(s);
    s = render(db_row_json_cols(&j.r, 0, tl, 99)); /* the end is clamped to the row */
    CHECK_STR(s, "{\"tl_id\":70,\"actor\":{\"role\":\"owner\"},\"note\":\"漏水\"}");
    free(s);
    s = render(db_row_json_cols(&j.r, 0, 2, 2));
    CHECK_STR(s, "{}");
    free(s);
}

static void test_whole_row_is_every_column(void)
{
    joined_rows_t j;
    joined_rows(&j);
    char *whole = render(db_row_json(&j.r, 1)), *cols = render(db_row_json_cols(&j.r, 1, 0, j.r.ncols));
    CHECK_STR(whole, cols);
    CHECK_STR(whole, "{\"id\":7,\"engineer\":null,\"tl_id\":71,\"actor\":{\"role\":\"system\"},\"note\":null}");
    free(whole);
    free(cols);
}

int main(void)
{
    RUN(test_columns_render_part_by_part);
    RUN(test_whole_row_is_every_column);
    return TEST_REPORT();
}
