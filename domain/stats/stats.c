#include "domain/stats/stats.h"

#include <string.h>

#include "domain/repairs/repair_state.h"

/* Whose rows: (is_admin, user_id, project, project). Supervisors reach the
 * projects they supervise now. */
#define SCOPE(col)                                                                                                     \
    " (? = 1 OR " col                                                                                                  \
    " IN (SELECT sr.project_id FROM staff_roles sr WHERE sr.user_id = ? AND sr.role = 'supervisor'))"                  \
    " AND (? = 0 OR " col " = ?)"
#define SCOPE_ARGS(s) DB_INT((s)->admin), DB_INT((s)->user_id), DB_INT((s)->project), DB_INT((s)->project)
#define IN_PERIOD(col) " " col " >= FROM_UNIXTIME(?) AND " col " < FROM_UNIXTIME(?)"
/* The scopes and periods the queries name (object-like, so that each query
 * below reads as one string). */
#define SCOPE_TICKET SCOPE("t.project_id")
#define SCOPE_LEAD SCOPE("l.project_id")
#define SCOPE_REWARD SCOPE("w.project_id")
#define FILED_IN_PERIOD IN_PERIOD("t.created_at")
#define EVENT_IN_PERIOD IN_PERIOD("h.created_at")
#define LEAD_IN_PERIOD IN_PERIOD("l.created_at")

/* ---- repairs ---- */

/* The state at the period's end is the to_state of the ticket's last
 * timeline row before `to`; the names and labels come from repair_state.c as
 * parameters, so the SQL holds no second copy. Parameters: the 7 names, the
 * 7 labels, to, the scope, from, to, the 7 names. */
#define STATES7 "?, ?, ?, ?, ?, ?, ?"
static const char *SQL_VOLUME =
    "SELECT g.category_code, g.category_name, g.state, ELT(FIELD(g.state, " STATES7 "), " STATES7 ") AS state_label,"
    " g.tickets FROM (SELECT c.code AS category_code, c.name AS category_name, c.sort_order AS o1, c.id AS o2,"
    " v.state AS state, COUNT(*) AS tickets FROM (SELECT t.category_id, COALESCE((SELECT h.to_state"
    " FROM repair_timeline h WHERE h.ticket_id = t.id AND h.created_at < FROM_UNIXTIME(?) ORDER BY h.id DESC LIMIT 1),"
    " 'submitted') AS state FROM repair_tickets t WHERE" SCOPE_TICKET " AND" FILED_IN_PERIOD ") v"
    " JOIN repair_categories c ON c.id = v.category_id GROUP BY c.id, c.code, c.name, c.sort_order, v.state) g"
    " ORDER BY g.o1, g.o2, FIELD(g.state, " STATES7 ")";

db_rows_t *stats_repairs_volume(db_conn_t *db, const stats_scope_t *s)
{
    db_param_t p[RS__COUNT * 3 + 7];
    int n = 0;
    for (int i = 0; i < RS__COUNT; i++)
        p[n++] = DB_STR(repair_state_name((repair_state_t)i));
    for (int i = 0; i < RS__COUNT; i++)
        p[n++] = DB_STR(repair_state_label((repair_state_t)i));
    const db_param_t mid[] = {DB_INT(s->to), SCOPE_ARGS(s), DB_INT(s->from), DB_INT(s->to)};
    memcpy(p + n, mid, sizeof(mid));
    n += (int)(sizeof(mid) / sizeof(mid[0]));
    for (int i = 0; i < RS__COUNT; i++)
        p[n++] = DB_STR(repair_state_name((repair_state_t)i));
    return db_query(db, SQL_VOLUME, p, n);
}

/* Tickets with a resolve row in the period, each once, at its last resolve
 * in the period. accept: filing to the first accept row; resolve: filing to
 * that resolve. The average rounds half up in integers; p90 is the nearest
 * rank, the value at ceil(0.9 n) of the ascending durations. Parameters:
 * the scope, from, to, then the two measures' names and labels. */
