#include "repair_view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../gateway/config.h"
#include "../gateway/json_util.h"
#include "../gateway/media_url.h"
#include "../gateway/roles.h"
#include "../gateway/users.h"

/* ---- who may see a ticket ---- */

static const char *SQL_LOAD =
    "SELECT t.id, t.user_id, t.project_id, t.engineer_id, t.category_id, t.state, t.rework_count,"
    " EXISTS(SELECT 1 FROM staff_roles r WHERE r.user_id = ? AND r.role = 'supervisor'"
    "        AND r.project_id = t.project_id),"
    " EXISTS(SELECT 1 FROM staff_roles r WHERE r.user_id = ? AND r.role = 'admin')"
    " FROM repair_tickets t WHERE t.id = ?";

int repair_load_for_caller(gw_call_t *c, long long id, repair_ticket_t *t)
{
    long long me = c->user.id;
    db_rows_t *r = db_query(c->db, SQL_LOAD, DB_ARGS(DB_INT(me), DB_INT(me), DB_INT(id)));
    if (!r) {
        call_fail_db(c);
        return -1;
    }
    memset(t, 0, sizeof(*t));
    if (r->nrows == 1) {
        t->id = db_cell_int(r, 0, 0);
        t->user_id = db_cell_int(r, 0, 1);
        t->project_id = db_cell_int(r, 0, 2);
        t->engineer_id = db_cell_int(r, 0, 3);
        t->category_id = db_cell_int(r, 0, 4);
        repair_state_parse(db_cell(r, 0, 5), &t->state);
        t->rework_count = (int)db_cell_int(r, 0, 6);
        if (t->user_id == me)
            t->rel |= REPAIR_REL_OWNER;
        if (t->engineer_id == me)
            t->rel |= REPAIR_REL_ENGINEER;
        if (db_cell_int(r, 0, 7))
            t->rel |= REPAIR_REL_SUPERVISOR;
        if (db_cell_int(r, 0, 8))
            t->rel |= REPAIR_REL_ADMIN;
    }
    db_rows_free(r);
    if (!t->rel) {
        call_fail(c, ERR_NOT_FOUND, NULL, "no such repair ticket");
        return 0;
    }
    return 1;
}

int repair_load_from_path(gw_call_t *c, repair_ticket_t *t)
{
    long long id;
    if (call_param_id(c, "id", &id) != 0)
        return 0;
    return repair_load_for_caller(c, id, t);
}

const char *repair_staff_role(const repair_ticket_t *t)
{
    return t->rel & REPAIR_REL_SUPERVISOR ? "supervisor" : "admin";
}

/* ---- JSON ---- */

static void add_time_or_null(cJSON *o, const char *name, const char *unix_s)
{
    if (unix_s)
        cJSON_AddNumberToObject(o, name, (double)strtoll(unix_s, NULL, 10));
    else
        cJSON_AddNullToObject(o, name);
}

static const char *display_name_or(const char *name, const char *fallback)
{
    return name && *name ? name : fallback;
}

