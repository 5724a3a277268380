#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wechat_push_crypto.h"

const gw_config_t *gw_cfg;

typedef enum { T_STR, T_INT, T_BOOL, T_RATE, T_SHARE } key_type_t;

typedef struct {
    const char *name;
    key_type_t type;
    size_t offset;
    const char *def;
    long min, max; /* for T_INT */
    int secret;    /* may come from <name>_file; never printed */
    const char *help;
} key_def_t;

/* One key a line, however long its meaning: */
/* clang-format off */
#define S(f, d, sec, h) {#f, T_STR, offsetof(gw_config_t, f), d, 0, 0, sec, h}
#define I(f, d, lo, hi, h) {#f, T_INT, offsetof(gw_config_t, f), d, lo, hi, 0, h}
#define B(f, d, h) {#f, T_BOOL, offsetof(gw_config_t, f), d, 0, 1, 0, h}
#define R(f, d, h) {#f, T_RATE, offsetof(gw_config_t, f), d, 0, 0, 0, h}
#define SH(f, d, h) {#f, T_SHARE, offsetof(gw_config_t, f), d, 0, 0, 0, h}

/* Bounds of the parts of rate and share values. */
#define RATE_MAX 1000000
#define SHARE_THREADS_MAX 256
#define SHARE_QUEUE_MAX 100000

