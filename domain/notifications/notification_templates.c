/* notification_templates.c: loading the kind -> template mapping and building
 * messages from events (see the header for the file format). */
#include "domain/notifications/notification_templates.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/config.h"
#include "gateway/json_util.h"

#define MAX_FILE_BYTES (1024 * 1024)
#define MAX_EXPANDED_BYTES 4096 /* one expanded pattern; longer payload text is cut anyway */
#define MAX_KEY_CHARS 64

static void set_err(char *err, size_t errsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errsz, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
}

/* ---- parsing --------------------------------------------------------------- */

/* obj[name] as a string: required or optional (NULL when absent). -1 on a
 * wrong type, with err set. */
static int get_string(const cJSON *obj, const char *name, int required, const char *where, char **out, char *err,
                      size_t errsz)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    *out = NULL;
    if (!v || cJSON_IsNull(v)) {
        if (required)
            set_err(err, errsz, "%s.%s is required", where, name);
        return required ? -1 : 0;
    }
    if (!cJSON_IsString(v) || !v->valuestring[0] || utf8_length(v->valuestring, strlen(v->valuestring)) < 0) {
        set_err(err, errsz, "%s.%s must be a non-empty UTF-8 string", where, name);
        return -1;
    }
    if (!(*out = strdup(v->valuestring))) {
        set_err(err, errsz, "out of memory");
        return -1;
    }
    return 0;
}

static int parse_templates(const cJSON *obj, ntpl_config_t *cfg, char *err, size_t errsz)
{
    const cJSON *t;
    int n = cJSON_GetArraySize(obj);

    if (!cJSON_IsObject(obj) || n == 0) {
        set_err(err, errsz, "templates must be a non-empty object of template ids");
        return -1;
    }
    if (!(cfg->templates = calloc((size_t)n, sizeof *cfg->templates))) {
        set_err(err, errsz, "out of memory");
        return -1;
    }
    cJSON_ArrayForEach(t, obj)
    {
        ntpl_template_t *tpl = &cfg->templates[cfg->ntemplates++];
        char where[192];
        snprintf(where, sizeof where, "templates.%.128s", t->string);
        if (!cJSON_IsObject(t) || !t->string[0] || strlen(t->string) > 128) {
            set_err(err, errsz, "%s must be an object under an id of 1-128 characters", where);
            return -1;
        }
        if (!(tpl->id = strdup(t->string))) {
            set_err(err, errsz, "out of memory");
            return -1;
        }
        if (get_string(t, "title", 0, where, &tpl->title, err, errsz) != 0)
            return -1;
        const cJSON *lt = cJSON_GetObjectItemCaseSensitive(t, "long_term");
        if (lt && !cJSON_IsBool(lt)) {
            set_err(err, errsz, "%s.long_term must be true or false", where);
            return -1;
        }
        tpl->long_term = cJSON_IsTrue(lt);
    }
    return 0;
}

static int parse_fields(const cJSON *data, ntpl_kind_t *k, const char *where, char *err, size_t errsz)
{
    const cJSON *f;
    int n = cJSON_GetArraySize(data);

    if (!cJSON_IsObject(data) || n == 0) {
        set_err(err, errsz, "%s.data must be a non-empty object of keyword: pattern", where);
        return -1;
    }
    if (!(k->fields = calloc((size_t)n, sizeof *k->fields))) {
        set_err(err, errsz, "out of memory");
        return -1;
    }
    cJSON_ArrayForEach(f, data)
    {
        ntpl_field_t *fld = &k->fields[k->nfields++];
        fld->type = wx_kw_type_of_key(f->string);
        if (fld->type == WX_KW_INVALID) {
            set_err(err, errsz,
                    "%s.data.%.64s: not a keyword WeChat knows (thing, number, letter, symbol, character_string, "
                    "time, date, amount, phone_number, car_number, name or phrase, then its number)",
                    where, f->string);
            return -1;
        }
        if (!cJSON_IsString(f)) {
            set_err(err, errsz, "%s.data.%.64s must be a string pattern", where, f->string);
            return -1;
        }
        if (!(fld->key = strdup(f->string)) || !(fld->pattern = strdup(f->valuestring))) {
            set_err(err, errsz, "out of memory");
            return -1;
        }
    }
    return 0;
}

