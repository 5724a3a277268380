/* query.c: query-string parameters and the paging contract (query.h). */
#include "query.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64url.h"
#include "call_internal.h"
#include "db_json.h"
#include "json_arena.h"
#include "utf8.h"

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

int query_value(const gw_call_t *c, const char *name, char *out, size_t outsz, size_t *outlen)
{
    if (!c->query || outsz == 0)
        return 0;
    size_t n = strlen(name);
    const char *p = c->query;
    while (*p) {
        const char *amp = strchr(p, '&');
        const char *end = amp ? amp : p + strlen(p);
        if ((size_t)(end - p) >= n && strncmp(p, name, n) == 0 && (p[n] == '=' || p + n == end)) {
            const char *v = p[n] == '=' ? p + n + 1 : end;
            size_t o = 0;
            int rc = 1;
            for (; v < end; v++) {
                if (o + 1 >= outsz) {
                    rc = -1; /* longer than out: the caller decides */
                    break;
                }
                if (*v == '+')
                    out[o++] = ' ';
                else if (*v == '%' && end - v > 2 && hexval(v[1]) >= 0 && hexval(v[2]) >= 0) {
                    out[o++] = (char)(hexval(v[1]) * 16 + hexval(v[2]));
                    v += 2;
                } else
                    out[o++] = *v;
            }
            out[o] = '\0';
            if (outlen)
                *outlen = o;
            return rc;
        }
        p = amp ? amp + 1 : end;
    }
    return 0;
}

/* Decimal integers: at most 20 characters ("-9223372036854775808"). */
#define NUMBER_TEXT_MAX 24

/* 1 present (text in buf), 0 absent or empty, -1 too long (call failed). */
static int fetch(gw_call_t *c, const char *name, char *buf, size_t bufsz, const char *what)
{
    size_t len = 0;
    int rc = query_value(c, name, buf, bufsz, &len);
    if (rc < 0) {
        call_fail(c, ERR_INVALID_FIELD, name, "%s must be %s", name, what);
        return -1;
    }
    if (rc == 1 && strlen(buf) != len) { /* an encoded NUL (%00) */
        call_fail(c, ERR_INVALID_FIELD, name, "%s must be %s", name, what);
        return -1;
    }
    return rc == 1 && len > 0 ? 1 : 0;
}

/* A whole decimal integer, optional leading '-'; 0 or -1. */
static int parse_int(const char *s, long long *out)
{
    char *end;
    errno = 0;
    if (!((*s >= '0' && *s <= '9') || (*s == '-' && s[1] >= '0' && s[1] <= '9')))
        return -1;
    long long v = strtoll(s, &end, 10);
    if (errno == ERANGE || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

int query_int_or_fail(gw_call_t *c, const char *name, long long lo, long long hi, long long def, long long *out)
{
    char buf[NUMBER_TEXT_MAX], what[96];
    snprintf(what, sizeof(what), "an integer from %lld to %lld", lo, hi);
    int rc = fetch(c, name, buf, sizeof(buf), what);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        *out = def;
        return 0;
    }
    long long v;
    if (parse_int(buf, &v) != 0 || v < lo || v > hi) {
        call_fail(c, ERR_INVALID_FIELD, name, "%s must be %s", name, what);
        return -1;
    }
    *out = v;
    return 0;
}

int query_id_or_fail(gw_call_t *c, const char *name, long long *out)
{
    char buf[NUMBER_TEXT_MAX];
    int rc = fetch(c, name, buf, sizeof(buf), "a positive id");
    if (rc < 0)
        return -1;
    *out = 0;
    if (rc == 0)
        return 0;
    long long v;
    if (parse_int(buf, &v) != 0 || v <= 0) {
        call_fail(c, ERR_INVALID_FIELD, name, "%s must be a positive id", name);
        return -1;
    }
    *out = v;
    return 0;
}

/* "a, b or c" for the message; cut (never mid-name) when there are many. */
static void list_allowed(const char *const allowed[], char *out, size_t outsz)
{
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0; allowed[i]; i++) {
        const char *sep = i == 0 ? "" : allowed[i + 1] ? ", " : " or ";
        int n = snprintf(out + o, outsz - o, "%s%s", sep, allowed[i]);
        if (n < 0 || (size_t)n >= outsz - o) {
            out[o] = '\0';
            return;
        }
        o += (size_t)n;
    }
}