static const key_def_t keys[] = {
    S(listen_host, "127.0.0.1", 0, "address the listeners bind to"),
    I(https_port, "8443", 0, 65535, "HTTPS port (0 disables HTTPS)"),
    I(http_port, "0", 0, 65535, "plain-HTTP port for use behind a TLS-terminating load balancer (0 = off)"),
    S(trusted_proxies, "", 0, "comma-separated proxy IPs whose X-Forwarded-For is trusted (plain listeners only)"),
    I(threads, "0", 0, 256, "event-loop threads (0 = one per core)"),
    S(tls_cert_file, "", 0, "PEM certificate chain for HTTPS"),
    S(tls_key_file, "", 0, "PEM private key for HTTPS"),
    B(http2, "false", "offer HTTP/2 in ALPN (off by default: h2o 2.2.5 lacks the Rapid Reset fix)"),
    I(max_body_bytes, "11534336", 1024, 1073741824, "largest request body accepted, uploads included"),
    I(api_max_body_bytes, "0", 0, 1073741824, "largest body read at all on https_port/http_port, refused before it is read (0 = max_body_bytes); set it low when uploads have listeners of their own"),
    I(upload_https_port, "0", 0, 65535, "HTTPS port of extra listeners that read bodies up to max_body_bytes, for photo uploads (0 = off)"),
    I(upload_http_port, "0", 0, 65535, "plain-HTTP port of the upload listeners, for use behind a TLS-terminating load balancer (0 = off)"),
    I(json_max_bytes, "65536", 256, 16777216, "largest JSON body accepted"),
    I(json_max_depth, "16", 1, 256, "deepest JSON nesting accepted"),
    I(idle_timeout_ms, "30000", 100, 3600000, "keep-alive idle timeout"),
    I(shutdown_timeout_ms, "10000", 0, 600000, "on SIGTERM or a hand-over (SIGUSR2), how long in-flight requests may take to finish"),
    S(log_level, "info", 0, "debug, info, warn or error"),
    S(db_socket, "", 0, "MariaDB unix socket (preferred on the same host)"),
    S(db_host, "127.0.0.1", 0, "MariaDB host when db_socket is empty"),
    I(db_port, "3306", 1, 65535, "MariaDB port when db_socket is empty"),
    S(db_user, "gateway", 0, "MariaDB user"),
    S(db_password, "", 1, "MariaDB password (secret; or db_password_file)"),
    S(db_name, "gateway", 0, "MariaDB database"),
    I(db_pool_size, "4", 1, 64, "database connections per event-loop thread"),
    I(db_queue_max, "256", 1, 100000, "jobs that may wait for a connection, per thread, before 503"),
    I(db_queue_timeout_ms, "2000", 10, 600000, "longest a job may wait for a connection before 503"),
    I(db_query_timeout_ms, "5000", 1000, 600000, "read/write timeout of one query (rounded up to seconds)"),
    I(db_connect_timeout_ms, "2000", 100, 60000, "connect timeout to MariaDB"),
    B(db_tls, "false", "require TLS to MariaDB and verify its certificate and host name (a database on another host)"),
    S(db_tls_ca_file, "", 0, "PEM file of the CA that signed MariaDB's certificate (empty = system store)"),
    S(migrate_db_user, "", 0, "MariaDB user with schema rights for migrate, backup and restore (empty = db_user)"),
    S(migrate_db_password_file, "", 0, "file holding migrate_db_user's password, read by migrate, backup and restore only (the service user need not read it)"),
    S(schema_dir, "schema", 0, "directory of numbered migration files"),
    S(media_dir, "var/media", 0, "where uploaded photos are stored (content-addressed)"),
    S(wechat_api_base, "https://api.weixin.qq.com", 0, "WeChat server API base URL (the fake's URL in dev and tests)"),
    S(wechat_appid, "", 0, "mini-program appid"),
    S(wechat_secret, "", 1, "mini-program app secret (secret; or wechat_secret_file)"),
    S(wechat_ca_file, "", 0, "CA bundle for the WeChat API (empty = system store)"),
    I(wechat_timeout_ms, "5000", 100, 120000, "total timeout of one WeChat HTTP attempt"),
    I(wechat_connect_timeout_ms, "3000", 100, 60000, "connect timeout to WeChat"),
    I(wechat_max_retries, "2", 0, 10, "retries on WeChat -1, 5xx and transport errors"),
    I(wechat_workers, "8", 1, 256, "threads making outbound WeChat calls"),
    I(call_deadline_ms, "10000", 100, 600000, "longest a request may take inside the gateway: a step that would start later is skipped and the request answered 503 DEADLINE_EXCEEDED; WeChat calls end by it"),
    I(wechat_token_force_interval_s, "60", 30, 86400, "least time between two forced refreshes of the shared WeChat access token, across all processes"),
    SH(wechat_share_login, "4/64", "WeChat pool share of login code exchanges: threads/queued jobs (threads at most wechat_workers)"),
    SH(wechat_share_phone, "2/32", "WeChat pool share of phone-number exchanges (phone binding, lead intake): threads/queued jobs"),
    SH(wechat_share_text_check, "3/32", "WeChat pool share of repair text checks: threads/queued jobs"),
    SH(wechat_share_media_check, "2/64", "WeChat pool share of photo content-check submissions: threads/queued jobs"),
    SH(wechat_share_qr, "2/16", "WeChat pool share of referral code images: threads/queued jobs"),
    SH(wechat_share_other, "2/16", "WeChat pool share of any other WeChat work on the pool: threads/queued jobs"),
    I(repair_check_max_wait_ms, "1000", 10, 60000, "longest a new repair waits for its WeChat text check to start; then it is stored unchecked"),
    R(rate_login_ip, "60/min burst 60", "login and phone binding, per client address (N/s|min|h [burst B], or off)"),
    R(rate_login_user, "10/min burst 5", "phone binding, per user"),
    R(rate_leads_ip, "60/min burst 30", "lead intake, per client address"),
    R(rate_leads_user, "10/min burst 5", "lead intake, per user"),
    R(rate_uploads_ip, "120/min burst 60", "photo uploads, per client address"),
    R(rate_uploads_user, "30/min burst 20", "photo uploads, per user"),
    R(rate_referral_ip, "120/min burst 60", "referral touches, per client address"),
    R(rate_referral_user, "20/min burst 10", "referral touches, per user"),
    R(rate_default_ip, "1200/min burst 600", "every other route, per client address"),
    R(rate_default_user, "300/min burst 120", "every other route, per user"),
    I(rate_limit_entries, "65536", 256, 16777216, "rate-limit buckets kept per process (40 bytes each, allocated at start); the least recently used are reused first"),
    S(session_keys, "", 1, "session-token signing keys kid=secret,... (first signs; secret; or session_keys_file)"),
    I(session_ttl_s, "604800", 60, 31536000, "session token lifetime in seconds"),
    I(auth_cache_ms, "1000", 0, 60000, "how long a caller's roles are reused before they are loaded again (0 = every request)"),
    S(media_url_key, "", 1, "HMAC key of signed media URLs, 32-512 chars (secret; or media_url_key_file)"),
    I(media_url_ttl_s, "600", 10, 86400, "lifetime of the signed photo URLs handed to clients"),
    I(upload_max_bytes, "10485760", 1024, 1073741824, "largest photo accepted, in bytes of the uploaded file; at most max_body_bytes"),
    I(upload_orphan_ttl_s, "86400", 1, 31536000, "uploads not attached to a ticket are deleted after this many seconds"),
    I(upload_sweep_interval_ms, "60000", 100, 86400000, "how often the orphan sweeper and the content-check retry run"),
    I(upload_daily_max_count, "200", 0, 1000000, "photos one user may upload per day (Asia/Shanghai midnight to midnight; 0 = no limit)"),
    I(upload_daily_max_bytes, "209715200", 0, 2147483647, "bytes of stored photos one user may upload per day (Asia/Shanghai; 0 = no limit)"),
    I(image_max_pixels, "24000000", 1, 400000000, "largest photo accepted, in pixels (width x height, read from the header before decoding)"),
    I(image_decode_budget_bytes, "268435456", 16777216, 2147483647, "memory all photo decodes of the process may hold at once (each reserves its worst case; a photo needing more is refused)"),
    I(image_decode_wait_ms, "2000", 0, 60000, "how long an upload waits for room in image_decode_budget_bytes before 503 OVERLOADED"),
    S(public_base_url, "", 0, "public https base URL of this gateway, for WeChat to fetch photos to check (empty = no content check)"),
    I(media_check_url_ttl_s, "7200", 60, 604800, "lifetime of the signed photo URL given to the WeChat content check"),
    I(media_check_retry_s, "300", 1, 86400, "wait before resubmitting a photo whose content-check submission failed"),
    S(wechat_push_token, "", 1, "Token of the WeChat message push (secret; or wechat_push_token_file; empty = pushes refused)"),
    S(wechat_push_aes_key, "", 1, "EncodingAESKey of the WeChat message push, 43 chars (secret; or wechat_push_aes_key_file; empty = plaintext mode, set = safe mode only)"),
    S(privacy_notice_version, "2025-01", 0, "version of the privacy notice a lead's consent refers to (stored with the lead)"),
    I(lead_first_contact_s, "1800", 1, 604800, "seconds an agent has to contact a new lead before the sales manager is told"),
    I(lead_sweep_interval_ms, "10000", 100, 3600000, "how often overdue first contacts are looked for"),
    I(lead_daily_max_per_submitter, "5", 1, 1000000, "lead submissions one user may make in any 24 hours (then 429)"),
    I(referral_protection_days, "90", 1, 3650, "days a referral touch binds the referee to the referrer"),
    S(referral_qr_page, "pages/referral/index", 0, "mini-program page the referral code image opens (no leading /)"),
    I(repair_cache_slots, "16384", 0, 1048576, "repair tickets whose detail an owner reads from memory (0 = no cache)"),
    I(repair_cache_max_age_s, "30", 1, 3600, "longest a cached ticket detail is served (names, photo URLs)"),
    I(repair_cache_poll_ms, "250", 20, 60000, "how often changes made by other processes evict cached ticket details"),
    I(repair_sweep_interval_ms, "30000", 100, 3600000, "how often the repair overdue list's marks and dispatch retries are looked at (the clocks' reminders and escalations: sla_sweep_interval_ms)"),
    I(repair_reminder_percent, "75", 0, 99, "remind the assigned engineer when this share of a repair clock has passed (0 = no reminders)"),
    I(repair_escalate_engineer_after_s, "0", -1, 31536000, "escalation step 1: seconds after a repair clock breaches until the engineer is told (-1 = skip)"),
    I(repair_escalate_supervisor_after_s, "1800", -1, 31536000, "escalation step 2: seconds after the breach until the project's supervisors are told (-1 = skip)"),
    I(repair_escalate_manager_after_s, "7200", -1, 31536000, "escalation step 3: seconds after the breach until the project managers are told (-1 = skip)"),
    I(repair_reopen_days, "7", 1, 365, "days after a resolution during which the owner may reopen the ticket"),
    I(repair_rating_days, "3", 1, 365, "days after a resolution until an unrated repair ticket closes as closed without rating"),
    I(repair_rating_reminder_hours, "24", 0, 8760, "hours before the auto-close when the owner is reminded to rate a second time (0 = only the reminder at the resolve)"),
    I(satisfaction_sweep_interval_ms, "60000", 100, 3600000, "how often unrated tickets are closed, second reminders to rate sent and overdue follow-up visits reported"),
    I(followup_due_hours, "48", 1, 8760, "hours a follow-up visit (回访) may take before the project's supervisors are told it is overdue"),
    I(followup_sample_percent, "10", 0, 100, "share of closed tickets and complaints sampled for a follow-up visit (poor ratings always get one)"),
    I(followup_sample_seed, "0", 0, 2147483647, "seed of the follow-up sample: a subject is sampled when a hash of the seed, its kind and id falls under the percentage"),
    I(owner_contact_min_days, "30", 0, 365, "no owner is asked for their opinion (a survey, a follow-up visit) more than once in this many days (0 = no limit)"),
    I(survey_open_days, "14", 1, 365, "days a sent survey stays open for answers unless its send names open_days"),
    I(survey_send_batch, "100", 1, 1000, "owners a survey send records, asks and notifies in one transaction"),
    I(complaint_incident_threshold, "3", 2, 1000, "complaints of one category about one building within complaint_incident_window_s that make a group complaint (群诉)"),
    I(complaint_incident_window_s, "86400", 60, 2592000, "the window, in seconds, in which complaint_incident_threshold complaints make a group complaint"),
    I(complaint_escalate_supervisor_after_s, "1800", 0, 31536000, "complaint escalation step 2: seconds after a complaint clock breaches until the project's supervisors are told (step 1, the handler, is at the breach)"),
    I(complaint_escalate_manager_after_s, "7200", 0, 31536000, "complaint escalation step 3: seconds after the breach until the project managers are told"),
    I(complaint_accept_days, "7", 1, 90, "days a proposed complaint resolution waits for the owner before it closes by itself"),
    I(complaint_sweep_interval_ms, "60000", 100, 3600000, "how often resolved complaints are checked for closing without an answer"),
    I(repair_recheck_interval_ms, "60000", 1000, 86400000, "how often repair descriptions whose text check failed are checked again"),
    I(idempotency_ttl_s, "86400", 60, 31536000, "how long an Idempotency-Key and its stored response are kept"),
    S(notification_templates_file, "config/notification-templates.json", 0, "JSON file mapping each notification event kind to its WeChat subscribe template, page and fields"),
    S(notification_miniprogram_state, "formal", 0, "which mini-program version a notification opens: formal, trial or developer"),
    I(notification_dispatch_interval_ms, "1000", 10, 3600000, "how often the notification dispatcher looks for due events"),
    I(notification_batch_size, "20", 1, 500, "events the dispatcher claims at a time"),
    I(notification_send_concurrency, "128", 1, 1024, "WeChat subscribe sends the dispatcher keeps in flight at once, per process (messages/s is about this / WeChat's latency)"),
    I(notification_max_attempts, "8", 1, 100, "send attempts before a notification that keeps failing transiently becomes dead"),
    I(notification_retry_base_ms, "30000", 10, 86400000, "first retry delay of a notification; doubled per attempt, with jitter"),
    I(notification_retry_max_ms, "3600000", 10, 604800000, "longest retry delay of a notification"),
    I(notification_regrant_window_s, "259200", 0, 2592000, "a new subscription grant re-delivers the user's no_quota notifications of that template created within this many seconds (0 = never)"),
    I(notification_outbox_age_interval_ms, "15000", 10, 3600000, "how often the age and size of the unfinished notification outbox are read for /metrics"),
    I(notification_lease_ms, "60000", 1000, 3600000, "how long a claimed notification is reserved for one process, renewed every third of it while the process holds it; at least 2 x wechat_timeout_ms (a send and its token replay)"),
    S(console_dir, "build/console", 0, "folder of the staff console's built files, served at /console/ (loaded into memory at start and on SIGHUP; missing = no console)"),
    S(console_qr_page, "pages/console-login/index", 0, "mini-program page the console's login code opens (no leading /)"),
    I(console_ticket_ttl_s, "120", 5, 600, "seconds a console login ticket (its mini-program code) may be scanned, confirmed and redeemed"),
    I(console_session_idle_s, "1800", 30, 86400, "a console session unused this many seconds ends (idle expiry)"),
    I(console_session_max_s, "43200", 300, 2592000, "a console session ends this many seconds after the login whatever its use (absolute expiry)"),
    R(rate_console_ip, "120/min burst 60", "console login tickets: creation, polling and the code image, per client address"),
    R(rate_console_user, "30/min burst 10", "console login tickets: scan, confirm and reject from the mini-program, per user"),
    S(export_dir, "var/exports", 0, "folder of the CSV export files (written as .part, renamed when complete); every process on one database must share it"),
    I(export_max_rows, "200000", 1, 10000000, "most rows one CSV export may hold (more fails the export: narrow the filters)"),
    I(export_max_bytes, "268435456", 4096, 2147483647, "largest CSV export file in bytes (more fails the export)"),
    I(export_page_rows, "500", 1, 5000, "rows an export reads per statement (keyset page), progress saved after each"),
    I(export_expiry_hours, "24", 1, 720, "hours a finished export's file can be downloaded; then it is deleted (410)"),
    I(export_per_user, "3", 1, 100, "exports one user may have queued or running at once (then 429 EXPORT_LIMIT)"),
    I(export_total, "20", 1, 10000, "exports all users may have queued or running at once (then 503 EXPORTS_BUSY)"),
    I(export_interval_ms, "1000", 10, 3600000, "how often each process looks for queued exports and expired files"),
    R(rate_exports_ip, "60/min burst 20", "starting a CSV export, per client address"),
    R(rate_exports_user, "10/min burst 5", "starting a CSV export, per user"),
    R(rate_customers_ip, "120/min burst 30", "the service desk's customer lookup by phone and phone reveal, per client address"),
    R(rate_customers_user, "30/min burst 10", "the service desk's customer lookup by phone and phone reveal, per user"),
    I(sla_sweep_interval_ms, "30000", 100, 3600000, "how often service-level clocks are checked for due reminders and escalations (every kind of ticket) and the business calendar for changes"),
    S(sla_holidays_file, "config/holidays-cn.json", 0, "JSON file of the business calendar's weekly pattern and the shipped holiday years, seeded into the database (docs/sla.md)"),
};
/* clang-format on */
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static const key_def_t *find_key(const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

static char *read_secret_file(const char *key, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "config: %s_file: cannot open %s: %s\n", key, path, strerror(errno));
        return NULL;
    }
    char buf[8192];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strdup(trim(buf));
}

