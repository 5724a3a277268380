#include "domain/repairs/repair_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/background.h"
#include "gateway/config.h"
#include "gateway/id_cache.h"
#include "gateway/log.h"
#include "gateway/metrics.h"
#include "gateway/workers.h"

static id_cache_t *cache;

/* A value: the owner's user id, then the JSON text. */
typedef struct {
    long long owner_user_id;
    char json[];
} entry_t;

uint64_t repair_cache_generation(long long id)
{
    return id_cache_generation(cache, id);
}

void repair_cache_forget(long long id)
{
    id_cache_forget(cache, id);
}

void repair_cache_store(long long id, long long owner_user_id, const char *json, long long next_due_ms,
                        uint64_t generation)
{
    if (!cache)
        return;
    long long now = monotonic_ms();
    long long expires = now + (long long)gw_cfg->repair_cache_max_age_s * 1000;
    /* Photo URLs are signed for media_url_ttl_s from now: hand out none
     * with less than half of that left. */
    long long url_limit = now + (long long)gw_cfg->media_url_ttl_s * 500;
    if (url_limit < expires)
        expires = url_limit;
    if (next_due_ms > 0) {
        struct timespec wall;
        clock_gettime(CLOCK_REALTIME, &wall);
        long long due = now + next_due_ms - ((long long)wall.tv_sec * 1000 + wall.tv_nsec / 1000000);
        if (due < expires)
            expires = due;
    }
    if (expires <= now)
        return;
    size_t len = strlen(json);
    entry_t *e = malloc(sizeof(*e) + len + 1);
    if (!e)
        return;
    e->owner_user_id = owner_user_id;
    memcpy(e->json, json, len + 1);
    id_cache_put(cache, id, e, sizeof(*e) + len, expires, generation);
    free(e);
}

int repair_cache_answer(gw_call_t *c, long long id)
{
    if (!cache)
        return 0;
    size_t len;
    entry_t *e = (entry_t *)id_cache_get(cache, id, monotonic_ms(), &len);
    int mine = e && len > sizeof(*e) && e->owner_user_id == c->user.id;
    if (mine)
        call_ok(c, 200, cJSON_CreateRaw(e->json));
    free(e);
    metrics_cache_lookup(METRICS_CACHE_REPAIR_DETAIL, mine);
    return mine;
}

/* ---- changes made by other processes ----
 * Every poll evicts the tickets whose row changed since the previous poll's
 * start, less a margin for transactions that committed a moment after their
 * UPDATE ran. */
enum { POLL_MARGIN_MS = 2000 };

static char poll_since[32]; /* the database's clock at the previous poll */

static void poll_changes(db_conn_t *db)
{
    db_rows_t *now = db_query(db, "SELECT DATE_FORMAT(NOW(3), '%Y-%m-%d %H:%i:%s.%f')", DB_NOARGS);
    if (!now)
        return;
    char started[32];
    snprintf(started, sizeof(started), "%s", db_cell(now, 0, 0));
    db_rows_free(now);
    if (poll_since[0]) {
        db_rows_t *r = db_query(db,
                                "SELECT id FROM repair_tickets"
                                " WHERE updated_at >= CAST(? AS DATETIME(3)) - INTERVAL ? MICROSECOND",
                                DB_ARGS(DB_STR(poll_since), DB_INT((long long)POLL_MARGIN_MS * 1000)));
        if (!r) {
            log_warn("repairs", "cache poll failed: %s", db_error(db));
            return; /* keep poll_since: the next poll covers this one */
        }
        for (int i = 0; i < r->nrows; i++)
            id_cache_forget(cache, db_cell_int(r, i, 0));
        db_rows_free(r);
    } else {
        /* Before the first poll the cache held only what this process read
         * since it started: forget it all rather than miss a change. */
        id_cache_clear(cache);
    }
    memcpy(poll_since, started, sizeof(poll_since));
}

void repair_cache_register(void)
{
    cache = id_cache_new((size_t)gw_cfg->repair_cache_slots);
    if (cache)
        background_register("repair-cache-poll", gw_cfg->repair_cache_poll_ms, poll_changes);
}
