/* complaint_incidents.c: see complaint_incidents.h. */
#include "domain/complaints/complaint_incidents.h"

#include <cjson/cJSON.h>
#include <stdio.h>

#include "domain/complaints/complaint.h"
#include "gateway/config.h"

/* The complaints that make or join a detected incident: same category and
 * building, type complaint, not yet in one, not closed, within the window.
 * Takes (category, building, window seconds). */
#define CLUSTER_WHERE                                                                                                  \
    " WHERE category_id = ? AND building_id = ? AND type = 'complaint' AND incident_id IS NULL"                       \
    " AND state <> 'closed' AND created_at >= NOW(3) - INTERVAL ? SECOND"

static int link_one(db_conn_t *db, long long incident_id, long long complaint_id)
{
    if (db_exec(db, "UPDATE complaints SET incident_id = ? WHERE id = ?",
                DB_ARGS(DB_INT(incident_id), DB_INT(complaint_id))) != 0)
        return -1;
    char note[64];
    snprintf(note, sizeof(note), "群诉事件 #%lld", incident_id);
    return complaint_timeline_add(db, complaint_id, "link", NULL, NULL, "internal", 0, "system", note, NULL, 0, 0,
                                  NULL) > 0
               ? 0
               : -1;
}

long long complaint_incident_detect(db_conn_t *db, long long complaint_id, long long project_id, long long category_id,
                                    long long building_id)
{
    long long open = 0, count = 0;
    int rc = db_query_int(db, &open,
                          "SELECT id FROM complaint_incidents WHERE category_id = ? AND building_id = ?"
                          " AND state = 'open' ORDER BY id LIMIT 1",
                          DB_ARGS(DB_INT(category_id), DB_INT(building_id)));
    if (rc < 0)
        return -1;
    if (rc > 0)
        return link_one(db, open, complaint_id) == 0 ? open : -1;
    long long window = gw_cfg->complaint_incident_window_s;
    if (db_query_int(db, &count, "SELECT COUNT(*) FROM complaints" CLUSTER_WHERE,
                     DB_ARGS(DB_INT(category_id), DB_INT(building_id), DB_INT(window))) < 0)
        return -1;
    if (count < gw_cfg->complaint_incident_threshold)
        return 0;
    if (db_exec(db,
                "INSERT INTO complaint_incidents (project_id, category_id, building_id, title, detected)"
                " SELECT ?, cc.id, b.id, LEFT(CONCAT(b.name, ' · ', cc.name, ' 群诉'), 100), 1"
                " FROM complaint_categories cc JOIN buildings b ON b.id = ? WHERE cc.id = ?",
                DB_ARGS(DB_INT(project_id), DB_INT(building_id), DB_INT(category_id))) != 0)
        return -1;
    long long incident = (long long)db_insert_id(db);
    db_rows_t *r = db_query(db, "SELECT id FROM complaints" CLUSTER_WHERE " ORDER BY id",
                            DB_ARGS(DB_INT(category_id), DB_INT(building_id), DB_INT(window)));
    if (!r)
        return -1;
    int failed = 0;
    for (int i = 0; i < r->nrows && !failed; i++)
        failed = link_one(db, incident, db_get_int(r, i, "id")) != 0;
    db_rows_free(r);
    if (failed)
        return -1;
    cJSON *extra = cJSON_CreateObject();
    if (!extra)
        return -1;
    cJSON_AddNumberToObject(extra, "incident_id", (double)incident);
    cJSON_AddNumberToObject(extra, "incident_count", (double)count);
    int n = complaint_event_to_staff(db, "complaint.incident", project_id, 0, complaint_id, extra);
    cJSON_Delete(extra);
    return n < 0 ? -1 : incident;
}
