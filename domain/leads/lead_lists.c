/* lead_lists.c: see lead_lists.h. The statements and filters moved here
 * from the route files unchanged. */
#include "domain/leads/lead_lists.h"

#include <string.h>

#include "domain/leads/lead_access.h"
#include "domain/leads/lead_json.h"
#include "domain/leads/lead_rules.h"
#include "gateway/db_json.h"

/* ---- leads ---- */

typedef struct {
    long long project_id;
    long long agent;             /* -1: any; 0: unassigned */
    const char *stage, *channel; /* NULL: any */
    char like[32 * 4 * 2 + 3];   /* "%q%" with q's LIKE wildcards escaped; "" when no q */
} lead_filter_t;

/* q matches a part of the name or of the phone: LIKE '%q%', with q's own
 * wildcards taken literally. */
static void like_pattern(const char *text, char *out)
{
    char *o = out;
    *o++ = '%';
    for (const char *s = text; *s; s++) {
        if (*s == '%' || *s == '_' || *s == '\\')
            *o++ = '\\';
        *o++ = *s;
    }
    *o++ = '%';
    *o = '\0';
}

static int lead_filter_or_fail(gw_call_t *c, db_conn_t *db, void *filter)
{
    lead_filter_t *q = filter;
    const char *text;
    if (query_id_or_fail(c, "project_id", &q->project_id) != 0)
        return -1;
    if (!q->project_id) {
        call_fail(c, ERR_MISSING_FIELD, "project_id", "project_id is required");
        return -1;
    }
    /* `state` is accepted for `stage`. */
    if (query_enum_or_fail(c, "stage", LEAD_STAGE_NAMES, NULL, &q->stage) != 0 ||
        (!q->stage && query_enum_or_fail(c, "state", LEAD_STAGE_NAMES, NULL, &q->stage) != 0) ||
        query_enum_or_fail(c, "channel", LEAD_CHANNEL_NAMES, NULL, &q->channel) != 0 ||
        query_int_or_fail(c, "agent_user_id", 0, 1LL << 53, -1, &q->agent) != 0 ||
        query_string_or_fail(c, "q", 32, &text) != 0)
        return -1;
    if (text)
        like_pattern(text, q->like);
    return lead_manages_project_or_fail(c, db, q->project_id, "project_id");
}

/* Parameters: the project, the cursor, the stage twice, the channel twice,
 * the agent twice, the pattern three times, the limit. */
#define SQL_ADMIN_LEADS                                                                                                \
    "SELECT " LEAD_HEAD_COLUMNS ", l.stage, l.channel, l.agent_user_id AS `agent.user_id`,"                            \
    " au.display_name AS `agent.name`, l.submissions, FLOOR(UNIX_TIMESTAMP(l.created_at)) AS created_at,"              \
    " FLOOR(UNIX_TIMESTAMP(l.first_contact_due_at)) AS first_contact_due_at,"                                          \
    " FLOOR(UNIX_TIMESTAMP(l.first_contacted_at)) AS first_contacted_at,"                                              \
    " l.contact_overdue_at IS NOT NULL AS contact_overdue, l.erased_at IS NOT NULL AS erased,"                         \
    " (SELECT rf.id FROM referrals rf WHERE rf.lead_id = l.id) AS referral_id"                                         \
    " FROM leads l JOIN projects p ON p.id = l.project_id LEFT JOIN users au ON au.id = l.agent_user_id"               \
    " WHERE l.project_id = ? AND l.id < ? AND (? IS NULL OR l.stage = ?) AND (? IS NULL OR l.channel = ?)"             \
    " AND (? < 0 OR COALESCE(l.agent_user_id, 0) = ?) AND (? IS NULL OR l.name LIKE ? OR l.phone LIKE ?)"              \
    " ORDER BY l.id DESC LIMIT ?"

