/* repair_events.h: notification events about repair tickets, written with
 * events_emit inside the caller's transaction.
 *
 * Every payload carries: ticket_id, ticket_no, category (name), state,
 * state_label (已受理 已派单 ...), engineer_name ("" when none), project,
 * unit ("1栋 1-101") and time ("2025-06-01 14:05", server local time), plus
 * the keys in `extra`. */
#ifndef GW_REPAIR_EVENTS_H
#define GW_REPAIR_EVENTS_H
#include <cjson/cJSON.h>

#include "gateway/db.h"

/* To one user. extra is borrowed and may be NULL. 0 or -1. */
int repair_event(db_conn_t *db, const char *kind, long long user_id, long long ticket_id, const cJSON *extra);

typedef enum { REPAIR_TO_SUPERVISORS, REPAIR_TO_MANAGERS } repair_audience_t;
/* To every active supervisor (or project manager) of the project. Returns
 * how many events were written, or -1. */
int repair_event_to_staff(db_conn_t *db, const char *kind, repair_audience_t who, long long project_id,
                          long long ticket_id, const cJSON *extra);

#endif