static const char *SQL_HANDLING =
    "WITH r AS (SELECT h.ticket_id, MAX(h.created_at) AS resolved_at FROM repair_timeline h"
    " JOIN repair_tickets t ON t.id = h.ticket_id WHERE" SCOPE_TICKET " AND h.action = 'resolve' AND" EVENT_IN_PERIOD
    " GROUP BY h.ticket_id),"
    " d AS (SELECT 'accept' AS measure, TIMESTAMPDIFF(SECOND, t.created_at, (SELECT MIN(a.created_at)"
    " FROM repair_timeline a WHERE a.ticket_id = t.id AND a.action = 'accept')) AS s"
    " FROM r JOIN repair_tickets t ON t.id = r.ticket_id"
    " UNION ALL SELECT 'resolve', TIMESTAMPDIFF(SECOND, t.created_at, r.resolved_at)"
    " FROM r JOIN repair_tickets t ON t.id = r.ticket_id),"
    " k AS (SELECT measure, s, ROW_NUMBER() OVER (PARTITION BY measure ORDER BY s) AS rn,"
    " COUNT(*) OVER (PARTITION BY measure) AS n FROM d WHERE s IS NOT NULL)"
    " SELECT m.measure, m.label, COUNT(k.s) AS tickets,"
    " CAST((SUM(k.s) * 2 + COUNT(k.s)) DIV (COUNT(k.s) * 2) AS SIGNED) AS avg_s,"
    " CAST(MAX(IF(k.rn = CEIL(k.n * 9 / 10), k.s, NULL)) AS SIGNED) AS p90_s"
    " FROM (SELECT ? AS measure, ? AS label, 1 AS ord UNION ALL SELECT ?, ?, 2) m"
    " LEFT JOIN k ON k.measure = m.measure GROUP BY m.measure, m.label, m.ord ORDER BY m.ord";

db_rows_t *stats_repair_handling_times(db_conn_t *db, const stats_scope_t *s)
{
    return db_query(db, SQL_HANDLING,
                    DB_ARGS(SCOPE_ARGS(s), DB_INT(s->from), DB_INT(s->to), DB_STR(repair_clock_name(RC_ACCEPT)),
                            DB_STR(repair_clock_label(RC_ACCEPT)), DB_STR(repair_clock_name(RC_RESOLVE)),
                            DB_STR(repair_clock_label(RC_RESOLVE))));
}

/* A filing ('submit') or a reopen starts the three clocks of a round (round
 * n = the ticket's n-th reopen, as repair_escalations.round counts it). A
 * clock that ran in the period started in it; it breached when the sweeper
 * recorded an escalation of that clock and round before `to`. Parameters:
 * the scope, to, from, to, then the three clocks' names and labels. */
static const char *SQL_SLA =
    "WITH s AS (SELECT h.ticket_id, h.created_at AS started_at,"
    " ROW_NUMBER() OVER (PARTITION BY h.ticket_id ORDER BY h.id) - 1 AS round"
    " FROM repair_timeline h JOIN repair_tickets t ON t.id = h.ticket_id WHERE" SCOPE_TICKET
    " AND h.action IN ('submit', 'reopen') AND h.created_at < FROM_UNIXTIME(?)),"
    " ran AS (SELECT ticket_id, round FROM s WHERE started_at >= FROM_UNIXTIME(?)),"
    " e AS (SELECT DISTINCT ticket_id, clock, round FROM repair_escalations"
    " WHERE kind = 'escalation' AND created_at < FROM_UNIXTIME(?))"
    " SELECT k.clock, k.label, COUNT(ran.ticket_id) AS clocks, COUNT(e.ticket_id) AS breached,"
    " ROUND(COUNT(e.ticket_id) / NULLIF(COUNT(ran.ticket_id), 0), 4) AS breach_rate"
    " FROM (SELECT ? AS clock, ? AS label, 1 AS ord UNION ALL SELECT ?, ?, 2 UNION ALL SELECT ?, ?, 3) k"
    " LEFT JOIN ran ON 1 = 1"
    " LEFT JOIN e ON e.ticket_id = ran.ticket_id AND e.round = ran.round AND e.clock = k.clock"
    " GROUP BY k.clock, k.label, k.ord ORDER BY k.ord";

