/* complaint_actions.c: see complaint_actions.h. */
#include "domain/complaints/complaint_actions.h"

#include <string.h>

#include "domain/complaints/complaint_catalog.h"
#include "domain/complaints/complaint_clocks.h"
#include "domain/complaints/complaint_incidents.h"
#include "domain/followups/followups.h"

/* The unit's project and building, when the owner has it; takes (unit, user). */
static const char *SQL_OWN_UNIT = "SELECT b.project_id AS project_id, b.id AS building_id FROM owners o"
                                  " JOIN units u ON u.id = o.unit_id JOIN buildings b ON b.id = u.building_id"
                                  " WHERE o.unit_id = ? AND o.user_id = ? LIMIT 1";
/* The owner has a unit in the project; takes (project, user). */
static const char *SQL_OWNER_IN_PROJECT = "SELECT 1 FROM owners o JOIN units u ON u.id = o.unit_id"
                                          " JOIN buildings b ON b.id = u.building_id"
                                          " WHERE b.project_id = ? AND o.user_id = ? LIMIT 1";

static const char *SQL_INSERT =
    "INSERT INTO complaints (project_id, user_id, unit_id, building_id, type, category_id, content, channel, filed_by)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
/* A human number: TS + filing date + the id, at least 6 digits. */
static const char *SQL_NUMBER = "UPDATE complaints SET complaint_no = CONCAT('TS', DATE_FORMAT(created_at, '%Y%m%d'),"
                                " LPAD(id, GREATEST(6, LENGTH(id)), '0')) WHERE id = ?";

/* Where the complaint is: 0 with the project and building (0 without a
 * unit), -1 with the call failed. */
static int place_or_fail(gw_call_t *c, db_conn_t *db, const complaint_filing_t *f, long long *project,
                         long long *building)
{
    *project = *building = 0;
    if (f->unit_id) {
        db_rows_t *r = db_query(db, SQL_OWN_UNIT, DB_ARGS(DB_INT(f->unit_id), DB_INT(f->user_id)));
        if (!r) {
            call_fail_db(c);
            return -1;
        }
        if (r->nrows == 1) {
            *project = db_get_int(r, 0, "project_id");
            *building = db_get_int(r, 0, "building_id");
        }
        db_rows_free(r);
        if (!*project) {
            call_fail(c, ERR_NOT_FOUND, "unit_id", "unit %lld is not one of the owner's", f->unit_id);
            return -1;
        }
        return 0;
    }
    long long one;
    int rc = db_query_int(db, &one, SQL_OWNER_IN_PROJECT, DB_ARGS(DB_INT(f->project_id), DB_INT(f->user_id)));
    if (rc < 0) {
        call_fail_db(c);
        return -1;
    }
    if (rc == 0) {
        call_fail(c, ERR_NOT_FOUND, "project_id", "the owner has no unit in project %lld", f->project_id);
        return -1;
    }
    *project = f->project_id;
    return 0;
}

int complaint_file_or_fail(gw_call_t *c, db_conn_t *db, const complaint_filing_t *f, long long *id)
{
    long long project, building, category, bad_photo = 0;
    if (place_or_fail(c, db, f, &project, &building) != 0)
        return -1;
    int rc = complaint_category_find(db, project, f->category, 1, &category);
    if (rc < 0)
        goto DbError;
    if (rc == 0) {
        call_fail(c, ERR_INVALID_FIELD, "category",
                  "unknown or inactive category \"%s\"; see GET /api/v1/complaint-categories", f->category);
        return -1;
    }
    if (db_exec(db, SQL_INSERT,
                DB_ARGS(DB_INT(project), DB_INT(f->user_id), f->unit_id ? DB_INT(f->unit_id) : DB_NULL,
                        building ? DB_INT(building) : DB_NULL, DB_STR(f->type), DB_INT(category), DB_STR(f->content),
                        DB_STR(f->channel), f->filed_by ? DB_INT(f->filed_by) : DB_NULL)) != 0)
        goto DbError;
    *id = (long long)db_insert_id(db);
    if (db_exec(db, SQL_NUMBER, DB_ARGS(DB_INT(*id))) != 0)
        goto DbError;
    long long row =
        complaint_timeline_add(db, *id, "submit", NULL, "submitted", "public", f->filed_by ? f->filed_by : f->user_id,
                               f->actor_role, NULL, f->photo_ids, f->nphotos, f->photo_owner_id, &bad_photo);
    if (row < 0)
        goto DbError;
    if (row == 0) {
        call_fail(c, ERR_UNPROCESSABLE, "photo_ids", "photo %lld is not one of your uploads, or is already attached",
                  bad_photo);
        return -1;
    }
    if (complaint_clocks_start(db, *id) != 0)
        goto DbError;
    if (building && !strcmp(f->type, "complaint") &&
        complaint_incident_detect(db, *id, project, category, building) < 0)
        goto DbError;
    if (f->filed_by && complaint_event(db, "complaint.filed_for_you", f->user_id, *id, NULL) != 0)
        goto DbError;
    return 0;
DbError:
    call_fail_db(c);
    return -1;
}

