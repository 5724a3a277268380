/* complaint_clocks.c: see complaint_clocks.h. */
#include "domain/complaints/complaint_clocks.h"

#include <cjson/cJSON.h>
#include <stdio.h>

#include "domain/complaints/complaint.h"
#include "domain/sla/sla_store.h"
#include "gateway/config.h"
#include "gateway/log.h"

#define KIND "complaint"

enum { STEP_HANDLER = 0, STEP_SUPERVISOR = 1, STEP_MANAGER = 2, NSTEPS };
static const char *const step_levels[NSTEPS] = {"handler", "supervisor", "manager"};
static const char *const clock_labels[] = {"首次响应", "处理完成"};

static sla_step_t steps[NSTEPS];
static sla_kind_t kind = {
    .name = KIND,
    .nclocks = 2,
    .clocks = {"respond", "resolve"},
};

static int lock_complaint(db_conn_t *db, long long id)
{
    long long one;
    return db_query_int(db, &one,
                        "SELECT id FROM complaints WHERE id = ? AND state IN ('submitted', 'in_progress') FOR UPDATE",
                        DB_ARGS(DB_INT(id)));
}

/* Step 0 tells the handler (the supervisors while there is none), step 1
 * the supervisors, step 2 the project managers; each marks the complaint
 * breached and leaves an internal timeline row. */
static int fire(db_conn_t *db, const sla_fire_t *f)
{
    int step = f->step->id, rc = SLA_FIRE_ERROR;
    long long handler = 0;
    cJSON *x = NULL;
    if (db_query_int(db, &handler, "SELECT COALESCE(handler_id, 0) FROM complaints WHERE id = ?",
                     DB_ARGS(DB_INT(f->subject_id))) != 1)
        goto Exit;
    if (!(x = cJSON_CreateObject()))
        goto Exit;
    cJSON_AddStringToObject(x, "clock", f->clock_name);
    cJSON_AddStringToObject(x, "clock_label", clock_labels[f->clock]);
    cJSON_AddStringToObject(x, "level", step_levels[step]);
    cJSON_AddNumberToObject(x, "step", step);
    int told;
    if (step == STEP_HANDLER && handler)
        told = complaint_event(db, "complaint.escalated", handler, f->subject_id, x) == 0 ? 1 : -1;
    else
        told = complaint_event_to_staff(db, "complaint.escalated", f->project_id, step == STEP_MANAGER,
                                        f->subject_id, x);
    if (told < 0)
        goto Exit;
    char note[96];
    snprintf(note, sizeof(note), "%s超时，已通知%s（%d人）", clock_labels[f->clock],
             step == STEP_HANDLER ? (handler ? "处理人" : "主管") : step == STEP_SUPERVISOR ? "主管" : "项目经理",
             told);
    if (complaint_timeline_add(db, f->subject_id, "escalate", NULL, NULL, "internal", 0, "system", note, NULL, 0, 0,
                               NULL) <= 0 ||
        db_exec(db, "UPDATE complaints SET breached = 1 WHERE id = ?", DB_ARGS(DB_INT(f->subject_id))) != 0)
        goto Exit;
    log_info("complaints", "complaint %lld: %s clock escalated (%s), %d told", f->subject_id, f->clock_name,
             step_levels[step], told);
    rc = SLA_FIRE_DONE;
Exit:
    cJSON_Delete(x);
    return rc;
}

/* The running clocks' due times into the complaint's columns (the overdue
 * filter and the statistics read them); a met or stopped clock shows none. */
static int mirror(db_conn_t *db, long long id)
{
    return db_exec(db,
                   "UPDATE complaints k"
                   " LEFT JOIN sla_clocks a ON a.kind = 'complaint' AND a.subject_id = k.id"
                   "  AND a.round = k.rejection_count AND a.clock_no = 0"
                   " LEFT JOIN sla_clocks b ON b.kind = 'complaint' AND b.subject_id = k.id"
                   "  AND b.round = k.rejection_count AND b.clock_no = 1"
                   " SET k.respond_due_at = IF(a.state = 'running', a.due_at, NULL),"
                   " k.resolve_due_at = IF(b.state = 'running', b.due_at, NULL),"
                   " k.breached = GREATEST(k.breached, COALESCE(a.breached, 0), COALESCE(b.breached, 0))"
                   " WHERE k.id = ?",
                   DB_ARGS(DB_INT(id)));
}

