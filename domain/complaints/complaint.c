/* complaint.c: see complaint.h. */
#include "domain/complaints/complaint.h"

#include <string.h>
#include <time.h>

#include "domain/repairs/repair_view.h"
#include "gateway/db_json.h"
#include "gateway/events.h"
#include "gateway/roles.h"
#include "gateway/users.h"
#include "gateway/utf8.h"

const char *const complaint_type_names[] = {"complaint", "suggestion", "praise", "enquiry", NULL};
const char *const complaint_level_names[] = {"normal", "hot", "important", "major", NULL};
const char *const complaint_state_names[] = {"submitted", "in_progress", "resolved", "closed", NULL};
const char *const complaint_channel_names[] = {"miniprogram", "hotline", "front_desk", "wechat_group", NULL};

static const char *const type_labels[] = {"投诉", "建议", "表扬", "咨询"};
static const char *const level_labels[] = {"一般", "热点", "重要", "重大"};
static const char *const state_labels[] = {"待受理", "处理中", "待确认", "已关闭"};
static const char *const channel_labels[] = {"小程序", "客服热线", "前台", "微信群"};

static const char *label_of(const char *const names[], const char *const labels[], const char *name)
{
    for (int i = 0; name && names[i]; i++)
        if (!strcmp(names[i], name))
            return labels[i];
    return "";
}

const char *complaint_type_label(const char *type)
{
    return label_of(complaint_type_names, type_labels, type);
}

const char *complaint_level_label(const char *level)
{
    return label_of(complaint_level_names, level_labels, level);
}

const char *complaint_state_label(const char *state)
{
    return label_of(complaint_state_names, state_labels, state);
}

const char *complaint_channel_label(const char *channel)
{
    return label_of(complaint_channel_names, channel_labels, channel);
}

/* ---- loading, with the caller's relation ---- */

/* The complaint and the caller's grants in its project, in one statement;
 * takes (caller, caller, id). */
#define SQL_LOAD                                                                                                       \
    "SELECT k.id AS id, k.project_id AS project_id, k.user_id AS user_id, k.unit_id AS unit_id,"                       \
    " k.building_id AS building_id, k.category_id AS category_id, k.handler_id AS handler_id,"                         \
    " k.incident_id AS incident_id, k.repair_ticket_id AS repair_ticket_id, k.filed_by AS filed_by,"                   \
    " k.type AS type, k.level AS level, k.state AS state, k.rejection_count AS rejection_count,"                       \
    " (k.filed_by IS NULL OR k.owner_confirmed_at IS NOT NULL) AS confirmed,"                                          \
    " EXISTS(SELECT 1 FROM staff_roles r WHERE r.user_id = ? AND r.role = 'supervisor'"                              \
    " AND r.project_id = k.project_id) AS rel_supervisor,"                                                             \
    " EXISTS(SELECT 1 FROM staff_roles r WHERE r.user_id = ? AND r.role = 'service'"                                 \
    " AND r.project_id = k.project_id) AS rel_service"                                                                 \
    " FROM complaints k WHERE k.id = ?"

static void copy_name(char *dst, size_t size, const char *src)
{
    utf8_copy(dst, size, src ? src : "");
}

int complaint_load_or_fail(gw_call_t *c, db_conn_t *db, long long id, int lock, complaint_t *out)
{
    long long me = c->user.id;
    memset(out, 0, sizeof(*out));
    db_rows_t *r = db_query(db, lock ? SQL_LOAD " FOR UPDATE" : SQL_LOAD, DB_ARGS(DB_INT(me), DB_INT(me), DB_INT(id)));
    if (!r) {
        call_fail_db(c);
        return -1;
    }
    if (r->nrows == 1) {
        out->id = id;
        out->project_id = db_get_int(r, 0, "project_id");
        out->user_id = db_get_int(r, 0, "user_id");
        out->unit_id = db_get_int(r, 0, "unit_id");
        out->building_id = db_get_int(r, 0, "building_id");
        out->category_id = db_get_int(r, 0, "category_id");
        out->handler_id = db_get_int(r, 0, "handler_id");
        out->incident_id = db_get_int(r, 0, "incident_id");
        out->repair_ticket_id = db_get_int(r, 0, "repair_ticket_id");
        out->filed_by = db_get_int(r, 0, "filed_by");
        out->rejection_count = (int)db_get_int(r, 0, "rejection_count");
        out->confirmed = db_get_int(r, 0, "confirmed") != 0;
        copy_name(out->type, sizeof(out->type), db_get(r, 0, "type"));
        copy_name(out->level, sizeof(out->level), db_get(r, 0, "level"));
        copy_name(out->state, sizeof(out->state), db_get(r, 0, "state"));
        if (out->user_id == me)
            out->rel |= COMPLAINT_REL_OWNER;
        if (out->handler_id == me)
            out->rel |= COMPLAINT_REL_HANDLER;
        if (db_get_int(r, 0, "rel_supervisor"))
            out->rel |= COMPLAINT_REL_SUPERVISOR;
        if (db_get_int(r, 0, "rel_service"))
            out->rel |= COMPLAINT_REL_SERVICE;
        if (c->user.roles & ROLE_ADMIN)
            out->rel |= COMPLAINT_REL_ADMIN;
    }
    db_rows_free(r);
    if (!out->rel) {
        call_fail(c, ERR_NOT_FOUND, NULL, "no such complaint");
        return -1;
    }
    return 0;
}

