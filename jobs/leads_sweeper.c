/* leads_sweeper.c: reports new leads whose first contact is overdue.
 *
 * A lead gets first_contact_due_at = created_at + lead_first_contact_s. When
 * it is still new and uncontacted past that time, the project's supervisors
 * (the sales managers; the admins if the project has none) get a
 * lead.contact_overdue event, once: the claim is a conditional update of
 * contact_overdue_at in the same transaction as the events, and rows are
 * taken with FOR UPDATE SKIP LOCKED, so several gateway processes sweeping
 * the same database never report a lead twice. A lead erased at its
 * holder's request is not to be contacted, so it is never reported. */
#include <cjson/cJSON.h>
#include <stdio.h>

#include "gateway/background.h"
#include "gateway/config.h"
#include "gateway/events.h"
#include "gateway/log.h"
#include "gateway/mask.h"
#include "handlers/handlers.h"
#include "domain/leads/lead_rules.h"

#define SWEEP_BATCH 50

static const char *SQL_OVERDUE =
    "SELECT id, project_id, COALESCE(agent_user_id, 0) AS agent_user_id, name,"
    " FLOOR(UNIX_TIMESTAMP(created_at)) AS created_at, FLOOR(UNIX_TIMESTAMP(first_contact_due_at)) AS due_at, phone"
    " FROM leads WHERE stage = 'new' AND first_contacted_at IS NULL AND contact_overdue_at IS NULL"
    " AND first_contact_due_at <= NOW(3) AND erased_at IS NULL"
    " ORDER BY first_contact_due_at LIMIT ? FOR UPDATE SKIP LOCKED";

static const char *SQL_CLAIM =
    "UPDATE leads SET contact_overdue_at = NOW(3)"
    " WHERE id = ? AND stage = 'new' AND first_contacted_at IS NULL AND contact_overdue_at IS NULL";

/* The project's supervisors, or every admin when it has none. */
static const char *SQL_MANAGERS =
    "SELECT s.user_id FROM staff_roles s JOIN users u ON u.id = s.user_id AND u.disabled = 0"
    " WHERE (s.role = 'supervisor' AND s.project_id = ?)"
    " OR (s.role = 'admin' AND NOT EXISTS (SELECT 1 FROM staff_roles x JOIN users xu ON xu.id = x.user_id"
    "     AND xu.disabled = 0 WHERE x.role = 'supervisor' AND x.project_id = ?))";

static const char *SQL_NAMES =
    "SELECT p.name AS project_name, (SELECT display_name FROM users WHERE id = ?) AS agent_name FROM projects p"
    " WHERE p.id = ?";

/* The event payload; NULL on a database error. */
static cJSON *overdue_payload(db_conn_t *db, const db_rows_t *r, int i)
{
    long long project = db_get_int(r, i, "project_id"), agent = db_get_int(r, i, "agent_user_id");
    db_rows_t *n = db_query(db, SQL_NAMES, DB_ARGS(DB_INT(agent), DB_INT(project)));
    if (!n)
        return NULL;
    char name[64], phone[40];
    lead_mask_name(db_get(r, i, "name"), name, sizeof(name));
    mask_phone(db_get(r, i, "phone"), phone, sizeof(phone));
    cJSON *p = cJSON_CreateObject();
    cJSON_AddNumberToObject(p, "lead_id", (double)db_get_int(r, i, "id"));
    cJSON_AddNumberToObject(p, "project_id", (double)project);
    cJSON_AddStringToObject(p, "customer_name", name);
    cJSON_AddStringToObject(p, "phone_masked", phone);
    if (agent)
        cJSON_AddNumberToObject(p, "agent_user_id", (double)agent);
    else
        cJSON_AddNullToObject(p, "agent_user_id");
    int named = n->nrows == 1;
    const char *project_name = named ? db_get(n, 0, "project_name") : NULL;
    const char *agent_name = named ? db_get(n, 0, "agent_name") : NULL;
    cJSON_AddStringToObject(p, "project_name", project_name ? project_name : "");
    cJSON_AddStringToObject(p, "agent_name", agent_name ? agent_name : "");
    db_rows_free(n);
    cJSON_AddNumberToObject(p, "created_at", (double)db_get_int(r, i, "created_at"));
    cJSON_AddNumberToObject(p, "due_at", (double)db_get_int(r, i, "due_at"));
    return p;
}

/* Reports one claimed lead to its managers; 0 or -1. */
static int report(db_conn_t *db, const db_rows_t *r, int i)
{
    long long lead = db_get_int(r, i, "id"), project = db_get_int(r, i, "project_id");
    db_rows_t *m = db_query(db, SQL_MANAGERS, DB_ARGS(DB_INT(project), DB_INT(project)));
    if (!m)
        return -1;
    cJSON *payload = overdue_payload(db, r, i);
    int rc = payload ? 0 : -1;
    for (int k = 0; k < m->nrows && rc == 0; k++)
        rc = events_emit(db, "lead.contact_overdue", db_get_int(m, k, "user_id"), "lead", lead, payload);
    if (m->nrows == 0)
        log_warn("leads", "lead %lld: first contact overdue, but nobody manages project %lld", lead, project);
    cJSON_Delete(payload);
    db_rows_free(m);
    return rc;
}

/* One batch in one transaction: 1 when the batch was full (more may be
 * due), 0 when done, -1 on a database error. */
static int sweep_batch(db_conn_t *db)
{
    int reported = 0;
    db_rows_t *r = NULL;
    if (db_begin(db) != 0 || !(r = db_query(db, SQL_OVERDUE, DB_ARGS(DB_INT(SWEEP_BATCH)))))
        goto Fail;
    for (int i = 0; i < r->nrows; i++) {
        if (db_exec(db, SQL_CLAIM, DB_ARGS(DB_INT(db_get_int(r, i, "id")))) != 0)
            goto Fail;
        if (db_affected_rows(db) == 0) /* the conditional update is the guarantee; rows are locked anyway */
            continue;
        if (report(db, r, i) != 0)
            goto Fail;
        reported++;
    }
    if (db_commit(db) != 0)
        goto Fail;
    if (reported)
        log_info("leads", "first contact overdue: %d lead(s) reported", reported);
    int full = r->nrows == SWEEP_BATCH;
    db_rows_free(r);
    return full;
Fail:
    db_rollback(db);
    log_error("leads", "overdue sweep failed: %s", db_error(db));
    db_rows_free(r);
    return -1;
}

static void sweep(db_conn_t *db)
{
    /* Bounded, so one run cannot hold the job forever. */
    for (int batch = 0; batch < 20 && !background_stopping(); batch++)
        if (sweep_batch(db) != 1)
            break;
}

void leads_sweeper_register(void)
{
    background_register("leads-sweeper", gw_cfg->lead_sweep_interval_ms, sweep);
}
