#include "domain/repairs/repair_actions.h"

#include <math.h>

#include "domain/repairs/repair_cache.h"
#include "domain/repairs/repair_dispatch.h"
#include "domain/repairs/repair_events.h"
#include "domain/repairs/repair_view.h"

void repair_fail_state(gw_call_t *c, repair_action_t a, repair_state_t current)
{
    call_fail(c, ERR_CONFLICT, NULL, "cannot %s: the ticket is %s (%s)", repair_action_name(a),
              repair_state_label(current), repair_state_name(current));
}

int repair_photo_ids_or_fail(gw_call_t *c, const cJSON *body, long long ids[REPAIR_MAX_PHOTOS], int *n)
{
    *n = 0;
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(body, "photo_ids");
    if (!arr || cJSON_IsNull(arr))
        return 0;
    if (!cJSON_IsArray(arr)) {
        call_fail(c, ERR_INVALID_FIELD, "photo_ids", "photo_ids must be an array of upload ids");
        return -1;
    }
    int count = cJSON_GetArraySize(arr);
    if (count > REPAIR_MAX_PHOTOS) {
        call_fail(c, ERR_UNPROCESSABLE, "photo_ids", "at most %d photos per ticket entry; got %d", REPAIR_MAX_PHOTOS,
                  count);
        return -1;
    }
    int i = 0;
    for (const cJSON *it = arr->child; it; it = it->next, i++) {
        double d = it->valuedouble;
        if (!cJSON_IsNumber(it) || d != floor(d) || d < 1 || d > 9007199254740992.0) {
            call_fail(c, ERR_INVALID_FIELD, "photo_ids", "photo_ids must hold positive integer upload ids");
            return -1;
        }
        ids[i] = (long long)d;
        for (int k = 0; k < i; k++)
            if (ids[k] == ids[i]) {
                call_fail(c, ERR_INVALID_FIELD, "photo_ids", "photo %lld is listed twice", ids[i]);
                return -1;
            }
    }
    *n = count;
    return 0;
}

/* After a lost race: the state the ticket is in now. */
static repair_state_t current_state(db_conn_t *db, long long id, repair_state_t fallback)
{
    repair_state_t s = fallback;
    db_rows_t *r = db_query(db, "SELECT state FROM repair_tickets WHERE id = ?", DB_ARGS(DB_INT(id)));
    if (r && r->nrows == 1)
        repair_state_parse(db_get(r, 0, "state"), &s);
    db_rows_free(r);
    return s;
}

void repair_run_action(gw_call_t *c, db_conn_t *db, const repair_ticket_t *t, repair_transition_t *tr,
                       repair_after_fn after, void *arg)
{
    repair_state_t to;
    if (repair_next_state(tr->action, t->state, &to) != 0) {
        repair_fail_state(c, tr->action, t->state);
        return;
    }
    tr->ticket_id = t->id;
    tr->from = t->state;
    tr->from_engineer_id = t->engineer_id;
    long long bad_photo = 0;
    if (db_begin(db) != 0) {
        call_fail_db(c);
        return;
    }
    int rc = repair_apply_transition(db, tr, &bad_photo);
    if (rc == REPAIR_TR_DB_ERROR) {
        call_fail_db(c);
        return;
    }
    if (rc == REPAIR_TR_LOST) {
        /* Undone here, before the call fails: the state read next must be
         * the one the winning transition committed, not what this
         * transaction saw. */
        db_rollback(db);
        /* Another transition won; the ticket may have changed hands too. */
        repair_state_t now = current_state(db, t->id, t->state);
        if (now == t->state)
            call_fail(c, ERR_CONFLICT, NULL, "the ticket was changed meanwhile (now %s, %s); reload it",
                      repair_state_label(now), repair_state_name(now));
        else
            repair_fail_state(c, tr->action, now);
        return;
    }
    if (rc == REPAIR_TR_BAD_PHOTO) {
        call_fail(c, ERR_UNPROCESSABLE, "photo_ids", "photo %lld is not one of your uploads, or is already attached",
                  bad_photo);
        return;
    }
    if (after) {
        int arc = after(c, db, t, arg);
        if (arc < 0)
            call_fail_db(c);
        if (arc != 0)
            return;
    }
    if (repair_view_store(db, t->id) != 0 || db_commit(db) != 0) {
        call_fail_db(c);
        return;
    }
    repair_cache_forget(t->id);
    /* The new state decides what the caller may still see (an engineer who
     * declined no longer sees the ticket). */
    cJSON *d;
    int seen = repair_detail_for_caller(c, db, t->id, &d, NULL);
    if (seen < 0) {
        call_fail_db(c);
        return;
    }
    if (seen == 0) {
        repair_state_t now = current_state(db, t->id, to);
        d = cJSON_CreateObject();
        cJSON_AddNumberToObject(d, "id", (double)t->id);
        cJSON_AddStringToObject(d, "state", repair_state_name(now));
        cJSON_AddStringToObject(d, "state_label", repair_state_label(now));
    }
    call_ok(c, 200, d);
}

int repair_reopen_handback(db_conn_t *db, const repair_ticket_t *t)
{
    if (!t->engineer_id)
        return 0;
    long long one;
    int active = db_query_int(db, &one,
                              "SELECT 1 FROM staff_roles r JOIN users u ON u.id = r.user_id AND u.disabled = 0"
                              " WHERE r.user_id = ? AND r.role = 'engineer' AND r.project_id = ?",
                              DB_ARGS(DB_INT(t->engineer_id), DB_INT(t->project_id)));
    if (active < 0)
        return -1;
    if (!active) {
        repair_transition_t tr = {.ticket_id = t->id,
                                  .action = RA_UNASSIGN,
                                  .from = RS_DISPATCHED,
                                  .from_engineer_id = t->engineer_id,
                                  .actor_role = "system",
                                  .note = "engineer no longer works on this project"};
        if (repair_apply_transition(db, &tr, NULL) != REPAIR_TR_APPLIED)
            return -1;
        return repair_dispatch(db, t->id, 1) < 0 ? -1 : 0;
    }
    cJSON *extra = cJSON_CreateObject();
    if (!extra)
        return -1;
    cJSON_AddNumberToObject(extra, "rework_count", t->rework_count + 1);
    int rc = repair_event(db, "repair.assigned", t->engineer_id, t->id, extra);
    cJSON_Delete(extra);
    return rc;
}
