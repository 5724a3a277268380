/* repairs_pause.c: a ticket's clocks paused while it waits on the owner.
 *
 *   POST /api/v1/repairs/:id/pause   {"reason", "until"?}
 *   POST /api/v1/repairs/:id/resume  {}
 *
 * The assigned engineer, a supervisor of the ticket's project or an admin
 * pauses every running clock of an open ticket (docs/sla.md): with "until"
 * (unix seconds, an agreed visit time up to REPAIR_PAUSE_MAX_DAYS ahead) the
 * pause ends by itself then and the due times move by its length at once;
 * without, the clocks have no due time until resumed (by hand, or when the
 * engineer starts the work). Each is a timeline row (pause, resume) in the
 * transaction that changes the clocks. Answered with the clocks after the
 * change: {"id", "paused", "until", "due": {accept_by, arrive_by,
 * resolve_by}}. */
#include <stdio.h>
#include <stdlib.h>

#include "domain/repairs/repair_cache.h"
#include "domain/repairs/repair_clocks.h"
#include "domain/repairs/repair_state.h"
#include "domain/repairs/repair_view.h"
#include "domain/sla/sla_store.h"
#include "gateway/call.h"
#include "gateway/json_util.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"

#define REPAIR_PAUSE_MAX_DAYS 30

typedef struct {
    const char *reason;
    long long until; /* unix seconds; 0 none */
} pause_form_t;

static void check_pause(gw_call_t *c)
{
    static const char *const known[] = {"reason", "until", NULL};
    int present = 0;
    pause_form_t *f = call_state_new_or_fail(c, 1, sizeof(pause_form_t), free);
    if (!f || json_known_fields_or_fail(c, c->body, known) != 0 ||
        !(f->reason = json_string_or_fail(c, c->body, "reason", 1, SLA_PAUSE_REASON_MAX)))
        return;
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(c->body, "until");
    if (u && !cJSON_IsNull(u))
        json_opt_int_or_fail(c, c->body, "until", 1, SLA_TIME_MAX / 1000 * 1000, &f->until, &present);
}

/* The ticket for a staff clock action: the assigned engineer, a supervisor
 * of its project or an admin; an open ticket. 0, or -1 answered. */
static int load_for_pause_or_fail(gw_call_t *c, db_conn_t *db, repair_ticket_t *t, const char *what)
{
    if (repair_load_from_path_or_fail(c, db, t) != 0)
        return -1;
    if (!(t->rel & (REPAIR_REL_ENGINEER | REPAIR_REL_STAFF))) {
        call_fail(c, ERR_FORBIDDEN, NULL, "only the assigned engineer or a supervisor of the project may %s it", what);
        return -1;
    }
    if (!repair_clocks_running_in(t->state)) {
        call_fail(c, ERR_CONFLICT, NULL, "cannot %s: the ticket is %s (%s) and no clock runs", what,
                  repair_state_label(t->state), repair_state_name(t->state));
        return -1;
    }
    return 0;
}

/* The ticket's clocks now, as the answer. */
static void respond_clocks(gw_call_t *c, db_conn_t *db, long long id)
{
    sla_clock_info_t info[RC__COUNT];
    long long until = 0;
    int paused = sla_store_paused(db, REPAIR_SLA_KIND, id, &until);
    if (paused < 0 || sla_store_info(db, REPAIR_SLA_KIND, id, info, RC__COUNT) != 0) {
        call_fail_db(c);
        return;
    }
    static const char *const due_names[RC__COUNT] = {"accept_by", "arrive_by", "resolve_by"};
    cJSON *o = cJSON_CreateObject(), *due = cJSON_AddObjectToObject(o, "due");
    cJSON_AddNumberToObject(o, "id", (double)id);
    cJSON_AddBoolToObject(o, "paused", paused == 1);
    if (paused == 1 && until)
        cJSON_AddNumberToObject(o, "until", (double)(until / 1000));
    else
        cJSON_AddNullToObject(o, "until");
    for (int k = 0; k < RC__COUNT; k++) {
        if (info[k].exists && info[k].due_at_ms)
            cJSON_AddNumberToObject(due, due_names[k], (double)(info[k].due_at_ms / 1000));
        else
            cJSON_AddNullToObject(due, due_names[k]);
    }
    call_ok(c, 200, o);
}

