/* export_kinds.c: the table of export kinds and how an item becomes a CSV
 * row (export_kinds.h). */
#include "domain/exports/export_kinds.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain/complaints/complaint_lists.h"
#include "domain/identity/audit_list.h"
#include "domain/identity/staff_list.h"
#include "domain/leads/lead_lists.h"
#include "domain/leads/lead_rules.h"
#include "domain/notifications/outbox_list.h"
#include "domain/projects/project_lists.h"
#include "domain/repairs/repair_lists.h"
#include "domain/stats/stats.h"
#include "domain/stats/stats_request.h"
#include "gateway/roles.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define STAFF (ROLE_SUPERVISOR | ROLE_ADMIN)
#define EXPORT_LIST(name, title, roles, list, cols) {name, title, roles, &(list), NULL, NULL, cols, N(cols)}
/* A statistic: its kind name is "stats.<the statistic's name>". */
#define EXPORT_STAT(name, title, writer, def) {name, title, STAFF, NULL, writer, def, NULL, 0}

static const export_col_t repair_cols[] = {
    {"id", "编号", EXPORT_NUMBER},
    {"ticket_no", "工单号", 0},
    {"state_label", "状态", 0},
    {"category.name", "类别", 0},
    {"unit.project", "项目", 0},
    {"unit.building", "楼栋", 0},
    {"unit.name", "房号", 0},
    {"description", "描述", 0},
    {"engineer.name", "工程师", 0},
    {"rework_count", "返工次数", EXPORT_NUMBER},
    {"within_warranty", "保修期内", EXPORT_BOOL},
    {"warranty_until", "保修截止", 0},
    {"created_at", "报修时间", EXPORT_TIME},
    {"due.accept_by", "受理时限", EXPORT_TIME},
    {"due.arrive_by", "上门时限", EXPORT_TIME},
    {"due.resolve_by", "完成时限", EXPORT_TIME},
    {"overdue", "已超时", EXPORT_BOOL},
    {"breached", "曾超时", EXPORT_BOOL},
    {"content_check", "内容审核", 0},
};

static const export_col_t complaint_cols[] = {
    {"id", "编号", EXPORT_NUMBER},
    {"complaint_no", "投诉编号", 0},
    {"type_label", "类型", 0},
    {"state_label", "状态", 0},
    {"level_label", "级别", 0},
    {"channel_label", "渠道", 0},
    {"category.name", "类别", 0},
    {"project.name", "项目", 0},
    {"unit.building", "楼栋", 0},
    {"unit.name", "房号", 0},
    {"content", "内容", 0},
    {"handler.name", "处理人", 0},
    {"rejection_count", "驳回次数", EXPORT_NUMBER},
    {"incident_id", "群诉事件", EXPORT_NUMBER},
    {"created_at", "提交时间", EXPORT_TIME},
    {"first_response_at", "首次响应", EXPORT_TIME},
    {"resolved_at", "方案时间", EXPORT_TIME},
    {"closed_at", "关闭时间", EXPORT_TIME},
    {"overdue", "已超时", EXPORT_BOOL},
    {"breached", "曾超时", EXPORT_BOOL},
};

static const export_col_t followup_cols[] = {
    {"id", "编号", EXPORT_NUMBER},
    {"ticket_no", "工单号", 0},
    {"project_id", "项目编号", EXPORT_NUMBER},
    {"score", "评分", EXPORT_NUMBER},
    {"comment", "评价", 0},
    {"status", "状态", 0},
    {"note", "回访记录", 0},
    {"created_at", "创建时间", EXPORT_TIME},
    {"done_at", "完成时间", EXPORT_TIME},
};

