#include "db_json.h"

#include <stdio.h>
#include <string.h>

/* Numbers go in as raw text, which prints the same as it reads: cJSON would
 * print a double with %1.15g and check the round trip, several times slower
 * for a page of ids and unix times. MariaDB sends numbers in plain decimal
 * notation, which is valid JSON. */
static cJSON *cell_json(const db_rows_t *r, int row, int col)
{
    const char *v = db_cell(r, row, col);
    if (!v)
        return cJSON_CreateNull();
    switch ((db_col_kind_t)r->kinds[col]) {
    case DB_COL_BOOL:
        return cJSON_CreateBool(strcmp(v, "0") != 0);
    case DB_COL_INT:
    case DB_COL_NUMBER:
        return cJSON_CreateRaw(v);
    case DB_COL_TEXT:
    default:
        return cJSON_CreateString(v);
    }
}

/* The object that holds `path`'s last segment, creating the parents. */
static cJSON *parent_of(cJSON *obj, const char *path, const char **leaf)
{
    const char *dot;
    while ((dot = strchr(path, '.')) != NULL) {
        char key[64];
        size_t n = (size_t)(dot - path);
        if (n >= sizeof(key))
            n = sizeof(key) - 1;
        memcpy(key, path, n);
        key[n] = '\0';
        cJSON *child = cJSON_GetObjectItemCaseSensitive(obj, key);
        if (!child) {
            child = cJSON_AddObjectToObject(obj, key);
            if (!child)
                return NULL;
        }
        obj = child;
        path = dot + 1;
    }
    *leaf = path;
    return obj;
}

static int all_null(const cJSON *o)
{
    for (const cJSON *it = o->child; it; it = it->next)
        if (!cJSON_IsNull(it) && !(cJSON_IsObject(it) && all_null(it)))
            return 0;
    return 1;
}

/* Nested objects whose every field is NULL become null. */
static void collapse_null_objects(cJSON *obj)
{
    for (cJSON *it = obj->child; it; it = it->next) {
        if (!cJSON_IsObject(it))
            continue;
        if (all_null(it)) {
            cJSON *null = cJSON_CreateNull();
            /* Copies the key before the old item goes. */
            if (null && cJSON_ReplaceItemInObjectCaseSensitive(obj, it->string, null))
                it = null;
        } else {
            collapse_null_objects(it);
        }
    }
}

static int cols_into(cJSON *obj, const db_rows_t *r, int row, int first_col, int end_col)
{
    int nested = 0;
    /* A nested object's columns come together ("unit.id", "unit.name"), so
     * the last parent is kept: looking each one up again by name was most of
     * a list's string compares. */
    const char *last_path = NULL;
    size_t last_len = 0;
    cJSON *last_parent = NULL;
    for (int col = first_col < 0 ? 0 : first_col; col < end_col && col < r->ncols; col++) {
        const char *leaf, *name = r->names[col], *dot = strrchr(name, '.');
        cJSON *parent;
        if (dot && last_parent && (size_t)(dot - name) == last_len && !memcmp(name, last_path, last_len)) {
            parent = last_parent;
            leaf = dot + 1;
        } else {
            parent = parent_of(obj, name, &leaf);
            if (dot) {
                last_path = name;
                last_len = (size_t)(dot - name);
                last_parent = parent;
            }
        }
        cJSON *v = parent ? cell_json(r, row, col) : NULL;
        if (!v)
            return -1;
        nested |= parent != obj;
        cJSON_AddItemToObject(parent, leaf, v);
    }
    if (nested)
        collapse_null_objects(obj);
    return 0;
}

int db_row_json_into(cJSON *obj, const db_rows_t *r, int row)
{
    return cols_into(obj, r, row, 0, r->ncols);
}

cJSON *db_row_json_cols(const db_rows_t *r, int row, int first_col, int end_col)
{
    cJSON *o = cJSON_CreateObject();
    if (o && cols_into(o, r, row, first_col, end_col) != 0) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

cJSON *db_row_json(const db_rows_t *r, int row)
{
    return db_row_json_cols(r, row, 0, r->ncols);
}

cJSON *db_rows_json(const db_rows_t *r, int first, int count)
{
    cJSON *arr = cJSON_CreateArray();
    if (!arr)
        return NULL;
    for (int i = first; i < first + count && i < r->nrows; i++) {
        cJSON *o = db_row_json(r, i);
        if (!o) {
            cJSON_Delete(arr);
            return NULL;
        }
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}