static db_rows_t *lead_rows(db_conn_t *db, const gw_call_t *c, const void *filter, long long before, int limit,
                            int count)
{
    (void)c;
    const lead_filter_t *q = filter;
    const char *like = *q->like ? q->like : NULL;
    return db_query(db, count ? LIST_COUNT_SQL(SQL_ADMIN_LEADS) : SQL_ADMIN_LEADS,
                    DB_ARGS(DB_INT(q->project_id), DB_INT(before), DB_STR(q->stage), DB_STR(q->stage),
                            DB_STR(q->channel), DB_STR(q->channel), DB_INT(q->agent), DB_INT(q->agent), DB_STR(like),
                            DB_STR(like), DB_STR(like), DB_INT(limit)));
}

const list_def_t lead_admin_list = {
    .filter_size = sizeof(lead_filter_t),
    .filter_or_fail = lead_filter_or_fail,
    .rows = lead_rows,
    .render = lead_json_row,
};

/* ---- rewards ---- */

typedef struct {
    const char *status;
    long long project;
} reward_filter_t;

static int reward_filter_or_fail(gw_call_t *c, db_conn_t *db, void *filter)
{
    static const char *const statuses[] = {"pending", "approved", "paid", "cancelled", "clawback", NULL};
    (void)db;
    reward_filter_t *f = filter;
    return query_enum_or_fail(c, "status", statuses, NULL, &f->status) != 0 ||
                   query_id_or_fail(c, "project", &f->project) != 0
               ? -1
               : 0;
}

/* Parameters: the caller twice (LEAD_MANAGES), the status filter twice, the
 * project filter twice, the cursor, the limit. */
#define SQL_REWARDS                                                                                                    \
    "SELECT w.id, w.referral_id, w.project_id AS `project.id`, p.name AS `project.name`,"                              \
    " w.referrer_user_id AS `referrer.user_id`,"                                                                       \
    " COALESCE((SELECT o.name FROM owners o WHERE o.user_id = w.referrer_user_id ORDER BY o.id LIMIT 1),"              \
    " ru.display_name) AS `referrer.name`, ru.phone AS `referrer.phone_masked`, r.lead_id, w.kind, w.amount,"          \
    " w.status, w.cancel_reason, FLOOR(UNIX_TIMESTAMP(w.created_at)) AS created_at,"                                   \
    " FLOOR(UNIX_TIMESTAMP(w.approved_at)) AS approved_at, w.approved_by, apu.display_name AS approved_by_name,"       \
    " FLOOR(UNIX_TIMESTAMP(w.paid_at)) AS paid_at, w.paid_by, pau.display_name AS paid_by_name,"                       \
    " FLOOR(UNIX_TIMESTAMP(w.cancelled_at)) AS cancelled_at"                                                           \
    " FROM referral_rewards w JOIN referrals r ON r.id = w.referral_id JOIN projects p ON p.id = w.project_id"         \
    " JOIN users ru ON ru.id = w.referrer_user_id LEFT JOIN users apu ON apu.id = w.approved_by"                       \
    " LEFT JOIN users pau ON pau.id = w.paid_by"                                                                       \
    " WHERE " LEAD_MANAGES("w.project_id") " AND (? IS NULL OR w.status = ?) AND (? = 0 OR w.project_id = ?)"          \
                                           " AND w.id < ? ORDER BY w.id DESC LIMIT ?"

static db_rows_t *reward_rows(db_conn_t *db, const gw_call_t *c, const void *filter, long long before, int limit,
                              int count)
{
    const reward_filter_t *f = filter;
    return db_query(db, count ? LIST_COUNT_SQL(SQL_REWARDS) : SQL_REWARDS,
                    DB_ARGS(DB_INT(c->user.id), DB_INT(c->user.id), DB_STR(f->status), DB_STR(f->status),
                            DB_INT(f->project), DB_INT(f->project), DB_INT(before), DB_INT(limit)));
}

/* The row as selected, with the referrer's phone masked and the amount as
 * shown to people. */