/* A whole decimal number in 1..max at *p, advancing *p; -1 if none. */
static long read_count(const char **p, long max)
{
    if (!isdigit((unsigned char)**p))
        return -1;
    char *end;
    errno = 0;
    long v = strtol(*p, &end, 10);
    if (errno || v < 1 || v > max)
        return -1;
    *p = end;
    return v;
}

/* "off" or "<count>/<s|min|h>[ burst <n>]". */
static int parse_rate(const char *key, const char *value, gw_rate_t *out)
{
    if (!strcasecmp(value, "off")) {
        *out = (gw_rate_t){0, 1, 0};
        return 0;
    }
    const char *p = value;
    long count = read_count(&p, RATE_MAX), burst;
    int period = 0;
    if (count > 0 && *p == '/') {
        p++;
        size_t n = strcspn(p, " ");
        if (n == 1 && *p == 's')
            period = 1;
        else if (n == 3 && !strncmp(p, "min", 3))
            period = 60;
        else if (n == 1 && *p == 'h')
            period = 3600;
        p += n;
    }
    burst = count;
    if (period && !strncmp(p, " burst ", 7)) {
        p += 7;
        burst = read_count(&p, RATE_MAX);
    }
    if (!period || burst < 1 || *p) {
        fprintf(stderr,
                "config: %s: \"%s\" is not a rate: <count>/<s|min|h> [burst <n>], or off (count and burst 1..%d)\n",
                key, value, RATE_MAX);
        return -1;
    }
    *out = (gw_rate_t){(int)count, period, (int)burst};
    return 0;
}

