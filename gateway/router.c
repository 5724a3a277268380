#include "router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roles.h"

#define MAX_ROUTES 256

static const route_t *table[MAX_ROUTES];
static const char *files[MAX_ROUTES];
static size_t ntable;

void router_add_file(const route_t *routes, size_t count, const char *file)
{
    for (size_t i = 0; i < count; i++) {
        /* Programming errors, caught at start-up: a full table, a route
         * without exactly one first step, or a DB route whose step would
         * not get its connection. */
        if (ntable == MAX_ROUTES || !routes[i].start == !routes[i].start_db ||
            !routes[i].start_db != (routes[i].pool != POOL_DB))
            abort();
        files[ntable] = file ? file : "?";
        table[ntable++] = &routes[i];
    }
}

size_t router_count(void)
{
    return ntable;
}

const route_t *router_route(size_t i, const char **file)
{
    if (i >= ntable)
        return NULL;
    if (file)
        *file = files[i];
    return table[i];
}

void router_reset(void)
{
    ntable = 0;
}

const char *rate_class_name(rate_class_t cls)
{
    static const char *const names[RATE__COUNT] = {"default",  "login",   "leads",   "uploads",
                                                   "referral", "console", "exports", "customers"};
    return (unsigned)cls < RATE__COUNT ? names[cls] : "default";
}

const char *wx_class_name(wx_class_t cls)
{
    static const char *const names[WX__COUNT] = {"other", "login", "phone", "text_check", "media_check", "qr"};
    return (unsigned)cls < WX__COUNT ? names[cls] : "other";
}

/* Matches one pattern against a path (no query). Captures :name segments. */
static int match_path(const char *pattern, const char *path, size_t path_len, route_params_t *params)
{
    const char *p = pattern, *s = path, *end = path + path_len;
    params->count = 0;
    while (*p && s < end) {
        if (*p == ':') {
            const char *name = p + 1;
            while (*p && *p != '/')
                p++;
            const char *seg = s;
            while (s < end && *s != '/')
                s++;
            size_t len = (size_t)(s - seg);
            /* h2o's normalised path has %00 decoded: a NUL would cut the
             * value short ("42%00x" read as "42"), so such a path is no match. */
            if (len == 0 || len >= sizeof(params->value[0]) || params->count == ROUTER_MAX_PARAMS ||
                memchr(seg, '\0', len))
                return 0;
            params->name[params->count] = name;
            memcpy(params->value[params->count], seg, len);
            params->value[params->count][len] = '\0';
            params->count++;
        } else {
            if (*p != *s)
                return 0;
            p++;
            s++;
        }
    }
    return *p == '\0' && s == end;
}

const route_t *router_match(const char *method, size_t method_len, const char *path, size_t path_len,
                            route_params_t *params, int *status, char *allow, size_t allow_size)
{
    int path_matched = 0;
    if (allow_size)
        allow[0] = '\0';
    for (size_t i = 0; i < ntable; i++) {
        route_params_t tmp;
        if (!match_path(table[i]->pattern, path, path_len, &tmp))
            continue;
        if (strlen(table[i]->method) == method_len && memcmp(table[i]->method, method, method_len) == 0) {
            *params = tmp;
            return table[i];
        }
        if (allow_size && !strstr(allow, table[i]->method)) {
            if (path_matched)
                strncat(allow, ", ", allow_size - strlen(allow) - 1);
            strncat(allow, table[i]->method, allow_size - strlen(allow) - 1);
        }
        path_matched = 1;
    }
    *status = path_matched ? 405 : 404;
    return NULL;
}

/* "/api/v1/repairs/:id" as the API document writes it: "/api/v1/repairs/{id}". */
static void print_pattern(FILE *out, const char *pattern)
{
    for (const char *p = pattern; *p;) {
        if (*p == ':') {
            const char *end = p + 1;
            while (*end && *end != '/')
                end++;
            fprintf(out, "{%.*s}", (int)(end - p - 1), p + 1);
            p = end;
        } else {
            fputc(*p++, out);
        }
    }
}

static void print_roles(FILE *out, unsigned roles)
{
    if (roles == 0) {
        fputs("public", out);
        return;
    }
    if (roles & ROLE_ANY) {
        fputs("any", out);
        return;
    }
    const char *sep = "";
    for (unsigned bit = 1; bit <= ROLE_LAST; bit <<= 1) {
        if (roles & bit) {
            fprintf(out, "%s%s", sep, role_name(bit));
            sep = ", ";
        }
    }
}

static int by_path_then_method(const void *a, const void *b)
{
    const route_t *ra = table[*(const size_t *)a], *rb = table[*(const size_t *)b];
    int d = strcmp(ra->pattern, rb->pattern);
    return d ? d : strcmp(ra->method, rb->method);
}

void router_print_index(FILE *out)
{
    size_t order[MAX_ROUTES];
    for (size_t i = 0; i < ntable; i++)
        order[i] = i;
    qsort(order, ntable, sizeof(order[0]), by_path_then_method);
    fputs("| method | path | roles | rate class | file |\n| --- | --- | --- | --- | --- |\n", out);
    for (size_t k = 0; k < ntable; k++) {
        const route_t *r = table[order[k]];
        fprintf(out, "| `%s` | `", r->method);
        print_pattern(out, r->pattern);
        fputs("` | ", out);
        print_roles(out, r->roles);
        fprintf(out, " | %s | `%s` |\n", rate_class_name(r->rate), files[order[k]]);
    }
}
