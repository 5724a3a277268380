/* ratelimit.c: see ratelimit.h. */
#include "ratelimit.h"

#include <arpa/inet.h>
#include <math.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "log.h"
#include "metrics.h"
#include "workers.h"

#define NSHARDS 64 /* power of two */
#define WAYS 8

typedef struct {
    uint8_t used, cls, kind, len;
    uint8_t bytes[16];
} rl_key_t;

typedef struct {
    rl_key_t key;
    double tokens;
    long long last_ms; /* last take: tokens are counted up to here; also the LRU order */
} entry_t;
_Static_assert(sizeof(entry_t) == 40, "README.md and rate_limit_entries give the entry size");

/* One lock per shard, each on its own cache line so that threads working on
 * different shards do not slow each other down. */
typedef struct {
    _Alignas(64) pthread_mutex_t mu;
    entry_t *sets; /* nsets * WAYS entries */
} shard_t;

struct ratelimit {
    shard_t *shards;
    entry_t *entries;
    size_t nsets; /* per shard */
    uint64_t seed;
};

static ratelimit_t *the_limiter;

ratelimit_t *ratelimit_new(size_t entries)
{
    ratelimit_t *rl = calloc(1, sizeof(*rl));
    if (!rl)
        return NULL;
    rl->nsets = (entries + NSHARDS * WAYS - 1) / (NSHARDS * WAYS);
    if (rl->nsets == 0)
        rl->nsets = 1;
    rl->shards = aligned_alloc(_Alignof(shard_t), NSHARDS * sizeof(shard_t));
    rl->entries = calloc(NSHARDS * rl->nsets * WAYS, sizeof(entry_t));
    if (!rl->shards || !rl->entries) {
        free(rl->shards);
        free(rl->entries);
        free(rl);
        return NULL;
    }
    for (size_t i = 0; i < NSHARDS; i++) {
        pthread_mutex_init(&rl->shards[i].mu, NULL);
        rl->shards[i].sets = rl->entries + i * rl->nsets * WAYS;
    }
    if (RAND_bytes((unsigned char *)&rl->seed, sizeof(rl->seed)) != 1)
        rl->seed = (uint64_t)monotonic_ms() * 0x9e3779b97f4a7c15ull; /* still varies per process */
    return rl;
}

void ratelimit_free(ratelimit_t *rl)
{
    if (!rl)
        return;
    for (size_t i = 0; i < NSHARDS; i++)
        pthread_mutex_destroy(&rl->shards[i].mu);
    free(rl->shards);
    free(rl->entries);
    free(rl);
}

size_t ratelimit_capacity(const ratelimit_t *rl)
{
    return rl ? NSHARDS * rl->nsets * WAYS : 0;
}

/* FNV-1a over the key, started from the seed, then a 64-bit finaliser so
 * that both the low bits (shard) and the high bits (set) are well mixed. */
