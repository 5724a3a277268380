/* The list page's arena under cJSON (gateway/json_arena.c) and the page it
 * answers (gateway/query.c page_respond, gateway/response.c). */
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>

#include "call_internal.h"
#include "json_arena.h"
#include "query.h"
#include "test.h"

static cJSON *tree(int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", "a name of some length");
        cJSON_AddNumberToObject(o, "n", i);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

static void test_no_scope_before_install_or_nested(void)
{
    CHECK_INT(json_arena_open(), -1); /* not installed yet: plain cJSON */
    json_arena_install();
    CHECK_INT(json_arena_open(), 0);
    CHECK_INT(json_arena_open(), -1); /* no nesting */
    json_arena_close();
    CHECK_INT(json_arena_open(), 0);
    json_arena_close();
}

/* Inside a scope the tree's nodes come from the scope's block: the heap in
 * use does not grow with them (glibc's count; ASan answers zeros). */
static void test_a_scope_takes_nodes_from_its_block(void)
{
    CHECK_INT(json_arena_open(), 0);
    cJSON *first = cJSON_CreateNull(); /* the scope's first block */
    size_t before = mallinfo2().uordblks;
    cJSON *t = tree(50);
    size_t after = mallinfo2().uordblks;
    CHECK(t != NULL);
    CHECK_INT(after, before);
    char *text = cJSON_PrintUnformatted(t);
    CHECK(text && !strncmp(text, "[{\"name\":\"a name of some length\",\"n\":0}", 39));
    cJSON_Delete(t); /* frees of the arena's memory do nothing */
    cJSON_Delete(first);
    json_arena_close();
}

/* Memory from before the scope is freed by free inside it, and a scope past
 * its cap goes on with malloc: ASan and LeakSanitizer (make asan) see any
 * wrong free or leak. */
static void test_outside_memory_and_the_cap(void)
{
    cJSON *old = tree(10);
    CHECK_INT(json_arena_open(), 0);
    cJSON_Delete(old);
    cJSON *big = tree(JSON_ARENA_MAX_BYTES / 64); /* more than the cap holds */
    CHECK_INT(cJSON_GetArraySize(big), JSON_ARENA_MAX_BYTES / 64);
    cJSON *last = cJSON_GetArrayItem(big, JSON_ARENA_MAX_BYTES / 64 - 1);
    CHECK_STR(cJSON_GetObjectItem(last, "name")->valuestring, "a name of some length");
    cJSON_Delete(big);
    json_arena_close();
    cJSON *after = tree(3); /* closed: malloc again */
    CHECK_INT(cJSON_GetArraySize(after), 3);
    cJSON_Delete(after);
}

static void *other_thread(void *arg)
{
    (void)arg;
    return tree(20); /* while the main thread's scope is open */
}

static void test_a_scope_is_its_threads_only(void)
{
    CHECK_INT(json_arena_open(), 0);
    pthread_t th;
    void *made = NULL;
    CHECK_INT(pthread_create(&th, NULL, other_thread, NULL), 0);
    CHECK_INT(pthread_join(th, &made), 0);
    json_arena_close();
    /* The other thread's tree was malloc's: it outlives this scope. */
    CHECK_INT(cJSON_GetArraySize(made), 20);
    cJSON_Delete(made);
}

/* A fake result: id and name, four rows. */
static const char *names[] = {"id", "name"};
static unsigned char kinds[] = {DB_COL_INT, DB_COL_TEXT};
static char *cells[] = {"9", "a", "8", "b", "7", "c", "6", "d"};
static size_t lens[] = {1, 1, 1, 1, 1, 1, 1, 1};

static char *page_text(int nrows)
{
    static const char *const keys[] = {"id"};
    db_rows_t r = {.nrows = nrows, .ncols = 2, .cells = cells, .lens = lens, .names = names, .kinds = kinds};
    page_t p = {.limit = 2, .nkeys = 1};
    gw_call_t *c = call_new();
    snprintf(c->request_id, sizeof(c->request_id), "r1");
    page_respond(c, &p, &r, NULL, NULL, keys);
    CHECK_INT(c->status, 200);
    CHECK(cJSON_IsRaw(c->data)); /* the items left the arena as text */
    cJSON *env = response_envelope(c);
    char *text = env ? cJSON_PrintUnformatted(env) : NULL;
    cJSON_Delete(env);
    call_free(c);
    return text;
}

/* The envelope of a page built in the arena is the one the contract shows:
 * the items, then next_cursor (null on the last page). */
static void test_page_leaves_the_arena_as_text(void)
{
    char *last = page_text(2), *more = page_text(3);
    CHECK_STR(last, "{\"data\":[{\"id\":9,\"name\":\"a\"},{\"id\":8,\"name\":\"b\"}],\"next_cursor\":null,"
                    "\"request_id\":\"r1\"}");
    static const char items[] = "{\"data\":[{\"id\":9,\"name\":\"a\"},{\"id\":8,\"name\":\"b\"}],\"next_cursor\":\"";
    CHECK(more && !strncmp(more, items, sizeof(items) - 1));
    free(last);
    free(more);
}

int main(void)
{
    RUN(test_no_scope_before_install_or_nested);
    RUN(test_a_scope_takes_nodes_from_its_block);
    RUN(test_outside_memory_and_the_cap);
    RUN(test_a_scope_is_its_threads_only);
    RUN(test_page_leaves_the_arena_as_text);
    return TEST_REPORT();
}