cJSON *repair_summary_json(const db_rows_t *r, int row, int staff)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)db_cell_int(r, row, 0));
    json_add_string_or_null(o, "ticket_no", db_cell(r, row, 1));
    repair_state_t s = RS_SUBMITTED;
    repair_state_parse(db_cell(r, row, 2), &s);
    cJSON_AddStringToObject(o, "state", repair_state_name(s));
    cJSON_AddStringToObject(o, "state_label", repair_state_label(s));
    cJSON *cat = cJSON_AddObjectToObject(o, "category");
    cJSON_AddStringToObject(cat, "code", db_cell(r, row, 3));
    cJSON_AddStringToObject(cat, "name", db_cell(r, row, 4));
    cJSON *unit = cJSON_AddObjectToObject(o, "unit");
    cJSON_AddNumberToObject(unit, "id", (double)db_cell_int(r, row, 5));
    cJSON_AddNumberToObject(unit, "project_id", (double)db_cell_int(r, row, 6));
    cJSON_AddStringToObject(unit, "project", db_cell(r, row, 7));
    cJSON_AddStringToObject(unit, "building", db_cell(r, row, 8));
    cJSON_AddStringToObject(unit, "name", db_cell(r, row, 9));
    cJSON_AddStringToObject(o, "description", db_cell(r, row, 21));
    if (db_cell(r, row, 10)) {
        cJSON *e = cJSON_AddObjectToObject(o, "engineer");
        cJSON_AddNumberToObject(e, "id", (double)db_cell_int(r, row, 10));
        cJSON_AddStringToObject(e, "name", display_name_or(db_cell(r, row, 11), "工程师"));
    } else {
        cJSON_AddNullToObject(o, "engineer");
    }
    cJSON_AddNumberToObject(o, "rework_count", (double)db_cell_int(r, row, 12));
    if (db_cell(r, row, 13))
        cJSON_AddBoolToObject(o, "within_warranty", db_cell_int(r, row, 13) != 0);
    else
        cJSON_AddNullToObject(o, "within_warranty");
    json_add_string_or_null(o, "warranty_until", db_cell(r, row, 14));
    add_time_or_null(o, "created_at", db_cell(r, row, 15));
    cJSON *due = cJSON_AddObjectToObject(o, "due");
    add_time_or_null(due, "accept_by", db_cell(r, row, 16));
    add_time_or_null(due, "arrive_by", db_cell(r, row, 17));
    add_time_or_null(due, "resolve_by", db_cell(r, row, 18));
    cJSON_AddBoolToObject(o, "overdue", db_cell_int(r, row, 19) != 0);
    if (staff) {
        cJSON_AddStringToObject(o, "content_check", db_cell(r, row, 20));
        cJSON_AddBoolToObject(o, "breached", db_cell_int(r, row, 22) != 0);
        cJSON_AddNumberToObject(o, "owner_user_id", (double)db_cell_int(r, row, 23));
    }
    return o;
}

/* Photos of the ticket's timeline rows, keyed by timeline id. Hidden photos
 * (reported risky) are shown to staff only, marked. */
static const char *SQL_PHOTOS =
    "SELECT p.timeline_id, p.upload_id, up.hidden FROM repair_timeline_photos p"
    " JOIN repair_timeline tl ON tl.id = p.timeline_id JOIN uploads up ON up.id = p.upload_id"
    " WHERE tl.ticket_id = ? ORDER BY p.timeline_id, p.position";

static cJSON *photo_json(long long upload_id, int hidden)
{
    char full[256], thumb[256];
    long long ttl = gw_cfg->media_url_ttl_s;
    if (media_url_sign(upload_id, "full", ttl, full, sizeof(full)) != 0 ||
        media_url_sign(upload_id, "thumb", ttl, thumb, sizeof(thumb)) != 0)
        return NULL;
    cJSON *p = cJSON_CreateObject();
    cJSON_AddNumberToObject(p, "id", (double)upload_id);
    cJSON_AddStringToObject(p, "url", full);
    cJSON_AddStringToObject(p, "thumb_url", thumb);
    if (hidden)
        cJSON_AddBoolToObject(p, "hidden", 1);
    return p;
}

static cJSON *photos_of(const db_rows_t *photos, long long timeline_id, int staff)
{
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < photos->nrows; i++) {
        if (db_cell_int(photos, i, 0) != timeline_id)
            continue;
        int hidden = db_cell_int(photos, i, 2) != 0;
        if (hidden && !staff)
            continue;
        cJSON *p = photo_json(db_cell_int(photos, i, 1), hidden);
        if (p)
            cJSON_AddItemToArray(arr, p);
    }
    return arr;
}

static const char *SQL_TIMELINE =
    "SELECT tl.id, tl.action, tl.from_state, tl.to_state, tl.actor_user_id, tl.actor_role, a.display_name,"
    " tl.note, FLOOR(UNIX_TIMESTAMP(tl.created_at))"
    " FROM repair_timeline tl LEFT JOIN users a ON a.id = tl.actor_user_id WHERE tl.ticket_id = ? ORDER BY tl.id";

