/* leads_me.c: a user's own leads, and withdrawing consent (PIPL).
 *
 *   GET    /api/v1/me/leads?cursor=&limit=   the caller's leads, newest first
 *   DELETE /api/v1/me/leads/:id   withdraws the consent: the lead's personal data is erased
 *
 * The caller's leads: those they submitted (leads.submitted_by_user_id: the
 * first submitter, or the phone's verified holder who took the lead over),
 * and those whose phone is the caller's bound phone (users.phone, proven
 * through WeChat): the person a lead is about may see and erase it even when
 * someone else filed it.
 *
 * Erasure keeps the row for the numbers (project, channel, dates, stage,
 * agent, referral and reward) and erases in one transaction, with its
 * audit row (lead.erase): the name, the phone (NULL, so the phone's
 * open-lead key is free for a new lead), the interest, the note, the
 * consent, the links to the submitter and to the phone's holder, and the
 * notes of the lead's follow-ups. */

#include "domain/leads/lead_json.h"
#include "gateway/audit.h"
#include "gateway/call.h"
#include "gateway/db_json.h"
#include "gateway/log.h"
#include "gateway/query.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"

/* ---- GET /me/leads ---- */

/* Parameters: the caller (twice), the caller's bound phone or NULL (twice),
 * the cursor, the limit. */
static const char *SQL_MY_OWN_LEADS =
    "SELECT " LEAD_HEAD_COLUMNS ", " LEAD_INTEREST_COLUMNS ", l.note, l.channel, l.stage,"
    " FLOOR(UNIX_TIMESTAMP(l.created_at)) AS created_at, " LEAD_CONSENT_COLUMNS ","
    " (l.submitted_by_user_id <=> ?) AS submitted_by_me"
    " FROM leads l JOIN projects p ON p.id = l.project_id"
    " WHERE (l.submitted_by_user_id = ? OR (? IS NOT NULL AND l.phone = ?)) AND l.id < ?"
    " ORDER BY l.id DESC LIMIT ?";

static void list_own_leads(gw_call_t *c, db_conn_t *db)
{
    static const char *const keys[] = {"id"};
    page_t page;
    if (page_or_fail(c, 1, &page) != 0)
        return;
    const char *phone = c->user.has_phone ? c->user.phone : NULL;
    db_rows_t *r = db_query(db, SQL_MY_OWN_LEADS,
                            DB_ARGS(DB_INT(c->user.id), DB_INT(c->user.id), DB_STR(phone), DB_STR(phone),
                                    DB_INT(page_key(&page, 0, PAGE_KEY_MAX)), DB_INT(page.limit + 1)));
    if (!r) {
        call_fail_db(c);
        return;
    }
    page_respond(c, &page, r, lead_json_row, NULL, keys);
    db_rows_free(r);
}

/* ---- DELETE /me/leads/:id ---- */

static const char *SQL_LOCK_OWN_LEAD =
    "SELECT project_id, COALESCE(submitted_by_user_id = ?, 0) AS submitted_by_me FROM leads"
    " WHERE id = ? AND (submitted_by_user_id = ? OR (? IS NOT NULL AND phone = ?)) FOR UPDATE";

static const char *SQL_ERASE =
    "UPDATE leads SET name = '', phone = NULL, interest_layout = NULL, interest_area = NULL,"
    " interest_budget = NULL, note = NULL, consent_at = NULL, privacy_notice_version = NULL, user_id = NULL,"
    " submitted_by_user_id = NULL, erased_at = NOW(3) WHERE id = ?";

/* 0 or -1. */
static int audit_erase(gw_call_t *c, db_conn_t *db, long long id, long long project_id, int submitted_by_me)
{
    cJSON *detail = cJSON_CreateObject();
    if (!detail)
        return -1;
    cJSON_AddNumberToObject(detail, "project_id", (double)project_id);
    cJSON_AddStringToObject(detail, "reason", "consent_withdrawn");
    cJSON_AddStringToObject(detail, "by", submitted_by_me ? "submitter" : "phone_holder");
    int rc = audit_write(db, c->user.id, "lead.erase", "lead", id, detail);
    cJSON_Delete(detail);
    return rc;
}

static void erase_own_lead(gw_call_t *c, db_conn_t *db)
{
    long long id;
    if (call_param_id_or_fail(c, "id", &id) != 0)
        return;
    const char *phone = c->user.has_phone ? c->user.phone : NULL;
    if (db_begin(db) != 0)
        goto DbError;
    db_rows_t *r = db_query(db, SQL_LOCK_OWN_LEAD,
                            DB_ARGS(DB_INT(c->user.id), DB_INT(id), DB_INT(c->user.id), DB_STR(phone), DB_STR(phone)));
    if (!r)
        goto DbError;
    int found = r->nrows == 1;
    long long project_id = found ? db_get_int(r, 0, "project_id") : 0;
    int submitted_by_me = found && db_get_int(r, 0, "submitted_by_me");
    db_rows_free(r);
    if (!found) { /* erased already, or not the caller's; the runner rolls back */
        call_fail(c, ERR_NOT_FOUND, NULL, "lead %lld not found", id);
        return;
    }
    long long erased_at = 0;
    if (db_exec(db, SQL_ERASE, DB_ARGS(DB_INT(id))) != 0 ||
        db_exec(db, "UPDATE lead_followups SET note = '' WHERE lead_id = ?", DB_ARGS(DB_INT(id))) != 0 ||
        audit_erase(c, db, id, project_id, submitted_by_me) != 0 ||
        db_query_int(db, &erased_at, "SELECT UNIX_TIMESTAMP(erased_at) FROM leads WHERE id = ?", DB_ARGS(DB_INT(id))) <
            0 ||
        db_commit(db) != 0)
        goto DbError;
    log_info("leads", "lead %lld erased: consent withdrawn by user %lld", id, c->user.id);
    cJSON *d = cJSON_CreateObject();
    cJSON *o = cJSON_AddObjectToObject(d, "lead");
    cJSON_AddNumberToObject(o, "id", (double)id);
    cJSON_AddBoolToObject(o, "erased", 1);
    cJSON_AddNumberToObject(o, "erased_at", (double)erased_at);
    call_ok(c, 200, d);
    return;
DbError:
    call_fail_db(c);
}

static const route_t routes[] = {
    {"GET", "/api/v1/me/leads", ROLE_ANY, BODY_NONE, DB_STEP(list_own_leads)},
    {"DELETE", "/api/v1/me/leads/:id", ROLE_ANY, BODY_NONE, DB_STEP(erase_own_lead)},
};

void leads_me_register(void)
{
    ROUTES_REGISTER(routes);
}