static const export_col_t lead_cols[] = {
    {"id", "编号", EXPORT_NUMBER},
    {"project.name", "项目", 0},
    {"name", "姓名", EXPORT_NAME},
    {"phone_masked", "电话", EXPORT_PHONE},
    {"phone_verified", "电话已验证", EXPORT_BOOL},
    {"stage", "阶段", 0},
    {"channel", "渠道", 0},
    {"agent.name", "置业顾问", 0},
    {"submissions", "提交次数", EXPORT_NUMBER},
    {"created_at", "创建时间", EXPORT_TIME},
    {"first_contacted_at", "首次联系", EXPORT_TIME},
    {"contact_overdue", "联系超时", EXPORT_BOOL},
    {"referral_id", "推荐编号", EXPORT_NUMBER},
};

static const export_col_t reward_cols[] = {
    {"id", "编号", EXPORT_NUMBER},
    {"project.name", "项目", 0},
    {"referrer.name", "推荐人", EXPORT_NAME},
    {"referrer.phone_masked", "推荐人电话", EXPORT_PHONE},
    {"lead_id", "线索编号", EXPORT_NUMBER},
    {"kind", "类型", 0},
    {"amount", "数额", EXPORT_NUMBER},
    {"amount_display", "奖励", 0},
    {"status", "状态", 0},
    {"created_at", "创建时间", EXPORT_TIME},
    {"approved_at", "审批时间", EXPORT_TIME},
    {"approved_by_name", "审批人", 0},
    {"paid_at", "发放时间", EXPORT_TIME},
    {"paid_by_name", "发放人", 0},
};

static const export_col_t referral_cols[] = {
    {"id", "编号", EXPORT_NUMBER},
    {"project.name", "项目", 0},
    {"lead_id", "线索编号", EXPORT_NUMBER},
    {"referee_name", "被推荐人", EXPORT_NAME},
    {"referee_phone", "被推荐人电话", EXPORT_PHONE},
    {"referrer.name", "推荐人", EXPORT_NAME},
    {"referrer.phone_masked", "推荐人电话", EXPORT_PHONE},
    {"agent.name", "置业顾问", 0},
    {"stage", "阶段", 0},
    {"channel", "渠道", 0},
    {"protection_expires_at", "保护期截止", EXPORT_TIME},
    {"locked_at", "锁定时间", EXPORT_TIME},
    {"reassigned_at", "改判时间", EXPORT_TIME},
    {"lead_signed", "已签约", EXPORT_BOOL},
    {"reward.status", "奖励状态", 0},
    {"reward.amount_display", "奖励", 0},
};

static const export_col_t outbox_cols[] = {
    {"id", "编号", EXPORT_NUMBER},
    {"kind", "类型", 0},
    {"user_id", "用户编号", EXPORT_NUMBER},
    {"project_id", "项目编号", EXPORT_NUMBER},
    {"ref_type", "关联对象", 0},
    {"ref_id", "关联编号", EXPORT_NUMBER},
    {"status", "状态", 0},
    {"attempts", "尝试次数", EXPORT_NUMBER},
    {"last_errcode", "错误码", EXPORT_NUMBER},
    {"last_error", "错误", 0},
    {"created_at", "创建时间", EXPORT_TIME},
    {"sent_at", "发送时间", EXPORT_TIME},
};

static const export_col_t audit_cols[] = {
    {"id", "编号", EXPORT_NUMBER},
    {"created_at", "时间", EXPORT_TIME},
    {"action", "操作", 0},
    {"object.type", "对象类型", 0},
    {"object.id", "对象编号", EXPORT_NUMBER},
    {"project_id", "项目编号", EXPORT_NUMBER},
    {"actor.user_id", "操作人编号", EXPORT_NUMBER},
    {"actor.display_name", "操作人", 0},
    {"detail", "详情", 0},
};

static const export_col_t project_cols[] = {
    {"id", "编号", EXPORT_NUMBER},
    {"code", "代码", 0},
    {"name", "名称", 0},
    {"city", "城市", 0},
    {"address", "地址", 0},
    {"open_for_leads", "开放留资", EXPORT_BOOL},
    {"default_handover_date", "默认交付日期", 0},
    {"created_at", "创建时间", EXPORT_TIME},
};

