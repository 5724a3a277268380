/* repair_categories_admin.c: a project's repair categories, and the defaults.
 *
 *   GET   /api/v1/admin/repair-categories?project=&active=&cursor=&limit=
 *   POST  /api/v1/admin/repair-categories           {project_id?, code, name, accept_minutes, ...}
 *   PATCH /api/v1/admin/repair-categories/:id?project=  {name?, accept_minutes?, ...}
 *
 * A category: code (what the mini-program files with), name, the three
 * clocks in minutes (accept 响应, arrive 到场, resolve 完成; stored in
 * seconds), whether they count business hours only (business_hours: the
 * calendar of docs/sla.md; default false, natural time), warranty months
 * (null: none), active flag and order.
 *
 * A project uses its own categories, or the defaults (project_id 0) while it
 * has none (domain/repairs/repair_catalog.h). The first change to a
 * project's categories (a creation with project_id, or a PATCH of a default
 * with ?project=) copies the defaults into the project in the same
 * transaction, and the change applies to the project's copy; its audit row
 * says so ("copied_defaults": true). Without a project, the change is to
 * the defaults themselves: admin only. Categories are never deleted
 * (tickets name them): one is retired with "active": false, and an inactive
 * category cannot be chosen when filing.
 *
 * Supervisors manage their projects' categories, admins every project's and
 * the defaults. A project's category outside the caller's projects is
 * answered 404, as if it did not exist. Each change and its audit row
 * (repair_category.create, .update: the category before and after) commit
 * together. Tickets keep the due times computed when they were filed: new
 * clocks apply to tickets filed (or reopened) afterwards. */
#include <stdlib.h>
#include <string.h>

#include "domain/identity/admin_change.h"
#include "domain/leads/lead_access.h"
#include "domain/repairs/repair_catalog.h"
#include "domain/repairs/repair_view.h"
#include "gateway/call.h"
#include "gateway/db_json.h"
#include "gateway/json_util.h"
#include "gateway/query.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"

#define CLOCK_MAX_MINUTES 525600 /* a year */
#define WARRANTY_MAX_MONTHS 1200
#define SORT_ORDER_MAX 1000000

/* The body, checked on the loop. A PATCH sets only the fields present. */
typedef struct {
    long long project_id; /* 0: the defaults */
    char code[33];
    char name[32 * 4 + 1];
    long long minutes[3]; /* accept, arrive, resolve */
    long long warranty_months, sort_order;
    int active, business_hours;
    int has_name, has_minutes[3], has_warranty, warranty_null, has_active, has_sort, has_business_hours;
} category_form_t;

static const char *const CLOCK_FIELDS[3] = {"accept_minutes", "arrive_minutes", "resolve_minutes"};

/* The fields both routes take; 0 or -1 answered. */
static int check_fields(gw_call_t *c, category_form_t *f, int create)
{
    if (json_trimmed_or_fail(c, c->body, "name", create, 1, 32, f->name, sizeof(f->name), &f->has_name) != 0)
        return -1;
    for (int i = 0; i < 3; i++) {
        if (json_opt_int_or_fail(c, c->body, CLOCK_FIELDS[i], 1, CLOCK_MAX_MINUTES, &f->minutes[i],
                                 &f->has_minutes[i]) != 0)
            return -1;
        if (create && !f->has_minutes[i]) {
            call_fail(c, ERR_MISSING_FIELD, CLOCK_FIELDS[i], "%s is required", CLOCK_FIELDS[i]);
            return -1;
        }
    }
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(c->body, "warranty_months");
    f->warranty_null = w && cJSON_IsNull(w);
    f->has_warranty = w != NULL;
    int present;
    if (json_opt_int_or_fail(c, c->body, "warranty_months", 0, WARRANTY_MAX_MONTHS, &f->warranty_months, &present) !=
            0 ||
        json_opt_int_or_fail(c, c->body, "sort_order", -SORT_ORDER_MAX, SORT_ORDER_MAX, &f->sort_order, &f->has_sort) !=
            0)
        return -1;
    f->active = 1;
    f->has_active = cJSON_GetObjectItemCaseSensitive(c->body, "active") != NULL;
    if (f->has_active && json_bool_or_fail(c, c->body, "active", &f->active) != 0)
        return -1;
    /* Business hours: the clocks count working time only (docs/sla.md). */
    f->has_business_hours = cJSON_GetObjectItemCaseSensitive(c->body, "business_hours") != NULL;
    if (f->has_business_hours && json_bool_or_fail(c, c->body, "business_hours", &f->business_hours) != 0)
        return -1;
    return 0;
}

