/* notification_paging.c: cursor and limit parameters of the notification lists. */
#include "domain/notifications/notification_paging.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* A positive decimal integer, or -1. */
static long long parse_positive(const char *s)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    return errno || end == s || *end || v <= 0 ? -1 : v;
}

int npage_read(gw_call_t *c, npage_t *p)
{
    char buf[32];

    p->before_id = 1LL << 62;
    p->limit = NPAGE_DEFAULT_LIMIT;
    if (call_query(c, "cursor", buf, sizeof buf) && buf[0]) {
        p->before_id = parse_positive(buf);
        if (p->before_id < 0) {
            call_fail(c, ERR_INVALID_FIELD, "cursor", "cursor is not one this list returned");
            return -1;
        }
    }
    if (call_query(c, "limit", buf, sizeof buf) && buf[0]) {
        long long v = parse_positive(buf);
        if (v < 1 || v > NPAGE_MAX_LIMIT) {
            call_fail(c, ERR_INVALID_FIELD, "limit", "limit must be 1 to %d", NPAGE_MAX_LIMIT);
            return -1;
        }
        p->limit = (int)v;
    }
    return 0;
}

void npage_respond(gw_call_t *c, const npage_t *p, cJSON *items, const db_rows_t *r, int id_col)
{
    char cursor[32];

    if (r->nrows > p->limit) {
        snprintf(cursor, sizeof cursor, "%lld", db_cell_int(r, p->limit - 1, id_col));
        call_ok_list(c, items, cursor);
    } else {
        call_ok_list(c, items, NULL);
    }
}
