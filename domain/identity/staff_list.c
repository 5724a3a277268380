/* staff_list.c: see staff_list.h. The statements and filters moved here
 * from handlers/identity/staff_admin.c unchanged. */
#include "domain/identity/staff_list.h"

#include <ctype.h>
#include <string.h>

#include "domain/identity/project_access.h"
#include "gateway/db_json.h"
#include "gateway/json_util.h"
#include "gateway/mask.h"
#include "gateway/phone.h"

typedef struct {
    const char *q, *phone, *role; /* phone points into normalised */
    const char *head;             /* a masked phone's visible head, or NULL */
    char normalised[32], head_buf[5], tail[5];
    long long project;
    int admin;
} staff_filter_t;

/* A user is listed when one of their roles is visible to the caller (and
 * matches the role and project filters). GROUP BY u.id: a user holding
 * two matching roles was listed twice in a full browser run (not
 * reproduced alone), as if the EXISTS had been run as a plain join;
 * grouping by the key keeps one row a user whatever plan MariaDB picks, in
 * the same primary-key order. */
#define SQL_DIRECTORY                                                                                                  \
    "SELECT u.id AS user_id, u.display_name, u.title, u.phone, u.disabled FROM users u"                                \
    " WHERE EXISTS (SELECT 1 FROM staff_roles s WHERE s.user_id = u.id AND " PROJECT_ACCESS_SQL(                       \
        "s.project_id") "   AND (? IS NULL OR s.role = ?) AND (? = 0 OR s.project_id = ?))"                            \
                        " AND (? IS NULL OR LOCATE(?, u.display_name) > 0) AND (? IS NULL OR u.phone = ?)"             \
                        " AND (? IS NULL OR (u.phone LIKE CONCAT(?, '%', ?) AND CHAR_LENGTH(u.phone) >= "              \
                        "CHAR_LENGTH(?) "                                                                              \
                        "+ 4))"                                                                                        \
                        " AND u.id > ?"                                                                                \
                        " GROUP BY u.id ORDER BY u.id LIMIT ?"

/* The visible roles of the users of a page (ids first..last), by user. */
static const char *SQL_DIRECTORY_ROLES = "SELECT s.user_id, s.role, p.id AS \"project.id\", p.name AS \"project.name\""
                                         " FROM staff_roles s LEFT JOIN projects p ON p.id = s.project_id"
                                         " WHERE s.user_id BETWEEN ? AND ? AND " PROJECT_ACCESS_SQL(
                                             "s.project_id") " ORDER BY s.user_id, s.project_id, s.role";

/* A phone as mask_phone shows it (138****1234; +861****1234 for a number
 * stored with its country code): 0 with the visible head ("138", "+861")
 * and tail ("1234"), -1 for anything else. The directory accepts it so
 * that a phone copied from the list finds its row; it matches only users
 * the caller can already see, so it reveals nothing new. */
static int masked_phone_parts(const char *in, char head[5], char tail[5])
{
    size_t n = in[0] == '+' ? 4 : 3, i = in[0] == '+' ? 1 : 0;
    if (strlen(in) != n + 8)
        return -1;
    for (; i < n; i++)
        if (!isdigit((unsigned char)in[i]))
            return -1;
    if (strncmp(in + n, "****", 4) != 0)
        return -1;
    for (i = n + 4; i < n + 8; i++)
        if (!isdigit((unsigned char)in[i]))
            return -1;
    memcpy(head, in, n);
    head[n] = '\0';
    memcpy(tail, in + n + 4, 5);
    return 0;
}