static cJSON *reward_item(const db_rows_t *r, int i, void *ud)
{
    (void)ud;
    cJSON *o = db_row_json(r, i);
    if (o && (lead_json_mask_phone(cJSON_GetObjectItemCaseSensitive(o, "referrer"), "phone_masked") != 0 ||
              lead_json_amount_display(o) != 0)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

const list_def_t reward_admin_list = {
    .filter_size = sizeof(reward_filter_t),
    .filter_or_fail = reward_filter_or_fail,
    .rows = reward_rows,
    .render = reward_item,
};

/* ---- referrals ---- */

typedef struct {
    const char *stage;
    long long project;
} referral_filter_t;

static int referral_filter_or_fail(gw_call_t *c, db_conn_t *db, void *filter)
{
    (void)db;
    referral_filter_t *f = filter;
    return query_enum_or_fail(c, "stage", LEAD_STAGE_NAMES, NULL, &f->stage) != 0 ||
                   query_id_or_fail(c, "project", &f->project) != 0
               ? -1
               : 0;
}

/* Parameters: the caller twice (LEAD_MANAGES), the stage filter twice, the
 * project filter twice, the cursor, the limit. The referrer's name is the
 * owner roster's, as on the rewards list. */
#define SQL_ADMIN_REFERRALS                                                                                            \
    "SELECT r.id, r.project_id AS `project.id`, p.name AS `project.name`, r.lead_id, l.name AS referee_name,"          \
    " l.phone AS referee_phone, r.referrer_user_id AS `referrer.user_id`,"                                             \
    " COALESCE((SELECT o.name FROM owners o WHERE o.user_id = r.referrer_user_id ORDER BY o.id LIMIT 1),"              \
    " ru.display_name) AS `referrer.name`, ru.phone AS `referrer.phone_masked`,"                                       \
    " l.agent_user_id AS `agent.user_id`, au.display_name AS `agent.name`, r.stage, l.channel,"                        \
    " FLOOR(UNIX_TIMESTAMP(r.protection_expires_at)) AS protection_expires_at,"                                        \
    " FLOOR(UNIX_TIMESTAMP(r.locked_at)) AS locked_at, FLOOR(UNIX_TIMESTAMP(r.reassigned_at)) AS reassigned_at,"       \
    " l.signed_at IS NOT NULL AS lead_signed, w.id AS `reward.id`, " LEAD_REWARD_COLUMNS                               \
    " FROM referrals r JOIN projects p ON p.id = r.project_id JOIN leads l ON l.id = r.lead_id"                        \
    " JOIN users ru ON ru.id = r.referrer_user_id LEFT JOIN users au ON au.id = l.agent_user_id"                       \
    " LEFT JOIN referral_rewards w ON w.referral_id = r.id"                                                            \
    " WHERE " LEAD_MANAGES("r.project_id") " AND (? IS NULL OR r.stage = ?) AND (? = 0 OR r.project_id = ?)"           \
                                           " AND r.id < ? ORDER BY r.id DESC LIMIT ?"

static db_rows_t *referral_rows(db_conn_t *db, const gw_call_t *c, const void *filter, long long before, int limit,
                                int count)
{
    const referral_filter_t *f = filter;
    return db_query(db, count ? LIST_COUNT_SQL(SQL_ADMIN_REFERRALS) : SQL_ADMIN_REFERRALS,
                    DB_ARGS(DB_INT(c->user.id), DB_INT(c->user.id), DB_STR(f->stage), DB_STR(f->stage),
                            DB_INT(f->project), DB_INT(f->project), DB_INT(before), DB_INT(limit)));
}

/* The row as selected: phones masked, the reward's amount as shown to
 * people. */
static cJSON *referral_item(const db_rows_t *r, int i, void *ud)
{
    (void)ud;
    cJSON *o = db_row_json(r, i);
    if (o && (lead_json_mask_phone(o, "referee_phone") != 0 ||
              lead_json_mask_phone(cJSON_GetObjectItemCaseSensitive(o, "referrer"), "phone_masked") != 0 ||
              lead_json_amount_display(cJSON_GetObjectItemCaseSensitive(o, "reward")) != 0)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

const list_def_t referral_admin_list = {
    .filter_size = sizeof(referral_filter_t),
    .filter_or_fail = referral_filter_or_fail,
    .rows = referral_rows,
    .render = referral_item,
};
