/* test_config.c: defaults, the key = value file, GATEWAY_* environment
 * overrides, <key>_file secrets, range and type errors, unknown keys and the
 * cross-key checks. Every failure must be one line on stderr naming the key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "test.h"

extern char **environ;

#define KEYS "k1=0123456789abcdef0123456789abcdef"

static char errbuf[4096];

/* Clears every GATEWAY_* variable, then sets the minimum a config needs. */
static void base_env(void)
{
    for (;;) {
        char **e = environ;
        while (*e && strncmp(*e, "GATEWAY_", 8) != 0)
            e++;
        if (!*e)
            break;
        char name[256];
        size_t n = strcspn(*e, "=");
        snprintf(name, sizeof(name), "%.*s", (int)n, *e);
        unsetenv(name);
    }
    setenv("GATEWAY_WECHAT_APPID", "wxtest", 1);
    setenv("GATEWAY_WECHAT_SECRET", "appsecret-value", 1);
    setenv("GATEWAY_SESSION_KEYS", KEYS, 1);
    setenv("GATEWAY_TLS_CERT_FILE", "/nonexistent/cert.pem", 1);
    setenv("GATEWAY_TLS_KEY_FILE", "/nonexistent/key.pem", 1);
    setenv("GATEWAY_MEDIA_URL_KEY", "media-url-signing-key-0123456789abcdef", 1);
}

