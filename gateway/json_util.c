#include "json_util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "call.h"

int json_depth(const char *text, size_t len)
{
    int depth = 0, max = 0, in_str = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = text[i];
        if (in_str) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                in_str = 0;
            continue;
        }
        if (ch == '"')
            in_str = 1;
        else if (ch == '{' || ch == '[') {
            if (++depth > max)
                max = depth;
        } else if (ch == '}' || ch == ']') {
            if (--depth < 0)
                return -1;
        }
    }
    return depth == 0 ? max : -1;
}

cJSON *json_parse_object(const char *text, size_t len, int max_depth, const char **why)
{
    int depth = json_depth(text, len);
    if (depth > max_depth) {
        *why = "JSON nesting is too deep";
        return NULL;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        *why = "request body is not valid JSON";
        return NULL;
    }
    /* Only white space may follow the value. */
    for (const char *p = end; p && p < text + len; p++)
        if (*p != ' ' && *p != '\n' && *p != '\r' && *p != '\t' && *p != '\0') {
            cJSON_Delete(root);
            *why = "request body has trailing data after the JSON value";
            return NULL;
        }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        *why = "request body must be a JSON object";
        return NULL;
    }
    return root;
}

static const cJSON *field_of(const cJSON *obj, const char *field)
{
    return cJSON_GetObjectItemCaseSensitive(obj, field);
}

static int check_string(struct gw_call *c, const cJSON *v, const char *field, size_t min, size_t max)
{
    if (!cJSON_IsString(v)) {
        call_fail(c, ERR_INVALID_FIELD, field, "%s must be a string", field);
        return -1;
    }
    long n = utf8_length(v->valuestring, strlen(v->valuestring));
    if (n < 0) {
        call_fail(c, ERR_INVALID_FIELD, field, "%s is not valid UTF-8", field);
        return -1;
    }
    if ((size_t)n < min || (size_t)n > max) {
        if (min == 1 && n == 0)
            call_fail(c, ERR_INVALID_FIELD, field, "%s must not be empty", field);
        else
            call_fail(c, ERR_INVALID_FIELD, field, "%s must be %zu to %zu characters", field, min, max);
        return -1;
    }
    return 0;
}

const char *json_string_or_fail(struct gw_call *c, const cJSON *obj, const char *field, size_t min, size_t max)
{
    const cJSON *v = field_of(obj, field);
    if (!v || cJSON_IsNull(v)) {
        call_fail(c, ERR_MISSING_FIELD, field, "%s is required", field);
        return NULL;
    }
    return check_string(c, v, field, min, max) == 0 ? v->valuestring : NULL;
}

const char *json_enum_or_fail(struct gw_call *c, const cJSON *obj, const char *field, const char *const names[])
{
    const char *s = json_string_or_fail(c, obj, field, 1, 64);
    if (!s)
        return NULL;
    char allowed[256];
    size_t used = 0;
    allowed[0] = '\0';
    for (int i = 0; names[i]; i++) {
        if (!strcmp(names[i], s))
            return names[i];
        int n = snprintf(allowed + used, sizeof(allowed) - used, "%s%s", i ? ", " : "", names[i]);
        if (n > 0 && (size_t)n < sizeof(allowed) - used)
            used += (size_t)n;
    }
    call_fail(c, ERR_INVALID_FIELD, field, "%s must be one of %s", field, allowed);
    return NULL;
}

int json_opt_string_or_fail(struct gw_call *c, const cJSON *obj, const char *field, size_t min, size_t max,
                            const char **out)
{
    const cJSON *v = field_of(obj, field);
    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (check_string(c, v, field, min, max) != 0)
        return -1;
    *out = v->valuestring;
    return 0;
}

int json_known_fields_or_fail(struct gw_call *c, const cJSON *obj, const char *const known[])
{
    const cJSON *f;
    cJSON_ArrayForEach(f, obj)
    {
        int ok = 0;
        for (int i = 0; known[i] && !ok; i++)
            ok = f->string && !strcmp(f->string, known[i]);
        if (!ok) {
            char name[64 * 4 + 1];
            utf8_copy(name, sizeof(name), f->string);
            call_fail(c, ERR_INVALID_FIELD, name, "unknown field %s", name);
            return -1;
        }
    }
    return 0;
}

/* Bytes of white space at s: ASCII blanks, or U+3000 (E3 80 80), 0 if none. */
static size_t space_at(const char *s)
{
    if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f' || *s == '\v')
        return 1;
    return (unsigned char)s[0] == 0xE3 && (unsigned char)s[1] == 0x80 && (unsigned char)s[2] == 0x80 ? 3 : 0;
}

/* s without leading and trailing white space: *start, and the length. */
static size_t trimmed(const char *s, const char **start)
{
    size_t n, end = 0, i = 0;
    while ((n = space_at(s)) > 0)
        s += n;
    size_t len = strlen(s);
    while (i < len) { /* end: just after the last byte that is not white space */
        n = space_at(s + i);
        if (n) {
            i += n;
        } else {
            i++;
            end = i;
        }
    }
    *start = s;
    return end;
}

