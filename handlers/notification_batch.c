/* notification_batch.c: see notification_batch.h. */
#include "notification_batch.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
        g->user_id = db_cell_int(out->rows, i, 0);
        g->template_id = db_cell(out->rows, i, 1);
        g->one_time_count = db_cell_int(out->rows, i, 2);
        g->long_term = db_cell_int(out->rows, i, 3) != 0;
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
