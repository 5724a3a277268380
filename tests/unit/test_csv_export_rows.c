/* test_csv_export_rows.c: a list item as a CSV row (export_write_row of
 * domain/exports/export_kinds.h): the kinds' table, nested fields, masking
 * of names (phones come masked from the list), times in Beijing time,
 * booleans, numbers, JSON objects, nulls, and formula escaping of what the
 * item holds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/exports/export_kinds.h"
#include "domain/stats/stats.h"
#include "test.h"

static const char *row_of(const export_kind_t *k, const char *json, int unmasked)
{
    static char out[2048];
    csv_t w;
    cJSON *item = cJSON_Parse(json);
    out[0] = '\0';
    if (item && csv_init(&w, 1 << 16) == 0 && export_write_row(&w, k, item, NULL, 0, unmasked) == 0) {
        size_t n = w.len - 3 < sizeof(out) - 1 ? w.len - 3 : sizeof(out) - 1;
        memcpy(out, w.buf + 3, n);
        out[n] = '\0';
    }
    csv_free(&w);
    cJSON_Delete(item);
    return out;
}

static void test_table(void)
{
    int n;
    const export_kind_t *all = export_kinds(&n);
    CHECK(n >= 7);
    for (int i = 0; i < n; i++) {
        CHECK(all[i].title && (all[i].list ? all[i].ncols > 0 : all[i].stat && all[i].stat_def));
        CHECK(export_kind_find(all[i].name) == &all[i]);
        if (all[i].list)
            CHECK_STR(all[i].cols[0].field, LIST_KEY(all[i].list));
        for (int j = 0; j < all[i].ncols; j++)
            CHECK(!strstr(all[i].cols[j].field, "openid")); /* openids are never exported */
    }
    CHECK(export_kind_find("nope") == NULL);
    CHECK(export_kind_find(NULL) == NULL);
    /* Every statistic is a kind "stats.<name>" writing that statistic. */
    for (int i = 0; i < stats_ndefs; i++) {
        char name[80];
        snprintf(name, sizeof(name), "stats.%s", stats_defs[i].name);
        const export_kind_t *k = export_kind_find(name);
        CHECK(k && k->stat && k->stat_def == &stats_defs[i] && !k->list);
        CHECK(k && !strcmp(k->title, stats_defs[i].title));
    }
    CHECK(export_kind_find("referrals") && export_kind_find("referrals")->list);
}

static void test_lead_row_masked(void)
{
    const export_kind_t *k = export_kind_find("leads");
    const char *row =
        row_of(k,
               "{\"id\": 7, \"project\": {\"id\": 1, \"name\": \"天空,之城\"}, \"name\": \"=HYPERLINK(1)\","
               " \"phone_masked\": \"139****5678\", \"phone_verified\": true, \"stage\": \"new\", \"channel\": \"ad\","
               " \"agent\": {\"user_id\": null, \"name\": null}, \"submissions\": 2, \"created_at\": 1767139200,"
               " \"first_contacted_at\": null, \"contact_overdue\": 0, \"referral_id\": null}",
               0);
    CHECK_STR(row, "7,\"天空,之城\",'=*,139****5678,是,new,ad,,2,2025-12-31 08:00:00,,否,\r\n");
}

static void test_lead_row_unmasked_name(void)
{
    const export_kind_t *k = export_kind_find("leads");
    const char *row = row_of(k, "{\"id\": 7, \"name\": \"-张三\", \"phone_masked\": \"139****5678\"}", 1);
    /* Unmasked without the row: the phone as the item holds it. */
    CHECK_STR(row, "7,,'-张三,139****5678,,,,,,,,,\r\n");
}

static void test_audit_detail_as_json(void)
{
    const export_kind_t *k = export_kind_find("audit");
    const char *row = row_of(k,
                             "{\"id\": 3, \"created_at\": 0, \"action\": \"project.update\", \"object\": {\"type\":"
                             " \"project\", \"id\": 2}, \"project_id\": 2, \"actor\": {\"user_id\": 5,"
                             " \"display_name\": \"王\"}, \"detail\": {\"after\": {\"city\": \"上海\"}}}",
                             0);
    CHECK_STR(
        row,
        "3,1970-01-01 08:00:00,project.update,project,2,2,5,王,\"{\"\"after\"\":{\"\"city\"\":\"\"上海\"\"}}\"\r\n");
}

static void test_numbers_stay_numbers(void)
{
    const export_kind_t *k = export_kind_find("rewards");
    const char *row = row_of(k, "{\"id\": 9, \"amount\": -500, \"amount_display\": \"-¥5.00\"}", 0);
    CHECK_STR(row, "9,,,,,,-500,'-¥5.00,,,,,,\r\n");
}

static void test_params_query(void)
{
    char field[EXPORT_FIELD_MAX], why[EXPORT_WHY_MAX];
    cJSON *p = cJSON_Parse("{\"project\": 3, \"state\": \"in progress&x=1\", \"overdue\": true, \"q\": \"张\"}");
    char *q = export_params_query(p, field, why);
    CHECK_STR(q, "project=3&state=in%20progress%26x%3D1&overdue=true&q=%E5%BC%A0");
    free(q);
    cJSON_Delete(p);
    q = export_params_query(NULL, field, why);
    CHECK_STR(q, "");
    free(q);
    static const struct {
        const char *json, *field;
    } bad[] = {{"[1]", "params"},
               {"{\"Bad\": 1}", "params"},
               {"{\"a\": 1.5}", "params.a"},
               {"{\"a\": {\"b\": 1}}", "params.a"},
               {"{\"a\": null}", "params.a"}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        p = cJSON_Parse(bad[i].json);
        CHECK(export_params_query(p, field, why) == NULL);
        CHECK_STR(field, bad[i].field);
        CHECK(why[0] != '\0');
        cJSON_Delete(p);
    }
}

/* A statistic's rows (export_write_db_rows): a negative figure in a numeric
 * column stays a number, the same text in a text column is escaped, null is
 * an empty cell. */
static void test_stat_rows_numbers(void)
{
    char *cells[] = {"-5", "-x", NULL, "0.5000"};
    size_t lens[] = {2, 2, 0, 6};
    const char *cols[] = {"n", "t"};
    unsigned char kinds[] = {DB_COL_INT, DB_COL_TEXT};
    db_rows_t r = {.nrows = 2, .ncols = 2, .cells = cells, .lens = lens, .names = cols, .kinds = kinds};
    const char *const names[] = {"n", "t"}, *const headers[] = {"数", "文"};
    const int numeric[] = {1, 0};
    csv_t w;
    CHECK(csv_init(&w, 1 << 16) == 0);
    CHECK(export_write_db_rows(&w, &r, names, headers, numeric, 2) == 0);
    const char want[] = CSV_BOM "数,文\r\n-5,'-x\r\n,0.5000\r\n";
    CHECK(w.len == sizeof(want) - 1 && !memcmp(w.buf, want, w.len));
    csv_free(&w);
}

int main(void)
{
    RUN(test_table);
    RUN(test_lead_row_masked);
    RUN(test_lead_row_unmasked_name);
    RUN(test_audit_detail_as_json);
    RUN(test_numbers_stay_numbers);
    RUN(test_params_query);
    RUN(test_stat_rows_numbers);
    return TEST_REPORT();
}