db_rows_t *stats_repair_sla(db_conn_t *db, const stats_scope_t *s)
{
    return db_query(db, SQL_SLA,
                    DB_ARGS(SCOPE_ARGS(s), DB_INT(s->to), DB_INT(s->from), DB_INT(s->to),
                            DB_STR(repair_clock_name(RC_ACCEPT)), DB_STR(repair_clock_label(RC_ACCEPT)),
                            DB_STR(repair_clock_name(RC_ARRIVE)), DB_STR(repair_clock_label(RC_ARRIVE)),
                            DB_STR(repair_clock_name(RC_RESOLVE)), DB_STR(repair_clock_label(RC_RESOLVE))));
}

/* Ratings: the 'rate' rows of the period, about the ticket's rated
 * engineer. Rework: the tickets an engineer resolved in the period (their
 * 'resolve' rows), and of those the ones with a 'reopen' row after that
 * resolve and before `to`. The average score to two decimals (a DECIMAL,
 * rounded half up). Parameters: the scope, from, to; to, the scope, from,
 * to. */
static const char *SQL_SATISFACTION =
    "WITH rated AS (SELECT t.rated_engineer_id AS engineer_id, t.rating_score AS score FROM repair_timeline h"
    " JOIN repair_tickets t ON t.id = h.ticket_id WHERE" SCOPE_TICKET " AND h.action = 'rate' AND" EVENT_IN_PERIOD
    " AND t.rated_engineer_id IS NOT NULL AND t.rating_score IS NOT NULL),"
    " res AS (SELECT h.actor_user_id AS engineer_id, h.ticket_id, MAX(EXISTS (SELECT 1 FROM repair_timeline o"
    " WHERE o.ticket_id = h.ticket_id AND o.action = 'reopen' AND o.id > h.id AND o.created_at < FROM_UNIXTIME(?)))"
    " AS reworked FROM repair_timeline h JOIN repair_tickets t ON t.id = h.ticket_id WHERE" SCOPE_TICKET
    " AND h.action = 'resolve' AND h.actor_user_id IS NOT NULL AND" EVENT_IN_PERIOD
    " GROUP BY h.actor_user_id, h.ticket_id),"
    " ra AS (SELECT engineer_id, COUNT(*) AS ratings, ROUND(AVG(score), 2) AS avg_score, SUM(score <= 2) AS poor"
    " FROM rated GROUP BY engineer_id),"
    " rs AS (SELECT engineer_id, COUNT(*) AS resolved, SUM(reworked) AS reworked FROM res GROUP BY engineer_id),"
    " e AS (SELECT engineer_id FROM ra UNION SELECT engineer_id FROM rs)"
    " SELECT e.engineer_id, COALESCE(NULLIF(u.display_name, ''), '工程师') AS engineer_name,"
    " CAST(COALESCE(ra.ratings, 0) AS SIGNED) AS ratings, ra.avg_score, CAST(COALESCE(ra.poor, 0) AS SIGNED) AS poor,"
    " CAST(COALESCE(rs.resolved, 0) AS SIGNED) AS resolved, CAST(COALESCE(rs.reworked, 0) AS SIGNED) AS reworked,"
    " ROUND(rs.reworked / NULLIF(rs.resolved, 0), 4) AS rework_rate"
    " FROM e LEFT JOIN ra ON ra.engineer_id = e.engineer_id LEFT JOIN rs ON rs.engineer_id = e.engineer_id"
    " LEFT JOIN users u ON u.id = e.engineer_id ORDER BY ra.avg_score IS NULL, ra.avg_score DESC, e.engineer_id";

db_rows_t *stats_engineer_satisfaction(db_conn_t *db, const stats_scope_t *s)
{
    return db_query(db, SQL_SATISFACTION,
                    DB_ARGS(SCOPE_ARGS(s), DB_INT(s->from), DB_INT(s->to), DB_INT(s->to), SCOPE_ARGS(s),
                            DB_INT(s->from), DB_INT(s->to)));
}

/* ---- leads, referrals, rewards ---- */

/* A lead reached a stage when a stage history row before `to` moved it
 * there or past it (a skipped stage counts as passed; lost and cancelled
 * are no step of the ladder). Lost and cancelled: the lead's stage at the
 * period's end. Parameters: to, to, the scope, from, to. */
