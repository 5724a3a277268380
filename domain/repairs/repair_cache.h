/* repair_cache.h: an owner's reads of their own ticket, served from memory.
 *
 * Owners follow a ticket like a parcel: the mini-program reloads its page
 * again and again, and on a handover day thousands do it at once. The
 * detail a ticket's owner sees (no staff parts) is kept rendered, per
 * ticket, so such a read costs no database work at all.
 *
 * It is never stale for a change made through this process: every
 * committed change of a ticket calls repair_cache_forget(). A change made
 * by another gateway process is seen by a poll of repair_tickets.updated_at
 * every repair_cache_poll_ms, and so is a photo hidden by the content
 * check, which writes its ticket's row. What does not touch the ticket row
 * (a user's display name, a project's name) shows within
 * repair_cache_max_age_s. A value also expires when one of the
 * ticket's due times passes, so `overdue` turns true on time. */
#ifndef GW_REPAIR_CACHE_H
#define GW_REPAIR_CACHE_H
#include <stdint.h>

#include "gateway/call.h"

/* Creates the cache and its poll job (serve only, config loaded). */
void repair_cache_register(void);

/* Loop: answers the call with ticket id's detail if the caller is its owner
 * and it is in memory. 1 answered, 0 not. */
int repair_cache_answer(gw_call_t *c, long long id);

/* Take before reading the detail that repair_cache_store() will keep. */
uint64_t repair_cache_generation(long long id);
/* Keeps the owner's view (JSON text) of ticket id. next_due_ms: when the
 * view's `overdue` may turn next (unix ms), 0 never. */
void repair_cache_store(long long id, long long owner_user_id, const char *json, long long next_due_ms,
                        uint64_t generation);
/* After a committed change of the ticket (state, engineer, timeline...). */
void repair_cache_forget(long long id);

#endif
