/* complaint_incidents.h: group complaints (群诉).
 *
 * Detection: when complaint_incident_threshold complaints (type complaint)
 * of one category about one building arrive within
 * complaint_incident_window_s, they are linked into an incident and the
 * project's supervisors (project managers among them) are alerted at once
 * (complaint.incident events, once per incident). A new complaint of that
 * category and building joins the open incident, without a new alert.
 * Race-safety: filing locks the category's row before inserting the
 * complaint (complaint_category_find with lock), and detection counts under
 * that lock, so two complaints arriving together are counted one after the
 * other and make one incident.
 *
 * Staff link and unlink complaints by hand; resolving an incident proposes
 * its resolution on every linked open complaint (complaint_actions.h), each
 * owner still accepting or rejecting their own. DB workers only, inside the
 * caller's transaction. */
#ifndef GW_COMPLAINT_INCIDENTS_H
#define GW_COMPLAINT_INCIDENTS_H
#include "gateway/db.h"

/* After complaint_id (of category_id, building_id, type complaint) was
 * inserted under the category's lock: joins the open incident or creates
 * one. Returns the incident id, 0 when none, -1 on a db error. */
long long complaint_incident_detect(db_conn_t *db, long long complaint_id, long long project_id, long long category_id,
                                    long long building_id);

/* The SELECT of an incident as the API shows it (alias i), to follow with
 * a WHERE clause. */
#define COMPLAINT_INCIDENT_SELECT                                                                                      \
    "SELECT i.id AS id, i.project_id AS project_id, i.title AS title, i.state AS state, i.detected AS detected,"      \
    " i.category_id AS \"category.id\", cc.name AS \"category.name\", i.building_id AS \"building.id\","              \
    " b.name AS \"building.name\", i.resolution AS resolution,"                                                        \
    " (SELECT COUNT(*) FROM complaints k WHERE k.incident_id = i.id) AS complaint_count,"                             \
    " FLOOR(UNIX_TIMESTAMP(i.created_at)) AS created_at, FLOOR(UNIX_TIMESTAMP(i.resolved_at)) AS resolved_at"         \
    " FROM complaint_incidents i LEFT JOIN complaint_categories cc ON cc.id = i.category_id"                           \
    " LEFT JOIN buildings b ON b.id = i.building_id"

#endif