int complaint_propose(db_conn_t *db, long long id, const char *from_state, const char *text, long long actor_user_id,
                      const char *actor_role)
{
    if (db_exec(db,
                "UPDATE complaints SET state = 'resolved', resolution = ?, resolved_at = NOW(3)"
                " WHERE id = ? AND state = ?",
                DB_ARGS(DB_STR(text), DB_INT(id), DB_STR(from_state))) != 0)
        return -1;
    if (db_affected_rows(db) != 1)
        return 0;
    if (complaint_timeline_add(db, id, "resolve", from_state, "resolved", "public", actor_user_id, actor_role, text,
                               NULL, 0, 0, NULL) <= 0 ||
        complaint_clocks_resolved(db, id) != 0)
        return -1;
    long long owner;
    if (db_query_int(db, &owner, "SELECT user_id FROM complaints WHERE id = ?", DB_ARGS(DB_INT(id))) != 1)
        return -1;
    cJSON *extra = cJSON_CreateObject();
    if (!extra)
        return -1;
    cJSON_AddStringToObject(extra, "resolution", text);
    int rc = complaint_event(db, "complaint.resolved", owner, id, extra);
    cJSON_Delete(extra);
    return rc == 0 ? 1 : -1;
}

int complaint_close(db_conn_t *db, long long id, const char *from_state, const char *reason, long long actor_user_id,
                    const char *actor_role, const char *note)
{
    if (db_exec(
            db,
            "UPDATE complaints SET state = 'closed', close_reason = ?, closed_at = NOW(3) WHERE id = ? AND state = ?",
            DB_ARGS(DB_STR(reason), DB_INT(id), DB_STR(from_state))) != 0)
        return -1;
    if (db_affected_rows(db) != 1)
        return 0;
    if (complaint_timeline_add(db, id, strcmp(reason, "accepted") ? "close" : "accept", from_state, "closed", "public",
                               actor_user_id, actor_role, note, NULL, 0, 0, NULL) <= 0 ||
        complaint_clocks_closed(db, id) != 0)
        return -1;
    db_rows_t *r = db_query(db,
                            "SELECT user_id, project_id, type, rejection_count, COALESCE(rating, 0) AS rating"
                            " FROM complaints WHERE id = ?",
                            DB_ARGS(DB_INT(id)));
    if (!r || r->nrows != 1) {
        db_rows_free(r);
        return -1;
    }
    long long owner = db_get_int(r, 0, "user_id"), project = db_get_int(r, 0, "project_id");
    int round = (int)db_get_int(r, 0, "rejection_count"), rating = (int)db_get_int(r, 0, "rating");
    /* Praise and enquiries are not followed up: there is nothing to put right. */
    int followed = !strcmp(db_get(r, 0, "type"), "complaint") || !strcmp(db_get(r, 0, "type"), "suggestion");
    db_rows_free(r);
    if (followed &&
        (rating && rating <= 2 ? followup_open(db, "complaint", id, round, project, owner, FOLLOWUP_POOR_RATING, rating)
                               : followup_sample(db, "complaint", id, round, project, owner)) < 0)
        return -1;
    if (!strcmp(reason, "accepted"))
        return 1;
    return complaint_event(db, "complaint.closed", owner, id, NULL) == 0 ? 1 : -1;
}

int complaint_new_round(db_conn_t *db, long long id, const char *from_state, const char *action,
                        long long actor_user_id, const char *actor_role, const char *note)
{
    if (db_exec(db,
                "UPDATE complaints SET state = 'in_progress', rejection_count = rejection_count + 1, resolution = NULL,"
                " resolved_at = NULL, closed_at = NULL, close_reason = NULL, round_started_at = NOW(3)"
                " WHERE id = ? AND state = ?",
                DB_ARGS(DB_INT(id), DB_STR(from_state))) != 0)
        return -1;
    if (db_affected_rows(db) != 1)
        return 0;
    if (complaint_timeline_add(db, id, action, from_state, "in_progress", "public", actor_user_id, actor_role, note,
                               NULL, 0, 0, NULL) <= 0 ||
        complaint_clocks_start(db, id) != 0)
        return -1;
    long long handler = 0, project = 0;
    db_rows_t *r = db_query(db, "SELECT COALESCE(handler_id, 0) AS handler_id, project_id FROM complaints WHERE id = ?",
                            DB_ARGS(DB_INT(id)));
    if (!r || r->nrows != 1) {
        db_rows_free(r);
        return -1;
    }
    handler = db_get_int(r, 0, "handler_id");
    project = db_get_int(r, 0, "project_id");
    db_rows_free(r);
    cJSON *extra = cJSON_CreateObject();
    if (!extra)
        return -1;
    cJSON_AddStringToObject(extra, "reason", note ? note : "");
    int rc = handler ? complaint_event(db, "complaint.rejected", handler, id, extra)
                     : complaint_event_to_staff(db, "complaint.rejected", project, 0, id, extra);
    cJSON_Delete(extra);
    return rc < 0 ? -1 : 1;
}
