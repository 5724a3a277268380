/* test_ratelimit.c: the token buckets behind the rate limits: the exact
 * burst, refill with the clock the caller passes, Retry-After, independent
 * keys, classes and kinds, eviction when the table is full (least recently
 * used first, memory fixed), and exact counts under concurrent use. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"
#include "test.h"

static const gw_rate_t per_minute_3 = {60, 60, 3}; /* one token a second, 3 at once */
static const gw_rate_t per_hour_1 = {1, 3600, 1};

static int take(ratelimit_t *rl, const gw_rate_t *rate, long long key, long long now_ms, int *retry)
{
    return ratelimit_take(rl, RATE_DEFAULT, RL_KEY_USER, &key, sizeof(key), rate, now_ms, retry, NULL);
}

static void test_burst_then_refused_with_retry_after(void)
{
    ratelimit_t *rl = ratelimit_new(1024);
    int retry = -1;
    for (int i = 0; i < 3; i++)
        CHECK_INT(take(rl, &per_minute_3, 1, 1000, &retry), 1);
    CHECK_INT(retry, -1); /* untouched while allowed */
    CHECK_INT(take(rl, &per_minute_3, 1, 1000, &retry), 0);
    CHECK_INT(retry, 1);
    /* 999 ms later: still less than a token. */
    CHECK_INT(take(rl, &per_minute_3, 1, 1999, &retry), 0);
    CHECK_INT(retry, 1);
    /* A whole token a second after the burst was used. */
    CHECK_INT(take(rl, &per_minute_3, 1, 2000, &retry), 1);
    CHECK_INT(take(rl, &per_minute_3, 1, 2000, &retry), 0);
    /* Idle for long: back to the burst, never above it. */
    for (int i = 0; i < 3; i++)
        CHECK_INT(take(rl, &per_minute_3, 1, 600000, &retry), 1);
    CHECK_INT(take(rl, &per_minute_3, 1, 600000, &retry), 0);

    /* A slow rate: Retry-After in whole seconds until the next token. */
    CHECK_INT(take(rl, &per_hour_1, 2, 0, &retry), 1);
    CHECK_INT(take(rl, &per_hour_1, 2, 0, &retry), 0);
    CHECK_INT(retry, 3600);
    CHECK_INT(take(rl, &per_hour_1, 2, 1800 * 1000, &retry), 0);
    CHECK_INT(retry, 1800);
    ratelimit_free(rl);
}

static void test_off_always_allows(void)
{
    ratelimit_t *rl = ratelimit_new(1024);
    gw_rate_t off = {0, 1, 0};
    for (int i = 0; i < 1000; i++)
        CHECK_INT(take(rl, &off, 1, 0, NULL), 1);
    /* Without a table (not initialised) nothing is limited either. */
    CHECK_INT(take(NULL, &per_hour_1, 1, 0, NULL), 1);
    ratelimit_free(rl);
}

static void test_keys_classes_and_kinds_are_separate(void)
{
    ratelimit_t *rl = ratelimit_new(1024);
    long long user = 7;
    unsigned char ip[4] = {10, 0, 0, 7};
    CHECK_INT(ratelimit_take(rl, RATE_LOGIN, RL_KEY_USER, &user, sizeof(user), &per_hour_1, 0, NULL, NULL), 1);
    CHECK_INT(ratelimit_take(rl, RATE_LOGIN, RL_KEY_USER, &user, sizeof(user), &per_hour_1, 0, NULL, NULL), 0);
    /* Same user, another class. */
    CHECK_INT(ratelimit_take(rl, RATE_LEADS, RL_KEY_USER, &user, sizeof(user), &per_hour_1, 0, NULL, NULL), 1);
    /* The same 8 bytes as an address key, and a 4-byte address. */
    CHECK_INT(ratelimit_take(rl, RATE_LOGIN, RL_KEY_IP, &user, sizeof(user), &per_hour_1, 0, NULL, NULL), 1);
    CHECK_INT(ratelimit_take(rl, RATE_LOGIN, RL_KEY_IP, ip, sizeof(ip), &per_hour_1, 0, NULL, NULL), 1);
    CHECK_INT(ratelimit_take(rl, RATE_LOGIN, RL_KEY_IP, ip, sizeof(ip), &per_hour_1, 0, NULL, NULL), 0);
    /* A prefix of a key is another key. */
    CHECK_INT(ratelimit_take(rl, RATE_LOGIN, RL_KEY_IP, ip, 3, &per_hour_1, 0, NULL, NULL), 1);
    /* Another user. */
    CHECK_INT(take(rl, &per_hour_1, 8, 0, NULL), 1);
    ratelimit_free(rl);
}

