#include "domain/repairs/repair_view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/config.h"
#include "gateway/json_util.h"
#include "gateway/media_url.h"
#include "gateway/roles.h"
#include "gateway/users.h"

/* ---- who may see a ticket ---- */

/* The caller's relations, read from the grants at the time of the request
 * (never from the auth cache's role bits, which are the union over every
 * project): supervisor of the ticket's project, admin, and holding the
 * engineer role in the ticket's project, without which the engineer the
 * ticket is assigned to has no relation to it. Takes (caller, caller,
 * caller). */
#define REPAIR_RELATION_COLUMNS                                                                                        \
    " EXISTS(SELECT 1 FROM staff_roles r WHERE r.user_id = ? AND r.role = 'supervisor'"                                \
    "        AND r.project_id = t.project_id),"                                                                        \
    " EXISTS(SELECT 1 FROM staff_roles r WHERE r.user_id = ? AND r.role = 'admin'),"                                   \
    " EXISTS(SELECT 1 FROM staff_roles r WHERE r.user_id = ? AND r.role = 'engineer'"                                  \
    "        AND r.project_id = t.project_id)"

static const char *SQL_LOAD = "SELECT t.id, t.user_id, t.project_id, t.engineer_id, t.category_id, t.state, "
                              "t.rework_count," REPAIR_RELATION_COLUMNS " FROM repair_tickets t WHERE t.id = ?";

/* Column numbers of a ticket's fields in a result row (SQL_LOAD, or the
 * detail's row), and the caller's relation to it. */
typedef struct {
    int id, user_id, project_id, engineer_id, category_id, state, rework_count, supervisor, admin, engineer_role;
} ticket_cols_t;

static void ticket_from_row(const db_rows_t *r, const ticket_cols_t *col, long long me, repair_ticket_t *t)
{
    memset(t, 0, sizeof(*t));
    t->id = db_cell_int(r, 0, col->id);
    t->user_id = db_cell_int(r, 0, col->user_id);
    t->project_id = db_cell_int(r, 0, col->project_id);
    t->engineer_id = db_cell_int(r, 0, col->engineer_id);
    t->category_id = db_cell_int(r, 0, col->category_id);
    repair_state_parse(db_cell(r, 0, col->state), &t->state);
    t->rework_count = (int)db_cell_int(r, 0, col->rework_count);
    if (t->user_id == me)
        t->rel |= REPAIR_REL_OWNER;
    if (t->engineer_id == me && db_cell_int(r, 0, col->engineer_role))
        t->rel |= REPAIR_REL_ENGINEER;
    if (db_cell_int(r, 0, col->supervisor))
        t->rel |= REPAIR_REL_SUPERVISOR;
    if (db_cell_int(r, 0, col->admin))
        t->rel |= REPAIR_REL_ADMIN;
}

