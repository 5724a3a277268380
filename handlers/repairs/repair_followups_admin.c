/* repair_followups_admin.c: the follow-up visits (回访) after poor ratings.
 *
 *   GET  /api/v1/admin/repair-followups?project=&status=&cursor=&limit=
 *   POST /api/v1/admin/repair-followups/:id/done {note}
 *
 * A poor rating opens a follow-up (domain/followups; schema 030's table
 * followups, which these routes read and write since: the poor-rating
 * follow-ups of repairs, with their ids there). The service desk works
 * every follow-up through handlers/followups/followups_service.c. A supervisor sees and closes the follow-ups of
 * the projects they supervise; an admin all of them. */
#include <stdlib.h>

#include "gateway/call.h"
#include "gateway/json_util.h"
#include "gateway/query.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"
#include "domain/repairs/repair_lists.h"
#include "domain/repairs/repair_view.h"

/* The list is shared with its CSV export (domain/repairs/repair_lists.h). */
static void followups(gw_call_t *c, db_conn_t *db)
{
    list_respond(c, db, &repair_followup_list);
}

typedef struct {
    const char *note; /* points into c->body */
} done_form_t;

static void check_done(gw_call_t *c)
{
    done_form_t *f = call_state_new_or_fail(c, 1, sizeof(*f), free);
    if (f)
        f->note = json_string_or_fail(c, c->body, "note", 1, 500);
}

static void followup_done(gw_call_t *c, db_conn_t *db)
{
    const done_form_t *f = c->state;
    long long id, found;
    if (call_param_id_or_fail(c, "id", &id) != 0)
        return;
    int admin = (c->user.roles & ROLE_ADMIN) != 0;
    int rc =
        db_query_int(db, &found,
                     "SELECT f.id FROM followups f JOIN repair_tickets t ON t.id = f.subject_id"
                     " WHERE f.id = ? AND f.kind = 'repair' AND f.reason = 'poor_rating' AND " REPAIR_STAFF_SCOPE_SQL,
                     DB_ARGS(DB_INT(id), DB_INT(admin), DB_INT(c->user.id)));
    if (rc < 0) {
        call_fail_db(c);
        return;
    }
    if (rc == 0) {
        call_fail(c, ERR_NOT_FOUND, NULL, "no such follow-up");
        return;
    }
    /* Conditional: of two staff closing it at once, one wins. */
    if (db_exec(db,
                "UPDATE followups SET status = 'done', note = ?, done_by = ?, done_at = NOW(3), contact = 'reached',"
                " attempts = attempts + 1"
                " WHERE id = ? AND status = 'open'",
                DB_ARGS(DB_STR(f->note), DB_INT(c->user.id), DB_INT(id))) != 0) {
        call_fail_db(c);
        return;
    }
    if (db_affected_rows(db) != 1) {
        call_fail(c, ERR_CONFLICT, NULL, "the follow-up is already done");
        return;
    }
    cJSON *d = cJSON_CreateObject();
    cJSON_AddNumberToObject(d, "id", (double)id);
    cJSON_AddStringToObject(d, "status", "done");
    cJSON_AddStringToObject(d, "note", f->note);
    call_ok(c, 200, d);
}

#define STAFF (ROLE_SUPERVISOR | ROLE_ADMIN)

static const route_t routes[] = {
    {"GET", "/api/v1/admin/repair-followups", STAFF, BODY_NONE, DB_STEP(followups)},
    {"POST", "/api/v1/admin/repair-followups/:id/done", STAFF, BODY_JSON, DB_STEP(followup_done),
     BODY_CHECK(check_done)},
};

void repair_followups_admin_register(void)
{
    ROUTES_REGISTER(routes);
}