const char *complaint_actor_role(const complaint_t *k)
{
    if (k->rel & COMPLAINT_REL_ADMIN)
        return "admin";
    if (k->rel & COMPLAINT_REL_SUPERVISOR)
        return "supervisor";
    if (k->rel & COMPLAINT_REL_SERVICE)
        return "service";
    if (k->rel & COMPLAINT_REL_HANDLER)
        return "handler";
    return "owner";
}

/* ---- the timeline ---- */

long long complaint_timeline_add(db_conn_t *db, long long complaint_id, const char *action, const char *from_state,
                                 const char *to_state, const char *visibility, long long actor_user_id,
                                 const char *actor_role, const char *note, const long long *photo_ids, int nphotos,
                                 long long photo_owner_id, long long *bad_photo)
{
    if (db_exec(db,
                "INSERT INTO complaint_timeline (complaint_id, action, from_state, to_state, visibility,"
                " actor_user_id, actor_role, note)"
                " VALUES (?, ?, ?, COALESCE(?, (SELECT state FROM complaints WHERE id = ?)), ?, ?, ?, ?)",
                DB_ARGS(DB_INT(complaint_id), DB_STR(action), DB_STR(from_state), DB_STR(to_state), DB_INT(complaint_id),
                        DB_STR(visibility),
                        actor_user_id ? DB_INT(actor_user_id) : DB_NULL, DB_STR(actor_role), DB_STR(note))) != 0)
        return -1;
    long long row = (long long)db_insert_id(db);
    for (int i = 0; i < nphotos; i++) {
        /* The condition is in the UPDATE: an upload attached to a repair
         * ticket or another complaint, or taken meanwhile, is refused. */
        if (db_exec(db,
                    "UPDATE uploads SET complaint_id = ? WHERE id = ? AND user_id = ? AND ticket_id IS NULL"
                    " AND complaint_id IS NULL AND hidden = 0",
                    DB_ARGS(DB_INT(complaint_id), DB_INT(photo_ids[i]), DB_INT(photo_owner_id))) != 0)
            return -1;
        if (db_affected_rows(db) != 1) {
            if (bad_photo)
                *bad_photo = photo_ids[i];
            return 0;
        }
        if (db_exec(db, "INSERT INTO complaint_timeline_photos (upload_id, timeline_id, position) VALUES (?, ?, ?)",
                    DB_ARGS(DB_INT(photo_ids[i]), DB_INT(row), DB_INT(i))) != 0)
            return -1;
    }
    return row;
}

/* ---- JSON ---- */

static void add_label(cJSON *o, const char *field, const char *label_field, const char *(*label)(const char *))
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, field);
    cJSON_AddStringToObject(o, label_field, label(cJSON_IsString(v) ? v->valuestring : NULL));
}

static cJSON *decorate(cJSON *o)
{
    if (!o)
        return NULL;
    add_label(o, "type", "type_label", complaint_type_label);
    add_label(o, "state", "state_label", complaint_state_label);
    add_label(o, "level", "level_label", complaint_level_label);
    add_label(o, "channel", "channel_label", complaint_channel_label);
    return o;
}

cJSON *complaint_item_json(const db_rows_t *r, int row, void *ud)
{
    (void)ud;
    return decorate(db_row_json(r, row));
}

