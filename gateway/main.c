/* main.c: the gateway's command line.
 *
 *   gateway [--config FILE] [serve]        serve HTTPS (and plain HTTP if configured)
 *   gateway [--config FILE] --check-config validate the configuration and exit
 *   gateway [--config FILE] migrate        apply schema/ migrations
 *   gateway [--config FILE] grant --openid OPENID --role ROLE [--project ID]
 *   gateway [--config FILE] backup DIR     database dump + photos + manifest into a new folder
 *   gateway [--config FILE] restore DIR    a backup into an empty database and media_dir
 *   gateway --print-config-keys            the configuration table (Markdown)
 *   gateway [--config FILE] --print-routes the route index (Markdown); registers the
 *                                          handlers as serve does, so it needs a valid configuration
 *
 * Signals while serving: SIGTERM/SIGINT drain and stop, SIGHUP reloads the
 * certificate and secrets, SIGUSR2 hands over to the binary now at argv[0]
 * (handover.h).
 *
 * Exit codes: 0 ok, 1 runtime failure, 2 bad configuration or usage. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/handlers.h"
#include "backup.h"
#include "config.h"
#include "db.h"
#include "handover.h"
#include "json_arena.h"
#include "log.h"
#include "media_url.h"
#include "migrate.h"
#include "router.h"
#include "server.h"
#include "session_token.h"
#include "static_files.h"
#include "wechat_client.h"
#include "wechat_token_gate.h"

/* Read by LeakSanitizer in sanitizer builds only. h2o 2.2.5 caches freed
 * memory-pool chunks in a thread-local free list that it offers no call to
 * empty; once an event-loop thread has ended, nothing points to them. (The
 * socket-buffer cache, which h2o does expose, is emptied in server.c.) The
 * library has no frame pointers, so h2o_mem_alloc_recycle, which fills both
 * caches, is the deepest frame a report can name. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:h2o_mem_alloc_recycle\n";
}

static int usage(void)
{
    fprintf(stderr, "usage: gateway [--config FILE] [serve | migrate | --check-config | "
                    "grant --openid OPENID --role ROLE [--project ID] | backup DIR | restore DIR | "
                    "--print-config-keys | --print-routes]\n");
    return 2;
}

static const char *config_path;

/* SIGHUP: reads the configuration again and applies what can change while
 * serving: the TLS certificate and key, the session-token keys and the media
 * URL key, and the console's files (console_dir). Each is applied on its own, all or nothing; one that is refused
 * leaves the one in use. Everything else needs a restart or a hand-over. */
static int reload_config(void)
{
    gw_config_t fresh;
    if (config_load(config_path, &fresh) != 0) {
        log_error("server", "reload: the configuration is refused (see the line above); nothing changed");
        config_free(&fresh);
        return -1;
    }
    int rc = 0;
    if (gw_cfg->https_port && server_reload_tls(fresh.tls_cert_file, fresh.tls_key_file) != 0)
        rc = -1;
    if (session_keys_reload(fresh.session_keys) != 0) {
        log_error("server", "reload: session_keys cannot be parsed; the keys in use stay");
        rc = -1;
    } else {
        log_info("server", "reload: session keys loaded");
    }
    if (media_url_rotate_key(fresh.media_url_key, strlen(fresh.media_url_key)) != 0) {
        log_error("server", "reload: media_url_key is unusable; the key in use stays");
        rc = -1;
    } else {
        log_info("server", "reload: media URL key loaded (the previous one still verifies)");
    }
    if (static_files_reload(fresh.console_dir) != 0)
        rc = -1;
    config_free(&fresh);
    return rc;
}

static int serve(void)
{
    log_level_t level;
    log_parse_level(gw_cfg->log_level, &level);
    log_set_level(level);
    wx_config_t wx = {
        .api_base = gw_cfg->wechat_api_base,
        .appid = gw_cfg->wechat_appid,
        .secret = gw_cfg->wechat_secret,
        .connect_timeout_ms = gw_cfg->wechat_connect_timeout_ms,
        .timeout_ms = gw_cfg->wechat_timeout_ms,
        .max_retries = gw_cfg->wechat_max_retries,
        .retry_base_ms = 200,
        .ca_file = *gw_cfg->wechat_ca_file ? gw_cfg->wechat_ca_file : NULL,
        .force_interval_s = gw_cfg->wechat_token_force_interval_s,
    };
    if (wx_client_init(&wx) != 0) {
        fprintf(stderr, "gateway: cannot initialise the WeChat client\n");
        return 1;
    }
    wechat_token_gate_install(); /* one forced token refresh between all processes */
    handlers_register_all();
    static_files_init(gw_cfg->console_dir);
    server_set_reload_hook(reload_config);
    int rc = server_run();
    static_files_shutdown();
    wechat_token_gate_close();
    wx_client_cleanup();
    return rc;
}

int main(int argc, char **argv)
{
    const char *command = "serve", *openid = NULL, *role = NULL, *dir = NULL;
    handover_set_argv(argv);
    json_arena_install(); /* cJSON's hooks are the process's: before any thread */
    long long project_id = 0;
    int check_only = 0, print_routes = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc)
            config_path = argv[++i];
        else if (!strcmp(argv[i], "--check-config"))
            check_only = 1;
        else if (!strcmp(argv[i], "--print-routes"))
            print_routes = 1;
        else if (!strcmp(argv[i], "--print-config-keys")) {
            config_print_keys();
            return 0;
        } else if (!strcmp(argv[i], "--openid") && i + 1 < argc)
            openid = argv[++i];
        else if (!strcmp(argv[i], "--role") && i + 1 < argc)
            role = argv[++i];
        else if (!strcmp(argv[i], "--project") && i + 1 < argc)
            project_id = strtoll(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "serve") || !strcmp(argv[i], "migrate") || !strcmp(argv[i], "grant"))
            command = argv[i];
        else if ((!strcmp(argv[i], "backup") || !strcmp(argv[i], "restore")) && i + 1 < argc) {
            command = argv[i];
            dir = argv[++i];
        } else
            return usage();
    }
    if (!config_path)
        config_path = getenv("GATEWAY_CONFIG");

    static gw_config_t cfg;
    if (config_load(config_path, &cfg) != 0) {
        config_free(&cfg);
        return 2;
    }
    gw_cfg = &cfg;
    /* Loaded here so that --check-config refuses what serve would refuse. */
    if (session_keys_load(cfg.session_keys) != 0) {
        fprintf(stderr, "config: session_keys: cannot be parsed (at most 8 kid=secret entries)\n");
        config_free(&cfg);
        return 2;
    }
    if (print_routes) {
        handlers_register_all();
        router_print_index(stdout);
        session_keys_free();
        config_free(&cfg);
        return 0;
    }
    if (check_only) {
        printf("config ok\n");
        session_keys_free();
        config_free(&cfg);
        return 0;
    }
    int rc;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    db_library_init();
    db_set_tls(cfg.db_tls, cfg.db_tls_ca_file);
    if (!strcmp(command, "migrate"))
        rc = migrate_run(&cfg) == 0 ? 0 : 1;
    else if (!strcmp(command, "backup"))
        rc = backup_run(&cfg, dir) == 0 ? 0 : 1;
    else if (!strcmp(command, "restore"))
        rc = restore_run(&cfg, dir) == 0 ? 0 : 1;
    else if (!strcmp(command, "grant"))
        rc = !openid || !role ? usage() : migrate_grant(&cfg, openid, role, project_id) == 0 ? 0 : 1;
    else
        rc = serve();
    db_library_end();
    curl_global_cleanup();
    session_keys_free();
    config_free(&cfg);
    return rc;
}
