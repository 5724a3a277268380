/* json_arena.h: a bump allocator under cJSON for the tree of one list page.
 *
 * A page of 20 list items is a tree of about 1 500 small allocations (each
 * node, its key and its value), which glibc's allocator spent about 40% of
 * the gateway's instructions on making and freeing ("A list page's tree
 * in an arena" in bench/RESULTS.md). Inside a scope, cJSON takes its memory
 * from a few large blocks of the calling thread instead, its frees of that
 * memory do nothing, and closing the scope gives the blocks back at once.
 *
 * Ownership and lifetime:
 * - json_arena_install sets cJSON's hooks for the whole process: call it
 *   once, before any thread starts. Outside a scope (every thread, always,
 *   but the one that opened it) the hooks are malloc and free. One thing
 *   changes everywhere: given hooks, cJSON's printer grows its buffer by a
 *   new allocation and a copy instead of realloc (a few copies of a few KB
 *   for a response; s1 with the caches on, all printing, kept its rate).
 * - A scope belongs to the thread that opened it and must be closed on that
 *   thread. Every cJSON allocation made on that thread meanwhile lives until
 *   json_arena_close: a tree built inside a scope must not outlive it. Print
 *   it and copy the text out with plain malloc (strdup) before closing.
 * - Memory cJSON allocated before the scope (or on another thread) may be
 *   freed inside it: the free hook tells the arena's blocks apart by
 *   address.
 * - A scope holds at most JSON_ARENA_MAX_BYTES; past that cJSON's
 *   allocations go to malloc again (and are freed by free), so a large page
 *   costs what it did, never an error.
 * - Scopes do not nest: json_arena_open answers -1 while one is open (or
 *   before install), and the caller then runs without one. */
#ifndef GW_JSON_ARENA_H
#define GW_JSON_ARENA_H

#define JSON_ARENA_MAX_BYTES (1024 * 1024)

void json_arena_install(void);
/* 0: a scope is open on this thread; -1: none was opened. */
int json_arena_open(void);
/* Ends this thread's scope: every allocation made in it is gone. */
void json_arena_close(void);

#endif