static const char *SQL_DETAIL = "SELECT " COMPLAINT_ITEM_COLUMNS ", " COMPLAINT_STAFF_COLUMNS ","
                                " k.resolution AS resolution, k.close_reason AS close_reason, k.rating AS rating"
                                " " COMPLAINT_ITEM_FROM " WHERE k.id = ?";

/* The timeline (internal rows for staff only) and the rows' photos. */
static const char *SQL_TIMELINE =
    "SELECT tl.id AS id, tl.action AS action, tl.from_state AS from_state, tl.to_state AS to_state,"
    " tl.visibility AS visibility, tl.actor_role AS \"actor.role\", a.display_name AS \"actor.name\","
    " tl.note AS note, FLOOR(UNIX_TIMESTAMP(tl.created_at)) AS at"
    " FROM complaint_timeline tl LEFT JOIN users a ON a.id = tl.actor_user_id"
    " WHERE tl.complaint_id = ? AND (? = 1 OR tl.visibility = 'public') ORDER BY tl.id";
static const char *SQL_TIMELINE_PHOTOS =
    "SELECT ph.timeline_id AS timeline_id, up.id AS id, up.hidden AS hidden"
    " FROM complaint_timeline tl JOIN complaint_timeline_photos ph ON ph.timeline_id = tl.id"
    " JOIN uploads up ON up.id = ph.upload_id WHERE tl.complaint_id = ? ORDER BY ph.timeline_id, ph.position";

static const char *staff_only[] = {"owner_user_id", "filed_by", "breached", NULL};

/* Adds timeline[] (each with photos[]) and photos[] (the filing's). 0 or -1. */
static int add_timeline(db_conn_t *db, cJSON *o, long long id, int staff)
{
    db_rows_t *tl = db_query(db, SQL_TIMELINE, DB_ARGS(DB_INT(id), DB_INT(staff)));
    db_rows_t *ph = tl ? db_query(db, SQL_TIMELINE_PHOTOS, DB_ARGS(DB_INT(id))) : NULL;
    int rc = -1;
    if (!tl || !ph)
        goto Exit;
    cJSON *arr = cJSON_AddArrayToObject(o, "timeline");
    cJSON *first_photos = NULL;
    for (int i = 0; arr && i < tl->nrows; i++) {
        cJSON *e = db_row_json(tl, i);
        if (!e)
            goto Exit;
        cJSON_AddItemToArray(arr, e);
        add_label(e, "to_state", "state_label", complaint_state_label);
        /* The owner shows as 业主, never by their name. */
        const char *role = db_get(tl, i, "actor.role");
        cJSON *actor = cJSON_GetObjectItemCaseSensitive(e, "actor");
        if (role && !strcmp(role, "owner") && cJSON_IsObject(actor))
            cJSON_ReplaceItemInObjectCaseSensitive(actor, "name", cJSON_CreateString("业主"));
        cJSON *photos = cJSON_AddArrayToObject(e, "photos");
        if (!photos)
            goto Exit;
        long long row = db_get_int(tl, i, "id");
        for (int k = 0; k < ph->nrows; k++) {
            int hidden = db_get_int(ph, k, "hidden") != 0;
            if (db_get_int(ph, k, "timeline_id") != row || (hidden && !staff))
                continue;
            cJSON *p = repair_photo_json(db_get_int(ph, k, "id"), hidden);
            if (p)
                cJSON_AddItemToArray(photos, p);
        }
        if (i == 0)
            first_photos = photos;
    }
    if (!arr)
        goto Exit;
    cJSON_AddItemToObject(o, "photos", first_photos ? cJSON_Duplicate(first_photos, 1) : cJSON_CreateArray());
    rc = 0;
Exit:
    db_rows_free(tl);
    db_rows_free(ph);
    return rc;
}

