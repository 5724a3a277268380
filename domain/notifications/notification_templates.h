/* notification_templates.h: which WeChat subscribe template each event kind
 * uses, and how its message is built from the event.
 *
 * The mapping is configuration (notification_templates_file, a JSON file; see
 * config/notification-templates.json and miniprogram-api.md):
 *
 *   {"templates": {"TPL_ID": {"title": "...", "long_term": false}, ...},
 *    "kinds": {"repair.dispatched": {
 *        "template_id": "TPL_ID",
 *        "page": "pages/repair/detail?id={ref_id}",
 *        "title": "报修已派单",                      inbox title
 *        "summary": "{category}：{engineer_name}",  inbox text
 *        "data": {"thing1": "{category}", "phrase3": "{state_label|已派单}"}}}}
 *
 * Patterns take {key} from the event's payload (or the event's own ref_id,
 * ref_type and kind); {key|text} gives text when the key is missing, and a
 * missing key without one becomes "-". Each data value is then built by its
 * keyword type (gateway/wechat_keywords.h), so it always fits WeChat's
 * limits: this module says which part of which event fills which keyword,
 * wechat_keywords.h how a value of a keyword type must look.
 *
 * Parsing and building are pure; the process-wide copy is loaded once at
 * start-up and read-only afterwards. */
#ifndef NOTIFICATION_TEMPLATES_H
#define NOTIFICATION_TEMPLATES_H
#include <cjson/cJSON.h>
#include <stddef.h>

#include "gateway/wechat_keywords.h"

typedef struct {
    char *id;
    char *title;
    int long_term; /* WeChat allows this app long-term subscriptions to it */
} ntpl_template_t;

typedef struct {
    char *key; /* "thing1" */
    wx_kw_type_t type;
    char *pattern;
} ntpl_field_t;

typedef struct {
    char *kind;
    const ntpl_template_t *tpl;
    char *page; /* pattern, or NULL: the card opens nothing */
    char *title;
    char *summary; /* pattern, or NULL */
    ntpl_field_t *fields;
    int nfields;
} ntpl_kind_t;

typedef struct {
    ntpl_template_t *templates;
    int ntemplates;
    ntpl_kind_t *kinds;
    int nkinds;
} ntpl_config_t;

/* What a message is built from. */
typedef struct {
    const char *kind;
    const char *ref_type;
    long long ref_id;
    const cJSON *payload;   /* an object, or NULL */
    const char *created_at; /* "YYYY-MM-DD HH:MM": stands in for unreadable times */
} ntpl_event_t;

#define NTPL_SUMMARY_MAX_CHARS 120

/* NULL with a one-line reason in err (naming the offending key) on error. */
ntpl_config_t *ntpl_parse(const char *text, size_t len, char *err, size_t errsz);
ntpl_config_t *ntpl_load(const char *path, char *err, size_t errsz);
void ntpl_free(ntpl_config_t *cfg);

const ntpl_kind_t *ntpl_kind(const ntpl_config_t *cfg, const char *kind);
const ntpl_template_t *ntpl_template(const ntpl_config_t *cfg, const char *template_id);

/* The pattern with its placeholders filled in; malloc'ed. */
char *ntpl_expand(const char *pattern, const ntpl_event_t *ev);
/* The subscribe-message request body {touser, template_id, page, data[,
 * miniprogram_state]}; miniprogram_state NULL leaves WeChat's default. */
cJSON *ntpl_message(const ntpl_kind_t *k, const ntpl_event_t *ev, const char *openid, const char *miniprogram_state);
/* Inbox text: the expanded summary (or the title) cut to
 * NTPL_SUMMARY_MAX_CHARS characters; malloc'ed. */
char *ntpl_summary(const ntpl_kind_t *k, const ntpl_event_t *ev);

/* The process-wide configuration from notification_templates_file. The first
 * call loads it (before the server threads start); a file that cannot be
 * loaded is a configuration error: one line on stderr and exit status 2. */
const ntpl_config_t *notification_templates(void);

#endif
