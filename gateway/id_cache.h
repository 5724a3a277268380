/* id_cache.h: a bounded in-process cache of byte strings keyed by a row id,
 * shared by every thread of the process.
 *
 * Direct-mapped: an id has exactly one slot (id modulo the slot count), so
 * the memory is bounded by the slot count and there is no eviction policy
 * to maintain; two hot ids that share a slot just take turns.
 *
 * Staleness is handled by the callers in two ways:
 *  - every value has an expiry (a monotonic time in ms);
 *  - id_cache_forget() after a change is committed. Each slot carries a
 *    generation that forget() bumps. A reader that missed takes the
 *    generation (id_cache_generation) BEFORE it reads the source and hands
 *    it to id_cache_put(), which refuses the value if a forget() came in
 *    between: a value read before a commit can never be stored after the
 *    forget() that followed the commit.
 *
 * A NULL cache (0 slots: the feature is switched off) is valid everywhere:
 * lookups miss and stores do nothing. Thread-safe (one mutex). */
#ifndef GW_ID_CACHE_H
#define GW_ID_CACHE_H
#include <stddef.h>
#include <stdint.h>

typedef struct id_cache id_cache_t;

/* NULL when slots is 0 (switched off) or on allocation failure. */
id_cache_t *id_cache_new(size_t slots);
void id_cache_free(id_cache_t *cache);

/* Take before reading the source of the value to be stored. */
uint64_t id_cache_generation(id_cache_t *cache, long long id);
/* Stores a copy of value[0..len) until expires_ms (monotonic) unless the
 * slot's generation moved since `generation` was taken. 1 stored, 0 not. */
int id_cache_put(id_cache_t *cache, long long id, const void *value, size_t len, long long expires_ms,
                 uint64_t generation);
/* A malloc'ed copy of the value (NUL-terminated after len bytes, so text can
 * be used as a C string) or NULL when absent or expired at now_ms. */
char *id_cache_get(id_cache_t *cache, long long id, long long now_ms, size_t *len);
/* Copies a value of exactly `len` bytes into out (fixed-size records);
 * 1 found, 0 absent, expired or of another size. */
int id_cache_get_fixed(id_cache_t *cache, long long id, long long now_ms, void *out, size_t len);
/* Refresh ahead: the ids (at most max) of values that were read since they
 * were stored and expire before now_ms + within_ms. A caller that loads
 * and stores them again keeps busy ids from ever missing. */
size_t id_cache_due_for_refresh(id_cache_t *cache, long long now_ms, long long within_ms, long long *ids, size_t max);
/* Drops the id's value and invalidates reads of it in flight. */
void id_cache_forget(id_cache_t *cache, long long id);
/* Drops everything (e.g. after a bulk change). */
void id_cache_clear(id_cache_t *cache);

#endif
