/* leads_stats.c: lead numbers for managers.
 *
 *   GET /api/v1/admin/leads/stats?project=&from=&to=   supervisor of the project, admin
 *
 * Over the leads created in [from, to) (Unix seconds; default the last 30
 * days): leads by channel, the funnel (leads that reached each stage, with
 * conversion rates), the share of signed deals that came from referrals, the
 * median time to first contact and per-agent conversion. "Reached" uses
 * leads.furthest_stage, so a lead lost after a visit still counts as
 * visited; "signed" deals are leads whose stage is signed now (a cancelled
 * deal no longer counts). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "gateway/call.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"
#include "domain/leads/lead_access.h"
#include "domain/leads/lead_json.h"
#include "domain/leads/lead_rules.h"

#define RANGE " l.project_id = ? AND l.created_at >= FROM_UNIXTIME(?) AND l.created_at < FROM_UNIXTIME(?)"
#define RANGE_ARGS(q) DB_INT((q)->project), DB_INT((q)->from), DB_INT((q)->to)

typedef struct {
    long long project, from, to;
} stats_query_t;

/* A positive integer query parameter; 1 present, 0 absent, -1 bad (400). */
static int query_int(gw_call_t *c, const char *name, long long *out)
{
    char buf[24];
    if (!call_query(c, name, buf, sizeof(buf)) || !*buf)
        return 0;
    char *end;
    long long v = strtoll(buf, &end, 10);
    if (*end || v < 0) {
        call_fail(c, ERR_INVALID_FIELD, name, "%s must be a non-negative integer", name);
        return -1;
    }
    *out = v;
    return 1;
}

static int read_query(gw_call_t *c, stats_query_t *q)
{
    int has;
    if ((has = query_int(c, "project", &q->project)) < 0)
        return -1;
    if (!has || q->project == 0) {
        call_fail(c, ERR_MISSING_FIELD, "project", "project is required");
        return -1;
    }
    q->to = (long long)time(NULL) + 1;
    if (query_int(c, "to", &q->to) < 0)
        return -1;
    q->from = q->to - 30LL * 86400;
    if (query_int(c, "from", &q->from) < 0)
        return -1;
    if (q->from >= q->to) {
        call_fail(c, ERR_INVALID_FIELD, "from", "from must be before to");
        return -1;
    }
    return 0;
}

static void add_rate(cJSON *o, const char *name, long long part, long long whole)
{
    if (whole > 0)
        cJSON_AddNumberToObject(o, name, (double)part / (double)whole);
    else
        cJSON_AddNullToObject(o, name);
}

static int add_channels(gw_call_t *c, const stats_query_t *q, cJSON *d)
{
    db_rows_t *r = db_query(c->db,
                            "SELECT l.channel, COUNT(*) AS leads, SUM(l.stage = 'signed') AS signed_leads FROM leads l"
                            " WHERE" RANGE " GROUP BY l.channel ORDER BY COUNT(*) DESC, l.channel",
                            DB_ARGS(RANGE_ARGS(q)));
    if (!r)
        return -1;
    cJSON *list = cJSON_AddArrayToObject(d, "by_channel");
    for (int i = 0; i < r->nrows; i++) {
        cJSON *o = cJSON_CreateObject();
        lead_json_add_str(o, "channel", r, i, "channel");
        lead_json_add_int(o, "leads", r, i, "leads");
        lead_json_add_int(o, "signed", r, i, "signed_leads");
        cJSON_AddItemToArray(list, o);
    }
    db_rows_free(r);
    return 0;
}

static int add_funnel(gw_call_t *c, const stats_query_t *q, cJSON *d)
{
    db_rows_t *r = db_query(c->db,
                            "SELECT COUNT(*) AS reached0, SUM(l.furthest_stage >= 1) AS reached1,"
                            " SUM(l.furthest_stage >= 2) AS reached2, SUM(l.furthest_stage >= 3) AS reached3,"
                            " SUM(l.furthest_stage >= 4) AS reached4, SUM(l.stage = 'lost') AS lost,"
                            " SUM(l.stage = 'cancelled') AS cancelled FROM leads l WHERE" RANGE,
                            DB_ARGS(RANGE_ARGS(q)));
    if (!r)
        return -1;
    static const char *const reached_col[5] = {"reached0", "reached1", "reached2", "reached3", "reached4"};
    long long reached[5];
    for (int s = 0; s < 5; s++)
        reached[s] = db_get_int(r, 0, reached_col[s]);
    cJSON_AddNumberToObject(d, "total", (double)reached[0]);
    cJSON *list = cJSON_AddArrayToObject(d, "funnel");
    for (int s = 0; s < 5; s++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "stage", lead_stage_name((lead_stage_t)s));
        cJSON_AddNumberToObject(o, "count", (double)reached[s]);
        if (s == 0)
            cJSON_AddNullToObject(o, "rate_from_previous");
        else
            add_rate(o, "rate_from_previous", reached[s], reached[s - 1]);
        add_rate(o, "rate_from_new", reached[s], reached[0]);
        cJSON_AddItemToArray(list, o);
    }
    cJSON_AddNumberToObject(d, "lost", (double)db_get_int(r, 0, "lost"));
    cJSON_AddNumberToObject(d, "cancelled", (double)db_get_int(r, 0, "cancelled"));
    db_rows_free(r);
    return 0;
}