int repair_load_for_caller(gw_call_t *c, long long id, repair_ticket_t *t)
{
    static const ticket_cols_t cols = {.id = 0,
                                       .user_id = 1,
                                       .project_id = 2,
                                       .engineer_id = 3,
                                       .category_id = 4,
                                       .state = 5,
                                       .rework_count = 6,
                                       .supervisor = 7,
                                       .admin = 8,
                                       .engineer_role = 9};
    long long me = c->user.id;
    db_rows_t *r = db_query(c->db, SQL_LOAD, DB_ARGS(DB_INT(me), DB_INT(me), DB_INT(me), DB_INT(id)));
    if (!r) {
        call_fail_db(c);
        return -1;
    }
    memset(t, 0, sizeof(*t));
    if (r->nrows == 1)
        ticket_from_row(r, &cols, me, t);
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

/* Integers (ids, unix times, counts) go in as raw JSON text, which prints
 * the same: cJSON prints a number with printf("%1.15g") and reads it back
 * with sscanf to check the round trip. A page of 20 tickets printed in
 * about 107 us that way, 16 us with raw integers. */
static void add_int(cJSON *o, const char *name, long long v)
{
    char text[24];
    snprintf(text, sizeof(text), "%lld", v);
    cJSON_AddRawToObject(o, name, text);
}

static void add_time_or_null(cJSON *o, const char *name, const char *unix_s)
{
    if (unix_s)
        add_int(o, name, strtoll(unix_s, NULL, 10));
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
    add_int(o, "id", db_cell_int(r, row, 0));
    json_add_string_or_null(o, "ticket_no", db_cell(r, row, 1));
    repair_state_t s = RS_SUBMITTED;
    repair_state_parse(db_cell(r, row, 2), &s);
    cJSON_AddStringToObject(o, "state", repair_state_name(s));
    cJSON_AddStringToObject(o, "state_label", repair_state_label(s));
    cJSON *cat = cJSON_AddObjectToObject(o, "category");
    cJSON_AddStringToObject(cat, "code", db_cell(r, row, 3));
    cJSON_AddStringToObject(cat, "name", db_cell(r, row, 4));
    cJSON *unit = cJSON_AddObjectToObject(o, "unit");
    add_int(unit, "id", db_cell_int(r, row, 5));
    add_int(unit, "project_id", db_cell_int(r, row, 6));
    cJSON_AddStringToObject(unit, "project", db_cell(r, row, 7));
    cJSON_AddStringToObject(unit, "building", db_cell(r, row, 8));
    cJSON_AddStringToObject(unit, "name", db_cell(r, row, 9));
    cJSON_AddStringToObject(o, "description", db_cell(r, row, 21));
    if (db_cell(r, row, 10)) {
        cJSON *e = cJSON_AddObjectToObject(o, "engineer");
        add_int(e, "id", db_cell_int(r, row, 10));
        cJSON_AddStringToObject(e, "name", display_name_or(db_cell(r, row, 11), "工程师"));
    } else {
        cJSON_AddNullToObject(o, "engineer");
    }
    add_int(o, "rework_count", db_cell_int(r, row, 12));
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
        add_int(o, "owner_user_id", db_cell_int(r, row, 23));
    }
    return o;
}

static cJSON *photo_json(long long upload_id, int hidden)
{
    char full[256], thumb[256];
    long long ttl = gw_cfg->media_url_ttl_s;
    if (media_url_sign(upload_id, "full", ttl, full, sizeof(full)) != 0 ||
        media_url_sign(upload_id, "thumb", ttl, thumb, sizeof(thumb)) != 0)
        return NULL;
    cJSON *p = cJSON_CreateObject();
    add_int(p, "id", upload_id);
    cJSON_AddStringToObject(p, "url", full);
    cJSON_AddStringToObject(p, "thumb_url", thumb);
    if (hidden)
        cJSON_AddBoolToObject(p, "hidden", 1);
    return p;
}

/* The timeline with the photos of each row: a timeline row comes once per
 * photo (once with NULL photo columns when it has none), in order. */
static const char *SQL_TIMELINE =
    "SELECT tl.id, tl.action, tl.from_state, tl.to_state, tl.actor_role, a.display_name, tl.note,"
    " FLOOR(UNIX_TIMESTAMP(tl.created_at)), up.id, up.hidden"
    " FROM repair_timeline tl LEFT JOIN users a ON a.id = tl.actor_user_id"
    " LEFT JOIN (repair_timeline_photos p JOIN uploads up ON up.id = p.upload_id) ON p.timeline_id = tl.id"
    " WHERE tl.ticket_id = ? ORDER BY tl.id, p.position";
enum { TL_ID, TL_ACTION, TL_FROM, TL_TO, TL_ROLE, TL_ACTOR_NAME, TL_NOTE, TL_AT, TL_PHOTO, TL_PHOTO_HIDDEN };

static const char *role_label(const char *role)
{
    static const struct {
        const char *role, *label;
    } labels[] = {
        {"owner", "业主"}, {"engineer", "工程师"}, {"supervisor", "主管"}, {"admin", "管理员"}, {"system", "系统"}};
    for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
        if (!strcmp(labels[i].role, role))
            return labels[i].label;
    return role;
}