static const char *role_label(const char *role)
{
    static const struct {
        const char *role, *label;
    } labels[] = {{"owner", "业主"}, {"engineer", "工程师"}, {"supervisor", "主管"}, {"admin", "管理员"},
                  {"system", "系统"}};
    for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
        if (!strcmp(labels[i].role, role))
            return labels[i].label;
    return role;
}

/* Adds timeline[] and photos[] (the report's photos, on the first row). */
static int add_timeline(db_conn_t *db, cJSON *o, long long ticket_id, int staff)
{
    db_rows_t *tl = db_query(db, SQL_TIMELINE, DB_ARGS(DB_INT(ticket_id)));
    db_rows_t *ph = tl ? db_query(db, SQL_PHOTOS, DB_ARGS(DB_INT(ticket_id))) : NULL;
    if (!tl || !ph) {
        db_rows_free(tl);
        return -1;
    }
    cJSON *arr = cJSON_AddArrayToObject(o, "timeline");
    for (int i = 0; i < tl->nrows; i++) {
        cJSON *e = cJSON_CreateObject();
        long long row = db_cell_int(tl, i, 0);
        cJSON_AddStringToObject(e, "action", db_cell(tl, i, 1));
        json_add_string_or_null(e, "from_state", db_cell(tl, i, 2));
        repair_state_t s = RS_SUBMITTED;
        repair_state_parse(db_cell(tl, i, 3), &s);
        cJSON_AddStringToObject(e, "to_state", repair_state_name(s));
        cJSON_AddStringToObject(e, "state_label", repair_state_label(s));
        cJSON *actor = cJSON_AddObjectToObject(e, "actor");
        const char *role = db_cell(tl, i, 5);
        cJSON_AddStringToObject(actor, "role", role);
        cJSON_AddStringToObject(actor, "name",
                                !strcmp(role, "owner") ? "业主" : display_name_or(db_cell(tl, i, 6), role_label(role)));
        json_add_string_or_null(e, "note", db_cell(tl, i, 7));
        cJSON *photos = photos_of(ph, row, staff);
        if (i == 0)
            cJSON_AddItemToObject(o, "photos", cJSON_Duplicate(photos, 1));
        cJSON_AddItemToObject(e, "photos", photos);
        add_time_or_null(e, "at", db_cell(tl, i, 8));
        cJSON_AddItemToArray(arr, e);
    }
    if (tl->nrows == 0)
        cJSON_AddArrayToObject(o, "photos");
    db_rows_free(tl);
    db_rows_free(ph);
    return 0;
}

static const char *SQL_DETAIL_EXTRA =
    "SELECT contact_phone, preferred_time, FLOOR(UNIX_TIMESTAMP(accepted_at)), FLOOR(UNIX_TIMESTAMP(started_at)),"
    " FLOOR(UNIX_TIMESTAMP(resolved_at)), FLOOR(UNIX_TIMESTAMP(closed_at)), FLOOR(UNIX_TIMESTAMP(cancelled_at)),"
    " rating_score, rating_comment, FLOOR(UNIX_TIMESTAMP(rated_at))"
    " FROM repair_tickets WHERE id = ?";

static int add_times_and_rating(db_conn_t *db, cJSON *o, long long id)
{
    db_rows_t *r = db_query(db, SQL_DETAIL_EXTRA, DB_ARGS(DB_INT(id)));
    if (!r || r->nrows != 1) {
        db_rows_free(r);
        return -1;
    }
    json_add_string_or_null(o, "contact_phone", db_cell(r, 0, 0));
    json_add_string_or_null(o, "preferred_time", db_cell(r, 0, 1));
    static const char *const names[] = {"accepted_at", "started_at", "resolved_at", "closed_at", "cancelled_at"};
    for (int i = 0; i < 5; i++)
        add_time_or_null(o, names[i], db_cell(r, 0, 2 + i));
    if (db_cell(r, 0, 7)) {
        cJSON *rating = cJSON_AddObjectToObject(o, "rating");
        cJSON_AddNumberToObject(rating, "score", (double)db_cell_int(r, 0, 7));
        json_add_string_or_null(rating, "comment", db_cell(r, 0, 8));
        add_time_or_null(rating, "at", db_cell(r, 0, 9));
    } else {
        cJSON_AddNullToObject(o, "rating");
    }
    db_rows_free(r);
    return 0;
}