int json_text_or_fail(struct gw_call *c, cJSON *obj, const char *field, int required, size_t min, size_t max,
                      const char **out, int *present)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
    *out = NULL;
    *present = 0;
    if (!v || cJSON_IsNull(v)) {
        if (!required)
            return 0;
        call_fail(c, ERR_MISSING_FIELD, field, "%s is required", field);
        return -1;
    }
    if (cJSON_IsString(v) && v->valuestring) {
        const char *start;
        size_t end = trimmed(v->valuestring, &start);
        memmove(v->valuestring, start, end);
        v->valuestring[end] = 0;
    }
    if (check_string(c, v, field, min, max) != 0)
        return -1;
    *out = v->valuestring;
    *present = 1;
    return 0;
}

int json_date_valid(const char *s)
{
    int y, m, d, len = 0;
    if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &len) != 3 || len != 10 || s[4] != '-' || s[7] != '-')
        return 0;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1900 || y > 2999 || m < 1 || m > 12 || d < 1)
        return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= mdays[m - 1] + (m == 2 && leap);
}

int json_opt_date_or_fail(struct gw_call *c, const cJSON *obj, const char *field, const char **out, int *present)
{
    const cJSON *v = field_of(obj, field);
    *out = NULL;
    *present = v != NULL;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v) || !json_date_valid(v->valuestring)) {
        call_fail(c, ERR_INVALID_FIELD, field, "%s must be a date YYYY-MM-DD or null", field);
        return -1;
    }
    *out = v->valuestring;
    return 0;
}

int json_opt_int_or_fail(struct gw_call *c, const cJSON *obj, const char *field, long long lo, long long hi,
                         long long *out, int *present)
{
    const cJSON *v = field_of(obj, field);
    *present = 0;
    if (!v || cJSON_IsNull(v))
        return 0;
    double d = v->valuedouble;
    if (!cJSON_IsNumber(v) || d != floor(d) || d < (double)lo || d > (double)hi) {
        call_fail(c, ERR_INVALID_FIELD, field, "%s must be an integer from %lld to %lld", field, lo, hi);
        return -1;
    }
    *out = (long long)d;
    *present = 1;
    return 0;
}

int json_int_or_fail(struct gw_call *c, const cJSON *obj, const char *field, long long lo, long long hi, long long *out)
{
    int present;
    if (json_opt_int_or_fail(c, obj, field, lo, hi, out, &present) != 0)
        return -1;
    if (!present) {
        call_fail(c, ERR_MISSING_FIELD, field, "%s is required", field);
        return -1;
    }
    return 0;
}

int json_bool_or_fail(struct gw_call *c, const cJSON *obj, const char *field, int *out)
{
    const cJSON *v = field_of(obj, field);
    if (!v || cJSON_IsNull(v)) {
        call_fail(c, ERR_MISSING_FIELD, field, "%s is required", field);
        return -1;
    }
    if (!cJSON_IsBool(v)) {
        call_fail(c, ERR_INVALID_FIELD, field, "%s must be true or false", field);
        return -1;
    }
    *out = cJSON_IsTrue(v);
    return 0;
}

int json_trimmed_or_fail(struct gw_call *c, const cJSON *obj, const char *field, int required, size_t min, size_t max,
                         char *out, size_t outsz, int *present)
{
    const cJSON *v = field_of(obj, field);
    *present = 0;
    if (outsz)
        *out = '\0';
    if (!v || cJSON_IsNull(v)) {
        if (!required)
            return 0;
        call_fail(c, ERR_MISSING_FIELD, field, "%s is required", field);
        return -1;
    }
    if (!cJSON_IsString(v)) {
        call_fail(c, ERR_INVALID_FIELD, field, "%s must be a string", field);
        return -1;
    }
    const char *s;
    size_t len = trimmed(v->valuestring, &s);
    long chars = utf8_length(s, len);
    if (chars < 0) {
        call_fail(c, ERR_INVALID_FIELD, field, "%s is not valid UTF-8", field);
        return -1;
    }
    if ((size_t)chars < min || (size_t)chars > max || len >= outsz) {
        if (chars == 0)
            call_fail(c, ERR_INVALID_FIELD, field, "%s must not be empty", field);
        else
            call_fail(c, ERR_INVALID_FIELD, field, "%s must be %zu to %zu characters", field, min, max);
        return -1;
    }
    memcpy(out, s, len);
    out[len] = '\0';
    *present = 1;
    return 0;
}

void json_add_string_or_null(cJSON *obj, const char *name, const char *value)
{
    if (value)
        cJSON_AddStringToObject(obj, name, value);
    else
        cJSON_AddNullToObject(obj, name);
}