/* The photos of the timeline row starting at *i; moves *i past that row.
 * Hidden photos (reported risky) are shown to staff only, marked. */
static cJSON *photos_of(const db_rows_t *tl, int *i, int staff)
{
    cJSON *arr = cJSON_CreateArray();
    long long row = db_cell_int(tl, *i, TL_ID);
    for (; *i < tl->nrows && db_cell_int(tl, *i, TL_ID) == row; (*i)++) {
        if (!db_cell(tl, *i, TL_PHOTO))
            continue;
        int hidden = db_cell_int(tl, *i, TL_PHOTO_HIDDEN) != 0;
        if (hidden && !staff)
            continue;
        cJSON *p = photo_json(db_cell_int(tl, *i, TL_PHOTO), hidden);
        if (p)
            cJSON_AddItemToArray(arr, p);
    }
    return arr;
}

/* Adds timeline[] and photos[] (the report's photos, on the first row). */
static int add_timeline(db_conn_t *db, cJSON *o, long long ticket_id, int staff)
{
    db_rows_t *tl = db_query(db, SQL_TIMELINE, DB_ARGS(DB_INT(ticket_id)));
    if (!tl)
        return -1;
    cJSON *arr = cJSON_AddArrayToObject(o, "timeline");
    for (int i = 0; i < tl->nrows;) {
        int first = i;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "action", db_cell(tl, first, TL_ACTION));
        json_add_string_or_null(e, "from_state", db_cell(tl, first, TL_FROM));
        repair_state_t s = RS_SUBMITTED;
        repair_state_parse(db_cell(tl, first, TL_TO), &s);
        cJSON_AddStringToObject(e, "to_state", repair_state_name(s));
        cJSON_AddStringToObject(e, "state_label", repair_state_label(s));
        cJSON *actor = cJSON_AddObjectToObject(e, "actor");
        const char *role = db_cell(tl, first, TL_ROLE);
        cJSON_AddStringToObject(actor, "role", role);
        cJSON_AddStringToObject(
            actor, "name",
            !strcmp(role, "owner") ? "业主" : display_name_or(db_cell(tl, first, TL_ACTOR_NAME), role_label(role)));
        json_add_string_or_null(e, "note", db_cell(tl, first, TL_NOTE));
        cJSON *photos = photos_of(tl, &i, staff);
        if (first == 0)
            cJSON_AddItemToObject(o, "photos", cJSON_Duplicate(photos, 1));
        cJSON_AddItemToObject(e, "photos", photos);
        add_time_or_null(e, "at", db_cell(tl, first, TL_AT));
        cJSON_AddItemToArray(arr, e);
    }
    if (tl->nrows == 0)
        cJSON_AddArrayToObject(o, "photos");
    db_rows_free(tl);
    return 0;
}

/* The detail's ticket row: the list item's columns (repair_summary_json),
 * then the detail's own, then the caller's relation to the ticket; takes
 * (caller, caller, caller, ticket id). */
static const char *SQL_DETAIL =
    "SELECT " REPAIR_SUMMARY_COLUMNS ","
    " t.contact_phone, t.preferred_time, FLOOR(UNIX_TIMESTAMP(t.accepted_at)), FLOOR(UNIX_TIMESTAMP(t.started_at)),"
    " FLOOR(UNIX_TIMESTAMP(t.resolved_at)), FLOOR(UNIX_TIMESTAMP(t.closed_at)), FLOOR(UNIX_TIMESTAMP(t.cancelled_at)),"
    " t.rating_score, t.rating_comment, FLOOR(UNIX_TIMESTAMP(t.rated_at)), t.category_id," REPAIR_RELATION_COLUMNS
        REPAIR_SUMMARY_FROM " WHERE t.id = ?";
/* The detail's own columns follow the 24 of REPAIR_SUMMARY_COLUMNS. */
enum { D_CONTACT = 24, D_PREFERRED_TIME, D_ACCEPTED_AT, D_RATING_SCORE = 31, D_RATING_COMMENT, D_RATED_AT };
static const ticket_cols_t DETAIL_TICKET_COLS = {.id = 0,
                                                 .user_id = 23,
                                                 .project_id = 6,
                                                 .engineer_id = 10,
                                                 .category_id = 34,
                                                 .state = 2,
                                                 .rework_count = 12,
                                                 .supervisor = 35,
                                                 .admin = 36,
                                                 .engineer_role = 37};