static const export_col_t building_cols[] = {
    {"id", "编号", EXPORT_NUMBER},
    {"project_id", "项目编号", EXPORT_NUMBER},
    {"name", "楼栋", 0},
    {"handover_date", "交付日期", 0},
    {"unit_count", "房屋数", EXPORT_NUMBER},
};

static const export_col_t unit_cols[] = {
    {"id", "编号", EXPORT_NUMBER},
    {"project_id", "项目编号", EXPORT_NUMBER},
    {"building_id", "楼栋编号", EXPORT_NUMBER},
    {"name", "房号", 0},
    {"handover_date", "交付日期", 0},
    {"owner_count", "业主数", EXPORT_NUMBER},
};

static const export_col_t staff_cols[] = {
    {"user_id", "用户编号", EXPORT_NUMBER},
    {"display_name", "姓名", 0},
    {"title", "职务", 0},
    {"phone_masked", "电话", EXPORT_PHONE, "phone"},
    {"disabled", "已停用", EXPORT_BOOL},
    {"roles", "角色", 0},
};

int export_stat_scope_or_fail(gw_call_t *c, db_conn_t *db)
{
    stats_scope_t scope;
    return stats_scope_or_fail(c, db, &scope);
}

/* A statistic's header and rows for the caller: the scope read and checked
 * from c's query string by stats_request.c, as GET /admin/stats reads it
 * (so the CSV holds the API's numbers); a column is numeric when the
 * statistic's SELECT makes it a number. */
static int stats_export_write(gw_call_t *c, db_conn_t *db, const export_kind_t *k, csv_t *w, long long *rows)
{
    const stats_def_t *def = k->stat_def;
    stats_scope_t scope;
    *rows = 0;
    if (stats_scope_or_fail(c, db, &scope) != 0)
        return -1;
    db_rows_t *r = def->run(db, &scope);
    if (!r) {
        call_fail_db(c);
        return -1;
    }
    const char *names[STATS_COLUMNS_MAX], *headers[STATS_COLUMNS_MAX];
    int numeric[STATS_COLUMNS_MAX];
    for (int j = 0; j < def->ncolumns; j++) {
        int col = db_col(r, def->columns[j].name);
        names[j] = def->columns[j].name;
        headers[j] = def->columns[j].header;
        numeric[j] = col >= 0 && (r->kinds[col] == DB_COL_INT || r->kinds[col] == DB_COL_NUMBER);
    }
    int rc = export_write_db_rows(w, r, names, headers, numeric, def->ncolumns) != 0 ? -2 : 0;
    *rows = r->nrows;
    db_rows_free(r);
    return rc;
}

/* The lists; the statistics follow them in the table, one kind per entry
 * of stats_defs (built once, below), so no second list of them exists. */
static const export_kind_t lists[] = {
    EXPORT_LIST("repairs", "报修工单", STAFF, repair_staff_list, repair_cols),
    EXPORT_LIST("repair_followups", "回访", STAFF, repair_followup_list, followup_cols),
    EXPORT_LIST("leads", "线索", STAFF, lead_admin_list, lead_cols),
    EXPORT_LIST("referrals", "推荐", STAFF, referral_admin_list, referral_cols),
    EXPORT_LIST("rewards", "推荐奖励", STAFF, reward_admin_list, reward_cols),
    EXPORT_LIST("notifications", "通知发件箱", STAFF, outbox_admin_list, outbox_cols),
    EXPORT_LIST("audit", "操作日志", STAFF, audit_admin_list, audit_cols),
    EXPORT_LIST("staff", "员工", STAFF, staff_admin_list, staff_cols),
    EXPORT_LIST("projects", "项目", STAFF, project_admin_list, project_cols),
    EXPORT_LIST("buildings", "楼栋", STAFF, building_admin_list, building_cols),
    EXPORT_LIST("units", "房屋", STAFF, unit_admin_list, unit_cols),
    EXPORT_LIST("complaints", "投诉建议", STAFF | ROLE_SERVICE, complaint_staff_list, complaint_cols),
};

/* Room for the statistics; more than this is a build-time mistake caught
 * by the unit test (every statistic has its kind). */
