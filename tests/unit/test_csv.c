/* test_csv.c: the CSV writer's rules (gateway/csv.h): BOM, separators and
 * CRLF, RFC 4180 quoting, formula-injection escaping, numeric columns, the
 * output bound and taking the bytes page by page. */
#include <stdlib.h>

#include "csv.h"
#include "test.h"

/* The writer's bytes so far as a NUL-terminated string (static buffer). */
static const char *text(csv_t *w)
{
    static char out[1024];
    size_t n = w->len < sizeof(out) - 1 ? w->len : sizeof(out) - 1;
    memcpy(out, w->buf, n);
    out[n] = '\0';
    return out;
}

/* One row of one text cell, without the BOM. */
static const char *one(const char *cell, int flags)
{
    static char out[1024];
    csv_t w;
    if (csv_init(&w, 4096) != 0 || csv_cell_str(&w, cell, flags) != 0 || csv_end_row(&w) != 0) {
        csv_free(&w);
        return "(failed)";
    }
    snprintf(out, sizeof(out), "%s", text(&w) + 3);
    csv_free(&w);
    return out;
}

static void test_bom_and_rows(void)
{
    csv_t w;
    CHECK_INT(csv_init(&w, 1024), 0);
    CHECK_INT(w.len, 3);
    CHECK(!memcmp(w.buf, "\xEF\xBB\xBF", 3));
    CHECK_INT(csv_cell_str(&w, "编号", CSV_TEXT), 0);
    CHECK_INT(csv_cell_str(&w, "姓名", CSV_TEXT), 0);
    CHECK_INT(csv_end_row(&w), 0);
    CHECK_INT(csv_cell_str(&w, "1", CSV_NUMERIC), 0);
    CHECK_INT(csv_cell_str(&w, NULL, CSV_TEXT), 0);
    CHECK_INT(csv_end_row(&w), 0);
    CHECK_STR(text(&w), "\xEF\xBB\xBF编号,姓名\r\n1,\r\n");
    csv_free(&w);
}

static void test_plain_cells(void)
{
    CHECK_STR(one("abc", CSV_TEXT), "abc\r\n");
    CHECK_STR(one("", CSV_TEXT), "\r\n");
    CHECK_STR(one("张三 李四", CSV_TEXT), "张三 李四\r\n");
    CHECK_STR(one("a'b", CSV_TEXT), "a'b\r\n");
}

static void test_quoting(void)
{
    CHECK_STR(one("a,b", CSV_TEXT), "\"a,b\"\r\n");
    CHECK_STR(one("say \"hi\"", CSV_TEXT), "\"say \"\"hi\"\"\"\r\n");
    CHECK_STR(one("\"", CSV_TEXT), "\"\"\"\"\r\n");
    CHECK_STR(one("line1\nline2", CSV_TEXT), "\"line1\nline2\"\r\n");
    CHECK_STR(one("a\rb", CSV_TEXT), "\"a\rb\"\r\n");
    CHECK_STR(one("a\r\nb", CSV_TEXT), "\"a\r\nb\"\r\n");
}

static void test_formula_escape(void)
{
    CHECK_STR(one("=1+1", CSV_TEXT), "'=1+1\r\n");
    CHECK_STR(one("+86", CSV_TEXT), "'+86\r\n");
    CHECK_STR(one("-2", CSV_TEXT), "'-2\r\n");
    CHECK_STR(one("@SUM(A1)", CSV_TEXT), "'@SUM(A1)\r\n");
    CHECK_STR(one("\tx", CSV_TEXT), "'\tx\r\n");
    CHECK_STR(one("\rx", CSV_TEXT), "\"'\rx\"\r\n");
    /* Escaped and quoted: the apostrophe goes inside the quotes. */
    CHECK_STR(one("=HYPERLINK(\"http://x\",\"y\")", CSV_TEXT), "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"\r\n");
    /* Only the first byte matters. */
    CHECK_STR(one("a=b", CSV_TEXT), "a=b\r\n");
    CHECK_INT(csv_needs_escape("", 0), 0);
    CHECK_INT(csv_needs_escape("=", 1), 1);
}

static void test_numeric_columns(void)
{
    CHECK_STR(one("-5000.00", CSV_NUMERIC), "-5000.00\r\n");
    CHECK_STR(one("42", CSV_NUMERIC), "42\r\n");
    /* Not a plain number: escaped like text even in a numeric column. */
    CHECK_STR(one("-1+cmd", CSV_NUMERIC), "'-1+cmd\r\n");
    CHECK_STR(one("-", CSV_NUMERIC), "'-\r\n");
    CHECK_STR(one("=1", CSV_NUMERIC), "'=1\r\n");
    /* A negative number in a text column is escaped. */
    CHECK_STR(one("-5", CSV_TEXT), "'-5\r\n");
    CHECK_INT(csv_is_number("1.5", 3), 1);
    CHECK_INT(csv_is_number("-0", 2), 1);
    CHECK_INT(csv_is_number("1.", 2), 0);
    CHECK_INT(csv_is_number(".5", 2), 0);
    CHECK_INT(csv_is_number("1e5", 3), 0);
    CHECK_INT(csv_is_number("", 0), 0);
}

static void test_bound(void)
{
    csv_t w;
    CHECK_INT(csv_init(&w, 2), -1); /* no room for the BOM */
    csv_free(&w);
    CHECK_INT(csv_init(&w, 10), 0);
    CHECK_INT(csv_cell_str(&w, "abcd", CSV_TEXT), 0); /* 7 */
    CHECK_INT(csv_cell_str(&w, "ef", CSV_TEXT), 0);   /* 10: exactly the bound */
    CHECK_INT(csv_end_row(&w), -1);                   /* 12: over */
    CHECK_INT(w.failed, 1);
    CHECK_INT(csv_cell_str(&w, "", CSV_TEXT), -1); /* and stays failed */
    CHECK_INT(w.total, 10);
    csv_free(&w);
    /* A cell longer than the whole bound fails the writer too (found by
     * fuzzing: it used to fail that call only). */
    CHECK_INT(csv_init(&w, 8), 0);
    CHECK_INT(csv_cell_str(&w, "0123456789", CSV_TEXT), -1);
    CHECK_INT(csv_cell_str(&w, "", CSV_TEXT), -1);
    CHECK_INT(w.failed, 1);
    csv_free(&w);
}

static void test_take(void)
{
    csv_t w;
    size_t len;
    CHECK_INT(csv_init(&w, 20), 0);
    char *b = csv_take(&w, &len);
    CHECK_INT(len, 3);
    free(b);
    CHECK_INT(csv_cell_str(&w, "123456789", CSV_TEXT), 0);
    CHECK_INT(csv_end_row(&w), 0); /* 14 in all */
    b = csv_take(&w, &len);
    CHECK_INT(len, 11);
    CHECK(b && !memcmp(b, "123456789\r\n", 11));
    free(b);
    CHECK(csv_take(&w, &len) == NULL);
    CHECK_INT(len, 0);
    /* The bound counts what was taken. */
    CHECK_INT(csv_cell_str(&w, "1234567", CSV_TEXT), -1);
    csv_free(&w);
}

int main(void)
{
    RUN(test_bom_and_rows);
    RUN(test_plain_cells);
    RUN(test_quoting);
    RUN(test_formula_escape);
    RUN(test_numeric_columns);
    RUN(test_bound);
    RUN(test_take);
    return TEST_REPORT();
}