/* "<threads>/<queue>". */
static int parse_share(const char *key, const char *value, gw_share_t *out)
{
    const char *p = value;
    long threads = read_count(&p, SHARE_THREADS_MAX), queue = -1;
    if (threads > 0 && *p == '/') {
        p++;
        if (*p == '0' && p[1] == '\0') {
            queue = 0;
            p++;
        } else {
            queue = read_count(&p, SHARE_QUEUE_MAX);
        }
    }
    if (queue < 0 || *p) {
        fprintf(stderr, "config: %s: \"%s\" is not a share: <threads 1..%d>/<queued jobs 0..%d>\n", key, value,
                SHARE_THREADS_MAX, SHARE_QUEUE_MAX);
        return -1;
    }
    *out = (gw_share_t){(int)threads, (int)queue};
    return 0;
}

/* Sets one key from its textual value; returns -1 after printing the error. */
static int set_value(gw_config_t *cfg, const key_def_t *k, const char *value)
{
    void *slot = (char *)cfg + k->offset;
    switch (k->type) {
    case T_STR: {
        char **p = slot;
        free(*p);
        *p = strdup(value);
        return 0;
    }
    case T_INT: {
        char *end;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (errno || end == value || *end != '\0') {
            fprintf(stderr, "config: %s: \"%s\" is not an integer\n", k->name, value);
            return -1;
        }
        if (v < k->min || v > k->max) {
            fprintf(stderr, "config: %s: %ld is out of range %ld..%ld\n", k->name, v, k->min, k->max);
            return -1;
        }
        *(int *)slot = (int)v;
        return 0;
    }
    case T_RATE:
        return parse_rate(k->name, value, slot);
    case T_SHARE:
        return parse_share(k->name, value, slot);
    case T_BOOL:
        if (!strcasecmp(value, "true") || !strcmp(value, "1") || !strcasecmp(value, "yes") || !strcasecmp(value, "on"))
            *(int *)slot = 1;
        else if (!strcasecmp(value, "false") || !strcmp(value, "0") || !strcasecmp(value, "no") ||
                 !strcasecmp(value, "off"))
            *(int *)slot = 0;
        else {
            fprintf(stderr, "config: %s: \"%s\" is not a boolean (true/false)\n", k->name, value);
            return -1;
        }
        return 0;
    }
    return -1;
}