static void add_times_and_rating(cJSON *o, const db_rows_t *r)
{
    json_add_string_or_null(o, "contact_phone", db_cell(r, 0, D_CONTACT));
    json_add_string_or_null(o, "preferred_time", db_cell(r, 0, D_PREFERRED_TIME));
    static const char *const names[] = {"accepted_at", "started_at", "resolved_at", "closed_at", "cancelled_at"};
    for (int i = 0; i < 5; i++)
        add_time_or_null(o, names[i], db_cell(r, 0, D_ACCEPTED_AT + i));
    if (db_cell(r, 0, D_RATING_SCORE)) {
        cJSON *rating = cJSON_AddObjectToObject(o, "rating");
        add_int(rating, "score", db_cell_int(r, 0, D_RATING_SCORE));
        json_add_string_or_null(rating, "comment", db_cell(r, 0, D_RATING_COMMENT));
        add_time_or_null(rating, "at", db_cell(r, 0, D_RATED_AT));
    } else {
        cJSON_AddNullToObject(o, "rating");
    }
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
        add_int(e, "round", db_cell_int(r, i, 1));
        cJSON_AddStringToObject(e, "kind", db_cell(r, i, 2));
        add_int(e, "step", db_cell_int(r, i, 3));
        cJSON_AddStringToObject(e, "level", db_cell(r, i, 4));
        add_int(e, "notified", db_cell_int(r, i, 5));
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
        add_int(f, "id", db_cell_int(r, 0, 0));
        add_int(f, "score", db_cell_int(r, 0, 1));
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

/* The detail from its ticket row (SQL_DETAIL) and the queries that follow. */
static cJSON *detail_from_row(db_conn_t *db, const db_rows_t *r, long long id, int staff)
{
    cJSON *o = repair_summary_json(r, 0, staff);
    add_times_and_rating(o, r);
    if (add_timeline(db, o, id, staff) != 0 || (staff && add_staff_parts(db, o, id) != 0)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* When the detail's `overdue` may turn next (unix ms), 0 never: the
 * earliest due column still ahead. The columns are whole seconds, rounded
 * down: a due time in the current second counts as due at its end. */
static long long next_due_ms(const db_rows_t *r)
{
    static const int due_cols[] = {16, 17, 18}; /* accept_by, arrive_by, resolve_by */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long now_ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, next = 0;
    for (size_t i = 0; i < sizeof(due_cols) / sizeof(due_cols[0]); i++) {
        const char *v = db_cell(r, 0, due_cols[i]);
        long long due = v ? strtoll(v, NULL, 10) * 1000 : 0;
        if (due > 0 && due <= now_ms && due + 1000 > now_ms)
            due += 1000;
        if (due > now_ms && (next == 0 || due < next))
            next = due;
    }
    return next;
}

int repair_detail_for_caller(gw_call_t *c, long long id, cJSON **out, repair_detail_meta_t *meta)
{
    long long me = c->user.id;
    *out = NULL;
    db_rows_t *r = db_query(c->db, SQL_DETAIL, DB_ARGS(DB_INT(me), DB_INT(me), DB_INT(me), DB_INT(id)));
    if (!r)
        return -1;
    repair_ticket_t t = {0};
    if (r->nrows == 1)
        ticket_from_row(r, &DETAIL_TICKET_COLS, me, &t);
    int rc = 0;
    if (t.rel) {
        int staff = (t.rel & REPAIR_REL_STAFF) != 0;
        *out = detail_from_row(c->db, r, id, staff);
        rc = *out ? 1 : -1;
        if (meta)
            *meta = (repair_detail_meta_t){.staff = staff, .owner_user_id = t.user_id, .next_due_ms = next_due_ms(r)};
    }
    db_rows_free(r);
    return rc;
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
