/* ratelimit.h: token buckets per client address and per user, per route
 * class (router.h rate_class_t), shared by every thread of the process.
 *
 * A bucket holds up to `burst` tokens and gains `count` tokens every
 * `period_s` seconds (gw_rate_t, config.h); a request takes one token or is
 * refused with the seconds until the next one. Buckets live in a table of
 * a fixed number of entries allocated once: the table is split into 64
 * shards, each behind its own mutex, and a key may only live in one set of
 * 8 entries of its shard. A lookup hashes the key (with a per-process
 * random seed, so clients cannot aim at a set), scans those 8 entries and
 * takes the shard's lock for a few dozen instructions: O(1), no allocation,
 * no I/O, never a wait on anything but another lookup of the same shard.
 * When a new key finds its set full, the entry used least recently is
 * reused (an idle bucket has refilled anyway; a busy one evicted under
 * pressure starts again full): memory stays bounded whatever the number of
 * clients. Limits are per process: N processes allow N times as much.
 *
 * Addresses are keyed by their IPv4 address or their IPv6 /64 prefix (one
 * subscriber usually holds a whole /64). */
#ifndef GW_RATELIMIT_H
#define GW_RATELIMIT_H
#include <stddef.h>

#include "config.h"
#include "router.h"

typedef enum { RL_KEY_IP = 0, RL_KEY_USER, RL_KEY__COUNT } rl_key_kind_t;

typedef struct ratelimit ratelimit_t;

/* A table of about `entries` buckets (rounded up to whole sets); NULL when
 * out of memory. Thread-safe after creation. */
ratelimit_t *ratelimit_new(size_t entries);
void ratelimit_free(ratelimit_t *rl);
/* Entries the table holds (after rounding). */
size_t ratelimit_capacity(const ratelimit_t *rl);

/* Takes one token from the bucket of (cls, kind, key[0..keylen)), keylen at
 * most 16, creating it full if absent, at now_ms (monotonic). 1 allowed; 0
 * refused, with *retry_after_s the whole seconds (>= 1) until a token is
 * back. A rate with count 0 (off) always allows. *evicted (may be NULL) is
 * set to 1 when a bucket of another key had to be dropped. */
int ratelimit_take(ratelimit_t *rl, rate_class_t cls, rl_key_kind_t kind, const void *key, size_t keylen,
                   const gw_rate_t *rate, long long now_ms, int *retry_after_s, int *evicted);

/* The process's limiter, sized by rate_limit_entries (config loaded).
 * -1 when out of memory. */
int ratelimit_init(void);
void ratelimit_shutdown(void);

struct gw_call;
/* Loop thread. Takes a token of the call's route class (RATE_DEFAULT when
 * no route matched) for the caller's address (c->client_ip), or for the
 * session's user (c->session_user_id). 0 allowed; -1 with the call failed
 * with 429 RATE_LIMITED and Retry-After, counted in /metrics. */
int ratelimit_ip_or_fail(struct gw_call *c);
int ratelimit_user_or_fail(struct gw_call *c);

#endif