/* Applies "name = value" where name may be "<secret key>_file". */
static int apply(gw_config_t *cfg, const char *name, const char *value, const char *where)
{
    const key_def_t *k = find_key(name);
    if (k)
        return set_value(cfg, k, value);
    size_t n = strlen(name);
    if (n > 5 && strcmp(name + n - 5, "_file") == 0) {
        char base[64];
        if (n - 5 < sizeof(base)) {
            memcpy(base, name, n - 5);
            base[n - 5] = '\0';
            k = find_key(base);
            if (k && k->secret) {
                char *secret = read_secret_file(base, value);
                if (!secret)
                    return -1;
                int rc = set_value(cfg, k, secret);
                free(secret);
                return rc;
            }
        }
    }
    fprintf(stderr, "config: %s: unknown key (%s)\n", name, where);
    return -1;
}

static int load_file(gw_config_t *cfg, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "config: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[4096];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        lineno++;
        char *s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            fprintf(stderr, "config: %s:%d: expected key = value\n", path, lineno);
            rc = -1;
            break;
        }
        *eq = '\0';
        char where[512];
        snprintf(where, sizeof(where), "%s:%d", path, lineno);
        rc = apply(cfg, trim(s), trim(eq + 1), where);
    }
    fclose(f);
    return rc;
}