int query_enum_or_fail(gw_call_t *c, const char *name, const char *const allowed[], const char *def, const char **out)
{
    char buf[64], names[160];
    size_t len = 0;
    list_allowed(allowed, names, sizeof(names));
    int rc = query_value(c, name, buf, sizeof(buf), &len);
    if (rc == 0 || (rc == 1 && len == 0)) {
        *out = def;
        return 0;
    }
    for (int i = 0; rc == 1 && strlen(buf) == len && allowed[i]; i++) {
        if (!strcmp(allowed[i], buf)) {
            *out = allowed[i];
            return 0;
        }
    }
    call_fail(c, ERR_INVALID_FIELD, name, "%s must be one of: %s", name, names);
    return -1;
}

int query_bool_or_fail(gw_call_t *c, const char *name, int def, int *out)
{
    static const char *const values[] = {"true", "false", "1", "0", NULL};
    const char *v;
    if (query_enum_or_fail(c, name, values, NULL, &v) != 0)
        return -1;
    *out = !v ? def : !strcmp(v, "true") || !strcmp(v, "1");
    return 0;
}

int query_string_or_fail(gw_call_t *c, const char *name, size_t max_chars, const char **out)
{
    *out = NULL;
    if (max_chars == 0 || max_chars > 4096) /* a programming error: no parameter is that long */
        max_chars = 4096;
    size_t cap = max_chars * 4 + 1, len = 0; /* a character is at most 4 bytes */
    char *buf = malloc(cap);
    if (!buf) {
        call_fail(c, ERR_OVERLOADED, NULL, "out of memory; retry later");
        return -1;
    }
    int rc = query_value(c, name, buf, cap, &len);
    if (rc == 0 || (rc == 1 && len == 0)) {
        free(buf);
        return 0;
    }
    long chars = rc == 1 && strlen(buf) == len ? utf8_length(buf, len) : -1;
    if (chars < 0 || (size_t)chars > max_chars) {
        free(buf);
        call_fail(c, ERR_INVALID_FIELD, name, "%s must be UTF-8 text of at most %zu characters", name, max_chars);
        return -1;
    }
    if (call_keep(c, buf) != 0) {
        free(buf);
        call_fail(c, ERR_OVERLOADED, NULL, "out of memory; retry later");
        return -1;
    }
    *out = buf;
    return 0;
}

#define TIME_MAX 4102444800LL /* 2100-01-01 */

int query_time_or_fail(gw_call_t *c, const char *name, long long def, long long *out)
{
    return query_int_or_fail(c, name, 0, TIME_MAX, def, out);
}

int query_int_value(const gw_call_t *c, const char *name, long long lo, long long hi, long long *out)
{
    char buf[NUMBER_TEXT_MAX];
    size_t len = 0;
    int rc = query_value(c, name, buf, sizeof(buf), &len);
    if (rc == 0 || (rc == 1 && len == 0))
        return 0;
    long long v;
    if (rc < 0 || strlen(buf) != len || parse_int(buf, &v) != 0 || v < lo || v > hi)
        return -1;
    *out = v;
    return 1;
}

/* ---- paging ---- */

int page_cursor_encode(const long long *keys, int nkeys, char *out, size_t outsz)
{
    if (nkeys < 1 || nkeys > PAGE_KEYS_MAX)
        return -1;
    unsigned char bin[2 + 8 * PAGE_KEYS_MAX];
    size_t n = 0;
    bin[n++] = PAGE_CURSOR_VERSION;
    bin[n++] = (unsigned char)nkeys;
    for (int k = 0; k < nkeys; k++) {
        uint64_t v = (uint64_t)keys[k];
        for (int b = 7; b >= 0; b--)
            bin[n++] = (unsigned char)(v >> (8 * b));
    }
    return b64url_encode(bin, n, out, outsz) < 0 ? -1 : 0;
}

