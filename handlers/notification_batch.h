/* notification_batch.h: statements over a chunk of claimed outbox rows, so
 * that the dispatcher spends one statement on up to NB_CHUNK rows instead of
 * one a row (DB worker of the dispatcher only).
 *
 * An id list is DB_IN_LIST (gateway/db.h), NB_CHUNK places. */
#ifndef NOTIFICATION_BATCH_H
#define NOTIFICATION_BATCH_H
#include "../gateway/db.h"

#define NB_CHUNK DB_IN_LIST_SIZE
#define NB_IN_IDS DB_IN_LIST

/* A user's subscription grant for one template, as read at the start of a
 * chunk; the dispatcher keeps the count in step with what it consumes. */
typedef struct {
    long long user_id;
    const char *template_id; /* points into the result kept in nb_grants_t */
    long long one_time_count;
    int long_term;
} nb_grant_t;

typedef struct {
    db_rows_t *rows;
    nb_grant_t *grants;
    int n;
} nb_grants_t;

/* Every grant of the n users (1 <= n <= NB_CHUNK) in one statement.
 * 0 or -1 (database error; *out is empty then). */
int nb_grants_load(db_conn_t *db, const long long *user_ids, int n, nb_grants_t *out);
/* The user's grant for the template, or NULL. */
nb_grant_t *nb_grant_find(const nb_grants_t *g, long long user_id, const char *template_id);
void nb_grants_free(nb_grants_t *g);

#endif