static const char *SQL_ESCALATIONS =
    "SELECT clock, round, kind, step, level, notified, FLOOR(UNIX_TIMESTAMP(due_at)), FLOOR(UNIX_TIMESTAMP(created_at))"
    " FROM repair_escalations WHERE ticket_id = ? ORDER BY id";
static const char *SQL_FOLLOWUP =
    "SELECT id, score, status, note, FLOOR(UNIX_TIMESTAMP(created_at)), FLOOR(UNIX_TIMESTAMP(done_at))"
    " FROM repair_followups WHERE ticket_id = ?";

/* Staff only: the reminder/escalation record and the follow-up task. */
static int add_staff_parts(db_conn_t *db, cJSON *o, long long id)
{
    db_rows_t *r = db_query(db, SQL_ESCALATIONS, DB_ARGS(DB_INT(id)));
    if (!r)
        return -1;
    cJSON *arr = cJSON_AddArrayToObject(o, "escalations");
    for (int i = 0; i < r->nrows; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "clock", db_cell(r, i, 0));
        cJSON_AddNumberToObject(e, "round", (double)db_cell_int(r, i, 1));
        cJSON_AddStringToObject(e, "kind", db_cell(r, i, 2));
        cJSON_AddNumberToObject(e, "step", (double)db_cell_int(r, i, 3));
        cJSON_AddStringToObject(e, "level", db_cell(r, i, 4));
        cJSON_AddNumberToObject(e, "notified", (double)db_cell_int(r, i, 5));
        add_time_or_null(e, "due_at", db_cell(r, i, 6));
        add_time_or_null(e, "at", db_cell(r, i, 7));
        cJSON_AddItemToArray(arr, e);
    }
    db_rows_free(r);
    r = db_query(db, SQL_FOLLOWUP, DB_ARGS(DB_INT(id)));
    if (!r)
        return -1;
    if (r->nrows == 1) {
        cJSON *f = cJSON_AddObjectToObject(o, "followup");
        cJSON_AddNumberToObject(f, "id", (double)db_cell_int(r, 0, 0));
        cJSON_AddNumberToObject(f, "score", (double)db_cell_int(r, 0, 1));
        cJSON_AddStringToObject(f, "status", db_cell(r, 0, 2));
        json_add_string_or_null(f, "note", db_cell(r, 0, 3));
        add_time_or_null(f, "created_at", db_cell(r, 0, 4));
        add_time_or_null(f, "done_at", db_cell(r, 0, 5));
    } else {
        cJSON_AddNullToObject(o, "followup");
    }
    db_rows_free(r);
    return 0;
}

