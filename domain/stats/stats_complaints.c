/* stats_complaints.c: the complaint statistics (stats.h), from the
 * complaints' history: the complaint rows' filing facts (created_at,
 * category, building), their timeline (complaint_timeline: reply, resolve,
 * reject rows with their times), the service-level clocks of kind
 * "complaint" (sla_clocks: start, due time, breach mark) and the incidents'
 * creation. No current state is read. */
#include "domain/stats/stats.h"

/* Whose rows: (is_admin, user_id, project, project), as every statistic:
 * supervisors reach the projects they supervise now. */
#define K_SCOPE                                                                                                        \
    " (? = 1 OR k.project_id IN (SELECT sr.project_id FROM staff_roles sr WHERE sr.user_id = ?"                      \
    " AND sr.role = 'supervisor')) AND (? = 0 OR k.project_id = ?)"
#define K_SCOPE_ARGS(s) DB_INT((s)->admin), DB_INT((s)->user_id), DB_INT((s)->project), DB_INT((s)->project)

/* Complaints (every type) filed in the period, by category and building
 * (a complaint about no unit: building "-"). */
static const char *SQL_VOLUME =
    "SELECT cc.code AS category_code, cc.name AS category_name, COALESCE(b.name, '-') AS building,"
    " COUNT(*) AS complaints FROM complaints k JOIN complaint_categories cc ON cc.id = k.category_id"
    " LEFT JOIN buildings b ON b.id = k.building_id WHERE" K_SCOPE
    " AND k.created_at >= FROM_UNIXTIME(?) AND k.created_at < FROM_UNIXTIME(?)"
    " GROUP BY cc.code, cc.name, b.name ORDER BY complaints DESC, cc.code, building";

db_rows_t *stats_complaints_volume(db_conn_t *db, const stats_scope_t *s)
{
    return db_query(db, SQL_VOLUME, DB_ARGS(K_SCOPE_ARGS(s), DB_INT(s->from), DB_INT(s->to)));
}

/* Complaints with a resolve row in the period, each once: respond = filing
 * to the first public staff reply or resolution; resolve = filing to the
 * first resolution. Average rounded half up, p90 the nearest rank. */
static const char *SQL_HANDLING =
    "WITH r AS (SELECT DISTINCT h.complaint_id FROM complaint_timeline h JOIN complaints k ON k.id = h.complaint_id"
    " WHERE" K_SCOPE " AND h.action = 'resolve' AND h.created_at >= FROM_UNIXTIME(?)"
    " AND h.created_at < FROM_UNIXTIME(?)),"
    " d AS (SELECT 'respond' AS measure, TIMESTAMPDIFF(SECOND, k.created_at, (SELECT MIN(a.created_at)"
    " FROM complaint_timeline a WHERE a.complaint_id = k.id AND a.action IN ('reply', 'resolve'))) AS s"
    " FROM r JOIN complaints k ON k.id = r.complaint_id"
    " UNION ALL SELECT 'resolve', TIMESTAMPDIFF(SECOND, k.created_at, (SELECT MIN(a.created_at)"
    " FROM complaint_timeline a WHERE a.complaint_id = k.id AND a.action = 'resolve'))"
    " FROM r JOIN complaints k ON k.id = r.complaint_id),"
    " q AS (SELECT measure, s, ROW_NUMBER() OVER (PARTITION BY measure ORDER BY s) AS rn,"
    " COUNT(*) OVER (PARTITION BY measure) AS n FROM d WHERE s IS NOT NULL)"
    " SELECT m.measure, m.label, COUNT(q.s) AS complaints,"
    " CAST((SUM(q.s) * 2 + COUNT(q.s)) DIV (COUNT(q.s) * 2) AS SIGNED) AS avg_s,"
    " CAST(MAX(IF(q.rn = CEIL(q.n * 9 / 10), q.s, NULL)) AS SIGNED) AS p90_s"
    " FROM (SELECT 'respond' AS measure, '首次响应' AS label, 1 AS ord UNION ALL SELECT 'resolve', '处理完成', 2) m"
    " LEFT JOIN q ON q.measure = m.measure GROUP BY m.measure, m.label, m.ord ORDER BY m.ord";

db_rows_t *stats_complaint_handling_times(db_conn_t *db, const stats_scope_t *s)
{
    return db_query(db, SQL_HANDLING, DB_ARGS(K_SCOPE_ARGS(s), DB_INT(s->from), DB_INT(s->to)));
}

/* Clocks started in the period (two per filing or rejection), and those
 * that ran past their due time before `to` (the engine marks a clock
 * breached when it does; its due time says when). */
