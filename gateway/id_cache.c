#include "id_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    long long id;        /* 0: empty */
    uint64_t generation; /* bumped by forget/clear */
    long long expires_ms;
    int read; /* read since stored (refresh ahead) */
    char *value;
    size_t len;
} slot_t;

struct id_cache {
    pthread_mutex_t lock;
    size_t nslots;
    slot_t *slots;
};

id_cache_t *id_cache_new(size_t slots)
{
    if (slots == 0)
        return NULL;
    id_cache_t *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->slots = calloc(slots, sizeof(slot_t));
    if (!c->slots) {
        free(c);
        return NULL;
    }
    c->nslots = slots;
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

void id_cache_free(id_cache_t *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nslots; i++)
        free(c->slots[i].value);
    free(c->slots);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static slot_t *slot_of(id_cache_t *c, long long id)
{
    return &c->slots[(unsigned long long)id % c->nslots];
}

static void empty_slot(slot_t *s)
{
    free(s->value);
    s->value = NULL;
    s->len = 0;
    s->id = 0;
}

uint64_t id_cache_generation(id_cache_t *c, long long id)
{
    if (!c)
        return 0;
    pthread_mutex_lock(&c->lock);
    uint64_t g = slot_of(c, id)->generation;
    pthread_mutex_unlock(&c->lock);
    return g;
}

int id_cache_put(id_cache_t *c, long long id, const void *value, size_t len, long long expires_ms, uint64_t generation)
{
    if (!c || id == 0)
        return 0;
    /* Copy outside the lock; the lock only swaps pointers. */
    char *copy = malloc(len + 1);
    if (!copy)
        return 0;
    memcpy(copy, value, len);
    copy[len] = '\0';
    pthread_mutex_lock(&c->lock);
    slot_t *s = slot_of(c, id);
    int stored = s->generation == generation;
    char *old = NULL;
    if (stored) {
        old = s->value;
        s->id = id;
        s->value = copy;
        s->len = len;
        s->expires_ms = expires_ms;
        s->read = 0;
        copy = NULL;
    }
    pthread_mutex_unlock(&c->lock);
    free(old);
    free(copy);
    return stored;
}

/* Copies the live value of id into a fresh buffer of its length (+1). */
static char *copy_live(id_cache_t *c, long long id, long long now_ms, size_t *len)
{
    char *out = NULL;
    pthread_mutex_lock(&c->lock);
    slot_t *s = slot_of(c, id);
    if (s->id == id && s->value) {
        if (s->expires_ms > now_ms) {
            out = malloc(s->len + 1);
            if (out) {
                memcpy(out, s->value, s->len + 1);
                *len = s->len;
                s->read = 1;
            }
        } else {
            empty_slot(s);
        }
    }
    pthread_mutex_unlock(&c->lock);
    return out;
}

char *id_cache_get(id_cache_t *c, long long id, long long now_ms, size_t *len)
{
    if (!c || id == 0)
        return NULL;
    size_t n = 0;
    char *v = copy_live(c, id, now_ms, &n);
    if (v && len)
        *len = n;
    return v;
}

int id_cache_get_fixed(id_cache_t *c, long long id, long long now_ms, void *out, size_t len)
{
    if (!c || id == 0)
        return 0;
    int found = 0;
    pthread_mutex_lock(&c->lock);
    slot_t *s = slot_of(c, id);
    if (s->id == id && s->value && s->len == len) {
        if (s->expires_ms > now_ms) {
            memcpy(out, s->value, len);
            s->read = 1;
            found = 1;
        } else {
            empty_slot(s);
        }
    }
    pthread_mutex_unlock(&c->lock);
    return found;
}

size_t id_cache_due_for_refresh(id_cache_t *c, long long now_ms, long long within_ms, long long *ids, size_t max)
{
    if (!c)
        return 0;
    size_t n = 0;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->nslots && n < max; i++) {
        const slot_t *s = &c->slots[i];
        if (s->value && s->read && s->expires_ms > now_ms && s->expires_ms - now_ms <= within_ms)
            ids[n++] = s->id;
    }
    pthread_mutex_unlock(&c->lock);
    return n;
}

void id_cache_forget(id_cache_t *c, long long id)
{
    if (!c)
        return;
    char *old = NULL;
    pthread_mutex_lock(&c->lock);
    slot_t *s = slot_of(c, id);
    s->generation++;
    if (s->id == id) {
        old = s->value;
        s->value = NULL;
        s->len = 0;
        s->id = 0;
    }
    pthread_mutex_unlock(&c->lock);
    free(old);
}

void id_cache_clear(id_cache_t *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->nslots; i++) {
        c->slots[i].generation++;
        empty_slot(&c->slots[i]);
    }
    pthread_mutex_unlock(&c->lock);
}