static int parse_kinds(const cJSON *obj, ntpl_config_t *cfg, char *err, size_t errsz)
{
    const cJSON *kv;
    int n = cJSON_GetArraySize(obj);

    if (!cJSON_IsObject(obj) || n == 0) {
        set_err(err, errsz, "kinds must be a non-empty object of event kinds");
        return -1;
    }
    if (!(cfg->kinds = calloc((size_t)n, sizeof *cfg->kinds))) {
        set_err(err, errsz, "out of memory");
        return -1;
    }
    cJSON_ArrayForEach(kv, obj)
    {
        ntpl_kind_t *k = &cfg->kinds[cfg->nkinds++];
        char where[128], *template_id = NULL;
        snprintf(where, sizeof where, "kinds.%.48s", kv->string);
        if (!cJSON_IsObject(kv) || !kv->string[0] || strlen(kv->string) > 48) {
            set_err(err, errsz, "%s must be an object under a kind of 1-48 characters", where);
            return -1;
        }
        if (!(k->kind = strdup(kv->string))) {
            set_err(err, errsz, "out of memory");
            return -1;
        }
        if (get_string(kv, "template_id", 1, where, &template_id, err, errsz) != 0)
            return -1;
        k->tpl = ntpl_template(cfg, template_id);
        if (!k->tpl)
            set_err(err, errsz, "%s.template_id: %.128s is not listed under templates", where, template_id);
        free(template_id);
        if (!k->tpl || get_string(kv, "page", 0, where, &k->page, err, errsz) != 0 ||
            get_string(kv, "title", 1, where, &k->title, err, errsz) != 0 ||
            get_string(kv, "summary", 0, where, &k->summary, err, errsz) != 0)
            return -1;
        if (k->page && k->page[0] == '/') {
            set_err(err, errsz, "%s.page must not start with '/' (WeChat pages are relative)", where);
            return -1;
        }
        if (parse_fields(cJSON_GetObjectItemCaseSensitive(kv, "data"), k, where, err, errsz) != 0)
            return -1;
    }
    return 0;
}

ntpl_config_t *ntpl_parse(const char *text, size_t len, char *err, size_t errsz)
{
    ntpl_config_t *cfg = calloc(1, sizeof *cfg);
    cJSON *root = cJSON_ParseWithLength(text, len);
    int rc = -1;

    if (!cfg) {
        set_err(err, errsz, "out of memory");
        goto Exit;
    }
    if (!cJSON_IsObject(root)) {
        set_err(err, errsz, "not a JSON object");
        goto Exit;
    }
    if (parse_templates(cJSON_GetObjectItemCaseSensitive(root, "templates"), cfg, err, errsz) != 0 ||
        parse_kinds(cJSON_GetObjectItemCaseSensitive(root, "kinds"), cfg, err, errsz) != 0)
        goto Exit;
    rc = 0;
Exit:
    cJSON_Delete(root);
    if (rc != 0) {
        ntpl_free(cfg);
        cfg = NULL;
    }
    return cfg;
}

ntpl_config_t *ntpl_load(const char *path, char *err, size_t errsz)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0;
    ntpl_config_t *cfg = NULL;

    if (!f) {
        set_err(err, errsz, "cannot open %s: %s", path, strerror(errno));
        goto Exit;
    }
    if (!(buf = malloc(MAX_FILE_BYTES + 1))) {
        set_err(err, errsz, "out of memory");
        goto Exit;
    }
    n = fread(buf, 1, MAX_FILE_BYTES + 1, f);
    if (n > MAX_FILE_BYTES) {
        set_err(err, errsz, "%s is larger than %d bytes", path, MAX_FILE_BYTES);
        goto Exit;
    }
    cfg = ntpl_parse(buf, n, err, errsz);
Exit:
    if (f)
        fclose(f);
    free(buf);
    return cfg;
}

void ntpl_free(ntpl_config_t *cfg)
{
    if (!cfg)
        return;
    for (int i = 0; i < cfg->ntemplates; i++) {
        free(cfg->templates[i].id);
        free(cfg->templates[i].title);
    }
    for (int i = 0; i < cfg->nkinds; i++) {
        ntpl_kind_t *k = &cfg->kinds[i];
        for (int j = 0; j < k->nfields; j++) {
            free(k->fields[j].key);
            free(k->fields[j].pattern);
        }
        free(k->fields);
        free(k->kind);
        free(k->page);
        free(k->title);
        free(k->summary);
    }
    free(cfg->templates);
    free(cfg->kinds);
    free(cfg);
}

const ntpl_kind_t *ntpl_kind(const ntpl_config_t *cfg, const char *kind)
{
    for (int i = 0; cfg && kind && i < cfg->nkinds; i++)
        if (strcmp(cfg->kinds[i].kind, kind) == 0)
            return &cfg->kinds[i];
    return NULL;
}

const ntpl_template_t *ntpl_template(const ntpl_config_t *cfg, const char *template_id)
{
    for (int i = 0; cfg && template_id && i < cfg->ntemplates; i++)
        if (cfg->templates[i].id && strcmp(cfg->templates[i].id, template_id) == 0)
            return &cfg->templates[i];
    return NULL;
}

/* ---- expanding patterns ---------------------------------------------------- */

typedef struct {
    char *s;
    size_t len, cap;
} sbuf_t;

/* Appends up to the expansion cap, never cutting a character. */
static void sbuf_add(sbuf_t *b, const char *s, size_t n)
{
    if (b->len + n > MAX_EXPANDED_BYTES)
        n = utf8_prefix_bytes(s, MAX_EXPANDED_BYTES - b->len, (size_t)-1);
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p)
            return;
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

