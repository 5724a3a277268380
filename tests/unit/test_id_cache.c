/* test_id_cache.c: the bounded id cache behind the auth and ticket-detail
 * caches: expiry, slot collisions, forget, and the generation check that
 * keeps a value read before a change from being stored after it. */
#include <stdlib.h>

#include "id_cache.h"
#include "test.h"

static void test_put_get_and_expiry(void)
{
    id_cache_t *c = id_cache_new(8);
    uint64_t g = id_cache_generation(c, 42);
    CHECK_INT(id_cache_put(c, 42, "hello", 5, 1000, g), 1);
    size_t len = 0;
    char *v = id_cache_get(c, 42, 999, &len);
    CHECK_STR(v, "hello");
    CHECK_INT(len, 5);
    free(v);
    CHECK(id_cache_get(c, 42, 1000, &len) == NULL); /* expired at 1000 */
    CHECK(id_cache_get(c, 42, 0, &len) == NULL);    /* and dropped */
    CHECK(id_cache_get(c, 43, 0, &len) == NULL);
    id_cache_free(c);
}

static void test_colliding_ids_take_turns(void)
{
    id_cache_t *c = id_cache_new(4);
    CHECK_INT(id_cache_put(c, 1, "one", 3, 100, id_cache_generation(c, 1)), 1);
    CHECK_INT(id_cache_put(c, 5, "five", 4, 100, id_cache_generation(c, 5)), 1); /* same slot */
    size_t len;
    CHECK(id_cache_get(c, 1, 0, &len) == NULL);
    char *v = id_cache_get(c, 5, 0, &len);
    CHECK_STR(v, "five");
    free(v);
    id_cache_free(c);
}

static void test_forget_refuses_a_read_from_before(void)
{
    id_cache_t *c = id_cache_new(16);
    uint64_t before = id_cache_generation(c, 7); /* a reader starts */
    id_cache_forget(c, 7);                       /* a change commits meanwhile */
    CHECK_INT(id_cache_put(c, 7, "old", 3, 100, before), 0);
    size_t len;
    CHECK(id_cache_get(c, 7, 0, &len) == NULL);
    CHECK_INT(id_cache_put(c, 7, "new", 3, 100, id_cache_generation(c, 7)), 1);
    id_cache_forget(c, 7);
    CHECK(id_cache_get(c, 7, 0, &len) == NULL);
    id_cache_free(c);
}

static void test_clear_drops_all_and_reads_in_flight(void)
{
    id_cache_t *c = id_cache_new(16);
    uint64_t g3 = id_cache_generation(c, 3);
    CHECK_INT(id_cache_put(c, 2, "two", 3, 100, id_cache_generation(c, 2)), 1);
    id_cache_clear(c);
    size_t len;
    CHECK(id_cache_get(c, 2, 0, &len) == NULL);
    CHECK_INT(id_cache_put(c, 3, "three", 5, 100, g3), 0);
    id_cache_free(c);
}

static void test_fixed_records(void)
{
    id_cache_t *c = id_cache_new(16);
    struct {
        long long id;
        unsigned roles;
    } in = {9, 3}, out = {0, 0};
    CHECK_INT(id_cache_put(c, 9, &in, sizeof(in), 100, id_cache_generation(c, 9)), 1);
    CHECK_INT(id_cache_get_fixed(c, 9, 0, &out, sizeof(out)), 1);
    CHECK_INT(out.id, 9);
    CHECK_INT(out.roles, 3);
    CHECK_INT(id_cache_get_fixed(c, 9, 0, &out, sizeof(out) - 1), 0); /* another size */
    CHECK_INT(id_cache_get_fixed(c, 9, 100, &out, sizeof(out)), 0);   /* expired */
    id_cache_free(c);
}

static void test_due_for_refresh_lists_read_values_near_expiry(void)
{
    id_cache_t *c = id_cache_new(16);
    CHECK_INT(id_cache_put(c, 1, "a", 1, 1000, id_cache_generation(c, 1)), 1);
    CHECK_INT(id_cache_put(c, 2, "b", 1, 1000, id_cache_generation(c, 2)), 1);
    CHECK_INT(id_cache_put(c, 3, "c", 1, 5000, id_cache_generation(c, 3)), 1);
    size_t len;
    long long ids[8];
    CHECK_INT(id_cache_due_for_refresh(c, 600, 500, ids, 8), 0); /* none read yet */
    free(id_cache_get(c, 1, 100, &len));
    free(id_cache_get(c, 3, 100, &len));
    CHECK_INT(id_cache_due_for_refresh(c, 600, 500, ids, 8), 1); /* 3 is far from expiry, 2 unread */
    CHECK_INT(ids[0], 1);
    CHECK_INT(id_cache_due_for_refresh(c, 1000, 500, ids, 8), 0); /* 1 has expired */
    CHECK_INT(id_cache_put(c, 1, "a", 1, 2000, id_cache_generation(c, 1)), 1);
    CHECK_INT(id_cache_due_for_refresh(c, 1600, 500, ids, 8), 0); /* stored again: not read since */
    id_cache_free(c);
}

static void test_switched_off(void)
{
    id_cache_t *c = id_cache_new(0);
    CHECK(c == NULL);
    CHECK_INT(id_cache_put(c, 1, "x", 1, 100, id_cache_generation(c, 1)), 0);
    size_t len;
    CHECK(id_cache_get(c, 1, 0, &len) == NULL);
    id_cache_forget(c, 1);
    id_cache_clear(c);
    id_cache_free(c);
}

int main(void)
{
    RUN(test_put_get_and_expiry);
    RUN(test_colliding_ids_take_turns);
    RUN(test_forget_refuses_a_read_from_before);
    RUN(test_clear_drops_all_and_reads_in_flight);
    RUN(test_fixed_records);
    RUN(test_due_for_refresh_lists_read_values_near_expiry);
    RUN(test_switched_off);
    return TEST_REPORT();
}
