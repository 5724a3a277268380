/* config.h: the gateway's configuration.
 *
 * One file of `key = value` lines (# comments), then environment overrides:
 * every key KEY can be set with GATEWAY_<KEY in upper case>. A secret key
 * (marked in the table in config.c) may instead name a file with
 * <key>_file / GATEWAY_<KEY>_FILE, whose content (trailing newline trimmed) is
 * the value. Everything is validated at start; the first bad value is reported
 * in one line naming the key. After config_load the struct is read-only. */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H
#include <stddef.h>

/* A token bucket: `count` tokens every `period_s` seconds, at most `burst`
 * at once. Written "<count>/<s|min|h>" with an optional " burst <n>"
 * (default: count), or "off" (count 0: no limit). */
typedef struct {
    int count;
    int period_s;
    int burst;
} gw_rate_t;

/* A class's share of a worker pool, written "<threads>/<queue>": at most
 * that many of its jobs running and that many waiting. */
typedef struct {
    int threads;
    int queue;
} gw_share_t;

typedef struct {
    /* server */
    char *listen_host;
    int https_port;        /* 0 disables the HTTPS listener */
    int http_port;         /* plain HTTP for a TLS-terminating balancer; 0 = off */
    char *trusted_proxies; /* comma-separated IPs whose X-Forwarded-For is believed */
    int threads;           /* event-loop threads; 0 = one per core */
    char *tls_cert_file;
    char *tls_key_file;
    int http2;              /* opt-in; see README (Rapid Reset) */
    int max_body_bytes;     /* cap for any request body (uploads included) */
    int api_max_body_bytes; /* h2o's cap on https_port/http_port; 0 = max_body_bytes */
    int upload_https_port;  /* listeners whose cap is max_body_bytes; 0 = off */
    int upload_http_port;
    int json_max_bytes; /* cap for JSON bodies */
    int json_max_depth;
    int idle_timeout_ms;
    int shutdown_timeout_ms;
    char *log_level;
    /* database */
    char *db_socket; /* unix socket; preferred on the same host */
    char *db_host;
    int db_port;
    char *db_user;
    char *db_password; /* secret */
    char *db_name;
    int db_pool_size; /* connections per event-loop thread */
    int db_queue_max; /* waiting jobs per event-loop thread before 503 */
    int db_queue_timeout_ms;
    int db_query_timeout_ms;
    int db_connect_timeout_ms;
    int db_tls;                     /* require TLS to MariaDB and verify its certificate */
    char *db_tls_ca_file;           /* CA of MariaDB's certificate; "" = system store */
    char *migrate_db_user;          /* migrate, backup, restore; "" = db_user */
    char *migrate_db_password_file; /* read only by migrate/backup/restore, never by the service */
    char *schema_dir;
    char *media_dir;
    /* WeChat */
    char *wechat_api_base;
    char *wechat_appid;
    char *wechat_secret; /* secret */
    char *wechat_ca_file;
    int wechat_timeout_ms;
    int wechat_connect_timeout_ms;
    int wechat_max_retries;
    int wechat_workers;
    int call_deadline_ms;              /* per request: later steps are skipped (503 DEADLINE_EXCEEDED) */
    int wechat_token_force_interval_s; /* between forced token refreshes, all processes */
    /* shares of the WeChat pool per class of work (router.h wx_class_t) */
    gw_share_t wechat_share_login;
    gw_share_t wechat_share_phone;
    gw_share_t wechat_share_text_check;
    gw_share_t wechat_share_media_check;
    gw_share_t wechat_share_qr;
    gw_share_t wechat_share_other;
    int repair_check_max_wait_ms; /* then the ticket is stored unchecked */
    /* rate limits per class (router.h rate_class_t), per address and per user */
    gw_rate_t rate_login_ip;
    gw_rate_t rate_login_user;
    gw_rate_t rate_leads_ip;
    gw_rate_t rate_leads_user;
    gw_rate_t rate_uploads_ip;
    gw_rate_t rate_uploads_user;
    gw_rate_t rate_referral_ip;
    gw_rate_t rate_referral_user;
    gw_rate_t rate_default_ip;
    gw_rate_t rate_default_user;
    int rate_limit_entries; /* buckets kept per process */
    /* sessions */
    char *session_keys; /* secret: "kid=secret[,kid=secret...]"; the first signs */
    int session_ttl_s;
    int auth_cache_ms; /* caller's roles reused this long; 0 = off */
    /* uploads and media */
    char *media_url_key; /* secret: HMAC key of signed media URLs (>= 32 chars) */
    int media_url_ttl_s;
    int upload_max_bytes;
    int upload_orphan_ttl_s;
    int upload_sweep_interval_ms;
    int upload_daily_max_count;    /* uploads a user may make per Asia/Shanghai day; 0 = no limit */
    int upload_daily_max_bytes;    /* stored bytes a user may upload per day; 0 = no limit */
    int image_max_pixels;          /* width x height above this is refused from the header */
    int image_decode_budget_bytes; /* worst-case bytes all image decodes of the process hold at once */
    int image_decode_wait_ms;      /* how long an upload waits for room in that budget before 503 */
    char *public_base_url;         /* absolute base for URLs WeChat fetches; "" = no content check */
    int media_check_url_ttl_s;
    int media_check_retry_s;
    char *wechat_push_token;   /* secret: Token of the WeChat message push */
    char *wechat_push_aes_key; /* secret: EncodingAESKey; "" = plaintext mode */
    /* leads and referrals */
    char *privacy_notice_version; /* stored with each lead's consent */
    int lead_first_contact_s;     /* first-contact limit of a new lead */
    int lead_sweep_interval_ms;
    int lead_daily_max_per_submitter; /* submissions per user in any 24 hours */
    int referral_protection_days;
    char *referral_qr_page;
    /* repairs */
    int repair_cache_slots; /* owner detail cache; 0 = off */
    int repair_cache_max_age_s;
    int repair_cache_poll_ms;
    int repair_sweep_interval_ms;
    int repair_reminder_percent;
    int repair_escalate_engineer_after_s; /* -1 = step skipped */
    int repair_escalate_supervisor_after_s;
    int repair_escalate_manager_after_s;
    int repair_reopen_days;
    int owner_contact_min_days;
    int survey_open_days;
    int survey_send_batch;
    int repair_rating_days;
    int repair_rating_reminder_hours; /* 0 = no second reminder */
    int satisfaction_sweep_interval_ms;
    int followup_due_hours;
    int followup_sample_percent;
    int followup_sample_seed;
    int repair_recheck_interval_ms;
    int complaint_incident_threshold;
    int complaint_incident_window_s;
    int complaint_escalate_supervisor_after_s;
    int complaint_escalate_manager_after_s;
    int complaint_accept_days;
    int complaint_sweep_interval_ms;
    int idempotency_ttl_s;
    /* notifications */
    char *notification_templates_file;
    char *notification_miniprogram_state; /* formal | trial | developer */
    int notification_dispatch_interval_ms;
    int notification_outbox_age_interval_ms;
    int notification_batch_size;
    int notification_send_concurrency;
    int notification_max_attempts;
    int notification_retry_base_ms;
    int notification_retry_max_ms;
    int notification_lease_ms;
    int notification_regrant_window_s; /* 0 = no re-delivery on a new grant */
    /* the staff console (static_files.h, console_session.h) */
    char *console_dir;
    char *console_qr_page;
    int console_ticket_ttl_s;
    int console_session_idle_s;
    int console_session_max_s;
    gw_rate_t rate_console_ip;
    gw_rate_t rate_console_user;
    /* CSV exports (jobs/export_runner.c, handlers/exports/exports_admin.c) */
    char *export_dir;
    int export_max_rows;
    int export_max_bytes;
    int export_page_rows;
    int export_expiry_hours;
    int export_per_user;
    int export_total;
    int export_interval_ms;
    gw_rate_t rate_exports_ip;
    gw_rate_t rate_exports_user;
    gw_rate_t rate_customers_ip; /* the service desk's customer lookup (handlers/service/customers_service.c) */
    gw_rate_t rate_customers_user;
    int sla_sweep_interval_ms;
    char *sla_holidays_file;
} gw_config_t;

extern const gw_config_t *gw_cfg;

/* Loads `path` (may be NULL: defaults + environment only). On error prints one
 * line "config: <key>: <reason>" to stderr and returns -1. */
int config_load(const char *path, gw_config_t *out);
void config_free(gw_config_t *cfg);
/* Markdown table of every key, for the README and --help. */
void config_print_keys(void);

#endif
