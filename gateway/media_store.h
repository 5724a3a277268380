/* media_store.h: where photo bytes live, addressed by their content.
 *
 * A key is the lower-case hex SHA-256 of the bytes, so storing the same bytes
 * twice stores them once and a key can never point at other content. The
 * store is an interface (a table of functions) so an S3-compatible backend
 * can replace the default one, content-addressed files under media_dir,
 * without touching its callers.
 *
 * Every operation may block on I/O: call from worker threads (POOL_CPU steps,
 * background jobs), never from an event-loop thread. Implementations must be
 * thread-safe. Deleting is the caller's decision: it must know that no row
 * still references the key (see the orphan sweeper). */
#ifndef GW_MEDIA_STORE_H
#define GW_MEDIA_STORE_H
#include <stddef.h>

#define MEDIA_KEY_LEN 64

typedef struct media_store media_store_t;

typedef struct {
    /* Stores data under its key (written to out_key, MEDIA_KEY_LEN + 1 bytes). 0 or -1. */
    int (*put)(media_store_t *s, const void *data, size_t len, char *out_key);
    /* 0 with *data (malloc, caller frees) and *len; 1 if absent; -1 on error. */
    int (*get)(media_store_t *s, const char *key, unsigned char **data, size_t *len);
    /* 0 if deleted or already absent; -1 on error. */
    int (*del)(media_store_t *s, const char *key);
    void (*destroy)(media_store_t *s);
} media_store_ops_t;

struct media_store {
    const media_store_ops_t *ops;
    void *impl;
};

/* Content-addressed files: <dir>/ab/cd/<key>, written to a temporary file
 * and renamed into place, so a reader never sees a partial file. */
media_store_t *media_store_fs_new(const char *dir);

/* The process-wide store used by the handlers and jobs. Open it once at start
 * (idempotent; before the threads run); -1 if it cannot be created. */
int media_store_open_default(const char *dir);
media_store_t *media_store_default(void);

static inline int media_store_put(media_store_t *s, const void *data, size_t len, char *out_key)
{
    return s->ops->put(s, data, len, out_key);
}
static inline int media_store_get(media_store_t *s, const char *key, unsigned char **data, size_t *len)
{
    return s->ops->get(s, key, data, len);
}
static inline int media_store_del(media_store_t *s, const char *key)
{
    return s->ops->del(s, key);
}
static inline void media_store_destroy(media_store_t *s)
{
    if (s)
        s->ops->destroy(s);
}

/* Lower-case hex SHA-256 of data into out (MEDIA_KEY_LEN + 1 bytes). */
void media_key_of(const void *data, size_t len, char *out);
/* 1 if key is 64 lower-case hex digits. */
int media_key_valid(const char *key);

#endif
