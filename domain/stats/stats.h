/* stats.h: the statistics of the dashboard, the statistics API and the
 * exports, one function each, computed from the event history.
 *
 * Every statistic is a function of a period [from, to) (unix seconds) and a
 * project scope, and returns rows with named columns (db_rows_t; render
 * them with db_rows_json, or write them column by column). The history read
 * is what happened, with its time: the repair timeline (repair_timeline),
 * the sweeper's escalation records (repair_escalations), the lead stage
 * history (lead_stage_history), the referrals, and the rewards' transition
 * times (referral_rewards.created_at / approved_at / paid_at / cancelled_at,
 * each written once by the transition that makes it, with its audit row).
 * Current-state columns (a ticket's state, a lead's stage) are never read,
 * so a figure for a past period stays what it was and the chart, its CSV
 * and the API agree. The exact definition of each figure is in
 * miniprogram-api.md ("Statistics").
 *
 *   repairs_volume          tickets filed in the period, by category and by the
 *                           state each was in at the period's end
 *   repair_handling_times   tickets resolved in the period: filing to first
 *                           accept and filing to resolve, count, average, p90
 *   repair_sla              clocks started in the period (3 per filing or
 *                           reopen) and those escalated as overdue before `to`
 *   engineer_satisfaction   ratings given in the period per engineer, with the
 *                           rework rate of the tickets they resolved in it
 *   lead_funnel             leads created in the period per channel, counted
 *                           at each stage they reached by the period's end
 *   referral_signings       signings in the period, those of referred leads
 *   rewards_waiting         rewards pending approval / approved and unpaid at
 *                           the period's end
 *
 * How an export uses it: iterate stats_defs[0 .. stats_ndefs), or find one
 * by its stable name with stats_find(kind). Call def->run(db, &scope) on a
 * database worker; write def->columns[i].header as the header line, then
 * for each row the cells db_get(r, row, def->columns[i].name) in the same
 * order (db_is_null for an empty cell); db_rows_free the result. The scope
 * is filled from the request exactly as the statistics API fills it
 * (stats_scope_t below), so the CSV holds the API's numbers.
 *
 * Thread: any database worker; the functions only read. */
#ifndef GW_STATS_H
#define GW_STATS_H
#include "gateway/db.h"

/* Whose numbers and which period. An admin sees every project; anyone else
 * the projects they supervise (staff_roles). project 0: all of them. The
 * caller checks that a named project is one the user may see. */
typedef struct {
    int admin;         /* 1: every project */
    long long user_id; /* the caller: their supervised projects when not admin */
    long long project; /* 0: every project in reach */
    long long from;    /* unix seconds, inclusive */
    long long to;      /* unix seconds, exclusive; from < to */
} stats_scope_t;

/* The rows of one statistic, or NULL on a database error or when memory
 * runs out. The caller owns the result (db_rows_free). */
typedef db_rows_t *(*stats_fn)(db_conn_t *db, const stats_scope_t *scope);

typedef struct {
    const char *name;   /* the result column's alias */
    const char *header; /* its Chinese header, for CSV */
} stats_column_t;

#define STATS_COLUMNS_MAX 10

typedef struct {
    const char *name;  /* stable: the API field and the export kind, e.g. "repairs_volume" */
    const char *title; /* Chinese title, e.g. "报修量（类别×期末状态）" */
    stats_fn run;
    int ncolumns;
    stats_column_t columns[STATS_COLUMNS_MAX]; /* the rows' columns, in order */
} stats_def_t;

/* Every statistic, in dashboard order. Static: never freed. */
extern const stats_def_t stats_defs[];
extern const int stats_ndefs;
/* The statistic of that name, or NULL. */
const stats_def_t *stats_find(const char *name);

db_rows_t *stats_repairs_volume(db_conn_t *db, const stats_scope_t *scope);
db_rows_t *stats_repair_handling_times(db_conn_t *db, const stats_scope_t *scope);
db_rows_t *stats_repair_sla(db_conn_t *db, const stats_scope_t *scope);
db_rows_t *stats_engineer_satisfaction(db_conn_t *db, const stats_scope_t *scope);
db_rows_t *stats_lead_funnel(db_conn_t *db, const stats_scope_t *scope);
db_rows_t *stats_referral_signings(db_conn_t *db, const stats_scope_t *scope);
db_rows_t *stats_rewards_waiting(db_conn_t *db, const stats_scope_t *scope);
/* Complaints (stats_complaints.c): volume by category and building,
 * handling times, clocks breached, resolutions rejected, incidents. */
db_rows_t *stats_complaints_volume(db_conn_t *db, const stats_scope_t *scope);
db_rows_t *stats_complaint_handling_times(db_conn_t *db, const stats_scope_t *scope);
db_rows_t *stats_complaint_sla(db_conn_t *db, const stats_scope_t *scope);
db_rows_t *stats_complaint_reopen_rate(db_conn_t *db, const stats_scope_t *scope);
db_rows_t *stats_complaint_incidents(db_conn_t *db, const stats_scope_t *scope);

/* The default period when a request names none: the 30 days before now. */
#define STATS_DEFAULT_DAYS 30

#endif