static const char *SQL_SLA =
    "SELECT m.clock, m.label, COUNT(c.id) AS clocks,"
    " COUNT(IF(c.breached = 1 AND c.due_at < FROM_UNIXTIME(?), 1, NULL)) AS breached,"
    " ROUND(COUNT(IF(c.breached = 1 AND c.due_at < FROM_UNIXTIME(?), 1, NULL)) / NULLIF(COUNT(c.id), 0), 4)"
    " AS breach_rate"
    " FROM (SELECT 'respond' AS clock, '首次响应' AS label, 1 AS ord UNION ALL SELECT 'resolve', '处理完成', 2) m"
    " LEFT JOIN (sla_clocks c JOIN complaints k ON k.id = c.subject_id) ON c.kind = 'complaint'"
    " AND c.clock = m.clock AND" K_SCOPE " AND c.started_at >= FROM_UNIXTIME(?) AND c.started_at < FROM_UNIXTIME(?)"
    " GROUP BY m.clock, m.label, m.ord ORDER BY m.ord";

db_rows_t *stats_complaint_sla(db_conn_t *db, const stats_scope_t *s)
{
    return db_query(db, SQL_SLA,
                    DB_ARGS(DB_INT(s->to), DB_INT(s->to), K_SCOPE_ARGS(s), DB_INT(s->from), DB_INT(s->to)));
}

/* Resolutions proposed in the period, and of those the ones the owner
 * rejected (a reject row after that resolve and before the next one, before
 * `to`). */
static const char *SQL_REOPEN =
    "SELECT v.resolutions, v.rejected, ROUND(v.rejected / NULLIF(v.resolutions, 0), 4) AS reopen_rate"
    " FROM (SELECT COUNT(*) AS resolutions, COUNT(IF(EXISTS(SELECT 1 FROM complaint_timeline j"
    " WHERE j.complaint_id = h.complaint_id AND j.action = 'reject' AND j.id > h.id"
    " AND j.created_at < FROM_UNIXTIME(?) AND NOT EXISTS(SELECT 1 FROM complaint_timeline x"
    " WHERE x.complaint_id = h.complaint_id AND x.action = 'resolve' AND x.id > h.id AND x.id < j.id)), 1, NULL))"
    " AS rejected FROM complaint_timeline h JOIN complaints k ON k.id = h.complaint_id WHERE" K_SCOPE
    " AND h.action = 'resolve' AND h.created_at >= FROM_UNIXTIME(?) AND h.created_at < FROM_UNIXTIME(?)) v";

db_rows_t *stats_complaint_reopen_rate(db_conn_t *db, const stats_scope_t *s)
{
    return db_query(db, SQL_REOPEN, DB_ARGS(DB_INT(s->to), K_SCOPE_ARGS(s), DB_INT(s->from), DB_INT(s->to)));
}
/* Incidents opened in the period: detected and by hand, with the
 * complaints linked to them by `to` (link rows before `to`, less unlinks). */
static const char *SQL_INCIDENTS =
    "SELECT m.kind, m.label, COUNT(k.id) AS incidents, COALESCE(SUM((SELECT COUNT(*) FROM complaint_timeline l"
    " JOIN complaints c ON c.id = l.complaint_id WHERE c.project_id = k.project_id AND l.action = 'link'"
    " AND l.note = CONCAT('群诉事件 #', k.id) AND l.created_at < FROM_UNIXTIME(?)) - (SELECT COUNT(*)"
    " FROM complaint_timeline l JOIN complaints c ON c.id = l.complaint_id WHERE c.project_id = k.project_id"
    " AND l.action = 'unlink' AND l.note = CONCAT('群诉事件 #', k.id) AND l.created_at < FROM_UNIXTIME(?))), 0)"
    " AS complaints"
    " FROM (SELECT 'detected' AS kind, '自动识别' AS label, 1 AS detected, 1 AS ord"
    " UNION ALL SELECT 'manual', '手动创建', 0, 2) m"
    " LEFT JOIN complaint_incidents k ON k.detected = m.detected AND" K_SCOPE
    " AND k.created_at >= FROM_UNIXTIME(?) AND k.created_at < FROM_UNIXTIME(?)"
    " GROUP BY m.kind, m.label, m.ord ORDER BY m.ord";

db_rows_t *stats_complaint_incidents(db_conn_t *db, const stats_scope_t *s)
{
    return db_query(db, SQL_INCIDENTS,
                    DB_ARGS(DB_INT(s->to), DB_INT(s->to), K_SCOPE_ARGS(s), DB_INT(s->from), DB_INT(s->to)));
}