#define STAT_KINDS_MAX 32
#define STAT_NAME_MAX 64

static export_kind_t kinds[N(lists) + STAT_KINDS_MAX];
static char stat_names[STAT_KINDS_MAX][STAT_NAME_MAX];
static int nkinds;
static pthread_once_t kinds_once = PTHREAD_ONCE_INIT;

static void kinds_build(void)
{
    memcpy(kinds, lists, sizeof(lists));
    nkinds = N(lists);
    for (int i = 0; i < stats_ndefs && i < STAT_KINDS_MAX; i++) {
        snprintf(stat_names[i], STAT_NAME_MAX, "stats.%s", stats_defs[i].name);
        kinds[nkinds++] = (export_kind_t)EXPORT_STAT(stat_names[i], stats_defs[i].title, stats_export_write,
                                                     &stats_defs[i]);
    }
}

const export_kind_t *export_kind_find(const char *name)
{
    pthread_once(&kinds_once, kinds_build);
    for (int i = 0; name && i < nkinds; i++)
        if (!strcmp(kinds[i].name, name))
            return &kinds[i];
    return NULL;
}

const export_kind_t *export_kinds(int *count)
{
    pthread_once(&kinds_once, kinds_build);
    *count = nkinds;
    return kinds;
}

char *export_url_encode(char *o, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
            *p == '_' || *p == '.' || *p == '~') {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    return o;
}

char *export_params_query(const cJSON *params, char *field, char *why)
{
    field[0] = why[0] = '\0';
    if (!params || cJSON_IsNull(params))
        return strdup("");
    if (!cJSON_IsObject(params)) {
        snprintf(field, EXPORT_FIELD_MAX, "params");
        snprintf(why, EXPORT_WHY_MAX, "params must be an object of the list's filters");
        return NULL;
    }
    if (cJSON_GetArraySize(params) > EXPORT_PARAMS_MAX) {
        snprintf(field, EXPORT_FIELD_MAX, "params");
        snprintf(why, EXPORT_WHY_MAX, "params has more than %d filters", EXPORT_PARAMS_MAX);
        return NULL;
    }
    /* Each key (32) and value (256, three bytes per byte encoded), '=' '&'. */
    char *out = malloc((size_t)EXPORT_PARAMS_MAX * (32 + 256 * 3 + 2) + 1), *o = out;
    if (!out)
        return NULL;
    const cJSON *p;
    cJSON_ArrayForEach(p, params)
    {
        const char *key = p->string;
        size_t klen = key ? strlen(key) : 0;
        int key_ok = klen >= 1 && klen <= 32 && strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789_") == klen;
        snprintf(field, EXPORT_FIELD_MAX, "params%s%s", key_ok ? "." : "", key_ok ? key : "");
        if (!key_ok) {
            snprintf(why, EXPORT_WHY_MAX, "a filter's name must be 1 to 32 of a-z, 0-9 and _");
            goto Bad;
        }
        char value[32];
        const char *v = value;
        if (cJSON_IsString(p) && strlen(p->valuestring) <= 256)
            v = p->valuestring;
        else if (cJSON_IsBool(p))
            v = cJSON_IsTrue(p) ? "true" : "false";
        else if (cJSON_IsNumber(p) && p->valuedouble == (double)(long long)p->valuedouble &&
                 p->valuedouble > -9007199254740992.0 && p->valuedouble < 9007199254740992.0)
            snprintf(value, sizeof(value), "%lld", (long long)p->valuedouble);
        else {
            snprintf(why, EXPORT_WHY_MAX, "%s must be a string of at most 256 bytes, a whole number or a boolean",
                     field);
            goto Bad;
        }
        if (o != out)
            *o++ = '&';
        memcpy(o, key, klen);
        o += klen;
        *o++ = '=';
        o = export_url_encode(o, v);
    }
    *o = '\0';
    field[0] = '\0';
    return out;
Bad:
    free(out);
    return NULL;
}