static void check_create(gw_call_t *c)
{
    static const char *const known[] = {"project_id",
                                        "code",
                                        "name",
                                        "accept_minutes",
                                        "arrive_minutes",
                                        "resolve_minutes",
                                        "warranty_months",
                                        "active",
                                        "sort_order",
                                        "business_hours",
                                        NULL};
    int present;
    category_form_t *f = call_state_new_or_fail(c, 1, sizeof(category_form_t), free);
    if (!f || json_known_fields_or_fail(c, c->body, known) != 0 ||
        json_opt_int_or_fail(c, c->body, "project_id", 0, 1LL << 53, &f->project_id, &present) != 0 ||
        json_trimmed_or_fail(c, c->body, "code", 1, 1, 32, f->code, sizeof(f->code), &present) != 0)
        return;
    if (strspn(f->code, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(f->code)) {
        call_fail(c, ERR_INVALID_FIELD, "code", "code must be lower-case letters, digits and _");
        return;
    }
    if (check_fields(c, f, 1) != 0)
        return;
    for (int i = 1; i < 3; i++)
        if (f->minutes[i] < f->minutes[i - 1]) {
            call_fail(c, ERR_INVALID_FIELD, CLOCK_FIELDS[i], "%s must not be shorter than %s", CLOCK_FIELDS[i],
                      CLOCK_FIELDS[i - 1]);
            return;
        }
}

static void check_update(gw_call_t *c)
{
    static const char *const known[] = {"name",
                                        "accept_minutes",
                                        "arrive_minutes",
                                        "resolve_minutes",
                                        "warranty_months",
                                        "active",
                                        "sort_order",
                                        "business_hours",
                                        NULL};
    category_form_t *f = call_state_new_or_fail(c, 1, sizeof(category_form_t), free);
    if (!f || json_known_fields_or_fail(c, c->body, known) != 0 || check_fields(c, f, 0) != 0)
        return;
    if (!c->body->child)
        call_fail(c, ERR_MISSING_FIELD, "name", "nothing to change: give at least one field");
}

#define CATEGORY_COLUMNS                                                                                               \
    "c.id, c.project_id, c.code, c.name, c.accept_within_s DIV 60 AS accept_minutes,"                                  \
    " c.arrive_within_s DIV 60 AS arrive_minutes, c.resolve_within_s DIV 60 AS resolve_minutes, c.warranty_months,"    \
    " c.active, c.sort_order, c.business_hours"

/* The project's set (parameter 1 the project, 0 the defaults; 2 whether
 * rows are inherited: the project again), the active filter twice, the
 * cursor (sort_order twice, id), the limit. */
static const char *SQL_LIST = "SELECT " CATEGORY_COLUMNS ", (c.project_id = 0 AND ? <> 0) AS inherited"
                              " FROM repair_categories c WHERE c.project_id = " REPAIR_CATEGORY_SET(
                                  "?") " AND (? < 0 OR c.active = ?)"
                                       " AND (c.sort_order > ? OR (c.sort_order = ? AND c.id > ?))"
                                       " ORDER BY c.sort_order, c.id LIMIT ?";

static void list_categories(gw_call_t *c, db_conn_t *db)
{
    static const char *const keys[] = {"sort_order", "id"};
    long long project;
    int active;
    page_t page;
    if (page_or_fail(c, 2, &page) != 0 || query_id_or_fail(c, "project", &project) != 0 ||
        query_bool_or_fail(c, "active", -1, &active) != 0 ||
        (project && lead_manages_project_or_fail(c, db, project, "project") != 0))
        return;
    long long after_sort = page_key(&page, 0, PAGE_KEY_MIN);
    db_rows_t *r =
        db_query(db, SQL_LIST,
                 DB_ARGS(DB_INT(project), DB_INT(project), DB_INT(active), DB_INT(active), DB_INT(after_sort),
                         DB_INT(after_sort), DB_INT(page_key(&page, 1, PAGE_KEY_MIN)), DB_INT(page.limit + 1)));
    if (!r) {
        call_fail_db(c);
        return;
    }
    page_respond(c, &page, r, NULL, NULL, keys);
    db_rows_free(r);
}

static const char *SQL_CATEGORY = "SELECT " CATEGORY_COLUMNS " FROM repair_categories c WHERE c.id = ?";

/* 0 when the caller is an admin, else -1 answered with 403. */
static int admin_or_fail(gw_call_t *c, db_conn_t *db)
{
    unsigned roles;
    if (lead_project_roles(db, c->user.id, 0, &roles) != 0) {
        call_fail_db(c);
        return -1;
    }
    if (!(roles & ROLE_ADMIN)) {
        call_fail(c, ERR_FORBIDDEN, "project_id", "only an admin changes the default categories; name a project");
        return -1;
    }
    return 0;
}

/* The audit's extra when the change copied the defaults: {"copied_defaults": true}. */
static cJSON *copy_note(int copied)
{
    cJSON *o = copied ? cJSON_CreateObject() : NULL;
    if (o)
        cJSON_AddBoolToObject(o, "copied_defaults", 1);
    return o;
}

static void create_category(gw_call_t *c, db_conn_t *db)
{
    const category_form_t *f = c->state;
    if (f->project_id ? lead_manages_project_or_fail(c, db, f->project_id, "project_id") != 0
                      : admin_or_fail(c, db) != 0)
        return;
    int copied = 0;
    if (db_begin(db) != 0 || (f->project_id && (copied = repair_catalog_own(db, f->project_id)) < 0)) {
        call_fail_db(c);
        return;
    }
    if (db_exec(db,
                "INSERT INTO repair_categories (project_id, code, name, accept_within_s, arrive_within_s,"
                " resolve_within_s, warranty_months, active, sort_order, business_hours)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                DB_ARGS(DB_INT(f->project_id), DB_STR(f->code), DB_STR(f->name), DB_INT(f->minutes[0] * 60),
                        DB_INT(f->minutes[1] * 60), DB_INT(f->minutes[2] * 60),
                        f->has_warranty && !f->warranty_null ? DB_INT(f->warranty_months) : DB_NULL, DB_INT(f->active),
                        DB_INT(f->has_sort ? f->sort_order : 0), DB_INT(f->business_hours))) != 0) {
        admin_unique_or_fail(c, db, -1, "code", "the project (or the defaults) already has a category with this code",
                             NULL);
        return;
    }
    long long id = (long long)db_insert_id(db);
    cJSON *note = copy_note(copied);
    if (copied && !note) {
        call_fail(c, ERR_OVERLOADED, NULL, "out of memory; retry later");
        return;
    }
    admin_finish(c, db, 201, "repair_category.create", "repair_category", id, f->project_id, NULL,
                 admin_object_json(db, SQL_CATEGORY, id, NULL), note);
    cJSON_Delete(note);
}

