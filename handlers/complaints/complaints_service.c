/* complaints_service.c: the service desk (客服) files a complaint, suggestion,
 * praise or enquiry on a caller's behalf.
 *
 *   POST /api/v1/service/complaints   {user_id, unit_id, type, category, content, channel}
 *                                     (Idempotency-Key header)
 *
 * channel: hotline, front_desk or wechat_group (the mini-program is the
 * owner's own). The caller must hold the service role in the unit's
 * project (403 otherwise, field unit_id); the unit must be one of the
 * owner's (404 unit_id). The complaint records the channel and filed_by =
 * the desk member; the owner is told (complaint.filed_for_you), sees it in
 * the mini-program marked filed_for_owner, and may confirm and correct it
 * (POST /api/v1/complaints/:id/confirm) and later accept or reject its
 * resolution like their own. */
#include <stdlib.h>
#include <string.h>

#include "domain/complaints/complaint.h"
#include "domain/complaints/complaint_actions.h"
#include "gateway/audit.h"
#include "gateway/call.h"
#include "gateway/idempotency.h"
#include "gateway/json_util.h"
#include "gateway/log.h"
#include "gateway/roles.h"
#include "gateway/users.h"
#include "handlers/handlers.h"

typedef struct {
    long long user_id, unit_id;
    const char *type, *category, *content, *channel; /* point into c->body */
} desk_req_t;

static const char *const desk_channels[] = {"hotline", "front_desk", "wechat_group", NULL};

static void check_file(gw_call_t *c)
{
    desk_req_t *q = call_state_new_or_fail(c, 1, sizeof(*q), free);
    if (!q || idempotency_key_or_fail(c) != 0 ||
        json_int_or_fail(c, c->body, "user_id", 1, 1LL << 53, &q->user_id) != 0 ||
        json_int_or_fail(c, c->body, "unit_id", 1, 1LL << 53, &q->unit_id) != 0 ||
        !(q->type = json_enum_or_fail(c, c->body, "type", complaint_type_names)) ||
        !(q->category = json_string_or_fail(c, c->body, "category", 1, 32)) ||
        !(q->content = json_string_or_fail(c, c->body, "content", 1, COMPLAINT_CONTENT_MAX)))
        return;
    q->channel = json_enum_or_fail(c, c->body, "channel", desk_channels);
}

static void file_store(gw_call_t *c, db_conn_t *db)
{
    const desk_req_t *q = c->state;
    long long project;
    int rc = db_query_int(db, &project,
                          "SELECT b.project_id FROM units u JOIN buildings b ON b.id = u.building_id WHERE u.id = ?",
                          DB_ARGS(DB_INT(q->unit_id)));
    if (rc == 0) {
        call_fail(c, ERR_NOT_FOUND, "unit_id", "no such unit");
        return;
    }
    if (rc > 0)
        rc = users_has_project_role(db, c->user.id, "service", project);
    if (rc < 0) {
        call_fail_db(c);
        return;
    }
    if (rc == 0) {
        call_fail(c, ERR_FORBIDDEN, "unit_id", "you are not on the service desk of this unit's project");
        return;
    }
    idem_claim_t claim;
    if (idempotency_begin(c, "complaints.service", &claim) != IDEM_CLAIMED)
        return;
    complaint_filing_t f = {.user_id = q->user_id,
                            .unit_id = q->unit_id,
                            .type = q->type,
                            .category = q->category,
                            .content = q->content,
                            .channel = q->channel,
                            .filed_by = c->user.id,
                            .actor_role = "service",
                            .photo_owner_id = c->user.id};
    long long id;
    if (complaint_file_or_fail(c, db, &f, &id) != 0)
        return;
    cJSON *detail = cJSON_CreateObject();
    if (!detail) {
        call_fail_db(c);
        return;
    }
    cJSON_AddNumberToObject(detail, "project_id", (double)project);
    cJSON_AddNumberToObject(detail, "owner_user_id", (double)q->user_id);
    cJSON_AddStringToObject(detail, "channel", q->channel);
    rc = audit_write(db, c->user.id, project, "complaint.file_for_owner", "complaint", id, detail);
    cJSON_Delete(detail);
    cJSON *d = rc == 0 ? complaint_detail_json(db, id, 1) : NULL;
    if (!d || idempotency_finish(c, &claim, 201, id, d) != 0 || db_commit(db) != 0) {
        cJSON_Delete(d);
        call_fail_db(c);
        return;
    }
    log_info("complaints", "complaint %lld filed for user %lld by desk member %lld (%s)", id, q->user_id, c->user.id,
             q->channel);
    call_ok(c, 201, d);
}

static const route_t routes[] = {
    {"POST", "/api/v1/service/complaints", ROLE_SERVICE, BODY_JSON, DB_STEP(file_store), BODY_CHECK(check_file)},
};

void complaints_service_register(void)
{
    ROUTES_REGISTER(routes);
}