cJSON *repair_detail_json(db_conn_t *db, const repair_ticket_t *t)
{
    int staff = (t->rel & REPAIR_REL_STAFF) != 0;
    db_rows_t *r = db_query(db, REPAIR_SUMMARY_SELECT " WHERE t.id = ?", DB_ARGS(DB_INT(t->id)));
    if (!r || r->nrows != 1) {
        db_rows_free(r);
        return NULL;
    }
    cJSON *o = repair_summary_json(r, 0, staff);
    db_rows_free(r);
    if (add_times_and_rating(db, o, t->id) != 0 || add_timeline(db, o, t->id, staff) != 0 ||
        (staff && add_staff_parts(db, o, t->id) != 0)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* ---- paging ---- */

static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The cursor is base64url("r:<id>"): opaque to clients, cheap to check. */
int repair_cursor_encode(long long id, char *out, size_t outsz)
{
    char plain[32];
    int n = snprintf(plain, sizeof(plain), "r:%lld", id);
    size_t o = 0;
    for (int i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)plain[i] << 16;
        if (i + 1 < n)
            v |= (unsigned char)plain[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)plain[i + 2];
        int chars = i + 2 < n ? 4 : i + 1 < n ? 3 : 2;
        for (int k = 0; k < chars; k++) {
            if (o + 1 >= outsz)
                return -1;
            out[o++] = B64URL[(v >> (18 - 6 * k)) & 63];
        }
    }
    out[o] = '\0';
    return 0;
}

int repair_cursor_decode(const char *cursor, long long *id)
{
    char plain[32];
    size_t n = strlen(cursor), o = 0;
    if (n == 0 || n > 40 || n % 4 == 1)
        return -1;
    unsigned v = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = memchr(B64URL, cursor[i], 64);
        if (!p)
            return -1;
        v = (v << 6) | (unsigned)(p - B64URL);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o + 1 >= sizeof(plain))
                return -1;
            plain[o++] = (char)((v >> bits) & 0xff);
        }
    }
    plain[o] = '\0';
    if (o < 3 || strncmp(plain, "r:", 2) != 0)
        return -1;
    char *end;
    long long v_id = strtoll(plain + 2, &end, 10);
    if (*end || v_id <= 0 || plain[2] < '1' || plain[2] > '9')
        return -1;
    *id = v_id;
    return 0;
}

int repair_page_params(gw_call_t *c, long long *before_id, int *limit)
{
    char buf[64];
    *before_id = 0;
    *limit = 20;
    if (call_query(c, "cursor", buf, sizeof(buf)) && *buf && repair_cursor_decode(buf, before_id) != 0) {
        call_fail(c, ERR_INVALID_FIELD, "cursor", "cursor is not one this API returned");
        return -1;
    }
    if (call_query(c, "limit", buf, sizeof(buf))) {
        char *end;
        long v = strtol(buf, &end, 10);
        if (!*buf || *end || v < 1 || v > 50) {
            call_fail(c, ERR_INVALID_FIELD, "limit", "limit must be an integer from 1 to 50");
            return -1;
        }
        *limit = (int)v;
    }
    return 0;
}

int repair_project_param(gw_call_t *c, long long *project_id)
{
    char buf[32];
    *project_id = 0;
    if (!call_query(c, "project", buf, sizeof(buf)) || !*buf)
        return 0;
    char *end;
    long long id = strtoll(buf, &end, 10);
    if (*end || id <= 0) {
        call_fail(c, ERR_INVALID_FIELD, "project", "project must be a project id");
        return -1;
    }
    if (!(c->user.roles & ROLE_ADMIN)) {
        int rc = users_has_project_role(c->db, c->user.id, "supervisor", id);
        if (rc < 0) {
            call_fail_db(c);
            return -1;
        }
        if (rc == 0) {
            call_fail(c, ERR_FORBIDDEN, "project", "you do not supervise project %lld", id);
            return -1;
        }
    }
    *project_id = id;
    return 0;
}

void repair_page_finish(gw_call_t *c, cJSON *items, int more, long long last_id)
{
    char cursor[64];
    if (more && repair_cursor_encode(last_id, cursor, sizeof(cursor)) == 0)
        call_ok_list(c, items, cursor);
    else
        call_ok_list(c, items, NULL);
}

void repair_list_respond(gw_call_t *c, db_rows_t *r, int limit, int staff)
{
    if (!r) {
        call_fail_db(c);
        return;
    }
    cJSON *items = cJSON_CreateArray();
    int n = r->nrows > limit ? limit : r->nrows;
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(items, repair_summary_json(r, i, staff));
    long long last = n ? db_cell_int(r, n - 1, 0) : 0;
    int more = r->nrows > limit;
    db_rows_free(r);
    repair_page_finish(c, items, more, last);
}