static int staff_filter_or_fail(gw_call_t *c, db_conn_t *db, void *filter)
{
    static const char *const roles[] = {"agent", "engineer", "supervisor", "service", "admin", NULL};
    staff_filter_t *f = filter;
    const char *phone_in;
    if (query_string_or_fail(c, "q", 32, &f->q) != 0 || query_string_or_fail(c, "phone", 24, &phone_in) != 0 ||
        query_enum_or_fail(c, "role", roles, NULL, &f->role) != 0 || query_id_or_fail(c, "project", &f->project) != 0)
        return -1;
    int masked = phone_in && masked_phone_parts(phone_in, f->head_buf, f->tail) == 0;
    if (phone_in && !masked && phone_normalise(phone_in, f->normalised, sizeof(f->normalised)) != 0) {
        call_fail(c, ERR_INVALID_FIELD, "phone",
                  "phone must be a full phone number (11 digits, or +<country code><number>) or one as the "
                  "directory masks it (138****1234)");
        return -1;
    }
    f->phone = phone_in && !masked ? f->normalised : NULL;
    f->head = masked ? f->head_buf : NULL;
    f->admin = project_access_is_admin(db, c->user.id);
    if (f->admin < 0) {
        call_fail_db(c);
        return -1;
    }
    if (f->project && project_access_or_fail(c, db, f->project, 1, "project", NULL) != 0)
        return -1;
    return 0;
}

static db_rows_t *staff_rows(db_conn_t *db, const gw_call_t *c, const void *filter, long long after, int limit,
                             int count)
{
    const staff_filter_t *f = filter;
    return db_query(db, count ? LIST_COUNT_SQL(SQL_DIRECTORY) : SQL_DIRECTORY,
                    DB_ARGS(DB_INT(f->admin), DB_INT(c->user.id), DB_STR(f->role), DB_STR(f->role), DB_INT(f->project),
                            DB_INT(f->project), DB_STR(f->q), DB_STR(f->q), DB_STR(f->phone), DB_STR(f->phone),
                            DB_STR(f->head), DB_STR(f->head), DB_STR(f->tail), DB_STR(f->head), DB_INT(after),
                            DB_INT(limit)));
}

/* The visible roles of the page's users. */
static void *staff_roles(db_conn_t *db, const gw_call_t *c, const void *filter, const db_rows_t *r, int shown,
                         int *failed)
{
    const staff_filter_t *f = filter;
    db_rows_t *roles =
        db_query(db, SQL_DIRECTORY_ROLES,
                 DB_ARGS(DB_INT(db_get_int(r, 0, "user_id")), DB_INT(db_get_int(r, shown - 1, "user_id")),
                         DB_INT(f->admin), DB_INT(c->user.id)));
    *failed = roles == NULL;
    return roles;
}

static void staff_roles_free(void *roles)
{
    db_rows_free(roles);
}

/* A directory item: the user's row with the phone masked and their roles
 * (ud: the rows of SQL_DIRECTORY_ROLES). NULL when memory runs out. */
static cJSON *staff_json(const db_rows_t *r, int i, void *ud)
{
    const db_rows_t *roles = ud;
    long long id = db_get_int(r, i, "user_id");
    cJSON *o = db_row_json(r, i), *a = cJSON_CreateArray();
    if (!o || !a || !cJSON_AddItemToObject(o, "roles", a)) {
        cJSON_Delete(o);
        cJSON_Delete(a);
        return NULL;
    }
    char masked[40];
    const char *phone = db_get(r, i, "phone");
    mask_phone(phone, masked, sizeof(masked));
    cJSON_DeleteItemFromObject(o, "phone");
    json_add_string_or_null(o, "phone_masked", phone ? masked : NULL);
    for (int k = 0; roles && k < roles->nrows; k++) {
        if (db_get_int(roles, k, "user_id") != id)
            continue;
        cJSON *role = db_row_json(roles, k);
        cJSON_DeleteItemFromObject(role, "user_id");
        if (!role || !cJSON_AddItemToArray(a, role)) {
            cJSON_Delete(role);
            cJSON_Delete(o);
            return NULL;
        }
    }
    return o;
}

const list_def_t staff_admin_list = {
    .filter_size = sizeof(staff_filter_t),
    .filter_or_fail = staff_filter_or_fail,
    .rows = staff_rows,
    .render = staff_json,
    .ascending = 1,
    .key = "user_id",
    .page_data = staff_roles,
    .page_data_free = staff_roles_free,
};