static uint64_t hash_key(uint64_t seed, const rl_key_t *k)
{
    const uint8_t *p = (const uint8_t *)k;
    uint64_t h = 14695981039346656037ull ^ seed;
    for (size_t i = 0; i < sizeof(*k); i++)
        h = (h ^ p[i]) * 1099511628211ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

int ratelimit_take(ratelimit_t *rl, rate_class_t cls, rl_key_kind_t kind, const void *key, size_t keylen,
                   const gw_rate_t *rate, long long now_ms, int *retry_after_s, int *evicted)
{
    if (evicted)
        *evicted = 0;
    if (!rl || !rate || rate->count <= 0)
        return 1;
    rl_key_t k;
    memset(&k, 0, sizeof(k));
    k.used = 1;
    k.cls = (uint8_t)cls;
    k.kind = (uint8_t)kind;
    k.len = (uint8_t)(keylen < sizeof(k.bytes) ? keylen : sizeof(k.bytes));
    memcpy(k.bytes, key, k.len);
    uint64_t h = hash_key(rl->seed, &k);
    shard_t *s = &rl->shards[h & (NSHARDS - 1)];
    double per_ms = (double)rate->count / ((double)rate->period_s * 1000.0);
    int allowed;

    pthread_mutex_lock(&s->mu);
    entry_t *set = s->sets + (size_t)((h >> 6) % rl->nsets) * WAYS, *e = NULL, *victim = &set[0];
    for (int i = 0; i < WAYS; i++) {
        if (set[i].key.used && memcmp(&set[i].key, &k, sizeof(k)) == 0) {
            e = &set[i];
            break;
        }
        /* An empty entry is taken first, else the least recently used. */
        if (victim->key.used && (!set[i].key.used || set[i].last_ms < victim->last_ms))
            victim = &set[i];
    }
    if (!e) {
        if (victim->key.used && evicted)
            *evicted = 1;
        e = victim;
        e->key = k;
        e->tokens = rate->burst;
    } else if (now_ms > e->last_ms) {
        e->tokens += (double)(now_ms - e->last_ms) * per_ms;
    }
    if (e->tokens > rate->burst)
        e->tokens = rate->burst;
    if (now_ms > e->last_ms)
        e->last_ms = now_ms;
    allowed = e->tokens >= 1.0;
    if (allowed)
        e->tokens -= 1.0;
    else if (retry_after_s)
        /* the epsilon keeps float noise from adding a second */
        *retry_after_s = (int)ceil((1.0 - e->tokens) * rate->period_s / rate->count - 1e-6);
    pthread_mutex_unlock(&s->mu);

    if (!allowed && retry_after_s && *retry_after_s < 1)
        *retry_after_s = 1;
    return allowed;
}

int ratelimit_init(void)
{
    the_limiter = ratelimit_new((size_t)gw_cfg->rate_limit_entries);
    return the_limiter ? 0 : -1;
}

void ratelimit_shutdown(void)
{
    ratelimit_free(the_limiter);
    the_limiter = NULL;
}

static const gw_rate_t *rate_of(rate_class_t cls, rl_key_kind_t kind)
{
    int ip = kind == RL_KEY_IP;
    switch (cls) {
    case RATE_LOGIN:
        return ip ? &gw_cfg->rate_login_ip : &gw_cfg->rate_login_user;
    case RATE_LEADS:
        return ip ? &gw_cfg->rate_leads_ip : &gw_cfg->rate_leads_user;
    case RATE_UPLOADS:
        return ip ? &gw_cfg->rate_uploads_ip : &gw_cfg->rate_uploads_user;
    case RATE_REFERRAL:
        return ip ? &gw_cfg->rate_referral_ip : &gw_cfg->rate_referral_user;
    case RATE_CONSOLE:
        return ip ? &gw_cfg->rate_console_ip : &gw_cfg->rate_console_user;
    case RATE_EXPORTS:
        return ip ? &gw_cfg->rate_exports_ip : &gw_cfg->rate_exports_user;
    case RATE_CUSTOMERS:
        return ip ? &gw_cfg->rate_customers_ip : &gw_cfg->rate_customers_user;
    default:
        return ip ? &gw_cfg->rate_default_ip : &gw_cfg->rate_default_user;
    }
}

/* The address as a key: 4 bytes of IPv4 (also when mapped into IPv6), the
 * /64 prefix of IPv6, or nothing when the address is unknown. */
static size_t address_key(const char *ip, uint8_t out[16])
{
    struct in6_addr a6;
    if (inet_pton(AF_INET, ip, out) == 1)
        return 4;
    if (inet_pton(AF_INET6, ip, &a6) != 1)
        return 0;
    if (IN6_IS_ADDR_V4MAPPED(&a6)) {
        memcpy(out, &a6.s6_addr[12], 4);
        return 4;
    }
    memcpy(out, a6.s6_addr, 8);
    return 8;
}

static int take_or_fail(gw_call_t *c, rl_key_kind_t kind, const uint8_t *key, size_t keylen)
{
    rate_class_t cls = c->route ? c->route->rate : RATE_DEFAULT;
    const gw_rate_t *rate = rate_of(cls, kind);
    int wait_s = 0, evicted = 0;
    int ok = ratelimit_take(the_limiter, cls, kind, key, keylen, rate, monotonic_ms(), &wait_s, &evicted);
    if (evicted)
        metrics_rate_limit_evicted();
    if (ok)
        return 0;
    metrics_rate_limited(cls, kind);
    call_fail(c, ERR_RATE_LIMITED, NULL, "too many %s requests from this %s; retry in %d s", rate_class_name(cls),
              kind == RL_KEY_IP ? "address" : "user", wait_s);
    c->retry_after_s = wait_s;
    return -1;
}

int ratelimit_ip_or_fail(gw_call_t *c)
{
    uint8_t key[16];
    size_t len = address_key(c->client_ip, key);
    return take_or_fail(c, RL_KEY_IP, key, len);
}

int ratelimit_user_or_fail(gw_call_t *c)
{
    uint8_t key[16];
    long long id = c->session_user_id;
    memcpy(key, &id, sizeof(id));
    return take_or_fail(c, RL_KEY_USER, key, sizeof(id));
}
