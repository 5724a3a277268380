/* notification_batch.h: statements over a chunk of claimed outbox rows, so
 * that the dispatcher spends one statement on up to NB_CHUNK rows instead of
 * one a row (DB worker of the dispatcher only), and the ledger of the grants
 * its sends in flight use.
 *
 * An id list is DB_IN_LIST (gateway/db.h), NB_CHUNK places. */
#ifndef NOTIFICATION_BATCH_H
#define NOTIFICATION_BATCH_H
#include "gateway/db.h"

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

/* ---- the ledger: grants while many sends are in flight -------------------
 *
 * One entry per (user, template) that events in the dispatcher's pipeline
 * use. It starts from the database's row and then follows what this process
 * does: a send that will consume a one-time grant reserves it before it
 * starts, and the reservation becomes a consumption (sent) or is handed back
 * (not sent) when the answer comes. So two events of one user and template
 * never both go out on a single grant, and a second event waits for the
 * first one's answer instead of being judged no_quota while that grant may
 * still come back (the order a one-at-a-time dispatcher gave). An entry
 * lives while an event of the pipeline holds it: once the last one is
 * recorded (its consumption committed) it is dropped, and a later event
 * reads the grant from the database again. Pure; one thread. */
typedef struct {
    long long user_id;
    char template_id[128];
    long long one_time_count; /* the row's count less what was consumed since */
    int long_term;
    int reserved; /* sends in flight that consume a one-time grant if they succeed */
    int refs;     /* pipeline events that hold this entry */
} nb_hold_t;

typedef struct {
    nb_hold_t **v;
    int n, cap;
} nb_ledger_t; /* zero-initialised = empty */

typedef enum {
    NB_SEND, /* go: *consume says whether a one-time grant was reserved */
    NB_WAIT, /* nothing free now, but a send in flight may hand its grant back */
    NB_NONE, /* no grant: no_quota */
} nb_verdict_t;

typedef enum {
    NB_SENT,    /* WeChat accepted it: a reserved grant is consumed */
    NB_UNSENT,  /* failed, retried later, or the lease was lost: handed back */
    NB_REVOKED, /* 43101: the user holds nothing for the template any more */
} nb_settle_t;

/* The entry for (user, template), created from row (the database's grant,
 * or NULL when there is none) unless the ledger has it already, in which
 * case the ledger's own count wins. Takes a reference. NULL when out of
 * memory. template_id longer than the column is cut (the column holds 128). */
nb_hold_t *nb_ledger_hold(nb_ledger_t *l, long long user_id, const char *template_id, const nb_grant_t *row);
/* Gives the reference back; the entry is freed with the last one. */
void nb_ledger_drop(nb_ledger_t *l, nb_hold_t *h);
/* May one more send go out? tpl_long_term: the template is configured
 * long-term (a long-term grant then covers it without being consumed). */
nb_verdict_t nb_ledger_reserve(nb_hold_t *h, int tpl_long_term, int *consume);
/* The answer of a send that nb_ledger_reserve let go with *consume. */
void nb_ledger_settle(nb_hold_t *h, int consume, nb_settle_t how);
/* Frees every entry, held or not. */
void nb_ledger_free(nb_ledger_t *l);

#endif