int page_cursor_decode(const char *text, int nkeys, long long *keys)
{
    unsigned char bin[2 + 8 * PAGE_KEYS_MAX];
    size_t len = strlen(text);
    if (nkeys < 1 || nkeys > PAGE_KEYS_MAX || len > PAGE_CURSOR_MAX)
        return -1;
    long n = b64url_decode(text, len, bin, sizeof(bin));
    if (n != 2 + 8 * nkeys || bin[0] != PAGE_CURSOR_VERSION || bin[1] != nkeys)
        return -1;
    for (int k = 0; k < nkeys; k++) {
        uint64_t v = 0;
        for (int b = 0; b < 8; b++)
            v = (v << 8) | bin[2 + 8 * k + b];
        keys[k] = (long long)v;
    }
    return 0;
}

int page_or_fail(gw_call_t *c, int nkeys, page_t *p)
{
    memset(p, 0, sizeof(*p));
    p->nkeys = nkeys;
    long long limit;
    if (query_int_or_fail(c, "limit", 1, PAGE_LIMIT_MAX, PAGE_LIMIT_DEFAULT, &limit) != 0)
        return -1;
    p->limit = (int)limit;
    char buf[PAGE_CURSOR_MAX + 2];
    size_t len = 0;
    int rc = query_value(c, "cursor", buf, sizeof(buf), &len);
    if (rc == 0 || (rc == 1 && len == 0))
        return 0;
    if (rc < 0 || strlen(buf) != len || page_cursor_decode(buf, nkeys, p->key) != 0) {
        call_fail(c, ERR_INVALID_FIELD, "cursor", "cursor is not one this list returned; pass next_cursor unchanged");
        return -1;
    }
    p->has_cursor = 1;
    return 0;
}

long long page_key(const page_t *p, int i, long long first_page_value)
{
    return p->has_cursor && i >= 0 && i < p->nkeys ? p->key[i] : first_page_value;
}

void page_respond_items(gw_call_t *c, const page_t *p, cJSON *items, const db_rows_t *r, const char *const key_cols[])
{
    if (!items) {
        call_fail(c, ERR_OVERLOADED, NULL, "out of memory; retry later");
        return;
    }
    if (r->nrows <= p->limit) {
        call_ok_list(c, items, NULL);
        return;
    }
    long long keys[PAGE_KEYS_MAX];
    for (int k = 0; k < p->nkeys && k < PAGE_KEYS_MAX; k++)
        keys[k] = db_get_int(r, p->limit - 1, key_cols[k]);
    char cursor[PAGE_CURSOR_MAX + 1];
    if (page_cursor_encode(keys, p->nkeys, cursor, sizeof(cursor)) != 0) {
        cJSON_Delete(items);
        call_fail(c, ERR_INTERNAL, NULL, "the list's cursor cannot be written");
        return;
    }
    call_ok_list(c, items, cursor);
}

void page_respond(gw_call_t *c, const page_t *p, const db_rows_t *r, page_render_fn render, void *ud,
                  const char *const key_cols[])
{
    /* The items' tree lives only in this function, so it is built in an
     * arena (json_arena.h) and leaves as its printed text: a raw item, which
     * the envelope prints as it is. */
    int scoped = json_arena_open() == 0;
    cJSON *items = cJSON_CreateArray();
    for (int i = 0; items && i < r->nrows && i < p->limit; i++) {
        cJSON *item = render ? render(r, i, ud) : db_row_json(r, i);
        if (!item || !cJSON_AddItemToArray(items, item)) {
            cJSON_Delete(item);
            cJSON_Delete(items);
            items = NULL;
        }
    }
    if (scoped) {
        char *text = items ? cJSON_PrintUnformatted(items) : NULL;
        char *out = text ? strdup(text) : NULL; /* malloc's, not the arena's */
        json_arena_close();
        items = out ? cJSON_CreateRaw(out) : NULL;
        free(out);
    }
    page_respond_items(c, p, items, r, key_cols);
}

cJSON *rows_json_or_fail(gw_call_t *c, db_conn_t *db, const char *sql, const db_param_t *params, int nparams)
{
    db_rows_t *r = db_query(db, sql, params, nparams);
    if (!r) {
        call_fail_db(c);
        return NULL;
    }
    cJSON *items = db_rows_json(r, 0, r->nrows);
    db_rows_free(r);
    if (!items)
        call_fail(c, ERR_OVERLOADED, NULL, "out of memory; retry later");
    return items;
}