int export_write_db_rows(csv_t *w, const db_rows_t *r, const char *const *names, const char *const *headers,
                         const int *numeric, int n)
{
    for (int j = 0; j < n; j++)
        if (csv_cell_str(w, headers[j], CSV_TEXT) != 0)
            return -1;
    if (csv_end_row(w) != 0)
        return -1;
    for (int i = 0; i < r->nrows; i++) {
        for (int j = 0; j < n; j++)
            if (csv_cell_str(w, db_get(r, i, names[j]), numeric && numeric[j] ? CSV_NUMERIC : CSV_TEXT) != 0)
                return -1;
        if (csv_end_row(w) != 0)
            return -1;
    }
    return 0;
}

int export_write_header(csv_t *w, const export_kind_t *k)
{
    for (int j = 0; j < k->ncols; j++)
        if (csv_cell_str(w, k->cols[j].header, CSV_TEXT) != 0)
            return -1;
    return csv_end_row(w);
}

/* item's field at a dotted path, or NULL. */
static const cJSON *field_at(const cJSON *item, const char *path)
{
    char part[64];
    const cJSON *o = item;
    while (o && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof(part))
            return NULL;
        memcpy(part, path, n);
        part[n] = '\0';
        o = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, part) : NULL;
        path += n + (path[n] == '.');
    }
    return o;
}

/* A value as the cell's text; *owned set when the caller must free it. */
static const char *cell_text(const cJSON *v, unsigned flags, char *buf, size_t bufsz, char **owned)
{
    *owned = NULL;
    if (!v || cJSON_IsNull(v))
        return "";
    if (flags & EXPORT_BOOL) {
        int on = cJSON_IsTrue(v) || (cJSON_IsNumber(v) && v->valuedouble != 0) ||
                 ((cJSON_IsRaw(v) || cJSON_IsString(v)) && v->valuestring && strcmp(v->valuestring, "0") != 0 &&
                  *v->valuestring);
        return on ? "是" : "否";
    }
    if (flags & EXPORT_TIME) {
        long long t = cJSON_IsNumber(v) ? (long long)v->valuedouble
                      : cJSON_IsRaw(v)  ? strtoll(v->valuestring, NULL, 10)
                                        : -1;
        if (t >= 0) {
            time_t beijing = (time_t)(t + 8 * 3600); /* Asia/Shanghai: UTC+8, no daylight time */
            struct tm tm;
            if (gmtime_r(&beijing, &tm) && strftime(buf, bufsz, "%Y-%m-%d %H:%M:%S", &tm))
                return buf;
        }
    }
    if (cJSON_IsString(v) || cJSON_IsRaw(v))
        return v->valuestring ? v->valuestring : "";
    if (cJSON_IsBool(v))
        return cJSON_IsTrue(v) ? "是" : "否";
    if (cJSON_IsNumber(v)) {
        snprintf(buf, bufsz, "%.15g", v->valuedouble);
        return buf;
    }
    *owned = cJSON_PrintUnformatted(v);
    return *owned ? *owned : "";
}

int export_write_row(csv_t *w, const export_kind_t *k, const cJSON *item, const db_rows_t *r, int i, int unmasked)
{
    for (int j = 0; j < k->ncols; j++) {
        const export_col_t *col = &k->cols[j];
        char buf[64], masked[256], *owned = NULL;
        const char *text;
        if ((col->flags & EXPORT_PHONE) && unmasked && r) {
            /* The list shows the phone masked; its SELECT read it whole
             * under the same alias. */
            text = db_get(r, i, col->raw ? col->raw : col->field);
            text = text ? text : "";
        } else {
            text = cell_text(field_at(item, col->field), col->flags, buf, sizeof(buf), &owned);
            if ((col->flags & EXPORT_NAME) && !unmasked && *text) {
                lead_mask_name(text, masked, sizeof(masked));
                text = masked;
            }
        }
        int rc = csv_cell_str(w, text, col->flags & EXPORT_NUMBER ? CSV_NUMERIC : CSV_TEXT);
        cJSON_free(owned);
        if (rc != 0)
            return -1;
    }
    return csv_end_row(w);
}