static const char *SQL_FUNNEL =
    "WITH x AS (SELECT l.channel, COALESCE((SELECT MAX(FIELD(h.to_stage, 'new', 'contacted', 'visited', 'subscribed',"
    " 'signed')) FROM lead_stage_history h WHERE h.lead_id = l.id AND h.created_at < FROM_UNIXTIME(?)), 1) AS reached,"
    " (SELECT h.to_stage FROM lead_stage_history h WHERE h.lead_id = l.id AND h.created_at < FROM_UNIXTIME(?)"
    " ORDER BY h.id DESC LIMIT 1) AS stage_at_end FROM leads l WHERE" SCOPE_LEAD " AND" LEAD_IN_PERIOD ")"
    " SELECT channel, COUNT(*) AS leads, CAST(SUM(reached >= 2) AS SIGNED) AS contacted,"
    " CAST(SUM(reached >= 3) AS SIGNED) AS visited, CAST(SUM(reached >= 4) AS SIGNED) AS subscribed,"
    " CAST(SUM(reached >= 5) AS SIGNED) AS `signed`, CAST(SUM(stage_at_end <=> 'lost') AS SIGNED) AS lost,"
    " CAST(SUM(stage_at_end <=> 'cancelled') AS SIGNED) AS cancelled"
    " FROM x GROUP BY channel ORDER BY COUNT(*) DESC, channel";

db_rows_t *stats_lead_funnel(db_conn_t *db, const stats_scope_t *s)
{
    return db_query(db, SQL_FUNNEL,
                    DB_ARGS(DB_INT(s->to), DB_INT(s->to), SCOPE_ARGS(s), DB_INT(s->from), DB_INT(s->to)));
}

/* Signings: leads with a stage history row to 'signed' in the period, each
 * once; referred when the lead has a referral (locked when it was left).
 * Parameters: the scope, from, to. */
static const char *SQL_SIGNINGS =
    "SELECT COUNT(*) AS `signed`, CAST(COALESCE(SUM(s.referred), 0) AS SIGNED) AS from_referrals,"
    " ROUND(SUM(s.referred) / NULLIF(COUNT(*), 0), 4) AS share"
    " FROM (SELECT h.lead_id, MAX(EXISTS (SELECT 1 FROM referrals rf WHERE rf.lead_id = h.lead_id)) AS referred"
    " FROM lead_stage_history h JOIN leads l ON l.id = h.lead_id WHERE" SCOPE_LEAD
    " AND h.to_stage = 'signed' AND" EVENT_IN_PERIOD " GROUP BY h.lead_id) s";

db_rows_t *stats_referral_signings(db_conn_t *db, const stats_scope_t *s)
{
    return db_query(db, SQL_SIGNINGS, DB_ARGS(SCOPE_ARGS(s), DB_INT(s->from), DB_INT(s->to)));
}

/* The state of a reward at `to` from its transition times: created before
 * `to`, not cancelled before `to`; pending when not approved before `to`,
 * waiting for payment when approved but not paid before `to`. `from` is not
 * used: it is a stock at the period's end. Parameters: the scope, to x5. */
static const char *SQL_REWARDS_WAITING =
    "SELECT k.status, k.label, COUNT(w.id) AS rewards,"
    " CAST(COALESCE(SUM(IF(w.kind = 'cash', w.amount, 0)), 0) AS SIGNED) AS cash_fen,"
    " CAST(COALESCE(SUM(IF(w.kind = 'points', w.amount, 0)), 0) AS SIGNED) AS points"
    " FROM (SELECT 'pending' AS status, '待审批' AS label, 1 AS ord UNION ALL SELECT 'approved', '待发放', 2) k"
    " LEFT JOIN referral_rewards w ON" SCOPE_REWARD " AND w.created_at < FROM_UNIXTIME(?)"
    " AND (w.cancelled_at IS NULL OR w.cancelled_at >= FROM_UNIXTIME(?))"
    " AND IF(k.status = 'pending', w.approved_at IS NULL OR w.approved_at >= FROM_UNIXTIME(?),"
    " w.approved_at < FROM_UNIXTIME(?) AND (w.paid_at IS NULL OR w.paid_at >= FROM_UNIXTIME(?)))"
    " GROUP BY k.status, k.label, k.ord ORDER BY k.ord";

