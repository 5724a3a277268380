/* json_arena.c: see json_arena.h. */
#include "json_arena.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdlib.h>

#define FIRST_BLOCK (32 * 1024)
#define ALIGN 16

typedef struct block {
    struct block *next;
    size_t size; /* bytes after the header */
} block_t;
_Static_assert(sizeof(block_t) % ALIGN == 0, "the first allocation of a block stays aligned");

/* This thread's scope. The blocks are searched by address on every free,
 * so they stay few: each is twice the last, at most about six a scope. */
static _Thread_local struct {
    int open;
    block_t *blocks; /* newest first */
    char *cur, *end;
    size_t total;
} arena;
static int installed;

static int in_arena(const void *p)
{
    for (const block_t *b = arena.blocks; b; b = b->next) {
        const char *start = (const char *)(b + 1);
        if ((const char *)p >= start && (const char *)p < start + b->size)
            return 1;
    }
    return 0;
}

static int grow(size_t need)
{
    size_t size = arena.blocks ? arena.blocks->size * 2 : FIRST_BLOCK;
    while (size < need)
        size *= 2;
    if (size > JSON_ARENA_MAX_BYTES - arena.total)
        return -1;
    block_t *b = malloc(sizeof(*b) + size);
    if (!b)
        return -1;
    b->size = size;
    b->next = arena.blocks;
    arena.blocks = b;
    arena.cur = (char *)(b + 1);
    arena.end = arena.cur + size;
    arena.total += size;
    return 0;
}

static void *arena_malloc(size_t n)
{
    if (!arena.open || n > JSON_ARENA_MAX_BYTES)
        return malloc(n);
    size_t need = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if ((size_t)(arena.end - arena.cur) < need && grow(need) != 0)
        return malloc(n);
    void *p = arena.cur;
    arena.cur += need;
    return p;
}

static void arena_free(void *p)
{
    if (p && !in_arena(p))
        free(p);
}

void json_arena_install(void)
{
    cJSON_Hooks hooks = {.malloc_fn = arena_malloc, .free_fn = arena_free};
    cJSON_InitHooks(&hooks);
    installed = 1;
}

int json_arena_open(void)
{
    if (!installed || arena.open)
        return -1;
    arena.open = 1;
    return 0;
}

void json_arena_close(void)
{
    block_t *b = arena.blocks;
    while (b) {
        block_t *next = b->next;
        free(b);
        b = next;
    }
    arena.open = 0;
    arena.blocks = NULL;
    arena.cur = arena.end = NULL;
    arena.total = 0;
}