/* Finds the row a PATCH of category :id (with ?project=) changes, inside the
 * transaction: the category itself when it is a project's, or the defaults'
 * with no project (admin only); a default with ?project= is the project's
 * copy of it, made now if the project still uses the defaults (*copied).
 * 0 with *id and *project (0: the defaults), -1 answered. */
static int target_or_fail(gw_call_t *c, db_conn_t *db, long long *id, long long *project, int *copied)
{
    long long asked;
    *copied = 0;
    *project = 0;
    if (call_param_id_or_fail(c, "id", id) != 0 || query_id_or_fail(c, "project", &asked) != 0)
        return -1;
    if (db_begin(db) != 0)
        goto DbError;
    int found = db_query_int(db, project, "SELECT project_id FROM repair_categories WHERE id = ? FOR UPDATE",
                             DB_ARGS(DB_INT(*id)));
    if (found < 0)
        goto DbError;
    if (!found || *project) {
        /* A project's category: its project must be the one asked, if any. */
        return lead_access_or_fail(c, db, found && (!asked || asked == *project), *project,
                                   ROLE_SUPERVISOR | ROLE_ADMIN, "repair category", *id, NULL);
    }
    if (!asked)
        return admin_or_fail(c, db);
    if (lead_manages_project_or_fail(c, db, asked, "project") != 0)
        return -1;
    if ((*copied = repair_catalog_own(db, asked)) < 0)
        goto DbError;
    found = db_query_int(db, id,
                         "SELECT c.id FROM repair_categories c JOIN repair_categories d ON d.code = c.code"
                         " WHERE d.id = ? AND c.project_id = ? FOR UPDATE",
                         DB_ARGS(DB_INT(*id), DB_INT(asked)));
    if (found < 0)
        goto DbError;
    if (!found) { /* a default added after the project took its own */
        call_fail(c, ERR_NOT_FOUND, NULL, "repair category %lld is not one of project %lld's", *id, asked);
        return -1;
    }
    *project = asked;
    return 0;
DbError:
    call_fail_db(c);
    return -1;
}