db_rows_t *stats_rewards_waiting(db_conn_t *db, const stats_scope_t *s)
{
    return db_query(db, SQL_REWARDS_WAITING,
                    DB_ARGS(SCOPE_ARGS(s), DB_INT(s->to), DB_INT(s->to), DB_INT(s->to), DB_INT(s->to), DB_INT(s->to)));
}

/* ---- the table ---- */

const stats_def_t stats_defs[] = {
    {"repairs_volume",
     "报修量（类别 × 期末状态）",
     stats_repairs_volume,
     5,
     {{"category_code", "类别编码"},
      {"category_name", "类别"},
      {"state", "状态编码"},
      {"state_label", "期末状态"},
      {"tickets", "工单数"}}},
    {"repair_handling_times",
     "处理用时",
     stats_repair_handling_times,
     5,
     {{"measure", "指标编码"},
      {"label", "指标"},
      {"tickets", "工单数"},
      {"avg_s", "平均用时（秒）"},
      {"p90_s", "P90 用时（秒）"}}},
    {"repair_sla",
     "时限超时率",
     stats_repair_sla,
     5,
     {{"clock", "时限编码"},
      {"label", "时限"},
      {"clocks", "计时数"},
      {"breached", "超时数"},
      {"breach_rate", "超时率"}}},
    {"engineer_satisfaction",
     "工程师满意度与返工率",
     stats_engineer_satisfaction,
     8,
     {{"engineer_id", "工程师 ID"},
      {"engineer_name", "工程师"},
      {"ratings", "评价数"},
      {"avg_score", "平均分"},
      {"poor", "差评数"},
      {"resolved", "完成工单数"},
      {"reworked", "返工数"},
      {"rework_rate", "返工率"}}},
    {"lead_funnel",
     "线索漏斗（按渠道）",
     stats_lead_funnel,
     8,
     {{"channel", "渠道"},
      {"leads", "线索数"},
      {"contacted", "已联系"},
      {"visited", "已到访"},
      {"subscribed", "已认购"},
      {"signed", "已签约"},
      {"lost", "已流失"},
      {"cancelled", "已退房"}}},
    {"referral_signings",
     "推荐签约占比",
     stats_referral_signings,
     3,
     {{"signed", "签约数"}, {"from_referrals", "推荐签约数"}, {"share", "推荐占比"}}},
    {"rewards_waiting",
     "待处理奖励（期末）",
     stats_rewards_waiting,
     5,
     {{"status", "状态编码"},
      {"label", "状态"},
      {"rewards", "奖励数"},
      {"cash_fen", "现金（分）"},
      {"points", "积分"}}},
    /* complaints (stats_complaints.c) */
    {"complaints_volume",
     "投诉量（类别 × 楼栋）",
     stats_complaints_volume,
     4,
     {{"category_code", "类别编码"}, {"category_name", "类别"}, {"building", "楼栋"}, {"complaints", "投诉数"}}},
    {"complaint_handling_times",
     "投诉处理用时",
     stats_complaint_handling_times,
     5,
     {{"measure", "指标编码"},
      {"label", "指标"},
      {"complaints", "投诉数"},
      {"avg_s", "平均用时（秒）"},
      {"p90_s", "P90 用时（秒）"}}},
    {"complaint_sla",
     "投诉时限超时率",
     stats_complaint_sla,
     5,
     {{"clock", "时限编码"}, {"label", "时限"}, {"clocks", "计时数"}, {"breached", "超时数"}, {"breach_rate", "超时率"}}},
    {"complaint_reopen_rate",
     "投诉方案驳回率",
     stats_complaint_reopen_rate,
     3,
     {{"resolutions", "方案数"}, {"rejected", "被驳回数"}, {"reopen_rate", "驳回率"}}},
    {"complaint_incidents",
     "群诉事件",
     stats_complaint_incidents,
     4,
     {{"kind", "来源编码"}, {"label", "来源"}, {"incidents", "事件数"}, {"complaints", "关联投诉数"}}},
};

const int stats_ndefs = (int)(sizeof(stats_defs) / sizeof(stats_defs[0]));

const stats_def_t *stats_find(const char *name)
{
    for (int i = 0; name && i < stats_ndefs; i++)
        if (!strcmp(stats_defs[i].name, name))
            return &stats_defs[i];
    return NULL;
}