int complaint_clocks_register(void)
{
    steps[0] = (sla_step_t){.id = STEP_HANDLER, .kind = SLA_ESCALATION, .after_s = 0, .level = STEP_HANDLER};
    steps[1] = (sla_step_t){.id = STEP_SUPERVISOR,
                            .kind = SLA_ESCALATION,
                            .after_s = gw_cfg->complaint_escalate_supervisor_after_s,
                            .level = STEP_SUPERVISOR};
    steps[2] = (sla_step_t){.id = STEP_MANAGER,
                            .kind = SLA_ESCALATION,
                            .after_s = gw_cfg->complaint_escalate_manager_after_s,
                            .level = STEP_MANAGER};
    /* The ladder fires in order of delay. */
    if (steps[2].after_s < steps[1].after_s) {
        sla_step_t t = steps[1];
        steps[1] = steps[2];
        steps[2] = t;
    }
    for (int k = 0; k < kind.nclocks; k++)
        kind.ladders[k] = (sla_ladder_t){.steps = steps, .nsteps = NSTEPS};
    kind.lock = lock_complaint;
    kind.fire = fire;
    kind.mirror = mirror;
    return sla_kind_register(&kind);
}

/* The budgets of the complaint's category for its level; 1 with the round
 * and project, 0 no such complaint, -1 db error. */
static int budgets(db_conn_t *db, long long id, sla_budget_t b[2], int *round, long long *project)
{
    db_rows_t *r = db_query(
        db,
        "SELECT k.project_id AS project_id, k.rejection_count AS round, c.business_hours AS business_hours,"
        " CASE k.level WHEN 'hot' THEN c.respond_hot_s WHEN 'important' THEN c.respond_important_s"
        "  WHEN 'major' THEN c.respond_major_s ELSE c.respond_normal_s END AS respond_s,"
        " CASE k.level WHEN 'hot' THEN c.resolve_hot_s WHEN 'important' THEN c.resolve_important_s"
        "  WHEN 'major' THEN c.resolve_major_s ELSE c.resolve_normal_s END AS resolve_s"
        " FROM complaints k JOIN complaint_categories c ON c.id = k.category_id WHERE k.id = ?",
        DB_ARGS(DB_INT(id)));
    if (!r)
        return -1;
    int found = r->nrows == 1;
    if (found) {
        sla_mode_t mode = db_get_int(r, 0, "business_hours") ? SLA_BUSINESS : SLA_NATURAL;
        b[0] = (sla_budget_t){db_get_int(r, 0, "respond_s"), mode};
        b[1] = (sla_budget_t){db_get_int(r, 0, "resolve_s"), mode};
        *round = (int)db_get_int(r, 0, "round");
        *project = db_get_int(r, 0, "project_id");
    }
    db_rows_free(r);
    return found;
}

int complaint_clocks_start(db_conn_t *db, long long complaint_id)
{
    sla_budget_t b[2];
    int round;
    long long project;
    int rc = budgets(db, complaint_id, b, &round, &project);
    if (rc <= 0)
        return -1;
    return sla_store_start_round(db, KIND, complaint_id, project, round, b, 0x3);
}

int complaint_clocks_responded(db_conn_t *db, long long complaint_id)
{
    return sla_store_stop(db, KIND, complaint_id, COMPLAINT_CLOCK_RESPOND);
}

/* A proposed resolution answers the owner too: both clocks are met. */
int complaint_clocks_resolved(db_conn_t *db, long long complaint_id)
{
    return sla_store_set_running(db, KIND, complaint_id, 0);
}

int complaint_clocks_closed(db_conn_t *db, long long complaint_id)
{
    return sla_store_stop_all(db, KIND, complaint_id);
}

int complaint_clocks_sync(db_conn_t *db, long long complaint_id)
{
    sla_budget_t b[2];
    int round;
    long long project;
    int rc = budgets(db, complaint_id, b, &round, &project);
    if (rc <= 0)
        return -1;
    for (int i = 0; i < 2; i++)
        if (sla_store_set_budget(db, KIND, complaint_id, i, &b[i]) != 0)
            return -1;
    return sla_store_sync(db, KIND, complaint_id);
}
