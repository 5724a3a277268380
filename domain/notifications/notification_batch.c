/* notification_batch.c: see notification_batch.h. */
#include "domain/notifications/notification_batch.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gateway/utf8.h"

int nb_grants_load(db_conn_t *db, const long long *user_ids, int n, nb_grants_t *out)
{
    db_param_t params[NB_CHUNK];

    memset(out, 0, sizeof(*out));
    db_in_list_args(params, user_ids, n);
    out->rows = db_query(db,
                         "SELECT user_id, template_id, one_time_count, long_term FROM notification_grants"
                         " WHERE user_id" NB_IN_IDS,
                         params, NB_CHUNK);
    if (!out->rows)
        return -1;
    if (out->rows->nrows == 0)
        return 0;
    out->grants = calloc((size_t)out->rows->nrows, sizeof(*out->grants));
    if (!out->grants) {
        nb_grants_free(out);
        return -1;
    }
    for (int i = 0; i < out->rows->nrows; i++) {
        nb_grant_t *g = &out->grants[i];
        g->user_id = db_get_int(out->rows, i, "user_id");
        g->template_id = db_get(out->rows, i, "template_id");
        g->one_time_count = db_get_int(out->rows, i, "one_time_count");
        g->long_term = db_get_int(out->rows, i, "long_term") != 0;
    }
    out->n = out->rows->nrows;
    return 0;
}

/* Template ids compare without case, as the column's collation does. */
nb_grant_t *nb_grant_find(const nb_grants_t *g, long long user_id, const char *template_id)
{
    for (int i = 0; i < g->n; i++)
        if (g->grants[i].user_id == user_id && !strcasecmp(g->grants[i].template_id, template_id))
            return &g->grants[i];
    return NULL;
}

void nb_grants_free(nb_grants_t *g)
{
    free(g->grants);
    db_rows_free(g->rows);
    memset(g, 0, sizeof(*g));
}

/* ---- ledger --------------------------------------------------------------- */

nb_hold_t *nb_ledger_hold(nb_ledger_t *l, long long user_id, const char *template_id, const nb_grant_t *row)
{
    nb_hold_t *h;

    /* A linear scan: the ledger holds at most the pipeline's few hundred
     * events, and the scan costs far less than the send it precedes. */
    for (int i = 0; i < l->n; i++) {
        h = l->v[i];
        if (h->user_id == user_id && !strcasecmp(h->template_id, template_id)) {
            h->refs++;
            return h;
        }
    }
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 64;
        nb_hold_t **v = realloc(l->v, (size_t)cap * sizeof *v);
        if (!v)
            return NULL;
        l->v = v;
        l->cap = cap;
    }
    h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->user_id = user_id;
    utf8_copy(h->template_id, sizeof h->template_id, template_id);
    if (row) {
        h->one_time_count = row->one_time_count;
        h->long_term = row->long_term;
    }
    h->refs = 1;
    l->v[l->n++] = h;
    return h;
}

void nb_ledger_drop(nb_ledger_t *l, nb_hold_t *h)
{
    if (!h || --h->refs > 0)
        return;
    for (int i = 0; i < l->n; i++)
        if (l->v[i] == h) {
            l->v[i] = l->v[--l->n];
            break;
        }
    free(h);
}

nb_verdict_t nb_ledger_reserve(nb_hold_t *h, int tpl_long_term, int *consume)
{
    *consume = 0;
    if (h->long_term && tpl_long_term)
        return NB_SEND;
    if (h->one_time_count - h->reserved > 0) {
        h->reserved++;
        *consume = 1;
        return NB_SEND;
    }
    return h->reserved > 0 ? NB_WAIT : NB_NONE;
}

void nb_ledger_settle(nb_hold_t *h, int consume, nb_settle_t how)
{
    if (consume && h->reserved > 0)
        h->reserved--;
    if (how == NB_SENT && consume && h->one_time_count > 0)
        h->one_time_count--;
    if (how == NB_REVOKED) {
        h->one_time_count = 0;
        h->long_term = 0;
    }
}

void nb_ledger_free(nb_ledger_t *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}