static int add_referral_share(gw_call_t *c, const stats_query_t *q, cJSON *d)
{
    db_rows_t *r = db_query(c->db,
                            "SELECT SUM(l.stage = 'signed') AS signed_all,"
                            " SUM(l.stage = 'signed' AND rf.id IS NOT NULL) AS referred"
                            " FROM leads l LEFT JOIN referrals rf ON rf.lead_id = l.id WHERE" RANGE,
                            DB_ARGS(RANGE_ARGS(q)));
    if (!r)
        return -1;
    long long signed_all = db_get_int(r, 0, "signed_all"), referred = db_get_int(r, 0, "referred");
    db_rows_free(r);
    cJSON *o = cJSON_AddObjectToObject(d, "referrals");
    cJSON_AddNumberToObject(o, "signed", (double)signed_all);
    cJSON_AddNumberToObject(o, "signed_from_referrals", (double)referred);
    add_rate(o, "share", referred, signed_all);
    return 0;
}

/* The median in SQL: count, then the middle one or two values. */
static int add_first_contact(gw_call_t *c, const stats_query_t *q, cJSON *d)
{
    long long n = 0;
    if (db_query_int(c->db, &n, "SELECT COUNT(*) FROM leads l WHERE" RANGE " AND l.first_contacted_at IS NOT NULL",
                     DB_ARGS(RANGE_ARGS(q))) < 0)
        return -1;
    cJSON *o = cJSON_AddObjectToObject(d, "first_contact");
    cJSON_AddNumberToObject(o, "contacted", (double)n);
    if (n == 0) {
        cJSON_AddNullToObject(o, "median_seconds");
        return 0;
    }
    db_rows_t *r = db_query(c->db,
                            "SELECT TIMESTAMPDIFF(MICROSECOND, l.created_at, l.first_contacted_at) AS d FROM leads l"
                            " WHERE" RANGE " AND l.first_contacted_at IS NOT NULL ORDER BY d LIMIT ? OFFSET ?",
                            DB_ARGS(RANGE_ARGS(q), DB_INT(n % 2 ? 1 : 2), DB_INT((n - 1) / 2)));
    if (!r)
        return -1;
    double sum = 0;
    for (int i = 0; i < r->nrows; i++)
        sum += (double)db_get_int(r, i, "d");
    cJSON_AddNumberToObject(o, "median_seconds", r->nrows ? sum / r->nrows / 1e6 : 0);
    db_rows_free(r);
    return 0;
}

static int add_agents(gw_call_t *c, const stats_query_t *q, cJSON *d)
{
    db_rows_t *r =
        db_query(c->db,
                 "SELECT l.agent_user_id, u.display_name, COUNT(*) AS leads,"
                 " SUM(l.first_contacted_at IS NOT NULL) AS contacted, SUM(l.furthest_stage >= 2) AS visited,"
                 " SUM(l.stage = 'signed') AS signed_leads"
                 " FROM leads l JOIN users u ON u.id = l.agent_user_id WHERE" RANGE
                 " GROUP BY l.agent_user_id, u.display_name ORDER BY l.agent_user_id",
                 DB_ARGS(RANGE_ARGS(q)));
    if (!r)
        return -1;
    cJSON *list = cJSON_AddArrayToObject(d, "agents");
    for (int i = 0; i < r->nrows; i++) {
        cJSON *o = cJSON_CreateObject();
        lead_json_add_int(o, "user_id", r, i, "agent_user_id");
        lead_json_add_str(o, "name", r, i, "display_name");
        lead_json_add_int(o, "leads", r, i, "leads");
        lead_json_add_int(o, "contacted", r, i, "contacted");
        lead_json_add_int(o, "visited", r, i, "visited");
        lead_json_add_int(o, "signed", r, i, "signed_leads");
        add_rate(o, "conversion", db_get_int(r, i, "signed_leads"), db_get_int(r, i, "leads"));
        cJSON_AddItemToArray(list, o);
    }
    db_rows_free(r);
    return 0;
}

static void stats(gw_call_t *c)
{
    stats_query_t q;
    if (read_query(c, &q) != 0)
        return;
    db_rows_t *r = db_query(c->db, "SELECT p.name, " LEAD_MANAGES("p.id") " AS manages FROM projects p WHERE p.id = ?",
                            DB_ARGS(DB_INT(c->user.id), DB_INT(c->user.id), DB_INT(q.project)));
    if (!r) {
        call_fail_db(c);
        return;
    }
    int found = r->nrows == 1, allowed = found && db_get_int(r, 0, "manages");
    if (!found || !allowed) {
        db_rows_free(r);
        if (!found)
            call_fail(c, ERR_NOT_FOUND, "project", "project %lld not found", q.project);
        else
            call_fail(c, ERR_FORBIDDEN, "project", "you do not supervise project %lld", q.project);
        return;
    }
    cJSON *d = cJSON_CreateObject();
    cJSON *p = cJSON_AddObjectToObject(d, "project");
    cJSON_AddNumberToObject(p, "id", (double)q.project);
    lead_json_add_str(p, "name", r, 0, "name");
    db_rows_free(r);
    cJSON_AddNumberToObject(d, "from", (double)q.from);
    cJSON_AddNumberToObject(d, "to", (double)q.to);
    if (add_funnel(c, &q, d) != 0 || add_channels(c, &q, d) != 0 || add_referral_share(c, &q, d) != 0 ||
        add_first_contact(c, &q, d) != 0 || add_agents(c, &q, d) != 0) {
        cJSON_Delete(d);
        call_fail_db(c);
        return;
    }
    call_ok(c, 200, d);
}

static const route_t routes[] = {
    {"GET", "/api/v1/admin/leads/stats", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_NONE, POOL_DB, stats},
};

void leads_stats_register(void)
{
    router_add(routes, sizeof(routes) / sizeof(routes[0]));
}