/* The visit time in China time for the timeline ("12-05 14:00"). */
static void until_text(long long until_s, char *out, size_t n)
{
    sla_local_t l;
    if (sla_local(until_s, &l) == 0)
        snprintf(out, n, "%04d-%02d-%02d %02d:%02d", l.year, l.month, l.day, l.second_of_day / 3600,
                 l.second_of_day % 3600 / 60);
    else
        snprintf(out, n, "?");
}

static void pause_ticket(gw_call_t *c, db_conn_t *db)
{
    const pause_form_t *f = c->state;
    repair_ticket_t t;
    long long state_ok, now_s;
    if (load_for_pause_or_fail(c, db, &t, "pause") != 0)
        return;
    if (db_begin(db) != 0 || db_query_int(db, &now_s, "SELECT UNIX_TIMESTAMP(NOW())", DB_NOARGS) != 1)
        goto DbError;
    if (f->until && (f->until <= now_s || f->until > now_s + REPAIR_PAUSE_MAX_DAYS * 86400LL)) {
        db_rollback(db);
        call_fail(c, ERR_INVALID_FIELD, "until", "until must be a time in the next %d days (unix seconds)",
                  REPAIR_PAUSE_MAX_DAYS);
        return;
    }
    /* The ticket's row first (the lock order of sla_store.h), still open. */
    int found = db_query_int(db, &state_ok, "SELECT id FROM repair_tickets WHERE id = ? AND state = ? FOR UPDATE",
                             DB_ARGS(DB_INT(t.id), DB_STR(repair_state_name(t.state))));
    if (found < 0)
        goto DbError;
    int rc = found ? sla_store_pause(db, REPAIR_SLA_KIND, t.id, f->until * 1000, f->reason, c->user.id) : 0;
    if (rc < 0)
        goto DbError;
    if (rc == 0) {
        db_rollback(db);
        call_fail(c, ERR_CONFLICT, NULL, "the ticket's clocks are already paused, or it changed meanwhile; reload it");
        return;
    }
    char note[SLA_PAUSE_REASON_MAX * 4 + 64], when[32];
    if (f->until) {
        until_text(f->until, when, sizeof(when));
        snprintf(note, sizeof(note), "%s（约定 %s）", f->reason, when);
    } else
        snprintf(note, sizeof(note), "%s", f->reason);
    const char *s = repair_state_name(t.state);
    if (repair_timeline_add(db, t.id, "pause", s, s, c->user.id, repair_staff_role(&t), note, NULL, 0, 0, NULL) < 0 ||
        repair_view_store(db, t.id) != 0 || db_commit(db) != 0)
        goto DbError;
    repair_cache_forget(t.id);
    respond_clocks(c, db, t.id);
    return;
DbError:
    db_rollback(db);
    call_fail_db(c);
}

static void resume_ticket(gw_call_t *c, db_conn_t *db)
{
    repair_ticket_t t;
    long long state_ok;
    if (load_for_pause_or_fail(c, db, &t, "resume") != 0)
        return;
    if (db_begin(db) != 0)
        goto DbError;
    int found = db_query_int(db, &state_ok, "SELECT id FROM repair_tickets WHERE id = ? AND state = ? FOR UPDATE",
                             DB_ARGS(DB_INT(t.id), DB_STR(repair_state_name(t.state))));
    if (found < 0)
        goto DbError;
    int rc = found ? sla_store_resume(db, REPAIR_SLA_KIND, t.id) : 0;
    if (rc < 0)
        goto DbError;
    if (rc == 0) {
        db_rollback(db);
        call_fail(c, ERR_CONFLICT, NULL, "the ticket's clocks are not paused");
        return;
    }
    const char *s = repair_state_name(t.state);
    if (repair_timeline_add(db, t.id, "resume", s, s, c->user.id, repair_staff_role(&t), NULL, NULL, 0, 0, NULL) < 0 ||
        repair_view_store(db, t.id) != 0 || db_commit(db) != 0)
        goto DbError;
    repair_cache_forget(t.id);
    respond_clocks(c, db, t.id);
    return;
DbError:
    db_rollback(db);
    call_fail_db(c);
}

#define CLOCK_STAFF (ROLE_ENGINEER | ROLE_SUPERVISOR | ROLE_ADMIN)

static const route_t routes[] = {
    {"POST", "/api/v1/repairs/:id/pause", CLOCK_STAFF, BODY_JSON, DB_STEP(pause_ticket), BODY_CHECK(check_pause)},
    {"POST", "/api/v1/repairs/:id/resume", CLOCK_STAFF, BODY_JSON, DB_STEP(resume_ticket)},
};

void repairs_pause_register(void)
{
    ROUTES_REGISTER(routes);
}
