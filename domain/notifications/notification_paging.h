/* notification_paging.h: cursor pagination of the notification lists,
 * newest first. The cursor is opaque to clients; it is the id of the last
 * row of the previous page. */
#ifndef NOTIFICATION_PAGING_H
#define NOTIFICATION_PAGING_H
#include "gateway/call.h"
#include "gateway/db.h"

#define NPAGE_DEFAULT_LIMIT 20
#define NPAGE_MAX_LIMIT 100

typedef struct {
    long long before_id; /* rows with id < before_id */
    int limit;
} npage_t;

/* Reads ?cursor= and ?limit= (1..100, default 20). -1 with the call failed
 * (400 naming the parameter). Query LIMIT limit + 1 to learn if more follow. */
int npage_read(gw_call_t *c, npage_t *p);
/* Answers the list: items (owned) and, when r held more than p->limit rows,
 * a next_cursor after the last item shown. id_col is the id's column. */
void npage_respond(gw_call_t *c, const npage_t *p, cJSON *items, const db_rows_t *r, int id_col);

#endif