static void test_eviction_keeps_memory_fixed_and_spares_recent_keys(void)
{
    ratelimit_t *rl = ratelimit_new(300); /* rounded up to whole sets: 64 shards x 1 set x 8 */
    CHECK_INT(ratelimit_capacity(rl), 512);
    /* Two exhausted buckets: `hot` is used all the time, `cold` never again. */
    long long hot = -1, cold = -2, now = 1;
    CHECK_INT(take(rl, &per_hour_1, hot, now, NULL), 1);
    CHECK_INT(take(rl, &per_hour_1, cold, now, NULL), 1);
    int evictions = 0;
    for (long long k = 1; k <= 20000; k++) {
        int evicted = 0;
        now++;
        CHECK_INT(ratelimit_take(rl, RATE_DEFAULT, RL_KEY_USER, &k, sizeof(k), &per_hour_1, now, NULL, &evicted), 1);
        evictions += evicted;
        now++;
        CHECK_INT(take(rl, &per_hour_1, hot, now, NULL), 0); /* still empty: never evicted */
    }
    CHECK_INT(ratelimit_capacity(rl), 512);
    /* 20 002 keys passed through 512 entries. */
    CHECK(evictions >= 20002 - 512);
    /* The cold bucket was the least recently used of its set long ago: it
     * starts again full. */
    CHECK_INT(take(rl, &per_hour_1, cold, now, NULL), 1);
    ratelimit_free(rl);
}

typedef struct {
    ratelimit_t *rl;
    long long key;
    int rounds;
    int allowed;
} worker_t;

static void *hammer(void *arg)
{
    worker_t *w = arg;
    gw_rate_t rate = {1, 3600, 1000};
    for (int i = 0; i < w->rounds; i++)
        w->allowed +=
            ratelimit_take(w->rl, RATE_DEFAULT, RL_KEY_USER, &w->key, sizeof(w->key), &rate, 5000, NULL, NULL);
    return NULL;
}

/* Threads sharing one bucket get exactly its burst between them; threads
 * on buckets of their own each get exactly theirs. */
static void test_concurrent_takes_are_exact(void)
{
    ratelimit_t *rl = ratelimit_new(65536);
    enum { N = 8 };
    pthread_t tids[N];
    worker_t w[N];
    for (int i = 0; i < N; i++) {
        w[i] = (worker_t){rl, 42, 5000, 0};
        pthread_create(&tids[i], NULL, hammer, &w[i]);
    }
    int total = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(tids[i], NULL);
        total += w[i].allowed;
    }
    CHECK_INT(total, 1000);

    for (int i = 0; i < N; i++) {
        w[i] = (worker_t){rl, 100 + i, 3000, 0};
        pthread_create(&tids[i], NULL, hammer, &w[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(tids[i], NULL);
        CHECK_INT(w[i].allowed, 1000);
    }
    ratelimit_free(rl);
}

int main(void)
{
    RUN(test_burst_then_refused_with_retry_after);
    RUN(test_off_always_allows);
    RUN(test_keys_classes_and_kinds_are_separate);
    RUN(test_eviction_keeps_memory_fixed_and_spares_recent_keys);
    RUN(test_concurrent_takes_are_exact);
    return TEST_REPORT();
}