static void env_name(const char *key, const char *suffix, char *out, size_t outsz)
{
    size_t i = 0;
    i += (size_t)snprintf(out, outsz, "GATEWAY_");
    for (const char *p = key; *p && i + 1 < outsz; p++)
        out[i++] = (char)toupper((unsigned char)*p);
    out[i] = '\0';
    strncat(out, suffix, outsz - strlen(out) - 1);
}

static int load_env(gw_config_t *cfg)
{
    for (size_t i = 0; i < NKEYS; i++) {
        char name[96];
        env_name(keys[i].name, "", name, sizeof(name));
        const char *v = getenv(name);
        if (v && set_value(cfg, &keys[i], v) != 0)
            return -1;
        if (keys[i].secret) {
            env_name(keys[i].name, "_FILE", name, sizeof(name));
            v = getenv(name);
            if (v) {
                char fname[96];
                snprintf(fname, sizeof(fname), "%s_file", keys[i].name);
                if (apply(cfg, fname, v, name) != 0)
                    return -1;
            }
        }
    }
    return 0;
}

/* Checks that need more than one key or more than a range. */
static int validate(const gw_config_t *c)
{
    static const char *levels[] = {"debug", "info", "warn", "error"};
    int ok = 0;
    for (size_t i = 0; i < 4; i++)
        ok |= strcmp(c->log_level, levels[i]) == 0;
    if (!ok) {
        fprintf(stderr, "config: log_level: \"%s\" is not one of debug, info, warn, error\n", c->log_level);
        return -1;
    }
    if (strcmp(c->notification_miniprogram_state, "formal") && strcmp(c->notification_miniprogram_state, "trial") &&
        strcmp(c->notification_miniprogram_state, "developer")) {
        fprintf(stderr, "config: notification_miniprogram_state: must be formal, trial or developer\n");
        return -1;
    }
    if (c->notification_retry_max_ms < c->notification_retry_base_ms) {
        fprintf(stderr, "config: notification_retry_max_ms: smaller than notification_retry_base_ms\n");
        return -1;
    }
    /* A lease shorter than a send would let another process send it again. */
    if ((long long)c->notification_lease_ms < 2LL * c->wechat_timeout_ms) {
        fprintf(stderr, "config: notification_lease_ms: must be at least 2 x wechat_timeout_ms\n");
        return -1;
    }
    if (c->db_tls && *c->db_socket) {
        fprintf(stderr, "config: db_tls: is for TCP connections; db_socket is set\n");
        return -1;
    }
    if (c->https_port == 0 && c->http_port == 0) {
        fprintf(stderr, "config: https_port: both https_port and http_port are 0; nothing to serve\n");
        return -1;
    }
    if (c->https_port && (!*c->tls_cert_file || !*c->tls_key_file)) {
        fprintf(stderr, "config: tls_cert_file: HTTPS needs tls_cert_file and tls_key_file\n");
        return -1;
    }
    if (c->json_max_bytes > c->max_body_bytes) {
        fprintf(stderr, "config: json_max_bytes: larger than max_body_bytes\n");
        return -1;
    }
    if (c->api_max_body_bytes &&
        (c->api_max_body_bytes < c->json_max_bytes || c->api_max_body_bytes > c->max_body_bytes)) {
        fprintf(stderr, "config: api_max_body_bytes: must be 0 or between json_max_bytes and max_body_bytes\n");
        return -1;
    }
    if (c->upload_https_port && (!*c->tls_cert_file || !*c->tls_key_file)) {
        fprintf(stderr, "config: upload_https_port: HTTPS needs tls_cert_file and tls_key_file\n");
        return -1;
    }
    if (strncmp(c->wechat_api_base, "http://", 7) && strncmp(c->wechat_api_base, "https://", 8)) {
        fprintf(stderr, "config: wechat_api_base: must start with http:// or https://\n");
        return -1;
    }
    if (!*c->wechat_appid) {
        fprintf(stderr, "config: wechat_appid: required\n");
        return -1;
    }
    if (!*c->wechat_secret) {
        fprintf(stderr, "config: wechat_secret: required (or wechat_secret_file)\n");
        return -1;
    }
    if (*c->wechat_push_aes_key) {
        unsigned char key[WXPC_KEY_BYTES];
        int bad = wxpc_key_decode(c->wechat_push_aes_key, key) != 0;
        OPENSSL_cleanse(key, sizeof key);
        if (bad) {
            fprintf(stderr,
                    "config: wechat_push_aes_key: must be the 43-character EncodingAESKey (base64 of 32 bytes)\n");
            return -1;
        }
    }
    if (strlen(c->media_url_key) < 32 || strlen(c->media_url_key) > 512) {
        fprintf(stderr, "config: media_url_key: required, 32-512 chars (or media_url_key_file)\n");
        return -1;
    }
    if (c->upload_max_bytes > c->max_body_bytes) {
        fprintf(stderr, "config: upload_max_bytes: larger than max_body_bytes\n");
        return -1;
    }
    if (*c->public_base_url && strncmp(c->public_base_url, "http://", 7) &&
        strncmp(c->public_base_url, "https://", 8)) {
        fprintf(stderr, "config: public_base_url: must start with http:// or https://\n");
        return -1;
    }
    if (!*c->privacy_notice_version || strlen(c->privacy_notice_version) > 32) {
        fprintf(stderr, "config: privacy_notice_version: required, at most 32 chars\n");
        return -1;
    }
    if (*c->referral_qr_page == '/' || strchr(c->referral_qr_page, '?')) {
        fprintf(stderr, "config: referral_qr_page: a page path without a leading / or a query\n");
        return -1;
    }
    /* session_keys: kid=secret pairs, kid [A-Za-z0-9_-]{1,16}, secret >= 32 chars */
    if (!*c->session_keys) {
        fprintf(stderr, "config: session_keys: required (or session_keys_file)\n");
        return -1;
    }
    const char *p = c->session_keys;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t kid_len = eq ? (size_t)(eq - p) : 0;
        if (!eq || kid_len == 0 || kid_len > 16 || len - kid_len - 1 < 32) {
            fprintf(
                stderr,
                "config: session_keys: each entry must be kid=secret with a 1-16 char kid and a secret of 32+ chars\n");
            return -1;
        }
        for (size_t i = 0; i < kid_len; i++)
            if (!isalnum((unsigned char)p[i]) && p[i] != '_' && p[i] != '-') {
                fprintf(stderr, "config: session_keys: kid may only hold letters, digits, _ and -\n");
                return -1;
            }
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

int config_load(const char *path, gw_config_t *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < NKEYS; i++)
        if (set_value(out, &keys[i], keys[i].def) != 0)
            return -1;
    if (path && load_file(out, path) != 0)
        return -1;
    if (load_env(out) != 0)
        return -1;
    return validate(out);
}

void config_free(gw_config_t *cfg)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (keys[i].type == T_STR) {
            char **p = (char **)((char *)cfg + keys[i].offset);
            free(*p);
            *p = NULL;
        }
}

void config_print_keys(void)
{
    printf("| key | environment | default | meaning |\n| --- | --- | --- | --- |\n");
    for (size_t i = 0; i < NKEYS; i++) {
        char env[96];
        env_name(keys[i].name, "", env, sizeof(env));
        printf("| `%s` | `%s`%s | `%s` | %s |\n", keys[i].name, env, keys[i].secret ? " (or `_FILE`)" : "", keys[i].def,
               keys[i].help);
    }
}