static const char *SQL_UPDATE =
    "UPDATE repair_categories SET name = IF(?, ?, name), accept_within_s = IF(?, ?, accept_within_s),"
    " arrive_within_s = IF(?, ?, arrive_within_s), resolve_within_s = IF(?, ?, resolve_within_s),"
    " warranty_months = IF(?, ?, warranty_months), active = IF(?, ?, active), sort_order = IF(?, ?, sort_order),"
    " business_hours = IF(?, ?, business_hours) WHERE id = ?";

/* 0 when the clocks of category id (after the change) still run accept <=
 * arrive <= resolve, else -1 with 400 naming the first clock out of order
 * (or the db error). */
static int clocks_ordered_or_fail(gw_call_t *c, db_conn_t *db, long long id)
{
    long long bad;
    int found =
        db_query_int(db, &bad,
                     "SELECT IF(arrive_within_s < accept_within_s, 1, 2) FROM repair_categories"
                     " WHERE id = ? AND (arrive_within_s < accept_within_s OR resolve_within_s < arrive_within_s)",
                     DB_ARGS(DB_INT(id)));
    if (found < 0)
        call_fail_db(c);
    else if (found)
        call_fail(c, ERR_INVALID_FIELD, CLOCK_FIELDS[bad], "%s must not be shorter than %s", CLOCK_FIELDS[bad],
                  CLOCK_FIELDS[bad - 1]);
    return found ? -1 : 0;
}

static void update_category(gw_call_t *c, db_conn_t *db)
{
    const category_form_t *f = c->state;
    long long id, project;
    int copied;
    if (target_or_fail(c, db, &id, &project, &copied) != 0)
        return;
    cJSON *before = admin_object_json(db, SQL_CATEGORY, id, NULL), *note = copy_note(copied);
    if (!before || (copied && !note) ||
        db_exec(db, SQL_UPDATE,
                DB_ARGS(DB_INT(f->has_name), DB_STR(f->name), DB_INT(f->has_minutes[0]), DB_INT(f->minutes[0] * 60),
                        DB_INT(f->has_minutes[1]), DB_INT(f->minutes[1] * 60), DB_INT(f->has_minutes[2]),
                        DB_INT(f->minutes[2] * 60), DB_INT(f->has_warranty),
                        f->warranty_null ? DB_NULL : DB_INT(f->warranty_months), DB_INT(f->has_active),
                        DB_INT(f->active), DB_INT(f->has_sort), DB_INT(f->sort_order), DB_INT(f->has_business_hours),
                        DB_INT(f->business_hours), DB_INT(id))) != 0) {
        cJSON_Delete(before);
        call_fail_db(c);
    } else if (clocks_ordered_or_fail(c, db, id) != 0)
        cJSON_Delete(before);
    else if (f->has_name && repair_view_names_changed(db) != 0) { /* the name shows in tickets' details */
        cJSON_Delete(before);
        call_fail_db(c);
    } else
        admin_finish(c, db, 200, "repair_category.update", "repair_category", id, project, before,
                     admin_object_json(db, SQL_CATEGORY, id, NULL), note);
    cJSON_Delete(note);
}

static const route_t routes[] = {
    {"GET", "/api/v1/admin/repair-categories", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_NONE, DB_STEP(list_categories)},
    {"POST", "/api/v1/admin/repair-categories", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_JSON, DB_STEP(create_category),
     BODY_CHECK(check_create)},
    {"PATCH", "/api/v1/admin/repair-categories/:id", ROLE_SUPERVISOR | ROLE_ADMIN, BODY_JSON, DB_STEP(update_category),
     BODY_CHECK(check_update)},
};

void repair_categories_admin_register(void)
{
    ROUTES_REGISTER(routes);
}