/* The text of a placeholder's value into buf; NULL when the event has none. */
static const char *lookup(const ntpl_event_t *ev, const char *key, char *buf, size_t bufsz)
{
    const cJSON *v;

    if (strcmp(key, "ref_id") == 0) {
        snprintf(buf, bufsz, "%lld", ev->ref_id);
        return buf;
    }
    if (strcmp(key, "ref_type") == 0)
        return ev->ref_type;
    if (strcmp(key, "kind") == 0)
        return ev->kind;
    v = cJSON_IsObject(ev->payload) ? cJSON_GetObjectItemCaseSensitive(ev->payload, key) : NULL;
    if (cJSON_IsString(v))
        return v->valuestring;
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d == floor(d) && fabs(d) < 1e15)
            snprintf(buf, bufsz, "%.0f", d);
        else
            snprintf(buf, bufsz, "%.15g", d);
        return buf;
    }
    if (cJSON_IsBool(v))
        return cJSON_IsTrue(v) ? "true" : "false";
    return NULL;
}

/* Parses "{key}" or "{key|default}" at p. Returns the length of the whole
 * placeholder, or 0 when p does not start one (the '{' is then literal). */
static size_t placeholder_at(const char *p, char *key, const char **dflt, size_t *dflt_len)
{
    size_t n = 1;

    while ((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z') || (p[n] >= '0' && p[n] <= '9') || p[n] == '_')
        n++;
    if (n == 1 || n - 1 > MAX_KEY_CHARS)
        return 0;
    memcpy(key, p + 1, n - 1);
    key[n - 1] = '\0';
    *dflt = NULL;
    *dflt_len = 0;
    if (p[n] == '|') {
        const char *close = strchr(p + n + 1, '}');
        if (!close)
            return 0;
        *dflt = p + n + 1;
        *dflt_len = (size_t)(close - *dflt);
        return (size_t)(close - p) + 1;
    }
    return p[n] == '}' ? n + 1 : 0;
}

char *ntpl_expand(const char *pattern, const ntpl_event_t *ev)
{
    sbuf_t b = {0};
    const char *p = pattern ? pattern : "";

    sbuf_add(&b, "", 0);
    while (*p) {
        char key[MAX_KEY_CHARS + 1], num[64];
        const char *dflt, *value;
        size_t dflt_len, n;
        const char *brace = strchr(p, '{');
        if (!brace) {
            sbuf_add(&b, p, strlen(p));
            break;
        }
        sbuf_add(&b, p, (size_t)(brace - p));
        n = placeholder_at(brace, key, &dflt, &dflt_len);
        if (n == 0) {
            sbuf_add(&b, "{", 1);
            p = brace + 1;
            continue;
        }
        value = lookup(ev, key, num, sizeof num);
        if (value && value[0])
            sbuf_add(&b, value, strlen(value));
        else if (dflt)
            sbuf_add(&b, dflt, dflt_len);
        else
            sbuf_add(&b, "-", 1);
        p = brace + n;
    }
    return b.s;
}

/* ---- messages ------------------------------------------------------------- */

cJSON *ntpl_message(const ntpl_kind_t *k, const ntpl_event_t *ev, const char *openid, const char *miniprogram_state)
{
    cJSON *msg = cJSON_CreateObject(), *data;
    char value[WX_KW_VALUE_MAX], *text = NULL;
    int ok = msg && cJSON_AddStringToObject(msg, "touser", openid) &&
             cJSON_AddStringToObject(msg, "template_id", k->tpl->id);

    if (ok && k->page) {
        text = ntpl_expand(k->page, ev);
        ok = text && cJSON_AddStringToObject(msg, "page", text);
        free(text);
    }
    ok = ok && (data = cJSON_AddObjectToObject(msg, "data")) != NULL;
    for (int i = 0; ok && i < k->nfields; i++) {
        text = ntpl_expand(k->fields[i].pattern, ev);
        wx_kw_build(k->fields[i].type, text, ev->created_at, value);
        free(text);
        cJSON *entry = cJSON_AddObjectToObject(data, k->fields[i].key);
        ok = entry && cJSON_AddStringToObject(entry, "value", value);
    }
    if (ok && miniprogram_state && miniprogram_state[0])
        ok = cJSON_AddStringToObject(msg, "miniprogram_state", miniprogram_state) != NULL;
    if (!ok) {
        cJSON_Delete(msg);
        msg = NULL;
    }
    return msg;
}

char *ntpl_summary(const ntpl_kind_t *k, const ntpl_event_t *ev)
{
    char *text = ntpl_expand(k->summary ? k->summary : k->title, ev);
    if (text)
        text[utf8_prefix_bytes(text, strlen(text), NTPL_SUMMARY_MAX_CHARS)] = '\0';
    return text;
}

/* ---- the process-wide copy ------------------------------------------------ */

static ntpl_config_t *loaded;

static void free_loaded(void)
{
    ntpl_free(loaded);
    loaded = NULL;
}

const ntpl_config_t *notification_templates(void)
{
    char err[512];

    if (loaded)
        return loaded;
    loaded = ntpl_load(gw_cfg->notification_templates_file, err, sizeof err);
    if (!loaded) {
        fprintf(stderr, "config: notification_templates_file: %s\n", err);
        exit(2);
    }
    atexit(free_loaded);
    return loaded;
}