cJSON *complaint_detail_json(db_conn_t *db, long long id, int staff)
{
    db_rows_t *r = db_query(db, SQL_DETAIL, DB_ARGS(DB_INT(id)));
    cJSON *o = r && r->nrows == 1 ? decorate(db_row_json(r, 0)) : NULL;
    db_rows_free(r);
    if (!o)
        return NULL;
    for (int i = 0; !staff && staff_only[i]; i++)
        cJSON_DeleteItemFromObjectCaseSensitive(o, staff_only[i]);
    if (add_timeline(db, o, id, staff) != 0) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* ---- events ---- */

static const char *SQL_FACTS =
    "SELECT k.complaint_no AS complaint_no, k.type AS type, cc.name AS category, k.state AS state, k.level AS level,"
    " p.name AS project, COALESCE(CONCAT(b.name, ' ', u.name), '') AS unit, k.project_id AS project_id"
    " FROM complaints k JOIN complaint_categories cc ON cc.id = k.category_id JOIN projects p ON p.id = k.project_id"
    " LEFT JOIN units u ON u.id = k.unit_id LEFT JOIN buildings b ON b.id = k.building_id WHERE k.id = ?";

int complaint_event(db_conn_t *db, const char *kind, long long user_id, long long complaint_id, const cJSON *extra)
{
    db_rows_t *r = db_query(db, SQL_FACTS, DB_ARGS(DB_INT(complaint_id)));
    if (!r || r->nrows != 1) {
        db_rows_free(r);
        return -1;
    }
    cJSON *p = cJSON_CreateObject();
    if (!p) {
        db_rows_free(r);
        return -1;
    }
    cJSON_AddNumberToObject(p, "complaint_id", (double)complaint_id);
    const char *no = db_get(r, 0, "complaint_no");
    cJSON_AddStringToObject(p, "complaint_no", no ? no : "");
    cJSON_AddStringToObject(p, "type_label", complaint_type_label(db_get(r, 0, "type")));
    cJSON_AddStringToObject(p, "category", db_get(r, 0, "category"));
    cJSON_AddStringToObject(p, "state", db_get(r, 0, "state"));
    cJSON_AddStringToObject(p, "state_label", complaint_state_label(db_get(r, 0, "state")));
    cJSON_AddStringToObject(p, "level_label", complaint_level_label(db_get(r, 0, "level")));
    cJSON_AddStringToObject(p, "project", db_get(r, 0, "project"));
    cJSON_AddStringToObject(p, "unit", db_get(r, 0, "unit"));
    long long project_id = db_get_int(r, 0, "project_id");
    db_rows_free(r);
    time_t now = time(NULL);
    struct tm tm;
    char when[32];
    localtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
    cJSON_AddStringToObject(p, "time", when);
    for (const cJSON *it = extra ? extra->child : NULL; it; it = it->next)
        cJSON_AddItemToObject(p, it->string, cJSON_Duplicate(it, 1));
    int rc = events_emit_project(db, kind, user_id, "complaint", complaint_id, project_id, p);
    cJSON_Delete(p);
    return rc;
}

/* Active supervisors of the project; with the flag, only those listed in
 * project_managers (a project manager is a supervisor listed there). */
static const char *SQL_AUDIENCE =
    "SELECT r.user_id AS user_id FROM staff_roles r JOIN users u ON u.id = r.user_id AND u.disabled = 0"
    " WHERE r.role = 'supervisor' AND r.project_id = ?"
    " AND (? = 0 OR EXISTS(SELECT 1 FROM project_managers m WHERE m.project_id = r.project_id"
    " AND m.user_id = r.user_id)) ORDER BY r.user_id";

int complaint_event_to_staff(db_conn_t *db, const char *kind, long long project_id, int managers_only,
                             long long complaint_id, const cJSON *extra)
{
    db_rows_t *r = db_query(db, SQL_AUDIENCE, DB_ARGS(DB_INT(project_id), DB_INT(managers_only ? 1 : 0)));
    if (!r)
        return -1;
    int n = 0;
    for (int i = 0; i < r->nrows; i++) {
        if (complaint_event(db, kind, db_get_int(r, i, "user_id"), complaint_id, extra) != 0) {
            n = -1;
            break;
        }
        n++;
    }
    db_rows_free(r);
    return n;
}

int complaint_manages_or_fail(gw_call_t *c, db_conn_t *db, long long project_id, const char *field)
{
    if (c->user.roles & ROLE_ADMIN)
        return 0;
    long long one;
    int rc = db_query_int(db, &one,
                          "SELECT 1 FROM staff_roles WHERE user_id = ? AND role IN ('supervisor', 'service')"
                          " AND project_id = ? LIMIT 1",
                          DB_ARGS(DB_INT(c->user.id), DB_INT(project_id)));
    if (rc < 0) {
        call_fail_db(c);
        return -1;
    }
    if (rc == 0) {
        call_fail(c, ERR_FORBIDDEN, field, "you do not run complaints of project %lld", project_id);
        return -1;
    }
    return 0;
}