/* config_load with stderr captured into errbuf. */
static int load(const char *path, gw_config_t *cfg)
{
    fflush(stderr);
    int saved = dup(2);
    FILE *tmp = tmpfile();
    dup2(fileno(tmp), 2);
    int rc = config_load(path, cfg);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(tmp);
    size_t n = fread(errbuf, 1, sizeof(errbuf) - 1, tmp);
    errbuf[n] = '\0';
    fclose(tmp);
    return rc;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Expects a failure reported as one line starting "config: <key>". */
static void expect_error(const char *path, const char *key)
{
    gw_config_t cfg;
    char want[128];
    snprintf(want, sizeof(want), "config: %s", key);
    CHECK_INT(load(path, &cfg), -1);
    CHECK_INT(count_lines(errbuf), 1);
    CHECK(strncmp(errbuf, want, strlen(want)) == 0);
    if (strncmp(errbuf, want, strlen(want)) != 0)
        printf("  expected \"%s...\", got: %s", want, errbuf);
    config_free(&cfg);
}

static char *write_temp(const char *text)
{
    static char paths[16][64];
    static int next;
    char *path = paths[next++ % 16];
    snprintf(path, 64, "/tmp/gw-test-config-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        path[0] = '\0';
    close(fd);
    return path;
}

static void test_defaults(void)
{
    base_env();
    gw_config_t cfg;
    CHECK_INT(load(NULL, &cfg), 0);
    CHECK_STR(errbuf, "");
    CHECK_STR(cfg.listen_host, "127.0.0.1");
    CHECK_INT(cfg.https_port, 8443);
    CHECK_INT(cfg.http_port, 0);
    CHECK_STR(cfg.trusted_proxies, "");
    CHECK_INT(cfg.http2, 0);
    CHECK_INT(cfg.json_max_bytes, 65536);
    CHECK_INT(cfg.json_max_depth, 16);
    CHECK_INT(cfg.max_body_bytes, 11534336);
    CHECK_INT(cfg.db_pool_size, 4);
    CHECK_INT(cfg.db_port, 3306);
    CHECK_STR(cfg.db_user, "gateway");
    CHECK_STR(cfg.db_password, "");
    CHECK_STR(cfg.wechat_api_base, "https://api.weixin.qq.com");
    CHECK_INT(cfg.wechat_max_retries, 2);
    CHECK_INT(cfg.session_ttl_s, 604800);
    CHECK_STR(cfg.log_level, "info");
    /* From the environment. */
    CHECK_STR(cfg.wechat_appid, "wxtest");
    CHECK_STR(cfg.wechat_secret, "appsecret-value");
    CHECK_STR(cfg.session_keys, KEYS);
    config_free(&cfg);
    CHECK(cfg.listen_host == NULL); /* config_free leaves no dangling pointers */
    config_free(&cfg);              /* and may run twice */
}

static void test_file_and_env_override(void)
{
    base_env();
    char *path = write_temp("# a comment\n"
                            "\n"
                            "   # indented comment\n"
                            "listen_host = 0.0.0.0\n"
                            "https_port=9443\n"
                            "  db_pool_size   =   8   \n"
                            "http2 = yes\n"
                            "trusted_proxies = 10.0.0.1, 10.0.0.2\n"
                            "wechat_api_base = http://127.0.0.1:1/x?a=b\n"
                            "log_level = debug\r\n"
                            "db_name = gw=prod\n"
                            "wechat_appid = wxfromfile\n");
    gw_config_t cfg;
    CHECK_INT(load(path, &cfg), 0);
    CHECK_STR(errbuf, "");
    CHECK_STR(cfg.listen_host, "0.0.0.0");
    CHECK_INT(cfg.https_port, 9443);
    CHECK_INT(cfg.db_pool_size, 8);
    CHECK_INT(cfg.http2, 1);
    CHECK_STR(cfg.trusted_proxies, "10.0.0.1, 10.0.0.2");
    CHECK_STR(cfg.wechat_api_base, "http://127.0.0.1:1/x?a=b");
    CHECK_STR(cfg.log_level, "debug");
    CHECK_STR(cfg.db_name, "gw=prod");     /* split at the first '=' only */
    CHECK_STR(cfg.wechat_appid, "wxtest"); /* the environment wins over the file */
    config_free(&cfg);

    setenv("GATEWAY_DB_POOL_SIZE", "9", 1);
    setenv("GATEWAY_HTTP2", "off", 1);
    CHECK_INT(load(path, &cfg), 0);
    CHECK_INT(cfg.db_pool_size, 9);
    CHECK_INT(cfg.http2, 0);
    config_free(&cfg);
    unlink(path);
}

static void test_secret_files(void)
{
    base_env();
    unsetenv("GATEWAY_WECHAT_SECRET");
    char *secret = write_temp("s3cret-from-file\n\n");
    char *password = write_temp("db-pass");
    char conf[256];
    snprintf(conf, sizeof(conf), "wechat_secret_file = %s\n", secret);
    char *path = write_temp(conf);
    setenv("GATEWAY_DB_PASSWORD_FILE", password, 1);
    gw_config_t cfg;
    CHECK_INT(load(path, &cfg), 0);
    CHECK_STR(cfg.wechat_secret, "s3cret-from-file"); /* trailing newlines trimmed */
    CHECK_STR(cfg.db_password, "db-pass");
    config_free(&cfg);

    /* A missing secret file names the key, never the secret. */
    setenv("GATEWAY_DB_PASSWORD_FILE", "/nonexistent/db_password", 1);
    expect_error(path, "db_password_file");
    unsetenv("GATEWAY_DB_PASSWORD_FILE");
    /* Only secrets may come from a file. */
    char *plain = write_temp("listen_host_file = /etc/hostname\n");
    expect_error(plain, "listen_host_file");
    unlink(secret);
    unlink(password);
    unlink(path);
    unlink(plain);
}

static void test_range_and_type_errors(void)
{
    const char *bad_pool[] = {"0", "65", "-1", "4x", "", " ", "99999999999999999999"};
    for (size_t i = 0; i < sizeof(bad_pool) / sizeof(bad_pool[0]); i++) {
        base_env();
        setenv("GATEWAY_DB_POOL_SIZE", bad_pool[i], 1);
        expect_error(NULL, "db_pool_size");
    }
    base_env();
    setenv("GATEWAY_DB_POOL_SIZE", "0", 1);
    gw_config_t cfg;
    load(NULL, &cfg);
    CHECK_STR(errbuf, "config: db_pool_size: 0 is out of range 1..64\n");
    config_free(&cfg);

    base_env();
    setenv("GATEWAY_DB_POOL_SIZE", "64", 1); /* the bounds themselves are fine */
    setenv("GATEWAY_HTTPS_PORT", "0", 1);
    setenv("GATEWAY_HTTP_PORT", "65535", 1);
    CHECK_INT(load(NULL, &cfg), 0);
    CHECK_INT(cfg.db_pool_size, 64);
    config_free(&cfg);

    const char *bools[][2] = {{"true", "1"},  {"TRUE", "1"}, {"on", "1"}, {"Yes", "1"}, {"1", "1"},
                              {"false", "0"}, {"off", "0"},  {"no", "0"}, {"0", "0"}};
    for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
        base_env();
        setenv("GATEWAY_HTTP2", bools[i][0], 1);
        CHECK_INT(load(NULL, &cfg), 0);
        CHECK_INT(cfg.http2, atoi(bools[i][1]));
        config_free(&cfg);
    }
    base_env();
    setenv("GATEWAY_HTTP2", "maybe", 1);
    expect_error(NULL, "http2");
}

static void test_unknown_keys_and_bad_lines(void)
{
    base_env();
    char *path = write_temp("https_port = 9443\n\nno_such_key = 1\n");
    expect_error(path, "no_such_key");
    CHECK(strstr(errbuf, ":3") != NULL); /* where: file and line */
    unlink(path);
    path = write_temp("https_port 9443\n");
    expect_error(path, path); /* names the file and line */
    unlink(path);
    /* An unknown GATEWAY_ variable is not an error: the environment holds
     * other programs' settings too. */
    base_env();
    setenv("GATEWAY_NO_SUCH_KEY", "1", 1);
    gw_config_t cfg;
    CHECK_INT(load(NULL, &cfg), 0);
    config_free(&cfg);
    /* A missing file. */
    base_env();
    CHECK_INT(load("/nonexistent/gateway.conf", &cfg), -1);
    CHECK_INT(count_lines(errbuf), 1);
    CHECK(strstr(errbuf, "/nonexistent/gateway.conf") != NULL);
    config_free(&cfg);
}

static void test_cross_key_checks(void)
{
    struct {
        const char *env, *value, *key;
    } cases[] = {
        {"GATEWAY_LOG_LEVEL", "loud", "log_level"},
        {"GATEWAY_TLS_KEY_FILE", "", "tls_cert_file"},
        {"GATEWAY_JSON_MAX_BYTES", "16777216", "json_max_bytes"},
        {"GATEWAY_WECHAT_API_BASE", "ftp://api.weixin.qq.com", "wechat_api_base"},
        {"GATEWAY_WECHAT_APPID", "", "wechat_appid"},
        {"GATEWAY_WECHAT_SECRET", "", "wechat_secret"},
        {"GATEWAY_SESSION_KEYS", "", "session_keys"},
        {"GATEWAY_SESSION_KEYS", "k1=short-secret", "session_keys"},
        {"GATEWAY_SESSION_KEYS", "k 1=0123456789abcdef0123456789abcdef", "session_keys"},
        {"GATEWAY_SESSION_KEYS", "=0123456789abcdef0123456789abcdef", "session_keys"},
        {"GATEWAY_SESSION_KEYS", "k12345678901234567=0123456789abcdef0123456789abcdef", "session_keys"},
        {"GATEWAY_SESSION_KEYS", KEYS ",k2", "session_keys"},
        {"GATEWAY_API_MAX_BODY_BYTES", "65535", "api_max_body_bytes"},    /* under json_max_bytes */
        {"GATEWAY_API_MAX_BODY_BYTES", "11534337", "api_max_body_bytes"}, /* over max_body_bytes */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        base_env();
        setenv(cases[i].env, cases[i].value, 1);
        expect_error(NULL, cases[i].key);
        /* Secrets never appear in the message. */
        if (strstr(cases[i].key, "session_keys"))
            CHECK(strstr(errbuf, "short-secret") == NULL && strstr(errbuf, "0123456789abcdef") == NULL);
    }
    base_env();
    setenv("GATEWAY_HTTPS_PORT", "0", 1);
    setenv("GATEWAY_HTTP_PORT", "0", 1);
    expect_error(NULL, "https_port");
    /* Plain HTTP alone needs no certificate. */
    base_env();
    unsetenv("GATEWAY_TLS_CERT_FILE");
    unsetenv("GATEWAY_TLS_KEY_FILE");
    setenv("GATEWAY_HTTPS_PORT", "0", 1);
    setenv("GATEWAY_HTTP_PORT", "8080", 1);
    gw_config_t cfg;
    CHECK_INT(load(NULL, &cfg), 0);
    config_free(&cfg);
    /* Upload listeners: HTTPS needs the certificate; plain does not. */
    base_env();
    unsetenv("GATEWAY_TLS_CERT_FILE");
    setenv("GATEWAY_HTTPS_PORT", "0", 1);
    setenv("GATEWAY_HTTP_PORT", "8080", 1);
    setenv("GATEWAY_UPLOAD_HTTPS_PORT", "8444", 1);
    expect_error(NULL, "upload_https_port");
    unsetenv("GATEWAY_UPLOAD_HTTPS_PORT");
    setenv("GATEWAY_UPLOAD_HTTP_PORT", "8081", 1);
    setenv("GATEWAY_API_MAX_BODY_BYTES", "65536", 1);
    CHECK_INT(load(NULL, &cfg), 0);
    CHECK_INT(cfg.upload_http_port, 8081);
    CHECK_INT(cfg.api_max_body_bytes, 65536);
    config_free(&cfg);
    /* Several keys: the first signs. */
    base_env();
    setenv("GATEWAY_SESSION_KEYS", "k2=fedcba9876543210fedcba9876543210," KEYS, 1);
    CHECK_INT(load(NULL, &cfg), 0);
    config_free(&cfg);
}

static void test_rates_and_shares(void)
{
    gw_config_t cfg;
    base_env();
    CHECK_INT(load(NULL, &cfg), 0);
    /* Defaults. */
    CHECK_INT(cfg.rate_login_ip.count, 60);
    CHECK_INT(cfg.rate_login_ip.period_s, 60);
    CHECK_INT(cfg.rate_login_ip.burst, 60);
    CHECK_INT(cfg.rate_default_user.count, 300);
    CHECK_INT(cfg.rate_default_user.burst, 120);
    CHECK_INT(cfg.wechat_share_login.threads, 4);
    CHECK_INT(cfg.wechat_share_login.queue, 64);
    CHECK_INT(cfg.rate_limit_entries, 65536);
    config_free(&cfg);

    struct {
        const char *value;
        int count, period_s, burst;
    } rates[] = {
        {"5/s", 5, 1, 5},
        {"30/min burst 2", 30, 60, 2},
        {"1/h burst 3", 1, 3600, 3},
        {"OFF", 0, 1, 0},
        {"1000000/h burst 1000000", 1000000, 3600, 1000000},
    };
    for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
        base_env();
        setenv("GATEWAY_RATE_LEADS_USER", rates[i].value, 1);
        CHECK_INT(load(NULL, &cfg), 0);
        CHECK_INT(cfg.rate_leads_user.count, rates[i].count);
        CHECK_INT(cfg.rate_leads_user.period_s, rates[i].period_s);
        CHECK_INT(cfg.rate_leads_user.burst, rates[i].burst);
        config_free(&cfg);
    }
    const char *bad_rates[] = {"",
                               "5",
                               "5/",
                               "5/day",
                               "0/min",
                               "-1/min",
                               "5/min burst",
                               "5/min burst 0",
                               "5/min  burst 2",
                               "5/min burst 2x",
                               "5 /min",
                               "1000001/min",
                               "5/min burst 1000001",
                               "burst 5"};
    for (size_t i = 0; i < sizeof(bad_rates) / sizeof(bad_rates[0]); i++) {
        base_env();
        setenv("GATEWAY_RATE_LEADS_USER", bad_rates[i], 1);
        expect_error(NULL, "rate_leads_user");
    }

    base_env();
    setenv("GATEWAY_WECHAT_SHARE_QR", "1/0", 1);
    CHECK_INT(load(NULL, &cfg), 0);
    CHECK_INT(cfg.wechat_share_qr.threads, 1);
    CHECK_INT(cfg.wechat_share_qr.queue, 0);
    config_free(&cfg);
    const char *bad_shares[] = {"", "4", "0/4", "4/", "4/-1", "4/x", "257/1", "4/100001", "4/00"};
    for (size_t i = 0; i < sizeof(bad_shares) / sizeof(bad_shares[0]); i++) {
        base_env();
        setenv("GATEWAY_WECHAT_SHARE_QR", bad_shares[i], 1);
        expect_error(NULL, "wechat_share_qr");
    }
}

int main(void)
{
    RUN(test_defaults);
    RUN(test_file_and_env_override);
    RUN(test_secret_files);
    RUN(test_range_and_type_errors);
    RUN(test_unknown_keys_and_bad_lines);
    RUN(test_cross_key_checks);
    RUN(test_rates_and_shares);
    return TEST_REPORT();
}
