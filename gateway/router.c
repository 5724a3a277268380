#include "router.h"

#include <stdlib.h>
#include <string.h>

#define MAX_ROUTES 256

static const route_t *table[MAX_ROUTES];
static size_t ntable;

void router_add(const route_t *routes, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (ntable == MAX_ROUTES)
            abort(); /* a programming error caught at start-up */
        table[ntable++] = &routes[i];
    }
}

void router_reset(void)
{
    ntable = 0;
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
