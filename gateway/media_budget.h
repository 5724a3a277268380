/* media_budget.h: a cap on the memory that image decodes hold at once.
 *
 * Every decode first reserves its worst-case bytes (computed from the image
 * header, see image.h) and gives them back when it is done. When the budget
 * has no room, the reserving thread waits, at most wait_ms, for running
 * decodes to finish; then the caller answers 503 OVERLOADED. Reservations
 * are made from CPU-pool workers, never from an event-loop thread: the wait
 * blocks. A request larger than the whole capacity is refused at once.
 *
 * Thread-safe. The struct is initialised once (media_budget_init) before the
 * threads that use it start, and destroyed after they stopped. */
#ifndef GW_MEDIA_BUDGET_H
#define GW_MEDIA_BUDGET_H
#include <pthread.h>
#include <stddef.h>

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t freed; /* signalled when bytes are released; CLOCK_MONOTONIC */
    size_t capacity;
    size_t used;
    int wait_ms;
} media_budget_t;

typedef enum {
    MEDIA_BUDGET_OK = 0,  /* reserved: release exactly these bytes later */
    MEDIA_BUDGET_BUSY,    /* no room within wait_ms */
    MEDIA_BUDGET_TOO_BIG, /* more than the whole capacity: never fits */
} media_budget_status_t;

/* 0 or -1 (pthread error). */
int media_budget_init(media_budget_t *b, size_t capacity, int wait_ms);
void media_budget_destroy(media_budget_t *b);

media_budget_status_t media_budget_reserve(media_budget_t *b, size_t bytes);
void media_budget_release(media_budget_t *b, size_t bytes);
/* Bytes reserved right now (for /metrics and tests). */
size_t media_budget_used(media_budget_t *b);

/* The process-wide budget of the upload path: configured once at start from
 * image_decode_budget_bytes and image_decode_wait_ms, before the threads
 * start; NULL before. It also fixes malloc's mmap threshold (4 MiB) so that
 * freed decode buffers leave the process and RSS follows the budget. */
int media_budget_open_default(size_t capacity, int wait_ms);
media_budget_t *media_budget_default(void);

#endif
